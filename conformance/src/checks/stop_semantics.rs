//! StopContainer, RemoveContainer on running containers, and StopPodSandbox effects
//! (reference §3c).

use std::time::{Duration, Instant};

use cri_proto::v1::*;
use tonic::Code;

use super::SLEEP_FOREVER;
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::StopSemantics =>
        stop_with_timeout_0_kills_with_137,
        stop_with_timeout_5_on_sleep_terminates_with_143,
        stop_of_a_process_trapping_term_with_exit_0_is_completed,
        stop_with_timeout_2_on_a_term_ignoring_process_kills_after_the_grace_with_137,
        stop_with_timeout_0_on_a_term_ignoring_process_kills_with_137,
        stop_with_a_negative_timeout_kills_like_timeout_0,
        stop_with_the_largest_timeout_wraps_to_negative_and_kills_with_137,
        stopping_a_created_container_leaves_it_created,
        stopping_an_exited_container_again_leaves_its_status_unchanged,
        stop_pod_sandbox_kills_running_containers_without_grace_and_keeps_created_ones,
        removing_a_running_container_succeeds_and_removes_it,
        removing_a_created_container_succeeds,
    ]
}

/// A TERM-ignoring shell that never exits by itself.
const IGNORES_TERM: &[&str] = &["sh", "-c", "trap '' TERM; sleep 100000"];

/// A running container of `command` in a new pod (waited for RUNNING).
async fn running(ctx: &mut Ctx, base: &str, command: &[&str]) -> Result<String, Failure> {
    let (_, id) = ctx.running(base, command).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    Ok(id)
}

/// A TERM-ignoring shell that marks `/tmp/trapped` once its trap is set.
const IGNORES_TERM_MARKED: &[&str] =
    &["sh", "-c", "trap '' TERM; touch /tmp/trapped; sleep 100000"];

