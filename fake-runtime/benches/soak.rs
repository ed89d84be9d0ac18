//! Soak: many clients doing full pod lifecycles with exec against the binary for a
//! while, then checks that nothing was left behind or duplicated, that no call failed,
//! and how the binary's resident memory moved.
//!
//! Run with `cargo bench -p cri-fake --bench soak` (64 clients for 60 s); `SOAK_CLIENTS`
//! and `SOAK_SECS` change the load. It prints one table and exits non-zero when an
//! object is left over or a call failed. Memory is reported, not asserted (it depends on
//! the allocator and the machine).

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod support;

use cri_proto::RuntimeServiceClient;
use cri_proto::v1::*;
use support::{container_config, pod_config};
use tokio::sync::Mutex;
use tonic::transport::Channel;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The binary's resident set, in KiB (`VmRSS`), and its peak (`VmHWM`).
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

struct Binary {
    child: Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Binary {
    fn start() -> Binary {
        let dir = tempfile::tempdir().expect("a temp dir");
        let socket = dir.path().join("cri.sock");
        let child = Command::new(env!("CARGO_BIN_EXE_cri-fake"))
            .arg("--listen")
            .arg(format!("unix://{}", socket.display()))
            .arg("--log")
            .arg("warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "the socket did not appear");
            std::thread::sleep(Duration::from_millis(5));
        }
        Binary {
            child,
            socket,
            _dir: dir,
        }
    }

    fn channel(&self) -> Channel {
        cri_fake::transport::unix_channel(&self.socket)
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Default)]
struct Tally {
    lifecycles: AtomicU64,
    calls: AtomicU64,
    errors: Mutex<Vec<String>>,
    pods: Mutex<HashSet<String>>,
}

/// One full lifecycle: pod, container, start, exec, stop, remove, stop and remove pod.
async fn lifecycle(
    client: &mut RuntimeServiceClient<Channel>,
    name: &str,
    tally: &Tally,
) -> Result<(), String> {
    let config = pod_config(name);
    let pod = client
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .map_err(|s| format!("RunPodSandbox: {s:?}"))?
        .into_inner()
        .pod_sandbox_id;
    if !tally.pods.lock().await.insert(pod.clone()) {
        return Err(format!("duplicate pod id {pod}"));
    }
    let container = client
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container_config("app", &["sleep", "100000"])),
            sandbox_config: Some(config),
        })
        .await
        .map_err(|s| format!("CreateContainer: {s:?}"))?
        .into_inner()
        .container_id;
    client
        .start_container(StartContainerRequest {
            container_id: container.clone(),
        })
        .await
        .map_err(|s| format!("StartContainer: {s:?}"))?;
    let exec = client
        .exec_sync(ExecSyncRequest {
            container_id: container.clone(),
            cmd: vec!["sh".into(), "-c".into(), format!("echo {name}")],
            timeout: 10,
        })
        .await
        .map_err(|s| format!("ExecSync: {s:?}"))?
        .into_inner();
    if exec.stdout != format!("{name}\n").into_bytes() || exec.exit_code != 0 {
        return Err(format!("ExecSync answered {exec:?}"));
    }
    client
        .stop_container(StopContainerRequest {
            container_id: container.clone(),
            timeout: 0,
        })
        .await
        .map_err(|s| format!("StopContainer: {s:?}"))?;
    client
        .remove_container(RemoveContainerRequest {
            container_id: container,
        })
        .await
        .map_err(|s| format!("RemoveContainer: {s:?}"))?;
    client
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .map_err(|s| format!("StopPodSandbox: {s:?}"))?;
    client
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: pod,
        })
        .await
        .map_err(|s| format!("RemovePodSandbox: {s:?}"))?;
    tally.calls.fetch_add(8, Ordering::Relaxed);
    Ok(())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: then a
    // short smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let clients = env_or("SOAK_CLIENTS", 64);
    let secs = env_or("SOAK_SECS", if benching { 60 } else { 2 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let binary = Binary::start();
    let pid = binary.child.id();
    let tally = Arc::new(Tally::default());
    let (fresh, before, after, peak, elapsed, leftovers) = runtime.block_on(async {
        let channel = binary.channel();
        let (fresh, _) = rss_kib(pid);
        // Warm up until the bounded stores are full (the journal keeps the last 10 000
        // calls, the event backlog 4096 events: 2000 lifecycles fill both), so the start
        // figure is the steady state a long-running fake lives in.
        let per_client = 2000_u64.div_ceil(clients);
        let warm: Vec<_> = (0..clients)
            .map(|c| {
                let mut client = RuntimeServiceClient::new(channel.clone());
                let tally = tally.clone();
                tokio::spawn(async move {
                    for n in 0..per_client {
                        lifecycle(&mut client, &format!("warm-{c}-{n}"), &tally).await?;
                    }
                    Ok::<(), String>(())
                })
            })
            .collect();
        for task in warm {
            task.await
                .expect("warm-up task")
                .expect("warm-up lifecycle");
        }
        let warm_calls = tally.calls.swap(0, Ordering::Relaxed);
        assert_eq!(warm_calls, per_client * clients * 8);
        let (before, _) = rss_kib(pid);
        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs);
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let mut client = RuntimeServiceClient::new(channel.clone());
                let tally = tally.clone();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        if let Err(e) =
                            lifecycle(&mut client, &format!("soak-{c}-{n}"), &tally).await
                        {
                            tally.errors.lock().await.push(e);
                        }
                        tally.lifecycles.fetch_add(1, Ordering::Relaxed);
                        n += 1;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("soak task");
        }
        let elapsed = started.elapsed();
        let mut client = RuntimeServiceClient::new(channel);
        let pods = client
            .list_pod_sandbox(ListPodSandboxRequest::default())
            .await
            .expect("ListPodSandbox")
            .into_inner()
            .items
            .len();
        let containers = client
            .list_containers(ListContainersRequest::default())
            .await
            .expect("ListContainers")
            .into_inner()
            .containers
            .len();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (after, peak) = rss_kib(pid);
        (fresh, before, after, peak, elapsed, (pods, containers))
    });
    let lifecycles = tally.lifecycles.load(Ordering::Relaxed);
    let errors = runtime.block_on(async { tally.errors.lock().await.clone() });
    let calls = tally.calls.load(Ordering::Relaxed);
    println!(
        "soak: {clients} clients for {:.1} s against the {} cri-fake binary",
        elapsed.as_secs_f64(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!("| figure | value |");
    println!("|---|---|");
    println!("| lifecycles (8 RPCs each, exec included) | {lifecycles} |");
    println!(
        "| lifecycles/s | {:.0} |",
        lifecycles as f64 / elapsed.as_secs_f64()
    );
    println!("| RPCs/s | {:.0} |", calls as f64 / elapsed.as_secs_f64());
    println!("| failed lifecycles | {} |", errors.len());
    println!(
        "| pods, containers left | {}, {} |",
        leftovers.0, leftovers.1
    );
    println!(
        "| RSS of the fresh binary | {:.1} MiB |",
        fresh as f64 / 1024.0
    );
    println!(
        "| RSS after warm-up (journal and event backlog full) | {:.1} MiB |",
        before as f64 / 1024.0
    );
    println!(
        "| RSS after the soak | {:.1} MiB ({:+.1}%) |",
        after as f64 / 1024.0,
        (after as f64 / before as f64 - 1.0) * 100.0
    );
    println!("| peak RSS | {:.1} MiB |", peak as f64 / 1024.0);
    for error in errors.iter().take(5) {
        println!("error: {error}");
    }
    if !errors.is_empty() || leftovers != (0, 0) {
        std::process::exit(1);
    }
}
