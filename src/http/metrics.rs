//! `/metrics` in the Prometheus text format (version 0.0.4): requests by route, type, method
//! and status; a latency histogram per route; the pool's connections; database errors. The
//! access log records each request here. Labels come from route patterns and registered type
//! names only, so their number stays bounded whatever clients send.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What one request's labels are.
pub struct Labels {
    pub route: String,
    pub resource_type: String,
    pub method: String,
    pub status: u16,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    database_errors: AtomicU64,
    /// Requests actix answered itself before routing, by status (400, 408, 431).
    refused: Mutex<BTreeMap<u16, u64>>,
    /// Panics caught on a request path.
    panics: AtomicU64,
}

impl Metrics {
    pub fn record(&self, labels: Labels, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = latency.entry(labels.route.clone()).or_default();
            for (bucket, bound) in histogram.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *bucket += 1;
                }
            }
            histogram.count += 1;
            histogram.sum += seconds;
        }
        if let Ok(mut requests) = self.requests.lock() {
            let key = (
                labels.route,
                labels.resource_type,
                labels.method,
                labels.status,
            );
            *requests.entry(key).or_default() += 1;
        }
    }

    /// A statement or connection that failed on the database's side (503 and 500 answers).
    pub fn database_error(&self) {
        self.database_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A request actix refused itself, before any route saw it.
    pub fn refused_before_routing(&self, status: u16) {
        if let Ok(mut refused) = self.refused.lock() {
            *refused.entry(status).or_default() += 1;
        }
    }

    /// A panic caught on a request path (see `panic_net`).
    pub fn panicked(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, state: &AppState) -> String {
        let mut out = String::new();
        out.push_str("# HELP confab_http_requests_total Requests answered.\n");
        out.push_str("# TYPE confab_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((route, resource_type, method, status), count) in requests.iter() {
                let _ = writeln!(
                    out,
                    "confab_http_requests_total{{route=\"{route}\",type=\"{resource_type}\",method=\"{method}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP confab_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE confab_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for (route, histogram) in latency.iter() {
                for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                    let _ = writeln!(
                        out,
                        "confab_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "confab_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    histogram.count
                );
                let _ = writeln!(
                    out,
                    "confab_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    histogram.sum
                );
                let _ = writeln!(
                    out,
                    "confab_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    histogram.count
                );
            }
        }
        let pool = state.store.pool_state();
        for (name, help, value) in [
            (
                "confab_db_pool_max_connections",
                "Connections the pool may open.",
                state.store.max_connections(),
            ),
            (
                "confab_db_pool_connections",
                "Connections open now.",
                pool.connections,
            ),
            (
                "confab_db_pool_idle_connections",
                "Open connections not in use.",
                pool.idle_connections,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP confab_db_errors_total Requests the database failed (503 and 500 answers).\n\
             # TYPE confab_db_errors_total counter\nconfab_db_errors_total {}",
            self.database_errors.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP confab_http_refused_before_routing_total Requests the HTTP/1 layer answered \
             itself, with an empty body, before any route saw them: unparseable (400), head too \
             slow (408), head too large (431).\n\
             # TYPE confab_http_refused_before_routing_total counter\n",
        );
        if let Ok(refused) = self.refused.lock() {
            for status in [400, 408, 431] {
                let count = refused.get(&status).copied().unwrap_or_default();
                let _ = writeln!(
                    out,
                    "confab_http_refused_before_routing_total{{status=\"{status}\"}} {count}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP confab_panics_total Panics caught on a request path (answered 500).\n\
             # TYPE confab_panics_total counter\nconfab_panics_total {}",
            self.panics.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP confab_heavy_reads_total Reads of keys whose requests are heavy, run on the \
             low-priority heavy-read threads.\n\
             # TYPE confab_heavy_reads_total counter\nconfab_heavy_reads_total {}",
            state.in_flight.heavy_reads_run()
        );
        out
    }
}

/// `GET /metrics`: no key needed, like `/health`; keep it off public networks.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let body = state.metrics.render(&state);
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        ))
        .body(body)
}
