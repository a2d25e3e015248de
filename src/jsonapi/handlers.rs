//! The generic operations behind every endpoint of every type. Each takes a connection and
//! already-validated input, and returns a document or an error; HTTP is the caller's concern.
//! Every statement is confined to the context's tenant.

use serde_json::{Map, Value};

use super::conditional;
pub use super::context::Context;
use super::document::{JsonApiObject, Link, Links};
use super::graph::{self, not_found, Graph};
use super::input::{Changes, ToOneChange, Unchangeable};
use super::linkage::{self, LinkageChange};
use super::listing::{self, Listing, CURSOR_PROFILE};
use super::query::Page;
use super::render::Writer;
use super::resource::{
    now_in_micros, Attribute, AttributeKind, Cardinality, InitialValue, NewRow, Record,
    Relationship, ResourceType, ServerValue, Tenant, ToOneWrite, Write,
};
use super::unit_of_work::Tx;
use crate::jsonapi::error::{over_budget_detail, ApiError};
use crate::store::{self, Condition, Db, SqlValue};

/// A rendered document and the profiles it applied (named in its `Content-Type`).
pub struct Rendered {
    pub body: Vec<u8>,
    pub profiles: Vec<String>,
}

impl Context<'_> {
    fn graph(&self) -> Graph<'_> {
        Graph::new(self.registry, self.tenant, self.max_response_bytes)
    }

    /// One page of `resource` within `scope`, within the response budget.
    fn list(
        &self,
        conn: &mut Db,
        resource: &'static ResourceType,
        scope: Vec<Condition>,
    ) -> Result<Listing, ApiError> {
        listing::list(conn, self, resource, scope).map_err(|error| self.over_budget(error))
    }

    /// A load past the response budget is the client's to narrow: 400, naming what to change.
    fn over_budget(&self, error: ApiError) -> ApiError {
        let ApiError::ResponseTooLarge { max } = error else {
            return error;
        };
        let parameter = if !self.query.include.is_empty() {
            "include"
        } else {
            match self.query.page {
                Page::Offset { .. } => "page[limit]",
                Page::Cursor { .. } => "page[size]",
            }
        };
        ApiError::invalid_query(parameter, over_budget_detail(max))
    }

    /// Writes a document whose primary data is the graph's primary resources.
    fn write(
        &self,
        graph: &Graph<'_>,
        jsonapi: &JsonApiObject,
        links: &Links,
        single: bool,
        meta: Option<&Map<String, Value>>,
    ) -> Result<Vec<u8>, ApiError> {
        // About a kilobyte per resource with its links, so one allocation usually suffices.
        let mut out = Writer::with_capacity(1024 + 1088 * graph.len());
        out.open_document(jsonapi, Some(links))?;
        graph.render_primary(&mut out, self.query, single);
        // Only compound documents carry `included`, and only when asked for.
        if !self.query.include.is_empty() {
            graph.render_included(&mut out, self.query);
        }
        out.close_document(meta)?;
        Ok(out.into_bytes())
    }

    fn single(
        &self,
        conn: &mut Db,
        resource: &'static ResourceType,
        record: Option<Box<dyn Record>>,
        self_link: String,
    ) -> Result<Rendered, ApiError> {
        let mut graph = self.graph();
        if let Some(record) = record {
            graph.add_primary(resource, vec![record]);
            graph
                .include(conn, &self.query.include)
                .map_err(|error| self.over_budget(error))?;
        }
        let body = self.write(
            &graph,
            &JsonApiObject::default(),
            &Links::to_self(self_link),
            true,
            None,
        )?;
        Ok(Rendered {
            body,
            profiles: Vec::new(),
        })
    }

    fn collection(
        &self,
        conn: &mut Db,
        resource: &'static ResourceType,
        listing: Listing,
    ) -> Result<Rendered, ApiError> {
        let mut graph = self.graph();
        graph.add_primary(resource, listing.records);
        graph
            .include(conn, &self.query.include)
            .map_err(|error| self.over_budget(error))?;
        let links = Links {
            self_link: Some(Link::Url(self.self_link.clone())),
            ..listing.links
        };
        let meta = page_meta(listing.total);
        let mut jsonapi = JsonApiObject::default();
        if listing.cursor_profile {
            jsonapi.profile = vec![CURSOR_PROFILE.to_string()];
        }
        let body = self.write(&graph, &jsonapi, &links, false, meta.as_ref())?;
        Ok(Rendered {
            body,
            profiles: jsonapi.profile,
        })
    }

    /// The resource a write is about to change, checked against the request's `If-Match`; with
    /// one, the resource stays locked against other writers until the transaction ends.
    fn find_for_write(
        &self,
        conn: &mut Db,
        resource: &'static ResourceType,
        id: &str,
    ) -> Result<Box<dyn Record>, ApiError> {
        if self.if_match.is_some() {
            let key = format!("{}/{}", resource.name, id.to_ascii_lowercase());
            store::lock_for_write(conn, &key)?;
        }
        let record = self.find(conn, resource, id)?;
        conditional::check_if_match(self.if_match.as_deref(), resource, record.as_ref())?;
        Ok(record)
    }

    fn find(
        &self,
        conn: &mut Db,
        resource: &'static ResourceType,
        id: &str,
    ) -> Result<Box<dyn Record>, ApiError> {
        graph::load_one(conn, resource, self.tenant, id)?.ok_or_else(|| not_found(resource, id))
    }
}

