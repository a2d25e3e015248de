//! Loading resources and what `include` asks for, and rendering them as documents.
//!
//! Side-loading is batched: each node of the include tree costs exactly one statement
//! (`… WHERE key IN (…)`), whatever the number of resources on the page. Every resource is kept
//! once per (type, id), which gives compound documents without duplicates.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::error::ApiError;
use super::query::{IncludeTree, Query, INCLUDED_PER_PARENT};
use super::render::Writer;
use super::resource::{Cardinality, Record, Registry, ResourceType, Tenant};
use crate::store::{Condition, Db, Direction, Expr, Selection, SqlValue, StoreError, ROW_OVERHEAD};

/// Reads the resources of one type whose `column` is among `values`, only ever those `tenant`
/// may see. Rows come grouped by `column`, then in the type's order: ordering by the key first
/// lets its index serve both the lookup and the order (without it SQLite may walk a tenant-wide
/// index to avoid a sort).
fn selection_by(
    resource: &ResourceType,
    tenant: &Tenant,
    column: &'static str,
    values: Vec<SqlValue>,
) -> Selection {
    let mut selection = Selection::default()
        .filter(Condition::In(column, values))
        .filters(resource.visible(tenant));
    selection = selection.order_by(Expr::Column(column), Direction::Ascending);
    for (column, direction) in resource.order() {
        selection = selection.order_by(Expr::Column(column), direction);
    }
    selection
}

/// Resource ids are UUIDs in the one form they are served in: 36 characters, lowercase hex
/// digits, hyphens at 8, 13, 18 and 23. Uppercase, braced, 32-digit and `urn:uuid:` spellings of
/// the same UUID name nothing (a resource has one URL, RFC 3986 §6.2.2.1 leaves path case
/// significant). Anything else is answered without a query (PostgreSQL would refuse some such
/// strings, NUL bytes for one).
pub fn canonical_id(id: &str) -> Option<String> {
    let bytes = id.as_bytes();
    let canonical = bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_digit() || (b'a'..=b'f').contains(byte),
        });
    canonical.then(|| id.to_string())
}

pub fn load_one(
    conn: &mut Db,
    resource: &ResourceType,
    tenant: &Tenant,
    id: &str,
) -> Result<Option<Box<dyn Record>>, ApiError> {
    let Some(id) = canonical_id(id) else {
        return Ok(None);
    };
    let selection = selection_by(resource, tenant, "id", vec![SqlValue::text(id)]).limit(1);
    let mut records = (resource.storage.load)(conn, &selection)?;
    Ok(records.pop())
}

/// The resources of `resource` with the given canonical ids that `tenant` may see, in one
/// statement.
pub fn load_many(
    conn: &mut Db,
    resource: &ResourceType,
    tenant: &Tenant,
    ids: &[String],
) -> Result<Vec<Box<dyn Record>>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let values = ids.iter().map(|id| SqlValue::text(id.as_str())).collect();
    let selection = selection_by(resource, tenant, "id", values);
    Ok((resource.storage.load)(conn, &selection)?)
}

/// What rows weigh in a document (see [`crate::store::Stored::weight`]).
pub fn weight(records: &[Box<dyn Record>]) -> usize {
    records
        .iter()
        .map(|record| ROW_OVERHEAD + record.weight())
        .sum()
}

pub fn not_found(resource: &ResourceType, id: &str) -> ApiError {
    ApiError::not_found(format!("No {} with id `{id}`.", resource.name))
}

struct Node {
    resource: &'static ResourceType,
    record: Box<dyn Record>,
    /// To-many linkage (child nodes), present only where it was loaded.
    to_many: Vec<LoadedToMany>,
}

/// The children of one to-many relationship that an include brought: at most
/// [`INCLUDED_PER_PARENT`], and whether the relationship holds more.
struct LoadedToMany {
    name: &'static str,
    children: Vec<usize>,
    more: bool,
}

/// The ids of a to-many relationship to render as its linkage.
pub struct ToManyLinkage<'g> {
    pub name: &'static str,
    pub ids: Vec<&'g str>,
    /// Only the first [`INCLUDED_PER_PARENT`] are given; `links.next` pages through the rest.
    pub more: bool,
}

/// Hashes the (type, id) keys of a graph: ids are UUIDs, so a multiply-and-fold of their bytes
/// spreads them well, far cheaper than SipHash for keys no client chooses the hash of.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The resources of one response, primary and included, each once.
pub struct Graph<'r> {
    registry: &'r Registry,
    tenant: &'r Tenant,
    nodes: Vec<Node>,
    index: HashMap<(&'static str, String), usize, BuildHasherDefault<KeyHasher>>,
    primary: Vec<usize>,
    /// What the loaded rows may still weigh: the response budget less what is loaded.
    remaining_bytes: usize,
    max_bytes: usize,
}

