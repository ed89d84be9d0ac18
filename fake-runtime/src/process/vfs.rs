//! A container's filesystem: an in-memory tree seeded from the image, with the pod's
//! generated files, `/proc` (sysctls and per-process files), devices, and host
//! directories or files bound in by mounts.
//!
//! Every operation takes an [`Access`] (who asks, for permission checks and
//! `/proc/self`) and an absolute path. The lock is a `std::sync::Mutex`, never held
//! across an `.await`: readers and writers copy at most one chunk per lock.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::SystemTime;

use bytes::Bytes;

use super::pipe::{BrokenPipe, ByteSink, ByteSource};
use super::spec::FileSeed;

/// The size of the chunks readers hand out.
pub const CHUNK: usize = 64 * 1024;

/// 64 KiB of zero bytes, shared by every reader of `/dev/zero`.
pub(crate) fn zero_chunk() -> Bytes {
    static ZEROS: [u8; CHUNK] = [0; CHUNK];
    Bytes::from_static(&ZEROS)
}

/// The header of a simulated executable's "binary" contents.
const ELF_MAGIC: &[u8] = b"\x7fELF\x02\x01\x01\x00";

type Ino = u64;
const ROOT: Ino = 1;

/// A filesystem error, displayed as `strerror` words it (glibc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsError {
    /// `ENOENT`.
    NotFound,
    /// `ENOTDIR`.
    NotDir,
    /// `EISDIR`.
    IsDir,
    /// `EEXIST`.
    Exists,
    /// `EACCES`.
    PermissionDenied,
    /// `EPERM`.
    NotPermitted,
    /// `EROFS`.
    ReadOnly,
    /// `ENOTEMPTY`.
    NotEmpty,
    /// `ELOOP`.
    Loop,
    /// `EINVAL`.
    Invalid,
    /// `EBUSY`.
    Busy,
    /// `ENOSPC`: the container's writable layer is full (see
    /// [`SimSpec::writable_layer_limit_bytes`](super::SimSpec::writable_layer_limit_bytes)).
    NoSpace,
    /// `ENAMETOOLONG`: a path of 4096 bytes or more, or a name of more than 255.
    NameTooLong,
    /// Any other host error, with its text.
    Io(String),
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FsError::NotFound => "No such file or directory",
            FsError::NotDir => "Not a directory",
            FsError::IsDir => "Is a directory",
            FsError::Exists => "File exists",
            FsError::PermissionDenied => "Permission denied",
            FsError::NotPermitted => "Operation not permitted",
            FsError::ReadOnly => "Read-only file system",
            FsError::NotEmpty => "Directory not empty",
            FsError::Loop => "Too many levels of symbolic links",
            FsError::Invalid => "Invalid argument",
            FsError::Busy => "Device or resource busy",
            FsError::NoSpace => "No space left on device",
            FsError::NameTooLong => "File name too long",
            FsError::Io(text) => text,
        })
    }
}

impl std::error::Error for FsError {}

impl From<std::io::Error> for FsError {
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(2) => FsError::NotFound,
            Some(20) => FsError::NotDir,
            Some(21) => FsError::IsDir,
            Some(17) => FsError::Exists,
            Some(13) => FsError::PermissionDenied,
            Some(1) => FsError::NotPermitted,
            Some(30) => FsError::ReadOnly,
            Some(39) => FsError::NotEmpty,
            Some(40) => FsError::Loop,
            Some(22) => FsError::Invalid,
            Some(16) => FsError::Busy,
            Some(28) => FsError::NoSpace,
            Some(36) => FsError::NameTooLong,
            _ => match e.kind() {
                std::io::ErrorKind::NotFound => FsError::NotFound,
                std::io::ErrorKind::PermissionDenied => FsError::PermissionDenied,
                std::io::ErrorKind::AlreadyExists => FsError::Exists,
                _ => FsError::Io(e.to_string()),
            },
        }
    }
}

/// Who performs an operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cred {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary group ids.
    pub groups: Vec<u32>,
}

impl Cred {
    /// Root.
    pub fn root() -> Self {
        Self::default()
    }

    fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// Who asks: credentials, and the pid that `/proc/self` means.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// The asking process's credentials.
    pub cred: &'a Cred,
    /// The asking process's pid.
    pub pid: u32,
}

/// What kind of file a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link (only from `lstat`).
    Symlink,
    /// A character device (`/dev/null`, ...).
    CharDevice,
}

/// File metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The kind of file.
    pub kind: FileKind,
    /// Permission bits (including setuid/setgid/sticky).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Link count.
    pub nlink: u64,
    /// Modification time.
    pub mtime: SystemTime,
    /// Whether this is a simulated executable (a registered program).
    pub program: Option<String>,
}

impl Stat {
    /// `ls -l`'s mode column, e.g. `drwxr-xr-x`.
    pub fn mode_string(&self) -> String {
        let mut s = String::with_capacity(10);
        s.push(match self.kind {
            FileKind::Dir => 'd',
            FileKind::File => '-',
            FileKind::Symlink => 'l',
            FileKind::CharDevice => 'c',
        });
        let m = self.mode;
        let triple = |r: u32, w: u32, x: u32, special: u32, lower: char, upper: char| {
            let mut t = String::with_capacity(3);
            t.push(if m & r != 0 { 'r' } else { '-' });
            t.push(if m & w != 0 { 'w' } else { '-' });
            t.push(match (m & x != 0, m & special != 0) {
                (true, true) => lower,
                (false, true) => upper,
                (true, false) => 'x',
                (false, false) => '-',
            });
            t
        };
        s += &triple(0o400, 0o200, 0o100, 0o4000, 's', 'S');
        s += &triple(0o040, 0o020, 0o010, 0o2000, 's', 'S');
        s += &triple(0o004, 0o002, 0o001, 0o1000, 't', 'T');
        s
    }
}

/// A simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Device {
    Null,
    Zero,
    Urandom,
    Full,
}

#[derive(Debug)]
enum Kind {
    Dir(BTreeMap<String, Ino>),
    File(Vec<u8>),
    Symlink(String),
    Program(String),
    Device(Device),
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: SystemTime,
}

#[derive(Debug)]
struct State {
    nodes: HashMap<Ino, Node>,
    next_ino: Ino,
    /// Bytes the tree holds: file contents and symlink targets.
    used: u64,
    /// What `used` and the number of nodes were when the budget was set (the image's
    /// files), and the budget on top of them (0: unlimited).
    base: u64,
    base_nodes: usize,
    limit: u64,
}

/// The writable layer has one inode for each this many bytes of its budget (ext4's
/// default ratio is one per 16 KiB): entries beyond fail with `ENOSPC` even when
/// their contents would fit, so empty files and directories stay bounded too.
pub(crate) const BYTES_PER_INODE: u64 = 4096;

/// The longest path (`PATH_MAX` counts the terminating NUL) and name.
const PATH_MAX: usize = 4096;
const NAME_MAX: usize = 255;

fn content_size(kind: &Kind) -> u64 {
    match kind {
        Kind::File(data) => data.len() as u64,
        Kind::Symlink(target) => target.len() as u64,
        _ => 0,
    }
}

