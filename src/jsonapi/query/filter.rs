//! `filter[PATH]` and `filter[PATH][OPERATOR]`: what may be filtered, with which operators, on
//! values of which kind.

use chrono::DateTime;

use super::sort::field_path;
use super::{is_member_name, Filter};
use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{AttributeKind, Cardinality, Registry, ResourceType};
use crate::store::{truncate_to_micros, ColumnKind, Comparison, Condition, Expr, SqlValue};

/// What a filter compares: stored values of one kind, reached through an expression.
pub(super) struct FilterTarget {
    expr: Expr,
    pub(super) kind: AttributeKind,
    nullable: bool,
    /// Filtering by a relationship's id compares UUIDs.
    label: String,
}

pub(super) fn filter_target(
    path: &str,
    registry: &Registry,
    root: &'static ResourceType,
) -> Result<FilterTarget, String> {
    // A relationship by id: `filter[conversation]=<id>`.
    if let Some(relationship) = root.relationship(path) {
        return match relationship.cardinality {
            Cardinality::ToOne { column, .. } => Ok(FilterTarget {
                expr: Expr::Column(column),
                kind: AttributeKind::Uuid,
                nullable: false,
                label: path.to_string(),
            }),
            Cardinality::ToMany { .. } => {
                Err(format!("`{path}` is to-many and cannot be filtered on."))
            }
        };
    }
    // A key of an object attribute: `filter[metadata.plan]=pro`.
    if let Some((name, key)) = path.split_once('.') {
        if let Some(attribute) = root.attribute(name) {
            let known = match attribute.kind {
                AttributeKind::Object => is_member_name(key),
                AttributeKind::Shaped(members) => members.iter().any(|member| member.name == key),
                _ => false,
            };
            if matches!(
                attribute.kind,
                AttributeKind::Object | AttributeKind::Shaped(_)
            ) {
                if !attribute.filterable || !known {
                    return Err(format!("`{path}` is not a filterable key."));
                }
                return Ok(FilterTarget {
                    expr: Expr::JsonKey {
                        column: attribute.name,
                        key: key.to_string(),
                    },
                    kind: AttributeKind::String {
                        max_chars: usize::MAX,
                    },
                    nullable: true,
                    label: path.to_string(),
                });
            }
        }
    }
    let field = field_path(path, registry, root)?;
    if !field.attribute.filterable || matches!(field.attribute.kind.column_kind(), ColumnKind::Json)
    {
        return Err(format!("`{path}` cannot be filtered on."));
    }
    Ok(FilterTarget {
        expr: field.expr(registry),
        kind: field.attribute.kind,
        nullable: field.attribute.nullable,
        label: path.to_string(),
    })
}

pub(super) fn operators_for(target: &FilterTarget) -> &'static [&'static str] {
    match (target.kind, target.nullable) {
        (AttributeKind::String { .. } | AttributeKind::Email { .. }, true) => {
            &["eq", "ne", "in", "contains", "starts_with", "is_null"]
        }
        (AttributeKind::String { .. } | AttributeKind::Email { .. }, false) => {
            &["eq", "ne", "in", "contains", "starts_with"]
        }
        (AttributeKind::Boolean, _) => &["eq", "ne"],
        (AttributeKind::Integer | AttributeKind::Timestamp, true) => {
            &["eq", "ne", "lt", "lte", "gt", "gte", "in", "is_null"]
        }
        (AttributeKind::Integer | AttributeKind::Timestamp, false) => {
            &["eq", "ne", "lt", "lte", "gt", "gte", "in"]
        }
        (_, true) => &["eq", "ne", "in", "is_null"],
        (_, false) => &["eq", "ne", "in"],
    }
}

