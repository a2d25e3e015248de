//! Typed rows: each table's model implements [`Stored`], which the [`stored_model!`] macro writes
//! from the struct's fields: Diesel's derives (`Queryable`, `Selectable`, `Insertable`, and
//! `AsChangeset` on a changes struct), the column-by-name lookup that run-time filters and
//! sorts use, and typed loads, counts, inserts, updates and deletes on boxed queries.

use chrono::NaiveDateTime;

use super::query::{Predicate, Selection, TypedColumn};
use super::values::{JsonText, SqlValue, UtcTime};
use super::{Condition, Db, StoreResult};

/// A field of a stored row, borrowed with its kind, for rendering and for lookups by name.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    Text(&'a str),
    NullableText(Option<&'a str>),
    Integer(i64),
    NullableInteger(Option<i64>),
    Bool(bool),
    Timestamp(NaiveDateTime),
    NullableTimestamp(Option<NaiveDateTime>),
    /// A JSON document as stored (serialised JSON text).
    Json(&'a str),
}

impl Field<'_> {
    /// Roughly what the field takes in a rendered document: its text, or a number's digits.
    pub fn weight(&self) -> usize {
        match self {
            Field::Text(text) | Field::Json(text) => text.len(),
            Field::NullableText(text) => text.map_or(4, str::len),
            Field::Integer(_) | Field::NullableInteger(_) => 20,
            Field::Bool(_) => 5,
            Field::Timestamp(_) | Field::NullableTimestamp(_) => 32,
        }
    }

    /// The field as text, where it is text and not NULL (ids and foreign keys).
    pub fn text(&self) -> Option<&str> {
        match self {
            Field::Text(text) | Field::Json(text) => Some(text),
            Field::NullableText(text) => *text,
            _ => None,
        }
    }

    pub fn to_sql_value(&self) -> SqlValue {
        match self {
            Field::Text(text) | Field::Json(text) => SqlValue::text(*text),
            Field::NullableText(text) => SqlValue::Text(text.map(str::to_string)),
            Field::Integer(number) => SqlValue::Integer(Some(*number)),
            Field::NullableInteger(number) => SqlValue::Integer(*number),
            Field::Bool(flag) => SqlValue::Bool(Some(*flag)),
            Field::Timestamp(time) => SqlValue::Timestamp(Some(*time)),
            Field::NullableTimestamp(time) => SqlValue::Timestamp(*time),
        }
    }
}

/// Lends a model's field as a [`Field`].
pub trait AsField {
    fn as_field(&self) -> Field<'_>;
}

impl AsField for String {
    fn as_field(&self) -> Field<'_> {
        Field::Text(self)
    }
}

impl AsField for Option<String> {
    fn as_field(&self) -> Field<'_> {
        Field::NullableText(self.as_deref())
    }
}

impl AsField for i64 {
    fn as_field(&self) -> Field<'_> {
        Field::Integer(*self)
    }
}

impl AsField for Option<i64> {
    fn as_field(&self) -> Field<'_> {
        Field::NullableInteger(*self)
    }
}

impl AsField for bool {
    fn as_field(&self) -> Field<'_> {
        Field::Bool(*self)
    }
}

impl AsField for NaiveDateTime {
    fn as_field(&self) -> Field<'_> {
        Field::Timestamp(*self)
    }
}

impl AsField for Option<NaiveDateTime> {
    fn as_field(&self) -> Field<'_> {
        Field::NullableTimestamp(*self)
    }
}

impl AsField for UtcTime {
    fn as_field(&self) -> Field<'_> {
        Field::Timestamp(self.0)
    }
}

impl AsField for Option<UtcTime> {
    fn as_field(&self) -> Field<'_> {
        Field::NullableTimestamp(self.map(|time| time.0))
    }
}

impl AsField for JsonText {
    fn as_field(&self) -> Field<'_> {
        Field::Json(&self.0)
    }
}

