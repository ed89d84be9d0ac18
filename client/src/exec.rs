//! `ExecSync`: run a command in a container and collect its output.

use std::time::Duration;

use cri_proto::v1::ExecSyncRequest;

use crate::client::{Client, whole_seconds};
use crate::error::{Error, ExecOutput, Ids, Result, Rpc, require_id};

impl Client {
    /// Runs `command` in a running container and waits for it, returning its output.
    ///
    /// `timeout` (whole seconds, rounded up; zero: none) is the runtime's exec timeout:
    /// on expiry the runtime kills the command and answers DEADLINE_EXCEEDED. The RPC's
    /// own deadline is the timeout plus the client's call timeout; without a timeout the
    /// call has no deadline (as in kubelet), because the command may legitimately run long.
    ///
    /// A command that exits non-zero is [`Error::ExecExit`], which carries the exit code,
    /// stdout and stderr (see [`Error::exec_output`]).
    pub async fn exec_sync<I, S>(
        &self,
        container_id: &str,
        command: I,
        timeout: Duration,
    ) -> Result<ExecOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let (command, output) = self.exec_raw(container_id, command, timeout).await?;
        if output.exit_code != 0 {
            return Err(Error::ExecExit {
                container_id: container_id.to_string(),
                command,
                output,
            });
        }
        Ok(output)
    }

    /// Like [`Client::exec_sync`], but a non-zero exit code is an ordinary result.
    pub async fn exec_sync_output<I, S>(
        &self,
        container_id: &str,
        command: I,
        timeout: Duration,
    ) -> Result<ExecOutput>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let (_, output) = self.exec_raw(container_id, command, timeout).await?;
        Ok(output)
    }

    async fn exec_raw<I, S>(
        &self,
        container_id: &str,
        command: I,
        timeout: Duration,
    ) -> Result<(Vec<String>, ExecOutput)>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        require_id("exec_sync", "container id", container_id)?;
        let command: Vec<String> = command.into_iter().map(Into::into).collect();
        let seconds = whole_seconds(timeout);
        let deadline = (seconds > 0).then(|| {
            self.settings
                .call_timeout
                .saturating_add(Duration::from_secs(seconds.unsigned_abs()))
        });
        let response = self
            .runtime_call(
                Rpc::ExecSync,
                Ids::container(container_id),
                deadline,
                ExecSyncRequest {
                    container_id: container_id.to_string(),
                    cmd: command.clone(),
                    timeout: seconds,
                },
                |mut c, r| async move { c.exec_sync(r).await },
            )
            .await?;
        let output = ExecOutput {
            stdout: response.stdout,
            stderr: response.stderr,
            exit_code: response.exit_code,
        };
        Ok((command, output))
    }
}
