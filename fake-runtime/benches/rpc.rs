//! RPC benchmarks over the unix socket: Version against a do-nothing tonic server (the
//! floor), the pod/container lifecycle at 1, 4 and 16 concurrent clients, ListContainers
//! over 1,000 sandboxes x 5 containers (RPC and server time), and ExecSync.
//!
//! Run with `cargo bench -p cri-fake --bench rpc`. Figures are compared as ratios
//! within one run (fake / floor), never asserted.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]
// A failed call fails the bench run, as in a test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

mod support;

use cri_fake::FakeRuntime;
use cri_proto::v1::*;
use cri_proto::{RuntimeService, RuntimeServiceClient, RuntimeServiceServer};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use support::{container_config, pod_config};
use tokio::runtime::Runtime;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// A RuntimeService that answers every unary call with an empty message: the cost of
/// tonic itself.
struct Floor;

macro_rules! floor_service {
    ($($name:ident($req:ty) -> $resp:ty;)*) => {
        #[tonic::async_trait]
        impl RuntimeService for Floor {
            $(async fn $name(&self, _: Request<$req>) -> Result<Response<$resp>, Status> {
                Ok(Response::new(<$resp>::default()))
            })*

            type GetContainerEventsStream = tokio_stream::Empty<Result<ContainerEventResponse, Status>>;

            async fn get_container_events(
                &self,
                _: Request<GetEventsRequest>,
            ) -> Result<Response<Self::GetContainerEventsStream>, Status> {
                Ok(Response::new(tokio_stream::empty()))
            }
        }
    };
}

floor_service! {
    version(VersionRequest) -> VersionResponse;
    run_pod_sandbox(RunPodSandboxRequest) -> RunPodSandboxResponse;
    stop_pod_sandbox(StopPodSandboxRequest) -> StopPodSandboxResponse;
    remove_pod_sandbox(RemovePodSandboxRequest) -> RemovePodSandboxResponse;
    pod_sandbox_status(PodSandboxStatusRequest) -> PodSandboxStatusResponse;
    list_pod_sandbox(ListPodSandboxRequest) -> ListPodSandboxResponse;
    create_container(CreateContainerRequest) -> CreateContainerResponse;
    start_container(StartContainerRequest) -> StartContainerResponse;
    stop_container(StopContainerRequest) -> StopContainerResponse;
    remove_container(RemoveContainerRequest) -> RemoveContainerResponse;
    list_containers(ListContainersRequest) -> ListContainersResponse;
    container_status(ContainerStatusRequest) -> ContainerStatusResponse;
    update_container_resources(UpdateContainerResourcesRequest) -> UpdateContainerResourcesResponse;
    reopen_container_log(ReopenContainerLogRequest) -> ReopenContainerLogResponse;
    exec_sync(ExecSyncRequest) -> ExecSyncResponse;
    exec(ExecRequest) -> ExecResponse;
    attach(AttachRequest) -> AttachResponse;
    port_forward(PortForwardRequest) -> PortForwardResponse;
    container_stats(ContainerStatsRequest) -> ContainerStatsResponse;
    list_container_stats(ListContainerStatsRequest) -> ListContainerStatsResponse;
    pod_sandbox_stats(PodSandboxStatsRequest) -> PodSandboxStatsResponse;
    list_pod_sandbox_stats(ListPodSandboxStatsRequest) -> ListPodSandboxStatsResponse;
    update_runtime_config(UpdateRuntimeConfigRequest) -> UpdateRuntimeConfigResponse;
    status(StatusRequest) -> StatusResponse;
    checkpoint_container(CheckpointContainerRequest) -> CheckpointContainerResponse;
    list_metric_descriptors(ListMetricDescriptorsRequest) -> ListMetricDescriptorsResponse;
    list_pod_sandbox_metrics(ListPodSandboxMetricsRequest) -> ListPodSandboxMetricsResponse;
    runtime_config(RuntimeConfigRequest) -> RuntimeConfigResponse;
}

struct FloorServer {
    channel: Channel,
    _dir: tempfile::TempDir,
}

async fn start_floor() -> FloorServer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floor.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(RuntimeServiceServer::new(Floor))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    FloorServer {
        channel: cri_fake::transport::unix_channel(&path),
        _dir: dir,
    }
}

