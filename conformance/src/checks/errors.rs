//! Codes and texts of bad input: streaming requests, stats, resources, empty and
//! missing ids (reference §3, §9).

use std::sync::OnceLock;

use cri_proto::v1::*;
use regex::Regex;
use tonic::Code;

use super::SLEEP_FOREVER;
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, unexpected};

pub fn checks() -> Vec<Check> {
    checks![Area::Errors =>
        exec_attach_and_port_forward_return_stream_urls,
        exec_with_tty_and_stderr_is_an_invalid_argument,
        exec_without_streams_is_an_invalid_argument_with_or,
        attach_without_streams_is_an_invalid_argument_with_and,
        exec_and_attach_on_a_created_container_name_its_state,
        exec_on_a_nonexistent_or_empty_id,
        attach_on_a_nonexistent_container_is_not_found_without_the_id,
        port_forward_on_a_stopped_sandbox_says_not_running,
        port_forward_on_a_nonexistent_or_empty_sandbox_id,
        container_stats_of_created_and_exited_containers_is_an_unexpected_metrics_response,
        container_stats_of_a_nonexistent_or_empty_id_has_no_id_in_the_text,
        pod_sandbox_stats_without_a_cgroup_parent_says_cgroup_path_is_empty,
        pod_sandbox_stats_of_a_nonexistent_or_empty_id_says_trying,
        update_container_resources_of_a_nonexistent_or_empty_id_has_no_id_in_the_text,
        container_rpcs_with_an_empty_id_say_prefix_cant_be_empty,
        start_and_status_of_a_nonexistent_container_are_not_found_with_the_id,
        create_container_in_a_nonexistent_or_empty_sandbox_id,
    ]
}

/// A running `sleep` container (and its pod).
async fn running(ctx: &mut Ctx, base: &str) -> Result<(String, String), Failure> {
    let (pod, id) = ctx.running(base, SLEEP_FOREVER).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    Ok((pod, id))
}

/// A created (never started) container in a new pod.
async fn created(ctx: &mut Ctx, base: &str) -> Result<String, Failure> {
    let (pod, config) = ctx.pod(base).await?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    ctx.create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))
}

fn exec_request(id: &str, tty: bool, stdin: bool, stdout: bool, stderr: bool) -> ExecRequest {
    ExecRequest {
        container_id: id.into(),
        cmd: vec!["sh".into()],
        tty,
        stdin,
        stdout,
        stderr,
    }
}

fn attach_request(id: &str, stdin: bool, tty: bool, stdout: bool, stderr: bool) -> AttachRequest {
    AttachRequest {
        container_id: id.into(),
        stdin,
        tty,
        stdout,
        stderr,
    }
}

/// Whether `url` is `http://127.0.0.1:<port>/<kind>/<8-char base64url token>`.
fn is_stream_url(url: &str, kind: &str) -> bool {
    static URL: OnceLock<Option<Regex>> = OnceLock::new();
    let re = URL.get_or_init(|| {
        Regex::new(r"^http://127\.0\.0\.1:[0-9]+/(exec|attach|portforward)/[A-Za-z0-9_-]{8}$").ok()
    });
    re.as_ref().is_some_and(|re| re.is_match(url)) && url.contains(&format!("/{kind}/"))
}

async fn exec_attach_and_port_forward_return_stream_urls(ctx: &mut Ctx) -> CheckResult {
    let (pod, id) = running(ctx, "urls").await?;
    let exec = ctx
        .rt
        .exec(exec_request(&id, false, false, true, true))
        .await;
    let url = ctx.expect_ok("Exec stdout+stderr", exec)?.into_inner().url;
    ctx.expect_eq("Exec url shape", is_stream_url(&url, "exec"), true)?;
    let mut empty = exec_request(&id[..12], true, true, true, false);
    empty.cmd.clear();
    let exec = ctx.rt.exec(empty).await;
    let second = ctx
        .expect_ok("Exec tty+stdin+stdout, 12-char prefix, empty cmd", exec)?
        .into_inner()
        .url;
    ctx.expect_eq("Exec url shape (2)", is_stream_url(&second, "exec"), true)?;
    ctx.expect_eq("a new url each time", second != url, true)?;
    let attach = ctx
        .rt
        .attach(attach_request(&id, false, false, true, false))
        .await;
    let url = ctx.expect_ok("Attach stdout", attach)?.into_inner().url;
    ctx.expect_eq("Attach url shape", is_stream_url(&url, "attach"), true)?;
    for ports in [vec![80], vec![], vec![0, 70000]] {
        let forward = ctx
            .rt
            .port_forward(PortForwardRequest {
                pod_sandbox_id: pod.clone(),
                port: ports.clone(),
            })
            .await;
        let url = ctx
            .expect_ok(&format!("PortForward {ports:?}"), forward)?
            .into_inner()
            .url;
        ctx.expect_eq(
            &format!("PortForward {ports:?} url shape"),
            is_stream_url(&url, "portforward"),
            true,
        )?;
    }
    Ok(())
}

