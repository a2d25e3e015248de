//! Writing relationships: the linkage a request names (through a relationship endpoint, a
//! resource `PATCH` or an Atomic Operation), checked against what is stored.
//!
//! Most relationships are ownership links fixed when their resource is made (an item's
//! conversation, anything's organisation): a write to one succeeds only when the stored linkage
//! already is what was asked, so clients that write back what they read (Ember Data and other
//! ORMs do) are served, and any real change is 403 with the reason. A to-one declared
//! [`ToOneWrite::Changeable`] (a conversation's agent) is written.

use serde_json::Value;

use super::context::Context;
use super::error::ApiError;
use super::graph::{self, canonical_id};
use super::resource::{Cardinality, Record, Relationship, ResourceType, Tenant, ToOneWrite};
use super::unit_of_work::Tx;
use crate::store::{Condition, Db, Field, SqlValue};

/// What a write does to a relationship's linkage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkageWrite {
    /// `PATCH`, or `update`: the linkage becomes exactly the one given.
    Replace,
    /// `POST`, or `add`: the given members join a to-many relationship.
    Add,
    /// `DELETE`, or `remove`: the given members leave a to-many relationship.
    Remove,
}

/// A resource identifier from a request, with where it stands in the request.
#[derive(Clone, Debug)]
pub struct Named {
    pub id: String,
    pub pointer: String,
}

/// The linkage a request names.
#[derive(Clone, Debug)]
pub enum Linkage {
    ToOne(Option<Named>),
    ToMany(Vec<Named>),
}

/// A write of linkage to one relationship, with where the request names the relationship.
#[derive(Clone, Debug)]
pub struct LinkageChange {
    pub relationship: &'static Relationship,
    pub how: LinkageWrite,
    pub linkage: Linkage,
    pub pointer: String,
}

/// Reads the linkage at `pointer` (a relationship object's `data`, or a linkage document's).
/// A malformed identifier is 400; one of the wrong type is 409, as for the primary data.
pub fn parse(
    relationship: &Relationship,
    data: Option<&Value>,
    pointer: &str,
) -> Result<Linkage, ApiError> {
    let name = relationship.name;
    let Some(data) = data else {
        return Err(ApiError::invalid_document(
            pointer.rsplit_once('/').map_or("", |(parent, _)| parent),
            format!("Linkage for `{name}` is sent as a `data` member."),
        ));
    };
    match (relationship.cardinality, data) {
        (Cardinality::ToOne { .. }, Value::Null) => Ok(Linkage::ToOne(None)),
        (Cardinality::ToOne { .. }, Value::Object(_)) => {
            identifier(relationship, data, pointer).map(|named| Linkage::ToOne(Some(named)))
        }
        (Cardinality::ToOne { .. }, _) => Err(ApiError::invalid_document(
            pointer,
            format!("`{name}` is to-one: its linkage is one resource identifier or null."),
        )),
        (Cardinality::ToMany { .. }, Value::Array(items)) => {
            let mut named = Vec::with_capacity(items.len());
            let mut problems = Vec::new();
            for (index, item) in items.iter().enumerate() {
                match identifier(relationship, item, &format!("{pointer}/{index}")) {
                    Ok(one) => named.push(one),
                    Err(problem) => problems.push(problem),
                }
            }
            match ApiError::from_problems(problems) {
                Some(error) => Err(error),
                None => Ok(Linkage::ToMany(named)),
            }
        }
        (Cardinality::ToMany { .. }, _) => Err(ApiError::invalid_document(
            pointer,
            format!("`{name}` is to-many: its linkage is an array of resource identifiers."),
        )),
    }
}

