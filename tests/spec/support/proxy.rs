//! A TCP proxy between a confab server and its database, that a test can cut: `Reset` closes
//! every connection and refuses new ones at once (a database that went down), `Silent` stops
//! forwarding and accepts without answering (a network that drops packets, where nothing ever
//! fails). `restore` forwards again and closes what was cut.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Forward,
    Reset,
    Silent,
}

pub struct Proxy {
    pub address: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// Every socket it holds, to close them when cut or restored.
    sockets: Arc<Mutex<Vec<TcpStream>>>,
}

fn mode_of(mode: &Mutex<Mode>) -> Mode {
    *mode.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let mode = Arc::new(Mutex::new(Mode::Forward));
        let sockets: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (accept_mode, accept_sockets) = (Arc::clone(&mode), Arc::clone(&sockets));
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                match mode_of(&accept_mode) {
                    Mode::Reset => drop(client),
                    Mode::Silent => {
                        if let Ok(mut held) = accept_sockets.lock() {
                            held.push(client);
                        }
                    }
                    Mode::Forward => {
                        let Ok(server) = TcpStream::connect(upstream) else {
                            continue;
                        };
                        if let (Ok(mut held), Ok(a), Ok(b)) = (
                            accept_sockets.lock(),
                            client.try_clone(),
                            server.try_clone(),
                        ) {
                            held.push(a);
                            held.push(b);
                        }
                        pump(client.try_clone(), server.try_clone(), &accept_mode);
                        pump(Ok(server), Ok(client), &accept_mode);
                    }
                }
            }
        });
        Proxy {
            address,
            mode,
            sockets,
        }
    }

    fn close_all(&self) {
        if let Ok(mut held) = self.sockets.lock() {
            for socket in held.drain(..) {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }

    pub fn cut(&self, how: Mode) {
        if let Ok(mut mode) = self.mode.lock() {
            *mode = how;
        }
        if how == Mode::Reset {
            self.close_all();
        }
    }

    pub fn restore(&self) {
        if let Ok(mut mode) = self.mode.lock() {
            *mode = Mode::Forward;
        }
        self.close_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut(Mode::Reset);
    }
}

/// Copies `from` to `to` while forwarding; holds the bytes (reads nothing) while silent.
fn pump(from: std::io::Result<TcpStream>, to: std::io::Result<TcpStream>, mode: &Arc<Mutex<Mode>>) {
    let (Ok(mut from), Ok(mut to)) = (from, to) else {
        return;
    };
    let mode = Arc::clone(mode);
    thread::spawn(move || {
        let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match mode_of(&mode) {
                Mode::Reset => break,
                Mode::Silent => {
                    thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Mode::Forward => {}
            }
            match from.read(&mut buffer) {
                Ok(0) => break,
                // Read while being cut: never delivered (the connection is closed on restore).
                Ok(_) if mode_of(&mode) != Mode::Forward => {}
                Ok(read) => {
                    if to.write_all(&buffer[..read]).is_err() {
                        break;
                    }
                }
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}
