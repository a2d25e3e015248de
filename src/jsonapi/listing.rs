//! Listing a collection: filters, a total order, and a page, in one statement (two with
//! `page[count]=true`), whatever the page's depth.
//!
//! Offset pages (`page[offset]`, `page[limit]`) fetch one row more than asked to know whether a
//! next page exists. Cursor pages (the cursor pagination profile) are keyset pages: the cursor
//! holds the sort key values of a boundary row, and the next page starts strictly after them,
//! so rows inserted or deleted between requests never shift a page, and a deep page costs what
//! the first does (an index range, not an OFFSET).

use chrono::DateTime;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::context::Context;
use super::document::{Link, Links};
use super::graph::weight;
use super::query::{Page, Query};
use super::resource::{Record, Registry, ResourceType};
use crate::jsonapi::error::ApiError;
use crate::store::{
    format_timestamp, truncate_to_micros, ColumnKind, Comparison, Condition, Db, Direction, Expr,
    Selection, SqlValue,
};

/// The cursor pagination profile's URI, named in `jsonapi.profile` and the `Content-Type`.
pub const CURSOR_PROFILE: &str = "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/";

/// One key of the total order a listing uses.
struct OrderKey {
    /// Its name in the sort parameter (`created_at`, `organisation.name`) or `id`.
    name: String,
    /// Where the value sits in a loaded row (own attributes only; see cursor pages).
    column: &'static str,
    expr: Expr,
    kind: ColumnKind,
    direction: Direction,
}

/// The requested sort (or the type's default) followed by the id, so the order is total.
fn ordering(registry: &Registry, resource: &ResourceType, query: &Query) -> Vec<OrderKey> {
    let mut keys: Vec<OrderKey> = if query.sort.is_empty() {
        resource
            .default_order
            .iter()
            .filter_map(|(name, direction)| {
                let attribute = resource.attribute(name)?;
                Some(OrderKey {
                    name: name.to_string(),
                    column: attribute.name,
                    expr: Expr::Column(attribute.name),
                    kind: attribute.kind.column_kind(),
                    direction: *direction,
                })
            })
            .collect()
    } else {
        query
            .sort
            .iter()
            .map(|key| OrderKey {
                name: match key.field.via {
                    Some((relationship, _)) => {
                        format!("{}.{}", relationship.name, key.field.attribute.name)
                    }
                    None => key.field.attribute.name.to_string(),
                },
                column: key.field.attribute.name,
                // NULL orders below every value, alike on both backends (and in cursors).
                expr: match (key.field.via, key.field.attribute.nullable) {
                    (None, true) => Expr::NullAsLeast(key.field.attribute.name),
                    _ => key.field.expr(registry),
                },
                kind: key.field.attribute.kind.column_kind(),
                direction: key.direction,
            })
            .collect()
    };
    let last = keys
        .last()
        .map_or(Direction::Ascending, |key| key.direction);
    keys.push(OrderKey {
        name: "id".into(),
        column: "id",
        expr: Expr::Column("id"),
        kind: ColumnKind::Text,
        direction: last,
    });
    keys
}

/// One page of a collection, with what its links and meta need.
pub struct Listing {
    pub records: Vec<Box<dyn Record>>,
    /// `first`, `prev`, `next`, `last` (only the members this style provides).
    pub links: Links,
    pub total: Option<i64>,
    /// The cursor pagination profile was applied.
    pub cursor_profile: bool,
}

