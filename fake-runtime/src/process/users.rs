//! Who a container's processes run as: the [`UserSpec`] resolved against the image's
//! `/etc/passwd` and `/etc/group`, the way containerd and runc do it.
//!
//! [`spec_user`] is containerd's CreateContainer rule for the OCI spec's `process.user`
//! (uid, gid, `additionalGids`), which containerd 2.3 reports as `ContainerStatus.user`
//! and the fake's processes then run as.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::spec::UserSpec;
use super::vfs::Cred;
use crate::go::go_quote;

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

/// The last few passwd or group files parsed, by their text. Every container of an
/// image has the same files, and parsing them at each create and start was a tenth of
/// a container's lifecycle in the profile.
struct ParseCache<T> {
    recent: Mutex<VecDeque<Parsed<T>>>,
}

/// A file's text and what it parsed to.
type Parsed<T> = (Box<str>, Arc<Vec<T>>);

/// How many files each [`ParseCache`] remembers.
const PARSE_CACHE_SIZE: usize = 8;

impl<T> ParseCache<T> {
    const fn new() -> Self {
        Self {
            recent: Mutex::new(VecDeque::new()),
        }
    }

    /// `parse(text)`, remembered.
    fn get(&self, text: &str, parse: fn(&str) -> Vec<T>) -> Arc<Vec<T>> {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, parsed)) = recent.iter().find(|(kept, _)| **kept == *text) {
            return parsed.clone();
        }
        let parsed = Arc::new(parse(text));
        if recent.len() >= PARSE_CACHE_SIZE {
            recent.pop_back();
        }
        recent.push_front((text.into(), parsed.clone()));
        parsed
    }
}

static PASSWD_FILES: ParseCache<PasswdEntry> = ParseCache::new();
static GROUP_FILES: ParseCache<GroupEntry> = ParseCache::new();

/// [`parse_passwd`], remembered for the last few files.
fn passwd_entries(text: &str) -> Arc<Vec<PasswdEntry>> {
    PASSWD_FILES.get(text, parse_passwd)
}

/// [`parse_group`], remembered for the last few files.
fn group_entries(text: &str) -> Arc<Vec<GroupEntry>> {
    GROUP_FILES.get(text, parse_group)
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
    let users = passwd_entries(passwd);
    let groups = group_entries(group);
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

/// The user fields of a CreateContainer request, and the image's `User`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRequest {
    /// `security_context.run_as_username` (`""`: unset). Wins over `run_as_user`.
    pub run_as_username: String,
    /// `security_context.run_as_user`.
    pub run_as_user: Option<i64>,
    /// `security_context.run_as_group` (needs a user).
    pub run_as_group: Option<i64>,
    /// `security_context.supplemental_groups`.
    pub supplemental_groups: Vec<i64>,
    /// `security_context.supplemental_groups_policy` (0 Merge, 1 Strict).
    pub supplemental_groups_policy: i32,
    /// The image config's `User` (`""`: unset).
    pub image_user: String,
}

/// Where the containerd releases compute [`spec_user`] differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpecUserRules {
    /// Without a CRI user, the image `User`'s `/etc/group` memberships are added (2.3);
    /// 1.6 adds uid 0's instead.
    pub image_user_groups: bool,
    /// `supplemental_groups_policy` is honoured (2.3): Strict skips `/etc/group`, other
    /// values than Merge and Strict fail. 1.6 predates it and always merges.
    pub groups_policy: bool,
    /// A uid or gid outside `0..=2147483647` fails CreateContainer (2.3); 1.6 truncates it
    /// to 32 bits.
    pub id_range_checked: bool,
}

/// The OCI spec's `process.user` as containerd builds it at CreateContainer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecUser {
    /// `uid`.
    pub uid: u32,
    /// `gid`.
    pub gid: u32,
    /// `additionalGids`: sorted, de-duplicated; the primary gid is included unless a
    /// Strict policy without any user left it out.
    pub additional_gids: Vec<u32>,
}

