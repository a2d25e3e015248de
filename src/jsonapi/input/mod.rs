//! Request documents for create and update, validated against the resource description. Every
//! problem becomes its own error with a JSON Pointer into the request document.

use serde_json::{Map, Value};

use super::document::pointer_token;
use super::linkage::{self, Linkage, LinkageChange, LinkageWrite};
use super::resource::{Attribute, Cardinality, Relationship, ResourceType, ToOneWrite, Write};
use crate::jsonapi::error::ApiError;
use crate::store::{ColumnKind, SqlValue};

mod values;

pub use values::{
    is_e164, is_email, is_slug, max_object_bytes, set_max_object_bytes, DEFAULT_MAX_OBJECT_BYTES,
};
use values::{misshapen, to_sql_value, unstorable};

/// What the request is doing, which decides the rules for `id` and read-only members.
#[derive(Clone, Copy, Debug)]
pub enum Intent<'a> {
    Create,
    Update { id: &'a str },
}

/// A to-one relationship named in the document.
#[derive(Debug, Clone)]
pub struct ToOneChange {
    pub relationship: &'static Relationship,
    pub column: &'static str,
    pub id: Option<String>,
    /// Where the identifier stands in the request, for a 404 that points at it.
    pub pointer: String,
}

/// The validated content of a create or update document.
#[derive(Debug, Default)]
pub struct Changes {
    /// A client-generated id for the new resource (create only), in canonical form.
    pub id: Option<String>,
    pub attributes: Vec<(&'static Attribute, SqlValue)>,
    pub to_one: Vec<ToOneChange>,
    /// Update only: values sent for members clients cannot change (read-only and create-only
    /// attributes). Accepted when they equal what is stored, as ORMs write back what they read.
    pub unchangeable: Vec<Unchangeable>,
    /// Update only: relationships sent, each to be checked (and written) as a replacement.
    pub linkage: Vec<LinkageChange>,
}

/// A value sent for an attribute that clients cannot change, with where it stands.
#[derive(Debug)]
pub struct Unchangeable {
    pub attribute: &'static Attribute,
    pub value: SqlValue,
    pub pointer: String,
}

impl Changes {
    pub fn has(&self, attribute: &str) -> bool {
        self.attributes
            .iter()
            .any(|(known, _)| known.name == attribute)
    }
}

/// document-meta: a `meta` member, where present, is an object.
fn check_meta(object: &Map<String, Value>, pointer: &str) -> Result<(), ApiError> {
    match object.get("meta") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(ApiError::invalid_document(
            format!("{pointer}/meta"),
            "`meta` must be an object.",
        )),
    }
}

/// @-members are ignored wherever they appear (spec: member-name-at-members-no-process).
fn is_at_member(name: &str) -> bool {
    name.starts_with('@')
}

pub fn parse(
    body: &Value,
    resource: &'static ResourceType,
    intent: Intent<'_>,
) -> Result<Changes, ApiError> {
    let Some(document) = body.as_object() else {
        return Err(ApiError::invalid_document(
            "",
            "The request document must be a JSON object.",
        ));
    };
    // document-top-level-members: `data` and `errors` never coexist; a request has no errors.
    if document.contains_key("errors") {
        return Err(ApiError::invalid_document(
            "/errors",
            "A request document carries `data`, never `errors`.",
        ));
    }
    check_meta(document, "")?;
    let data = match document.get("data") {
        Some(Value::Object(data)) => data,
        Some(_) => {
            return Err(ApiError::invalid_document(
                "/data",
                "`data` must be a single resource object.",
            ))
        }
        None => {
            return Err(ApiError::invalid_document(
                "",
                "The request document needs a `data` member holding the resource object.",
            ))
        }
    };
    let id = check_identity(data, resource, intent)?;
    check_meta(data, "/data")?;

    let mut changes = Changes {
        id,
        ..Changes::default()
    };
    let mut problems = Vec::new();
    // A `lid` only correlates resources within a request; responses never carry it (the 1.1
    // schema forbids `lid` beside `id`), so it is checked and otherwise ignored.
    if data.get("lid").is_some_and(|lid| !lid.is_string()) {
        problems.push(ApiError::invalid_document(
            "/data/lid",
            "`lid` must be a string.",
        ));
    }
    parse_attributes(data, resource, intent, &mut changes, &mut problems);
    parse_relationships(data, resource, intent, &mut changes, &mut problems);
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok(changes),
    }
}

