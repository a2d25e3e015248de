//! The paths: for every type its collection, its resources, their related resources and their
//! relationships, with each method the server answers, and `/api/operations`.

use serde_json::{json, Map, Value};

use super::parameters::{parameter_ref, query_for, Takes};
use super::schemas::schema_ref;
use super::{read_scope, write_scope};
use crate::jsonapi::atomic;
use crate::jsonapi::document::MEDIA_TYPE;
use crate::jsonapi::listing::CURSOR_PROFILE;
use crate::jsonapi::resource::{Cardinality, Registry, Relationship, ResourceType};

/// Statuses any `/api` request may be answered with: a malformed query, no usable key, a media
/// type the server cannot honour, a chunked body, too many requests, the database away.
const ANY: &[u16] = &[400, 401, 406, 411, 415, 429, 503];

/// A reference to a response under `components/responses`.
fn response_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

/// A success answered with a document of schema `schema`, in `media_types`.
fn document_response(description: &str, schema: &str, media_types: &[String]) -> Value {
    let content: Map<String, Value> = media_types
        .iter()
        .map(|media_type| (media_type.clone(), json!({"schema": schema_ref(schema)})))
        .collect();
    json!({"description": description, "content": content})
}

struct Operation {
    id: String,
    summary: String,
    tag: &'static str,
    scopes: Vec<String>,
    parameters: Vec<Value>,
    /// The request body's schema and media type.
    body: Option<(String, String)>,
    /// Successes, already built.
    successes: Vec<(u16, Value)>,
    /// Error statuses beyond [`ANY`].
    errors: &'static [u16],
    /// A `HEAD` twin: the same answers without their bodies.
    head: bool,
}

impl Operation {
    /// An operation without parameters, body or answers yet; the callers add theirs.
    fn new(id: String, summary: String, tag: &'static str, scopes: Vec<String>) -> Self {
        Operation {
            id,
            summary,
            tag,
            scopes,
            parameters: Vec::new(),
            body: None,
            successes: Vec::new(),
            errors: &[],
            head: false,
        }
    }

    /// A read of one resource or one linkage: it carries an `ETag`, and `If-None-Match` naming
    /// it is answered 304.
    fn conditional(mut self) -> Self {
        self.parameters.push(parameter_ref("If-None-Match"));
        self.successes.push((
            304,
            json!({"description": "Not modified: the tag in `If-None-Match` is current."}),
        ));
        self
    }

    fn render(&self, head: bool) -> Value {
        let mut responses = Map::new();
        for (status, response) in &self.successes {
            let response = if head {
                let description = response["description"].as_str().unwrap_or_default();
                json!({"description": format!("{description} (headers only)")})
            } else {
                response.clone()
            };
            responses.insert(status.to_string(), response);
        }
        let mut errors: Vec<u16> = ANY.iter().chain(self.errors).copied().collect();
        errors.sort_unstable();
        for status in errors {
            let name = match head {
                true => format!("head-{status}"),
                false => status.to_string(),
            };
            responses.insert(status.to_string(), response_ref(&name));
        }
        let mut operation = json!({
            "operationId": if head { format!("{}.head", self.id) } else { self.id.clone() },
            "summary": if head { format!("{} (headers only)", self.summary) } else { self.summary.clone() },
            "tags": [self.tag],
            "security": [{"bearer": self.scopes}],
            "parameters": self.parameters,
            "responses": responses,
        });
        if let Some((schema, media_type)) = &self.body {
            operation["requestBody"] = json!({
                "required": true,
                "content": {media_type.as_str(): {"schema": schema_ref(schema)}},
            });
        }
        operation
    }
}

fn plain() -> Vec<String> {
    vec![MEDIA_TYPE.to_string()]
}

/// A collection's media types: plain for offset pages, with the profile for cursor pages.
fn paged() -> Vec<String> {
    vec![
        MEDIA_TYPE.to_string(),
        format!("{MEDIA_TYPE}; profile=\"{CURSOR_PROFILE}\""),
    ]
}

fn path_id() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The resource's id.",
        "schema": {"type": "string"},
    })
}

fn with_id(mut parameters: Vec<Value>) -> Vec<Value> {
    parameters.insert(0, path_id());
    parameters
}