/// A model stored in one table of the `table!` schema.
pub trait Stored: Sized + Send + Sync + 'static {
    /// Diesel's table type.
    type Table: 'static;
    /// The columns an update may set (Diesel `AsChangeset`; `None` leaves a column alone).
    type Changes: Default;
    /// The table's name.
    const TABLE: &'static str;

    /// A column of the table by name, typed.
    fn column(name: &str) -> Option<TypedColumn<Self::Table>>;
    /// `column IN (values…)` for a column of the table by name.
    fn any_of(column: &str, values: &[SqlValue]) -> Option<StoreResult<Predicate<Self::Table>>>;
    /// A field of this row by column name.
    fn field(&self, column: &str) -> Option<Field<'_>>;
    /// Sets a field from a dynamic value; false when there is no such column or the kinds differ.
    fn set(&mut self, column: &str, value: SqlValue) -> bool;
    /// Marks a column for update; false when there is no such column or the kinds differ.
    fn change(changes: &mut Self::Changes, column: &str, value: SqlValue) -> bool;

    /// The rows the selection picks, decoded one at a time. Once the rows read weigh more than
    /// `selection.max_bytes` (see [`Stored::weight`]), a further row stops the load with
    /// [`StoreError::OverBudget`]: the caller checks what it keeps.
    fn load(conn: &mut Db, selection: &Selection) -> StoreResult<Vec<Self>>;
    /// Roughly the bytes the row's fields take, rendered.
    fn weight(&self) -> usize;
    fn count(conn: &mut Db, conditions: &[Condition]) -> StoreResult<i64>;
    fn insert(conn: &mut Db, rows: &[Self]) -> StoreResult<usize>;
    fn update(
        conn: &mut Db,
        conditions: &[Condition],
        changes: &Self::Changes,
    ) -> StoreResult<usize>;
    fn delete(conn: &mut Db, conditions: &[Condition]) -> StoreResult<usize>;

    fn value(&self, column: &str) -> Option<SqlValue> {
        self.field(column).map(|field| field.to_sql_value())
    }
}

