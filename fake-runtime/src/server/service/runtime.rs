//! `runtime.v1.RuntimeService` on top of the runtime core.

use std::pin::Pin;

use cri_proto::v1::*;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::Dispatcher;
use crate::toolkit::method::Method;

/// The tonic `RuntimeService` of the fake.
#[derive(Debug, Clone)]
pub(crate) struct RuntimeApi {
    dispatcher: Dispatcher,
}

impl RuntimeApi {
    /// A runtime service over `dispatcher`.
    pub(crate) fn new(dispatcher: Dispatcher) -> Self {
        Self { dispatcher }
    }
}

/// What GetContainerEvents streams.
pub(crate) type ContainerEventStream =
    Pin<Box<dyn Stream<Item = Result<ContainerEventResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl cri_proto::RuntimeService for RuntimeApi {
    async fn version(
        &self,
        request: Request<VersionRequest>,
    ) -> Result<Response<VersionResponse>, Status> {
        self.dispatcher
            .call(
                Method::Version,
                request,
                |rt, _| async move { Ok(rt.version()) },
            )
            .await
    }

    async fn run_pod_sandbox(
        &self,
        request: Request<RunPodSandboxRequest>,
    ) -> Result<Response<RunPodSandboxResponse>, Status> {
        self.dispatcher
            .call(Method::RunPodSandbox, request, |rt, req| async move {
                let pod_sandbox_id = rt.run_pod_sandbox(req.config, req.runtime_handler)?;
                Ok(RunPodSandboxResponse { pod_sandbox_id })
            })
            .await
    }

    async fn stop_pod_sandbox(
        &self,
        request: Request<StopPodSandboxRequest>,
    ) -> Result<Response<StopPodSandboxResponse>, Status> {
        self.dispatcher
            .call(Method::StopPodSandbox, request, |rt, req| async move {
                rt.stop_pod_sandbox(&req.pod_sandbox_id).await?;
                Ok(StopPodSandboxResponse {})
            })
            .await
    }

    async fn remove_pod_sandbox(
        &self,
        request: Request<RemovePodSandboxRequest>,
    ) -> Result<Response<RemovePodSandboxResponse>, Status> {
        self.dispatcher
            .call(Method::RemovePodSandbox, request, |rt, req| async move {
                rt.remove_pod_sandbox(&req.pod_sandbox_id).await?;
                Ok(RemovePodSandboxResponse {})
            })
            .await
    }

    async fn pod_sandbox_status(
        &self,
        request: Request<PodSandboxStatusRequest>,
    ) -> Result<Response<PodSandboxStatusResponse>, Status> {
        self.dispatcher
            .call(Method::PodSandboxStatus, request, |rt, req| async move {
                rt.pod_sandbox_status(&req.pod_sandbox_id, req.verbose)
            })
            .await
    }

    async fn list_pod_sandbox(
        &self,
        request: Request<ListPodSandboxRequest>,
    ) -> Result<Response<ListPodSandboxResponse>, Status> {
        self.dispatcher
            .call(Method::ListPodSandbox, request, |rt, req| async move {
                Ok(ListPodSandboxResponse {
                    items: rt.list_pod_sandbox(req.filter),
                })
            })
            .await
    }

    async fn create_container(
        &self,
        request: Request<CreateContainerRequest>,
    ) -> Result<Response<CreateContainerResponse>, Status> {
        self.dispatcher
            .call(Method::CreateContainer, request, |rt, req| async move {
                let container_id =
                    rt.create_container(&req.pod_sandbox_id, req.config, req.sandbox_config)?;
                Ok(CreateContainerResponse { container_id })
            })
            .await
    }

    async fn start_container(
        &self,
        request: Request<StartContainerRequest>,
    ) -> Result<Response<StartContainerResponse>, Status> {
        self.dispatcher
            .call(Method::StartContainer, request, |rt, req| async move {
                rt.start_container(&req.container_id).await?;
                Ok(StartContainerResponse {})
            })
            .await
    }

    async fn stop_container(
        &self,
        request: Request<StopContainerRequest>,
    ) -> Result<Response<StopContainerResponse>, Status> {
        self.dispatcher
            .call(Method::StopContainer, request, |rt, req| async move {
                rt.stop_container(&req.container_id, req.timeout).await?;
                Ok(StopContainerResponse {})
            })
            .await
    }

    async fn remove_container(
        &self,
        request: Request<RemoveContainerRequest>,
    ) -> Result<Response<RemoveContainerResponse>, Status> {
        self.dispatcher
            .call(Method::RemoveContainer, request, |rt, req| async move {
                rt.remove_container(&req.container_id).await?;
                Ok(RemoveContainerResponse {})
            })
            .await
    }

    async fn list_containers(
        &self,
        request: Request<ListContainersRequest>,
    ) -> Result<Response<ListContainersResponse>, Status> {
        self.dispatcher
            .call(Method::ListContainers, request, |rt, req| async move {
                Ok(ListContainersResponse {
                    containers: rt.list_containers(req.filter),
                })
            })
            .await
    }

    async fn container_status(
        &self,
        request: Request<ContainerStatusRequest>,
    ) -> Result<Response<ContainerStatusResponse>, Status> {
        self.dispatcher
            .call(Method::ContainerStatus, request, |rt, req| async move {
                rt.container_status(&req.container_id, req.verbose)
            })
            .await
    }

    async fn update_container_resources(
        &self,
        request: Request<UpdateContainerResourcesRequest>,
    ) -> Result<Response<UpdateContainerResourcesResponse>, Status> {
        self.dispatcher
            .call(
                Method::UpdateContainerResources,
                request,
                |rt, req| async move {
                    rt.update_container_resources(&req.container_id, req.linux)?;
                    Ok(UpdateContainerResourcesResponse {})
                },
            )
            .await
    }

    async fn reopen_container_log(
        &self,
        request: Request<ReopenContainerLogRequest>,
    ) -> Result<Response<ReopenContainerLogResponse>, Status> {
        self.dispatcher
            .call(Method::ReopenContainerLog, request, |rt, req| async move {
                rt.reopen_container_log(&req.container_id)?;
                Ok(ReopenContainerLogResponse {})
            })
            .await
    }

    async fn exec_sync(
        &self,
        request: Request<ExecSyncRequest>,
    ) -> Result<Response<ExecSyncResponse>, Status> {
        self.dispatcher
            .call(Method::ExecSync, request, |rt, req| async move {
                rt.exec_sync(&req.container_id, req.cmd, req.timeout).await
            })
            .await
    }

    async fn exec(&self, request: Request<ExecRequest>) -> Result<Response<ExecResponse>, Status> {
        self.dispatcher
            .call(Method::Exec, request, |rt, req| async move {
                Ok(ExecResponse {
                    url: rt.exec_url(&req)?,
                })
            })
            .await
    }

    async fn attach(
        &self,
        request: Request<AttachRequest>,
    ) -> Result<Response<AttachResponse>, Status> {
        self.dispatcher
            .call(Method::Attach, request, |rt, req| async move {
                Ok(AttachResponse {
                    url: rt.attach_url(&req)?,
                })
            })
            .await
    }

    async fn port_forward(
        &self,
        request: Request<PortForwardRequest>,
    ) -> Result<Response<PortForwardResponse>, Status> {
        self.dispatcher
            .call(Method::PortForward, request, |rt, req| async move {
                Ok(PortForwardResponse {
                    url: rt.port_forward_url(&req)?,
                })
            })
            .await
    }

    async fn container_stats(
        &self,
        request: Request<ContainerStatsRequest>,
    ) -> Result<Response<ContainerStatsResponse>, Status> {
        self.dispatcher
            .call(Method::ContainerStats, request, |rt, req| async move {
                rt.container_stats(&req.container_id)
            })
            .await
    }

    async fn list_container_stats(
        &self,
        request: Request<ListContainerStatsRequest>,
    ) -> Result<Response<ListContainerStatsResponse>, Status> {
        self.dispatcher
            .call(Method::ListContainerStats, request, |rt, req| async move {
                Ok(ListContainerStatsResponse {
                    stats: rt.list_container_stats(req.filter),
                })
            })
            .await
    }

    async fn pod_sandbox_stats(
        &self,
        request: Request<PodSandboxStatsRequest>,
    ) -> Result<Response<PodSandboxStatsResponse>, Status> {
        self.dispatcher
            .call(Method::PodSandboxStats, request, |rt, req| async move {
                Ok(PodSandboxStatsResponse {
                    stats: Some(rt.pod_sandbox_stats(&req.pod_sandbox_id)?),
                })
            })
            .await
    }

    async fn list_pod_sandbox_stats(
        &self,
        request: Request<ListPodSandboxStatsRequest>,
    ) -> Result<Response<ListPodSandboxStatsResponse>, Status> {
        self.dispatcher
            .call(Method::ListPodSandboxStats, request, |rt, req| async move {
                Ok(ListPodSandboxStatsResponse {
                    stats: rt.list_pod_sandbox_stats(req.filter)?,
                })
            })
            .await
    }

    async fn update_runtime_config(
        &self,
        request: Request<UpdateRuntimeConfigRequest>,
    ) -> Result<Response<UpdateRuntimeConfigResponse>, Status> {
        self.dispatcher
            .call(Method::UpdateRuntimeConfig, request, |_, _| async move {
                Ok(UpdateRuntimeConfigResponse {})
            })
            .await
    }

    async fn status(
        &self,
        request: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        self.dispatcher
            .call(Method::Status, request, |rt, req| async move {
                Ok(rt.status(req.verbose))
            })
            .await
    }

    async fn checkpoint_container(
        &self,
        request: Request<CheckpointContainerRequest>,
    ) -> Result<Response<CheckpointContainerResponse>, Status> {
        self.dispatcher
            .call(Method::CheckpointContainer, request, |rt, req| async move {
                rt.checkpoint_container(&req.container_id)?;
                Ok(CheckpointContainerResponse {})
            })
            .await
    }

    type GetContainerEventsStream = ContainerEventStream;

    async fn get_container_events(
        &self,
        request: Request<GetEventsRequest>,
    ) -> Result<Response<Self::GetContainerEventsStream>, Status> {
        self.dispatcher
            .call(Method::GetContainerEvents, request, |rt, _| async move {
                rt.container_events().map(|events| {
                    Box::pin(tokio_stream::StreamExt::map(events, Ok)) as ContainerEventStream
                })
            })
            .await
    }

    async fn list_metric_descriptors(
        &self,
        request: Request<ListMetricDescriptorsRequest>,
    ) -> Result<Response<ListMetricDescriptorsResponse>, Status> {
        self.dispatcher
            .call(Method::ListMetricDescriptors, request, |rt, _| async move {
                Ok(ListMetricDescriptorsResponse {
                    descriptors: rt.list_metric_descriptors()?,
                })
            })
            .await
    }

    async fn list_pod_sandbox_metrics(
        &self,
        request: Request<ListPodSandboxMetricsRequest>,
    ) -> Result<Response<ListPodSandboxMetricsResponse>, Status> {
        self.dispatcher
            .call(Method::ListPodSandboxMetrics, request, |rt, _| async move {
                Ok(ListPodSandboxMetricsResponse {
                    pod_metrics: rt.list_pod_sandbox_metrics()?,
                })
            })
            .await
    }

    async fn runtime_config(
        &self,
        request: Request<RuntimeConfigRequest>,
    ) -> Result<Response<RuntimeConfigResponse>, Status> {
        self.dispatcher
            .call(Method::RuntimeConfig, request, |rt, _| async move {
                rt.runtime_config()
            })
            .await
    }
}
