//! Persistence: one Diesel `MultiConnection` over SQLite and PostgreSQL, an r2d2 pool, embedded
//! migrations, the `table!` schema, and typed models whose loads, counts and writes are Diesel
//! boxed queries. This module knows tables and columns, not JSON:API.

pub mod availability;
mod first_per_group;
pub mod idempotency;
mod in_json_array;
mod migrations;
pub mod model;
pub mod query;
pub mod schema;
pub mod select_list;
mod selection;
pub mod values;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::r2d2::{CustomizeConnection, Pool, PooledConnection};
use diesel::Connection;

pub use migrations::{revert_last_migration, run_migrations};
pub use model::{AsField, Field, Stored};
pub use query::{typed, Columns, Comparison, Condition, Expr, Selection, TypedColumn};
pub use values::{
    format_timestamp, truncate_to_micros, write_timestamp, ColumnKind, Direction, FromSqlValue,
    JsonText, SqlValue, UtcTime,
};

/// One connection type for every backend; the variant is chosen from the database URL.
#[derive(diesel::MultiConnection)]
pub enum Db {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// The backend of [`Db`], which every typed statement is built for.
pub type Backend = <Db as Connection>::Backend;

/// The SQL flavour of a connection: JSON and string functions differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Postgres(_) => Dialect::Postgres,
            Db::Sqlite(_) => Dialect::Sqlite,
        }
    }
}

/// Where the data lives, parsed from `DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

pub const DEFAULT_DATABASE_URL: &str = "confab.db";

impl DatabaseUrl {
    /// `postgres://…`/`postgresql://…` select PostgreSQL; `sqlite://PATH`, `sqlite:PATH` or a bare
    /// path select SQLite. Choosing here, rather than letting `establish` try each backend, keeps
    /// a mistyped PostgreSQL URL from silently becoming a SQLite file.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Config("empty SQLite database path".into()));
        }
        Ok(DatabaseUrl::Sqlite(path.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database configuration: {0}")]
    Config(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("unique constraint violated")]
    UniqueViolation,
    #[error("foreign key constraint violated")]
    ForeignKeyViolation,
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    #[error("stored row could not be decoded: {0}")]
    Decode(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A load's rows would take more than this many bytes.
    #[error("over the budget of {0} bytes")]
    OverBudget(usize),
}

/// What a loaded row adds to a document besides its fields' text: member names, punctuation and
/// its links (about half a kilobyte for a resource of this server).
pub const ROW_OVERHEAD: usize = 512;

impl From<diesel::result::Error> for StoreError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::UniqueViolation
            }
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                StoreError::ForeignKeyViolation
            }
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => StoreError::Unavailable(info.message().to_string()),
            Error::BrokenTransactionManager => {
                StoreError::Unavailable("transaction manager is broken".into())
            }
            other => StoreError::Query(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Counts every SQL statement the pool's connections run. Tests read it to prove that a request
/// costs a fixed number of statements.
#[derive(Clone, Default, Debug)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct CountStatements(StatementCounter);

impl Instrumentation for CountStatements {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            (self.0).0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[derive(Debug)]
struct ConnectionSetup {
    counter: StatementCounter,
}

/// What every new connection needs before use.
pub(crate) fn prepare(conn: &mut Db) -> diesel::QueryResult<()> {
    if conn.dialect() == Dialect::Sqlite {
        // Foreign keys are off by default in SQLite; WAL lets readers run beside a writer;
        // `optimize` refreshes planner statistics where they are missing or stale, cheaply.
        conn.batch_execute(
            "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; \
             PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; \
             PRAGMA optimize = 0x10002;",
        )?;
    }
    Ok(())
}

impl CustomizeConnection<Db, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut Db) -> Result<(), diesel::r2d2::Error> {
        prepare(conn).map_err(diesel::r2d2::Error::QueryError)?;
        conn.set_instrumentation(CountStatements(self.counter.clone()));
        Ok(())
    }
}

/// One connection of its own, without a pool: for commands that run and exit. A pool keeps
/// threads that open connections in the background, and a process that exits while one of them
/// is inside libpq's TLS set-up crashed in OpenSSL's exit handlers.
pub fn connect(url: &DatabaseUrl) -> StoreResult<Db> {
    let mut conn = availability::establish(url).map_err(|error| {
        StoreError::Unavailable(format!("cannot connect to the database: {error}"))
    })?;
    prepare(&mut conn)?;
    Ok(conn)
}

pub type DbPool = Pool<availability::Manager>;
pub type PooledDb = PooledConnection<availability::Manager>;

/// The pool plus what the rest of the program may ask of it.
#[derive(Clone)]
pub struct Store {
    pool: DbPool,
    statements: StatementCounter,
    dialect: Dialect,
    availability: Arc<availability::Availability>,
}

pub struct PoolOptions {
    pub max_size: u32,
    pub connection_timeout: Duration,
    /// Open connections at start-up (and fail then) rather than on first use.
    pub eager: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 8,
            connection_timeout: Duration::from_secs(5),
            eager: true,
        }
    }
}

