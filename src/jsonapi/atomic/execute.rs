//! Running an operations request: every operation in order, in one transaction, through the
//! same generic writes as single requests; the first failure undoes them all and is reported
//! with pointers into the request (`/atomic:operations/N/...`).

use serde_json::{json, Map, Value};

use super::{identity, named_type, operation, operations, Code, LocalIds, Operation, Target};
use crate::jsonapi::context::Context;
use crate::jsonapi::document::JsonApiObject;
use crate::jsonapi::error::ApiError;
use crate::jsonapi::handlers::{self, Rendered};
use crate::jsonapi::input::{self, Intent};
use crate::jsonapi::linkage::{self, LinkageChange, LinkageWrite};
use crate::jsonapi::render::Writer;
use crate::jsonapi::resource::{Cardinality, Record, Registry, ResourceType};
use crate::jsonapi::unit_of_work::Tx;

/// What an operation does, for the caller's permission checks.
#[derive(Clone, Copy, Debug)]
pub enum Action {
    Create(&'static ResourceType),
    Update(&'static ResourceType),
    Delete(&'static ResourceType),
    /// Writing a relationship of the first type, whose resources are of the second.
    WriteRelationship(&'static ResourceType, &'static ResourceType),
}

/// A successful request's answer: a document of results, or nothing when no result has data.
pub enum Outcome {
    Results(Rendered),
    NoContent,
}

/// What one operation leaves in `atomic:results`.
enum Done {
    Resource(&'static ResourceType, Box<dyn Record>),
    Nothing,
}

/// Runs the operations of `body` (at most `max`) for `context`'s tenant; `permit` checks each
/// operation's action before it runs.
pub fn execute(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    body: &Value,
    max: usize,
    permit: &dyn Fn(Action) -> Result<(), ApiError>,
) -> Result<Outcome, ApiError> {
    let operations = operations(body, max)?;
    // The operations share the request's unit of work: the first failure undoes them all.
    let mut local = LocalIds::default();
    let mut done = Vec::with_capacity(operations.len());
    for (index, value) in operations.iter().enumerate() {
        let at = format!("/atomic:operations/{index}");
        let result = operation(context.registry, value)
            .and_then(|parsed| perform(tx, context, &mut local, parsed, permit));
        done.push(result.map_err(|error| error.within(&at))?);
    }
    if done.iter().all(|one| matches!(one, Done::Nothing)) {
        return Ok(Outcome::NoContent);
    }
    let mut out = Writer::with_capacity(1024 * done.len());
    let jsonapi = JsonApiObject {
        ext: vec![super::EXTENSION.to_string()],
        ..JsonApiObject::default()
    };
    out.raw("{\"jsonapi\":").value(&jsonapi)?;
    out.raw(",\"atomic:results\":[");
    for (index, one) in done.iter().enumerate() {
        if index > 0 {
            out.byte(b',');
        }
        match one {
            Done::Resource(resource, record) => {
                out.raw("{\"data\":");
                out.resource(resource, record.as_ref(), &[], context.query);
                out.byte(b'}');
            }
            Done::Nothing => {
                out.raw("{}");
            }
        }
    }
    out.raw("]}");
    Ok(Outcome::Results(Rendered {
        body: out.into_bytes(),
        profiles: Vec::new(),
    }))
}

fn perform(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    local: &mut LocalIds,
    operation: Operation<'_>,
    permit: &dyn Fn(Action) -> Result<(), ApiError>,
) -> Result<Done, ApiError> {
    let registry = context.registry;
    match (operation.code, operation.target) {
        (code, Some(Target::Relationship(resource, identity, relationship))) => {
            let how = match code {
                Code::Add => LinkageWrite::Add,
                Code::Update => LinkageWrite::Replace,
                Code::Remove => LinkageWrite::Remove,
            };
            if matches!(relationship.cardinality, Cardinality::ToOne { .. })
                && how != LinkageWrite::Replace
            {
                return Err(ApiError::invalid_document(
                    "/op",
                    format!(
                        "`{}` is to-one: it is updated, never added to or removed from.",
                        relationship.name
                    ),
                ));
            }
            permit(Action::WriteRelationship(
                resource,
                registry.target(relationship)?,
            ))?;
            let id = local.resolve(resource, &identity, "/ref/lid")?;
            let mut data = operation.data.cloned();
            if let Some(data) = &mut data {
                local.resolve_linkage(registry, data, "/data")?;
            }
            let change = LinkageChange {
                relationship,
                how,
                linkage: linkage::parse(relationship, data.as_ref(), "/data")?,
                pointer: "/data".into(),
            };
            handlers::write_relationship(tx, context, resource, &id, &change)?;
            Ok(Done::Nothing)
        }
        (Code::Add, Some(Target::Resource(..))) => Err(ApiError::invalid_document(
            "/ref",
            "`add` creates a resource: name no `ref`, or an `href` to its collection.",
        )),
        (Code::Add, target) => {
            let (resource, data) = resource_object(registry, operation.data, target.as_ref())?;
            permit(Action::Create(resource))?;
            let lid = data.get("lid").and_then(Value::as_str).map(str::to_string);
            let document = with_resolved_relationships(registry, local, data)?;
            let changes = input::parse(&document, resource, Intent::Create)?;
            let record = handlers::create_record(tx, context, resource, changes)?.record;
            if let Some(lid) = lid {
                local.assign(resource, &lid, record.id())?;
            }
            Ok(Done::Resource(resource, record))
        }
        (Code::Update, target) => {
            let (resource, data) = resource_object(registry, operation.data, target.as_ref())?;
            permit(Action::Update(resource))?;
            let named = identity(data, "/data")?.ok_or_else(|| {
                ApiError::invalid_document("/data", "The resource object needs an `id` or a `lid`.")
            })?;
            let id = local.resolve(resource, &named, "/data/lid")?;
            if let Some(Target::Resource(_, by_ref)) = &target {
                if local.resolve(resource, by_ref, "/ref/lid")? != id {
                    return Err(ApiError::mismatch(
                        "/data/id",
                        "The resource object names another resource than `ref`.",
                    ));
                }
            }
            let mut document = with_resolved_relationships(registry, local, data)?;
            if let Some(data) = document.get_mut("data").and_then(Value::as_object_mut) {
                data.remove("lid");
                data.insert("id".into(), Value::String(id.clone()));
            }
            let changes = input::parse(&document, resource, Intent::Update { id: &id })?;
            let record = handlers::update_record(tx, context, resource, &id, changes)?;
            Ok(Done::Resource(resource, record))
        }
        (Code::Remove, Some(Target::Resource(resource, identity))) => {
            if operation.data.is_some() {
                return Err(ApiError::invalid_document(
                    "/data",
                    "Removing a resource takes no `data`.",
                ));
            }
            permit(Action::Delete(resource))?;
            let id = local.resolve(resource, &identity, "/ref/lid")?;
            handlers::delete(tx, context, resource, &id)?;
            Ok(Done::Nothing)
        }
        (Code::Remove, _) => Err(ApiError::invalid_document(
            "",
            "`remove` needs a `ref` (or `href`) naming a resource or a relationship.",
        )),
    }
}

/// The operation's resource object and its type, which must agree with the target's.
fn resource_object<'a>(
    registry: &Registry,
    data: Option<&'a Value>,
    target: Option<&Target>,
) -> Result<(&'static ResourceType, &'a Map<String, Value>), ApiError> {
    let Some(Value::Object(object)) = data else {
        return Err(ApiError::invalid_document(
            "/data",
            "This operation's `data` is a resource object.",
        ));
    };
    let resource = named_type(registry, object, "/data")?;
    match target {
        Some(Target::Collection(expected) | Target::Resource(expected, _))
            if expected.name != resource.name =>
        {
            Err(ApiError::mismatch(
                "/data/type",
                format!(
                    "The target takes `{}`, not `{}`.",
                    expected.name, resource.name
                ),
            ))
        }
        _ => Ok((resource, object)),
    }
}

/// The resource object as a request document, with the `lid`s in its relationships replaced
/// by the ids they stand for.
fn with_resolved_relationships(
    registry: &Registry,
    local: &LocalIds,
    data: &Map<String, Value>,
) -> Result<Value, ApiError> {
    let mut data = data.clone();
    if let Some(Value::Object(relationships)) = data.get_mut("relationships") {
        for (name, relationship) in relationships.iter_mut() {
            if let Some(linkage) = relationship.get_mut("data") {
                let at = format!(
                    "/data/relationships/{}/data",
                    crate::jsonapi::document::pointer_token(name)
                );
                local.resolve_linkage(registry, linkage, &at)?;
            }
        }
    }
    Ok(json!({ "data": Value::Object(data) }))
}
