//! The OpenAPI 3.1 description of the API, derived from the resource registry: never written
//! by hand, so it describes every type the moment the type exists. `GET /api/openapi.json`
//! serves it and `confab openapi` prints it; `openapi.json` at the repository's root is a copy
//! that a test keeps equal to what this generates.

mod parameters;
mod paths;
mod schemas;

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::jsonapi::document::MEDIA_TYPE;
use crate::jsonapi::resource::{scope_name, Access, Cardinality, Registry, ResourceType};
use schemas::schema_ref;

/// Where the document is served.
pub const PATH: &str = "/api/openapi.json";

/// The shared schemas of JSON:API's own members: links, the `jsonapi` object, errors.
fn wire_schemas(registry: &Registry, into: &mut Map<String, Value>) {
    into.insert(
        "link".into(),
        json!({
            "oneOf": [
                {"type": "string", "format": "uri-reference"},
                {
                    "type": "object",
                    "required": ["href"],
                    "properties": {
                        "href": {"type": "string", "format": "uri-reference"},
                        "rel": {"type": "string"},
                        "describedby": {"$ref": "#/components/schemas/link"},
                        "title": {"type": "string"},
                        "type": {"type": "string"},
                        "hreflang": {"type": "string"},
                        "meta": {"type": "object"},
                    },
                },
            ],
        }),
    );
    into.insert(
        "links".into(),
        json!({
            "type": "object",
            "additionalProperties": {"anyOf": [schema_ref("link"), {"type": "null"}]},
        }),
    );
    into.insert(
        "jsonapi".into(),
        json!({
            "type": "object",
            "properties": {
                "version": {"type": "string"},
                "ext": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "profile": {"type": "array", "items": {"type": "string", "format": "uri"}},
                "meta": {"type": "object"},
            },
            "additionalProperties": false,
        }),
    );
    into.insert(
        "error".into(),
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "links": schema_ref("links"),
                "status": {"type": "string", "pattern": "^[45][0-9]{2}$"},
                "code": {"type": "string"},
                "title": {"type": "string"},
                "detail": {"type": "string"},
                "source": {
                    "type": "object",
                    "properties": {
                        "pointer": {"type": "string"},
                        "parameter": {"type": "string"},
                        "header": {"type": "string"},
                    },
                    "additionalProperties": false,
                },
                "meta": {"type": "object"},
            },
            "additionalProperties": false,
        }),
    );
    into.insert(
        "errors".into(),
        json!({
            "type": "object",
            "required": ["errors"],
            "properties": {
                "jsonapi": schema_ref("jsonapi"),
                "errors": {"type": "array", "minItems": 1, "items": schema_ref("error")},
                "links": schema_ref("links"),
                "meta": {"type": "object"},
            },
            "additionalProperties": false,
        }),
    );
    into.insert("included".into(), schemas::included(registry));
    into.insert(
        "atomic.request".into(),
        json!({
            "type": "object",
            "required": ["atomic:operations"],
            "properties": {
                "atomic:operations": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["op"],
                        "properties": {
                            "op": {"type": "string", "enum": ["add", "update", "remove"]},
                            "ref": {
                                "type": "object",
                                "properties": {
                                    "type": {"type": "string"},
                                    "id": {"type": "string"},
                                    "lid": {"type": "string"},
                                    "relationship": {"type": "string"},
                                },
                            },
                            "href": {"type": "string"},
                            "data": {
                                "description": "What the operation writes: a resource object as in a create or an update, or linkage.",
                            },
                            "meta": {"type": "object"},
                        },
                    },
                },
                "jsonapi": schema_ref("jsonapi"),
                "meta": {"type": "object"},
            },
            "additionalProperties": false,
        }),
    );
    into.insert(
        "atomic.results".into(),
        json!({
            "type": "object",
            "required": ["atomic:results"],
            "properties": {
                "jsonapi": schema_ref("jsonapi"),
                "atomic:results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "data": schemas::any_resource(registry),
                            "meta": {"type": "object"},
                        },
                        "additionalProperties": false,
                    },
                },
                "meta": {"type": "object"},
            },
            "additionalProperties": false,
        }),
    );
}

/// What each error status means, answered with an error document.
const ERROR_STATUSES: &[(u16, &str)] = &[
    (400, "Bad request: a malformed query parameter, document or header; each error names its source."),
    (401, "No usable API key in `Authorization: Bearer …`."),
    (403, "The key lacks a scope the request needs, or the write is not allowed."),
    (404, "No such resource, or one the key's organisation cannot see."),
    (406, "The `Accept` header admits no JSON:API media type the server can answer with."),
    (408, "The request's body took too long to arrive."),
    (409, "A conflict: a type or id that does not match, a duplicate, a state that forbids the change, or a retry while the first attempt is in progress."),
    (411, "A chunked body: send `Content-Length`."),
    (412, "`If-Match` names no current entity tag."),
    (413, "The body, or the number of operations, is over the limit."),
    (415, "A `Content-Type` the server does not accept (parameters other than `ext` and `profile`)."),
    (422, "The document is well-formed but a member's value is not acceptable; or an `Idempotency-Key` reused for another request."),
    (429, "Too many requests from this key; `Retry-After` says when to try again."),
    (503, "The database is unreachable; try again."),
];

fn responses() -> Map<String, Value> {
    let mut responses = Map::new();
    for (status, description) in ERROR_STATUSES {
        responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "content": {MEDIA_TYPE: {"schema": schema_ref("errors")}},
            }),
        );
        responses.insert(
            format!("head-{status}"),
            json!({"description": format!("{description} (headers only)")}),
        );
    }
    responses
}