/// Declares a model struct over a table of [`crate::store::schema`] and implements
/// [`Stored`] for it. Field names are the table's column names.
#[macro_export]
macro_rules! stored_model {
    (
        $(#[$meta:meta])*
        pub struct $model:ident in $table:ident, changed by $changes:ident {
            $($(#[$field_meta:meta])* pub $field:ident: $field_type:ty,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, diesel::Queryable, diesel::Selectable, diesel::Insertable)]
        #[diesel(table_name = $crate::store::schema::$table)]
        pub struct $model {
            $($(#[$field_meta])* pub $field: $field_type,)*
        }

        #[doc = concat!("The columns of `", stringify!($table), "` an update sets.")]
        #[derive(Clone, Debug, Default, diesel::AsChangeset)]
        #[diesel(table_name = $crate::store::schema::$table)]
        pub struct $changes {
            $(pub $field: Option<$field_type>,)*
        }

        impl $model {
            /// This row as it will be once `changes` are written.
            pub fn merged(&self, changes: &$changes) -> Self {
                let mut merged = self.clone();
                $(if let Some(value) = &changes.$field {
                    merged.$field = value.clone();
                })*
                merged
            }
        }

        impl $crate::store::Stored for $model {
            type Table = $crate::store::schema::$table::table;
            type Changes = $changes;
            const TABLE: &'static str = stringify!($table);

            fn column(name: &str) -> Option<$crate::store::TypedColumn<Self::Table>> {
                match name {
                    $(stringify!($field) => Some($crate::store::typed($crate::store::schema::$table::$field)),)*
                    _ => None,
                }
            }

            fn any_of(
                column: &str,
                values: &[$crate::store::SqlValue],
            ) -> Option<$crate::store::StoreResult<$crate::store::query::Predicate<Self::Table>>> {
                match column {
                    // `IN` on the schema's own column: the multi-backend renders `IN` lists only
                    // for expressions every backend can render, which boxed ones are not.
                    $(stringify!($field) => Some(
                        $crate::store::query::values_of::<
                            <<$crate::store::schema::$table::$field as diesel::Expression>::SqlType
                                as $crate::store::query::ColumnSqlType>::Value,
                        >(values)
                        .map(|values| {
                            $crate::store::query::predicate(diesel::ExpressionMethods::eq_any(
                                $crate::store::schema::$table::$field,
                                values,
                            ))
                        }),
                    ),)*
                    _ => None,
                }
            }

            fn field(&self, column: &str) -> Option<$crate::store::Field<'_>> {
                match column {
                    $(stringify!($field) => Some($crate::store::AsField::as_field(&self.$field)),)*
                    _ => None,
                }
            }

            fn set(&mut self, column: &str, value: $crate::store::SqlValue) -> bool {
                match column {
                    $(stringify!($field) => match $crate::store::FromSqlValue::from_sql_value(value) {
                        Some(value) => {
                            self.$field = value;
                            true
                        }
                        None => false,
                    },)*
                    _ => false,
                }
            }

            fn change(changes: &mut Self::Changes, column: &str, value: $crate::store::SqlValue) -> bool {
                match column {
                    $(stringify!($field) => match $crate::store::FromSqlValue::from_sql_value(value) {
                        Some(value) => {
                            changes.$field = Some(value);
                            true
                        }
                        None => false,
                    },)*
                    _ => false,
                }
            }

            fn load(
                conn: &mut $crate::store::Db,
                selection: &$crate::store::Selection,
            ) -> $crate::store::StoreResult<Vec<Self>> {
                use diesel::prelude::*;
                use $crate::store::schema::$table;
                static SELECT: $crate::store::select_list::SelectLists =
                    $crate::store::select_list::SelectLists::new();
                let columns = $crate::store::Columns::of::<Self>(conn.dialect());
                // `Self::as_select()`, as Diesel rendered it once for this backend.
                let mut query = $table::table
                    .select(SELECT.get::<Self>(conn.dialect())?)
                    .into_boxed();
                if let Some(predicate) = columns.all(&selection.conditions)? {
                    query = query.filter(predicate);
                }
                for (expr, direction) in &selection.order {
                    query = query.then_order_by(columns.ordering(expr, *direction)?);
                }
                if let Some(limit) = selection.limit {
                    query = query.limit(limit);
                }
                if let Some(offset) = selection.offset {
                    query = query.offset(offset);
                }
                let Some(max_bytes) = selection.max_bytes else {
                    return Ok(query.load(conn)?);
                };
                let mut rows = Vec::new();
                let mut bytes = 0usize;
                for row in query.load_iter::<Self, diesel::connection::DefaultLoadingMode>(conn)? {
                    // One row past the budget may be read: a look-ahead row that is not sent.
                    if bytes > max_bytes {
                        return Err($crate::store::StoreError::OverBudget(max_bytes));
                    }
                    let row = row?;
                    bytes = bytes.saturating_add($crate::store::ROW_OVERHEAD + row.weight());
                    rows.push(row);
                }
                Ok(rows)
            }

            fn weight(&self) -> usize {
                0 $(+ $crate::store::AsField::as_field(&self.$field).weight())*
            }

            fn count(
                conn: &mut $crate::store::Db,
                conditions: &[$crate::store::Condition],
            ) -> $crate::store::StoreResult<i64> {
                use diesel::prelude::*;
                use $crate::store::schema::$table;
                let columns = $crate::store::Columns::of::<Self>(conn.dialect());
                let mut query = $table::table.select(diesel::dsl::count_star()).into_boxed();
                if let Some(predicate) = columns.all(conditions)? {
                    query = query.filter(predicate);
                }
                Ok(query.get_result(conn)?)
            }

            fn insert(
                conn: &mut $crate::store::Db,
                rows: &[Self],
            ) -> $crate::store::StoreResult<usize> {
                use diesel::prelude::*;
                use $crate::store::schema::$table;
                let mut inserted = 0;
                match conn {
                    // The multi-backend has no batch insert; PostgreSQL's own connection runs
                    // one statement per chunk (each well under its 65,535 bound parameters).
                    $crate::store::Db::Postgres(pg) => {
                        for chunk in rows.chunks(1000) {
                            inserted += diesel::insert_into($table::table).values(chunk).execute(pg)?;
                        }
                    }
                    // SQLite runs in-process: one prepared statement per row costs little.
                    $crate::store::Db::Sqlite(sqlite) => {
                        for row in rows {
                            inserted += diesel::insert_into($table::table).values(row).execute(sqlite)?;
                        }
                    }
                }
                Ok(inserted)
            }

            fn update(
                conn: &mut $crate::store::Db,
                conditions: &[$crate::store::Condition],
                changes: &Self::Changes,
            ) -> $crate::store::StoreResult<usize> {
                use diesel::prelude::*;
                use $crate::store::schema::$table;
                let predicate = $crate::store::Columns::of::<Self>(conn.dialect())
                    .required(conditions, "an update")?;
                Ok(diesel::update($table::table)
                    .filter(predicate)
                    .set(changes)
                    .execute(conn)?)
            }

            fn delete(
                conn: &mut $crate::store::Db,
                conditions: &[$crate::store::Condition],
            ) -> $crate::store::StoreResult<usize> {
                use diesel::prelude::*;
                use $crate::store::schema::$table;
                let predicate = $crate::store::Columns::of::<Self>(conn.dialect())
                    .required(conditions, "a delete")?;
                Ok(diesel::delete($table::table.filter(predicate)).execute(conn)?)
            }
        }
    };
}
