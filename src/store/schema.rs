//! Diesel's schema of confab's tables, written by hand: `print-schema` on PostgreSQL would emit
//! types the multi-backend connection cannot bind (see `shared/notes/stack-notes.md`). UUIDs and
//! JSON documents are text, timestamps UTC without a zone. The test
//! `schema_matches_the_migrations` compares [`TABLES`], made from the same lines, with the
//! migrated database on each backend.

/// Declares each table to Diesel and lists it in [`TABLES`] from the same lines.
macro_rules! tables {
    ($($table:ident ($key:ident) { $($column:ident -> $sql_type:ty,)* })*) => {
        $(diesel::table! { $table ($key) { $($column -> $sql_type,)* } })*

        /// Every table with its columns and their Diesel SQL types, for the schema check.
        pub const TABLES: &[(&str, &[(&str, &str)])] = &[
            $((stringify!($table), &[$((stringify!($column), stringify!($sql_type))),*])),*
        ];
    };
}

tables! {
    organisations (id) {
        id -> Text,
        name -> Text,
        slug -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }

    conversations (id) {
        id -> Text,
        organisation_id -> Text,
        channel -> Text,
        mode -> Text,
        status -> Text,
        public_id -> Text,
        title -> Nullable<Text>,
        ai_agent_id -> Nullable<Text>,
        metadata -> Text,
        last_item_position -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        direction -> Text,
        participant -> Text,
        to_address -> Nullable<Text>,
        from_address -> Nullable<Text>,
        subject -> Nullable<Text>,
        initial_context -> Nullable<Text>,
        summary -> Nullable<Text>,
        started_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        duration_seconds -> Nullable<BigInt>,
        archived -> Bool,
        archived_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        item_count -> BigInt,
        user_turn_count -> BigInt,
        last_item_at -> Nullable<Timestamp>,
    }

    conversation_items (id) {
        id -> Text,
        conversation_id -> Text,
        organisation_id -> Text,
        role -> Text,
        content -> Text,
        modality -> Text,
        position -> BigInt,
        metadata -> Text,
        occurred_at -> Timestamp,
        created_at -> Timestamp,
        item_type -> Text,
        visibility -> Text,
        parts -> Text,
        item_id -> Nullable<Text>,
        content_index -> Nullable<BigInt>,
        deleted_at -> Nullable<Timestamp>,
    }

    ai_agents (id) {
        id -> Text,
        organisation_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        greeting -> Nullable<Text>,
        default_mode -> Text,
        available_modes -> Text,
        published -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }

    idempotency_keys (id) {
        id -> Text,
        organisation_id -> Text,
        request_digest -> Text,
        status -> BigInt,
        location -> Nullable<Text>,
        content_type -> Nullable<Text>,
        body -> Text,
        created_at -> Timestamp,
    }

    api_keys (id) {
        id -> Text,
        organisation_id -> Text,
        prefix -> Text,
        secret_hash -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}
