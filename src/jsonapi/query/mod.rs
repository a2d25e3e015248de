//! Query parameters: parsed once per request, validated against the resource descriptions, with
//! every problem named by its parameter and reported together.
//!
//! Names are percent-decoded before they are read, so `fields%5BConversation%5D` and
//! `fields[Conversation]` are the same parameter (spec appendix, square brackets), and so are
//! encoded and raw commas in values.
//!
//! Families: `include`, `fields[TYPE]`, `sort`, `filter[PATH]` / `filter[PATH][OP]`, and
//! `page[offset|limit|size|after|before|count]`.

mod filter;
mod include;
mod page;
mod sort;
pub mod vocabulary;

use std::collections::{BTreeMap, BTreeSet};

use filter::parse_filter;
use include::{parse_fields, parse_include};
use page::parse_page;
use sort::parse_sort;

use super::resource::{Attribute, Registry, Relationship, ResourceType};
use crate::jsonapi::error::ApiError;
use crate::store::{Condition, Direction, Expr};

/// Include paths deeper than this are refused: each level costs a statement.
pub const MAX_INCLUDE_DEPTH: usize = 3;
pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
/// Far beyond any real table; keeps offset arithmetic (and OFFSET scans) bounded.
pub const MAX_OFFSET: i64 = 1_000_000_000;
/// How many resources of a to-many relationship an `include` brings per parent, and the
/// default page of that relationship's linkage endpoint, which serves the rest.
pub const INCLUDED_PER_PARENT: i64 = 100;

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

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

/// An attribute a sort or filter refers to: the type's own, or one across a to-one relationship.
#[derive(Clone, Copy, Debug)]
pub struct FieldPath {
    pub attribute: &'static Attribute,
    /// The to-one relationship crossed, with its foreign key column.
    pub via: Option<(&'static Relationship, &'static str)>,
}

