//! The Atomic Operations extension (`https://jsonapi.org/ext/atomic`): several writes in one
//! request, performed in order in one transaction, with `lid`s linking resources created by
//! earlier operations to later ones. This module reads the request document; [`execute`] runs
//! it over the same generic writes as single requests.

mod execute;

use std::collections::HashMap;

use serde_json::{Map, Value};

pub use execute::{execute, Action, Outcome};

use super::error::ApiError;
use super::resource::{Registry, Relationship, ResourceType};

/// The extension's URI, as `ext` media type parameters and `jsonapi.ext` name it.
pub const EXTENSION: &str = "https://jsonapi.org/ext/atomic";
/// Where operations are posted.
pub const PATH: &str = "/api/operations";
/// The default bound on operations per request (`--max-operations`).
pub const DEFAULT_MAX_OPERATIONS: usize = 100;

/// An operation's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Add,
    Update,
    Remove,
}

/// A resource named by `id`, or by the `lid` an earlier operation gave it.
#[derive(Clone, Debug)]
pub enum Identity {
    Id(String),
    Lid(String),
}

/// What an operation's `ref` or `href` names.
#[derive(Clone, Debug)]
pub enum Target {
    Collection(&'static ResourceType),
    Resource(&'static ResourceType, Identity),
    Relationship(&'static ResourceType, Identity, &'static Relationship),
}

/// One operation object, its shape checked.
#[derive(Debug)]
pub struct Operation<'a> {
    pub code: Code,
    pub target: Option<Target>,
    pub data: Option<&'a Value>,
}

/// The operation objects of a request document, at most `max` of them.
pub fn operations(body: &Value, max: usize) -> Result<&Vec<Value>, ApiError> {
    let Some(document) = body.as_object() else {
        return Err(ApiError::invalid_document(
            "",
            "The request document must be a JSON object.",
        ));
    };
    // The extension's document structure: no `data`, `included` or `errors` beside operations.
    for member in ["data", "included", "errors", "atomic:results"] {
        if document.contains_key(member) {
            return Err(ApiError::invalid_document(
                format!("/{member}"),
                format!("An operations request carries `atomic:operations`, never `{member}`."),
            ));
        }
    }
    if let Some(meta) = document.get("meta") {
        if !meta.is_object() {
            return Err(ApiError::invalid_document(
                "/meta",
                "`meta` must be an object.",
            ));
        }
    }
    match document.get("atomic:operations") {
        Some(Value::Array(operations)) if operations.is_empty() => Err(ApiError::invalid_document(
            "/atomic:operations",
            "`atomic:operations` holds one or more operation objects.",
        )),
        Some(Value::Array(operations)) if operations.len() > max => {
            Err(ApiError::TooManyOperations { max })
        }
        Some(Value::Array(operations)) => Ok(operations),
        Some(_) => Err(ApiError::invalid_document(
            "/atomic:operations",
            "`atomic:operations` must be an array of operation objects.",
        )),
        None => Err(ApiError::invalid_document(
            "",
            "An operations request needs an `atomic:operations` array.",
        )),
    }
}

/// Reads one operation object; pointers are relative to it.
pub fn operation<'a>(registry: &Registry, value: &'a Value) -> Result<Operation<'a>, ApiError> {
    let Some(object) = value.as_object() else {
        return Err(ApiError::invalid_document(
            "",
            "An operation must be an object.",
        ));
    };
    for name in object.keys() {
        if !["op", "ref", "href", "data", "meta"].contains(&name.as_str()) && !name.starts_with('@')
        {
            return Err(ApiError::invalid_document(
                format!("/{}", super::document::pointer_token(name)),
                format!("An operation has no member `{name}`."),
            ));
        }
    }
    let code = match object.get("op").and_then(Value::as_str) {
        Some("add") => Code::Add,
        Some("update") => Code::Update,
        Some("remove") => Code::Remove,
        _ => {
            return Err(ApiError::invalid_document(
                "/op",
                "`op` must be \"add\", \"update\" or \"remove\".",
            ))
        }
    };
    if object.get("meta").is_some_and(|meta| !meta.is_object()) {
        return Err(ApiError::invalid_document(
            "/meta",
            "`meta` must be an object.",
        ));
    }
    let target = match (object.get("ref"), object.get("href")) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_document(
                "/href",
                "An operation names its target by `ref` or by `href`, not both.",
            ))
        }
        (Some(reference), None) => Some(parse_ref(registry, reference)?),
        (None, Some(href)) => Some(parse_href(registry, href)?),
        (None, None) => None,
    };
    Ok(Operation {
        code,
        target,
        data: object.get("data"),
    })
}

fn parse_ref(registry: &Registry, value: &Value) -> Result<Target, ApiError> {
    let Some(reference) = value.as_object() else {
        return Err(ApiError::invalid_document(
            "/ref",
            "`ref` must be an object.",
        ));
    };
    for name in reference.keys() {
        if !["type", "id", "lid", "relationship"].contains(&name.as_str()) {
            return Err(ApiError::invalid_document(
                format!("/ref/{}", super::document::pointer_token(name)),
                format!("A `ref` has no member `{name}`."),
            ));
        }
    }
    let resource = named_type(registry, reference, "/ref")?;
    let identity = identity(reference, "/ref")?
        .ok_or_else(|| ApiError::invalid_document("/ref", "A `ref` needs an `id` or a `lid`."))?;
    match reference.get("relationship") {
        None => Ok(Target::Resource(resource, identity)),
        Some(Value::String(name)) => match resource.relationship(name) {
            Some(relationship) => Ok(Target::Relationship(resource, identity, relationship)),
            None => Err(ApiError::invalid_document(
                "/ref/relationship",
                format!("{} has no relationship `{name}`.", resource.name),
            )),
        },
        Some(_) => Err(ApiError::invalid_document(
            "/ref/relationship",
            "`relationship` must be a string.",
        )),
    }
}

