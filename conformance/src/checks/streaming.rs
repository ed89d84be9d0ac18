//! Exec, Attach and PortForward sessions over the streaming server (kubelet's
//! `remotecommand` and `portforward` servers, which containerd embeds), driven with
//! the SPDY/3.1 client of `cri_fake::streaming::client`.

use cri_fake::streaming::client::{self, SpdyClient};
use cri_proto::v1::*;

use super::SLEEP_FOREVER;
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::Streaming =>
        exec_over_spdy_streams_stdout_and_stderr_and_reports_success,
        exec_over_spdy_reports_a_non_zero_exit_as_a_nonzeroexitcode_status,
        exec_over_spdy_reads_stdin_until_its_fin,
        exec_url_without_a_protocol_header_is_400_with_kubelets_text,
        attach_with_stdin_once_feeds_the_main_process_and_closes_its_stdin,
        port_forward_to_a_port_nobody_listens_on_reports_the_refusal_and_ends_both_streams,
    ]
}

/// The `metav1.Status` of a successful exec: 1.6's apimachinery writes an empty
/// `metadata`, 2.3.4's leaves it out (both measured).
fn success(ctx: &Ctx) -> &'static str {
    ctx.per_profile(
        r#"{"metadata":{},"status":"Success"}"#,
        r#"{"status":"Success"}"#,
    )
}

fn io_failure(what: &str, e: std::io::Error) -> Failure {
    Failure::Mismatch(format!("{what}: {e}"))
}

/// An Exec URL for `cmd` in a new running `sleep` container.
async fn exec_url(ctx: &mut Ctx, base: &str, cmd: &[&str], stdin: bool) -> Result<String, Failure> {
    let (_, id) = ctx.running(base, SLEEP_FOREVER).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    let response = ctx
        .rt
        .exec(ExecRequest {
            container_id: id,
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            tty: false,
            stdin,
            stdout: true,
            stderr: true,
        })
        .await
        .map_err(|s| unexpected("Exec", &s))?;
    Ok(response.into_inner().url)
}

/// Runs an exec over SPDY v4: (stdout, stderr, error stream).
async fn spdy_exec(url: &str, stdin: Option<&[u8]>) -> Result<(String, String, String), Failure> {
    let (mut client, _) = SpdyClient::connect(url, "v4.channel.k8s.io")
        .await
        .map_err(|e| io_failure("SPDY upgrade", e))?;
    let open = async {
        let error = client.open("error").await?;
        let input = match stdin {
            Some(_) => Some(client.open("stdin").await?),
            None => None,
        };
        let stdout = client.open("stdout").await?;
        let stderr = client.open("stderr").await?;
        if let (Some(id), Some(data)) = (input, stdin) {
            client.write(id, data, true).await?;
        }
        client.finish().await?;
        Ok::<_, std::io::Error>((error, stdout, stderr))
    };
    let (error, stdout, stderr) = open.await.map_err(|e| io_failure("exec session", e))?;
    Ok((client.text(stdout), client.text(stderr), client.text(error)))
}

async fn exec_over_spdy_streams_stdout_and_stderr_and_reports_success(
    ctx: &mut Ctx,
) -> CheckResult {
    let url = exec_url(
        ctx,
        "spdyexec",
        &["sh", "-c", "echo out; echo err >&2"],
        false,
    )
    .await?;
    let (out, err, status) = spdy_exec(&url, None).await?;
    ctx.expect_eq(
        "stdout, stderr",
        (out.as_str(), err.as_str()),
        ("out\n", "err\n"),
    )?;
    ctx.expect_eq("error stream", status.as_str(), success(ctx))
}