/// A relationship's own request document (`{"data": linkage}`), for a write of `how`.
pub fn linkage_document(
    body: &Value,
    relationship: &'static Relationship,
    how: LinkageWrite,
) -> Result<LinkageChange, ApiError> {
    let Some(document) = body.as_object() else {
        return Err(ApiError::invalid_document(
            "",
            "The request document must be a JSON object.",
        ));
    };
    if document.contains_key("errors") {
        return Err(ApiError::invalid_document(
            "/errors",
            "A request document carries `data`, never `errors`.",
        ));
    }
    check_meta(document, "")?;
    let linkage = linkage::parse(relationship, document.get("data"), "/data")?;
    Ok(LinkageChange {
        relationship,
        how,
        linkage,
        pointer: "/data".into(),
    })
}

fn check_identity(
    data: &Map<String, Value>,
    resource: &ResourceType,
    intent: Intent<'_>,
) -> Result<Option<String>, ApiError> {
    match data.get("type") {
        // create-type-member, update-patch-resource-members
        None => {
            return Err(ApiError::invalid_document(
                "/data",
                "The resource object needs a `type`.",
            ))
        }
        Some(Value::String(name)) if name == resource.name => {}
        Some(Value::String(name)) => {
            // create-responses-409-bad-type, update-resource-409-no-match
            return Err(ApiError::mismatch(
                "/data/type",
                format!("This endpoint takes `{}`, not `{name}`.", resource.name),
            ));
        }
        Some(_) => {
            return Err(ApiError::invalid_document(
                "/data/type",
                "`type` must be a string.",
            ))
        }
    }
    match (intent, data.get("id")) {
        // WarpDrive and others send `"id": null` for a new record: no id.
        (Intent::Create, None | Some(Value::Null)) => Ok(None),
        // create-accept-client-generated-ids: a UUID in the form ids are served in.
        (Intent::Create, Some(Value::String(given))) => {
            match super::graph::canonical_id(given) {
                Some(canonical) if canonical == *given => Ok(Some(canonical)),
                // create-client-generated-ids-forbidden: any other id is one we do not take.
                _ => Err(ApiError::ClientGeneratedId {
                    pointer: "/data/id".into(),
                }),
            }
        }
        (Intent::Create, Some(_)) => Err(ApiError::invalid_document(
            "/data/id",
            "`id` must be a string (a UUID) or null.",
        )),
        (Intent::Update { .. }, None) => Err(ApiError::invalid_document(
            "/data",
            "The resource object needs the `id` of the resource it updates.",
        )),
        (Intent::Update { id }, Some(Value::String(given))) if given == id => Ok(None),
        (Intent::Update { id }, Some(Value::String(given))) => Err(ApiError::mismatch(
            "/data/id",
            format!("The document's id `{given}` does not match the URL's `{id}`."),
        )),
        (Intent::Update { .. }, Some(_)) => Err(ApiError::invalid_document(
            "/data/id",
            "`id` must be a string.",
        )),
    }
}

/// A member of `attributes` or `relationships`: its name, its value and its pointer.
type SentMember<'a> = (&'a str, &'a Value, String);

/// The members of the resource object's `attributes` or `relationships` (`None` when it is not
/// sent), each with its pointer; @-members are left out (member-name-at-members-no-process).
fn sent_members<'a>(
    data: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<SentMember<'a>>>, ApiError> {
    match data.get(name) {
        None => Ok(None),
        Some(Value::Object(members)) => Ok(Some(
            members
                .iter()
                .filter(|(member, _)| !is_at_member(member))
                .map(|(member, value)| {
                    let pointer = format!("/data/{name}/{}", pointer_token(member));
                    (member.as_str(), value, pointer)
                })
                .collect(),
        )),
        Some(_) => Err(ApiError::invalid_document(
            format!("/data/{name}"),
            format!("`{name}` must be an object."),
        )),
    }
}

