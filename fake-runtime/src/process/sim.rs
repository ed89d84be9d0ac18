//! A container's process world: the process table, spawning, signal delivery, exits,
//! memory accounting and `/proc`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use super::net::Network;
use super::program::{ProgramContext, Programs, Resolved, System, comm_of};
use super::signal::{Dispositions, Signal, SignalReceiver};
use super::spec::{FileSeed, SecuritySpec, SimSpec};
use super::users::{self, Identity};
use super::vfs::{self, Access, Cred, FsError, ProcSource, Vfs};
use super::{ExitStatus, Program, SpawnError, Stdio};

/// A live process, as `ps` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id (per container, from 1).
    pub pid: u32,
    /// Parent's pid; 0 for processes started from outside (the main process, execs)
    /// and for orphans whose parent is gone.
    pub ppid: u32,
    /// The user id it runs as.
    pub uid: u32,
    /// Its argv.
    pub argv: Vec<String>,
    /// Its name (`comm`): the executable's file name, at most 15 bytes.
    pub comm: String,
}

/// What the shell and other programs pass to start a child.
pub(crate) struct SpawnRequest {
    pub argv: Vec<String>,
    pub comm: String,
    pub program: Arc<dyn Program>,
    pub env: Vec<String>,
    pub cwd: String,
    pub stdio: Stdio,
    pub ignored: BTreeSet<Signal>,
    /// The owner of the executable when its set-user-ID bit is set
    /// ([`Resolved::setuid`]).
    pub setuid: Option<u32>,
}

pub(crate) struct ProcShared {
    pid: u32,
    status: watch::Sender<Option<ExitStatus>>,
    fatal: watch::Sender<Option<Signal>>,
}

struct Proc {
    ppid: u32,
    /// The pid of the process started from outside (main process or exec) this one
    /// descends from; kept when the process is re-parented, so an exec's orphans can
    /// still be found (like a session).
    session: u32,
    argv: Vec<String>,
    comm: String,
    env: Vec<String>,
    shared: Arc<ProcShared>,
    sig_tx: mpsc::UnboundedSender<Signal>,
    dispositions: Arc<Mutex<Dispositions>>,
    start: tokio::time::Instant,
    /// The effective user id: the container's user, or the owner of a set-user-ID
    /// executable it runs (unless `no_new_privs`).
    euid: u32,
}

struct Table {
    next_pid: u32,
    procs: BTreeMap<u32, Proc>,
}

/// The shared core of a [`ContainerSim`], held by its processes.
pub(crate) struct SimInner {
    /// The UTS namespace's hostname: the pod's, until a process with `CAP_SYS_ADMIN`
    /// sets another (`hostname NAME`). Each container has its own (where a pod's
    /// containers share one UTS namespace, and host-network pods the node's).
    pub(crate) hostname: Mutex<String>,
    pub(crate) env: Vec<String>,
    pub(crate) cwd: String,
    pub(crate) identity: Identity,
    pub(crate) cred: Cred,
    pub(crate) security: SecuritySpec,
    pub(crate) memory_limit: u64,
    pub(crate) memory_budget: u64,
    max_processes: u32,
    max_open_pipes: u32,
    pub(crate) programs: Arc<Programs>,
    pub(crate) vfs: Arc<Vfs>,
    pub(crate) network: Arc<Network>,
    pub(crate) host_ipc: bool,
    pid_ns: Option<Arc<super::pidns::PidNamespace>>,
    pub(crate) boot: tokio::time::Instant,
    table: Mutex<Table>,
    oom: AtomicBool,
    shut: AtomicBool,
    /// Every charge: accounted and held memory, against `memory_limit`.
    memory_used: AtomicU64,
    /// Held charges only, against `memory_budget`.
    memory_held: AtomicU64,
    open_pipes: AtomicU32,
    live_tasks: watch::Sender<usize>,
}

/// A container's simulated process world: its filesystem, users and processes.
///
/// Dropping the last `Arc<ContainerSim>` SIGKILLs every process, so no task outlives
/// it; [`ContainerSim::shutdown`] does the same and waits for the tasks to end.
pub struct ContainerSim {
    inner: Arc<SimInner>,
}

impl std::fmt::Debug for ContainerSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerSim")
            .field("hostname", &self.inner.hostname)
            .field("processes", &self.inner.own_processes())
            .finish_non_exhaustive()
    }
}

/// A started process. Clone it freely; any number of tasks may wait on it.
#[derive(Clone)]
pub struct ProcessHandle {
    shared: Arc<ProcShared>,
    sim: Arc<SimInner>,
}

impl std::fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessHandle")
            .field("pid", &self.shared.pid)
            .field("status", &self.try_status())
            .finish()
    }
}

