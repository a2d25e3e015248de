//! API keys: bearer authentication of server-to-server calls and the scopes a key carries.
//!
//! A key is `sk_live_` or `sk_test_` and 64 lowercase hex digits (256 random bits). Only its
//! SHA-256 is stored: a key that random needs no slow hash. A key is found by its display prefix
//! (the kind and the first 12 hex digits) and then checked by comparing hashes in constant time.

pub mod cache;
pub mod keys;

use std::sync::Arc;

use chrono::{NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::jsonapi::error::ApiError;
pub use crate::jsonapi::resource::Access;
use crate::jsonapi::resource::{scope_grants, scope_name, Tenant};
use crate::store::schema::api_keys;
use crate::store::{truncate_to_micros, Db, StoreError, UtcTime};

pub use cache::KeyCache;

crate::stored_model! {
    /// A row of `api_keys`: never the secret, only its hash.
    pub struct ApiKey in api_keys, changed by ApiKeyChanges {
        pub id: String,
        pub organisation_id: String,
        /// The display prefix, e.g. `sk_test_1a2b3c4d5e6f`.
        pub prefix: String,
        pub secret_hash: String,
        /// Space-separated.
        pub scopes: String,
        pub created_at: UtcTime,
        pub expires_at: Option<UtcTime>,
        pub revoked_at: Option<UtcTime>,
        pub last_used_at: Option<UtcTime>,
    }
}

pub const SCOPES: &[&str] = &[
    "agent:read",
    "agent:write",
    "conversation:read",
    "conversation:write",
    "organisation:read",
    "organisation:write",
];

const LIVE: &str = "sk_live_";
const TEST: &str = "sk_test_";
const SECRET_HEX_DIGITS: usize = 64;
const PREFIX_HEX_DIGITS: usize = 12;
/// `last_used_at` is written at most this often per key, so reads stay reads.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::seconds(60);

/// Who is calling: an organisation, through one of its keys.
#[derive(Clone, Debug)]
pub struct Principal {
    pub organisation_id: String,
    pub key_prefix: String,
    scopes: Vec<String>,
}

impl Principal {
    pub fn tenant(&self) -> Tenant {
        Tenant::Organisation(self.organisation_id.clone())
    }

    /// `{family}:read` or `{family}:write`, or a 403 that names the scope.
    pub fn require(&self, family: &str, access: Access) -> Result<(), ApiError> {
        let granted = self
            .scopes
            .iter()
            .any(|scope| scope_grants(scope, family, access));
        if granted {
            Ok(())
        } else {
            Err(ApiError::MissingScope {
                scope: scope_name(family, access),
            })
        }
    }
}

/// The key in an `Authorization: Bearer …` header.
pub fn bearer_token(header: Option<&str>) -> Result<&str, ApiError> {
    let header = header.ok_or_else(|| {
        ApiError::unauthorized("Send an API key: `Authorization: Bearer sk_…`.", false)
    })?;
    match header.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(ApiError::unauthorized(
            "The Authorization header must use the Bearer scheme.",
            false,
        )),
    }
}

pub fn is_well_formed(token: &str) -> bool {
    let digits = token
        .strip_prefix(LIVE)
        .or_else(|| token.strip_prefix(TEST));
    digits.is_some_and(|digits| {
        digits.len() == SECRET_HEX_DIGITS
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The part of a key that may be shown and stored in clear: `sk_test_1a2b3c4d5e6f`.
pub fn display_prefix(token: &str) -> &str {
    &token[..LIVE.len() + PREFIX_HEX_DIGITS]
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn hash(token: &str) -> String {
    hex(&digest(token))
}

/// Compares without stopping at the first difference, so timing says nothing about the hash.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// Finds the key behind `token`, from `cache` when it was verified moments ago, otherwise with
/// one statement (plus one write at most once a minute per key).
pub fn authenticate(
    cache: &KeyCache,
    conn: &mut Db,
    token: &str,
) -> Result<Arc<Principal>, ApiError> {
    if !is_well_formed(token) {
        return Err(ApiError::unauthorized(
            "The API key is malformed: expected sk_live_ or sk_test_ and 64 lowercase hex digits.",
            true,
        ));
    }
    let digest = digest(token);
    if let Some(principal) = cache.get(&digest) {
        return Ok(principal);
    }
    let (principal, expires_at) = verify(conn, token)?;
    let principal = Arc::new(principal);
    cache.insert(digest, principal.clone(), expires_at);
    Ok(principal)
}

/// The principal behind `token` if it was verified moments ago; no statement.
pub fn cached(cache: &KeyCache, token: &str) -> Option<Arc<Principal>> {
    is_well_formed(token)
        .then(|| cache.get(&digest(token)))
        .flatten()
}

/// Checks `token` against the stored keys; returns who it is and when the key expires.
fn verify(conn: &mut Db, token: &str) -> Result<(Principal, Option<NaiveDateTime>), ApiError> {
    let invalid = || ApiError::unauthorized("The API key is not valid.", true);
    let prefix = display_prefix(token);
    let key: ApiKey = api_keys::table
        .filter(api_keys::prefix.eq(prefix))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()
        .map_err(StoreError::from)?
        .ok_or_else(invalid)?;
    if !constant_time_eq(hash(token).as_bytes(), key.secret_hash.as_bytes()) {
        return Err(invalid());
    }
    if key.revoked_at.is_some() {
        return Err(ApiError::unauthorized(
            "The API key has been revoked.",
            true,
        ));
    }
    let now = Utc::now().naive_utc();
    if key.expires_at.is_some_and(|expires| expires.0 <= now) {
        return Err(ApiError::unauthorized("The API key has expired.", true));
    }
    if key
        .last_used_at
        .is_none_or(|used| now - used.0 >= LAST_USED_RESOLUTION)
    {
        diesel::update(api_keys::table.find(&key.id))
            .set(api_keys::last_used_at.eq(truncate_to_micros(now)))
            .execute(conn)
            .map_err(StoreError::from)?;
    }
    let principal = Principal {
        organisation_id: key.organisation_id,
        key_prefix: prefix.to_string(),
        scopes: key.scopes.split(' ').map(str::to_string).collect(),
    };
    Ok((principal, key.expires_at.map(|time| time.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format() {
        let key = format!("sk_test_{}", "a1".repeat(32));
        assert!(is_well_formed(&key));
        assert_eq!(display_prefix(&key), "sk_test_a1a1a1a1a1a1");
        assert!(!is_well_formed(&key.to_uppercase()));
        assert!(!is_well_formed(&format!("sk_prod_{}", "a1".repeat(32))));
        assert!(!is_well_formed(&key[..key.len() - 1]));
        assert!(!is_well_formed(&format!("{key}0")));
        assert!(!is_well_formed(&format!("sk_live_{}", "g1".repeat(32))));
    }

    #[test]
    fn constant_time_comparison_is_still_a_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(Some("Bearer sk_x")).ok(), Some("sk_x"));
        assert_eq!(bearer_token(Some("bearer  sk_x ")).ok(), Some("sk_x"));
        assert!(bearer_token(Some("Basic dXNlcjpwYXNz")).is_err());
        assert!(bearer_token(Some("sk_x")).is_err());
        assert!(bearer_token(None).is_err());
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
