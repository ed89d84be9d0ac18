//! Open files: the chunked [`FileReader`] and the sinks writes go to.

use super::*;

#[derive(Debug)]
pub(super) enum ReaderSource {
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
    pub(super) source: ReaderSource,
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
pub(super) struct MemSink {
    pub(super) vfs: Arc<Vfs>,
    pub(super) ino: Ino,
    pub(super) pos: Mutex<usize>,
    pub(super) append: bool,
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
pub(super) struct HostSink(pub(super) Mutex<std::fs::File>);

impl ByteSink for HostSink {
    fn write(&self, data: &[u8]) -> Result<(), BrokenPipe> {
        let mut file = self.0.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(data).map_err(|_| BrokenPipe)
    }
}

#[derive(Debug)]
pub(super) struct DeviceSink(pub(super) Device);

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
