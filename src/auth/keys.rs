//! Making, listing and revoking keys: the operator's side, used by the command line.

use chrono::{TimeDelta, Utc};
use serde_json::Value;

use super::{display_prefix, hash, KEY_COLUMNS, LIVE, SCOPES, SECRET_HEX_DIGITS, TEST};
use crate::jsonapi::error::ApiError;
use crate::store::{
    self, truncate_to_micros, Condition, Db, Direction, Expr, Select, SqlValue, StoreError,
};

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
        let inserted = store::insert(
            conn,
            "api_keys",
            vec![
                (
                    "id",
                    SqlValue::text(uuid::Uuid::new_v4().hyphenated().to_string()),
                ),
                ("organisation_id", SqlValue::text(&key.organisation_id)),
                ("prefix", SqlValue::text(display_prefix(&secret))),
                ("secret_hash", SqlValue::text(hash(&secret))),
                ("scopes", SqlValue::text(key.scopes.join(" "))),
                (
                    "created_at",
                    SqlValue::Timestamp(Some(truncate_to_micros(now))),
                ),
                ("expires_at", SqlValue::Timestamp(expires)),
            ],
        );
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
    let conditions = organisation_id
        .map(|id| vec![Condition::Equals("organisation_id", SqlValue::text(id))])
        .unwrap_or_default();
    let rows = Select::from("api_keys", KEY_COLUMNS)
        .filters(conditions)
        .order_by(Expr::Column("created_at"), Direction::Ascending)
        .order_by(Expr::Column("prefix"), Direction::Ascending)
        .load(conn)?;
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
    Ok(rows
        .iter()
        .map(|row| KeyInfo {
            prefix: text(row.get("prefix")).unwrap_or_default(),
            organisation_id: text(row.get("organisation_id")).unwrap_or_default(),
            scopes: text(row.get("scopes"))
                .unwrap_or_default()
                .split(' ')
                .map(str::to_string)
                .collect(),
            created_at: text(row.get("created_at")).unwrap_or_default(),
            expires_at: text(row.get("expires_at")),
            revoked_at: text(row.get("revoked_at")),
            last_used_at: text(row.get("last_used_at")),
        })
        .collect())
}

/// Revokes the key with this display prefix; false when there is none (or it was revoked).
pub fn revoke_key(conn: &mut Db, prefix: &str) -> Result<bool, ApiError> {
    let mut sql = store::Sql::new(conn.dialect());
    sql.push("UPDATE ")
        .ident("api_keys")
        .push(" SET ")
        .ident("revoked_at")
        .push(" = ")
        .bind(SqlValue::Timestamp(Some(truncate_to_micros(
            Utc::now().naive_utc(),
        ))))
        .push(" WHERE ")
        .ident("prefix")
        .push(" = ")
        .bind(SqlValue::text(prefix))
        .push(" AND ")
        .ident("revoked_at")
        .push(" IS NULL");
    Ok(sql.execute(conn)? > 0)
}
