//! The content-negotiation middleware: applies the rules in `jsonapi::negotiation` to every
//! request before routing, and marks every response `Vary: Accept`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use super::held::Held;
use crate::jsonapi::atomic;
use crate::jsonapi::error::ApiError;
use crate::jsonapi::negotiation::{check_accept, check_content_type};

pub async fn content_negotiation(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut response = match refusal(&request) {
        Some(error @ ApiError::LengthRequired) => {
            // actix reads and discards a chunked body nobody took, for as long as it lasts (a
            // chunk may claim 2^64 bytes); one still held when the answer has been written
            // makes it close the connection after a bounded linger instead (`super::LINGER`).
            let (request, payload) = request.into_parts();
            let response = error.error_response().map_body(|_, body| Held {
                body,
                _held: payload,
            });
            ServiceResponse::new(request, response).map_into_boxed_body()
        }
        Some(error) => request.error_response(error),
        None => next.call(request).await?.map_into_boxed_body(),
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}

fn refusal(request: &ServiceRequest) -> Option<ApiError> {
    let headers = request.headers();
    if let Some(refused) = body_refusal(headers, request.method(), request.path()) {
        return Some(refused);
    }
    // response-not-acceptable
    let accept = headers
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok());
    if let Err(detail) = check_accept(accept, request.path() == atomic::PATH) {
        return Some(ApiError::NotAcceptable { detail });
    }
    None
}

/// What a request's head says against its body: chunked (411), or a `Content-Type` that is not
/// JSON:API's (415). Also asked before a body is sent (`expect`).
pub(super) fn body_refusal(headers: &HeaderMap, method: &Method, path: &str) -> Option<ApiError> {
    // A chunked body announces no size (and a chunk may claim 2^64 bytes): refused before a
    // byte of it is read (RFC 9110 §15.5.12).
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Some(ApiError::LengthRequired);
    }
    let requires_body = matches!(*method, Method::POST | Method::PATCH);
    let content_type = match headers.get(header::CONTENT_TYPE).map(HeaderValue::to_str) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => {
            return Some(ApiError::UnsupportedMediaType {
                detail: "The Content-Type header is not readable text.".into(),
            })
        }
    };
    // response-unsupported-media-type
    check_content_type(content_type, requires_body, path == atomic::PATH)
        .err()
        .map(|detail| ApiError::UnsupportedMediaType { detail })
}
