//! Per-key rate limits, per instance: a key may make `quota` requests in each 60-second window.
//! Every answer to a request with a well-formed key carries where the key stands, as the IETF
//! draft's `RateLimit-Policy` and `RateLimit` fields; past the quota it is 429 with
//! `Retry-After`. Counting happens before the key is checked (by its display prefix), so a
//! flood under one key costs no database work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::middleware::Next;
use actix_web::{web, Error};

use super::AppState;
use crate::auth;
use crate::jsonapi::error::ApiError;

/// Generous: a busy agent's key, not a flood.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 6000;
const WINDOW: Duration = Duration::from_secs(60);
/// Past this many keys tracked the table starts over (bounds memory against made-up keys).
const MAX_KEYS: usize = 100_000;
const POLICY: &str = "per-key";

/// Where a key stands in its window.
struct Standing {
    allowed: bool,
    remaining: u32,
    reset: Duration,
}

pub struct RateLimiter {
    quota: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// `quota` requests per key per minute; 0 turns limiting off.
    pub fn new(quota: u32) -> Self {
        RateLimiter {
            quota,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn take(&self, key: &str) -> Option<Standing> {
        if self.quota == 0 {
            return None;
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().ok()?;
        if windows.len() >= MAX_KEYS && !windows.contains_key(key) {
            windows.clear();
        }
        // A known key costs no allocation; a new one is copied once.
        if !windows.contains_key(key) {
            windows.insert(key.to_string(), (now, 0));
        }
        let (started, used) = windows.get_mut(key)?;
        if now.duration_since(*started) >= WINDOW {
            *started = now;
            *used = 0;
        }
        let allowed = *used < self.quota;
        if allowed {
            *used += 1;
        }
        Some(Standing {
            allowed,
            remaining: self.quota - *used,
            reset: WINDOW.saturating_sub(now.duration_since(*started)),
        })
    }

    fn headers(&self, standing: &Standing) -> [(HeaderName, String); 2] {
        [
            (
                HeaderName::from_static("ratelimit-policy"),
                format!("\"{POLICY}\";q={};w={}", self.quota, WINDOW.as_secs()),
            ),
            (
                HeaderName::from_static("ratelimit"),
                format!(
                    "\"{POLICY}\";r={};t={}",
                    standing.remaining,
                    seconds(standing.reset)
                ),
            ),
        ]
    }
}

/// Whole seconds, rounded up.
fn seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

pub async fn rate_limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let key = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|header| auth::bearer_token(Some(header)).ok())
        .filter(|token| auth::is_well_formed(token))
        .map(|token| auth::display_prefix(token).to_string());
    let limiter = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.rate_limit.clone());
    let (Some(key), Some(limiter)) = (key, limiter) else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let Some(standing) = limiter.take(&key) else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let mut response = if standing.allowed {
        next.call(request).await?.map_into_left_body()
    } else {
        let retry_after = seconds(standing.reset).max(1);
        let mut refused = request.error_response(ApiError::TooManyRequests { retry_after });
        if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
            refused.headers_mut().insert(RETRY_AFTER, value);
        }
        refused.map_into_right_body()
    };
    for (name, value) in limiter.headers(&standing) {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}
