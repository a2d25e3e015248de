//! The one error type. Every failure a request can meet is a variant here, and every variant
//! renders as a JSON:API error document with its status, a stable code and a `source` where the
//! problem has one.

use super::document::{ErrorDocument, ErrorLinks, ErrorObject, ErrorSource, JsonApiObject, Link};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter the server does not know or cannot honour.
    #[error("query parameter {parameter}: {detail}")]
    InvalidQuery { parameter: String, detail: String },
    /// The body is not JSON.
    #[error("malformed JSON: {0}")]
    MalformedBody(String),
    /// The body is JSON but not a JSON:API request document of the expected shape.
    #[error("invalid document at {pointer:?}: {detail}")]
    InvalidDocument { pointer: String, detail: String },
    /// A well-formed document whose member is unknown, read-only or of the wrong value.
    #[error("invalid member at {pointer}: {detail}")]
    InvalidMember { pointer: String, detail: String },
    /// A client-generated id on create that is not a UUID in the form ids are served in.
    #[error("unsupported client-generated id")]
    ClientGeneratedId { pointer: String },
    /// A type or id that does not match the endpoint.
    #[error("conflict at {pointer}: {detail}")]
    Mismatch { pointer: String, detail: String },
    /// One of the cursor pagination profile's own errors (400, with the profile's `type` link).
    #[error("{detail}")]
    CursorPagination {
        error: CursorError,
        parameter: String,
        detail: String,
    },
    /// A value that must be unique already exists.
    #[error("conflict: {detail}")]
    Duplicate {
        pointer: Option<String>,
        detail: String,
    },
    /// No usable API key. `invalid_token` distinguishes a bad key from a missing one (RFC 6750).
    #[error("unauthorized: {detail}")]
    Unauthorized { detail: String, invalid_token: bool },
    /// The key lacks the scope the request needs.
    #[error("missing scope {scope}")]
    MissingScope { scope: String },
    #[error("not found: {detail}")]
    NotFound {
        detail: String,
        pointer: Option<String>,
    },
    /// A write the API does not offer (such as replacing a relationship through its link).
    #[error("forbidden: {detail}")]
    Forbidden { detail: String },
    #[error("method {method} not allowed")]
    MethodNotAllowed {
        method: String,
        allowed: Vec<&'static str>,
    },
    #[error("unsupported media type: {detail}")]
    UnsupportedMediaType { detail: String },
    #[error("not acceptable: {detail}")]
    NotAcceptable { detail: String },
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A body sent without a `Content-Length` (chunked): its size cannot be judged up front.
    #[error("length required")]
    LengthRequired,
    /// The key used up its requests for the current window.
    #[error("rate limited for {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    /// The body did not arrive within the time allowed for it.
    #[error("request body not received within {seconds} s")]
    RequestTimeout { seconds: u64 },
    /// An `Idempotency-Key` header that is not 1-255 visible ASCII characters.
    #[error("invalid Idempotency-Key")]
    InvalidIdempotencyKey,
    /// An `Idempotency-Key` already used for a different request.
    #[error("Idempotency-Key reused for another request")]
    IdempotencyKeyReused,
    /// A request with this `Idempotency-Key` is being handled right now.
    #[error("Idempotency-Key in flight")]
    IdempotencyKeyInFlight,
    /// The resources of a response would weigh more than the server sends in one.
    #[error("response larger than {max} bytes")]
    ResponseTooLarge { max: usize },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A fault of the server's own; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// Several problems found in one request, reported together.
    #[error("{} problems", .0.len())]
    Many(Vec<ApiError>),
}

/// What a client is told when a response would pass the server's budget of `max` bytes.
pub fn over_budget_detail(max: usize) -> String {
    format!(
        "This response would be larger than {max} bytes, the most this server sends; \
         ask for a smaller page or fewer include paths."
    )
}

/// The cursor pagination profile's error types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorError {
    MaxSizeExceeded { max: i64 },
    UnsupportedSort,
    RangeNotSupported,
}

impl CursorError {
    pub fn type_link(self) -> &'static str {
        match self {
            CursorError::MaxSizeExceeded { .. } => {
                "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/max-size-exceeded"
            }
            CursorError::UnsupportedSort => {
                "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/unsupported-sort"
            }
            CursorError::RangeNotSupported => {
                "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/range-pagination-not-supported"
            }
        }
    }
}

