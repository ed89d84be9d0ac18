//! A Kubernetes CRI v1 client for node agents: pods, containers, images and exec over any
//! CRI runtime (containerd, CRI-O, or the fake runtime `cri-fake`), with typed errors and
//! retries that always end.
//!
//! - Connect with [`connect()`] / [`Client::connect`] to `unix:///path`, a plain socket path
//!   or `tcp://host:port`; tune with [`Client::builder`] (connect, call and pull timeouts,
//!   receive limit — 16 MiB by default —, [`RetryPolicy`], [`ProcessKiller`]).
//!   A [`Client`] is cheap to clone and share between tasks.
//! - Every method returns [`Result`]; an [`Error`] keeps the runtime's gRPC code and
//!   message ([`Error::code`], [`Error::is_not_found`]...), the [`Rpc`] or [`Step`] that
//!   failed and the [`Ids`] involved. Nothing is decided by matching message text.
//! - [`Client::remove_pod`] and [`Client::stop_container`] retry by the [`RetryPolicy`]
//!   (bounded tries, growing waits, a deadline per try; NOT_FOUND is success), and
//!   `stop_container` ends with a force kill of the container's shim.
//! - [`Client::run_containers`] runs a pod and its containers, and removes what it created
//!   when a step fails.
//! - The generated clients stay reachable: [`Client::runtime_client`],
//!   [`Client::image_client`].
//!
//! # Example
//!
//! Against the fake runtime (any CRI endpoint works the same way):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use cri_client::{Client, ListContainerOptions};
//! use cri_proto::v1::{
//!     ContainerConfig, ContainerMetadata, ImageSpec, LinuxPodSandboxConfig,
//!     LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption, PodSandboxConfig,
//!     PodSandboxMetadata,
//! };
//!
//! let fake = cri_fake::FakeRuntime::start().await?;
//! let client = Client::connect(fake.endpoint(), Duration::from_secs(5)).await?;
//!
//! let pod = PodSandboxConfig {
//!     metadata: Some(PodSandboxMetadata {
//!         name: "web".into(), uid: "uid-1".into(), namespace: "default".into(), attempt: 0,
//!     }),
//!     linux: Some(LinuxPodSandboxConfig {
//!         security_context: Some(LinuxSandboxSecurityContext {
//!             namespace_options: Some(NamespaceOption {
//!                 network: NamespaceMode::Node as i32,
//!                 ..Default::default()
//!             }),
//!             ..Default::default()
//!         }),
//!         ..Default::default()
//!     }),
//!     ..Default::default()
//! };
//! let app = ContainerConfig {
//!     metadata: Some(ContainerMetadata { name: "app".into(), attempt: 0 }),
//!     image: Some(ImageSpec { image: "docker.io/library/busybox:1.36".into(), ..Default::default() }),
//!     command: vec!["sleep".into(), "1000".into()],
//!     ..Default::default()
//! };
//!
//! // A pod with one running container.
//! let run = client.run_containers(&pod, &[app], "").await?;
//! let app_id = &run.container_ids[0];
//!
//! // Exec: output and exit code; a non-zero exit is an error carrying both.
//! let out = client.exec_sync(app_id, ["echo", "hello"], Duration::from_secs(5)).await?;
//! assert_eq!(out.stdout, b"hello\n");
//! let err = client
//!     .exec_sync(app_id, ["sh", "-c", "echo oops >&2; exit 3"], Duration::from_secs(5))
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.exit_code(), Some(3));
//! assert_eq!(err.exec_output().unwrap().stderr, b"oops\n");
//!
//! // Listing with a client-side filter.
//! let options = ListContainerOptions { name_regexp: Some("^app$".into()), ..Default::default() };
//! assert_eq!(client.list_containers(&options).await?.len(), 1);
//!
//! // Typed errors: the runtime's code, no message parsing.
//! let missing = client.container_status(&"f".repeat(64), false).await.unwrap_err();
//! assert!(missing.is_not_found());
//!
//! // Stop (grace period 1 s) and remove, then remove the pod.
//! client.stop_container(app_id, Duration::from_secs(1), true, false).await?;
//! client.stop_pod(&run.pod_id).await?;
//! client.remove_pod(&run.pod_id).await?;
//! fake.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`client`]: [`Client`], [`ClientBuilder`], default limits and timeouts, the RPC helper
//!   (deadlines, status to [`Error`]).
//! - [`connect`](mod@connect): [`CriEndpoint`] parsing and channel set-up (unix socket or TCP).
//! - [`error`]: [`Error`], [`Rpc`], [`Operation`], [`Step`], [`Ids`], [`ExecOutput`].
//! - [`retry`](mod@retry): [`RetryPolicy`], [`Growth`] and the [`retry`](fn@retry) driver.
//! - [`info`]: `Version` and `Status`.
//! - [`pods`]: list, run, stop, remove (retried), status of pod sandboxes.
//! - [`containers`]: create (with pull), start, stop (retries, force kill), remove, status,
//!   list, and [`Client::run_containers`].
//! - [`images`]: list, pull, status, remove.
//! - [`exec`](mod@exec): the `ExecSync` call.
//! - [`filters`]: [`ListPodOptions`], [`ListContainerOptions`], state parsing and the
//!   client-side filters as pure functions.
//! - [`killer`]: [`ProcessKiller`] and the real [`HostProcessKiller`] (`/proc` and
//!   `kill(2)`).
#![warn(missing_docs)]

pub mod client;
pub mod connect;
pub mod containers;
pub mod error;
pub mod exec;
pub mod filters;
pub mod images;
pub mod info;
pub mod killer;
pub mod pods;
pub mod retry;

use std::time::Duration;

pub use client::{
    Client, ClientBuilder, DEFAULT_CALL_TIMEOUT, DEFAULT_MAX_RECEIVE_MESSAGE_SIZE,
    DEFAULT_PULL_TIMEOUT,
};
pub use connect::CriEndpoint;
pub use containers::{RunContainersOutput, process_id};
pub use error::{Code, Error, ExecOutput, Ids, KillAction, Operation, Result, Rpc, Step};
pub use filters::{ListContainerOptions, ListPodOptions, ListedContainer};
pub use killer::{HostProcessKiller, ProcessKiller};
pub use retry::{Growth, RetryPolicy, retry};

/// Connects to `endpoint` (`unix:///path`, a socket path or `tcp://host:port`) with default
/// settings, failing with an error naming the endpoint if nothing answers within `timeout`.
pub async fn connect(endpoint: impl Into<String>, timeout: Duration) -> Result<Client> {
    Client::connect(endpoint, timeout).await
}
