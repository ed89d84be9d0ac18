//! Smoke test of a real containerd with the suite's own images, through the raw CRI API.
//!
//! Start a disposable containerd and run this against it:
//!
//! ```text
//! conformance/containerd/run.sh cargo run -q -p cri-conformance --example containerd_smoke
//! ```
//!
//! It targets `$CRI_ENDPOINT` (or the `unix://` endpoint given as first argument), then:
//! lists the images; runs a host-network pod with a log directory; runs busybox
//! `sleep 1000` in it and execs `env` and `id; pwd`; runs `echo hi` and reads its CRI log
//! file; stops the sleeper; stops and removes the pod. Every observation is printed, each
//! checked against what containerd 1.6.20 is known to answer; the exit status is 1 if any
//! differs. The pod is removed (and the log directory deleted) also when a step fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cri_proto::v1::{
    ContainerConfig, ContainerMetadata, ContainerState, ContainerStatusRequest,
    CreateContainerRequest, ExecSyncRequest, ImageSpec, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, ListImagesRequest, NamespaceMode, NamespaceOption,
    PodSandboxConfig, PodSandboxMetadata, RemovePodSandboxRequest, RunPodSandboxRequest,
    StartContainerRequest, StopContainerRequest, StopPodSandboxRequest, VersionRequest,
};
use cri_proto::{ImageServiceClient, RuntimeServiceClient};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Label put on everything this example creates.
const LABEL: &str = "cri-conformance.smoke";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(0) => {
            println!("smoke: all observations as expected");
            std::process::ExitCode::SUCCESS
        }
        Ok(n) => {
            println!("smoke: {n} observation(s) differ from the expected values");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("smoke: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<usize, Error> {
    let endpoint = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("CRI_ENDPOINT").ok())
        .ok_or("give a unix:// endpoint as argument or in CRI_ENDPOINT")?;
    let channel = connect(&endpoint).await?;
    let mut smoke = Smoke {
        runtime: RuntimeServiceClient::new(channel.clone()),
        images: ImageServiceClient::new(channel),
        differences: 0,
    };
    let unique = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos()
    );
    let log_dir = std::env::temp_dir().join(format!("cri-smoke-{unique}"));
    std::fs::create_dir_all(&log_dir)?;

    let mut pod_id = None;
    let result = smoke.steps(&unique, &log_dir, &mut pod_id).await;
    if let Some(id) = pod_id {
        let removed = smoke
            .runtime
            .remove_pod_sandbox(RemovePodSandboxRequest {
                pod_sandbox_id: id.clone(),
            })
            .await;
        println!(
            "RemovePodSandbox {}: {:?}",
            short(&id),
            removed.map(|_| "OK")
        );
    }
    std::fs::remove_dir_all(&log_dir)?;
    result?;
    Ok(smoke.differences)
}

async fn connect(endpoint: &str) -> Result<Channel, Error> {
    let path = PathBuf::from(
        endpoint
            .strip_prefix("unix://")
            .ok_or_else(|| format!("not a unix:// endpoint: {endpoint}"))?,
    );
    let channel = Endpoint::try_from("http://[::]:0")?
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { UnixStream::connect(path).await.map(TokioIo::new) }
        }))
        .await?;
    Ok(channel)
}

struct Smoke {
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
    differences: usize,
}