impl ProcessHandle {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.shared.pid
    }

    /// Delivers `signal` to this process only.
    pub fn signal(&self, signal: Signal) {
        self.sim.deliver(self.shared.pid, signal);
    }

    /// Delivers `signal` to this process and all its (live) descendants, orphaned ones
    /// included.
    pub fn kill_tree(&self, signal: Signal) {
        self.sim.kill_tree(self.shared.pid, signal);
    }

    /// Waits for the process to end and returns how it ended.
    pub async fn wait(&self) -> ExitStatus {
        let mut rx = self.shared.status.subscribe();
        loop {
            if let Some(status) = *rx.borrow_and_update() {
                return status;
            }
            if rx.changed().await.is_err() {
                // The sender lives in `self.shared`: this cannot happen.
                std::future::pending::<()>().await;
            }
        }
    }

    /// How the process ended, if it has.
    pub fn try_status(&self) -> Option<ExitStatus> {
        *self.shared.status.borrow()
    }
}

struct TaskGuard(Arc<SimInner>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.live_tasks.send_modify(|n| *n = n.saturating_sub(1));
    }
}

const HOSTS_TEMPLATE: &str = "127.0.0.1\tlocalhost\n127.0.1.1\t{host}\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n";

/// `/etc/resolv.conf` when the pod has no DNS config: what a host with
/// systemd-resolved has.
const DEFAULT_RESOLV_CONF: &str = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n";

fn resolv_conf(dns: Option<&super::DnsSpec>) -> String {
    match dns {
        Some(d) if !(d.servers.is_empty() && d.searches.is_empty() && d.options.is_empty()) => {
            let mut s = String::new();
            if !d.searches.is_empty() {
                s += &format!("search {}\n", d.searches.join(" "));
            }
            if !d.servers.is_empty() {
                s += &format!("nameserver {}\n", d.servers.join("\nnameserver "));
            }
            if !d.options.is_empty() {
                s += &format!("options {}\n", d.options.join(" "));
            }
            s
        }
        _ => DEFAULT_RESOLV_CONF.to_owned(),
    }
}

fn has_key(env: &[String], key: &str) -> bool {
    env.iter()
        .any(|kv| kv.split_once('=').map(|(k, _)| k) == Some(key))
}

/// The capability bits by name (without `CAP_`).
const CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// runc's (containerd's) default capability set.
pub(crate) const DEFAULT_CAPS: u64 = 0x0000_0000_a804_25fb;
/// Every capability the kernel knows.
pub(crate) const ALL_CAPS: u64 = 0x0000_01ff_ffff_ffff;

fn cap_bits(name: &str) -> u64 {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    if bare == "ALL" {
        return ALL_CAPS;
    }
    CAPS.iter()
        .position(|c| *c == bare)
        .map(|i| 1u64 << i)
        .unwrap_or(0)
}

/// The bit of a capability named `CAP_NET_ADMIN` or `NET_ADMIN` (0 for an unknown
/// name).
pub(crate) fn capability_bit(name: &str) -> u64 {
    if name.trim().eq_ignore_ascii_case("ALL") {
        return 0;
    }
    cap_bits(name)
}

/// The effective capability set for a security spec.
pub(crate) fn capabilities(sec: &SecuritySpec) -> u64 {
    if sec.privileged {
        return ALL_CAPS;
    }
    let mut caps = DEFAULT_CAPS;
    for d in &sec.drop_capabilities {
        caps &= !cap_bits(d);
    }
    for a in &sec.add_capabilities {
        caps |= cap_bits(a);
    }
    caps
}

/// The image's files, then the directories and devices every container has.
fn base_filesystem(rootfs: &[FileSeed], readonly_root: bool) -> Vfs {
    let fs = Vfs::new(readonly_root);
    for seed in rootfs {
        let _ = fs.seed(seed);
    }
    for dir in ["/proc", "/sys", "/dev", "/etc"] {
        if fs
            .stat(
                dir,
                true,
                Access {
                    cred: &Cred::root(),
                    pid: 0,
                },
            )
            .is_err()
        {
            let _ = fs.seed_dir(dir, if dir == "/etc" { 0o755 } else { 0o555 });
        }
    }
    let _ = fs.seed_devices();
    fs
}

/// What [`SimSpec::rootfs_template`] holds for an image of these files: its files, the
/// directories and devices every container has, seeded once.
pub fn rootfs_template(rootfs: &[FileSeed]) -> vfs::Template {
    base_filesystem(rootfs, false).template()
}

