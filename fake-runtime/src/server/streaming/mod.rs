//! Exec, Attach and PortForward: containerd answers them with a URL on its streaming
//! server (`http://127.0.0.1:<port>/{exec|attach|portforward}/<token>`), after checking
//! the target's state and the stream flags (reference §9).
//!
//! The fake runs a real HTTP listener on that port, serving what kubelet's streaming
//! package (which containerd embeds) serves:
//!
//! - tokens are single-use and expire after a minute (the request cache's TTL); an
//!   unknown, reused or expired token is `404 page not found`;
//! - a token remembers the request it was issued for (container, command, tty and the
//!   streams wanted);
//! - exec, attach and port-forward URLs upgrade to SPDY/3.1 (`Upgrade: SPDY/3.1` with
//!   `X-Stream-Protocol-Version`) or to WebSocket (`Upgrade: websocket` with
//!   `Sec-WebSocket-Protocol`); requests that cannot upgrade get kubelet's status and
//!   body (400 for a missing protocol header, 403 when no protocol is shared).
//!
//! # Layout
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`StreamServer`]: the listener, the tokens, the HTTP request and the refusals |
//! | `spdy.rs` | [`spdy::Codec`]: SPDY/3.1 frames and header compression |
//! | `session.rs` | [`session::ExecTarget`], the exec or attach behind a URL, tty line discipline, the final `metav1.Status` |
//! | `transport.rs` | kubelet's SPDY handshake, the SPDY connection layer, the SPDY and WebSocket remote-command servers |
//! | `port_forward.rs` | port-forward sessions over SPDY and WebSocket, to the pod's simulated listeners |
//! | `client.rs` | [`client::SpdyClient`]: the client half, for tests and the conformance suite |

pub mod client;
pub mod port_forward;
pub mod session;
pub mod spdy;
mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::BytesMut;

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core::error::go_quote;
use crate::core::profile::Dialect;
use crate::core::runtime::Runtime;
use crate::core::streams::StreamUrls;
pub use crate::core::streams::{STREAM_CREATION_TIMEOUT, StreamRequest};

/// How long a handed-out URL stays valid: kubelet's streaming request cache TTL
/// (`cacheTTL = 1 * time.Minute`).
pub const TOKEN_TTL: Duration = Duration::from_secs(60);
/// At most this many URLs wait to be used (kubelet's `maxInFlight`); the oldest
/// expired ones are dropped first.
pub const MAX_IN_FLIGHT: usize = 1000;
/// The largest HTTP request head accepted (16 KiB).
const MAX_REQUEST_HEAD: usize = 16 * 1024;

#[derive(Debug)]
struct Pending {
    request: StreamRequest,
    issued: Instant,
}

type Tokens = Arc<Mutex<HashMap<String, Pending>>>;

/// The streaming server: a loopback HTTP port and the tokens it has handed out.
#[derive(Debug)]
pub struct StreamServer {
    port: u16,
    tokens: Tokens,
}

/// A parsed HTTP request head.
#[derive(Debug, Default)]
pub(crate) struct HttpRequest {
    pub(crate) path: String,
    /// (name, value) in order.
    pub(crate) headers: Vec<(String, String)>,
}

impl HttpRequest {
    fn parse(head: &str) -> Self {
        let mut lines = head.split("\r\n");
        let path = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("/")
            .to_owned();
        let headers = lines
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Self { path, headers }
    }

    /// The first value of `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, comma-separated values split.
    pub(crate) fn header_values(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The number of distinct header names without `Host`: Go's `len(req.Header)`,
    /// which containerd 2.3's refusal text counts.
    fn go_header_count(&self) -> usize {
        let mut names: Vec<String> = self
            .headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .filter(|n| n != "host")
            .collect();
        names.sort();
        names.dedup();
        names.len()
    }

    /// Go's `%#v` of `req.Header`: canonical names, sorted, values in order.
    pub(crate) fn go_header_dump(&self) -> String {
        let mut map: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("host") {
                continue;
            }
            map.entry(canonical_header(n)).or_default().push(v.clone());
        }
        let entries: Vec<String> = map
            .iter()
            .map(|(n, vs)| {
                let vs: Vec<String> = vs.iter().map(|v| go_quote(v)).collect();
                format!("{}:[]string{{{}}}", go_quote(n), vs.join(", "))
            })
            .collect();
        format!("http.Header{{{}}}", entries.join(", "))
    }

