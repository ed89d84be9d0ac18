//! Codes and texts of bad input: streaming requests, stats, resources, empty and
//! missing ids (reference §3, §9).

use std::sync::OnceLock;
use std::time::Duration;

use cri_proto::v1::*;
use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

use super::{SLEEP_FOREVER, empty_prefix};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::Errors =>
        exec_attach_and_port_forward_return_stream_urls,
        plain_http_get_on_an_exec_url_is_refused_once_then_not_found,
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
        pod_sandbox_stats_of_a_stopped_sandbox_says_not_in_ready_state,
        list_pod_sandbox_stats_of_a_sandbox_without_a_cgroup_parent_fails_the_call,
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

/// A plain HTTP/1.1 GET of `url` (`http://host:port/path`) with exactly three headers
/// besides `Host` (User-Agent, Accept, Connection): the status code and the body.
async fn plain_get(url: &str) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        let request = format!(
            "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: cri-conformance\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| format!("GET {url}: no answer within 10s"))?
        .map_err(|e| format!("GET {url}: {e}"))?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {url}: not an HTTP response: {response:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("GET {url}: no status code in {head:?}"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    Ok((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    ))
}

/// The payload of a chunked HTTP body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

async fn plain_http_get_on_an_exec_url_is_refused_once_then_not_found(
    ctx: &mut Ctx,
) -> CheckResult {
    let (_, id) = running(ctx, "plainget").await?;
    let exec = ctx
        .rt
        .exec(exec_request(&id, false, false, true, false))
        .await;
    let url = ctx.expect_ok("Exec stdout", exec)?.into_inner().url;
    let first = plain_get(&url).await.map_err(Failure::Mismatch)?;
    // 2.3 counts the request's headers (Go's len(req.Header): without Host).
    let refusal = ctx.per_profile(
        "unable to upgrade: X-Stream-Protocol-Version is required\n",
        "unable to upgrade: header X-Stream-Protocol-Version does not exist in request with 3 headers\n",
    );
    ctx.expect_eq(
        "GET without X-Stream-Protocol-Version: status, body",
        (first.0, first.1.as_str()),
        (400, refusal),
    )?;
    let second = plain_get(&url).await.map_err(Failure::Mismatch)?;
    ctx.expect_eq(
        "GET of the same URL again: status, body",
        (second.0, second.1.as_str()),
        (404, "404 page not found\n"),
    )
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
    let text = format!(
        "failed to find container \"\" in store: {}",
        empty_prefix(ctx)
    );
    ctx.expect_error("Exec \"\"", exec, Code::Unknown, &text)
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
    let text = format!("failed to find sandbox \"\": {}", empty_prefix(ctx));
    ctx.expect_error("PortForward \"\"", forward, Code::Unknown, &text)
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
    let text = format!("failed to find container: {}", empty_prefix(ctx));
    ctx.expect_error("ContainerStats \"\"", stats, Code::Unknown, &text)
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
    let prefix = ctx.per_profile(
        String::new(),
        format!("failed to decode pod sandbox metrics {pod}: "),
    );
    ctx.expect_error(
        "PodSandboxStats",
        stats,
        Code::Unknown,
        &format!(
            "{prefix}failed getting metrics for sandbox {pod}: failed to get cgroup metrics for sandbox {pod} because cgroupPath is empty"
        ),
    )
}

async fn pod_sandbox_stats_of_a_stopped_sandbox_says_not_in_ready_state(
    ctx: &mut Ctx,
) -> CheckResult {
    // A cgroup parent, so that only the state stands in the way. `/k8s.io` is where
    // containerd puts sandboxes without one: no new cgroup is left on the host.
    let mut config = ctx.pod_config("statsstopped");
    if let Some(linux) = config.linux.as_mut() {
        linux.cgroup_parent = "/k8s.io".into();
    }
    let pod = ctx.run_pod(&config).await?;
    let stop = ctx.stop_pod(&pod).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let stats = pod_sandbox_stats(ctx, &pod).await;
    let text = format!(
        "failed to decode pod sandbox metrics {pod}: failed to get pod sandbox stats since sandbox container \"{pod}\" is not in ready state"
    );
    // 2.3 wraps containerd's ErrUnavailable: UNAVAILABLE, and its text at the end.
    let (code, text) = ctx.per_profile(
        (Code::Unknown, text.clone()),
        (Code::Unavailable, format!("{text}: unavailable")),
    );
    ctx.expect_error("PodSandboxStats of a stopped sandbox", stats, code, &text)
}

async fn list_pod_sandbox_stats_of_a_sandbox_without_a_cgroup_parent_fails_the_call(
    ctx: &mut Ctx,
) -> CheckResult {
    // Filtered by id, so that no other sandbox on the target takes part.
    let (pod, _) = ctx.pod("liststats").await?;
    let stats = ctx
        .rt
        .list_pod_sandbox_stats(ListPodSandboxStatsRequest {
            filter: Some(PodSandboxStatsFilter {
                id: pod.clone(),
                ..Default::default()
            }),
        })
        .await;
    let cause =
        format!("failed to get cgroup metrics for sandbox {pod} because cgroupPath is empty");
    let text = ctx.per_profile(
        format!("failed to obtain metrics for sandbox \"{pod}\": {cause}"),
        format!(
            "failed to decode sandbox container metrics for sandbox \"{pod}\": failed getting metrics for sandbox {pod}: {cause}"
        ),
    );
    ctx.expect_error(
        "ListPodSandboxStats filtered to the sandbox",
        stats,
        Code::Unknown,
        &text,
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
    let text = format!(
        "an error occurred when trying to find sandbox : {}",
        empty_prefix(ctx)
    );
    ctx.expect_error("PodSandboxStats \"\"", stats, Code::Unknown, &text)
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
    let text = format!("failed to find container: {}", empty_prefix(ctx));
    ctx.expect_error(
        "UpdateContainerResources \"\"",
        update,
        Code::Unknown,
        &text,
    )
}

async fn container_rpcs_with_an_empty_id_say_prefix_cant_be_empty(ctx: &mut Ctx) -> CheckResult {
    let text = format!(
        "an error occurred when try to find container \"\": {}",
        empty_prefix(ctx)
    );
    let status = ctx.status("").await;
    ctx.expect_error("ContainerStatus \"\"", status, Code::Unknown, &text)?;
    let start = ctx.start("").await;
    ctx.expect_error("StartContainer \"\"", start, Code::Unknown, &text)?;
    let stop = ctx.stop("", 0).await;
    ctx.expect_error("StopContainer \"\"", stop, Code::Unknown, &text)?;
    let remove = ctx.remove("").await;
    ctx.expect_error("RemoveContainer \"\"", remove, Code::Unknown, &text)
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
    let text = format!("failed to find sandbox id \"\": {}", empty_prefix(ctx));
    ctx.expect_error("CreateContainer in \"\"", create, Code::Unknown, &text)
}
