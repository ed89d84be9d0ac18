//! Security settings as the processes feel them: capabilities (`hostname`, `brctl`,
//! `ping`), masked and read-only paths, seccomp, setuid executables.

use std::sync::Arc;

use super::{busybox_spec, run_in, sim_with};
use crate::process::seccomp::SeccompProfile;
use crate::process::{ExitStatus, SecuritySpec, SimSpec};

fn with_security(security: SecuritySpec) -> SimSpec {
    SimSpec {
        security,
        ..busybox_spec()
    }
}

async fn run_spec(spec: SimSpec, args: &[&str]) -> super::Run {
    let sim = sim_with(spec);
    let r = run_in(&sim, args).await;
    sim.shutdown().await;
    r
}

fn profile(json: &str) -> Option<Arc<SeccompProfile>> {
    Some(Arc::new(SeccompProfile::parse(json.as_bytes()).unwrap()))
}

const BLOCK_CHMOD: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW",
    "syscalls":[{"names":["chmod","fchmodat"],"action":"SCMP_ACT_ERRNO"}]}"#;
const BLOCK_HOSTNAME: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW",
    "syscalls":[{"names":["sethostname"],"action":"SCMP_ACT_ERRNO"}]}"#;

#[tokio::test]
async fn setting_the_hostname_without_sys_admin_is_not_permitted() {
    let r = run_spec(busybox_spec(), &["hostname", "other"]).await;
    assert_eq!(r.status, ExitStatus::Exited(1));
    assert_eq!(r.err(), "hostname: sethostname: Operation not permitted\n");
    assert_eq!(r.out(), "");
}

#[tokio::test]
async fn with_sys_admin_the_hostname_is_set_and_shows_everywhere() {
    let sim = sim_with(with_security(SecuritySpec {
        add_capabilities: vec!["SYS_ADMIN".into()],
        ..Default::default()
    }));
    let r = run_in(&sim, &["hostname", "ANewHostName"]).await;
    assert_eq!(
        (r.code(), r.out(), r.err()),
        (0, String::new(), String::new())
    );
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "hostname; uname -n; cat /proc/sys/kernel/hostname",
        ],
    )
    .await;
    assert_eq!(r.out(), "ANewHostName\nANewHostName\nANewHostName\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn privileged_containers_may_set_the_hostname() {
    let spec = with_security(SecuritySpec {
        privileged: true,
        ..Default::default()
    });
    let r = run_spec(spec, &["hostname", "priv"]).await;
    assert_eq!((r.code(), r.err()), (0, String::new()));
}

#[tokio::test]
async fn a_seccomp_rule_refusing_sethostname_wins_over_sys_admin_but_not_over_privileged() {
    let blocked = with_security(SecuritySpec {
        add_capabilities: vec!["SYS_ADMIN".into()],
        seccomp_enforced: true,
        seccomp: profile(BLOCK_HOSTNAME),
        ..Default::default()
    });
    let r = run_spec(blocked, &["hostname", "x"]).await;
    assert_eq!(r.status, ExitStatus::Exited(1));
    assert_eq!(r.err(), "hostname: sethostname: Operation not permitted\n");
    let privileged = with_security(SecuritySpec {
        privileged: true,
        seccomp: profile(BLOCK_HOSTNAME),
        ..Default::default()
    });
    let r = run_spec(privileged, &["hostname", "x"]).await;
    assert_eq!((r.code(), r.err()), (0, String::new()));
}

#[tokio::test]
async fn a_seccomp_profile_blocking_chmod_makes_chmod_fail_with_eperm() {
    let spec = with_security(SecuritySpec {
        seccomp_enforced: true,
        seccomp: profile(BLOCK_CHMOD),
        ..Default::default()
    });
    let sim = sim_with(spec);
    let r = run_in(&sim, &["chmod", "400", "/"]).await;
    assert_eq!(r.status, ExitStatus::Exited(1));
    assert_eq!(r.err(), "chmod: /: Operation not permitted\n");
    // Other calls pass: mkdir works, and / keeps its mode.
    let r = run_in(&sim, &["sh", "-c", "mkdir /tmp/d && stat -c %a /"]).await;
    assert_eq!((r.code(), r.out()), (0, "755\n".to_owned()));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_seccomp_errno_ret_gives_that_errno_and_a_kill_action_ends_with_sigsys() {
    let spec = with_security(SecuritySpec {
        seccomp: profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
                {"names":["unlink"],"action":"SCMP_ACT_KILL"}]}"#,
        ),
        ..Default::default()
    });
    let sim = sim_with(spec);
    let r = run_in(&sim, &["mkdir", "/tmp/x"]).await;
    assert_eq!(
        r.err(),
        "mkdir: can't create directory '/tmp/x': Permission denied\n"
    );
    assert_eq!(r.code(), 1);
    let r = run_in(&sim, &["sh", "-c", "touch /tmp/f; rm /tmp/f"]).await;
    assert_eq!(r.code(), 128 + 31);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_masked_file_reads_empty_and_cannot_be_executed() {
    let spec = with_security(SecuritySpec {
        masked_paths: vec!["/bin/ls".into(), "/etc/passwd".into(), "/no/such".into()],
        ..Default::default()
    });
    let sim = sim_with(spec);
    let r = run_in(&sim, &["/bin/sh", "-c", "ls"]).await;
    assert_eq!(r.err(), "/bin/sh: ls: Permission denied\n");
    assert_eq!(r.code(), 127);
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "cat /etc/passwd | wc -c; echo x > /etc/passwd; cat /etc/passwd | wc -c",
        ],
    )
    .await;
    assert_eq!((r.out(), r.err()), ("0\n0\n".to_owned(), String::new()));
    // Other applets still run: busybox itself is not masked.
    let r = run_in(&sim, &["sh", "-c", "echo ok | cat"]).await;
    assert_eq!(r.out(), "ok\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_masked_directory_is_empty_and_read_only() {
    let spec = with_security(SecuritySpec {
        masked_paths: vec!["/etc".into()],
        ..Default::default()
    });
    let r = run_spec(spec, &["sh", "-c", "ls -a /etc; touch /etc/x"]).await;
    assert_eq!(r.out(), ".\n..\n");
    assert_eq!(r.err(), "touch: /etc/x: Read-only file system\n");
    assert_eq!(r.code(), 1);
}

