//! Read-only views of what the fake holds, for assertions: small owned copies that do
//! not expose the store's internals, so a test keeps compiling when they change.
//!
//! [`FakeRuntime::sandboxes`](crate::FakeRuntime::sandboxes),
//! [`FakeRuntime::sandbox`](crate::FakeRuntime::sandbox),
//! [`FakeRuntime::containers`](crate::FakeRuntime::containers) and
//! [`FakeRuntime::container`](crate::FakeRuntime::container) return them.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::cri_proto::v1::{ContainerState, PodSandboxState};
//! use cri_fake::fixtures::{container, pod};
//!
//! let fake = cri_fake::FakeRuntime::start().await.unwrap();
//! let (pod_id, ids) = fake
//!     .run_pod_with(pod("web"), [container("app").command(["sleep", "1000"])])
//!     .await
//!     .unwrap();
//! let sandbox = fake.sandbox(&pod_id).unwrap();
//! assert_eq!((sandbox.name.as_str(), sandbox.state), ("web", PodSandboxState::SandboxReady));
//! assert_eq!(sandbox.container_ids, ids);
//! let app = fake.container(&ids[0]).unwrap();
//! assert_eq!((app.name.as_str(), app.state), ("app", ContainerState::ContainerRunning));
//! assert_eq!(app.command, ["sleep", "1000"]);
//! assert_eq!(fake.containers().len(), 1);
//! fake.shutdown().await;
//! # }
//! ```

use std::collections::HashMap;

use cri_proto::v1::{ContainerState, PodSandboxState};

use crate::core::state::{ContainerRecord, Inner, SandboxRecord};

/// A pod sandbox as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxView {
    /// Full id.
    pub id: String,
    /// Metadata name.
    pub name: String,
    /// Metadata namespace.
    pub namespace: String,
    /// Metadata uid.
    pub uid: String,
    /// Metadata attempt.
    pub attempt: u32,
    /// Ready or not ready, as PodSandboxStatus reports it.
    pub state: PodSandboxState,
    /// The pod IP; `None` on the host network or once stopped.
    pub ip: Option<String>,
    /// Whether it uses the node's network namespace.
    pub host_network: bool,
    /// The runtime handler it was run with.
    pub runtime_handler: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
    /// Its annotations.
    pub annotations: HashMap<String, String>,
    /// Creation time, ns since the epoch.
    pub created_at: i64,
    /// Its containers' ids, sorted.
    pub container_ids: Vec<String>,
}

/// A container as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    /// Full id.
    pub id: String,
    /// Its sandbox's id.
    pub sandbox_id: String,
    /// Metadata name.
    pub name: String,
    /// Metadata attempt.
    pub attempt: u32,
    /// The image as the client asked for it.
    pub image: String,
    /// The resolved image id (`sha256:...`).
    pub image_id: String,
    /// Its state as ContainerStatus reports it (a start in progress is still created).
    pub state: ContainerState,
    /// The main process's arguments as the OCI spec has them (entrypoint and command
    /// resolved against the image).
    pub command: Vec<String>,
    /// The main process's environment.
    pub env: Vec<String>,
    /// Exit code, once exited.
    pub exit_code: i32,
    /// Why it exited (`Completed`, `Error`, `OOMKilled`), once exited.
    pub reason: String,
    /// Creation, start and finish times, ns since the epoch (0 when not yet).
    pub created_at: i64,
    /// See [`created_at`](Self::created_at).
    pub started_at: i64,
    /// See [`created_at`](Self::created_at).
    pub finished_at: i64,
    /// The CRI log file's path (empty without a log path).
    pub log_path: String,
    /// The main process's simulated host pid while it has run (0 before).
    pub pid: u32,
    /// Its labels.
    pub labels: HashMap<String, String>,
    /// Its annotations.
    pub annotations: HashMap<String, String>,
}

pub(crate) fn sandbox_view(inner: &Inner, record: &SandboxRecord) -> SandboxView {
    let metadata = record.config.metadata.clone().unwrap_or_default();
    let host_network = record.config.uses_host_network();
    SandboxView {
        id: record.id.clone(),
        name: metadata.name,
        namespace: metadata.namespace,
        uid: metadata.uid,
        attempt: metadata.attempt,
        state: record.phase.to_cri(),
        ip: record.ip.clone(),
        host_network,
        runtime_handler: record.runtime_handler.clone(),
        labels: record.config.labels.clone(),
        annotations: record.config.annotations.clone(),
        created_at: record.created_at,
        container_ids: inner
            .sandbox_containers
            .get(&record.id)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default(),
    }
}

pub(crate) fn container_view(record: &ContainerRecord) -> ContainerView {
    let metadata = record.config.metadata.clone().unwrap_or_default();
    ContainerView {
        id: record.id.clone(),
        sandbox_id: record.sandbox_id.clone(),
        name: metadata.name,
        attempt: metadata.attempt,
        image: record.image_requested.clone(),
        image_id: record.image_id.clone(),
        state: record.phase.to_cri(),
        command: record.spec_process.args.clone(),
        env: record.spec_process.env.clone(),
        exit_code: record.exit_code,
        reason: record.reason.clone(),
        created_at: record.created_at,
        started_at: record.started_at,
        finished_at: record.finished_at,
        log_path: record.log_path.clone(),
        pid: record.process.as_ref().map_or(0, |p| p.host_pid),
        labels: record.config.labels.clone(),
        annotations: record.config.annotations.clone(),
    }
}

/// Every sandbox, oldest first (ties by id).
pub(crate) fn sandboxes(inner: &Inner) -> Vec<SandboxView> {
    let mut records: Vec<&SandboxRecord> = inner.sandboxes.values().map(|b| &**b).collect();
    records.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    records
        .into_iter()
        .map(|r| sandbox_view(inner, r))
        .collect()
}

/// Every container, oldest first (ties by id).
pub(crate) fn containers(inner: &Inner) -> Vec<ContainerView> {
    let mut records: Vec<&ContainerRecord> = inner.containers.values().map(|b| &**b).collect();
    records.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    records.into_iter().map(container_view).collect()
}
