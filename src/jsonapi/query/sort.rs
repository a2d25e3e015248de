//! `sort`, and the field paths (`name`, `relationship.name`) sorts and filters refer to.

use super::{FieldPath, SortKey};
use crate::jsonapi::error::ApiError;
use crate::jsonapi::resource::{Cardinality, Registry, ResourceType};
use crate::store::Direction;

/// `name` or `relationship.name`, for sorting and filtering. `Err` says why not.
pub(super) fn field_path(
    path: &str,
    registry: &Registry,
    root: &'static ResourceType,
) -> Result<FieldPath, String> {
    let segments: Vec<&str> = path.split('.').collect();
    match segments.as_slice() {
        [name] => root
            .attribute(name)
            .map(|attribute| FieldPath {
                attribute,
                via: None,
            })
            .ok_or_else(|| format!("{} has no attribute `{name}`.", root.name)),
        [relationship, name] => {
            let relationship = root
                .relationship(relationship)
                .ok_or_else(|| format!("{} has no relationship `{relationship}`.", root.name))?;
            let Cardinality::ToOne { column, .. } = relationship.cardinality else {
                return Err(format!(
                    "`{}` is to-many; only to-one relationships can be followed here.",
                    relationship.name
                ));
            };
            let target = registry.target(relationship).map_err(|e| e.to_string())?;
            let attribute = target
                .attribute(name)
                .ok_or_else(|| format!("{} has no attribute `{name}`.", target.name))?;
            Ok(FieldPath {
                attribute,
                via: Some((relationship, column)),
            })
        }
        _ => Err(format!("`{path}` is not a field path.")),
    }
}

pub(super) fn parse_sort(
    value: &str,
    registry: &Registry,
    root: &'static ResourceType,
) -> Result<Vec<SortKey>, ApiError> {
    let mut keys: Vec<SortKey> = Vec::new();
    let mut problems = Vec::new();
    for field in value.split(',') {
        let (direction, path) = match field.strip_prefix('-') {
            Some(path) => (Direction::Descending, path),
            None => (Direction::Ascending, field),
        };
        let parsed = field_path(path, registry, root).and_then(|field| {
            if !field.attribute.sortable {
                Err(format!("`{path}` cannot be sorted on."))
            } else if keys
                .iter()
                .any(|key| key.field.expr(registry) == field.expr(registry))
            {
                Err(format!("`{path}` is given twice."))
            } else {
                Ok(field)
            }
        });
        match parsed {
            Ok(field) => keys.push(SortKey { field, direction }),
            // The detail names the key already; echoing it again doubled huge inputs.
            Err(detail) => problems.push(ApiError::invalid_query("sort", detail)),
        }
    }
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok(keys),
    }
}
