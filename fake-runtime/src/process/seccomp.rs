//! Seccomp: the filter a container's processes run under, parsed from an OCI (docker
//! format) JSON profile, and what it answers for a system call.
//!
//! Applets ask before the system calls they make (see `syscall_of` for the table of
//! applet operations and the calls glibc makes for them on x86_64): a call the profile
//! refuses with `SCMP_ACT_ERRNO` fails with its errno (`EPERM` when the rule gives
//! none, as runc does), and `SCMP_ACT_KILL` ends the process with SIGSYS.
//!
//! Only rules by name are modelled: argument conditions (`args`), `includes`/`excludes`
//! (capabilities, architectures) and `architectures` are accepted and ignored; a rule
//! with argument conditions is taken to match every call (its effect then is the
//! strictest).

use serde::Deserialize;

/// What a filter does with a system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeccompAction {
    /// `SCMP_ACT_ALLOW` (and `SCMP_ACT_LOG`, `SCMP_ACT_NOTIFY`, which let it run).
    Allow,
    /// `SCMP_ACT_ERRNO` (and `SCMP_ACT_TRACE` without a tracer): the call fails with
    /// this errno.
    Errno(i32),
    /// `SCMP_ACT_KILL`, `SCMP_ACT_KILL_THREAD`, `SCMP_ACT_KILL_PROCESS`, `SCMP_ACT_TRAP`:
    /// the process ends with SIGSYS.
    Kill,
}

/// `EPERM`: what `SCMP_ACT_ERRNO` returns when the rule sets no `errnoRet`.
const EPERM: i32 = 1;
/// `ENOSYS`: what `SCMP_ACT_TRACE` returns when no tracer is attached.
const ENOSYS: i32 = 38;

/// A parsed seccomp profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompProfile {
    default: SeccompAction,
    rules: Vec<(Vec<String>, SeccompAction)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProfile {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    syscalls: Option<Vec<RawRule>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
}

fn action(name: &str, errno: Option<u32>) -> Result<SeccompAction, String> {
    let errno = errno.map(|e| i32::try_from(e).unwrap_or(i32::MAX));
    Ok(match name {
        "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" | "SCMP_ACT_NOTIFY" => SeccompAction::Allow,
        "SCMP_ACT_ERRNO" => SeccompAction::Errno(errno.unwrap_or(EPERM)),
        "SCMP_ACT_TRACE" => SeccompAction::Errno(errno.unwrap_or(ENOSYS)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" | "SCMP_ACT_KILL_PROCESS" | "SCMP_ACT_TRAP" => {
            SeccompAction::Kill
        }
        other => return Err(format!("invalid action {other:?}")),
    })
}

impl SeccompProfile {
    /// Parses a profile in the OCI runtime-spec / docker JSON format (`defaultAction`,
    /// `defaultErrnoRet`, `syscalls: [{names, action, errnoRet}]`). The error is the
    /// JSON decoder's (serde_json's words, not Go's `encoding/json`'s) or names the
    /// unknown action.
    pub fn parse(json: &[u8]) -> Result<SeccompProfile, String> {
        let raw: RawProfile = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let default = action(&raw.default_action, raw.default_errno_ret)?;
        let mut rules = Vec::new();
        for rule in raw.syscalls.unwrap_or_default() {
            let mut names = rule.names.unwrap_or_default();
            names.extend(rule.name);
            rules.push((names, action(&rule.action, rule.errno_ret)?));
        }
        Ok(SeccompProfile { default, rules })
    }

    /// What the filter does with `syscall` (by its name): the first rule naming it, or
    /// the default action.
    pub fn check(&self, syscall: &str) -> SeccompAction {
        self.rules
            .iter()
            .find(|(names, _)| names.iter().any(|n| n == syscall))
            .map_or(self.default, |(_, action)| *action)
    }
}

