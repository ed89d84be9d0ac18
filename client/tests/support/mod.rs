//! Test support: configs, a fault-injecting gRPC proxy in front of the fake runtime, and a
//! recording process killer.
//!
//! The proxy serves `RuntimeService` and `ImageService` on its own unix socket and forwards
//! every call to a real fake through the generated clients, unless a [`Fault`] rule for the
//! method says otherwise. It counts every call it receives, so tests can prove that a
//! client method sent nothing, or exactly N tries.
#![allow(dead_code)]

use std::any::Any;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cri_client::{Client, Growth, ProcessKiller, RetryPolicy};
use cri_fake::{FakeRuntime, Profile, fixtures};
use cri_proto::v1::*;
use cri_proto::{
    ImageService, ImageServiceClient, ImageServiceServer, RuntimeService, RuntimeServiceClient,
    RuntimeServiceServer,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Response, Status};

/// The busybox image of the fake's catalog.
pub(crate) const BUSYBOX: &str = "docker.io/library/busybox:1.36";
/// The busybox image id.
pub(crate) const BUSYBOX_ID: &str =
    "sha256:10157d048594c42d40d2a9acd4c84747a65d27249564ca66980799592e79d18b";
/// The pause image of the fake's catalog.
pub(crate) const PAUSE: &str = "registry.k8s.io/pause:3.10.2";

/// A retry policy that never waits long: 3 tries, 1 ms then 2 ms, 2 s per try.
pub(crate) fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        tries: 3,
        first_interval: Duration::from_millis(1),
        growth: Growth::Linear(Duration::from_millis(1)),
        max_interval: Duration::from_millis(10),
        per_try_timeout: Duration::from_secs(2),
    }
}

/// A pod config with host networking (uid `uid-<name>`).
pub(crate) fn pod_config(name: &str, namespace: &str) -> PodSandboxConfig {
    fixtures::pod(name)
        .uid(format!("uid-{name}"))
        .namespace(namespace)
        .build()
}

/// A container config running `command` in `image`.
pub(crate) fn container_config(name: &str, image: &str, command: &[&str]) -> ContainerConfig {
    fixtures::container(name)
        .image(image)
        .command(command.iter().copied())
        .build()
}

/// A busybox container running `sleep 1000`.
pub(crate) fn sleeper(name: &str) -> ContainerConfig {
    container_config(name, BUSYBOX, &["sleep", "1000"])
}

/// A client of `endpoint` with [`quick_policy`] and short timeouts.
pub(crate) async fn client_of(endpoint: &str) -> Client {
    Client::builder(endpoint)
        .connect_timeout(Duration::from_secs(5))
        .call_timeout(Duration::from_secs(10))
        .retry_policy(quick_policy())
        .connect()
        .await
        .expect("connect")
}

/// A started fake (default profile: containerd 2.3) and a client of it.
pub(crate) async fn fake_and_client() -> (FakeRuntime, Client) {
    let fake = FakeRuntime::start().await.expect("start fake");
    let client = client_of(fake.endpoint()).await;
    (fake, client)
}

/// The sandbox id in containerd 2.3's unknown-runtime-handler text, after checking the
/// whole text: `unable to get OCI runtime for sandbox "<64 hex>": no runtime for "nope"
/// is configured`.
pub(crate) fn unknown_handler_sandbox_id(message: &str) -> &str {
    let sandbox_id = message
        .strip_prefix("unable to get OCI runtime for sandbox \"")
        .and_then(|rest| rest.strip_suffix("\": no runtime for \"nope\" is configured"))
        .unwrap_or_else(|| panic!("unexpected message: {message}"));
    assert_eq!(sandbox_id.len(), 64, "{message}");
    assert!(
        sandbox_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{message}"
    );
    sandbox_id
}

/// A started fake imitating `profile` and a client of it.
pub(crate) async fn fake_and_client_of(profile: Profile) -> (FakeRuntime, Client) {
    let fake = FakeRuntime::builder()
        .profile(profile)
        .start()
        .await
        .expect("start fake");
    let client = client_of(fake.endpoint()).await;
    (fake, client)
}

