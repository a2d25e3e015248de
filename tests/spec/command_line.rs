//! The `confab` binary itself: first-start bootstrap, operator commands, and its log.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::support::http::send;

const BINARY: &str = env!("CARGO_BIN_EXE_confab");

struct Database(std::path::PathBuf);

impl Database {
    fn new() -> Self {
        let name = format!("confab-cli-{}.db", uuid::Uuid::new_v4().simple());
        Database(std::env::temp_dir().join(name))
    }

    fn url(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn confab(database: &Database, args: &[&str]) -> std::process::Output {
    Command::new(BINARY)
        .args(args)
        .env("DATABASE_URL", database.url())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run confab")
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "confab failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A served confab whose stdout lines arrive on a channel and whose stderr (the log) is kept.
struct Served {
    child: Child,
    address: SocketAddr,
    lines: mpsc::Receiver<String>,
    log: std::thread::JoinHandle<String>,
}

impl Served {
    fn start(database: &Database, extra: &[&str]) -> Self {
        let address = crate::support::free_address();
        let mut child = Command::new(BINARY)
            .arg("serve")
            .args(extra)
            .env("DATABASE_URL", database.url())
            .env("CONFAB_BIND", address.to_string())
            .env("RUST_LOG", "trace")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start confab");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        crate::support::wait_until_listening(address);
        Served {
            child,
            address,
            lines,
            log,
        }
    }

    fn printed(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log.join().unwrap()
    }
}

#[test]
fn first_start_bootstraps_once_and_no_key_is_ever_logged() {
    let database = Database::new();
    let served = Served::start(&database, &[]);
    // The bootstrap lines are printed before the server listens.
    std::thread::sleep(Duration::from_millis(200));
    let printed = served.printed();
    let key = printed
        .iter()
        .find(|line| line.starts_with("sk_test_"))
        .unwrap_or_else(|| panic!("no key printed: {printed:?}"))
        .clone();
    assert!(confab::auth::is_well_formed(&key));
    assert!(printed
        .iter()
        .any(|line| line.contains("confab keys create --organisation demo")));

    let bearer = format!("Bearer {key}");
    let ok = send(
        served.address,
        "GET",
        "/api/organisations?fields[Organisation]=slug",
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["data"][0]["attributes"]["slug"], "demo");
    let wrong = format!("Bearer {}{}", &key[..20], "0".repeat(52));
    assert_eq!(
        send(
            served.address,
            "GET",
            "/api/conversations",
            &[("Authorization", &wrong)],
            None
        )
        .status,
        401
    );
    assert_eq!(
        send(
            served.address,
            "GET",
            "/api/conversations",
            &[("Authorization", &key)],
            None
        )
        .status,
        401
    );
    // A key in the query string (some clients put it there) is redacted from the log too.
    let in_query = send(
        served.address,
        "GET",
        &format!("/api/conversations?api_key={key}&page[limit]=1"),
        &[("Authorization", &bearer)],
        None,
    );
    assert_eq!(in_query.status, 400);
    // Request ids: taken from the request when usable, made otherwise; answered and logged.
    let traced = send(
        served.address,
        "GET",
        "/api/conversations",
        &[("Authorization", &bearer), ("X-Request-Id", "trace-42.a_b")],
        None,
    );
    assert_eq!(traced.header("x-request-id"), Some("trace-42.a_b"));
    let made = send(served.address, "GET", "/health", &[], None);
    let made_id = made
        .header("x-request-id")
        .expect("a request id")
        .to_string();
    assert_eq!(made_id.len(), 32, "{made_id}");
    let unusable = send(
        served.address,
        "GET",
        "/health",
        &[("X-Request-Id", &"z".repeat(300))],
        None,
    );
    let replaced = unusable.header("x-request-id").expect("a request id");
    assert_eq!(replaced.len(), 32, "{replaced}");
    let log = served.stop();
    for id in ["request_id=trace-42.a_b", &format!("request_id={made_id}")] {
        assert!(log.contains(id), "{id} is not in the log:\n{log}");
    }
    assert!(log.contains("api_key=sk_test_[redacted]"), "{log}");

    let hash: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        log.contains("GET /api/organisations"),
        "the request log is missing: {log}"
    );
    for secret in [&key[8..], &hash, &wrong[27..]] {
        assert!(
            !log.contains(secret),
            "a key or its hash was logged:\n{log}"
        );
    }

    // A second start finds organisations and makes nothing.
    let again = Served::start(&database, &[]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(again.printed().iter().all(|line| !line.starts_with("sk_")));
    again.stop();
    assert_eq!(
        stdout(&confab(&database, &["keys", "list"]))
            .lines()
            .count(),
        2
    );
}

#[test]
fn no_bootstrap_leaves_an_empty_database_empty() {
    let database = Database::new();
    let served = Served::start(&database, &["--no-bootstrap"]);
    std::thread::sleep(Duration::from_millis(200));
    assert!(served.printed().iter().all(|line| !line.starts_with("sk_")));
    served.stop();
    assert_eq!(
        stdout(&confab(&database, &["keys", "list"]))
            .lines()
            .count(),
        1
    );
}

#[test]
fn operators_manage_organisations_and_keys() {
    let database = Database::new();
    let id = stdout(&confab(
        &database,
        &["organisations", "create", "--name", "Acme Support"],
    ));
    let id = id.trim();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let duplicate = confab(
        &database,
        &[
            "organisations",
            "create",
            "--name",
            "Other",
            "--slug",
            "acme-support",
        ],
    );
    assert!(!duplicate.status.success());

    let created = stdout(&confab(
        &database,
        &[
            "keys",
            "create",
            "--organisation",
            "acme-support",
            "--scopes",
            "conversation:read",
            "--expires-in",
            "30",
        ],
    ));
    let key = created.lines().last().unwrap().to_string();
    assert!(
        key.starts_with("sk_live_") && confab::auth::is_well_formed(&key),
        "{created}"
    );
    let test_key = stdout(&confab(
        &database,
        &["keys", "create", "--organisation", id, "--test"],
    ));
    assert!(test_key.lines().last().unwrap().starts_with("sk_test_"));
    let bad_scope = confab(
        &database,
        &[
            "keys",
            "create",
            "--organisation",
            id,
            "--scopes",
            "everything",
        ],
    );
    assert!(!bad_scope.status.success());
    assert!(String::from_utf8_lossy(&bad_scope.stderr).contains("unknown scope"));

    let listed = stdout(&confab(
        &database,
        &["keys", "list", "--organisation", "acme-support"],
    ));
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(
        listed.contains(&key[..20]) && !listed.contains(&key[20..]),
        "secret listed: {listed}"
    );
    assert!(listed.contains("conversation:read\t"));

    assert!(stdout(&confab(&database, &["keys", "revoke", &key[..20]])).contains("revoked"));
    assert!(!confab(&database, &["keys", "revoke", &key[..20]])
        .status
        .success());
    let listed = stdout(&confab(&database, &["keys", "list"]));
    let revoked_line = listed
        .lines()
        .find(|line| line.starts_with(&key[..20]))
        .unwrap();
    assert_eq!(
        revoked_line
            .split('\t')
            .nth(5)
            .map(|revoked| revoked != "-"),
        Some(true)
    );

    assert!(stdout(&confab(
        &database,
        &["organisations", "delete", "acme-support"]
    ))
    .contains("deleted"));
    assert_eq!(
        stdout(&confab(&database, &["keys", "list"]))
            .lines()
            .count(),
        1
    );
}

/// Commands exit 0 every time, on the suite's backend (PostgreSQL in CI's second run): they use
/// one connection of their own, so no pool thread is inside libpq's TLS set-up while the process
/// exits (which crashed 25-40% of PostgreSQL runs). Every retried `keys create` makes one key.
#[test]
fn commands_exit_cleanly_every_time() {
    let server = crate::support::TestServer::start();
    let run = |args: &[&str]| {
        Command::new(BINARY)
            .args(args)
            .env("DATABASE_URL", &server.database_url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run confab")
    };
    const RUNS: usize = 100;
    for round in 0..RUNS {
        let output = if round % 2 == 0 {
            run(&[
                "keys",
                "create",
                "--organisation",
                &server.organisation,
                "--test",
            ])
        } else {
            run(&["migrate"])
        };
        assert!(
            output.status.success(),
            "run {round} ended with {:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let listed = stdout(&run(&[
        "keys",
        "list",
        "--organisation",
        &server.organisation,
    ]));
    // The header, the server's own key, and one per `keys create`.
    assert_eq!(listed.lines().count(), 2 + RUNS / 2, "{listed}");
}
