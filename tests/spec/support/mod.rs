//! The test harness: a real confab server on a loopback port over a fresh database, a plain
//! HTTP/1.1 client that sends request targets byte for byte, and checks applied to every
//! JSON:API response (official JSON Schema with format checks, and the `jsonapi` crate as an
//! independent client).
//!
//! Backend: SQLite in a temporary file by default; PostgreSQL when `CONFAB_TEST_POSTGRES_URL`
//! names an administrative database. Each test gets a database of its own.

#![allow(dead_code)]

pub mod http;
pub mod proxy;
pub mod schema;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use confab::auth::keys::{create_key, NewKey};
use confab::auth::SCOPES;
use confab::http::{AppState, DEFAULT_BODY_LIMIT};
use confab::operators;
use confab::resources::REGISTRY;
use confab::store::{run_migrations, DatabaseUrl, PoolOptions, PooledDb, Store};

pub use self::http::Response;

pub const MEDIA_TYPE: &str = "application/vnd.api+json";

/// A database that exists for one test and is removed after it.
enum TestDatabase {
    Sqlite(PathBuf),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// A location where no database can be opened (for 503 tests).
    Unreachable,
}

impl TestDatabase {
    fn create() -> (Self, DatabaseUrl) {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var("CONFAB_TEST_POSTGRES_URL") {
            Ok(admin_url) if !admin_url.is_empty() => Self::create_postgres(admin_url, suffix),
            _ => {
                let path = std::env::temp_dir().join(format!("confab-test-{suffix}.db"));
                let url = DatabaseUrl::Sqlite(path.display().to_string());
                (TestDatabase::Sqlite(path), url)
            }
        }
    }

    fn create_postgres(admin_url: String, suffix: String) -> (Self, DatabaseUrl) {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let name = format!("confab_test_{suffix}");
        let mut admin = diesel::PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin_url}: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = DatabaseUrl::Postgres(format!("{base}/{name}"));
        (TestDatabase::Postgres { admin_url, name }, url)
    }

    pub fn is_postgres(&self) -> bool {
        !matches!(self, TestDatabase::Sqlite(_) | TestDatabase::Unreachable)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match self {
            TestDatabase::Sqlite(path) => {
                for extension in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{extension}", path.display()));
                }
            }
            TestDatabase::Postgres { admin_url, name } => {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
                }
            }
            TestDatabase::Unreachable => {}
        }
    }
}

/// What a test server allows its clients.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub timeouts: confab::http::Timeouts,
    /// Per key; 0 turns the limit off.
    pub requests_per_minute: u32,
    /// The most bytes of resources one response may carry.
    pub max_response_bytes: usize,
    /// The most operations in one Atomic Operations request.
    pub max_operations: usize,
    /// Requests of one key in progress at once (0: no bound).
    pub in_flight_per_key: usize,
    /// Routes added beside confab's own (tests add some that misbehave on purpose).
    pub routes: fn(&mut actix_web::web::ServiceConfig),
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeouts: confab::http::Timeouts::default(),
            requests_per_minute: confab::http::DEFAULT_REQUESTS_PER_MINUTE,
            max_response_bytes: confab::http::DEFAULT_MAX_RESPONSE_BYTES,
            max_operations: confab::jsonapi::atomic::DEFAULT_MAX_OPERATIONS,
            in_flight_per_key: confab::http::DEFAULT_IN_FLIGHT_PER_KEY,
            routes: |_| {},
        }
    }
}

/// An organisation and one of its keys.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub organisation: String,
    pub key: String,
}

