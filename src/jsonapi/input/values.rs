//! Attribute values from request documents: checked against their kind and bounds, and
//! turned into what is stored.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::DateTime;
use serde_json::Value;

use crate::jsonapi::document::pointer_token;
use crate::jsonapi::resource::{Attribute, AttributeKind};
use crate::store::{truncate_to_micros, SqlValue};

/// The default bound on a JSON attribute's encoded size (`metadata`, and later `parts`).
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 64 * 1024;
static MAX_OBJECT_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_OBJECT_BYTES);

/// Sets the bound on a JSON attribute's encoded size for this process (operators'
/// `--max-object-bytes`). Bounding what enters bounds every document that shows it later.
pub fn set_max_object_bytes(bytes: usize) {
    MAX_OBJECT_BYTES.store(bytes.max(2), Ordering::Relaxed);
}

pub fn max_object_bytes() -> usize {
    MAX_OBJECT_BYTES.load(Ordering::Relaxed)
}

/// The first place in a JSON attribute value that cannot be stored as sent, with why: NUL
/// (PostgreSQL refuses it in JSON text, so both backends do) or a number beyond 64 bits (parsed
/// as a float, it would be stored rounded). A key with NUL is reported at its object.
pub(super) fn unstorable(value: &Value, pointer: String) -> Option<(String, &'static str)> {
    const BEYOND_64_BITS: f64 = 9_223_372_036_854_775_808.0; // 2^63
    match value {
        Value::String(text) if text.contains('\0') => {
            Some((pointer, "cannot contain NUL characters"))
        }
        Value::Number(number)
            if number.as_f64().is_some_and(|f| {
                !number.is_i64() && !number.is_u64() && f.abs() >= BEYOND_64_BITS
            }) =>
        {
            Some((
                pointer,
                "holds a number beyond 64 bits, which would be stored rounded; send it as a string",
            ))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| unstorable(item, format!("{pointer}/{index}"))),
        Value::Object(members) => {
            if members.keys().any(|key| key.contains('\0')) {
                return Some((pointer, "cannot contain NUL characters in its keys"));
            }
            members.iter().find_map(|(key, member)| {
                unstorable(member, format!("{pointer}/{}", pointer_token(key)))
            })
        }
        _ => None,
    }
}

/// Checks a value against its attribute's kind and turns it into what is stored.
pub(super) fn to_sql_value(attribute: &Attribute, value: &Value) -> Result<SqlValue, String> {
    let name = attribute.name;
    let kind = attribute.kind;
    if value.is_null() {
        return if attribute.nullable {
            Ok(SqlValue::null(kind.column_kind()))
        } else {
            Err(format!("`{name}` cannot be null."))
        };
    }
    match kind {
        AttributeKind::String { max_chars } => match value.as_str() {
            // PostgreSQL cannot store NUL in text; refuse it on every backend alike.
            Some(text) if text.contains('\0') => {
                Err(format!("`{name}` cannot contain NUL characters."))
            }
            Some(text) if text.chars().count() <= max_chars => Ok(SqlValue::text(text)),
            Some(_) => Err(format!("`{name}` is longer than {max_chars} characters.")),
            None => Err(format!("`{name}` must be a string.")),
        },
        AttributeKind::Slug { max_chars } => match value.as_str() {
            Some(text) if is_slug(text) && text.len() <= max_chars => Ok(SqlValue::text(text)),
            _ => Err(format!(
                "`{name}` must be 1 to {max_chars} lowercase letters, digits and inner hyphens."
            )),
        },
        AttributeKind::Enum(allowed) => match value.as_str() {
            Some(text) if allowed.contains(&text) => Ok(SqlValue::text(text)),
            _ => Err(format!("`{name}` must be one of: {}.", allowed.join(", "))),
        },
        AttributeKind::Uuid => value
            .as_str()
            .and_then(|text| uuid::Uuid::parse_str(text).ok())
            .map(|uuid| SqlValue::text(uuid.hyphenated().to_string()))
            .ok_or_else(|| format!("`{name}` must be a UUID string.")),
        AttributeKind::Integer => value
            .as_i64()
            .map(|number| SqlValue::Integer(Some(number)))
            .ok_or_else(|| format!("`{name}` must be an integer.")),
        AttributeKind::Timestamp => value
            .as_str()
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|time| SqlValue::Timestamp(Some(truncate_to_micros(time.naive_utc()))))
            .ok_or_else(|| format!("`{name}` must be an RFC 3339 date-time string.")),
        AttributeKind::Object => match value {
            Value::Object(_) => {
                let encoded = value.to_string();
                let max = max_object_bytes();
                if encoded.len() > max {
                    return Err(format!(
                        "`{name}` is {} bytes encoded; at most {max} are accepted.",
                        encoded.len()
                    ));
                }
                Ok(SqlValue::text(encoded))
            }
            _ => Err(format!("`{name}` must be a JSON object.")),
        },
    }
}

pub fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