/// Why containerd cannot build the spec user: CreateContainer fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecUserError {
    /// `run_as_group` without `run_as_user` or `run_as_username`.
    GroupWithoutUser(i64),
    /// A `supplemental_groups_policy` other than Merge or Strict (2.3).
    UnknownGroupsPolicy(i32),
    /// The user string's uid is outside `0..=2147483647` (2.3).
    UidOutOfRange(String),
    /// The user string's gid is outside `0..=2147483647` (2.3).
    GidOutOfRange(String),
    /// A user string with more than one `:`.
    InvalidUser(String),
    /// A user name absent from `/etc/passwd`.
    NoUsersFound,
    /// A group name absent from `/etc/group`.
    NoGroupsFound,
    /// A name had to be looked up in an image without `/etc`.
    NoEtc,
}

impl SpecUserError {
    /// CreateContainer's error text (code UNKNOWN), the same in 1.6 and 2.3.
    ///
    /// [`SpecUserError::NoEtc`]'s text is derived from containerd 2.3's overlay view of
    /// the snapshot (`internal/fsview/overlay.go`), not measured; 1.6 names a temporary
    /// mount path there instead.
    pub fn create_message(&self) -> String {
        const SPEC_OPTS: &str = "failed to get container spec opts: ";
        const NEW_CONTAINER: &str = "failed to create containerd container: ";
        match self {
            SpecUserError::GroupWithoutUser(gid) => format!(
                "{SPEC_OPTS}failed to generate user string: user group {} is specified without user",
                go_quote(&gid.to_string())
            ),
            SpecUserError::UnknownGroupsPolicy(policy) => format!(
                "{SPEC_OPTS}not implemented in this containerd release: SupplementalGroupsPolicy={policy}"
            ),
            SpecUserError::UidOutOfRange(user) => format!(
                "{NEW_CONTAINER}invalid USER value {}: uid out of range",
                go_quote(user)
            ),
            SpecUserError::GidOutOfRange(user) => format!(
                "{NEW_CONTAINER}invalid USER value {}: gid out of range",
                go_quote(user)
            ),
            SpecUserError::InvalidUser(user) => format!("{NEW_CONTAINER}invalid USER value {user}"),
            SpecUserError::NoUsersFound => format!("{NEW_CONTAINER}no users found"),
            SpecUserError::NoGroupsFound => format!("{NEW_CONTAINER}no groups found"),
            SpecUserError::NoEtc => format!("{NEW_CONTAINER}lstat etc: file does not exist"),
        }
    }
}

/// How `strconv.Atoi` reads one part of a user string.
enum IdPart {
    /// A number in range (already truncated to 32 bits where the release does).
    Id(u32),
    /// A number outside `0..=2147483647` (only with the range check).
    OutOfRange,
    /// Not a number: a name.
    Name,
}

fn id_part(text: &str, rules: SpecUserRules) -> IdPart {
    match text.parse::<i64>() {
        Ok(v) if rules.id_range_checked && !(0..=i64::from(i32::MAX)).contains(&v) => {
            IdPart::OutOfRange
        }
        // Go's uint32(int) conversion keeps the low 32 bits.
        Ok(v) => IdPart::Id(v as u32),
        Err(e)
            if rules.id_range_checked
                && matches!(
                    e.kind(),
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                ) =>
        {
            IdPart::OutOfRange
        }
        Err(_) => IdPart::Name,
    }
}

/// containerd's `mergeGids`: the union, sorted.
fn merge_gids(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut gids: Vec<u32> = a.iter().chain(b).copied().collect();
    gids.sort_unstable();
    gids.dedup();
    gids
}

/// `ensureAdditionalGids`: the primary gid goes first unless it is already listed.
fn ensure_primary_gid(user: &mut SpecUser) {
    if !user.additional_gids.contains(&user.gid) {
        user.additional_gids.insert(0, user.gid);
    }
}

/// The image's user database; `None` for a file the image does not have.
struct UserDb {
    users: Option<Arc<Vec<PasswdEntry>>>,
    groups: Option<Arc<Vec<GroupEntry>>>,
}

impl UserDb {
    fn user_named(&self, name: &str) -> Result<&PasswdEntry, SpecUserError> {
        let users = self.users.as_ref().ok_or(SpecUserError::NoEtc)?;
        users
            .iter()
            .find(|u| u.name == name)
            .ok_or(SpecUserError::NoUsersFound)
    }

