//! Reading request bodies: bounded in size, parsed as JSON, every failure a JSON:API error.

use std::time::Duration;

use actix_web::http::header::{self, HeaderMap};
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde_json::Value;

use crate::jsonapi::error::ApiError;

/// Reads the whole body within `deadline` (408 after it), refusing more than `limit` bytes
/// before buffering them.
pub async fn read_body(
    request: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    deadline: Duration,
) -> Result<web::Bytes, ApiError> {
    actix_web::rt::time::timeout(deadline, read_all(request, payload, limit))
        .await
        .unwrap_or(Err(ApiError::RequestTimeout {
            seconds: deadline.as_secs().max(1),
        }))
}

async fn read_all(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    if declared_length(request.headers()).is_some_and(|length| length > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| ApiError::MalformedBody(error.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The body's size as its `Content-Length` declares it (a length past `usize` counts as the
/// largest).
pub fn declared_length(headers: &HeaderMap) -> Option<usize> {
    let text = headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim();
    let length = text.parse::<u64>().ok()?;
    Some(usize::try_from(length).unwrap_or(usize::MAX))
}

/// Parses a request body as a JSON document, strictly (see [`crate::jsonapi::json`]).
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    crate::jsonapi::json::parse_body(body)
}
