//! The performance table: the fake side by side with the floor (a tonic server that
//! answers every RPC with an empty message) in one run, as ratios.
//!
//! Run with `cargo bench -p cri-fake --bench perf`. Rows:
//!
//! - `Version` and the pod lifecycle with one ExecSync (`RunPodSandbox`, create and
//!   start a container, `ExecSync echo`, stop and remove both) at 1, 4, 16 and 64
//!   clients, each client on its own connection, for a fixed time: ops/s, p50 and p99
//!   latency, and fake / floor (1.00 = as cheap as tonic itself).
//! - `ExecSync echo` against `Version` on the fake (the cost of a simulated process).
//! - Lists over 1,000 sandboxes x 5 containers: server time of ListContainers,
//!   ListPodSandbox, ListContainerStats and filtered lists (by id, state, labels), as
//!   the server answers them (selected and encoded from the records to bytes); the
//!   owned lists of the library API for comparison; ListContainers over gRPC.
//! - Scale: 10,000 sandboxes x 5 containers held by one fake: pods/s at 0, 5k and 10k,
//!   RSS growth.
//! - Start: builder to first answered RPC (embedded), exec to socket ready (binary,
//!   when `target/release/cri-fake` exists).
//!
//! Figures are ratios within one run; absolute times depend on the machine. Nothing is
//! asserted on time. `PERF_SECONDS` sets the time per row (default 2); `PERF_ONLY`
//! (a comma-separated list of `version`, `lifecycle`, `exec`, `lists`, `scale`) runs
//! only those sections and `PERF_FAKE_ONLY=1` leaves the floor out, for profiling.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[path = "support/floor.rs"]
mod floor;
mod support;

use bytes::Bytes;
use cri_fake::FakeRuntime;
use cri_fake::list_encode::EncodedList;
use cri_proto::RuntimeServiceClient;
use cri_proto::v1::*;
use prost::Message as _;
use support::{container_config, pod_config, scale_container, scale_pod};
use tonic::transport::Channel;

/// What one workload measured on one server.
#[derive(Debug, Default, Clone)]
struct Sample {
    ops: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Sample {
    fn ops_per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() as f64 * p) as usize).min(sorted.len() - 1);
        sorted[index]
    }
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// A fresh connection to a unix socket.
fn client(path: &Path) -> RuntimeServiceClient<Channel> {
    RuntimeServiceClient::new(cri_fake::transport::unix_channel(path))
        .max_decoding_message_size(usize::MAX)
}

/// Runs `op` in a loop on `clients` concurrent clients (one connection each) for
/// `time`, after a short warm-up.
async fn drive<F, Fut>(path: &Path, clients: usize, time: Duration, op: F) -> Sample
where
    F: Fn(RuntimeServiceClient<Channel>, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let connections: Vec<_> = (0..clients).map(|_| client(path)).collect();
    // Warm-up: connect and run each op once.
    for (n, c) in connections.iter().enumerate() {
        op(c.clone(), (n as u64) << 40).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(n, c)| {
            let op = op.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = 1u64;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    op(c.clone(), (n as u64) << 40 | i).await;
                    latencies.push(t.elapsed());
                    i += 1;
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(time).await;
    stop.store(true, Ordering::Relaxed);
    let mut sample = Sample::default();
    for task in tasks {
        sample.latencies.extend(task.await.unwrap());
    }
    sample.elapsed = start.elapsed();
    sample.ops = sample.latencies.len() as u64;
    sample
}

async fn version(mut c: RuntimeServiceClient<Channel>, _: u64) {
    c.version(VersionRequest::default()).await.unwrap();
}

/// Runs a host-network pod `name` with one started container of `command`: (pod id,
/// container id). Against the floor both ids are empty.
async fn run_container(
    c: &mut RuntimeServiceClient<Channel>,
    name: &str,
    command: &[&str],
) -> (String, String) {
    let config = pod_config(name);
    let pod = c
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id;
    let id = c
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container_config("c", command)),
            sandbox_config: Some(config),
        })
        .await
        .unwrap()
        .into_inner()
        .container_id;
    c.start_container(StartContainerRequest {
        container_id: id.clone(),
    })
    .await
    .unwrap();
    (pod, id)
}

