//! The streaming server end to end: Exec URLs upgraded to SPDY/3.1 and WebSocket, driven
//! by the test client in `common::stream_client`, with exact bytes and statuses.

mod common;

use base64::Engine;
use common::stream_client::{SpdyClient, channel_text, plain, websocket, ws_messages, ws_send};
use cri_fake::streaming::spdy::Frame;
use cri_proto::v1::{
    AttachRequest, ContainerState, ExecRequest, PortForwardRequest, PortForwardResponse,
};
use futures::StreamExt;

/// containerd 2.3's exec status (1.6 starts it with `"metadata":{}`).
const SUCCESS: &str = r#"{"status":"Success"}"#;

fn non_zero(cmd: &str, code: i32) -> String {
    format!(
        r#"{{"status":"Failure","message":"command terminated with non-zero exit code: error executing command [{cmd}], exit code {code}","reason":"NonZeroExitCode","details":{{"causes":[{{"reason":"ExitCode","message":"{code}"}}]}}}}"#
    )
}

struct Exec {
    cmd: &'static [&'static str],
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

/// A running busybox container and an exec URL for `exec` in it.
async fn exec_url(env: &mut common::Env, exec: Exec) -> String {
    let (pod, config) = env.pod("web").await;
    let id = env.running(&pod, &config, "app", &["sleep", "3600"]).await;
    env.rt
        .exec(ExecRequest {
            container_id: id,
            cmd: exec.cmd.iter().map(|s| s.to_string()).collect(),
            tty: exec.tty,
            stdin: exec.stdin,
            stdout: exec.stdout,
            stderr: exec.stderr,
        })
        .await
        .expect("Exec")
        .into_inner()
        .url
}

const SH_C: fn(&'static [&'static str]) -> Exec = |cmd| Exec {
    cmd,
    tty: false,
    stdin: false,
    stdout: true,
    stderr: true,
};

/// Runs a non-interactive exec over SPDY v4: (stdout, stderr, error stream).
async fn spdy_run(cmd: &'static [&'static str]) -> (String, String, String) {
    let mut env = common::start().await;
    let url = exec_url(&mut env, SH_C(cmd)).await;
    let (mut client, head) = SpdyClient::connect(&url, "v4.channel.k8s.io").await;
    assert_eq!(
        head,
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n"
    );
    let error = client.open("error").await;
    let stdout = client.open("stdout").await;
    let stderr = client.open("stderr").await;
    client.finish().await;
    assert!(client.goaway, "the session ends with GOAWAY");
    assert!(client.reset.contains(&error), "the error stream is reset");
    for id in [stdout, stderr] {
        assert!(client.finished.contains(&id), "stream {id} finished");
    }
    (client.text(stdout), client.text(stderr), client.text(error))
}

#[tokio::test]
async fn spdy_exec_streams_stdout_and_stderr_and_reports_success() {
    let (out, err, status) = spdy_run(&["sh", "-c", "echo out; echo err >&2"]).await;
    assert_eq!((out.as_str(), err.as_str()), ("out\n", "err\n"));
    assert_eq!(status, SUCCESS);
}

#[tokio::test]
async fn spdy_exec_exit_1_is_a_nonzeroexitcode_status_with_the_exit_code_cause() {
    let (_, _, status) = spdy_run(&["sh", "-c", "exit 1"]).await;
    assert_eq!(status, non_zero("sh -c exit 1", 1));
}

#[tokio::test]
async fn spdy_exec_killed_by_sigkill_reports_exit_code_137() {
    let (_, _, status) = spdy_run(&["sh", "-c", "kill -9 $$"]).await;
    assert_eq!(status, non_zero("sh -c kill -9 $$", 137));
}

