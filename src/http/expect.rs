//! `Expect: 100-continue` (RFC 9110 §10.1.1): a client that asks before sending its body is
//! told at once, from the head alone, when the request would be refused anyway, and never sends
//! the body. curl asks for every body over 1 MiB, and older libcurl, .NET and Java clients for
//! smaller ones too.
//!
//! actix's dispatcher calls [`check`] for such a request before its body is read: `Ok` writes
//! `100 Continue` and routes the request as usual; `Err` is written as the final answer instead
//! (and the connection is closed, the body never read). What can be judged from the head: a
//! chunked body (411), a `Content-Length` over the limit (413), a wrong `Content-Type` (415), a
//! missing or unknown key (401), a key without the write scope of the type addressed (403).

use std::rc::Rc;

use actix_http::body::BoxBody;
use actix_http::{Request, Response};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{HttpMessage, ResponseError};

use super::access_log::{new_request_id, REQUEST_ID};
use super::authorised::verified;
use super::extract::declared_length;
use super::negotiate::body_refusal;
use super::socket::Traffic;
use super::AppState;
use crate::auth::{self, Access};
use crate::jsonapi::error::ApiError;

/// Decides whether the client may send its body.
pub async fn check(state: AppState, request: Request) -> Result<Request, Response<BoxBody>> {
    if let Some(traffic) = request.conn_data::<Rc<Traffic>>() {
        traffic.routed();
    }
    match refusal(&state, &request).await {
        None => Ok(request),
        Some(error) => {
            let id = new_request_id();
            log::info!(
                "{} \"{} {}\" {} refused before its body (Expect: 100-continue) request_id={id}",
                request
                    .peer_addr()
                    .map_or_else(|| "-".to_string(), |peer| peer.ip().to_string()),
                request.method(),
                super::access_log::redact(request.path()),
                error.status(),
            );
            let mut response: Response<BoxBody> = error.error_response().into();
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept"));
            // The body was never asked for, so it is never read: the connection cannot go on.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
    }
}

async fn refusal(state: &AppState, request: &Request) -> Option<ApiError> {
    let headers = request.headers();
    if declared_length(headers).is_some_and(|length| length > state.body_limit) {
        return Some(ApiError::PayloadTooLarge {
            limit: state.body_limit,
        });
    }
    let path = request.path();
    let Some(rest) = path.strip_prefix("/api/") else {
        // `/health` and the like take no body: the route answers.
        return None;
    };
    if let Some(refused) = body_refusal(headers, request.method(), path) {
        return Some(refused);
    }
    let header = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or_default());
    let token = match auth::bearer_token(header) {
        Ok(token) => token.to_string(),
        Err(error) => return Some(error),
    };
    let principal = match verified(state, &token).await {
        Ok(principal) => principal,
        Err(error) => return Some(error),
    };
    // The type addressed, when the path names one: its write scope (an Atomic Operations
    // request names its types in the body, and is checked once that is read).
    let type_path = rest.split('/').next().unwrap_or_default();
    let resource = state.registry.by_path(type_path)?;
    let access = match *request.method() {
        Method::GET | Method::HEAD => Access::Read,
        _ => Access::Write,
    };
    principal.require(resource.scope_family, access).err()
}
