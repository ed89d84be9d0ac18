//! The `cri-fake` binary with `--config`: settings, images, scripts and faults from a
//! TOML file, the journal written at exit, expectations checked at exit, invalid
//! files reported with their line.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{container_config, pod_config};
use cri_proto::RuntimeServiceClient;
use cri_proto::v1::*;
use tonic::Code;

const BINARY: &str = env!("CARGO_BIN_EXE_cri-fake");

const CONFIG: &str = r#"
[settings]
runtime_name = "configured"
runtime_version = "9.9.9"

[[images]]
reference = "example.com/tools:1"
env = ["PATH=/bin"]
cmd = ["sleep", "1000"]

[[exec]]
name = "os-release"
command = ["cat", "/etc/os-release"]
stdout = "ID=configured\n"
expect = 1

[[containers]]
container_name = "worker"
exit_code = 3
stderr = "boom\n"

[[faults]]
method = "RunPodSandbox"
first = 1
code = "UNAVAILABLE"
message = "try again"
expect = 1
"#;

/// Starts the binary and returns it with the socket it serves on.
fn spawn(dir: &Path, config: &str, journal: bool) -> (Child, std::path::PathBuf) {
    let config_path = dir.join("fake.toml");
    std::fs::write(&config_path, config).unwrap();
    let socket = dir.join("cri.sock");
    let mut command = Command::new(BINARY);
    command
        .arg("--listen")
        .arg(format!("unix://{}", socket.display()))
        .arg("--config")
        .arg(&config_path)
        .arg("--log")
        .arg("warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if journal {
        command.arg("--journal").arg(dir.join("calls.jsonl"));
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    assert_eq!(
        first,
        format!("cri-fake serving on unix://{}\n", socket.display())
    );
    (child, socket)
}

/// Sends SIGTERM to the binary (the child this test started) and returns its exit
/// code and stderr.
fn stop(mut child: Child) -> (Option<i32>, String) {
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_the_settings_images_scripts_and_faults_of_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let (child, socket) = spawn(dir.path(), CONFIG, true);
    let mut rt = RuntimeServiceClient::new(cri_fake::transport::unix_channel(&socket));
    let version = rt
        .version(VersionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            version.runtime_name.as_str(),
            version.runtime_version.as_str()
        ),
        ("configured", "9.9.9")
    );

    let request = || RunPodSandboxRequest {
        config: Some(pod_config("cfg")),
        runtime_handler: String::new(),
    };
    let refused = rt.run_pod_sandbox(request()).await.unwrap_err();
    assert_eq!(
        (refused.code(), refused.message()),
        (Code::Unavailable, "try again")
    );
    let pod = rt
        .run_pod_sandbox(request())
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id;

    let mut app = container_config("app", &[]);
    app.image = Some(ImageSpec {
        image: "example.com/tools:1".into(),
        ..Default::default()
    });
    let create = |config: ContainerConfig| CreateContainerRequest {
        pod_sandbox_id: pod.clone(),
        config: Some(config),
        sandbox_config: Some(pod_config("cfg")),
    };
    let app = rt
        .create_container(create(app))
        .await
        .unwrap()
        .into_inner()
        .container_id;
    rt.start_container(StartContainerRequest {
        container_id: app.clone(),
    })
    .await
    .unwrap();
    let exec = |cmd: &[&str]| ExecSyncRequest {
        container_id: app.clone(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        timeout: 5,
    };
    let os = rt
        .exec_sync(exec(&["cat", "/etc/os-release"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (os.stdout.as_slice(), os.exit_code),
        (&b"ID=configured\n"[..], 0)
    );
    let ps = rt
        .exec_sync(exec(&["ps", "-o", "args"]))
        .await
        .unwrap()
        .into_inner();
    // The pod's pause leads the PID namespace the container shares.
    assert_eq!(ps.stdout, b"COMMAND\n/pause\nsleep 1000\nps -o args\n");

    let worker = rt
        .create_container(create(container_config("worker", &["sleep", "1000"])))
        .await
        .unwrap()
        .into_inner()
        .container_id;
    rt.start_container(StartContainerRequest {
        container_id: worker.clone(),
    })
    .await
    .unwrap();
    let mut status = None;
    for _ in 0..500 {
        let s = rt
            .container_status(ContainerStatusRequest {
                container_id: worker.clone(),
                verbose: false,
            })
            .await
            .unwrap()
            .into_inner()
            .status
            .unwrap();
        if s.state == ContainerState::ContainerExited as i32 {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = status.expect("the worker exits");
    assert_eq!((status.exit_code, status.reason.as_str()), (3, "Error"));

    let (code, stderr) = stop(child);
    assert_eq!(code, Some(0), "{stderr}");
    let journal = std::fs::read_to_string(dir.path().join("calls.jsonl")).unwrap();
    let methods: Vec<String> = journal
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["method"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(methods[..3], ["Version", "RunPodSandbox", "RunPodSandbox"]);
    assert_eq!(methods.iter().filter(|m| *m == "ExecSync").count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn unmet_expectations_make_the_binary_exit_1_with_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (child, socket) = spawn(dir.path(), CONFIG, false);
    let mut rt = RuntimeServiceClient::new(cri_fake::transport::unix_channel(&socket));
    rt.version(VersionRequest::default()).await.unwrap();
    let (code, stderr) = stop(child);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with(
            "cri-fake: 2 expectations were not met:\n  - exec script \"os-release\" (command [\"cat\", \"/etc/os-release\"] -> exit 0, stdout 14 bytes): expected exactly 1 times, matched 0\n  - fault on RunPodSandbox, first 1 calls: fail with UNAVAILABLE \"try again\": expected to fire exactly 1 times, fired 0 times\nCalls received (1):\n  #1 Version {} -> OK ("
        ),
        "{stderr}"
    );
}

#[test]
fn an_invalid_config_exits_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[faults]]\nmethod = \"Version\"\ncode = \"NOPE\"\n").unwrap();
    let output = Command::new(BINARY)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        format!(
            "cri-fake: invalid configuration {}: TOML parse error at line 3, column 8\n  |\n3 | code = \"NOPE\"\n  |        ^^^^^^\nunknown gRPC code `NOPE`, expected one of OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED\n",
            path.display()
        )
    );
}

/// Calls `ListPodSandbox` until the (restarted) binary answers: the first calls after
/// a restart may fail while the client reconnects.
async fn pods(rt: &mut RuntimeServiceClient<tonic::transport::Channel>) -> Vec<PodSandbox> {
    for _ in 0..500 {
        if let Ok(reply) = rt.list_pod_sandbox(ListPodSandboxRequest::default()).await {
            return reply.into_inner().items;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the binary does not answer");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_restarts_the_binary_keeping_its_state_and_sigusr1_losing_it() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("cri.sock");
    let mut child = Command::new(BINARY)
        .arg("--listen")
        .arg(format!("unix://{}", socket.display()))
        .arg("--log")
        .arg("cri_fake=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(
        first,
        format!("cri-fake serving on unix://{}\n", socket.display())
    );
    // The log says when a restart is done.
    let (restarted_tx, restarted) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("cri-fake restarted") {
                let _ = restarted_tx.send(line);
            }
        }
    });
    let signal = |name: &str| {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        restarted.recv_timeout(Duration::from_secs(10)).unwrap()
    };

    let mut rt = RuntimeServiceClient::new(cri_fake::transport::unix_channel(&socket));
    let request = RunPodSandboxRequest {
        config: Some(pod_config("kept")),
        runtime_handler: String::new(),
    };
    let pod = rt
        .run_pod_sandbox(request)
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id;
    assert!(signal("HUP").contains("KeepState"));
    let ids: Vec<String> = pods(&mut rt).await.into_iter().map(|p| p.id).collect();
    assert_eq!(ids, [pod]);
    assert!(signal("USR1").contains("LoseState"));
    assert!(pods(&mut rt).await.is_empty());

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
