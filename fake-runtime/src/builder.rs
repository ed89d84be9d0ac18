//! [`FakeRuntime`] and [`FakeRuntimeBuilder`]: start the fake, reach it, stop it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cri_proto::v1::{
    ContainerConfig, ContainerState, ContainerStatus, CreateContainerRequest, PodSandboxConfig,
    PodSandboxState, PodSandboxStatus, RunPodSandboxRequest, StartContainerRequest,
};
use cri_proto::{ImageServiceClient, RuntimeServiceClient};
use tonic::transport::Channel;

use crate::core::error::CriError;
use crate::core::hooks::Hooks;
use crate::core::images::{Image, ImageStore, PullPolicy, builtin_catalog};
use crate::core::runtime::{Profile, Runtime, Settings};
use crate::core::state::Inner;
use crate::core::state::{ContainerPhase, SandboxPhase};
use crate::core::stats::{StatsOverride, StatsOverrides};
use crate::process::{Program, Programs};
use crate::server::restart::{Restart, RestartMode, Serving};
use crate::server::streaming::StreamServer;
use crate::server::transport::{self, Listen};
use crate::toolkit::journal::JournalLimits;
use crate::toolkit::journal::{Call, Journal, WaitTimeout};
use crate::toolkit::method::Method;
use crate::toolkit::script::StateWaitError;
use crate::toolkit::script::{MountTarget, Toolkit};
use std::sync::atomic::Ordering;

pub use crate::server::restart::{MAX_MESSAGE_SIZE, StartError};

/// Options for a [`FakeRuntime`]; start it with [`FakeRuntimeBuilder::start`].
#[derive(Debug)]
#[must_use = "a builder does nothing until it is started"]
pub struct FakeRuntimeBuilder {
    settings: Settings,
    listen: Listen,
    images: Vec<Image>,
    with_catalog: bool,
    programs: Programs,
    journal_limits: JournalLimits,
}

impl Default for FakeRuntimeBuilder {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            listen: Listen::default(),
            images: Vec::new(),
            with_catalog: true,
            programs: Programs::builtin(),
            journal_limits: JournalLimits::default(),
        }
    }
}

impl FakeRuntimeBuilder {
    /// Where to listen (default: a private temporary unix socket).
    pub fn listen(mut self, listen: Listen) -> Self {
        self.listen = listen;
        self
    }

    /// Replaces all settings at once.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// `VersionResponse.runtime_name` and `runtime_version`.
    pub fn runtime_identity(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.settings.runtime_name = name.into();
        self.settings.runtime_version = version.into();
        self
    }

    /// Adds an image to the store (tags already held by other images move to it).
    pub fn image(mut self, image: Image) -> Self {
        self.images.push(image);
        self
    }

    /// Starts without the built-in image catalog (only images added with
    /// [`image`](Self::image)).
    pub fn without_builtin_images(mut self) -> Self {
        self.with_catalog = false;
        self
    }

    /// Adds (or replaces) a program containers can run, as `/bin/<name>`.
    pub fn program(mut self, name: &str, program: impl Program) -> Self {
        self.programs.register(name, program);
        self
    }

    /// How PullImage treats references (default: simulate any well-formed one).
    pub fn pull_policy(mut self, policy: PullPolicy) -> Self {
        self.settings.pull_policy = policy;
        self
    }

    /// Where pods' host ports become real sockets on the machine (default `None`:
    /// every port stays in memory; see [`Settings::host_port_address`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let fake = cri_fake::FakeRuntime::builder()
    ///     .host_port_address(Some(std::net::Ipv4Addr::LOCALHOST.into()))
    ///     .start()
    ///     .await
    ///     .unwrap();
    /// assert!(fake.runtime().settings().host_port_address.is_some());
    /// # fake.shutdown().await;
    /// # }
    /// ```
    pub fn host_port_address(mut self, address: Option<std::net::IpAddr>) -> Self {
        self.settings.host_port_address = address;
        self
    }

