//! Query parameters: parsed once per request, validated against the resource descriptions, with
//! every problem named by its parameter and reported together.
//!
//! Names are percent-decoded before they are read, so `fields%5BConversation%5D` and
//! `fields[Conversation]` are the same parameter (spec appendix, square brackets), and so are
//! encoded and raw commas in values.
//!
//! Families: `include`, `fields[TYPE]`, `sort`, `filter[PATH]` / `filter[PATH][OP]`, and
//! `page[offset|limit|size|after|before|count]`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::DateTime;

use super::resource::{
    Attribute, AttributeKind, Cardinality, Registry, Relationship, ResourceType,
};
use crate::jsonapi::error::{ApiError, CursorError};
use crate::store::{truncate_to_micros, Comparison, Condition, Direction, Expr, SqlValue};

/// Include paths deeper than this are refused: each level costs a statement.
pub const MAX_INCLUDE_DEPTH: usize = 3;
pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;
/// Far beyond any real table; keeps offset arithmetic (and OFFSET scans) bounded.
pub const MAX_OFFSET: i64 = 1_000_000_000;

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
        ("page", [member]) if collection => {
            page.insert(member.to_string(), value.to_string());
            Ok(())
        }
        ("include" | "fields", _) if document => Err(malformed(name, family)),
        ("sort" | "filter" | "page", _) if collection => Err(malformed(name, family)),
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

/// `name` or `relationship.name`, for sorting and filtering. `Err` says why not.
fn field_path(
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

fn parse_sort(
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
            Err(detail) => problems.push(ApiError::invalid_query(
                "sort",
                format!("{detail} (sort `{field}`)"),
            )),
        }
    }
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok(keys),
    }
}

/// What a filter compares: stored values of one kind, reached through an expression.
struct FilterTarget {
    expr: Expr,
    kind: AttributeKind,
    nullable: bool,
    /// Filtering by a relationship's id compares UUIDs.
    label: String,
}

fn filter_target(
    path: &str,
    registry: &Registry,
    root: &'static ResourceType,
) -> Result<FilterTarget, String> {
    // A relationship by id: `filter[conversation]=<id>`.
    if let Some(relationship) = root.relationship(path) {
        return match relationship.cardinality {
            Cardinality::ToOne { column, .. } => Ok(FilterTarget {
                expr: Expr::Column(column),
                kind: AttributeKind::Uuid,
                nullable: false,
                label: path.to_string(),
            }),
            Cardinality::ToMany { .. } => {
                Err(format!("`{path}` is to-many and cannot be filtered on."))
            }
        };
    }
    // A key of an object attribute: `filter[metadata.plan]=pro`.
    if let Some((name, key)) = path.split_once('.') {
        if let Some(attribute) = root.attribute(name) {
            if let AttributeKind::Object = attribute.kind {
                if !attribute.filterable || !is_member_name(key) {
                    return Err(format!("`{path}` is not a filterable key."));
                }
                return Ok(FilterTarget {
                    expr: Expr::JsonKey {
                        column: attribute.name,
                        key: key.to_string(),
                    },
                    kind: AttributeKind::String {
                        max_chars: usize::MAX,
                    },
                    nullable: true,
                    label: path.to_string(),
                });
            }
        }
    }
    let field = field_path(path, registry, root)?;
    if !field.attribute.filterable || matches!(field.attribute.kind, AttributeKind::Object) {
        return Err(format!("`{path}` cannot be filtered on."));
    }
    Ok(FilterTarget {
        expr: field.expr(registry),
        kind: field.attribute.kind,
        nullable: field.attribute.nullable,
        label: path.to_string(),
    })
}

fn operators_for(target: &FilterTarget) -> &'static [&'static str] {
    match (target.kind, target.nullable) {
        (AttributeKind::String { .. }, true) => {
            &["eq", "ne", "in", "contains", "starts_with", "is_null"]
        }
        (AttributeKind::String { .. }, false) => &["eq", "ne", "in", "contains", "starts_with"],
        (AttributeKind::Integer | AttributeKind::Timestamp, true) => {
            &["eq", "ne", "lt", "lte", "gt", "gte", "in", "is_null"]
        }
        (AttributeKind::Integer | AttributeKind::Timestamp, false) => {
            &["eq", "ne", "lt", "lte", "gt", "gte", "in"]
        }
        (_, true) => &["eq", "ne", "in", "is_null"],
        (_, false) => &["eq", "ne", "in"],
    }
}

