//! Simulated processes: container commands and exec commands are *run*, by a small
//! POSIX-sh interpreter over built-in busybox-like applets, on a per-container virtual
//! filesystem, not answered from a table.
//!
//! `sh -c "exit 3"` really exits 3, `echo hi` really writes `hi\n` to stdout, and
//! `sleep 20 &` really holds the stdout pipe open for 20 (tokio) seconds. Signals follow
//! POSIX defaults (SIGTERM ends a process with 143 unless it traps or ignores it,
//! SIGKILL always ends it with 137), exit codes are taken modulo 256, and a process
//! that needs more memory than the container's limit is OOM-killed.
//!
//! # Layout
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | these docs, [`ExitStatus`], [`SpawnError`], [`Stdio`], re-exports |
//! | `pipe.rs` | [`Output`] (writing end with holders), [`OutputReader`], [`Input`] |
//! | `signal.rs` | [`Signal`], [`Disposition`], [`SignalReceiver`] |
//! | `spec.rs` | [`SimSpec`] and its parts: what a container's world is built from |
//! | `sim.rs` | [`ContainerSim`], [`ProcessHandle`], [`ProcessInfo`]: the process table, spawning, signal delivery, OOM, `/proc` |
//! | `program.rs` | [`Program`], [`Programs`], [`ProgramContext`], [`System`] |
//! | `pidns.rs` | [`pidns::PidNamespace`]: PID namespaces shared by containers (a pod's with `pause` as pid 1, the node's) |
//! | `host.rs` | the only files of the real host read (never written): `/proc/net/*` for `netstat` on the node's network, `/proc/sysvipc/*` for `ipcs` in the node's IPC namespace |
//! | `vfs.rs` | [`vfs::Vfs`]: the in-memory filesystem with mounts, devices, permissions |
//! | `seccomp.rs` | [`seccomp::SeccompProfile`]: a container's seccomp filter and the system calls applets make |
//! | `users.rs` | [`users::Identity`]: the user resolved against `/etc/passwd` and `/etc/group` |
//! | `stack.rs` | the depth limits of the shell, and stack that grows on demand for its recursion |
//! | `rootfs.rs` | [`rootfs::busybox`] and [`rootfs::pause`]: the built-in images' files |
//! | `shell/` | the `sh` interpreter: `ast.rs`, `parser.rs` (hand-written), `expand.rs`, `arith.rs`, `interp.rs`, `builtins.rs` |
//! | `applets/` | the busybox-like applets, one file per family: `mod.rs` (registry, `busybox`, shared I/O helpers), `text.rs` (echo, printf, cat, head, tail, yes, seq, wc, grep, cut, tr, sort, uniq, tee, xargs, ...), `files.rs` (ls, touch, mkdir, rm, cp, mv, ln, chmod, stat, dd, ...), `procs.rs` (sleep, kill, pgrep, pidof, ps, top, pause, env, timeout, ...), `info.rs` (id, whoami, hostname, uname, date, ...), `test.rs` (`test`, `[`, `[[`), `net.rs` (network-less `wget`, `nc`), `bridge.rs` (`brctl`), `ping.rs` (`ping`), `netstat.rs`, `ipcs.rs`, `mount.rs` (`mount --bind`, container-local), `nginx.rs` (the nginx images' server, not a busybox applet) |
//! | `tests/` | behaviour tests, with a helper that runs an argv in a fresh busybox container |
//!
//! # Running a command
//!
//! ```
//! use std::sync::Arc;
//! use cri_fake::process::{rootfs, ContainerSim, ExitStatus, Output, Programs, SimSpec, Stdio};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let spec = SimSpec {
//!     hostname: "vm".into(),
//!     env: vec!["PATH=/bin".into()],
//!     rootfs: rootfs::busybox(),
//!     ..Default::default()
//! };
//! let sim = ContainerSim::new(spec, Arc::new(Programs::builtin()));
//! let (stdout, mut out) = Output::pipe();
//! let argv: Vec<String> = ["sh", "-c", "echo hi; exit 3"].map(String::from).to_vec();
//! let process = sim
//!     .spawn(&argv, Stdio { stdin: Default::default(), stdout, stderr: Output::null() })
//!     .unwrap();
//! assert_eq!(process.wait().await, ExitStatus::Exited(3));
//! assert_eq!(process.wait().await.code(), 3);
//! assert_eq!(out.next().await.as_deref(), Some(&b"hi\n"[..]));
//! assert_eq!(out.next().await, None); // every holder of stdout is gone
//! sim.shutdown().await;
//! # });
//! ```
//!
//! Adding a program of your own is shown on [`Programs`].
//!
//! # Fidelity notes
//!
//! * The main process of a container in its own PID namespace (the default of
//!   [`SimSpec`]) gets pid 1; every exec gets the next pid. Containers given a shared
//!   [`pidns::PidNamespace`] take their pids from it and see each other's processes. `sh -c` replaces itself by its last simple command when no trap needs the
//!   shell (as ash does), so `sh -c 'sleep 9'` shows as `sleep 9` and receives signals
//!   itself.
//! * A shell waits for a foreground child even when a trapped signal arrives, then runs
//!   the trap; `wait` is interrupted by trapped signals (status 128+N). Background jobs
//!   read `/dev/null` and ignore SIGINT and SIGQUIT. A foreground child killed by a
//!   signal other than SIGINT/SIGPIPE is reported on stderr (`Killed`, `Terminated`).
//! * Memory is accounted: `dd` charges its block size (never allocated), and what
//!   applets really hold (`sort`'s input, `tail`'s last lines or bytes, a long line,
//!   `uniq`'s previous line, `xargs`'s input) is charged against `memory_limit_bytes`
//!   and [`SimSpec::memory_budget_bytes`] too; going over SIGKILLs the process and sets
//!   [`ContainerSim::oom_killed`].
//! * Pipes the shell creates (`|`, `$(...)`) count against
//!   [`SimSpec::max_open_pipes`] while either end is open; past it the shell fails as
//!   ash does on `EMFILE`.
//! * Only `tokio::time` is used, so everything works under paused time.

