//! A container's filesystem: an in-memory tree seeded from the image, with the pod's
//! generated files, `/proc` (sysctls and per-process files), devices, and host
//! directories or files bound in by mounts.
//!
//! Every operation takes an [`Access`] (who asks, for permission checks and
//! `/proc/self`) and an absolute path. The lock is a `std::sync::Mutex`, never held
//! across an `.await`: readers and writers copy at most one chunk per lock.
//!
//! By concern: this file holds the types, the tree's state and its budget, and mounts;
//! `error` ([`FsError`]), `path` (lexical normalisation), `seed` (the tree from the image,
//! without permission checks), `resolve` (symlinks, mounts, `/proc`, permission bits),
//! `stat`, `files` (reading and writing contents), `tree` (mkdir, remove, links, modes,
//! rename) and `io` ([`FileReader`] and the write sinks).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::SystemTime;

use bytes::Bytes;

use super::pipe::{BrokenPipe, ByteSink, ByteSource};
use super::spec::FileSeed;

mod error;
mod files;
mod hostmounts;
mod io;
mod mask;
mod path;
mod resolve;
mod seed;
mod stat;
mod tree;

pub use error::FsError;
pub use io::FileReader;
pub use path::{clean, normalize};
use path::{components, join};

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

#[derive(Debug, Clone)]
enum Kind {
    Dir(BTreeMap<String, Ino>),
    File(Vec<u8>),
    Symlink(String),
    Program(String),
    Device(Device),
}

#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: SystemTime,
}

#[derive(Debug, Clone)]
struct State {
    /// Shared with the template a filesystem was made from until written
    /// (`Arc::make_mut`): a container's filesystem starts as a copy of the map only.
    nodes: HashMap<Ino, Arc<Node>>,
    next_ino: Ino,
    /// Bytes the tree holds: file contents and symlink targets.
    used: u64,
    /// What `used` and the number of nodes were when the budget was set (the image's
    /// files), and the budget on top of them (0: unlimited).
    base: u64,
    base_nodes: usize,
    limit: u64,
}

/// A seeded tree that new filesystems start from (made by `Vfs::template`); cloning it is
/// cheap. Each filesystem made from it gets its own copy of the node map, whose nodes
/// it shares with the template until it writes them (copy on write).
#[derive(Clone)]
pub struct Template(Arc<State>);

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("nodes", &self.0.nodes.len())
            .finish()
    }
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
        self.nodes.get(&ino).map(|n| &**n).ok_or(FsError::NotFound)
    }

    fn node_mut(&mut self, ino: Ino) -> Result<&mut Node, FsError> {
        self.nodes
            .get_mut(&ino)
            .map(Arc::make_mut)
            .ok_or(FsError::NotFound)
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
            Arc::new(Node {
                kind,
                mode,
                uid,
                gid,
                mtime: SystemTime::now(),
            }),
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
                if let Kind::Dir(entries) = &node.kind {
                    pending.extend(entries.values().copied());
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
    /// Read-only paths (components): masked directories and OCI `readonlyPaths`.
    readonly_paths: Vec<Vec<String>>,
    /// Bind mounts made inside the container (`mount --bind`): the mount point's
    /// path, and the container path it shows. They stay in the container's mount
    /// namespace: nothing of them reaches the host.
    binds: Mutex<Vec<(Vec<String>, Vec<String>)>>,
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
            readonly_paths: Vec::new(),
            binds: Mutex::new(Vec::new()),
            proc_source: OnceLock::new(),
        }
    }

    /// A snapshot of this tree to start other filesystems from
    /// ([`from_template`](Self::from_template)): the image's files are seeded once per
    /// image, not once per container.
    pub(crate) fn template(&self) -> Template {
        Template(Arc::new(self.lock().clone()))
    }

    /// A filesystem holding what `template` held (its own copy: writes stay in it).
    pub(crate) fn from_template(template: &Template, readonly_root: bool) -> Self {
        Self {
            state: Mutex::new(State::clone(&template.0)),
            readonly_root,
            mounts: Vec::new(),
            readonly_paths: Vec::new(),
            binds: Mutex::new(Vec::new()),
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

    /// Bind-mounts the directory `source` on the directory `target` (both absolute
    /// container paths), as `mount --bind` does inside the container: from now on
    /// `target` shows what `source` holds. Later binds on the same target win.
    pub(crate) fn bind(
        &self,
        source: &str,
        target: &str,
        access: Access<'_>,
    ) -> Result<(), FsError> {
        let source_path = {
            let st = self.lock();
            match self.resolve(&st, source, true, access)? {
                Loc::Node { ino, path } => {
                    if !matches!(st.node(ino)?.kind, Kind::Dir(_)) {
                        return Err(FsError::NotDir);
                    }
                    path
                }
                Loc::Host { path, .. } => {
                    if !path.is_dir() {
                        return Err(if path.exists() {
                            FsError::NotDir
                        } else {
                            FsError::NotFound
                        });
                    }
                    components(&normalize("/", source))
                }
                Loc::ProcPid(_) | Loc::ProcFile(..) => return Err(FsError::Invalid),
            }
        };
        let target_path = components(&normalize("/", target));
        match self.stat(target, true, access)?.kind {
            FileKind::Dir => {}
            _ => return Err(FsError::NotDir),
        }
        let mut binds = self.binds.lock().unwrap_or_else(|e| e.into_inner());
        binds.retain(|(t, _)| *t != target_path);
        binds.push((target_path, source_path));
        Ok(())
    }

    /// The source of the bind mount at `path`, if one is there.
    fn bind_at(&self, path: &[String]) -> Option<Vec<String>> {
        self.binds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .rev()
            .find(|(t, _)| t == path)
            .map(|(_, s)| s.clone())
    }

    fn has_binds(&self) -> bool {
        !self
            .binds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn mount_at(&self, path: &[String]) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.path == path)
    }

    fn is_readonly(&self, path: &[String]) -> bool {
        if self.readonly_paths.iter().any(|ro| path.starts_with(ro)) {
            return true;
        }
        match path.first().map(String::as_str) {
            Some("proc") | Some("sys") => true,
            Some("dev") => false,
            _ => self.readonly_root,
        }
    }
}

#[cfg(test)]
mod tests;