/// `meta.page.total`, when the client asked for the count.
fn page_meta(total: Option<i64>) -> Option<Map<String, Value>> {
    total.map(|total| {
        let mut page = Map::new();
        page.insert("total".into(), total.into());
        let mut meta = Map::new();
        meta.insert("page".into(), Value::Object(page));
        meta
    })
}

/// `GET /api/{type}`
pub fn fetch_collection(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
) -> Result<Rendered, ApiError> {
    let listing = context.list(conn, resource, Vec::new())?;
    context.collection(conn, resource, listing)
}

/// `GET /api/{type}/{id}`
pub fn fetch_resource(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
) -> Result<Rendered, ApiError> {
    let record = context.find(conn, resource, id)?;
    context.single(conn, resource, Some(record), context.self_link.clone())
}

/// `GET /api/{type}/{id}/{relationship}`: the related resource(s), as primary data.
pub fn fetch_related(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
    relationship: &'static Relationship,
) -> Result<Rendered, ApiError> {
    let parent = context.find(conn, resource, id)?;
    let target = context.registry.target(relationship)?;
    match relationship.cardinality {
        Cardinality::ToOne { column, .. } => {
            let related = match parent.text(column) {
                Some(related_id) => graph::load_one(conn, target, context.tenant, related_id)?,
                None => None,
            };
            context.single(conn, target, related, context.self_link.clone())
        }
        Cardinality::ToMany { .. } => {
            let column = context.registry.inverse_column(relationship)?;
            let scope = vec![Condition::Equals(column, SqlValue::text(parent.id()))];
            let listing = context.list(conn, target, scope)?;
            context.collection(conn, target, listing)
        }
    }
}