impl Smoke {
    /// Prints an observation and whether it is the expected one.
    fn observe<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, expected: T) {
        if got == expected {
            println!("  ok    {what}: {got:?}");
        } else {
            self.differences += 1;
            println!("  DIFF  {what}: got {got:?}, expected {expected:?}");
        }
    }

    async fn steps(
        &mut self,
        unique: &str,
        log_dir: &Path,
        pod_id: &mut Option<String>,
    ) -> Result<(), Error> {
        let version = self
            .runtime
            .version(VersionRequest::default())
            .await?
            .into_inner();
        println!("Version: {version:?}");

        println!("ListImages:");
        let images = self
            .images
            .list_images(ListImagesRequest::default())
            .await?
            .into_inner();
        let mut images = images.images;
        images.sort_by(|a, b| a.repo_tags.cmp(&b.repo_tags));
        for image in &images {
            println!(
                "  id={} repo_tags={:?} repo_digests={:?} size={}",
                image.id, image.repo_tags, image.repo_digests, image.size
            );
        }
        let tags: Vec<Vec<String>> = images.iter().map(|i| i.repo_tags.clone()).collect();
        self.observe(
            "image tags",
            tags,
            vec![
                vec!["docker.io/library/busybox:1.36".to_owned()],
                vec!["registry.k8s.io/pause:3.6".to_owned()],
            ],
        );

        let labels = HashMap::from([(LABEL.to_owned(), unique.to_owned())]);
        let sandbox_config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: format!("smoke-{unique}"),
                uid: format!("uid-{unique}"),
                namespace: "cri-conformance".to_owned(),
                attempt: 0,
            }),
            log_directory: log_dir.display().to_string(),
            labels: labels.clone(),
            linux: Some(LinuxPodSandboxConfig {
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: NamespaceMode::Node as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let started = Instant::now();
        let id = self
            .runtime
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(sandbox_config.clone()),
                runtime_handler: String::new(),
            })
            .await?
            .into_inner()
            .pod_sandbox_id;
        println!("RunPodSandbox: {} in {:?}", short(&id), started.elapsed());
        *pod_id = Some(id.clone());

        let container = |name: &str, command: &[&str], log: &str| CreateContainerRequest {
            pod_sandbox_id: id.clone(),
            config: Some(ContainerConfig {
                metadata: Some(ContainerMetadata {
                    name: name.to_owned(),
                    attempt: 0,
                }),
                image: Some(ImageSpec {
                    image: "docker.io/library/busybox:1.36".to_owned(),
                    ..Default::default()
                }),
                command: command.iter().map(|s| s.to_string()).collect(),
                log_path: log.to_owned(),
                labels: labels.clone(),
                ..Default::default()
            }),
            sandbox_config: Some(sandbox_config.clone()),
        };

        let sleeper = self
            .runtime
            .create_container(container("sleeper", &["sleep", "1000"], "sleeper.log"))
            .await?
            .into_inner()
            .container_id;
        self.runtime
            .start_container(StartContainerRequest {
                container_id: sleeper.clone(),
            })
            .await?;
        println!("sleeper {} running", short(&sleeper));

        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
        let hostname = hostname.trim_end();
        for (cmd, expected) in [
            (
                vec!["env"],
                format!("PATH=/bin\nHOSTNAME={hostname}\nHOME=/root\n"),
            ),
            (
                vec!["sh", "-c", "id; pwd"],
                "uid=0(root) gid=0(root) groups=0(root)\n/\n".to_owned(),
            ),
        ] {
            let reply = self
                .runtime
                .exec_sync(ExecSyncRequest {
                    container_id: sleeper.clone(),
                    cmd: cmd.iter().map(|s| s.to_string()).collect(),
                    timeout: 5,
                })
                .await?
                .into_inner();
            println!("ExecSync {cmd:?}:");
            let stdout = String::from_utf8_lossy(&reply.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&reply.stderr).into_owned();
            self.observe("stdout", stdout, expected);
            self.observe("stderr", stderr, String::new());
            self.observe("exit_code", reply.exit_code, 0);
        }

        let echo = self
            .runtime
            .create_container(container("echo", &["echo", "hi"], "echo.log"))
            .await?
            .into_inner()
            .container_id;
        self.runtime
            .start_container(StartContainerRequest {
                container_id: echo.clone(),
            })
            .await?;
        let status = self.wait_exited(&echo).await?;
        println!("echo {} exited:", short(&echo));
        self.observe("exit_code", status.0, 0);
        self.observe("reason", status.1, "Completed".to_owned());
        let log = std::fs::read_to_string(log_dir.join("echo.log"))?;
        println!("  log file: {log:?}");
        let fields: Vec<&str> = log.trim_end_matches('\n').splitn(4, ' ').collect();
        self.observe(
            "log line fields 2..4",
            fields.get(1..),
            Some(&["stdout", "F", "hi"][..]),
        );
        self.observe("log lines", log.matches('\n').count(), 1);

        let started = Instant::now();
        self.runtime
            .stop_container(StopContainerRequest {
                container_id: sleeper.clone(),
                timeout: 5,
            })
            .await?;
        let elapsed = started.elapsed();
        let status = self.wait_exited(&sleeper).await?;
        println!("StopContainer sleeper (timeout 5) took {elapsed:?}:");
        self.observe("exit_code", status.0, 143);
        self.observe("reason", status.1, "Error".to_owned());

        let started = Instant::now();
        self.runtime
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: id.clone(),
            })
            .await?;
        println!("StopPodSandbox took {:?}", started.elapsed());
        Ok(())
    }

    /// Polls ContainerStatus (up to 10 s) until the container has exited; returns its
    /// exit code and reason.
    async fn wait_exited(&mut self, id: &str) -> Result<(i32, String), Error> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self
                .runtime
                .container_status(ContainerStatusRequest {
                    container_id: id.to_owned(),
                    verbose: false,
                })
                .await?
                .into_inner()
                .status
                .ok_or("ContainerStatus without status")?;
            if status.state == ContainerState::ContainerExited as i32 {
                return Ok((status.exit_code, status.reason));
            }
            if Instant::now() > deadline {
                return Err(format!("container {id} did not exit within 10 s").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
