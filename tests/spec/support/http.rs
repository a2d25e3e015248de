//! A deliberately plain HTTP/1.1 client: the request target goes out exactly as written (raw or
//! percent-encoded brackets alike), and every JSON:API response is checked on arrival.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use super::schema;

#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of a header (names compared case-insensitively); several values are joined.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

pub fn send(
    address: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    let mut stream = TcpStream::connect(address).expect("connect to test server");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body.unwrap_or_default());
    // The server may answer (413) and close before reading a large body; that is fine.
    let _ = stream.write_all(&bytes);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let response = parse(&raw);
    check(method, &response);
    response
}

pub fn parse(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no header end in response: {}",
                String::from_utf8_lossy(raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("header line");
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_string());
        match headers.iter_mut().find(|(key, _)| *key == name) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    let coding = headers
        .iter()
        .find(|(name, _)| name == "content-encoding")
        .map(|(_, value)| value.clone());
    let body = match coding.as_deref() {
        None => body,
        Some(coding) => decode(coding, &body),
    };
    Response {
        status,
        headers,
        body,
    }
}

/// Undoes a content coding, so every check sees the document itself.
fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::new();
    match coding {
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut decoded)
                .expect("gzip body");
        }
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut decoded)
                .expect("brotli body");
        }
        "zstd" => decoded = zstd::decode_all(body).expect("zstd body"),
        other => panic!("unexpected content coding {other}"),
    }
    decoded
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .expect("chunk size");
        rest = &rest[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// The media type of a response that applied the Atomic Operations extension.
pub const ATOMIC_MEDIA_TYPE: &str =
    "application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\"";

/// An Atomic Operations results document: the extension's structure (no `data`, `included` or
/// `errors`; an `atomic:results` array of result objects), `jsonapi.ext` naming it, and every
/// result's resource valid as the official schema's primary data.
fn check_atomic_results(status: u16, document: &serde_json::Value) {
    assert_eq!(status, 200, "results with status {status}");
    let object = document
        .as_object()
        .expect("a results document is an object");
    for member in object.keys() {
        assert!(
            ["jsonapi", "meta", "links", "atomic:results"].contains(&member.as_str()),
            "member {member} in a results document: {document:#}"
        );
    }
    assert_eq!(
        document["jsonapi"]["ext"],
        serde_json::json!(["https://jsonapi.org/ext/atomic"])
    );
    let results = document["atomic:results"]
        .as_array()
        .expect("atomic:results");
    assert!(!results.is_empty());
    for result in results {
        let result = result.as_object().expect("result object");
        for member in result.keys() {
            assert!(
                ["data", "meta"].contains(&member.as_str()),
                "result member {member}"
            );
        }
        if let Some(data) = result.get("data") {
            schema::assert_valid(&serde_json::json!({"data": data}));
        }
    }
}

/// Every JSON:API body the suite receives is validated against the official schema and parsed
/// by the `jsonapi` crate; a 204 must have no body and no content type.
pub fn check(method: &str, response: &Response) {
    if response.status == 204 {
        assert!(response.body.is_empty(), "204 with a body");
        assert_eq!(
            response.header("content-type"),
            None,
            "204 with a content type"
        );
        return;
    }
    // 304: the client's copy is current; its tag, never a body (RFC 9110 §15.4.5).
    if response.status == 304 {
        assert!(response.body.is_empty(), "304 with a body");
        assert!(response.header("etag").is_some(), "304 without an ETag");
        return;
    }
    if method == "HEAD" {
        assert!(response.body.is_empty(), "HEAD answered with a body");
        return;
    }
    // actix's own refusals before routing (README, "HTTP behaviour"): bare, and only these.
    let bare = response.body.is_empty()
        && response.header("content-type").is_none()
        && response.header("x-request-id").is_none();
    if bare && [400, 408, 431].contains(&response.status) {
        assert_eq!(response.header("connection"), Some("close"));
        return;
    }
    let content_type = response.header("content-type").unwrap_or_default();
    // `/metrics` speaks the Prometheus text format, the one response that is not JSON:API.
    if content_type == "text/plain; version=0.0.4; charset=utf-8" && response.status == 200 {
        return;
    }
    // `/api/openapi.json` is an OpenAPI document; `tests/spec/openapi.rs` checks it.
    if content_type == "application/json" && response.status == 200 {
        return;
    }
    assert!(
        content_type.starts_with(super::MEDIA_TYPE),
        "response {} is not JSON:API ({content_type:?}): {}",
        response.status,
        response.text()
    );
    let document = response.json();
    if content_type == ATOMIC_MEDIA_TYPE {
        check_atomic_results(response.status, &document);
        return;
    }
    schema::assert_valid(&document);
    let parsed: jsonapi::api::JsonApiDocument = serde_json::from_value(document.clone())
        .unwrap_or_else(|e| {
            panic!("the jsonapi crate cannot parse the response ({e}): {document:#}")
        });
    match parsed {
        jsonapi::api::JsonApiDocument::Error(errors) => {
            assert!(
                response.status >= 400,
                "error document with status {}",
                response.status
            );
            assert!(!errors.errors.is_empty());
        }
        jsonapi::api::JsonApiDocument::Data(_) => {
            assert!(
                response.status < 400,
                "data document with status {}",
                response.status
            );
        }
    }
}