#[tokio::test]
async fn spdy_exec_of_a_missing_binary_is_an_internal_error_status() {
    let (_, _, status) = spdy_run(&["nosuchbinary"]).await;
    assert!(
        status.starts_with(r#"{"status":"Failure","message":"Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "#),
        "{status}"
    );
    assert!(
        status.ends_with(r#"executable file not found in $PATH"}]},"code":500}"#),
        "{status}"
    );
}

#[tokio::test]
async fn spdy_stdin_fin_is_end_of_file_and_ends_cat() {
    let mut env = common::start().await;
    let url = exec_url(
        &mut env,
        Exec {
            cmd: &["cat"],
            tty: false,
            stdin: true,
            stdout: true,
            stderr: false,
        },
    )
    .await;
    let (mut client, _) = SpdyClient::connect(&url, "v4.channel.k8s.io").await;
    let error = client.open("error").await;
    let stdin = client.open("stdin").await;
    let stdout = client.open("stdout").await;
    client.write(stdin, b"line one\n", false).await;
    client.read_until(stdout, b"line one\n").await;
    client.write(stdin, b"two", true).await;
    client.finish().await;
    assert_eq!(client.text(stdout), "line one\ntwo");
    assert_eq!(client.text(error), SUCCESS);
}

#[tokio::test]
async fn spdy_interactive_tty_shell_prompts_echoes_runs_each_line_and_follows_resizes() {
    let mut env = common::start().await;
    let url = exec_url(
        &mut env,
        Exec {
            cmd: &["sh"],
            tty: true,
            stdin: true,
            stdout: true,
            stderr: false,
        },
    )
    .await;
    let (mut client, _) = SpdyClient::connect(&url, "v5.channel.k8s.io").await;
    let error = client.open("error").await;
    let stdin = client.open("stdin").await;
    let stdout = client.open("stdout").await;
    let resize = client.open("resize").await;
    client
        .write(resize, br#"{"Width":100,"Height":30}"#, false)
        .await;
    client.read_until(stdout, b"/ # ").await;
    client.write(stdin, b"echo hi $TERM\r", false).await;
    client.read_until(stdout, b"hi xterm\r\n/ # ").await;
    client
        .write(resize, br#"{"Width":120,"Height":40}"#, false)
        .await;
    // The resize reaches the terminal before the stdin sent after it.
    client.write(stdin, b"stty size\r", false).await;
    client.read_until(stdout, b"40 120\r\n/ # ").await;
    client.write(stdin, b"exit 7\n", false).await;
    client.finish().await;
    assert_eq!(
        client.text(stdout),
        "/ # echo hi $TERM\r\nhi xterm\r\n/ # stty size\r\n40 120\r\n/ # exit 7\r\n"
    );
    assert_eq!(client.text(error), non_zero("sh", 7));
}

#[tokio::test]
async fn spdy_client_disconnect_kills_the_exec_process_tree() {
    let mut env = common::start().await;
    let (pod, config) = env.pod("web").await;
    let id = env.running(&pod, &config, "app", &["sleep", "3600"]).await;
    let url = env
        .rt
        .exec(ExecRequest {
            container_id: id.clone(),
            cmd: ["sh", "-c", "sleep 1000 & echo started; wait"]
                .map(String::from)
                .to_vec(),
            stdout: true,
            ..Default::default()
        })
        .await
        .expect("Exec")
        .into_inner()
        .url;
    let (mut client, _) = SpdyClient::connect(&url, "v4.channel.k8s.io").await;
    client.open("error").await;
    let stdout = client.open("stdout").await;
    client.read_until(stdout, b"started\n").await;
    let ps = env.exec(&id, &["ps", "-o", "args"], 0).await.expect("ps");
    assert!(
        String::from_utf8_lossy(&ps.stdout).contains("sleep 1000"),
        "{ps:?}"
    );
    drop(client);
    // Bounded wait for the kill (no timing assertion: the loop only polls).
    let mut gone = false;
    for _ in 0..500 {
        let ps = env.exec(&id, &["ps", "-o", "args"], 0).await.expect("ps");
        if !String::from_utf8_lossy(&ps.stdout).contains("sleep 1000") {
            gone = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(gone, "the exec's background sleep was killed");
}

#[tokio::test]
async fn websocket_v5_exec_sends_channels_status_and_stdin_close() {
    let mut env = common::start().await;
    let url = exec_url(
        &mut env,
        Exec {
            cmd: &["sh", "-c", "cat; echo err >&2; exit 3"],
            tty: false,
            stdin: true,
            stdout: true,
            stderr: true,
        },
    )
    .await;
    let (mut ws, response) = websocket(&url, "v5.channel.k8s.io").await;
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some("v5.channel.k8s.io")
    );
    ws_send(&mut ws, 0, b"hello\n").await;
    ws_send(&mut ws, 255, &[0]).await;
    let messages = ws_messages(&mut ws).await;
    assert_eq!(messages.first(), Some(&(1, Vec::new())), "{messages:?}");
    assert_eq!(channel_text(&messages, 1), "hello\n");
    assert_eq!(channel_text(&messages, 2), "err\n");
    assert_eq!(
        channel_text(&messages, 3),
        // Go's encoding/json escapes `>` and `&` in strings.
        non_zero("sh -c cat; echo err >&2; exit 3", 3)
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    );
}

#[tokio::test]
async fn websocket_base64_protocol_sends_text_frames_with_a_digit_channel() {
    let mut env = common::start().await;
    let url = exec_url(&mut env, SH_C(&["echo", "hi"])).await;
    let (mut ws, _) = websocket(&url, "v4.base64.channel.k8s.io").await;
    let messages = ws_messages(&mut ws).await;
    assert_eq!(
        messages,
        vec![
            (b'1', Vec::new()),
            (b'1', b"aGkK".to_vec()),
            (
                b'3',
                base64::engine::general_purpose::STANDARD
                    .encode(SUCCESS)
                    .into_bytes()
            ),
        ]
    );
}

#[tokio::test]
async fn websocket_with_an_unknown_protocol_is_refused_with_403() {
    let mut env = common::start().await;
    let url = exec_url(&mut env, SH_C(&["true"])).await;
    let (status, _, body) = plain(
        &url,
        &[
            "Connection: Upgrade",
            "Upgrade: websocket",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol: v9.channel.k8s.io",
        ],
    )
    .await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 403 Forbidden", "")
    );
}

#[tokio::test]
async fn an_exec_token_is_single_use_a_second_upgrade_is_404() {
    let mut env = common::start().await;
    let url = exec_url(&mut env, SH_C(&["true"])).await;
    let (mut client, _) = SpdyClient::connect(&url, "v4.channel.k8s.io").await;
    client.open("error").await;
    client.open("stdout").await;
    client.open("stderr").await;
    client.finish().await;
    let (status, _, body) = plain(
        &url,
        &[
            "Connection: Upgrade",
            "Upgrade: SPDY/3.1",
            "X-Stream-Protocol-Version: v4.channel.k8s.io",
        ],
    )
    .await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 404 Not Found", "404 page not found\n")
    );
}

#[tokio::test]
async fn an_exec_token_expires_after_one_minute() {
    let mut env = common::start().await;
    let url = exec_url(&mut env, SH_C(&["true"])).await;
    tokio::time::pause();
    tokio::time::advance(std::time::Duration::from_secs(61)).await;
    let (status, _, body) = plain(
        &url,
        &[
            "Connection: Upgrade",
            "Upgrade: SPDY/3.1",
            "X-Stream-Protocol-Version: v4.channel.k8s.io",
        ],
    )
    .await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("HTTP/1.1 404 Not Found", "404 page not found\n")
    );
}

async fn unsupported_version(profile: cri_fake::Profile) -> (String, String, String) {
    let mut env = common::start_profile(profile).await;
    let url = exec_url(&mut env, SH_C(&["true"])).await;
    plain(
        &url,
        &[
            "Connection: Upgrade",
            "Upgrade: SPDY/3.1",
            "X-Stream-Protocol-Version: v9.channel.k8s.io",
        ],
    )
    .await
}

#[tokio::test]
async fn an_unsupported_protocol_version_is_kubelets_403_naming_both_lists() {
    let (status, head, body) = unsupported_version(cri_fake::Profile::Containerd23).await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    assert!(
        head.contains("X-Accepted-Stream-Protocol-Versions: v5.channel.k8s.io\r\nX-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io\r\n"),
        "{head}"
    );
    assert_eq!(
        body,
        "unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts [v5.channel.k8s.io v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]\n"
    );
}

#[tokio::test]
async fn containerd_16_writes_the_negotiation_error_twice_and_knows_no_v5() {
    let (status, _, body) = unsupported_version(cri_fake::Profile::Containerd16).await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    let line = "unable to upgrade: unable to negotiate protocol: client supports [v9.channel.k8s.io], server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]\n";
    assert_eq!(body, line.repeat(2));
}

#[tokio::test]
async fn a_protocol_header_without_upgrade_headers_is_400_with_gos_header_dump() {
    let mut env = common::start().await;
    let url = exec_url(&mut env, SH_C(&["true"])).await;
    let (status, _, body) = plain(&url, &["X-Stream-Protocol-Version: v4.channel.k8s.io"]).await;
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        body,
        "unable to upgrade: missing upgrade headers in request: http.Header{\"X-Stream-Protocol-Version\":[]string{\"v4.channel.k8s.io\"}}\n"
    );
}

/// A host-network pod whose container serves `page` with httpd on `port`, once it
/// answers; returns the pod id.
async fn pod_serving(env: &mut common::Env, port: u16, page: &str) -> String {
    let (pod, config) = env.pod("web").await;
    let script =
        format!("mkdir /www; echo {page} > /www/index.html; exec httpd -f -p {port} -h /www");
    let id = env
        .running(&pod, &config, "web", &["sh", "-c", &script])
        .await;
    let probe = format!("http://127.0.0.1:{port}/");
    for _ in 0..100 {
        let r = env.exec(&id, &["wget", "-q", "-O", "-", &probe], 0).await;
        if r.is_ok_and(|r| r.exit_code == 0) {
            return pod;
        }
        tokio::task::yield_now().await;
    }
    panic!("httpd never answered");
}

/// Opens a port-forward pair (error stream, then data stream) for `port`.
async fn open_pair(client: &mut SpdyClient, port: &str, request_id: &str) -> (u32, u32) {
    let error = client
        .open_with(&[
            ("streamtype", "error"),
            ("port", port),
            ("requestid", request_id),
        ])
        .await;
    let data = client
        .open_with(&[
            ("streamtype", "data"),
            ("port", port),
            ("requestid", request_id),
        ])
        .await;
    (error, data)
}

async fn port_forward_url(env: &mut common::Env, pod: &str, ports: &[i32]) -> String {
    let PortForwardResponse { url } = env
        .rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: pod.into(),
            port: ports.to_vec(),
        })
        .await
        .expect("PortForward")
        .into_inner();
    url
}

