//! `Conversation`: one exchange with a person, on one channel, owned by an organisation.

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{
    Attribute, AttributeKind, Cardinality, Default, HttpWrites, NewRow, Relationship, ResourceType,
    ServerValue, ToOneWrite, Write,
};
use crate::store::{Db, Direction, SqlValue};

pub const CHANNELS: &[&str] = &["chat", "text", "email", "telephone", "webrtc", "widget"];
pub const MODES: &[&str] = &["text", "voice"];
pub const STATUSES: &[&str] = &["active", "pending", "resolved", "closed"];

pub static RESOURCE: ResourceType = ResourceType {
    name: "Conversation",
    path: "conversations",
    table: "conversations",
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
            write: Write::Optional(Default::Text("text")),
            sortable: true,
            filterable: true,
        },
        Attribute {
            name: "status",
            kind: AttributeKind::Enum(STATUSES),
            nullable: false,
            write: Write::Optional(Default::Text("active")),
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
            write: Write::Optional(Default::Null),
            sortable: false,
            filterable: true,
        },
        Attribute {
            name: "ai_agent_id",
            kind: AttributeKind::Uuid,
            nullable: true,
            write: Write::Optional(Default::Null),
            sortable: false,
            filterable: true,
        },
        Attribute {
            name: "metadata",
            kind: AttributeKind::Object,
            nullable: false,
            write: Write::Optional(Default::EmptyObject),
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
    before_insert: Some(before_insert),
    tenant_column: "organisation_id",
    scope_family: "conversation",
    http_writes: HttpWrites {
        create: true,
        delete: true,
    },
};

/// The public id is shared with the people in the conversation (links, widgets), so it carries
/// 122 random bits and nothing that can be guessed from the primary id.
fn before_insert(_conn: &mut Db, row: &mut NewRow) -> Result<(), ApiError> {
    let public_id = format!("conv_{}", uuid::Uuid::new_v4().simple());
    row.set("public_id", SqlValue::text(public_id));
    Ok(())
}