/// `GET /api/{type}/{id}/relationships/{relationship}`: resource linkage; to-many linkage in
/// pages, as a collection is.
pub fn fetch_relationship(
    conn: &mut Db,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
    relationship: &'static Relationship,
) -> Result<Rendered, ApiError> {
    let parent = context.find(conn, resource, id)?;
    let related = format!(
        "{}/{}",
        resource.resource_url(parent.id()),
        relationship.name
    );
    let mut out = Writer::with_capacity(1024);
    let mut profiles = Vec::new();
    match relationship.cardinality {
        Cardinality::ToOne { column, .. } => {
            let links = Links {
                self_link: Some(Link::Url(context.self_link.clone())),
                related: Some(Link::Url(related)),
                ..Links::default()
            };
            out.open_document(&JsonApiObject::default(), Some(&links))?;
            match parent.text(column) {
                Some(related) => out.identifier(relationship.target, related),
                None => out.raw("null"),
            };
            out.close_document(None)?;
        }
        Cardinality::ToMany { .. } => {
            let target = context.registry.target(relationship)?;
            let column = context.registry.inverse_column(relationship)?;
            let scope = vec![Condition::Equals(column, SqlValue::text(parent.id()))];
            let listing = context.list(conn, target, scope)?;
            let links = Links {
                self_link: Some(Link::Url(context.self_link.clone())),
                related: Some(Link::Url(related)),
                ..listing.links
            };
            let mut jsonapi = JsonApiObject::default();
            if listing.cursor_profile {
                jsonapi.profile = vec![CURSOR_PROFILE.to_string()];
            }
            out.open_document(&jsonapi, Some(&links))?;
            out.byte(b'[');
            for (index, record) in listing.records.iter().enumerate() {
                if index > 0 {
                    out.byte(b',');
                }
                out.identifier(target.name, record.id());
            }
            out.byte(b']');
            out.close_document(page_meta(listing.total).as_ref())?;
            profiles = jsonapi.profile;
        }
    }
    Ok(Rendered {
        body: out.into_bytes(),
        profiles,
    })
}

/// `POST /api/{type}`: creates the resource in one transaction and answers its document.
/// Returns the new resource's id and its document.
pub fn create(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    resource: &'static ResourceType,
    changes: Changes,
) -> Result<(Created, Rendered), ApiError> {
    let created = create_record(tx, context, resource, changes)?;
    let id = created.record.id().to_string();
    let queued = created.queued;
    let document = context.single(
        tx,
        resource,
        Some(created.record),
        resource.resource_url(&id),
    )?;
    Ok((Created { id, queued }, document))
}

/// What a create made: the new resource's id, and whether it was queued for processing
/// elsewhere (answered 202 rather than 201).
pub struct Created {
    pub id: String,
    pub queued: bool,
}

/// A resource just created and loaded.
pub struct NewRecord {
    pub record: Box<dyn Record>,
    pub queued: bool,
}

/// Creates a resource within the request's unit of work and loads it.
pub fn create_record(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    resource: &'static ResourceType,
    mut changes: Changes,
) -> Result<NewRecord, ApiError> {
    let client_id = changes.id.take();
    let id = client_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string());
    assign_tenant(resource, context.tenant, &mut changes)?;
    let taken = || ApiError::Duplicate {
        pointer: Some("/data/id".into()),
        detail: format!("A {} with this id already exists.", resource.name),
    };
    // create-responses-409-exists: in any organisation, and without saying whose.
    if client_id.is_some() && graph::load_one(tx, resource, &Tenant::Operator, &id)?.is_some() {
        return Err(taken());
    }
    check_related_exist(tx, context, &mut changes)?;
    let row = new_row(resource, &id, changes);
    let queued = match (resource.storage.create)(tx, row) {
        // A concurrent create with the same id won the race.
        Err(ApiError::Duplicate { pointer: None, .. }) if client_id.is_some() => Err(taken()),
        other => other,
    }?;
    let record = context.find(tx, resource, &id)?;
    Ok(NewRecord { record, queued })
}

/// `PATCH /api/{type}/{id}`: changes only the members sent.
pub fn update(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
    changes: Changes,
) -> Result<Rendered, ApiError> {
    let record = update_record(tx, context, resource, id, changes)?;
    context.single(tx, resource, Some(record), context.self_link.clone())
}

