//! The control socket: a Unix stream socket speaking line-delimited JSON.
//!
//! Request `{"cmd":"status"}` → one JSON line. Unknown commands and bad
//! requests get `{"error":"..."}`. Lines are at most [`MAX_LINE`] bytes and
//! at most [`MAX_CLIENTS`] clients are served at once; when a new client
//! comes while all places are taken, the one idle longest is dropped, so
//! idle or stuck clients cannot lock the CLI out.

use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use super::log;

pub const MAX_LINE: usize = 4096;
pub const MAX_CLIENTS: usize = 8;
/// Reply bytes queued for a client that does not read them; past this,
/// its requests are not read until it does.
const MAX_PENDING_OUT: usize = 1024 * 1024;
/// Requests answered per readiness event, so one busy client cannot stall
/// the routing loop.
const LINES_PER_CALL: usize = 16;

struct Client {
    stream: UnixStream,
    token: Token,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    /// Close once `wbuf` is written.
    closing: bool,
    last_active: Instant,
}

pub struct ControlServer {
    path: PathBuf,
    listener: UnixListener,
    clients: Vec<Client>,
    first_token: usize,
    next: usize,
}

/// Error text for another live daemon.
pub fn in_use_message(path: &Path) -> String {
    format!(
        "another roost is running: the control socket {} answers",
        path.display()
    )
}

