//! Version, Status, RuntimeConfig, stats, streaming URLs and the methods containerd 1.6
//! does not implement, for each imitated release (reference §1, §9 and the 2.3
//! differences).
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cri_fake::Profile;
use cri_proto::v1::*;
use tonic::Code;

#[tokio::test]
async fn version_reports_containerd_identity_each_releases_version_and_api_v1() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
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
                runtime_version: match profile {
                    Profile::Containerd23 => "v2.3.4",
                    Profile::Containerd16 => "1.6.20~ds1",
                }
                .into(),
                runtime_api_version: "v1".into(),
            }
        );
        let mut custom = start_with(
            cri_fake::FakeRuntime::builder()
                .runtime_identity("fake", "9.9")
                .profile(profile),
        )
        .await;
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
}

fn runtime_ready() -> RuntimeCondition {
    RuntimeCondition {
        r#type: "RuntimeReady".into(),
        status: true,
        ..Default::default()
    }
}

fn network_ready() -> RuntimeCondition {
    RuntimeCondition {
        r#type: "NetworkReady".into(),
        status: true,
        ..Default::default()
    }
}

fn network_not_ready() -> RuntimeCondition {
    RuntimeCondition {
        r#type: "NetworkReady".into(),
        status: false,
        reason: "NetworkPluginNotReady".into(),
        message: "Network plugin returns error: cni plugin not initialized".into(),
    }
}

fn no_deprecation_warnings() -> RuntimeCondition {
    RuntimeCondition {
        r#type: "ContainerdHasNoDeprecationWarnings".into(),
        status: true,
        ..Default::default()
    }
}

/// The conditions of a Status answer, by type (the order is checked separately).
fn conditions_by_type(
    conditions: &[RuntimeCondition],
) -> std::collections::BTreeMap<&str, &RuntimeCondition> {
    let by_type: std::collections::BTreeMap<&str, &RuntimeCondition> =
        conditions.iter().map(|c| (c.r#type.as_str(), c)).collect();
    assert_eq!(by_type.len(), conditions.len(), "one condition per type");
    by_type
}

async fn conditions_of(env: &mut Env) -> Vec<RuntimeCondition> {
    env.rt
        .status(StatusRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap()
        .conditions
}

#[tokio::test]
async fn status_reports_each_releases_conditions_and_verbose_info() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let status = env
            .rt
            .status(StatusRequest { verbose: false })
            .await
            .unwrap()
            .into_inner();
        let conditions = status.status.unwrap().conditions;
        match profile {
            // Without deprecation warnings (the fake's default) the 2.3 condition is true.
            Profile::Containerd23 => {
                let (runtime, network, deprecation) =
                    (runtime_ready(), network_ready(), no_deprecation_warnings());
                assert_eq!(
                    conditions_by_type(&conditions),
                    [
                        ("ContainerdHasNoDeprecationWarnings", &deprecation),
                        ("NetworkReady", &network),
                        ("RuntimeReady", &runtime),
                    ]
                    .into()
                );
            }
            Profile::Containerd16 => {
                assert_eq!(conditions, [runtime_ready(), network_ready()]);
            }
        }
        assert!(status.info.is_empty());
        let verbose = env
            .rt
            .status(StatusRequest { verbose: true })
            .await
            .unwrap()
            .into_inner();
        let mut keys: Vec<&str> = verbose.info.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "cniconfig",
                "config",
                "golang",
                "lastCNILoadStatus",
                "lastCNILoadStatus.default"
            ]
        );
        let golang = match profile {
            Profile::Containerd23 => "\"go1.26.3\"",
            Profile::Containerd16 => "\"go1.19.8\"",
        };
        assert_eq!(verbose.info["golang"], golang);
        let config: serde_json::Value = serde_json::from_str(&verbose.info["config"]).unwrap();
        let cni: serde_json::Value = serde_json::from_str(&verbose.info["cniconfig"]).unwrap();
        match profile {
            Profile::Containerd23 => {
                // 2.3 shows its runtime config only: the image and streaming settings
                // moved to other plugins.
                assert_eq!(config["maxContainerLogLineSize"], 16384);
                assert_eq!(
                    config["containerd"]["runtimes"]["runc"]["sandboxer"],
                    "podsandbox"
                );
                for moved in ["maxContainerLogSize", "sandboxImage", "streamServerPort"] {
                    assert_eq!(config.get(moved), None, "{moved}");
                }
                assert_eq!(cni["Networks"][0]["Config"]["Name"], "cni-loopback");
                assert_eq!(cni["Networks"][0]["IFName"], "lo");
            }
            Profile::Containerd16 => {
                assert_eq!(config["maxContainerLogSize"], 16384);
                assert_eq!(config["sandboxImage"], "registry.k8s.io/pause:3.6");
                assert_eq!(cni["Networks"], serde_json::json!([]));
            }
        }

        let mut offline = start_with(
            cri_fake::FakeRuntime::builder()
                .network_ready(false)
                .profile(profile),
        )
        .await;
        let conditions = conditions_of(&mut offline).await;
        match profile {
            Profile::Containerd23 => {
                let (runtime, network, deprecation) = (
                    runtime_ready(),
                    network_not_ready(),
                    no_deprecation_warnings(),
                );
                assert_eq!(
                    conditions_by_type(&conditions),
                    [
                        ("ContainerdHasNoDeprecationWarnings", &deprecation),
                        ("NetworkReady", &network),
                        ("RuntimeReady", &runtime),
                    ]
                    .into()
                );
            }
            Profile::Containerd16 => {
                assert_eq!(conditions, [runtime_ready(), network_not_ready()])
            }
        }
    }
}

