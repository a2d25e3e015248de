//! Loading resources and what `include` asks for, and rendering them as documents.
//!
//! Side-loading is batched: each node of the include tree costs exactly one statement
//! (`… WHERE key IN (…)`), whatever the number of resources on the page. Every resource is kept
//! once per (type, id), which gives compound documents without duplicates.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::document::{
    Link, Linkage, Links, Relationship as RelationshipObject, ResourceIdentifier, ResourceObject,
};
use super::query::{IncludeTree, Query};
use super::resource::{Cardinality, Registry, ResourceType, Tenant};
use crate::jsonapi::error::ApiError;
use crate::store::{Condition, Db, Direction, Expr, Row, Select, SqlValue};

/// One stored resource as read: `id`, attributes and foreign keys by column name.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub row: Row,
}

impl Record {
    pub fn from_row(row: Row) -> Result<Self, ApiError> {
        match row.get("id") {
            Some(Value::String(id)) => Ok(Record {
                id: id.clone(),
                row,
            }),
            _ => Err(ApiError::Internal("stored row without an id".into())),
        }
    }

    pub fn text(&self, column: &str) -> Option<&str> {
        self.row.get(column).and_then(Value::as_str)
    }
}

/// Reads the resources of one type whose `column` is among `values`, only ever those `tenant`
/// may see. Rows come grouped by `column`, then in the type's order: ordering by the key first
/// lets its index serve both the lookup and the order (without it SQLite may walk a tenant-wide
/// index to avoid a sort).
pub fn load_by(
    conn: &mut Db,
    resource: &ResourceType,
    tenant: &Tenant,
    column: &'static str,
    values: Vec<SqlValue>,
    limit: Option<i64>,
) -> Result<Vec<Record>, ApiError> {
    let columns = resource.columns();
    let select = resource.order().into_iter().fold(
        Select::from(resource.table, &columns)
            .filter(Condition::In(column, values))
            .filters(resource.tenant_condition(tenant))
            .order_by(Expr::Column(column), Direction::Ascending),
        |select, (column, direction)| select.order_by(Expr::Column(column), direction),
    );
    let rows = match limit {
        Some(limit) => select.limit(limit),
        None => select,
    }
    .load(conn)?;
    rows.into_iter().map(Record::from_row).collect()
}

/// Resource ids are UUIDs. Anything else names no resource, and is answered without a query
/// (PostgreSQL would refuse some such strings, NUL bytes for one). Case is normalised.
pub fn canonical_id(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id)
        .ok()
        .map(|uuid| uuid.hyphenated().to_string())
}

