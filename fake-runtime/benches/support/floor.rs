//! The floor: a tonic RuntimeService that answers every unary call with an empty
//! message, served on a unix socket. What the fake costs is measured against it.

#![allow(clippy::unwrap_used)]

use cri_proto::v1::*;
use cri_proto::{RuntimeService, RuntimeServiceServer};
use tonic::{Request, Response, Status};

/// A RuntimeService that answers every unary call with an empty message: the cost of
/// tonic itself.
pub(crate) struct Floor;

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

/// A running floor server (it lives as long as the tokio runtime it was started on).
/// A running floor server (it lives as long as the tokio runtime it was started on).
pub(crate) struct FloorServer {
    /// Its socket.
    pub path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// Starts the floor on the current tokio runtime.
pub(crate) async fn start_floor() -> FloorServer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floor.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(RuntimeServiceServer::new(Floor))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    FloorServer { path, _dir: dir }
}
