//! What runs behind an upgraded exec URL, whatever the transport: the command in the
//! container's process simulation (as ExecSync runs it), its streams pumped to and from
//! the client, a terminal's line discipline when `tty` is set, and the final status in
//! the words kubelet's `remotecommand` server writes on the error stream.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::container::ContainerProcess;
use crate::core::error::go_quote;
use crate::core::hooks::{Purpose, Spawn};
use crate::core::logs::LogStream;
use crate::core::runtime::Runtime;
use crate::core::state::{ContainerPhase, new_id};
pub use crate::core::streams::{ExecTarget, SessionKind};
use crate::process::pipe::{Input, Output, OutputReader, Window};
use crate::process::{Signal, Stdio};

/// A terminal size from the resize stream (`{"Width":80,"Height":24}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct TermSize {
    /// Columns.
    #[serde(rename = "Width", default)]
    pub width: u16,
    /// Rows.
    #[serde(rename = "Height", default)]
    pub height: u16,
}

/// The output channel a chunk belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutChannel {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How the exec ended, as kubelet reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    /// Exit code 0.
    Success,
    /// A non-zero exit code.
    NonZero(i32),
    /// The exec could not run (an internal error, with its text).
    Internal(String),
    /// The client went away: the exec was killed; nothing is reported.
    Disconnected,
}

impl ExecOutcome {
    /// The `metav1.Status` JSON kubelet writes on the error stream (v4 and later),
    /// fields in Go's struct order; `with_metadata` writes the empty `"metadata":{}`
    /// older apimachinery marshals (containerd 1.6), where 2.3's omits it.
    pub fn status_json(&self, cmd: &[String], with_metadata: bool) -> String {
        let metadata = with_metadata.then_some(Empty {});
        let status = match self {
            ExecOutcome::Success | ExecOutcome::Disconnected => Status {
                metadata,
                status: "Success",
                message: None,
                reason: None,
                details: None,
                code: None,
            },
            ExecOutcome::NonZero(code) => Status {
                metadata,
                status: "Failure",
                message: Some(format!(
                    "command terminated with non-zero exit code: {}",
                    exit_error_text(cmd, *code)
                )),
                reason: Some("NonZeroExitCode"),
                details: Some(Details {
                    causes: vec![Cause {
                        reason: Some("ExitCode"),
                        message: code.to_string(),
                    }],
                }),
                code: None,
            },
            ExecOutcome::Internal(message) => Status {
                metadata,
                status: "Failure",
                message: Some(format!("Internal error occurred: {message}")),
                reason: Some("InternalError"),
                details: Some(Details {
                    causes: vec![Cause {
                        reason: None,
                        message: message.clone(),
                    }],
                }),
                code: Some(500),
            },
        };
        // Go's encoding/json escapes <, > and & (they only occur inside strings here).
        serde_json::to_string(&status)
            .unwrap_or_default()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }

    /// The plain text pre-v4 protocols write on the error stream (nothing on success).
    pub fn status_text(&self, cmd: &[String]) -> String {
        match self {
            ExecOutcome::Success | ExecOutcome::Disconnected => String::new(),
            ExecOutcome::NonZero(code) => format!(
                "command terminated with non-zero exit code: {}",
                exit_error_text(cmd, *code)
            ),
            ExecOutcome::Internal(message) => format!("Internal error occurred: {message}"),
        }
    }
}

#[derive(serde::Serialize)]
struct Empty {}

#[derive(serde::Serialize)]
struct Cause {
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    message: String,
}

#[derive(serde::Serialize)]
struct Details {
    causes: Vec<Cause>,
}

/// `metav1.Status` as Go's encoding/json writes it.
#[derive(serde::Serialize)]
struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Empty>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
}

/// containerd's `CodeExitError` text: `error executing command [sh -c exit 3], exit code 3`
/// (Go's `%v` of the argv).
fn exit_error_text(cmd: &[String], code: i32) -> String {
    format!(
        "error executing command [{}], exit code {code}",
        cmd.join(" ")
    )
}

/// The client's side of a running exec, as a transport sees it.
#[derive(Debug)]
pub struct ExecIo {
    /// Bytes the client sends on stdin; the channel closing is end-of-file. `None`
    /// when the exec has no stdin.
    pub stdin: Option<mpsc::Receiver<Bytes>>,
    /// The terminal's window, which the transport resizes as the client's resize
    /// events arrive (in order with its stdin).
    pub window: Arc<Window>,
    /// Where output goes.
    pub out: mpsc::Sender<(OutChannel, Bytes)>,
}

/// `\n` to `\r\n`, as a terminal's `ONLCR` output flag does.
fn onlcr(data: &[u8]) -> Bytes {
    if !data.contains(&b'\n') {
        return Bytes::copy_from_slice(data);
    }
    let mut out = Vec::with_capacity(data.len() + 8);
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    Bytes::from(out)
}

