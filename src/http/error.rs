//! The actix mapping of the one error type: status, challenge and `Allow` headers, and the
//! JSON:API error document as the body.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::jsonapi::document::MEDIA_TYPE;
pub use crate::jsonapi::error::ApiError;

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE)));
        // What is left of a body that was too slow or too large is never read, and a client
        // without a valid key keeps no connection: close.
        if matches!(
            self,
            ApiError::RequestTimeout { .. }
                | ApiError::PayloadTooLarge { .. }
                | ApiError::LengthRequired
                | ApiError::Unauthorized { .. }
        ) {
            response.force_close();
        }
        if let ApiError::Unauthorized { invalid_token, .. } = self {
            let challenge = if *invalid_token {
                "Bearer realm=\"confab\", error=\"invalid_token\""
            } else {
                "Bearer realm=\"confab\""
            };
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if let ApiError::MethodNotAllowed { allowed, .. } = self {
            let allow = allowed.join(", ");
            if let Ok(value) = HeaderValue::from_str(&allow) {
                response.insert_header((header::ALLOW, value));
            }
        }
        if let ApiError::IdempotencyKeyInFlight | ApiError::Unavailable(_) = self {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        match serde_json::to_vec(&self.to_document()) {
            Ok(body) => response.body(body),
            Err(_) => response.finish(),
        }
    }
}
