//! The runtime core: the store, the settings, and the background tasks, shared by the
//! gRPC services. Each lifecycle module (`sandbox`, `container`, `exec`, `image_service`,
//! `info`) adds the methods of its RPCs to [`Runtime`] in its own `impl` block.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core::images::{ImageStore, PullPolicy};
use crate::core::network::IpPool;
use crate::core::state::Store;
use crate::process::Programs;
use crate::process::net::Network;

pub use crate::core::profile::Profile;

/// What the fake runtime claims to be and how it behaves where runtimes differ.
///
/// Defaults follow the default [`Profile`] (containerd 2.3.4); [`Settings::for_profile`]
/// gives another release's defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `VersionResponse.runtime_name` (default `containerd`).
    pub runtime_name: String,
    /// `VersionResponse.runtime_version` (default: the profile's, `v2.3.4`).
    pub runtime_version: String,
    /// Runtime handlers RunPodSandbox accepts (default `""` and `runc`).
    pub runtime_handlers: Vec<String>,
    /// The sandbox (pause) image (default: the profile's, `registry.k8s.io/pause:3.10.2`).
    pub sandbox_image: String,
    /// Whether Status reports NetworkReady (default true: the fake simulates a CNI).
    pub network_ready: bool,
    /// Network (CIDR) pod IPs are taken from for sandboxes that are not on the host
    /// network (default `10.88.0.0/16`, the range of containerd's sample CNI config).
    /// With a loopback range and a [`host_port_address`](Self::host_port_address), what
    /// a pod listens on is a real socket at its IP.
    pub pod_cidr: String,
    /// How long ExecSync waits for a backgrounded holder of the exec's output after the
    /// main process exits; zero waits for ever (containerd's default and 1.6 behaviour).
    pub drain_exec_sync_io_timeout: Duration,
    /// How PullImage treats references.
    pub pull_policy: PullPolicy,
    /// How long a pull that reaches the (simulated) registry takes, successful or not
    /// (default [`DEFAULT_PULL_DELAY`]); a reference that does not parse fails at once.
    /// A client deadline shorter than this ends the call before anything is pulled.
    pub pull_delay: Duration,
    /// containerd's root directory, used in ImageFsInfo and stats mountpoints.
    pub containerd_root: String,
    /// The largest log line before it is split into partial lines (containerd's
    /// `max_container_log_line_size`, default 16384).
    pub max_container_log_line_size: usize,
    /// Which containerd release to imitate where releases differ.
    pub profile: Profile,
    /// Deprecation warnings the `ContainerdHasNoDeprecationWarnings` Status condition
    /// reports, as (id, text) pairs (default none: the condition is true). Only profiles
    /// with that condition (containerd 2.3) report it.
    pub deprecation_warnings: Vec<(String, String)>,
    /// Each container's writable-layer budget in bytes: what its processes may add to
    /// its filesystem before writes fail with `No space left on device` (default
    /// 64 MiB; 0: unlimited). See [`SimSpec::writable_layer_limit_bytes`](crate::process::SimSpec::writable_layer_limit_bytes).
    pub writable_layer_limit_bytes: u64,
    /// How many simulated processes each container may have at once before a fork
    /// fails with `Resource temporarily unavailable` (default 1024; 0: unlimited). See
    /// [`SimSpec::max_processes`](crate::process::SimSpec::max_processes).
    pub max_processes: u32,
    /// How many pipes each container's processes may hold open at once before a
    /// shell's `|` or `$(...)` fails with `can't create pipe: Too many open files`
    /// (default 1024; 0: unlimited). See
    /// [`SimSpec::max_open_pipes`](crate::process::SimSpec::max_open_pipes).
    pub max_open_pipes: u32,
    /// How much memory each container's processes may really hold (what `sort`,
    /// `tail`, `uniq` and `xargs` keep) before the process is OOM-killed, when the
    /// container's CRI memory limit is unset or higher (default 64 MiB; 0:
    /// unlimited). See
    /// [`SimSpec::memory_budget_bytes`](crate::process::SimSpec::memory_budget_bytes).
    pub memory_budget_bytes: u64,
    /// The machine address where pods' host ports are real sockets: each port mapping
    /// with a `host_port` (TCP), and each port a process of a host-network pod listens
    /// on, is bound there and forwarded into the simulation, so HTTP clients and
    /// `curl` outside the fake reach simulated servers. `None` (the library's default:
    /// parallel tests must not fight over the machine's ports) keeps every port in
    /// memory; the binary defaults to `127.0.0.1`. See [`crate::process::bridge`].
    pub host_port_address: Option<std::net::IpAddr>,
    /// How long the streaming server waits for a client's streams: an exec's or
    /// attach's after the upgrade, the second stream of a port-forward pair (kubelet's
    /// stream creation timeout, 30 s in containerd; shorten it to test a client that
    /// never opens them).
    pub stream_creation_timeout: Duration,
}