impl State {
    fn node(&self, ino: Ino) -> Result<&Node, FsError> {
        self.nodes.get(&ino).ok_or(FsError::NotFound)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Node, FsError> {
        self.nodes.get_mut(&ino).ok_or(FsError::NotFound)
    }

    /// Bytes that may still be added before the budget is exhausted.
    fn room(&self) -> u64 {
        if self.limit == 0 {
            return u64::MAX;
        }
        (self.base.saturating_add(self.limit)).saturating_sub(self.used)
    }

    /// Fails with `ENOSPC` unless a new entry holding `bytes` fits in the budget (a
    /// free inode, and room for its contents). Like on a real disk whose blocks are
    /// all used, an empty file can still be created.
    fn ensure_room(&self, bytes: u64) -> Result<(), FsError> {
        if self.limit == 0 {
            return Ok(());
        }
        let inodes = (self.limit / BYTES_PER_INODE).max(1);
        let added = self.nodes.len().saturating_sub(self.base_nodes) as u64;
        if added >= inodes || bytes > self.room() {
            return Err(FsError::NoSpace);
        }
        Ok(())
    }

    /// Adds a node (charged against the budget without a check: callers creating on a
    /// process's behalf check [`State::ensure_room`] first).
    fn add(&mut self, kind: Kind, mode: u32, uid: u32, gid: u32) -> Ino {
        self.used += content_size(&kind);
        let ino = self.next_ino;
        self.next_ino += 1;
        self.nodes.insert(
            ino,
            Node {
                kind,
                mode,
                uid,
                gid,
                mtime: SystemTime::now(),
            },
        );
        ino
    }

    fn entries(&self, ino: Ino) -> Result<&BTreeMap<String, Ino>, FsError> {
        match &self.node(ino)?.kind {
            Kind::Dir(entries) => Ok(entries),
            _ => Err(FsError::NotDir),
        }
    }

    fn entries_mut(&mut self, ino: Ino) -> Result<&mut BTreeMap<String, Ino>, FsError> {
        match &mut self.node_mut(ino)?.kind {
            Kind::Dir(entries) => Ok(entries),
            _ => Err(FsError::NotDir),
        }
    }

    /// Removes a node and, for a directory, everything under it (iteratively: a
    /// directory tree may be deep).
    fn free(&mut self, ino: Ino) {
        let mut pending = vec![ino];
        while let Some(ino) = pending.pop() {
            if let Some(node) = self.nodes.remove(&ino) {
                self.used = self.used.saturating_sub(content_size(&node.kind));
                if let Kind::Dir(entries) = node.kind {
                    pending.extend(entries.into_values());
                }
            }
        }
    }
}

/// The process-related part of `/proc`, provided by the container's process table.
pub(crate) trait ProcSource: Send + Sync {
    /// Live pids.
    fn pids(&self) -> Vec<u32>;
    /// The contents of `/proc/<pid>/<name>` (`status`, `cmdline`, `comm`, `environ`,
    /// `stat`), if `pid` lives and `name` exists.
    fn proc_file(&self, pid: u32, name: &str) -> Option<Bytes>;
}

/// The names of the files in every `/proc/<pid>` directory.
pub(crate) const PROC_PID_FILES: &[&str] = &["cmdline", "comm", "environ", "stat", "status"];

#[derive(Debug, Clone)]
struct Mount {
    path: Vec<String>,
    host: PathBuf,
    readonly: bool,
}

/// Where a path leads.
#[derive(Debug, Clone)]
enum Loc {
    /// An in-memory node; `path` is its canonical path (components).
    Node { ino: Ino, path: Vec<String> },
    /// A path on the host, through a mount.
    Host { path: PathBuf, readonly: bool },
    /// `/proc/<pid>`.
    ProcPid(u32),
    /// `/proc/<pid>/<name>`.
    ProcFile(u32, String),
}

/// The in-memory filesystem of one container.
pub struct Vfs {
    state: Mutex<State>,
    readonly_root: bool,
    mounts: Vec<Mount>,
    proc_source: OnceLock<Weak<dyn ProcSource>>,
}

impl std::fmt::Debug for Vfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vfs")
            .field("readonly_root", &self.readonly_root)
            .field("mounts", &self.mounts)
            .finish_non_exhaustive()
    }
}

/// `ENAMETOOLONG` for a path of `PATH_MAX` bytes or more, or with a longer name
/// than `NAME_MAX`. (This also bounds how deep directories nest: the recursion of
/// `rm -r` or `cp -r` stays bounded.)
fn check_length(path: &str) -> Result<(), FsError> {
    if path.len() >= PATH_MAX || path.split('/').any(|c| c.len() > NAME_MAX) {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// Splits an absolute path into its components, dropping empty ones and `.`.
fn components(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_owned)
        .collect()
}

/// Joins `path` onto `cwd` (when relative) and removes `.`, `..` and repeated slashes,
/// without looking at the filesystem.
pub fn normalize(cwd: &str, path: &str) -> String {
    if path.starts_with('/') {
        clean(path)
    } else {
        clean(&format!("/{cwd}/{path}"))
    }
}

/// Go's `filepath.Clean` on a unix path: repeated slashes, `.` and inner `..` removed
/// lexically, `..` at the root dropped, a relative path's leading `..` kept, `""` is `.`.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn join(path: &[String]) -> String {
    format!("/{}", path.join("/"))
}

fn allowed(node: &Node, cred: &Cred, want: u32) -> bool {
    if cred.uid == 0 {
        // Root passes every check, except that executing needs some x bit.
        return want & 1 == 0 || matches!(node.kind, Kind::Dir(_)) || node.mode & 0o111 != 0;
    }
    let bits = if node.uid == cred.uid {
        (node.mode >> 6) & 7
    } else if cred.in_group(node.gid) {
        (node.mode >> 3) & 7
    } else {
        node.mode & 7
    };
    bits & want == want
}

fn host_stat(meta: &std::fs::Metadata) -> Stat {
    use std::os::unix::fs::MetadataExt;
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_symlink() {
        FileKind::Symlink
    } else if ft.is_file() {
        FileKind::File
    } else {
        FileKind::CharDevice
    };
    Stat {
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        size: meta.len(),
        nlink: meta.nlink(),
        mtime: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        program: None,
    }
}

/// How a file is opened for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteMode {
    /// Create the file when missing.
    pub create: bool,
    /// Truncate it to zero length.
    pub truncate: bool,
    /// Write at the end, always.
    pub append: bool,
    /// Fail with `Exists` if it exists (`O_EXCL`, `set -C`).
    pub exclusive: bool,
}

impl WriteMode {
    /// `>`: create or truncate.
    pub const TRUNCATE: WriteMode = WriteMode {
        create: true,
        truncate: true,
        append: false,
        exclusive: false,
    };
    /// `>>`: create or append.
    pub const APPEND: WriteMode = WriteMode {
        create: true,
        truncate: false,
        append: true,
        exclusive: false,
    };
    /// `<>` / `touch`: create if missing, keep contents.
    pub const KEEP: WriteMode = WriteMode {
        create: true,
        truncate: false,
        append: false,
        exclusive: false,
    };
}