    /// `Upgrade: websocket` with a `Connection` naming `upgrade` (wsstream's
    /// `IsWebSocketRequest`).
    fn is_websocket(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
            && self
                .header_values("connection")
                .iter()
                .any(|c| c.eq_ignore_ascii_case("upgrade"))
    }
}

/// Go's `http.CanonicalHeaderKey`.
fn canonical_header(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// A complete HTTP response as Go's `http.Error` writes it (measured on containerd
/// 1.6): the header map sorted, then `Date` and `Content-Length`. (Go would keep the
/// connection open for another request; the fake closes it after the response.)
pub(crate) fn http_error(status: &str, extra_headers: &str, body: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n{extra_headers}X-Content-Type-Options: nosniff\r\nDate: {}\r\nContent-Length: {}\r\n\r\n{body}",
        crate::process::strftime("%a, %d %b %Y %H:%M:%S GMT", now),
        body.len()
    )
}

impl StreamServer {
    /// Binds a random loopback port and serves it until `shutdown` is cancelled.
    /// Its refusals are worded as `dialect`'s release words them; upgraded sessions
    /// run in `runtime`.
    pub(crate) async fn start(
        tasks: &TaskTracker,
        shutdown: CancellationToken,
        dialect: &'static Dialect,
        runtime: Weak<Runtime>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let tokens: Tokens = Arc::default();
        let served = tokens.clone();
        let connections = tasks.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let tokens = served.clone();
                        let stop = shutdown.clone();
                        let runtime = runtime.clone();
                        connections.spawn(async move {
                            tokio::select! {
                                () = stop.cancelled() => {}
                                () = answer(stream, tokens, dialect, runtime) => {}
                            }
                        });
                    }
                }
            }
        });
        Ok(Self { port, tokens })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl StreamUrls for StreamServer {
    fn url(&self, request: StreamRequest) -> String {
        let kind = match request {
            StreamRequest::Exec(_) => "exec",
            StreamRequest::Attach(_) => "attach",
            StreamRequest::PortForward(_) => "portforward",
        };
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = rand::rng();
        let token: String = (0..8)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens.retain(|_, p| now.duration_since(p.issued) < TOKEN_TTL);
        if tokens.len() >= MAX_IN_FLIGHT
            && let Some(oldest) = tokens
                .iter()
                .min_by_key(|(_, p)| p.issued)
                .map(|(k, _)| k.clone())
        {
            tokens.remove(&oldest);
        }
        tokens.insert(
            format!("/{kind}/{token}"),
            Pending {
                request,
                issued: now,
            },
        );
        format!("http://127.0.0.1:{}/{kind}/{token}", self.port)
    }
}

async fn answer(
    mut stream: TcpStream,
    tokens: Tokens,
    dialect: &'static Dialect,
    runtime: Weak<Runtime>,
) {
    let mut buf = BytesMut::with_capacity(4096);
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break Some(pos + 4);
        }
        if buf.len() >= MAX_REQUEST_HEAD {
            break None;
        }
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break None,
            Ok(_) => {}
        }
    };
    let head_len = head_end.unwrap_or(buf.len());
    let head = buf.split_to(head_len);
    let request = HttpRequest::parse(&String::from_utf8_lossy(&head));
    let pending = {
        let mut tokens = tokens.lock().unwrap_or_else(|p| p.into_inner());
        tokens
            .remove(&request.path)
            .filter(|p| p.issued.elapsed() < TOKEN_TTL)
    };
    let Some(pending) = pending else {
        let _ = stream
            .write_all(http_error("404 Not Found", "", "404 page not found\n").as_bytes())
            .await;
        let _ = stream.shutdown().await;
        return;
    };
    let runtime = runtime.upgrade();
    let Some(runtime) = runtime else {
        // The runtime is shutting down.
        return;
    };
    match pending.request {
        StreamRequest::Exec(target) | StreamRequest::Attach(target) => {
            transport::serve_exec(stream, buf, request, target, runtime, dialect).await;
        }
        StreamRequest::PortForward(forward) => {
            port_forward::serve(stream, buf, request, forward, runtime, dialect).await;
        }
    }
}
