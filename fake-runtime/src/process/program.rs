//! Programs: the [`Program`] trait, the [`Programs`] registry, and the
//! [`ProgramContext`] a running program gets.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::pipe::{Input, Output};
use super::seccomp::SeccompAction;
use super::signal::{Signal, SignalReceiver};
use super::sim::{ProcessInfo, SimInner, SpawnRequest};
use super::users::Identity;
use super::vfs::{Access, Cred, FileReader, FsError, Vfs, WriteMode};
use super::{ExitStatus, ProcessHandle, SpawnError, Stdio};

/// Something that can run as a process in a container.
///
/// Implemented for closures and `async fn`s taking a [`ProgramContext`] and returning
/// an [`ExitStatus`], an `i32` or a `u8` (exit codes are taken modulo 256).
pub trait Program: Send + Sync + 'static {
    /// Runs the program to completion. Dropping the future is how the process is
    /// killed (SIGKILL, or a signal whose default action ends it).
    fn run(&self, ctx: ProgramContext) -> BoxFuture<'static, ExitStatus>;
}

impl<F, Fut> Program for F
where
    F: Fn(ProgramContext) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Into<ExitStatus>,
{
    fn run(&self, ctx: ProgramContext) -> BoxFuture<'static, ExitStatus> {
        let fut = self(ctx);
        Box::pin(async move { fut.await.into() })
    }
}

/// The programs a container can run, by name: the built-in applets (`sh`, `echo`,
/// `sleep`, ...), `busybox` and `pause`, plus programs added by test authors.
///
/// A registered name `n` is placed in every container as `/bin/n`, or at `n` itself
/// when it is an absolute path.
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use cri_fake::process::{
///     rootfs, ContainerSim, ExitStatus, Output, ProgramContext, Programs, SimSpec, Stdio,
/// };
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut programs = Programs::builtin();
/// programs.register("greet", |ctx: ProgramContext| async move {
///     let who = ctx.args.get(1).cloned().unwrap_or_else(|| "world".into());
///     let _ = ctx.stdout.write(Bytes::from(format!("hello {who}\n"))).await;
///     7 // the exit code
/// });
/// let sim = ContainerSim::new(
///     SimSpec { rootfs: rootfs::busybox(), env: vec!["PATH=/bin".into()], ..Default::default() },
///     Arc::new(programs),
/// );
/// let (stdout, mut reader) = Output::pipe();
/// let argv = ["sh".to_string(), "-c".into(), "greet you".into()];
/// let stdio = Stdio { stdin: Default::default(), stdout, stderr: Output::null() };
/// let process = sim.spawn(&argv, stdio).unwrap();
/// assert_eq!(process.wait().await, ExitStatus::Exited(7));
/// assert_eq!(reader.next().await, Some(Bytes::from("hello you\n")));
/// assert!(sim.read_file("/bin/greet").is_some());
/// sim.shutdown().await;
/// # });
/// ```
#[derive(Clone, Default)]
pub struct Programs {
    map: HashMap<String, Arc<dyn Program>>,
    added: BTreeSet<String>,
}

impl std::fmt::Debug for Programs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.map.keys().collect();
        names.sort();
        f.debug_struct("Programs").field("names", &names).finish()
    }
}

impl Programs {
    /// An empty registry.
    pub fn new() -> Programs {
        Programs::default()
    }

    /// Every built-in applet, plus `sh`, `busybox` and `pause`.
    pub fn builtin() -> Programs {
        let mut p = Programs::new();
        super::applets::register_all(&mut p);
        p
    }

    pub(crate) fn insert_builtin(&mut self, name: &str, program: impl Program) {
        self.map.insert(name.to_owned(), Arc::new(program));
    }

    /// Adds `program` under `name`, replacing any program of that name. It appears in
    /// every container created afterwards as `/bin/<name>` (or at `name` when absolute).
    pub fn register(&mut self, name: &str, program: impl Program) {
        self.map.insert(name.to_owned(), Arc::new(program));
        self.added.insert(name.to_owned());
    }

    /// The program registered under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Program>> {
        self.map.get(name).cloned()
    }

    /// Whether a program is registered under `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.map.keys().cloned().collect();
        names.sort();
        names
    }

    /// The names added with [`Programs::register`].
    pub(crate) fn user_added(&self) -> impl Iterator<Item = &str> {
        self.added.iter().map(String::as_str)
    }
}

