//! One unit of work for every write: a [`Tx`] that the generic layer opens once per request
//! (once per Atomic Operations request), that every create, update, delete, relationship write
//! and type hook receives instead of a bare connection, and that commits the change and its
//! idempotency record together, or nothing at all.
//!
//! Nothing below the generic layer opens a transaction of its own, and neither does the HTTP
//! layer: it names the request's `Idempotency-Key` (if any) and calls [`write`].

use std::ops::{Deref, DerefMut};

use crate::jsonapi::error::ApiError;
use crate::store::idempotency::{self, Claim, StoredAnswer};
use crate::store::{self, Db};

/// A write in progress: the connection, inside the request's one transaction.
pub struct Tx<'c> {
    conn: &'c mut Db,
}

impl Tx<'_> {
    /// The connection, for statements a hook runs itself.
    pub fn conn(&mut self) -> &mut Db {
        self.conn
    }
}

/// Reads inside the unit of work take the connection as any read does.
impl Deref for Tx<'_> {
    type Target = Db;

    fn deref(&self) -> &Db {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Db {
        self.conn
    }
}

/// The `Idempotency-Key` a write runs under: whose, the key, and the digest of the request a
/// retry must match.
pub struct Idempotent<'a> {
    pub organisation: &'a str,
    pub key: &'a str,
    pub digest: &'a str,
}

/// Runs `work` as one unit: the key's claim (when there is one), the work and its recorded
/// answer commit together; any error rolls all of it back (a refusal changed nothing, so it
/// frees the key too). Returns the answer and whether it is a replay of an earlier one.
pub fn write(
    conn: &mut Db,
    idempotent: Option<Idempotent<'_>>,
    work: impl FnOnce(&mut Tx<'_>) -> Result<StoredAnswer, ApiError>,
) -> Result<(StoredAnswer, bool), ApiError> {
    store::transaction(conn, |conn| {
        if let Some(keyed) = &idempotent {
            match idempotency::claim(conn, keyed.organisation, keyed.key, keyed.digest)? {
                Claim::Replay(answer) => return Ok((answer, true)),
                Claim::Mismatch => return Err(ApiError::IdempotencyKeyReused),
                Claim::InFlight => return Err(ApiError::IdempotencyKeyInFlight),
                Claim::Fresh => {}
            }
        }
        let answer = work(&mut Tx { conn })?;
        if let Some(keyed) = &idempotent {
            idempotency::record(conn, keyed.organisation, keyed.key, keyed.digest, &answer)?;
        }
        Ok((answer, false))
    })
}

/// Runs `work` as one unit for an operator's command (no key, nothing to answer).
pub fn operate<T>(
    conn: &mut Db,
    work: impl FnOnce(&mut Tx<'_>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    store::transaction(conn, |conn| work(&mut Tx { conn }))
}