    /// The network pod IPs come from (default `10.88.0.0/16`; see
    /// [`Settings::pod_cidr`]). A loopback range (`127.88.0.0/16`, the binary's
    /// default) together with a [`host_port_address`](Self::host_port_address) makes
    /// every pod's ports reachable from the machine at the pod's IP.
    pub fn pod_cidr(mut self, cidr: impl Into<String>) -> Self {
        self.settings.pod_cidr = cidr.into();
        self
    }

    /// How long the streaming server waits for a client's streams (default 30 s, see
    /// [`Settings::stream_creation_timeout`]).
    pub fn stream_creation_timeout(mut self, timeout: Duration) -> Self {
        self.settings.stream_creation_timeout = timeout;
        self
    }

    /// How long a pull takes (default 20 ms, see [`Settings::pull_delay`]); zero
    /// answers at once.
    pub fn pull_delay(mut self, delay: Duration) -> Self {
        self.settings.pull_delay = delay;
        self
    }

    /// Bounds ExecSync's wait for backgrounded holders of its output (default: wait
    /// for ever, like containerd 1.6).
    pub fn drain_exec_sync_io_timeout(mut self, timeout: Duration) -> Self {
        self.settings.drain_exec_sync_io_timeout = timeout;
        self
    }

    /// Each container's writable-layer budget: how many bytes its processes may add
    /// to its filesystem (default 64 MiB; 0: unlimited). Writes beyond fail as on a
    /// full disk: `sh -c 'yes > /tmp/f'` ends with `yes: (null): No space left on
    /// device` and exit code 1.
    ///
    /// ```
    /// use cri_fake::FakeRuntime;
    ///
    /// let builder = FakeRuntime::builder().writable_layer_limit_bytes(1 << 20).max_processes(64);
    /// assert_eq!(builder.current_settings().writable_layer_limit_bytes, 1 << 20);
    /// assert_eq!(builder.current_settings().max_processes, 64);
    /// ```
    pub fn writable_layer_limit_bytes(mut self, bytes: u64) -> Self {
        self.settings.writable_layer_limit_bytes = bytes;
        self
    }

    /// How many simulated processes each container may have at once (default 1024;
    /// 0: unlimited). A fork beyond fails: the shell reports `sh: can't fork: Resource
    /// temporarily unavailable` and exits 2, so a fork bomb stays bounded.
    pub fn max_processes(mut self, count: u32) -> Self {
        self.settings.max_processes = count;
        self
    }

    /// How many pipes each container's processes may hold open at once (default
    /// 1024; 0: unlimited). A shell creating one more for `|` or `$(...)` fails as
    /// busybox ash does when `pipe()` returns `EMFILE`: `sh: can't create pipe: Too
    /// many open files`, status 2.
    ///
    /// ```
    /// use cri_fake::FakeRuntime;
    ///
    /// let builder = FakeRuntime::builder().max_open_pipes(16).memory_budget_bytes(8 << 20);
    /// assert_eq!(builder.current_settings().max_open_pipes, 16);
    /// assert_eq!(builder.current_settings().memory_budget_bytes, 8 << 20);
    /// ```
    pub fn max_open_pipes(mut self, count: u32) -> Self {
        self.settings.max_open_pipes = count;
        self
    }

    /// How much memory each container's processes may really hold in the fake's
    /// process (default 64 MiB; 0: unlimited): what buffering applets keep, such as
    /// `sort`'s whole input or `tail -n N`'s last lines. Past it, or past the
    /// container's CRI memory limit when that is lower, the process is OOM-killed
    /// (exit code 137): `sh -c 'yes | sort'` ends with `Killed` and 137 instead of
    /// growing the process running the fake.
    pub fn memory_budget_bytes(mut self, bytes: u64) -> Self {
        self.settings.memory_budget_bytes = bytes;
        self
    }

    /// Whether Status reports the network ready (default true).
    pub fn network_ready(mut self, ready: bool) -> Self {
        self.settings.network_ready = ready;
        self
    }

