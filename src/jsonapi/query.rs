//! Query parameters: parsed once per request, validated against the resource descriptions, with
//! every problem named by its parameter and reported together.
//!
//! Names are percent-decoded before they are read, so `fields%5BConversation%5D` and
//! `fields[Conversation]` are the same parameter (spec appendix, square brackets), and so are
//! encoded and raw commas in values.

use std::collections::{BTreeMap, BTreeSet};

use super::resource::{Registry, Relationship, ResourceType};
use crate::http::error::ApiError;

/// Include paths deeper than this are refused: each level costs a statement.
pub const MAX_INCLUDE_DEPTH: usize = 3;

/// The relationship paths to side-load, as a tree rooted at the primary type.
#[derive(Debug, Default, Clone)]
pub struct IncludeTree {
    pub children: Vec<(&'static Relationship, IncludeTree)>,
}

impl IncludeTree {
    fn child(&mut self, relationship: &'static Relationship) -> &mut IncludeTree {
        let index = match self
            .children
            .iter()
            .position(|(existing, _)| existing.name == relationship.name)
        {
            Some(index) => index,
            None => {
                self.children.push((relationship, IncludeTree::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[index].1
    }

    pub fn includes(&self, name: &str) -> bool {
        self.children
            .iter()
            .any(|(relationship, _)| relationship.name == name)
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

/// The parsed, validated query of one request.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub include: IncludeTree,
    /// `fields[TYPE]`: the fields to render per type; absent types render every field.
    pub fields: BTreeMap<&'static str, BTreeSet<String>>,
    /// The parameters as received (decoded), for building links.
    pub pairs: Vec<(String, String)>,
}

impl Query {
    pub fn shows(&self, resource: &ResourceType, field: &str) -> bool {
        self.fields
            .get(resource.name)
            .is_none_or(|fields| fields.contains(field))
    }

    /// The parameters re-encoded canonically (brackets and commas percent-encoded).
    pub fn encoded(&self) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.pairs {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    }
}

/// Which parameters an endpoint accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Resource documents: collections, single resources, related resources, create and update.
    Resources,
    /// Relationship linkage (`/relationships/…`), which renders identifiers only.
    Linkage,
    /// Endpoints without a document in the response (delete).
    NoDocument,
}

/// A parameter name split into its family and bracketed parts: `fields[Conversation]` is
/// `("fields", ["Conversation"])`.
fn split_name(name: &str) -> Option<(&str, Vec<&str>)> {
    let (base, mut rest) = match name.find('[') {
        Some(index) => (&name[..index], &name[index..]),
        None => (name, ""),
    };
    let mut parts = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        parts.push(&inner[..close]);
        rest = &inner[close + 1..];
    }
    Some((base, parts))
}

/// A legal member name (spec: member names): globally allowed characters at both ends.
pub fn is_member_name(name: &str) -> bool {
    let globally_allowed = |c: char| c.is_ascii_alphanumeric() || c as u32 >= 0x80;
    let allowed = |c: char| globally_allowed(c) || matches!(c, '-' | '_' | ' ');
    let mut chars = name.chars();
    match (chars.next(), name.chars().last()) {
        (Some(first), Some(last)) => {
            globally_allowed(first) && globally_allowed(last) && name.chars().all(allowed)
        }
        _ => false,
    }
}

/// Parses and validates the raw query string of a request on `root`.
pub fn parse(
    raw: &str,
    registry: &Registry,
    root: &'static ResourceType,
    endpoint: Endpoint,
) -> Result<Query, ApiError> {
    let mut query = Query::default();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        if !seen.insert(name.clone()) {
            problems.push(ApiError::invalid_query(
                &name,
                format!("`{name}` is given more than once; send it once."),
            ));
            continue;
        }
        if let Err(problem) = parse_parameter(&mut query, &name, &value, registry, root, endpoint) {
            problems.push(problem);
        }
        query.pairs.push((name, value));
    }
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok(query),
    }
}

fn parse_parameter(
    query: &mut Query,
    name: &str,
    value: &str,
    registry: &Registry,
    root: &'static ResourceType,
    endpoint: Endpoint,
) -> Result<(), ApiError> {
    let Some((family, parts)) = split_name(name) else {
        return Err(ApiError::invalid_query(
            name,
            format!("`{name}` is not a well-formed parameter name (unbalanced brackets)."),
        ));
    };
    match (family, parts.as_slice(), endpoint) {
        ("include", [], Endpoint::Resources) => parse_include(query, value, registry, root),
        ("fields", [type_name], Endpoint::Resources) => {
            parse_fields(query, name, type_name, value, registry)
        }
        ("include" | "fields", _, Endpoint::Resources) => Err(ApiError::invalid_query(
            name,
            "Use `include=path,…` and `fields[TYPE]=field,…`.",
        )),
        ("include" | "fields", _, _) => Err(ApiError::invalid_query(
            name,
            format!("`{family}` is not supported on this endpoint."),
        )),
        ("sort" | "page" | "filter", _, _) => Err(ApiError::invalid_query(
            name,
            format!("`{family}` is not supported yet."),
        )),
        _ if family.chars().all(|c| c.is_ascii_lowercase()) => Err(ApiError::invalid_query(
            name,
            format!("`{name}` is not a parameter this server knows; names of only a-z are reserved by JSON:API."),
        )),
        _ => Err(ApiError::invalid_query(
            name,
            format!("`{name}` is not a parameter this server knows."),
        )),
    }
}

fn parse_include(
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
    for segment in segments {
        let relationship = resource.relationship(segment).ok_or_else(|| {
            format!(
                "`{path}`: {} has no relationship `{segment}`.",
                resource.name
            )
        })?;
        resource = registry
            .target(relationship)
            .map_err(|_| format!("`{path}` cannot be included."))?;
        node = node.child(relationship);
    }
    Ok(())
}

fn parse_fields(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_families_and_bracket_parts() {
        assert_eq!(
            split_name("fields[Conversation]"),
            Some(("fields", vec!["Conversation"]))
        );
        assert_eq!(split_name("filter[a][b]"), Some(("filter", vec!["a", "b"])));
        assert_eq!(split_name("include"), Some(("include", vec![])));
        assert_eq!(split_name("fields[x"), None);
        assert_eq!(split_name("fields[x]y"), None);
    }

    #[test]
    fn member_names_follow_the_spec() {
        assert!(is_member_name("created_at"));
        assert!(is_member_name("camelCase"));
        assert!(!is_member_name("_leading"));
        assert!(!is_member_name("trailing-"));
        assert!(!is_member_name(""));
        assert!(!is_member_name("a+b"));
    }
}