/// The system call glibc (x86_64) makes for an applet operation. The applets name the
/// calls busybox makes: `chmod` (chmod), `mkdir` (mkdir), `rmdir` (rmdir, rm -r),
/// `unlink` (rm), `symlink` (ln -s), `rename` (mv), `utimensat` and `openat` (touch of
/// an existing and a missing file), `kill` (kill), `sethostname` (hostname NAME),
/// `socket` (ping); glibc makes each under its own name on x86_64, so this is the
/// identity except for the calls glibc routes through another.
pub(crate) fn syscall_of(operation: &str) -> &str {
    match operation {
        // glibc's utimensat() for touch, and creat()/open() as openat.
        "open" | "creat" => "openat",
        other => other,
    }
}

/// `strerror` (glibc) of the errnos a profile may return; others read as
/// `Unknown error N`.
pub(crate) fn strerror(errno: i32) -> String {
    let text = match errno {
        1 => "Operation not permitted",
        2 => "No such file or directory",
        3 => "No such process",
        4 => "Interrupted system call",
        5 => "Input/output error",
        6 => "No such device or address",
        7 => "Argument list too long",
        8 => "Exec format error",
        9 => "Bad file descriptor",
        10 => "No child processes",
        11 => "Resource temporarily unavailable",
        12 => "Cannot allocate memory",
        13 => "Permission denied",
        14 => "Bad address",
        16 => "Device or resource busy",
        17 => "File exists",
        18 => "Invalid cross-device link",
        19 => "No such device",
        20 => "Not a directory",
        21 => "Is a directory",
        22 => "Invalid argument",
        23 => "Too many open files in system",
        24 => "Too many open files",
        25 => "Inappropriate ioctl for device",
        26 => "Text file busy",
        27 => "File too large",
        28 => "No space left on device",
        29 => "Illegal seek",
        30 => "Read-only file system",
        31 => "Too many links",
        32 => "Broken pipe",
        33 => "Numerical argument out of domain",
        34 => "Numerical result out of range",
        36 => "File name too long",
        38 => "Function not implemented",
        39 => "Directory not empty",
        40 => "Too many levels of symbolic links",
        95 => "Operation not supported",
        0 => "Success",
        _ => return format!("Unknown error {errno}"),
    };
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK_CHMOD: &str = r#"{
     "defaultAction": "SCMP_ACT_ALLOW",
     "syscalls": [ { "names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO" } ]
}"#;

    #[test]
    fn an_errno_rule_without_errno_ret_refuses_with_eperm_and_others_are_allowed() {
        let p = SeccompProfile::parse(BLOCK_CHMOD.as_bytes()).unwrap();
        assert_eq!(p.check("chmod"), SeccompAction::Errno(1));
        assert_eq!(p.check("fchmodat"), SeccompAction::Errno(1));
        assert_eq!(p.check("mkdir"), SeccompAction::Allow);
    }

    #[test]
    fn errno_ret_and_the_default_action_are_honoured() {
        let p = SeccompProfile::parse(
            br#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
                 "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
                             {"names":["sethostname"],"action":"SCMP_ACT_KILL"},
                             {"names":["chmod"],"action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap();
        assert_eq!(p.check("mkdir"), SeccompAction::Errno(13));
        assert_eq!(p.check("sethostname"), SeccompAction::Kill);
        assert_eq!(p.check("chmod"), SeccompAction::Allow);
        assert_eq!(p.check("unlink"), SeccompAction::Errno(38));
    }

    #[test]
    fn a_profile_that_is_not_json_or_has_an_unknown_action_is_an_error() {
        assert!(SeccompProfile::parse(b"not json").is_err());
        assert!(SeccompProfile::parse(b"{}").is_err());
        assert_eq!(
            SeccompProfile::parse(br#"{"defaultAction":"SCMP_ACT_BOGUS"}"#).unwrap_err(),
            "invalid action \"SCMP_ACT_BOGUS\""
        );
    }

    #[test]
    fn strerror_words_errnos_as_glibc() {
        assert_eq!(strerror(1), "Operation not permitted");
        assert_eq!(strerror(13), "Permission denied");
        assert_eq!(strerror(200), "Unknown error 200");
    }
}