/// A filter value, checked against the kind of what it is compared with.
fn filter_value(target: &FilterTarget, text: &str) -> Result<SqlValue, String> {
    let label = &target.label;
    match target.kind {
        AttributeKind::String { .. } | AttributeKind::Slug { .. } if text.contains('\0') => {
            Err(format!("`{label}` values cannot contain NUL."))
        }
        AttributeKind::String { .. } | AttributeKind::Slug { .. } => Ok(SqlValue::text(text)),
        AttributeKind::Enum(allowed) if allowed.contains(&text) => Ok(SqlValue::text(text)),
        AttributeKind::Enum(allowed) => Err(format!(
            "`{label}` is one of {}; not `{text}`.",
            allowed.join(", ")
        )),
        AttributeKind::Uuid => uuid::Uuid::parse_str(text)
            .map(|uuid| SqlValue::text(uuid.hyphenated().to_string()))
            .map_err(|_| format!("`{label}` takes a UUID; not `{text}`.")),
        AttributeKind::Integer => text
            .parse::<i64>()
            .map(|number| SqlValue::Integer(Some(number)))
            .map_err(|_| format!("`{label}` takes an integer; not `{text}`.")),
        AttributeKind::Timestamp => DateTime::parse_from_rfc3339(text)
            .map(|time| SqlValue::Timestamp(Some(truncate_to_micros(time.naive_utc()))))
            .map_err(|_| format!("`{label}` takes an RFC 3339 date-time; not `{text}`.")),
        AttributeKind::Object => Err(format!("`{label}` cannot be compared as a whole.")),
    }
}

fn parse_filter(
    name: &str,
    path: &str,
    operator: Option<&str>,
    value: &str,
    registry: &Registry,
    root: &'static ResourceType,
) -> Result<Filter, ApiError> {
    let invalid = |detail: String| ApiError::invalid_query(name, detail);
    let target = filter_target(path, registry, root).map_err(invalid)?;
    // `filter[x]=a,b` means any of; `filter[x]=a` means equal.
    let operator = operator.unwrap_or(if value.contains(',') { "in" } else { "eq" });
    let allowed = operators_for(&target);
    if !allowed.contains(&operator) {
        return Err(invalid(format!(
            "`{operator}` does not apply to `{path}`; use one of {}.",
            allowed.join(", ")
        )));
    }
    let one = || filter_value(&target, value).map_err(invalid);
    let expr = target.expr.clone();
    let compare =
        |comparison| Ok::<_, ApiError>(Condition::Compare(expr.clone(), comparison, one()?));
    let condition = match operator {
        "eq" => compare(Comparison::Equal)?,
        "ne" => compare(Comparison::NotEqual)?,
        "lt" => compare(Comparison::Less)?,
        "lte" => compare(Comparison::LessOrEqual)?,
        "gt" => compare(Comparison::Greater)?,
        "gte" => compare(Comparison::GreaterOrEqual)?,
        "in" => {
            let values = value
                .split(',')
                .map(|item| filter_value(&target, item).map_err(invalid))
                .collect::<Result<Vec<_>, _>>()?;
            Condition::AnyOf(expr, values)
        }
        // Checked like any other value of the field's kind (no NUL, which PostgreSQL refuses).
        "contains" => {
            one()?;
            Condition::Contains(expr, value.to_string())
        }
        "starts_with" => {
            one()?;
            Condition::StartsWith(expr, value.to_string())
        }
        "is_null" => match value {
            "true" => Condition::IsNull(expr, true),
            "false" => Condition::IsNull(expr, false),
            _ => {
                return Err(invalid(format!(
                    "`is_null` takes true or false; not `{value}`."
                )))
            }
        },
        _ => return Err(invalid(format!("`{operator}` is not a filter operator."))),
    };
    Ok(Filter { condition })
}