fn identifier(
    relationship: &Relationship,
    value: &Value,
    pointer: &str,
) -> Result<Named, ApiError> {
    let Some(object) = value.as_object() else {
        return Err(ApiError::invalid_document(
            pointer,
            "A resource identifier is an object with `type` and `id`.",
        ));
    };
    match object.get("type") {
        Some(Value::String(given)) if given == relationship.target => {}
        Some(Value::String(given)) => {
            return Err(ApiError::mismatch(
                format!("{pointer}/type"),
                format!(
                    "`{}` relates to `{}`, not `{given}`.",
                    relationship.name, relationship.target
                ),
            ))
        }
        _ => {
            return Err(ApiError::invalid_document(
                pointer,
                "A resource identifier needs a string `type`.",
            ))
        }
    }
    match object.get("id") {
        Some(Value::String(id)) => Ok(Named {
            id: id.clone(),
            pointer: pointer.to_string(),
        }),
        _ => Err(ApiError::invalid_document(
            pointer,
            "A resource identifier needs a string `id`.",
        )),
    }
}

/// Why a to-one relationship cannot change once its resource exists.
fn fixed_reason(resource: &ResourceType, relationship: &Relationship) -> String {
    let name = relationship.name;
    match relationship.cardinality {
        Cardinality::ToOne {
            write: ToOneWrite::Tenant,
            ..
        } => format!(
            "`{name}` is the {} resource's owner; it is set when the resource is created and cannot change.",
            resource.name
        ),
        Cardinality::ToOne {
            write: ToOneWrite::Derived,
            ..
        } => format!("`{name}` is derived by the server and cannot be written."),
        _ => format!(
            "`{name}` is set when the {} resource is created and cannot change.",
            resource.name
        ),
    }
}

/// Checks a write of `linkage` to `relationship` of `parent` and applies it. It succeeds (and
/// changes nothing) exactly when the stored linkage already is what was asked; a related
/// resource that does not exist, or is another tenant's, is 404 at its identifier.
pub fn write(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    resource: &'static ResourceType,
    parent: &dyn Record,
    change: &LinkageChange,
) -> Result<(), ApiError> {
    let (registry, tenant) = (context.registry, context.tenant);
    let LinkageChange {
        relationship,
        how,
        linkage,
        pointer,
    } = change;
    let (relationship, how, pointer) = (*relationship, *how, pointer.as_str());
    let target = registry.target(relationship)?;
    match (relationship.cardinality, linkage) {
        (Cardinality::ToOne { column, .. }, Linkage::ToOne(named)) => {
            if how != LinkageWrite::Replace {
                return Err(ApiError::MethodNotAllowed {
                    method: if how == LinkageWrite::Add {
                        "POST"
                    } else {
                        "DELETE"
                    }
                    .into(),
                    allowed: vec!["GET", "PATCH"],
                });
            }
            let wanted = match named {
                None => None,
                Some(named) => {
                    let found = graph::load_one(tx, target, tenant, &named.id)?;
                    let Some(found) = found else {
                        return Err(missing(target, named));
                    };
                    check_target(relationship, target, found.as_ref(), &named.pointer)?;
                    Some(found.id().to_string())
                }
            };
            if parent.text(column) == wanted.as_deref() {
                return Ok(());
            }
            let Cardinality::ToOne {
                write: ToOneWrite::Changeable { .. },
                ..
            } = relationship.cardinality
            else {
                return Err(ApiError::forbidden(
                    pointer,
                    fixed_reason(resource, relationship),
                ));
            };
            let mut values = vec![(column, SqlValue::Text(wanted))];
            resource.touch(&mut values);
            let mut conditions = vec![Condition::Equals("id", SqlValue::text(parent.id()))];
            conditions.extend(resource.tenant_condition(tenant));
            (resource.storage.update)(tx, parent, &conditions, values)?;
            Ok(())
        }
        (Cardinality::ToMany { .. }, Linkage::ToMany(named)) => {
            let inverse = registry.inverse_column(relationship)?;
            let members = load_named(tx, target, tenant, named)?;
            let of_parent = |record: &dyn Record| record.text(inverse) == Some(parent.id());
            let inverse_name = inverse_relationship(relationship);
            match how {
                LinkageWrite::Add => match first_named(named, &members, |m| !of_parent(m)) {
                    None => Ok(()),
                    Some(at) => Err(ApiError::forbidden(
                        at,
                        format!(
                            "Adding a {} here would move it from another {}: its `{inverse_name}` is fixed when it is created.",
                            target.name, resource.name
                        ),
                    )),
                },
                LinkageWrite::Remove => match first_named(named, &members, of_parent) {
                    None => Ok(()),
                    Some(at) => Err(ApiError::forbidden(
                        at,
                        format!(
                            "A {} cannot leave its {}: its `{inverse_name}` is fixed when it is created; delete it instead.",
                            target.name, resource.name
                        ),
                    )),
                },
                LinkageWrite::Replace => {
                    let stored = (target.storage.count)(
                        tx,
                        &[Condition::Equals(inverse, SqlValue::text(parent.id()))],
                    )?;
                    let all_ours = members.iter().all(|m| of_parent(m.as_ref()));
                    if all_ours && usize::try_from(stored).ok() == Some(members.len()) {
                        return Ok(());
                    }
                    Err(ApiError::forbidden(
                        pointer,
                        format!(
                            "Replacing `{}` would move {} resources in or out of this {}; each one's `{inverse_name}` is fixed when it is created.",
                            relationship.name, target.name, resource.name
                        ),
                    ))
                }
            }
        }
        _ => Err(ApiError::Internal(
            "linkage of the wrong cardinality".into(),
        )),
    }
}

