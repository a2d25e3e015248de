//! How a resource type is described and stored: once, in its own module under `src/resources`,
//! as a typed model implementing [`Resource`] and a declarative [`ResourceType`]. The generic
//! handlers read, validate, write and render every type through these.

use std::fmt::Debug;

use crate::jsonapi::error::ApiError;
use crate::store::{ColumnKind, Condition, Direction, Expr, SqlValue};

mod model;

pub use model::{now_in_micros, NewRow, Record, Records, Resource, Storage, Values};

/// The JSON kind of an attribute, with the rules its values obey.
#[derive(Clone, Copy, Debug)]
pub enum AttributeKind {
    /// A string of at most `max_chars` characters.
    String {
        max_chars: usize,
    },
    /// A URL-safe handle: lowercase letters, digits and inner hyphens.
    Slug {
        max_chars: usize,
    },
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
    /// A UUID, normalised to lowercase hyphenated form.
    Uuid,
    Integer,
    Boolean,
    /// An RFC 3339 date-time, stored in UTC with microsecond precision.
    Timestamp,
    /// An email address (`local@domain.tld`), at most `max_chars` characters.
    Email {
        max_chars: usize,
    },
    /// A JSON object (metadata).
    Object,
    /// A JSON object whose members are known: each optional, each of its own kind.
    Shaped(&'static [ShapedMember]),
    /// A JSON array of distinct strings, each one of a fixed set.
    EnumSet(&'static [&'static str]),
    /// A JSON array of objects, each naming what it is in a string `type` member (an item's
    /// `parts`).
    TaggedObjects,
}

/// A member of a [`AttributeKind::Shaped`] object.
#[derive(Clone, Copy, Debug)]
pub struct ShapedMember {
    pub name: &'static str,
    pub kind: MemberKind,
}

/// The kind of a member of a shaped object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    Text {
        max_chars: usize,
    },
    Email,
    /// A telephone number in E.164 form: `+`, then 2 to 15 digits, the first not 0.
    Phone,
    /// An absolute `http` or `https` URL.
    Url,
}

impl AttributeKind {
    pub fn column_kind(self) -> ColumnKind {
        match self {
            AttributeKind::String { .. }
            | AttributeKind::Slug { .. }
            | AttributeKind::Enum(_)
            | AttributeKind::Uuid
            | AttributeKind::Email { .. } => ColumnKind::Text,
            AttributeKind::Integer => ColumnKind::Integer,
            AttributeKind::Boolean => ColumnKind::Boolean,
            AttributeKind::Timestamp => ColumnKind::Timestamp,
            AttributeKind::Object
            | AttributeKind::Shaped(_)
            | AttributeKind::EnumSet(_)
            | AttributeKind::TaggedObjects => ColumnKind::Json,
        }
    }
}

/// Who sets an attribute, and when.
#[derive(Clone, Copy, Debug)]
pub enum Write {
    /// The client must send it on create, and may change it later.
    Required,
    /// The client may send it; on create a missing value takes the default.
    Optional(InitialValue),
    /// The client must send it on create; it cannot change afterwards.
    Fixed,
    /// Like `Optional` on create; it cannot change afterwards.
    CreateOnly(InitialValue),
    /// Only the server sets it; a client that sends it gets 422.
    ReadOnly(ServerValue),
}

#[derive(Clone, Copy, Debug)]
pub enum InitialValue {
    Null,
    Text(&'static str),
    Bool(bool),
    EmptyObject,
    EmptyArray,
    Now,
    /// The resource's `before_insert` hook fills it in when the client did not send it.
    Hook,
}

#[derive(Clone, Copy, Debug)]
pub enum ServerValue {
    /// The time of creation.
    CreatedAt,
    /// The time of creation, then of every change.
    UpdatedAt,
    /// Set by the resource's `before_insert` hook.
    Hook,
}

#[derive(Clone, Copy, Debug)]
pub struct Attribute {
    pub name: &'static str,
    pub kind: AttributeKind,
    pub nullable: bool,
    pub write: Write,
    /// May appear in `sort`; NULL orders below every value, on both backends.
    pub sortable: bool,
    /// May appear in `filter[…]`; for an object attribute, its keys may (`filter[metadata.plan]`).
    pub filterable: bool,
}

impl Attribute {
    /// An attribute that is not null, sorted on or filtered by; the methods below say more.
    pub const fn new(name: &'static str, kind: AttributeKind, write: Write) -> Self {
        Attribute {
            name,
            kind,
            nullable: false,
            write,
            sortable: false,
            filterable: false,
        }
    }

    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    pub const fn sortable(mut self) -> Self {
        self.sortable = true;
        self
    }

    pub const fn filterable(mut self) -> Self {
        self.filterable = true;
        self
    }

    /// Sortable and filterable.
    pub const fn queryable(self) -> Self {
        self.sortable().filterable()
    }

    /// One of `values`, which a client may set and which is `default` when it does not;
    /// sortable and filterable.
    pub const fn choice(
        name: &'static str,
        values: &'static [&'static str],
        default: &'static str,
    ) -> Self {
        Attribute::new(
            name,
            AttributeKind::Enum(values),
            Write::Optional(InitialValue::Text(default)),
        )
        .queryable()
    }