    fn user_with_uid(&self, uid: i64) -> Option<&PasswdEntry> {
        self.users
            .as_ref()?
            .iter()
            .find(|u| i64::from(u.uid) == uid)
    }
}

/// `oci.WithUser(userstr)`: uid and gid from a `user`, `uid`, `user:group`, `uid:gid`, ...
/// string, the additional gids reset to the primary one.
fn with_user(
    user: &mut SpecUser,
    userstr: &str,
    db: &UserDb,
    rules: SpecUserRules,
) -> Result<(), SpecUserError> {
    user.additional_gids.clear();
    let parts: Vec<&str> = userstr.split(':').collect();
    match parts[..] {
        [who] => match id_part(who, rules) {
            IdPart::OutOfRange => return Err(SpecUserError::UidOutOfRange(userstr.to_owned())),
            // WithUserID: a uid absent from /etc/passwd (or without one) gets gid 0.
            IdPart::Id(uid) => {
                user.uid = uid;
                user.gid = db.user_with_uid(i64::from(uid)).map_or(0, |u| u.gid);
            }
            // WithUsername: the name must be in /etc/passwd.
            IdPart::Name => {
                let entry = db.user_named(who)?;
                (user.uid, user.gid) = (entry.uid, entry.gid);
            }
        },
        [who, group] => {
            let (mut uid, mut gid) = (0, 0);
            let username = match id_part(who, rules) {
                IdPart::OutOfRange => {
                    return Err(SpecUserError::UidOutOfRange(userstr.to_owned()));
                }
                IdPart::Id(id) => {
                    uid = id;
                    ""
                }
                IdPart::Name => who,
            };
            let groupname = match id_part(group, rules) {
                IdPart::OutOfRange => {
                    return Err(SpecUserError::GidOutOfRange(userstr.to_owned()));
                }
                IdPart::Id(id) => {
                    gid = id;
                    ""
                }
                IdPart::Name => group,
            };
            if !username.is_empty() {
                uid = db.user_named(username)?.uid;
            }
            if !groupname.is_empty() {
                let groups = db.groups.as_ref().ok_or(SpecUserError::NoEtc)?;
                gid = groups
                    .iter()
                    .find(|g| g.name == groupname)
                    .ok_or(SpecUserError::NoGroupsFound)?
                    .gid;
            }
            (user.uid, user.gid) = (uid, gid);
        }
        _ => return Err(SpecUserError::InvalidUser(userstr.to_owned())),
    }
    ensure_primary_gid(user);
    Ok(())
}

/// `oci.WithAdditionalGIDs(userstr)`: the groups of `/etc/group` that list the user (a
/// name, or the passwd name of a uid) as a member, except the group named like the user;
/// then the primary gid.
fn with_additional_gids(user: &mut SpecUser, userstr: &str, db: &UserDb) {
    user.additional_gids.clear();
    let username = match userstr.parse::<i64>() {
        Ok(uid) => db.user_with_uid(uid).map(|u| u.name.as_str()),
        Err(_) => Some(userstr),
    };
    if let (Some(username), Some(groups)) = (username, &db.groups) {
        user.additional_gids = groups
            .iter()
            .filter(|g| g.name != username && g.members.iter().any(|m| m == username))
            .map(|g| g.gid)
            .collect();
    }
    ensure_primary_gid(user);
}