#[tokio::test]
async fn deprecation_warnings_make_the_2_3_condition_false_with_a_json_message_and_1_6_has_none() {
    let warning = (
        "io.containerd.deprecation/cgroup-v1".to_owned(),
        "The support for cgroup v1 is deprecated since containerd v2.2 and will be removed by no later than May 2029. Upgrade the host to use cgroup v2.".to_owned(),
    );
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_with(
            cri_fake::FakeRuntime::builder()
                .deprecation_warnings([warning.clone()])
                .network_ready(false)
                .profile(profile),
        )
        .await;
        let conditions = conditions_of(&mut env).await;
        match profile {
            Profile::Containerd23 => {
                let deprecation = RuntimeCondition {
                    r#type: "ContainerdHasNoDeprecationWarnings".into(),
                    status: false,
                    reason: "ContainerdHasDeprecationWarnings".into(),
                    message: r#"{"io.containerd.deprecation/cgroup-v1":"The support for cgroup v1 is deprecated since containerd v2.2 and will be removed by no later than May 2029. Upgrade the host to use cgroup v2."}"#.into(),
                };
                let (runtime, network) = (runtime_ready(), network_not_ready());
                assert_eq!(
                    conditions_by_type(&conditions),
                    [
                        ("ContainerdHasNoDeprecationWarnings", &deprecation),
                        ("NetworkReady", &network),
                        ("RuntimeReady", &runtime),
                    ]
                    .into()
                );
            }
            Profile::Containerd16 => {
                assert_eq!(conditions, [runtime_ready(), network_not_ready()])
            }
        }
    }
}

/// The 2.3 reference: "Status has a condition first, before NetworkReady and
/// RuntimeReady: `ContainerdHasNoDeprecationWarnings`". (It does not pin the order of
/// the two that follow, so only the first place is checked.)
#[tokio::test]
async fn status_appends_the_deprecation_condition_after_runtime_and_network_ready_in_2_3() {
    // containerd 2.3.4's Status (internal/cri/server/status.go) builds
    // [RuntimeReady, NetworkReady] and appends the deprecation condition; the reference
    // file lists the three sorted by type, which is not the wire order.
    let mut env = start_profile(Profile::Containerd23).await;
    let conditions = conditions_of(&mut env).await;
    let types: Vec<&str> = conditions.iter().map(|c| c.r#type.as_str()).collect();
    assert_eq!(
        types,
        [
            "RuntimeReady",
            "NetworkReady",
            "ContainerdHasNoDeprecationWarnings"
        ]
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
    for profile in Profile::ALL {
        println!("profile {profile}");
        streaming_urls_and_their_checks(profile).await;
    }
}

async fn streaming_urls_and_their_checks(profile: Profile) {
    let mut env = start_profile(profile).await;
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
                .write_all(
                    format!(
                        "GET /{path} HTTP/1.1\r\nHost: x\r\nUser-Agent: probe\r\nAccept: */*\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            response
        }
    };
    let first = get(path.to_string()).await;
    assert!(first.starts_with("HTTP/1.1 400"), "{first}");
    // 2.3 counts the request's headers as Go's `len(req.Header)` does: without `Host`.
    let refusal = match profile {
        Profile::Containerd23 => {
            "unable to upgrade: header X-Stream-Protocol-Version does not exist in request with 2 headers\n"
        }
        Profile::Containerd16 => "unable to upgrade: X-Stream-Protocol-Version is required\n",
    };
    assert!(first.ends_with(refusal), "{first}");
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
        match profile {
            Profile::Containerd23 => "failed to find sandbox \"\": prefix can't be empty",
            Profile::Containerd16 => "failed to find sandbox \"\": Prefix can't be empty",
        },
    );
}

#[tokio::test]
async fn container_stats_exist_only_for_running_containers_and_counters_grow() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        stats_of_running_created_and_missing_containers(profile).await;
    }
}

async fn stats_of_running_created_and_missing_containers(profile: Profile) {
    let mut env = start_profile(profile).await;
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
            "{}failed getting metrics for sandbox {pod}: failed to get cgroup metrics for sandbox {pod} because cgroupPath is empty",
            match profile {
                Profile::Containerd23 => format!("failed to decode pod sandbox metrics {pod}: "),
                Profile::Containerd16 => String::new(),
            }
        ),
    );
}
