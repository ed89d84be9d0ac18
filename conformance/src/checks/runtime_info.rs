//! Version, Status, RuntimeConfig, ImageFsInfo (reference §1).

use cri_proto::v1::*;
use tonic::Code;

use crate::check::{Area, Check, CheckResult};
use crate::checks;
use crate::ctx::Ctx;

pub fn checks() -> Vec<Check> {
    checks![Area::RuntimeInfo =>
        version_reports_api_v1_and_kubelet_version_0_1_0,
        status_reports_runtime_ready_first,
        image_fs_info_reports_exactly_one_image_filesystem,
        list_metric_descriptors_is_unimplemented,
        checkpoint_container_is_unimplemented_even_for_unknown_ids,
    ]
}

async fn version_reports_api_v1_and_kubelet_version_0_1_0(ctx: &mut Ctx) -> CheckResult {
    let version = ctx.rt.version(VersionRequest { version: "0.1.0".into() }).await;
    let version = ctx.expect_ok("Version", version)?.into_inner();
    ctx.expect_eq("version", version.version.as_str(), "0.1.0")?;
    ctx.expect_eq("runtime_api_version", version.runtime_api_version.as_str(), "v1")?;
    ctx.expect_eq("runtime_name", version.runtime_name.as_str(), "containerd")
}

async fn status_reports_runtime_ready_first(ctx: &mut Ctx) -> CheckResult {
    let status = ctx.rt.status(StatusRequest { verbose: false }).await;
    let status = ctx.expect_ok("Status", status)?.into_inner();
    let conditions = status.status.unwrap_or_default().conditions;
    let first = conditions.first().map(|c| (c.r#type.clone(), c.status, c.reason.clone(), c.message.clone()));
    ctx.expect_eq("RuntimeReady condition", first, Some(("RuntimeReady".into(), true, String::new(), String::new())))?;
    let types: Vec<String> = conditions.iter().map(|c| c.r#type.clone()).collect();
    ctx.expect_eq("condition types", types, vec!["RuntimeReady".to_owned(), "NetworkReady".to_owned()])?;
    ctx.expect_eq("non-verbose info", status.info.len(), 0)
}

async fn image_fs_info_reports_exactly_one_image_filesystem(ctx: &mut Ctx) -> CheckResult {
    let info = ctx.img.image_fs_info(ImageFsInfoRequest {}).await;
    let info = ctx.expect_ok("ImageFsInfo", info)?.into_inner();
    ctx.expect_eq("image filesystems", info.image_filesystems.len(), 1)?;
    let fs = &info.image_filesystems[0];
    let mountpoint = fs.fs_id.as_ref().map(|f| f.mountpoint.clone()).unwrap_or_default();
    crate::ensure!(mountpoint.ends_with("/io.containerd.snapshotter.v1.overlayfs"), "mountpoint {mountpoint:?}");
    crate::ensure!(fs.timestamp > 1_600_000_000_000_000_000, "timestamp in ns: {}", fs.timestamp);
    ctx.expect_eq("container filesystems", info.container_filesystems.len(), 0)
}

async fn list_metric_descriptors_is_unimplemented(ctx: &mut Ctx) -> CheckResult {
    let result = ctx.rt.list_metric_descriptors(ListMetricDescriptorsRequest {}).await;
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
        .checkpoint_container(CheckpointContainerRequest { container_id: "0".repeat(64), ..Default::default() })
        .await;
    ctx.expect_error("CheckpointContainer", result, Code::Unimplemented, "method CheckpointContainer not implemented")
}
