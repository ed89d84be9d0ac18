//! Shared helpers for the fake runtime's end-to-end tests: start a fake, build
//! host-network pod configs and containers, assert exact gRPC errors.
#![allow(dead_code)]

use std::collections::HashMap;

use cri_fake::{FakeRuntime, fixtures};
use cri_proto::v1::*;
use cri_proto::{ImageServiceClient, RuntimeServiceClient};
use tonic::transport::Channel;

pub(crate) const BUSYBOX: &str = "busybox:1.36";

pub(crate) struct Env {
    pub fake: FakeRuntime,
    pub rt: RuntimeServiceClient<Channel>,
    pub img: ImageServiceClient<Channel>,
    pub log_dir: tempfile::TempDir,
}

pub(crate) async fn start() -> Env {
    start_with(FakeRuntime::builder()).await
}

/// A fake imitating `profile` (the default is containerd 2.3).
pub(crate) async fn start_profile(profile: cri_fake::Profile) -> Env {
    start_with(FakeRuntime::builder().profile(profile)).await
}

pub(crate) async fn start_with(builder: cri_fake::FakeRuntimeBuilder) -> Env {
    let fake = builder.start().await.expect("fake starts");
    let rt = fake.runtime_client();
    let img = fake.image_client();
    Env {
        fake,
        rt,
        img,
        log_dir: tempfile::tempdir().expect("temp dir"),
    }
}

/// A host-network pod config with the given name (uid `uid-<name>`, namespace `test`).
pub(crate) fn pod_config(name: &str) -> PodSandboxConfig {
    fixtures::pod(name)
        .uid(format!("uid-{name}"))
        .namespace("test")
        .build()
}

pub(crate) fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A busybox container config running `command`.
pub(crate) fn container_config(name: &str, command: &[&str]) -> ContainerConfig {
    fixtures::container(name)
        .image(BUSYBOX)
        .command(command.iter().copied())
        .build()
}

impl Env {
    pub(crate) async fn run_pod(&mut self, config: PodSandboxConfig) -> String {
        self.rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config),
                runtime_handler: String::new(),
            })
            .await
            .expect("RunPodSandbox")
            .into_inner()
            .pod_sandbox_id
    }

    /// A ready host-network pod whose log directory is this test's temp dir.
    pub(crate) async fn pod(&mut self, name: &str) -> (String, PodSandboxConfig) {
        let mut config = pod_config(name);
        config.log_directory = self.log_dir.path().display().to_string();
        let id = self.run_pod(config.clone()).await;
        (id, config)
    }

    pub(crate) async fn create(
        &mut self,
        pod_id: &str,
        pod: &PodSandboxConfig,
        config: ContainerConfig,
    ) -> Result<String, tonic::Status> {
        self.rt
            .create_container(CreateContainerRequest {
                pod_sandbox_id: pod_id.into(),
                config: Some(config),
                sandbox_config: Some(pod.clone()),
            })
            .await
            .map(|r| r.into_inner().container_id)
    }

    pub(crate) async fn start(&mut self, id: &str) -> Result<(), tonic::Status> {
        self.rt
            .start_container(StartContainerRequest {
                container_id: id.into(),
            })
            .await
            .map(|_| ())
    }

    /// Creates and starts a container running `command` in `pod`.
    pub(crate) async fn running(
        &mut self,
        pod_id: &str,
        pod: &PodSandboxConfig,
        name: &str,
        command: &[&str],
    ) -> String {
        let id = self
            .create(pod_id, pod, container_config(name, command))
            .await
            .expect("CreateContainer");
        self.start(&id).await.expect("StartContainer");
        id
    }

    pub(crate) async fn status(&mut self, id: &str) -> Result<ContainerStatus, tonic::Status> {
        self.rt
            .container_status(ContainerStatusRequest {
                container_id: id.into(),
                verbose: false,
            })
            .await
            .map(|r| r.into_inner().status.expect("status present"))
    }

    pub(crate) async fn stop(&mut self, id: &str, timeout: i64) -> Result<(), tonic::Status> {
        self.rt
            .stop_container(StopContainerRequest {
                container_id: id.into(),
                timeout,
            })
            .await
            .map(|_| ())
    }

    pub(crate) async fn remove(&mut self, id: &str) -> Result<(), tonic::Status> {
        self.rt
            .remove_container(RemoveContainerRequest {
                container_id: id.into(),
            })
            .await
            .map(|_| ())
    }

    pub(crate) async fn exec(
        &mut self,
        id: &str,
        cmd: &[&str],
        timeout: i64,
    ) -> Result<ExecSyncResponse, tonic::Status> {
        self.rt
            .exec_sync(ExecSyncRequest {
                container_id: id.into(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                timeout,
            })
            .await
            .map(|r| r.into_inner())
    }

    /// Waits (bounded) until the container reaches `state`.
    pub(crate) async fn wait_state(&mut self, id: &str, state: ContainerState) -> ContainerStatus {
        for _ in 0..2000 {
            let status = self.status(id).await.expect("status");
            if status.state == state as i32 {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("container {id} never reached {state:?}");
    }

    pub(crate) async fn list_containers(&mut self, filter: ContainerFilter) -> Vec<Container> {
        self.rt
            .list_containers(ListContainersRequest {
                filter: Some(filter),
            })
            .await
            .expect("ListContainers")
            .into_inner()
            .containers
    }

    pub(crate) async fn list_pods(&mut self, filter: PodSandboxFilter) -> Vec<PodSandbox> {
        self.rt
            .list_pod_sandbox(ListPodSandboxRequest {
                filter: Some(filter),
            })
            .await
            .expect("ListPodSandbox")
            .into_inner()
            .items
    }
}

/// Asserts an exact gRPC code and message.
#[track_caller]
pub(crate) fn assert_status<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: tonic::Code,
    message: &str,
) {
    match result {
        Ok(value) => panic!("expected {code:?} {message:?}, got Ok({value:?})"),
        Err(status) => {
            assert_eq!(status.code(), code, "code of {:?}", status.message());
            assert_eq!(status.message(), message);
        }
    }
}

/// Two distinct ids from `ids` sharing their first character, and that character.
pub(crate) fn shared_first_char(ids: &[String]) -> Option<String> {
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            if a[..1] == b[..1] {
                return Some(a[..1].to_string());
            }
        }
    }
    None
}
pub(crate) mod stream_client;
