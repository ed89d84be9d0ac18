//! Exec, Attach and PortForward up to their URL: the core checks the request and
//! describes what the session will do; the streaming server (a layer above, through
//! [`StreamUrls`], which the core defines) issues the URL and later serves it.

use cri_proto::v1::{AttachRequest, ExecRequest, PortForwardRequest};

use crate::core::error::{CriError, ErrorCode, go_quote};
use crate::core::runtime::Runtime;
use crate::core::state::{ContainerPhase, SandboxPhase};

/// How long a client has to open the streams after the upgrade (kubelet's
/// `DefaultStreamCreationTimeout`, 30 s): the default of
/// [`Settings::stream_creation_timeout`](crate::Settings::stream_creation_timeout).
pub const STREAM_CREATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where the core gets a streaming URL for a checked request: the streaming server
/// implements it, so the core knows nothing of the server.
pub(crate) trait StreamUrls: Send + Sync + std::fmt::Debug {
    /// A single-use URL for `request`.
    fn url(&self, request: StreamRequest) -> String;
}

/// What a streaming URL was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRequest {
    /// An Exec request.
    Exec(ExecTarget),
    /// An Attach request.
    Attach(ExecTarget),
    /// A PortForward request.
    PortForward(PortForwardTarget),
}

/// The stream-flag checks of Exec and Attach, in containerd's order and words (Exec
/// says "stdin, stdout, or stderr", Attach "stdin, stdout, and stderr").
fn check_stream_flags(
    tty: bool,
    [stdin, stdout, stderr]: [bool; 3],
    conjunction: &str,
) -> Result<(), CriError> {
    if tty && stderr {
        return Err(CriError::new(
            ErrorCode::InvalidArgument,
            "tty and stderr cannot both be true",
        ));
    }
    if !stdin && !stdout && !stderr {
        return Err(CriError::new(
            ErrorCode::InvalidArgument,
            format!("one of stdin, stdout, {conjunction} stderr must be set"),
        ));
    }
    Ok(())
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
        check_stream_flags(
            request.tty,
            [request.stdin, request.stdout, request.stderr],
            "or",
        )?;
        Ok(self.stream_urls()?.url(StreamRequest::Exec(ExecTarget {
            kind: SessionKind::Exec,
            container_id: request.container_id.clone(),
            cmd: request.cmd.clone(),
            tty: request.tty,
            stdin: request.stdin,
            stdout: request.stdout,
            stderr: request.stderr,
        })))
    }

    /// Attach: a URL on the streaming server to attach to the main process.
    pub fn attach_url(&self, request: &AttachRequest) -> Result<String, CriError> {
        self.running_container_check(
            &request.container_id,
            "failed to find container in store".into(),
        )?;
        check_stream_flags(
            request.tty,
            [request.stdin, request.stdout, request.stderr],
            "and",
        )?;
        Ok(self.stream_urls()?.url(StreamRequest::Attach(ExecTarget {
            kind: SessionKind::Attach,
            container_id: request.container_id.clone(),
            cmd: Vec::new(),
            tty: request.tty,
            stdin: request.stdin,
            stdout: request.stdout,
            stderr: request.stderr,
        })))
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
        Ok(self
            .stream_urls()?
            .url(StreamRequest::PortForward(PortForwardTarget {
                pod_sandbox_id: prefix.clone(),
                ports: request.port.clone(),
            })))
    }

    fn stream_urls(&self) -> Result<&dyn StreamUrls, CriError> {
        self.stream_urls
            .get()
            .map(|urls| urls.as_ref())
            .ok_or_else(|| CriError::unknown("streaming server is not running"))
    }
}

/// What a remote-command session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A new process (Exec).
    Exec,
    /// The container's main process's stdio (Attach).
    Attach,
}

/// The exec or attach a token was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTarget {
    /// Exec or attach.
    pub kind: SessionKind,
    /// The container id (or prefix) as the request gave it.
    pub container_id: String,
    /// The command (empty for attach).
    pub cmd: Vec<String>,
    /// Whether a terminal is wanted (stderr merged into stdout, `TERM=xterm`).
    pub tty: bool,
    /// Whether the client sends stdin.
    pub stdin: bool,
    /// Whether the client wants stdout.
    pub stdout: bool,
    /// Whether the client wants stderr.
    pub stderr: bool,
}

/// What a port-forward token was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortForwardTarget {
    /// The sandbox id (or prefix) as the request gave it.
    pub pod_sandbox_id: String,
    /// The request's ports (what a WebSocket session forwards).
    pub ports: Vec<i32>,
}

/// A streaming session (an Exec, Attach or PortForward URL that was upgraded), as
/// the journal records it when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSession {
    /// `exec`, `attach` or `portforward`.
    pub kind: &'static str,
    /// The container (exec, attach) or sandbox (port-forward) id as the request gave it.
    pub target: String,
    /// An exec's command; a port-forward's ports; empty for attach.
    pub args: Vec<String>,
    /// `spdy` or `websocket`.
    pub transport: &'static str,
    /// The negotiated subprotocol (`""` when the client offered none).
    pub protocol: String,
    /// What an exec or attach wrote on its error stream (the final status); `""`
    /// for port-forward and for a client that went away first.
    pub status: String,
}