fn parse_attributes(
    data: &Map<String, Value>,
    resource: &'static ResourceType,
    intent: Intent<'_>,
    changes: &mut Changes,
    problems: &mut Vec<ApiError>,
) {
    let attributes = match sent_members(data, "attributes") {
        Ok(attributes) => attributes,
        Err(problem) => {
            problems.push(problem);
            return;
        }
    };
    for (name, value, pointer) in attributes.iter().flatten() {
        let (name, pointer) = (*name, pointer.clone());
        let Some(attribute) = resource.attribute(name) else {
            let hint = if resource.relationship(name).is_some() {
                " It is a relationship: send it under `relationships`."
            } else {
                ""
            };
            problems.push(ApiError::invalid_member(
                pointer,
                format!("{} has no attribute `{name}`.{hint}", resource.name),
            ));
            continue;
        };
        // An attribute mirroring a changeable to-one (`ai_agent_id`) is a write of that
        // relationship, checked as one, at the attribute's pointer.
        if let Some(relationship) = resource.mirrored(name) {
            match to_sql_value(attribute, value) {
                Ok(SqlValue::Text(id)) => mirror(changes, relationship, intent, id, pointer),
                Ok(_) => {}
                Err(detail) => problems.push(ApiError::invalid_member(pointer, detail)),
            }
            continue;
        }
        let unchangeable = match (attribute.write, intent) {
            (Write::ReadOnly(_), Intent::Create) => {
                problems.push(ApiError::invalid_member(
                    pointer,
                    format!("`{name}` is read-only: the server sets it."),
                ));
                continue;
            }
            (Write::ReadOnly(_) | Write::CreateOnly(_) | Write::Fixed, Intent::Update { .. }) => {
                true
            }
            _ => false,
        };
        if let ColumnKind::Json = attribute.kind.column_kind() {
            if let Some((at, why)) = unstorable(value, pointer.clone()) {
                problems.push(ApiError::invalid_member(at, format!("`{name}` {why}.")));
                continue;
            }
            if let Some((at, why)) = misshapen(attribute.kind, value, &pointer) {
                problems.push(ApiError::invalid_member(at, format!("`{name}`: {why}.")));
                continue;
            }
        }
        match to_sql_value(attribute, value) {
            Ok(value) if unchangeable => changes.unchangeable.push(Unchangeable {
                attribute,
                value,
                pointer,
            }),
            Ok(value) => changes.attributes.push((attribute, value)),
            Err(detail) => problems.push(ApiError::invalid_member(pointer, detail)),
        }
    }
    if let Intent::Create = intent {
        for attribute in resource.attributes {
            let reported = problems.iter().any(|problem| {
                points_into(problem, &format!("/data/attributes/{}", attribute.name))
            });
            if matches!(attribute.write, Write::Required | Write::Fixed)
                && !changes.has(attribute.name)
                && !reported
            {
                let pointer = if attributes.is_some() {
                    "/data/attributes"
                } else {
                    "/data"
                };
                problems.push(ApiError::invalid_member(
                    pointer,
                    format!("`{}` is required.", attribute.name),
                ));
            }
        }
    }
}

/// Records a mirroring attribute's value as a write of its relationship.
fn mirror(
    changes: &mut Changes,
    relationship: &'static Relationship,
    intent: Intent<'_>,
    id: Option<String>,
    pointer: String,
) {
    let Cardinality::ToOne { column, .. } = relationship.cardinality else {
        return;
    };
    match intent {
        Intent::Create => changes.to_one.push(ToOneChange {
            relationship,
            column,
            id,
            pointer,
        }),
        Intent::Update { .. } => changes.linkage.push(LinkageChange {
            relationship,
            how: LinkageWrite::Replace,
            linkage: Linkage::ToOne(id.map(|id| linkage::Named {
                id,
                pointer: pointer.clone(),
            })),
            pointer,
        }),
    }
}

