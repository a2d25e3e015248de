//! A conversation's lifecycle (seeds 001, 003, 004): `pending` (queued, not yet started),
//! `active`, and the terminal `completed`, `abandoned`, `cancelled` and `failed`. The server
//! keeps `started_at` (on entering `active`), `ended_at` and `duration_seconds` (on entering a
//! terminal state) and `archived_at`.

use diesel::prelude::*;

use super::{Conversation, ConversationChanges};
use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::now_in_micros;
use crate::jsonapi::unit_of_work::Tx;
use crate::store::schema::conversations;
use crate::store::{Db, StoreError, UtcTime};

pub const PENDING: &str = "pending";
pub const ACTIVE: &str = "active";
pub const STATUSES: &[&str] = &[
    PENDING,
    ACTIVE,
    "completed",
    "abandoned",
    "cancelled",
    "failed",
];

const STATUS_POINTER: &str = "/data/attributes/status";

pub fn is_terminal(status: &str) -> bool {
    !matches!(status, PENDING | ACTIVE)
}

/// The transitions the lifecycle allows; a terminal state has none.
fn allowed(from: &str, to: &str) -> bool {
    match from {
        PENDING => matches!(to, ACTIVE | "cancelled" | "failed"),
        ACTIVE => is_terminal(to),
        _ => false,
    }
}

/// The state a new conversation starts in: `active` unless the client asks for `pending`; a
/// telephone call always starts `pending`, for a dialer to pick up.
pub fn start(conversation: &mut Conversation) -> Result<(), ApiError> {
    let telephone = conversation.channel == super::channel::TELEPHONE;
    if conversation.status.is_empty() {
        conversation.status = if telephone { PENDING } else { ACTIVE }.to_string();
    }
    if telephone && conversation.status != PENDING {
        return Err(ApiError::invalid_member(
            STATUS_POINTER,
            "A telephone conversation is created `pending`: a dialer starts it.",
        ));
    }
    if is_terminal(&conversation.status) {
        return Err(ApiError::invalid_member(
            STATUS_POINTER,
            format!(
                "A conversation starts `pending` or `active`, not `{}`.",
                conversation.status
            ),
        ));
    }
    let now = UtcTime(conversation.created_at.0);
    if conversation.status == ACTIVE {
        conversation.started_at = Some(now);
    }
    if conversation.archived {
        conversation.archived_at = Some(now);
    }
    Ok(())
}

/// Checks a change of state against the lifecycle and sets what the server derives from it.
/// Setting the state a conversation already has changes nothing (seed 003's idempotent end).
pub fn change(
    stored: &Conversation,
    changes: &mut ConversationChanges,
    tx: &mut Tx<'_>,
) -> Result<(), ApiError> {
    let now = UtcTime(now_in_micros());
    if let Some(archived) = changes.archived {
        changes.archived_at = match (archived, stored.archived) {
            (true, false) => Some(Some(now)),
            (false, true) => Some(None),
            _ => None,
        };
    }
    let Some(wanted) = changes.status.take() else {
        return Ok(());
    };
    // The state as it is now, read under the row's write lock: a concurrent transition or
    // append has either committed before this, or waits until this transaction ends.
    let (current, started_at) = lock_state(tx, &stored.id)?;
    if wanted == current {
        return Ok(());
    }
    if !allowed(&current, &wanted) {
        let why = if is_terminal(&current) {
            format!("`{current}` is final")
        } else {
            format!("`{current}` cannot become `{wanted}`")
        };
        return Err(ApiError::StateConflict {
            pointer: Some(STATUS_POINTER.into()),
            detail: format!(
                "The conversation is `{current}` and cannot become `{wanted}`: {why}. From `pending` it may become active, cancelled or failed; from `active`, completed, abandoned, cancelled or failed."
            ),
        });
    }
    // Read the clock only now, after the lock: no item appended before this transition can
    // carry a later time than its end.
    let now = UtcTime(now_in_micros());
    let mut started = started_at;
    if wanted == ACTIVE && started.is_none() {
        started = Some(now);
        changes.started_at = Some(started);
    }
    if is_terminal(&wanted) {
        changes.ended_at = Some(Some(now));
        changes.duration_seconds =
            Some(started.map(|started| (now.0 - started.0).num_seconds().max(0)));
    }
    changes.status = Some(wanted);
    Ok(())
}

/// Takes the conversation's row lock (a no-op write; SQLite's writer lock is held already) and
/// reads its state.
pub fn lock_state(conn: &mut Db, id: &str) -> Result<(String, Option<UtcTime>), ApiError> {
    let row = conversations::table.find(id);
    diesel::update(row)
        .set(conversations::status.eq(conversations::status))
        .execute(conn)
        .map_err(StoreError::from)?;
    // Gone only if its organisation was deleted meanwhile: as absent as any missing resource.
    row.select((conversations::status, conversations::started_at))
        .first::<(String, Option<UtcTime>)>(conn)
        .optional()
        .map_err(StoreError::from)?
        .ok_or_else(|| ApiError::not_found(format!("No Conversation with id `{id}`.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_lifecycle() {
        assert!(allowed(PENDING, ACTIVE));
        assert!(allowed(PENDING, "cancelled"));
        assert!(!allowed(PENDING, "completed"));
        assert!(allowed(ACTIVE, "completed"));
        assert!(!allowed(ACTIVE, PENDING));
        for terminal in &STATUSES[2..] {
            assert!(STATUSES.iter().all(|to| !allowed(terminal, to)));
        }
    }
}