impl Vfs {
    /// An empty filesystem holding just `/`.
    pub(crate) fn new(readonly_root: bool) -> Self {
        let mut state = State {
            nodes: HashMap::new(),
            next_ino: ROOT,
            used: 0,
            base: 0,
            base_nodes: 0,
            limit: 0,
        };
        let root = state.add(Kind::Dir(BTreeMap::new()), 0o755, 0, 0);
        debug_assert_eq!(root, ROOT);
        Self {
            state: Mutex::new(state),
            readonly_root,
            mounts: Vec::new(),
            proc_source: OnceLock::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Limits what processes may add to `limit` bytes (0: unlimited) beyond what the
    /// tree holds now (the image and generated files): the writable layer's size.
    /// Writes beyond fail with `ENOSPC` (`No space left on device`).
    pub(crate) fn set_writable_limit(&self, limit: u64) {
        let mut st = self.lock();
        st.base = st.used;
        st.base_nodes = st.nodes.len();
        st.limit = limit;
    }

    /// Bytes added to the tree since the budget was set (see
    /// `Vfs::set_writable_limit`), as the budget counts them.
    pub fn writable_layer_used(&self) -> u64 {
        let st = self.lock();
        st.used.saturating_sub(st.base)
    }

    pub(crate) fn set_proc_source(&self, source: Weak<dyn ProcSource>) {
        let _ = self.proc_source.set(source);
    }

    fn procs(&self) -> Option<Arc<dyn ProcSource>> {
        self.proc_source.get().and_then(Weak::upgrade)
    }

    /// Adds a mount: `container_path` leads to `host` from now on. The mount point is
    /// created in the tree (as a directory, or an empty file for a file mount).
    pub(crate) fn add_mount(&mut self, container_path: &str, host: PathBuf, readonly: bool) {
        let path = components(&normalize("/", container_path));
        if path.is_empty() {
            return;
        }
        let is_dir = std::fs::metadata(&host).map(|m| m.is_dir()).unwrap_or(true);
        let abs = join(&path);
        if is_dir {
            let _ = self.seed_dir(&abs, 0o755);
        } else {
            if let Some(parent) = path.split_last().map(|(_, p)| join(p)) {
                let _ = self.seed_dir(&parent, 0o755);
            }
            let _ = self.seed_file(&abs, Vec::new(), 0o644);
        }
        self.mounts.retain(|m| m.path != path);
        self.mounts.push(Mount {
            path,
            host,
            readonly,
        });
        // Longest mount path first, so nested mounts win.
        self.mounts.sort_by_key(|m| std::cmp::Reverse(m.path.len()));
    }

    fn mount_at(&self, path: &[String]) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.path == path)
    }

    fn is_readonly(&self, path: &[String]) -> bool {
        match path.first().map(String::as_str) {
            Some("proc") | Some("sys") => true,
            Some("dev") => false,
            _ => self.readonly_root,
        }
    }

    // ----- seeding (no permission checks) -----

    /// Creates a directory and its parents, owned by root. Existing directories keep
    /// their mode.
    pub(crate) fn seed_dir(&self, path: &str, mode: u32) -> Result<(), FsError> {
        let mut st = self.lock();
        let comps = components(path);
        let mut cur = ROOT;
        let n = comps.len();
        for (i, c) in comps.into_iter().enumerate() {
            let existing = st.entries(cur)?.get(&c).copied();
            cur = match existing {
                Some(ino) => {
                    if i + 1 == n
                        && let Ok(node) = st.node_mut(ino)
                        && matches!(node.kind, Kind::Dir(_))
                    {
                        node.mode = mode;
                    }
                    ino
                }
                None => {
                    let m = if i + 1 == n { mode } else { 0o755 };
                    let ino = st.add(Kind::Dir(BTreeMap::new()), m, 0, 0);
                    st.entries_mut(cur)?.insert(c, ino);
                    ino
                }
            };
            if !matches!(st.node(cur)?.kind, Kind::Dir(_)) {
                return Err(FsError::NotDir);
            }
        }
        Ok(())
    }

    fn seed_node(&self, path: &str, kind: Kind, mode: u32) -> Result<(), FsError> {
        let comps = components(path);
        let Some((name, parent)) = comps.split_last() else {
            return Err(FsError::Exists);
        };
        self.seed_dir(&join(parent), 0o755)?;
        let mut st = self.lock();
        let mut cur = ROOT;
        for c in parent {
            cur = *st.entries(cur)?.get(c).ok_or(FsError::NotFound)?;
        }
        let ino = st.add(kind, mode, 0, 0);
        if let Some(old) = st.entries_mut(cur)?.insert(name.clone(), ino) {
            st.free(old);
        }
        Ok(())
    }

    /// Creates (or replaces) a regular file owned by root, with its parents.
    pub(crate) fn seed_file(
        &self,
        path: &str,
        contents: Vec<u8>,
        mode: u32,
    ) -> Result<(), FsError> {
        self.seed_node(path, Kind::File(contents), mode)
    }

    /// Applies one image entry.
    pub(crate) fn seed(&self, seed: &FileSeed) -> Result<(), FsError> {
        match seed {
            FileSeed::Dir { path, mode } => self.seed_dir(path, *mode),
            FileSeed::File {
                path,
                contents,
                mode,
            } => self.seed_file(path, contents.to_vec(), *mode),
            FileSeed::Symlink { path, target } => {
                self.seed_node(path, Kind::Symlink(target.clone()), 0o777)
            }
            FileSeed::Program { path, name, mode } => {
                self.seed_node(path, Kind::Program(name.clone()), *mode)
            }
        }
    }

    /// Creates the standard device files under `/dev`.
    pub(crate) fn seed_devices(&self) -> Result<(), FsError> {
        for (name, dev) in [
            ("null", Device::Null),
            ("zero", Device::Zero),
            ("urandom", Device::Urandom),
            ("random", Device::Urandom),
            ("full", Device::Full),
        ] {
            self.seed_node(&format!("/dev/{name}"), Kind::Device(dev), 0o666)?;
        }
        for (name, target) in [
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
            ("fd", "/proc/self/fd"),
        ] {
            self.seed_node(
                &format!("/dev/{name}"),
                Kind::Symlink(target.to_owned()),
                0o777,
            )?;
        }
        self.seed_dir("/dev/shm", 0o1777)?;
        self.seed_dir("/dev/pts", 0o755)?;
        Ok(())
    }

    // ----- resolution -----

    /// Resolves `path` (absolute). `follow_last`: whether a final symlink is followed.
    fn resolve(
        &self,
        st: &State,
        path: &str,
        follow_last: bool,
        access: Access<'_>,
    ) -> Result<Loc, FsError> {
        check_length(path)?;
        let mut remaining: std::collections::VecDeque<String> = components(path).into();
        let mut stack: Vec<(String, Ino)> = Vec::new();
        let mut links = 0;
        let proc_ino = st.entries(ROOT).ok().and_then(|e| e.get("proc").copied());
        loop {
            let cur_ino = stack.last().map(|(_, i)| *i).unwrap_or(ROOT);
            let names = || -> Vec<String> { stack.iter().map(|(n, _)| n.clone()).collect() };
            if let Some(mount) = (!self.mounts.is_empty())
                .then(names)
                .and_then(|names| self.mount_at(&names))
            {
                let mut host = mount.host.clone();
                for c in &remaining {
                    if c == ".." {
                        host.pop();
                    } else {
                        host.push(c);
                    }
                }
                return Ok(Loc::Host {
                    path: host,
                    readonly: mount.readonly,
                });
            }
            let Some(comp) = remaining.pop_front() else {
                return Ok(Loc::Node {
                    ino: cur_ino,
                    path: names(),
                });
            };
            if comp == ".." {
                stack.pop();
                continue;
            }
            let dir = st.node(cur_ino)?;
            let Kind::Dir(entries) = &dir.kind else {
                return Err(FsError::NotDir);
            };
            if !allowed(dir, access.cred, 1) {
                return Err(FsError::PermissionDenied);
            }
            if Some(cur_ino) == proc_ino && !entries.contains_key(&comp) {
                return self.resolve_proc(&comp, remaining, follow_last, access);
            }
            let child = *entries.get(&comp).ok_or(FsError::NotFound)?;
            let node = st.node(child)?;
            if let Kind::Symlink(target) = &node.kind
                && (!remaining.is_empty() || follow_last)
            {
                links += 1;
                if links > 40 {
                    return Err(FsError::Loop);
                }
                if target.starts_with('/') {
                    stack.clear();
                }
                for c in components(target).into_iter().rev() {
                    remaining.push_front(c);
                }
                continue;
            }
            stack.push((comp, child));
        }
    }

