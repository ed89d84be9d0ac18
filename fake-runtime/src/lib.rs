//! A fake Kubernetes CRI runtime that behaves like containerd's CRI plugin.
//!
//! `cri-fake` is a real gRPC server (unix socket, TCP or in-memory) serving
//! `runtime.v1.RuntimeService` and `runtime.v1.ImageService`. It *simulates* sandboxes,
//! containers, images, processes and exec, and answers with containerd's status codes,
//! message texts and limits, so software that talks to a container runtime can be tested
//! with `cargo test` and no containerd.
//!
//! # Embedding
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_proto::v1::{
//!     ContainerConfig, ContainerMetadata, CreateContainerRequest, ExecSyncRequest, ImageSpec,
//!     LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption,
//!     PodSandboxConfig, PodSandboxMetadata, RunPodSandboxRequest, StartContainerRequest,
//! };
//!
//! let fake = cri_fake::FakeRuntime::start().await.unwrap();
//! let mut cri = fake.runtime_client();
//! let pod = PodSandboxConfig {
//!     metadata: Some(PodSandboxMetadata { name: "web".into(), uid: "u1".into(), namespace: "default".into(), attempt: 0 }),
//!     linux: Some(LinuxPodSandboxConfig {
//!         security_context: Some(LinuxSandboxSecurityContext {
//!             namespace_options: Some(NamespaceOption { network: NamespaceMode::Node as i32, ..Default::default() }),
//!             ..Default::default()
//!         }),
//!         ..Default::default()
//!     }),
//!     ..Default::default()
//! };
//! let pod_id = cri
//!     .run_pod_sandbox(RunPodSandboxRequest { config: Some(pod.clone()), runtime_handler: String::new() })
//!     .await.unwrap().into_inner().pod_sandbox_id;
//! let container = ContainerConfig {
//!     metadata: Some(ContainerMetadata { name: "app".into(), attempt: 0 }),
//!     image: Some(ImageSpec { image: "busybox:1.36".into(), ..Default::default() }),
//!     command: vec!["sleep".into(), "1000".into()],
//!     ..Default::default()
//! };
//! let id = cri
//!     .create_container(CreateContainerRequest { pod_sandbox_id: pod_id, config: Some(container), sandbox_config: Some(pod) })
//!     .await.unwrap().into_inner().container_id;
//! cri.start_container(StartContainerRequest { container_id: id.clone() }).await.unwrap();
//! let out = cri
//!     .exec_sync(ExecSyncRequest { container_id: id, cmd: vec!["sh".into(), "-c".into(), "echo hi; exit 3".into()], timeout: 5 })
//!     .await.unwrap().into_inner();
//! assert_eq!((out.stdout.as_slice(), out.exit_code), (&b"hi\n"[..], 3));
//! fake.shutdown().await;
//! # }
//! ```
//!
//! # Layout
//!
//! - [`builder`]: [`FakeRuntime`] and [`FakeRuntimeBuilder`]: start, endpoint, channel, shutdown.
//! - [`transport`]: unix socket in a private temp dir, unix socket at a path, TCP, in-memory;
//!   `h2_authority` (private) lets every connection send any `:authority`, as containerd does.
//! - [`service`]: thin tonic adapters, one per service, all calls through one dispatcher.
//! - [`method`]: every RPC as an enum.
//! - [`error`]: the domain error and its single conversion to `tonic::Status`.
//! - [`runtime`]: the core shared by the services, and its [`Settings`].
//! - [`profile`]: the imitated containerd release ([`Profile`]): every text, code and
//!   RPC where containerd 1.6 and 2.3 differ, in one table.
//! - [`state`]: the Store: sandboxes, containers, images, id prefix index, name reservations.
//! - [`sandbox`], [`container`]: lifecycle rules of each RPC.
//! - [`process`]: simulated processes: shell interpreter, applets, virtual filesystem, signals.
//! - [`exec`]: the ExecSync engine: capped output, timeout, IO drain, send-size guard.
//! - [`logs`]: CRI-format container log files.
//! - [`images`], [`image_service`]: reference normalisation, catalog, pulls; the image RPCs.
//! - [`info`]: Version, Status, RuntimeConfig.
//! - [`streaming`]: Exec/Attach/PortForward URLs and the streaming HTTP port: `mod.rs`
//!   (tokens, refusals), `spdy.rs` (SPDY/3.1 codec), `session.rs` (the exec behind a URL),
//!   `transport.rs` (SPDY and WebSocket exec servers).
//! - [`stats`], [`events`]: generated stats and metrics; container events.
//! - [`network`]: pod IP allocation. [`proto_json`]: messages as containerd's JSON.
//! - Test-author toolkit: [`script`] (scripted execs and containers, expectations,
//!   waiters), [`faults`] (fault and delay rules), [`journal`] (the call journal),
//!   [`restart`] (serving, simulated restarts), [`config`] (the binary's TOML file);
//!   [`guide`]: testing a pod controller against the fake, step by step.
#![warn(missing_docs)]

pub mod builder;
pub mod config;
pub mod container;
pub mod container_io;
pub mod error;
pub mod events;
pub mod exec;
pub mod faults;
pub mod guide;
mod h2_authority;
pub mod image_service;
pub mod images;
pub mod info;
pub mod journal;
pub mod logs;
pub mod method;
pub mod network;
pub mod process;
pub mod profile;
pub mod proto_json;
pub mod restart;
pub mod runtime;
pub mod sandbox;
pub mod script;
pub mod service;
pub mod state;
pub mod stats;
pub mod streaming;
pub mod transport;

pub use builder::{FakeRuntime, FakeRuntimeBuilder, StartError};
pub use error::{CriError, ErrorCode};
pub use faults::{Fault, FaultGuard, Gate};
pub use images::{Image, PullPolicy};
pub use journal::{Call, Journal, Outcome};
pub use method::Method;
pub use restart::RestartMode;
pub use runtime::{Profile, Runtime, Settings};
pub use script::{ContainerScript, ExecScript, Reply, Times};
pub use transport::Listen;
