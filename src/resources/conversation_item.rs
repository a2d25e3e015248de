//! `ConversationItem`: one turn of a conversation (a message, a tool call, an operator note).
//! A turn's role and time are what happened: they are set once. Appending counts the item in
//! its conversation (see `conversation::counters`), and a conversation that has ended takes no
//! more.

use chrono::Duration;
use diesel::prelude::*;

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{
    now_in_micros, Attribute, AttributeKind as Kind, HttpWrites, InitialValue as Initially,
    Relationship, Resource, ResourceType, ServerValue, Storage, ToOneWrite, Write,
};
use crate::jsonapi::unit_of_work::Tx;
use crate::resources::conversation::counters;
use crate::store::schema::conversation_items;
use crate::store::{Direction, JsonText, StoreError, UtcTime};

crate::stored_model! {
    /// A row of `conversation_items`.
    pub struct ConversationItem in conversation_items, changed by ConversationItemChanges {
        pub id: String,
        pub conversation_id: String,
        pub organisation_id: String,
        pub role: String,
        pub content: String,
        pub modality: String,
        pub position: i64,
        pub metadata: JsonText,
        pub occurred_at: UtcTime,
        pub created_at: UtcTime,
        pub item_type: String,
        pub visibility: String,
        pub parts: JsonText,
        pub item_id: Option<String>,
        pub content_index: Option<i64>,
        pub deleted_at: Option<UtcTime>,
    }
}

pub const ROLES: &[&str] = &["user", "assistant", "system", "tool", "operator"];
pub const MODALITIES: &[&str] = &["text", "voice"];
/// `type` and `id` are JSON:API's own member names, hence `item_type`.
pub const ITEM_TYPES: &[&str] = &["message", "event", "tool_call", "tool_result"];
pub const VISIBILITIES: &[&str] = &["public", "private"];

/// How far ahead of the server's clock a client's `occurred_at` may be (clock skew).
const MAX_FUTURE_MINUTES: i64 = 5;

pub static RESOURCE: ResourceType = ResourceType {
    name: "ConversationItem",
    path: "conversation_items",
    attributes: &[
        Attribute::new("role", Kind::Enum(ROLES), Write::Fixed).queryable(),
        Attribute::new(
            "item_type",
            Kind::Enum(ITEM_TYPES),
            Write::CreateOnly(Initially::Text("message")),
        )
        .queryable(),
        Attribute::choice("visibility", VISIBILITIES, "public"),
        Attribute::new(
            "content",
            Kind::String { max_chars: 100_000 },
            Write::Required,
        )
        .filterable(),
        Attribute::new(
            "parts",
            Kind::TaggedObjects,
            Write::Optional(Initially::EmptyArray),
        ),
        Attribute::choice("modality", MODALITIES, "text"),
        Attribute::new(
            "position",
            Kind::Integer,
            Write::ReadOnly(ServerValue::Hook),
        )
        .queryable(),
        // Seed 000's realtime segment ids: one item per (item_id, content_index).
        Attribute::new(
            "item_id",
            Kind::String { max_chars: 255 },
            Write::CreateOnly(Initially::Null),
        )
        .nullable()
        .filterable(),
        Attribute::new(
            "content_index",
            Kind::Integer,
            Write::CreateOnly(Initially::Null),
        )
        .nullable()
        .queryable(),
        Attribute::new(
            "metadata",
            Kind::Object,
            Write::Optional(Initially::EmptyObject),
        )
        .filterable(),
        Attribute::new(
            "occurred_at",
            Kind::Timestamp,
            Write::CreateOnly(Initially::Now),
        )
        .queryable(),
        Attribute::created_at(),
    ],
    relationships: &[
        Relationship::to_one(
            "conversation",
            "Conversation",
            "conversation_id",
            ToOneWrite::RequiredOnCreate,
        ),
        Relationship::to_one(
            "organisation",
            "Organisation",
            "organisation_id",
            ToOneWrite::Derived,
        ),
    ],
    default_order: &[("position", Direction::Ascending)],
    tenant_column: "organisation_id",
    scope_family: "conversation",
    http_writes: HttpWrites {
        create: true,
        delete: true,
    },
    soft_delete: Some("deleted_at"),
    hidden_unless_filtered: &[],
    storage: Storage::of::<ConversationItem>(),
};

impl Resource for ConversationItem {
    const DESCRIPTION: &'static ResourceType = &RESOURCE;

    /// Checks the time and the segment id, then appends the item to its conversation.
    fn before_insert(&mut self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        let latest = now_in_micros() + Duration::minutes(MAX_FUTURE_MINUTES);
        if self.occurred_at.0 > latest {
            return Err(ApiError::invalid_member(
                "/data/attributes/occurred_at",
                format!(
                    "`occurred_at` is more than {MAX_FUTURE_MINUTES} minutes ahead of the server's clock."
                ),
            ));
        }
        if self.item_id.is_some() && self.content_index.is_none() {
            self.content_index = Some(0);
        }
        if self.item_id.is_none() && self.content_index.is_some() {
            return Err(ApiError::invalid_member(
                "/data/attributes/content_index",
                "`content_index` numbers the parts of a segment: it needs `item_id`.",
            ));
        }
        // The conversation's lock, taken here, orders this check against concurrent appends.
        counters::append(tx, self)?;
        if let Some(item_id) = &self.item_id {
            let existing = conversation_items::table
                .filter(conversation_items::conversation_id.eq(&self.conversation_id))
                .filter(conversation_items::item_id.eq(item_id))
                .filter(conversation_items::content_index.eq(self.content_index))
                .filter(conversation_items::deleted_at.is_null())
                .select(conversation_items::id)
                .first::<String>(tx.conn())
                .optional()
                .map_err(StoreError::from)?;
            if let Some(id) = existing {
                return Err(ApiError::DuplicateOf {
                    pointer: "/data/attributes/item_id".into(),
                    detail: "This segment (`item_id` and `content_index`) is stored already, as the item named in `meta.existing_id`.".into(),
                    id,
                });
            }
        }
        Ok(())
    }

    fn after_delete(&self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        counters::remove(tx, self)
    }
}
