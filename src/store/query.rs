//! Typed statements over the `table!` schema, for selections decided at run time: filters,
//! sorts and keyset conditions arrive as a small condition tree naming columns, and become
//! Diesel boxed expressions on the model's table. Only two things are written as SQL text, both
//! commented where they are built: one key of a JSON document (each backend has its own JSON
//! functions) and an attribute of a related row (a correlated subquery, so that one boxed query
//! type serves every sort and filter).

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::expression::expression_types::NotSelectable;
use diesel::expression::{is_aggregate, Expression, MixedAggregates, ValidGrouping};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::Table;
use diesel::{
    BoolExpressionMethods, BoxableExpression, ExpressionMethods, NullableExpressionMethods,
};

use super::first_per_group::FirstPerGroup;
use super::in_json_array::InJsonArray;
pub use super::selection::{Comparison, Condition, Expr, Selection};
use super::values::{ColumnKind, Direction, FromSqlValue, SqlValue};
use super::{Backend, Dialect, StoreError, StoreResult};

/// A boolean condition on table `T`.
pub type Predicate<T> = Box<dyn BoxableExpression<T, Backend, SqlType = Nullable<Bool>>>;
/// One key of an `ORDER BY` on table `T`.
pub type Ordering<T> = Box<dyn BoxableExpression<T, Backend, SqlType = NotSelectable>>;

type Boxed<T, ST> = Box<dyn BoxableExpression<T, Backend, SqlType = ST>>;

/// A column (or computed value) of table `T`, with its SQL type.
pub enum TypedColumn<T> {
    Text(Boxed<T, Text>),
    NullableText(Boxed<T, Nullable<Text>>),
    BigInt(Boxed<T, BigInt>),
    NullableBigInt(Boxed<T, Nullable<BigInt>>),
    Bool(Boxed<T, Bool>),
    Timestamp(Boxed<T, Timestamp>),
    NullableTimestamp(Boxed<T, Nullable<Timestamp>>),
}

/// Boxes a typed expression into the [`TypedColumn`] variant of its SQL type, and names the
/// Rust type its values take.
pub trait ColumnSqlType: Sized {
    type Value: FromSqlValue;

    fn typed<T, C>(column: C) -> TypedColumn<T>
    where
        C: Expression<SqlType = Self> + BoxableExpression<T, Backend> + 'static;
}

macro_rules! column_sql_type {
    ($($sql_type:ty => $variant:ident, $value:ty;)*) => {$(
        impl ColumnSqlType for $sql_type {
            type Value = $value;

            fn typed<T, C>(column: C) -> TypedColumn<T>
            where
                C: Expression<SqlType = Self> + BoxableExpression<T, Backend> + 'static,
            {
                TypedColumn::$variant(Box::new(column))
            }
        }
    )*};
}

column_sql_type! {
    Text => Text, String;
    Nullable<Text> => NullableText, String;
    BigInt => BigInt, i64;
    Nullable<BigInt> => NullableBigInt, i64;
    Bool => Bool, bool;
    Timestamp => Timestamp, NaiveDateTime;
    Nullable<Timestamp> => NullableTimestamp, NaiveDateTime;
}

/// `column` of table `T` as a [`TypedColumn`].
pub fn typed<T, C>(column: C) -> TypedColumn<T>
where
    C: Expression + BoxableExpression<T, Backend> + 'static,
    C::SqlType: ColumnSqlType,
{
    <C::SqlType as ColumnSqlType>::typed(column)
}

/// The values of an `IN` list, as the Rust type of the column they meet.
pub fn values_of<V: FromSqlValue>(values: &[SqlValue]) -> StoreResult<Vec<V>> {
    values
        .iter()
        .map(|value| {
            V::from_sql_value(value.clone())
                .ok_or_else(|| StoreError::Decode(format!("{value:?} does not fit the column")))
        })
        .collect()
}

/// Boxes a boolean expression (nullable or not) as a [`Predicate`].
pub trait PredicateSqlType: Sized {
    fn boxed<T, E>(expression: E) -> Predicate<T>
    where
        T: Table + 'static,
        E: Expression<SqlType = Self> + BoxableExpression<T, Backend> + Grouped + 'static;
}

/// What a boxed condition's parts must be: neither aggregate nor grouped.
pub trait Grouped: ValidGrouping<(), IsAggregate = Self::Aggregate> {
    type Aggregate: MixedAggregates<is_aggregate::No, Output = is_aggregate::No>;
}

