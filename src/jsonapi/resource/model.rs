//! The typed side of a resource type: [`Resource`], which each model implements with its
//! hooks, [`Record`], how the generic layer reads any model's row, and [`Storage`], the
//! model's operations as plain functions a [`super::ResourceType`] carries.

use std::any::Any;
use std::fmt::Debug;

use super::ResourceType;
use crate::jsonapi::error::ApiError;
use crate::jsonapi::unit_of_work::Tx;
use crate::store::{Condition, Db, Expr, Field, Selection, SqlValue, StoreResult, Stored};

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

    /// The typed model, for the type's own hooks.
    fn as_any(&self) -> &dyn Any;

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

    fn as_any(&self) -> &dyn Any {
        self
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
    fn before_insert(&mut self, _tx: &mut Tx<'_>) -> Result<(), ApiError> {
        Ok(())
    }

    /// Resource-specific work once the row is inserted, inside the create transaction: rows
    /// of other types that refer to it (a conversation's greeting).
    fn after_insert(&self, _tx: &mut Tx<'_>) -> Result<(), ApiError> {
        Ok(())
    }

    /// Whether a new resource was accepted for processing elsewhere rather than completed
    /// (its create answers 202, not 201).
    fn queued(&self) -> bool {
        false
    }

    /// Resource-specific work before `self` takes `changes`, inside the update transaction:
    /// rules that depend on what is stored (transitions), and values the server derives.
    fn before_update(
        &self,
        _changes: &mut Self::Changes,
        _tx: &mut Tx<'_>,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// Resource-specific work once `self` is deleted, inside the delete transaction: what it
    /// takes along, and counters it leaves.
    fn after_delete(&self, _tx: &mut Tx<'_>) -> Result<(), ApiError> {
        Ok(())
    }
}

/// Records of one type, loaded.
pub type Records = Vec<Box<dyn Record>>;
/// Column values to write, by column name.
pub type Values = Vec<(&'static str, SqlValue)>;

/// [`Storage::update`]'s signature.
pub type UpdateFn = fn(&mut Tx<'_>, &dyn Record, &[Condition], Values) -> Result<usize, ApiError>;

/// A type's typed operations, as plain functions the generic layer can call without knowing
/// the model: each is [`Resource`]'s own, instantiated for one model.
#[derive(Clone, Copy)]
pub struct Storage {
    pub table: &'static str,
    pub load: fn(&mut Db, &Selection) -> StoreResult<Records>,
    pub count: fn(&mut Db, &[Condition]) -> StoreResult<i64>,
    /// Builds the model from the values, runs its `before_insert` hook and inserts it; true
    /// when the new resource is queued ([`Resource::queued`]).
    pub create: fn(&mut Tx<'_>, NewRow) -> Result<bool, ApiError>,
    /// Changes the stored resource (`existing`, loaded in the same transaction) that the
    /// conditions pick, through its `before_update` hook.
    pub update: UpdateFn,
    /// Deletes the stored resource the conditions pick (softly where the type says so), then
    /// runs its `after_delete` hook.
    pub delete: fn(&mut Tx<'_>, &dyn Record, &[Condition]) -> Result<usize, ApiError>,
    /// Removes rows for good, whatever their soft-deletion state (operators' `purge`).
    pub purge: fn(&mut Db, &[Condition]) -> StoreResult<usize>,
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
            delete: delete_records::<M>,
            purge: M::delete,
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

fn create_record<M: Resource>(tx: &mut Tx<'_>, row: NewRow) -> Result<bool, ApiError> {
    let mut model = M::default();
    for (column, value) in row.into_values() {
        if !model.set(column, value) {
            return Err(unknown_column(M::DESCRIPTION, column));
        }
    }
    model.before_insert(tx)?;
    M::insert(tx, std::slice::from_ref(&model))?;
    model.after_insert(tx)?;
    Ok(model.queued())
}

/// The typed model behind a record the generic layer loaded for type `M`.
fn typed<M: Resource>(record: &dyn Record) -> Result<&M, ApiError> {
    record.as_any().downcast_ref::<M>().ok_or_else(|| {
        ApiError::Internal(format!("a record that is not a {}", M::DESCRIPTION.name))
    })
}

fn update_records<M: Resource>(
    tx: &mut Tx<'_>,
    existing: &dyn Record,
    conditions: &[Condition],
    values: Vec<(&'static str, SqlValue)>,
) -> Result<usize, ApiError> {
    let mut changes = M::Changes::default();
    for (column, value) in values {
        if !M::change(&mut changes, column, value) {
            return Err(unknown_column(M::DESCRIPTION, column));
        }
    }
    typed::<M>(existing)?.before_update(&mut changes, tx)?;
    Ok(M::update(tx, conditions, &changes)?)
}

fn delete_records<M: Resource>(
    tx: &mut Tx<'_>,
    existing: &dyn Record,
    conditions: &[Condition],
) -> Result<usize, ApiError> {
    let deleted = match M::DESCRIPTION.soft_delete {
        Some(column) => {
            let mut changes = M::Changes::default();
            if !M::change(
                &mut changes,
                column,
                SqlValue::Timestamp(Some(now_in_micros())),
            ) {
                return Err(unknown_column(M::DESCRIPTION, column));
            }
            let mut conditions = conditions.to_vec();
            conditions.push(Condition::IsNull(Expr::Column(column), true));
            M::update(tx, &conditions, &changes)?
        }
        None => M::delete(tx, conditions)?,
    };
    if deleted > 0 {
        typed::<M>(existing)?.after_delete(tx)?;
    }
    Ok(deleted)
}

/// The current time as the store keeps it: UTC, microsecond precision.
pub fn now_in_micros() -> chrono::NaiveDateTime {
    crate::store::truncate_to_micros(chrono::Utc::now().naive_utc())
}