    fn resolve_proc(
        &self,
        comp: &str,
        mut remaining: std::collections::VecDeque<String>,
        follow_last: bool,
        access: Access<'_>,
    ) -> Result<Loc, FsError> {
        let procs = self.procs().ok_or(FsError::NotFound)?;
        let pid = if comp == "self" {
            if remaining.is_empty() && !follow_last {
                // lstat("/proc/self") is a symlink: report the directory anyway.
            }
            access.pid
        } else {
            comp.parse::<u32>().map_err(|_| FsError::NotFound)?
        };
        if !procs.pids().contains(&pid) {
            return Err(FsError::NotFound);
        }
        match remaining.pop_front() {
            None => Ok(Loc::ProcPid(pid)),
            Some(name) => {
                if !remaining.is_empty() {
                    return Err(if PROC_PID_FILES.contains(&name.as_str()) {
                        FsError::NotDir
                    } else {
                        FsError::NotFound
                    });
                }
                if PROC_PID_FILES.contains(&name.as_str()) {
                    Ok(Loc::ProcFile(pid, name))
                } else {
                    Err(FsError::NotFound)
                }
            }
        }
    }

    /// Resolves the parent directory of `path` and returns it with the last name.
    fn resolve_parent(
        &self,
        st: &State,
        path: &str,
        access: Access<'_>,
    ) -> Result<(Loc, String), FsError> {
        check_length(path)?;
        let comps = components(&normalize("/", path));
        let Some((name, parent)) = comps.split_last() else {
            return Err(FsError::Busy);
        };
        let loc = self.resolve(st, &join(parent), true, access)?;
        Ok((loc, name.clone()))
    }

    fn stat_node(node: &Node) -> Stat {
        let (kind, size, program) = match &node.kind {
            Kind::Dir(entries) => (FileKind::Dir, 4096.max(entries.len() as u64 * 32), None),
            Kind::File(data) => (FileKind::File, data.len() as u64, None),
            Kind::Symlink(target) => (FileKind::Symlink, target.len() as u64, None),
            Kind::Program(name) => (
                FileKind::File,
                (ELF_MAGIC.len() + name.len()) as u64,
                Some(name.clone()),
            ),
            Kind::Device(_) => (FileKind::CharDevice, 0, None),
        };
        let nlink = match &node.kind {
            Kind::Dir(_) => 2,
            _ => 1,
        };
        Stat {
            kind,
            mode: node.mode,
            uid: node.uid,
            gid: node.gid,
            size,
            nlink,
            mtime: node.mtime,
            program,
        }
    }

    fn proc_stat(kind: FileKind, mode: u32, size: u64) -> Stat {
        Stat {
            kind,
            mode,
            uid: 0,
            gid: 0,
            size,
            nlink: if kind == FileKind::Dir { 9 } else { 1 },
            mtime: SystemTime::now(),
            program: None,
        }
    }

    /// Metadata of `path`; `follow`: whether a final symlink is followed (`stat` vs
    /// `lstat`).
    pub fn stat(&self, path: &str, follow: bool, access: Access<'_>) -> Result<Stat, FsError> {
        let st = self.lock();
        match self.resolve(&st, path, follow, access)? {
            Loc::Node { ino, .. } => Ok(Self::stat_node(st.node(ino)?)),
            Loc::Host { path, .. } => {
                let meta = if follow {
                    std::fs::metadata(&path)
                } else {
                    std::fs::symlink_metadata(&path)
                };
                Ok(host_stat(&meta?))
            }
            Loc::ProcPid(_) => Ok(Self::proc_stat(FileKind::Dir, 0o555, 0)),
            Loc::ProcFile(..) => Ok(Self::proc_stat(FileKind::File, 0o444, 0)),
        }
    }

    /// Whether `path` exists (following symlinks).
    pub fn exists(&self, path: &str, access: Access<'_>) -> bool {
        self.stat(path, true, access).is_ok()
    }

    /// Whether `access` may read (4), write (2) or execute (1) `path`, as `test -r/-w/-x`
    /// (and `access(2)`) decide.
    pub fn access_ok(&self, path: &str, want: u32, access: Access<'_>) -> bool {
        let st = self.lock();
        match self.resolve(&st, path, true, access) {
            Ok(Loc::Node { ino, path }) => match st.node(ino) {
                Ok(node) => {
                    if want & 2 != 0
                        && self.is_readonly(&path)
                        && !matches!(node.kind, Kind::Device(_))
                    {
                        return false;
                    }
                    allowed(node, access.cred, want)
                }
                Err(_) => false,
            },
            Ok(Loc::Host { path, readonly }) => match std::fs::metadata(&path) {
                Ok(meta) => {
                    use std::os::unix::fs::PermissionsExt;
                    if want & 2 != 0 && readonly {
                        return false;
                    }
                    want & 1 == 0 || meta.is_dir() || meta.permissions().mode() & 0o111 != 0
                }
                Err(_) => false,
            },
            Ok(Loc::ProcPid(_)) => want & 2 == 0,
            Ok(Loc::ProcFile(..)) => want == 4,
            Err(_) => false,
        }
    }

    /// What an exec of `path` finds: `Ok(Some(name))` for a registered program,
    /// `Ok(None)` for a regular file (a script), or an error (`NotFound`,
    /// `PermissionDenied` for directories and files without an x bit).
    pub(crate) fn executable(
        &self,
        path: &str,
        access: Access<'_>,
    ) -> Result<Option<String>, FsError> {
        let st = self.lock();
        match self.resolve(&st, path, true, access)? {
            Loc::Node { ino, .. } => {
                let node = st.node(ino)?;
                match &node.kind {
                    Kind::Dir(_) | Kind::Device(_) => Err(FsError::PermissionDenied),
                    _ if !allowed(node, access.cred, 1) => Err(FsError::PermissionDenied),
                    Kind::Program(name) => Ok(Some(name.clone())),
                    _ => Ok(None),
                }
            }
            Loc::Host { path, .. } => {
                use std::os::unix::fs::PermissionsExt;
                let meta = std::fs::metadata(&path)?;
                if meta.is_dir() || meta.permissions().mode() & 0o111 == 0 {
                    Err(FsError::PermissionDenied)
                } else {
                    Ok(None)
                }
            }
            Loc::ProcPid(_) | Loc::ProcFile(..) => Err(FsError::PermissionDenied),
        }
    }

