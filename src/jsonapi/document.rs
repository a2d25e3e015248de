//! confab's own JSON:API 1.1 wire model for top-level members (`jsonapi`, `links`, `meta`) and
//! error documents. Field order in each struct is the member order on the wire, so documents
//! serialize deterministically. Resource objects and linkage are written by [`super::render`]
//! straight from typed rows, in the same member order.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const MEDIA_TYPE: &str = "application/vnd.api+json";
pub const VERSION: &str = "1.1";

pub type Meta = Map<String, Value>;

/// The top-level `jsonapi` member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JsonApiObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ext: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl Default for JsonApiObject {
    fn default() -> Self {
        JsonApiObject {
            version: Some(VERSION.to_string()),
            ext: Vec::new(),
            profile: Vec::new(),
            meta: None,
        }
    }
}

/// A link: a URL string or a link object; `null` for a pagination link that is unavailable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Link {
    Url(String),
    Object(LinkObject),
    Null,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkObject {
    pub href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub describedby: Option<Box<Link>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hreflang: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// A links object; only the members confab emits, in a fixed order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    #[serde(rename = "self", skip_serializing_if = "Option::is_none")]
    pub self_link: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub describedby: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Link>,
}

impl Links {
    pub fn to_self(url: impl Into<String>) -> Self {
        Links {
            self_link: Some(Link::Url(url.into())),
            ..Links::default()
        }
    }
}

/// A document with only top-level meta (health checks).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetaDocument {
    pub jsonapi: JsonApiObject,
    pub meta: Meta,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
}

impl ErrorSource {
    pub fn pointer(pointer: impl Into<String>) -> Self {
        ErrorSource {
            pointer: Some(pointer.into()),
            ..ErrorSource::default()
        }
    }
    pub fn parameter(parameter: impl Into<String>) -> Self {
        ErrorSource {
            parameter: Some(parameter.into()),
            ..ErrorSource::default()
        }
    }
    pub fn header(header: impl Into<String>) -> Self {
        ErrorSource {
            header: Some(header.into()),
            ..ErrorSource::default()
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<ErrorLinks>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub about: Option<Link>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<Link>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorDocument {
    pub jsonapi: JsonApiObject,
    pub errors: Vec<ErrorObject>,
}

/// Escapes one JSON Pointer reference token (RFC 6901).
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
