//! The ExecSync engine: runs a command in the container's process world with
//! containerd's limits (reference §6, §10.15–18; DESIGN "Fidelity contract").
//!
//! - each stream goes through a writer capped at 16 MiB: bytes past the cap are dropped
//!   while the process is told they were written, so it never blocks on the cap;
//! - `timeout > 0` kills the exec (and its children) at expiry and answers
//!   DEADLINE_EXCEEDED; partial output is dropped;
//! - after the main exec process exits the call waits until every holder of its
//!   stdout/stderr has closed them (IO drain), for ever by default, or up to
//!   `drain_exec_sync_io_timeout`;
//! - the encoded response must fit the 16 MiB gRPC send limit, else
//!   RESOURCE_EXHAUSTED with grpc-go's text;
//! - a client that goes away (the call's future is dropped) kills the exec.

use std::time::Duration;

use cri_proto::v1::ExecSyncResponse;
use prost::Message;

use crate::core::error::{CriError, ErrorCode, go_quote};
use crate::core::hooks::{Purpose, Spawn};
use crate::core::runtime::Runtime;
use crate::core::state::{ContainerPhase, new_id};
use crate::process::pipe::{Input, Output, OutputReader};
use crate::process::{ProcessHandle, Signal, Stdio};

/// containerd's cap on each exec output stream (16 MiB).
pub const EXEC_OUTPUT_CAP: usize = 16 * 1024 * 1024;
/// containerd's gRPC send limit (grpc-go's default 16 MiB... set by containerd).
pub const MAX_SEND_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// A buffer that keeps the first `cap` bytes it is given and drops the rest.
#[derive(Debug)]
pub struct CappedBuffer {
    data: Vec<u8>,
    cap: usize,
}

impl CappedBuffer {
    /// An empty buffer keeping at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            data: Vec::new(),
            cap,
        }
    }

    /// Appends what fits; the rest is silently dropped. Always "writes" everything.
    pub fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.data.len());
        self.data.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }

    /// The kept bytes.
    pub fn into_inner(self) -> Vec<u8> {
        self.data
    }
}

async fn collect_capped(mut reader: OutputReader) -> Vec<u8> {
    let mut buffer = CappedBuffer::new(EXEC_OUTPUT_CAP);
    while let Some(chunk) = reader.next().await {
        buffer.push(&chunk);
    }
    buffer.into_inner()
}

/// A CRI timeout in seconds as containerd turns it into a Go duration,
/// `time.Duration(timeout) * time.Second`, which wraps on overflow: `None` when the
/// result is not positive (no timeout). So `-1`, `0`, `i64::MIN` and `i64::MAX` (which
/// wraps to -1s) all mean "none".
///
/// ```
/// use std::time::Duration;
/// use cri_fake::exec::go_timeout;
///
/// assert_eq!(go_timeout(3), Some(Duration::from_secs(3)));
/// assert_eq!(go_timeout(0), None);
/// assert_eq!(go_timeout(-5), None);
/// assert_eq!(go_timeout(i64::MAX), None);
/// ```
pub fn go_timeout(seconds: i64) -> Option<Duration> {
    let nanos = seconds.wrapping_mul(1_000_000_000);
    u64::try_from(nanos)
        .ok()
        .filter(|&n| n > 0)
        .map(Duration::from_nanos)
}

/// Formats a duration like Go's `time.Duration.String()`: `1s`, `1m30s`, `1h0m0s`,
/// `500ms`, `1.5s`, `0s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1u128)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", fraction(nanos, scale));
    }
    let total_secs = nanos / 1_000_000_000;
    let sub = nanos % 1_000_000_000;
    let hours = total_secs / 3600;
    let minutes = (total_secs % 3600) / 60;
    let secs = total_secs % 60;
    let secs = fraction(secs * 1_000_000_000 + sub, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

fn fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let rest = value % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Kills the exec's process tree and stops its output readers when dropped, unless
/// disarmed: a client that cancels the call (or a timeout) never leaves the exec running.
struct KillOnDrop {
    process: Option<ProcessHandle>,
}

impl KillOnDrop {
    fn disarm(&mut self) {
        self.process = None;
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill_tree(Signal::SIGKILL);
        }
    }
}

fn exec_error(message: impl std::fmt::Display) -> CriError {
    CriError::unknown(format!("failed to exec in container: {message}"))
}

