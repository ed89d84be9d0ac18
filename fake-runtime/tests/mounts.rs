//! Host mounts through gRPC: what ContainerStatus reports of them, and how a
//! read-only mount behaves in the container.

mod common;

use common::*;
use cri_proto::v1::*;

fn with_mounts(name: &str, command: &[&str], mounts: Vec<Mount>) -> ContainerConfig {
    let mut config = container_config(name, command);
    config.mounts = mounts;
    config
}

#[tokio::test]
async fn container_status_reports_the_mounts_of_the_create_request_as_given() {
    let mut env = start().await;
    let (pod_id, pod) = env.pod("mounts").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let host = dir.path().display().to_string();
    let mounts = vec![
        Mount {
            container_path: "/data".into(),
            host_path: host.clone(),
            readonly: false,
            selinux_relabel: false,
            propagation: MountPropagation::PropagationBidirectional as i32,
            ..Default::default()
        },
        Mount {
            container_path: "/ro".into(),
            host_path: host.clone(),
            readonly: true,
            selinux_relabel: true,
            propagation: MountPropagation::PropagationHostToContainer as i32,
            uid_mappings: vec![IdMapping {
                host_id: 1000,
                container_id: 0,
                length: 1,
            }],
            ..Default::default()
        },
    ];
    let id = env
        .create(
            &pod_id,
            &pod,
            with_mounts("c", &["sleep", "60"], mounts.clone()),
        )
        .await
        .expect("CreateContainer");
    assert_eq!(env.status(&id).await.expect("status").mounts, mounts);
    env.start(&id).await.expect("StartContainer");
    assert_eq!(env.status(&id).await.expect("status").mounts, mounts);
}

#[tokio::test]
async fn container_status_of_a_container_without_mounts_has_none() {
    let mut env = start().await;
    let (pod_id, pod) = env.pod("nomounts").await;
    let id = env
        .create(&pod_id, &pod, container_config("c", &["sleep", "60"]))
        .await
        .expect("CreateContainer");
    assert_eq!(env.status(&id).await.expect("status").mounts, Vec::new());
}

#[tokio::test]
async fn a_readonly_mount_refuses_writes_with_busyboxs_text_and_leaves_the_host_untouched() {
    let mut env = start().await;
    let (pod_id, pod) = env.pod("ro").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mounts = vec![Mount {
        container_path: "/mnt".into(),
        host_path: dir.path().display().to_string(),
        readonly: true,
        ..Default::default()
    }];
    let id = env
        .create(&pod_id, &pod, with_mounts("c", &["sleep", "60"], mounts))
        .await
        .expect("CreateContainer");
    env.start(&id).await.expect("StartContainer");
    let r = env
        .exec(&id, &["touch", "/mnt/file"], 5)
        .await
        .expect("exec");
    assert_eq!(r.exit_code, 1);
    assert_eq!(r.stderr, b"touch: /mnt/file: Read-only file system\n");
    assert!(!dir.path().join("file").exists());
}
