//! How an [`ApiError`] renders: one error object per problem, with its status, a stable code,
//! a title, a bounded detail and a `source` where the problem has one.

use super::{over_budget_detail, ApiError, CursorError};
use crate::jsonapi::document::{
    ErrorDocument, ErrorLinks, ErrorObject, ErrorSource, JsonApiObject, Link,
};

impl ApiError {
    pub(super) fn push_objects(&self, objects: &mut Vec<ErrorObject>) {
        let (code, title, detail, source) = match self {
            ApiError::Many(problems) => {
                for problem in problems {
                    problem.push_objects(objects);
                }
                return;
            }
            ApiError::CursorPagination {
                error,
                parameter,
                detail,
            } => {
                let meta = match error {
                    CursorError::MaxSizeExceeded { max } => {
                        let mut page = serde_json::Map::new();
                        page.insert("maxSize".into(), (*max).into());
                        let mut meta = serde_json::Map::new();
                        meta.insert("page".into(), serde_json::Value::Object(page));
                        Some(meta)
                    }
                    _ => None,
                };
                objects.push(ErrorObject {
                    links: Some(ErrorLinks {
                        about: None,
                        error_type: Some(Link::Url(error.type_link().to_string())),
                    }),
                    status: Some(self.status().to_string()),
                    code: Some("cursor_pagination".into()),
                    title: Some("Invalid page request".into()),
                    detail: Some(detail.clone()),
                    source: Some(ErrorSource::parameter(parameter)),
                    meta,
                    ..ErrorObject::default()
                });
                return;
            }
            ApiError::DuplicateOf { pointer, detail, id } => {
                let mut meta = serde_json::Map::new();
                meta.insert("existing_id".into(), id.clone().into());
                objects.push(ErrorObject {
                    status: Some(self.status().to_string()),
                    code: Some("duplicate".into()),
                    title: Some("Already exists".into()),
                    detail: Some(detail.clone()),
                    source: Some(ErrorSource::pointer(pointer)),
                    meta: Some(meta),
                    ..ErrorObject::default()
                });
                return;
            }
            ApiError::StateConflict { pointer, detail } => (
                "state_conflict",
                "Conflict with the resource's state",
                detail.clone(),
                pointer.as_ref().map(ErrorSource::pointer),
            ),
            ApiError::InvalidQuery { parameter, detail } => (
                "invalid_query_parameter",
                "Invalid query parameter",
                detail.clone(),
                Some(ErrorSource::parameter(parameter)),
            ),
            ApiError::MalformedBody(detail) => (
                "malformed_json",
                "Malformed JSON",
                format!("The request body is not valid JSON: {detail}"),
                None,
            ),
            ApiError::InvalidDocument { pointer, detail } => (
                "invalid_document",
                "Invalid request document",
                detail.clone(),
                Some(ErrorSource::pointer(pointer)),
            ),
            ApiError::InvalidMember { pointer, detail } => (
                "invalid_member",
                "Invalid member",
                detail.clone(),
                Some(ErrorSource::pointer(pointer)),
            ),
            ApiError::ClientGeneratedId { pointer } => (
                "unsupported_client_id",
                "Unsupported client-generated id",
                "A new resource's `id` is a UUID written as 36 lowercase characters \
                 (8-4-4-4-12 hex digits with hyphens); or leave it out and the server assigns one."
                    .into(),
                Some(ErrorSource::pointer(pointer)),
            ),
            ApiError::Mismatch { pointer, detail } => (
                "conflict",
                "Conflict",
                detail.clone(),
                Some(ErrorSource::pointer(pointer)),
            ),
            ApiError::Duplicate { pointer, detail } => (
                "duplicate",
                "Already exists",
                detail.clone(),
                pointer.as_ref().map(ErrorSource::pointer),
            ),
            ApiError::NotFound { detail, pointer } => (
                "not_found",
                "Not found",
                detail.clone(),
                pointer.as_ref().map(ErrorSource::pointer),
            ),
            ApiError::Forbidden { detail, pointer } => (
                "forbidden",
                "Forbidden",
                detail.clone(),
                pointer.as_ref().map(ErrorSource::pointer),
            ),
            ApiError::PreconditionFailed => (
                "precondition_failed",
                "Precondition failed",
                "The resource changed since the representation `If-Match` names; \
                 fetch it again and retry with its new ETag."
                    .into(),
                Some(ErrorSource::header("If-Match")),
            ),
            ApiError::TooManyOperations { max } => (
                "too_many_operations",
                "Too many operations",
                format!("An Atomic Operations request holds at most {max} operations; split it."),
                Some(ErrorSource::pointer("/atomic:operations")),
            ),
            ApiError::Unauthorized { detail, .. } => (
                "unauthorized",
                "Unauthorized",
                detail.clone(),
                Some(ErrorSource::header("Authorization")),
            ),
            ApiError::MissingScope { scope } => (
                "missing_scope",
                "Missing scope",
                format!("This API key lacks the `{scope}` scope."),
                Some(ErrorSource::header("Authorization")),
            ),
            ApiError::MethodNotAllowed { method, allowed } => (
                "method_not_allowed",
                "Method not allowed",
                format!(
                    "{method} is not allowed here; allowed: {}",
                    allowed.join(", ")
                ),
                None,
            ),
            ApiError::UnsupportedMediaType { detail } => (
                "unsupported_media_type",
                "Unsupported media type",
                detail.clone(),
                Some(ErrorSource::header("Content-Type")),
            ),
            ApiError::NotAcceptable { detail } => (
                "not_acceptable",
                "Not acceptable",
                detail.clone(),
                Some(ErrorSource::header("Accept")),
            ),
            ApiError::TooManyRequests { retry_after } => (
                "too_many_requests",
                "Too many requests",
                format!(
                    "This key has used its requests for now; retry in {retry_after} s (see the RateLimit header)."
                ),
                Some(ErrorSource::header("Authorization")),
            ),
            ApiError::LengthRequired => (
                "length_required",
                "Length required",
                "Send the body with a Content-Length; chunked request bodies are not accepted."
                    .into(),
                Some(ErrorSource::header("Transfer-Encoding")),
            ),
            ApiError::RequestTimeout { seconds } => (
                "request_timeout",
                "Request timeout",
                format!("The request body did not arrive within {seconds} s."),
                Some(ErrorSource::header("Content-Length")),
            ),
            ApiError::PayloadTooLarge { limit } => (
                "payload_too_large",
                "Request body too large",
                format!("The request body exceeds the limit of {limit} bytes."),
                Some(ErrorSource::header("Content-Length")),
            ),
            ApiError::InvalidIdempotencyKey => (
                "invalid_idempotency_key",
                "Invalid Idempotency-Key",
                "An `Idempotency-Key` is 1 to 255 visible ASCII characters (a UUID does well)."
                    .into(),
                Some(ErrorSource::header("Idempotency-Key")),
            ),
            ApiError::IdempotencyKeyReused => (
                "idempotency_key_reused",
                "Idempotency-Key reused",
                "This `Idempotency-Key` was used within the last 24 hours for a different request \
                 (method, path, query or body); use a new key for a new request."
                    .into(),
                Some(ErrorSource::header("Idempotency-Key")),
            ),
            ApiError::IdempotencyKeyInFlight => (
                "idempotency_key_in_flight",
                "Request in flight",
                "A request with this `Idempotency-Key` is being handled; retry after the time \
                 `Retry-After` gives to receive its answer."
                    .into(),
                Some(ErrorSource::header("Idempotency-Key")),
            ),
            ApiError::ResponseTooLarge { max } => (
                "response_too_large",
                "Response too large",
                over_budget_detail(*max),
                Some(ErrorSource::parameter("page")),
            ),
            ApiError::Unavailable(_) => (
                "database_unavailable",
                "Service unavailable",
                "The database is not answering; try again shortly.".into(),
                None,
            ),
            ApiError::Internal(_) | ApiError::Panicked(_) => (
                "internal_error",
                "Internal server error",
                "The server failed to handle the request; the fault is logged.".into(),
                None,
            ),
        };
        objects.push(ErrorObject {
            status: Some(self.status().to_string()),
            code: Some(code.to_string()),
            title: Some(title.to_string()),
            detail: Some(detail),
            source,
            ..ErrorObject::default()
        });
    }

