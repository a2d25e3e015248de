//! Requests too malformed to reach a route: actix's HTTP/1 dispatcher refuses them itself (a
//! head it cannot parse or frame, a head over its limits, a head that never finishes). Each is
//! still answered with a JSON:API error document (spec: errors, processing errors), with a
//! request id, and the connection is closed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use confab::http::Timeouts;
use serde_json::{json, Value};

use crate::support::http::{send, Response};
use crate::support::{Settings, TestServer, MEDIA_TYPE};

fn malformed() -> Value {
    json!({"jsonapi": {"version": "1.1"}, "errors": [{
        "status": "400",
        "code": "malformed_request",
        "title": "Malformed request",
        "detail": "The request is not well-formed HTTP/1.1: its request line, a header or its \
                   framing (Content-Length, Transfer-Encoding) could not be parsed."
    }]})
}

/// Asserts a refusal: status, the headers of a JSON:API error response that closes the
/// connection, and the whole document (already validated against the schema by `send`).
fn expect_refusal(response: &Response, status: u16, document: &Value) {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(MEDIA_TYPE));
    assert_eq!(
        response.header("content-length"),
        Some(response.body.len().to_string().as_str())
    );
    assert_eq!(response.header("connection"), Some("close"));
    let id = response.header("x-request-id").unwrap_or_default();
    assert!(
        id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "request id {id:?}"
    );
    assert_eq!(&response.json(), document);
}

#[test]
fn heads_actix_refuses_are_answered_with_error_documents() {
    let server = TestServer::start();
    // errors-processing: more than 96 headers.
    let names: Vec<String> = (0..100).map(|n| format!("X-Filler-{n}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), "1")).collect();
    let response = send(server.address, "GET", "/api/conversations", &headers, None);
    let too_large = json!({"jsonapi": {"version": "1.1"}, "errors": [{
        "status": "431",
        "code": "request_head_too_large",
        "title": "Request header fields too large",
        "detail": "The request has more than 96 headers, or its request line and headers are \
                   larger than 128 KiB."
    }]});
    expect_refusal(&response, 431, &too_large);
    // A request target of 70,000 characters.
    let target = format!("/api/conversations?filter[channel]={}", "a".repeat(70_000));
    let response = send(server.address, "GET", &target, &[], None);
    expect_refusal(&response, 400, &malformed());
    // Content-Length that is not a number, or given twice with different values.
    let response = send(
        server.address,
        "POST",
        "/api/conversations",
        &[("Content-Length", "abc")],
        None,
    );
    expect_refusal(&response, 400, &malformed());
    let response = send(
        server.address,
        "POST",
        "/api/conversations",
        &[("Content-Length", "1"), ("Content-Length", "2")],
        None,
    );
    expect_refusal(&response, 400, &malformed());
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
    let (_, last) = text.rsplit_once("\r\n\r\n").unwrap_or_default();
    let document: Value = serde_json::from_str(last).expect("the refusal's body is JSON");
    assert_eq!(document, malformed());
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
    assert!(text.contains("\r\ncontent-type: application/vnd.api+json\r\n"));
    let (_, body) = text.split_once("\r\n\r\n").unwrap_or_default();
    let document: Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(
        document,
        json!({"jsonapi": {"version": "1.1"}, "errors": [{
            "status": "408",
            "code": "request_timeout",
            "title": "Request timeout",
            "detail": "The request's head did not arrive in time; the connection is closed."
        }]})
    );
    crate::support::schema::assert_valid(&document);
}