/// Lists `resource` within `tenant` and `scope` (such as "the items of this conversation").
pub fn list(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    scope: Vec<Condition>,
) -> Result<Listing, ApiError> {
    let (registry, tenant, query) = (context.registry, context.tenant, context.query);
    let (path, max_bytes) = (context.path.as_str(), context.max_response_bytes);
    let order = ordering(registry, resource, query);
    let mut conditions: Vec<Condition> = resource.visible(tenant);
    conditions.extend(scope);
    conditions.extend(query.filters.iter().map(|filter| filter.condition.clone()));
    for hidden in resource.hidden_unless_filtered {
        if !query.filters.iter().any(|filter| filter.path == *hidden) {
            conditions.push(Condition::Equals(hidden, SqlValue::Bool(Some(false))));
        }
    }
    let select = |extra: Vec<Condition>| {
        Selection::default()
            .filters(conditions.iter().cloned())
            .filters(extra)
            .max_bytes(Some(max_bytes))
    };
    let total = if query.count {
        Some((resource.storage.count)(conn, &conditions)?)
    } else {
        None
    };
    let link = |page: &[(&str, String)]| {
        let encoded = query.encoded_with_page(Some(page));
        Some(Link::Url(format!("{path}?{encoded}")))
    };
    // The page's look-ahead row may pass the budget; the rows sent may not.
    let within_budget = |records: &[Box<dyn Record>]| {
        if weight(records) > max_bytes {
            Err(ApiError::ResponseTooLarge { max: max_bytes })
        } else {
            Ok(())
        }
    };
    let load = |selection: Selection, conn: &mut Db| -> Result<Vec<Box<dyn Record>>, ApiError> {
        Ok((resource.storage.load)(conn, &selection)?)
    };

    match &query.page {
        Page::Offset { offset, limit } => {
            let (offset, limit) = (*offset, *limit);
            let ordered = order.iter().fold(select(Vec::new()), |select, key| {
                select.order_by(key.expr.clone(), key.direction)
            });
            let mut records = load(ordered.limit(limit + 1).offset(offset), conn)?;
            let has_next = records.len() as i64 > limit;
            records.truncate(limit as usize);
            within_budget(&records)?;
            let page = |offset: i64| {
                [
                    ("page[offset]", offset.to_string()),
                    ("page[limit]", limit.to_string()),
                ]
            };
            let links = Links {
                first: link(&page(0)),
                prev: (offset > 0)
                    .then(|| link(&page((offset - limit).max(0))))
                    .flatten()
                    .or(Some(Link::Null)),
                next: has_next
                    .then(|| link(&page(offset + limit)))
                    .flatten()
                    .or(Some(Link::Null)),
                last: total.and_then(|total| link(&page(((total - 1).max(0) / limit) * limit))),
                ..Links::default()
            };
            Ok(Listing {
                records,
                links,
                total,
                cursor_profile: false,
            })
        }
        Page::Cursor {
            size,
            after,
            before,
        } => {
            let size = *size;
            let signature = signature(resource, &order);
            let size_pair = ("page[size]", size.to_string());
            let backwards = before.is_some();
            let boundary = match (after, before) {
                (Some(cursor), _) => Some((
                    "page[after]",
                    decode(cursor, &signature, &order, "page[after]")?,
                )),
                (None, Some(cursor)) => Some((
                    "page[before]",
                    decode(cursor, &signature, &order, "page[before]")?,
                )),
                (None, None) => None,
            };
            let mut extra = Vec::new();
            if let Some((_, values)) = &boundary {
                extra.push(keyset(&order, values, backwards));
            }
            let ordered = order.iter().fold(select(extra), |select, key| {
                let direction = match (key.direction, backwards) {
                    (direction, false) => direction,
                    (Direction::Ascending, true) => Direction::Descending,
                    (Direction::Descending, true) => Direction::Ascending,
                };
                select.order_by(key.expr.clone(), direction)
            });
            let mut records = load(ordered.limit(size + 1), conn)?;
            let more = records.len() as i64 > size;
            records.truncate(size as usize);
            within_budget(&records)?;
            if backwards {
                records.reverse();
            }
            #[allow(clippy::borrowed_box)]
            let cursor_of = |record: &Box<dyn Record>| encode(&**record, &order, &signature);
            let first = records.first().map(cursor_of);
            let last = records.last().map(cursor_of);
            let given = |name: &str| match name {
                "page[after]" => after.clone(),
                _ => before.clone(),
            };
            // Without page[before] the next page is known; without page[after] the previous one.
            let next = match (backwards, more, &last) {
                (false, true, Some(last)) => {
                    link(&[size_pair.clone(), ("page[after]", last.clone())])
                }
                (false, _, _) => None,
                (true, _, Some(last)) => link(&[size_pair.clone(), ("page[after]", last.clone())]),
                (true, _, None) => given("page[before]")
                    .and_then(|b| link(&[size_pair.clone(), ("page[after]", b)])),
            };
            let prev = match (boundary.is_some() && !backwards, backwards, more, &first) {
                (true, _, _, Some(first)) => {
                    link(&[size_pair.clone(), ("page[before]", first.clone())])
                }
                (true, _, _, None) => given("page[after]")
                    .and_then(|a| link(&[size_pair.clone(), ("page[before]", a)])),
                (false, true, true, Some(first)) => {
                    link(&[size_pair.clone(), ("page[before]", first.clone())])
                }
                _ => None,
            };
            Ok(Listing {
                records,
                links: Links {
                    prev: prev.or(Some(Link::Null)),
                    next: next.or(Some(Link::Null)),
                    ..Links::default()
                },
                total,
                cursor_profile: true,
            })
        }
    }
}

