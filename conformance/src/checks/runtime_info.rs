//! Version, Status, RuntimeConfig, ImageFsInfo (reference §1).

use cri_proto::v1::*;
use tonic::Code;

use super::parse_json;
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::Ctx;

pub fn checks() -> Vec<Check> {
    checks![Area::RuntimeInfo =>
        version_reports_api_v1_and_kubelet_version_0_1_0,
        status_reports_runtime_ready_first,
        image_fs_info_reports_exactly_one_image_filesystem,
        list_metric_descriptors_is_unimplemented,
        checkpoint_container_is_unimplemented_even_for_unknown_ids,
        version_ignores_the_requested_version,
        status_reports_network_not_ready_without_cni,
        verbose_status_info_has_golang_config_and_cni_keys,
        update_runtime_config_succeeds_with_and_without_a_pod_cidr,
        runtime_config_is_unimplemented_in_1_6,
        list_pod_sandbox_metrics_is_unimplemented,
        get_container_events_fails_unimplemented_on_first_read,
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
    let types: Vec<String> = conditions.iter().map(|c| c.r#type.clone()).collect();
    ctx.expect_eq(
        "condition types",
        types,
        vec!["RuntimeReady".to_owned(), "NetworkReady".to_owned()],
    )?;
    ctx.expect_eq("non-verbose info", status.info.len(), 0)
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

async fn list_metric_descriptors_is_unimplemented(ctx: &mut Ctx) -> CheckResult {
    let result = ctx
        .rt
        .list_metric_descriptors(ListMetricDescriptorsRequest {})
        .await;
    ctx.expect_error(
        "ListMetricDescriptors",
        result,
        Code::Unimplemented,
        "unknown method ListMetricDescriptors for service runtime.v1.RuntimeService",
    )
}

async fn checkpoint_container_is_unimplemented_even_for_unknown_ids(ctx: &mut Ctx) -> CheckResult {
    let result = ctx
        .rt
        .checkpoint_container(CheckpointContainerRequest {
            container_id: "0".repeat(64),
            ..Default::default()
        })
        .await;
    ctx.expect_error(
        "CheckpointContainer",
        result,
        Code::Unimplemented,
        "method CheckpointContainer not implemented",
    )
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
    ctx.expect_eq(
        "config.maxContainerLogSize",
        config["maxContainerLogSize"].as_i64(),
        Some(16384),
    )?;
    let sandbox_image = ctx.target.sandbox_image.clone();
    ctx.expect_eq(
        "config.sandboxImage",
        config["sandboxImage"].as_str(),
        Some(sandbox_image.as_str()),
    )?;
    parse_json(
        "info.cniconfig",
        info.get("cniconfig")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
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

async fn runtime_config_is_unimplemented_in_1_6(ctx: &mut Ctx) -> CheckResult {
    let result = ctx.rt.runtime_config(RuntimeConfigRequest {}).await;
    ctx.expect_error(
        "RuntimeConfig",
        result,
        Code::Unimplemented,
        "unknown method RuntimeConfig for service runtime.v1.RuntimeService",
    )
}

async fn list_pod_sandbox_metrics_is_unimplemented(ctx: &mut Ctx) -> CheckResult {
    let result = ctx
        .rt
        .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
        .await;
    ctx.expect_error(
        "ListPodSandboxMetrics",
        result,
        Code::Unimplemented,
        "unknown method ListPodSandboxMetrics for service runtime.v1.RuntimeService",
    )
}

async fn get_container_events_fails_unimplemented_on_first_read(ctx: &mut Ctx) -> CheckResult {
    // grpc-go answers with trailers only: depending on the client that surfaces on the
    // call itself or on the first read of the stream. Either way no event arrives.
    let result = match ctx.rt.get_container_events(GetEventsRequest {}).await {
        Err(status) => Err(status),
        Ok(response) => match response.into_inner().message().await {
            Ok(Some(event)) => Ok(Some(event)),
            Ok(None) => Ok(None),
            Err(status) => Err(status),
        },
    };
    ctx.expect_error(
        "GetContainerEvents first read",
        result,
        Code::Unimplemented,
        "method GetContainerEvents not implemented",
    )
}
