//! The hooks that let scripts take over an exec or a container's main process.

use std::sync::Arc;

use super::matchers::Invocation;
use crate::process::{ContainerSim, ProcessHandle, SpawnError, Stdio};
use crate::runtime::Runtime;

impl Runtime {
    /// What scripts see of container `container` (an id or unique prefix) running
    /// `command`; `None` if it is gone.
    pub(crate) fn invocation(&self, container: &str, command: &[String]) -> Option<Invocation> {
        self.store.read(|s| {
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

    /// Starts an exec's process: the reply of the first matching exec script, else the
    /// command in the simulation.
    pub(crate) fn spawn_exec(
        &self,
        container: &str,
        sim: &Arc<ContainerSim>,
        cmd: &[String],
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        let toolkit = &self.toolkit;
        if cmd.is_empty() || toolkit.exec_scripts.is_empty() {
            return sim.spawn(cmd, stdio);
        }
        let Some(invocation) = self.invocation(container, cmd) else {
            return sim.spawn(cmd, stdio);
        };
        match toolkit.exec_scripts.find(&invocation) {
            Some(reply) => reply.spawn(&toolkit.launcher, sim, &invocation, stdio),
            None => sim.spawn(cmd, stdio),
        }
    }

    /// [`Runtime::spawn_exec`] with extra env over the container's (a streaming exec
    /// with a tty gets `TERM=xterm`); exec scripts ignore it.
    pub(crate) fn spawn_exec_env(
        &self,
        container: &str,
        sim: &Arc<ContainerSim>,
        cmd: &[String],
        env: &[String],
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        let toolkit = &self.toolkit;
        if cmd.is_empty() || toolkit.exec_scripts.is_empty() {
            return sim.spawn_with_env(cmd, env, stdio);
        }
        let Some(invocation) = self.invocation(container, cmd) else {
            return sim.spawn_with_env(cmd, env, stdio);
        };
        match toolkit.exec_scripts.find(&invocation) {
            Some(reply) => reply.spawn(&toolkit.launcher, sim, &invocation, stdio),
            None => sim.spawn_with_env(cmd, env, stdio),
        }
    }

    /// Starts a container's main process: the reply of the first matching container
    /// script, else the command in the simulation.
    pub(crate) fn spawn_main(
        &self,
        container_id: &str,
        sim: &Arc<ContainerSim>,
        argv: &[String],
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        let toolkit = &self.toolkit;
        if toolkit.container_scripts.is_empty() {
            return sim.spawn(argv, stdio);
        }
        let Some(invocation) = self.invocation(container_id, argv) else {
            return sim.spawn(argv, stdio);
        };
        match toolkit.container_scripts.find(&invocation) {
            Some(reply) => reply.spawn(&toolkit.launcher, sim, &invocation, stdio),
            None => sim.spawn(argv, stdio),
        }
    }
}
