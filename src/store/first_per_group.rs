//! The first rows of each group: "at most N items per conversation" in one statement.
//!
//! Diesel has `row_number()`, but only in a select list, and neither derived tables to filter
//! on it nor `LATERAL`, so this is a small typed expression of our own, written per backend.
//! PostgreSQL reads at most N index entries per group, through a lateral subquery per group:
//!
//! ```sql
//! "t"."id" IN (SELECT "id" FROM (
//!     SELECT "kept".* FROM jsonb_array_elements_text(CAST(? AS jsonb)) AS "parents"("value")
//!     CROSS JOIN LATERAL (SELECT "id" FROM "t" WHERE "g" = "parents"."value" AND "scope" = ?
//!                         ORDER BY "a" ASC, "id" ASC LIMIT ?) AS "kept"
//! ) AS "kept")
//! ```
//!
//! SQLite has no `LATERAL`: it ranks each group's rows with a window and keeps the first N:
//!
//! ```sql
//! +"t"."id" IN (SELECT "id" FROM (SELECT * FROM (
//!     SELECT "id", ROW_NUMBER() OVER (PARTITION BY "g" ORDER BY "a" ASC, "id" ASC) AS "rank"
//!     FROM "t" WHERE "g" IN (SELECT value FROM json_each(?)) AND +"scope" = ?
//! ) AS "ranked" WHERE "rank" <= ?) AS "kept")
//! ```
//!
//! With a byte budget, the kept rows also carry their weight (`octet_length` of the text
//! columns), and a running total over them, in the order they are sent, stops the list once
//! the rows before one already weigh more than the budget.
//!
//! The values are bound as one JSON array, so each backend keeps one prepared statement for any
//! number of groups. The inner statement reads only the key, the group, the order columns and
//! the lengths: rows past the limit are never decoded.

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
    /// Conditions every counted row meets: a text column's equality (the tenant), or, with
    /// no value, a column's being NULL (not soft-deleted).
    pub(super) scope: Vec<(&'static str, Option<String>)>,
    pub(super) order: Vec<(&'static str, Direction)>,
    pub(super) limit: i64,
    /// Text columns whose bytes count, and the most the kept rows may weigh: rows are kept, in
    /// (group, order), while those before them weigh at most this much.
    pub(super) budget: Option<(Vec<&'static str>, i64)>,
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
        if self.dialect == Dialect::Sqlite {
            // Unary plus keeps SQLite from driving the statement by primary-key lookups, which
            // then sorts whole rows in a temporary tree before the first one is returned; the
            // group's index gives the rows already in order, one at a time.
            out.push_sql("+");
        }
        out.push_identifier(self.table)?;
        out.push_sql(".\"id\" IN (SELECT \"id\" FROM (");
        match &self.budget {
            Some((columns, max_bytes)) => {
                // A running total of the kept rows' weight, in the order they are sent.
                out.push_sql("SELECT \"id\", SUM(\"weight\") OVER (ORDER BY ");
                self.push_order(&mut out, true)?;
                out.push_sql(" ROWS UNBOUNDED PRECEDING) - \"weight\" AS \"before\" FROM (");
                self.push_kept(&mut out, columns)?;
                out.push_sql(") AS \"kept\") AS \"summed\" WHERE \"before\" <= ");
                out.push_bind_param::<BigInt, _>(max_bytes)?;
                out.push_sql(")");
            }
            None => {
                self.push_kept(&mut out, &[])?;
                out.push_sql(") AS \"kept\")");
            }
        }
        Ok(())
    }
}

impl FirstPerGroup {
    /// `"group", "a" ASC, "id" ASC` (with the group) or `"a" ASC, "id" ASC`.
    fn push_order<DB: diesel::backend::Backend>(
        &self,
        out: &mut AstPass<'_, '_, DB>,
        with_group: bool,
    ) -> QueryResult<()> {
        if with_group {
            out.push_identifier(self.group)?;
            out.push_sql(", ");
        }
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
        Ok(())
    }

    /// A statement of at most `limit` rows of each group: their ids, and, when weighed, their
    /// group, order columns and weight.
    fn push_kept<'b, DB>(
        &'b self,
        out: &mut AstPass<'_, 'b, DB>,
        weighed: &[&'static str],
    ) -> QueryResult<()>
    where
        DB: diesel::backend::Backend + HasSqlType<Text> + HasSqlType<BigInt>,
        String: ToSql<Text, DB>,
        i64: ToSql<BigInt, DB>,
    {
        match self.dialect {
            Dialect::Postgres => {
                out.push_sql("SELECT \"kept\".* FROM jsonb_array_elements_text(CAST(");
                out.push_bind_param::<Text, _>(&self.values)?;
                out.push_sql(" AS jsonb)) AS \"parents\"(\"value\") CROSS JOIN LATERAL (");
                self.push_columns(out, weighed)?;
                self.push_from_group(out)?;
                out.push_sql(" = \"parents\".\"value\"");
                self.push_scope(out)?;
                out.push_sql(" ORDER BY ");
                self.push_order(out, false)?;
                out.push_sql(" LIMIT ");
                out.push_bind_param::<BigInt, _>(&self.limit)?;
                out.push_sql(") AS \"kept\"");
            }
            Dialect::Sqlite => {
                out.push_sql("SELECT * FROM (");
                self.push_columns(out, weighed)?;
                out.push_sql(", ROW_NUMBER() OVER (PARTITION BY ");
                out.push_identifier(self.group)?;
                out.push_sql(" ORDER BY ");
                self.push_order(out, false)?;
                out.push_sql(") AS \"rank\"");
                self.push_from_group(out)?;
                out.push_sql(" IN (SELECT value FROM json_each(");
                out.push_bind_param::<Text, _>(&self.values)?;
                out.push_sql("))");
                self.push_scope(out)?;
                out.push_sql(") AS \"ranked\" WHERE \"rank\" <= ");
                out.push_bind_param::<BigInt, _>(&self.limit)?;
            }
        }
        Ok(())
    }

    /// ` FROM "table" WHERE "group"`: the condition on the group follows.
    fn push_from_group<DB: diesel::backend::Backend>(
        &self,
        out: &mut AstPass<'_, '_, DB>,
    ) -> QueryResult<()> {
        out.push_sql(" FROM ");
        out.push_identifier(self.table)?;
        out.push_sql(" WHERE ");
        out.push_identifier(self.group)
    }

    /// `SELECT "id"`, and, when weighed, the group, the order columns and the row's weight.
    fn push_columns<DB: diesel::backend::Backend>(
        &self,
        out: &mut AstPass<'_, '_, DB>,
        weighed: &[&'static str],
    ) -> QueryResult<()> {
        out.push_sql("SELECT \"id\"");
        if weighed.is_empty() {
            return Ok(());
        }
        out.push_sql(", ");
        out.push_identifier(self.group)?;
        for (column, _) in &self.order {
            if *column != "id" && *column != self.group {
                out.push_sql(", ");
                out.push_identifier(column)?;
            }
        }
        out.push_sql(", 0");
        for column in weighed {
            out.push_sql(" + COALESCE(octet_length(");
            out.push_identifier(column)?;
            out.push_sql("), 0)");
        }
        out.push_sql(" AS \"weight\"");
        Ok(())
    }

    /// ` AND "column" = ?` for each scope condition (or ` IS NULL`).
    fn push_scope<'b, DB>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        DB: diesel::backend::Backend + HasSqlType<Text>,
        String: ToSql<Text, DB>,
    {
        for (column, value) in &self.scope {
            // As above: the scope (the tenant) must not pull SQLite off the group's index, which
            // it would without statistics, then sorting every row of the tenant.
            out.push_sql(if self.dialect == Dialect::Sqlite {
                " AND +"
            } else {
                " AND "
            });
            out.push_identifier(column)?;
            match value {
                Some(value) => {
                    out.push_sql(" = ");
                    out.push_bind_param::<Text, _>(value)?;
                }
                None => out.push_sql(" IS NULL"),
            }
        }
        Ok(())
    }
}