async fn pump_output(
    mut reader: OutputReader,
    channel: OutChannel,
    tty: bool,
    out: mpsc::Sender<(OutChannel, Bytes)>,
) {
    while let Some(chunk) = reader.next().await {
        let chunk = if tty { onlcr(&chunk) } else { chunk };
        if out.send((channel, chunk)).await.is_err() {
            // The client is gone; keep draining so the process never blocks on us.
            while reader.next().await.is_some() {}
            return;
        }
    }
}

impl Runtime {
    /// The terminal window a session's resize events set: the container's tty for
    /// an attach, a new one for an exec.
    pub(crate) fn session_window(&self, target: &ExecTarget) -> Arc<Window> {
        let container = (target.kind == SessionKind::Attach)
            .then(|| {
                self.store
                    .read(|s| {
                        s.resolve_container(&target.container_id)
                            .map(|r| r.process.clone())
                    })
                    .ok()
                    .flatten()
                    .and_then(|p| p.io.window())
            })
            .flatten();
        container.unwrap_or_default()
    }

    /// Runs an exec or attach session until it ends.
    pub(crate) async fn stream_session(
        self: Arc<Self>,
        target: ExecTarget,
        io: ExecIo,
        cancel: CancellationToken,
    ) -> ExecOutcome {
        match target.kind {
            SessionKind::Exec => self.stream_exec(target, io, cancel).await,
            SessionKind::Attach => self.stream_attach(target, io, cancel).await,
        }
    }

    /// The running container a session targets, or the Internal error kubelet
    /// reports: `{failed}: {lookup error}` or `{failed}: {in_state}container is in
    /// <STATE> state`.
    fn session_process(
        &self,
        target: &ExecTarget,
        failed: &str,
        in_state: &str,
    ) -> Result<Arc<ContainerProcess>, ExecOutcome> {
        let found = self.store.read(|s| {
            s.resolve_container(&target.container_id)
                .map(|r| (r.phase, r.process.clone()))
        });
        match found {
            Ok((ContainerPhase::Running, Some(process))) => Ok(process),
            Ok((phase, _)) => Err(ExecOutcome::Internal(format!(
                "{failed}: {in_state}container is in {} state",
                phase.to_cri().as_str_name()
            ))),
            Err(e) => {
                let e = e.with_prefix(
                    self.dialect(),
                    format!(
                        "failed to find container {} in store",
                        go_quote(&target.container_id)
                    ),
                );
                Err(ExecOutcome::Internal(format!("{failed}: {}", e.message())))
            }
        }
    }

    /// Attaches to the main process of `target`'s container until it exits, the
    /// client's stdin ends (detach, unless `stdin_once` closes the container's stdin)
    /// or the client goes away. Output the client misses still reaches the log.
    async fn stream_attach(
        self: Arc<Self>,
        target: ExecTarget,
        io: ExecIo,
        cancel: CancellationToken,
    ) -> ExecOutcome {
        let process = match self.session_process(&target, "error attaching to container", "") {
            Ok(process) => process,
            Err(outcome) => return outcome,
        };
        // The container's tty window is the session's (see `session_window`).
        let ExecIo { stdin, out, .. } = io;
        let container = &process.io;
        let (attached_tx, mut attached_rx) = mpsc::channel::<(LogStream, Bytes)>(16);
        let attachment = container.attach(attached_tx, target.stdout, target.stderr);
        let forward = async move {
            while let Some((stream, data)) = attached_rx.recv().await {
                let channel = match stream {
                    LogStream::Stdout => OutChannel::Stdout,
                    LogStream::Stderr => OutChannel::Stderr,
                };
                let data = if container.tty() { onlcr(&data) } else { data };
                if out.send((channel, data)).await.is_err() {
                    break;
                }
            }
        };
        // The client's stdin into the container's: `true` when the client detached.
        let input = async {
            let Some(mut rx) = stdin.filter(|_| container.has_stdin()) else {
                return std::future::pending::<bool>().await;
            };
            while let Some(chunk) = rx.recv().await {
                if !container.write_stdin(chunk).await {
                    return std::future::pending::<bool>().await;
                }
            }
            if container.client_stdin_ended() {
                // stdin_once: the container reads end-of-file; stay until it exits.
                std::future::pending::<bool>().await
            } else {
                true
            }
        };
        let session = async {
            tokio::select! {
                () = process.wait_recorded_exit() => {}
                _ = input => {}
            }
            drop(attachment);
        };
        tokio::select! {
            ((), ()) = async { tokio::join!(session, forward) } => ExecOutcome::Success,
            () = cancel.cancelled() => ExecOutcome::Disconnected,
        }
    }

