//! runc's masked and read-only paths (OCI `linux.maskedPaths`, `linux.readonlyPaths`).

use super::path::components;
use super::*;

impl Vfs {
    /// Masks `path` as runc does: a file gets `/dev/null` bound over it (it reads as
    /// empty, writes vanish, and executing it fails with `EACCES`), a directory an
    /// empty read-only tmpfs (mode 1777). A path that does not exist is skipped, as
    /// runc skips it.
    ///
    /// runc mounts over what the path resolves to; the fake's images link their
    /// applets to `/bin/busybox` by symlinks where the real images use hard links, so
    /// the entry itself is masked, never a symlink's target (masking `/bin/ls` masks
    /// `ls`, not busybox).
    pub(crate) fn mask(&mut self, path: &str) {
        let comps = components(&normalize("/", path));
        if comps.is_empty() {
            return;
        }
        let root = Cred::root();
        let access = Access {
            cred: &root,
            pid: 0,
        };
        let is_dir = {
            let mut st = self.lock();
            let Ok(Loc::Node { ino, .. }) = self.resolve(&st, &join(&comps), false, access) else {
                return;
            };
            let Ok(node) = st.node_mut(ino) else {
                return;
            };
            match &mut node.kind {
                Kind::Dir(entries) => {
                    let children: Vec<Ino> = std::mem::take(entries).into_values().collect();
                    node.mode = 0o1777;
                    node.uid = 0;
                    node.gid = 0;
                    for child in children {
                        st.free(child);
                    }
                    true
                }
                _ => {
                    let old = std::mem::replace(&mut node.kind, Kind::Device(Device::Null));
                    node.mode = 0o666;
                    node.uid = 0;
                    node.gid = 0;
                    st.used = st.used.saturating_sub(content_size(&old));
                    false
                }
            }
        };
        if is_dir {
            self.readonly_paths.push(comps);
        }
    }

    /// Makes `path` and everything under it refuse writes (`EROFS`), as runc's
    /// read-only bind mount of it does. Only the in-memory tree is covered: a host
    /// mount under `path` keeps its own read-only flag.
    pub(crate) fn add_readonly_path(&mut self, path: &str) {
        let comps = components(&normalize("/", path));
        self.readonly_paths.push(comps);
    }
}
