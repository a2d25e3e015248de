//! PostgreSQL that goes away under a running server, through a TCP proxy that is cut: reset
//! (connections closed, new ones refused) and silent (nothing forwarded, nothing refused, as a
//! network that drops packets). Every route answers 503 with `Retry-After` within a second,
//! with the key in the cache or not, and the server recovers when the database is back.
//! (SQLite is a file of the server's own: there is nothing between them to cut.)

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::proxy::{Mode, Proxy};
use crate::support::{expect_document, expect_errors, no_source, TestServer, MEDIA_TYPE};
use confab::store::DatabaseUrl;

/// The server's database URL with its host and port replaced by the proxy's.
fn through(proxy: &Proxy, url: &str) -> DatabaseUrl {
    let (scheme_user, rest) = url.split_once('@').expect("user@host in the URL");
    let (_, database) = rest.split_once('/').expect("a database name");
    DatabaseUrl::Postgres(format!("{scheme_user}@{}/{database}", proxy.address))
}

fn upstream(url: &str) -> SocketAddr {
    let (_, rest) = url.split_once('@').expect("user@host");
    let (host, _) = rest.split_once('/').expect("host/database");
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    host.replace("localhost", "127.0.0.1")
        .parse()
        .expect("host:port")
}

fn cut_and_recover(how: Mode) {
    let _ = env_logger::builder().is_test(true).try_init();
    let owner = TestServer::start();
    if !owner.is_postgres() {
        eprintln!("PostgreSQL only: SQLite has no connection to cut");
        return;
    }
    let proxy = Proxy::start(upstream(&owner.database_url));
    let server = owner.beside(through(&proxy, &owner.database_url));
    let cold_key = owner.add_key(&owner.organisation, &["conversation:read"], None);
    // Warm: the server's key is verified and cached, the pool's connections open.
    expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(server.get("/health").status, 200);

    proxy.cut(how);
    let create = json!({"data": {"type": "Conversation", "attributes": {"channel": "chat"}}});
    let body = serde_json::to_vec(&create).expect("body");
    for round in 0..2 {
        for (what, response) in [
            ("list, cached key", {
                let started = Instant::now();
                (server.get("/api/conversations"), started)
            }),
            ("health", {
                let started = Instant::now();
                (server.get("/health"), started)
            }),
            ("create", {
                let started = Instant::now();
                let headers = [("Accept", MEDIA_TYPE), ("Content-Type", MEDIA_TYPE)];
                (
                    server.request("POST", "/api/conversations", &headers, Some(&body)),
                    started,
                )
            }),
            ("list, key not cached", {
                let started = Instant::now();
                (
                    server.request_as(Some(&cold_key), "GET", "/api/conversations", None),
                    started,
                )
            }),
        ] {
            let (response, started) = response;
            let took = started.elapsed();
            expect_errors(&response, 503, &[no_source()]);
            assert_eq!(response.header("retry-after"), Some("1"), "{what}");
            assert!(
                took < Duration::from_secs(1),
                "{how:?}, round {round}, {what}: 503 after {took:?}"
            );
        }
    }

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = server.get("/api/conversations");
        if response.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not back: {}", response.text());
        std::thread::sleep(Duration::from_millis(100));
    }
    let listed = expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(
        listed["data"],
        json!([]),
        "no create went through while cut"
    );
    expect_document(
        &server.request_as(Some(&cold_key), "GET", "/api/conversations", None),
        200,
    );
}

#[test]
fn a_database_whose_connections_are_reset_is_503_within_a_second_then_back() {
    cut_and_recover(Mode::Reset);
}

#[test]
fn a_database_that_stops_answering_is_503_within_a_second_then_back() {
    cut_and_recover(Mode::Silent);
}