    /// Runs `target` as an exec in its container until it exits (or `cancel` fires: the
    /// client disconnected, and the exec's process tree is killed).
    pub(crate) async fn stream_exec(
        self: Arc<Self>,
        target: ExecTarget,
        io: ExecIo,
        cancel: CancellationToken,
    ) -> ExecOutcome {
        let process = match self.session_process(
            &target,
            "error executing command in container",
            "failed to exec in container: ",
        ) {
            Ok(process) => process,
            Err(outcome) => return outcome,
        };
        // The terminal's size follows the client's resize events (`stty size`).
        let ExecIo { stdin, window, out } = io;
        let (stdin_input, stdin_writer) = match stdin {
            Some(_) => {
                let (writer, reader) = Output::pipe();
                (Input::from_reader(reader), Some(writer))
            }
            None => (Input::empty(), None),
        };
        let stdin_input = if target.tty {
            stdin_input.into_terminal_with(window.clone())
        } else {
            stdin_input
        };
        let (stdout, stdout_reader) = if target.stdout || target.tty {
            let (w, r) = Output::pipe();
            (w, Some(r))
        } else {
            (Output::null(), None)
        };
        let (stderr, stderr_reader) = if target.tty {
            (stdout.clone(), None)
        } else if target.stderr {
            let (w, r) = Output::pipe();
            (w, Some(r))
        } else {
            (Output::null(), None)
        };
        let env: Vec<String> = if target.tty {
            vec!["TERM=xterm".into()]
        } else {
            Vec::new()
        };
        let exec_id = new_id();
        let spawned = self.spawn_process(Spawn {
            purpose: Purpose::Exec,
            container: &target.container_id,
            sim: &process.sim,
            argv: &target.cmd,
            env: &env,
            stdio: Stdio {
                stdin: stdin_input,
                stdout,
                stderr,
            },
        });
        let exec = match spawned {
            Ok(exec) => exec,
            Err(e) => {
                return ExecOutcome::Internal(format!(
                    "error executing command in container: failed to exec in container: {}",
                    self.dialect().oci_error(format_args!(
                        "failed to start exec {}: OCI runtime exec failed: exec failed: {}",
                        go_quote(&exec_id),
                        e.runc_message()
                    ))
                ));
            }
        };
        let mut pumps = Vec::new();
        if let Some(reader) = stdout_reader {
            pumps.push(self.tasks.spawn(pump_output(
                reader,
                OutChannel::Stdout,
                target.tty,
                out.clone(),
            )));
        }
        if let Some(reader) = stderr_reader {
            pumps.push(self.tasks.spawn(pump_output(
                reader,
                OutChannel::Stderr,
                false,
                out.clone(),
            )));
        }
        let stdin_pump = match (stdin, stdin_writer) {
            (Some(mut rx), Some(writer)) => {
                let echo = target.tty.then(|| out.clone());
                Some(self.tasks.spawn(async move {
                    while let Some(chunk) = rx.recv().await {
                        let chunk = if echo.is_some() {
                            // ICRNL: a typed Enter (\r) is read as \n.
                            Bytes::from(
                                chunk
                                    .iter()
                                    .map(|&b| if b == b'\r' { b'\n' } else { b })
                                    .collect::<Vec<u8>>(),
                            )
                        } else {
                            chunk
                        };
                        if let Some(echo) = &echo {
                            // ECHO: the terminal shows what is typed, before the
                            // process reads it.
                            let _ = echo.send((OutChannel::Stdout, onlcr(&chunk))).await;
                        }
                        if writer.write(chunk).await.is_err() {
                            break;
                        }
                    }
                    // Dropping the writer is end-of-file on the process's stdin.
                }))
            }
            _ => None,
        };
        drop(out);
        let exit = tokio::select! {
            exit = exec.wait() => exit,
            () = cancel.cancelled() => {
                exec.kill_tree(Signal::SIGKILL);
                for pump in &pumps {
                    pump.abort();
                }
                if let Some(p) = &stdin_pump {
                    p.abort();
                }
                return ExecOutcome::Disconnected;
            }
        };
        if let Some(p) = &stdin_pump {
            p.abort();
        }
        // Like containerd, the exec ends once its output is drained (every holder of
        // its stdout and stderr closed them).
        for pump in pumps {
            tokio::select! {
                _ = pump => {}
                () = cancel.cancelled() => {
                    exec.kill_tree(Signal::SIGKILL);
                    return ExecOutcome::Disconnected;
                }
            }
        }
        match exit.code() {
            0 => ExecOutcome::Success,
            code => ExecOutcome::NonZero(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_non_zero_exit_is_kubelets_nonzeroexitcode_status() {
        assert_eq!(
            ExecOutcome::NonZero(3).status_json(&argv(&["sh", "-c", "exit 3"]), true),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        );
        assert_eq!(
            ExecOutcome::Success.status_json(&[], true),
            r#"{"metadata":{},"status":"Success"}"#
        );
    }

    #[test]
    fn terminals_turn_newlines_into_crlf() {
        assert_eq!(&onlcr(b"a\nb\n")[..], b"a\r\nb\r\n");
        assert_eq!(&onlcr(b"ab")[..], b"ab");
    }
}
