//! `Conversation`: one exchange with a person, on one channel, owned by an organisation.

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{
    Attribute, AttributeKind, Cardinality, HttpWrites, InitialValue, Relationship, Resource,
    ResourceType, ServerValue, Storage, ToOneWrite, Write,
};
use crate::store::{Db, Direction, JsonText, UtcTime};

crate::stored_model! {
    /// A row of `conversations`.
    pub struct Conversation in conversations, changed by ConversationChanges {
        pub id: String,
        pub organisation_id: String,
        pub channel: String,
        pub mode: String,
        pub status: String,
        pub public_id: String,
        pub title: Option<String>,
        pub ai_agent_id: Option<String>,
        pub metadata: JsonText,
        /// The last position handed to an item; only ever grows.
        pub last_item_position: i64,
        pub created_at: UtcTime,
        pub updated_at: UtcTime,
    }
}

pub const CHANNELS: &[&str] = &["chat", "text", "email", "telephone", "webrtc", "widget"];
pub const MODES: &[&str] = &["text", "voice"];
pub const STATUSES: &[&str] = &["active", "pending", "resolved", "closed"];

pub static RESOURCE: ResourceType = ResourceType {
    name: "Conversation",
    path: "conversations",
    attributes: &[
        Attribute {
            name: "channel",
            kind: AttributeKind::Enum(CHANNELS),
            nullable: false,
            write: Write::Required,
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "mode",
            kind: AttributeKind::Enum(MODES),
            nullable: false,
            write: Write::Optional(InitialValue::Text("text")),
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "status",
            kind: AttributeKind::Enum(STATUSES),
            nullable: false,
            write: Write::Optional(InitialValue::Text("active")),
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "public_id",
            kind: AttributeKind::String { max_chars: 64 },
            nullable: false,
            write: Write::ReadOnly(ServerValue::Hook),
            sortable: false,
            filterable: true,
        },
        Attribute {
            name: "title",
            kind: AttributeKind::String { max_chars: 500 },
            nullable: true,
            write: Write::Optional(InitialValue::Null),
            sortable: false,
            filterable: true,
        },
        Attribute {
            name: "ai_agent_id",
            kind: AttributeKind::Uuid,
            nullable: true,
            write: Write::Optional(InitialValue::Null),
            sortable: false,
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
            name: "created_at",
            kind: AttributeKind::Timestamp,
            nullable: false,
            write: Write::ReadOnly(ServerValue::CreatedAt),
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "updated_at",
            kind: AttributeKind::Timestamp,
            nullable: false,
            write: Write::ReadOnly(ServerValue::UpdatedAt),
            sortable: true,
            filterable: true,
        },
    ],
    relationships: &[
        Relationship {
            name: "organisation",
            target: "Organisation",
            cardinality: Cardinality::ToOne {
                column: "organisation_id",
                write: ToOneWrite::Tenant,
            },
        },
        Relationship {
            name: "conversation_items",
            target: "ConversationItem",
            cardinality: Cardinality::ToMany {
                inverse: "conversation",
            },
        },
    ],
    default_order: &[("created_at", Direction::Descending)],
    tenant_column: "organisation_id",
    scope_family: "conversation",
    http_writes: HttpWrites {
        create: true,
        delete: true,
    },
    storage: Storage::of::<Conversation>(),
};

impl Resource for Conversation {
    const DESCRIPTION: &'static ResourceType = &RESOURCE;

    /// The public id is shared with the people in the conversation (links, widgets), so it
    /// carries 122 random bits and nothing that can be guessed from the primary id.
    fn before_insert(&mut self, _conn: &mut Db) -> Result<(), ApiError> {
        self.public_id = format!("conv_{}", uuid::Uuid::new_v4().simple());
        Ok(())
    }
}
