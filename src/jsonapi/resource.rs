//! How a resource type is described and stored: once, in its own module under `src/resources`,
//! as a typed model implementing [`Resource`] and a declarative [`ResourceType`]. The generic
//! handlers read, validate, write and render every type through these.

use std::fmt::Debug;

use crate::jsonapi::error::ApiError;
use crate::store::{
    ColumnKind, Condition, Db, Direction, Field, Selection, SqlValue, StoreResult, Stored,
};

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
    /// An RFC 3339 date-time, stored in UTC with microsecond precision.
    Timestamp,
    /// A JSON object (metadata).
    Object,
}

impl AttributeKind {
    pub fn column_kind(self) -> ColumnKind {
        match self {
            AttributeKind::String { .. }
            | AttributeKind::Slug { .. }
            | AttributeKind::Enum(_)
            | AttributeKind::Uuid => ColumnKind::Text,
            AttributeKind::Integer => ColumnKind::Integer,
            AttributeKind::Timestamp => ColumnKind::Timestamp,
            AttributeKind::Object => ColumnKind::Json,
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
    /// Like `Optional` on create; it cannot change afterwards.
    CreateOnly(InitialValue),
    /// Only the server sets it; a client that sends it gets 422.
    ReadOnly(ServerValue),
}

#[derive(Clone, Copy, Debug)]
pub enum InitialValue {
    Null,
    Text(&'static str),
    EmptyObject,
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
    /// May appear in `sort` (only non-null attributes: backends order NULLs differently).
    pub sortable: bool,
    /// May appear in `filter[…]`; for an object attribute, its keys may (`filter[metadata.plan]`).
    pub filterable: bool,
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

/// The values of a row about to be inserted, by column. Hooks read and complete it.
#[derive(Debug, Default)]
pub struct NewRow {
    values: Vec<(&'static str, SqlValue)>,
}

impl NewRow {
    pub fn set(&mut self, column: &'static str, value: SqlValue) {
        match self.values.iter_mut().find(|(name, _)| *name == column) {
            Some(entry) => entry.1 = value,
            None => self.values.push((column, value)),
        }
    }

    pub fn text(&self, column: &str) -> Option<&str> {
        self.values.iter().find_map(|(name, value)| match value {
            SqlValue::Text(Some(text)) if *name == column => Some(text.as_str()),
            _ => None,
        })
    }

    pub fn into_values(self) -> Vec<(&'static str, SqlValue)> {
        self.values
    }
}

/// One stored resource of any type, as the generic layer reads it: fields by column name.
pub trait Record: Send + Sync + Debug {
    fn field(&self, column: &str) -> Option<Field<'_>>;

    /// Roughly the bytes the row's fields take, rendered.
    fn weight(&self) -> usize;

    fn id(&self) -> &str {
        self.text("id").unwrap_or_default()
    }

    /// A text column's value (a foreign key, say); `None` for NULL or a column of another kind.
    fn text(&self, column: &str) -> Option<&str> {
        self.field(column).and_then(|field| match field {
            Field::Text(text) => Some(text),
            Field::NullableText(text) => text,
            _ => None,
        })
    }

    fn value(&self, column: &str) -> Option<SqlValue> {
        self.field(column).map(|field| field.to_sql_value())
    }
}

impl<M: Stored + Debug> Record for M {
    fn field(&self, column: &str) -> Option<Field<'_>> {
        Stored::field(self, column)
    }

    fn weight(&self) -> usize {
        Stored::weight(self)
    }
}

/// The generic resource trait: a typed model stored in its table, with the description the
/// generic layer serves it by and the hooks of its type. The handlers reach a type's model
/// through its [`ResourceType::storage`], which [`Storage::of`] builds from this trait.
pub trait Resource: Stored + Debug + Default {
    /// The type's attributes, relationships, write rules and tenancy.
    const DESCRIPTION: &'static ResourceType;

    /// Resource-specific work before a row is inserted, inside the create transaction:
    /// server-made values and values derived from related rows.
    fn before_insert(&mut self, _conn: &mut Db) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Records of one type, loaded.
pub type Records = Vec<Box<dyn Record>>;
/// Column values to write, by column name.
pub type Values = Vec<(&'static str, SqlValue)>;

/// A type's typed operations, as plain functions the generic layer can call without knowing
/// the model: each is [`Resource`]'s own, instantiated for one model.
#[derive(Clone, Copy)]
pub struct Storage {
    pub table: &'static str,
    pub load: fn(&mut Db, &Selection) -> StoreResult<Records>,
    pub count: fn(&mut Db, &[Condition]) -> StoreResult<i64>,
    /// Builds the model from the values, runs its `before_insert` hook and inserts it.
    pub create: fn(&mut Db, NewRow) -> Result<(), ApiError>,
    pub update: fn(&mut Db, &[Condition], Values) -> Result<usize, ApiError>,
    pub delete: fn(&mut Db, &[Condition]) -> StoreResult<usize>,
}

impl Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage")
    }
}

impl Storage {
    pub const fn of<M: Resource>() -> Storage {
        Storage {
            table: M::TABLE,
            load: load_records::<M>,
            count: M::count,
            create: create_record::<M>,
            update: update_records::<M>,
            delete: M::delete,
        }
    }
}

fn load_records<M: Resource>(
    conn: &mut Db,
    selection: &Selection,
) -> StoreResult<Vec<Box<dyn Record>>> {
    Ok(M::load(conn, selection)?
        .into_iter()
        .map(|record| Box::new(record) as Box<dyn Record>)
        .collect())
}

fn unknown_column(resource: &ResourceType, column: &str) -> ApiError {
    ApiError::Internal(format!(
        "{} has no column {column} of that kind",
        resource.name
    ))
}

fn create_record<M: Resource>(conn: &mut Db, row: NewRow) -> Result<(), ApiError> {
    let mut model = M::default();
    for (column, value) in row.into_values() {
        if !model.set(column, value) {
            return Err(unknown_column(M::DESCRIPTION, column));
        }
    }
    model.before_insert(conn)?;
    M::insert(conn, std::slice::from_ref(&model))?;
    Ok(())
}

fn update_records<M: Resource>(
    conn: &mut Db,
    conditions: &[Condition],
    values: Vec<(&'static str, SqlValue)>,
) -> Result<usize, ApiError> {
    let mut changes = M::Changes::default();
    for (column, value) in values {
        if !M::change(&mut changes, column, value) {
            return Err(unknown_column(M::DESCRIPTION, column));
        }
    }
    Ok(M::update(conn, conditions, &changes)?)
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
    /// The typed model behind the type.
    pub storage: Storage,
}

impl ResourceType {
    /// The condition confining a statement on this type to `tenant`'s rows, if any.
    pub fn tenant_condition(&self, tenant: &Tenant) -> Option<Condition> {
        tenant
            .organisation()
            .map(|id| Condition::Equals(self.tenant_column, SqlValue::text(id)))
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
