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
//! use cri_fake::fixtures::{container, pod};
//! use cri_fake::cri_proto::v1::ExecSyncRequest;
//!
//! let fake = cri_fake::FakeRuntime::start().await.unwrap();
//! let (_pod_id, ids) = fake
//!     .run_pod_with(pod("web"), [container("app").command(["sleep", "1000"])])
//!     .await
//!     .unwrap();
//! let cmd = ["sh", "-c", "echo hi; exit 3"].map(String::from).to_vec();
//! let out = fake
//!     .runtime_client()
//!     .exec_sync(ExecSyncRequest { container_id: ids[0].clone(), cmd, timeout: 5 })
//!     .await
//!     .unwrap()
//!     .into_inner();
//! assert_eq!((out.stdout.as_slice(), out.exit_code), (&b"hi\n"[..], 3));
//! fake.shutdown().await;
//! # }
//! ```
//!
//! # Layout
//!
//! - [`builder`]: [`FakeRuntime`] and [`FakeRuntimeBuilder`]: start, endpoint, channel, shutdown.
//! - [`fixtures`]: builders of pod and container configs for tests; [`views`]: read-only
//!   copies of sandboxes and containers for assertions (`fake.sandboxes()`, ...).
//! - [`transport`]: unix socket in a private temp dir, unix socket at a path, TCP, in-memory;
//!   `h2_authority` (private) lets every connection send any `:authority`, as containerd does.
//! - [`service`]: thin tonic adapters, one per service, all calls through one dispatcher.
//! - [`method`]: every RPC as an enum.
//! - [`error`]: the domain error and its single conversion to `tonic::Status`.
//! - [`runtime`]: the core shared by the services, and its [`Settings`].
//! - [`profile`]: the imitated containerd release ([`Profile`]): every text, code and
//!   RPC where containerd 1.6 and 2.3 differ, in one table.
//! - [`state`]: the Store: sandboxes, containers, images, id prefix index, name reservations.
//! - [`security`]: a container's security context as the OCI spec has it (capabilities,
//!   masked and read-only paths, the seccomp profile loaded at create).
//! - [`sandbox`], [`container`]: lifecycle rules of each RPC; [`container_io`]: a main
//!   process's stdin and output fan-out (CRI log and attached clients).
//! - [`process`]: simulated processes: shell interpreter, applets, virtual filesystem,
//!   signals, network namespaces (`process::net`: listeners for `nc`, `httpd`, port-forward).
//! - [`exec`]: the ExecSync engine: capped output, timeout, IO drain, send-size guard.
//! - [`logs`]: CRI-format container log files.
//! - [`images`], [`image_service`]: reference normalisation, catalog, pulls; the image RPCs.
//! - [`info`]: Version, Status, RuntimeConfig.
//! - [`streaming`]: Exec/Attach/PortForward URLs and the streaming HTTP port: `mod.rs`
//!   (tokens, refusals), `spdy.rs` (SPDY/3.1 codec), `session.rs` (the exec or attach
//!   behind a URL), `transport.rs` (SPDY and WebSocket remote-command servers),
//!   `port_forward.rs`, `client.rs` (a SPDY client for tests).
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
pub mod fixtures;
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
pub mod security;
pub mod service;
pub mod state;
pub mod stats;
pub mod streaming;
pub mod transport;
pub mod views;

/// The generated CRI v1 API the fake serves (messages in `cri_proto::v1`, clients and
/// servers at the root), re-exported so a test needs only `cri-fake` to build a request:
/// `cri_fake::cri_proto::v1::ExecSyncRequest`.
pub use cri_proto;
/// The tonic channel [`FakeRuntime::channel`] returns and the generated clients take,
/// re-exported so a test needs no direct `tonic` dependency to name it.
pub use tonic::transport::Channel;

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
