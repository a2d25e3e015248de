//! A client's socket as actix's HTTP/1 dispatcher reads and writes it: the bytes pass through
//! untouched; writes that make no progress for too long end the connection; and what the
//! connection's end says about requests actix refused itself is logged and counted.
//!
//! Nothing here reads or rewrites what actix writes. actix refuses a few requests before any
//! route or middleware runs, with an empty body and `connection: close`: a head it cannot
//! parse or whose framing is wrong (400), one over its limits (431), one that does not arrive
//! in time (408). Those refusals are left as actix writes them (README, "HTTP behaviour");
//! [`ended`] tells them apart by the dispatcher's own result and counts them in `/metrics`.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::error::{DispatchError, ParseError};
use actix_web::rt::net::TcpStream;
use actix_web::rt::time::{sleep, Sleep};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::metrics::Metrics;

/// What one connection did, as its requests and its socket saw it.
#[derive(Default)]
pub struct Traffic {
    /// Bytes written to the client.
    written: Cell<u64>,
    /// Requests that reached confab's own code (routes, or the `Expect` check).
    routed: Cell<u64>,
}

impl Traffic {
    /// A request reached confab's code; called once per request.
    pub fn routed(&self) {
        self.routed.set(self.routed.get() + 1);
    }
}

/// The client's TCP stream, with a deadline on stalled writes: a client that reads nothing of
/// its response for that long is gone or hostile, and its connection (with the response it
/// holds in memory) is let go.
pub struct Socket {
    stream: TcpStream,
    write_timeout: Duration,
    /// Started when a write finds the client's window full; cleared by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
    traffic: Rc<Traffic>,
}

impl Socket {
    pub fn new(stream: TcpStream, write_timeout: Duration) -> Self {
        Socket {
            stream,
            write_timeout,
            stalled: None,
            traffic: Rc::default(),
        }
    }

    /// The connection's counters, shared with its requests (through actix's connection data).
    pub fn traffic(&self) -> Rc<Traffic> {
        Rc::clone(&self.traffic)
    }

    /// `Pending` while the client reads nothing and the deadline is not yet past; an error
    /// once it is.
    fn wait_for_reader(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let timeout = self.write_timeout;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing of its response in time",
            )),
            Poll::Pending => Ok(()),
        }
    }

    /// A write's outcome: progress clears the deadline; none starts it, or ends the connection
    /// once it is past.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(written)) => {
                self.stalled = None;
                let total = self.traffic.written.get() + written as u64;
                self.traffic.written.set(total);
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match self.wait_for_reader(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.after_write(cx, written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.after_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// What a connection's end says, for the log and `/metrics`.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every request on it reached confab, or the client left before sending one.
    Served,
    /// actix answered a request itself, before routing, with this status.
    Refused(u16),
    /// The client stopped reading its response (`Timeouts::write`) or went away.
    ClientGone,
    /// Something failed on the server's side (a response body's stream, say).
    Failed,
}

/// Reads the dispatcher's result: a parse failure is actix's 400 or 431; a connection that
/// wrote something though no request reached confab got actix's 408 (the head timer is the
/// only other writer).
pub fn ending(traffic: &Traffic, result: &Result<(), DispatchError>) -> Ending {
    match result {
        Err(DispatchError::Parse(ParseError::TooLarge)) => Ending::Refused(431),
        Err(DispatchError::Parse(_)) => Ending::Refused(400),
        Err(DispatchError::Io(_) | DispatchError::DisconnectTimeout) => Ending::ClientGone,
        Err(DispatchError::SlowRequestTimeout) => Ending::Refused(408),
        Err(_) => Ending::Failed,
        Ok(()) if traffic.routed.get() == 0 && traffic.written.get() > 0 => Ending::Refused(408),
        Ok(()) => Ending::Served,
    }
}

/// Logs and counts how a connection ended. A client's bad request is a warning, not a server
/// error; a client that leaves is not worth a line above debug.
pub fn ended(
    traffic: &Traffic,
    result: &Result<(), DispatchError>,
    peer: Option<SocketAddr>,
    metrics: &Metrics,
) {
    let peer = peer.map_or_else(|| "-".to_string(), |peer| peer.ip().to_string());
    match (ending(traffic, result), result) {
        (Ending::Refused(status), result) => {
            metrics.refused_before_routing(status);
            let why = match result {
                Err(error) => error.to_string(),
                Ok(()) => "no whole request head in time".to_string(),
            };
            log::warn!("{peer} refused before routing with {status}: {why}");
        }
        (Ending::ClientGone, Err(error)) => log::debug!("{peer} connection ended: {error}"),
        (Ending::Failed, Err(error)) => log::error!("{peer} connection failed: {error}"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dispatchers_result_says_which_refusal_actix_wrote() {
        let traffic = Traffic::default();
        let too_large = Err(DispatchError::Parse(ParseError::TooLarge));
        assert_eq!(ending(&traffic, &too_large), Ending::Refused(431));
        let malformed = Err(DispatchError::Parse(ParseError::Header));
        assert_eq!(ending(&traffic, &malformed), Ending::Refused(400));
        assert_eq!(ending(&traffic, &Ok(())), Ending::Served, "nothing sent");
        traffic.written.set(150);
        assert_eq!(ending(&traffic, &Ok(())), Ending::Refused(408));
        traffic.routed();
        assert_eq!(ending(&traffic, &Ok(())), Ending::Served);
        let gone = Err(DispatchError::Io(io::ErrorKind::TimedOut.into()));
        assert_eq!(ending(&traffic, &gone), Ending::ClientGone);
    }
}