/// The operations on `/api/{TYPE}`.
fn collection(
    registry: &Registry,
    resource: &'static ResourceType,
) -> Vec<(&'static str, Operation)> {
    let name = resource.name;
    let mut operations = vec![(
        "get",
        Operation {
            parameters: query_for(registry, resource, Takes::Collection),
            successes: vec![(
                200,
                document_response(
                    &format!("A page of {name} resources."),
                    &format!("{name}.collection"),
                    &paged(),
                ),
            )],
            errors: &[403],
            head: true,
            ..Operation::new(
                format!("{name}.list"),
                format!("List {name} resources"),
                name,
                vec![read_scope(resource)],
            )
        },
    )];
    if resource.http_writes.create {
        let created = document_response(
            &format!("The new {name}; `Location` names it."),
            &format!("{name}.document"),
            &plain(),
        );
        let mut accepted = created.clone();
        accepted["description"] =
            json!("Accepted: stored, with work still to come (a telephone call to be placed).");
        let mut parameters = query_for(registry, resource, Takes::Resource);
        parameters.push(parameter_ref("Idempotency-Key"));
        operations.push((
            "post",
            Operation {
                parameters,
                body: Some((format!("{name}.create"), MEDIA_TYPE.to_string())),
                successes: vec![(201, created), (202, accepted)],
                errors: &[403, 404, 408, 409, 413, 422],
                ..Operation::new(
                    format!("{name}.create"),
                    format!("Create a {name}"),
                    name,
                    vec![write_scope(resource)],
                )
            },
        ));
    }
    operations
}

/// The operations on `/api/{TYPE}/{id}`.
fn single(registry: &Registry, resource: &'static ResourceType) -> Vec<(&'static str, Operation)> {
    let name = resource.name;
    let fetch = with_id(query_for(registry, resource, Takes::Resource));
    let mut update = with_id(query_for(registry, resource, Takes::Resource));
    update.extend([parameter_ref("If-Match"), parameter_ref("Idempotency-Key")]);
    let mut operations = vec![
        (
            "get",
            Operation {
                parameters: fetch,
                successes: vec![(
                    200,
                    document_response(
                        &format!("The {name}, with its `ETag`."),
                        &format!("{name}.document"),
                        &plain(),
                    ),
                )],
                errors: &[403, 404],
                head: true,
                ..Operation::new(
                    format!("{name}.get"),
                    format!("Fetch a {name}"),
                    name,
                    vec![read_scope(resource)],
                )
            }
            .conditional(),
        ),
        (
            "patch",
            Operation {
                parameters: update,
                body: Some((format!("{name}.update"), MEDIA_TYPE.to_string())),
                successes: vec![(
                    200,
                    document_response(
                        &format!("The {name} as it now is."),
                        &format!("{name}.document"),
                        &plain(),
                    ),
                )],
                errors: &[403, 404, 408, 409, 412, 413, 422],
                ..Operation::new(
                    format!("{name}.update"),
                    format!("Update a {name}: only the members sent change"),
                    name,
                    vec![write_scope(resource)],
                )
            },
        ),
    ];
    if resource.http_writes.delete {
        operations.push((
            "delete",
            Operation {
                parameters: vec![
                    path_id(),
                    parameter_ref("If-Match"),
                    parameter_ref("Idempotency-Key"),
                ],
                successes: vec![(204, json!({"description": "Deleted."}))],
                errors: &[403, 404, 409, 412, 422],
                ..Operation::new(
                    format!("{name}.delete"),
                    format!("Delete a {name}"),
                    name,
                    vec![write_scope(resource)],
                )
            },
        ));
    }
    operations
}

/// The operations on `/api/{TYPE}/{id}/{relationship}`: the related resources.
fn related(
    registry: &Registry,
    resource: &'static ResourceType,
    relationship: &Relationship,
    target: &'static ResourceType,
) -> Vec<(&'static str, Operation)> {
    let (takes, schema, media_types) = match relationship.cardinality {
        Cardinality::ToMany { .. } => (
            Takes::Collection,
            format!("{}.collection", target.name),
            paged(),
        ),
        Cardinality::ToOne { .. } => (
            Takes::Resource,
            format!("{}.document-or-null", target.name),
            plain(),
        ),
    };
    let parameters = with_id(query_for(registry, target, takes));
    let successes = vec![(
        200,
        document_response(
            &format!(
                "The {} resources related through `{}`.",
                target.name, relationship.name
            ),
            &schema,
            &media_types,
        ),
    )];
    let fetch = Operation {
        parameters,
        successes,
        errors: &[403, 404],
        head: true,
        ..Operation::new(
            format!("{}.{}.get", resource.name, relationship.name),
            format!("Fetch the {} of a {}", relationship.name, resource.name),
            resource.name,
            vec![read_scope(resource), read_scope(target)],
        )
    };
    match takes {
        Takes::Resource => vec![("get", fetch.conditional())],
        _ => vec![("get", fetch)],
    }
}