/// What a running program gets: its arguments, environment, working directory,
/// standard streams, caught signals, and access to its container.
#[derive(Debug)]
pub struct ProgramContext {
    /// argv; `args[0]` is the name the program was invoked as.
    pub args: Vec<String>,
    /// `KEY=VALUE` pairs.
    pub env: Vec<String>,
    /// The working directory (absolute).
    pub cwd: String,
    /// Standard input.
    pub stdin: Input,
    /// Standard output.
    pub stdout: Output,
    /// Standard error.
    pub stderr: Output,
    /// Signals the program catches (see [`SignalReceiver::catch`]).
    pub signals: SignalReceiver,
    /// The container: filesystem, process table, user.
    pub system: System,
}

/// A program's view of its container and of its own process.
#[derive(Clone)]
pub struct System {
    pub(crate) sim: Arc<SimInner>,
    pub(crate) pid: u32,
    /// The name used to prefix error messages, when not the program's own (shell
    /// builtins report errors as `sh: ...`).
    pub(crate) msg_name: Option<String>,
    /// The effective user id (see [`System::euid`]).
    pub(crate) euid: u32,
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System").field("pid", &self.pid).finish()
    }
}

/// Memory charged against the container's limit (and, when held, its memory
/// budget); released when dropped.
pub struct MemoryCharge {
    sim: Arc<SimInner>,
    bytes: u64,
    held: bool,
}

impl std::fmt::Debug for MemoryCharge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCharge")
            .field("bytes", &self.bytes)
            .field("held", &self.held)
            .finish()
    }
}

impl MemoryCharge {
    /// How many bytes are charged.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Gives `bytes` back (at most what is charged): the program freed that much.
    pub fn shrink(&mut self, bytes: u64) {
        let bytes = bytes.min(self.bytes);
        self.sim.release_memory(bytes, self.held);
        self.bytes -= bytes;
    }
}

impl Drop for MemoryCharge {
    fn drop(&mut self) {
        self.sim.release_memory(self.bytes, self.held);
    }
}

impl System {
    /// This process's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The parent's pid (0 when the parent is outside the container or gone).
    pub fn ppid(&self) -> u32 {
        self.sim.ppid(self.pid)
    }

    /// Who the process runs as.
    pub fn identity(&self) -> &Identity {
        &self.sim.identity
    }

    /// The container's hostname.
    pub fn hostname(&self) -> String {
        self.sim
            .hostname
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `sethostname(2)`: seccomp's verdict on `sethostname` first, then `EPERM`
    /// without `CAP_SYS_ADMIN`. The new name shows in `hostname`, `uname -n` and
    /// `/proc/sys/kernel/hostname`.
    pub(crate) async fn set_hostname(&self, name: &str) -> Result<(), FsError> {
        self.syscall("sethostname").await?;
        if !self.capable("SYS_ADMIN") {
            return Err(FsError::NotPermitted);
        }
        if name.len() > 64 {
            return Err(FsError::Invalid);
        }
        *self.sim.hostname.lock().unwrap_or_else(|e| e.into_inner()) = name.to_owned();
        let _ = self.sim.vfs.seed_file(
            "/proc/sys/kernel/hostname",
            format!("{name}\n").into_bytes(),
            0o644,
        );
        Ok(())
    }

    /// Whether the process has the capability `name` (`"NET_ADMIN"` or
    /// `"CAP_NET_ADMIN"`) in its effective set: the container's set for a process whose
    /// effective uid is root; none for other users (runc sets no ambient
    /// capabilities, so an exec by a non-root user drops them).
    pub fn capable(&self, name: &str) -> bool {
        self.euid == 0
            && super::sim::capabilities(&self.sim.security) & super::sim::capability_bit(name) != 0
    }

    /// What the container's seccomp filter does with the system call `name`
    /// (x86_64 names: `chmod`, `mkdir`, `sethostname`, ...): `Ok` when it is allowed,
    /// the errno of an `SCMP_ACT_ERRNO` rule as an error, and for a killing action the
    /// process ends with SIGSYS (this never returns). Privileged containers have no
    /// filter.
    pub(crate) async fn syscall(&self, name: &str) -> Result<(), FsError> {
        let security = &self.sim.security;
        let Some(profile) = security.seccomp.as_ref().filter(|_| !security.privileged) else {
            return Ok(());
        };
        match profile.check(super::seccomp::syscall_of(name)) {
            SeccompAction::Allow => Ok(()),
            SeccompAction::Errno(errno) => Err(FsError::from_errno(errno)),
            SeccompAction::Kill => self.crash(Signal::SIGSYS).await,
        }
    }

    /// The container's filesystem.
    pub fn vfs(&self) -> &Arc<Vfs> {
        &self.sim.vfs
    }

    /// The network namespace the container's processes listen and connect in.
    pub fn network(&self) -> &Arc<super::net::Network> {
        &self.sim.network
    }

    /// Whether the container shares the node's IPC namespace (see
    /// [`SimSpec::host_ipc`](super::SimSpec::host_ipc)).
    pub fn host_ipc(&self) -> bool {
        self.sim.host_ipc
    }

    /// Credentials and pid, for filesystem calls. A process whose effective uid is
    /// root (a set-user-ID-root executable) passes the checks as root; another
    /// effective uid is not modelled in permission checks (the real uid's are used).
    pub fn access(&self) -> Access<'_> {
        static ROOT: Cred = Cred {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
        };
        Access {
            cred: if self.euid == 0 {
                &ROOT
            } else {
                &self.sim.cred
            },
            pid: self.pid,
        }
    }

