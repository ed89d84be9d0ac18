//! The host's mount table, as far as a container's host mounts need it.
//!
//! A read-only bind mount that is not recursive (what runc makes of a CRI mount with
//! `readonly` and without `recursive_read_only`) only makes its top mount read-only:
//! a filesystem the host has mounted somewhere below the source directory is bound
//! along (`rbind`) and stays writable. [`on_submount`] tells whether a host path lies
//! in such a submount, from the real `/proc/self/mountinfo` (read, never changed).

use std::path::{Component, Path, PathBuf};

/// Whether `path` (a path below `root`, both on the host) lies at or below a mount
/// point that is strictly below `root` in the host's mount table. `root` is
/// canonicalized (the mount table lists resolved paths); the rest of `path` is taken
/// as written, since it may name a file about to be created.
pub(super) fn on_submount(root: &Path, path: &Path) -> bool {
    let Ok(rest) = path.strip_prefix(root) else {
        return false;
    };
    let Ok(real_root) = std::fs::canonicalize(root) else {
        return false;
    };
    let mut target = real_root.clone();
    for c in rest.components() {
        match c {
            Component::Normal(name) => target.push(name),
            Component::ParentDir => {
                target.pop();
            }
            _ => {}
        }
    }
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    mount_points(&table)
        .any(|mp| mp != real_root && mp.starts_with(&real_root) && target.starts_with(&mp))
}

/// The mount points (fifth field) of a `mountinfo` table, with its octal escapes
/// (`\040` for a space) decoded.
fn mount_points(table: &str) -> impl Iterator<Item = PathBuf> + '_ {
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|field| PathBuf::from(unescape(field)))
}

fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_the_fifth_field_with_octal_escapes_decoded() {
        let table = "36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/root rw\n\
                     22 1 0:21 / /proc rw - proc proc rw\n";
        let points: Vec<_> = mount_points(table).collect();
        assert_eq!(
            points,
            vec![PathBuf::from("/mnt/my disk"), PathBuf::from("/proc")]
        );
    }

    #[test]
    fn a_path_outside_the_root_or_without_submounts_is_not_on_a_submount() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(!on_submount(dir.path(), &dir.path().join("file")));
        assert!(!on_submount(dir.path(), Path::new("/elsewhere")));
    }

    #[test]
    fn proc_below_root_is_a_submount_of_root() {
        // `/proc` is a mount point strictly below `/` on every Linux host.
        assert!(on_submount(Path::new("/"), Path::new("/proc/self")));
        assert!(!on_submount(Path::new("/"), Path::new("/procx")));
    }
}
