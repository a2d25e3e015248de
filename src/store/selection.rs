//! What a load asks for, named in terms of columns: conditions, an order and a window. The
//! handlers build these; [`super::query::Columns`] turns them into Diesel expressions on one
//! model's table.

use super::values::{ColumnKind, Direction, SqlValue};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// Something a condition or an ordering refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A column of the statement's own table.
    Column(&'static str),
    /// A column of the row that a to-one foreign key of the own table points at.
    Related {
        table: &'static str,
        foreign_key: &'static str,
        column: &'static str,
        kind: ColumnKind,
    },
    /// A nullable integer or timestamp column of the own table, NULL read as the least value of
    /// its kind ([`super::SqlValue::least`]), so that it orders alike on both backends.
    NullAsLeast(&'static str),
    /// One key of a JSON-object text column, as text: strings bare, numbers as digits,
    /// booleans as `true`/`false`, on both backends.
    JsonKey { column: &'static str, key: String },
}

#[derive(Clone, Debug)]
pub enum Condition {
    /// Shorthand: a column of the statement's own table equals a value.
    Equals(&'static str, SqlValue),
    /// Shorthand: a column of the statement's own table is one of the values.
    In(&'static str, Vec<SqlValue>),
    Compare(Expr, Comparison, SqlValue),
    AnyOf(Expr, Vec<SqlValue>),
    /// Case-sensitive substring test.
    Contains(Expr, String),
    /// Case-sensitive prefix test.
    StartsWith(Expr, String),
    IsNull(Expr, bool),
    /// `(a, b, …) op (x, y, …)` in the lexicographic sense: a keyset bound.
    RowCompare(Vec<Expr>, Comparison, Vec<SqlValue>),
    /// At least one holds (an empty list holds never).
    Any(Vec<Condition>),
    /// All hold (an empty list holds always).
    All(Vec<Condition>),
    /// The row is among the first `limit` of its group: rows whose `group` column is among
    /// `values`, counted in `order` among those that meet `scope` (equalities on text columns).
    FirstPerGroup {
        group: &'static str,
        values: Vec<SqlValue>,
        scope: Vec<Condition>,
        order: Vec<(&'static str, Direction)>,
        limit: i64,
        /// Text columns to weigh, and the most the rows kept may weigh before the last one.
        budget: Option<(Vec<&'static str>, i64)>,
    },
}

/// What a load asks for: conditions, an order, and a window.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub conditions: Vec<Condition>,
    pub order: Vec<(Expr, Direction)>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// The most the loaded rows may weigh (see [`super::Stored::weight`]).
    pub max_bytes: Option<usize>,
}

impl Selection {
    pub fn filter(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }

    pub fn filters(mut self, conditions: impl IntoIterator<Item = Condition>) -> Self {
        self.conditions.extend(conditions);
        self
    }

    pub fn order_by(mut self, expr: Expr, direction: Direction) -> Self {
        self.order.push((expr, direction));
        self
    }

    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: i64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub fn max_bytes(mut self, max_bytes: Option<usize>) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}