    /// Which containerd release to imitate where they differ (default
    /// [`Profile::Containerd23`]). The runtime version and sandbox image follow the
    /// profile unless they were set to something else.
    ///
    /// ```
    /// use cri_fake::{FakeRuntime, Profile};
    ///
    /// let builder = FakeRuntime::builder().profile(Profile::Containerd16);
    /// assert_eq!(builder.current_settings().runtime_version, "1.6.20~ds1");
    /// assert_eq!(builder.current_settings().sandbox_image, "registry.k8s.io/pause:3.6");
    /// ```
    pub fn profile(mut self, profile: Profile) -> Self {
        let old = self.settings.profile;
        if self.settings.runtime_version == old.runtime_version() {
            self.settings.runtime_version = profile.runtime_version().into();
        }
        if self.settings.sandbox_image == old.sandbox_image() {
            self.settings.sandbox_image = profile.sandbox_image().into();
        }
        self.settings.profile = profile;
        self
    }

    /// Deprecation warnings (id, text) the `ContainerdHasNoDeprecationWarnings` Status
    /// condition of containerd 2.3 reports (default none: the condition is true).
    pub fn deprecation_warnings(
        mut self,
        warnings: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        self.settings.deprecation_warnings = warnings.into_iter().collect();
        self
    }

    /// The settings as configured so far.
    pub fn current_settings(&self) -> &Settings {
        &self.settings
    }

    /// How much the call journal keeps (default: the last 10 000 calls, 64 MiB).
    pub fn journal_limits(mut self, limits: JournalLimits) -> Self {
        self.journal_limits = limits;
        self
    }

    /// Starts serving. Returns once the listener accepts connections.
    pub async fn start(self) -> Result<FakeRuntime, StartError> {
        let mut images = if self.with_catalog {
            let mut catalog = builtin_catalog();
            // The pause image is tagged as the profile's sandbox image.
            for image in &mut catalog {
                if image.id == crate::core::images::PAUSE_ID {
                    image.repo_tags = vec![self.settings.sandbox_image.clone()];
                }
            }
            catalog
        } else {
            Vec::new()
        };
        images.extend(self.images);
        let toolkit = Arc::new(Toolkit::new(self.journal_limits));
        let mut programs = self.programs;
        toolkit.launcher.install(&mut programs);
        let seed = Seed {
            settings: self.settings,
            images,
            programs,
        };
        let runtime = seed.build(&toolkit, Arc::default()).await?;

        let bound = transport::bind(&self.listen)
            .await
            .map_err(|source| StartError::Bind {
                listen: self.listen.clone(),
                source,
            })?;
        // Where a restart with a downtime listens again (the same socket or port).
        let rebind = match (&bound.socket_path, &self.listen) {
            (Some(path), _) => Some(Listen::UnixSocket(path.clone())),
            (None, Listen::Tcp(_)) => bound
                .endpoint
                .strip_prefix("tcp://")
                .and_then(|a| a.parse().ok())
                .map(Listen::Tcp),
            (None, _) => None,
        };
        let serving = Serving::start(bound.incoming, runtime.clone(), toolkit.clone(), rebind);
        tracing::info!(endpoint = %bound.endpoint, "cri-fake serving");
        Ok(FakeRuntime {
            runtime,
            toolkit,
            endpoint: bound.endpoint,
            socket_path: bound.socket_path,
            temp_dir: bound.temp_dir,
            channel: bound.channel,
            serving,
            seed,
        })
    }
}

/// What a runtime is built from: at start, and again by a state-losing restart.
#[derive(Debug, Clone)]
pub(crate) struct Seed {
    settings: Settings,
    images: Vec<Image>,
    programs: Programs,
}