/// A filter value, checked against the kind of what it is compared with.
fn filter_value(target: &FilterTarget, text: &str) -> Result<SqlValue, String> {
    let label = &target.label;
    match target.kind {
        AttributeKind::String { .. } | AttributeKind::Slug { .. } | AttributeKind::Email { .. }
            if text.contains('\0') =>
        {
            Err(format!("`{label}` values cannot contain NUL."))
        }
        AttributeKind::String { .. } | AttributeKind::Slug { .. } | AttributeKind::Email { .. } => {
            Ok(SqlValue::text(text))
        }
        AttributeKind::Boolean => match text {
            "true" => Ok(SqlValue::Bool(Some(true))),
            "false" => Ok(SqlValue::Bool(Some(false))),
            _ => Err(format!("`{label}` takes true or false; not `{text}`.")),
        },
        AttributeKind::Enum(allowed) if allowed.contains(&text) => Ok(SqlValue::text(text)),
        AttributeKind::Enum(allowed) => Err(format!(
            "`{label}` is one of {}; not `{text}`.",
            allowed.join(", ")
        )),
        AttributeKind::Uuid => uuid::Uuid::parse_str(text)
            .map(|uuid| SqlValue::text(uuid.hyphenated().to_string()))
            .map_err(|_| format!("`{label}` takes a UUID; not `{text}`.")),
        AttributeKind::Integer => text
            .parse::<i64>()
            .map(|number| SqlValue::Integer(Some(number)))
            .map_err(|_| format!("`{label}` takes an integer; not `{text}`.")),
        AttributeKind::Timestamp => DateTime::parse_from_rfc3339(text)
            .map(|time| SqlValue::Timestamp(Some(truncate_to_micros(time.naive_utc()))))
            .map_err(|_| format!("`{label}` takes an RFC 3339 date-time; not `{text}`.")),
        AttributeKind::Object
        | AttributeKind::Shaped(_)
        | AttributeKind::EnumSet(_)
        | AttributeKind::TaggedObjects => Err(format!("`{label}` cannot be compared as a whole.")),
    }
}

pub(super) fn parse_filter(
    name: &str,
    path: &str,
    operator: Option<&str>,
    value: &str,
    registry: &Registry,
    root: &'static ResourceType,
) -> Result<Filter, ApiError> {
    let invalid = |detail: String| ApiError::invalid_query(name, detail);
    let target = filter_target(path, registry, root).map_err(invalid)?;
    // `filter[x]=a,b` means any of; `filter[x]=a` means equal.
    let operator = operator.unwrap_or(if value.contains(',') { "in" } else { "eq" });
    let allowed = operators_for(&target);
    if !allowed.contains(&operator) {
        return Err(invalid(format!(
            "`{operator}` does not apply to `{path}`; use one of {}.",
            allowed.join(", ")
        )));
    }
    let one = || filter_value(&target, value).map_err(invalid);
    let expr = target.expr.clone();
    let compare =
        |comparison| Ok::<_, ApiError>(Condition::Compare(expr.clone(), comparison, one()?));
    let condition = match operator {
        "eq" => compare(Comparison::Equal)?,
        "ne" => compare(Comparison::NotEqual)?,
        "lt" => compare(Comparison::Less)?,
        "lte" => compare(Comparison::LessOrEqual)?,
        "gt" => compare(Comparison::Greater)?,
        "gte" => compare(Comparison::GreaterOrEqual)?,
        "in" => {
            let values = value
                .split(',')
                .map(|item| filter_value(&target, item).map_err(invalid))
                .collect::<Result<Vec<_>, _>>()?;
            Condition::AnyOf(expr, values)
        }
        // Checked like any other value of the field's kind (no NUL, which PostgreSQL refuses).
        "contains" => {
            one()?;
            Condition::Contains(expr, value.to_string())
        }
        "starts_with" => {
            one()?;
            Condition::StartsWith(expr, value.to_string())
        }
        "is_null" => match value {
            "true" => Condition::IsNull(expr, true),
            "false" => Condition::IsNull(expr, false),
            _ => {
                return Err(invalid(format!(
                    "`is_null` takes true or false; not `{value}`."
                )))
            }
        },
        _ => return Err(invalid(format!("`{operator}` is not a filter operator."))),
    };
    Ok(Filter {
        path: path.to_string(),
        condition,
    })
}
