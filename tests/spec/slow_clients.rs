//! Clients that send slowly, or not at all, cannot hold connections: a body that never finishes
//! is refused at once without a valid key (401) and after the body deadline with one (408); a
//! connection that sends no request head is closed after the head deadline. `/health` keeps
//! answering throughout.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use confab::http::Timeouts;

use crate::support::TestServer;

/// Opens a connection and sends `head` (and what follows of a body), without finishing.
fn open(server: &TestServer, head: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("send");
    stream
}

/// Waits for the server to answer; returns the status (None when it closed without answering)
/// and when the answer began.
fn answer(stream: &mut TcpStream, since: Instant) -> (Option<u16>, Duration) {
    let mut raw = vec![0u8; 4096];
    let read = stream.read(&mut raw).unwrap_or(0);
    let answered = since.elapsed();
    raw.truncate(read);
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .filter(|_| text.starts_with("HTTP/1.1"));
    (status, answered)
}

/// Waits for the server to close the connection; returns when it did.
fn closed(mut stream: TcpStream, since: Instant) -> Duration {
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    since.elapsed()
}

/// Opens a connection that sends `request` and never finishes it, and checks that the server
/// answers it with `status` at once; returns the socket (still open on the client's side).
fn answered_at_once(server: &TestServer, request: &str, status: &str) -> TcpStream {
    let opened = Instant::now();
    let mut socket = open(server, request);
    let mut first = [0u8; 12];
    let read = socket.read(&mut first).unwrap_or(0);
    assert_eq!(
        String::from_utf8_lossy(&first[..read]),
        format!("HTTP/1.1 {status}")
    );
    assert!(
        opened.elapsed() < Duration::from_millis(500),
        "{status} after {:?}",
        opened.elapsed()
    );
    socket
}

fn post_head(key: &str, extra: &str) -> String {
    format!(
        "POST /api/conversations HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/vnd.api+json\r\n{extra}\r\n"
    )
}

#[test]
fn slow_and_idle_clients_are_cut_off() {
    let timeouts = Timeouts {
        head: Duration::from_secs(1),
        body: Duration::from_secs(1),
        keep_alive: Duration::from_secs(1),
        ..Timeouts::default()
    };
    let server = TestServer::start_with(crate::support::Settings {
        timeouts,
        ..Default::default()
    });
    let fake = format!("sk_test_{}", "0".repeat(64));
    let started = Instant::now();
    let mut sockets = Vec::new();
    // A well-formed but unknown key with a body that never finishes: 401 at once, each.
    for _ in 0..40 {
        let head = post_head(&fake, "Content-Length: 100000\r\n");
        let socket = answered_at_once(&server, &format!("{head}{{"), "401");
        sockets.push(("fake key", 401, socket));
    }
    // A valid key, the same slow body: 408 once the body deadline passes.
    for _ in 0..20 {
        let head = post_head(&server.key, "Content-Length: 100000\r\n");
        sockets.push(("slow body", 408, open(&server, &format!("{head}{{"))));
    }
    // A chunked body (here one chunk announcing 2^64 bytes): 411 at once, before a byte of it is
    // read, and the connection is closed, however long the client keeps its side open.
    for _ in 0..5 {
        let head = post_head(&server.key, "Transfer-Encoding: chunked\r\n");
        let socket = answered_at_once(&server, &format!("{head}ffffffffffffffff\r\n{{"), "411");
        sockets.push(("absurd chunk", 411, socket));
    }
    // Health answers meanwhile.
    let health = crate::support::http::send(server.address, "GET", "/health", &[], None);
    assert_eq!(health.status, 200);
    // Connections that never send a request head are closed (no answer is owed).
    let idle: Vec<TcpStream> = (0..20).map(|_| open(&server, "")).collect();
    // Each is answered, then closed within the deadlines plus the linger (`confab::http::LINGER`,
    // 2 s: what the client still sends is read and discarded, so it can read the answer).
    for (what, status, socket) in &mut sockets {
        // The other kinds were answered at once (checked above).
        if *what == "slow body" {
            let (answered, at) = answer(socket, started);
            assert!(
                answered == Some(*status) || answered == Some(400),
                "{what}: {answered:?}"
            );
            assert!(at < Duration::from_secs(3), "{what} answered after {at:?}");
        }
    }
    for (what, _, socket) in sockets {
        let closed = closed(socket, started);
        assert!(
            closed < Duration::from_secs(4),
            "{what} closed after {closed:?}"
        );
    }
    for socket in idle {
        let closed = closed(socket, started);
        assert!(
            closed < Duration::from_secs(4),
            "idle connection kept {closed:?}"
        );
    }
    let health = crate::support::http::send(server.address, "GET", "/health", &[], None);
    assert_eq!(health.status, 200);
}