    /// The effective user id (`geteuid()`): the container's user, or the owner of a
    /// set-user-ID executable the process runs when the container allows new
    /// privileges (no `no_new_privs`).
    pub fn euid(&self) -> u32 {
        self.euid
    }

    /// The container's live processes, by pid.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        self.sim.processes()
    }

    /// Sends `signal` to `pid`; `false` if there is no such process (`ESRCH`).
    pub fn kill(&self, pid: u32, signal: Signal) -> bool {
        self.sim.deliver_visible(pid, signal)
    }

    /// Sends `signal` to this process.
    pub fn raise(&self, signal: Signal) {
        self.sim.deliver(self.pid, signal);
    }

    /// Ends this process as the OOM killer does (SIGKILL, and the container records an
    /// OOM event), and never returns: for memory a process would hold beyond what the
    /// simulation affords, whatever the container's limit.
    pub(crate) async fn out_of_memory(&self) -> ! {
        self.sim.oom_kill(self.pid);
        loop {
            self.checkpoint().await;
        }
    }

    /// Ends this process with `signal` whatever its disposition (a simulated fault,
    /// such as the SIGSEGV of a stack overflow), and never returns.
    pub(crate) async fn crash(&self, signal: Signal) -> ! {
        self.sim.crash(self.pid, signal);
        loop {
            self.checkpoint().await;
        }
    }

    /// Whether this process has been killed (its future is about to be dropped).
    pub fn is_dying(&self) -> bool {
        self.sim.is_dying(self.pid)
    }

    /// A scheduling point: yields to other tasks now and then, and never returns once
    /// the process has been killed (so a killed program stops at once).
    pub async fn checkpoint(&self) {
        tokio::task::consume_budget().await;
        if self.is_dying() {
            tokio::task::yield_now().await;
            std::future::pending::<()>().await;
        }
    }

    /// Charges `bytes` of memory against the container's limit. When the limit would
    /// be exceeded, the process is OOM-killed (SIGKILL, and the container records an
    /// OOM event) and this never returns. The memory is only accounted, not really
    /// allocated (`dd`'s block buffer): the memory budget is not charged. For memory
    /// the program really keeps, use [`System::hold`].
    pub async fn allocate(&self, bytes: u64) -> MemoryCharge {
        self.charge(bytes, false).await
    }

    /// Charges `bytes` of memory the program really holds (a buffer growing with its
    /// input) against the container's limit and against its memory budget
    /// ([`SimSpec::memory_budget_bytes`](super::SimSpec::memory_budget_bytes)). When
    /// either would be exceeded, the process is OOM-killed as by
    /// [`System::allocate`] and this never returns.
    pub async fn hold(&self, bytes: u64) -> MemoryCharge {
        self.charge(bytes, true).await
    }

    /// Adds `bytes` to `charge`, OOM-killing the process (and never returning) as
    /// [`System::allocate`] and [`System::hold`] do when that is too much.
    pub async fn grow(&self, charge: &mut MemoryCharge, bytes: u64) {
        if !self.sim.charge_memory(bytes, charge.held) {
            self.out_of_memory().await;
        }
        charge.bytes += bytes;
    }

    async fn charge(&self, bytes: u64, held: bool) -> MemoryCharge {
        if !self.sim.charge_memory(bytes, held) {
            self.out_of_memory().await;
        }
        MemoryCharge {
            sim: Arc::clone(&self.sim),
            bytes,
            held,
        }
    }

    /// A new pipe for this process to hand to its children, counted against the
    /// container's open-pipe budget; `None` when the budget is spent (`EMFILE`).
    pub(crate) fn pipe(&self) -> Option<(super::Output, super::OutputReader)> {
        self.sim.open_pipe()
    }

    /// The container's memory limit in bytes (0: unlimited).
    pub fn memory_limit(&self) -> u64 {
        self.sim.memory_limit
    }

    /// Time since the container's simulation was created.
    pub fn uptime(&self) -> std::time::Duration {
        self.sim.boot.elapsed()
    }

    /// The registered programs.
    pub fn programs(&self) -> &super::Programs {
        &self.sim.programs
    }

    /// Starts a child process of this process: `EAGAIN`
    /// ([`SpawnError::TooManyProcesses`]) when the container has its maximum number of
    /// processes.
    pub(crate) fn spawn_request(&self, req: SpawnRequest) -> Result<ProcessHandle, SpawnError> {
        self.sim.spawn_request(self.pid, true, req)
    }

    /// Resolves `argv[0]` like `execvp` (and runc): a path, or a search of `path_env`.
    pub fn resolve(
        &self,
        argv0: &str,
        path_env: Option<&str>,
        cwd: &str,
    ) -> Result<Resolved, SpawnError> {
        self.sim.resolve(argv0, path_env, cwd)
    }

    /// Resolves a command name as busybox ash does (see `SimInner::resolve_ash`):
    /// the error is ash's text and exit status.
    pub(crate) fn resolve_ash(
        &self,
        argv0: &str,
        path_env: Option<&str>,
        cwd: &str,
    ) -> Result<Resolved, (&'static str, u8)> {
        self.sim.resolve_ash(argv0, path_env, cwd)
    }

    /// Records an exec: the process now shows `argv` and `comm` in `ps`, and runs
    /// with the effective uid `euid`.
    pub(crate) fn set_argv(&mut self, argv: &[String], comm: &str, euid: u32) {
        self.euid = euid;
        self.sim.set_argv(self.pid, argv, comm, euid);
    }
}

