//! The generic operations behind every endpoint of every type. Each takes a connection and
//! already-validated input, and returns a document or an error; HTTP is the caller's concern.
//! Every statement is confined to the context's tenant.

use chrono::Utc;
use serde_json::{Map, Value};

use super::document::{
    DataDocument, JsonApiObject, Link, Linkage, Links, PrimaryData, ResourceIdentifier,
};
use super::graph::{self, not_found, relationship_links, Graph, Record};
use super::input::{Changes, ToOneChange};
use super::listing::{self, Listing, CURSOR_PROFILE};
use super::query::{IncludeTree, Query};
use super::resource::{
    Cardinality, Default, NewRow, Registry, Relationship, ResourceType, ServerValue, Tenant,
    ToOneWrite, Write,
};
use crate::jsonapi::error::ApiError;
use crate::store::{self, truncate_to_micros, Condition, Db, SqlValue};

/// What every operation needs besides its own input.
pub struct Context<'a> {
    pub registry: &'static Registry,
    pub tenant: &'a Tenant,
    pub query: &'a Query,
    /// The request's path, for pagination links.
    pub path: String,
    /// The top-level `self` link: the request's path and canonical query.
    pub self_link: String,
}

impl Context<'_> {
    fn graph(&self) -> Graph<'_> {
        Graph::new(self.registry, self.tenant)
    }

    fn document(&self, graph: &Graph<'_>, data: PrimaryData) -> DataDocument {
        let included = graph.render_included(self.query);
        DataDocument {
            jsonapi: JsonApiObject::default(),
            links: Some(Links::to_self(self.self_link.clone())),
            data,
            // Only compound documents carry `included`, and only when asked for.
            included: (!self.query.include.is_empty()).then_some(included),
            meta: None,
        }
    }

    fn single(
        &self,
        conn: &mut Db,
        resource: &'static ResourceType,
        record: Option<Record>,
    ) -> Result<DataDocument, ApiError> {
        let mut graph = self.graph();
        if let Some(record) = record {
            graph.add_primary(resource, vec![record]);
            graph.include(conn, &self.query.include)?;
        }
        let data = graph.render_primary(self.query).pop().map(Box::new);
        Ok(self.document(&graph, PrimaryData::Single(data)))
    }

    fn collection(
        &self,
        conn: &mut Db,
        resource: &'static ResourceType,
        listing: Listing,
    ) -> Result<DataDocument, ApiError> {
        let mut graph = self.graph();
        graph.add_primary(resource, listing.records);
        graph.include(conn, &self.query.include)?;
        let data = graph.render_primary(self.query);
        let mut document = self.document(&graph, PrimaryData::Collection(data));
        let links = Links {
            self_link: Some(Link::Url(self.self_link.clone())),
            ..listing.links
        };
        document.links = Some(links);
        if let Some(total) = listing.total {
            let mut page = Map::new();
            page.insert("total".into(), total.into());
            let mut meta = Map::new();
            meta.insert("page".into(), Value::Object(page));
            document.meta = Some(meta);
        }
        if listing.cursor_profile {
            document.jsonapi.profile = vec![CURSOR_PROFILE.to_string()];
        }
        Ok(document)
    }

    fn find(
        &self,
        conn: &mut Db,
        resource: &'static ResourceType,
        id: &str,
    ) -> Result<Record, ApiError> {
        graph::load_one(conn, resource, self.tenant, id)?.ok_or_else(|| not_found(resource, id))
    }
}

/// `GET /api/{type}`
pub fn fetch_collection(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
) -> Result<DataDocument, ApiError> {
    let listing = listing::list(
        conn,
        context.registry,
        resource,
        context.tenant,
        Vec::new(),
        context.query,
        &context.path,
    )?;
    context.collection(conn, resource, listing)
}

/// `GET /api/{type}/{id}`
pub fn fetch_resource(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
) -> Result<DataDocument, ApiError> {
    let record = context.find(conn, resource, id)?;
    context.single(conn, resource, Some(record))
}