    /// Opens `path` for reading.
    pub fn open_read(
        self: &Arc<Self>,
        path: &str,
        access: Access<'_>,
    ) -> Result<FileReader, FsError> {
        let st = self.lock();
        let loc = self.resolve(&st, path, true, access)?;
        let source = match loc {
            Loc::Node { ino, .. } => {
                let node = st.node(ino)?;
                if !allowed(node, access.cred, 4) {
                    return Err(FsError::PermissionDenied);
                }
                match &node.kind {
                    Kind::Dir(_) => return Err(FsError::IsDir),
                    Kind::File(_) => ReaderSource::Mem {
                        vfs: Arc::clone(self),
                        ino,
                        offset: 0,
                    },
                    Kind::Symlink(_) => return Err(FsError::Loop),
                    Kind::Program(name) => {
                        let mut data = ELF_MAGIC.to_vec();
                        data.extend_from_slice(name.as_bytes());
                        ReaderSource::Bytes(Bytes::from(data))
                    }
                    Kind::Device(Device::Null) | Kind::Device(Device::Full) => ReaderSource::Null,
                    Kind::Device(Device::Zero) => ReaderSource::Zero,
                    Kind::Device(Device::Urandom) => ReaderSource::Urandom,
                }
            }
            Loc::Host { path, .. } => {
                drop(st);
                if std::fs::metadata(&path)?.is_dir() {
                    return Err(FsError::IsDir);
                }
                ReaderSource::Host(std::fs::File::open(&path)?)
            }
            Loc::ProcPid(_) => return Err(FsError::IsDir),
            Loc::ProcFile(pid, name) => {
                drop(st);
                let data = self
                    .procs()
                    .and_then(|p| p.proc_file(pid, &name))
                    .ok_or(FsError::NotFound)?;
                ReaderSource::Bytes(data)
            }
        };
        Ok(FileReader { source })
    }