/// The type a resource object or `ref` at `at` names in its `type` member.
pub fn named_type(
    registry: &Registry,
    object: &Map<String, Value>,
    at: &str,
) -> Result<&'static ResourceType, ApiError> {
    match object.get("type") {
        Some(Value::String(name)) => registry.by_name(name).ok_or_else(|| {
            ApiError::invalid_document(format!("{at}/type"), format!("There is no type `{name}`."))
        }),
        _ => Err(ApiError::invalid_document(
            at,
            "A resource object or `ref` needs a string `type`.",
        )),
    }
}

/// A resource object's or `ref`'s `id` or `lid` (never both), if it has one.
pub fn identity(object: &Map<String, Value>, at: &str) -> Result<Option<Identity>, ApiError> {
    match (object.get("id"), object.get("lid")) {
        (Some(_), Some(_)) => Err(ApiError::invalid_document(
            format!("{at}/lid"),
            "Name the resource by `id` or by `lid`, not both.",
        )),
        (Some(Value::String(id)), None) => Ok(Some(Identity::Id(id.clone()))),
        (None, Some(Value::String(lid))) => Ok(Some(Identity::Lid(lid.clone()))),
        (Some(Value::Null) | None, None) => Ok(None),
        (Some(_), None) => Err(ApiError::invalid_document(
            format!("{at}/id"),
            "`id` must be a string.",
        )),
        (None, Some(_)) => Err(ApiError::invalid_document(
            format!("{at}/lid"),
            "`lid` must be a string.",
        )),
    }
}

/// An `href` under `/api`: a collection, a resource, or a resource's relationship link.
fn parse_href(registry: &Registry, value: &Value) -> Result<Target, ApiError> {
    let invalid = || {
        ApiError::invalid_document(
            "/href",
            "`href` must be `/api/{type}`, `/api/{type}/{id}` or \
             `/api/{type}/{id}/relationships/{name}`.",
        )
    };
    let href = value.as_str().ok_or_else(invalid)?;
    let segments: Vec<&str> = href
        .strip_prefix("/api/")
        .ok_or_else(invalid)?
        .split('/')
        .collect();
    let resource = segments
        .first()
        .and_then(|path| registry.by_path(path))
        .ok_or_else(invalid)?;
    match segments.as_slice() {
        [_] => Ok(Target::Collection(resource)),
        [_, id] => Ok(Target::Resource(resource, Identity::Id((*id).to_string()))),
        [_, id, "relationships", name] => resource
            .relationship(name)
            .map(|relationship| {
                Target::Relationship(resource, Identity::Id((*id).to_string()), relationship)
            })
            .ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

/// The ids that `lid`s stand for, by type, as operations assign them.
#[derive(Debug, Default)]
pub struct LocalIds {
    ids: HashMap<(&'static str, String), String>,
}

impl LocalIds {
    pub fn assign(
        &mut self,
        resource: &'static ResourceType,
        lid: &str,
        id: &str,
    ) -> Result<(), ApiError> {
        if self.ids.contains_key(&(resource.name, lid.to_string())) {
            return Err(ApiError::invalid_document(
                "/data/lid",
                format!(
                    "The `lid` `{lid}` is already given to another {}.",
                    resource.name
                ),
            ));
        }
        self.ids
            .insert((resource.name, lid.to_string()), id.to_string());
        Ok(())
    }

    /// The id an identity stands for; a `lid` no earlier operation assigned is 400 at `at`.
    pub fn resolve(
        &self,
        resource: &ResourceType,
        identity: &Identity,
        at: &str,
    ) -> Result<String, ApiError> {
        match identity {
            Identity::Id(id) => Ok(id.clone()),
            Identity::Lid(lid) => self
                .ids
                .get(&(resource.name, lid.clone()))
                .cloned()
                .ok_or_else(|| unknown_lid(resource, lid, at)),
        }
    }

    /// Replaces the `lid` of every resource identifier in `linkage` (one identifier, or an
    /// array of them, at `at`) with the `id` it stands for.
    pub fn resolve_linkage(
        &self,
        registry: &Registry,
        linkage: &mut Value,
        at: &str,
    ) -> Result<(), ApiError> {
        match linkage {
            Value::Array(items) => {
                for (index, item) in items.iter_mut().enumerate() {
                    self.resolve_identifier(registry, item, &format!("{at}/{index}"))?;
                }
                Ok(())
            }
            item => self.resolve_identifier(registry, item, at),
        }
    }

    fn resolve_identifier(
        &self,
        registry: &Registry,
        item: &mut Value,
        at: &str,
    ) -> Result<(), ApiError> {
        let Some(object) = item.as_object_mut() else {
            return Ok(());
        };
        if object.contains_key("id") {
            return Ok(());
        }
        let Some(Value::String(lid)) = object.get("lid") else {
            return Ok(());
        };
        let resource = object
            .get("type")
            .and_then(Value::as_str)
            .and_then(|name| registry.by_name(name));
        let Some(resource) = resource else {
            return Ok(()); // the identifier's own checks report its type
        };
        let id = self.resolve(resource, &Identity::Lid(lid.clone()), &format!("{at}/lid"))?;
        object.remove("lid");
        object.insert("id".into(), Value::String(id));
        Ok(())
    }
}

fn unknown_lid(resource: &ResourceType, lid: &str, at: &str) -> ApiError {
    ApiError::invalid_document(
        at,
        format!(
            "No earlier operation created a {} with the `lid` `{lid}`.",
            resource.name
        ),
    )
}