/// One pod lifecycle with an ExecSync. Against the floor every answer is empty, so the
/// ids are empty too: the same RPCs, the same request sizes give or take an id.
async fn lifecycle(mut c: RuntimeServiceClient<Channel>, n: u64) {
    let (pod, id) = run_container(&mut c, &format!("p{n}"), &["sleep", "1000"]).await;
    let out = c
        .exec_sync(ExecSyncRequest {
            container_id: id.clone(),
            cmd: vec!["echo".into(), "hello".into()],
            timeout: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(out.exit_code == 0);
    c.stop_container(StopContainerRequest {
        container_id: id.clone(),
        timeout: 0,
    })
    .await
    .unwrap();
    c.remove_container(RemoveContainerRequest { container_id: id })
        .await
        .unwrap();
    c.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: pod.clone(),
    })
    .await
    .unwrap();
    c.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
}

/// Mean server time per method in the journal, as text.
fn server_time_per_method(fake: &FakeRuntime) -> String {
    let mut per_method: std::collections::BTreeMap<String, (u32, Duration)> = Default::default();
    for call in fake.journal().calls() {
        if let Some(d) = call.duration {
            let entry = per_method.entry(call.method.to_string()).or_default();
            entry.0 += 1;
            entry.1 += d;
        }
    }
    per_method
        .iter()
        .map(|(m, (n, total))| format!("{m} {}", micros(*total / *n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Resident and peak resident memory of this process, in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    (status_mib(&status, "VmRSS:"), status_mib(&status, "VmHWM:"))
}

/// A `/proc/PID/status` memory field (`VmRSS:`, `VmHWM:`) in MiB; 0 if absent.
fn status_mib(status: &str, field: &str) -> f64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Server time of `f`, median of `runs`.
fn server_time<R>(runs: usize, mut f: impl FnMut() -> R) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[runs / 2]
}

/// Creates `pods` host-network sandboxes with `containers` created containers each,
/// from 8 clients; returns pods per second.
async fn populate(path: &Path, first: u64, pods: u64, containers: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..8u64)
        .map(|k| {
            let mut c = client(path);
            tokio::spawn(async move {
                let mut n = first + k;
                while n < first + pods {
                    let config = scale_pod(n);
                    let pod = c
                        .run_pod_sandbox(RunPodSandboxRequest {
                            config: Some(config.clone()),
                            runtime_handler: String::new(),
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .pod_sandbox_id;
                    for i in 0..containers {
                        c.create_container(CreateContainerRequest {
                            pod_sandbox_id: pod.clone(),
                            config: Some(scale_container(n, i)),
                            sandbox_config: Some(config.clone()),
                        })
                        .await
                        .unwrap();
                    }
                    n += 8;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    pods as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let seconds: f64 = std::env::var("PERF_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let time = Duration::from_secs_f64(seconds);
    let only = std::env::var("PERF_ONLY").unwrap_or_default();
    let wanted = |section: &str| only.is_empty() || only.split(',').any(|s| s == section);
    // Servers and load generator on separate runtimes, as separate processes would be.
    let servers = tokio::runtime::Runtime::new().unwrap();
    let load = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // Start: builder to first answered RPC.
    let start_embedded = servers.block_on(async {
        let t = Instant::now();
        let fake = FakeRuntime::start().await.unwrap();
        fake.runtime_client()
            .version(VersionRequest::default())
            .await
            .unwrap();
        let elapsed = t.elapsed();
        fake.shutdown().await;
        elapsed
    });

    let fake = servers.block_on(FakeRuntime::start()).unwrap();
    let fake_path = fake.socket_path().unwrap().to_path_buf();
    let floor = servers.block_on(floor::start_floor());

    println!(
        "| workload | clients | fake ops/s | fake p50 | fake p99 | floor ops/s | floor p50 | floor p99 | fake / floor |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut version_1 = Duration::ZERO;
    let mut breakdown = String::new();
    for (name, workload) in [("Version", 0), ("pod lifecycle + ExecSync", 1)] {
        if !wanted(["version", "lifecycle"][workload]) {
            continue;
        }
        for clients in [1usize, 4, 16, 64] {
            let run = |path: PathBuf| {
                load.block_on(async move {
                    match workload {
                        0 => drive(&path, clients, time, version).await,
                        _ => drive(&path, clients, time, lifecycle).await,
                    }
                })
            };
            fake.journal().clear();
            let fake_sample = run(fake_path.clone());
            if workload == 1 && clients == 1 {
                breakdown = server_time_per_method(&fake);
            }
            // `PERF_FAKE_ONLY=1` leaves the floor out, to profile the fake alone.
            let floor_sample = if std::env::var_os("PERF_FAKE_ONLY").is_some() {
                fake_sample.clone()
            } else {
                run(floor.path.clone())
            };
            if workload == 0 && clients == 1 {
                version_1 = fake_sample.percentile(0.5);
            }
            println!(
                "| {name} | {clients} | {:.0} | {} | {} | {:.0} | {} | {} | {:.2} |",
                fake_sample.ops_per_second(),
                micros(fake_sample.percentile(0.5)),
                micros(fake_sample.percentile(0.99)),
                floor_sample.ops_per_second(),
                micros(floor_sample.percentile(0.5)),
                micros(floor_sample.percentile(0.99)),
                fake_sample.ops_per_second() / floor_sample.ops_per_second(),
            );
        }
    }

    if !breakdown.is_empty() {
        println!();
        println!("fake server time per RPC in the lifecycle, 1 client (journal): {breakdown}");
    }

    if wanted("exec") {
        // ExecSync echo against Version, both on the fake, one client.
        let (exec_sample, id) = load.block_on(async {
            let mut c = client(&fake_path);
            let (_, id) = run_container(&mut c, "exec", &["sleep", "100000"]).await;
            let exec_id = id.clone();
            let sample = drive(&fake_path, 1, time, move |mut c, _| {
                let id = exec_id.clone();
                async move {
                    c.exec_sync(ExecSyncRequest {
                        container_id: id,
                        cmd: vec!["echo".into(), "hello".into()],
                        timeout: 0,
                    })
                    .await
                    .unwrap();
                }
            })
            .await;
            (sample, id)
        });
        println!();
        println!(
            "ExecSync echo p50 {} = {:.2} x Version p50 {}",
            micros(exec_sample.percentile(0.5)),
            exec_sample.percentile(0.5).as_secs_f64() / version_1.as_secs_f64(),
            micros(version_1)
        );
        let _ = id;
    }
    drop(fake);

    if wanted("lists") {
        // Lists over 1,000 sandboxes x 5 containers.
        let listed = servers.block_on(FakeRuntime::start()).unwrap();
        let listed_path = listed.socket_path().unwrap().to_path_buf();
        load.block_on(populate(&listed_path, 0, 1000, 5));
        let runtime = listed.runtime().clone();
        let some_pod = runtime.list_pod_sandbox(None)[0].id.clone();
        let some_container = runtime.list_containers(None)[0].id.clone();
        println!();
        println!("| list over 1,000 sandboxes x 5 containers | returns | server time |");
        println!("|---|---:|---:|");
        // What the server does per call: select and encode the answer to bytes.
        let encoded_row = |name: &str, f: &dyn Fn() -> EncodedList, items: fn(Bytes) -> usize| {
            let returned = items(f().to_bytes());
            println!("| {name} | {returned} | {} |", micros(server_time(51, f)));
        };
        let containers = |b: Bytes| ListContainersResponse::decode(b).unwrap().containers.len();
        let pods = |b: Bytes| ListPodSandboxResponse::decode(b).unwrap().items.len();
        let stats = |b: Bytes| ListContainerStatsResponse::decode(b).unwrap().stats.len();
        encoded_row(
            "ListContainers",
            &|| runtime.encode_list_containers(None),
            containers,
        );
        encoded_row(
            "ListPodSandbox",
            &|| runtime.encode_list_pod_sandbox(None),
            pods,
        );
        encoded_row(
            "ListContainerStats",
            &|| runtime.encode_list_container_stats(None),
            stats,
        );
        encoded_row(
            "ListContainers by id",
            &|| {
                runtime.encode_list_containers(Some(ContainerFilter {
                    id: some_container.clone(),
                    ..Default::default()
                }))
            },
            containers,
        );
        encoded_row(
            "ListContainers by pod",
            &|| {
                runtime.encode_list_containers(Some(ContainerFilter {
                    pod_sandbox_id: some_pod.clone(),
                    ..Default::default()
                }))
            },
            containers,
        );
        encoded_row(
            "ListContainers by state RUNNING",
            &|| {
                runtime.encode_list_containers(Some(ContainerFilter {
                    state: Some(ContainerStateValue {
                        state: ContainerState::ContainerRunning as i32,
                    }),
                    ..Default::default()
                }))
            },
            containers,
        );
        encoded_row(
            "ListContainers by label (1%)",
            &|| {
                runtime.encode_list_containers(Some(ContainerFilter {
                    label_selector: [("group".to_string(), "g7".to_string())].into(),
                    ..Default::default()
                }))
            },
            containers,
        );
        encoded_row(
            "ListPodSandbox by label (1%)",
            &|| {
                runtime.encode_list_pod_sandbox(Some(PodSandboxFilter {
                    label_selector: [("group".to_string(), "g7".to_string())].into(),
                    ..Default::default()
                }))
            },
            pods,
        );
        // The owned lists (the library's API; the server answered with these before
        // it encoded from the records), then their encoding as tonic did it.
        let owned_row = |name: &str, f: &dyn Fn() -> usize| {
            let returned = f();
            println!("| {name} | {returned} | {} |", micros(server_time(51, f)));
        };
        owned_row("ListContainers, owned Vec<Container>", &|| {
            runtime.list_containers(None).len()
        });
        owned_row("ListContainers, owned then encoded", &|| {
            let response = ListContainersResponse {
                containers: runtime.list_containers(None),
            };
            std::hint::black_box(response.encode_to_vec());
            response.containers.len()
        });
        owned_row("ListPodSandbox, owned Vec<PodSandbox>", &|| {
            runtime.list_pod_sandbox(None).len()
        });
        owned_row("ListContainerStats, owned Vec<ContainerStats>", &|| {
            runtime.list_container_stats(None).len()
        });
        let rpc = load.block_on(async {
            let mut c = client(&listed_path);
            let mut times = Vec::new();
            for _ in 0..21 {
                let t = Instant::now();
                c.list_containers(ListContainersRequest::default())
                    .await
                    .unwrap();
                times.push(t.elapsed());
            }
            times.sort_unstable();
            times[10]
        });
        println!(
            "| ListContainers over gRPC (client time) | 5000 | {} |",
            micros(rpc)
        );
        // The same calls as the journal timed them: the dispatcher's part of the server
        // time (fault rules, the encoded list, the send size check).
        let mut journaled: Vec<Duration> = listed
            .calls_to(cri_fake::Method::ListContainers)
            .iter()
            .filter_map(|call| call.duration)
            .collect();
        journaled.sort_unstable();
        if let Some(median) = journaled.get(journaled.len() / 2) {
            println!(
                "| ListContainers over gRPC (journal server time) | 5000 | {} |",
                micros(*median)
            );
        }
        drop(listed);

        // ListPodSandbox over 5,000 sandboxes (the pods of the store above are 1,000).
        let sandboxes = servers.block_on(FakeRuntime::start()).unwrap();
        load.block_on(populate(sandboxes.socket_path().unwrap(), 0, 5000, 0));
        let runtime = sandboxes.runtime().clone();
        let returned = pods(runtime.encode_list_pod_sandbox(None).to_bytes());
        println!(
            "| ListPodSandbox over 5,000 sandboxes | {returned} | {} |",
            micros(server_time(51, &|| runtime.encode_list_pod_sandbox(None)))
        );
        drop(sandboxes);
    }

    if wanted("scale") {
        // Scale: 10,000 sandboxes x 5 containers, in the release binary when it exists
        // (its own RSS), else embedded here (this process's RSS growth).
        println!();
        let binary = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("cri-fake")))
            .filter(|p| p.exists());
        match &binary {
            Some(binary) => {
                let dir = tempfile::tempdir().unwrap();
                let socket = dir.path().join("cri.sock");
                let t = Instant::now();
                let mut child = std::process::Command::new(binary)
                    .arg("--listen")
                    .arg(format!("unix://{}", socket.display()))
                    // `PERF_FAKE_CONFIG`: a TOML configuration for the binary (e.g. journal
                    // limits), to see what a setting costs.
                    .args(
                        std::env::var_os("PERF_FAKE_CONFIG")
                            .map(|c| vec![std::ffi::OsString::from("--config"), c])
                            .unwrap_or_default(),
                    )
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                while std::os::unix::net::UnixStream::connect(&socket).is_err() {
                    std::thread::sleep(Duration::from_micros(200));
                }
                let ready = t.elapsed();
                println!(
                    "start: embedded builder to first answered RPC {}; binary exec to socket ready {}",
                    micros(start_embedded),
                    micros(ready)
                );
                let rss = |pid: u32| {
                    let status =
                        std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                    status_mib(&status, "VmRSS:")
                };
                let before = rss(child.id());
                let rates = load.block_on(async {
                    let mut rates = Vec::new();
                    for k in 0..2u64 {
                        rates.push(populate(&socket, k * 5000, 5000, 5).await);
                    }
                    rates.push(populate(&socket, 10_000, 500, 5).await);
                    rates
                });
                let after = rss(child.id());
                println!(
                    "scale (binary): 10,000 sandboxes x 5 containers: RSS {before:.1} MiB empty, {after:.1} MiB held; pods/s (with 5 CreateContainer each) from 0: {:.0}, from 5k: {:.0}, from 10k: {:.0}",
                    rates[0], rates[1], rates[2]
                );
                let _ = child.kill();
                let _ = child.wait();
            }
            None => {
                println!(
                    "start: embedded builder to first answered RPC {}; (build the binary with `cargo build --release -p cri-fake` for the binary rows)",
                    micros(start_embedded)
                );
                let held = servers.block_on(FakeRuntime::start()).unwrap();
                let path = held.socket_path().unwrap().to_path_buf();
                let (before, _) = rss_mib();
                let rates = load.block_on(async {
                    let mut rates = Vec::new();
                    for k in 0..2u64 {
                        rates.push(populate(&path, k * 5000, 5000, 5).await);
                    }
                    rates.push(populate(&path, 10_000, 500, 5).await);
                    rates
                });
                let (after, _) = rss_mib();
                println!(
                    "scale (embedded): 10,000 sandboxes x 5 containers: RSS growth {:.1} MiB; pods/s from 0: {:.0}, from 5k: {:.0}, from 10k: {:.0}",
                    after - before,
                    rates[0],
                    rates[1],
                    rates[2]
                );
            }
        }
    }
    println!("peak RSS of this process: {:.1} MiB", rss_mib().1);
}
