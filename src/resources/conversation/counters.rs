//! What a conversation keeps about its items, exact and in the same transaction as each write:
//! the next position, `item_count`, `user_turn_count` and `last_item_at`. Every change takes
//! the conversation's row lock first, so concurrent appends, deletes and transitions are
//! ordered (SQLite's single writer orders them anyway).

use diesel::dsl::max;
use diesel::prelude::*;

use super::lifecycle::is_terminal;
use super::Conversation;
use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{now_in_micros, Resource};
use crate::jsonapi::unit_of_work::Tx;
use crate::resources::ai_agent::AiAgent;
use crate::resources::conversation_item::ConversationItem;
use crate::store::schema::{ai_agents, conversation_items, conversations};
use crate::store::{JsonText, StoreError, Stored, UtcTime};

const USER: &str = "user";

/// Appends `item` to its conversation: takes the next position and the conversation's
/// organisation, refuses (409) a conversation that has ended, and counts the item. The item's
/// `created_at` is read after the lock, so no item can land after its conversation's end.
pub fn append(tx: &mut Tx<'_>, item: &mut ConversationItem) -> Result<(), ApiError> {
    let user_turn = i64::from(item.role == USER);
    let conversation = conversations::table
        .find(&item.conversation_id)
        .filter(conversations::deleted_at.is_null());
    diesel::update(conversation)
        .set((
            conversations::last_item_position.eq(conversations::last_item_position + 1),
            conversations::item_count.eq(conversations::item_count + 1),
            conversations::user_turn_count.eq(conversations::user_turn_count + user_turn),
        ))
        .execute(tx.conn())
        .map_err(StoreError::from)?;
    let (position, organisation, status, last_item_at) = conversation
        .select((
            conversations::last_item_position,
            conversations::organisation_id,
            conversations::status,
            conversations::last_item_at,
        ))
        .first::<(i64, String, String, Option<UtcTime>)>(tx.conn())
        .optional()
        .map_err(StoreError::from)?
        .ok_or_else(|| ApiError::NotFound {
            detail: "The conversation was deleted while the item was being created.".into(),
            pointer: Some("/data/relationships/conversation/data".into()),
        })?;
    if is_terminal(&status) {
        return Err(ApiError::StateConflict {
            pointer: Some("/data/relationships/conversation/data".into()),
            detail: format!(
                "The conversation is `{status}`: it has ended, and takes no more items."
            ),
        });
    }
    item.position = position;
    item.organisation_id = organisation;
    item.created_at = UtcTime(now_in_micros());
    if last_item_at.is_none_or(|last| item.occurred_at > last) {
        diesel::update(conversation)
            .set(conversations::last_item_at.eq(Some(item.occurred_at)))
            .execute(tx.conn())
            .map_err(StoreError::from)?;
    }
    Ok(())
}

/// Uncounts an item just deleted from its conversation. The counters' write comes first: it
/// takes the row lock, after which every concurrent append has committed, so the latest
/// `occurred_at` read next is complete (read before the lock, it could miss one and overwrite
/// a later value).
pub fn remove(tx: &mut Tx<'_>, item: &ConversationItem) -> Result<(), ApiError> {
    let user_turn = i64::from(item.role == USER);
    let conversation = conversations::table.find(&item.conversation_id);
    diesel::update(conversation)
        .set((
            conversations::item_count.eq(conversations::item_count - 1),
            conversations::user_turn_count.eq(conversations::user_turn_count - user_turn),
        ))
        .execute(tx.conn())
        .map_err(StoreError::from)?;
    let last_item_at = conversation_items::table
        .filter(conversation_items::conversation_id.eq(&item.conversation_id))
        .filter(conversation_items::deleted_at.is_null())
        .select(max(conversation_items::occurred_at))
        .first::<Option<UtcTime>>(tx.conn())
        .map_err(StoreError::from)?;
    diesel::update(conversation)
        .set(conversations::last_item_at.eq(last_item_at))
        .execute(tx.conn())
        .map_err(StoreError::from)?;
    Ok(())
}

/// A deleted conversation's items are deleted with it, the same soft way.
pub fn delete_items_of(tx: &mut Tx<'_>, conversation: &Conversation) -> Result<(), ApiError> {
    let deleted_at = conversations::table
        .find(&conversation.id)
        .select(conversations::deleted_at)
        .first::<Option<UtcTime>>(tx.conn())
        .map_err(StoreError::from)?;
    diesel::update(
        conversation_items::table
            .filter(conversation_items::conversation_id.eq(&conversation.id))
            .filter(conversation_items::deleted_at.is_null()),
    )
    .set(conversation_items::deleted_at.eq(deleted_at))
    .execute(tx.conn())
    .map_err(StoreError::from)?;
    Ok(())
}

/// The channels on which an agent speaks first.
const GREETED: &[&str] = &["text", "chat", "widget"];

/// A new text, chat or widget conversation whose agent has a greeting opens with it, as its
/// first item (role `assistant`).
pub fn greet(tx: &mut Tx<'_>, conversation: &Conversation) -> Result<(), ApiError> {
    let Some(agent) = &conversation.ai_agent_id else {
        return Ok(());
    };
    if !GREETED.contains(&conversation.channel.as_str()) {
        return Ok(());
    }
    let greeting = ai_agents::table
        .find(agent)
        .filter(ai_agents::organisation_id.eq(&conversation.organisation_id))
        .select(ai_agents::greeting)
        .first::<Option<String>>(tx.conn())
        .optional()
        .map_err(StoreError::from)?
        .flatten()
        .filter(|greeting| !greeting.trim().is_empty());
    let Some(greeting) = greeting else {
        return Ok(());
    };
    let now = UtcTime(now_in_micros());
    let parts = serde_json::json!([{"type": "text", "text": greeting}]).to_string();
    let mut item = ConversationItem {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        conversation_id: conversation.id.clone(),
        role: "assistant".into(),
        content: greeting,
        modality: "text".into(),
        metadata: JsonText("{}".into()),
        occurred_at: now,
        created_at: now,
        item_type: "message".into(),
        visibility: "public".into(),
        parts: JsonText(parts),
        ..ConversationItem::default()
    };
    item.before_insert(tx)?;
    ConversationItem::insert(tx, std::slice::from_ref(&item))?;
    Ok(())
}

/// An agent's conversations forget it when it is deleted.
pub fn forget_agent(tx: &mut Tx<'_>, agent: &AiAgent) -> Result<(), ApiError> {
    diesel::update(conversations::table.filter(conversations::ai_agent_id.eq(&agent.id)))
        .set(conversations::ai_agent_id.eq(None::<String>))
        .execute(tx.conn())
        .map_err(StoreError::from)?;
    Ok(())
}