async fn exec_with_tty_and_stderr_is_an_invalid_argument(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = running(ctx, "ttystderr").await?;
    let exec = ctx
        .rt
        .exec(exec_request(&id, true, false, true, true))
        .await;
    ctx.expect_error(
        "Exec tty+stderr",
        exec,
        Code::InvalidArgument,
        "tty and stderr cannot both be true",
    )
}

async fn exec_without_streams_is_an_invalid_argument_with_or(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = running(ctx, "nostreams").await?;
    let exec = ctx
        .rt
        .exec(exec_request(&id, false, false, false, false))
        .await;
    ctx.expect_error(
        "Exec no streams",
        exec,
        Code::InvalidArgument,
        "one of stdin, stdout, or stderr must be set",
    )
}

async fn attach_without_streams_is_an_invalid_argument_with_and(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = running(ctx, "attachnostreams").await?;
    let attach = ctx
        .rt
        .attach(attach_request(&id, false, false, false, false))
        .await;
    ctx.expect_error(
        "Attach no streams",
        attach,
        Code::InvalidArgument,
        "one of stdin, stdout, and stderr must be set",
    )
}

async fn exec_and_attach_on_a_created_container_name_its_state(ctx: &mut Ctx) -> CheckResult {
    let id = created(ctx, "streamcreated").await?;
    let exec = ctx
        .rt
        .exec(exec_request(&id, false, false, true, false))
        .await;
    ctx.expect_error(
        "Exec on CREATED",
        exec,
        Code::Unknown,
        "container is in CONTAINER_CREATED state",
    )?;
    let attach = ctx
        .rt
        .attach(attach_request(&id, false, false, true, false))
        .await;
    ctx.expect_error(
        "Attach on CREATED",
        attach,
        Code::Unknown,
        "container is in CONTAINER_CREATED state",
    )
}

async fn exec_on_a_nonexistent_or_empty_id(ctx: &mut Ctx) -> CheckResult {
    let id = "f".repeat(64);
    let exec = ctx
        .rt
        .exec(exec_request(&id, false, false, true, false))
        .await;
    ctx.expect_error(
        "Exec nonexistent",
        exec,
        Code::NotFound,
        &format!("failed to find container \"{id}\" in store: not found"),
    )?;
    let exec = ctx
        .rt
        .exec(exec_request("", false, false, true, false))
        .await;
    ctx.expect_error(
        "Exec \"\"",
        exec,
        Code::Unknown,
        "failed to find container \"\" in store: Prefix can't be empty",
    )
}

async fn attach_on_a_nonexistent_container_is_not_found_without_the_id(
    ctx: &mut Ctx,
) -> CheckResult {
    let attach = ctx
        .rt
        .attach(attach_request(&"f".repeat(64), false, false, true, false))
        .await;
    ctx.expect_error(
        "Attach nonexistent",
        attach,
        Code::NotFound,
        "failed to find container in store: not found",
    )
}

async fn port_forward_on_a_stopped_sandbox_says_not_running(ctx: &mut Ctx) -> CheckResult {
    let (pod, _) = ctx.pod("pfstopped").await?;
    let stop = ctx.stop_pod(&pod).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let forward = ctx
        .rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: pod,
            port: vec![80],
        })
        .await;
    ctx.expect_error(
        "PortForward on a stopped sandbox",
        forward,
        Code::Unknown,
        "sandbox container is not running",
    )
}

async fn port_forward_on_a_nonexistent_or_empty_sandbox_id(ctx: &mut Ctx) -> CheckResult {
    let id = "f".repeat(64);
    let forward = ctx
        .rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: id.clone(),
            port: vec![80],
        })
        .await;
    ctx.expect_error(
        "PortForward nonexistent",
        forward,
        Code::NotFound,
        &format!("failed to find sandbox \"{id}\": not found"),
    )?;
    let forward = ctx
        .rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: String::new(),
            port: vec![80],
        })
        .await;
    ctx.expect_error(
        "PortForward \"\"",
        forward,
        Code::Unknown,
        "failed to find sandbox \"\": Prefix can't be empty",
    )
}

