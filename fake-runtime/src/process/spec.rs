//! What a container's simulation is built from.

use std::sync::Arc;

use bytes::Bytes;

use super::net::Network;
use super::seccomp::SeccompProfile;

/// The default [`SimSpec::writable_layer_limit_bytes`]: 64 MiB.
pub const DEFAULT_WRITABLE_LAYER_LIMIT_BYTES: u64 = 64 << 20;

/// The default [`SimSpec::max_processes`]: 1024.
pub const DEFAULT_MAX_PROCESSES: u32 = 1024;

/// The default [`SimSpec::max_open_pipes`]: 1024.
pub const DEFAULT_MAX_OPEN_PIPES: u32 = 1024;

/// The default [`SimSpec::memory_budget_bytes`]: 64 MiB.
pub const DEFAULT_MEMORY_BUDGET_BYTES: u64 = 64 << 20;

/// Everything a [`ContainerSim`](super::ContainerSim) needs to know about its container:
/// the image's files, the pod's and container's configuration, and the budgets that
/// keep what its processes do from exhausting the machine running the simulation.
#[derive(Debug, Clone)]
pub struct SimSpec {
    /// The container's hostname (`/etc/hostname`, `$HOSTNAME`, `hostname`).
    pub hostname: String,
    /// `KEY=VALUE` pairs, already merged (image env, then config env).
    pub env: Vec<String>,
    /// The working directory of every process; `""` means `/`. Created if missing.
    pub working_dir: String,
    /// Who the processes run as.
    pub user: UserSpec,
    /// The image's files, e.g. [`rootfs::busybox()`](super::rootfs::busybox).
    pub rootfs: Vec<FileSeed>,
    /// The image's files already seeded (from [`rootfs_template`](super::rootfs_template)
    /// of `rootfs`): when set, the filesystem starts from it and `rootfs` is not seeded
    /// again. Containers of one image share it.
    pub rootfs_template: Option<super::vfs::Template>,
    /// DNS settings for `/etc/resolv.conf`; `None` gives a host-like default.
    pub dns: Option<DnsSpec>,
    /// Sysctls: `("net.core.somaxconn", "1024")` appears as
    /// `/proc/sys/net/core/somaxconn` containing `1024\n`.
    pub sysctls: Vec<(String, String)>,
    /// Host directories or files bound into the container.
    pub mounts: Vec<MountSpec>,
    /// Whether the root filesystem refuses writes (`Read-only file system`).
    pub readonly_rootfs: bool,
    /// The container's memory limit in bytes; `0` means unlimited.
    pub memory_limit_bytes: u64,
    /// Security settings, reflected in `/proc/<pid>/status`.
    pub security: SecuritySpec,
    /// The writable layer's size: how many bytes processes may add to the in-memory
    /// filesystem (file contents and symlink targets) beyond the image, with one new
    /// entry (file, directory, link) per 4 KiB of it. Writes past it fail like on a
    /// full disk (`ENOSPC`, `No space left on device`); what fits is written. Host
    /// mounts are not counted. `0` means unlimited; the default is
    /// [`DEFAULT_WRITABLE_LAYER_LIMIT_BYTES`].
    pub writable_layer_limit_bytes: u64,
    /// How many processes may live at once (a `pids.max`). A process starting a child
    /// beyond it gets `EAGAIN` (the shell's `can't fork: Resource temporarily
    /// unavailable`); processes started from outside (the main process, execs, and
    /// [`ProgramContext::spawn_program`](super::ProgramContext::spawn_program)) always
    /// start, and count. `0` means unlimited; the default is [`DEFAULT_MAX_PROCESSES`].
    pub max_processes: u32,
    /// The network namespace the processes listen and connect in (the pod's, or the
    /// node's for host-network pods); `None` gives the container a namespace of its own.
    pub network: Option<Arc<Network>>,
    /// How many pipes the container's processes may hold open at once (a pipe is
    /// open while a process holds either of its ends). A shell creating one more
    /// (for `|` or `$(...)`) gets `EMFILE`: busybox ash's `sh: can't create pipe: Too
    /// many open files`, status 2. What pipes buffer in flight is bounded per pipe, so
    /// this bounds that memory too. The standard streams an exec or the main process
    /// is given are not counted. `0` means unlimited; the default is
    /// [`DEFAULT_MAX_OPEN_PIPES`].
    pub max_open_pipes: u32,
    /// How much memory the container's processes may really hold in the process
    /// running the simulation: what buffering applets keep (`sort`'s input, `tail`'s
    /// last lines, a long line, `xargs`'s arguments). Past it, or past
    /// [`memory_limit_bytes`](Self::memory_limit_bytes) when that is lower, the
    /// process is OOM-killed (SIGKILL, exit code 137). Memory that is only accounted
    /// (`dd`'s block buffer) counts against `memory_limit_bytes` alone. `0` means
    /// unlimited; the default is [`DEFAULT_MEMORY_BUDGET_BYTES`].
    pub memory_budget_bytes: u64,
    /// Whether the container shares the node's IPC namespace (CRI `ipc: NODE`): then
    /// `ipcs` lists the real host's System V IPC objects (read-only). Otherwise the
    /// container has the pod's own IPC namespace, which holds none.
    pub host_ipc: bool,
    /// The PID namespace shared with other containers (the pod's, or the node's);
    /// `None` gives the container one of its own, where its main process is pid 1.
    /// See [`pidns`](super::pidns).
    pub pid_namespace: Option<Arc<super::pidns::PidNamespace>>,
}

