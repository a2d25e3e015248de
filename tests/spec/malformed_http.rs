//! Requests too malformed to reach a route: actix's HTTP/1 dispatcher refuses them itself (a
//! head it cannot parse or frame, a head over its limits, a head that never finishes), with an
//! empty body and `connection: close`, before any of confab's code runs. confab does not
//! rewrite those bytes (README, "HTTP behaviour"); it counts each refusal by status in
//! `/metrics` and logs it as a warning, and every answer before it on the connection stays
//! whole.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use confab::http::Timeouts;

use crate::support::http::{send, Response};
use crate::support::{Settings, TestServer};

/// Asserts one of actix's own refusals: the status, no body, and the connection closed.
fn expect_bare_refusal(response: &Response, status: u16) {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.header("content-length"), Some("0"));
    assert!(response.body.is_empty());
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.header("x-request-id"), None, "no route saw it");
}

/// `/metrics`' count of refusals before routing with `status`.
fn refused(server: &TestServer, status: u16) -> u64 {
    let metrics = send(server.address, "GET", "/metrics", &[], None);
    let line = format!("confab_http_refused_before_routing_total{{status=\"{status}\"}} ");
    metrics
        .text()
        .lines()
        .find_map(|text| text.strip_prefix(&line))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no {line:?} in {}", metrics.text()))
}

#[test]
fn heads_actix_refuses_are_answered_bare_and_counted() {
    let server = TestServer::start();
    assert_eq!((refused(&server, 400), refused(&server, 431)), (0, 0));
    // errors-processing: more than 96 headers.
    let names: Vec<String> = (0..100).map(|n| format!("X-Filler-{n}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "1")).collect();
    let response = send(server.address, "GET", "/api/conversations", &headers, None);
    expect_bare_refusal(&response, 431);
    // A request target of 70,000 characters.
    let target = format!("/api/conversations?filter[channel]={}", "a".repeat(70_000));
    expect_bare_refusal(&send(server.address, "GET", &target, &[], None), 400);
    // Content-Length that is not a number, or given twice with different values.
    let response = send(
        server.address,
        "POST",
        "/api/conversations",
        &[("Content-Length", "abc")],
        None,
    );
    expect_bare_refusal(&response, 400);
    let response = send(
        server.address,
        "POST",
        "/api/conversations",
        &[("Content-Length", "1"), ("Content-Length", "2")],
        None,
    );
    expect_bare_refusal(&response, 400);
    assert_eq!((refused(&server, 400), refused(&server, 431)), (3, 1));
    // The server still answers.
    let health = send(server.address, "GET", "/health", &[], None);
    assert_eq!(health.status, 200);
}

#[test]
fn a_refusal_after_answered_requests_on_one_connection_keeps_their_answers_whole() {
    let server = TestServer::start();
    let mut stream = TcpStream::connect(server.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    // Two good requests then a bad one, pipelined in one write.
    let good = "GET /health HTTP/1.1\r\nHost: test\r\n\r\n";
    let bad = "GET /health HTTP/1.1\r\nHost: test\r\nContent-Length: -1\r\n\r\n";
    stream
        .write_all(format!("{good}{good}{bad}").as_bytes())
        .expect("send");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let health = r#"{"jsonapi":{"version":"1.1"},"meta":{"status":"ok"}}"#;
    let heads: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| at)
        .map(|at| &text[at..at + 12])
        .collect();
    assert_eq!(
        heads,
        ["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 400"],
        "{text}"
    );
    assert_eq!(text.matches(health).count(), 2, "{text}");
    let (_, last) = text.rsplit_once("HTTP/1.1 400").unwrap_or_default();
    assert!(
        last.ends_with("\r\n\r\n"),
        "no body after the refusal: {last:?}"
    );
    assert_eq!(refused(&server, 400), 1);
}

#[test]
fn a_head_that_never_finishes_is_answered_408_and_closed() {
    let timeouts = Timeouts {
        head: Duration::from_secs(1),
        ..Timeouts::default()
    };
    let server = TestServer::start_with(Settings {
        timeouts,
        ..Default::default()
    });
    let mut stream = TcpStream::connect(server.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = Instant::now();
    stream
        .write_all(b"GET /api/conversations HTTP/1.1\r\nHost: test\r\n")
        .expect("send");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed after {:?}",
        started.elapsed()
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );
    expect_bare_refusal(&crate::support::http::parse(&raw), 408);
    // A connection that sends nothing at all is closed without an answer, and not counted.
    let idle = TcpStream::connect(server.address).expect("connect");
    drop(idle);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(refused(&server, 408), 1);
}
