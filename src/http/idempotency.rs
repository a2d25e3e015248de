//! The `Idempotency-Key` header on `POST`, `PATCH` and `DELETE`: a retry of the same request
//! from the same organisation within 24 hours gets the first answer again, byte for byte, with
//! `Idempotent-Replayed: true`, and the work is not done twice (the claim, the work and the
//! answer commit as one unit: `jsonapi::unit_of_work`). Only answers of work that was
//! done (2xx) are kept. A refusal (4xx: the body did not validate, a conflict, a missing
//! resource) changed nothing, since every write is all or nothing; like a fault (5xx), it rolls
//! the claim back with the work, freeing the key, so the client can correct the request and
//! send it again under the same key (as Stripe does).

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::jsonapi::error::ApiError;
use crate::jsonapi::unit_of_work::Idempotent;
use crate::store::idempotency::{self, StoredAnswer};

pub const HEADER: &str = "idempotency-key";
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// A request's key and what a retry must match.
pub struct Keyed {
    key: String,
    digest: String,
}

/// The key a request carries, checked; `None` without one.
pub fn keyed(request: &HttpRequest, body: &[u8]) -> Result<Option<Keyed>, ApiError> {
    let mut values = request.headers().get_all(HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|key| (1..=255).contains(&key.len()))
        .filter(|key| key.bytes().all(|byte| byte.is_ascii_graphic()))
        .filter(|_| values.next().is_none())
        .ok_or(ApiError::InvalidIdempotencyKey)?;
    let digest = idempotency::request_digest(
        request.method().as_str(),
        request.path(),
        request.query_string(),
        body,
    );
    Ok(Some(Keyed {
        key: key.to_string(),
        digest,
    }))
}

/// The answer to a write, as it is sent and as it is kept.
pub fn answer(
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
    content_type: Option<String>,
) -> StoredAnswer {
    StoredAnswer {
        status,
        location,
        content_type,
        // Documents are UTF-8 JSON: kept without a copy.
        body: String::from_utf8(body)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
    }
}

/// The unit of work's view of a request's key, for `organisation`.
pub fn under<'a>(keyed: Option<&'a Keyed>, organisation: &'a str) -> Option<Idempotent<'a>> {
    keyed.map(|keyed| Idempotent {
        organisation,
        key: &keyed.key,
        digest: &keyed.digest,
    })
}

/// The HTTP response for a kept (or fresh) answer.
pub fn respond(answer: StoredAnswer, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if let Some(content_type) = answer.content_type {
        response.insert_header((header::CONTENT_TYPE, content_type));
    }
    if let Some(location) = answer.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.insert_header((header::LOCATION, location));
    }
    if replayed {
        response.insert_header((REPLAYED, "true"));
    }
    if answer.body.is_empty() {
        response.finish()
    } else {
        response.body(answer.body)
    }
}
