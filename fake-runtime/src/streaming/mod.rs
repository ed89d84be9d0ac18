//! Exec, Attach and PortForward: containerd answers them with a URL on its streaming
//! server (`http://127.0.0.1:<port>/{exec|attach|portforward}/<token>`), after checking
//! the target's state and the stream flags (reference §9).
//!
//! The fake runs a real HTTP listener on that port. It answers like containerd's
//! streaming server does to a plain HTTP request (400 `unable to upgrade:
//! X-Stream-Protocol-Version is required`, single-use tokens, 404 otherwise). The SPDY /
//! WebSocket upgrade itself is not simulated (a documented deviation).

pub mod spdy;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use cri_proto::v1::{AttachRequest, ExecRequest, PortForwardRequest};
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::{CriError, ErrorCode, go_quote};
use crate::profile::Dialect;
use crate::runtime::Runtime;
use crate::state::{ContainerPhase, SandboxPhase};

/// The streaming server: a loopback HTTP port and the tokens it has handed out.
#[derive(Debug)]
pub struct StreamServer {
    port: u16,
    tokens: Arc<Mutex<HashSet<String>>>,
}

/// The number of distinct header names of a request, without `Host`: Go's
/// `len(req.Header)`, which containerd 2.3's refusal text counts.
fn go_header_count(request: &str) -> usize {
    let mut names: Vec<String> = request
        .split("\r\n")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, _)| name.trim().to_ascii_lowercase())
        .filter(|name| name != "host")
        .collect();
    names.sort();
    names.dedup();
    names.len()
}

impl StreamServer {
    /// Binds a random loopback port and serves it until `shutdown` is cancelled.
    /// Its refusals are worded as `dialect`'s release words them.
    pub(crate) async fn start(
        tasks: &TaskTracker,
        shutdown: CancellationToken,
        dialect: &'static Dialect,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let tokens: Arc<Mutex<HashSet<String>>> = Arc::default();
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
                        connections.spawn(async move {
                            tokio::select! {
                                () = stop.cancelled() => {}
                                () = answer(stream, tokens, dialect) => {}
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

    fn url(&self, kind: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = rand::rng();
        let token: String = (0..8)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        self.tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format!("/{kind}/{token}"));
        format!("http://127.0.0.1:{}/{kind}/{token}", self.port)
    }
}

async fn answer(
    mut stream: tokio::net::TcpStream,
    tokens: Arc<Mutex<HashSet<String>>>,
    dialect: &'static Dialect,
) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16384 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let known = tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&path);
    let (status, body) = if known {
        (
            "400 Bad Request",
            dialect.stream_upgrade_refusal(go_header_count(&text)),
        )
    } else {
        ("404 Not Found", "404 page not found\n".to_owned())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

impl Runtime {
    fn running_container_check(
        &self,
        prefix: &str,
        not_found_prefix: String,
    ) -> Result<(), CriError> {
        let phase = self
            .store
            .read(|s| s.resolve_container(prefix).map(|r| r.phase))
            .map_err(|e| e.with_prefix(self.dialect(), not_found_prefix))?;
        if phase != ContainerPhase::Running {
            return Err(CriError::unknown(format!(
                "container is in {} state",
                phase.to_cri().as_str_name()
            )));
        }
        Ok(())
    }

    /// Exec: a URL on the streaming server for an interactive exec.
    pub fn exec_url(&self, request: &ExecRequest) -> Result<String, CriError> {
        self.running_container_check(
            &request.container_id,
            format!(
                "failed to find container {} in store",
                go_quote(&request.container_id)
            ),
        )?;
        if request.tty && request.stderr {
            return Err(CriError::new(
                ErrorCode::InvalidArgument,
                "tty and stderr cannot both be true",
            ));
        }
        if !request.stdin && !request.stdout && !request.stderr {
            return Err(CriError::new(
                ErrorCode::InvalidArgument,
                "one of stdin, stdout, or stderr must be set",
            ));
        }
        Ok(self.stream_server()?.url("exec"))
    }

    /// Attach: a URL on the streaming server to attach to the main process.
    pub fn attach_url(&self, request: &AttachRequest) -> Result<String, CriError> {
        self.running_container_check(
            &request.container_id,
            "failed to find container in store".into(),
        )?;
        if request.tty && request.stderr {
            return Err(CriError::new(
                ErrorCode::InvalidArgument,
                "tty and stderr cannot both be true",
            ));
        }
        if !request.stdin && !request.stdout && !request.stderr {
            return Err(CriError::new(
                ErrorCode::InvalidArgument,
                "one of stdin, stdout, and stderr must be set",
            ));
        }
        Ok(self.stream_server()?.url("attach"))
    }

    /// PortForward: a URL on the streaming server (ports are not validated).
    pub fn port_forward_url(&self, request: &PortForwardRequest) -> Result<String, CriError> {
        let prefix = &request.pod_sandbox_id;
        let phase = self
            .store
            .read(|s| s.resolve_sandbox(prefix).map(|r| r.phase))
            .map_err(|e| {
                e.with_prefix(
                    self.dialect(),
                    format!("failed to find sandbox {}", go_quote(prefix)),
                )
            })?;
        if phase != SandboxPhase::Ready {
            return Err(CriError::unknown("sandbox container is not running"));
        }
        Ok(self.stream_server()?.url("portforward"))
    }

    fn stream_server(&self) -> Result<&StreamServer, CriError> {
        self.stream_server
            .get()
            .ok_or_else(|| CriError::unknown("streaming server is not running"))
    }
}