/// The scope that reading `resource` needs.
fn read_scope(resource: &ResourceType) -> String {
    scope_name(resource.scope_family, Access::Read)
}

/// The scope that writing `resource` needs.
fn write_scope(resource: &ResourceType) -> String {
    scope_name(resource.scope_family, Access::Write)
}

/// The bearer scheme, with every scope the types' descriptions name.
fn security_scheme(registry: &Registry) -> Value {
    let mut scopes: Vec<String> = registry
        .types()
        .iter()
        .flat_map(|resource| [read_scope(resource), write_scope(resource)])
        .collect();
    scopes.sort();
    scopes.dedup();
    json!({
        "type": "http",
        "scheme": "bearer",
        "description": format!(
            "An API key (`sk_live_…` or `sk_test_…`), made with `confab keys create`. Each key belongs to one organisation and sees only its data. Scopes: {}. Reading a type needs its `read` scope, writing it its `write` scope; an `include` needs the `read` scope of every type it reaches.",
            scopes.join(", ")
        ),
    })
}

/// The OpenAPI 3.1 document for every type in `registry`.
pub fn document(registry: &Registry) -> Value {
    let mut schemas = Map::new();
    wire_schemas(registry, &mut schemas);
    for resource in registry.types() {
        schemas::type_schemas(resource, &mut schemas);
        for relationship in resource.relationships {
            schemas.insert(
                format!(
                    "{}.relationships.{}.request",
                    resource.name, relationship.name
                ),
                schemas::linkage_request(relationship),
            );
        }
    }
    let mut paths = paths::paths(registry);
    // Content negotiation and the refusal of chunked bodies apply to every path.
    let refusals = |prefix: &str| {
        json!({
            "406": {"$ref": format!("#/components/responses/{prefix}406")},
            "411": {"$ref": format!("#/components/responses/{prefix}411")},
            "415": {"$ref": format!("#/components/responses/{prefix}415")},
        })
    };
    let mut get_responses = refusals("");
    get_responses["200"] = json!({
        "description": "The OpenAPI 3.1 description of the API.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    });
    let mut head_responses = refusals("head-");
    head_responses["200"] = json!({"description": "The description's headers only."});
    paths.insert(
        PATH.into(),
        json!({
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["Description"],
                "security": [],
                "responses": get_responses,
            },
            "head": {
                "operationId": "openapi.head",
                "summary": "This document (headers only)",
                "tags": ["Description"],
                "security": [],
                "responses": head_responses,
            },
        }),
    );
    let tags: Vec<Value> = registry
        .types()
        .iter()
        .map(|resource| {
            let relationships: Vec<String> = resource
                .relationships
                .iter()
                .map(|relationship| match relationship.cardinality {
                    Cardinality::ToOne { .. } => format!("`{}` (to-one {})", relationship.name, relationship.target),
                    Cardinality::ToMany { .. } => format!("`{}` (to-many {})", relationship.name, relationship.target),
                })
                .collect();
            let mut description = format!(
                "`{}` resources at `{}`; relationships: {}.",
                resource.name,
                resource.collection_url(),
                relationships.join(", ")
            );
            if !resource.http_writes.create {
                description.push_str(" Operators create them at the command line, not over HTTP.");
            }
            if resource.soft_delete.is_some() {
                description.push_str(" A delete is soft: the resource is gone from every route at once, and purged for good later.");
            }
            json!({"name": resource.name, "description": description})
        })
        .chain([
            json!({"name": "Atomic Operations", "description": "The Atomic Operations extension."}),
            json!({"name": "Description", "description": "This document."}),
        ])
        .collect();
    let mut document = json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "confab",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "A JSON:API 1.1 server for conversations: chat, voice, email.",
            "description": "Every document is JSON:API 1.1 (`application/vnd.api+json`). Collections answer offset pages (`page[offset]`, `page[limit]`) or, with `page[size]`, `page[after]` and `page[before]`, cursor pages under the cursor pagination profile, named in the `Content-Type`. `/api/operations` takes the Atomic Operations extension. Every error is an error document whose errors name their `source`.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": parameters::parameters(registry),
            "responses": responses(),
            "securitySchemes": {"bearer": security_scheme(registry)},
        },
    });
    prune_unused_components(&mut document);
    document
}

/// Every `$ref` target under `value`.
fn references(value: &Value, into: &mut BTreeSet<String>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                match (name.as_str(), member) {
                    ("$ref", Value::String(target)) => {
                        into.insert(target.clone());
                    }
                    _ => references(member, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, into)),
        _ => {}
    }
}

/// Drops the components nothing refers to (a type that is never the target of a to-many
/// relationship needs no to-many linkage schema), so the document holds only what it uses.
fn prune_unused_components(document: &mut Value) {
    loop {
        let mut used = BTreeSet::new();
        references(&document["paths"], &mut used);
        references(&document["components"], &mut used);
        let mut removed = false;
        for section in ["schemas", "responses", "parameters"] {
            if let Some(components) = document["components"][section].as_object_mut() {
                let before = components.len();
                components
                    .retain(|name, _| used.contains(&format!("#/components/{section}/{name}")));
                removed |= components.len() != before;
            }
        }
        if !removed {
            return;
        }
    }
}

/// The document as it is served and checked in: pretty-printed, with a final newline.
pub fn document_text(registry: &Registry) -> String {
    let mut text = serde_json::to_string_pretty(&document(registry)).unwrap_or_default();
    text.push('\n');
    text
}
