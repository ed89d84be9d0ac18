//! The Store: every sandbox, container and image the fake knows, behind one lock.
//!
//! One `std::sync::Mutex` guards everything, so an operation that checks and changes
//! several things (reserve a name, insert an object, index its id) is atomic: concurrent
//! clients can never lose, duplicate or half-create an object. The lock is only taken
//! through [`Store::read`] and [`Store::write`], whose closures are synchronous, so it can
//! never be held across an `.await`.

pub mod ids;
pub mod kept_config;
pub mod names;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use cri_proto::v1::LinuxContainerResources;

use crate::core::container::ContainerProcess;
use crate::core::images::ImageStore;
pub use ids::{IdIndex, new_id};
pub use kept_config::{KeptConfig, KeptSandboxConfig};
pub use names::NameRegistry;

/// A sandbox's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxPhase {
    /// Running (its pause process lives).
    Ready,
    /// Stopped.
    NotReady,
}

impl SandboxPhase {
    /// The CRI state this phase is reported as.
    pub fn to_cri(self) -> cri_proto::v1::PodSandboxState {
        match self {
            SandboxPhase::Ready => cri_proto::v1::PodSandboxState::SandboxReady,
            SandboxPhase::NotReady => cri_proto::v1::PodSandboxState::SandboxNotready,
        }
    }
}

/// Everything the fake remembers of one pod sandbox.
#[derive(Debug, Clone)]
pub struct SandboxRecord {
    /// Full id.
    pub id: String,
    /// The config it was created with (compact: see [`KeptSandboxConfig`]).
    pub config: KeptSandboxConfig,
    /// ListPodSandbox's item fields but its state, encoded once at creation.
    pub listed: bytes::Bytes,
    /// The runtime handler it was created with.
    pub runtime_handler: String,
    /// Ready or not.
    pub phase: SandboxPhase,
    /// Creation time, ns since the epoch.
    pub created_at: i64,
    /// The reserved name `<name>_<namespace>_<uid>_<attempt>`.
    pub reserved_name: String,
    /// The pod IP, for sandboxes with their own network namespace.
    pub ip: Option<String>,
    /// Simulated host pid of the sandbox's pause process; 0 once stopped.
    pub pid: u32,
    /// The network namespace its containers share: its own, or the node's for a
    /// host-network pod.
    pub network: std::sync::Arc<crate::process::net::Network>,
    /// The pod's PID namespace (its `pause` is pid 1), which containers with CRI
    /// `pid: POD` share.
    pub pid_namespace: std::sync::Arc<crate::process::pidns::PidNamespace>,
}

/// A container's state, as the CRI reports it (plus the transient start).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerPhase {
    /// Created, never started.
    Created,
    /// A StartContainer call is in progress.
    Starting,
    /// Its main process runs.
    Running,
    /// Its main process has ended (or never could start).
    Exited,
}

impl ContainerPhase {
    /// The CRI state this phase is reported as (a start in progress is still CREATED).
    /// Its `as_str_name()` is the name containerd's messages use, e.g.
    /// `CONTAINER_EXITED`.
    pub fn to_cri(self) -> cri_proto::v1::ContainerState {
        match self {
            ContainerPhase::Created | ContainerPhase::Starting => {
                cri_proto::v1::ContainerState::ContainerCreated
            }
            ContainerPhase::Running => cri_proto::v1::ContainerState::ContainerRunning,
            ContainerPhase::Exited => cri_proto::v1::ContainerState::ContainerExited,
        }
    }
}

/// The process part of a container's OCI spec (verbose ContainerStatus shows it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecProcess {
    /// The command line: the config's command, else the image's entrypoint, then the
    /// config's args, else (with no command) the image's cmd.
    pub args: Vec<String>,
    /// The image's env with the config's envs merged in.
    pub env: Vec<String>,
    /// The config's working dir, else the image's, else `/`.
    pub cwd: String,
    /// `process.user`, built once at create (CreateContainer fails when it cannot be).
    pub user: crate::process::users::SpecUser,
}

/// Everything the fake remembers of one container.
#[derive(Debug, Clone)]
pub struct ContainerRecord {
    /// Full id.
    pub id: String,
    /// Full id of its sandbox.
    pub sandbox_id: String,
    /// The config it was created with (compact: see [`KeptConfig`]).
    pub config: KeptConfig,
    /// The reserved name `<ctr>_<pod>_<ns>_<uid>_<attempt>`.
    pub reserved_name: String,
    /// The image string of the create request (ListContainers echoes it).
    pub image_requested: String,
    /// The resolved image's id (`sha256:...`).
    pub image_id: String,
    /// The stop signal recorded at create time (image StopSignal, else SIGTERM).
    pub stop_signal: String,
    /// The OCI spec's process as CreateContainer built it from the config and the image.
    pub spec_process: SpecProcess,
    /// The seccomp profile loaded at create (`linux.seccomp` of the spec), if any.
    pub seccomp: Option<Arc<crate::process::seccomp::SeccompProfile>>,
    /// State.
    pub phase: ContainerPhase,
    /// ns since the epoch.
    pub created_at: i64,
    /// ns since the epoch; 0 until started.
    pub started_at: i64,
    /// ns since the epoch; 0 until exited.
    pub finished_at: i64,
    /// Exit code once exited.
    pub exit_code: i32,
    /// `Completed`, `Error`, `OOMKilled` or `StartError` once exited.
    pub reason: String,
    /// The error text of a StartError.
    pub message: String,
    /// Current resources (UpdateContainerResources merges into them).
    pub resources: LinuxContainerResources,
    /// `log_directory/log_path`, or empty when logging is off.
    pub log_path: String,
    /// Whether a stop with a grace period already sent the stop signal.
    pub stop_signal_sent: bool,
    /// Whether a RemoveContainer is in progress.
    pub removing: bool,
    /// The running simulation, from start until the record is removed.
    pub process: Option<Arc<ContainerProcess>>,
    /// Its list fields that never change, encoded once at creation.
    pub listed: crate::core::list_encode::ListedFields,
}

