//! Repeated calls: stop and remove twice, missing objects (reference §2, §3c, §10.4).

use cri_proto::v1::*;
use tonic::Code;

use super::SLEEP_FOREVER;
use super::container_lifecycle::stop_of_a_missing_container;
use super::sandbox::stop_of_a_missing_sandbox;
use crate::check::{Area, Check, CheckResult};
use crate::checks;
use crate::ctx::{Ctx, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::Idempotence =>
        removing_a_sandbox_twice_succeeds,
        removing_a_missing_sandbox_succeeds,
        stopping_a_missing_sandbox_is_not_found_in_1_6_and_ok_in_2_3,
        stopping_a_container_twice_succeeds,
        removing_an_exited_container_twice_succeeds,
        removing_a_missing_container_succeeds,
        stopping_a_missing_container_is_not_found_in_1_6_and_ok_in_2_3,
        stopping_a_sandbox_with_an_exited_container_twice_keeps_it_exited,
        reopening_a_log_twice_succeeds,
    ]
}

async fn removing_a_sandbox_twice_succeeds(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("rm2").await?;
    let stop = ctx.stop_pod(&id).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    for n in 1..=2 {
        let remove = ctx.remove_pod(&id).await;
        ctx.expect_ok(&format!("RemovePodSandbox #{n}"), remove)?;
    }
    let status = ctx.pod_status(&id, false).await;
    ctx.expect_error(
        "PodSandboxStatus",
        status,
        Code::NotFound,
        "an error occurred when try to find sandbox: not found",
    )
}

async fn removing_a_missing_sandbox_succeeds(ctx: &mut Ctx) -> CheckResult {
    let remove = ctx.remove_pod(&"0".repeat(64)).await;
    ctx.expect_ok("RemovePodSandbox of a missing id", remove)
        .map(|_| ())
}

async fn stopping_a_missing_sandbox_is_not_found_in_1_6_and_ok_in_2_3(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = "0".repeat(64);
    let stop = ctx.stop_pod(&id).await;
    let expected = stop_of_a_missing_sandbox(ctx, &id);
    ctx.expect_outcome("StopPodSandbox of a missing id", stop, expected)
        .map(|_| ())
}

async fn stopping_a_container_twice_succeeds(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("stop2", SLEEP_FOREVER).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    for n in 1..=2 {
        let stop = ctx.stop(&id, 0).await;
        ctx.expect_ok(&format!("StopContainer #{n}"), stop)?;
    }
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "state, exit_code",
        (status.state, status.exit_code),
        (ContainerState::ContainerExited as i32, 137),
    )
}

async fn removing_an_exited_container_twice_succeeds(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("crm2", &["true"]).await?;
    ctx.wait_state(&id, ContainerState::ContainerExited).await?;
    for n in 1..=2 {
        let remove = ctx.remove(&id).await;
        ctx.expect_ok(&format!("RemoveContainer #{n}"), remove)?;
    }
    let status = ctx.status(&id).await;
    ctx.expect_error(
        "ContainerStatus",
        status,
        Code::NotFound,
        &format!("an error occurred when try to find container \"{id}\": not found"),
    )
}

async fn removing_a_missing_container_succeeds(ctx: &mut Ctx) -> CheckResult {
    let remove = ctx.remove(&"0".repeat(64)).await;
    ctx.expect_ok("RemoveContainer of a missing id", remove)
        .map(|_| ())
}

async fn stopping_a_missing_container_is_not_found_in_1_6_and_ok_in_2_3(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = "0".repeat(64);
    let stop = ctx.stop(&id, 0).await;
    let expected = stop_of_a_missing_container(ctx, &id);
    ctx.expect_outcome("StopContainer of a missing id", stop, expected)
        .map(|_| ())
}

async fn stopping_a_sandbox_with_an_exited_container_twice_keeps_it_exited(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, id) = ctx.running("podstop2", SLEEP_FOREVER).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    for n in 1..=2 {
        let stop = ctx.stop_pod(&pod).await;
        ctx.expect_ok(&format!("StopPodSandbox #{n}"), stop)?;
    }
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "container state, exit_code",
        (status.state, status.exit_code),
        (ContainerState::ContainerExited as i32, 137),
    )
}

async fn reopening_a_log_twice_succeeds(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("reopen2").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.log_path = "main.log".into();
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let start = ctx.start(&id).await;
    ctx.expect_ok("StartContainer", start)?;
    for n in 1..=2 {
        let reopen = ctx.reopen_log(&id).await;
        ctx.expect_ok(&format!("ReopenContainerLog #{n}"), reopen)?;
    }
    let exists = ctx.log_path("main.log").exists();
    ctx.expect_eq("log file exists", exists, true)
}