/// A related resource a changeable to-one may name must meet the relationship's requirement
/// (an agent must be published): 422 at its identifier otherwise.
pub fn check_target(
    relationship: &Relationship,
    target: &ResourceType,
    related: &dyn Record,
    pointer: &str,
) -> Result<(), ApiError> {
    let Cardinality::ToOne {
        write: ToOneWrite::Changeable {
            requires: Some(flag),
        },
        ..
    } = relationship.cardinality
    else {
        return Ok(());
    };
    match related.field(flag) {
        Some(Field::Bool(true)) => Ok(()),
        _ => Err(ApiError::invalid_member(
            pointer,
            format!(
                "The {} `{}` is not `{flag}`; only a {flag} one can be named in `{}`.",
                target.name,
                related.id(),
                relationship.name
            ),
        )),
    }
}

fn inverse_relationship(relationship: &Relationship) -> &'static str {
    match relationship.cardinality {
        Cardinality::ToMany { inverse } => inverse,
        Cardinality::ToOne { .. } => relationship.name,
    }
}

fn missing(target: &ResourceType, named: &Named) -> ApiError {
    ApiError::NotFound {
        detail: format!("No {} with id `{}`.", target.name, named.id),
        pointer: Some(named.pointer.clone()),
    }
}

/// The named resources, distinct, in one statement; 404 for the first that is not there.
fn load_named(
    conn: &mut Db,
    target: &ResourceType,
    tenant: &Tenant,
    named: &[Named],
) -> Result<Vec<Box<dyn Record>>, ApiError> {
    let mut ids: Vec<String> = Vec::with_capacity(named.len());
    for one in named {
        match canonical_id(&one.id) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => return Err(missing(target, one)),
        }
    }
    let records = graph::load_many(conn, target, tenant, &ids)?;
    if let Some(absent) = named.iter().find(|one| {
        let id = canonical_id(&one.id).unwrap_or_default();
        !records.iter().any(|record| record.id() == id)
    }) {
        return Err(missing(target, absent));
    }
    Ok(records)
}

/// The pointer of the first identifier, in request order, whose resource meets `test`.
fn first_named(
    named: &[Named],
    members: &[Box<dyn Record>],
    test: impl Fn(&dyn Record) -> bool,
) -> Option<String> {
    named.iter().find_map(|one| {
        let id = canonical_id(&one.id)?;
        let member = members.iter().find(|member| member.id() == id)?;
        test(member.as_ref()).then(|| one.pointer.clone())
    })
}