impl ContainerSim {
    /// Builds a container's world from `spec`: the filesystem (image files, generated
    /// `/etc` files, `/proc/sys`, devices, mounts, one `/bin/<name>` per user-registered
    /// program), the user, and an empty process table.
    pub fn new(spec: SimSpec, programs: Arc<Programs>) -> Arc<ContainerSim> {
        let mut fs = match &spec.rootfs_template {
            Some(template) => Vfs::from_template(template, spec.readonly_rootfs),
            None => base_filesystem(&spec.rootfs, spec.readonly_rootfs),
        };
        let hostname = spec.hostname.clone();
        let _ = fs.seed_file("/etc/hostname", format!("{hostname}\n").into_bytes(), 0o644);
        let _ = fs.seed_file(
            "/etc/hosts",
            HOSTS_TEMPLATE.replace("{host}", &hostname).into_bytes(),
            0o644,
        );
        let _ = fs.seed_file(
            "/etc/resolv.conf",
            resolv_conf(spec.dns.as_ref()).into_bytes(),
            0o644,
        );
        let _ = fs.seed_file(
            "/proc/sys/kernel/hostname",
            format!("{hostname}\n").into_bytes(),
            0o644,
        );
        for (key, value) in &spec.sysctls {
            let path = format!("/proc/sys/{}", key.trim_matches('.').replace('.', "/"));
            let _ = fs.seed_file(&path, format!("{value}\n").into_bytes(), 0o644);
        }
        for name in programs.user_added() {
            let path = if name.starts_with('/') {
                name.to_owned()
            } else {
                format!("/bin/{name}")
            };
            let _ = fs.seed(&FileSeed::Program {
                path,
                name: name.to_owned(),
                mode: 0o755,
            });
        }
        for m in &spec.mounts {
            fs.add_mount(&m.container_path, m.host_path.clone(), m.readonly);
        }
        for path in &spec.security.masked_paths {
            fs.mask(path);
        }
        for path in &spec.security.readonly_paths {
            fs.add_readonly_path(path);
        }
        let fs = Arc::new(fs);
        let root = Cred::root();
        let root_access = Access {
            cred: &root,
            pid: 0,
        };
        let passwd = fs
            .read_to_end("/etc/passwd", root_access)
            .unwrap_or_default();
        let group = fs
            .read_to_end("/etc/group", root_access)
            .unwrap_or_default();
        let identity = users::resolve(
            &spec.user,
            &String::from_utf8_lossy(&passwd),
            &String::from_utf8_lossy(&group),
        );
        let cwd = if spec.working_dir.is_empty() {
            "/".to_owned()
        } else {
            vfs::normalize("/", &spec.working_dir)
        };
        if !fs.exists(&cwd, root_access) {
            let _ = fs.seed_dir(&cwd, 0o755);
        }
        fs.set_writable_limit(spec.writable_layer_limit_bytes);
        let mut env = spec.env.clone();
        if !has_key(&env, "HOSTNAME") {
            env.push(format!("HOSTNAME={hostname}"));
        }
        if !has_key(&env, "HOME") {
            env.push(format!("HOME={}", identity.home));
        }
        let cred = identity.cred();
        let (live_tasks, _) = watch::channel(0usize);
        let inner = Arc::new_cyclic(|weak: &Weak<SimInner>| {
            let source: Weak<dyn ProcSource> = weak.clone();
            fs.set_proc_source(source);
            SimInner {
                hostname: Mutex::new(hostname),
                env,
                cwd,
                identity,
                cred,
                security: spec.security.clone(),
                memory_limit: spec.memory_limit_bytes,
                memory_budget: spec.memory_budget_bytes,
                max_processes: spec.max_processes,
                network: spec.network.clone().unwrap_or_default(),
                max_open_pipes: spec.max_open_pipes,
                host_ipc: spec.host_ipc,
                pid_ns: spec.pid_namespace.clone(),
                programs,
                vfs: fs,
                boot: tokio::time::Instant::now(),
                table: Mutex::new(Table {
                    next_pid: 1,
                    procs: BTreeMap::new(),
                }),
                oom: AtomicBool::new(false),
                shut: AtomicBool::new(false),
                memory_used: AtomicU64::new(0),
                memory_held: AtomicU64::new(0),
                open_pipes: AtomicU32::new(0),
                live_tasks,
            }
        });
        if let Some(ns) = &spec.pid_namespace {
            ns.join(Arc::downgrade(&inner));
        }
        Arc::new(ContainerSim { inner })
    }

    /// Starts a process: resolves `argv[0]` like runc (a path, absolute or relative to
    /// the working directory, or a search of the container env's `$PATH`) and runs it
    /// on a tokio task with the container's env, working directory and user. Returns at
    /// once. Must be called within a tokio runtime.
    pub fn spawn(
        self: &Arc<Self>,
        argv: &[String],
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        self.spawn_with_env(argv, &[], stdio)
    }

    /// [`ContainerSim::spawn`] with `extra` (`NAME=value`) set over the container's
    /// env, as runc does for a process spec's env (an exec with a tty gets
    /// `TERM=xterm`).
    pub fn spawn_with_env(
        self: &Arc<Self>,
        argv: &[String],
        extra: &[String],
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        let first = argv.first().ok_or(SpawnError::EmptyArgs)?;
        let inner = &self.inner;
        let mut env = inner.env.clone();
        for kv in extra {
            let name = kv.split('=').next().unwrap_or(kv);
            env.retain(|old| old.split('=').next() != Some(name));
            env.push(kv.clone());
        }
        let path = env.iter().find_map(|kv| kv.strip_prefix("PATH="));
        let resolved = inner.resolve(first, path, &inner.cwd)?;
        Ok(inner.spawn_unlimited(
            0,
            SpawnRequest {
                argv: resolved.argv(argv),
                comm: resolved.comm(),
                setuid: resolved.setuid,
                program: resolved.program,
                env,
                cwd: inner.cwd.clone(),
                stdio,
                ignored: BTreeSet::new(),
            },
        ))
    }

