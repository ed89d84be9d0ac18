//! Version, Status, RuntimeConfig, ImageFsInfo, metrics, container events and
//! checkpoints (reference §1, §9; 2.3 differences "Newly implemented", "Status and info").

use std::time::Duration;

use cri_proto::v1::*;
use tokio::sync::mpsc;
use tonic::{Code, Status};

use super::{SLEEP_FOREVER, parse_json};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, Expected, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::RuntimeInfo =>
        version_reports_api_v1_and_kubelet_version_0_1_0,
        version_reports_the_release_as_runtime_version,
        status_reports_runtime_ready_first,
        status_has_a_deprecation_condition_only_in_2_3,
        image_fs_info_reports_exactly_one_image_filesystem,
        list_metric_descriptors_is_unimplemented_in_1_6_and_answers_in_2_3,
        checkpoint_of_an_unknown_id_is_unimplemented_in_1_6_and_not_found_in_2_3,
        version_ignores_the_requested_version,
        status_reports_network_not_ready_without_cni,
        verbose_status_info_has_golang_config_and_cni_keys,
        update_runtime_config_succeeds_with_and_without_a_pod_cidr,
        runtime_config_is_unimplemented_in_1_6_and_answers_in_2_3,
        list_pod_sandbox_metrics_is_unimplemented_in_1_6_and_answers_in_2_3,
        get_container_events_is_unimplemented_in_1_6_and_streams_the_lifecycle_in_2_3,
    ]
}

async fn version_reports_api_v1_and_kubelet_version_0_1_0(ctx: &mut Ctx) -> CheckResult {
    let version = ctx
        .rt
        .version(VersionRequest {
            version: "0.1.0".into(),
        })
        .await;
    let version = ctx.expect_ok("Version", version)?.into_inner();
    ctx.expect_eq("version", version.version.as_str(), "0.1.0")?;
    ctx.expect_eq(
        "runtime_api_version",
        version.runtime_api_version.as_str(),
        "v1",
    )?;
    ctx.expect_eq("runtime_name", version.runtime_name.as_str(), "containerd")
}

async fn version_reports_the_release_as_runtime_version(ctx: &mut Ctx) -> CheckResult {
    let version = ctx
        .rt
        .version(VersionRequest {
            version: "0.1.0".into(),
        })
        .await;
    let version = ctx.expect_ok("Version", version)?.into_inner();
    let expected = ctx.per_profile("1.6.20~ds1", "v2.3.4");
    ctx.expect_eq(
        "runtime_version",
        version.runtime_version.as_str(),
        expected,
    )
}