    pub fn to_document(&self) -> ErrorDocument {
        let mut errors = Vec::new();
        self.push_objects(&mut errors);
        for error in &mut errors {
            if let Some(detail) = &mut error.detail {
                *detail = bound_echoes(detail);
            }
            if let Some(parameter) = error.source.as_mut().and_then(|s| s.parameter.as_mut()) {
                *parameter = prefix(parameter, MAX_PARAMETER_CHARS);
            }
        }
        ErrorDocument {
            jsonapi: JsonApiObject::default(),
            errors,
        }
    }
}

/// The most characters of client input a detail repeats (in backticks), and of a detail at all.
const MAX_ECHO_CHARS: usize = 48;
const MAX_DETAIL_CHARS: usize = 600;
/// The most characters of a parameter name in `source.parameter`.
const MAX_PARAMETER_CHARS: usize = 128;

/// `text` cut to `max` characters, marked with `…` when cut.
fn prefix(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Details quote what the client sent in backticks; each quotation is cut to a short prefix,
/// and the detail as a whole is bounded, so a huge parameter or member never makes a huge
/// error document.
fn bound_echoes(detail: &str) -> String {
    let mut bounded = String::with_capacity(detail.len().min(MAX_DETAIL_CHARS + 8));
    for (index, part) in detail.split('`').enumerate() {
        if index > 0 {
            bounded.push('`');
        }
        // Odd parts are inside backticks.
        if index % 2 == 1 {
            bounded.push_str(&prefix(part, MAX_ECHO_CHARS));
        } else {
            bounded.push_str(part);
        }
    }
    prefix(&bounded, MAX_DETAIL_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_are_short_prefixes() {
        let long = "y".repeat(1000);
        let detail = bound_echoes(&format!("`{long}` is not `a`; see `{long}`."));
        assert_eq!(
            detail,
            format!("`{}…` is not `a`; see `{}…`.", &long[..48], &long[..48])
        );
        assert_eq!(bound_echoes("plain `short` text"), "plain `short` text");
        assert!(bound_echoes(&"z".repeat(5000)).chars().count() <= MAX_DETAIL_CHARS + 1);
        assert_eq!(prefix("ééé", 2), "éé…");
    }

    #[test]
    fn internal_details_are_not_sent() {
        let document = ApiError::Internal("secret table name".into()).to_document();
        let detail = document.errors[0].detail.clone().unwrap_or_default();
        assert!(!detail.contains("secret"));
    }
}
