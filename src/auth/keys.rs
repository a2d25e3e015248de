//! Making, listing and revoking keys: the operator's side, used by the command line.

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;

use super::{display_prefix, hash, ApiKey, LIVE, SCOPES, SECRET_HEX_DIGITS, TEST};
use crate::jsonapi::error::ApiError;
use crate::store::schema::api_keys;
use crate::store::{format_timestamp, truncate_to_micros, Db, StoreError, Stored, UtcTime};

/// A key as listed: never its secret.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub prefix: String,
    pub organisation_id: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

pub struct NewKey {
    pub organisation_id: String,
    pub scopes: Vec<String>,
    /// `sk_test_` rather than `sk_live_`.
    pub test: bool,
    pub expires_in_days: Option<u32>,
}

/// Checks a scope list: known scopes only, at least one.
pub fn parse_scopes(list: &str) -> Result<Vec<String>, String> {
    let mut scopes = Vec::new();
    for scope in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !SCOPES.contains(&scope) {
            return Err(format!(
                "unknown scope `{scope}`; known: {}",
                SCOPES.join(", ")
            ));
        }
        if !scopes.iter().any(|known| known == scope) {
            scopes.push(scope.to_string());
        }
    }
    if scopes.is_empty() {
        return Err("a key needs at least one scope".into());
    }
    Ok(scopes)
}

fn random_hex(digits: usize) -> Result<String, ApiError> {
    let mut bytes = vec![0u8; digits / 2];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Makes a key and returns its secret, which is never stored and cannot be shown again.
pub fn create_key(conn: &mut Db, key: &NewKey) -> Result<String, ApiError> {
    let now = Utc::now().naive_utc();
    let expires = key
        .expires_in_days
        .map(|days| truncate_to_micros(now + TimeDelta::days(i64::from(days))));
    // A prefix collision (48 random bits) is retried rather than reported.
    for _ in 0..3 {
        let secret = format!(
            "{}{}",
            if key.test { TEST } else { LIVE },
            random_hex(SECRET_HEX_DIGITS)?
        );
        let row = ApiKey {
            id: uuid::Uuid::new_v4().hyphenated().to_string(),
            organisation_id: key.organisation_id.clone(),
            prefix: display_prefix(&secret).to_string(),
            secret_hash: hash(&secret),
            scopes: key.scopes.join(" "),
            created_at: UtcTime(truncate_to_micros(now)),
            expires_at: expires.map(UtcTime),
            revoked_at: None,
            last_used_at: None,
        };
        let inserted = ApiKey::insert(conn, std::slice::from_ref(&row));
        match inserted {
            Ok(_) => return Ok(secret),
            Err(StoreError::UniqueViolation) => continue,
            Err(StoreError::ForeignKeyViolation) => {
                return Err(ApiError::not_found(format!(
                    "No organisation with id `{}`.",
                    key.organisation_id
                )))
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Internal(
        "could not find an unused key prefix".into(),
    ))
}

pub fn list_keys(conn: &mut Db, organisation_id: Option<&str>) -> Result<Vec<KeyInfo>, ApiError> {
    let mut query = api_keys::table
        .select(ApiKey::as_select())
        .order_by((api_keys::created_at.asc(), api_keys::prefix.asc()))
        .into_boxed();
    if let Some(organisation_id) = organisation_id {
        query = query.filter(api_keys::organisation_id.eq(organisation_id.to_string()));
    }
    let keys: Vec<ApiKey> = query.load(conn).map_err(StoreError::from)?;
    Ok(keys
        .into_iter()
        .map(|key| KeyInfo {
            prefix: key.prefix,
            organisation_id: key.organisation_id,
            scopes: key.scopes.split(' ').map(str::to_string).collect(),
            created_at: format_timestamp(key.created_at.0),
            expires_at: key.expires_at.map(|time| format_timestamp(time.0)),
            revoked_at: key.revoked_at.map(|time| format_timestamp(time.0)),
            last_used_at: key.last_used_at.map(|time| format_timestamp(time.0)),
        })
        .collect())
}

/// Revokes the key with this display prefix; false when there is none (or it was revoked).
pub fn revoke_key(conn: &mut Db, prefix: &str) -> Result<bool, ApiError> {
    let now = truncate_to_micros(Utc::now().naive_utc());
    let revoked = diesel::update(
        api_keys::table
            .filter(api_keys::prefix.eq(prefix))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)
    .map_err(StoreError::from)?;
    Ok(revoked > 0)
}