/// A resolved executable: what to run for an argv.
#[derive(Clone)]
pub struct Resolved {
    pub(crate) program: Arc<dyn Program>,
    /// Arguments placed before the script path (`#!` interpreter and its argument).
    pub(crate) interpreter: Vec<String>,
    /// The path the executable was found at.
    pub(crate) path: String,
    /// The owner of the executable when its set-user-ID bit is set (binaries only).
    pub(crate) setuid: Option<u32>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("path", &self.path)
            .field("interpreter", &self.interpreter)
            .finish()
    }
}

impl Resolved {
    /// A resolution to `program`, as if found at `path` (for running a program object
    /// with [`ProgramContext::exec`]).
    pub fn new(program: Arc<dyn Program>, path: impl Into<String>) -> Resolved {
        Resolved {
            program,
            interpreter: Vec::new(),
            path: path.into(),
            setuid: None,
        }
    }

    /// The path the executable was found at.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The argv the program really gets: for a `#!` script, the interpreter, its
    /// argument, the script's path, then the remaining arguments.
    pub fn argv(&self, argv: &[String]) -> Vec<String> {
        if self.interpreter.is_empty() {
            return argv.to_vec();
        }
        let mut out = self.interpreter.clone();
        out.push(self.path.clone());
        out.extend(argv.iter().skip(1).cloned());
        out
    }

    /// The process name (`comm`): the executable's file name, at most 15 bytes.
    pub fn comm(&self) -> String {
        comm_of(&self.path)
    }
}

/// The `comm` of an executable path: its file name, cut to 15 bytes.
pub(crate) fn comm_of(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let mut end = base.len().min(15);
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    base[..end].to_owned()
}

impl ProgramContext {
    /// The name to prefix error messages with: `basename(args[0])`, or `sh` when the
    /// program runs as a shell builtin.
    pub fn name(&self) -> String {
        if let Some(name) = &self.system.msg_name {
            return name.clone();
        }
        let arg0 = self.args.first().map(String::as_str).unwrap_or("");
        arg0.rsplit('/').next().unwrap_or(arg0).to_owned()
    }

