//! Reading request bodies as JSON, strictly: a member name repeated within one object is an
//! error that points at it, where `serde_json` alone would keep the last value silently.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::document::pointer_token;
use super::error::ApiError;

/// Where a value sits in the document, kept as a chain of parents and only written out as a
/// JSON Pointer when an error needs it.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Item(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(parent, name) => write!(f, "{parent}/{}", pointer_token(name)),
            Path::Item(parent, index) => write!(f, "{parent}/{index}"),
        }
    }
}

struct Strict<'a> {
    path: Path<'a>,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = items.next_element_seed(Strict {
            path: Path::Item(&self.path, values.len()),
            duplicate: self.duplicate,
        })? {
            values.push(value);
        }
        Ok(Value::Array(values))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = members.next_key::<String>()? {
            let path = Path::Member(&self.path, &name);
            if object.contains_key(&name) {
                *self.duplicate.borrow_mut() = Some(path.to_string());
                return Err(de::Error::custom("duplicate member name"));
            }
            let value = members.next_value_seed(Strict {
                path,
                duplicate: self.duplicate,
            })?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

/// Parses a request body: 400 for what is not JSON, and for a member name given twice in one
/// object, with a pointer to the second.
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::MalformedBody("the body is empty".into()));
    }
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = Strict {
        path: Path::Root,
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, duplicate.into_inner()) {
        (_, Some(pointer)) => Err(ApiError::invalid_document(
            pointer,
            "This member name is given twice in one object; send it once.",
        )),
        (Ok(value), None) => Ok(value),
        (Err(error), None) => Err(ApiError::MalformedBody(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json_when_members_are_unique() {
        let text = r#"{"a":[1,-2,3.5,true,null,"x"],"b":{"c":18446744073709551615}}"#;
        let strict = parse_body(text.as_bytes()).ok();
        let loose: Option<Value> = serde_json::from_str(text).ok();
        assert_eq!(strict, loose);
        assert!(parse_body(b"{\"a\":1} x").is_err());
        assert!(parse_body(b"").is_err());
    }
}
