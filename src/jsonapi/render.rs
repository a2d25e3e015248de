//! Documents written straight into one output buffer from typed rows: no intermediate
//! `serde_json::Value` per resource and no allocation per field. Member order is fixed (as in
//! the wire types of [`super::document`]) and strings are escaped exactly as `serde_json` does.

use serde::Serialize;

use super::document::{JsonApiObject, Links, Meta};
use super::error::ApiError;
use super::graph::ToManyLinkage;
use super::query::{Query, INCLUDED_PER_PARENT};
use super::resource::{Cardinality, Record, ResourceType};
use crate::store::{write_timestamp, Field};

/// The query of a to-many linkage's second page, after the [`INCLUDED_PER_PARENT`] that an
/// include brings (brackets percent-encoded, as in every other link).
static NEXT_LINKAGE_PAGE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("?page%5Boffset%5D={INCLUDED_PER_PARENT}&page%5Blimit%5D={INCLUDED_PER_PARENT}")
});

/// A JSON document under construction.
pub struct Writer {
    out: Vec<u8>,
}

impl Writer {
    pub fn with_capacity(capacity: usize) -> Self {
        Writer {
            out: Vec::with_capacity(capacity),
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    pub fn raw(&mut self, text: &str) -> &mut Self {
        self.out.extend_from_slice(text.as_bytes());
        self
    }

    /// A JSON string, escaped as `serde_json` escapes it.
    pub fn string(&mut self, text: &str) -> &mut Self {
        // Writing into a Vec cannot fail; a string always serialises.
        let _ = serde_json::to_writer(&mut self.out, text);
        self
    }

    /// A string made of pieces, none of which needs escaping (paths of ids and type names).
    pub fn joined(&mut self, pieces: &[&str]) -> &mut Self {
        self.out.push(b'"');
        for piece in pieces {
            self.out.extend_from_slice(piece.as_bytes());
        }
        self.out.push(b'"');
        self
    }

    /// `"name":`, for member names that need no escaping (they come from descriptions).
    pub fn key(&mut self, name: &str) -> &mut Self {
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self
    }

    pub fn byte(&mut self, byte: u8) -> &mut Self {
        self.out.push(byte);
        self
    }

    /// Any serialisable value, through `serde_json` (top-level members, once per document).
    pub fn value(&mut self, value: &impl Serialize) -> Result<&mut Self, ApiError> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(|error| ApiError::Internal(error.to_string()))?;
        Ok(self)
    }

    pub fn field(&mut self, field: Field<'_>) -> &mut Self {
        match field {
            Field::Text(text) => self.string(text),
            Field::NullableText(Some(text)) => self.string(text),
            Field::NullableText(None)
            | Field::NullableTimestamp(None)
            | Field::NullableInteger(None) => self.raw("null"),
            Field::Bool(flag) => self.raw(if flag { "true" } else { "false" }),
            Field::Integer(number) | Field::NullableInteger(Some(number)) => {
                crate::store::values::write_display(&mut self.out, number);
                self
            }
            Field::Timestamp(time) | Field::NullableTimestamp(Some(time)) => {
                self.out.push(b'"');
                write_timestamp(&mut self.out, time);
                self.out.push(b'"');
                self
            }
            // Stored as serde_json wrote it on the way in: compact, valid, member order kept.
            Field::Json(text) => self.raw(text),
        }
    }

    /// `{"type":…,"id":…}`
    pub fn identifier(&mut self, resource_type: &str, id: &str) -> &mut Self {
        self.raw("{\"type\":")
            .joined(&[resource_type])
            .raw(",\"id\":")
            .id(id)
            .byte(b'}')
    }

    /// An id: stored ids are canonical UUIDs, which need no escaping; anything else is escaped.
    pub fn id(&mut self, id: &str) -> &mut Self {
        if id
            .bytes()
            .all(|byte| byte.is_ascii_hexdigit() || byte == b'-')
        {
            self.joined(&[id])
        } else {
            self.string(id)
        }
    }

    /// The document's opening: `{"jsonapi":…,"links":…,` up to and including `"data":`.
    pub fn open_document(
        &mut self,
        jsonapi: &JsonApiObject,
        links: Option<&Links>,
    ) -> Result<&mut Self, ApiError> {
        self.raw("{\"jsonapi\":").value(jsonapi)?;
        if let Some(links) = links {
            self.raw(",\"links\":").value(links)?;
        }
        Ok(self.raw(",\"data\":"))
    }

    /// The document's end: `included` when asked for, `meta` when there is some.
    pub fn close_document(&mut self, meta: Option<&Meta>) -> Result<&mut Self, ApiError> {
        if let Some(meta) = meta {
            self.raw(",\"meta\":").value(meta)?;
        }
        Ok(self.byte(b'}'))
    }

    /// A resource object with its links, filtered by `fields[TYPE]`. `to_many` holds the ids of
    /// the to-many relationships that were loaded.
    pub fn resource(
        &mut self,
        resource: &ResourceType,
        record: &dyn Record,
        to_many: &[ToManyLinkage<'_>],
        query: &Query,
    ) -> &mut Self {
        let id = record.id();
        let base = ["/api/", resource.path, "/", id];
        self.raw("{\"type\":")
            .joined(&[resource.name])
            .raw(",\"id\":")
            .id(id);
        let mut first = true;
        for attribute in resource.attributes {
            if !query.shows(resource, attribute.name) {
                continue;
            }
            self.raw(if first { ",\"attributes\":{" } else { "," });
            first = false;
            self.key(attribute.name);
            match record.field(attribute.name) {
                Some(field) => self.field(field),
                None => self.raw("null"),
            };
        }
        if !first {
            self.byte(b'}');
        }
        let mut first = true;
        for relationship in resource.relationships {
            if !query.shows(resource, relationship.name) {
                continue;
            }
            self.raw(if first { ",\"relationships\":{" } else { "," });
            first = false;
            let [api, path, slash, id] = base;
            let linkage = [api, path, slash, id, "/relationships/", relationship.name];
            self.key(relationship.name).raw("{\"links\":{\"self\":");
            self.joined(&linkage);
            self.raw(",\"related\":");
            self.joined(&[api, path, slash, id, "/", relationship.name]);
            let loaded = to_many
                .iter()
                .find(|loaded| loaded.name == relationship.name);
            if loaded.is_some_and(|loaded| loaded.more) {
                // The include gave the first page of the linkage; this is the second.
                let next = [&linkage[..], &[NEXT_LINKAGE_PAGE.as_str()]].concat();
                self.raw(",\"next\":").joined(&next);
            }
            self.byte(b'}');
            match relationship.cardinality {
                Cardinality::ToOne { column, .. } => {
                    self.raw(",\"data\":");
                    match record.text(column) {
                        Some(related) => self.identifier(relationship.target, related),
                        None => self.raw("null"),
                    };
                }
                Cardinality::ToMany { .. } => {
                    if let Some(loaded) = loaded {
                        self.raw(",\"data\":[");
                        for (index, related) in loaded.ids.iter().enumerate() {
                            if index > 0 {
                                self.byte(b',');
                            }
                            self.identifier(relationship.target, related);
                        }
                        self.byte(b']');
                    }
                }
            }
            self.byte(b'}');
        }
        if !first {
            self.byte(b'}');
        }
        self.raw(",\"links\":{\"self\":").joined(&base).raw("}}")
    }
}