/// The lock-protected contents of the [`Store`].
#[derive(Debug)]
pub struct Inner {
    /// Sandboxes by full id (boxed, as containers).
    pub sandboxes: HashMap<String, Box<SandboxRecord>>,
    /// Containers by full id (boxed: a record is large, and the table's spare slots
    /// would each hold one's size).
    pub containers: HashMap<String, Box<ContainerRecord>>,
    /// Prefix index of sandbox ids.
    pub sandbox_ids: IdIndex,
    /// Prefix index of container ids.
    pub container_ids: IdIndex,
    /// Reserved sandbox names.
    pub sandbox_names: NameRegistry,
    /// Reserved container names.
    pub container_names: NameRegistry,
    /// The images.
    pub images: ImageStore,
    /// Ids of each sandbox's containers, sorted (kept by `insert_container` and
    /// `remove_container`): a sandbox's containers without a scan of all of them.
    pub sandbox_containers: HashMap<String, BTreeSet<String>>,
}

impl Inner {
    /// The sandbox a prefix names.
    pub fn resolve_sandbox(
        &self,
        prefix: &str,
    ) -> Result<&SandboxRecord, crate::core::error::LookupError> {
        let id = self.sandbox_ids.resolve(prefix)?;
        self.sandboxes
            .get(id)
            .map(|r| &**r)
            .ok_or(crate::core::error::LookupError::NotFound)
    }

    /// The container a prefix names.
    pub fn resolve_container(
        &self,
        prefix: &str,
    ) -> Result<&ContainerRecord, crate::core::error::LookupError> {
        let id = self.container_ids.resolve(prefix)?;
        self.containers
            .get(id)
            .map(|r| &**r)
            .ok_or(crate::core::error::LookupError::NotFound)
    }

    /// Ids of a sandbox's containers.
    pub fn containers_of(&self, sandbox_id: &str) -> Vec<String> {
        self.sandbox_containers
            .get(sandbox_id)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A sandbox's containers, in id order.
    pub fn container_records_of<'a>(
        &'a self,
        sandbox_id: &str,
    ) -> impl Iterator<Item = &'a ContainerRecord> + 'a {
        self.sandbox_containers
            .get(sandbox_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.containers.get(id).map(|r| &**r))
    }

    /// Adds a sandbox whose name is already reserved.
    pub fn insert_sandbox(&mut self, record: SandboxRecord) {
        self.sandbox_ids.insert(&record.id);
        self.sandboxes.insert(record.id.clone(), Box::new(record));
    }

    /// Adds a container whose name is already reserved.
    pub fn insert_container(&mut self, record: ContainerRecord) {
        self.container_ids.insert(&record.id);
        self.sandbox_containers
            .entry(record.sandbox_id.clone())
            .or_default()
            .insert(record.id.clone());
        self.containers.insert(record.id.clone(), Box::new(record));
    }

    /// Forgets a container and releases its name.
    pub fn remove_container(&mut self, id: &str) -> Option<ContainerRecord> {
        let record = self.containers.remove(id)?;
        self.container_ids.remove(id);
        if let Some(ids) = self.sandbox_containers.get_mut(&record.sandbox_id) {
            ids.remove(id);
            if ids.is_empty() {
                self.sandbox_containers.remove(&record.sandbox_id);
            }
        }
        self.container_names.release(&record.reserved_name);
        Some(*record)
    }

    /// Forgets a sandbox and releases its name (its containers must be gone already).
    pub fn remove_sandbox(&mut self, id: &str) -> Option<SandboxRecord> {
        let record = self.sandboxes.remove(id)?;
        self.sandbox_ids.remove(id);
        self.sandbox_names.release(&record.reserved_name);
        Some(*record)
    }
}

/// The fake's whole state behind one lock.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    /// A store with these images and nothing else.
    pub fn new(images: ImageStore) -> Self {
        Self {
            inner: Mutex::new(Inner {
                sandboxes: HashMap::new(),
                containers: HashMap::new(),
                sandbox_ids: IdIndex::default(),
                container_ids: IdIndex::default(),
                sandbox_names: NameRegistry::default(),
                container_names: NameRegistry::default(),
                images,
                sandbox_containers: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock would be a bug in the fake; the data is still
        // consistent enough to keep serving, so recover the guard instead of cascading.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&Inner) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the state atomically.
    pub fn write<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.lock())
    }
}