#[tokio::test]
async fn a_readonly_path_refuses_writes_under_it_and_nowhere_else() {
    let spec = with_security(SecuritySpec {
        readonly_paths: vec!["/tmp".into()],
        ..Default::default()
    });
    let sim = sim_with(spec);
    let r = run_in(&sim, &["touch", "/tmp/test"]).await;
    assert_eq!(r.err(), "touch: /tmp/test: Read-only file system\n");
    assert_eq!(r.status, ExitStatus::Exited(1));
    let r = run_in(&sim, &["mkdir", "/tmp/d"]).await;
    assert_eq!(
        r.err(),
        "mkdir: can't create directory '/tmp/d': Read-only file system\n"
    );
    let r = run_in(&sim, &["touch", "/root/ok"]).await;
    assert_eq!((r.code(), r.err()), (0, String::new()));
    sim.shutdown().await;
}

fn nonewprivs_image(no_new_privs: bool) -> SimSpec {
    let mut spec = with_security(SecuritySpec {
        no_new_privs,
        ..Default::default()
    });
    spec.user.uid = Some(1000);
    spec.rootfs.push(crate::process::FileSeed::Program {
        path: "/usr/local/bin/nnp".into(),
        name: "nnp".into(),
        mode: 0o4755,
    });
    spec.rootfs.push(crate::process::FileSeed::Program {
        path: "/usr/local/bin/id-suid".into(),
        name: "id".into(),
        mode: 0o4755,
    });
    spec
}

#[tokio::test]
async fn a_setuid_root_binary_runs_with_euid_0_unless_no_new_privs() {
    let r = run_spec(nonewprivs_image(false), &["/usr/local/bin/nnp"]).await;
    assert_eq!((r.code(), r.out()), (0, "Effective uid: 0\n".to_owned()));
    let r = run_spec(nonewprivs_image(true), &["/usr/local/bin/nnp"]).await;
    assert_eq!(r.out(), "Effective uid: 1000\n");
}

#[tokio::test]
async fn a_setuid_exec_from_the_shell_changes_the_effective_uid_only_of_that_process() {
    let sim = sim_with(nonewprivs_image(false));
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "/usr/local/bin/id-suid -u; /usr/local/bin/id-suid -ru; id -u; /usr/local/bin/id-suid",
        ],
    )
    .await;
    assert_eq!(
        r.out(),
        "0\n1000\n1000\nuid=1000 gid=0(root) euid=0(root) groups=0(root)\n"
    );
    // `exec` keeps the pid and takes the file's owner too.
    let r = run_in(&sim, &["sh", "-c", "exec /usr/local/bin/nnp"]).await;
    assert_eq!(r.out(), "Effective uid: 0\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_setuid_bit_of_a_script_is_ignored() {
    let mut spec = nonewprivs_image(false);
    spec.rootfs.push(crate::process::FileSeed::File {
        path: "/usr/local/bin/script".into(),
        contents: bytes::Bytes::from_static(b"#!/bin/sh\nid -u\n"),
        mode: 0o4755,
    });
    let r = run_spec(spec, &["/usr/local/bin/script"]).await;
    assert_eq!(r.out(), "1000\n");
}

#[tokio::test]
async fn mv_touch_and_kill_consult_the_seccomp_profile_for_their_calls() {
    let spec = with_security(SecuritySpec {
        seccomp: profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["rename","openat","kill"],"action":"SCMP_ACT_ERRNO"}]}"#,
        ),
        ..Default::default()
    });
    let sim = sim_with(spec);
    let r = run_in(&sim, &["mv", "/etc/hosts", "/tmp/hosts"]).await;
    assert_eq!(
        (r.code(), r.err()),
        (
            1,
            "mv: can't rename '/etc/hosts': Operation not permitted\n".into()
        )
    );
    let r = run_in(&sim, &["touch", "/tmp/new"]).await;
    assert_eq!(
        (r.code(), r.err()),
        (1, "touch: /tmp/new: Operation not permitted\n".into())
    );
    // utimensat is allowed: touching an existing file works.
    let r = run_in(&sim, &["touch", "/etc/hosts"]).await;
    assert_eq!((r.code(), r.err()), (0, String::new()));
    let r = run_in(&sim, &["kill", "-0", "1"]).await;
    assert_eq!(
        (r.code(), r.err()),
        (
            1,
            "kill: can't kill pid 1: Operation not permitted\n".into()
        )
    );
    let r = run_in(&sim, &["kill", "1"]).await;
    assert_eq!(
        (r.code(), r.err()),
        (
            1,
            "kill: can't kill pid 1: Operation not permitted\n".into()
        )
    );
    sim.shutdown().await;
}