async fn status_reports_runtime_ready_first(ctx: &mut Ctx) -> CheckResult {
    let status = ctx.rt.status(StatusRequest { verbose: false }).await;
    let status = ctx.expect_ok("Status", status)?.into_inner();
    let conditions = status.status.unwrap_or_default().conditions;
    let first = conditions.first().map(|c| {
        (
            c.r#type.clone(),
            c.status,
            c.reason.clone(),
            c.message.clone(),
        )
    });
    ctx.expect_eq(
        "RuntimeReady condition",
        first,
        Some(("RuntimeReady".into(), true, String::new(), String::new())),
    )?;
    let types: Vec<&str> = conditions.iter().map(|c| c.r#type.as_str()).collect();
    let expected = ctx.per_profile(
        vec!["RuntimeReady", "NetworkReady"],
        vec![
            "RuntimeReady",
            "NetworkReady",
            "ContainerdHasNoDeprecationWarnings",
        ],
    );
    ctx.expect_eq("condition types", types, expected)?;
    ctx.expect_eq("non-verbose info", status.info.len(), 0)
}

/// The prefix of every containerd deprecation id.
const DEPRECATION_ID_PREFIX: &str = "io.containerd.deprecation/";

async fn status_has_a_deprecation_condition_only_in_2_3(ctx: &mut Ctx) -> CheckResult {
    let status = ctx.rt.status(StatusRequest { verbose: false }).await;
    let status = ctx.expect_ok("Status", status)?.into_inner();
    let condition = status
        .status
        .unwrap_or_default()
        .conditions
        .into_iter()
        .find(|c| c.r#type == "ContainerdHasNoDeprecationWarnings");
    let present = condition.is_some();
    ctx.expect_eq(
        "has a ContainerdHasNoDeprecationWarnings condition",
        present,
        ctx.per_profile(false, true),
    )?;
    let Some(condition) = condition else {
        return Ok(());
    };
    // Which warnings there are depends on the host (2.3.4 on the cgroup v1 reference host
    // warns about cgroup v1): the shape is checked, the warning ids are recorded.
    if condition.status {
        return ctx.expect_eq(
            "reason and message without warnings",
            (condition.reason.as_str(), condition.message.as_str()),
            ("", ""),
        );
    }
    ctx.expect_eq(
        "reason with warnings",
        condition.reason.as_str(),
        "ContainerdHasDeprecationWarnings",
    )?;
    let warnings = parse_json("the condition's message", &condition.message)?;
    let ids = super::json_keys(&warnings);
    ctx.observe("deprecation ids", ids.join(","));
    let well_formed = !ids.is_empty()
        && warnings.as_object().is_some_and(|o| {
            o.iter().all(|(id, text)| {
                id.starts_with(DEPRECATION_ID_PREFIX)
                    && text.as_str().is_some_and(|t| !t.is_empty())
            })
        });
    crate::ensure!(
        well_formed,
        "the message is not a JSON object of {DEPRECATION_ID_PREFIX}… ids to texts: {:?}",
        condition.message
    );
    Ok(())
}

async fn image_fs_info_reports_exactly_one_image_filesystem(ctx: &mut Ctx) -> CheckResult {
    let info = ctx.img.image_fs_info(ImageFsInfoRequest {}).await;
    let info = ctx.expect_ok("ImageFsInfo", info)?.into_inner();
    ctx.expect_eq("image filesystems", info.image_filesystems.len(), 1)?;
    let fs = &info.image_filesystems[0];
    let mountpoint = fs
        .fs_id
        .as_ref()
        .map(|f| f.mountpoint.clone())
        .unwrap_or_default();
    crate::ensure!(
        mountpoint.ends_with("/io.containerd.snapshotter.v1.overlayfs"),
        "mountpoint {mountpoint:?}"
    );
    crate::ensure!(
        fs.timestamp > 1_600_000_000_000_000_000,
        "timestamp in ns: {}",
        fs.timestamp
    );
    ctx.expect_eq("container filesystems", info.container_filesystems.len(), 0)
}

/// UNIMPLEMENTED in containerd 1.6 (the method does not exist there), OK in 2.3.
fn unknown_method_in_1_6(ctx: &Ctx, method: &str) -> Expected {
    ctx.per_profile(
        Expected::error(
            Code::Unimplemented,
            format!("unknown method {method} for service runtime.v1.RuntimeService"),
        ),
        Expected::Ok,
    )
}

async fn list_metric_descriptors_is_unimplemented_in_1_6_and_answers_in_2_3(
    ctx: &mut Ctx,
) -> CheckResult {
    let result = ctx
        .rt
        .list_metric_descriptors(ListMetricDescriptorsRequest {})
        .await;
    let expected = unknown_method_in_1_6(ctx, "ListMetricDescriptors");
    ctx.expect_outcome("ListMetricDescriptors", result, expected)
        .map(|_| ())
}

async fn checkpoint_of_an_unknown_id_is_unimplemented_in_1_6_and_not_found_in_2_3(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = "0".repeat(64);
    let result = ctx
        .rt
        .checkpoint_container(CheckpointContainerRequest {
            container_id: id.clone(),
            ..Default::default()
        })
        .await;
    let (code, text) = ctx.per_profile(
        (
            Code::Unimplemented,
            "method CheckpointContainer not implemented".to_owned(),
        ),
        (
            Code::NotFound,
            format!(
                "an error occurred when trying to find container the container status \"{id}\": an error occurred when try to find container \"{id}\": not found"
            ),
        ),
    );
    ctx.expect_error("CheckpointContainer", result, code, &text)
}

async fn version_ignores_the_requested_version(ctx: &mut Ctx) -> CheckResult {
    let empty = ctx
        .rt
        .version(VersionRequest {
            version: String::new(),
        })
        .await;
    let empty = ctx
        .expect_ok("Version with an empty version", empty)?
        .into_inner();
    let other = ctx
        .rt
        .version(VersionRequest {
            version: "v9.9.9".into(),
        })
        .await;
    let other = ctx.expect_ok("Version with v9.9.9", other)?.into_inner();
    ctx.expect_eq("answers to an empty and another version", &empty, &other)?;
    ctx.expect_eq("version", empty.version.as_str(), "0.1.0")
}

async fn status_reports_network_not_ready_without_cni(ctx: &mut Ctx) -> CheckResult {
    if !ctx.target.host_network {
        return Err(Failure::Skip("the target has a CNI network".into()));
    }
    let status = ctx.rt.status(StatusRequest { verbose: false }).await;
    let status = ctx.expect_ok("Status", status)?.into_inner();
    let conditions = status.status.unwrap_or_default().conditions;
    let network = conditions
        .iter()
        .find(|c| c.r#type == "NetworkReady")
        .map(|c| (c.status, c.reason.clone(), c.message.clone()));
    ctx.expect_eq(
        "NetworkReady condition",
        network,
        Some((
            false,
            "NetworkPluginNotReady".to_owned(),
            "Network plugin returns error: cni plugin not initialized".to_owned(),
        )),
    )
}

async fn verbose_status_info_has_golang_config_and_cni_keys(ctx: &mut Ctx) -> CheckResult {
    if !ctx.target.host_network {
        return Err(Failure::Skip("the target has a CNI network".into()));
    }
    let status = ctx.rt.status(StatusRequest { verbose: true }).await;
    let info = ctx.expect_ok("Status verbose", status)?.into_inner().info;
    let mut keys: Vec<&str> = info.keys().map(String::as_str).collect();
    keys.sort();
    ctx.expect_eq(
        "info keys",
        keys,
        vec![
            "cniconfig",
            "config",
            "golang",
            "lastCNILoadStatus",
            "lastCNILoadStatus.default",
        ],
    )?;
    let golang = info.get("golang").cloned().unwrap_or_default();
    let quoted_go = golang.starts_with("\"go") && golang.ends_with('"');
    ctx.expect_eq("golang is a JSON string \"go…\"", quoted_go, true)?;
    let config = parse_json(
        "info.config",
        info.get("config").map(String::as_str).unwrap_or_default(),
    )?;
    // 1.6 shows its one CRI config; 2.3 the runtime part of its split config, where the
    // log line size has its full name and the sandbox image (an image setting) is absent.
    let log_line_size = ctx.per_profile("maxContainerLogSize", "maxContainerLogLineSize");
    ctx.expect_eq(
        &format!("config.{log_line_size}"),
        config.get(log_line_size).and_then(|v| v.as_i64()),
        Some(16384),
    )?;
    let sandbox_image = ctx.target.sandbox_image.clone();
    let expected = ctx.per_profile(Some(sandbox_image.as_str()), None);
    ctx.expect_eq(
        "config.sandboxImage",
        config.get("sandboxImage").and_then(|v| v.as_str()),
        expected,
    )?;
    let cni = parse_json(
        "info.cniconfig",
        info.get("cniconfig")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
    // 2.3 always lists go-cni's built-in loopback network; what 1.6 lists there was not
    // measured, so only its JSON is checked.
    let networks: Vec<(String, String)> = cni["Networks"]
        .as_array()
        .map(|networks| {
            networks
                .iter()
                .map(|n| {
                    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                    (text(&n["Config"]["Name"]), text(&n["IFName"]))
                })
                .collect()
        })
        .unwrap_or_default();
    let loopback = vec![("cni-loopback".to_owned(), "lo".to_owned())];
    if let Some(expected) = ctx.per_profile(None, Some(loopback)) {
        ctx.expect_eq("cniconfig networks (name, interface)", networks, expected)?;
    }
    // The CNI conf dir in the text is the machine's.
    let head = "cni config load failed: no network config found in ";
    let tail = ": cni plugin not initialized: failed to load cni config";
    for key in ["lastCNILoadStatus", "lastCNILoadStatus.default"] {
        let value = info.get(key).cloned().unwrap_or_default();
        let shape = match value.strip_prefix(head).and_then(|v| v.strip_suffix(tail)) {
            Some(dir) if !dir.is_empty() => format!("{head}<cni conf dir>{tail}"),
            _ => value,
        };
        ctx.expect_eq(key, shape, format!("{head}<cni conf dir>{tail}"))?;
    }
    Ok(())
}

async fn update_runtime_config_succeeds_with_and_without_a_pod_cidr(ctx: &mut Ctx) -> CheckResult {
    let empty = ctx
        .rt
        .update_runtime_config(UpdateRuntimeConfigRequest {
            runtime_config: None,
        })
        .await;
    ctx.expect_ok("UpdateRuntimeConfig {}", empty)?;
    let cidr = UpdateRuntimeConfigRequest {
        runtime_config: Some(RuntimeConfig {
            network_config: Some(NetworkConfig {
                pod_cidr: "10.88.0.0/16".into(),
            }),
        }),
    };
    let cidr = ctx.rt.update_runtime_config(cidr).await;
    ctx.expect_ok("UpdateRuntimeConfig pod_cidr", cidr)
        .map(|_| ())
}

async fn runtime_config_is_unimplemented_in_1_6_and_answers_in_2_3(ctx: &mut Ctx) -> CheckResult {
    let result = ctx.rt.runtime_config(RuntimeConfigRequest {}).await;
    let expected = unknown_method_in_1_6(ctx, "RuntimeConfig");
    ctx.expect_outcome("RuntimeConfig", result, expected)
        .map(|_| ())
}

async fn list_pod_sandbox_metrics_is_unimplemented_in_1_6_and_answers_in_2_3(
    ctx: &mut Ctx,
) -> CheckResult {
    let result = ctx
        .rt
        .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
        .await;
    let expected = unknown_method_in_1_6(ctx, "ListPodSandboxMetrics");
    ctx.expect_outcome("ListPodSandboxMetrics", result, expected)
        .map(|_| ())
}

/// Aborts the task it holds when dropped, also when the check fails half-way.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long the events check waits for one event.
const EVENT_WAIT: Duration = Duration::from_secs(20);

/// Reads GetContainerEvents in a task and forwards every event (or the error that ends
/// the stream) to the returned channel. grpc-go sends a stream's headers with its first
/// message, so the call itself may only return once an event exists: the task, not the
/// check, waits for it.
fn subscribe_events(
    ctx: &Ctx,
) -> (
    AbortOnDrop,
    mpsc::UnboundedReceiver<Result<ContainerEventResponse, Status>>,
) {
    let mut rt = ctx.rt.clone();
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut stream = match rt.get_container_events(GetEventsRequest {}).await {
            Ok(response) => response.into_inner(),
            Err(status) => {
                let _ = tx.send(Err(status));
                return;
            }
        };
        loop {
            match stream.message().await {
                Ok(Some(event)) => {
                    if tx.send(Ok(event)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(status) => {
                    let _ = tx.send(Err(status));
                    return;
                }
            }
        }
    });
    (AbortOnDrop(task), rx)
}

/// The next event, waiting at most [`EVENT_WAIT`]: `Ok(None)` when the stream ended
/// (or nothing came), `Err` when it failed.
async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<Result<ContainerEventResponse, Status>>,
) -> Result<Option<ContainerEventResponse>, Status> {
    match tokio::time::timeout(EVENT_WAIT, rx.recv()).await {
        Ok(Some(Ok(event))) => Ok(Some(event)),
        Ok(Some(Err(status))) => Err(status),
        Ok(None) | Err(_) => Ok(None),
    }
}

/// Reads events until one for `id` of type `until` arrives; returns the events for `id`
/// (the backlog and other objects' events are skipped).
async fn events_of(
    rx: &mut mpsc::UnboundedReceiver<Result<ContainerEventResponse, Status>>,
    id: &str,
    until: ContainerEventType,
) -> Result<Vec<ContainerEventResponse>, Failure> {
    let mut events = Vec::new();
    loop {
        match next_event(rx).await {
            Ok(Some(event)) if event.container_id == id => {
                let done = event.container_event_type == until as i32;
                events.push(event);
                if done {
                    return Ok(events);
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Failure::Mismatch(format!(
                    "no {until:?} event for {id} within {}s; its events: {:?}",
                    EVENT_WAIT.as_secs(),
                    events
                        .iter()
                        .map(|e| e.container_event_type)
                        .collect::<Vec<_>>()
                )));
            }
            Err(status) => return Err(unexpected("GetContainerEvents", &status)),
        }
    }
}

async fn get_container_events_is_unimplemented_in_1_6_and_streams_the_lifecycle_in_2_3(
    ctx: &mut Ctx,
) -> CheckResult {
    let (_reader, mut rx) = subscribe_events(ctx);
    // A pod gives 2.3 something to send (its CREATED event, or the backlog comes first).
    let (pod, config) = ctx.pod("events").await?;
    // grpc-go answers 1.6's missing method with trailers only: depending on the client
    // that surfaces on the call itself or on the first read. Either way no event arrives.
    let first = next_event(&mut rx).await;
    let expected = ctx.per_profile(
        Expected::error(
            Code::Unimplemented,
            "method GetContainerEvents not implemented",
        ),
        Expected::Ok,
    );
    let Some(first) = ctx.expect_outcome("GetContainerEvents first answer", first, expected)?
    else {
        return Ok(());
    };
    // 2.3: an event arrived (the backlog's or the new pod's), so the subscription is live
    // and sees everything the container does from now on.
    crate::ensure!(
        first.is_some(),
        "GetContainerEvents: no event within {}s, not even the new pod's",
        EVENT_WAIT.as_secs()
    );
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let id = ctx.create_and_start(&pod, &config, container).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    ctx.stop(&id, 0)
        .await
        .map_err(|s| unexpected("StopContainer", &s))?;
    ctx.wait_state(&id, ContainerState::ContainerExited).await?;
    ctx.remove(&id)
        .await
        .map_err(|s| unexpected("RemoveContainer", &s))?;
    let events = events_of(&mut rx, &id, ContainerEventType::ContainerDeletedEvent).await?;
    let types: Vec<String> = events
        .iter()
        .map(|e| {
            ContainerEventType::try_from(e.container_event_type)
                .map(|t| t.as_str_name().to_owned())
                .unwrap_or_else(|_| e.container_event_type.to_string())
        })
        .collect();
    ctx.expect_eq(
        "the container's event types, in order",
        types,
        [
            ContainerEventType::ContainerCreatedEvent,
            ContainerEventType::ContainerStartedEvent,
            ContainerEventType::ContainerStoppedEvent,
            ContainerEventType::ContainerDeletedEvent,
        ]
        .map(|t| t.as_str_name().to_owned())
        .to_vec(),
    )?;
    let sandboxes: Vec<Option<String>> = events
        .iter()
        .map(|e| e.pod_sandbox_status.as_ref().map(|s| s.id.clone()))
        .collect();
    ctx.expect_eq(
        "every event carries its pod sandbox's status",
        sandboxes,
        vec![Some(pod.clone()); 4],
    )?;
    let in_ns = events
        .iter()
        .all(|e| e.created_at > 1_600_000_000_000_000_000);
    ctx.expect_eq("created_at is in ns", in_ns, true)
}