pub fn load_one(
    conn: &mut Db,
    resource: &ResourceType,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<Record>, ApiError> {
    let Some(id) = canonical_id(id) else {
        return Ok(None);
    };
    let mut records = load_by(
        conn,
        resource,
        tenant,
        "id",
        vec![SqlValue::text(id)],
        Some(1),
    )?;
    Ok(records.pop())
}

pub fn not_found(resource: &ResourceType, id: &str) -> ApiError {
    ApiError::not_found(format!("No {} with id `{id}`.", resource.name))
}

struct Node {
    resource: &'static ResourceType,
    record: Record,
    /// To-many linkage, present only where it was loaded (included or asked for).
    to_many: Vec<(&'static str, Vec<String>)>,
}

/// The resources of one response, primary and included, each once.
pub struct Graph<'r> {
    registry: &'r Registry,
    tenant: &'r Tenant,
    nodes: Vec<Node>,
    index: HashMap<(&'static str, String), usize>,
    primary: Vec<usize>,
}

impl<'r> Graph<'r> {
    pub fn new(registry: &'r Registry, tenant: &'r Tenant) -> Self {
        Graph {
            registry,
            tenant,
            nodes: Vec::new(),
            index: HashMap::new(),
            primary: Vec::new(),
        }
    }

    fn insert(&mut self, resource: &'static ResourceType, record: Record) -> usize {
        let key = (resource.name, record.id.clone());
        if let Some(&existing) = self.index.get(&key) {
            return existing;
        }
        self.nodes.push(Node {
            resource,
            record,
            to_many: Vec::new(),
        });
        self.index.insert(key, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    pub fn add_primary(&mut self, resource: &'static ResourceType, records: Vec<Record>) {
        for record in records {
            let node = self.insert(resource, record);
            self.primary.push(node);
        }
    }

    /// Loads every path of `tree` below the primary resources.
    pub fn include(&mut self, conn: &mut Db, tree: &IncludeTree) -> Result<(), ApiError> {
        let start = self.primary.clone();
        self.include_below(conn, &start, tree)
    }

    fn include_below(
        &mut self,
        conn: &mut Db,
        parents: &[usize],
        tree: &IncludeTree,
    ) -> Result<(), ApiError> {
        for (relationship, subtree) in &tree.children {
            let target = self.registry.target(relationship)?;
            let children = match relationship.cardinality {
                Cardinality::ToOne { column, .. } => {
                    let ids: BTreeSet<String> = parents
                        .iter()
                        .filter_map(|&parent| self.nodes[parent].record.text(column))
                        .map(str::to_string)
                        .collect();
                    self.load_into(conn, target, "id", ids)?
                }
                Cardinality::ToMany { .. } => {
                    let column = self.registry.inverse_column(relationship)?;
                    let ids: BTreeSet<String> = parents
                        .iter()
                        .map(|&parent| self.nodes[parent].record.id.clone())
                        .collect();
                    let loaded = self.load_into(conn, target, column, ids)?;
                    self.link_to_many(parents, relationship.name, column, &loaded);
                    loaded
                }
            };
            if !subtree.is_empty() && !children.is_empty() {
                self.include_below(conn, &children, subtree)?;
            }
        }
        Ok(())
    }

    /// One statement: the resources of `target` whose `column` is among `ids`, added to the
    /// graph; returns their nodes in load order.
    fn load_into(
        &mut self,
        conn: &mut Db,
        target: &'static ResourceType,
        column: &'static str,
        ids: BTreeSet<String>,
    ) -> Result<Vec<usize>, ApiError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let values = ids.into_iter().map(SqlValue::text).collect();
        let records = load_by(conn, target, self.tenant, column, values, None)?;
        Ok(records
            .into_iter()
            .map(|record| self.insert(target, record))
            .collect())
    }

    fn link_to_many(
        &mut self,
        parents: &[usize],
        name: &'static str,
        column: &str,
        children: &[usize],
    ) {
        let mut linkage: HashMap<String, Vec<String>> = HashMap::new();
        for &child in children {
            let record = &self.nodes[child].record;
            if let Some(parent_id) = record.text(column) {
                linkage
                    .entry(parent_id.to_string())
                    .or_default()
                    .push(record.id.clone());
            }
        }
        for &parent in parents {
            let ids = linkage
                .get(self.nodes[parent].record.id.as_str())
                .cloned()
                .unwrap_or_default();
            let node = &mut self.nodes[parent];
            node.to_many.retain(|(existing, _)| *existing != name);
            node.to_many.push((name, ids));
        }
    }

    /// Gives to-many linkage to the primary resources (the relationship endpoint's data).
    pub fn primary_linkage(&self, name: &str) -> Option<Vec<String>> {
        let node = &self.nodes[*self.primary.first()?];
        node.to_many
            .iter()
            .find(|(existing, _)| *existing == name)
            .map(|(_, ids)| ids.clone())
    }

    pub fn render_primary(&self, query: &Query) -> Vec<ResourceObject> {
        self.primary
            .iter()
            .map(|&node| self.render(node, query))
            .collect()
    }

    /// Every loaded resource that is not primary data, in the order first reached.
    pub fn render_included(&self, query: &Query) -> Vec<ResourceObject> {
        let primary: BTreeSet<usize> = self.primary.iter().copied().collect();
        (0..self.nodes.len())
            .filter(|node| !primary.contains(node))
            .map(|node| self.render(node, query))
            .collect()
    }

    fn render(&self, index: usize, query: &Query) -> ResourceObject {
        let node = &self.nodes[index];
        render_record(node.resource, &node.record, &node.to_many, query)
    }
}

/// A resource object with its links, filtered by `fields[TYPE]`.
pub fn render_record(
    resource: &ResourceType,
    record: &Record,
    to_many: &[(&'static str, Vec<String>)],
    query: &Query,
) -> ResourceObject {
    let self_url = resource.resource_url(&record.id);
    let mut attributes = Map::new();
    for attribute in resource.attributes {
        if query.shows(resource, attribute.name) {
            let value = record
                .row
                .get(attribute.name)
                .cloned()
                .unwrap_or(Value::Null);
            attributes.insert(attribute.name.to_string(), value);
        }
    }
    let mut relationships = Map::new();
    for relationship in resource.relationships {
        if !query.shows(resource, relationship.name) {
            continue;
        }
        let data = match relationship.cardinality {
            Cardinality::ToOne { column, .. } => Some(Linkage::ToOne(
                record
                    .text(column)
                    .map(|id| ResourceIdentifier::new(relationship.target, id)),
            )),
            Cardinality::ToMany { .. } => to_many
                .iter()
                .find(|(name, _)| *name == relationship.name)
                .map(|(_, ids)| {
                    Linkage::ToMany(
                        ids.iter()
                            .map(|id| ResourceIdentifier::new(relationship.target, id))
                            .collect(),
                    )
                }),
        };
        let object = RelationshipObject {
            links: Some(relationship_links(&self_url, relationship.name)),
            data,
            meta: None,
        };
        if let Ok(value) = serde_json::to_value(object) {
            relationships.insert(relationship.name.to_string(), value);
        }
    }
    ResourceObject {
        resource_type: resource.name.to_string(),
        id: Some(record.id.clone()),
        lid: None,
        attributes: (!attributes.is_empty()).then_some(attributes),
        relationships: (!relationships.is_empty()).then_some(relationships),
        links: Some(Links::to_self(self_url)),
        meta: None,
    }
}

pub fn relationship_links(resource_url: &str, name: &str) -> Links {
    Links {
        self_link: Some(Link::Url(format!("{resource_url}/relationships/{name}"))),
        related: Some(Link::Url(format!("{resource_url}/{name}"))),
        ..Links::default()
    }
}