#[tokio::test]
async fn a_port_forward_request_without_a_protocol_header_is_400() {
    let mut env = common::start().await;
    let (pod, _) = env.pod("web").await;
    let url = port_forward_url(&mut env, &pod, &[8080]).await;
    let (status, _, body) = plain(&url, &[]).await;
    assert_eq!(
        (status.as_str(), body.as_str()),
        (
            "HTTP/1.1 400 Bad Request",
            "unable to upgrade: header X-Stream-Protocol-Version does not exist in request with 0 headers\n"
        )
    );
}

#[tokio::test]
async fn spdy_port_forward_reaches_a_simulated_httpd_and_carries_its_response() {
    let mut env = common::start().await;
    let pod = pod_serving(&mut env, 8080, "forwarded").await;
    let url = port_forward_url(&mut env, &pod, &[8080]).await;
    let (mut client, head) = SpdyClient::connect(&url, "portforward.k8s.io").await;
    assert!(
        head.ends_with("X-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n"),
        "{head}"
    );
    let (error, data) = open_pair(&mut client, "8080", "0").await;
    client.write(data, b"GET / HTTP/1.0\r\n\r\n", true).await;
    while !client.finished.contains(&error) {
        assert!(client.next().await.is_some(), "connection ended early");
    }
    let response = client.text(data);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with("\r\nContent-Length: 10\r\n\r\nforwarded\n"),
        "{response}"
    );
    assert!(client.finished.contains(&data));
    assert_eq!(client.text(error), "");
}