impl<'r> Graph<'r> {
    /// An empty graph whose resources may weigh `max_bytes` in all.
    pub fn new(registry: &'r Registry, tenant: &'r Tenant, max_bytes: usize) -> Self {
        Graph {
            registry,
            tenant,
            nodes: Vec::new(),
            index: HashMap::default(),
            primary: Vec::new(),
            remaining_bytes: max_bytes,
            max_bytes,
        }
    }

    /// Counts loaded rows against the budget.
    fn spend(&mut self, records: &[Box<dyn Record>]) -> Result<(), ApiError> {
        self.remaining_bytes = self.remaining_bytes.checked_sub(weight(records)).ok_or(
            ApiError::ResponseTooLarge {
                max: self.max_bytes,
            },
        )?;
        Ok(())
    }

    /// Loads `selection` of `target` within what the budget has left.
    fn load(
        &mut self,
        conn: &mut Db,
        target: &'static ResourceType,
        selection: Selection,
    ) -> Result<Vec<Box<dyn Record>>, ApiError> {
        let selection = selection.max_bytes(Some(self.remaining_bytes));
        match (target.storage.load)(conn, &selection) {
            Ok(records) => {
                self.spend(&records)?;
                Ok(records)
            }
            Err(StoreError::OverBudget(_)) => Err(ApiError::ResponseTooLarge {
                max: self.max_bytes,
            }),
            Err(error) => Err(error.into()),
        }
    }

