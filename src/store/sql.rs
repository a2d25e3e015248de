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

#[derive(Clone, Debug)]
pub enum Condition {
    Equals(&'static str, SqlValue),
    In(&'static str, Vec<SqlValue>),
}

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

    pub fn condition(&mut self, condition: Condition) -> &mut Self {
        match condition {
            Condition::Equals(column, value) => {
                self.ident(column).push(" = ").bind(value);
            }
            Condition::In(_, values) if values.is_empty() => {
                self.push("1 = 0");
            }
            Condition::In(column, values) => {
                self.ident(column).push(" IN (");
                for (index, value) in values.into_iter().enumerate() {
                    if index > 0 {
                        self.push(", ");
                    }
                    self.bind(value);
                }
                self.push(")");
            }
        }
        self
    }

    /// ` WHERE a AND b …`, or nothing for no conditions.
    pub fn where_all(&mut self, conditions: Vec<Condition>) -> &mut Self {
        for (index, condition) in conditions.into_iter().enumerate() {
            self.push(if index == 0 { " WHERE " } else { " AND " });
            self.condition(condition);
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

/// A `SELECT` over one table.
pub struct Select<'a> {
    pub table: &'static str,
    pub columns: &'a [Column],
    pub conditions: Vec<Condition>,
    pub order: Vec<(&'static str, Direction)>,
    pub limit: Option<i64>,
}

impl Select<'_> {
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
            sql.push("'")
                .push(column.name)
                .push("', ")
                .ident(column.name);
        }
        sql.push(")");
        if conn.dialect() == Dialect::Postgres {
            sql.push("::text");
        }
        sql.push(" AS row FROM ").ident(self.table);
        sql.where_all(self.conditions);
        for (index, (column, direction)) in self.order.iter().enumerate() {
            sql.push(if index == 0 { " ORDER BY " } else { ", " });
            sql.ident(column).push(match direction {
                Direction::Ascending => " ASC",
                Direction::Descending => " DESC",
            });
        }
        if let Some(limit) = self.limit {
            sql.push(" LIMIT ").bind(SqlValue::Integer(Some(limit)));
        }
        let columns = self.columns;
        sql.load_json(conn)?
            .into_iter()
            .map(|text| decode_row(columns, &text))
            .collect()
    }
}

pub fn insert(
    conn: &mut Db,
    table: &'static str,
    values: Vec<(&'static str, SqlValue)>,
) -> StoreResult<usize> {
    let mut sql = Sql::new(conn.dialect());
    sql.push("INSERT INTO ").ident(table).push(" (");
    for (index, (column, _)) in values.iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.ident(column);
    }
    sql.push(") VALUES (");
    for (index, (_, value)) in values.into_iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.bind(value);
    }
    sql.push(")");
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