    /// Starts `program` itself as a new process (no `argv[0]` resolution, no file in
    /// the container needed), with the container's env, working directory and user,
    /// like [`ContainerSim::spawn`] does for a resolved command. `ps` shows `argv`.
    pub fn spawn_program(
        self: &Arc<Self>,
        program: Arc<dyn Program>,
        argv: &[String],
        stdio: Stdio,
    ) -> ProcessHandle {
        let inner = &self.inner;
        inner.spawn_unlimited(
            0,
            SpawnRequest {
                argv: argv.to_vec(),
                comm: argv.first().map(|a| comm_of(a)).unwrap_or_default(),
                program,
                setuid: None,
                env: inner.env.clone(),
                cwd: inner.cwd.clone(),
                stdio,
                ignored: BTreeSet::new(),
            },
        )
    }

    /// The container's own live processes (its cgroup's), by pid in its PID
    /// namespace; processes of other containers sharing the namespace are not
    /// included (`ps` inside shows those too).
    pub fn processes(&self) -> Vec<ProcessInfo> {
        self.inner.own_processes()
    }

    /// Delivers `signal` to every live process.
    pub fn kill_all(&self, signal: Signal) {
        self.inner.kill_all(signal);
    }

    /// Whether a process of this container was OOM-killed (a cgroup OOM event).
    pub fn oom_killed(&self) -> bool {
        self.inner.oom.load(Ordering::SeqCst)
    }

    /// A file's contents as root in the container sees them (following symlinks), or
    /// `None` if it cannot be read.
    pub fn read_file(&self, path: &str) -> Option<Bytes> {
        let root = Cred::root();
        self.inner
            .vfs
            .read_to_end(
                &vfs::normalize("/", path),
                Access {
                    cred: &root,
                    pid: 0,
                },
            )
            .ok()
            .map(Bytes::from)
    }

    /// The container's filesystem (for tests that prepare or inspect files).
    pub fn vfs(&self) -> &Arc<Vfs> {
        &self.inner.vfs
    }

    /// The environment every process starts with (spec env, then `HOSTNAME`, `HOME`).
    pub fn env(&self) -> &[String] {
        &self.inner.env
    }

    /// Who the processes run as.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// runc's error when the spec's user or group does not exist in the image
    /// (`unable to find user ghost: no matching entries in passwd file`); a real
    /// container would fail to start with it.
    pub fn user_error(&self) -> Option<&str> {
        self.inner.identity.error.as_deref()
    }

    /// SIGKILLs every process and waits until every process task has ended. Processes
    /// spawned afterwards are killed at once.
    pub async fn shutdown(&self) {
        self.inner.shut.store(true, Ordering::SeqCst);
        self.inner.kill_all(Signal::SIGKILL);
        let mut rx = self.inner.live_tasks.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }
}

impl Drop for ContainerSim {
    fn drop(&mut self) {
        self.inner.shut.store(true, Ordering::SeqCst);
        self.inner.kill_all(Signal::SIGKILL);
    }
}