fn parse_relationships(
    data: &Map<String, Value>,
    resource: &'static ResourceType,
    intent: Intent<'_>,
    changes: &mut Changes,
    problems: &mut Vec<ApiError>,
) {
    let relationships = match sent_members(data, "relationships") {
        Ok(relationships) => relationships,
        Err(problem) => {
            problems.push(problem);
            return;
        }
    };
    for (name, value, pointer) in relationships.iter().flatten() {
        let (name, pointer) = (*name, pointer.clone());
        let Some(relationship) = resource.relationship(name) else {
            problems.push(ApiError::invalid_member(
                pointer,
                format!("{} has no relationship `{name}`.", resource.name),
            ));
            continue;
        };
        // update-resource-relationships: every relationship sent is a replacement of its
        // linkage, checked against what is stored once the resource is loaded.
        if let Intent::Update { .. } = intent {
            let data = match value {
                Value::Object(object) => object.get("data"),
                _ => {
                    problems.push(ApiError::invalid_document(
                        pointer,
                        format!("`{name}` must be a relationship object with a `data` member."),
                    ));
                    continue;
                }
            };
            match linkage::parse(relationship, data, &format!("{pointer}/data")) {
                Ok(linkage) => changes.linkage.push(LinkageChange {
                    relationship,
                    how: LinkageWrite::Replace,
                    linkage,
                    pointer,
                }),
                Err(problem) => problems.push(problem),
            }
            continue;
        }
        let (column, nullable) = match relationship.cardinality {
            Cardinality::ToOne {
                column,
                write: ToOneWrite::RequiredOnCreate | ToOneWrite::Tenant,
            } => (column, false),
            Cardinality::ToOne {
                column,
                write: ToOneWrite::Changeable { .. },
            } => (column, true),
            Cardinality::ToOne {
                write: ToOneWrite::Derived,
                ..
            } => {
                problems.push(ApiError::invalid_member(
                    pointer,
                    format!("`{name}` is read-only: the server derives it."),
                ));
                continue;
            }
            Cardinality::ToMany { .. } => {
                problems.push(ApiError::invalid_member(
                    pointer,
                    format!("`{name}` is read-only: set it from the other side."),
                ));
                continue;
            }
        };
        match parse_to_one(relationship, value, &pointer, nullable) {
            Ok(id) => changes.to_one.push(ToOneChange {
                relationship,
                column,
                id,
                pointer: format!("{pointer}/data"),
            }),
            Err(problem) => problems.push(problem),
        }
    }
    if let Intent::Create = intent {
        for relationship in resource.relationships {
            let required = matches!(
                relationship.cardinality,
                Cardinality::ToOne {
                    write: ToOneWrite::RequiredOnCreate,
                    ..
                }
            );
            let given = changes
                .to_one
                .iter()
                .any(|change| change.relationship.name == relationship.name);
            let reported = problems.iter().any(|problem| {
                points_into(
                    problem,
                    &format!("/data/relationships/{}", relationship.name),
                )
            });
            if required && !given && !reported {
                let pointer = if relationships.is_some() {
                    "/data/relationships"
                } else {
                    "/data"
                };
                problems.push(ApiError::invalid_member(
                    pointer,
                    format!("The relationship `{}` is required.", relationship.name),
                ));
            }
        }
    }
}

/// Whether a problem was already reported at `member` or inside it, so a member is never
/// reported twice (once as invalid, again as missing).
fn points_into(problem: &ApiError, member: &str) -> bool {
    match problem {
        ApiError::InvalidMember { pointer, .. } | ApiError::InvalidDocument { pointer, .. } => {
            pointer == member || pointer.starts_with(&format!("{member}/"))
        }
        _ => false,
    }
}

/// The id named by a to-one relationship object on create (`{"data": {"type", "id"}}`), read
/// as every linkage is ([`linkage::parse`]). A create's relationships are members of the new
/// resource, so their problems are 422 at the same pointers (create-relationships-member).
fn parse_to_one(
    relationship: &'static Relationship,
    value: &Value,
    pointer: &str,
    nullable: bool,
) -> Result<Option<String>, ApiError> {
    let data = value.as_object().and_then(|object| object.get("data"));
    let data_pointer = format!("{pointer}/data");
    match linkage::parse(relationship, data, &data_pointer).map_err(unprocessable)? {
        Linkage::ToOne(Some(named)) => Ok(Some(named.id)),
        Linkage::ToOne(None) if nullable => Ok(None),
        _ => Err(ApiError::invalid_member(
            data_pointer,
            format!("`{}` is required and cannot be null.", relationship.name),
        )),
    }
}

/// The same problems as members of a resource being created: 422, pointers kept.
fn unprocessable(error: ApiError) -> ApiError {
    match error {
        ApiError::InvalidDocument { pointer, detail } | ApiError::Mismatch { pointer, detail } => {
            ApiError::InvalidMember { pointer, detail }
        }
        ApiError::Many(problems) => {
            ApiError::Many(problems.into_iter().map(unprocessable).collect())
        }
        other => other,
    }
}