    /// Reads a whole file (for small files: `/etc/passwd`, scripts).
    pub fn read_to_end(
        self: &Arc<Self>,
        path: &str,
        access: Access<'_>,
    ) -> Result<Vec<u8>, FsError> {
        let mut reader = self.open_read(path, access)?;
        let mut out = Vec::new();
        while let Some(chunk) = reader.read_chunk()? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Opens `path` for writing, creating it (mode `0666 & ~022`, owned by the caller)
    /// if `mode.create` and it is missing.
    pub fn open_write(
        self: &Arc<Self>,
        path: &str,
        mode: WriteMode,
        access: Access<'_>,
    ) -> Result<Arc<dyn ByteSink>, FsError> {
        let mut st = self.lock();
        let loc = match self.resolve(&st, path, true, access) {
            Ok(loc) => {
                if mode.exclusive {
                    return Err(FsError::Exists);
                }
                loc
            }
            Err(FsError::NotFound) if mode.create => {
                let (parent, name) = self.resolve_parent(&st, path, access)?;
                match parent {
                    Loc::Node {
                        ino: dir,
                        path: dir_path,
                    } => {
                        let dnode = st.node(dir)?;
                        if !matches!(dnode.kind, Kind::Dir(_)) {
                            return Err(FsError::NotDir);
                        }
                        if let Some(Kind::Symlink(_)) = st
                            .entries(dir)?
                            .get(&name)
                            .and_then(|i| st.nodes.get(i))
                            .map(|n| &n.kind)
                        {
                            // A dangling symlink: creating through it is not supported.
                            return Err(FsError::NotFound);
                        }
                        if self.is_readonly(&dir_path) {
                            return Err(FsError::ReadOnly);
                        }
                        if !allowed(dnode, access.cred, 3) {
                            return Err(FsError::PermissionDenied);
                        }
                        st.ensure_room(0)?;
                        let gid = access.cred.gid;
                        let ino = st.add(Kind::File(Vec::new()), 0o644, access.cred.uid, gid);
                        st.entries_mut(dir)?.insert(name.clone(), ino);
                        let mut p = dir_path;
                        p.push(name);
                        Loc::Node { ino, path: p }
                    }
                    Loc::Host { mut path, readonly } => {
                        path.push(&name);
                        Loc::Host { path, readonly }
                    }
                    Loc::ProcPid(_) | Loc::ProcFile(..) => return Err(FsError::ReadOnly),
                }
            }
            Err(e) => return Err(e),
        };
        match loc {
            Loc::Node { ino, path } => {
                let readonly = self.is_readonly(&path);
                let node = st.node_mut(ino)?;
                match &mut node.kind {
                    Kind::Dir(_) => return Err(FsError::IsDir),
                    Kind::Device(dev) => {
                        let dev = *dev;
                        return Ok(Arc::new(DeviceSink(dev)));
                    }
                    _ => {}
                }
                if readonly {
                    return Err(FsError::ReadOnly);
                }
                if !allowed(node, access.cred, 2) {
                    return Err(FsError::PermissionDenied);
                }
                if mode.truncate || !matches!(node.kind, Kind::File(_)) {
                    let old = std::mem::replace(&mut node.kind, Kind::File(Vec::new()));
                    node.mtime = SystemTime::now();
                    st.used = st.used.saturating_sub(content_size(&old));
                } else {
                    node.mtime = SystemTime::now();
                }
                Ok(Arc::new(MemSink {
                    vfs: Arc::clone(self),
                    ino,
                    pos: Mutex::new(0),
                    append: mode.append,
                }))
            }
            Loc::Host { path, readonly } => {
                drop(st);
                if readonly {
                    return Err(FsError::ReadOnly);
                }
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create(mode.create)
                    .create_new(mode.exclusive)
                    .truncate(mode.truncate)
                    .append(mode.append)
                    .open(&path)?;
                Ok(Arc::new(HostSink(Mutex::new(file))))
            }
            Loc::ProcPid(_) => Err(FsError::IsDir),
            Loc::ProcFile(..) => Err(FsError::ReadOnly),
        }
    }

    /// Writes a whole file (create or truncate).
    pub fn write_file(
        self: &Arc<Self>,
        path: &str,
        data: &[u8],
        access: Access<'_>,
    ) -> Result<(), FsError> {
        let sink = self.open_write(path, WriteMode::TRUNCATE, access)?;
        sink.write(data)
            .map_err(|_| FsError::Io("write error".into()))
    }

    /// Creates a directory.
    pub fn mkdir(&self, path: &str, mode: u32, access: Access<'_>) -> Result<(), FsError> {
        let mut st = self.lock();
        if self.resolve(&st, path, false, access).is_ok() {
            return Err(FsError::Exists);
        }
        let (parent, name) = self.resolve_parent(&st, path, access)?;
        match parent {
            Loc::Node {
                ino: dir,
                path: dir_path,
            } => {
                let dnode = st.node(dir)?;
                if !matches!(dnode.kind, Kind::Dir(_)) {
                    return Err(FsError::NotDir);
                }
                if self.is_readonly(&dir_path) {
                    return Err(FsError::ReadOnly);
                }
                if !allowed(dnode, access.cred, 3) {
                    return Err(FsError::PermissionDenied);
                }
                st.ensure_room(0)?;
                let ino = st.add(
                    Kind::Dir(BTreeMap::new()),
                    mode & !0o022 & 0o7777,
                    access.cred.uid,
                    access.cred.gid,
                );
                st.entries_mut(dir)?.insert(name, ino);
                Ok(())
            }
            Loc::Host { mut path, readonly } => {
                drop(st);
                if readonly {
                    return Err(FsError::ReadOnly);
                }
                path.push(name);
                Ok(std::fs::create_dir(&path)?)
            }
            Loc::ProcPid(_) | Loc::ProcFile(..) => Err(FsError::ReadOnly),
        }
    }

    /// Removes a non-directory entry (`unlink`), or an empty directory when `dir`
    /// (`rmdir`).
    pub fn remove(&self, path: &str, dir: bool, access: Access<'_>) -> Result<(), FsError> {
        let mut st = self.lock();
        let (parent, name) = self.resolve_parent(&st, path, access)?;
        match parent {
            Loc::Node {
                ino: pino,
                path: dir_path,
            } => {
                let child = *st.entries(pino)?.get(&name).ok_or(FsError::NotFound)?;
                let mut child_path = dir_path.clone();
                child_path.push(name.clone());
                if self.mount_at(&child_path).is_some() {
                    return Err(FsError::Busy);
                }
                let is_dir = matches!(st.node(child)?.kind, Kind::Dir(_));
                match (dir, is_dir) {
                    (false, true) => return Err(FsError::IsDir),
                    (true, false) => return Err(FsError::NotDir),
                    (true, true) if !st.entries(child)?.is_empty() => {
                        return Err(FsError::NotEmpty);
                    }
                    _ => {}
                }
                if self.is_readonly(&dir_path) {
                    return Err(FsError::ReadOnly);
                }
                let dnode = st.node(pino)?;
                if !allowed(dnode, access.cred, 3) {
                    return Err(FsError::PermissionDenied);
                }
                let cnode = st.node(child)?;
                if dnode.mode & 0o1000 != 0
                    && access.cred.uid != 0
                    && cnode.uid != access.cred.uid
                    && dnode.uid != access.cred.uid
                {
                    return Err(FsError::NotPermitted);
                }
                st.entries_mut(pino)?.remove(&name);
                st.free(child);
                Ok(())
            }
            Loc::Host { mut path, readonly } => {
                drop(st);
                if readonly {
                    return Err(FsError::ReadOnly);
                }
                path.push(name);
                if dir {
                    Ok(std::fs::remove_dir(&path)?)
                } else {
                    let meta = std::fs::symlink_metadata(&path)?;
                    if meta.is_dir() {
                        return Err(FsError::IsDir);
                    }
                    Ok(std::fs::remove_file(&path)?)
                }
            }
            Loc::ProcPid(_) | Loc::ProcFile(..) => Err(FsError::ReadOnly),
        }
    }

    /// The names in a directory, sorted (without `.` and `..`).
    pub fn read_dir(&self, path: &str, access: Access<'_>) -> Result<Vec<String>, FsError> {
        let st = self.lock();
        match self.resolve(&st, path, true, access)? {
            Loc::Node { ino, path } => {
                let node = st.node(ino)?;
                let Kind::Dir(entries) = &node.kind else {
                    return Err(FsError::NotDir);
                };
                if !allowed(node, access.cred, 4) {
                    return Err(FsError::PermissionDenied);
                }
                let mut names: Vec<String> = entries.keys().cloned().collect();
                if path.len() == 1 && path[0] == "proc" {
                    drop(st);
                    if let Some(procs) = self.procs() {
                        names.extend(procs.pids().into_iter().map(|p| p.to_string()));
                        names.push("self".into());
                    }
                    names.sort();
                }
                Ok(names)
            }
            Loc::Host { path, .. } => {
                drop(st);
                let mut names = Vec::new();
                for entry in std::fs::read_dir(&path)? {
                    names.push(entry?.file_name().to_string_lossy().into_owned());
                }
                names.sort();
                Ok(names)
            }
            Loc::ProcPid(_) => Ok(PROC_PID_FILES.iter().map(|s| (*s).to_owned()).collect()),
            Loc::ProcFile(..) => Err(FsError::NotDir),
        }
    }

    /// Creates a symbolic link at `path` pointing to `target`.
    pub fn symlink(&self, target: &str, path: &str, access: Access<'_>) -> Result<(), FsError> {
        let mut st = self.lock();
        if self.resolve(&st, path, false, access).is_ok() {
            return Err(FsError::Exists);
        }
        let (parent, name) = self.resolve_parent(&st, path, access)?;
        match parent {
            Loc::Node {
                ino: dir,
                path: dir_path,
            } => {
                if self.is_readonly(&dir_path) {
                    return Err(FsError::ReadOnly);
                }
                if !allowed(st.node(dir)?, access.cred, 3) {
                    return Err(FsError::PermissionDenied);
                }
                st.ensure_room(target.len() as u64)?;
                let ino = st.add(
                    Kind::Symlink(target.to_owned()),
                    0o777,
                    access.cred.uid,
                    access.cred.gid,
                );
                st.entries_mut(dir)?.insert(name, ino);
                Ok(())
            }
            Loc::Host { mut path, readonly } => {
                drop(st);
                if readonly {
                    return Err(FsError::ReadOnly);
                }
                path.push(name);
                Ok(std::os::unix::fs::symlink(target, &path)?)
            }
            Loc::ProcPid(_) | Loc::ProcFile(..) => Err(FsError::ReadOnly),
        }
    }

    /// The target of a symbolic link.
    pub fn read_link(&self, path: &str, access: Access<'_>) -> Result<String, FsError> {
        let comps = components(path);
        if comps.len() == 2 && comps[0] == "proc" && comps[1] == "self" {
            return Ok(access.pid.to_string());
        }
        let st = self.lock();
        match self.resolve(&st, path, false, access)? {
            Loc::Node { ino, .. } => match &st.node(ino)?.kind {
                Kind::Symlink(target) => Ok(target.clone()),
                _ => Err(FsError::Invalid),
            },
            Loc::Host { path, .. } => {
                drop(st);
                Ok(std::fs::read_link(&path)?.to_string_lossy().into_owned())
            }
            _ => Err(FsError::Invalid),
        }
    }

    /// Changes permission bits (owner or root only).
    pub fn chmod(&self, path: &str, mode: u32, access: Access<'_>) -> Result<(), FsError> {
        let mut st = self.lock();
        match self.resolve(&st, path, true, access)? {
            Loc::Node { ino, path } => {
                if self.is_readonly(&path) {
                    return Err(FsError::ReadOnly);
                }
                let node = st.node_mut(ino)?;
                if access.cred.uid != 0 && node.uid != access.cred.uid {
                    return Err(FsError::NotPermitted);
                }
                node.mode = mode & 0o7777;
                Ok(())
            }
            Loc::Host { path, readonly } => {
                drop(st);
                if readonly {
                    return Err(FsError::ReadOnly);
                }
                use std::os::unix::fs::PermissionsExt;
                Ok(std::fs::set_permissions(
                    &path,
                    std::fs::Permissions::from_mode(mode & 0o7777),
                )?)
            }
            _ => Err(FsError::ReadOnly),
        }
    }

    /// Sets the modification time to now, creating an empty file if missing (`touch`).
    pub fn touch(
        self: &Arc<Self>,
        path: &str,
        create: bool,
        access: Access<'_>,
    ) -> Result<(), FsError> {
        {
            let mut st = self.lock();
            match self.resolve(&st, path, true, access) {
                Ok(Loc::Node { ino, path }) => {
                    if self.is_readonly(&path) {
                        return Err(FsError::ReadOnly);
                    }
                    let node = st.node_mut(ino)?;
                    if access.cred.uid != 0
                        && node.uid != access.cred.uid
                        && !allowed(node, access.cred, 2)
                    {
                        return Err(FsError::PermissionDenied);
                    }
                    node.mtime = SystemTime::now();
                    return Ok(());
                }
                Ok(Loc::Host { path, readonly }) => {
                    drop(st);
                    if readonly {
                        return Err(FsError::ReadOnly);
                    }
                    let file = std::fs::OpenOptions::new().append(true).open(&path)?;
                    file.set_modified(SystemTime::now())?;
                    return Ok(());
                }
                Ok(_) => return Err(FsError::ReadOnly),
                Err(FsError::NotFound) if create => {}
                Err(e) => return Err(e),
            }
        }
        self.open_write(path, WriteMode::KEEP, access).map(|_| ())
    }

    /// Moves `from` to `to` (both on the in-memory tree, or both on the same mount).
    pub fn rename(&self, from: &str, to: &str, access: Access<'_>) -> Result<(), FsError> {
        let mut st = self.lock();
        let (src_parent, src_name) = self.resolve_parent(&st, from, access)?;
        let (dst_parent, dst_name) = self.resolve_parent(&st, to, access)?;
        match (src_parent, dst_parent) {
            (
                Loc::Node {
                    ino: sdir,
                    path: spath,
                },
                Loc::Node {
                    ino: ddir,
                    path: dpath,
                },
            ) => {
                if self.is_readonly(&spath) || self.is_readonly(&dpath) {
                    return Err(FsError::ReadOnly);
                }
                if !allowed(st.node(sdir)?, access.cred, 3)
                    || !allowed(st.node(ddir)?, access.cred, 3)
                {
                    return Err(FsError::PermissionDenied);
                }
                let child = *st.entries(sdir)?.get(&src_name).ok_or(FsError::NotFound)?;
                if let Some(&existing) = st.entries(ddir)?.get(&dst_name) {
                    if existing == child {
                        return Ok(());
                    }
                    if matches!(st.node(existing)?.kind, Kind::Dir(_)) {
                        if !matches!(st.node(child)?.kind, Kind::Dir(_)) {
                            return Err(FsError::IsDir);
                        }
                        if !st.entries(existing)?.is_empty() {
                            return Err(FsError::NotEmpty);
                        }
                    }
                }
                // Refuse moving a directory into itself.
                let mut dst_full = dpath.clone();
                dst_full.push(dst_name.clone());
                let mut src_full = spath.clone();
                src_full.push(src_name.clone());
                if dst_full.len() > src_full.len() && dst_full.starts_with(&src_full) {
                    return Err(FsError::Invalid);
                }
                st.entries_mut(sdir)?.remove(&src_name);
                if let Some(old) = st.entries_mut(ddir)?.insert(dst_name, child) {
                    st.free(old);
                }
                Ok(())
            }
            (
                Loc::Host {
                    path: mut a,
                    readonly: ra,
                },
                Loc::Host {
                    path: mut b,
                    readonly: rb,
                },
            ) => {
                drop(st);
                if ra || rb {
                    return Err(FsError::ReadOnly);
                }
                a.push(src_name);
                b.push(dst_name);
                Ok(std::fs::rename(&a, &b)?)
            }
            _ => Err(FsError::Io("Invalid cross-device link".into())),
        }
    }

    /// The canonical form of `path`: every symlink resolved (`readlink -f`, `cd -P`).
    pub fn canonicalize(&self, path: &str, access: Access<'_>) -> Result<String, FsError> {
        let st = self.lock();
        match self.resolve(&st, path, true, access)? {
            Loc::Node { path, .. } => Ok(join(&path)),
            Loc::Host { .. } => Ok(normalize("/", path)),
            Loc::ProcPid(pid) => Ok(format!("/proc/{pid}")),
            Loc::ProcFile(pid, name) => Ok(format!("/proc/{pid}/{name}")),
        }
    }
}

#[derive(Debug)]
enum ReaderSource {
    Mem {
        vfs: Arc<Vfs>,
        ino: Ino,
        offset: usize,
    },
    Bytes(Bytes),
    Null,
    Zero,
    Urandom,
    Host(std::fs::File),
}

/// An open file, read in chunks of at most 64 KiB.
#[derive(Debug)]
pub struct FileReader {
    source: ReaderSource,
}

impl FileReader {
    /// The next chunk, `Ok(None)` at end-of-file.
    pub fn read_chunk(&mut self) -> Result<Option<Bytes>, FsError> {
        match &mut self.source {
            ReaderSource::Mem { vfs, ino, offset } => {
                let st = vfs.lock();
                let Ok(node) = st.node(*ino) else {
                    return Ok(None);
                };
                let Kind::File(data) = &node.kind else {
                    return Ok(None);
                };
                if *offset >= data.len() {
                    return Ok(None);
                }
                let end = (*offset + CHUNK).min(data.len());
                let chunk = Bytes::copy_from_slice(&data[*offset..end]);
                *offset = end;
                Ok(Some(chunk))
            }
            ReaderSource::Bytes(data) => {
                if data.is_empty() {
                    return Ok(None);
                }
                let n = data.len().min(CHUNK);
                Ok(Some(data.split_to(n)))
            }
            ReaderSource::Null => Ok(None),
            ReaderSource::Zero => Ok(Some(zero_chunk())),
            ReaderSource::Urandom => {
                let mut buf = vec![0u8; CHUNK];
                rand::fill(&mut buf[..]);
                Ok(Some(Bytes::from(buf)))
            }
            ReaderSource::Host(file) => {
                let mut buf = vec![0u8; CHUNK];
                let n = file.read(&mut buf)?;
                if n == 0 {
                    return Ok(None);
                }
                buf.truncate(n);
                Ok(Some(Bytes::from(buf)))
            }
        }
    }

