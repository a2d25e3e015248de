//! A small SQL builder over Diesel's boxed raw queries. Statements are built from static table and
//! column names (never from input) and every value is a bound parameter. Rows come back as one
//! JSON object each (`json_object` / `json_build_object`), so one decoder serves every table.

use chrono::{NaiveDateTime, SecondsFormat, TimeZone, Utc};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{Map, Value};

use super::{Db, Dialect, StoreError, StoreResult};

type Backend = <Db as diesel::Connection>::Backend;

/// A value bound to a statement parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Text(Option<String>),
    Integer(Option<i64>),
    Timestamp(Option<NaiveDateTime>),
}

impl SqlValue {
    pub fn text(value: impl Into<String>) -> Self {
        SqlValue::Text(Some(value.into()))
    }

    /// A NULL typed for its column: PostgreSQL refuses a text NULL in an integer column.
    pub fn null(kind: ColumnKind) -> Self {
        match kind {
            ColumnKind::Integer => SqlValue::Integer(None),
            ColumnKind::Timestamp => SqlValue::Timestamp(None),
            ColumnKind::Text | ColumnKind::Json => SqlValue::Text(None),
        }
    }
}

/// How a column is stored, which decides how its value is decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    /// UTC, microsecond precision; decoded as RFC 3339 with a `Z`.
    Timestamp,
    /// A JSON document stored as text; decoded into its JSON value.
    Json,
}

