//! The query parameters and request headers, under `components/parameters`: `include`,
//! `fields[TYPE]`, `sort` and `filter[…]` from what the query parser accepts on each type
//! (`query::vocabulary`), `page[…]` of both styles, and the conditional and idempotency headers.

use serde_json::{json, Map, Value};

use crate::jsonapi::query::vocabulary::{filter_paths, include_paths, sort_keys, FilterPath};
use crate::jsonapi::query::{MAX_INCLUDE_DEPTH, MAX_OFFSET, MAX_PAGE_SIZE};
use crate::jsonapi::resource::{AttributeKind, Registry, ResourceType};

/// A reference to a parameter under `components/parameters`.
pub(super) fn parameter_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

/// A regular expression matching a comma-separated list of `words`, each optionally prefixed
/// with `prefix` (the `-` of a descending sort key); `empty` allows the empty list.
fn list_pattern(words: &[String], prefix: &str, empty: bool) -> String {
    let escaped: Vec<String> = words.iter().map(|word| word.replace('.', "\\.")).collect();
    let one = format!("{prefix}(?:{})", escaped.join("|"));
    let list = format!("{one}(?:,{one})*");
    if empty {
        format!("^(?:{list})?$")
    } else {
        format!("^{list}$")
    }
}

fn query_parameter(name: &str, description: &str, schema: Value) -> Value {
    json!({
        "name": name,
        "in": "query",
        "required": false,
        "description": description,
        "schema": schema,
    })
}

/// The schema of one filter value of `kind`.
fn filter_value(kind: AttributeKind) -> Value {
    match kind {
        AttributeKind::Enum(values) => json!({"type": "string", "enum": values}),
        AttributeKind::Uuid => json!({"type": "string", "format": "uuid"}),
        AttributeKind::Integer => json!({"type": "integer", "format": "int64"}),
        AttributeKind::Boolean => json!({"type": "boolean"}),
        AttributeKind::Timestamp => json!({"type": "string", "format": "date-time"}),
        _ => json!({"type": "string"}),
    }
}

/// The parameters `filter[PATH]` and `filter[PATH][OP]` of one filter path.
fn filter_parameters(resource: &ResourceType, filter: &FilterPath) -> Vec<(String, Value)> {
    let path = &filter.path;
    let key = |suffix: &str| format!("{}.filter.{path}{suffix}", resource.name);
    let mut parameters = vec![(
        key(""),
        query_parameter(
            &format!("filter[{path}]"),
            &format!("`{path}` equals the value; a comma-separated list means any of them."),
            filter_value(filter.kind),
        ),
    )];
    for operator in filter.operators {
        let (schema, description) = match *operator {
            "in" => (
                json!({"type": "array", "items": filter_value(filter.kind), "minItems": 1}),
                format!("`{path}` is any of the comma-separated values."),
            ),
            "is_null" => (
                json!({"type": "boolean"}),
                format!("`{path}` is null (true) or not (false)."),
            ),
            "contains" | "starts_with" => (
                json!({"type": "string"}),
                format!("`{path}` {} the value.", operator.replace('_', " ")),
            ),
            _ => (
                filter_value(filter.kind),
                format!("`{path}` compared with `{operator}` to the value."),
            ),
        };
        let mut parameter =
            query_parameter(&format!("filter[{path}][{operator}]"), &description, schema);
        if *operator == "in" {
            parameter["style"] = json!("form");
            parameter["explode"] = json!(false);
        }
        parameters.push((key(&format!(".{operator}")), parameter));
    }
    parameters
}

/// What each endpoint's query may hold.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Takes {
    /// A collection: `include`, `fields`, `sort`, `filter` and `page`.
    Collection,
    /// One resource: `include` and `fields`.
    Resource,
    /// A to-many relationship's linkage: `page`.
    PagedLinkage,
    /// Nothing.
    Nothing,
}

