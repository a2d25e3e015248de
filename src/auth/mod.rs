//! API keys: bearer authentication of server-to-server calls and the scopes a key carries.
//!
//! A key is `sk_live_` or `sk_test_` and 64 lowercase hex digits (256 random bits). Only its
//! SHA-256 is stored: a key that random needs no slow hash. A key is found by its display prefix
//! (the kind and the first 12 hex digits) and then checked by comparing hashes in constant time.

pub mod keys;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::Tenant;
use crate::store::{self, truncate_to_micros, Column, ColumnKind, Condition, Db, Select, SqlValue};

pub const SCOPES: &[&str] = &[
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

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
        let scope = match access {
            Access::Read => format!("{family}:read"),
            Access::Write => format!("{family}:write"),
        };
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::MissingScope { scope })
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
fn display_prefix(token: &str) -> &str {
    &token[..LIVE.len() + PREFIX_HEX_DIGITS]
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
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

fn timestamp(row: &store::Row, column: &str) -> Option<DateTime<Utc>> {
    row.get(column)
        .and_then(|value| value.as_str())
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|time| time.with_timezone(&Utc))
}

/// The `api_keys` columns a key is read with (for checking it, or listing it).
pub(crate) const KEY_COLUMNS: &[Column] = &[
    Column {
        name: "id",
        kind: ColumnKind::Text,
    },
    Column {
        name: "organisation_id",
        kind: ColumnKind::Text,
    },
    Column {
        name: "prefix",
        kind: ColumnKind::Text,
    },
    Column {
        name: "secret_hash",
        kind: ColumnKind::Text,
    },
    Column {
        name: "scopes",
        kind: ColumnKind::Text,
    },
    Column {
        name: "created_at",
        kind: ColumnKind::Timestamp,
    },
    Column {
        name: "expires_at",
        kind: ColumnKind::Timestamp,
    },
    Column {
        name: "revoked_at",
        kind: ColumnKind::Timestamp,
    },
    Column {
        name: "last_used_at",
        kind: ColumnKind::Timestamp,
    },
];

/// Finds the key behind `token`: one statement, plus one write at most once a minute per key.
pub fn authenticate(conn: &mut Db, token: &str) -> Result<Principal, ApiError> {
    let invalid = || ApiError::unauthorized("The API key is not valid.", true);
    if !is_well_formed(token) {
        return Err(ApiError::unauthorized(
            "The API key is malformed: expected sk_live_ or sk_test_ and 64 lowercase hex digits.",
            true,
        ));
    }
    let prefix = display_prefix(token);
    let row = Select::from("api_keys", KEY_COLUMNS)
        .filter(Condition::Equals("prefix", SqlValue::text(prefix)))
        .limit(1)
        .load(conn)?
        .pop()
        .ok_or_else(invalid)?;
    let stored = row
        .get("secret_hash")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if !constant_time_eq(hash(token).as_bytes(), stored.as_bytes()) {
        return Err(invalid());
    }
    if row.get("revoked_at").is_some_and(|value| !value.is_null()) {
        return Err(ApiError::unauthorized(
            "The API key has been revoked.",
            true,
        ));
    }
    let now = Utc::now();
    if timestamp(&row, "expires_at").is_some_and(|expires| expires <= now) {
        return Err(ApiError::unauthorized("The API key has expired.", true));
    }
    let text = |column: &str| {
        row.get(column)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| ApiError::Internal(format!("api key without {column}")))
    };
    if timestamp(&row, "last_used_at").is_none_or(|used| now - used >= LAST_USED_RESOLUTION) {
        store::update(
            conn,
            "api_keys",
            vec![Condition::Equals("id", SqlValue::text(text("id")?))],
            vec![(
                "last_used_at",
                SqlValue::Timestamp(Some(truncate_to_micros(now.naive_utc()))),
            )],
        )?;
    }
    Ok(Principal {
        organisation_id: text("organisation_id")?,
        key_prefix: prefix.to_string(),
        scopes: text("scopes")?.split(' ').map(str::to_string).collect(),
    })
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
