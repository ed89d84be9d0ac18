//! Lexical path handling: length limits, components, normalisation.

use super::*;

/// `ENAMETOOLONG` for a path of `PATH_MAX` bytes or more, or with a longer name
/// than `NAME_MAX`. (This also bounds how deep directories nest: the recursion of
/// `rm -r` or `cp -r` stays bounded.)
pub(super) fn check_length(path: &str) -> Result<(), FsError> {
    if path.len() >= PATH_MAX || path.split('/').any(|c| c.len() > NAME_MAX) {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// Splits an absolute path into its components, dropping empty ones and `.`.
pub(super) fn components(path: &str) -> Vec<String> {
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

pub(super) fn join(path: &[String]) -> String {
    format!("/{}", path.join("/"))
}