    /// This process's pid.
    pub fn pid(&self) -> u32 {
        self.system.pid
    }

    /// The value of an environment variable.
    pub fn getenv(&self, key: &str) -> Option<&str> {
        self.env.iter().find_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v)
        })
    }

    /// `path` made absolute against the working directory (and normalised).
    pub fn abs_path(&self, path: &str) -> String {
        super::vfs::normalize(&self.cwd, path)
    }

    /// Opens a file for reading.
    pub fn open_read(&self, path: &str) -> Result<FileReader, FsError> {
        self.system
            .vfs()
            .open_read(&self.abs_path(path), self.system.access())
    }

    /// Reads a whole (small) file.
    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        self.system
            .vfs()
            .read_to_end(&self.abs_path(path), self.system.access())
    }

    /// Opens a file for writing as an [`Output`]. `/dev/stdout` and `/dev/stderr` give
    /// this program's own streams, `/dev/null` a null output.
    pub fn open_write(&self, path: &str, mode: WriteMode) -> Result<Output, FsError> {
        match path {
            "/dev/stdout" | "/proc/self/fd/1" => return Ok(self.stdout.clone()),
            "/dev/stderr" | "/proc/self/fd/2" => return Ok(self.stderr.clone()),
            _ => {}
        }
        let sink =
            self.system
                .vfs()
                .open_write(&self.abs_path(path), mode, self.system.access())?;
        Ok(if sink.discards() {
            Output::null()
        } else {
            Output::from_sink(sink)
        })
    }

    /// Writes bytes to standard output.
    pub async fn out(&self, data: impl Into<Bytes>) -> Result<(), super::BrokenPipe> {
        self.stdout.write(data.into()).await
    }

    /// Writes bytes to standard error.
    pub async fn err(&self, data: impl Into<Bytes>) -> Result<(), super::BrokenPipe> {
        self.stderr.write(data.into()).await
    }

    /// Writes `"<name>: <msg>\n"` to standard error, as busybox reports errors.
    pub async fn error(&self, msg: impl std::fmt::Display) {
        let _ = self
            .stderr
            .write(Bytes::from(format!("{}: {msg}\n", self.name())))
            .await;
    }

    /// Starts a child process (resolving `argv[0]` through `$PATH`), inheriting this
    /// program's environment, working directory and ignored signals.
    pub fn spawn(&self, argv: &[String], stdio: Stdio) -> Result<ProcessHandle, SpawnError> {
        let first = argv.first().ok_or(SpawnError::EmptyArgs)?;
        let resolved = self.system.resolve(first, self.getenv("PATH"), &self.cwd)?;
        self.system.spawn_request(SpawnRequest {
            argv: resolved.argv(argv),
            comm: resolved.comm(),
            setuid: resolved.setuid,
            program: resolved.program,
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            stdio,
            ignored: self.signals.ignored_set(),
        })
    }

    /// Starts `program` itself as a child process (no `argv[0]` resolution),
    /// inheriting this program's environment, working directory and ignored signals.
    /// A test author's program is trusted: this is not refused when the container has
    /// its maximum number of processes.
    pub fn spawn_program(
        &self,
        program: Arc<dyn Program>,
        argv: &[String],
        stdio: Stdio,
    ) -> ProcessHandle {
        self.system.sim.spawn_unlimited(
            self.system.pid,
            SpawnRequest {
                argv: argv.to_vec(),
                comm: argv.first().map(|a| comm_of(a)).unwrap_or_default(),
                program,
                setuid: None,
                env: self.env.clone(),
                cwd: self.cwd.clone(),
                stdio,
                ignored: self.signals.ignored_set(),
            },
        )
    }

    /// Replaces this program by `resolved` (like `execve`): same pid, same streams;
    /// caught signals go back to their default action, ignored ones stay ignored.
    pub async fn exec(self, resolved: Resolved, argv: Vec<String>) -> ExitStatus {
        let argv = resolved.argv(&argv);
        let mut system = self.system;
        let euid = system.sim.exec_euid(system.euid, resolved.setuid);
        system.set_argv(&argv, &resolved.comm(), euid);
        self.signals.reset_caught();
        system.msg_name = None;
        let ctx = ProgramContext {
            args: argv,
            env: self.env,
            cwd: self.cwd,
            stdin: self.stdin,
            stdout: self.stdout,
            stderr: self.stderr,
            signals: self.signals,
            system,
        };
        resolved.program.run(ctx).await
    }
}
