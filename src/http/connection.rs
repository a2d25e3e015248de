//! The byte stream under actix's HTTP/1 dispatcher, and how confab answers the requests that
//! never reach it.
//!
//! actix refuses some requests itself, before any route or middleware runs: a head it cannot
//! parse or whose framing is wrong (a bad `Content-Length`, an unusable `Transfer-Encoding`:
//! 400), a head over its limits (more than 96 headers, or past 128 KiB: 431), a head that does
//! not arrive in time (408). It writes those refusals with an empty body and closes the
//! connection. [`Connection`] watches what the dispatcher writes, recognises such a refusal by
//! its shape (a 4xx or 5xx head with `content-length: 0` and no `x-request-id`, which every
//! response of confab's own carries) and sends it with a JSON:API error document instead.
//!
//! It also ends reading once a response that closes the connection has been written whole:
//! actix would otherwise go on waiting for the rest of a body nobody will read (a chunk
//! announced as 2^64 bytes after a 411), holding the connection for as long as the client likes.
//!
//! Why the shape is enough: a response's head is encoded whole into the dispatcher's buffer
//! before it is written, and a write is cut short here where a status line may start, so a
//! head is always seen whole at the start of a write. Bodies never hold a raw CR LF outside
//! chunked framing (JSON escapes it; the metrics text uses bare LF), so no
//! body can pass for a head.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{ready, Context, Poll, Waker};

use memchr::memmem::Finder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::access_log::new_request_id;
use crate::jsonapi::document::MEDIA_TYPE;
use crate::jsonapi::error::ApiError;

/// A client's connection, read and written by actix.
pub struct Connection<S> {
    stream: S,
    /// Who is at the other end, for the log.
    peer: Option<SocketAddr>,
    /// A refusal being written in place of the head actix wrote.
    replacement: Option<Replacement>,
    /// Bytes still to be written of a response that closes the connection.
    closing_in: Option<usize>,
    /// Once such a response is written, nothing more is read: the dispatcher is told the
    /// client is gone, and closes (otherwise it would wait to read an abandoned body, such as a
    /// chunk announced as 2^64 bytes, for as long as the client keeps the socket open).
    read_closed: bool,
    /// The dispatcher's read waiting on the socket, woken when reading is closed.
    reader: Option<Waker>,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    /// How many of the dispatcher's bytes (its bodiless head) it stands for.
    stands_for: usize,
}

impl<S> Connection<S> {
    pub fn new(stream: S, peer: Option<SocketAddr>) -> Self {
        Connection {
            stream,
            peer,
            replacement: None,
            closing_in: None,
            read_closed: false,
            reader: None,
        }
    }
}

/// Where a status line may start.
static STATUS_LINE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"HTTP/1."));

/// A response head at the start of a write.
struct Head {
    status: u16,
    /// Up to and including the blank line.
    len: usize,
    content_length: Option<usize>,
    closes: bool,
    has_request_id: bool,
}