#[tokio::test]
async fn a_port_forward_pair_missing_its_data_stream_times_out_with_kubelets_text_and_is_forgotten()
{
    let mut env = common::start_with(
        cri_fake::FakeRuntime::builder()
            .stream_creation_timeout(std::time::Duration::from_millis(100)),
    )
    .await;
    let pod = pod_serving(&mut env, 8082, "late").await;
    let url = port_forward_url(&mut env, &pod, &[8082]).await;
    let (mut client, _) = SpdyClient::connect(&url, "portforward.k8s.io").await;
    let error = client
        .open_with(&[
            ("streamtype", "error"),
            ("port", "8082"),
            ("requestid", "7"),
        ])
        .await;
    client
        .read_until(error, b") timed out waiting for streams")
        .await;
    let text = client.text(error);
    let pointer = text
        .strip_prefix("(conn=0xc")
        .and_then(|rest| rest.strip_suffix(", request=7) timed out waiting for streams"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        pointer.len() == 9 && pointer.chars().all(|c| c.is_ascii_hexdigit()),
        "{text}"
    );
    assert!(
        !client.finished.contains(&error),
        "kubelet leaves the stream open"
    );
    // The pair is gone: the same request id starts a new pair, which forwards.
    let (error, data) = open_pair(&mut client, "8082", "7").await;
    client.write(data, b"GET / HTTP/1.0\r\n\r\n", true).await;
    while !client.finished.contains(&error) {
        assert!(client.next().await.is_some(), "connection ended early");
    }
    assert!(
        client.text(data).ends_with("\r\n\r\nlate\n"),
        "{}",
        client.text(data)
    );
    assert_eq!(client.text(error), "");
}

#[tokio::test]
async fn spdy_port_forward_to_a_closed_port_writes_containerds_error_and_resets_both_streams() {
    let mut env = common::start().await;
    let (pod, _) = env.pod("web").await;
    let url = port_forward_url(&mut env, &pod, &[9]).await;
    let (mut client, _) = SpdyClient::connect(&url, "portforward.k8s.io").await;
    let (error, data) = open_pair(&mut client, "9", "1").await;
    while !client.reset.contains(&error) {
        assert!(client.next().await.is_some(), "connection ended early");
    }
    assert_eq!(
        client.text(error),
        format!(
            "error forwarding port 9 to pod {pod}, uid : failed to execute portforward in network namespace \"host\": failed to connect to localhost:9 inside namespace \"{pod}\", IPv4: dial tcp4 127.0.0.1:9: connect: connection refused IPv6 dial tcp6 [::1]:9: connect: connection refused "
        )
    );
    assert!(
        client.finished.contains(&data),
        "containerd closes the data stream"
    );
    // 2.3 resets both, and spdystream sends nothing for the finished data stream.
    assert_eq!(client.reset, [error]);
}

#[tokio::test]
async fn containerd_16_finishes_the_error_stream_of_a_refused_port_forward() {
    let mut env = common::start_profile(cri_fake::Profile::Containerd16).await;
    let (pod, _) = env.pod("web").await;
    let url = port_forward_url(&mut env, &pod, &[9]).await;
    let (mut client, _) = SpdyClient::connect(&url, "portforward.k8s.io").await;
    let (error, data) = open_pair(&mut client, "9", "1").await;
    while !client.finished.contains(&error) {
        assert!(client.next().await.is_some(), "connection ended early");
    }
    assert!(
        client
            .text(error)
            .starts_with("error forwarding port 9 to pod ")
    );
    assert_eq!(client.finished, vec![data, error]);
    assert!(client.reset.is_empty());
}

#[tokio::test]
async fn spdy_port_forward_streams_without_a_port_header_are_reset() {
    let mut env = common::start().await;
    let (pod, _) = env.pod("web").await;
    let url = port_forward_url(&mut env, &pod, &[80]).await;
    let (mut client, _) = SpdyClient::connect(&url, "portforward.k8s.io").await;
    let stream = client.open_with(&[("streamtype", "data")]).await;
    while !client.reset.contains(&stream) {
        match client.next().await {
            Some(Frame::SynReply { stream_id, .. }) => panic!("stream {stream_id} accepted"),
            Some(_) => {}
            None => panic!("connection ended"),
        }
    }
}

#[tokio::test]
async fn websocket_port_forward_announces_each_port_on_its_two_channels_then_carries_data() {
    let mut env = common::start().await;
    let pod = pod_serving(&mut env, 8081, "viaws").await;
    let url = port_forward_url(&mut env, &pod, &[8081]).await;
    let (mut ws, _) = websocket(&url, "v4.channel.k8s.io").await;
    ws_send(&mut ws, 0, b"GET / HTTP/1.0\r\n\r\n").await;
    let messages = ws_messages(&mut ws).await;
    let port = 8081u16.to_le_bytes().to_vec();
    assert_eq!(&messages[..2], &[(0, port.clone()), (1, port)]);
    let response = channel_text(&messages[2..], 0);
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nviaws\n"), "{response}");
    assert_eq!(channel_text(&messages[2..], 1), "");
}

/// A running container reading its stdin, and an attach URL for it.
async fn attach_target(env: &mut common::Env, script: &str, stdin_once: bool) -> (String, String) {
    let (pod, config) = env.pod("web").await;
    let mut container = common::container_config("reader", &["sh", "-c", script]);
    container.stdin = true;
    container.stdin_once = stdin_once;
    container.log_path = "reader.log".into();
    let id = env.create(&pod, &config, container).await.expect("create");
    env.start(&id).await.expect("start");
    let url = env
        .rt
        .attach(AttachRequest {
            container_id: id.clone(),
            stdin: true,
            tty: false,
            stdout: true,
            stderr: true,
        })
        .await
        .expect("Attach")
        .into_inner()
        .url;
    (id, url)
}

#[tokio::test]
async fn spdy_attach_feeds_the_main_process_and_stdin_once_closes_its_stdin() {
    let mut env = common::start().await;
    let (id, url) = attach_target(&mut env, "read x; echo got $x; cat; echo eof >&2", true).await;
    let (mut client, _) = SpdyClient::connect(&url, "v4.channel.k8s.io").await;
    let error = client.open("error").await;
    let stdin = client.open("stdin").await;
    let stdout = client.open("stdout").await;
    let stderr = client.open("stderr").await;
    client.write(stdin, b"hello\nrest", true).await;
    client.finish().await;
    assert_eq!(
        (client.text(stdout).as_str(), client.text(stderr).as_str()),
        ("got hello\nrest", "eof\n")
    );
    assert_eq!(client.text(error), SUCCESS);
    let status = env.wait_state(&id, ContainerState::ContainerExited).await;
    assert_eq!(status.exit_code, 0);
    let log = std::fs::read_to_string(&status.log_path).expect("log");
    assert!(log.contains(" stdout F got hello\n"), "{log}");
}

#[tokio::test]
async fn attach_without_stdin_once_detaches_when_its_stdin_ends_and_the_container_runs_on() {
    let mut env = common::start().await;
    let (id, url) = attach_target(&mut env, "while read x; do echo got $x; done", false).await;
    let (mut ws, _) = websocket(&url, "v5.channel.k8s.io").await;
    ws_send(&mut ws, 0, b"one\n").await;
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("got one\n") {
        match ws.next().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Binary(data))) => {
                if data.first() == Some(&1) {
                    got.extend_from_slice(&data[1..]);
                }
            }
            other => assert!(other.is_some(), "closed before the output"),
        }
    }
    ws_send(&mut ws, 255, &[0]).await;
    let rest = ws_messages(&mut ws).await;
    assert_eq!(channel_text(&rest, 3), SUCCESS);
    let status = env.status(&id).await.expect("status");
    assert_eq!(status.state(), ContainerState::ContainerRunning);
}