async fn wait_fatal(rx: &mut watch::Receiver<Option<Signal>>) -> Signal {
    loop {
        if let Some(sig) = *rx.borrow_and_update() {
            return sig;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl SimInner {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a process from outside the container's processes: never refused.
    pub(crate) fn spawn_unlimited(self: &Arc<Self>, ppid: u32, req: SpawnRequest) -> ProcessHandle {
        match self.spawn_request(ppid, false, req) {
            Ok(handle) => handle,
            Err(_) => unreachable!("only a limited spawn can be refused"),
        }
    }

    /// Starts a process; `limited`: refused with [`SpawnError::TooManyProcesses`]
    /// when the container already has `max_processes` (a fork from inside).
    pub(crate) fn spawn_request(
        self: &Arc<Self>,
        ppid: u32,
        limited: bool,
        req: SpawnRequest,
    ) -> Result<ProcessHandle, SpawnError> {
        let (sig_tx, sig_rx) = mpsc::unbounded_channel();
        let dispositions = Arc::new(Mutex::new(Dispositions::with_ignored(req.ignored)));
        let (status, _) = watch::channel(None);
        let (fatal, _) = watch::channel(None);
        let pid;
        let shared;
        let parent_dying;
        let euid;
        {
            let mut table = self.table();
            if limited && self.max_processes > 0 && table.procs.len() >= self.max_processes as usize
            {
                return Err(SpawnError::TooManyProcesses);
            }
            // Like fork(2) with a fatal signal pending: a process being killed cannot
            // leave a live child behind.
            parent_dying = table
                .procs
                .get(&ppid)
                .is_some_and(|p| p.shared.fatal.borrow().is_some());
            // Counted before it is visible, so `shutdown` never misses a starting task.
            self.live_tasks.send_modify(|n| *n += 1);
            pid = match &self.pid_ns {
                Some(ns) => ns.allocate(),
                None => {
                    let pid = table.next_pid;
                    table.next_pid = table.next_pid.wrapping_add(1).max(1);
                    pid
                }
            };
            shared = Arc::new(ProcShared { pid, status, fatal });
            let session = table.procs.get(&ppid).map_or(pid, |parent| parent.session);
            let inherited = table
                .procs
                .get(&ppid)
                .map_or(self.cred.uid, |parent| parent.euid);
            euid = self.exec_euid(inherited, req.setuid);
            table.procs.insert(
                pid,
                Proc {
                    ppid,
                    session,
                    argv: req.argv.clone(),
                    comm: req.comm,
                    env: req.env.clone(),
                    shared: Arc::clone(&shared),
                    sig_tx,
                    dispositions: Arc::clone(&dispositions),
                    start: tokio::time::Instant::now(),
                    euid,
                },
            );
        }
        let guard = TaskGuard(Arc::clone(self));
        if self.shut.load(Ordering::SeqCst) || parent_dying {
            shared.fatal.send_replace(Some(Signal::SIGKILL));
        }
        let ctx = ProgramContext {
            args: req.argv,
            env: req.env,
            cwd: req.cwd,
            stdin: req.stdio.stdin,
            stdout: req.stdio.stdout,
            stderr: req.stdio.stderr,
            signals: SignalReceiver::new(sig_rx, dispositions),
            system: System {
                sim: Arc::clone(self),
                pid,
                msg_name: None,
                euid,
            },
        };
        let task = run_process(
            Arc::clone(self),
            Arc::clone(&shared),
            req.program,
            ctx,
            guard,
        );
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(task);
            }
            Err(_) => {
                // No runtime to run on: the process dies at once.
                drop(task);
                self.exited(pid, ExitStatus::Signaled(Signal::SIGKILL));
            }
        }
        Ok(ProcessHandle {
            shared,
            sim: Arc::clone(self),
        })
    }

    fn exited(&self, pid: u32, status: ExitStatus) {
        let shared = {
            let mut table = self.table();
            let Some(proc_) = table.procs.remove(&pid) else {
                return;
            };
            let new_parent = if table.procs.contains_key(&1) && pid != 1 {
                1
            } else {
                0
            };
            for p in table.procs.values_mut() {
                if p.ppid == pid {
                    p.ppid = new_parent;
                }
            }
            proc_.shared
        };
        shared.status.send_replace(Some(status));
    }

    /// The live processes of the container's PID namespace (its own, or the one it
    /// shares), by pid.
    pub(crate) fn processes(&self) -> Vec<ProcessInfo> {
        match &self.pid_ns {
            Some(ns) => ns.processes(),
            None => self.own_processes(),
        }
    }

    /// Sends `sig` to `pid` of the container's PID namespace; `false` if there is no
    /// such process.
    pub(crate) fn deliver_visible(&self, pid: u32, sig: Signal) -> bool {
        match &self.pid_ns {
            Some(ns) => ns.deliver(pid, sig),
            None => self.deliver(pid, sig),
        }
    }

    /// Sends `sig` to `pid` if it is one of this container's processes.
    pub(crate) fn deliver_own(&self, pid: u32, sig: Signal) -> bool {
        self.deliver(pid, sig)
    }

    /// This container's own live processes, by pid.
    pub(crate) fn own_processes(&self) -> Vec<ProcessInfo> {
        self.table()
            .procs
            .iter()
            .map(|(&pid, p)| ProcessInfo {
                pid,
                ppid: p.ppid,
                uid: p.euid,
                argv: p.argv.clone(),
                comm: p.comm.clone(),
            })
            .collect()
    }

    pub(crate) fn ppid(&self, pid: u32) -> u32 {
        self.table().procs.get(&pid).map(|p| p.ppid).unwrap_or(0)
    }

    /// Records an exec of `pid`: its argv, name and effective uid.
    pub(crate) fn set_argv(&self, pid: u32, argv: &[String], comm: &str, euid: u32) {
        if let Some(p) = self.table().procs.get_mut(&pid) {
            p.argv = argv.to_vec();
            p.comm = comm.to_owned();
            p.euid = euid;
        }
    }

    /// The effective uid after an exec by a process whose effective uid is `euid`, of
    /// an executable whose set-user-ID owner is `setuid`: the owner, unless the
    /// container has `no_new_privs` (then the bit is ignored, as the kernel does).
    pub(crate) fn exec_euid(&self, euid: u32, setuid: Option<u32>) -> u32 {
        match setuid {
            Some(owner) if !self.security.no_new_privs => owner,
            _ => euid,
        }
    }

    pub(crate) fn is_dying(&self, pid: u32) -> bool {
        self.table()
            .procs
            .get(&pid)
            .map(|p| p.shared.fatal.borrow().is_some())
            .unwrap_or(true)
    }

    /// Delivers a signal; `false` if `pid` does not exist.
    pub(crate) fn deliver(&self, pid: u32, sig: Signal) -> bool {
        Self::deliver_locked(&self.table(), pid, sig)
    }

    fn deliver_locked(table: &Table, pid: u32, sig: Signal) -> bool {
        let Some(p) = table.procs.get(&pid) else {
            return false;
        };
        let kill = |s: Signal| {
            p.shared.fatal.send_if_modified(|f| {
                if f.is_none() {
                    *f = Some(s);
                    true
                } else {
                    false
                }
            });
        };
        if sig == Signal::SIGKILL {
            kill(sig);
            return true;
        }
        if sig == Signal::SIGSTOP {
            return true;
        }
        let disposition = p
            .dispositions
            .lock()
            .map(|d| d.get(sig))
            .unwrap_or_default();
        match disposition {
            super::Disposition::Ignore => {}
            super::Disposition::Catch => {
                let _ = p.sig_tx.send(sig);
            }
            super::Disposition::Default => {
                if !sig.default_is_ignore() && !sig.default_is_stop() {
                    kill(sig);
                }
            }
        }
        true
    }

    /// `pid`, its descendants, and every process of the session `pid` started (its
    /// orphans included), each once.
    fn descendants_locked(table: &Table, pid: u32) -> Vec<u32> {
        let mut out = vec![pid];
        out.extend(
            table
                .procs
                .iter()
                .filter(|(other, p)| p.session == pid && **other != pid)
                .map(|(&other, _)| other),
        );
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            out.extend(
                table
                    .procs
                    .iter()
                    .filter(|(_, p)| p.ppid == parent)
                    .map(|(&child, _)| child),
            );
            i += 1;
        }
        let mut seen = BTreeSet::new();
        out.retain(|p| seen.insert(*p));
        out
    }

    /// Ends `pid` with `sig` whatever its disposition, as the kernel does for a fault
    /// (a stack overflow's SIGSEGV cannot be caught or ignored usefully).
    pub(crate) fn crash(&self, pid: u32, sig: Signal) {
        if let Some(p) = self.table().procs.get(&pid) {
            p.shared.fatal.send_if_modified(|f| {
                if f.is_none() {
                    *f = Some(sig);
                    true
                } else {
                    false
                }
            });
        }
    }

    /// Signals `pid` and its descendants at once (under the table's lock): none of
    /// them can start a child that escapes (a child of a killed process starts
    /// killed, see [`SimInner::spawn_request`]).
    pub(crate) fn kill_tree(&self, pid: u32, sig: Signal) {
        let table = self.table();
        for p in Self::descendants_locked(&table, pid) {
            Self::deliver_locked(&table, p, sig);
        }
    }

    pub(crate) fn kill_all(&self, sig: Signal) {
        let pids: Vec<u32> = self.table().procs.keys().copied().collect();
        for pid in pids {
            self.deliver(pid, sig);
        }
    }

    /// Charges `bytes` against the memory limit and, for memory really `held`, the
    /// memory budget too; `false` (nothing charged) when either would be exceeded.
    pub(crate) fn charge_memory(&self, bytes: u64, held: bool) -> bool {
        if !charge(&self.memory_used, bytes, self.memory_limit) {
            return false;
        }
        if held && !charge(&self.memory_held, bytes, self.memory_budget) {
            self.memory_used.fetch_sub(bytes, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Gives back what [`SimInner::charge_memory`] charged.
    pub(crate) fn release_memory(&self, bytes: u64, held: bool) {
        self.memory_used.fetch_sub(bytes, Ordering::SeqCst);
        if held {
            self.memory_held.fetch_sub(bytes, Ordering::SeqCst);
        }
    }

    /// A pipe counted against the open-pipe budget, or `None` (`EMFILE`) when the
    /// container's processes already hold `max_open_pipes`. The count drops when both
    /// ends are gone.
    pub(crate) fn open_pipe(self: &Arc<Self>) -> Option<(super::Output, super::OutputReader)> {
        let max = self.max_open_pipes;
        self.open_pipes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (max == 0 || n < max).then_some(n + 1)
            })
            .ok()?;
        let lease: super::pipe::Lease = Arc::new(PipeLease(Arc::downgrade(self)));
        Some(super::Output::pipe_with_lease(lease))
    }

    pub(crate) fn oom_kill(&self, pid: u32) {
        self.oom.store(true, Ordering::SeqCst);
        self.deliver(pid, Signal::SIGKILL);
    }

    /// Resolves `argv[0]` as runc (and `execvp`) do.
    pub(crate) fn resolve(
        &self,
        argv0: &str,
        path_env: Option<&str>,
        cwd: &str,
    ) -> Result<Resolved, SpawnError> {
        if argv0.is_empty() {
            return Err(SpawnError::NotFoundInPath(String::new()));
        }
        if argv0.contains('/') {
            let abs = vfs::normalize(cwd, argv0);
            return self.exec_target(&abs, 0).map_err(|e| match e {
                FsError::NotFound | FsError::NotDir => SpawnError::NoSuchFile(argv0.to_owned()),
                _ => SpawnError::PermissionDenied(argv0.to_owned()),
            });
        }
        for dir in path_env.unwrap_or("").split(':') {
            if path_env.is_none() {
                break;
            }
            let candidate = if dir.is_empty() {
                vfs::normalize(cwd, argv0)
            } else {
                vfs::normalize(cwd, &format!("{dir}/{argv0}"))
            };
            if let Ok(found) = self.exec_target(&candidate, 0) {
                return Ok(found);
            }
        }
        Err(SpawnError::NotFoundInPath(argv0.to_owned()))
    }

    /// Resolves a command name as busybox ash does: like [`SimInner::resolve`], but a
    /// `$PATH` search that finds the name only as something it cannot execute fails
    /// with `Permission denied`: status 126 when one of them is a regular file (ash
    /// picks it, and its exec fails with `EACCES`), 127 when none is (a directory, or
    /// a masked file: `/dev/null` bound over it). The error is ash's text and status.
    pub(crate) fn resolve_ash(
        &self,
        argv0: &str,
        path_env: Option<&str>,
        cwd: &str,
    ) -> Result<Resolved, (&'static str, u8)> {
        let Some(path) = path_env.filter(|_| !argv0.is_empty() && !argv0.contains('/')) else {
            return self.resolve(argv0, path_env, cwd).map_err(|e| match e {
                SpawnError::PermissionDenied(_) => ("Permission denied", 126),
                _ => ("not found", 127),
            });
        };
        let mut denied: Option<bool> = None;
        for dir in path.split(':') {
            let candidate = if dir.is_empty() {
                vfs::normalize(cwd, argv0)
            } else {
                vfs::normalize(cwd, &format!("{dir}/{argv0}"))
            };
            match self.exec_target(&candidate, 0) {
                Ok(found) => return Ok(found),
                Err(FsError::NotFound | FsError::NotDir | FsError::NameTooLong) => {}
                Err(_) => {
                    let access = Access {
                        cred: &self.cred,
                        pid: 0,
                    };
                    let regular = self
                        .vfs
                        .stat(&candidate, true, access)
                        .is_ok_and(|st| st.kind == vfs::FileKind::File);
                    denied = Some(denied.unwrap_or(false) || regular);
                }
            }
        }
        match denied {
            Some(true) => Err(("Permission denied", 126)),
            Some(false) => Err(("Permission denied", 127)),
            None => Err(("not found", 127)),
        }
    }

    /// What executing the absolute `path` runs: a program, or a `#!` script's
    /// interpreter (a script without `#!` runs with `/bin/sh`, as shells do).
    fn exec_target(&self, path: &str, depth: u32) -> Result<Resolved, FsError> {
        let access = Access {
            cred: &self.cred,
            pid: 0,
        };
        match self.vfs.executable(path, access)? {
            Some(name) => {
                let program = self.programs.get(&name).ok_or(FsError::PermissionDenied)?;
                // The set-user-ID bit counts for binaries only: the kernel ignores it
                // on scripts.
                let setuid = self
                    .vfs
                    .stat(path, true, access)
                    .ok()
                    .filter(|st| st.mode & 0o4000 != 0)
                    .map(|st| st.uid);
                Ok(Resolved {
                    program,
                    interpreter: Vec::new(),
                    path: path.to_owned(),
                    setuid,
                })
            }
            None => {
                let mut reader = self.vfs.open_read(path, access)?;
                let head = reader.read_chunk()?.unwrap_or_default();
                let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
                let (interp, arg) = match first_line.strip_prefix(b"#!") {
                    Some(rest) => {
                        let text = String::from_utf8_lossy(rest).trim().to_owned();
                        let (i, a) = match text.split_once([' ', '\t']) {
                            Some((i, a)) => (i.to_owned(), Some(a.trim().to_owned())),
                            None => (text, None),
                        };
                        (i, a.filter(|a| !a.is_empty()))
                    }
                    None => ("/bin/sh".to_owned(), None),
                };
                if depth > 4 || interp.is_empty() {
                    return Err(FsError::Loop);
                }
                let inner = self.exec_target(&vfs::normalize("/", &interp), depth + 1)?;
                let mut interpreter = if inner.interpreter.is_empty() {
                    vec![interp]
                } else {
                    let mut v = inner.interpreter.clone();
                    v.push(inner.path.clone());
                    v
                };
                interpreter.extend(arg);
                Ok(Resolved {
                    program: inner.program,
                    interpreter,
                    path: path.to_owned(),
                    setuid: None,
                })
            }
        }
    }

    fn status_file(&self, pid: u32, p: &Proc) -> String {
        let (ign, cgt) = p.dispositions.lock().map(|d| d.masks()).unwrap_or((0, 0));
        let uid = self.cred.uid;
        let euid = p.euid;
        let gid = self.cred.gid;
        let groups: Vec<String> = self.identity.groups.iter().map(u32::to_string).collect();
        let caps = capabilities(&self.security);
        let sec = &self.security;
        let seccomp = if sec.seccomp_enforced && !sec.privileged {
            2
        } else {
            0
        };
        format!(
            "Name:\t{comm}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{ppid}\nTracerPid:\t0\n\
             Uid:\t{uid}\t{euid}\t{euid}\t{euid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\nFDSize:\t64\nGroups:\t{groups} \n\
             NStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{pid}\nNSsid:\t{pid}\nThreads:\t1\nSigQ:\t0/63704\n\
             SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\n\
             SigIgn:\t{ign:016x}\nSigCgt:\t{cgt:016x}\n\
             CapInh:\t0000000000000000\nCapPrm:\t{caps:016x}\nCapEff:\t{caps:016x}\nCapBnd:\t{caps:016x}\nCapAmb:\t0000000000000000\n\
             NoNewPrivs:\t{nnp}\nSeccomp:\t{seccomp}\nSeccomp_filters:\t{filters}\n\
             Speculation_Store_Bypass:\tthread vulnerable\nCpus_allowed:\tff\nCpus_allowed_list:\t0-7\n\
             Mems_allowed:\t00000001\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t0\n",
            comm = p.comm,
            ppid = p.ppid,
            groups = groups.join(" "),
            nnp = u8::from(sec.no_new_privs),
            filters = u8::from(seccomp == 2),
        )
    }
}

impl ProcSource for SimInner {
    fn pids(&self) -> Vec<u32> {
        match &self.pid_ns {
            Some(ns) => ns.pids(),
            None => self.table().procs.keys().copied().collect(),
        }
    }

    fn proc_file(&self, pid: u32, name: &str) -> Option<Bytes> {
        match &self.pid_ns {
            Some(ns) => ns.proc_file(pid, name),
            None => self.own_proc_file(pid, name),
        }
    }
}

impl SimInner {
    /// `/proc/<pid>/<name>` of one of this container's own processes.
    pub(crate) fn own_proc_file(&self, pid: u32, name: &str) -> Option<Bytes> {
        let table = self.table();
        let p = table.procs.get(&pid)?;
        let text = match name {
            "status" => self.status_file(pid, p).into_bytes(),
            "cmdline" => {
                let mut v = Vec::new();
                for a in &p.argv {
                    v.extend_from_slice(a.as_bytes());
                    v.push(0);
                }
                v
            }
            "environ" => {
                let mut v = Vec::new();
                for a in &p.env {
                    v.extend_from_slice(a.as_bytes());
                    v.push(0);
                }
                v
            }
            "comm" => format!("{}\n", p.comm).into_bytes(),
            "stat" => {
                let start = p.start.duration_since(self.boot).as_millis() / 10;
                format!(
                    "{pid} ({}) S {} {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 {start} 1363968 1 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                    p.comm, p.ppid
                )
                .into_bytes()
            }
            _ => return None,
        };
        Some(Bytes::from(text))
    }
}

/// Adds `bytes` to `used` unless that would pass `limit` (0: unlimited).
fn charge(used: &AtomicU64, bytes: u64, limit: u64) -> bool {
    let before = used.fetch_add(bytes, Ordering::SeqCst);
    if limit > 0 && before.saturating_add(bytes) > limit {
        used.fetch_sub(bytes, Ordering::SeqCst);
        return false;
    }
    true
}

/// Held by both ends of a counted pipe; gives the pipe back to the budget when the
/// last end is gone.
struct PipeLease(Weak<SimInner>);

impl Drop for PipeLease {
    fn drop(&mut self) {
        if let Some(sim) = self.0.upgrade() {
            sim.open_pipes.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

async fn run_process(
    sim: Arc<SimInner>,
    shared: Arc<ProcShared>,
    program: Arc<dyn Program>,
    ctx: ProgramContext,
    guard: TaskGuard,
) {
    let mut fatal = shared.fatal.subscribe();
    let status = {
        let fut = program.run(ctx);
        tokio::select! {
            biased;
            sig = wait_fatal(&mut fatal) => ExitStatus::Signaled(sig),
            status = fut => status,
        }
    };
    sim.exited(shared.pid, status);
    drop(guard);
}