/// `page[…]` members, checked together: the two styles do not mix.
fn parse_page(page: &BTreeMap<String, String>, sort: &[SortKey]) -> Result<(Page, bool), ApiError> {
    let mut problems = Vec::new();
    let parameter = |member: &str| format!("page[{member}]");
    let number = |member: &str, problems: &mut Vec<ApiError>| -> Option<i64> {
        let text = page.get(member)?;
        match text.parse::<i64>() {
            Ok(number) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                Some(number)
            }
            _ => {
                problems.push(ApiError::invalid_query(
                    parameter(member),
                    format!(
                        "`{}` takes a whole number; not `{text}`.",
                        parameter(member)
                    ),
                ));
                None
            }
        }
    };
    for member in page.keys() {
        if !matches!(
            member.as_str(),
            "offset" | "limit" | "size" | "after" | "before" | "count"
        ) {
            problems.push(ApiError::invalid_query(
                parameter(member),
                format!("`{}` is not a page parameter; use offset and limit, or size, after and before.", parameter(member)),
            ));
        }
    }
    let count = match page.get("count").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            problems.push(ApiError::invalid_query(
                "page[count]",
                format!("`page[count]` is true or false; not `{other}`."),
            ));
            false
        }
    };
    let offset_style = page.contains_key("offset") || page.contains_key("limit");
    let cursor_members: Vec<&str> = ["size", "after", "before"]
        .into_iter()
        .filter(|member| page.contains_key(*member))
        .collect();
    if offset_style && !cursor_members.is_empty() {
        for member in &cursor_members {
            problems.push(ApiError::invalid_query(
                parameter(member),
                format!(
                    "`{}` is cursor pagination and cannot be mixed with page[offset]/page[limit].",
                    parameter(member)
                ),
            ));
        }
    }
    let style = if cursor_members.is_empty() {
        let offset = number("offset", &mut problems).unwrap_or(0);
        if offset > MAX_OFFSET {
            problems.push(ApiError::invalid_query(
                "page[offset]",
                format!("`page[offset]` is at most {MAX_OFFSET}; use cursor pages to go deeper."),
            ));
        }
        let limit = number("limit", &mut problems).unwrap_or(DEFAULT_PAGE_SIZE);
        if limit == 0 || limit > MAX_PAGE_SIZE {
            problems.push(ApiError::invalid_query(
                "page[limit]",
                format!("`page[limit]` is from 1 to {MAX_PAGE_SIZE}; not {limit}."),
            ));
        }
        Page::Offset { offset, limit }
    } else {
        let size = number("size", &mut problems).unwrap_or(DEFAULT_PAGE_SIZE);
        if size == 0 {
            problems.push(ApiError::invalid_query(
                "page[size]",
                "`page[size]` must be a positive integer.",
            ));
        } else if size > MAX_PAGE_SIZE {
            problems.push(ApiError::CursorPagination {
                error: CursorError::MaxSizeExceeded { max: MAX_PAGE_SIZE },
                parameter: "page[size]".into(),
                detail: format!("You asked for {size} per page; {MAX_PAGE_SIZE} is the most."),
            });
        }
        let (after, before) = (page.get("after").cloned(), page.get("before").cloned());
        if after.is_some() && before.is_some() {
            problems.push(ApiError::CursorPagination {
                error: CursorError::RangeNotSupported,
                parameter: "page[before]".into(),
                detail: "Range pagination (page[after] with page[before]) is not supported; send one of them.".into(),
            });
        }
        // Keyset pagination needs every sort key in the row itself.
        if let Some(key) = sort.iter().find(|key| key.field.via.is_some()) {
            problems.push(ApiError::CursorPagination {
                error: CursorError::UnsupportedSort,
                parameter: "sort".into(),
                detail: format!(
                    "Cursor pagination cannot follow a sort on a related attribute (`{}.{}`); use offset pagination or sort on the resource's own attributes.",
                    key.field.via.map(|(relationship, _)| relationship.name).unwrap_or_default(),
                    key.field.attribute.name
                ),
            });
        }
        Page::Cursor {
            size,
            after,
            before,
        }
    };
    match ApiError::from_problems(problems) {
        Some(error) => Err(error),
        None => Ok((style, count)),
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
        assert!(!is_member_name("a\"b"));
    }
}
