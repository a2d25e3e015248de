//! `ConversationItem`: one turn of a conversation (a message, a tool call, an operator note).

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{
    Attribute, AttributeKind, Cardinality, Default, HttpWrites, NewRow, Relationship, ResourceType,
    ServerValue, ToOneWrite, Write,
};
use crate::store::{Column, ColumnKind, Condition, Db, Direction, Select, Sql, SqlValue};

pub const ROLES: &[&str] = &["user", "assistant", "system", "tool", "operator"];
pub const MODALITIES: &[&str] = &["text", "voice"];

pub static RESOURCE: ResourceType = ResourceType {
    name: "ConversationItem",
    path: "conversation_items",
    table: "conversation_items",
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
            write: Write::Optional(Default::Text("text")),
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
            write: Write::Optional(Default::EmptyObject),
            sortable: false,
            filterable: true,
        },
        Attribute {
            name: "occurred_at",
            kind: AttributeKind::Timestamp,
            nullable: false,
            write: Write::Optional(Default::Now),
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
    before_insert: Some(before_insert),
    tenant_column: "organisation_id",
    scope_family: "conversation",
    http_writes: HttpWrites {
        create: true,
        delete: true,
    },
};

/// Takes the conversation's next position and its organisation. The counter only grows, so a
/// position is never handed out twice, even after deletes; the row lock taken by the UPDATE (and
/// SQLite's single writer) orders concurrent inserts.
fn before_insert(conn: &mut Db, row: &mut NewRow) -> Result<(), ApiError> {
    let conversation_id = row
        .text("conversation_id")
        .ok_or_else(|| ApiError::Internal("item without a conversation".into()))?
        .to_string();
    let mut bump = Sql::new(conn.dialect());
    bump.push("UPDATE ")
        .ident("conversations")
        .push(" SET ")
        .ident("last_item_position")
        .push(" = ")
        .ident("last_item_position")
        .push(" + 1 WHERE ")
        .ident("id")
        .push(" = ")
        .bind(SqlValue::text(conversation_id.clone()));
    bump.execute(conn)?;
    let columns = [
        Column {
            name: "last_item_position",
            kind: ColumnKind::Integer,
        },
        Column {
            name: "organisation_id",
            kind: ColumnKind::Text,
        },
    ];
    let conversation = Select::from("conversations", &columns)
        .filter(Condition::Equals("id", SqlValue::text(conversation_id)))
        .limit(1)
        .load(conn)?
        .pop()
        .ok_or_else(|| ApiError::NotFound {
            detail: "The conversation was deleted while the item was being created.".into(),
            pointer: Some("/data/relationships/conversation/data".into()),
        })?;
    let position = conversation
        .get("last_item_position")
        .and_then(|v| v.as_i64());
    let organisation = conversation.get("organisation_id").and_then(|v| v.as_str());
    match (position, organisation) {
        (Some(position), Some(organisation)) => {
            row.set("position", SqlValue::Integer(Some(position)));
            row.set("organisation_id", SqlValue::text(organisation));
            Ok(())
        }
        _ => Err(ApiError::Internal("conversation row is incomplete".into())),
    }
}