pub mod bridge;
pub mod net;
pub mod pipe;
pub mod rootfs;
pub mod seccomp;
pub mod signal;
pub mod users;
pub mod vfs;

mod applets;
mod host;
pub mod pidns;
mod program;
mod shell;
mod sim;
mod spec;
mod stack;

#[cfg(test)]
mod tests;

pub(crate) use applets::strftime;
pub use pipe::{BrokenPipe, ByteSink, ByteSource, Input, Output, OutputReader};
pub use program::{MemoryCharge, Program, ProgramContext, Programs, Resolved, System};
pub use signal::{Disposition, Signal, SignalReceiver};
pub use sim::{ContainerSim, ProcessHandle, ProcessInfo, rootfs_template};
pub use spec::{
    DEFAULT_MAX_OPEN_PIPES, DEFAULT_MAX_PROCESSES, DEFAULT_MEMORY_BUDGET_BYTES,
    DEFAULT_WRITABLE_LAYER_LIMIT_BYTES, DnsSpec, FileSeed, MountSpec, SecuritySpec, SimSpec,
    UserSpec,
};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code (already modulo 256).
    Exited(u8),
    /// A signal ended it.
    Signaled(Signal),
}

impl ExitStatus {
    /// The exit code a shell or the CRI reports: the exit value, or 128 + the signal
    /// number.
    pub fn code(&self) -> i32 {
        match self {
            ExitStatus::Exited(c) => i32::from(*c),
            ExitStatus::Signaled(s) => 128 + s.number(),
        }
    }

    /// Whether the process exited with code 0.
    pub fn success(&self) -> bool {
        *self == ExitStatus::Exited(0)
    }
}

impl From<i32> for ExitStatus {
    /// An exit code, taken modulo 256 (`exit 300` is 44, `exit -1` is 255).
    fn from(code: i32) -> Self {
        ExitStatus::Exited(code.rem_euclid(256) as u8)
    }
}

impl From<u8> for ExitStatus {
    fn from(code: u8) -> Self {
        ExitStatus::Exited(code)
    }
}

impl From<bool> for ExitStatus {
    /// `true` is success (0), `false` is failure (1).
    fn from(ok: bool) -> Self {
        ExitStatus::Exited(u8::from(!ok))
    }
}

/// A process's standard streams. For a tty, pass the same [`Output`] (clones) as
/// stdout and stderr.
#[derive(Debug, Default)]
pub struct Stdio {
    /// Standard input.
    pub stdin: Input,
    /// Standard output.
    pub stdout: Output,
    /// Standard error.
    pub stderr: Output,
}

impl Stdio {
    /// No input, output discarded.
    pub fn null() -> Stdio {
        Stdio::default()
    }

    /// No input; stdout and stderr each into a new pipe, whose readers are returned.
    pub fn piped() -> (Stdio, OutputReader, OutputReader) {
        let (stdout, out) = Output::pipe();
        let (stderr, err) = Output::pipe();
        (
            Stdio {
                stdin: Input::empty(),
                stdout,
                stderr,
            },
            out,
            err,
        )
    }
}

/// Why a process could not be started (runc's checks on `argv[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnError {
    /// argv is empty.
    EmptyArgs,
    /// A bare name not found in `$PATH` (also `""`).
    NotFoundInPath(String),
    /// A path that does not exist.
    NoSuchFile(String),
    /// A path that is not executable (no x bit, or a directory).
    PermissionDenied(String),
    /// The container has [`SimSpec::max_processes`] live processes: a process
    /// starting another gets `EAGAIN`.
    TooManyProcesses,
}

impl SpawnError {
    /// runc's wording, which callers embed in containerd's messages:
    /// `args must not be empty`,
    /// `unable to start container process: exec: "n": executable file not found in $PATH`,
    /// `unable to start container process: exec: "p": stat p: no such file or directory`,
    /// `unable to start container process: exec: "p": permission denied`.
    pub fn runc_message(&self) -> String {
        match self {
            SpawnError::EmptyArgs => "args must not be empty".to_owned(),
            SpawnError::NotFoundInPath(n) => format!(
                "unable to start container process: exec: \"{n}\": executable file not found in $PATH"
            ),
            SpawnError::NoSuchFile(p) => format!(
                "unable to start container process: exec: \"{p}\": stat {p}: no such file or directory"
            ),
            SpawnError::PermissionDenied(p) => {
                format!("unable to start container process: exec: \"{p}\": permission denied")
            }
            SpawnError::TooManyProcesses => {
                "unable to start container process: fork: resource temporarily unavailable"
                    .to_owned()
            }
        }
    }
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.runc_message())
    }
}

impl std::error::Error for SpawnError {}
