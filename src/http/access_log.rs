//! The access log and request ids. Every response carries `X-Request-Id` (the request's own when
//! it is usable, a new one otherwise), and every line logged for a request names it. Anything
//! shaped like an API key is redacted from every line (clients sometimes put keys in the query
//! string); headers are never logged.

use std::time::Instant;

use std::rc::Rc;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};

use super::metrics::Labels;
use super::panic_net;
use super::socket::Traffic;
use super::AppState;
use crate::jsonapi::error::ApiError;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID_CHARS: usize = 128;

/// The request's own id when it is 1 to 128 visible ASCII characters (no quotes or
/// backslashes, which would garble a log line); a new random one otherwise.
fn request_id(given: Option<&HeaderValue>) -> String {
    let usable = |id: &str| {
        (1..=MAX_REQUEST_ID_CHARS).contains(&id.len())
            && id
                .bytes()
                .all(|byte| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\')
    };
    match given.and_then(|value| value.to_str().ok()) {
        Some(id) if usable(id) => id.to_string(),
        _ => new_request_id(),
    }
}

/// A fresh request id: 32 hex digits.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `text` with every secret it may hold replaced: what follows a key's prefix (`sk_live_…`,
/// `sk_test_…`), and any bare run of 64 hex digits (a key's secret given without its prefix).
pub fn redact(text: &str) -> String {
    let mut redacted = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphanumeric()) {
        let length = rest[start..]
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        let (before, run) = (&rest[..start], &rest[start..start + length]);
        redacted.push_str(before);
        let after_prefix = ["sk_live_", "sk_test_"]
            .iter()
            .any(|prefix| redacted.ends_with(prefix));
        let bare_secret = length == 64 && run.bytes().all(|byte| byte.is_ascii_hexdigit());
        if after_prefix || bare_secret {
            redacted.push_str("[redacted]");
        } else {
            redacted.push_str(run);
        }
        rest = &rest[start + length..];
    }
    redacted.push_str(rest);
    redacted
}

/// A request's metric labels: its route pattern, and its type when the route has one (only
/// registered type names, so labels stay few whatever clients send).
fn labels<B>(response: &ServiceResponse<B>, state: &AppState, method: String) -> Labels {
    let request = response.request();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let resource_type = request
        .match_info()
        .get("type")
        .map(|path| match state.registry.by_path(path) {
            Some(resource) => resource.path.to_string(),
            None => "unknown".to_string(),
        })
        .unwrap_or_default();
    Labels {
        route,
        resource_type,
        method,
        status: response.status().as_u16(),
    }
}

pub async fn access_log(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id(request.headers().get(&REQUEST_ID));
    // Built only when it will be written.
    let line = log::log_enabled!(log::Level::Info).then(|| {
        format!(
            "{} \"{} {} {:?}\"",
            request
                .peer_addr()
                .map_or_else(|| "-".to_string(), |peer| peer.ip().to_string()),
            request.method(),
            redact(&request.uri().to_string()),
            request.version()
        )
    });
    let method = request.method().to_string();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    if let Some(traffic) = request.conn_data::<Rc<Traffic>>() {
        traffic.routed();
    }
    let mut response = match panic_net::guard_future(next.call(request)).await {
        Ok(response) => response?,
        Err(panic) => {
            return Err(panicked(
                state.as_ref().map(|state| state.get_ref()),
                panic,
                &id,
                method,
                started,
            ))
        }
    };
    // Faults are logged here, where the request's id is known, and never sent to the client.
    let mut database_error = false;
    if let Some(error) = response.response().error() {
        match error.as_error::<ApiError>() {
            Some(ApiError::Internal(detail)) => {
                database_error = true;
                log::error!("internal error: {} request_id={id}", redact(detail))
            }
            Some(ApiError::Panicked(detail)) => {
                log::error!("panic: {} request_id={id}", redact(detail));
                if let Some(state) = &state {
                    state.metrics.panicked();
                }
            }
            Some(ApiError::Unavailable(detail)) => {
                database_error = true;
                log::warn!("database unavailable: {} request_id={id}", redact(detail))
            }
            _ => {}
        }
    }
    if let Some(state) = state {
        if database_error {
            state.metrics.database_error();
        }
        state
            .metrics
            .record(labels(&response, &state, method), started.elapsed());
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    if let Some(line) = line {
        let size = match response.response().body().size() {
            BodySize::Sized(size) => size.to_string(),
            _ => "-".to_string(),
        };
        log::info!(
            "{line} {} {size} {:.3}ms request_id={id}",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(response)
}

/// The answer to a request whose handling panicked: 500 with a document and the request's id,
/// logged and counted here (the request itself went down with the panic, so actix writes this
/// answer as the error it is).
fn panicked(
    state: Option<&AppState>,
    panic: String,
    id: &str,
    method: String,
    started: Instant,
) -> Error {
    let panic = redact(&panic);
    log::error!("panic: {panic} request_id={id}");
    let mut answer = ApiError::Panicked(panic.clone()).error_response();
    if let Ok(value) = HeaderValue::from_str(id) {
        answer.headers_mut().insert(REQUEST_ID, value);
    }
    answer
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Some(state) = state {
        state.metrics.panicked();
        let labels = Labels {
            route: "panicked".into(),
            resource_type: String::new(),
            method,
            status: 500,
        };
        state.metrics.record(labels, started.elapsed());
    }
    actix_web::error::InternalError::from_response(panic, answer).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_redacted_wherever_they_stand() {
        let key = format!("sk_test_{}", "ab12".repeat(16));
        assert_eq!(
            redact(&format!(
                "/api/x?api_key={key}&k=sk_live_{}",
                "0".repeat(64)
            )),
            "/api/x?api_key=sk_test_[redacted]&k=sk_live_[redacted]"
        );
        assert_eq!(redact("sk_test_"), "sk_test_");
        let bare = "c0ffee".repeat(10) + "abcd";
        assert_eq!(
            redact(&format!("/api/x?q={bare}&id=1e4a")),
            "/api/x?q=[redacted]&id=1e4a"
        );
        assert_eq!(
            redact(&format!("secret {} in text", bare.to_uppercase())),
            "secret [redacted] in text"
        );
        let longer = format!("{bare}0");
        assert_eq!(redact(&longer), longer, "65 digits are not a key's secret");
        let request_id = "0".repeat(32);
        assert_eq!(redact(&request_id), request_id);
        assert_eq!(redact("nothing here"), "nothing here");
    }

    #[test]
    fn request_ids_are_taken_when_usable() {
        let given = HeaderValue::from_static("abc-123");
        assert_eq!(request_id(Some(&given)), "abc-123");
        for unusable in ["has space", "quo\"te", ""] {
            let value = HeaderValue::from_str(unusable).ok();
            assert_eq!(request_id(value.as_ref()).len(), 32);
        }
    }
}
