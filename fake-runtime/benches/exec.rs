//! ExecSync and process benchmarks: `echo hi` round trip, 16 MiB and 1 GiB of output
//! (time, and resident-memory growth printed once), and container start-to-exit of
//! `sh -c "exit 3"`.
//!
//! Run with `cargo bench -p cri-fake --bench exec`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]
// A failed call fails the bench run, as in a test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

mod support;

use cri_fake::FakeRuntime;
use cri_proto::RuntimeServiceClient;
use cri_proto::v1::*;
use criterion::{Criterion, criterion_group, criterion_main};
use support::{container_config, pod_config};
use tokio::runtime::Runtime;
use tonic::transport::Channel;

async fn create(
    client: &mut RuntimeServiceClient<Channel>,
    pod: &str,
    name: &str,
    command: &[&str],
) -> String {
    client
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.into(),
            config: Some(container_config(name, command)),
            sandbox_config: Some(pod_config("bench")),
        })
        .await
        .unwrap()
        .into_inner()
        .container_id
}

/// Peak resident memory of this process, in KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn exec(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let fake = rt.block_on(async { FakeRuntime::start().await.unwrap() });
    let mut client = fake.runtime_client();
    let (pod, id) = rt.block_on(async {
        let pod = client
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(pod_config("bench")),
                runtime_handler: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .pod_sandbox_id;
        let id = create(&mut client, &pod, "sleeper", &["sleep", "infinity"]).await;
        client
            .start_container(StartContainerRequest {
                container_id: id.clone(),
            })
            .await
            .unwrap();
        (pod, id)
    });
    let exec = |cmd: &[&str]| ExecSyncRequest {
        container_id: id.clone(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        timeout: 0,
    };

    let mut group = c.benchmark_group("exec_sync");
    group
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    let echo = exec(&["echo", "hi"]);
    group.bench_function("echo_hi", |b| {
        b.iter(|| {
            rt.block_on(async {
                assert_eq!(
                    client
                        .clone()
                        .exec_sync(echo.clone())
                        .await
                        .unwrap()
                        .into_inner()
                        .stdout,
                    b"hi\n"
                )
            })
        })
    });
    let sixteen = exec(&["head", "-c", "16777216", "/dev/zero"]);
    group.bench_function("head_16MiB_zero", |b| {
        b.iter(|| {
            rt.block_on(async {
                assert_eq!(
                    client
                        .clone()
                        .exec_sync(sixteen.clone())
                        .await
                        .unwrap_err()
                        .code(),
                    tonic::Code::ResourceExhausted
                )
            })
        })
    });
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let before = peak_rss_kib();
    let gib = exec(&["head", "-c", "1073741824", "/dev/zero"]);
    group.bench_function("head_1GiB_zero", |b| {
        b.iter(|| {
            rt.block_on(async {
                assert_eq!(
                    client
                        .clone()
                        .exec_sync(gib.clone())
                        .await
                        .unwrap_err()
                        .code(),
                    tonic::Code::ResourceExhausted
                )
            })
        })
    });
    eprintln!(
        "exec_sync/head_1GiB_zero: peak RSS grew by {} KiB (cap per stream: 16384 KiB)",
        peak_rss_kib().saturating_sub(before)
    );
    group.finish();

    let mut group = c.benchmark_group("container");
    group
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    let mut n = 0u64;
    group.bench_function("start_to_exit_sh_exit_3", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(async {
                let id = create(
                    &mut client,
                    &pod,
                    &format!("exit{n}"),
                    &["sh", "-c", "exit 3"],
                )
                .await;
                client
                    .start_container(StartContainerRequest {
                        container_id: id.clone(),
                    })
                    .await
                    .unwrap();
                loop {
                    let status = client
                        .container_status(ContainerStatusRequest {
                            container_id: id.clone(),
                            verbose: false,
                        })
                        .await
                        .unwrap()
                        .into_inner()
                        .status
                        .unwrap();
                    if status.state == ContainerState::ContainerExited as i32 {
                        assert_eq!(status.exit_code, 3);
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                client
                    .remove_container(RemoveContainerRequest { container_id: id })
                    .await
                    .unwrap();
            })
        })
    });
    group.finish();
}

criterion_group!(benches, exec);
criterion_main!(benches);
