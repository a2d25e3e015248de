//! The hand-written Diesel schema (`src/store/schema.rs`) against the migrated database: the same
//! tables, the same columns in the same order, the same types and nullability, on each backend.

use diesel::sql_types::{Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};

use crate::support::TestServer;

#[derive(QueryableByName, Debug)]
struct CatalogColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    nullable: i32,
}

/// The Diesel type a column of this database type and nullability must be declared as.
fn diesel_type(data_type: &str, nullable: bool) -> String {
    let base = match data_type.to_ascii_lowercase().as_str() {
        "text" => "Text",
        "bigint" => "BigInt",
        "integer" => "Integer",
        "boolean" => "Bool",
        "timestamp" | "timestamp without time zone" => "Timestamp",
        other => panic!("a column type the schema does not map: {other}"),
    };
    if nullable {
        format!("Nullable<{base}>")
    } else {
        base.to_string()
    }
}

#[test]
fn schema_matches_the_migrations() {
    let server = TestServer::start();
    let mut conn = server.connection();
    for (table, columns) in confab::store::schema::TABLES {
        // The catalogs differ per backend; the table name is bound, never spliced.
        let query = if server.is_postgres() {
            "SELECT column_name::text AS name, data_type::text AS data_type, \
             CASE is_nullable WHEN 'YES' THEN 1 ELSE 0 END AS nullable \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 \
             ORDER BY ordinal_position"
        } else {
            "SELECT name, type AS data_type, CASE \"notnull\" WHEN 0 THEN 1 ELSE 0 END AS nullable \
             FROM pragma_table_info(?)"
        };
        let found: Vec<CatalogColumn> = diesel::sql_query(query)
            .bind::<Text, _>(*table)
            .load(&mut *conn)
            .expect("read the catalog");
        let found: Vec<(String, String)> = found
            .iter()
            .map(|column| {
                (
                    column.name.clone(),
                    diesel_type(&column.data_type, column.nullable == 1),
                )
            })
            .collect();
        let declared: Vec<(String, String)> = columns
            .iter()
            .map(|(name, sql_type)| (name.to_string(), sql_type.replace(' ', "")))
            .collect();
        assert_eq!(found, declared, "table {table}");
    }
}

#[test]
fn the_domain_migration_ends_old_statuses_and_counts_what_exists() {
    // Rows written before the conversation domain: `resolved` and `closed` become `completed`,
    // with their times, and the counters are backfilled from the items.
    use confab::store::{revert_last_migration, run_migrations};
    use serde_json::json;
    let server = TestServer::start();
    let organisation = server.organisation.clone();
    let resolved = server.create_conversation(&organisation, json!({"channel": "chat"}));
    let open = server.create_conversation(&organisation, json!({"channel": "chat"}));
    for (conversation, content) in [(&resolved, "a"), (&resolved, "b"), (&open, "c")] {
        server.create_item(conversation, content);
    }
    let mut conn = server.connection();
    let reverted = revert_last_migration(&mut conn).expect("revert");
    assert!(reverted.ends_with("000005"), "{reverted}");
    diesel::sql_query(format!(
        "UPDATE conversations SET status = 'resolved' WHERE id = '{resolved}'"
    ))
    .execute(&mut *conn)
    .expect("an old status");
    assert_eq!(run_migrations(&mut conn).expect("migrate").len(), 1);
    drop(conn);
    // A fresh process reads the migrated rows (the server's pooled statements predate them).
    let instance = crate::support::Instance::start(&server.database_url);
    let read = |id: &str| {
        let response = crate::support::http::send(
            instance.address,
            "GET",
            &format!("/api/conversations/{id}"),
            &[("Authorization", &format!("Bearer {}", server.key))],
            None,
        );
        assert_eq!(response.status, 200, "{}", response.text());
        response.json()["data"]["attributes"].clone()
    };
    let ended = read(&resolved);
    assert_eq!(ended["status"], "completed");
    assert_eq!(ended["ended_at"], ended["updated_at"]);
    assert_eq!(ended["started_at"], ended["created_at"]);
    assert!(ended["duration_seconds"].as_i64().expect("duration") >= 0);
    assert_eq!(
        (
            ended["item_count"].clone(),
            ended["user_turn_count"].clone()
        ),
        (json!(2), json!(2))
    );
    let running = read(&open);
    assert_eq!(running["status"], "active");
    assert_eq!(running["ended_at"], serde_json::Value::Null);
    assert_eq!(running["item_count"], 1);
    assert!(running["last_item_at"].is_string());
}