/// A running server and the database behind it, with organisation "Acme" and an all-scopes key
/// that requests carry unless they bring their own `Authorization`.
pub struct TestServer {
    pub address: SocketAddr,
    /// The database's URL, as `DATABASE_URL` would name it.
    pub database_url: String,
    pub store: Store,
    pub organisation: String,
    pub key: String,
    handle: actix_web::dev::ServerHandle,
    // Dropped after the server is told to stop.
    database: TestDatabase,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(Settings::default())
    }

    /// A server with these client timeouts and rate limit.
    pub fn start_with(settings: Settings) -> Self {
        let (database, url) = TestDatabase::create();
        let store = Store::open(&url, PoolOptions::default()).expect("open test database");
        run_migrations(&mut store.connection().expect("connection")).expect("migrations");
        let mut server = Self::serve(store, database, settings);
        server.database_url = match url {
            DatabaseUrl::Sqlite(path) | DatabaseUrl::Postgres(path) => path,
        };
        let acme = server.add_tenant("Acme", SCOPES);
        server.organisation = acme.organisation;
        server.key = acme.key;
        server
    }

    /// A server whose database cannot be reached at all: a SQLite file in a directory that does
    /// not exist, or (on the PostgreSQL run) a port where nothing listens.
    pub fn start_without_database() -> Self {
        let url = match std::env::var("CONFAB_TEST_POSTGRES_URL") {
            Ok(admin) if !admin.is_empty() => {
                DatabaseUrl::Postgres("postgres://postgres@127.0.0.1:1/confab_down".into())
            }
            _ => DatabaseUrl::Sqlite("/nonexistent-confab-dir/never/here.db".into()),
        };
        Self::start_at(url)
    }

    /// A server on `url`, opened lazily (the database may be unreachable), with a pool that
    /// waits up to a second for a connection.
    pub fn start_at(url: DatabaseUrl) -> Self {
        let options = PoolOptions {
            eager: false,
            connection_timeout: Duration::from_secs(1),
            ..PoolOptions::default()
        };
        let store = Store::open(&url, options).expect("lazy pool");
        Self::serve(store, TestDatabase::Unreachable, Settings::default())
    }

    /// A second server on this one's database reached at `url` (through a proxy, say), with
    /// the pool confab runs with by default, and this server's key.
    pub fn beside(&self, url: DatabaseUrl) -> Self {
        let store = Store::open(&url, PoolOptions::default()).expect("pool");
        let mut server = Self::serve(store, TestDatabase::Unreachable, Settings::default());
        server.organisation = self.organisation.clone();
        server.key = self.key.clone();
        server
    }

    fn serve(store: Store, database: TestDatabase, settings: Settings) -> Self {
        REGISTRY.check().expect("registry is consistent");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("local address");
        let state = AppState {
            store: store.clone(),
            registry: &REGISTRY,
            body_limit: DEFAULT_BODY_LIMIT,
            timeouts: settings.timeouts,
            rate_limit: std::sync::Arc::new(confab::http::RateLimiter::new(
                settings.requests_per_minute,
            )),
            metrics: Default::default(),
            keys: std::sync::Arc::new(confab::auth::KeyCache::default()),
            max_response_bytes: settings.max_response_bytes,
            max_operations: settings.max_operations,
            in_flight: std::sync::Arc::new(confab::http::InFlight::new(settings.in_flight_per_key)),
        };
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server =
                    confab::http::serve_with(state, listener, 1, settings.routes).expect("server");
                sender.send(server.handle()).expect("send handle");
                let _ = server.await;
            })
        });
        let handle = receiver.recv().expect("server started");
        TestServer {
            address,
            database_url: String::new(),
            store,
            organisation: String::new(),
            key: format!("sk_test_{}", "0".repeat(64)),
            handle,
            database,
        }
    }

    pub fn connection(&self) -> PooledDb {
        self.store.connection().expect("test connection")
    }

    /// Another organisation (as an operator makes it) with a key of these scopes.
    pub fn add_tenant(&self, name: &str, scopes: &[&str]) -> Tenant {
        let organisation = self.create_organisation(name);
        let key = self.add_key(&organisation, scopes, None);
        Tenant { organisation, key }
    }

    pub fn add_key(
        &self,
        organisation: &str,
        scopes: &[&str],
        expires_in_days: Option<u32>,
    ) -> String {
        create_key(
            &mut self.connection(),
            &NewKey {
                organisation_id: organisation.to_string(),
                scopes: scopes.iter().map(|scope| scope.to_string()).collect(),
                test: true,
                expires_in_days,
            },
        )
        .expect("create key")
    }

    /// An organisation made at the command line's level (the API does not create them).
    pub fn create_organisation(&self, name: &str) -> String {
        operators::create_organisation(&mut self.connection(), name, None)
            .expect("create organisation")
    }

    pub fn is_postgres(&self) -> bool {
        self.database.is_postgres()
    }

    /// Every row of every table, one line of text per row, sorted: two dumps are equal exactly
    /// when the database holds the same data.
    pub fn dump(&self) -> Vec<String> {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        let mut conn = self.connection();
        let mut lines = Vec::new();
        for (table, columns) in confab::store::schema::TABLES {
            let row = columns
                .iter()
                .map(|(column, _)| format!("COALESCE(CAST({column} AS TEXT), 'NULL')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let query = format!("SELECT '{table}|' || {row} AS line FROM {table}");
            let rows: Vec<Line> = diesel::sql_query(query)
                .load(&mut *conn)
                .expect("dump a table");
            lines.extend(rows.into_iter().map(|row| row.line));
        }
        lines.sort();
        lines
    }

    /// Statements run by the server's connections so far.
    pub fn statements(&self) -> u64 {
        self.store.statements().get()
    }

    /// Sends with the server's key unless `headers` carry an `Authorization` of their own.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        let authorization = format!("Bearer {}", self.key);
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        {
            all.push(("Authorization", &authorization));
        }
        http::send(self.address, method, target, &all, body)
    }

    /// Sends with `key` (or with no credential at all).
    pub fn request_as(
        &self,
        key: Option<&str>,
        method: &str,
        target: &str,
        body: Option<&Value>,
    ) -> Response {
        let authorization = key.map(|key| format!("Bearer {key}"));
        let mut headers = vec![("Accept", MEDIA_TYPE)];
        if let Some(authorization) = &authorization {
            headers.push(("Authorization", authorization.as_str()));
        }
        let bytes = body.map(|body| serde_json::to_vec(body).expect("serialize"));
        if bytes.is_some() {
            headers.push(("Content-Type", MEDIA_TYPE));
        }
        http::send(self.address, method, target, &headers, bytes.as_deref())
    }

    pub fn get(&self, target: &str) -> Response {
        self.request("GET", target, &[("Accept", MEDIA_TYPE)], None)
    }

    pub fn post(&self, target: &str, document: &Value) -> Response {
        self.send_document("POST", target, document)
    }

    pub fn patch(&self, target: &str, document: &Value) -> Response {
        self.send_document("PATCH", target, document)
    }

    pub fn delete(&self, target: &str) -> Response {
        self.request("DELETE", target, &[("Accept", MEDIA_TYPE)], None)
    }

    fn send_document(&self, method: &str, target: &str, document: &Value) -> Response {
        let body = serde_json::to_vec(document).expect("serialize");
        self.request(
            method,
            target,
            &[("Accept", MEDIA_TYPE), ("Content-Type", MEDIA_TYPE)],
            Some(&body),
        )
    }

    pub fn create_conversation(&self, organisation: &str, attributes: Value) -> String {
        let response = self.post(
            "/api/conversations",
            &json!({"data": {
                "type": "Conversation",
                "attributes": attributes,
                "relationships": {"organisation": {"data": {"type": "Organisation", "id": organisation}}}
            }}),
        );
        created_id(&response)
    }

    /// A published agent of the server's organisation, with these attributes besides.
    pub fn create_agent(&self, attributes: Value) -> String {
        let mut all = json!({"name": "Ada", "published": true});
        if let (Some(all), Some(given)) = (all.as_object_mut(), attributes.as_object()) {
            all.extend(given.clone());
        }
        let response = self.post(
            "/api/ai_agents",
            &json!({"data": {"type": "AiAgent", "attributes": all}}),
        );
        created_id(&response)
    }

    pub fn create_item(&self, conversation: &str, content: &str) -> String {
        let response = self.post(
            "/api/conversation_items",
            &json!({"data": {
                "type": "ConversationItem",
                "attributes": {"role": "user", "content": content},
                "relationships": {"conversation": {"data": {"type": "Conversation", "id": conversation}}}
            }}),
        );
        created_id(&response)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Stop accepting and release the pool before the database is removed.
        drop(self.handle.stop(false));
    }
}

