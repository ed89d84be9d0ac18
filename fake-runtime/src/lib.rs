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
//! Layers, one folder each; a module uses only its own layer and the ones below it,
//! and nothing below knows the layers above.
//!
//! 1. **Facade** (the crate root): [`builder`] holds [`FakeRuntime`] (every method of
//!    the fake is in that one file) and [`FakeRuntimeBuilder`]; [`fixtures`] (pod and
//!    container configs for tests), [`views`] (read-only copies for assertions),
//!    [`config`] (the binary's TOML file), [`guide`] (testing a pod controller, step by
//!    step). It wires the layers below together.
//! 2. **Server** (`server/`): the private `service` (thin tonic adapters, every call
//!    through one dispatcher where the journal and the fault rules hook in),
//!    [`restart`] (serving and simulated restarts), [`transport`] (unix socket, TCP,
//!    in-memory; the private `h2_authority` accepts any `:authority`, as containerd
//!    does, helped by the private `hpack_strings`), the private `service::lists` (the
//!    three big lists served as pre-encoded bytes), [`streaming`] (Exec/Attach/PortForward URLs, the SPDY/3.1 codec, SPDY and
//!    WebSocket servers, a SPDY client for tests).
//! 3. **Toolkit** (`toolkit/`): [`script`] (scripted execs and containers,
//!    expectations, waiters), [`faults`] (fault and delay rules), [`journal`] (the call
//!    journal), [`method`] (every RPC as an enum). Scripts and faults mount on anything
//!    that implements [`script::MountTarget`]; the facade does.
//! 4. **Core** (`core/`): [`runtime`] ([`Runtime`], [`Settings`]), [`profile`] (every
//!    text, code and RPC where containerd 1.6 and 2.3 differ, in one table), [`error`]
//!    (the domain error and its one conversion to `tonic::Status`), [`state`] (the
//!    store; records keep their configs compact, `state::kept_config`), the private lifecycle modules `sandbox`, `container`, `container_io`,
//!    `image_service`, `info`, `network` and `streams` (Exec/Attach/PortForward up to
//!    their URL), [`exec`] (ExecSync: capped output, timeout, IO drain), [`images`],
//!    [`logs`] (CRI log files), [`stats`], [`events`] (a domain stream), [`list_encode`]
//!    (the three big lists encoded straight from the records),
//!    [`proto_json`], [`security`]. What the layers above add, they add through the
//!    core's own interfaces: the private `hooks` (a process about to start, a state
//!    change, an ended streaming session: the toolkit implements them) and
//!    `streams::StreamUrls` (the streaming server implements it).
//! 5. **Simulation** ([`process`]): shell, applets, virtual filesystem, signals,
//!    network and PID namespaces; [`process::bridge`] makes simulated ports real
//!    sockets. With the private `go` (Go's `%q`), it uses nothing above it.
//!
//! The layers' public modules are re-exported at the crate root
//! (`cri_fake::runtime`, `cri_fake::journal`, ...): the folders organise the crate,
//! they are not part of its paths.
#![warn(missing_docs)]

pub mod builder;
pub mod config;
pub mod fixtures;
pub mod guide;
pub mod views;

pub(crate) mod core;
mod go;
pub mod process;
pub(crate) mod server;
pub(crate) mod toolkit;

// The public modules of the layers, at the crate root (the layers' folders are the
// crate's own organisation, not part of its paths).
pub use crate::core::{
    error, events, exec, images, list_encode, logs, profile, proto_json, runtime, security, state,
    stats,
};
pub use server::{restart, streaming, transport};
pub use toolkit::{faults, journal, method, script};

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
