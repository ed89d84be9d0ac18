//! Path resolution (symlinks, mounts, `/proc`) and permission checks.

use super::path::{check_length, components, join};
use super::*;

pub(super) fn allowed(node: &Node, cred: &Cred, want: u32) -> bool {
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

/// Goes on resolving at `target` (a symlink's target, or a bind mount's source): one
/// more indirection (`ELOOP` past 40, as Linux), from the root when `absolute`.
fn redirect(
    links: &mut u32,
    stack: &mut Vec<(String, Ino)>,
    remaining: &mut std::collections::VecDeque<String>,
    absolute: bool,
    target: Vec<String>,
) -> Result<(), FsError> {
    *links += 1;
    if *links > 40 {
        return Err(FsError::Loop);
    }
    if absolute {
        stack.clear();
    }
    for c in target.into_iter().rev() {
        remaining.push_front(c);
    }
    Ok(())
}

impl Vfs {
    /// Resolves `path` (absolute). `follow_last`: whether a final symlink is followed.
    pub(super) fn resolve(
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
            if let Some(source) = self.has_binds().then(names).and_then(|n| self.bind_at(&n)) {
                // A bind mount made in the container: go on from its source.
                redirect(&mut links, &mut stack, &mut remaining, true, source)?;
                continue;
            }
            if let Some(mount) = (!self.mounts.is_empty())
                .then(names)
                .and_then(|names| self.mount_at(&names))
            {
                let mut host = mount.host.clone();
                let mut depth = 0usize;
                let mut escaped = false;
                // The container path walked so far, for binds made inside the mount.
                let mut inside = names();
                let mut rebound = None;
                while let Some(c) = remaining.pop_front() {
                    if c == ".." {
                        if depth == 0 {
                            // `..` at the mount's root leads back to the container's
                            // directory holding the mount point, never above the
                            // host directory.
                            escaped = true;
                            break;
                        }
                        depth -= 1;
                        host.pop();
                        inside.pop();
                    } else {
                        depth += 1;
                        host.push(&c);
                        inside.push(c);
                        if let Some(source) =
                            self.has_binds().then(|| self.bind_at(&inside)).flatten()
                        {
                            rebound = Some(source);
                            break;
                        }
                    }
                }
                if let Some(source) = rebound {
                    redirect(&mut links, &mut stack, &mut remaining, true, source)?;
                    continue;
                }
                if escaped {
                    stack.pop();
                    continue;
                }
                // Read-only CRI mounts are not recursive: what the host mounted below
                // the source directory stays writable.
                let readonly =
                    mount.readonly && !super::hostmounts::on_submount(&mount.host, &host);
                return Ok(Loc::Host {
                    path: host,
                    readonly,
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
                let absolute = target.starts_with('/');
                redirect(
                    &mut links,
                    &mut stack,
                    &mut remaining,
                    absolute,
                    components(target),
                )?;
                continue;
            }
            stack.push((comp, child));
        }
    }

    pub(super) fn resolve_proc(
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
    pub(super) fn resolve_parent(
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
}