impl ApiError {
    pub fn invalid_query(parameter: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::InvalidQuery {
            parameter: parameter.into(),
            detail: detail.into(),
        }
    }

    pub fn invalid_document(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::InvalidDocument {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    pub fn invalid_member(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::InvalidMember {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    pub fn mismatch(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Mismatch {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    pub fn unauthorized(detail: impl Into<String>, invalid_token: bool) -> Self {
        ApiError::Unauthorized {
            detail: detail.into(),
            invalid_token,
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::NotFound {
            detail: detail.into(),
            pointer: None,
        }
    }

    /// One error for a list of problems: the list itself when there are several.
    pub fn from_problems(mut problems: Vec<ApiError>) -> Option<Self> {
        match problems.len() {
            0 => None,
            1 => problems.pop(),
            _ => Some(ApiError::Many(problems)),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidQuery { .. }
            | ApiError::CursorPagination { .. }
            | ApiError::MalformedBody(_)
            | ApiError::InvalidDocument { .. }
            | ApiError::ResponseTooLarge { .. }
            | ApiError::InvalidIdempotencyKey => 400,
            ApiError::IdempotencyKeyReused => 422,
            ApiError::IdempotencyKeyInFlight => 409,
            ApiError::InvalidMember { .. } => 422,
            ApiError::Unauthorized { .. } => 401,
            ApiError::ClientGeneratedId { .. }
            | ApiError::Forbidden { .. }
            | ApiError::MissingScope { .. } => 403,
            ApiError::Mismatch { .. } | ApiError::Duplicate { .. } => 409,
            ApiError::NotFound { .. } => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::NotAcceptable { .. } => 406,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::RequestTimeout { .. } => 408,
            ApiError::LengthRequired => 411,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
            ApiError::Many(problems) => most_general_status(problems),
        }
    }

    fn push_objects(&self, objects: &mut Vec<ErrorObject>) {
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
            ApiError::Forbidden { detail } => ("forbidden", "Forbidden", detail.clone(), None),
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
                None,
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
                None,
            ),
            ApiError::PayloadTooLarge { limit } => (
                "payload_too_large",
                "Request body too large",
                format!("The request body exceeds the limit of {limit} bytes."),
                None,
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
            ApiError::Internal(_) => (
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

/// RFC 9110 has no status for "several 4xx": one shared status stays, mixed ones become 400,
/// and any server fault makes the whole answer a server fault.
fn most_general_status(problems: &[ApiError]) -> u16 {
    let statuses: Vec<u16> = problems.iter().map(ApiError::status).collect();
    match statuses.split_first() {
        None => 400,
        Some((first, rest)) if rest.iter().all(|status| status == first) => *first,
        _ if statuses.iter().any(|status| *status >= 500) => 500,
        _ => 400,
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) => ApiError::Unavailable(detail),
            StoreError::OverBudget(max) => ApiError::ResponseTooLarge { max },
            StoreError::UniqueViolation => ApiError::Duplicate {
                pointer: None,
                detail: "A resource with one of these unique values already exists.".into(),
            },
            // Existence is checked before writing; a violation means a concurrent delete won.
            StoreError::ForeignKeyViolation => ApiError::NotFound {
                detail: "A related resource does not exist (it was deleted meanwhile).".into(),
                pointer: None,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_client_or_availability_statuses() {
        let status = |error: StoreError| ApiError::from(error).status();
        assert_eq!(status(StoreError::UniqueViolation), 409);
        assert_eq!(status(StoreError::ForeignKeyViolation), 404);
        assert_eq!(status(StoreError::Unavailable("down".into())), 503);
        assert_eq!(status(StoreError::Decode("bad".into())), 500);
    }

    #[test]
    fn several_problems_take_the_most_general_status() {
        // error-general
        let member = || ApiError::invalid_member("/data/attributes/a", "bad");
        assert_eq!(ApiError::Many(vec![member(), member()]).status(), 422);
        let mixed = ApiError::Many(vec![member(), ApiError::not_found("gone")]);
        assert_eq!(mixed.status(), 400);
        assert_eq!(mixed.to_document().errors.len(), 2);
        let fault = ApiError::Many(vec![member(), ApiError::Internal("x".into())]);
        assert_eq!(fault.status(), 500);
    }

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