/// containerd's CreateContainer rule for the OCI spec's `process.user`, given the image's
/// `/etc/passwd` and `/etc/group` (`None`: the image has no `/etc`).
///
/// In order (containerd 2.3.4 `internal/cri/server/container_create.go`,
/// `container_create_linux.go`, `internal/cri/opts/spec_opts.go`, `pkg/oci/spec_opts.go`;
/// 1.6.20 the same in `pkg/cri/server/container_create_linux.go`, `oci/spec_opts.go`):
///
/// 1. the user string is `run_as_username`, else `run_as_user`, with `:<run_as_group>`
///    (a group without a user fails), else the image `User`;
/// 2. the spec starts as uid 0, gid 0 with the supplemental groups (sorted);
/// 3. a non-empty user string sets uid and gid from `/etc/passwd` and `/etc/group`
///    (`oci.WithUser`) and resets the additional gids to the primary gid;
/// 4. with the Merge policy, the `/etc/group` memberships of `run_as_username`, else
///    `run_as_user`, else (2.3) the image user's name, else uid 0 are merged in, with the
///    primary gid;
/// 5. the supplemental groups are merged in. Every merge sorts and de-duplicates.
///
/// ```
/// use cri_fake::process::{rootfs, users};
///
/// let request = users::UserRequest {
///     run_as_user: Some(1000),
///     run_as_group: Some(2000),
///     supplemental_groups: vec![6, 5],
///     ..Default::default()
/// };
/// let user = users::spec_user(
///     &request,
///     Some(rootfs::BUSYBOX_PASSWD),
///     Some(rootfs::BUSYBOX_GROUP),
///     users::SpecUserRules::default(),
/// )
/// .unwrap();
/// assert_eq!((user.uid, user.gid, user.additional_gids), (1000, 2000, vec![5, 6, 2000]));
/// ```
pub fn spec_user(
    request: &UserRequest,
    passwd: Option<&str>,
    group: Option<&str>,
    rules: SpecUserRules,
) -> Result<SpecUser, SpecUserError> {
    // util.GenerateUserString, then the image User.
    let mut userstr = request
        .run_as_user
        .map(|u| u.to_string())
        .unwrap_or_default();
    if !request.run_as_username.is_empty() {
        userstr = request.run_as_username.clone();
    }
    if let Some(gid) = request.run_as_group {
        if userstr.is_empty() {
            return Err(SpecUserError::GroupWithoutUser(gid));
        }
        userstr = format!("{userstr}:{gid}");
    }
    if userstr.is_empty() {
        userstr = request.image_user.clone();
    }
    let merge = match (rules.groups_policy, request.supplemental_groups_policy) {
        (false, _) | (true, 0) => true,
        (true, 1) => false,
        (true, policy) => return Err(SpecUserError::UnknownGroupsPolicy(policy)),
    };
    let db = UserDb {
        users: passwd.map(passwd_entries),
        groups: group.map(group_entries),
    };
    // Go's uint32(int64) conversion keeps the low 32 bits.
    let supplemental: Vec<u32> = request
        .supplemental_groups
        .iter()
        .map(|&g| g as u32)
        .collect();
    let mut user = SpecUser {
        uid: 0,
        gid: 0,
        additional_gids: merge_gids(&[], &supplemental),
    };
    if !userstr.is_empty() {
        with_user(&mut user, &userstr, &db, rules)?;
    }
    if merge {
        let member = if !request.run_as_username.is_empty() {
            request.run_as_username.clone()
        } else if let Some(uid) = request.run_as_user {
            uid.to_string()
        } else if rules.image_user_groups && !request.image_user.is_empty() {
            let name = request.image_user.split(':').next().unwrap_or_default();
            name.to_owned()
        } else {
            "0".to_owned()
        };
        let before = std::mem::take(&mut user.additional_gids);
        with_additional_gids(&mut user, &member, &db);
        user.additional_gids = merge_gids(&user.additional_gids, &before);
    }
    user.additional_gids = merge_gids(&user.additional_gids, &supplemental);
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:www-data\nwww-data:x:33:\nnogroup:x:65534:\n";

    const RULES_23: SpecUserRules = SpecUserRules {
        image_user_groups: true,
        groups_policy: true,
        id_range_checked: true,
    };
    const RULES_16: SpecUserRules = SpecUserRules {
        image_user_groups: false,
        groups_policy: false,
        id_range_checked: false,
    };
    const MEMBER_GROUPS: &str = "root:x:0:\nwheel:x:10:root\nwww-data:x:33:www-data\nstaff:x:50:www-data,nobody\nnobody:x:99:nobody\nnogroup:x:65534:\n";

    #[test]
    fn a_parsed_file_is_remembered_by_its_text_and_a_changed_file_is_parsed_again() {
        let first = passwd_entries(PASSWD);
        assert!(Arc::ptr_eq(&first, &passwd_entries(PASSWD)));
        assert_eq!(*first, parse_passwd(PASSWD));
        let changed = format!("{PASSWD}extra:x:7:7:extra:/:/bin/sh\n");
        let second = passwd_entries(&changed);
        assert_eq!(second.len(), first.len() + 1);
        assert_eq!(second.last().map(|e| e.uid), Some(7));
        assert_eq!(*group_entries(GROUP), parse_group(GROUP));
    }

    fn ids(user: &SpecUser) -> (u32, u32, Vec<u32>) {
        (user.uid, user.gid, user.additional_gids.clone())
    }

    #[test]
    fn spec_user_adds_group_memberships_but_not_the_group_named_like_the_user() {
        let root = spec_user(
            &UserRequest::default(),
            Some(PASSWD),
            Some(MEMBER_GROUPS),
            RULES_23,
        );
        assert_eq!(ids(&root.unwrap()), (0, 0, vec![0, 10]));
        // nobody (gid 65534) is listed in its own group 99, which does not count.
        let nobody = UserRequest {
            run_as_username: "nobody".into(),
            supplemental_groups: vec![7],
            ..Default::default()
        };
        let nobody = spec_user(&nobody, Some(PASSWD), Some(MEMBER_GROUPS), RULES_23).unwrap();
        assert_eq!(ids(&nobody), (65534, 65534, vec![7, 50, 65534]));
        let strict = UserRequest {
            run_as_username: "nobody".into(),
            supplemental_groups: vec![7],
            supplemental_groups_policy: 1,
            ..Default::default()
        };
        let strict = spec_user(&strict, Some(PASSWD), Some(MEMBER_GROUPS), RULES_23).unwrap();
        assert_eq!(ids(&strict), (65534, 65534, vec![7, 65534]));
        let strict_16 = spec_user(
            &UserRequest {
                supplemental_groups_policy: 1,
                ..Default::default()
            },
            Some(PASSWD),
            Some(MEMBER_GROUPS),
            RULES_16,
        );
        assert_eq!(
            ids(&strict_16.unwrap()),
            (0, 0, vec![0, 10]),
            "1.6 always merges"
        );
    }

    #[test]
    fn an_image_user_takes_its_own_memberships_in_2_3_and_roots_in_1_6() {
        let request = UserRequest {
            image_user: "www-data".into(),
            ..Default::default()
        };
        let new = spec_user(&request, Some(PASSWD), Some(MEMBER_GROUPS), RULES_23).unwrap();
        assert_eq!(ids(&new), (33, 33, vec![33, 50]));
        let old = spec_user(&request, Some(PASSWD), Some(MEMBER_GROUPS), RULES_16).unwrap();
        assert_eq!(ids(&old), (33, 33, vec![10, 33]));
    }

    #[test]
    fn out_of_range_ids_fail_in_2_3_and_wrap_in_1_6() {
        let request = UserRequest {
            run_as_user: Some(-1),
            run_as_group: Some(4_294_967_297),
            ..Default::default()
        };
        assert_eq!(
            spec_user(&request, Some(PASSWD), Some(GROUP), RULES_23),
            Err(SpecUserError::UidOutOfRange("-1:4294967297".into()))
        );
        let old = spec_user(&request, Some(PASSWD), Some(GROUP), RULES_16).unwrap();
        assert_eq!(ids(&old), (u32::MAX, 1, vec![1]));
        let gid = UserRequest {
            run_as_user: Some(1),
            run_as_group: Some(-5),
            ..Default::default()
        };
        assert_eq!(
            spec_user(&gid, Some(PASSWD), Some(GROUP), RULES_23)
                .unwrap_err()
                .create_message(),
            "failed to create containerd container: invalid USER value \"1:-5\": gid out of range"
        );
    }

    #[test]
    fn names_in_an_image_without_etc_cannot_be_looked_up() {
        let name = UserRequest {
            image_user: "1000:staff".into(),
            ..Default::default()
        };
        assert_eq!(
            spec_user(&name, None, None, RULES_23),
            Err(SpecUserError::NoEtc)
        );
        let numeric = UserRequest {
            image_user: "1000:1000".into(),
            ..Default::default()
        };
        assert_eq!(
            ids(&spec_user(&numeric, None, None, RULES_23).unwrap()),
            (1000, 1000, vec![1000])
        );
    }

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