/// Runs `per_client` iterations of `call` on each of `clients` concurrent clients.
async fn concurrent<F, Fut>(
    client: &RuntimeServiceClient<Channel>,
    clients: usize,
    per_client: u64,
    call: F,
) where
    F: Fn(RuntimeServiceClient<Channel>, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let tasks: Vec<_> = (0..clients)
        .map(|n| {
            let client = client.clone();
            let call = call.clone();
            tokio::spawn(async move {
                for i in 0..per_client {
                    call(client.clone(), (n as u64) << 32 | i).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

fn version_rpc(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let (fake, floor) =
        rt.block_on(async { (FakeRuntime::start().await.unwrap(), start_floor().await) });
    let fake_client = fake.runtime_client();
    let floor_client = RuntimeServiceClient::new(floor.channel.clone());
    let mut group = c.benchmark_group("version_rpc");
    group
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    for clients in [1usize, 4, 16] {
        for (name, client) in [("fake", &fake_client), ("tonic_floor", &floor_client)] {
            group.bench_with_input(BenchmarkId::new(name, clients), &clients, |b, &clients| {
                b.to_custom_iter(&rt, clients, client)
            });
        }
    }
    group.finish();
}

trait CustomIter {
    fn to_custom_iter(
        &mut self,
        rt: &Runtime,
        clients: usize,
        client: &RuntimeServiceClient<Channel>,
    );
}

impl CustomIter for criterion::Bencher<'_> {
    fn to_custom_iter(
        &mut self,
        rt: &Runtime,
        clients: usize,
        client: &RuntimeServiceClient<Channel>,
    ) {
        self.iter_custom(|iters| {
            let per_client = iters.div_ceil(clients as u64);
            rt.block_on(async {
                let start = Instant::now();
                concurrent(client, clients, per_client, |mut c, _| async move {
                    c.version(VersionRequest::default()).await.unwrap();
                })
                .await;
                // Time per call, whatever the concurrency.
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per_client * clients as u64) as f64)
            })
        });
    }
}

fn lifecycle(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let fake = rt.block_on(async { FakeRuntime::start().await.unwrap() });
    let client = fake.runtime_client();
    let mut group = c.benchmark_group("pod_lifecycle");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(10);
    for clients in [1usize, 4, 16] {
        group.bench_with_input(
            BenchmarkId::new("run_create_start_stop_remove", clients),
            &clients,
            |b, &clients| {
                b.iter_custom(|iters| {
                    let per_client = iters.div_ceil(clients as u64);
                    rt.block_on(async {
                        let start = Instant::now();
                        concurrent(&client, clients, per_client, |mut c, n| async move {
                            let config = pod_config(&format!("p{n}"));
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
                                    config: Some(container_config("c", &["sleep", "1000"])),
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
                        })
                        .await;
                        start
                            .elapsed()
                            .mul_f64(iters as f64 / (per_client * clients as u64) as f64)
                    })
                })
            },
        );
    }
    group.finish();
}

fn listing(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let fake = rt.block_on(async { FakeRuntime::start().await.unwrap() });
    let mut client = fake.runtime_client();
    rt.block_on(async {
        concurrent(&client, 8, 125, |mut c, n| async move {
            let config = pod_config(&format!("p{n}"));
            let pod = c
                .run_pod_sandbox(RunPodSandboxRequest {
                    config: Some(config.clone()),
                    runtime_handler: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .pod_sandbox_id;
            for i in 0..5 {
                c.create_container(CreateContainerRequest {
                    pod_sandbox_id: pod.clone(),
                    config: Some(container_config(&format!("c{i}"), &["sleep", "1"])),
                    sandbox_config: Some(config.clone()),
                })
                .await
                .unwrap();
            }
        })
        .await;
    });
    let mut group = c.benchmark_group("list_containers_5000");
    group
        .measurement_time(Duration::from_secs(5))
        .sample_size(20);
    group.bench_function("rpc", |b| {
        b.iter(|| {
            rt.block_on(async {
                let n = client
                    .list_containers(ListContainersRequest::default())
                    .await
                    .unwrap()
                    .into_inner()
                    .containers
                    .len();
                assert_eq!(n, 5000);
            })
        })
    });
    let runtime = fake.runtime().clone();
    group.bench_function("server_time", |b| {
        b.iter(|| assert_eq!(runtime.list_containers(None).len(), 5000))
    });
    group.bench_function("server_time_label_filter_no_match", |b| {
        let filter = ContainerFilter {
            label_selector: [("app".to_string(), "x".to_string())].into(),
            ..Default::default()
        };
        b.iter(|| assert!(runtime.list_containers(Some(filter.clone())).is_empty()))
    });
    group.finish();
}

criterion_group!(benches, version_rpc, lifecycle, listing);
criterion_main!(benches);