/// The operations on `/api/{TYPE}/{id}/relationships/{relationship}`.
fn relationship_link(
    registry: &Registry,
    resource: &'static ResourceType,
    relationship: &Relationship,
    target: &'static ResourceType,
) -> Vec<(&'static str, Operation)> {
    let (many, takes, schema) = match relationship.cardinality {
        Cardinality::ToMany { .. } => (
            true,
            Takes::PagedLinkage,
            format!("{}.linkage-many", target.name),
        ),
        Cardinality::ToOne { .. } => (
            false,
            Takes::Nothing,
            format!("{}.linkage-one", target.name),
        ),
    };
    let base = format!("{}.relationships.{}", resource.name, relationship.name);
    let fetch = Operation {
        parameters: with_id(query_for(registry, resource, takes)),
        successes: vec![(
            200,
            document_response(
                &format!("The linkage of `{}`.", relationship.name),
                &schema,
                &plain(),
            ),
        )],
        errors: &[403, 404],
        head: true,
        ..Operation::new(
            format!("{base}.get"),
            format!(
                "Fetch the linkage of a {}'s {}",
                resource.name, relationship.name
            ),
            resource.name,
            vec![read_scope(resource), read_scope(target)],
        )
    };
    let mut operations = vec![("get", if many { fetch } else { fetch.conditional() })];
    let mut writes = vec![("patch", "replace", "Replace")];
    if many {
        writes.extend([
            ("post", "add", "Add to"),
            ("delete", "remove", "Remove from"),
        ]);
    }
    let request = format!("{base}.request");
    for (method, verb, summary) in writes {
        operations.push((
            method,
            Operation {
                parameters: vec![path_id(), parameter_ref("Idempotency-Key")],
                body: Some((request.clone(), MEDIA_TYPE.to_string())),
                successes: vec![(
                    204,
                    json!({"description": "The linkage is now what was asked."}),
                )],
                errors: &[403, 404, 408, 409, 413, 422],
                ..Operation::new(
                    format!("{base}.{verb}"),
                    format!(
                        "{summary} the linkage of a {}'s {}",
                        resource.name, relationship.name
                    ),
                    resource.name,
                    vec![write_scope(resource), read_scope(target)],
                )
            },
        ));
    }
    operations
}

fn atomic_operations() -> Operation {
    let media_type = format!("{MEDIA_TYPE}; ext=\"{}\"", atomic::EXTENSION);
    Operation {
        parameters: vec![parameter_ref("Idempotency-Key")],
        body: Some(("atomic.request".into(), media_type.clone())),
        successes: vec![
            (
                200,
                document_response(
                    "Every operation's result, in order.",
                    "atomic.results",
                    &[media_type],
                ),
            ),
            (
                204,
                json!({"description": "Done; no operation had a result to show."}),
            ),
        ],
        errors: &[403, 404, 408, 409, 413, 422],
        // Each operation needs the scopes its own request would.
        ..Operation::new(
            "operations".into(),
            "Atomic Operations: several writes in one transaction, all or none".into(),
            "Atomic Operations",
            Vec::new(),
        )
    }
}

/// Puts `operations` (and their `HEAD` twins) under `path`.
fn add(paths: &mut Map<String, Value>, path: String, operations: Vec<(&'static str, Operation)>) {
    let mut item = Map::new();
    for (method, operation) in operations {
        if operation.head {
            item.insert("head".into(), operation.render(true));
        }
        item.insert(method.into(), operation.render(false));
    }
    paths.insert(path, Value::Object(item));
}

/// Every path the server answers under `/api`.
pub(super) fn paths(registry: &Registry) -> Map<String, Value> {
    let mut paths = Map::new();
    for resource in registry.types().iter().copied() {
        let collection_url = resource.collection_url();
        add(
            &mut paths,
            collection_url.clone(),
            collection(registry, resource),
        );
        add(
            &mut paths,
            format!("{collection_url}/{{id}}"),
            single(registry, resource),
        );
        for relationship in resource.relationships {
            let Ok(target) = registry.target(relationship) else {
                continue;
            };
            add(
                &mut paths,
                format!("{collection_url}/{{id}}/{}", relationship.name),
                related(registry, resource, relationship, target),
            );
            add(
                &mut paths,
                format!(
                    "{collection_url}/{{id}}/relationships/{}",
                    relationship.name
                ),
                relationship_link(registry, resource, relationship, target),
            );
        }
    }
    add(
        &mut paths,
        atomic::PATH.to_string(),
        vec![("post", atomic_operations())],
    );
    paths
}
