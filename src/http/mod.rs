//! actix-web wiring: application state, middleware, routes and the server.

mod access_log;
mod authorised;
mod compress;
mod database;
pub mod error;
mod expect;
pub use in_flight::InFlight;

pub use metrics::Metrics;
pub use rate_limit::{RateLimiter, DEFAULT_REQUESTS_PER_MINUTE};
mod extract;
mod fallbacks;
mod heavy_reads;
mod held;
mod idempotency;
mod in_flight;
mod metrics;
mod negotiate;
mod operations;
mod panic_net;
mod rate_limit;
mod routes;
mod socket;

use std::net::TcpListener;

use actix_http::HttpService;
use actix_service::{fn_factory, fn_service, map_config, Service, ServiceFactory};
use actix_web::dev::{AppConfig, Server};
use actix_web::middleware::from_fn;
use actix_web::rt::net::TcpStream;
use actix_web::{web, App};
use socket::Socket;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::KeyCache;
use crate::jsonapi::resource::Registry;
use crate::store::Store;

/// Request bodies larger than this are refused with 413.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How long a client may take, so that slow or idle ones cannot hold connections.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// To send a request's head (after connecting, or between requests on a kept-alive
    /// connection): after it the connection is closed.
    pub head: Duration,
    /// To send a request's body once its head is in: 408, and the connection is closed.
    pub body: Duration,
    /// An idle kept-alive connection is closed after this.
    pub keep_alive: Duration,
    /// A response the client reads nothing of for this long ends its connection (each write
    /// that makes progress starts it again, so a slow but steady reader never reaches it).
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            head: Duration::from_secs(5),
            body: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            write: Duration::from_secs(30),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub registry: &'static Registry,
    pub body_limit: usize,
    pub timeouts: Timeouts,
    /// What `/metrics` reports.
    pub metrics: Arc<metrics::Metrics>,
    /// Requests per key per minute on this instance.
    pub rate_limit: Arc<RateLimiter>,
    /// Keys verified moments ago, shared by the workers.
    pub keys: Arc<KeyCache>,
    /// The most a response's resources may weigh; past it a read is 400.
    pub max_response_bytes: usize,
    /// The most operations an Atomic Operations request may hold; past it the request is 413.
    pub max_operations: usize,
    /// Each key's requests in progress, bounded; the rest wait their turn.
    pub in_flight: Arc<InFlight>,
}

/// Requests a key whose requests are heavy may have in progress at once on an instance (more
/// wait their turn); 0 sets no bound.
pub const DEFAULT_IN_FLIGHT_PER_KEY: usize = 1;

/// 4 MiB: a page of 100 conversations with 20 items of about 1.5 KB each fits, and 32
/// worst-case reads in flight (each holding its rows, then its body) stay near 256 MB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 << 20;

/// Registers the middleware and routes for `state` on an actix `App`.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        config
            .app_data(web::Data::new(state))
            .configure(routes::configure);
    }
}

/// How long a connection may go on being read, and what arrives discarded, after confab
/// answered before reading its request's body (401, 413, 408 on a slow body): the client may
/// still be sending it, and closing at once would reset the connection under it, losing the
/// answer (what nginx calls a lingering close). actix's dispatcher does the reading; the
/// bytes are never buffered, so only time bounds it.
pub const LINGER: Duration = Duration::from_secs(2);

/// Starts serving on `listener` with one worker per core; the returned server runs when awaited.
pub fn serve(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    serve_with(state, listener, workers, |_| {})
}

/// [`serve`], with more routes (tests add some that misbehave on purpose).
pub fn serve_with(
    state: AppState,
    listener: TcpListener,
    workers: usize,
    more: fn(&mut web::ServiceConfig),
) -> std::io::Result<Server> {
    let workers = workers.max(1);
    // Blocking work holds a pooled connection, so threads beyond the pool's size would only
    // wait for one; unbounded, they grew to hundreds under load, each keeping its own memory.
    // Each worker keeps one connection for the reads it runs itself (SQLite).
    let pool = state.store.max_connections() as usize;
    let blocking_threads = (pool.saturating_sub(workers) / workers).max(1);
    let timeouts = state.timeouts;
    let address = listener.local_addr()?;
    fallbacks::warm_openapi(state.registry);
    panic_net::install_hook();
    // actix-web's `HttpServer`, taken apart so that the dispatcher reads and writes through a
    // [`Socket`] (a deadline on stalled writes), asks [`expect::check`] before a body is sent,
    // and its result on each connection is logged and counted (see `socket`).
    let builder = Server::build()
        .workers(workers)
        .worker_max_blocking_threads(blocking_threads);
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .listen("confab", listener, move || {
            let app = App::new()
                .wrap(from_fn(rate_limit::rate_limit))
                .wrap(from_fn(negotiate::content_negotiation))
                // A heavy key's turn is held until its answer is written.
                .wrap(from_fn(held::turns_held_until_written))
                // One line per request, with its id; keys redacted, headers never logged;
                // panics caught (see `panic_net`).
                .wrap(from_fn(access_log::access_log))
                .wrap(from_fn(compress::compression))
                .configure(configure(state.clone()))
                .configure(more);
            let shutdown = shutdown.clone();
            let for_expect = state.clone();
            let http = HttpService::<Socket, _, _>::build()
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .client_request_timeout(timeouts.head)
                .keep_alive(timeouts.keep_alive)
                .client_disconnect_timeout(LINGER)
                .local_addr(address)
                .on_connect_ext(|socket: &Socket, data| {
                    data.insert(socket.traffic());
                })
                .expect(fn_service(move |request| {
                    expect::check(for_expect.clone(), request)
                }))
                .h1(map_config(app, |_| AppConfig::default()));
            let metrics = Arc::clone(&state.metrics);
            fn_factory(move || {
                let http = http.new_service(());
                let metrics = Arc::clone(&metrics);
                async move {
                    let http = Rc::new(http.await?);
                    Ok::<_, ()>(fn_service(move |stream: TcpStream| {
                        let (http, metrics) = (Rc::clone(&http), Arc::clone(&metrics));
                        async move {
                            let peer = stream.peer_addr().ok();
                            let socket = Socket::new(stream, timeouts.write);
                            let traffic = socket.traffic();
                            let result = http.call((socket, peer)).await;
                            socket::ended(&traffic, &result, peer, &metrics);
                            result
                        }
                    }))
                }
            })
        })?
        .run();
    Ok(server)
}