impl Store {
    pub fn open(url: &DatabaseUrl, options: PoolOptions) -> StoreResult<Self> {
        let statements = StatementCounter::default();
        let manager = availability::Manager { url: url.clone() };
        let availability = availability::Availability::new(url.clone());
        let builder = Pool::builder()
            // A failed attempt marks the database down (logged once, see availability).
            .error_handler(Box::new(availability::ReportFailures(Arc::clone(
                &availability,
            ))))
            .max_size(options.max_size)
            .min_idle(Some(if options.eager { 1 } else { 0 }))
            .connection_timeout(options.connection_timeout)
            // No `SELECT 1` before every checkout: it cost a statement (a round trip on
            // PostgreSQL) per request. A connection that broke is found on use, answered 503
            // and discarded by the pool.
            .test_on_check_out(false)
            .connection_customizer(Box::new(ConnectionSetup {
                counter: statements.clone(),
            }));
        let pool = if options.eager {
            builder.build(manager).map_err(StoreError::from)?
        } else {
            builder.build_unchecked(manager)
        };
        let dialect = match url {
            DatabaseUrl::Sqlite(_) => Dialect::Sqlite,
            DatabaseUrl::Postgres(_) => Dialect::Postgres,
        };
        Ok(Store {
            pool,
            statements,
            dialect,
            availability,
        })
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> u32 {
        self.pool.max_size()
    }

    /// The pool's connections: open, and open but idle.
    pub fn pool_state(&self) -> diesel::r2d2::State {
        self.pool.state()
    }

    /// A pooled connection; `Unavailable` at once while the database is known to be down.
    pub fn connection(&self) -> StoreResult<PooledDb> {
        self.availability.check()?;
        self.pool.get().map_err(|error| {
            let error = StoreError::from(error);
            self.report(&error);
            error
        })
    }

    /// `Unavailable` at once while the database is known to be down.
    pub fn check(&self) -> StoreResult<()> {
        self.availability.check()
    }

    /// `true` from the moment the database is found down until it is back.
    pub fn watch_down(&self) -> tokio::sync::watch::Receiver<bool> {
        self.availability.watch()
    }

    /// Why the database counts as down.
    pub fn unavailable_reason(&self) -> String {
        self.availability.reason()
    }

    /// A request has waited on the database too long: check at once whether it is down.
    pub fn suspect(&self) {
        self.availability.suspect();
    }

    /// Tells the store a statement found the database gone, so later requests fail fast until
    /// it is back.
    pub fn report(&self, error: &StoreError) {
        if let StoreError::Unavailable(reason) = error {
            self.availability.failed(reason);
        }
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn statements(&self) -> &StatementCounter {
        &self.statements
    }

    /// Answers whether the database responds to a trivial statement.
    pub fn ping(&self) -> StoreResult<()> {
        let mut conn = self.connection()?;
        let answered = conn.batch_execute("SELECT 1").map_err(StoreError::from);
        if let Err(error @ StoreError::Unavailable(_)) = &answered {
            discard(&mut conn);
            self.report(error);
        }
        answered
    }
}

/// Marks a connection that found the database gone as broken, so the pool closes it instead of
/// handing it out again (a connection whose socket died outside a transaction looks healthy to
/// Diesel, and would fail every request it is given until the pool's lifetime ended).
pub fn discard(conn: &mut Db) {
    use diesel::connection::TransactionManager;
    <Db as Connection>::TransactionManager::transaction_manager_status_mut(conn).set_in_error();
}

/// Runs `work` inside one transaction; any error rolls everything back.
///
/// On SQLite the transaction begins `IMMEDIATE`, taking the write lock up front: a deferred one
/// that reads and then writes fails at once with `SQLITE_BUSY_SNAPSHOT` when another writer
/// committed in between, and the busy timeout does not retry that.
/// Holds `key` until the caller's transaction ends, so a read-check-write on one resource is not
/// interleaved with another instance's. SQLite needs nothing: its write transactions (`BEGIN
/// IMMEDIATE`) already run one at a time. On PostgreSQL, a transaction-scoped advisory lock;
/// Diesel has no builder for it.
pub fn lock_for_write(conn: &mut Db, key: &str) -> StoreResult<()> {
    use diesel::RunQueryDsl;
    if let Db::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)
            .map_err(StoreError::from)?;
    }
    Ok(())
}

pub fn transaction<T, E>(conn: &mut Db, work: impl FnOnce(&mut Db) -> Result<T, E>) -> Result<T, E>
where
    E: From<StoreError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let begun = match conn {
        // Nested work (an operator command calling a handler) gets a savepoint instead.
        Db::Sqlite(inner) => {
            match AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE") {
                Err(diesel::result::Error::AlreadyInTransaction) => {
                    <Db as TransactionManager<Db>>::begin_transaction(conn)
                }
                other => other,
            }
        }
        Db::Postgres(_) => <Db as TransactionManager<Db>>::begin_transaction(conn),
    };
    begun.map_err(|error| E::from(StoreError::from(error)))?;
    match work(conn) {
        Ok(value) => match <Db as TransactionManager<Db>>::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(error) => {
                let _ = <Db as TransactionManager<Db>>::rollback_transaction(conn);
                Err(E::from(StoreError::from(error)))
            }
        },
        Err(error) => {
            // A failed rollback leaves the manager broken; r2d2 then discards the connection.
            let _ = <Db as TransactionManager<Db>>::rollback_transaction(conn);
            Err(error)
        }
    }
}
