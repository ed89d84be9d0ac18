//! Reading and writing file contents.

use super::io::{DeviceSink, HostSink, MemSink, ReaderSource};
use super::resolve::allowed;
use super::*;

impl Vfs {
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
}