#[tokio::test]
async fn attach_to_an_exited_container_is_refused_by_the_rpc() {
    let mut env = common::start().await;
    let (pod, config) = env.pod("web").await;
    let id = env.running(&pod, &config, "done", &["true"]).await;
    env.wait_state(&id, ContainerState::ContainerExited).await;
    let err = env
        .rt
        .attach(AttachRequest {
            container_id: id,
            stdin: false,
            tty: false,
            stdout: true,
            stderr: false,
        })
        .await
        .expect_err("exited");
    assert_eq!(
        (err.code(), err.message()),
        (
            tonic::Code::Unknown,
            "container is in CONTAINER_EXITED state"
        )
    );
}

#[tokio::test]
async fn a_scripted_exec_answers_over_spdy_as_it_does_over_exec_sync() {
    use cri_fake::script::{ExecScript, Reply, command};
    let mut env = common::start().await;
    ExecScript::given(command(["cat", "/etc/os-release"]))
        .respond_with(Reply::exit(3).stdout("ID=alpine\n").stderr("warning\n"))
        .expect(1)
        .mount(&env.fake);
    let url = exec_url(&mut env, SH_C(&["cat", "/etc/os-release"])).await;
    let (mut client, _) = SpdyClient::connect(&url, "v4.channel.k8s.io").await;
    let error = client.open("error").await;
    let stdout = client.open("stdout").await;
    let stderr = client.open("stderr").await;
    client.finish().await;
    assert_eq!(
        (client.text(stdout).as_str(), client.text(stderr).as_str()),
        ("ID=alpine\n", "warning\n")
    );
    assert_eq!(client.text(error), non_zero("cat /etc/os-release", 3));
    env.fake.verify();
}

