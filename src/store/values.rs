//! Values as the store binds and returns them: the dynamic `SqlValue` that filters, cursors and
//! request documents produce, JSON documents kept as text, and the one timestamp format.

use std::io::Write;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Text, Timestamp};

use super::Backend;

/// A value bound to a statement parameter, typed like the column it meets.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Text(Option<String>),
    Integer(Option<i64>),
    Timestamp(Option<NaiveDateTime>),
    Bool(Option<bool>),
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
            ColumnKind::Boolean => SqlValue::Bool(None),
            ColumnKind::Text | ColumnKind::Json => SqlValue::Text(None),
        }
    }

    /// What a NULL of a nullable integer or timestamp column orders as: below every value, on
    /// both backends alike (SQLite puts NULLs first, PostgreSQL last).
    pub fn least(kind: ColumnKind) -> Option<Self> {
        match kind {
            ColumnKind::Integer => Some(SqlValue::Integer(Some(i64::MIN))),
            ColumnKind::Timestamp => Some(SqlValue::Timestamp(Some(least_timestamp()))),
            _ => None,
        }
    }
}

/// The least timestamp both backends store and order alike: 0001-01-01T00:00:00.
pub fn least_timestamp() -> NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

/// How a column is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    /// UTC, microsecond precision.
    Timestamp,
    Boolean,
    /// A JSON document stored as text.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// A JSON document stored as text, exactly as it was serialised on the way in, so it can be
/// written into a response without being parsed again.
#[derive(Clone, Debug, Default, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct JsonText(pub String);

// For every backend, the multi-backend's and each of the ones it dispatches to: text as text.
impl<DB> ToSql<Text, DB> for JsonText
where
    DB: diesel::backend::Backend,
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <str as ToSql<Text, DB>>::to_sql(self.0.as_str(), out)
    }
}

impl<DB> FromSql<Text, DB> for JsonText
where
    DB: diesel::backend::Backend,
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        <String as FromSql<Text, DB>>::from_sql(bytes).map(JsonText)
    }
}

/// A UTC timestamp column. It reads SQLite's stored text (`YYYY-MM-DD HH:MM:SS.ffffff`, as
/// Diesel writes it) digit by digit rather than through chrono's format-string parser, which
/// was the largest single cost of loading rows; anything else falls back to chrono.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow,
)]
#[diesel(sql_type = Timestamp)]
pub struct UtcTime(pub NaiveDateTime);

impl<DB> ToSql<Timestamp, DB> for UtcTime
where
    DB: diesel::backend::Backend,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, DB>>::to_sql(&self.0, out)
    }
}

impl FromSql<Timestamp, Backend> for UtcTime {
    fn from_sql(
        bytes: <Backend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Timestamp>()
    }
}

impl FromSql<Timestamp, diesel::sqlite::Sqlite> for UtcTime {
    fn from_sql(mut value: diesel::sqlite::SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = value.read_text();
        match parse_stored_timestamp(text) {
            Some(time) => Ok(UtcTime(time)),
            None => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
                .map(UtcTime)
                .map_err(|error| format!("invalid timestamp {text:?}: {error}").into()),
        }
    }
}

impl FromSql<Timestamp, diesel::pg::Pg> for UtcTime {
    fn from_sql(value: diesel::pg::PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, diesel::pg::Pg>>::from_sql(value).map(UtcTime)
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1 to 9 fractional digits; `None` for anything
/// else.
fn parse_stored_timestamp(text: &str) -> Option<NaiveDateTime> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes[range].iter().try_fold(0u32, |total, byte| {
            byte.is_ascii_digit()
                .then(|| total * 10 + u32::from(byte - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(index, byte)| bytes[index] != byte)
        || !matches!(bytes[10], b' ' | b'T')
    {
        return None;
    }
    let mut nanos = 0u32;
    if bytes.len() > 19 {
        let fraction = &bytes[20..];
        if bytes[19] != b'.' || fraction.is_empty() || fraction.len() > 9 {
            return None;
        }
        for (index, byte) in fraction.iter().enumerate() {
            if !byte.is_ascii_digit() {
                return None;
            }
            nanos += u32::from(byte - b'0') * 10u32.pow(8 - index as u32);
        }
    }
    chrono::NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?
        .and_hms_nano_opt(number(11..13)?, number(14..16)?, number(17..19)?, nanos)
}

/// Takes a dynamic value into a model's field; `None` when the kinds differ.
pub trait FromSqlValue: Sized {
    fn from_sql_value(value: SqlValue) -> Option<Self>;
}

impl FromSqlValue for String {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        match value {
            SqlValue::Text(Some(text)) => Some(text),
            _ => None,
        }
    }
}

impl FromSqlValue for Option<String> {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        match value {
            SqlValue::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl FromSqlValue for JsonText {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        String::from_sql_value(value).map(JsonText)
    }
}

impl FromSqlValue for i64 {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        match value {
            SqlValue::Integer(Some(number)) => Some(number),
            _ => None,
        }
    }
}

impl FromSqlValue for Option<i64> {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        match value {
            SqlValue::Integer(number) => Some(number),
            _ => None,
        }
    }
}

impl FromSqlValue for bool {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        match value {
            SqlValue::Bool(Some(flag)) => Some(flag),
            _ => None,
        }
    }
}

impl FromSqlValue for NaiveDateTime {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        match value {
            SqlValue::Timestamp(Some(time)) => Some(time),
            _ => None,
        }
    }
}

