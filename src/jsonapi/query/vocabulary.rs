//! What the query parser accepts on a type, listed: the include paths, sort keys and filters.
//! Each list is found by putting every candidate through the parser's own checks, so a
//! description built from them (the OpenAPI document) says exactly what a request may send.

use super::filter::{filter_target, operators_for};
use super::sort::field_path;
use super::MAX_INCLUDE_DEPTH;
use crate::jsonapi::resource::{AttributeKind, Cardinality, Registry, ResourceType};

/// Every `include` path from `root`, shortest first, at most [`MAX_INCLUDE_DEPTH`] deep.
pub fn include_paths(registry: &Registry, root: &'static ResourceType) -> Vec<String> {
    let mut paths = Vec::new();
    let mut level: Vec<(String, &'static ResourceType)> = vec![(String::new(), root)];
    for _ in 0..MAX_INCLUDE_DEPTH {
        let mut next = Vec::new();
        for (prefix, resource) in &level {
            for relationship in resource.relationships {
                let Ok(target) = registry.target(relationship) else {
                    continue;
                };
                let path = match prefix.as_str() {
                    "" => relationship.name.to_string(),
                    prefix => format!("{prefix}.{}", relationship.name),
                };
                paths.push(path.clone());
                next.push((path, target));
            }
        }
        level = next;
    }
    paths
}

/// The attribute paths a type offers to `filter` or `sort`: its own attributes, and those of
/// the types its to-one relationships reach (`conversation.channel`).
fn field_candidates(registry: &Registry, root: &'static ResourceType) -> Vec<String> {
    let mut candidates: Vec<String> = root
        .attributes
        .iter()
        .map(|attribute| attribute.name.to_string())
        .collect();
    for relationship in root.relationships {
        if let (Cardinality::ToOne { .. }, Ok(target)) =
            (relationship.cardinality, registry.target(relationship))
        {
            candidates.extend(
                target
                    .attributes
                    .iter()
                    .map(|attribute| format!("{}.{}", relationship.name, attribute.name)),
            );
        }
    }
    candidates
}

/// Every key `sort` takes on `root` (each may also be given descending, with `-`).
pub fn sort_keys(registry: &Registry, root: &'static ResourceType) -> Vec<String> {
    field_candidates(registry, root)
        .into_iter()
        .filter(|path| field_path(path, registry, root).is_ok_and(|field| field.attribute.sortable))
        .collect()
}

/// One path `filter[PATH]` takes, with the kind of its values and its operators.
#[derive(Debug)]
pub struct FilterPath {
    pub path: String,
    pub kind: AttributeKind,
    pub operators: &'static [&'static str],
}

/// Every path `filter[…]` takes on `root`: to-one relationships by id, attributes (own and one
/// to-one relationship away) and the members of shaped objects. The keys of a free-form object
/// (`filter[metadata.KEY]`) are any member name and are not listed.
pub fn filter_paths(registry: &Registry, root: &'static ResourceType) -> Vec<FilterPath> {
    let mut candidates: Vec<String> = root
        .relationships
        .iter()
        .map(|relationship| relationship.name.to_string())
        .collect();
    candidates.extend(field_candidates(registry, root));
    for attribute in root.attributes {
        if let AttributeKind::Shaped(members) = attribute.kind {
            candidates.extend(
                members
                    .iter()
                    .map(|member| format!("{}.{}", attribute.name, member.name)),
            );
        }
    }
    candidates
        .into_iter()
        .filter_map(|path| {
            let target = filter_target(&path, registry, root).ok()?;
            Some(FilterPath {
                operators: operators_for(&target),
                kind: target.kind,
                path,
            })
        })
        .collect()
}
