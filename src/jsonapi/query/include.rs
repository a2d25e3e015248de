//! `include` paths and `fields[TYPE]` sets.

use std::collections::BTreeSet;

use super::{IncludeTree, Query, MAX_INCLUDE_DEPTH};
use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{Registry, ResourceType};

pub(super) fn parse_include(
    query: &mut Query,
    value: &str,
    registry: &Registry,
    root: &'static ResourceType,
) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    for path in value.split(',') {
        if let Err(detail) = add_include_path(&mut query.include, path, registry, root) {
            problems.push(ApiError::invalid_query("include", detail));
        }
    }
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn add_include_path(
    tree: &mut IncludeTree,
    path: &str,
    registry: &Registry,
    root: &'static ResourceType,
) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    if path.is_empty() || segments.iter().any(|segment| segment.is_empty()) {
        return Err(format!("`{path}` is not a relationship path."));
    }
    if segments.len() > MAX_INCLUDE_DEPTH {
        return Err(format!(
            "`{path}` is deeper than {MAX_INCLUDE_DEPTH} relationships."
        ));
    }
    let mut resource = root;
    let mut node = tree;
    let nested = segments.len() > 1;
    for segment in segments {
        let relationship = resource.relationship(segment).ok_or_else(|| {
            // A one-segment path is its segment: name it once.
            let within = if nested {
                format!("`{path}`: ")
            } else {
                String::new()
            };
            format!("{within}{} has no relationship `{segment}`.", resource.name)
        })?;
        resource = registry
            .target(relationship)
            .map_err(|_| format!("`{path}` cannot be included."))?;
        node = node.child(relationship);
    }
    Ok(())
}

pub(super) fn parse_fields(
    query: &mut Query,
    name: &str,
    type_name: &str,
    value: &str,
    registry: &Registry,
) -> Result<(), ApiError> {
    let Some(resource) = registry.by_name(type_name) else {
        return Err(ApiError::invalid_query(
            name,
            format!("`{type_name}` is not a resource type."),
        ));
    };
    let mut fields = BTreeSet::new();
    let mut problems = Vec::new();
    // An empty value asks for no fields at all, which is allowed.
    for field in value.split(',').filter(|field| !field.is_empty()) {
        if resource.has_field(field) {
            fields.insert(field.to_string());
        } else {
            problems.push(ApiError::invalid_query(
                name,
                format!("{} has no field `{field}`.", resource.name),
            ));
        }
    }
    query.fields.insert(resource.name, fields);
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