async fn exec_over_spdy_reports_a_non_zero_exit_as_a_nonzeroexitcode_status(
    ctx: &mut Ctx,
) -> CheckResult {
    let url = exec_url(ctx, "spdyexit", &["sh", "-c", "exit 3"], false).await?;
    let (_, _, status) = spdy_exec(&url, None).await?;
    let metadata = ctx.per_profile(r#""metadata":{},"#, "");
    ctx.expect_eq(
        "error stream",
        status,
        format!(
            r#"{{{metadata}"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{{"causes":[{{"reason":"ExitCode","message":"3"}}]}}}}"#
        ),
    )
}

async fn exec_over_spdy_reads_stdin_until_its_fin(ctx: &mut Ctx) -> CheckResult {
    let url = exec_url(ctx, "spdystdin", &["sh", "-c", "cat; echo done"], true).await?;
    let (out, _, status) = spdy_exec(&url, Some(b"line one\ntwo")).await?;
    ctx.expect_eq("stdout", out.as_str(), "line one\ntwodone\n")?;
    ctx.expect_eq("error stream", status.as_str(), success(ctx))
}

async fn exec_url_without_a_protocol_header_is_400_with_kubelets_text(
    ctx: &mut Ctx,
) -> CheckResult {
    let url = exec_url(ctx, "spdy400", &["true"], false).await?;
    let (status, _, body) = client::plain(&url, &[])
        .await
        .map_err(|e| io_failure("GET", e))?;
    let expected = ctx.per_profile(
        "unable to upgrade: X-Stream-Protocol-Version is required\n",
        "unable to upgrade: header X-Stream-Protocol-Version does not exist in request with 0 headers\n",
    );
    ctx.expect_eq(
        "status, body",
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 400 Bad Request", expected),
    )
}

async fn attach_with_stdin_once_feeds_the_main_process_and_closes_its_stdin(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, config) = ctx.pod("attach").await?;
    let mut container = ctx.container_config("reader", &["sh", "-c", "read x; echo got $x; cat"]);
    container.stdin = true;
    container.stdin_once = true;
    let id = ctx.create_and_start(&pod, &config, container).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    let url = ctx
        .rt
        .attach(AttachRequest {
            container_id: id.clone(),
            stdin: true,
            tty: false,
            stdout: true,
            stderr: true,
        })
        .await
        .map_err(|s| unexpected("Attach", &s))?
        .into_inner()
        .url;
    let (out, err, status) = spdy_exec(&url, Some(b"hello\nrest")).await?;
    ctx.expect_eq(
        "stdout, stderr",
        (out.as_str(), err.as_str()),
        ("got hello\nrest", ""),
    )?;
    ctx.expect_eq("error stream", status.as_str(), success(ctx))?;
    let status = ctx.wait_state(&id, ContainerState::ContainerExited).await?;
    ctx.expect_eq("exit code", status.exit_code, 0)
}

async fn port_forward_to_a_port_nobody_listens_on_reports_the_refusal_and_ends_both_streams(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, _) = ctx.pod("pfclosed").await?;
    // A port nobody on a test machine listens on (the pods share the node's network).
    let port = 1;
    let url = ctx
        .rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: pod.clone(),
            port: vec![port],
        })
        .await
        .map_err(|s| unexpected("PortForward", &s))?
        .into_inner()
        .url;
    let (mut client, _) = SpdyClient::connect(&url, "portforward.k8s.io")
        .await
        .map_err(|e| io_failure("SPDY upgrade", e))?;
    let session = async {
        let port = port.to_string();
        let error = client
            .open_with(&[("streamtype", "error"), ("port", &port), ("requestid", "0")])
            .await?;
        let data = client
            .open_with(&[("streamtype", "data"), ("port", &port), ("requestid", "0")])
            .await?;
        client
            .until(|c| c.finished.contains(&error) || c.reset.contains(&error))
            .await?;
        Ok::<_, std::io::Error>((error, data))
    };
    let (error, data) = session
        .await
        .map_err(|e| io_failure("port-forward session", e))?;
    // The IPv6 attempt's words depend on the host's /etc/hosts (`::1 localhost` or
    // not); both forms are accepted, nothing else.
    let text = client
        .text(error)
        .replace(
            &format!("dial tcp6 [::1]:{port}: connect: connection refused"),
            "<ipv6 dial error>",
        )
        .replace(
            "dial tcp6: address localhost: no suitable address found",
            "<ipv6 dial error>",
        );
    let expected = format!(
        "error forwarding port {port} to pod {pod}, uid : failed to execute portforward in network namespace \"host\": failed to connect to localhost:{port} inside namespace \"{pod}\", IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused IPv6 <ipv6 dial error> "
    );
    ctx.expect_eq("error stream", text, expected)?;
    // containerd closes the data stream first; 2.3's kubelet code then resets both
    // streams, which resets only the error stream (the data stream is already
    // finished); 1.6's finishes the error stream. Both measured.
    let (finished, reset) = ctx.per_profile((vec![data, error], vec![]), (vec![data], vec![error]));
    ctx.expect_eq("finished streams", client.finished.clone(), finished)?;
    ctx.expect_eq("reset streams", client.reset.clone(), reset)
}