impl<E> Grouped for E
where
    E: ValidGrouping<()>,
    E::IsAggregate: MixedAggregates<is_aggregate::No, Output = is_aggregate::No>,
{
    type Aggregate = E::IsAggregate;
}

impl PredicateSqlType for Bool {
    fn boxed<T, E>(expression: E) -> Predicate<T>
    where
        T: Table + 'static,
        E: Expression<SqlType = Self> + BoxableExpression<T, Backend> + Grouped + 'static,
    {
        Box::new(expression.nullable())
    }
}

impl PredicateSqlType for Nullable<Bool> {
    fn boxed<T, E>(expression: E) -> Predicate<T>
    where
        T: Table + 'static,
        E: Expression<SqlType = Self> + BoxableExpression<T, Backend> + Grouped + 'static,
    {
        Box::new(expression)
    }
}

pub fn predicate<T, E>(expression: E) -> Predicate<T>
where
    T: Table + 'static,
    E: Expression + BoxableExpression<T, Backend> + Grouped + 'static,
    E::SqlType: PredicateSqlType,
{
    <E::SqlType as PredicateSqlType>::boxed(expression)
}

diesel::define_sql_function! {
    /// SQLite's position of `needle` in `haystack` (1-based; 0 when absent). Case-sensitive.
    fn instr(haystack: Nullable<Text>, needle: Text) -> Nullable<Integer>;
}
diesel::define_sql_function! {
    /// PostgreSQL's position of `needle` in `haystack` (1-based; 0 when absent). Case-sensitive.
    fn strpos(haystack: Nullable<Text>, needle: Text) -> Nullable<Integer>;
}
diesel::define_sql_function! {
    /// The first of its arguments that is not NULL, on both backends.
    fn coalesce<ST: diesel::sql_types::SingleValue>(value: Nullable<ST>, otherwise: ST) -> ST;
}
diesel::define_sql_function! {
    /// The first `length` characters from `start` (1-based), on both backends.
    fn substr(text: Nullable<Text>, start: Integer, length: Integer) -> Nullable<Text>;
}

/// `column IN (…)` for a column of table `T` by name; `None` when there is no such column.
pub type AnyOf<T> = fn(&str, &[SqlValue]) -> Option<StoreResult<Predicate<T>>>;

/// Turns names into typed expressions of one table: the model's column lookup, its table's name
/// (for correlated subqueries) and the connection's dialect.
pub struct Columns<T> {
    pub lookup: fn(&str) -> Option<TypedColumn<T>>,
    /// `column IN (…)` for a column of the table, by name.
    pub any_of: AnyOf<T>,
    pub table: &'static str,
    pub dialect: Dialect,
}

fn quoted(name: &str) -> String {
    format!("\"{name}\"")
}