#[tokio::test]
async fn the_journal_records_each_streaming_session_when_it_ends() {
    let mut env = common::start().await;
    let url = exec_url(&mut env, SH_C(&["sh", "-c", "exit 2"])).await;
    let (mut client, _) = SpdyClient::connect(&url, "v4.channel.k8s.io").await;
    client.open("error").await;
    client.open("stdout").await;
    client.open("stderr").await;
    client.finish().await;
    let (pod, _) = env.pod("fwd").await;
    let url = port_forward_url(&mut env, &pod, &[7]).await;
    let (mut ws, _) = websocket(&url, "v4.channel.k8s.io").await;
    let _ = ws_messages(&mut ws).await;
    let sessions = env.fake.journal().stream_sessions();
    let summary: Vec<_> = sessions
        .iter()
        .map(|s| (s.kind, s.transport, s.protocol.as_str(), s.args.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "exec",
                "spdy",
                "v4.channel.k8s.io",
                vec!["sh".to_owned(), "-c".into(), "exit 2".into()]
            ),
            (
                "portforward",
                "websocket",
                "v4.channel.k8s.io",
                vec!["7".into()]
            ),
        ]
    );
    assert_eq!(sessions[0].status, non_zero("sh -c exit 2", 2));
    assert_eq!(sessions[1].target, pod);
}
