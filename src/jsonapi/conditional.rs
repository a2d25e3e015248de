//! Conditional requests (RFC 9110 §13): entity tags for documents, `If-None-Match` on reads and
//! `If-Match` on writes. A tag is a digest of the exact bytes of a document, so it changes with
//! every change to the stored row (and, for a document with `include` or `fields`, to anything
//! in it). `If-Match` compares with the tag of the resource's plain document: the one
//! `GET /api/{type}/{id}` without a query answers, and a `PATCH` without a query returns.

use sha2::{Digest, Sha256};

use super::document::{JsonApiObject, Links};
use super::error::ApiError;
use super::query::Query;
use super::render::Writer;
use super::resource::{Record, ResourceType};

/// The entity tag of a document: strong (byte-for-byte the same document), or weak.
pub fn entity_tag(body: &[u8], strong: bool) -> String {
    let digest = Sha256::digest(body);
    let mut tag = String::with_capacity(36);
    if !strong {
        tag.push_str("W/");
    }
    tag.push('"');
    for byte in &digest[..16] {
        tag.push_str(&format!("{byte:02x}"));
    }
    tag.push('"');
    tag
}

/// The tags of an `If-Match` or `If-None-Match` value; `None` for `*`.
fn listed(header: &str) -> Option<Vec<&str>> {
    let header = header.trim();
    if header == "*" {
        return None;
    }
    Some(
        header
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .collect(),
    )
}

/// `If-None-Match` (weak comparison): whether the client's copy is current, so 304.
pub fn none_match_fails(header: &str, current: &str) -> bool {
    let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_string();
    match listed(header) {
        None => true,
        Some(tags) => tags.iter().any(|tag| opaque(tag) == opaque(current)),
    }
}

/// `If-Match` (strong comparison): whether the write may go ahead.
pub fn match_holds(header: &str, current: &str) -> bool {
    match listed(header) {
        None => true,
        Some(tags) => tags
            .iter()
            .any(|tag| !tag.starts_with("W/") && *tag == current),
    }
}

/// The strong tag of a resource's plain document, as `GET /api/{type}/{id}` answers it.
pub fn resource_tag(resource: &ResourceType, record: &dyn Record) -> Result<String, ApiError> {
    let mut out = Writer::with_capacity(1024);
    let links = Links::to_self(resource.resource_url(record.id()));
    out.open_document(&JsonApiObject::default(), Some(&links))?;
    out.resource(resource, record, &[], &Query::default());
    out.close_document(None)?;
    Ok(entity_tag(&out.into_bytes(), true))
}

/// Checks a write's `If-Match` against the stored resource: 412 when it names another version.
pub fn check_if_match(
    header: Option<&str>,
    resource: &ResourceType,
    record: &dyn Record,
) -> Result<(), ApiError> {
    let Some(header) = header else {
        return Ok(());
    };
    if match_holds(header, &resource_tag(resource, record)?) {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_follow_rfc_9110() {
        let tag = entity_tag(b"{}", true);
        assert_eq!(tag.len(), 34);
        assert!(match_holds("*", &tag));
        assert!(match_holds(&format!("\"x\", {tag}"), &tag));
        assert!(!match_holds(&format!("W/{tag}"), &tag));
        assert!(!match_holds("\"x\"", &tag));
        assert!(none_match_fails(&format!("W/{tag}"), &tag));
        assert!(none_match_fails("*", &tag));
        assert!(!none_match_fails("\"x\"", &tag));
        assert!(none_match_fails(&tag, &entity_tag(b"{}", false)));
    }
}