/// A running container of `command` (which touches `/tmp/trapped` once its traps are
/// set), waited for up to 10 s until the mark exists: RUNNING comes before the shell
/// has run its `trap`, and a TERM in between kills it with 143.
async fn running_trapped(ctx: &mut Ctx, base: &str, command: &[&str]) -> Result<String, Failure> {
    let id = running(ctx, base, command).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let marked = ctx.exec_ok(&id, &["test", "-e", "/tmp/trapped"], 5).await?;
        if marked.exit_code == 0 {
            return Ok(id);
        }
        if Instant::now() > deadline {
            return Err(Failure::Mismatch(
                "the shell did not set its trap within 10 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Stops `id` with `timeout`; returns how long the call took.
async fn timed_stop(ctx: &mut Ctx, id: &str, timeout: i64) -> Result<Duration, Failure> {
    let started = Instant::now();
    let stop = ctx.stop(id, timeout).await;
    let took = started.elapsed();
    ctx.expect_ok(&format!("StopContainer timeout {timeout}"), stop)?;
    Ok(took)
}

/// `(state, exit_code, reason)` of a container.
async fn ending(ctx: &mut Ctx, id: &str) -> Result<(i32, i32, String), Failure> {
    let status = ctx.status_ok(id).await?;
    Ok((status.state, status.exit_code, status.reason))
}

fn exited_with(code: i32, reason: &str) -> (i32, i32, String) {
    (
        ContainerState::ContainerExited as i32,
        code,
        reason.to_owned(),
    )
}

async fn stop_with_timeout_0_kills_with_137(ctx: &mut Ctx) -> CheckResult {
    let id = running(ctx, "stop0", SLEEP_FOREVER).await?;
    timed_stop(ctx, &id, 0).await?;
    let observed = ending(ctx, &id).await?;
    ctx.expect_eq(
        "state, exit_code, reason",
        observed,
        exited_with(137, "Error"),
    )
}

async fn stop_with_timeout_5_on_sleep_terminates_with_143(ctx: &mut Ctx) -> CheckResult {
    let id = running(ctx, "stop5", SLEEP_FOREVER).await?;
    timed_stop(ctx, &id, 5).await?;
    let observed = ending(ctx, &id).await?;
    ctx.expect_eq(
        "state, exit_code, reason",
        observed,
        exited_with(143, "Error"),
    )
}

async fn stop_of_a_process_trapping_term_with_exit_0_is_completed(ctx: &mut Ctx) -> CheckResult {
    let id = running_trapped(
        ctx,
        "trap0",
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; touch /tmp/trapped; while true; do sleep 1; done",
        ],
    )
    .await?;
    timed_stop(ctx, &id, 5).await?;
    let observed = ending(ctx, &id).await?;
    ctx.expect_eq(
        "state, exit_code, reason",
        observed,
        exited_with(0, "Completed"),
    )
}

async fn stop_with_timeout_2_on_a_term_ignoring_process_kills_after_the_grace_with_137(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = running_trapped(ctx, "grace", IGNORES_TERM_MARKED).await?;
    let took = timed_stop(ctx, &id, 2).await?;
    ctx.expect_eq(
        "the stop waited the 2 s grace (>= 1.9 s)",
        took >= Duration::from_millis(1900),
        true,
    )?;
    let observed = ending(ctx, &id).await?;
    ctx.expect_eq(
        "state, exit_code, reason",
        observed,
        exited_with(137, "Error"),
    )
}

async fn stop_with_timeout_0_on_a_term_ignoring_process_kills_with_137(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = running(ctx, "ignore0", IGNORES_TERM).await?;
    timed_stop(ctx, &id, 0).await?;
    let observed = ending(ctx, &id).await?;
    ctx.expect_eq(
        "state, exit_code, reason",
        observed,
        exited_with(137, "Error"),
    )
}

async fn stop_with_a_negative_timeout_kills_like_timeout_0(ctx: &mut Ctx) -> CheckResult {
    let id = running(ctx, "negative", IGNORES_TERM).await?;
    timed_stop(ctx, &id, -1).await?;
    let observed = ending(ctx, &id).await?;
    ctx.expect_eq(
        "state, exit_code, reason",
        observed,
        exited_with(137, "Error"),
    )
}

async fn stopping_a_created_container_leaves_it_created(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("stopcreated").await?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    timed_stop(ctx, &id, 0).await?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "state, started_at, finished_at, exit_code, reason",
        (
            status.state,
            status.started_at,
            status.finished_at,
            status.exit_code,
            status.reason,
        ),
        (
            ContainerState::ContainerCreated as i32,
            0,
            0,
            0,
            String::new(),
        ),
    )
}

async fn stopping_an_exited_container_again_leaves_its_status_unchanged(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = running(ctx, "stoptwice", SLEEP_FOREVER).await?;
    timed_stop(ctx, &id, 0).await?;
    let first = ctx.status_ok(&id).await?;
    let again = ctx.stop(&id, 0).await;
    ctx.expect_ok("StopContainer #2", again)?;
    let second = ctx.status_ok(&id).await?;
    ctx.expect_eq("exit_code after the second stop", second.exit_code, 137)?;
    ctx.expect_eq("status unchanged by the second stop", second == first, true)
}

async fn stop_pod_sandbox_kills_running_containers_without_grace_and_keeps_created_ones(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, config) = ctx.pod("stoppod").await?;
    let running = ctx
        .running_in(&pod, &config, "ignores-term", IGNORES_TERM)
        .await?;
    ctx.wait_state(&running, ContainerState::ContainerRunning)
        .await?;
    let container = ctx.container_config("created", SLEEP_FOREVER);
    let created = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let stop = ctx.stop_pod(&pod).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let observed = ending(ctx, &running).await?;
    ctx.expect_eq(
        "running container: state, exit_code, reason",
        observed,
        exited_with(137, "Error"),
    )?;
    let observed = ending(ctx, &created).await?;
    ctx.expect_eq(
        "created container: state, exit_code, reason",
        observed,
        (ContainerState::ContainerCreated as i32, 0, String::new()),
    )?;
    let listed = ctx
        .list_containers(ContainerFilter {
            pod_sandbox_id: pod.clone(),
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListContainers of the stopped sandbox", listed)?;
    ctx.expect_eq("containers still listed", listed.len(), 2)
}

async fn removing_a_running_container_succeeds_and_removes_it(ctx: &mut Ctx) -> CheckResult {
    let id = running(ctx, "rmrunning", IGNORES_TERM).await?;
    let remove = ctx.remove(&id).await;
    ctx.expect_ok("RemoveContainer on RUNNING", remove)?;
    let status = ctx.status(&id).await;
    ctx.expect_error(
        "ContainerStatus after remove",
        status,
        Code::NotFound,
        &format!("an error occurred when try to find container \"{id}\": not found"),
    )
}

async fn removing_a_created_container_succeeds(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("rmcreated").await?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let remove = ctx.remove(&id).await;
    ctx.expect_ok("RemoveContainer on CREATED", remove)?;
    let listed = ctx
        .list_containers(ContainerFilter {
            id: id.clone(),
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListContainers by id", listed)?;
    ctx.expect_eq("listed", listed.len(), 0)
}

/// containerd computes `time.Duration(timeout) * time.Second`, which wraps: the largest
/// timeout is -1 s, so no SIGTERM and no grace, SIGKILL at once (a `sleep` would end
/// with 143 on a SIGTERM).
async fn stop_with_the_largest_timeout_wraps_to_negative_and_kills_with_137(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = running(ctx, "huge", SLEEP_FOREVER).await?;
    timed_stop(ctx, &id, i64::MAX).await?;
    let observed = ending(ctx, &id).await?;
    ctx.expect_eq(
        "state, exit_code, reason",
        observed,
        exited_with(137, "Error"),
    )
}
