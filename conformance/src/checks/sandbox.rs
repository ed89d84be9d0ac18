//! Pod sandbox lifecycle (reference §2).

use cri_proto::v1::*;
use tonic::Code;

use crate::check::{Area, Check, CheckResult};
use crate::checks;
use crate::ctx::Ctx;

pub fn checks() -> Vec<Check> {
    checks![Area::Sandbox =>
        run_pod_sandbox_returns_a_64_char_lowercase_hex_id,
        ready_host_network_sandbox_status_has_empty_network_and_echoed_namespaces,
        stopping_a_sandbox_twice_succeeds_and_leaves_it_notready,
        status_of_a_removed_sandbox_is_not_found_without_the_id,
        stop_of_a_removed_sandbox_is_not_found_with_the_id,
        run_pod_sandbox_without_metadata_fails_with_unknown,
        unknown_runtime_handler_is_rejected,
        hostname_with_host_network_fails_like_runc,
    ]
}

async fn run_pod_sandbox_returns_a_64_char_lowercase_hex_id(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("id").await?;
    let ok = id.len() == 64 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ctx.expect_eq("id is 64 lowercase hex", ok, true)
}

async fn ready_host_network_sandbox_status_has_empty_network_and_echoed_namespaces(ctx: &mut Ctx) -> CheckResult {
    if !ctx.target.host_network {
        return Err(crate::check::Failure::Skip("target pods have their own network".into()));
    }
    let (id, config) = ctx.pod("status").await?;
    let status = ctx.rt.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id.clone(), verbose: false }).await;
    let response = ctx.expect_ok("PodSandboxStatus", status)?.into_inner();
    ctx.expect_eq("info", response.info.len(), 0)?;
    let status = response.status.unwrap_or_default();
    ctx.expect_eq("state", status.state, PodSandboxState::SandboxReady as i32)?;
    ctx.expect_eq("metadata", status.metadata, config.metadata)?;
    ctx.expect_eq("network", status.network, Some(PodSandboxNetworkStatus::default()))?;
    let options = status.linux.and_then(|l| l.namespaces).and_then(|n| n.options).unwrap_or_default();
    ctx.expect_eq("namespace options", (options.network, options.pid, options.ipc), (2, 0, 0))?;
    ctx.expect_eq("runtime_handler", status.runtime_handler, String::new())
}

async fn stopping_a_sandbox_twice_succeeds_and_leaves_it_notready(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("stop2").await?;
    for n in 1..=2 {
        let result = ctx.rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await;
        ctx.expect_ok(&format!("StopPodSandbox #{n}"), result)?;
    }
    let status = ctx.rt.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id, verbose: false }).await;
    let state = ctx.expect_ok("PodSandboxStatus", status)?.into_inner().status.unwrap_or_default().state;
    ctx.expect_eq("state", state, PodSandboxState::SandboxNotready as i32)
}

async fn status_of_a_removed_sandbox_is_not_found_without_the_id(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("gone").await?;
    let _ = ctx.rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await;
    let removed = ctx.rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id.clone() }).await;
    ctx.expect_ok("RemovePodSandbox", removed)?;
    let status = ctx.rt.pod_sandbox_status(PodSandboxStatusRequest { pod_sandbox_id: id, verbose: false }).await;
    ctx.expect_error("PodSandboxStatus", status, Code::NotFound, "an error occurred when try to find sandbox: not found")
}

async fn stop_of_a_removed_sandbox_is_not_found_with_the_id(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("gone").await?;
    let _ = ctx.rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await;
    let _ = ctx.rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id.clone() }).await;
    let again = ctx.rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id.clone() }).await;
    ctx.expect_ok("RemovePodSandbox again", again)?;
    let stop = ctx.rt.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: id.clone() }).await;
    ctx.expect_error(
        "StopPodSandbox",
        stop,
        Code::NotFound,
        &format!("an error occurred when try to find sandbox \"{id}\": not found"),
    )
}

async fn run_pod_sandbox_without_metadata_fails_with_unknown(ctx: &mut Ctx) -> CheckResult {
    let mut config = ctx.pod_config("nometa");
    config.metadata = None;
    let result = ctx.try_run_pod(&config).await;
    ctx.expect_error("RunPodSandbox", result, Code::Unknown, "sandbox config must include metadata")
}

async fn unknown_runtime_handler_is_rejected(ctx: &mut Ctx) -> CheckResult {
    let config = ctx.pod_config("handler");
    let result = ctx.rt.run_pod_sandbox(RunPodSandboxRequest { config: Some(config), runtime_handler: "nope".into() }).await;
    ctx.expect_error(
        "RunPodSandbox",
        result,
        Code::Unknown,
        "failed to get sandbox runtime: no runtime for \"nope\" is configured",
    )
}

async fn hostname_with_host_network_fails_like_runc(ctx: &mut Ctx) -> CheckResult {
    let mut config = ctx.pod_config("hostname");
    config.hostname = "custom".into();
    let result = ctx.try_run_pod(&config).await;
    ctx.expect_error(
        "RunPodSandbox",
        result,
        Code::Unknown,
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to set hostname without a private UTS namespace: unknown",
    )
}
