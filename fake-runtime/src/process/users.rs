//! Who a container's processes run as: the [`UserSpec`] resolved against the image's
//! `/etc/passwd` and `/etc/group`, the way containerd and runc do it.

use super::spec::UserSpec;
use super::vfs::Cred;

/// One line of `/etc/passwd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// One line of `/etc/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    /// Group name.
    pub name: String,
    /// Group id.
    pub gid: u32,
    /// Member user names.
    pub members: Vec<String>,
}

/// Parses `/etc/passwd` (malformed lines are skipped).
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_owned(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_owned(),
                shell: f[6].to_owned(),
            })
        })
        .collect()
}

/// Parses `/etc/group` (malformed lines are skipped).
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_owned(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

/// The resolved identity of a container's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups as `getgroups` returns them (sorted, primary included).
    pub groups: Vec<u32>,
    /// Home directory (`$HOME` when the env has none): from passwd, else `/`.
    pub home: String,
    /// runc's error when the user or group cannot be found (the container would fail
    /// to start with it); the processes then run as uid 0.
    pub error: Option<String>,
}

impl Identity {
    /// The credentials used for permission checks.
    pub fn cred(&self) -> Cred {
        Cred {
            uid: self.uid,
            gid: self.gid,
            groups: self.groups.clone(),
        }
    }
}

fn to_id(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// Resolves `spec` against the passwd and group files' contents.
pub fn resolve(spec: &UserSpec, passwd: &str, group: &str) -> Identity {
    let users = parse_passwd(passwd);
    let groups = parse_group(group);
    let mut error = None;
    let mut uid = 0;
    let mut gid = None;
    let mut entry: Option<&PasswdEntry> = None;
    if let Some(u) = spec.uid {
        uid = to_id(u);
        entry = users.iter().find(|e| e.uid == uid);
    } else if let Some(name) = spec.username.as_deref().filter(|n| !n.is_empty()) {
        let (user_part, group_part) = match name.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (name, None),
        };
        if let Ok(n) = user_part.parse::<u32>() {
            uid = n;
            entry = users.iter().find(|e| e.uid == uid);
        } else {
            match users.iter().find(|e| e.name == user_part) {
                Some(e) => {
                    uid = e.uid;
                    entry = Some(e);
                }
                None => {
                    error = Some(format!(
                        "unable to find user {user_part}: no matching entries in passwd file"
                    ));
                }
            }
        }
        if let Some(g) = group_part.filter(|g| !g.is_empty()) {
            if let Ok(n) = g.parse::<u32>() {
                gid = Some(n);
            } else {
                match groups.iter().find(|e| e.name == g) {
                    Some(e) => gid = Some(e.gid),
                    None => {
                        error.get_or_insert_with(|| {
                            format!("unable to find group {g}: no matching entries in group file")
                        });
                    }
                }
            }
        }
    } else {
        entry = users.iter().find(|e| e.uid == 0);
    }
    let gid = spec
        .gid
        .map(to_id)
        .or(gid)
        .or(entry.map(|e| e.gid))
        .unwrap_or(0);
    let mut all = vec![gid];
    if let Some(e) = entry {
        all.extend(
            groups
                .iter()
                .filter(|g| g.members.contains(&e.name))
                .map(|g| g.gid),
        );
    }
    all.extend(spec.supplemental_groups.iter().map(|&g| to_id(g)));
    all.sort_unstable();
    all.dedup();
    Identity {
        uid,
        gid,
        groups: all,
        home: entry.map(|e| e.home.clone()).unwrap_or_else(|| "/".into()),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:www-data\nwww-data:x:33:\nnogroup:x:65534:\n";

    #[test]
    fn default_user_is_root_with_its_home() {
        let id = resolve(&UserSpec::default(), PASSWD, GROUP);
        assert_eq!(
            (id.uid, id.gid, id.groups.clone(), id.home.as_str()),
            (0, 0, vec![0], "/root")
        );
        assert_eq!(id.error, None);
    }

    #[test]
    fn a_uid_absent_from_passwd_gets_gid_zero_and_home_slash() {
        let spec = UserSpec {
            uid: Some(1000),
            ..Default::default()
        };
        let id = resolve(&spec, PASSWD, GROUP);
        assert_eq!(
            (id.uid, id.gid, id.groups.clone(), id.home.as_str()),
            (1000, 0, vec![0], "/")
        );
    }

    #[test]
    fn a_username_gets_passwd_group_memberships_and_supplemental_groups_sorted() {
        let spec = UserSpec {
            username: Some("www-data".into()),
            supplemental_groups: vec![2000, 5],
            ..Default::default()
        };
        let id = resolve(&spec, PASSWD, GROUP);
        assert_eq!((id.uid, id.gid), (33, 33));
        assert_eq!(id.groups, vec![5, 10, 33, 2000]);
        assert_eq!(id.home, "/var/www");
    }

    #[test]
    fn an_unknown_username_is_runc_error() {
        let spec = UserSpec {
            username: Some("ghost".into()),
            ..Default::default()
        };
        let id = resolve(&spec, PASSWD, GROUP);
        assert_eq!(
            id.error.as_deref(),
            Some("unable to find user ghost: no matching entries in passwd file")
        );
    }

    #[test]
    fn an_image_user_with_numeric_uid_and_gid_needs_no_passwd_entry() {
        let spec = UserSpec {
            username: Some("1000:1000".into()),
            ..Default::default()
        };
        let id = resolve(&spec, PASSWD, GROUP);
        assert_eq!(
            (id.uid, id.gid, id.groups.clone()),
            (1000, 1000, vec![1000])
        );
    }
}