impl FromSqlValue for UtcTime {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        NaiveDateTime::from_sql_value(value).map(UtcTime)
    }
}

impl FromSqlValue for Option<UtcTime> {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        Option::<NaiveDateTime>::from_sql_value(value).map(|time| time.map(UtcTime))
    }
}

impl FromSqlValue for Option<NaiveDateTime> {
    fn from_sql_value(value: SqlValue) -> Option<Self> {
        match value {
            SqlValue::Timestamp(time) => Some(time),
            _ => None,
        }
    }
}

/// The one wire format for timestamps: RFC 3339, UTC, always six fractional digits
/// (`2025-01-01T00:00:04.000000Z`), written digit by digit without a format string.
pub fn write_timestamp(out: &mut Vec<u8>, value: NaiveDateTime) {
    let year = value.year();
    if !(0..=9999).contains(&year) {
        // Outside RFC 3339's four-digit years: chrono's own rendering, as before.
        let text = DateTime::<chrono::Utc>::from_naive_utc_and_offset(value, chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let micros = value.nanosecond() % 1_000_000_000 / 1_000;
    push_digits(out, year as u32, 4);
    out.push(b'-');
    push_digits(out, value.month(), 2);
    out.push(b'-');
    push_digits(out, value.day(), 2);
    out.push(b'T');
    push_digits(out, value.hour(), 2);
    out.push(b':');
    push_digits(out, value.minute(), 2);
    out.push(b':');
    // A leap second is kept in the nanoseconds (second 59 + 1 s), as chrono writes it.
    push_digits(out, value.second() + value.nanosecond() / 1_000_000_000, 2);
    out.push(b'.');
    push_digits(out, micros, 6);
    out.push(b'Z');
}

/// `number` in exactly `width` decimal digits (at most six), zero-padded.
fn push_digits(out: &mut Vec<u8>, number: u32, width: usize) {
    let mut buffer = [b'0'; 6];
    let mut rest = number;
    for slot in buffer[..width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.extend_from_slice(&buffer[..width]);
}

/// [`write_timestamp`] into a new string.
pub fn format_timestamp(value: NaiveDateTime) -> String {
    let mut out = Vec::with_capacity(27);
    write_timestamp(&mut out, value);
    String::from_utf8(out).unwrap_or_default()
}

/// Both backends keep microseconds; truncating before storing makes them return the same value.
pub fn truncate_to_micros(value: NaiveDateTime) -> NaiveDateTime {
    use chrono::DurationRound;
    value
        .duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or_else(|_| value.with_nanosecond(0).unwrap_or(value))
}

/// Writes formatted text into a byte buffer (for numbers in documents).
pub fn write_display(out: &mut Vec<u8>, value: impl std::fmt::Display) {
    let _ = write!(out, "{value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{SecondsFormat, TimeZone, Utc};

    #[test]
    fn stored_timestamps_parse_as_chrono_parses_them() {
        for text in [
            "2025-01-01 00:00:04",
            "2025-01-01 00:00:04.5",
            "2026-11-21 08:07:06.000123",
            "1999-12-31T23:59:59.999999999",
        ] {
            let expected = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
                .ok();
            assert_eq!(parse_stored_timestamp(text), expected, "{text}");
        }
        for text in [
            "2025-01-01",
            "2025-13-01 00:00:00",
            "2025-01-01 00:00:00.",
            "x025-01-01 00:00:00",
        ] {
            assert_eq!(parse_stored_timestamp(text), None, "{text}");
        }
    }

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        for text in [
            "2025-01-01T00:00:04Z",
            "1999-12-31T23:59:59.999999Z",
            "2026-11-21T08:07:06.000123Z",
            "0001-02-03T04:05:06.7Z",
        ] {
            let time = DateTime::parse_from_rfc3339(text).map(|t| t.naive_utc());
            let time = time.expect("valid");
            let expected = Utc
                .from_utc_datetime(&time)
                .to_rfc3339_opts(SecondsFormat::Micros, true);
            assert_eq!(format_timestamp(time), expected);
        }
    }
}
