//! `Conversation`: one exchange with a person, on one channel, owned by an organisation. Its
//! lifecycle and the rules each channel sets are in [`lifecycle`] and [`channel`]; the counters
//! its items keep are in [`counters`].

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{
    Attribute, AttributeKind as Kind, HttpWrites, InitialValue as Initially, MemberKind,
    Relationship, Resource, ResourceType, ServerValue, ShapedMember, Storage, ToOneWrite, Write,
};
use crate::jsonapi::unit_of_work::Tx;
use crate::store::{Direction, JsonText, UtcTime};

pub mod channel;
pub mod counters;
pub mod lifecycle;

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
        pub direction: String,
        pub participant: JsonText,
        pub to_address: Option<String>,
        pub from_address: Option<String>,
        pub subject: Option<String>,
        pub initial_context: Option<String>,
        pub summary: Option<String>,
        pub started_at: Option<UtcTime>,
        pub ended_at: Option<UtcTime>,
        pub duration_seconds: Option<i64>,
        pub archived: bool,
        pub archived_at: Option<UtcTime>,
        pub deleted_at: Option<UtcTime>,
        pub item_count: i64,
        pub user_turn_count: i64,
        pub last_item_at: Option<UtcTime>,
    }
}

pub const CHANNELS: &[&str] = &["chat", "text", "email", "telephone", "webrtc", "widget"];
pub const MODES: &[&str] = &["text", "voice"];
pub const DIRECTIONS: &[&str] = &["inbound", "outbound"];

/// The person on the other side (seed 004's participant profile); every member optional.
pub const PARTICIPANT: &[ShapedMember] = &[
    text_member("external_id", 255),
    text_member("name", 200),
    text_member("first_name", 100),
    text_member("last_name", 100),
    ShapedMember {
        name: "email",
        kind: MemberKind::Email,
    },
    ShapedMember {
        name: "phone",
        kind: MemberKind::Phone,
    },
    text_member("organization_name", 200),
    text_member("organization_domain", 253),
    ShapedMember {
        name: "avatar_url",
        kind: MemberKind::Url,
    },
];

const fn text_member(name: &'static str, max_chars: usize) -> ShapedMember {
    ShapedMember {
        name,
        kind: MemberKind::Text { max_chars },
    }
}

const fn text(max_chars: usize) -> Kind {
    Kind::String { max_chars }
}

/// Set by the server, never by a client.
const SERVER: Write = Write::ReadOnly(ServerValue::Hook);
const OPTIONAL: Write = Write::Optional(Initially::Null);

pub static RESOURCE: ResourceType = ResourceType {
    name: "Conversation",
    path: "conversations",
    attributes: &[
        Attribute::new("channel", Kind::Enum(CHANNELS), Write::Required).queryable(),
        Attribute::choice("mode", MODES, "text"),
        // `active`, or `pending` for a telephone call; see `lifecycle`.
        Attribute::new(
            "status",
            Kind::Enum(lifecycle::STATUSES),
            Write::Optional(Initially::Hook),
        )
        .queryable(),
        Attribute::choice("direction", DIRECTIONS, "inbound"),
        Attribute::new("public_id", text(64), SERVER).filterable(),
        Attribute::new("title", text(500), OPTIONAL)
            .nullable()
            .filterable(),
        Attribute::new("ai_agent_id", Kind::Uuid, OPTIONAL)
            .nullable()
            .filterable(),
        Attribute::new(
            "participant",
            Kind::Shaped(PARTICIPANT),
            Write::Optional(Initially::EmptyObject),
        )
        .filterable(),
        Attribute::new("to_address", Kind::Email { max_chars: 254 }, OPTIONAL)
            .nullable()
            .filterable(),
        Attribute::new("from_address", Kind::Email { max_chars: 254 }, OPTIONAL)
            .nullable()
            .filterable(),
        Attribute::new("subject", text(998), OPTIONAL)
            .nullable()
            .filterable(),
        Attribute::new("initial_context", text(100_000), OPTIONAL).nullable(),
        Attribute::new("summary", text(100_000), OPTIONAL).nullable(),
        Attribute::new(
            "metadata",
            Kind::Object,
            Write::Optional(Initially::EmptyObject),
        )
        .filterable(),
        Attribute::new("started_at", Kind::Timestamp, SERVER)
            .nullable()
            .queryable(),
        Attribute::new("ended_at", Kind::Timestamp, SERVER)
            .nullable()
            .queryable(),
        Attribute::new("duration_seconds", Kind::Integer, SERVER)
            .nullable()
            .queryable(),
        Attribute::new(
            "archived",
            Kind::Boolean,
            Write::Optional(Initially::Bool(false)),
        )
        .filterable(),
        Attribute::new("archived_at", Kind::Timestamp, SERVER)
            .nullable()
            .queryable(),
        Attribute::new("item_count", Kind::Integer, SERVER).queryable(),
        Attribute::new("user_turn_count", Kind::Integer, SERVER).queryable(),
        Attribute::new("last_item_at", Kind::Timestamp, SERVER)
            .nullable()
            .queryable(),
        Attribute::created_at(),
        Attribute::updated_at(),
    ],
    relationships: &[
        Relationship::owner(),
        Relationship::to_one(
            "ai_agent",
            "AiAgent",
            "ai_agent_id",
            ToOneWrite::Changeable {
                requires: Some("published"),
            },
        ),
        Relationship::to_many("conversation_items", "ConversationItem", "conversation"),
    ],
    default_order: &[("created_at", Direction::Descending)],
    tenant_column: "organisation_id",
    scope_family: "conversation",
    http_writes: HttpWrites {
        create: true,
        delete: true,
    },
    soft_delete: Some("deleted_at"),
    hidden_unless_filtered: &["archived"],
    storage: Storage::of::<Conversation>(),
};

impl Resource for Conversation {
    const DESCRIPTION: &'static ResourceType = &RESOURCE;

    /// The public id is shared with the people in the conversation (links, widgets), so it
    /// carries 122 random bits and nothing that can be guessed from the primary id. Then the
    /// channel's rules and the lifecycle's starting state.
    fn before_insert(&mut self, _tx: &mut Tx<'_>) -> Result<(), ApiError> {
        self.public_id = format!("conv_{}", uuid::Uuid::new_v4().simple());
        let mut problems = channel::check(self);
        if let Err(problem) = lifecycle::start(self) {
            problems.push(problem);
        }
        match ApiError::from_problems(problems) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// An agent's greeting opens the conversation (seed 003 returns it at once).
    fn after_insert(&self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        counters::greet(tx, self)
    }

    /// A telephone conversation waits for a dialer to start it.
    fn queued(&self) -> bool {
        self.channel == channel::TELEPHONE && self.status == lifecycle::PENDING
    }

    fn before_update(
        &self,
        changes: &mut ConversationChanges,
        tx: &mut Tx<'_>,
    ) -> Result<(), ApiError> {
        lifecycle::change(self, changes, tx)?;
        match ApiError::from_problems(channel::check(&self.merged(changes))) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Its items go with it, softly as it does.
    fn after_delete(&self, tx: &mut Tx<'_>) -> Result<(), ApiError> {
        counters::delete_items_of(tx, self)
    }
}