    /// `created_at`: the time of creation, set by the server.
    pub const fn created_at() -> Self {
        Attribute::new(
            "created_at",
            AttributeKind::Timestamp,
            Write::ReadOnly(ServerValue::CreatedAt),
        )
        .queryable()
    }

    /// `updated_at`: the time of creation, then of every change, set by the server.
    pub const fn updated_at() -> Self {
        Attribute::new(
            "updated_at",
            AttributeKind::Timestamp,
            Write::ReadOnly(ServerValue::UpdatedAt),
        )
        .queryable()
    }
}

/// How a to-one relationship gets its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToOneWrite {
    /// The client names it on create; it cannot change afterwards.
    RequiredOnCreate,
    /// The owning organisation: optional on create, where it defaults to the caller's own and
    /// must be it; it cannot change afterwards.
    Tenant,
    /// The `before_insert` hook derives it; clients never send it.
    Derived,
    /// The client may name it (or null) on create and change it later, through the
    /// relationship or through an attribute of the same name as its column (which mirrors it).
    /// With `requires`, the related resource's boolean attribute of that name must be true.
    Changeable { requires: Option<&'static str> },
}

#[derive(Clone, Copy, Debug)]
pub enum Cardinality {
    /// Stored as a foreign key column on this type's table.
    ToOne {
        column: &'static str,
        write: ToOneWrite,
    },
    /// The inverse of the to-one relationship named `inverse` on the target type.
    ToMany { inverse: &'static str },
}

#[derive(Clone, Copy, Debug)]
pub struct Relationship {
    pub name: &'static str,
    /// The JSON:API type of the related resources.
    pub target: &'static str,
    pub cardinality: Cardinality,
}

impl Relationship {
    pub const fn to_one(
        name: &'static str,
        target: &'static str,
        column: &'static str,
        write: ToOneWrite,
    ) -> Self {
        Relationship {
            name,
            target,
            cardinality: Cardinality::ToOne { column, write },
        }
    }

    /// The inverse of the to-one relationship `inverse` of `target`.
    pub const fn to_many(name: &'static str, target: &'static str, inverse: &'static str) -> Self {
        Relationship {
            name,
            target,
            cardinality: Cardinality::ToMany { inverse },
        }
    }

    /// `organisation`: the owning tenant, in column `organisation_id`.
    pub const fn owner() -> Self {
        Relationship::to_one(
            "organisation",
            "Organisation",
            "organisation_id",
            ToOneWrite::Tenant,
        )
    }
}

/// Whose data a request may see and change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tenant {
    /// One organisation's (an API key's).
    Organisation(String),
    /// Everything: operators at the command line.
    Operator,
}

impl Tenant {
    pub fn organisation(&self) -> Option<&str> {
        match self {
            Tenant::Organisation(id) => Some(id),
            Tenant::Operator => None,
        }
    }
}

/// Which writes the HTTP API offers for a type (operators can always write at the command line).
#[derive(Clone, Copy, Debug)]
pub struct HttpWrites {
    pub create: bool,
    pub delete: bool,
}

/// Everything the generic layer needs to know about one resource type.
#[derive(Debug)]
pub struct ResourceType {
    /// The JSON:API `type`.
    pub name: &'static str,
    /// The collection's path segment under `/api`.
    pub path: &'static str,
    pub attributes: &'static [Attribute],
    pub relationships: &'static [Relationship],
    /// Collection order; the id is always appended so the order is total.
    pub default_order: &'static [(&'static str, Direction)],
    /// The column naming the owning organisation (`id` for organisations themselves): every read
    /// and write of a tenant is confined by it.
    pub tenant_column: &'static str,
    /// The family of the scopes that guard this type: `{family}:read` and `{family}:write`.
    pub scope_family: &'static str,
    pub http_writes: HttpWrites,
    /// The timestamp column a `DELETE` sets instead of removing the row; a row with it set is
    /// gone for every request (until operators purge it for good).
    pub soft_delete: Option<&'static str>,
    /// Boolean attributes whose `true` rows collections leave out unless `filter[NAME]` asks
    /// for them (archived conversations).
    pub hidden_unless_filtered: &'static [&'static str],
    /// The typed model behind the type.
    pub storage: Storage,
}

/// What a request does to a type, which decides the scope it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// The scope that `access` to a type of `family` needs: `{family}:read` or `{family}:write`.
pub fn scope_name(family: &str, access: Access) -> String {
    format!("{family}:{}", access.as_str())
}

/// Whether `scope` is the one [`scope_name`] names, without building the name.
pub fn scope_grants(scope: &str, family: &str, access: Access) -> bool {
    scope
        .strip_prefix(family)
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(access.as_str())
}

impl ResourceType {
    /// The condition confining a statement on this type to `tenant`'s rows, if any.
    pub fn tenant_condition(&self, tenant: &Tenant) -> Option<Condition> {
        tenant
            .organisation()
            .map(|id| Condition::Equals(self.tenant_column, SqlValue::text(id)))
    }

