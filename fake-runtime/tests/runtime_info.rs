//! Version, Status, RuntimeConfig, stats, streaming URLs and the unimplemented methods
//! (reference §1, §9).

mod common;

use common::*;
use cri_fake::Profile;
use cri_proto::v1::*;
use tonic::Code;

#[tokio::test]
async fn version_reports_containerd_identity_and_api_v1() {
    let mut env = start().await;
    let version = env
        .rt
        .version(VersionRequest {
            version: "0.1.0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        version,
        VersionResponse {
            version: "0.1.0".into(),
            runtime_name: "containerd".into(),
            runtime_version: "1.6.20~ds1".into(),
            runtime_api_version: "v1".into(),
        }
    );
    let mut custom =
        start_with(cri_fake::FakeRuntime::builder().runtime_identity("fake", "9.9")).await;
    let version = custom
        .rt
        .version(VersionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            version.runtime_name.as_str(),
            version.runtime_version.as_str()
        ),
        ("fake", "9.9")
    );
}

#[tokio::test]
async fn status_reports_runtime_and_network_ready_and_verbose_info() {
    let mut env = start().await;
    let status = env
        .rt
        .status(StatusRequest { verbose: false })
        .await
        .unwrap()
        .into_inner();
    let conditions = status.status.unwrap().conditions;
    assert_eq!(conditions.len(), 2);
    assert_eq!(
        (conditions[0].r#type.as_str(), conditions[0].status),
        ("RuntimeReady", true)
    );
    assert_eq!(
        (conditions[1].r#type.as_str(), conditions[1].status),
        ("NetworkReady", true)
    );
    assert!(status.info.is_empty());
    let verbose = env
        .rt
        .status(StatusRequest { verbose: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verbose.info["golang"], "\"go1.19.8\"");
    let config: serde_json::Value = serde_json::from_str(&verbose.info["config"]).unwrap();
    assert_eq!(config["maxContainerLogSize"], 16384);
    assert_eq!(config["sandboxImage"], "registry.k8s.io/pause:3.6");

    let mut offline = start_with(cri_fake::FakeRuntime::builder().network_ready(false)).await;
    let conditions = offline
        .rt
        .status(StatusRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap()
        .conditions;
    assert_eq!(
        conditions[1],
        RuntimeCondition {
            r#type: "NetworkReady".into(),
            status: false,
            reason: "NetworkPluginNotReady".into(),
            message: "Network plugin returns error: cni plugin not initialized".into(),
        }
    );
}

#[tokio::test]
async fn runtime_config_answers_cgroupfs_unless_imitating_containerd_1_6() {
    let mut env = start().await;
    let config = env
        .rt
        .runtime_config(RuntimeConfigRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        config.linux.unwrap().cgroup_driver,
        CgroupDriver::Cgroupfs as i32
    );
    let mut old = start_with(cri_fake::FakeRuntime::builder().profile(Profile::Containerd16)).await;
    assert_status(
        old.rt.runtime_config(RuntimeConfigRequest {}).await,
        Code::Unimplemented,
        "unknown method RuntimeConfig for service runtime.v1.RuntimeService",
    );
    env.rt
        .update_runtime_config(UpdateRuntimeConfigRequest::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn checkpoint_metrics_and_events_are_unimplemented_like_containerd_1_6() {
    let mut env = start_with(cri_fake::FakeRuntime::builder().profile(Profile::Containerd16)).await;
    assert_status(
        env.rt
            .checkpoint_container(CheckpointContainerRequest {
                container_id: "x".into(),
                ..Default::default()
            })
            .await,
        Code::Unimplemented,
        "method CheckpointContainer not implemented",
    );
    assert_status(
        env.rt
            .list_metric_descriptors(ListMetricDescriptorsRequest {})
            .await,
        Code::Unimplemented,
        "unknown method ListMetricDescriptors for service runtime.v1.RuntimeService",
    );
    assert_status(
        env.rt
            .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
            .await,
        Code::Unimplemented,
        "unknown method ListPodSandboxMetrics for service runtime.v1.RuntimeService",
    );
}

#[tokio::test]
async fn exec_attach_and_port_forward_return_single_use_urls_after_state_checks() {
    let mut env = start().await;
    let (pod, config) = env.pod("stream").await;
    let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
    let url = env
        .rt
        .exec(ExecRequest {
            container_id: id[..12].into(),
            cmd: vec!["sh".into()],
            stdout: true,
            stderr: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .url;
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap();
    let (port, path) = rest.split_once('/').unwrap();
    let token = path.strip_prefix("exec/").unwrap();
    assert_eq!(token.len(), 8);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let get = |path: String| {
        let port = port.to_string();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .unwrap();
            stream
                .write_all(format!("GET /{path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            response
        }
    };
    let first = get(path.to_string()).await;
    assert!(first.starts_with("HTTP/1.1 400"), "{first}");
    assert!(
        first.ends_with("unable to upgrade: X-Stream-Protocol-Version is required\n"),
        "{first}"
    );
    let second = get(path.to_string()).await;
    assert!(
        second.starts_with("HTTP/1.1 404") && second.ends_with("404 page not found\n"),
        "{second}"
    );

    assert_status(
        env.rt
            .exec(ExecRequest {
                container_id: id.clone(),
                tty: true,
                stderr: true,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "tty and stderr cannot both be true",
    );
    assert_status(
        env.rt
            .exec(ExecRequest {
                container_id: id.clone(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "one of stdin, stdout, or stderr must be set",
    );
    assert_status(
        env.rt
            .attach(AttachRequest {
                container_id: id.clone(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "one of stdin, stdout, and stderr must be set",
    );
    let attach = env
        .rt
        .attach(AttachRequest {
            container_id: id.clone(),
            stdout: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(attach.url.contains("/attach/"));
    let missing = "f".repeat(64);
    assert_status(
        env.rt
            .exec(ExecRequest {
                container_id: missing.clone(),
                stdout: true,
                ..Default::default()
            })
            .await,
        Code::NotFound,
        &format!("failed to find container \"{missing}\" in store: not found"),
    );
    assert_status(
        env.rt
            .attach(AttachRequest {
                container_id: missing.clone(),
                stdout: true,
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "failed to find container in store: not found",
    );
    let created = env
        .create(&pod, &config, container_config("created", &["true"]))
        .await
        .unwrap();
    assert_status(
        env.rt
            .exec(ExecRequest {
                container_id: created.clone(),
                stdout: true,
                ..Default::default()
            })
            .await,
        Code::Unknown,
        "container is in CONTAINER_CREATED state",
    );
    let pf = env
        .rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: pod[..12].into(),
            port: vec![0, 70000],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(pf.url.contains("/portforward/"));
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .unwrap();
    assert_status(
        env.rt
            .port_forward(PortForwardRequest {
                pod_sandbox_id: pod.clone(),
                port: vec![80],
            })
            .await,
        Code::Unknown,
        "sandbox container is not running",
    );
    assert_status(
        env.rt
            .port_forward(PortForwardRequest {
                pod_sandbox_id: String::new(),
                port: vec![80],
            })
            .await,
        Code::Unknown,
        "failed to find sandbox \"\": Prefix can't be empty",
    );
}

#[tokio::test]
async fn container_stats_exist_only_for_running_containers_and_counters_grow() {
    let mut env = start().await;
    let (pod, config) = env.pod("stats").await;
    let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
    let created = env
        .create(&pod, &config, container_config("created", &["true"]))
        .await
        .unwrap();
    let first = env
        .rt
        .container_stats(ContainerStatsRequest {
            container_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let second = env
        .rt
        .container_stats(ContainerStatsRequest {
            container_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap();
    let cpu = |s: &ContainerStats| {
        s.cpu
            .as_ref()
            .unwrap()
            .usage_core_nano_seconds
            .as_ref()
            .unwrap()
            .value
    };
    assert!(cpu(&second) > cpu(&first));
    assert_eq!(first.attributes.as_ref().unwrap().id, id);
    assert_status(
        env.rt
            .container_stats(ContainerStatsRequest {
                container_id: created.clone(),
            })
            .await,
        Code::Unknown,
        "unexpected metrics response: []",
    );
    assert_status(
        env.rt
            .container_stats(ContainerStatsRequest {
                container_id: "f".repeat(64),
            })
            .await,
        Code::NotFound,
        "failed to find container: not found",
    );
    let listed = env
        .rt
        .list_container_stats(ListContainerStatsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .stats;
    assert_eq!(listed.len(), 2, "created containers are listed too");
    let created_stats = listed
        .iter()
        .find(|s| s.attributes.as_ref().unwrap().id == created)
        .unwrap();
    assert!(
        created_stats.cpu.is_none()
            && created_stats.memory.is_none()
            && created_stats.writable_layer.is_some()
    );
    assert_status(
        env.rt
            .pod_sandbox_stats(PodSandboxStatsRequest {
                pod_sandbox_id: pod.clone(),
            })
            .await,
        Code::Unknown,
        &format!(
            "failed getting metrics for sandbox {pod}: failed to get cgroup metrics for sandbox {pod} because cgroupPath is empty"
        ),
    );
}