impl Runtime {
    /// ExecSync.
    pub async fn exec_sync(
        &self,
        prefix: &str,
        cmd: Vec<String>,
        timeout_secs: i64,
    ) -> Result<ExecSyncResponse, CriError> {
        let process = self.store.read(|s| {
            let record = s.resolve_container(prefix).map_err(|e| {
                e.with_prefix(
                    self.dialect(),
                    format!(
                        "failed to exec in container: failed to find container {} in store",
                        go_quote(prefix)
                    ),
                )
            })?;
            if record.phase == ContainerPhase::Running {
                return Ok(record.process.clone());
            }
            Err(exec_error(format!(
                "container is in {} state",
                record.phase.to_cri().as_str_name()
            )))
        })?;
        let Some(process) = process else {
            return Err(exec_error("container is in CONTAINER_CREATED state"));
        };
        let exec_id = new_id();
        let (stdout, stdout_reader) = Output::pipe();
        let (stderr, stderr_reader) = Output::pipe();
        let stdio = Stdio {
            stdin: Input::empty(),
            stdout,
            stderr,
        };
        // A hook (the toolkit's exec scripts) may take over the process.
        let exec = self
            .spawn_process(Spawn {
                purpose: Purpose::Exec,
                container: prefix,
                sim: &process.sim,
                argv: &cmd,
                env: &[],
                stdio,
            })
            .map_err(|e| {
                exec_error(self.dialect().oci_error(format_args!(
                    "failed to start exec {}: OCI runtime exec failed: exec failed: {}",
                    go_quote(&exec_id),
                    e.runc_message()
                )))
            })?;
        let mut guard = KillOnDrop {
            process: Some(exec.clone()),
        };
        // The readers run while the process runs (pipes are bounded, so a writer of
        // more than a few chunks would otherwise wait for ever), in this call's own
        // task: no task to spawn and wake, and they go when the call goes.
        let mut output = std::pin::pin!(futures::future::maybe_done(futures::future::join(
            collect_capped(stdout_reader),
            collect_capped(stderr_reader),
        )));
        let mut exited = std::pin::pin!(exec.wait());
        let exit_while_reading = std::future::poll_fn(|cx| {
            // Ready once both outputs are read; polling it again is a no-op.
            let _ = output.as_mut().poll(cx);
            exited.as_mut().poll(cx)
        });

        let exit = if let Some(limit) = go_timeout(timeout_secs) {
            match tokio::time::timeout(limit, exit_while_reading).await {
                Ok(exit) => exit,
                Err(_) => {
                    // The guard kills the exec's processes (the readers go with this
                    // call); like
                    // containerd, answer once the killed process is gone (a simulated
                    // process dies at its next scheduling point, a busy loop included).
                    drop(guard);
                    let _ = tokio::time::timeout(Duration::from_secs(1), exec.wait()).await;
                    return Err(CriError::new(
                        ErrorCode::DeadlineExceeded,
                        format!(
                            "failed to exec in container: timeout {} exceeded: context deadline exceeded",
                            go_duration(limit)
                        ),
                    ));
                }
            }
        } else {
            exit_while_reading.await
        };

        let drain = self.settings.drain_exec_sync_io_timeout;
        if drain.is_zero() {
            output.as_mut().await;
        } else if tokio::time::timeout(drain, output.as_mut()).await.is_err() {
            let quoted = go_quote(&exec_id);
            return Err(exec_error(format!(
                "failed to drain exec process {quoted} io: failed to drain exec process {quoted} io in {} because io is still held by other processes",
                go_duration(drain)
            )));
        }
        let (stdout, stderr) = output.as_mut().take_output().unwrap_or_default();
        guard.disarm();
        let response = ExecSyncResponse {
            stdout,
            stderr,
            exit_code: exit.code(),
        };
        // The 16 MiB send limit is checked where every response is: the dispatcher.
        Ok(response)
    }
}

/// Fails like grpc-go's send check when an encoded message is over the 16 MiB limit.
pub fn check_send_size<M: Message>(message: &M) -> Result<usize, CriError> {
    check_encoded_size(message.encoded_len())
}

/// [`check_send_size`] for a message already encoded in `size` bytes.
pub fn check_encoded_size(size: usize) -> Result<usize, CriError> {
    if size > MAX_SEND_MESSAGE_SIZE {
        return Err(CriError::new(
            ErrorCode::ResourceExhausted,
            format!(
                "grpc: trying to send message larger than max ({size} vs. {MAX_SEND_MESSAGE_SIZE})"
            ),
        ));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_format_like_go() {
        assert_eq!(go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn capped_buffer_keeps_the_first_bytes_and_drops_the_rest() {
        let mut buffer = CappedBuffer::new(4);
        buffer.push(b"abc");
        buffer.push(b"def");
        buffer.push(b"g");
        assert_eq!(buffer.into_inner(), b"abcd");
    }

    #[test]
    fn responses_over_16_mib_encoded_fail_with_grpc_go_text() {
        let ok = ExecSyncResponse {
            stdout: vec![0; 16_777_211],
            ..Default::default()
        };
        assert_eq!(check_send_size(&ok), Ok(16 << 20));
        let too_big = ExecSyncResponse {
            stdout: vec![0; 16_777_212],
            ..Default::default()
        };
        let err = check_send_size(&too_big).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ResourceExhausted);
        assert_eq!(
            err.message(),
            "grpc: trying to send message larger than max (16777217 vs. 16777216)"
        );
        let non_zero_exit = ExecSyncResponse {
            stdout: vec![0; 16_777_210],
            exit_code: 1,
            ..Default::default()
        };
        assert!(check_send_size(&non_zero_exit).is_err());
        let both = ExecSyncResponse {
            stdout: vec![0; 10 << 20],
            stderr: vec![0; 10 << 20],
            exit_code: 0,
        };
        assert_eq!(
            check_send_size(&both).unwrap_err().message(),
            "grpc: trying to send message larger than max (20971530 vs. 16777216)"
        );
    }
}
