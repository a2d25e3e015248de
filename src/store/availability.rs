//! Whether the database answers, as this process last found it, and the connection manager
//! that opens connections of the backend the URL names.
//!
//! When the pool cannot hand out a connection (or a statement finds the database gone), the
//! store logs it once, answers every request at once with 503 (no more waiting for the pool's
//! timeout), and a probe on a thread of its own tries a direct connection four times a second
//! until the database answers again, which it also logs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::Connection;

use super::{prepare, DatabaseUrl, Db, StoreError, StoreResult};

const PROBE_INTERVAL: Duration = Duration::from_millis(250);

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
}

impl Availability {
    pub fn new(url: DatabaseUrl) -> Arc<Self> {
        Arc::new(Availability {
            url,
            down: AtomicBool::new(false),
            reason: Mutex::new(String::new()),
        })
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
        log::warn!("database unreachable: {reason}; answering 503 until it is back");
        let availability = Arc::clone(self);
        let probe = std::thread::Builder::new()
            .name("confab-db-probe".into())
            .spawn(move || availability.probe());
        if let Err(error) = probe {
            // Without a probe, the next request tries the pool again.
            log::error!("cannot start the database probe: {error}");
            self.down.store(false, Ordering::Release);
        }
    }

    fn probe(&self) {
        loop {
            std::thread::sleep(PROBE_INTERVAL);
            match establish(&self.url).map(|mut conn| prepare(&mut conn)) {
                Ok(Ok(())) => {
                    self.down.store(false, Ordering::Release);
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