impl Seed {
    /// A fresh runtime (with its streaming server) hooked to `toolkit`, with the stats
    /// figures `stats_overrides` (both outlive a state-losing restart).
    pub(crate) async fn build(
        &self,
        toolkit: &Arc<Toolkit>,
        stats_overrides: Arc<StatsOverrides>,
    ) -> Result<Arc<Runtime>, StartError> {
        let mut store = ImageStore::new(Vec::new());
        for image in &self.images {
            store.add(image.clone());
        }
        let mut runtime = Runtime::new(self.settings.clone(), store, self.programs.clone());
        runtime.hooks = Arc::clone(toolkit) as Arc<dyn Hooks>;
        runtime.stats_overrides = stats_overrides;
        let runtime = Arc::new(runtime);
        let stream_server = StreamServer::start(
            &runtime.tasks,
            runtime.shutdown.clone(),
            runtime.dialect(),
            Arc::downgrade(&runtime),
        )
        .await
        .map_err(StartError::StreamServer)?;
        let _ = runtime.stream_urls.set(Box::new(stream_server));
        Ok(runtime)
    }
}

/// A running fake CRI runtime. Dropping it shuts it down.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cri_proto::v1::VersionRequest;
///
/// let fake = cri_fake::FakeRuntime::start().await.unwrap();
/// assert!(fake.endpoint().starts_with("unix://"));
/// let version = fake
///     .runtime_client()
///     .version(VersionRequest::default())
///     .await
///     .unwrap()
///     .into_inner();
/// assert_eq!(version.runtime_api_version, "v1");
/// fake.shutdown().await;
/// # }
/// ```
#[derive(Debug)]
pub struct FakeRuntime {
    runtime: Arc<Runtime>,
    /// Scripts, faults, journal and waiters: the same across restarts.
    toolkit: Arc<Toolkit>,
    endpoint: String,
    socket_path: Option<PathBuf>,
    temp_dir: Option<tempfile::TempDir>,
    channel: Channel,
    serving: Serving,
    seed: Seed,
}

impl FakeRuntime {
    /// Starts a fake with default options on a private unix socket.
    pub async fn start() -> Result<FakeRuntime, StartError> {
        FakeRuntimeBuilder::default().start().await
    }

    /// A builder for options.
    pub fn builder() -> FakeRuntimeBuilder {
        FakeRuntimeBuilder::default()
    }

    /// The endpoint clients use: `unix:///...`, `tcp://127.0.0.1:PORT` or `inmemory://`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The unix socket path, when serving on one.
    pub fn socket_path(&self) -> Option<&Path> {
        self.socket_path.as_deref()
    }