    /// Skips `n` bytes (`dd skip=`, `tail -c`); returns how many were skipped.
    pub fn skip(&mut self, n: u64) -> Result<u64, FsError> {
        match &mut self.source {
            ReaderSource::Mem { vfs, ino, offset } => {
                let st = vfs.lock();
                let len = match st.node(*ino).map(|n| &n.kind) {
                    Ok(Kind::File(data)) => data.len(),
                    _ => 0,
                };
                let new = (*offset as u64).saturating_add(n).min(len as u64) as usize;
                let skipped = (new - *offset) as u64;
                *offset = new;
                Ok(skipped)
            }
            ReaderSource::Bytes(data) => {
                let k = (n as usize).min(data.len());
                let _ = data.split_to(k);
                Ok(k as u64)
            }
            ReaderSource::Null => Ok(0),
            ReaderSource::Zero | ReaderSource::Urandom => Ok(n),
            ReaderSource::Host(file) => {
                let before = file.stream_position()?;
                let end = file.seek(SeekFrom::End(0))?;
                let target = before.saturating_add(n).min(end);
                file.seek(SeekFrom::Start(target))?;
                Ok(target - before)
            }
        }
    }

    /// The file's current size, for regular files (`tail -c`, `tail -f`).
    pub fn size(&mut self) -> Option<u64> {
        match &mut self.source {
            ReaderSource::Mem { vfs, ino, .. } => match vfs.lock().node(*ino).map(|n| &n.kind) {
                Ok(Kind::File(data)) => Some(data.len() as u64),
                _ => None,
            },
            ReaderSource::Bytes(data) => Some(data.len() as u64),
            ReaderSource::Host(file) => file.metadata().ok().map(|m| m.len()),
            _ => None,
        }
    }
}

impl ByteSource for FileReader {
    fn read(&mut self) -> Option<Bytes> {
        self.read_chunk().ok().flatten()
    }
}

#[derive(Debug)]
struct MemSink {
    vfs: Arc<Vfs>,
    ino: Ino,
    pos: Mutex<usize>,
    append: bool,
}

impl ByteSink for MemSink {
    /// Writes at the file's position; when the writable layer's budget cannot hold
    /// all of it, writes what fits and fails (`ENOSPC`, like a full disk: the caller
    /// reports `No space left on device`).
    fn write(&self, data: &[u8]) -> Result<(), BrokenPipe> {
        let mut st = self.vfs.lock();
        let room = st.room();
        let mut pos = self.pos.lock().unwrap_or_else(|e| e.into_inner());
        let Ok(node) = st.node_mut(self.ino) else {
            // The file was removed: writes go nowhere, like to an unlinked inode.
            return Ok(());
        };
        node.mtime = SystemTime::now();
        let Kind::File(contents) = &mut node.kind else {
            return Ok(());
        };
        if self.append {
            *pos = contents.len();
        }
        let len = contents.len() as u64;
        let wanted_end = *pos as u64 + data.len() as u64;
        let growth = wanted_end.saturating_sub(len);
        let (data, full) = if growth > room {
            let keep = (data.len() as u64).saturating_sub(growth - room);
            (&data[..keep as usize], true)
        } else {
            (data, false)
        };
        if data.is_empty() {
            return if full { Err(BrokenPipe) } else { Ok(()) };
        }
        let end = *pos + data.len();
        if contents.capacity() < end {
            // Grow geometrically, but never past what the budget allows.
            let cap = (contents.capacity() as u64 * 2)
                .max(end as u64)
                .min(len.saturating_add(room));
            contents.reserve_exact((cap as usize).max(end) - contents.len());
        }
        if contents.len() < *pos {
            contents.resize(*pos, 0);
        }
        if *pos == contents.len() {
            contents.extend_from_slice(data);
        } else {
            if contents.len() < end {
                contents.resize(end, 0);
            }
            contents[*pos..end].copy_from_slice(data);
        }
        let new_len = contents.len() as u64;
        *pos = end;
        st.used += new_len - len;
        if full { Err(BrokenPipe) } else { Ok(()) }
    }
}

#[derive(Debug)]
struct HostSink(Mutex<std::fs::File>);

impl ByteSink for HostSink {
    fn write(&self, data: &[u8]) -> Result<(), BrokenPipe> {
        let mut file = self.0.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(data).map_err(|_| BrokenPipe)
    }
}

#[derive(Debug)]
struct DeviceSink(Device);

impl ByteSink for DeviceSink {
    fn write(&self, _data: &[u8]) -> Result<(), BrokenPipe> {
        match self.0 {
            Device::Full => Err(BrokenPipe),
            _ => Ok(()),
        }
    }

