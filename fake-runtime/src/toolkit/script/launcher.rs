//! Runs a [`Program`] object (not a registered name) as a process of a container's
//! simulation.
//!
//! The simulation starts processes by resolving `argv[0]` in the container's
//! filesystem. To run an arbitrary program, the launcher registers one hidden program,
//! the trampoline, when the fake is built; to launch, it places the trampoline for a
//! moment at a unique path under `/dev`, starts it with a token, and removes the file
//! again. The trampoline takes the program and argv the token names and `exec`s them
//! (same pid, same streams), so `ps` shows the real argv.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use crate::process::vfs::{Access, Cred, Vfs};
use crate::process::{
    ContainerSim, ExitStatus, FileSeed, ProcessHandle, Program, ProgramContext, Programs, Resolved,
    SpawnError, Stdio,
};

/// The registry name of the trampoline (never a file name in a container).
pub(crate) const TRAMPOLINE: &str = "cri-fake:launch";
const PATH_PREFIX: &str = "/dev/.cri-fake-launch-";

struct Pending {
    program: Arc<dyn Program>,
    argv: Vec<String>,
}

/// Launches program objects in container simulations.
#[derive(Default)]
pub(crate) struct Launcher {
    pending: Mutex<HashMap<u64, Pending>>,
    next: AtomicU64,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launcher").finish_non_exhaustive()
    }
}

impl Launcher {
    /// Registers the trampoline in `programs` (before any container is built).
    pub(crate) fn install(self: &Arc<Self>, programs: &mut Programs) {
        programs.insert_builtin(TRAMPOLINE, Trampoline(Arc::clone(self)));
    }

    fn prepare(&self, program: Arc<dyn Program>, argv: Vec<String>) -> (u64, String) {
        let token = self.next.fetch_add(1, Ordering::SeqCst);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(token, Pending { program, argv });
        (token, format!("{PATH_PREFIX}{token}"))
    }

    fn forget(&self, token: u64) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token);
    }

    fn take(&self, token: u64) -> Option<Pending> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token)
    }

    /// Starts `program` with `argv` as a new process of `sim` (like an exec or a
    /// container's main process).
    pub(crate) fn spawn(
        &self,
        sim: &Arc<ContainerSim>,
        program: Arc<dyn Program>,
        argv: Vec<String>,
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        self.spawn_trampoline(sim.vfs(), program, argv, |argv| sim.spawn(argv, stdio))
    }

    /// Starts `program` with `argv` as a child of the running program `ctx`.
    pub(crate) fn spawn_child(
        &self,
        ctx: &ProgramContext,
        program: Arc<dyn Program>,
        argv: Vec<String>,
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        self.spawn_trampoline(ctx.system.vfs(), program, argv, |argv| {
            ctx.spawn(argv, stdio)
        })
    }

    /// Seeds a trampoline for `program` into `vfs`, starts it with `start`, and removes
    /// the file again; the pending program is forgotten when nothing started.
    fn spawn_trampoline(
        &self,
        vfs: &Vfs,
        program: Arc<dyn Program>,
        argv: Vec<String>,
        start: impl FnOnce(&[String]) -> Result<ProcessHandle, SpawnError>,
    ) -> Result<ProcessHandle, SpawnError> {
        let (token, path) = self.prepare(program, argv);
        let seed = FileSeed::Program {
            path: path.clone(),
            name: TRAMPOLINE.to_owned(),
            mode: 0o755,
        };
        if vfs.seed(&seed).is_err() {
            self.forget(token);
            return Err(SpawnError::NoSuchFile(path));
        }
        let result = start(std::slice::from_ref(&path));
        let root = Cred::root();
        let _ = vfs.remove(
            &path,
            false,
            Access {
                cred: &root,
                pid: 0,
            },
        );
        if result.is_err() {
            self.forget(token);
        }
        result
    }
}

/// The hidden program: takes its launch from the launcher and becomes it.
struct Trampoline(Arc<Launcher>);

impl Program for Trampoline {
    fn run(&self, ctx: ProgramContext) -> BoxFuture<'static, ExitStatus> {
        let launcher = Arc::clone(&self.0);
        Box::pin(async move {
            let token = ctx
                .args
                .first()
                .and_then(|a| a.strip_prefix(PATH_PREFIX))
                .and_then(|t| t.parse::<u64>().ok());
            let Some(pending) = token.and_then(|t| launcher.take(t)) else {
                return ExitStatus::Exited(127);
            };
            let first = pending.argv.first().cloned().unwrap_or_default();
            let path = if first.starts_with('/') || first.is_empty() {
                first
            } else {
                format!("/bin/{first}")
            };
            let resolved = Resolved {
                program: pending.program,
                interpreter: Vec::new(),
                path,
                setuid: None,
            };
            ctx.exec(resolved, pending.argv).await
        })
    }
}