#[derive(Clone, Copy, Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// Something a condition or an ordering can refer to.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A column of the statement's own table.
    Column(&'static str),
    /// A column of a joined table, named by the join's alias.
    Joined {
        alias: &'static str,
        column: &'static str,
    },
    /// One key of a JSON-object text column, as text: strings bare, numbers as digits,
    /// booleans as `true`/`false`, on both backends.
    JsonKey { column: &'static str, key: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    fn sql(self) -> &'static str {
        match self {
            Comparison::Equal => " = ",
            Comparison::NotEqual => " <> ",
            Comparison::Less => " < ",
            Comparison::LessOrEqual => " <= ",
            Comparison::Greater => " > ",
            Comparison::GreaterOrEqual => " >= ",
        }
    }
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
    /// `(a, b, …) op (x, y, …)`: a keyset bound both backends serve from an index range.
    RowCompare(Vec<Expr>, Comparison, Vec<SqlValue>),
    /// At least one holds (an empty list holds never).
    Any(Vec<Condition>),
    /// All hold (an empty list holds always).
    All(Vec<Condition>),
}

/// `LEFT JOIN table AS alias ON alias.id = t.foreign_key`: a to-one relationship.
#[derive(Clone, Debug, PartialEq)]
pub struct Join {
    pub table: &'static str,
    pub alias: &'static str,
    pub foreign_key: &'static str,
}

/// The alias of a `SELECT`'s own table, so joined tables' columns never clash with it.
const BASE: &str = "t";

/// A decoded row: column name to JSON value.
pub type Row = Map<String, Value>;

/// A statement under construction with its bound values.
pub struct Sql {
    dialect: Dialect,
    text: String,
    binds: Vec<SqlValue>,
}

impl Sql {
    pub fn new(dialect: Dialect) -> Self {
        Sql {
            dialect,
            text: String::with_capacity(256),
            binds: Vec::new(),
        }
    }

    pub fn push(&mut self, fragment: &str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }

    /// A quoted identifier. Names come from static resource descriptions only.
    pub fn ident(&mut self, name: &str) -> &mut Self {
        self.text.push('"');
        self.text.push_str(name);
        self.text.push('"');
        self
    }

    pub fn bind(&mut self, value: SqlValue) -> &mut Self {
        self.binds.push(value);
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.binds.len().to_string());
            }
        }
        self
    }

    /// Renders an expression; `base` qualifies the own table's columns when the statement
    /// aliases it.
    fn expr(&mut self, expr: &Expr, base: Option<&str>) -> &mut Self {
        match expr {
            Expr::Column(column) => {
                if let Some(base) = base {
                    self.ident(base).push(".");
                }
                self.ident(column)
            }
            Expr::Joined { alias, column } => self.ident(alias).push(".").ident(column),
            Expr::JsonKey { column, key } => {
                let column = Expr::Column(column);
                match self.dialect {
                    Dialect::Postgres => {
                        self.push("(");
                        self.expr(&column, base).push("::jsonb ->> ");
                        self.bind(SqlValue::text(key.as_str())).push(")")
                    }
                    Dialect::Sqlite => {
                        // json_extract gives 1/0 for booleans; PostgreSQL's ->> gives true/false.
                        let path = format!("$.\"{key}\"");
                        self.push("(CASE json_type(");
                        self.expr(&column, base)
                            .push(", ")
                            .bind(SqlValue::text(path.as_str()));
                        self.push(") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(");
                        self.expr(&column, base)
                            .push(", ")
                            .bind(SqlValue::text(path));
                        self.push(") AS TEXT) END)")
                    }
                }
            }
        }
    }

    fn list(&mut self, values: Vec<SqlValue>) -> &mut Self {
        self.push("(");
        for (index, value) in values.into_iter().enumerate() {
            if index > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    fn condition(&mut self, condition: Condition, base: Option<&str>) -> &mut Self {
        match condition {
            Condition::Equals(column, value) => self.condition(
                Condition::Compare(Expr::Column(column), Comparison::Equal, value),
                base,
            ),
            Condition::In(column, values) => {
                self.condition(Condition::AnyOf(Expr::Column(column), values), base)
            }
            Condition::Compare(expr, comparison, value) => {
                self.expr(&expr, base).push(comparison.sql()).bind(value)
            }
            Condition::AnyOf(_, values) if values.is_empty() => self.push("1 = 0"),
            Condition::AnyOf(expr, values) => self.expr(&expr, base).push(" IN ").list(values),
            Condition::Contains(expr, text) => {
                let function = match self.dialect {
                    Dialect::Sqlite => "instr(",
                    Dialect::Postgres => "strpos(",
                };
                self.push(function);
                self.expr(&expr, base)
                    .push(", ")
                    .bind(SqlValue::text(text))
                    .push(") > 0")
            }
            Condition::StartsWith(expr, text) => {
                let function = match self.dialect {
                    Dialect::Sqlite => "substr(",
                    Dialect::Postgres => "substring(",
                };
                self.push(function);
                self.expr(&expr, base)
                    .push(", 1, length(")
                    .bind(SqlValue::text(text.as_str()));
                self.push(")) = ").bind(SqlValue::text(text))
            }
            Condition::RowCompare(exprs, comparison, values) => {
                self.push("(");
                for (index, expr) in exprs.iter().enumerate() {
                    if index > 0 {
                        self.push(", ");
                    }
                    self.expr(expr, base);
                }
                self.push(")").push(comparison.sql()).list(values)
            }
            Condition::IsNull(expr, true) => self.expr(&expr, base).push(" IS NULL"),
            Condition::IsNull(expr, false) => self.expr(&expr, base).push(" IS NOT NULL"),
            Condition::Any(conditions) => self.group(conditions, " OR ", "1 = 0", base),
            Condition::All(conditions) => self.group(conditions, " AND ", "1 = 1", base),
        }
    }

    fn group(
        &mut self,
        conditions: Vec<Condition>,
        joiner: &str,
        empty: &str,
        base: Option<&str>,
    ) -> &mut Self {
        if conditions.is_empty() {
            return self.push(empty);
        }
        self.push("(");
        for (index, condition) in conditions.into_iter().enumerate() {
            if index > 0 {
                self.push(joiner);
            }
            self.condition(condition, base);
        }
        self.push(")")
    }

    /// ` WHERE a AND b …`, or nothing for no conditions.
    pub fn where_all(&mut self, conditions: Vec<Condition>) -> &mut Self {
        self.where_in(conditions, None)
    }

    fn where_in(&mut self, conditions: Vec<Condition>, base: Option<&str>) -> &mut Self {
        for (index, condition) in conditions.into_iter().enumerate() {
            self.push(if index == 0 { " WHERE " } else { " AND " });
            self.condition(condition, base);
        }
        self
    }

    fn into_query(
        self,
    ) -> diesel::query_builder::BoxedSqlQuery<'static, Backend, diesel::query_builder::SqlQuery>
    {
        let mut query = diesel::sql_query(self.text).into_boxed::<Backend>();
        for value in self.binds {
            query = match value {
                SqlValue::Text(value) => query.bind::<Nullable<Text>, _>(value),
                SqlValue::Integer(value) => query.bind::<Nullable<BigInt>, _>(value),
                SqlValue::Timestamp(value) => query.bind::<Nullable<Timestamp>, _>(value),
            };
        }
        query
    }

    pub fn execute(self, conn: &mut Db) -> StoreResult<usize> {
        Ok(self.into_query().execute(conn)?)
    }

    /// Runs a statement whose single result column `row` holds a JSON object per row.
    fn load_json(self, conn: &mut Db) -> StoreResult<Vec<String>> {
        Ok(self
            .into_query()
            .load::<JsonRow>(conn)?
            .into_iter()
            .map(|row| row.row)
            .collect())
    }

    /// Runs a statement with a single integer result column `value`.
    pub fn load_integers(self, conn: &mut Db) -> StoreResult<Vec<i64>> {
        Ok(self
            .into_query()
            .load::<IntegerRow>(conn)?
            .into_iter()
            .map(|row| row.value)
            .collect())
    }
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct IntegerRow {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// A `SELECT` over one table (aliased `t`), optionally joined to the targets of to-one
/// relationships.
pub struct Select<'a> {
    table: &'static str,
    columns: &'a [Column],
    joins: Vec<Join>,
    conditions: Vec<Condition>,
    order: Vec<(Expr, Direction)>,
    limit: Option<i64>,
    offset: Option<i64>,
}

impl<'a> Select<'a> {
    pub fn from(table: &'static str, columns: &'a [Column]) -> Self {
        Select {
            table,
            columns,
            joins: Vec::new(),
            conditions: Vec::new(),
            order: Vec::new(),
            limit: None,
            offset: None,
        }
    }

    pub fn filter(mut self, condition: Condition) -> Self {
        self.conditions.push(condition);
        self
    }

    pub fn filters(mut self, conditions: impl IntoIterator<Item = Condition>) -> Self {
        self.conditions.extend(conditions);
        self
    }

    pub fn join(mut self, join: Join) -> Self {
        if !self.joins.contains(&join) {
            self.joins.push(join);
        }
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

    fn push_from(&self, sql: &mut Sql) {
        sql.push(" FROM ")
            .ident(self.table)
            .push(" AS ")
            .ident(BASE);
        for join in &self.joins {
            sql.push(" LEFT JOIN ")
                .ident(join.table)
                .push(" AS ")
                .ident(join.alias);
            sql.push(" ON ")
                .ident(join.alias)
                .push(".")
                .ident("id")
                .push(" = ");
            sql.ident(BASE).push(".").ident(join.foreign_key);
        }
    }

    pub fn load(self, conn: &mut Db) -> StoreResult<Vec<Row>> {
        let mut sql = Sql::new(conn.dialect());
        sql.push("SELECT ");
        sql.push(match conn.dialect() {
            Dialect::Sqlite => "json_object(",
            Dialect::Postgres => "json_build_object(",
        });
        for (index, column) in self.columns.iter().enumerate() {
            if index > 0 {
                sql.push(", ");
            }
            // Column names are static identifiers, safe to inline as JSON keys.
            sql.push("'").push(column.name).push("', ");
            sql.ident(BASE).push(".").ident(column.name);
        }
        sql.push(")");
        if conn.dialect() == Dialect::Postgres {
            sql.push("::text");
        }
        sql.push(" AS row");
        self.push_from(&mut sql);
        sql.where_in(self.conditions, Some(BASE));
        for (index, (expr, direction)) in self.order.iter().enumerate() {
            sql.push(if index == 0 { " ORDER BY " } else { ", " });
            sql.expr(expr, Some(BASE)).push(match direction {
                Direction::Ascending => " ASC",
                Direction::Descending => " DESC",
            });
        }
        if let Some(limit) = self.limit {
            sql.push(" LIMIT ").bind(SqlValue::Integer(Some(limit)));
        }
        if let Some(offset) = self.offset {
            sql.push(" OFFSET ").bind(SqlValue::Integer(Some(offset)));
        }
        let columns = self.columns;
        sql.load_json(conn)?
            .into_iter()
            .map(|text| decode_row(columns, &text))
            .collect()
    }

    /// How many rows match, ignoring order, limit and offset.
    pub fn count(self, conn: &mut Db) -> StoreResult<i64> {
        let mut sql = Sql::new(conn.dialect());
        sql.push("SELECT COUNT(*) AS value");
        self.push_from(&mut sql);
        sql.where_in(self.conditions, Some(BASE));
        Ok(sql.load_integers(conn)?.first().copied().unwrap_or(0))
    }
}

pub fn insert(
    conn: &mut Db,
    table: &'static str,
    values: Vec<(&'static str, SqlValue)>,
) -> StoreResult<usize> {
    let (columns, row): (Vec<&'static str>, Vec<SqlValue>) = values.into_iter().unzip();
    insert_many(conn, table, &columns, vec![row])
}

/// One `INSERT` of many rows, each with a value for every column, in column order.
pub fn insert_many(
    conn: &mut Db,
    table: &'static str,
    columns: &[&'static str],
    rows: Vec<Vec<SqlValue>>,
) -> StoreResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut sql = Sql::new(conn.dialect());
    sql.push("INSERT INTO ").ident(table).push(" (");
    for (index, column) in columns.iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.ident(column);
    }
    sql.push(") VALUES ");
    for (index, row) in rows.into_iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.list(row);
    }
    sql.execute(conn)
}

/// `UPDATE … WHERE` every condition holds; returns the rows changed.
/// `UPDATE … WHERE` every condition holds; returns the rows changed.
pub fn update(
    conn: &mut Db,
    table: &'static str,
    conditions: Vec<Condition>,
    values: Vec<(&'static str, SqlValue)>,
) -> StoreResult<usize> {
    let mut sql = Sql::new(conn.dialect());
    sql.push("UPDATE ").ident(table).push(" SET ");
    for (index, (column, value)) in values.into_iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.ident(column).push(" = ").bind(value);
    }
    sql.where_all(conditions);
    sql.execute(conn)
}

/// `DELETE … WHERE` every condition holds; returns the rows deleted.
pub fn delete(
    conn: &mut Db,
    table: &'static str,
    conditions: Vec<Condition>,
) -> StoreResult<usize> {
    let mut sql = Sql::new(conn.dialect());
    sql.push("DELETE FROM ").ident(table);
    sql.where_all(conditions);
    sql.execute(conn)
}

fn decode_row(columns: &[Column], text: &str) -> StoreResult<Row> {
    let mut raw: Row = serde_json::from_str(text).map_err(|e| StoreError::Decode(e.to_string()))?;
    let mut row = Row::with_capacity(columns.len());
    for column in columns {
        let value = raw.remove(column.name).unwrap_or(Value::Null);
        row.insert(column.name.to_string(), decode_value(column, value)?);
    }
    Ok(row)
}

fn decode_value(column: &Column, value: Value) -> StoreResult<Value> {
    match (column.kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (ColumnKind::Timestamp, Value::String(text)) => {
            let parsed = parse_stored_timestamp(&text).ok_or_else(|| {
                StoreError::Decode(format!("column {}: bad timestamp {text:?}", column.name))
            })?;
            Ok(Value::String(format_timestamp(parsed)))
        }
        (ColumnKind::Json, Value::String(text)) => serde_json::from_str(&text)
            .map_err(|e| StoreError::Decode(format!("column {}: {e}", column.name))),
        (_, value) => Ok(value),
    }
}

/// SQLite keeps Diesel's `YYYY-MM-DD HH:MM:SS.ffffff`; PostgreSQL's JSON uses a `T`.
fn parse_stored_timestamp(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
}

/// The one wire format for timestamps: RFC 3339, UTC, always six fractional digits.
pub fn format_timestamp(value: NaiveDateTime) -> String {
    Utc.from_utc_datetime(&value)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Both backends keep microseconds; truncating before storing makes them return the same value.
pub fn truncate_to_micros(value: NaiveDateTime) -> NaiveDateTime {
    use chrono::{DurationRound, Timelike};
    value
        .duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or_else(|_| value.with_nanosecond(0).unwrap_or(value))
}
