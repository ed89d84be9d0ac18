//! Seeding the tree from the image and the pod (no permission checks).

use super::path::{components, join};
use super::*;

impl Vfs {
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

    pub(super) fn seed_node(&self, path: &str, kind: Kind, mode: u32) -> Result<(), FsError> {
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
}
