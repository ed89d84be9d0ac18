//! Changing the tree: directories, removal, listing, links, modes, times, renames.

use super::path::{components, join};
use super::resolve::allowed;
use super::*;

impl Vfs {
    /// Creates a directory.
    pub fn mkdir(&self, path: &str, mode: u32, access: Access<'_>) -> Result<(), FsError> {
        let mut st = self.lock();
        match self.resolve(&st, path, false, access) {
            // A path through a mount leads somewhere on the host, existing or not.
            Ok(Loc::Host { path: host, .. }) if host.symlink_metadata().is_err() => {}
            Ok(_) => return Err(FsError::Exists),
            Err(_) => {}
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
                    match std::fs::OpenOptions::new().append(true).open(&path) {
                        Ok(file) => {
                            file.set_modified(SystemTime::now())?;
                            return Ok(());
                        }
                        // Missing: created below, like on the in-memory tree.
                        Err(e) if create && e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e.into()),
                    }
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
