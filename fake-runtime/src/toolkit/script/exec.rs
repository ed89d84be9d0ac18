//! The toolkit's hooks into the core: scripts that take over an exec or a container's
//! main process, waiters woken at state changes, streaming sessions journalled.

use super::Toolkit;
use super::matchers::Invocation;
use crate::core::hooks::{Hooks, Purpose, Spawn};
use crate::core::runtime::Runtime;
use crate::core::streams::StreamSession;
use crate::process::{ProcessHandle, SpawnError};

impl Hooks for Toolkit {
    /// The reply of the first matching exec script (for an exec) or container script
    /// (for a main process), else the command in the simulation.
    fn spawn(&self, runtime: &Runtime, spawn: Spawn<'_>) -> Result<ProcessHandle, SpawnError> {
        let scripts = match spawn.purpose {
            Purpose::Main => &self.container_scripts,
            Purpose::Exec => &self.exec_scripts,
        };
        let empty_exec = spawn.purpose == Purpose::Exec && spawn.argv.is_empty();
        if empty_exec || scripts.is_empty() {
            return spawn.in_simulation();
        }
        let Some(invocation) = invocation(runtime, spawn.container, spawn.argv) else {
            return spawn.in_simulation();
        };
        match scripts.find(&invocation) {
            // Scripts ignore the extra env.
            Some(reply) => reply.spawn(&self.launcher, spawn.sim, &invocation, spawn.stdio),
            None => spawn.in_simulation(),
        }
    }

    fn state_changed(&self) {
        Toolkit::state_changed(self);
    }

    fn stream_ended(&self, session: StreamSession) {
        self.journal.record_stream(session);
    }
}

/// What scripts see of container `container` (an id or unique prefix) running
/// `command`; `None` if it is gone.
fn invocation(runtime: &Runtime, container: &str, command: &[String]) -> Option<Invocation> {
    runtime.store().read(|s| {
        let record = s.resolve_container(container).ok()?;
        let sandbox = s.sandboxes.get(&record.sandbox_id);
        let pod = sandbox
            .and_then(|sb| sb.config.metadata.clone())
            .unwrap_or_default();
        let metadata = record.config.metadata.clone().unwrap_or_default();
        Some(Invocation {
            container_id: record.id.clone(),
            container_name: metadata.name,
            attempt: metadata.attempt,
            image: record.image_requested.clone(),
            image_id: record.image_id.clone(),
            container_labels: record.config.labels.clone(),
            sandbox_id: record.sandbox_id.clone(),
            pod_name: pod.name,
            pod_namespace: pod.namespace,
            pod_labels: sandbox
                .map(|sb| sb.config.labels.clone())
                .unwrap_or_default(),
            command: command.to_vec(),
        })
    })
}
