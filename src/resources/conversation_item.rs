//! `ConversationItem`: one turn of a conversation (a message, a tool call, an operator note).

use diesel::prelude::*;

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{
    Attribute, AttributeKind, Cardinality, HttpWrites, InitialValue, Relationship, Resource,
    ResourceType, ServerValue, Storage, ToOneWrite, Write,
};
use crate::store::schema::conversations;
use crate::store::{Db, Direction, JsonText, StoreError, UtcTime};

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
    }
}

pub const ROLES: &[&str] = &["user", "assistant", "system", "tool", "operator"];
pub const MODALITIES: &[&str] = &["text", "voice"];

pub static RESOURCE: ResourceType = ResourceType {
    name: "ConversationItem",
    path: "conversation_items",
    attributes: &[
        Attribute {
            name: "role",
            kind: AttributeKind::Enum(ROLES),
            nullable: false,
            write: Write::Required,
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "content",
            kind: AttributeKind::String { max_chars: 100_000 },
            nullable: false,
            write: Write::Required,
            sortable: false,
            filterable: true,
        },
        Attribute {
            name: "modality",
            kind: AttributeKind::Enum(MODALITIES),
            nullable: false,
            write: Write::Optional(InitialValue::Text("text")),
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "position",
            kind: AttributeKind::Integer,
            nullable: false,
            write: Write::ReadOnly(ServerValue::Hook),
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "metadata",
            kind: AttributeKind::Object,
            nullable: false,
            write: Write::Optional(InitialValue::EmptyObject),
            sortable: false,
            filterable: true,
        },
        Attribute {
            name: "occurred_at",
            kind: AttributeKind::Timestamp,
            nullable: false,
            write: Write::Optional(InitialValue::Now),
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "created_at",
            kind: AttributeKind::Timestamp,
            nullable: false,
            write: Write::ReadOnly(ServerValue::CreatedAt),
            sortable: true,
            filterable: true,
        },
    ],
    relationships: &[
        Relationship {
            name: "conversation",
            target: "Conversation",
            cardinality: Cardinality::ToOne {
                column: "conversation_id",
                write: ToOneWrite::RequiredOnCreate,
            },
        },
        Relationship {
            name: "organisation",
            target: "Organisation",
            cardinality: Cardinality::ToOne {
                column: "organisation_id",
                write: ToOneWrite::Derived,
            },
        },
    ],
    default_order: &[("position", Direction::Ascending)],
    tenant_column: "organisation_id",
    scope_family: "conversation",
    http_writes: HttpWrites {
        create: true,
        delete: true,
    },
    storage: Storage::of::<ConversationItem>(),
};

impl Resource for ConversationItem {
    const DESCRIPTION: &'static ResourceType = &RESOURCE;

    /// Takes the conversation's next position and its organisation. The counter only grows, so
    /// a position is never handed out twice, even after deletes; the row lock taken by the
    /// UPDATE (and SQLite's single writer) orders concurrent inserts.
    fn before_insert(&mut self, conn: &mut Db) -> Result<(), ApiError> {
        let conversation = conversations::table.find(&self.conversation_id);
        diesel::update(conversation)
            .set(conversations::last_item_position.eq(conversations::last_item_position + 1))
            .execute(conn)
            .map_err(StoreError::from)?;
        let (position, organisation) = conversation
            .select((
                conversations::last_item_position,
                conversations::organisation_id,
            ))
            .first::<(i64, String)>(conn)
            .optional()
            .map_err(StoreError::from)?
            .ok_or_else(|| ApiError::NotFound {
                detail: "The conversation was deleted while the item was being created.".into(),
                pointer: Some("/data/relationships/conversation/data".into()),
            })?;
        self.position = position;
        self.organisation_id = organisation;
        Ok(())
    }
}
