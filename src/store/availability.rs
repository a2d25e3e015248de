//! Whether the database answers, as this process last found it, and the connection manager
//! that opens connections of the backend the URL names.
//!
//! When the pool cannot open a connection, a statement finds the database gone, or a request
//! waits so long that the database is suspected and a fresh connection cannot be made in time,
//! the store logs it once, tells every waiting request (they answer 503 at once, without
//! waiting for the pool's timeout or a hung socket), answers every new request at once with
//! 503, and a probe on a thread of its own tries a direct connection four times a second until
//! the database answers again, which it also logs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{HandleError, ManageConnection, R2D2Connection};
use diesel::Connection;
use tokio::sync::watch;

use super::{prepare, DatabaseUrl, Db, StoreError, StoreResult};

const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// How long a suspicion's fresh connection and `SELECT 1` may take before the database counts
/// as unreachable. A healthy PostgreSQL answers in a few milliseconds, TLS included; this is
/// long enough for a loaded one and short enough for a 503 within a second.
const SUSPICION_DEADLINE: Duration = Duration::from_millis(500);

/// After a suspicion the database passed, the next one waits this long: a busy but healthy
/// server costs at most one extra connection a second.
const SUSPICION_INTERVAL: Duration = Duration::from_secs(1);

/// Opens a connection of the backend `url` names, so a failure says what went wrong (the
/// multi-backend's own `establish` tries every backend and reports only the last).
pub(super) fn establish(url: &DatabaseUrl) -> diesel::ConnectionResult<Db> {
    match url {
        DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url).map(Db::Postgres),
        DatabaseUrl::Sqlite(path) => diesel::SqliteConnection::establish(path).map(Db::Sqlite),
    }
}

/// r2d2's manager for [`Db`].
#[derive(Debug)]
pub struct Manager {
    pub(super) url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = Db;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Db, Self::Error> {
        establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut Db) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Db) -> bool {
        conn.is_broken()
    }
}

pub(super) struct Availability {
    url: DatabaseUrl,
    down: AtomicBool,
    reason: Mutex<String>,
    /// The same as `down`, for requests waiting on the database to hear of it at once.
    news: watch::Sender<bool>,
    /// A suspicion is being checked.
    checking: AtomicBool,
}

impl Availability {
    pub fn new(url: DatabaseUrl) -> Arc<Self> {
        Arc::new(Availability {
            url,
            down: AtomicBool::new(false),
            reason: Mutex::new(String::new()),
            news: watch::Sender::new(false),
            checking: AtomicBool::new(false),
        })
    }

    /// `true` from the moment the database is found down until it is back.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.news.subscribe()
    }

    /// Why the database counts as down, as last found.
    pub fn reason(&self) -> String {
        self.reason.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// A request has waited on the database for longer than it should: a fresh connection
    /// and `SELECT 1` on a thread of their own decide, within [`SUSPICION_DEADLINE`], whether
    /// it is down (the pooled connections may hang on a network that drops packets, which no
    /// statement of theirs would report). One check at a time.
    pub fn suspect(self: &Arc<Self>) {
        if self.down.load(Ordering::Acquire) || self.checking.swap(true, Ordering::AcqRel) {
            return;
        }
        let availability = Arc::clone(self);
        let check = std::thread::Builder::new()
            .name("confab-db-check".into())
            .spawn(move || {
                let (answer, answered) = mpsc::channel();
                let url = availability.url.clone();
                // Left behind if the database never answers; it ends when the socket does.
                let attempt = std::thread::Builder::new()
                    .name("confab-db-check".into())
                    .spawn(move || {
                        let outcome = establish(&url).map_err(|error| error.to_string()).and_then(
                            |mut conn| {
                                conn.batch_execute("SELECT 1")
                                    .map_err(|error| error.to_string())
                            },
                        );
                        let _ = answer.send(outcome);
                    });
                let outcome = match attempt {
                    Ok(_) => answered
                        .recv_timeout(SUSPICION_DEADLINE)
                        .unwrap_or_else(|_| {
                            Err(format!(
                                "no connection answered within {} ms",
                                SUSPICION_DEADLINE.as_millis()
                            ))
                        }),
                    Err(error) => Err(format!("cannot start a connection check: {error}")),
                };
                match outcome {
                    Ok(()) => std::thread::sleep(SUSPICION_INTERVAL),
                    Err(reason) => availability.failed(&reason),
                }
                availability.checking.store(false, Ordering::Release);
            });
        if check.is_err() {
            self.checking.store(false, Ordering::Release);
        }
    }

    /// `Err` at once while the database is known to be down.
    pub fn check(&self) -> StoreResult<()> {
        if !self.down.load(Ordering::Acquire) {
            return Ok(());
        }
        let reason = self.reason.lock().map(|r| r.clone()).unwrap_or_default();
        Err(StoreError::Unavailable(reason))
    }

    /// Records that the database did not answer; the first report starts the probe.
    pub fn failed(self: &Arc<Self>, reason: &str) {
        if let Ok(mut current) = self.reason.lock() {
            *current = reason.to_string();
        }
        if self.down.swap(true, Ordering::AcqRel) {
            return;
        }
        self.news.send_replace(true);
        log::warn!("database unreachable: {reason}; answering 503 until it is back");
        let availability = Arc::clone(self);
        let probe = std::thread::Builder::new()
            .name("confab-db-probe".into())
            .spawn(move || availability.probe());
        if let Err(error) = probe {
            // Without a probe, the next request tries the pool again.
            log::error!("cannot start the database probe: {error}");
            self.down.store(false, Ordering::Release);
            self.news.send_replace(false);
        }
    }

    fn probe(&self) {
        loop {
            std::thread::sleep(PROBE_INTERVAL);
            match establish(&self.url).map(|mut conn| prepare(&mut conn)) {
                Ok(Ok(())) => {
                    self.down.store(false, Ordering::Release);
                    self.news.send_replace(false);
                    log::info!("database reachable again");
                    return;
                }
                Ok(Err(error)) => self.note(error.to_string()),
                Err(error) => self.note(error.to_string()),
            }
        }
    }

    fn note(&self, reason: String) {
        if let Ok(mut current) = self.reason.lock() {
            *current = reason;
        }
    }
}

/// r2d2's report of a connection it could not open: the database counts as down at once, so
/// a request waiting for a connection answers 503 instead of waiting out the pool's timeout.
pub(super) struct ReportFailures(pub(super) Arc<Availability>);

impl std::fmt::Debug for ReportFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReportFailures")
    }
}

impl HandleError<diesel::r2d2::Error> for ReportFailures {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        self.0.failed(&error.to_string());
    }
}
