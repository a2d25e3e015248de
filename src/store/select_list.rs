//! A model's select list, rendered by Diesel once per backend and reused by every load.
//!
//! Through the multi-backend connection, a boxed statement's SQL is rendered again on every
//! execution (to find its prepared statement in the cache, then once more while binding), and
//! each table-qualified column costs two identifier allocations each time. The select list is
//! most of that text (up to 27 columns), and it never changes: [`SelectLists`] keeps the text
//! Diesel renders from the model's own `Selectable` expression, and [`RenderedSelect`] puts it
//! back into a statement with the SQL type of the model's columns, which its `Queryable` decodes
//! in the same order. Nothing here is written by hand: the text is Diesel's.

use std::marker::PhantomData;
use std::sync::OnceLock;

use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::pg::{Pg, PgQueryBuilder};
use diesel::query_builder::{AstPass, QueryBuilder, QueryFragment, QueryId};
use diesel::sqlite::{Sqlite, SqliteQueryBuilder};
use diesel::{QueryResult, Selectable, SelectableHelper};

use super::Dialect;
use super::MultiBackend as Backend;

/// `Model::as_select()`, from text Diesel rendered for this backend before.
pub struct RenderedSelect<M> {
    sql: &'static str,
    model: PhantomData<fn() -> M>,
}

/// The SQL type of the model's columns (the tuple that `Queryable` decodes).
type ColumnsOf<M> = <<M as Selectable<Backend>>::SelectExpression as Expression>::SqlType;

impl<M: Selectable<Backend>> Expression for RenderedSelect<M> {
    type SqlType = ColumnsOf<M>;
}

impl<M: Selectable<Backend>, QS> AppearsOnTable<QS> for RenderedSelect<M> where
    <M as Selectable<Backend>>::SelectExpression: AppearsOnTable<QS>
{
}

impl<M: Selectable<Backend>, QS> SelectableExpression<QS> for RenderedSelect<M> where
    <M as Selectable<Backend>>::SelectExpression: SelectableExpression<QS>
{
}

impl<M> ValidGrouping<()> for RenderedSelect<M> {
    type IsAggregate = is_aggregate::Never;
}

impl<M> QueryId for RenderedSelect<M> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<M, DB: diesel::backend::Backend> QueryFragment<DB> for RenderedSelect<M> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

/// One model's select list per backend, rendered on first use.
pub struct SelectLists {
    sqlite: OnceLock<String>,
    postgres: OnceLock<String>,
}

impl SelectLists {
    #[allow(clippy::new_without_default)] // a `static` initialiser: `Default` is not const
    pub const fn new() -> Self {
        SelectLists {
            sqlite: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    /// `M::as_select()` for `dialect`, as Diesel renders it there.
    pub fn get<M>(&'static self, dialect: Dialect) -> QueryResult<RenderedSelect<M>>
    where
        M: SelectableHelper<Sqlite> + SelectableHelper<Pg>,
        <M as diesel::Selectable<Sqlite>>::SelectExpression: QueryFragment<Sqlite>,
        <M as diesel::Selectable<Pg>>::SelectExpression: QueryFragment<Pg>,
    {
        let sql = match dialect {
            Dialect::Sqlite => once(&self.sqlite, || {
                let mut builder = SqliteQueryBuilder::new();
                <M as SelectableHelper<Sqlite>>::as_select().to_sql(&mut builder, &Sqlite)?;
                Ok(builder.finish())
            })?,
            Dialect::Postgres => once(&self.postgres, || {
                let mut builder = PgQueryBuilder::default();
                <M as SelectableHelper<Pg>>::as_select().to_sql(&mut builder, &Pg)?;
                Ok(builder.finish())
            })?,
        };
        Ok(RenderedSelect {
            sql,
            model: PhantomData,
        })
    }
}

/// The cell's text, rendering it first if no one has.
fn once(
    cell: &'static OnceLock<String>,
    render: impl FnOnce() -> QueryResult<String>,
) -> QueryResult<&'static str> {
    if let Some(sql) = cell.get() {
        return Ok(sql);
    }
    let sql = render()?;
    Ok(cell.get_or_init(|| sql))
}