/// `GET /api/{type}/{id}/{relationship}`: the related resource(s), as primary data.
pub fn fetch_related(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
    relationship: &'static Relationship,
) -> Result<DataDocument, ApiError> {
    let parent = context.find(conn, resource, id)?;
    let target = context.registry.target(relationship)?;
    match relationship.cardinality {
        Cardinality::ToOne { column, .. } => {
            let related = match parent.text(column) {
                Some(related_id) => graph::load_one(conn, target, context.tenant, related_id)?,
                None => None,
            };
            context.single(conn, target, related)
        }
        Cardinality::ToMany { .. } => {
            let column = context.registry.inverse_column(relationship)?;
            let scope = vec![Condition::Equals(column, SqlValue::text(parent.id))];
            let listing = listing::list(
                conn,
                context.registry,
                target,
                context.tenant,
                scope,
                context.query,
                &context.path,
            )?;
            context.collection(conn, target, listing)
        }
    }
}

/// `GET /api/{type}/{id}/relationships/{relationship}`: resource linkage.
pub fn fetch_relationship(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
    relationship: &'static Relationship,
) -> Result<DataDocument, ApiError> {
    let parent = context.find(conn, resource, id)?;
    let linkage = match relationship.cardinality {
        Cardinality::ToOne { column, .. } => Linkage::ToOne(
            parent
                .text(column)
                .map(|related| ResourceIdentifier::new(relationship.target, related)),
        ),
        Cardinality::ToMany { .. } => {
            let mut graph = context.graph();
            graph.add_primary(resource, vec![parent.clone()]);
            let tree = IncludeTree {
                children: vec![(relationship, IncludeTree::default())],
            };
            graph.include(conn, &tree)?;
            let ids = graph.primary_linkage(relationship.name).unwrap_or_default();
            Linkage::ToMany(
                ids.iter()
                    .map(|related| ResourceIdentifier::new(relationship.target, related))
                    .collect(),
            )
        }
    };
    let mut links = relationship_links(&resource.resource_url(&parent.id), relationship.name);
    links.self_link = Some(Link::Url(context.self_link.clone()));
    Ok(DataDocument {
        jsonapi: JsonApiObject::default(),
        links: Some(links),
        data: PrimaryData::Linkage(linkage),
        included: None,
        meta: None,
    })
}

/// `POST /api/{type}`: creates the resource in one transaction and answers its document.
pub fn create(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    mut changes: Changes,
) -> Result<(String, DataDocument), ApiError> {
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    assign_tenant(resource, context.tenant, &mut changes)?;
    let record = store::transaction(conn, |conn| {
        check_related_exist(conn, context, &mut changes)?;
        let mut row = new_row(resource, &id, changes);
        if let Some(before_insert) = resource.before_insert {
            before_insert(conn, &mut row)?;
        }
        store::insert(conn, resource.table, row.into_values())?;
        context.find(conn, resource, &id)
    })?;
    let mut document = context.single(conn, resource, Some(record))?;
    document.links = Some(Links::to_self(resource.resource_url(&id)));
    Ok((resource.resource_url(&id), document))
}

