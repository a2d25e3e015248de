//! The one error type. Every failure a request can meet is a variant here, and every variant
//! renders as a JSON:API error document with its status, a stable code and a `source` where the
//! problem has one.

mod objects;

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
    /// The same thing is stored already, as the resource `id` (a re-sent realtime segment).
    #[error("duplicate of {id}: {detail}")]
    DuplicateOf {
        pointer: String,
        detail: String,
        id: String,
    },
    /// The request conflicts with the resource's state: a transition its lifecycle does not
    /// allow, or a write into something that has ended.
    #[error("state conflict: {detail}")]
    StateConflict {
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
    /// A write the API does not offer (such as moving an item to another conversation).
    #[error("forbidden: {detail}")]
    Forbidden {
        detail: String,
        pointer: Option<String>,
    },
    /// An `If-Match` that no longer matches the resource: it changed since the client read it.
    #[error("precondition failed")]
    PreconditionFailed,
    /// An Atomic Operations request with more operations than the server takes in one.
    #[error("more than {max} operations")]
    TooManyOperations { max: usize },
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
    /// A panic caught on a request path (`http::panic_net`); what it said is logged, never
    /// sent.
    #[error("panic: {0}")]
    Panicked(String),
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

    pub fn forbidden(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Forbidden {
            detail: detail.into(),
            pointer: Some(pointer.into()),
        }
    }

    /// The same error about a document nested at `prefix` in a larger one (an operation of an
    /// Atomic Operations request): every pointer is moved under the prefix, and a problem
    /// with no pointer of its own points at the prefix itself.
    pub fn within(self, prefix: &str) -> Self {
        let moved = |pointer: String| format!("{prefix}{pointer}");
        let moved_or_here =
            |pointer: Option<String>| Some(pointer.map_or(prefix.to_string(), moved));
        match self {
            ApiError::InvalidDocument { pointer, detail } => ApiError::InvalidDocument {
                pointer: moved(pointer),
                detail,
            },
            ApiError::InvalidMember { pointer, detail } => ApiError::InvalidMember {
                pointer: moved(pointer),
                detail,
            },
            ApiError::ClientGeneratedId { pointer } => ApiError::ClientGeneratedId {
                pointer: moved(pointer),
            },
            ApiError::Mismatch { pointer, detail } => ApiError::Mismatch {
                pointer: moved(pointer),
                detail,
            },
            ApiError::Duplicate { pointer, detail } => ApiError::Duplicate {
                pointer: moved_or_here(pointer),
                detail,
            },
            ApiError::NotFound { pointer, detail } => ApiError::NotFound {
                pointer: moved_or_here(pointer),
                detail,
            },
            ApiError::DuplicateOf {
                pointer,
                detail,
                id,
            } => ApiError::DuplicateOf {
                pointer: moved(pointer),
                detail,
                id,
            },
            ApiError::StateConflict { pointer, detail } => ApiError::StateConflict {
                pointer: moved_or_here(pointer),
                detail,
            },
            ApiError::Forbidden { pointer, detail } => ApiError::Forbidden {
                pointer: moved_or_here(pointer),
                detail,
            },
            ApiError::Many(problems) => {
                ApiError::Many(problems.into_iter().map(|p| p.within(prefix)).collect())
            }
            other => other,
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
            ApiError::Mismatch { .. }
            | ApiError::Duplicate { .. }
            | ApiError::DuplicateOf { .. }
            | ApiError::StateConflict { .. } => 409,
            ApiError::NotFound { .. } => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::NotAcceptable { .. } => 406,
            ApiError::PayloadTooLarge { .. } | ApiError::TooManyOperations { .. } => 413,
            ApiError::PreconditionFailed => 412,
            ApiError::RequestTimeout { .. } => 408,
            ApiError::LengthRequired => 411,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable(_) => 503,
            ApiError::Internal(_) => 500,
            ApiError::Panicked(_) => 500,
            ApiError::Many(problems) => most_general_status(problems),
        }
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
}