    /// A channel connected to the fake (works for every transport, in-memory included).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A generated RuntimeService client on [`channel`](Self::channel), with 16 MiB limits.
    pub fn runtime_client(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE)
    }

    /// A generated ImageService client on [`channel`](Self::channel), with 16 MiB limits.
    pub fn image_client(&self) -> ImageServiceClient<Channel> {
        ImageServiceClient::new(self.channel())
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE)
    }

    /// The runtime core (settings and state), for assertions.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Reads the fake's internal state directly. Prefer the views
    /// ([`sandboxes`](Self::sandboxes), [`containers`](Self::containers), ...): the
    /// store's layout is internal and changes between releases.
    #[doc(hidden)]
    pub fn inspect<R>(&self, f: impl FnOnce(&Inner) -> R) -> R {
        self.runtime.store().read(f)
    }

    /// Every sandbox the fake holds, oldest first (see [`views`](crate::views)).
    pub fn sandboxes(&self) -> Vec<crate::views::SandboxView> {
        self.runtime.store().read(crate::views::sandboxes)
    }

    /// The sandbox with this id (or unique id prefix), if the fake holds it.
    pub fn sandbox(&self, id: &str) -> Option<crate::views::SandboxView> {
        self.runtime.store().read(|s| {
            let id = s.sandbox_ids.resolve(id).ok()?;
            Some(crate::views::sandbox_view(s, s.sandboxes.get(id)?))
        })
    }

    /// Every container the fake holds, oldest first (see [`views`](crate::views)).
    pub fn containers(&self) -> Vec<crate::views::ContainerView> {
        self.runtime.store().read(crate::views::containers)
    }

    /// The container with this id (or unique id prefix), if the fake holds it.
    pub fn container(&self, id: &str) -> Option<crate::views::ContainerView> {
        self.runtime.store().read(|s| {
            let id = s.container_ids.resolve(id).ok()?;
            Some(crate::views::container_view(s.containers.get(id)?))
        })
    }

    /// Runs a pod sandbox with `pod`, then creates and starts each of `containers` in
    /// it, in order: the shortcut of RunPodSandbox, CreateContainer and StartContainer
    /// for tests (see [`fixtures`](crate::fixtures)). Returns the pod id and the
    /// container ids, or the first error.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use cri_fake::fixtures::{container, pod};
    ///
    /// let fake = cri_fake::FakeRuntime::start().await.unwrap();
    /// let (pod_id, ids) = fake
    ///     .run_pod_with(pod("web"), [container("app").command(["sleep", "1000"])])
    ///     .await
    ///     .unwrap();
    /// assert_eq!((pod_id.len(), ids.len()), (64, 1));
    /// fake.shutdown().await;
    /// # }
    /// ```
    pub async fn run_pod_with<C: Into<ContainerConfig>>(
        &self,
        pod: impl Into<PodSandboxConfig>,
        containers: impl IntoIterator<Item = C>,
    ) -> Result<(String, Vec<String>), tonic::Status> {
        let pod = pod.into();
        let mut client = self.runtime_client();
        let pod_id = client
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(pod.clone()),
                runtime_handler: String::new(),
            })
            .await?
            .into_inner()
            .pod_sandbox_id;
        let mut ids = Vec::new();
        for config in containers {
            let id = client
                .create_container(CreateContainerRequest {
                    pod_sandbox_id: pod_id.clone(),
                    config: Some(config.into()),
                    sandbox_config: Some(pod.clone()),
                })
                .await?
                .into_inner()
                .container_id;
            client
                .start_container(StartContainerRequest {
                    container_id: id.clone(),
                })
                .await?;
            ids.push(id);
        }
        Ok((pod_id, ids))
    }

    pub(crate) fn serving_mut(&mut self) -> &mut Serving {
        &mut self.serving
    }

    pub(crate) fn seed(&self) -> &Seed {
        &self.seed
    }

    pub(crate) fn replace_runtime(&mut self, runtime: Arc<Runtime>) {
        self.runtime = runtime;
    }

    /// Stops serving (cutting open connections), kills every simulated process, waits
    /// for every task and removes the socket; then checks the expectations of scripts
    /// and faults like [`verify`](Self::verify).
    pub async fn shutdown(mut self) {
        self.runtime.shutdown.cancel();
        self.serving.shutdown().await;
        self.runtime.stop_all_processes().await;
        self.runtime.tasks.close();
        self.runtime.tasks.wait().await;
        self.remove_socket();
    }

    fn remove_socket(&mut self) {
        if let Some(path) = self.socket_path.take() {
            let _ = std::fs::remove_file(path);
        }
        self.temp_dir.take();
    }
}

impl Drop for FakeRuntime {
    fn drop(&mut self) {
        self.runtime.shutdown.cancel();
        self.serving.abort();
        self.runtime.kill_all_processes_now();
        self.runtime.tasks.close();
        self.remove_socket();
        // Unmet expectations of scripts and faults fail the test (not while panicking).
        self.toolkit.verify_on_drop();
    }
}

impl Runtime {
    /// Kills every container's simulation and waits for them to end.
    pub(crate) async fn stop_all_processes(&self) {
        let sims: Vec<_> = self.store.read(|s| {
            s.containers
                .values()
                .filter_map(|c| c.process.as_ref().map(|p| p.sim.clone()))
                .collect()
        });
        for sim in sims {
            sim.shutdown().await;
        }
    }

    /// Sends SIGKILL to every simulated process without waiting (for `Drop`).
    pub(crate) fn kill_all_processes_now(&self) {
        self.store.read(|s| {
            for process in s.containers.values().filter_map(|c| c.process.as_ref()) {
                process.sim.kill_all(crate::process::Signal::SIGKILL);
            }
        });
    }
}

