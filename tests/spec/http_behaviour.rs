//! What ordinary HTTP clients send, over raw sockets where a client library would normalise it:
//! `Expect: 100-continue` (curl over 1 MiB, .NET, Java), a whole body written before the answer
//! is read (Python's urllib, requests, Node's fetch), clients that stop reading, ids spelled
//! otherwise than they are served, and a handler that panics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::http::{check, parse, send, Response};
use crate::support::{expect_document, expect_errors, header, Settings, TestServer, MEDIA_TYPE};

fn connect(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(server.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
}

/// Reads up to and including the blank line that ends a response head.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The rest of a response whose head was already read, parsed and checked like any other.
fn finish(stream: &mut TcpStream, head: &str, method: &str) -> Response {
    let mut raw = head.as_bytes().to_vec();
    let _ = stream.read_to_end(&mut raw);
    let response = parse(&raw);
    check(method, &response);
    response
}

fn expect_head(key: &str, content_type: &str, length: usize) -> String {
    format!(
        "POST /api/conversations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: {content_type}\r\nAccept: {MEDIA_TYPE}\r\nContent-Length: {length}\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\n"
    )
}

#[test]
fn expect_continue_is_answered_100_then_the_request() {
    let server = TestServer::start();
    let body = serde_json::to_vec(&json!({"data": {"type": "Conversation",
        "attributes": {"channel": "chat", "title": "Asked first"}}}))
    .expect("body");
    let mut stream = connect(&server);
    let head = expect_head(&server.key, MEDIA_TYPE, body.len());
    stream.write_all(head.as_bytes()).expect("head");
    assert_eq!(read_head(&mut stream), "HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(&body).expect("body");
    let final_head = read_head(&mut stream);
    let response = finish(&mut stream, &final_head, "POST");
    let document = expect_document(&response, 201);
    assert_eq!(
        document["data"]["attributes"]["title"],
        json!("Asked first")
    );
    assert!(response.header("x-request-id").is_some());
}

/// A request refused on its head alone is answered at once, instead of 100: the client never
/// sends its body, and the connection closes.
#[test]
fn expect_continue_refused_on_the_head_gets_the_final_answer_instead() {
    let server = TestServer::start();
    let reader = server.add_tenant("Reader", &["conversation:read"]);
    let unknown = format!("sk_test_{}", "ab".repeat(32));
    let eight_mib = 8 << 20;
    let cases: [(&str, &str, usize, u16, Value); 5] = [
        (&unknown, MEDIA_TYPE, 100, 401, header("Authorization")),
        ("not-a-key", MEDIA_TYPE, 100, 401, header("Authorization")),
        (
            &server.key,
            MEDIA_TYPE,
            eight_mib,
            413,
            header("Content-Length"),
        ),
        (
            &server.key,
            "application/json",
            100,
            415,
            header("Content-Type"),
        ),
        (&reader.key, MEDIA_TYPE, 100, 403, header("Authorization")),
    ];
    for (key, content_type, length, status, source) in cases {
        let mut stream = connect(&server);
        let started = Instant::now();
        let head = expect_head(key, content_type, length);
        stream.write_all(head.as_bytes()).expect("head");
        let first = read_head(&mut stream);
        assert!(
            first.starts_with(&format!("HTTP/1.1 {status} ")),
            "{status} expected, not 100: {first}"
        );
        assert!(started.elapsed() < Duration::from_secs(1), "{status} late");
        let response = finish(&mut stream, &first, "POST");
        assert_eq!(response.header("connection"), Some("close"));
        assert!(response.header("x-request-id").is_some());
        expect_errors(&response, status, std::slice::from_ref(&source));
    }
    let listed = expect_document(&server.get("/api/conversations"), 200);
    assert_eq!(listed["data"], json!([]), "nothing was created");
}

/// A client that writes its whole body before reading (urllib does) reads the 413 document:
/// the server reads and discards the rest rather than resetting the connection under it.
#[test]
fn a_large_body_written_whole_before_reading_gets_the_413_document() {
    let server = TestServer::start();
    let body = vec![b' '; 8 << 20];
    for key in [server.key.clone(), format!("sk_test_{}", "cd".repeat(32))] {
        let mut stream = connect(&server);
        let head = format!(
            "POST /api/conversations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: {MEDIA_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("head");
        stream.write_all(&body).expect("the whole body is taken");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("the answer is read");
        let response = parse(&raw);
        check("POST", &response);
        if key == server.key {
            expect_errors(&response, 413, &[header("Content-Length")]);
        } else {
            expect_errors(&response, 401, &[header("Authorization")]);
        }
    }
}

/// Only the lowercase form an id is served in names a resource: uppercase is 404 on every
/// route that takes an id (fetch-responses-404, update-resource-404-status, delete-404-status,
/// fetch-relationships-response-404) and in an atomic `ref`, and the resource is untouched.
#[test]
fn uppercase_ids_name_nothing_on_any_route() {
    let server = TestServer::start();
    let id = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let item = server.create_item(&id, "Hello");
    let canonical = format!("/api/conversations/{id}");
    let before = expect_document(&server.get(&canonical), 200);
    assert_eq!(before["links"]["self"], json!(canonical));
    let upper = id.to_uppercase();
    let patch =
        json!({"data": {"type": "Conversation", "id": upper, "attributes": {"title": "x"}}});
    let to_one = json!({"data": {"type": "Conversation", "id": id}});
    let no_source = crate::support::no_source();
    for (method, target, body) in [
        ("GET", format!("/api/conversations/{upper}"), None),
        ("PATCH", format!("/api/conversations/{upper}"), Some(&patch)),
        ("DELETE", format!("/api/conversations/{upper}"), None),
        (
            "GET",
            format!("/api/conversations/{upper}/relationships/conversation_items"),
            None,
        ),
        (
            "GET",
            format!("/api/conversations/{upper}/conversation_items"),
            None,
        ),
        (
            "PATCH",
            format!(
                "/api/conversation_items/{}/relationships/conversation",
                item.to_uppercase()
            ),
            Some(&to_one),
        ),
    ] {
        let response = match body {
            Some(body) => server.request(
                method,
                &target,
                &[("Accept", MEDIA_TYPE), ("Content-Type", MEDIA_TYPE)],
                Some(&serde_json::to_vec(body).expect("body")),
            ),
            None => server.request(method, &target, &[("Accept", MEDIA_TYPE)], None),
        };
        expect_errors(&response, 404, std::slice::from_ref(&no_source));
    }
    let operations = json!({"atomic:operations": [{"op": "remove",
        "ref": {"type": "Conversation", "id": upper}}]});
    let atomic = "application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\"";
    let response = server.request(
        "POST",
        "/api/operations",
        &[("Accept", atomic), ("Content-Type", atomic)],
        Some(&serde_json::to_vec(&operations).expect("body")),
    );
    assert_eq!(response.status, 404, "{}", response.text());
    let after = expect_document(&server.get(&canonical), 200);
    assert_eq!(after, before, "the conversation is untouched");
    expect_document(&server.get(&format!("/api/conversation_items/{item}")), 200);
}

fn panicking_routes(config: &mut actix_web::web::ServiceConfig) {
    config.route(
        "/test/panic",
        actix_web::web::get().to(|| async {
            let nothing: Option<&str> = None;
            #[allow(clippy::unnecessary_literal_unwrap)]
            let text = nothing.unwrap();
            text.to_string()
        }),
    );
}

fn metric(server: &TestServer, name: &str) -> u64 {
    let metrics = send(server.address, "GET", "/metrics", &[], None);
    metrics
        .text()
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {}", metrics.text()))
}

/// A panic is the net's, not the worker's: 500 with a document and a request id, counted, and
/// the next request on another connection (the server runs one worker) is served.
#[test]
fn a_handler_that_panics_is_answered_500_and_the_server_goes_on() {
    let server = TestServer::start_with(Settings {
        routes: panicking_routes,
        ..Default::default()
    });
    assert_eq!(metric(&server, "confab_panics_total"), 0);
    for _ in 0..3 {
        let response = server.get("/test/panic");
        let document = expect_errors(&response, 500, &[crate::support::no_source()]);
        assert_eq!(document["errors"][0]["code"], json!("internal_error"));
        let detail = document["errors"][0]["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains("unwrap"),
            "the panic is not told: {detail}"
        );
        assert!(response.header("x-request-id").is_some());
        let listed = server.get("/api/conversations");
        expect_document(&listed, 200);
    }
    assert_eq!(metric(&server, "confab_panics_total"), 3);
}

/// A client that sends pipelined requests and never reads its answers holds its connection
/// (and the answer buffered for it) only until the write timeout: the server closes it, and
/// goes on serving others meanwhile.
#[test]
fn a_client_that_stops_reading_is_let_go_after_the_write_timeout() {
    let timeouts = confab::http::Timeouts {
        write: Duration::from_secs(1),
        ..Default::default()
    };
    let server = TestServer::start_with(Settings {
        timeouts,
        ..Default::default()
    });
    let id = server.create_conversation(&server.organisation, json!({"channel": "chat"}));
    let content = "x".repeat(60_000);
    for _ in 0..20 {
        server.create_item(&id, &content);
    }
    let target = format!("/api/conversations/{id}/conversation_items?page[size]=20");
    let one = server.get(&target);
    assert_eq!(one.status, 200, "{}", one.text());
    let requests = 40;
    let mut stream = connect(&server);
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: test\r\nAccept: {MEDIA_TYPE}\r\n\
         Authorization: Bearer {}\r\n\r\n",
        server.key
    );
    stream
        .write_all(request.repeat(requests).as_bytes())
        .expect("pipelined requests");
    std::thread::sleep(Duration::from_secs(3));
    // Others are served while it stalls.
    expect_document(&server.get("/api/conversations"), 200);
    let mut received = Vec::new();
    let started = Instant::now();
    let ended = stream.read_to_end(&mut received);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the connection was still open: {ended:?}"
    );
    let all = one.body.len() * requests;
    assert!(
        received.len() < all / 2,
        "{} of {all} bytes: the server should have stopped writing",
        received.len()
    );
}