/// The response head `written` starts with, if it starts with one. A status line has no `"`
/// before its CR LF, which tells it from the same words inside a JSON string.
fn head(written: &[u8]) -> Option<Head> {
    let line = written.strip_prefix(b"HTTP/1.")?;
    let status: u16 = std::str::from_utf8(line.get(2..5)?).ok()?.parse().ok()?;
    if line.get(1) != Some(&b' ') || line.get(5) != Some(&b' ') {
        return None;
    }
    let line_end = memchr::memmem::find(written, b"\r\n")?;
    if written[..line_end].contains(&b'"') {
        return None;
    }
    let len = memchr::memmem::find(written, b"\r\n\r\n")? + 4;
    let mut head = Head {
        status,
        len,
        content_length: None,
        closes: false,
        has_request_id: false,
    };
    for header in written[line_end + 2..len - 4].split(|byte| *byte == b'\n') {
        let header = header.strip_suffix(b"\r").unwrap_or(header);
        let Some(colon) = header.iter().position(|byte| *byte == b':') else {
            continue;
        };
        let (name, value) = (&header[..colon], header[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"content-length") {
            head.content_length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
        } else if name.eq_ignore_ascii_case(b"connection") {
            head.closes = value.eq_ignore_ascii_case(b"close");
        } else if name.eq_ignore_ascii_case(b"x-request-id") {
            head.has_request_id = true;
        }
    }
    Some(head)
}

impl Head {
    /// Whether this is one of actix's own bodiless refusals.
    fn is_refusal(&self) -> bool {
        self.status >= 400 && self.content_length == Some(0) && !self.has_request_id
    }
}

/// The refusal's head with a request id and the error document as its body.
fn with_document(head: &[u8], status: u16, request_id: &str) -> Vec<u8> {
    let document = ApiError::UnreadableRequest { status }.to_document();
    let body = serde_json::to_vec(&document).unwrap_or_default();
    let mut bytes = Vec::with_capacity(head.len() + body.len() + 64);
    for line in head.split_inclusive(|byte| *byte == b'\n') {
        if line.eq_ignore_ascii_case(b"content-length: 0\r\n") {
            bytes.extend_from_slice(b"content-type: ");
            bytes.extend_from_slice(MEDIA_TYPE.as_bytes());
            let length = body.len();
            bytes.extend_from_slice(
                format!("\r\ncontent-length: {length}\r\nx-request-id: {request_id}\r\n")
                    .as_bytes(),
            );
        } else {
            bytes.extend_from_slice(line);
        }
    }
    bytes.extend_from_slice(&body);
    bytes
}

impl<S: AsyncWrite + Unpin> Connection<S> {
    /// Writes what is left of the replacement; ready once all of it is written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(replacement) = self.replacement.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while replacement.written < replacement.bytes.len() {
            let rest = &replacement.bytes[replacement.written..];
            match ready!(Pin::new(&mut self.stream).poll_write(cx, rest))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => replacement.written += n,
            }
        }
        let stands_for = replacement.stands_for;
        self.replacement = None;
        Poll::Ready(Ok(stands_for))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Connection<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read_closed {
            // The end of the stream, as if the client had closed its side.
            return Poll::Ready(Ok(()));
        }
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        let known = matches!(&this.reader, Some(reader) if reader.will_wake(cx.waker()));
        if read.is_pending() && !known {
            this.reader = Some(cx.waker().clone());
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Connection<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacement.is_some() {
            // The dispatcher offers the same head again until it is reported written.
            return this.poll_replacement(cx);
        }
        match head(buf) {
            Some(head) if head.is_refusal() => {
                let request_id = new_request_id();
                let peer = this.peer.map(|peer| peer.ip().to_string());
                log::info!(
                    "{} refused before routing (malformed, too large or too slow) {} \
                     request_id={request_id}",
                    peer.as_deref().unwrap_or("-"),
                    head.status
                );
                this.replacement = Some(Replacement {
                    bytes: with_document(&buf[..head.len], head.status, &request_id),
                    written: 0,
                    stands_for: head.len,
                });
                return this.poll_replacement(cx);
            }
            Some(head) if head.closes && this.closing_in.is_none() => {
                this.closing_in = head.content_length.map(|length| head.len + length);
            }
            _ => {}
        }
        // Up to the next place a head may start, so that it starts a write of its own.
        let until = match STATUS_LINE.find(buf.get(1..).unwrap_or_default()) {
            Some(at) => at + 1,
            None => buf.len(),
        };
        let written = ready!(Pin::new(&mut this.stream).poll_write(cx, &buf[..until]))?;
        if let Some(left) = this.closing_in {
            let left = left.saturating_sub(written);
            this.closing_in = Some(left);
            if left == 0 && !this.read_closed {
                this.read_closed = true;
                if let Some(reader) = this.reader.take() {
                    reader.wake();
                }
            }
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // A replacement is only ever left behind when the dispatcher gives up on writing; what
        // was not written by then is dropped with the connection.
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status and head length of a refusal at the start of `written`.
    fn refusal(written: &[u8]) -> Option<(u16, usize)> {
        head(written)
            .filter(Head::is_refusal)
            .map(|head| (head.status, head.len))
    }

    const REFUSAL: &[u8] =
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: Sun, 22 Nov 2026 10:00:00 GMT\r\n\r\n";

    #[test]
    fn a_bodiless_refusal_of_actix_is_recognised_and_given_a_document() {
        assert_eq!(refusal(REFUSAL), Some((431, REFUSAL.len())));
        let replaced = with_document(REFUSAL, 431, "abc");
        let text = String::from_utf8(replaced).unwrap_or_default();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\ncontent-type: application/vnd.api+json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(head.contains("\r\nconnection: close\r\n"));
        assert!(head.contains("\r\nx-request-id: abc\r\n"));
        let document: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(document["errors"][0]["status"], "431");
    }

    #[test]
    fn confab_responses_and_bodies_are_left_alone() {
        let own = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nx-request-id: abc\r\n\r\n";
        assert_eq!(refusal(own), None, "HEAD of one of confab's own errors");
        let success = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(refusal(success), None);
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n";
        assert_eq!(refusal(with_body), None);
        let text = b"HTTP/1.1 400 Bad Request\\r\\ncontent-length: 0\\r\\n\\r\\n\"}";
        assert_eq!(refusal(text), None, "the same words inside a JSON string");
        let before_a_head =
            b"HTTP/1.1 400 x\"}HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            refusal(before_a_head),
            None,
            "a JSON string before the next head"
        );
    }

    #[test]
    fn a_head_says_whether_it_closes_and_how_long_its_body_is() {
        let closing = head(b"HTTP/1.1 411 Length Required\r\ncontent-length: 237\r\nconnection: close\r\nx-request-id: a\r\n\r\n{");
        let closing = closing.expect("a head");
        assert_eq!((closing.status, closing.len), (411, 89));
        assert_eq!(closing.content_length, Some(237));
        assert!(closing.closes && closing.has_request_id);
        let kept = head(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").expect("a head");
        assert!(!kept.closes);
    }
}