/// Updates a resource within the request's unit of work and loads it. Members clients cannot change are
/// accepted with their stored values and refused (403) with any other.
pub fn update_record(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
    changes: Changes,
) -> Result<Box<dyn Record>, ApiError> {
    let existing = context.find_for_write(tx, resource, id)?;
    let mut problems = Vec::new();
    for sent in &changes.unchangeable {
        if !same_value(sent, existing.value(sent.attribute.name)) {
            problems.push(ApiError::forbidden(
                &sent.pointer,
                unchangeable_reason(sent.attribute),
            ));
        }
    }
    for change in &changes.linkage {
        if let Err(problem) = linkage::write(tx, context, resource, existing.as_ref(), change) {
            problems.push(problem);
        }
    }
    if let Some(error) = ApiError::from_problems(problems) {
        return Err(error);
    }
    let mut values: Vec<(&'static str, SqlValue)> = changes
        .attributes
        .into_iter()
        .map(|(attribute, value)| (attribute.name, value))
        .collect();
    if !values.is_empty() {
        resource.touch(&mut values);
        let mut conditions = vec![Condition::Equals("id", SqlValue::text(existing.id()))];
        conditions.extend(resource.tenant_condition(context.tenant));
        (resource.storage.update)(tx, existing.as_ref(), &conditions, values)?;
    }
    context.find(tx, resource, existing.id())
}

/// Whether a value sent for an unchangeable attribute is the stored one (JSON objects compare
/// as values: member order aside).
fn same_value(sent: &Unchangeable, stored: Option<SqlValue>) -> bool {
    match (&sent.value, stored) {
        (SqlValue::Text(Some(given)), Some(SqlValue::Text(Some(held))))
            if matches!(sent.attribute.kind, AttributeKind::Object) =>
        {
            serde_json::from_str::<Value>(given).ok() == serde_json::from_str::<Value>(&held).ok()
        }
        (given, Some(held)) => *given == held,
        (_, None) => false,
    }
}

fn unchangeable_reason(attribute: &Attribute) -> String {
    let name = attribute.name;
    match attribute.write {
        Write::CreateOnly(_) | Write::Fixed => {
            format!("`{name}` is set when the resource is created and cannot change.")
        }
        _ => format!("`{name}` is read-only: the server sets it."),
    }
}

/// `PATCH`, `POST` or `DELETE` on `/api/{type}/{id}/relationships/{relationship}`.
pub fn write_relationship(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
    change: &LinkageChange,
) -> Result<(), ApiError> {
    let parent = context.find(tx, resource, id)?;
    linkage::write(tx, context, resource, parent.as_ref(), change)
}

/// `DELETE /api/{type}/{id}`: what the resource owns goes with it (foreign keys cascade).
pub fn delete(
    tx: &mut Tx<'_>,
    context: &Context<'_>,
    resource: &'static ResourceType,
    id: &str,
) -> Result<(), ApiError> {
    let Some(canonical) = graph::canonical_id(id) else {
        return Err(not_found(resource, id));
    };
    let mut conditions = vec![Condition::Equals("id", SqlValue::text(canonical))];
    conditions.extend(resource.tenant_condition(context.tenant));
    // The check (`If-Match`), the delete and what the type's hook does with it, in the
    // request's unit of work.
    let existing = context.find_for_write(tx, resource, id)?;
    match (resource.storage.delete)(tx, existing.as_ref(), &conditions)? {
        0 => Err(not_found(resource, id)),
        _ => Ok(()),
    }
}

fn now() -> SqlValue {
    SqlValue::Timestamp(Some(now_in_micros()))
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
            Some(related) => {
                linkage::check_target(
                    change.relationship,
                    target,
                    related.as_ref(),
                    &change.pointer,
                )?;
                *related_id = related.id().to_string();
            }
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
                InitialValue::Null => SqlValue::null(attribute.kind.column_kind()),
                InitialValue::Text(text) => SqlValue::text(text),
                InitialValue::Bool(flag) => SqlValue::Bool(Some(flag)),
                InitialValue::EmptyObject => SqlValue::text("{}"),
                InitialValue::EmptyArray => SqlValue::text("[]"),
                InitialValue::Now => created.clone(),
                InitialValue::Hook => continue,
            },
            Write::ReadOnly(ServerValue::CreatedAt | ServerValue::UpdatedAt) => created.clone(),
            Write::Required | Write::Fixed | Write::ReadOnly(ServerValue::Hook) => continue,
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