impl Default for SimSpec {
    /// Nothing but the default budgets: no files, no environment, root, `/` as the
    /// working directory.
    fn default() -> Self {
        SimSpec {
            hostname: String::new(),
            env: Vec::new(),
            working_dir: String::new(),
            user: UserSpec::default(),
            rootfs: Vec::new(),
            rootfs_template: None,
            dns: None,
            sysctls: Vec::new(),
            mounts: Vec::new(),
            readonly_rootfs: false,
            memory_limit_bytes: 0,
            security: SecuritySpec::default(),
            writable_layer_limit_bytes: DEFAULT_WRITABLE_LAYER_LIMIT_BYTES,
            max_processes: DEFAULT_MAX_PROCESSES,
            network: None,
            max_open_pipes: DEFAULT_MAX_OPEN_PIPES,
            memory_budget_bytes: DEFAULT_MEMORY_BUDGET_BYTES,
            host_ipc: false,
            pid_namespace: None,
        }
    }
}

/// Who a container's processes run as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSpec {
    /// The numeric user id (CRI `run_as_user`). Wins over `username`.
    pub uid: Option<i64>,
    /// A user name looked up in the container's `/etc/passwd` (CRI `run_as_username`).
    /// An image `User` such as `"1000"`, `"1000:1000"` or `"nobody:nogroup"` is accepted
    /// too.
    pub username: Option<String>,
    /// The primary group id (CRI `run_as_group`); defaults to the passwd entry's group,
    /// or 0 for a user absent from `/etc/passwd`.
    pub gid: Option<i64>,
    /// Extra group ids (CRI `supplemental_groups`).
    pub supplemental_groups: Vec<i64>,
}

/// DNS settings written to `/etc/resolv.conf`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsSpec {
    /// `nameserver` lines.
    pub servers: Vec<String>,
    /// The `search` line.
    pub searches: Vec<String>,
    /// The `options` line.
    pub options: Vec<String>,
}

/// A host directory or file bound into the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountSpec {
    /// Where the container sees it (absolute).
    pub container_path: String,
    /// The real host directory or file; reads and writes go there.
    pub host_path: std::path::PathBuf,
    /// Whether writes are refused (`Read-only file system`).
    pub readonly: bool,
}

/// Security settings of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecuritySpec {
    /// Privileged containers get every capability.
    pub privileged: bool,
    /// `NoNewPrivs:` in `/proc/<pid>/status`.
    pub no_new_privs: bool,
    /// Capabilities added to runc's default set (`"NET_ADMIN"`, `"CAP_SYS_TIME"`, `"ALL"`).
    pub add_capabilities: Vec<String>,
    /// Capabilities removed from the set (`"ALL"` removes every one).
    pub drop_capabilities: Vec<String>,
    /// Whether a seccomp filter is in force (`Seccomp: 2`).
    pub seccomp_enforced: bool,
    /// The seccomp profile the processes' system calls are checked against (a
    /// `Localhost` profile); `None` allows every call. Ignored for privileged
    /// containers, as containerd sets no filter for them.
    pub seccomp: Option<Arc<SeccompProfile>>,
    /// Paths masked as runc masks them: a file reads as empty (`/dev/null` is bound over
    /// it, so it cannot be executed: `Permission denied`), a directory as empty and
    /// read-only; paths that do not exist are skipped.
    pub masked_paths: Vec<String>,
    /// Paths (and everything under them) that refuse writes (`Read-only file system`).
    pub readonly_paths: Vec<String>,
}

/// One entry of an image's root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSeed {
    /// A directory (parents are created as needed).
    Dir {
        /// Absolute path.
        path: String,
        /// Permission bits, e.g. `0o755` or `0o1777`.
        mode: u32,
    },
    /// A regular file.
    File {
        /// Absolute path.
        path: String,
        /// Its contents.
        contents: Bytes,
        /// Permission bits, e.g. `0o644`.
        mode: u32,
    },
    /// A symbolic link.
    Symlink {
        /// Absolute path of the link.
        path: String,
        /// What it points to (relative targets resolve from the link's directory).
        target: String,
    },
    /// An executable backed by a registered [`Program`](super::Program).
    Program {
        /// Absolute path.
        path: String,
        /// The name the program is registered under in [`Programs`](super::Programs).
        name: String,
        /// Permission bits, e.g. `0o755`.
        mode: u32,
    },
}

impl FileSeed {
    /// The absolute path this entry creates.
    pub fn path(&self) -> &str {
        match self {
            FileSeed::Dir { path, .. }
            | FileSeed::File { path, .. }
            | FileSeed::Symlink { path, .. }
            | FileSeed::Program { path, .. } => path,
        }
    }
}