    fn insert(&mut self, resource: &'static ResourceType, record: Box<dyn Record>) -> usize {
        let key = (resource.name, record.id().to_string());
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

    pub fn add_primary(&mut self, resource: &'static ResourceType, records: Vec<Box<dyn Record>>) {
        // Already checked by the listing (or a single row).
        self.remaining_bytes = self.remaining_bytes.saturating_sub(weight(&records));
        for record in records {
            let node = self.insert(resource, record);
            self.primary.push(node);
        }
    }

    /// The primary resources' records, in order.
    pub fn primary(&self) -> impl Iterator<Item = &dyn Record> {
        self.primary
            .iter()
            .map(|&node| self.nodes[node].record.as_ref())
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
                    let ids: BTreeSet<&str> = parents
                        .iter()
                        .filter_map(|&parent| self.nodes[parent].record.text(column))
                        .collect();
                    let values = ids.into_iter().map(SqlValue::text).collect();
                    self.load_into(conn, target, "id", values)?
                }
                Cardinality::ToMany { .. } => {
                    let column = self.registry.inverse_column(relationship)?;
                    let ids: BTreeSet<&str> = parents
                        .iter()
                        .map(|&parent| self.nodes[parent].record.id())
                        .collect();
                    let values = ids.into_iter().map(SqlValue::text).collect();
                    let (loaded, more) = self.load_children(conn, target, column, values)?;
                    self.link_to_many(parents, relationship.name, column, &loaded, &more);
                    loaded
                }
            };
            if !subtree.is_empty() && !children.is_empty() {
                self.include_below(conn, &children, subtree)?;
            }
        }
        Ok(())
    }

    /// One statement: the resources of `target` whose `column` is among `values`, added to the
    /// graph; returns their nodes in load order.
    fn load_into(
        &mut self,
        conn: &mut Db,
        target: &'static ResourceType,
        column: &'static str,
        values: Vec<SqlValue>,
    ) -> Result<Vec<usize>, ApiError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let records = self.load(
            conn,
            target,
            selection_by(target, self.tenant, column, values),
        )?;
        Ok(records
            .into_iter()
            .map(|record| self.insert(target, record))
            .collect())
    }

    /// One statement: the children of `parents` (ids, as values of `column`), at most
    /// [`INCLUDED_PER_PARENT`] each, added to the graph. Returns their nodes in load order and
    /// the parents that have more.
    fn load_children(
        &mut self,
        conn: &mut Db,
        target: &'static ResourceType,
        column: &'static str,
        parents: Vec<SqlValue>,
    ) -> Result<(Vec<usize>, BTreeSet<String>), ApiError> {
        let mut more = BTreeSet::new();
        if parents.is_empty() {
            return Ok((Vec::new(), more));
        }
        // One beyond the bound tells whether a parent has more.
        let fetch = INCLUDED_PER_PARENT + 1;
        let tenant: Vec<Condition> = target.visible(self.tenant);
        let mut selection = Selection::default();
        if parents.len() == 1 {
            selection = selection
                .filters(tenant)
                .filter(Condition::In(column, parents))
                .limit(fetch);
        } else {
            // The tenant is the window's scope: only its rows are ranked, so only its rows are
            // kept (and the planner is left with the one index that serves the order).
            selection = selection
                .filter(Condition::In(column, parents.clone()))
                .filter(Condition::FirstPerGroup {
                    group: column,
                    values: parents,
                    scope: tenant,
                    order: target.order(),
                    limit: fetch,
                    // The database stops at the budget too, so that no backend reads (or
                    // PostgreSQL's client library buffers) rows that could never be sent.
                    budget: Some((
                        target.weighty_columns(),
                        i64::try_from(self.remaining_bytes).unwrap_or(i64::MAX),
                    )),
                });
        }
        selection = selection.order_by(Expr::Column(column), Direction::Ascending);
        for (column, direction) in target.order() {
            selection = selection.order_by(Expr::Column(column), direction);
        }
        let records = self.load(conn, target, selection)?;
        let mut nodes = Vec::with_capacity(records.len());
        let mut current: Option<(String, i64)> = None;
        for record in records {
            let parent = record.text(column).unwrap_or_default();
            match &mut current {
                Some((id, count)) if id == parent => *count += 1,
                _ => current = Some((parent.to_string(), 1)),
            }
            if let Some((id, count)) = &current {
                if *count > INCLUDED_PER_PARENT {
                    more.insert(id.clone());
                    continue;
                }
            }
            nodes.push(self.insert(target, record));
        }
        Ok((nodes, more))
    }

    fn link_to_many(
        &mut self,
        parents: &[usize],
        name: &'static str,
        column: &str,
        children: &[usize],
        more: &BTreeSet<String>,
    ) {
        let mut linkage: HashMap<&str, Vec<usize>, BuildHasherDefault<KeyHasher>> =
            HashMap::default();
        for &child in children {
            if let Some(parent_id) = self.nodes[child].record.text(column) {
                linkage.entry(parent_id).or_default().push(child);
            }
        }
        let linked: Vec<(usize, LoadedToMany)> = parents
            .iter()
            .map(|&parent| {
                let id = self.nodes[parent].record.id();
                let loaded = LoadedToMany {
                    name,
                    children: linkage.get(id).cloned().unwrap_or_default(),
                    more: more.contains(id),
                };
                (parent, loaded)
            })
            .collect();
        for (parent, loaded) in linked {
            let node = &mut self.nodes[parent];
            node.to_many.retain(|existing| existing.name != name);
            node.to_many.push(loaded);
        }
    }

    fn ids(&self, nodes: &[usize]) -> Vec<&str> {
        nodes
            .iter()
            .map(|&node| self.nodes[node].record.id())
            .collect()
    }

    fn render(&self, out: &mut Writer, index: usize, query: &Query) {
        let node = &self.nodes[index];
        let to_many: Vec<ToManyLinkage<'_>> = node
            .to_many
            .iter()
            .map(|loaded| ToManyLinkage {
                name: loaded.name,
                ids: self.ids(&loaded.children),
                more: loaded.more,
            })
            .collect();
        out.resource(node.resource, node.record.as_ref(), &to_many, query);
    }

    /// The primary data: one resource (or `null`), or an array of them.
    pub fn render_primary(&self, out: &mut Writer, query: &Query, single: bool) {
        if single {
            match self.primary.first() {
                Some(&node) => self.render(out, node, query),
                None => {
                    out.raw("null");
                }
            }
            return;
        }
        out.byte(b'[');
        for (position, &node) in self.primary.iter().enumerate() {
            if position > 0 {
                out.byte(b',');
            }
            self.render(out, node, query);
        }
        out.byte(b']');
    }

    /// `"included":[…]`: every loaded resource that is not primary data, in the order first
    /// reached.
    pub fn render_included(&self, out: &mut Writer, query: &Query) {
        let primary: BTreeSet<usize> = self.primary.iter().copied().collect();
        out.raw(",\"included\":[");
        let mut first = true;
        for node in (0..self.nodes.len()).filter(|node| !primary.contains(node)) {
            if !first {
                out.byte(b',');
            }
            first = false;
            self.render(out, node, query);
        }
        out.byte(b']');
    }

    /// How many resources the graph holds (for sizing the output buffer).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