// From the toolkit's restart.rs: the facade's methods for it.
impl FakeRuntime {
    /// Simulates a runtime restart: every connection is dropped (in-flight calls fail
    /// on the client), then the fake serves again on the same endpoint, with its state
    /// kept or lost. Pass a [`Restart`] to be down for a while first.
    pub async fn restart(&mut self, restart: impl Into<Restart>) -> Result<(), StartError> {
        let restart = restart.into();
        self.serving_mut().close().await;
        let unbound = !restart.downtime.is_zero() && self.serving_mut().unbind().await;
        if restart.mode == RestartMode::LoseState {
            let old = Arc::clone(self.runtime());
            old.shutdown.cancel();
            old.stop_all_processes().await;
            old.tasks.close();
            old.tasks.wait().await;
            let stats_overrides = Arc::clone(&old.stats_overrides);
            let fresh = self.seed().build(&self.toolkit, stats_overrides).await?;
            self.replace_runtime(fresh);
            self.toolkit.state_changed();
        }
        if !restart.downtime.is_zero() {
            tokio::time::sleep(restart.downtime).await;
        }
        if unbound {
            self.serving_mut().bind_again().await?;
        }
        let runtime = Arc::clone(self.runtime());
        self.serving_mut().open(runtime);
        tracing::info!(mode = ?restart.mode, "cri-fake restarted");
        Ok(())
    }
}

// From the toolkit's stats.rs: the facade's methods for it.
impl FakeRuntime {
    /// Sets the figures of a container's stats and metrics (full id or unique prefix);
    /// fails like ContainerStats for an unknown container.
    pub fn set_container_stats(
        &self,
        container: &str,
        figures: StatsOverride,
    ) -> Result<(), CriError> {
        self.runtime().set_container_stats(container, figures)
    }
}

// From the toolkit's script/wait.rs: the facade's methods for it.
impl FakeRuntime {
    /// Re-evaluates `check` at every state change until it gives `Ok`, or `timeout`.
    async fn wait_state<T>(
        &self,
        what: String,
        timeout: Duration,
        check: impl Fn(&Self) -> Result<T, String>,
    ) -> Result<T, StateWaitError> {
        let mut changes = self.toolkit().subscribe_changes();
        let mut last_seen = String::new();
        let waiting = async {
            loop {
                changes.borrow_and_update();
                match check(self) {
                    Ok(found) => return found,
                    Err(seen) => last_seen = seen,
                }
                let _ =
                    tokio::time::timeout(crate::toolkit::script::STATE_RECHECK, changes.changed())
                        .await;
            }
        };
        match tokio::time::timeout(timeout, waiting).await {
            Ok(found) => Ok(found),
            Err(_) => Err(StateWaitError {
                what,
                last_seen: match check(self) {
                    Err(seen) => seen,
                    Ok(_) => last_seen,
                },
                waited: timeout,
            }),
        }
    }