impl<T: Table + 'static> Columns<T> {
    /// The columns of model `M`'s table.
    pub fn of<M: super::Stored<Table = T>>(dialect: Dialect) -> Self {
        Columns {
            lookup: M::column,
            any_of: M::any_of,
            table: M::TABLE,
            dialect,
        }
    }

    fn column(&self, name: &str) -> StoreResult<TypedColumn<T>> {
        (self.lookup)(name)
            .ok_or_else(|| StoreError::Decode(format!("{} has no column {name}", self.table)))
    }

    pub fn expr(&self, expr: &Expr) -> StoreResult<TypedColumn<T>> {
        match expr {
            Expr::Column(name) => self.column(name),
            // A correlated subquery rather than a join: the boxed query keeps one type whatever
            // relationships a request sorts or filters across. Names are static identifiers.
            Expr::Related {
                table,
                foreign_key,
                column,
                kind,
            } => {
                let text = format!(
                    "(SELECT related.{} FROM {} AS related WHERE related.\"id\" = {}.{})",
                    quoted(column),
                    quoted(table),
                    quoted(self.table),
                    quoted(foreign_key)
                );
                Ok(match kind {
                    ColumnKind::Integer => {
                        TypedColumn::NullableBigInt(Box::new(sql::<Nullable<BigInt>>(&text)))
                    }
                    ColumnKind::Boolean => TypedColumn::Bool(Box::new(sql::<Bool>(&text))),
                    ColumnKind::Timestamp => {
                        TypedColumn::NullableTimestamp(Box::new(sql::<Nullable<Timestamp>>(&text)))
                    }
                    ColumnKind::Text | ColumnKind::Json => {
                        TypedColumn::NullableText(Box::new(sql::<Nullable<Text>>(&text)))
                    }
                })
            }
            // NULL ordered as the least value, the same on both backends.
            Expr::NullAsLeast(name) => Ok(match self.column(name)? {
                TypedColumn::NullableBigInt(column) => {
                    TypedColumn::BigInt(Box::new(coalesce(column, i64::MIN)))
                }
                TypedColumn::NullableTimestamp(column) => TypedColumn::Timestamp(Box::new(
                    coalesce(column, super::values::least_timestamp()),
                )),
                other => other,
            }),
            // Each backend reads a JSON key with its own functions; the key is a bound value.
            Expr::JsonKey { column, key } => {
                let column = format!("{}.{}", quoted(self.table), quoted(column));
                let text: Boxed<T, Nullable<Text>> = match self.dialect {
                    Dialect::Postgres => Box::new(
                        sql::<Nullable<Text>>(&format!("({column}::jsonb ->> "))
                            .bind::<Text, _>(key.clone())
                            .sql(")"),
                    ),
                    Dialect::Sqlite => {
                        // json_extract gives 1/0 for booleans; PostgreSQL's ->> true/false.
                        let path = format!("$.\"{key}\"");
                        Box::new(
                            sql::<Nullable<Text>>(&format!("(CASE json_type({column}, "))
                                .bind::<Text, _>(path.clone())
                                .sql(&format!(
                                    ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
                                     ELSE CAST(json_extract({column}, "
                                ))
                                .bind::<Text, _>(path)
                                .sql(") AS TEXT) END)"),
                        )
                    }
                };
                Ok(TypedColumn::NullableText(text))
            }
        }
    }

    pub fn ordering(&self, expr: &Expr, direction: Direction) -> StoreResult<Ordering<T>> {
        macro_rules! order {
            ($column:expr) => {
                match direction {
                    Direction::Ascending => Box::new($column.asc()) as Ordering<T>,
                    Direction::Descending => Box::new($column.desc()) as Ordering<T>,
                }
            };
        }
        Ok(match self.expr(expr)? {
            TypedColumn::Text(column) => order!(column),
            TypedColumn::NullableText(column) => order!(column),
            TypedColumn::BigInt(column) => order!(column),
            TypedColumn::NullableBigInt(column) => order!(column),
            TypedColumn::Bool(column) => order!(column),
            TypedColumn::Timestamp(column) => order!(column),
            TypedColumn::NullableTimestamp(column) => order!(column),
        })
    }

    /// Every condition, joined by AND; `None` for none.
    pub fn all(&self, conditions: &[Condition]) -> StoreResult<Option<Predicate<T>>> {
        let mut joined: Option<Predicate<T>> = None;
        for condition in conditions {
            let next = self.predicate(condition)?;
            joined = Some(match joined {
                Some(previous) => Box::new(previous.and(next)),
                None => next,
            });
        }
        Ok(joined)
    }

    /// Every condition, joined by AND, for a write that must never touch a whole table.
    pub fn required(&self, conditions: &[Condition], write: &str) -> StoreResult<Predicate<T>> {
        self.all(conditions)?
            .ok_or_else(|| StoreError::Decode(format!("{write} without a condition")))
    }

    pub fn predicate(&self, condition: &Condition) -> StoreResult<Predicate<T>> {
        match condition {
            Condition::Equals(column, value) => {
                self.compare(&Expr::Column(column), Comparison::Equal, value)
            }
            Condition::In(column, values) => self.any_of(&Expr::Column(column), values),
            Condition::Compare(expr, comparison, value) => self.compare(expr, *comparison, value),
            Condition::AnyOf(expr, values) => self.any_of(expr, values),
            Condition::Contains(expr, text) => {
                let haystack = self.text(expr)?;
                Ok(match self.dialect {
                    Dialect::Sqlite => predicate(instr(haystack, text.clone()).gt(0)),
                    Dialect::Postgres => predicate(strpos(haystack, text.clone()).gt(0)),
                })
            }
            Condition::StartsWith(expr, text) => {
                let length = i32::try_from(text.chars().count()).unwrap_or(i32::MAX);
                let prefix = substr(self.text(expr)?, 1, length);
                Ok(predicate(prefix.eq(text.clone())))
            }
            Condition::IsNull(expr, null) => {
                macro_rules! null_test {
                    ($column:expr) => {
                        if *null {
                            predicate($column.is_null())
                        } else {
                            predicate($column.is_not_null())
                        }
                    };
                }
                Ok(match self.expr(expr)? {
                    TypedColumn::NullableText(column) => null_test!(column),
                    TypedColumn::NullableTimestamp(column) => null_test!(column),
                    TypedColumn::Text(column) => null_test!(column.nullable()),
                    TypedColumn::BigInt(column) => null_test!(column.nullable()),
                    TypedColumn::NullableBigInt(column) => null_test!(column),
                    TypedColumn::Bool(column) => null_test!(column.nullable()),
                    TypedColumn::Timestamp(column) => null_test!(column.nullable()),
                })
            }
            Condition::RowCompare(exprs, comparison, values) => {
                self.row_compare(exprs, *comparison, values)
            }
            Condition::Any(conditions) => {
                let mut joined: Predicate<T> = predicate(sql::<Bool>("1 = 0"));
                for condition in conditions {
                    joined = Box::new(joined.or(self.predicate(condition)?));
                }
                Ok(joined)
            }
            Condition::All(conditions) => Ok(self
                .all(conditions)?
                .unwrap_or_else(|| predicate(sql::<Bool>("1 = 1")))),
            Condition::FirstPerGroup {
                group,
                values,
                scope,
                order,
                limit,
                budget,
            } => self.first_per_group(group, values, scope, order, *limit, budget.clone()),
        }
    }

    fn first_per_group(
        &self,
        group: &'static str,
        values: &[SqlValue],
        scope: &[Condition],
        order: &[(&'static str, Direction)],
        limit: i64,
        budget: Option<(Vec<&'static str>, i64)>,
    ) -> StoreResult<Predicate<T>> {
        // Every name is checked to be a column of this table before it goes into SQL.
        let weighed = budget
            .iter()
            .flat_map(|(columns, _)| columns.iter().copied());
        for name in std::iter::once(group)
            .chain(order.iter().map(|(column, _)| *column))
            .chain(weighed)
        {
            self.column(name)?;
        }
        let texts: Vec<&str> = values
            .iter()
            .map(|value| match value {
                SqlValue::Text(Some(text)) => Ok(text.as_str()),
                other => Err(mismatch(&Expr::Column(group), other)),
            })
            .collect::<StoreResult<_>>()?;
        let scope = scope
            .iter()
            .map(|condition| match condition {
                Condition::Equals(column, SqlValue::Text(Some(text))) => {
                    self.column(column)?;
                    Ok((*column, Some(text.clone())))
                }
                Condition::IsNull(Expr::Column(column), true) => {
                    self.column(column)?;
                    Ok((*column, None))
                }
                other => Err(StoreError::Decode(format!(
                    "{other:?} cannot scope a per-group limit"
                ))),
            })
            .collect::<StoreResult<_>>()?;
        Ok(predicate(FirstPerGroup {
            dialect: self.dialect,
            table: self.table,
            group,
            values: serde_json::to_string(&texts)
                .map_err(|error| StoreError::Decode(error.to_string()))?,
            scope,
            order: order.to_vec(),
            limit,
            // PostgreSQL's client library buffers a whole result, so the statement itself must
            // stop at the budget; SQLite hands rows over one at a time, and the load stops
            // there (weighing every candidate row in SQL would read them all).
            budget: budget.filter(|_| self.dialect == Dialect::Postgres),
        }))
    }

    /// A text expression for the string functions, nullable or not.
    fn text(&self, expr: &Expr) -> StoreResult<Boxed<T, Nullable<Text>>> {
        match self.expr(expr)? {
            TypedColumn::Text(column) => Ok(Box::new(column.nullable())),
            TypedColumn::NullableText(column) => Ok(column),
            _ => Err(StoreError::Decode(
                "a text test on a column that is not text".into(),
            )),
        }
    }

    fn compare(
        &self,
        expr: &Expr,
        comparison: Comparison,
        value: &SqlValue,
    ) -> StoreResult<Predicate<T>> {
        macro_rules! compare {
            ($column:expr, $value:expr) => {{
                let value = $value;
                match comparison {
                    Comparison::Equal => predicate($column.eq(value)),
                    Comparison::NotEqual => predicate($column.ne(value)),
                    Comparison::Less => predicate($column.lt(value)),
                    Comparison::LessOrEqual => predicate($column.le(value)),
                    Comparison::Greater => predicate($column.gt(value)),
                    Comparison::GreaterOrEqual => predicate($column.ge(value)),
                }
            }};
        }
        Ok(match (self.expr(expr)?, value) {
            (TypedColumn::Text(column), SqlValue::Text(Some(text))) => {
                compare!(column, text.clone())
            }
            (TypedColumn::NullableText(column), SqlValue::Text(Some(text))) => {
                compare!(column, text.clone())
            }
            (TypedColumn::BigInt(column), SqlValue::Integer(Some(number))) => {
                compare!(column, *number)
            }
            (TypedColumn::NullableBigInt(column), SqlValue::Integer(Some(number))) => {
                compare!(column, *number)
            }
            (TypedColumn::Bool(column), SqlValue::Bool(Some(flag))) => compare!(column, *flag),
            (TypedColumn::Timestamp(column), SqlValue::Timestamp(Some(time))) => {
                compare!(column, *time)
            }
            (TypedColumn::NullableTimestamp(column), SqlValue::Timestamp(Some(time))) => {
                compare!(column, *time)
            }
            (_, value) => return Err(mismatch(expr, value)),
        })
    }

    fn any_of(&self, expr: &Expr, values: &[SqlValue]) -> StoreResult<Predicate<T>> {
        // One value is an equality, which stays a cacheable prepared statement.
        if let [value] = values {
            return self.compare(expr, Comparison::Equal, value);
        }
        if values.is_empty() {
            return Ok(predicate(sql::<Bool>("1 = 0")));
        }
        let texts: Option<Vec<&str>> = values
            .iter()
            .map(|value| match value {
                SqlValue::Text(Some(text)) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        match (expr, texts) {
            (Expr::Column(name), Some(texts)) if self.dialect == Dialect::Sqlite => {
                // Checked to be a column of this table before its name goes into SQL.
                let column = match self.expr(expr)? {
                    TypedColumn::Text(_) | TypedColumn::NullableText(_) => *name,
                    _ => return Err(StoreError::Decode(format!("{name} is not text"))),
                };
                let values = serde_json::to_string(&texts)
                    .map_err(|error| StoreError::Decode(error.to_string()))?;
                Ok(predicate(InJsonArray::new(self.table, column, values)))
            }
            (Expr::Column(name), _) => (self.any_of)(name, values).unwrap_or_else(|| {
                Err(StoreError::Decode(format!(
                    "{} has no column {name}",
                    self.table
                )))
            }),
            // Any other expression: one equality per value.
            (_, _) => {
                let mut joined: Predicate<T> = predicate(sql::<Bool>("1 = 0"));
                for value in values {
                    joined = Box::new(joined.or(self.compare(expr, Comparison::Equal, value)?));
                }
                Ok(joined)
            }
        }
    }

    /// `(a, b) > (x, y)` as `a >= x AND (a > x OR (a = x AND b > y))`: the leading bound lets
    /// both backends answer from an index range.
    fn row_compare(
        &self,
        exprs: &[Expr],
        comparison: Comparison,
        values: &[SqlValue],
    ) -> StoreResult<Predicate<T>> {
        let (inclusive, strict) = match comparison {
            Comparison::Greater | Comparison::GreaterOrEqual => {
                (Comparison::GreaterOrEqual, Comparison::Greater)
            }
            Comparison::Less | Comparison::LessOrEqual => {
                (Comparison::LessOrEqual, Comparison::Less)
            }
            Comparison::Equal | Comparison::NotEqual => {
                return Err(StoreError::Decode("a row comparison needs an order".into()))
            }
        };
        let (Some(first), Some(first_value)) = (exprs.first(), values.first()) else {
            return Err(StoreError::Decode("an empty row comparison".into()));
        };
        let mut alternatives = Vec::new();
        for index in 0..exprs.len().min(values.len()) {
            let mut all: Vec<Condition> = exprs[..index]
                .iter()
                .zip(values)
                .map(|(expr, value)| {
                    Condition::Compare(expr.clone(), Comparison::Equal, value.clone())
                })
                .collect();
            all.push(Condition::Compare(
                exprs[index].clone(),
                strict,
                values[index].clone(),
            ));
            alternatives.push(Condition::All(all));
        }
        let leading = self.compare(first, inclusive, first_value)?;
        Ok(Box::new(
            leading.and(self.predicate(&Condition::Any(alternatives))?),
        ))
    }
}

fn mismatch(expr: &Expr, value: &SqlValue) -> StoreError {
    StoreError::Decode(format!("{expr:?} cannot be compared with {value:?}"))
}
