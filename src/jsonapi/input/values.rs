//! Attribute values from request documents: checked against their kind and bounds, and
//! turned into what is stored.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::DateTime;
use serde_json::Value;

use crate::jsonapi::document::pointer_token;
use crate::jsonapi::resource::{Attribute, AttributeKind, MemberKind};
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
        AttributeKind::Boolean => value
            .as_bool()
            .map(|flag| SqlValue::Bool(Some(flag)))
            .ok_or_else(|| format!("`{name}` must be true or false.")),
        AttributeKind::Email { max_chars } => match value.as_str() {
            Some(text) if text.chars().count() <= max_chars && is_email(text) => {
                Ok(SqlValue::text(text))
            }
            _ => Err(format!(
                "`{name}` must be an email address (local@domain) of at most {max_chars} characters."
            )),
        },
        AttributeKind::Object => match value {
            Value::Object(_) => bounded(name, value),
            _ => Err(format!("`{name}` must be a JSON object.")),
        },
        AttributeKind::Shaped(_) => match value {
            Value::Object(_) => bounded(name, value),
            _ => Err(format!("`{name}` must be a JSON object.")),
        },
        AttributeKind::EnumSet(allowed) => {
            let members: Option<Vec<&str>> = value
                .as_array()
                .and_then(|items| items.iter().map(Value::as_str).collect());
            match members {
                Some(members)
                    if members.iter().all(|member| allowed.contains(member))
                        && members
                            .iter()
                            .enumerate()
                            .all(|(index, member)| !members[..index].contains(member)) =>
                {
                    bounded(name, value)
                }
                _ => Err(format!(
                    "`{name}` must be an array of distinct values from: {}.",
                    allowed.join(", ")
                )),
            }
        }
        AttributeKind::TaggedObjects => match value {
            Value::Array(_) => bounded(name, value),
            _ => Err(format!("`{name}` must be an array of objects.")),
        },
    }
}

/// A JSON value's encoding, within the bound on stored JSON.
fn bounded(name: &str, value: &Value) -> Result<SqlValue, String> {
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

/// The first member of a JSON value that breaks its attribute's shape, with why: an unknown
/// or mistyped member of a shaped object, or an element of a tagged list that is not an object
/// with a string `type`.
pub(super) fn misshapen(
    kind: AttributeKind,
    value: &Value,
    pointer: &str,
) -> Option<(String, String)> {
    match (kind, value) {
        (AttributeKind::Shaped(members), Value::Object(object)) => {
            object.iter().find_map(|(key, member)| {
                let at = format!("{pointer}/{}", pointer_token(key));
                let Some(known) = members.iter().find(|known| known.name == key) else {
                    let names: Vec<&str> = members.iter().map(|known| known.name).collect();
                    return Some((
                        at,
                        format!("is not a member; they are: {}", names.join(", ")),
                    ));
                };
                if member.is_null() {
                    return None;
                }
                let fits = member.as_str().is_some_and(|text| match known.kind {
                    MemberKind::Text { max_chars } => text.chars().count() <= max_chars,
                    MemberKind::Email => text.chars().count() <= 254 && is_email(text),
                    MemberKind::Phone => is_e164(text),
                    MemberKind::Url => is_web_url(text),
                });
                (!fits).then(|| (at, known.kind.expectation()))
            })
        }
        (AttributeKind::TaggedObjects, Value::Array(elements)) => {
            elements.iter().enumerate().find_map(|(index, element)| {
                let tagged = element
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|tag| !tag.is_empty());
                (!tagged).then(|| {
                    (
                        format!("{pointer}/{index}"),
                        "must be an object with a non-empty string `type`".to_string(),
                    )
                })
            })
        }
        _ => None,
    }
}

impl MemberKind {
    fn expectation(self) -> String {
        match self {
            MemberKind::Text { max_chars } => {
                format!("must be a string of at most {max_chars} characters")
            }
            MemberKind::Email => "must be an email address (local@domain)".into(),
            MemberKind::Phone => {
                "must be a telephone number in E.164 form (+ and 2 to 15 digits)".into()
            }
            MemberKind::Url => "must be an absolute http or https URL".into(),
        }
    }
}

/// `local@domain.tld`: one `@`, no spaces or control characters, a dotted domain.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// E.164: `+`, then 2 to 15 digits, the first not 0 (`^\+[1-9]\d{1,14}$`).
pub fn is_e164(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && !digits.starts_with('0')
}

fn is_web_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !host.is_empty()
            && text.len() <= 2048
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
    })
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