/// `PATCH /api/{type}/{id}`: changes only the members sent.
pub fn update(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
    changes: Changes,
) -> Result<DataDocument, ApiError> {
    let record = store::transaction(conn, |conn| {
        let existing = context.find(conn, resource, id)?;
        let mut values: Vec<(&'static str, SqlValue)> = changes
            .attributes
            .into_iter()
            .map(|(attribute, value)| (attribute.name, value))
            .collect();
        if !values.is_empty() {
            for attribute in resource.attributes {
                if let Write::ReadOnly(ServerValue::UpdatedAt) = attribute.write {
                    values.push((attribute.name, now()));
                }
            }
            let mut conditions = vec![Condition::Equals("id", SqlValue::text(&existing.id))];
            conditions.extend(resource.tenant_condition(context.tenant));
            store::update(conn, resource.table, conditions, values)?;
        }
        context.find(conn, resource, &existing.id)
    })?;
    context.single(conn, resource, Some(record))
}

/// `DELETE /api/{type}/{id}`: what the resource owns goes with it (foreign keys cascade).
pub fn delete(
    conn: &mut Db,
    resource: &'static ResourceType,
    tenant: &Tenant,
    id: &str,
) -> Result<(), ApiError> {
    let Some(canonical) = graph::canonical_id(id) else {
        return Err(not_found(resource, id));
    };
    let mut conditions = vec![Condition::Equals("id", SqlValue::text(canonical))];
    conditions.extend(resource.tenant_condition(tenant));
    match store::delete(conn, resource.table, conditions)? {
        0 => Err(not_found(resource, id)),
        _ => Ok(()),
    }
}

fn now() -> SqlValue {
    SqlValue::Timestamp(Some(truncate_to_micros(Utc::now().naive_utc())))
}

/// A resource owned by an organisation lands in the caller's own when the document names none.
fn assign_tenant(
    resource: &'static ResourceType,
    tenant: &Tenant,
    changes: &mut Changes,
) -> Result<(), ApiError> {
    for relationship in resource.relationships {
        let Cardinality::ToOne {
            column,
            write: ToOneWrite::Tenant,
        } = relationship.cardinality
        else {
            continue;
        };
        if changes
            .to_one
            .iter()
            .any(|change| change.relationship.name == relationship.name)
        {
            continue;
        }
        let Some(organisation) = tenant.organisation() else {
            return Err(ApiError::invalid_member(
                "/data",
                format!("The relationship `{}` is required.", relationship.name),
            ));
        };
        changes.to_one.push(ToOneChange {
            relationship,
            column,
            id: Some(organisation.to_string()),
            pointer: "/data".into(),
        });
    }
    Ok(())
}

/// create-responses-404-related: every named related resource must exist and be the tenant's;
/// another organisation's resource is as absent as one that never existed.
fn check_related_exist(
    conn: &mut Db,
    context: &Context<'_>,
    changes: &mut Changes,
) -> Result<(), ApiError> {
    for change in &mut changes.to_one {
        let Some(related_id) = &mut change.id else {
            continue;
        };
        let target = context.registry.target(change.relationship)?;
        match graph::load_one(conn, target, context.tenant, related_id)? {
            // Keep the id as the related row has it (case-normalised) for the foreign key.
            Some(related) => *related_id = related.id,
            None => {
                return Err(ApiError::NotFound {
                    detail: format!("No {} with id `{related_id}`.", target.name),
                    pointer: Some(change.pointer.clone()),
                })
            }
        }
    }
    Ok(())
}

/// The row to insert: sent values, then defaults and server values for the rest.
fn new_row(resource: &ResourceType, id: &str, changes: Changes) -> NewRow {
    let mut row = NewRow::default();
    row.set("id", SqlValue::text(id));
    let created = now();
    for attribute in resource.attributes {
        let value = match attribute.write {
            Write::Optional(default) | Write::CreateOnly(default) => match default {
                Default::Null => SqlValue::null(attribute.kind.column_kind()),
                Default::Text(text) => SqlValue::text(text),
                Default::EmptyObject => SqlValue::text("{}"),
                Default::Now => created.clone(),
                Default::Hook => continue,
            },
            Write::ReadOnly(ServerValue::CreatedAt | ServerValue::UpdatedAt) => created.clone(),
            Write::Required | Write::ReadOnly(ServerValue::Hook) => continue,
        };
        row.set(attribute.name, value);
    }
    for (attribute, value) in changes.attributes {
        row.set(attribute.name, value);
    }
    for change in changes.to_one {
        row.set(change.column, SqlValue::Text(change.id));
    }
    row
}
