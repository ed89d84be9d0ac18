//! Metadata: `stat`, existence, access and executability checks.

use super::resolve::allowed;
use super::*;

pub(super) fn host_stat(meta: &std::fs::Metadata) -> Stat {
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

impl Vfs {
    pub(super) fn stat_node(node: &Node) -> Stat {
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

    pub(super) fn proc_stat(kind: FileKind, mode: u32, size: u64) -> Stat {
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
}