    fn discards(&self) -> bool {
        self.0 != Device::Full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> Cred {
        Cred::root()
    }

    fn acc(c: &Cred) -> Access<'_> {
        Access { cred: c, pid: 1 }
    }

    fn fs() -> Arc<Vfs> {
        let v = Vfs::new(false);
        v.seed_dir("/etc", 0o755).unwrap();
        v.seed_dir("/tmp", 0o1777).unwrap();
        v.seed_file(
            "/etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
            0o644,
        )
        .unwrap();
        v.seed(&FileSeed::Symlink {
            path: "/etc/link".into(),
            target: "passwd".into(),
        })
        .unwrap();
        v.seed_devices().unwrap();
        Arc::new(v)
    }

    #[test]
    fn files_written_through_a_sink_read_back_and_symlinks_resolve_relative_to_their_dir() {
        let v = fs();
        let r = root();
        v.write_file("/tmp/a", b"hello", acc(&r)).unwrap();
        let sink = v.open_write("/tmp/a", WriteMode::APPEND, acc(&r)).unwrap();
        sink.write(b" world").unwrap();
        assert_eq!(v.read_to_end("/tmp/a", acc(&r)).unwrap(), b"hello world");
        assert_eq!(
            v.read_to_end("/etc/link", acc(&r)).unwrap(),
            b"root:x:0:0:root:/root:/bin/sh\n"
        );
        assert_eq!(v.read_link("/etc/link", acc(&r)).unwrap(), "passwd");
        assert_eq!(
            v.stat("/etc/link", false, acc(&r)).unwrap().kind,
            FileKind::Symlink
        );
    }

    #[test]
    fn non_root_users_cannot_write_root_owned_files_but_can_create_in_sticky_tmp() {
        let v = fs();
        let user = Cred {
            uid: 1000,
            gid: 1000,
            groups: vec![],
        };
        assert_eq!(
            v.open_write("/etc/passwd", WriteMode::TRUNCATE, acc(&user))
                .err(),
            Some(FsError::PermissionDenied)
        );
        assert_eq!(
            v.open_write("/etc/new", WriteMode::TRUNCATE, acc(&user))
                .err(),
            Some(FsError::PermissionDenied)
        );
        v.write_file("/tmp/mine", b"x", acc(&user)).unwrap();
        assert_eq!(v.stat("/tmp/mine", true, acc(&user)).unwrap().uid, 1000);
        let r = root();
        v.write_file("/tmp/roots", b"x", acc(&r)).unwrap();
        assert_eq!(
            v.remove("/tmp/roots", false, acc(&user)),
            Err(FsError::NotPermitted)
        );
    }

    #[test]
    fn a_read_only_root_refuses_writes_except_on_devices() {
        let v = Vfs::new(true);
        v.seed_dir("/tmp", 0o1777).unwrap();
        v.seed_devices().unwrap();
        let v = Arc::new(v);
        let r = root();
        assert_eq!(
            v.open_write("/x", WriteMode::TRUNCATE, acc(&r)).err(),
            Some(FsError::ReadOnly)
        );
        assert_eq!(v.mkdir("/tmp/d", 0o777, acc(&r)), Err(FsError::ReadOnly));
        assert!(
            v.open_write("/dev/null", WriteMode::TRUNCATE, acc(&r))
                .is_ok()
        );
        v.write_file("/dev/shm/ok", b"1", acc(&r)).unwrap();
    }

    #[test]
    fn dev_zero_reads_shared_zero_chunks_and_dev_null_reads_end_of_file() {
        let v = fs();
        let r = root();
        let mut zero = v.open_read("/dev/zero", acc(&r)).unwrap();
        let chunk = zero.read_chunk().unwrap().unwrap();
        assert_eq!(chunk.len(), CHUNK);
        assert!(chunk.iter().all(|&b| b == 0));
        let mut null = v.open_read("/dev/null", acc(&r)).unwrap();
        assert_eq!(null.read_chunk().unwrap(), None);
    }

    #[test]
    fn normalize_resolves_dots_against_the_working_directory() {
        assert_eq!(normalize("/a/b", "../c/./d"), "/a/c/d");
        assert_eq!(normalize("/", "x"), "/x");
        assert_eq!(normalize("/a", "/../.."), "/");
        assert_eq!(normalize("/a", ""), "/a");
    }

    #[test]
    fn directories_and_files_without_x_bits_are_not_executable() {
        let v = fs();
        let r = root();
        assert_eq!(
            v.executable("/etc/passwd", acc(&r)),
            Err(FsError::PermissionDenied)
        );
        assert_eq!(
            v.executable("/tmp", acc(&r)),
            Err(FsError::PermissionDenied)
        );
        assert_eq!(v.executable("/nope", acc(&r)), Err(FsError::NotFound));
    }
}