async fn container_stats(ctx: &mut Ctx, id: &str) -> Result<ContainerStatsResponse, tonic::Status> {
    ctx.rt
        .container_stats(ContainerStatsRequest {
            container_id: id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn container_stats_of_created_and_exited_containers_is_an_unexpected_metrics_response(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = created(ctx, "statscreated").await?;
    let stats = container_stats(ctx, &id).await;
    ctx.expect_error(
        "ContainerStats on CREATED",
        stats,
        Code::Unknown,
        "unexpected metrics response: []",
    )?;
    let (_, exited) = ctx.running("statsexited", &["true"]).await?;
    ctx.wait_state(&exited, ContainerState::ContainerExited)
        .await?;
    let stats = container_stats(ctx, &exited).await;
    ctx.expect_error(
        "ContainerStats on EXITED",
        stats,
        Code::Unknown,
        "unexpected metrics response: []",
    )
}

async fn container_stats_of_a_nonexistent_or_empty_id_has_no_id_in_the_text(
    ctx: &mut Ctx,
) -> CheckResult {
    let stats = container_stats(ctx, &"f".repeat(64)).await;
    ctx.expect_error(
        "ContainerStats nonexistent",
        stats,
        Code::NotFound,
        "failed to find container: not found",
    )?;
    let stats = container_stats(ctx, "").await;
    ctx.expect_error(
        "ContainerStats \"\"",
        stats,
        Code::Unknown,
        "failed to find container: Prefix can't be empty",
    )
}

async fn pod_sandbox_stats(
    ctx: &mut Ctx,
    id: &str,
) -> Result<PodSandboxStatsResponse, tonic::Status> {
    ctx.rt
        .pod_sandbox_stats(PodSandboxStatsRequest {
            pod_sandbox_id: id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn pod_sandbox_stats_without_a_cgroup_parent_says_cgroup_path_is_empty(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, _) = ctx.pod("nocgroup").await?;
    let stats = pod_sandbox_stats(ctx, &pod).await;
    ctx.expect_error(
        "PodSandboxStats",
        stats,
        Code::Unknown,
        &format!(
            "failed getting metrics for sandbox {pod}: failed to get cgroup metrics for sandbox {pod} because cgroupPath is empty"
        ),
    )
}

async fn pod_sandbox_stats_of_a_nonexistent_or_empty_id_says_trying(ctx: &mut Ctx) -> CheckResult {
    let id = "f".repeat(64);
    let stats = pod_sandbox_stats(ctx, &id).await;
    ctx.expect_error(
        "PodSandboxStats nonexistent",
        stats,
        Code::NotFound,
        &format!("an error occurred when trying to find sandbox {id}: not found"),
    )?;
    let stats = pod_sandbox_stats(ctx, "").await;
    ctx.expect_error(
        "PodSandboxStats \"\"",
        stats,
        Code::Unknown,
        "an error occurred when trying to find sandbox : Prefix can't be empty",
    )
}

async fn update_container_resources_of_a_nonexistent_or_empty_id_has_no_id_in_the_text(
    ctx: &mut Ctx,
) -> CheckResult {
    let linux = Some(LinuxContainerResources {
        cpu_shares: 256,
        ..Default::default()
    });
    let update = ctx.update_resources(&"f".repeat(64), linux.clone()).await;
    ctx.expect_error(
        "UpdateContainerResources nonexistent",
        update,
        Code::NotFound,
        "failed to find container: not found",
    )?;
    let update = ctx.update_resources("", linux).await;
    ctx.expect_error(
        "UpdateContainerResources \"\"",
        update,
        Code::Unknown,
        "failed to find container: Prefix can't be empty",
    )
}

async fn container_rpcs_with_an_empty_id_say_prefix_cant_be_empty(ctx: &mut Ctx) -> CheckResult {
    let text = "an error occurred when try to find container \"\": Prefix can't be empty";
    let status = ctx.status("").await;
    ctx.expect_error("ContainerStatus \"\"", status, Code::Unknown, text)?;
    let start = ctx.start("").await;
    ctx.expect_error("StartContainer \"\"", start, Code::Unknown, text)?;
    let stop = ctx.stop("", 0).await;
    ctx.expect_error("StopContainer \"\"", stop, Code::Unknown, text)?;
    let remove = ctx.remove("").await;
    ctx.expect_error("RemoveContainer \"\"", remove, Code::Unknown, text)
}

async fn start_and_status_of_a_nonexistent_container_are_not_found_with_the_id(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = "f".repeat(64);
    let text = format!("an error occurred when try to find container \"{id}\": not found");
    let status = ctx.status(&id).await;
    ctx.expect_error("ContainerStatus nonexistent", status, Code::NotFound, &text)?;
    let start = ctx.start(&id).await;
    ctx.expect_error("StartContainer nonexistent", start, Code::NotFound, &text)
}

async fn create_container_in_a_nonexistent_or_empty_sandbox_id(ctx: &mut Ctx) -> CheckResult {
    let config = ctx.pod_config("nosandbox");
    let missing = "0".repeat(64);
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let create = ctx.create(&missing, &config, container.clone()).await;
    ctx.expect_error(
        "CreateContainer in a nonexistent sandbox",
        create,
        Code::NotFound,
        &format!("failed to find sandbox id \"{missing}\": not found"),
    )?;
    let create = ctx.create("", &config, container).await;
    ctx.expect_error(
        "CreateContainer in \"\"",
        create,
        Code::Unknown,
        "failed to find sandbox id \"\": Prefix can't be empty",
    )
}