/// The references to the parameters an endpoint whose primary data is of `resource` takes.
pub(super) fn query_for(
    registry: &Registry,
    resource: &'static ResourceType,
    takes: Takes,
) -> Vec<Value> {
    let mut references = Vec::new();
    if matches!(takes, Takes::Collection | Takes::Resource) {
        references.push(parameter_ref(&format!("{}.include", resource.name)));
        references.extend(
            registry
                .types()
                .iter()
                .map(|other| parameter_ref(&format!("fields.{}", other.name))),
        );
    }
    if takes == Takes::Collection {
        references.push(parameter_ref(&format!("{}.sort", resource.name)));
        for filter in filter_paths(registry, resource) {
            references.extend(
                filter_parameters(resource, &filter)
                    .into_iter()
                    .map(|(key, _)| parameter_ref(&key)),
            );
        }
    }
    if matches!(takes, Takes::Collection | Takes::PagedLinkage) {
        references.extend(
            PAGE_MEMBERS
                .iter()
                .map(|member| parameter_ref(&format!("page.{member}"))),
        );
    }
    references
}

const PAGE_MEMBERS: [&str; 6] = ["offset", "limit", "size", "after", "before", "count"];

fn page_parameter(member: &str) -> Value {
    let name = format!("page[{member}]");
    let (description, schema) = match member {
        "offset" => (
            "Offset pages: how many resources to skip.",
            json!({"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}),
        ),
        "limit" => (
            "Offset pages: how many resources a page holds (20 unless given).",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
        ),
        "size" => (
            "Cursor pages (the cursor pagination profile): how many resources a page holds.",
            json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
        ),
        "after" => (
            "Cursor pages: the page after this cursor (from a `next` link).",
            json!({"type": "string"}),
        ),
        "before" => (
            "Cursor pages: the page before this cursor (from a `prev` link).",
            json!({"type": "string"}),
        ),
        _ => (
            "Offset pages: whether `meta.total` counts every resource the filters match.",
            json!({"type": "boolean"}),
        ),
    };
    query_parameter(&name, description, schema)
}

fn header_parameter(name: &str, description: &str, schema: Value) -> Value {
    json!({
        "name": name,
        "in": "header",
        "required": false,
        "description": description,
        "schema": schema,
    })
}

/// Every parameter, by its name under `components/parameters`.
pub(super) fn parameters(registry: &Registry) -> Map<String, Value> {
    let mut all = Map::new();
    for resource in registry.types() {
        let name = resource.name;
        let fields: Vec<String> = resource
            .attributes
            .iter()
            .map(|attribute| attribute.name.to_string())
            .chain(resource.relationships.iter().map(|r| r.name.to_string()))
            .collect();
        all.insert(
            format!("fields.{name}"),
            query_parameter(
                &format!("fields[{name}]"),
                &format!("The only fields of {name} resources to render (comma-separated; empty for none)."),
                json!({"type": "string", "pattern": list_pattern(&fields, "", true)}),
            ),
        );
        let paths = include_paths(registry, resource);
        all.insert(
            format!("{name}.include"),
            query_parameter(
                "include",
                &format!("Related resources to include (comma-separated relationship paths, at most {MAX_INCLUDE_DEPTH} deep)."),
                json!({"type": "string", "pattern": list_pattern(&paths, "", false)}),
            ),
        );
        let keys = sort_keys(registry, resource);
        all.insert(
            format!("{name}.sort"),
            query_parameter(
                "sort",
                "Sort keys in order (comma-separated); `-` sorts descending.",
                json!({"type": "string", "pattern": list_pattern(&keys, "-?", false)}),
            ),
        );
        for filter in filter_paths(registry, resource) {
            all.extend(filter_parameters(resource, &filter));
        }
    }
    for member in PAGE_MEMBERS {
        all.insert(format!("page.{member}"), page_parameter(member));
    }
    all.insert(
        "Idempotency-Key".into(),
        header_parameter(
            "Idempotency-Key",
            "Makes a write safe to retry: a repeat with the same key and body within 24 hours gets the first answer, byte for byte.",
            json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"}),
        ),
    );
    all.insert(
        "If-Match".into(),
        header_parameter(
            "If-Match",
            "The write happens only if the resource's entity tag is one of these (else 412).",
            json!({"type": "string"}),
        ),
    );
    all.insert(
        "If-None-Match".into(),
        header_parameter(
            "If-None-Match",
            "304 without a body when the resource's entity tag is one of these.",
            json!({"type": "string"}),
        ),
    );
    all
}
