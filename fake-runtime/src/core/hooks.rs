//! What the layers above the core plug into it. The core defines these hooks and
//! calls them; the toolkit implements them (scripts that take over a process, waiters
//! woken at state changes, the journal of streaming sessions), so the core depends on
//! nothing above it.

use std::fmt;
use std::sync::Arc;

use crate::core::runtime::Runtime;
use crate::core::streams::StreamSession;
use crate::process::{ContainerSim, ProcessHandle, SpawnError, Stdio};

/// Why a process is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A container's main process (StartContainer).
    Main,
    /// An exec: ExecSync, or a streaming exec.
    Exec,
}

/// A process about to start in a container's simulation.
#[derive(Debug)]
pub(crate) struct Spawn<'a> {
    /// Main process or exec.
    pub(crate) purpose: Purpose,
    /// The container, as the request named it (an id or unique prefix).
    pub(crate) container: &'a str,
    /// The container's simulation.
    pub(crate) sim: &'a Arc<ContainerSim>,
    /// The command line.
    pub(crate) argv: &'a [String],
    /// `NAME=value` set over the container's env (a tty exec's `TERM=xterm`).
    pub(crate) env: &'a [String],
    /// Its standard streams.
    pub(crate) stdio: Stdio,
}

impl Spawn<'_> {
    /// Starts the command in the simulation, as if no hook were set.
    pub(crate) fn in_simulation(self) -> Result<ProcessHandle, SpawnError> {
        self.sim.spawn_with_env(self.argv, self.env, self.stdio)
    }
}

/// The core's hooks. Every method has the behaviour of a core without a toolkit as
/// its default.
pub(crate) trait Hooks: Send + Sync + fmt::Debug {
    /// Starts `spawn`'s process (a hook may start a scripted one instead).
    fn spawn(&self, runtime: &Runtime, spawn: Spawn<'_>) -> Result<ProcessHandle, SpawnError> {
        let _ = runtime;
        spawn.in_simulation()
    }

    /// The state changed (a sandbox or container was created, changed phase or was
    /// removed; the runtime restarted).
    fn state_changed(&self) {}

    /// A streaming session ended.
    fn stream_ended(&self, session: StreamSession) {
        let _ = session;
    }
}

/// The hooks of a core on its own: processes run in the simulation, nothing else.
#[derive(Debug, Default)]
pub(crate) struct NoHooks;

impl Hooks for NoHooks {}

impl Runtime {
    /// Starts a process through the hooks.
    pub(crate) fn spawn_process(&self, spawn: Spawn<'_>) -> Result<ProcessHandle, SpawnError> {
        self.hooks.spawn(self, spawn)
    }
}