/// The default [`Settings::pull_delay`]: 20 ms, about what an offline containerd takes to
/// fail a pull (6–24 ms), long enough that a 1 ms client deadline expires first, short
/// enough for test suites that pull a lot.
pub const DEFAULT_PULL_DELAY: Duration = Duration::from_millis(20);

impl Default for Settings {
    fn default() -> Self {
        Self::for_profile(Profile::default())
    }
}

impl Settings {
    /// The defaults of `profile`'s containerd release.
    pub fn for_profile(profile: Profile) -> Self {
        Self {
            runtime_name: "containerd".into(),
            runtime_version: profile.runtime_version().into(),
            runtime_handlers: vec![String::new(), "runc".into()],
            sandbox_image: profile.sandbox_image().into(),
            network_ready: true,
            pod_cidr: "10.88.0.0/16".into(),
            drain_exec_sync_io_timeout: Duration::ZERO,
            pull_policy: PullPolicy::SimulateAny,
            pull_delay: DEFAULT_PULL_DELAY,
            containerd_root: "/var/lib/containerd".into(),
            max_container_log_line_size: 16384,
            profile,
            deprecation_warnings: Vec::new(),
            writable_layer_limit_bytes: crate::process::DEFAULT_WRITABLE_LAYER_LIMIT_BYTES,
            max_processes: crate::process::DEFAULT_MAX_PROCESSES,
            max_open_pipes: crate::process::DEFAULT_MAX_OPEN_PIPES,
            memory_budget_bytes: crate::process::DEFAULT_MEMORY_BUDGET_BYTES,
            host_port_address: None,
            stream_creation_timeout: crate::core::streams::STREAM_CREATION_TIMEOUT,
        }
    }
}

/// The shared core behind both gRPC services.
#[derive(Debug)]
pub struct Runtime {
    pub(crate) settings: Settings,
    pub(crate) store: Store,
    pub(crate) programs: Arc<Programs>,
    pub(crate) ip_pool: IpPool,
    pub(crate) tasks: TaskTracker,
    pub(crate) shutdown: CancellationToken,
    /// The streaming server's URLs, once it runs (set by the facade).
    pub(crate) stream_urls: std::sync::OnceLock<Box<dyn crate::core::streams::StreamUrls>>,
    /// The node's PID namespace: host pids (of pause processes, of containers' main
    /// processes as verbose status reports them), and the namespace host-PID
    /// containers share.
    pub(crate) host_pids: Arc<crate::process::pidns::PidNamespace>,
    /// The node's network namespace, shared by host-network pods.
    pub(crate) host_network: Arc<Network>,
    /// What the layers above plug in (the toolkit's scripts, waiters and journal);
    /// [`NoHooks`](crate::core::hooks::NoHooks) until the facade sets them.
    pub(crate) hooks: Arc<dyn crate::core::hooks::Hooks>,
    /// Stats and metrics figures a test set, by container (kept across restarts).
    pub(crate) stats_overrides: Arc<crate::core::stats::StatsOverrides>,
    /// The container event bus.
    pub(crate) events: crate::core::events::EventBus,
    /// Each image's seeded root filesystem, by image id: containers start from a copy.
    pub(crate) rootfs_templates:
        std::sync::Mutex<std::collections::HashMap<String, crate::process::vfs::Template>>,
    /// The real host sockets of each ready sandbox's port mappings, by sandbox id.
    pub(crate) host_ports:
        std::sync::Mutex<std::collections::HashMap<String, Vec<crate::process::bridge::Bridge>>>,
}

impl Runtime {
    /// A runtime with these settings, images and programs.
    pub fn new(settings: Settings, images: ImageStore, programs: Programs) -> Self {
        let ip_pool = IpPool::new(&settings.pod_cidr);
        let host_network = match settings.host_port_address {
            Some(ip) => Network::mirrored_on(ip),
            None => Network::node(),
        };
        let events = crate::core::events::EventBus::new(settings.profile.dialect().newer_rpcs);
        Self {
            settings,
            store: Store::new(images),
            programs: Arc::new(programs),
            ip_pool,
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            stream_urls: std::sync::OnceLock::new(),
            host_pids: crate::process::pidns::PidNamespace::node(4000),
            host_network,
            hooks: Arc::new(crate::core::hooks::NoHooks),
            stats_overrides: Arc::default(),
            rootfs_templates: std::sync::Mutex::default(),
            host_ports: std::sync::Mutex::default(),
            events,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The imitated release's answers where releases differ.
    pub(crate) fn dialect(&self) -> &'static crate::core::profile::Dialect {
        self.settings.profile.dialect()
    }

    /// The store (read it for assertions; change it only through RPCs).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A new simulated host pid (what verbose status `info` reports as `pid`).
    pub(crate) fn allocate_host_pid(&self) -> u32 {
        self.host_pids.allocate()
    }
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