    /// The conditions confining a read to what `tenant` may see: its rows, and none that are
    /// soft-deleted.
    pub fn visible(&self, tenant: &Tenant) -> Vec<Condition> {
        let mut conditions: Vec<Condition> = self.tenant_condition(tenant).into_iter().collect();
        if let Some(column) = self.soft_delete {
            conditions.push(Condition::IsNull(Expr::Column(column), true));
        }
        conditions
    }

    /// The text and JSON attributes' columns: what makes a row heavy.
    pub fn weighty_columns(&self) -> Vec<&'static str> {
        self.attributes
            .iter()
            .filter(|attribute| {
                matches!(
                    attribute.kind.column_kind(),
                    ColumnKind::Text | ColumnKind::Json
                )
            })
            .map(|attribute| attribute.name)
            .collect()
    }

    pub fn attribute(&self, name: &str) -> Option<&'static Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    pub fn relationship(&self, name: &str) -> Option<&'static Relationship> {
        self.relationships
            .iter()
            .find(|relationship| relationship.name == name)
    }

    /// The changeable to-one relationship that the attribute `name` mirrors (its column).
    pub fn mirrored(&self, name: &str) -> Option<&'static Relationship> {
        self.relationships.iter().find(|relationship| {
            matches!(
                relationship.cardinality,
                Cardinality::ToOne { column, write: ToOneWrite::Changeable { .. } } if column == name
            )
        })
    }

    /// Adds the server's `updated_at` values to the values an update writes.
    pub fn touch(&self, values: &mut Values) {
        for attribute in self.attributes {
            if let Write::ReadOnly(ServerValue::UpdatedAt) = attribute.write {
                values.push((attribute.name, SqlValue::Timestamp(Some(now_in_micros()))));
            }
        }
    }

    pub fn has_field(&self, name: &str) -> bool {
        self.attribute(name).is_some() || self.relationship(name).is_some()
    }

    /// The table the type is stored in.
    pub fn table(&self) -> &'static str {
        self.storage.table
    }

    pub fn order(&self) -> Vec<(&'static str, Direction)> {
        let mut order = self.default_order.to_vec();
        let last = self.default_order.last().map(|(_, direction)| *direction);
        order.push(("id", last.unwrap_or(Direction::Ascending)));
        order
    }

    pub fn collection_url(&self) -> String {
        format!("/api/{}", self.path)
    }

    pub fn resource_url(&self, id: &str) -> String {
        format!("/api/{}/{}", self.path, id)
    }
}

/// Every type the server offers.
#[derive(Debug)]
pub struct Registry {
    types: &'static [&'static ResourceType],
}

impl Registry {
    pub const fn new(types: &'static [&'static ResourceType]) -> Self {
        Registry { types }
    }

    pub fn types(&self) -> &'static [&'static ResourceType] {
        self.types
    }

    pub fn by_path(&self, path: &str) -> Option<&'static ResourceType> {
        self.types
            .iter()
            .copied()
            .find(|resource| resource.path == path)
    }

    pub fn by_name(&self, name: &str) -> Option<&'static ResourceType> {
        self.types
            .iter()
            .copied()
            .find(|resource| resource.name == name)
    }

    /// The type a relationship points at. `check` has proven it exists.
    pub fn target(&self, relationship: &Relationship) -> Result<&'static ResourceType, ApiError> {
        self.by_name(relationship.target).ok_or_else(|| {
            ApiError::Internal(format!(
                "unknown relationship target {}",
                relationship.target
            ))
        })
    }

    /// The foreign key column on the target type that a to-many relationship follows back.
    pub fn inverse_column(&self, relationship: &Relationship) -> Result<&'static str, ApiError> {
        let Cardinality::ToMany { inverse } = relationship.cardinality else {
            return Err(ApiError::Internal(format!(
                "{} is not to-many",
                relationship.name
            )));
        };
        match self
            .target(relationship)?
            .relationship(inverse)
            .map(|r| r.cardinality)
        {
            Some(Cardinality::ToOne { column, .. }) => Ok(column),
            _ => Err(ApiError::Internal(format!(
                "bad inverse of {}",
                relationship.name
            ))),
        }
    }

    /// Proves the descriptions consistent at start-up, so request paths can rely on them.
    pub fn check(&self) -> Result<(), String> {
        for resource in self.types {
            for relationship in resource.relationships {
                self.target(relationship).map_err(|_| {
                    format!("{}.{}: unknown target", resource.name, relationship.name)
                })?;
                if let Cardinality::ToMany { .. } = relationship.cardinality {
                    self.inverse_column(relationship).map_err(|_| {
                        format!(
                            "{}.{}: inverse is not a to-one",
                            resource.name, relationship.name
                        )
                    })?;
                }
            }
            for (column, _) in resource.default_order {
                if *column != "id" && resource.attribute(column).is_none() {
                    return Err(format!("{}: cannot order by {column}", resource.name));
                }
            }
        }
        Ok(())
    }
}