/// "After the cursor" in the listing's order (or before it, reading backwards). Uniform
/// directions compare as a row value, which both backends answer from an index range.
fn keyset(order: &[OrderKey], values: &[SqlValue], backwards: bool) -> Condition {
    let beyond = |direction: Direction| match (direction, backwards) {
        (Direction::Ascending, false) | (Direction::Descending, true) => Comparison::Greater,
        (Direction::Descending, false) | (Direction::Ascending, true) => Comparison::Less,
    };
    let uniform = order
        .windows(2)
        .all(|pair| pair[0].direction == pair[1].direction);
    if uniform {
        return Condition::RowCompare(
            order.iter().map(|key| key.expr.clone()).collect(),
            beyond(order[0].direction),
            values.to_vec(),
        );
    }
    let mut alternatives = Vec::new();
    for index in 0..order.len() {
        let mut all: Vec<Condition> = order[..index]
            .iter()
            .zip(values)
            .map(|(key, value)| {
                Condition::Compare(key.expr.clone(), Comparison::Equal, value.clone())
            })
            .collect();
        all.push(Condition::Compare(
            order[index].expr.clone(),
            beyond(order[index].direction),
            values[index].clone(),
        ));
        alternatives.push(Condition::All(all));
    }
    Condition::Any(alternatives)
}

/// Binds a cursor to the type and the exact order it was made for.
fn signature(resource: &ResourceType, order: &[OrderKey]) -> String {
    let keys: Vec<String> = order
        .iter()
        .map(|key| match key.direction {
            Direction::Ascending => key.name.clone(),
            Direction::Descending => format!("-{}", key.name),
        })
        .collect();
    format!("{}:{}", resource.name, keys.join(","))
}

fn checksum(signature: &str, payload: &str) -> String {
    let digest = Sha256::digest(format!("{signature}\n{payload}").as_bytes());
    digest
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A key value as the cursor carries it: text, a number, or a timestamp in the wire format.
fn cursor_value(value: Option<SqlValue>) -> Value {
    match value {
        Some(SqlValue::Text(Some(text))) => Value::String(text),
        Some(SqlValue::Integer(Some(number))) => Value::from(number),
        Some(SqlValue::Bool(Some(flag))) => Value::Bool(flag),
        Some(SqlValue::Timestamp(Some(time))) => Value::String(format_timestamp(time)),
        _ => Value::Null,
    }
}

fn encode(record: &dyn Record, order: &[OrderKey], signature: &str) -> String {
    let values: Vec<Value> = order
        .iter()
        .map(|key| {
            let value = match (&key.expr, record.value(key.column)) {
                // The value the key orders by: a NULL as the least of its kind.
                (
                    Expr::NullAsLeast(_),
                    Some(SqlValue::Integer(None) | SqlValue::Timestamp(None)),
                ) => SqlValue::least(key.kind),
                (_, value) => value,
            };
            cursor_value(value)
        })
        .collect();
    let payload = Value::Array(values).to_string();
    let hex: String = payload.bytes().map(|byte| format!("{byte:02x}")).collect();
    format!("{hex}.{}", checksum(signature, &payload))
}

/// The key values in a cursor, checked against the order they must belong to.
fn decode(
    cursor: &str,
    signature: &str,
    order: &[OrderKey],
    parameter: &str,
) -> Result<Vec<SqlValue>, ApiError> {
    let invalid = |parameter: &str| {
        ApiError::invalid_query(
            parameter,
            "Not a cursor of this collection and sort; use the links of a previous page.",
        )
    };
    let (hex, sum) = cursor.split_once('.').ok_or_else(|| invalid(parameter))?;
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|index| {
            hex.get(index..index + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| invalid(parameter))?;
    let payload = String::from_utf8(bytes).map_err(|_| invalid(parameter))?;
    if checksum(signature, &payload) != sum {
        return Err(invalid(parameter));
    }
    let values: Vec<Value> = serde_json::from_str(&payload).map_err(|_| invalid(parameter))?;
    if values.len() != order.len() {
        return Err(invalid(parameter));
    }
    order
        .iter()
        .zip(values)
        .map(|(key, value)| match (key.kind, value) {
            (ColumnKind::Integer, Value::Number(number)) => {
                number.as_i64().map(|n| SqlValue::Integer(Some(n)))
            }
            (ColumnKind::Timestamp, Value::String(text)) => DateTime::parse_from_rfc3339(&text)
                .ok()
                .map(|time| SqlValue::Timestamp(Some(truncate_to_micros(time.naive_utc())))),
            (ColumnKind::Text, Value::String(text)) => Some(SqlValue::text(text)),
            (ColumnKind::Boolean, Value::Bool(flag)) => Some(SqlValue::Bool(Some(flag))),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| invalid(parameter))
}