impl FieldPath {
    /// The attribute's column, or the related row's column through the foreign key.
    pub fn expr(&self, registry: &Registry) -> Expr {
        let related = self.via.and_then(|(relationship, foreign_key)| {
            Some((registry.by_name(relationship.target)?, foreign_key))
        });
        match related {
            None => Expr::Column(self.attribute.name),
            Some((target, foreign_key)) => Expr::Related {
                table: target.table(),
                foreign_key,
                column: self.attribute.name,
                kind: self.attribute.kind.column_kind(),
            },
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct SortKey {
    pub field: FieldPath,
    pub direction: Direction,
}

/// A validated filter, ready for SQL.
#[derive(Clone, Debug)]
pub struct Filter {
    /// The field path filtered on (`status`, `metadata.plan`, `organisation.slug`).
    pub path: String,
    pub condition: Condition,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Page {
    /// `page[offset]`/`page[limit]`, the default style.
    Offset { offset: i64, limit: i64 },
    /// The cursor pagination profile: `page[size]` with `page[after]` or `page[before]`.
    Cursor {
        size: i64,
        after: Option<String>,
        before: Option<String>,
    },
}

/// The parsed, validated query of one request.
#[derive(Debug, Clone)]
pub struct Query {
    pub include: IncludeTree,
    /// `fields[TYPE]`: the fields to render per type; absent types render every field.
    pub fields: BTreeMap<&'static str, BTreeSet<String>>,
    /// Empty: the type's default order.
    pub sort: Vec<SortKey>,
    pub filters: Vec<Filter>,
    pub page: Page,
    /// `page[count]=true`: add `meta.page.total`.
    pub count: bool,
    /// The parameters as received (decoded), for building links.
    pub pairs: Vec<(String, String)>,
}

impl Default for Query {
    fn default() -> Self {
        Query {
            include: IncludeTree::default(),
            fields: BTreeMap::new(),
            sort: Vec::new(),
            filters: Vec::new(),
            page: Page::Offset {
                offset: 0,
                limit: DEFAULT_PAGE_SIZE,
            },
            count: false,
            pairs: Vec::new(),
        }
    }
}

impl Query {
    pub fn shows(&self, resource: &ResourceType, field: &str) -> bool {
        self.fields
            .get(resource.name)
            .is_none_or(|fields| fields.contains(field))
    }

    /// The parameters re-encoded canonically (brackets and commas percent-encoded), leaving out
    /// `page[…]` and adding `page` instead when given.
    pub fn encoded_with_page(&self, page: Option<&[(&str, String)]>) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.pairs {
            if page.is_none() || !name.starts_with("page[") || name == "page[count]" {
                serializer.append_pair(name, value);
            }
        }
        for (name, value) in page.unwrap_or_default() {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    }

    pub fn encoded(&self) -> String {
        self.encoded_with_page(None)
    }
}

/// Which parameters an endpoint accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// Collections (and to-many related resources): every family.
    Collection,
    /// One resource (also create and update responses): `include` and `fields`.
    Resource,
    /// To-one relationship linkage (`/relationships/…`), which renders an identifier only.
    Linkage,
    /// To-many relationship linkage: identifiers only, in offset pages of
    /// [`INCLUDED_PER_PARENT`] unless `page[…]` says otherwise.
    PagedLinkage,
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
    let allowed = |c: char| globally_allowed(c) || matches!(c, '-' | '_');
    match (name.chars().next(), name.chars().last()) {
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
    let mut page = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        if !seen.insert(name.clone()) {
            problems.push(ApiError::invalid_query(
                &name,
                format!("`{name}` is given more than once; send it once."),
            ));
            continue;
        }
        let parsed = parse_parameter(
            &mut query, &mut page, &name, &value, registry, root, endpoint,
        );
        if let Err(problem) = parsed {
            problems.push(problem);
        }
        query.pairs.push((name, value));
    }
    if endpoint == Endpoint::PagedLinkage && page.is_empty() {
        page.insert("limit".into(), INCLUDED_PER_PARENT.to_string());
    }
    match parse_page(&page, &query.sort) {
        Ok((parsed, count)) => {
            query.page = parsed;
            query.count = count;
        }
        Err(problem) => problems.push(problem),
    }
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok(query),
    }
}

fn parse_parameter(
    query: &mut Query,
    page: &mut BTreeMap<String, String>,
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
    let document = matches!(endpoint, Endpoint::Collection | Endpoint::Resource);
    let collection = endpoint == Endpoint::Collection;
    let paged = collection || endpoint == Endpoint::PagedLinkage;
    match (family, parts.as_slice()) {
        ("include", []) if document => parse_include(query, value, registry, root),
        ("fields", [type_name]) if document => {
            parse_fields(query, name, type_name, value, registry)
        }
        ("sort", []) if collection => {
            query.sort = parse_sort(value, registry, root)?;
            Ok(())
        }
        ("filter", [path]) if collection => {
            let filter = parse_filter(name, path, None, value, registry, root)?;
            query.filters.push(filter);
            Ok(())
        }
        ("filter", [path, operator]) if collection => {
            let filter = parse_filter(name, path, Some(operator), value, registry, root)?;
            query.filters.push(filter);
            Ok(())
        }
        ("page", [member]) if paged => {
            page.insert(member.to_string(), value.to_string());
            Ok(())
        }
        ("include" | "fields", _) if document => Err(malformed(name, family)),
        ("sort" | "filter" | "page", _) if collection => Err(malformed(name, family)),
        ("page", _) if paged => Err(malformed(name, family)),
        ("include" | "fields" | "sort" | "filter" | "page", _) => Err(ApiError::invalid_query(
            name,
            format!("`{family}` is not supported on this endpoint."),
        )),
        _ if family.chars().all(|c| c.is_ascii_lowercase()) => Err(ApiError::invalid_query(
            name,
            format!(
                "`{name}` is not a parameter this server knows; names of only a-z are reserved by JSON:API."
            ),
        )),
        _ => Err(ApiError::invalid_query(
            name,
            format!("`{name}` is not a parameter this server knows."),
        )),
    }
}

fn malformed(name: &str, family: &str) -> ApiError {
    ApiError::invalid_query(
        name,
        format!("`{name}` is not a well-formed `{family}` parameter."),
    )
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
        assert!(!is_member_name("a\"b"));
    }
}