fn created_id(response: &Response) -> String {
    assert_eq!(response.status, 201, "create failed: {}", response.text());
    response.json()["data"]["id"]
        .as_str()
        .expect("created resource has an id")
        .to_string()
}

/// Asserts the status and returns the document; the document was already validated on receipt.
pub fn expect_document(response: &Response, status: u16) -> Value {
    assert_eq!(
        response.status,
        status,
        "unexpected status; body: {}",
        response.text()
    );
    assert_eq!(response.header("content-type"), Some(MEDIA_TYPE));
    // Bodies over 1 KiB may be compressed, so their representation varies by Accept-Encoding.
    let vary = if response.body.len() > 1024 {
        "Accept, Accept-Encoding"
    } else {
        "Accept"
    };
    assert_eq!(response.header("vary"), Some(vary));
    response.json()
}

/// A string attribute of each resource of a document's primary data, in order.
pub fn attribute_of_each(document: &Value, attribute: &str) -> Vec<String> {
    document["data"]
        .as_array()
        .expect("primary data is an array")
        .iter()
        .map(|resource| {
            resource["attributes"][attribute]
                .as_str()
                .expect("a string attribute")
                .to_string()
        })
        .collect()
}

/// Asserts an error response: status, one error object per expected (status, source) pair.
pub fn expect_errors(response: &Response, status: u16, sources: &[Value]) -> Value {
    let document = expect_document(response, status);
    let errors = document["errors"].as_array().expect("errors array");
    let found: Vec<&Value> = errors.iter().map(|error| &error["source"]).collect();
    let expected: Vec<&Value> = sources.iter().collect();
    assert_eq!(found, expected, "error sources differ: {document:#}");
    for error in errors {
        let error_status = error["status"].as_str().expect("status string");
        assert!(
            error_status.len() == 3 && error["title"].is_string() && error["detail"].is_string(),
            "{error:#}"
        );
        assert!(error["code"].is_string(), "{error:#}");
    }
    document
}

pub fn pointer(pointer: &str) -> Value {
    json!({"pointer": pointer})
}

pub fn parameter(parameter: &str) -> Value {
    json!({"parameter": parameter})
}

pub fn header(header: &str) -> Value {
    json!({"header": header})
}

pub fn no_source() -> Value {
    Value::Null
}

/// A loopback address no one listens on yet, for a confab process to bind.
pub fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}

/// Waits (30 s at most) until a started confab process accepts connections.
pub fn wait_until_listening(address: SocketAddr) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(address).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "confab did not start listening"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A confab process on the test server's database.
pub struct Instance {
    child: std::process::Child,
    pub address: SocketAddr,
}

impl Instance {
    pub fn start(database_url: &str) -> Self {
        let address = free_address();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(["serve", "--no-bootstrap", "--rate-limit", "0"])
            .env("DATABASE_URL", database_url)
            .env("CONFAB_BIND", address.to_string())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start confab");
        wait_until_listening(address);
        Instance { child, address }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
