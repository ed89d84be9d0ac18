//! Users: id, whoami, groups, HOME and the environment, permissions.

use super::{busybox_spec, run_in, sim_with};
use crate::process::{SimSpec, UserSpec};

async fn in_user(user: UserSpec, script: &str) -> super::Run {
    let sim = sim_with(SimSpec {
        user,
        ..busybox_spec()
    });
    let r = run_in(&sim, &["sh", "-c", script]).await;
    sim.shutdown().await;
    r
}

#[tokio::test]
async fn root_is_the_default_user_like_in_the_busybox_image() {
    let r = in_user(
        UserSpec::default(),
        "id; id -u; id -g; id -G; id -un; whoami; groups",
    )
    .await;
    assert_eq!(
        r.out(),
        "uid=0(root) gid=0(root) groups=0(root)\n0\n0\n0\nroot\nroot\nroot\n"
    );
}

#[tokio::test]
async fn env_prints_the_image_env_then_hostname_then_home() {
    let sim = sim_with(busybox_spec());
    let r = run_in(&sim, &["env"]).await;
    assert_eq!(r.out(), "PATH=/bin\nHOSTNAME=vm\nHOME=/root\n");
    let r = run_in(&sim, &["sh", "-c", "id; pwd"]).await;
    assert_eq!(r.out(), "uid=0(root) gid=0(root) groups=0(root)\n/\n");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_uid_absent_from_passwd_has_no_name_and_gid_0() {
    let user = UserSpec {
        uid: Some(1000),
        ..Default::default()
    };
    let r = in_user(
        user,
        "id; id -u; id -un; echo $?; echo $HOME; whoami; echo $?",
    )
    .await;
    assert_eq!(
        r.out(),
        "uid=1000 gid=0(root) groups=0(root)\n1000\n1000\n1\n/\n1\n"
    );
    assert_eq!(r.err(), "whoami: unknown uid 1000\n");
}

#[tokio::test]
async fn uid_and_gid_absent_from_passwd_and_group_print_numbers_only() {
    let user = UserSpec {
        uid: Some(1000),
        gid: Some(1000),
        ..Default::default()
    };
    let r = in_user(user, "id; id -G").await;
    assert_eq!(r.out(), "uid=1000 gid=1000 groups=1000\n1000\n");
}

#[tokio::test]
async fn a_username_is_looked_up_in_passwd_with_supplemental_groups() {
    let user = UserSpec {
        username: Some("www-data".into()),
        supplemental_groups: vec![10, 5000],
        ..Default::default()
    };
    let r = in_user(user, "id; id -G; id -Gn; echo $HOME; whoami").await;
    assert_eq!(
        r.out(),
        "uid=33(www-data) gid=33(www-data) groups=10(wheel),33(www-data),5000\n10 33 5000\nwheel www-data 5000\n/var/www\nwww-data\n"
    );
}

#[tokio::test]
async fn nobody_gets_nogroup_and_home_from_passwd() {
    let user = UserSpec {
        username: Some("nobody".into()),
        ..Default::default()
    };
    let r = in_user(user, "id; env | grep HOME").await;
    assert_eq!(
        r.out(),
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\nHOME=/home\n"
    );
}

#[tokio::test]
async fn id_of_a_named_user_reads_passwd() {
    let r = in_user(UserSpec::default(), "id nobody; id ghost; echo $?").await;
    assert_eq!(
        r.out(),
        "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n1\n"
    );
    assert_eq!(r.err(), "id: unknown user ghost\n");
}

#[tokio::test]
async fn a_non_root_user_cannot_write_root_owned_files_but_can_write_tmp() {
    let user = UserSpec {
        uid: Some(1000),
        ..Default::default()
    };
    let r = in_user(
        user,
        "echo x >> /etc/passwd; echo $?; touch /etc/new; echo $?; echo ok > /tmp/mine && cat /tmp/mine; stat -c '%A %u %g %s %n' /tmp/mine; rm /etc/group; echo $?",
    )
    .await;
    assert_eq!(r.out(), "1\n1\nok\n-rw-r--r-- 1000 0 3 /tmp/mine\n1\n");
    assert_eq!(
        r.err(),
        "sh: can't create /etc/passwd: Permission denied\ntouch: /etc/new: Permission denied\nrm: can't remove '/etc/group': Permission denied\n"
    );
}

#[tokio::test]
async fn the_spec_error_names_an_unknown_user_like_runc() {
    let sim = sim_with(SimSpec {
        user: UserSpec {
            username: Some("ghost".into()),
            ..Default::default()
        },
        ..busybox_spec()
    });
    assert_eq!(
        sim.user_error(),
        Some("unable to find user ghost: no matching entries in passwd file")
    );
    sim.shutdown().await;
}
