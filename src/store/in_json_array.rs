//! One cacheable statement for `IN` lists on SQLite.

use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType, Text};
use diesel::QueryResult;

/// `table.column IN (SELECT value FROM json_each(?))`, the values bound as one JSON array of
/// strings: SQLite keeps one prepared statement for any number of values, where `IN (?, ?, …)`
/// is a new statement, parsed again, for every list. A small typed expression of our own:
/// Diesel's `sql()` literals are never cached. SQLite only (PostgreSQL's `= ANY($1)` already is).
#[derive(Clone, Debug)]
pub struct InJsonArray {
    table: &'static str,
    column: &'static str,
    values: String,
}

impl InJsonArray {
    /// `values` is a JSON array of strings; `table` and `column` are static identifiers.
    pub fn new(table: &'static str, column: &'static str, values: String) -> Self {
        InJsonArray {
            table,
            column,
            values,
        }
    }
}

impl Expression for InJsonArray {
    type SqlType = Bool;
}

impl<T> AppearsOnTable<T> for InJsonArray {}

impl<T> SelectableExpression<T> for InJsonArray {}

impl ValidGrouping<()> for InJsonArray {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for InJsonArray {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for InJsonArray
where
    DB: diesel::backend::Backend + HasSqlType<Text>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_identifier(self.table)?;
        out.push_sql(".");
        out.push_identifier(self.column)?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.values)?;
        out.push_sql("))");
        Ok(())
    }
}