    /// Waits until container `id` (full id or unique prefix) is in `state`, and returns
    /// its status then.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use std::time::Duration;
    /// # use cri_proto::v1::ContainerState;
    /// # let fake = cri_fake::FakeRuntime::start().await.unwrap();
    /// let err = fake
    ///     .wait_for_container_state("nope", ContainerState::ContainerExited, Duration::from_millis(10))
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.last_seen, "absent");
    /// # fake.shutdown().await;
    /// # }
    /// ```
    pub async fn wait_for_container_state(
        &self,
        id: &str,
        state: ContainerState,
        timeout: Duration,
    ) -> Result<ContainerStatus, StateWaitError> {
        self.wait_state(
            format!("container {id} to be {}", state.as_str_name()),
            timeout,
            |fake| {
                let runtime = fake.runtime();
                let phase = runtime
                    .store()
                    .read(|s| s.resolve_container(id).map(|r| r.phase).ok());
                match phase {
                    Some(phase) if phase.to_cri() == state && phase != ContainerPhase::Starting => {
                        runtime
                            .container_status(id, false)
                            .ok()
                            .and_then(|r| r.status)
                            .ok_or_else(|| "absent".to_owned())
                    }
                    Some(phase) => Err(phase.to_cri().as_str_name().to_owned()),
                    None => Err("absent".to_owned()),
                }
            },
        )
        .await
    }

    /// Waits until container `id` (a full id) no longer exists.
    pub async fn wait_for_container_removed(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<(), StateWaitError> {
        self.wait_state(format!("container {id} to be removed"), timeout, |fake| {
            fake.runtime().store().read(|s| match s.containers.get(id) {
                Some(record) => Err(record.phase.to_cri().as_str_name().to_owned()),
                None => Ok(()),
            })
        })
        .await
    }

    /// Waits until sandbox `id` (full id or unique prefix) is in `state`, and returns
    /// its status then.
    pub async fn wait_for_sandbox_state(
        &self,
        id: &str,
        state: PodSandboxState,
        timeout: Duration,
    ) -> Result<PodSandboxStatus, StateWaitError> {
        self.wait_state(
            format!("sandbox {id} to be {}", state.as_str_name()),
            timeout,
            |fake| {
                let runtime = fake.runtime();
                let phase = runtime
                    .store()
                    .read(|s| s.resolve_sandbox(id).map(|r| r.phase).ok());
                let current = SandboxPhase::to_cri;
                match phase {
                    Some(phase) if current(phase) == state => runtime
                        .pod_sandbox_status(id, false)
                        .ok()
                        .and_then(|r| r.status)
                        .ok_or_else(|| "absent".to_owned()),
                    Some(phase) => Err(current(phase).as_str_name().to_owned()),
                    None => Err("absent".to_owned()),
                }
            },
        )
        .await
    }

    /// Waits until sandbox `id` (a full id) no longer exists.
    pub async fn wait_for_sandbox_removed(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<(), StateWaitError> {
        self.wait_state(format!("sandbox {id} to be removed"), timeout, |fake| {
            fake.runtime().store().read(|s| match s.sandboxes.get(id) {
                Some(record) => Err(record.phase.to_cri().as_str_name().to_owned()),
                None => Ok(()),
            })
        })
        .await
    }
}

// From the toolkit's script/mod.rs: the facade's methods for it.
impl FakeRuntime {
    /// The call journal: every call the fake received, in order.
    pub fn journal(&self) -> &Journal {
        &self.toolkit().journal
    }

    /// Every call received (as far as the journal keeps them), in order.
    pub fn calls(&self) -> Vec<Call> {
        self.journal().calls()
    }

    /// The calls to `method`, in order.
    pub fn calls_to(&self, method: Method) -> Vec<Call> {
        self.journal().calls_to(method)
    }

    /// Waits for a call to `method` (the first one, which may have arrived already).
    pub async fn wait_for_call(
        &self,
        method: Method,
        timeout: std::time::Duration,
    ) -> Result<Call, WaitTimeout> {
        self.journal().wait_for_call(method, timeout).await
    }

    /// The report of unmet expectations (scripts and faults), with every call
    /// received, numbered; `None` when every expectation is met.
    pub fn verification_report(&self) -> Option<String> {
        self.toolkit().report()
    }

    /// Dropping the fake will not check the expectations (for callers that handle
    /// [`verification_report`](Self::verification_report) themselves).
    pub fn skip_verification_on_drop(&self) {
        self.toolkit().verified.store(true, Ordering::SeqCst);
    }

    /// Checks every expectation of the mounted scripts and faults.
    ///
    /// # Panics
    ///
    /// With a readable report of the unmet expectations and the numbered calls, when
    /// any is unmet. (Dropping the fake verifies too, without panicking a second time.)
    pub fn verify(&self) {
        if let Some(report) = self.verification_report() {
            self.toolkit().verified.store(true, Ordering::SeqCst);
            panic!("{report}");
        }
    }
}

impl MountTarget for FakeRuntime {
    fn toolkit(&self) -> &Arc<Toolkit> {
        &self.toolkit
    }
}