/// Creates and starts a sleeping container in a new pod; returns (pod id, container id).
pub(crate) async fn running_sleeper(client: &Client, pod: &str) -> (String, String) {
    let run = client
        .run_containers(&pod_config(pod, "default"), &[sleeper("app")], "")
        .await
        .expect("run_containers");
    (run.pod_id, run.container_ids[0].clone())
}

/// The state of a container, asked directly of the fake.
pub(crate) async fn state_of(fake: &FakeRuntime, id: &str) -> ContainerState {
    let status = fake
        .runtime_client()
        .container_status(ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        })
        .await
        .expect("status")
        .into_inner()
        .status
        .expect("status field");
    ContainerState::try_from(status.state).expect("state")
}

/// What the proxy does with calls of one method.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Answer `code`/`message` to the next `times` calls, then forward.
    Fail {
        code: Code,
        message: String,
        times: u32,
    },
    /// Answer `code`/`message` to every call.
    Always { code: Code, message: String },
    /// Answer OK with an empty response, without forwarding (a runtime that claims to act
    /// but does nothing).
    NoOp,
    /// Never answer the next `times` calls, then forward.
    Hang { times: u32 },
}

enum Action {
    Forward,
    Fail(Status),
    NoOp,
    Hang,
}

/// The proxy's fault rules and call counts.
#[derive(Default)]
pub(crate) struct Faults {
    rules: Mutex<HashMap<String, Fault>>,
    calls: Mutex<HashMap<String, u32>>,
    seen: Mutex<Vec<(String, Box<dyn Any + Send>)>>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").finish_non_exhaustive()
    }
}

impl Faults {
    /// Sets the rule of `method` (`"StopContainer"`).
    pub(crate) fn set(&self, method: &str, fault: Fault) {
        self.rules
            .lock()
            .expect("rules")
            .insert(method.to_string(), fault);
    }

    /// Removes the rule of `method`.
    pub(crate) fn clear(&self, method: &str) {
        self.rules.lock().expect("rules").remove(method);
    }

    /// How many calls of `method` the proxy received.
    pub(crate) fn calls(&self, method: &str) -> u32 {
        self.calls
            .lock()
            .expect("calls")
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// How many calls the proxy received in all.
    pub(crate) fn total_calls(&self) -> u32 {
        self.calls.lock().expect("calls").values().sum()
    }

    /// The requests of `method` the proxy received, oldest first.
    pub(crate) fn requests<T: Clone + 'static>(&self, method: &str) -> Vec<T> {
        self.seen
            .lock()
            .expect("seen")
            .iter()
            .filter(|(name, _)| name == method)
            .filter_map(|(_, request)| request.downcast_ref::<T>().cloned())
            .collect()
    }

    fn record<T: Send + 'static>(&self, method: &str, request: T) {
        self.seen
            .lock()
            .expect("seen")
            .push((method.to_string(), Box::new(request)));
    }

    fn action(&self, method: &str) -> Action {
        *self
            .calls
            .lock()
            .expect("calls")
            .entry(method.to_string())
            .or_default() += 1;
        let mut rules = self.rules.lock().expect("rules");
        let Some(rule) = rules.get_mut(method) else {
            return Action::Forward;
        };
        match rule {
            Fault::Fail {
                code,
                message,
                times,
            } => {
                if *times == 0 {
                    return Action::Forward;
                }
                *times -= 1;
                Action::Fail(Status::new(*code, message.clone()))
            }
            Fault::Always { code, message } => Action::Fail(Status::new(*code, message.clone())),
            Fault::NoOp => Action::NoOp,
            Fault::Hang { times } => {
                if *times == 0 {
                    return Action::Forward;
                }
                *times -= 1;
                Action::Hang
            }
        }
    }
}

