//! A container's security context through gRPC: capabilities (`brctl`, `ping`,
//! `hostname`), masked and read-only paths, seccomp localhost profiles (loaded at
//! CreateContainer, with containerd's errors), privileged containers, and
//! `no_new_privs` with a set-user-ID binary. The commands are critest v1.32.0's
//! "Security Context" checks and their neighbours.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cri_proto::v1::*;
use tonic::Code;

const NONEWPRIVS: &str = "registry.k8s.io/e2e-test-images/nonewprivs:1.3";

/// A `sleep 1000` busybox container with `security`.
fn secure(name: &str, security: LinuxContainerSecurityContext) -> ContainerConfig {
    let mut config = container_config(name, &["sleep", "1000"]);
    config.linux = Some(LinuxContainerConfig {
        security_context: Some(security),
        ..Default::default()
    });
    config
}

fn caps(add: &[&str], drop: &[&str]) -> LinuxContainerSecurityContext {
    LinuxContainerSecurityContext {
        capabilities: Some(Capability {
            add_capabilities: add.iter().map(|s| s.to_string()).collect(),
            drop_capabilities: drop.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn localhost(path: &str) -> LinuxContainerSecurityContext {
    LinuxContainerSecurityContext {
        seccomp: Some(SecurityProfile {
            profile_type: security_profile::ProfileType::Localhost as i32,
            localhost_ref: path.into(),
        }),
        ..Default::default()
    }
}

/// A ready pod with a network namespace of its own (the fixtures' pods share the
/// node's, where a bridge one container adds is there for all).
async fn own_network_pod(env: &mut Env, name: &str) -> (String, PodSandboxConfig) {
    let mut config = pod_config(name);
    if let Some(options) = config
        .linux
        .as_mut()
        .and_then(|l| l.security_context.as_mut())
        .and_then(|s| s.namespace_options.as_mut())
    {
        options.network = NamespaceMode::Pod as i32;
    }
    let id = env.run_pod(config.clone()).await;
    (id, config)
}

/// Creates and starts `config` in a new pod; the container id.
async fn run(env: &mut Env, pod_name: &str, config: ContainerConfig) -> String {
    let (pod, pod_config) = own_network_pod(env, pod_name).await;
    let id = env.create(&pod, &pod_config, config).await.unwrap();
    env.start(&id).await.unwrap();
    id
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn brctl_addbr_needs_net_admin_or_privileged() {
    let mut env = start().await;
    let plain = run(&mut env, "plain", secure("c", Default::default())).await;
    let r = env
        .exec(&plain, &["brctl", "addbr", "foobar"], 5)
        .await
        .unwrap();
    assert_eq!(r.exit_code, 1);
    assert_eq!(
        text(&r.stderr),
        "brctl: bridge foobar: Operation not permitted\n"
    );
    let admin = run(&mut env, "admin", secure("c", caps(&["NET_ADMIN"], &[]))).await;
    let r = env
        .exec(&admin, &["brctl", "addbr", "foobar"], 5)
        .await
        .unwrap();
    assert_eq!((r.exit_code, text(&r.stderr)), (0, String::new()));
    let r = env.exec(&admin, &["brctl", "show"], 5).await.unwrap();
    assert!(
        text(&r.stdout).contains("\nfoobar\t\t8000."),
        "{}",
        text(&r.stdout)
    );
    let privileged = LinuxContainerSecurityContext {
        privileged: true,
        ..Default::default()
    };
    let privileged = run(&mut env, "priv", secure("c", privileged)).await;
    let r = env
        .exec(&privileged, &["brctl", "addbr", "foobar"], 5)
        .await
        .unwrap();
    assert_eq!((r.exit_code, text(&r.stderr)), (0, String::new()));
    env.fake.shutdown().await;
}

#[tokio::test]
async fn ping_answers_with_net_raw_and_is_denied_without_it() {
    let mut env = start().await;
    let (pod, pod_config) = own_network_pod(&mut env, "pinger").await;
    let id = env
        .create(&pod, &pod_config, secure("c", Default::default()))
        .await
        .unwrap();
    env.start(&id).await.unwrap();
    let ip = env
        .rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap()
        .network
        .unwrap()
        .ip;
    assert!(!ip.is_empty(), "the pod has an IP");
    for target in ["127.0.0.1", ip.as_str()] {
        let r = env
            .exec(&id, &["ping", "-c", "1", target], 5)
            .await
            .unwrap();
        assert_eq!(
            (r.exit_code, text(&r.stderr)),
            (0, String::new()),
            "{target}"
        );
        assert!(
            text(&r.stdout).contains(&format!("64 bytes from {target}: seq=0 ttl=64")),
            "{}",
            text(&r.stdout)
        );
    }
    let dropped = env
        .create(&pod, &pod_config, secure("d", caps(&[], &["NET_RAW"])))
        .await
        .unwrap();
    env.start(&dropped).await.unwrap();
    let r = env.exec(&dropped, &["ping", "127.0.0.1"], 5).await.unwrap();
    assert_eq!(r.exit_code, 1);
    assert_eq!(
        text(&r.stdout),
        "PING 127.0.0.1 (127.0.0.1): 56 data bytes\n"
    );
    assert_eq!(text(&r.stderr), "ping: permission denied (are you root?)\n");
    env.fake.shutdown().await;
}

#[tokio::test]
async fn a_masked_file_cannot_be_run_and_privileged_containers_have_no_masked_paths() {
    let mut env = start().await;
    let masked = LinuxContainerSecurityContext {
        masked_paths: vec!["/bin/ls".into()],
        ..Default::default()
    };
    let id = run(&mut env, "masked", secure("c", masked.clone())).await;
    let r = env.exec(&id, &["/bin/sh", "-c", "ls"], 5).await.unwrap();
    assert_eq!(text(&r.stderr), "/bin/sh: ls: Permission denied\n");
    assert_eq!(r.exit_code, 127);
    let r = env.exec(&id, &["cat", "/bin/ls"], 5).await.unwrap();
    assert_eq!((r.exit_code, r.stdout.len()), (0, 0));
    let verbose = env
        .rt
        .container_status(ContainerStatusRequest {
            container_id: id.clone(),
            verbose: true,
        })
        .await
        .unwrap()
        .into_inner();
    let info: serde_json::Value = serde_json::from_str(&verbose.info["info"]).unwrap();
    assert_eq!(
        info["runtimeSpec"]["linux"]["maskedPaths"],
        serde_json::json!(["/bin/ls"])
    );
    assert!(info["runtimeSpec"]["linux"].get("readonlyPaths").is_none());
    let privileged = LinuxContainerSecurityContext {
        privileged: true,
        ..masked
    };
    let id = run(&mut env, "priv", secure("c", privileged)).await;
    let r = env.exec(&id, &["/bin/sh", "-c", "ls /"], 5).await.unwrap();
    assert_eq!((r.exit_code, text(&r.stderr)), (0, String::new()));
    env.fake.shutdown().await;
}

#[tokio::test]
async fn a_readonly_path_refuses_writes() {
    let mut env = start().await;
    let readonly = LinuxContainerSecurityContext {
        readonly_paths: vec!["/tmp".into()],
        ..Default::default()
    };
    let id = run(&mut env, "ro", secure("c", readonly)).await;
    let r = env.exec(&id, &["touch", "/tmp/test"], 5).await.unwrap();
    assert_eq!(r.exit_code, 1);
    assert_eq!(text(&r.stderr), "touch: /tmp/test: Read-only file system\n");
    let r = env.exec(&id, &["touch", "/root/test"], 5).await.unwrap();
    assert_eq!(r.exit_code, 0);
    env.fake.shutdown().await;
}

#[tokio::test]
async fn a_localhost_seccomp_profile_blocks_its_syscalls_and_shows_in_proc_status() {
    let mut env = start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("block-chmod.json");
    std::fs::write(
        &path,
        r#"{
     "defaultAction": "SCMP_ACT_ALLOW",
     "syscalls": [ { "names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO" } ]
}"#,
    )
    .unwrap();
    let id = run(
        &mut env,
        "seccomp",
        secure("c", localhost(&path.display().to_string())),
    )
    .await;
    let r = env.exec(&id, &["chmod", "400", "/"], 5).await.unwrap();
    assert_eq!(r.exit_code, 1);
    assert_eq!(text(&r.stderr), "chmod: /: Operation not permitted\n");
    let r = env
        .exec(&id, &["grep", "Seccomp:", "/proc/self/status"], 5)
        .await
        .unwrap();
    assert_eq!(text(&r.stdout), "Seccomp:\t2\n");
    env.fake.shutdown().await;
}

#[tokio::test]
async fn a_missing_or_invalid_seccomp_profile_fails_create_container_but_not_when_privileged() {
    let mut env = start().await;
    let (pod, pod_config) = env.pod("seccomp").await;
    let missing = "/no/such/profile.json";
    assert_status(
        env.create(&pod, &pod_config, secure("c", localhost(missing)))
            .await,
        Code::Unknown,
        "failed to create containerd container: cannot load seccomp profile \"/no/such/profile.json\": open /no/such/profile.json: no such file or directory",
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "not json").unwrap();
    let bad = bad.display().to_string();
    let err = env
        .create(&pod, &pod_config, secure("c", localhost(&bad)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unknown);
    assert!(
        err.message().starts_with(&format!(
            "failed to create containerd container: decoding seccomp profile failed \"{bad}\": "
        )),
        "{}",
        err.message()
    );
    // The failed creates released the name; privileged containers load no profile.
    let privileged = LinuxContainerSecurityContext {
        privileged: true,
        ..localhost(missing)
    };
    let id = env
        .create(&pod, &pod_config, secure("c", privileged))
        .await
        .unwrap();
    env.start(&id).await.unwrap();
    env.fake.shutdown().await;
}

#[tokio::test]
async fn hostname_is_set_with_sys_admin_unless_a_profile_blocks_it_and_privileged_ignores_the_profile()
 {
    let mut env = start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("block-host-name.json");
    std::fs::write(
        &path,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["sethostname"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let path = path.display().to_string();
    let unconfined = LinuxContainerSecurityContext {
        seccomp: Some(SecurityProfile {
            profile_type: security_profile::ProfileType::Unconfined as i32,
            ..Default::default()
        }),
        ..caps(&["SYS_ADMIN"], &[])
    };
    let blocked = LinuxContainerSecurityContext { ..localhost(&path) };
    let blocked_admin = LinuxContainerSecurityContext {
        capabilities: caps(&["SYS_ADMIN"], &[]).capabilities,
        ..localhost(&path)
    };
    let privileged = LinuxContainerSecurityContext {
        privileged: true,
        ..localhost(&path)
    };
    for (name, security, code, stderr) in [
        ("unconfined", unconfined, 0, ""),
        (
            "blocked",
            blocked,
            1,
            "hostname: sethostname: Operation not permitted\n",
        ),
        (
            "blocked-admin",
            blocked_admin,
            1,
            "hostname: sethostname: Operation not permitted\n",
        ),
        ("privileged", privileged, 0, ""),
        (
            "default",
            Default::default(),
            1,
            "hostname: sethostname: Operation not permitted\n",
        ),
    ] {
        let id = run(&mut env, name, secure("c", security)).await;
        let r = env
            .exec(&id, &["hostname", "ANewHostName"], 5)
            .await
            .unwrap();
        assert_eq!(
            (r.exit_code, text(&r.stderr).as_str()),
            (code, stderr),
            "{name}"
        );
        if code == 0 {
            let r = env.exec(&id, &["hostname"], 5).await.unwrap();
            assert_eq!(text(&r.stdout), "ANewHostName\n", "{name}");
        }
    }
    env.fake.shutdown().await;
}

#[tokio::test]
async fn a_setuid_root_binary_escalates_unless_no_new_privs() {
    let mut env = start().await;
    env.img
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: NONEWPRIVS.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    for (no_new_privs, expected) in [
        (false, "Effective uid: 0\n"),
        (true, "Effective uid: 1000\n"),
    ] {
        let mut config = secure(
            "nnp",
            LinuxContainerSecurityContext {
                no_new_privs,
                run_as_user: Some(Int64Value { value: 1000 }),
                ..Default::default()
            },
        );
        config.image = Some(ImageSpec {
            image: NONEWPRIVS.into(),
            ..Default::default()
        });
        let id = run(&mut env, &format!("nnp-{no_new_privs}"), config).await;
        let r = env.exec(&id, &["nnp"], 5).await.unwrap();
        assert_eq!((r.exit_code, text(&r.stdout).as_str()), (0, expected));
        let r = env.exec(&id, &["id", "-u"], 5).await.unwrap();
        assert_eq!(text(&r.stdout), "1000\n");
    }
    env.fake.shutdown().await;
}
