//! `AiAgent` (seeds 000, 003, 004): an agent an organisation puts in its conversations, with
//! the modes it can speak in and the greeting it opens text conversations with.

use serde_json::Value;

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{
    Attribute, AttributeKind as Kind, Cardinality, HttpWrites, InitialValue as Initially,
    Relationship, Resource, ResourceType, Storage, ToOneWrite, Write,
};
use crate::jsonapi::unit_of_work::Tx;
use crate::resources::conversation::{counters, MODES};
use crate::store::{Direction, JsonText, UtcTime};

crate::stored_model! {
    /// A row of `ai_agents`.
    pub struct AiAgent in ai_agents, changed by AiAgentChanges {
        pub id: String,
        pub organisation_id: String,
        pub name: String,
        pub description: Option<String>,
        pub greeting: Option<String>,
        pub default_mode: String,
        pub available_modes: JsonText,
        pub published: bool,
        pub created_at: UtcTime,
        pub updated_at: UtcTime,
    }
}

pub static RESOURCE: ResourceType = ResourceType {
    name: "AiAgent",
    path: "ai_agents",
    attributes: &[
        Attribute::new("name", Kind::String { max_chars: 200 }, Write::Required).queryable(),
        Attribute::new(
            "description",
            Kind::String { max_chars: 2000 },
            Write::Optional(Initially::Null),
        )
        .nullable(),
        Attribute::new(
            "greeting",
            Kind::String { max_chars: 2000 },
            Write::Optional(Initially::Null),
        )
        .nullable(),
        Attribute::choice("default_mode", MODES, "text"),
        Attribute::new(
            "available_modes",
            Kind::EnumSet(MODES),
            Write::Optional(Initially::Hook),
        ),
        Attribute::new(
            "published",
            Kind::Boolean,
            Write::Optional(Initially::Bool(false)),
        )
        .queryable(),
        Attribute::created_at(),
        Attribute::updated_at(),
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
            name: "conversations",
            target: "Conversation",
            cardinality: Cardinality::ToMany {
                inverse: "ai_agent",
            },
        },
    ],
    default_order: &[("created_at", Direction::Descending)],
    tenant_column: "organisation_id",
    scope_family: "agent",
    http_writes: HttpWrites {
        create: true,
        delete: true,
    },
    soft_delete: None,
    hidden_unless_filtered: &[],
    storage: Storage::of::<AiAgent>(),
};

impl AiAgent {
    /// The default mode must be one the agent has.
    fn check_modes(&self) -> Result<(), ApiError> {
        let available: Vec<String> = serde_json::from_str::<Value>(&self.available_modes.0)
            .ok()
            .and_then(|modes| serde_json::from_value(modes).ok())
            .unwrap_or_default();
        if available.contains(&self.default_mode) {
            return Ok(());
        }
        Err(ApiError::invalid_member(
            "/data/attributes/default_mode",
            format!(
                "`default_mode` is `{}`, which is not among `available_modes` ({}).",
                self.default_mode,
                available.join(", ")
            ),
        ))
    }
}

impl Resource for AiAgent {
    const DESCRIPTION: &'static ResourceType = &RESOURCE;

    /// Without `available_modes`, an agent has its default mode alone.
    fn before_insert(&mut self, _tx: &mut Tx<'_>) -> Result<(), ApiError> {
        if self.available_modes.0.is_empty() {
            self.available_modes =
                JsonText(Value::from(vec![self.default_mode.clone()]).to_string());
        }
        self.check_modes()
    }

    fn before_update(
        &self,
        changes: &mut AiAgentChanges,
        _tx: &mut Tx<'_>,
    ) -> Result<(), ApiError> {
        self.merged(changes).check_modes()
    }

    fn after_delete(&self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        counters::forget_agent(tx, self)
    }
}