/// The proxy: its socket, its fault table, and the task serving it.
pub(crate) struct FaultProxy {
    endpoint: String,
    faults: Arc<Faults>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream`.
    pub(crate) async fn start(upstream: Channel) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("proxy.sock");
        let listener = tokio::net::UnixListener::bind(&path).expect("bind proxy");
        let faults = Arc::new(Faults::default());
        let limit = 64 * 1024 * 1024;
        let service = Forward {
            runtime: RuntimeServiceClient::new(upstream.clone()).max_decoding_message_size(limit),
            image: ImageServiceClient::new(upstream).max_decoding_message_size(limit),
            faults: faults.clone(),
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
        let task = tokio::spawn(async move {
            let _ = Server::builder()
                .add_service(
                    RuntimeServiceServer::new(service.clone())
                        .max_decoding_message_size(limit)
                        .max_encoding_message_size(limit),
                )
                .add_service(
                    ImageServiceServer::new(service)
                        .max_decoding_message_size(limit)
                        .max_encoding_message_size(limit),
                )
                .serve_with_incoming_shutdown(incoming, async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            endpoint: format!("unix://{}", path.display()),
            faults,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// The proxy's endpoint (`unix:///tmp/.../proxy.sock`).
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The fault table.
    pub(crate) fn faults(&self) -> Arc<Faults> {
        self.faults.clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A fake, a proxy in front of it, and a client of the proxy.
pub(crate) async fn proxied() -> (FakeRuntime, FaultProxy, Client) {
    let fake = FakeRuntime::start().await.expect("start fake");
    let proxy = FaultProxy::start(fake.channel()).await;
    let client = client_of(proxy.endpoint()).await;
    (fake, proxy, client)
}

#[derive(Clone)]
struct Forward {
    runtime: RuntimeServiceClient<Channel>,
    image: ImageServiceClient<Channel>,
    faults: Arc<Faults>,
}

macro_rules! forward {
    (impl $trait:ident via $field:ident { $($name:ident $method:literal $req:ty => $resp:ty;)* } $($extra:tt)*) => {
        #[tonic::async_trait]
        impl $trait for Forward {
            $(
                async fn $name(&self, request: Request<$req>) -> Result<Response<$resp>, Status> {
                    self.faults.record($method, request.get_ref().clone());
                    match self.faults.action($method) {
                        Action::Forward => self.$field.clone().$name(request.into_inner()).await,
                        Action::Fail(status) => Err(status),
                        Action::NoOp => Ok(Response::new(<$resp>::default())),
                        Action::Hang => std::future::pending().await,
                    }
                }
            )*
            $($extra)*
        }
    };
}

forward! {
    impl RuntimeService via runtime {
        version "Version" VersionRequest => VersionResponse;
        run_pod_sandbox "RunPodSandbox" RunPodSandboxRequest => RunPodSandboxResponse;
        stop_pod_sandbox "StopPodSandbox" StopPodSandboxRequest => StopPodSandboxResponse;
        remove_pod_sandbox "RemovePodSandbox" RemovePodSandboxRequest => RemovePodSandboxResponse;
        pod_sandbox_status "PodSandboxStatus" PodSandboxStatusRequest => PodSandboxStatusResponse;
        list_pod_sandbox "ListPodSandbox" ListPodSandboxRequest => ListPodSandboxResponse;
        create_container "CreateContainer" CreateContainerRequest => CreateContainerResponse;
        start_container "StartContainer" StartContainerRequest => StartContainerResponse;
        stop_container "StopContainer" StopContainerRequest => StopContainerResponse;
        remove_container "RemoveContainer" RemoveContainerRequest => RemoveContainerResponse;
        list_containers "ListContainers" ListContainersRequest => ListContainersResponse;
        container_status "ContainerStatus" ContainerStatusRequest => ContainerStatusResponse;
        update_container_resources "UpdateContainerResources" UpdateContainerResourcesRequest => UpdateContainerResourcesResponse;
        reopen_container_log "ReopenContainerLog" ReopenContainerLogRequest => ReopenContainerLogResponse;
        exec_sync "ExecSync" ExecSyncRequest => ExecSyncResponse;
        exec "Exec" ExecRequest => ExecResponse;
        attach "Attach" AttachRequest => AttachResponse;
        port_forward "PortForward" PortForwardRequest => PortForwardResponse;
        container_stats "ContainerStats" ContainerStatsRequest => ContainerStatsResponse;
        list_container_stats "ListContainerStats" ListContainerStatsRequest => ListContainerStatsResponse;
        pod_sandbox_stats "PodSandboxStats" PodSandboxStatsRequest => PodSandboxStatsResponse;
        list_pod_sandbox_stats "ListPodSandboxStats" ListPodSandboxStatsRequest => ListPodSandboxStatsResponse;
        update_runtime_config "UpdateRuntimeConfig" UpdateRuntimeConfigRequest => UpdateRuntimeConfigResponse;
        status "Status" StatusRequest => StatusResponse;
        checkpoint_container "CheckpointContainer" CheckpointContainerRequest => CheckpointContainerResponse;
        list_metric_descriptors "ListMetricDescriptors" ListMetricDescriptorsRequest => ListMetricDescriptorsResponse;
        list_pod_sandbox_metrics "ListPodSandboxMetrics" ListPodSandboxMetricsRequest => ListPodSandboxMetricsResponse;
        runtime_config "RuntimeConfig" RuntimeConfigRequest => RuntimeConfigResponse;
    }

    type GetContainerEventsStream = tonic::Streaming<ContainerEventResponse>;

    async fn get_container_events(
        &self,
        request: Request<GetEventsRequest>,
    ) -> Result<Response<Self::GetContainerEventsStream>, Status> {
        match self.faults.action("GetContainerEvents") {
            Action::Forward | Action::NoOp => {
                self.runtime
                    .clone()
                    .get_container_events(request.into_inner())
                    .await
            }
            Action::Fail(status) => Err(status),
            Action::Hang => std::future::pending().await,
        }
    }
}

forward! {
    impl ImageService via image {
        list_images "ListImages" ListImagesRequest => ListImagesResponse;
        image_status "ImageStatus" ImageStatusRequest => ImageStatusResponse;
        pull_image "PullImage" PullImageRequest => PullImageResponse;
        remove_image "RemoveImage" RemoveImageRequest => RemoveImageResponse;
        image_fs_info "ImageFsInfo" ImageFsInfoRequest => ImageFsInfoResponse;
    }
}

/// A [`ProcessKiller`] that records what it is asked and kills nothing. The parent of pid
/// `p` is `p + 10000`. Killing can clear a fault rule of the proxy (the runtime "recovers"
/// once the shim is gone).
#[derive(Debug, Default)]
pub(crate) struct RecordingKiller {
    pub parent_lookups: Mutex<Vec<u32>>,
    pub killed: Mutex<Vec<u32>>,
    pub fail_kill: bool,
    pub fail_parent_lookup: bool,
    pub clears: Option<(Arc<Faults>, String)>,
}

impl RecordingKiller {
    /// A killer whose kill clears `method`'s rule in `faults`.
    pub(crate) fn clearing(faults: Arc<Faults>, method: &str) -> Self {
        Self {
            clears: Some((faults, method.to_string())),
            ..Self::default()
        }
    }

    /// The pids whose parent was looked up.
    pub(crate) fn lookups(&self) -> Vec<u32> {
        self.parent_lookups.lock().expect("lookups").clone()
    }

    /// The pids killed.
    pub(crate) fn kills(&self) -> Vec<u32> {
        self.killed.lock().expect("killed").clone()
    }
}

impl ProcessKiller for RecordingKiller {
    fn parent_pid(&self, pid: u32) -> io::Result<u32> {
        self.parent_lookups.lock().expect("lookups").push(pid);
        if self.fail_parent_lookup {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        Ok(pid + 10000)
    }

    fn kill(&self, pid: u32) -> io::Result<()> {
        self.killed.lock().expect("killed").push(pid);
        if self.fail_kill {
            return Err(io::Error::from_raw_os_error(1));
        }
        if let Some((faults, method)) = &self.clears {
            faults.clear(method);
        }
        Ok(())
    }
}
