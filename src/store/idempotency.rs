//! Answers to requests sent with an `Idempotency-Key`, kept for 24 hours so that a retry gets the
//! first answer instead of doing the work again. A key is claimed inside the transaction that
//! does the work and records the answer, so one commit holds both, on every instance.

use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::schema::idempotency_keys;
use super::{truncate_to_micros, Db, StoreResult};

/// How long an answer is replayed.
pub const LIFETIME: TimeDelta = TimeDelta::hours(24);

/// A complete answer as it was sent: status, the headers that describe it, and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

/// What a key's claim found.
#[derive(Debug)]
pub enum Claim {
    /// No live answer under this key: do the work, then [`record`] its answer.
    Fresh,
    /// The same request was answered before: send this again.
    Replay(StoredAnswer),
    /// The key was used for a different request.
    Mismatch,
    /// Another transaction holds the key right now (PostgreSQL; SQLite serialises writers).
    InFlight,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The row's id: keys are per organisation.
fn row_id(organisation: &str, key: &str) -> String {
    hex(&Sha256::digest(format!("{organisation}\n{key}").as_bytes()))
}

/// The digest a retry must match: method, path, query and body.
pub fn request_digest(method: &str, path: &str, query: &str, body: &[u8]) -> String {
    let mut digest = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), query.as_bytes()] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    digest.update(body);
    hex(&digest.finalize())
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Claims `key` for `organisation` inside the caller's transaction.
pub fn claim(conn: &mut Db, organisation: &str, key: &str, digest: &str) -> StoreResult<Claim> {
    let id = row_id(organisation, key);
    if let Db::Postgres(pg) = conn {
        // A transaction-scoped advisory lock on the key: a concurrent request with the same key
        // learns at once that the first is in flight, on whichever instance it runs. Diesel has
        // no builder for PostgreSQL's advisory-lock functions.
        let lock = diesel::sql_query(
            "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked",
        )
        .bind::<diesel::sql_types::Text, _>(&id)
        .get_result::<Locked>(pg)?;
        if !lock.locked {
            return Ok(Claim::InFlight);
        }
    }
    type Row = (
        String,
        i64,
        Option<String>,
        Option<String>,
        String,
        NaiveDateTime,
    );
    let row: Option<Row> = idempotency_keys::table
        .find(&id)
        .select((
            idempotency_keys::request_digest,
            idempotency_keys::status,
            idempotency_keys::location,
            idempotency_keys::content_type,
            idempotency_keys::body,
            idempotency_keys::created_at,
        ))
        .first(conn)
        .optional()?;
    let Some((stored_digest, status, location, content_type, body, created_at)) = row else {
        return Ok(Claim::Fresh);
    };
    if created_at < Utc::now().naive_utc() - LIFETIME {
        diesel::delete(idempotency_keys::table.find(&id)).execute(conn)?;
        return Ok(Claim::Fresh);
    }
    if stored_digest != digest {
        return Ok(Claim::Mismatch);
    }
    Ok(Claim::Replay(StoredAnswer {
        status: u16::try_from(status).unwrap_or(500),
        location,
        content_type,
        body,
    }))
}

/// Records the answer to a claimed key, in the same transaction as the work.
pub fn record(
    conn: &mut Db,
    organisation: &str,
    key: &str,
    digest: &str,
    answer: &StoredAnswer,
) -> StoreResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::id.eq(row_id(organisation, key)),
            idempotency_keys::organisation_id.eq(organisation),
            idempotency_keys::request_digest.eq(digest),
            idempotency_keys::status.eq(i64::from(answer.status)),
            idempotency_keys::location.eq(answer.location.as_deref()),
            idempotency_keys::content_type.eq(answer.content_type.as_deref()),
            idempotency_keys::body.eq(&answer.body),
            idempotency_keys::created_at.eq(truncate_to_micros(Utc::now().naive_utc())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes answers past their lifetime; returns how many.
pub fn purge_expired(conn: &mut Db) -> StoreResult<usize> {
    let cutoff = Utc::now().naive_utc() - LIFETIME;
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
            .execute(conn)?,
    )
}