impl ControlServer {
    /// Binds `path` (mode 0600). A stale socket file is removed; a socket
    /// a live daemon answers on is an error.
    pub fn bind(path: &Path, first_token: usize) -> io::Result<ControlServer> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    in_use_message(path),
                ));
            }
            log::info!("removing stale control socket {}", path.display());
            std::fs::remove_file(path)?;
        }
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
        let listener = UnixListener::bind(path);
        nix::sys::stat::umask(old);
        let listener = listener?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        Ok(ControlServer {
            path: path.to_path_buf(),
            listener,
            clients: Vec::new(),
            first_token: first_token + 1,
            next: 0,
        })
    }

    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(&mut self.listener, token, Interest::READABLE)
    }

    pub fn owns(&self, token: Token) -> bool {
        self.clients.iter().any(|c| c.token == token)
    }

    /// Accepts new clients (call when the listener is readable).
    pub fn accept(&mut self, registry: &Registry) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    if self.clients.len() >= MAX_CLIENTS {
                        self.evict_idlest(registry);
                    }
                    let token = self.alloc_token();
                    if let Err(e) = registry.register(
                        &mut stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        log::warning!("control: cannot register client: {e}");
                        continue;
                    }
                    self.clients.push(Client {
                        stream,
                        token,
                        rbuf: Vec::new(),
                        wbuf: Vec::new(),
                        closing: false,
                        last_active: Instant::now(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warning!("control: accept failed: {e}");
                    return;
                }
            }
        }
    }

    /// Drops the client idle longest (it gets an error line if it reads).
    fn evict_idlest(&mut self, registry: &Registry) {
        let Some(i) = (0..self.clients.len()).min_by_key(|&i| self.clients[i].last_active) else {
            return;
        };
        let mut c = self.clients.swap_remove(i);
        log::debug!("control: too many clients, dropping the one idle longest");
        let _ = c
            .stream
            .write_all(b"{\"error\":\"too many clients: dropped the one idle longest\"}\n");
        let _ = registry.deregister(&mut c.stream);
    }

    fn alloc_token(&mut self) -> Token {
        // Tokens cycle through a window large enough never to collide with
        // MAX_CLIENTS live clients.
        loop {
            let t = Token(self.first_token + self.next % 1024);
            self.next = self.next.wrapping_add(1);
            if !self.owns(t) {
                return t;
            }
        }
    }

    /// Serves the client behind `token`: reads requests, answers each line
    /// with `handle(line)`, writes replies.
    ///
    /// Bounded work per call: at most [`LINES_PER_CALL`] requests (the
    /// registration is re-armed so the rest is served on the next loop
    /// turn), and no more reading while [`MAX_PENDING_OUT`] reply bytes
    /// wait for a client that does not read (the next writable event
    /// resumes it).
    pub fn serve(
        &mut self,
        registry: &Registry,
        token: Token,
        mut handle: impl FnMut(&str) -> String,
    ) {
        let Some(i) = self.clients.iter().position(|c| c.token == token) else {
            return;
        };
        let c = &mut self.clients[i];
        let mut eof = false;
        let mut broken = false;
        let mut lines = 0;
        let mut buf = [0u8; 1024];
        loop {
            let write_blocked = match flush(c) {
                Ok(blocked) => blocked,
                Err(()) => {
                    broken = true;
                    break;
                }
            };
            if c.closing || eof || (write_blocked && c.wbuf.len() >= MAX_PENDING_OUT) {
                break;
            }
            if lines >= LINES_PER_CALL {
                let _ = registry.reregister(
                    &mut c.stream,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                );
                break;
            }
            // Complete lines already buffered are answered before reading more.
            if answer_lines(c, &mut lines, &mut handle) || c.closing {
                continue;
            }
            match c.stream.read(&mut buf) {
                Ok(0) => eof = true,
                Ok(n) => {
                    c.last_active = Instant::now();
                    c.rbuf.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if flush(c).is_err() {
                        broken = true;
                    }
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        let done = broken || ((eof || c.closing) && c.wbuf.is_empty());
        if done {
            let mut c = self.clients.swap_remove(i);
            let _ = registry.deregister(&mut c.stream);
        }
    }

    /// Removes the socket file.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Answers buffered complete lines while the per-call budget lasts;
/// true if it answered any. A partial line longer than [`MAX_LINE`] gets an
/// error and closes the client.
fn answer_lines(
    c: &mut Client,
    lines: &mut usize,
    handle: &mut impl FnMut(&str) -> String,
) -> bool {
    let before = *lines;
    while *lines < LINES_PER_CALL {
        let Some(pos) = c.rbuf.iter().position(|&b| b == b'\n') else {
            if c.rbuf.len() > MAX_LINE {
                c.wbuf
                    .extend_from_slice(error_reply("request line too long").as_bytes());
                c.wbuf.push(b'\n');
                c.rbuf.clear();
                c.closing = true;
            }
            break;
        };
        let line: Vec<u8> = c.rbuf.drain(..=pos).collect();
        let reply = match std::str::from_utf8(&line) {
            Ok(s) if s.trim().is_empty() => continue,
            Ok(s) => handle(s.trim()),
            Err(_) => error_reply("request is not UTF-8"),
        };
        c.wbuf.extend_from_slice(reply.as_bytes());
        c.wbuf.push(b'\n');
        *lines += 1;
    }
    *lines > before
}

/// Writes as much of `c.wbuf` as the socket takes. `Ok(true)`: the socket
/// is full (a writable event will come); `Err`: the client is gone.
fn flush(c: &mut Client) -> Result<bool, ()> {
    while !c.wbuf.is_empty() {
        match c.stream.write(&c.wbuf) {
            Ok(0) => return Err(()),
            Ok(n) => {
                c.wbuf.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(()),
        }
    }
    Ok(false)
}

pub fn error_reply(msg: &str) -> String {
    serde_json::json!({ "error": msg }).to_string()
}

/// Client side (`roost status`): sends one request line, returns the reply.
pub fn request(path: &Path, request: &str) -> io::Result<String> {
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    s.set_write_timeout(Some(std::time::Duration::from_secs(5)))?;
    s.write_all(request.as_bytes())?;
    s.write_all(b"\n")?;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if let Some(pos) = out.iter().position(|&b| b == b'\n') {
            out.truncate(pos);
            break;
        }
    }
    String::from_utf8(out).map_err(|_| io::Error::other("reply is not UTF-8"))
}
