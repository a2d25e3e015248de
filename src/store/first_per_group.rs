//! The first rows of each group: "at most N items per conversation" in one statement.
//!
//! Diesel has `row_number()`, but only in a select list, and no derived tables to filter on it,
//! so this is a small typed expression of our own, written per backend:
//!
//! ```sql
//! "t"."id" IN (SELECT "id" FROM (
//!     SELECT "id", ROW_NUMBER() OVER (PARTITION BY "g" ORDER BY "a" ASC, "id" ASC) AS "rank"
//!     FROM "t" WHERE "g" IN (<the values>) AND "scope" = ?
//! ) AS "ranked" WHERE "rank" <= ?)
//! ```
//!
//! The values are bound as one JSON array, so each backend keeps one prepared statement for any
//! number of groups. The inner statement reads only the key, the group and the order columns,
//! which an index on (group, order) covers: rows past the limit are never decoded.

use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Text};
use diesel::QueryResult;

use super::values::Direction;
use super::Dialect;

#[derive(Clone, Debug)]
pub struct FirstPerGroup {
    pub(super) dialect: Dialect,
    pub(super) table: &'static str,
    pub(super) group: &'static str,
    /// A JSON array of the group values (strings).
    pub(super) values: String,
    /// Equalities on text columns that every counted row meets (the tenant).
    pub(super) scope: Vec<(&'static str, String)>,
    pub(super) order: Vec<(&'static str, Direction)>,
    pub(super) limit: i64,
}

impl Expression for FirstPerGroup {
    type SqlType = Bool;
}

impl<T> AppearsOnTable<T> for FirstPerGroup {}

impl<T> SelectableExpression<T> for FirstPerGroup {}

impl ValidGrouping<()> for FirstPerGroup {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for FirstPerGroup {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for FirstPerGroup
where
    DB: diesel::backend::Backend + HasSqlType<Text> + HasSqlType<BigInt>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_identifier(self.table)?;
        out.push_sql(
            ".\"id\" IN (SELECT \"id\" FROM (SELECT \"id\", ROW_NUMBER() OVER (PARTITION BY ",
        );
        out.push_identifier(self.group)?;
        out.push_sql(" ORDER BY ");
        for (index, (column, direction)) in self.order.iter().enumerate() {
            if index > 0 {
                out.push_sql(", ");
            }
            out.push_identifier(column)?;
            out.push_sql(match direction {
                Direction::Ascending => " ASC",
                Direction::Descending => " DESC",
            });
        }
        if self.order.is_empty() {
            out.push_sql("\"id\"");
        }
        out.push_sql(") AS \"rank\" FROM ");
        out.push_identifier(self.table)?;
        out.push_sql(" WHERE ");
        out.push_identifier(self.group)?;
        match self.dialect {
            Dialect::Sqlite => {
                out.push_sql(" IN (SELECT value FROM json_each(");
                out.push_bind_param::<Text, _>(&self.values)?;
                out.push_sql("))");
            }
            Dialect::Postgres => {
                out.push_sql(" = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(");
                out.push_bind_param::<Text, _>(&self.values)?;
                out.push_sql(" AS jsonb))))");
            }
        }
        for (column, value) in &self.scope {
            out.push_sql(" AND ");
            out.push_identifier(column)?;
            out.push_sql(" = ");
            out.push_bind_param::<Text, _>(value)?;
        }
        out.push_sql(") AS \"ranked\" WHERE \"rank\" <= ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        out.push_sql(")");
        Ok(())
    }
}
