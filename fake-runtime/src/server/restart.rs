//! Serving the gRPC services, and simulated runtime restarts.
//!
//! An accept task hands each connection to the current *generation* of the gRPC
//! server. A restart ([`FakeRuntime::restart`](crate::FakeRuntime::restart)) ends the generation: every connection
//! is cut at once (its reads and writes fail, so in-flight calls fail on the client
//! and their handlers are dropped), the server task ends, and — after an optional
//! downtime during which the socket is not listening, so clients get "connection
//! refused" — a new generation serves on the same endpoint, over the same runtime state ([`RestartMode::KeepState`], like
//! containerd restarting while its shims keep the containers running) or a fresh one
//! ([`RestartMode::LoseState`], like a node whose runtime state was wiped: every
//! container is killed, every sandbox and container forgotten, the images back to the
//! initial set).
//!
//! Clients reconnect by themselves: the fake's [`channel`](crate::FakeRuntime::channel) (and
//! any tonic channel to its endpoint) opens a new connection on the next call.
//! Scripts, fault rules and the call journal survive restarts.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::restart::RestartMode;
//! use cri_proto::v1::{ListPodSandboxRequest, VersionRequest};
//!
//! let mut fake = cri_fake::FakeRuntime::start().await.unwrap();
//! let mut client = fake.runtime_client();
//! client.version(VersionRequest::default()).await.unwrap();
//! fake.restart(RestartMode::LoseState).await.unwrap();
//! // The first call after a restart may fail (its connection was cut): retry it.
//! let pods = loop {
//!     match client.list_pod_sandbox(ListPodSandboxRequest::default()).await {
//!         Ok(reply) => break reply.into_inner().items,
//!         Err(status) => assert_eq!(status.code(), tonic::Code::Unavailable),
//!     }
//! };
//! assert!(pods.is_empty());
//! fake.shutdown().await;
//! # }
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use cri_proto::ImageServiceServer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::transport::Server;

use crate::core::runtime::Runtime;
use crate::server::service::{Dispatcher, ImageApi, RuntimeRoutes, WireErrorsLayer};
use crate::server::transport::{self, Conn, Incoming, Listen};
use crate::toolkit::script::Toolkit;

/// containerd's gRPC message size limits (16 MiB both ways).
pub const MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// The fake could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listener could not be bound.
    #[error("cannot listen on {listen:?}: {source}")]
    Bind {
        /// Where it tried to listen.
        listen: Listen,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The streaming server's port could not be bound.
    #[error("cannot start the streaming server: {0}")]
    StreamServer(std::io::Error),
}

/// What a restart does to the runtime's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartMode {
    /// Sandboxes, containers (still running), images and ids survive.
    KeepState,
    /// Everything is gone: containers are killed, sandboxes and containers forgotten,
    /// images back to what the fake started with.
    LoseState,
}

/// A connection the fake can cut: once its generation is cut, reads and writes fail
/// with `ConnectionReset`.
pub struct Severable {
    inner: Conn,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
    severed: bool,
}

impl std::fmt::Debug for Severable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Severable")
            .field("severed", &self.severed)
            .finish_non_exhaustive()
    }
}

impl Severable {
    fn new(inner: Conn, cut: CancellationToken) -> Self {
        Self {
            inner,
            cut: Box::pin(cut.cancelled_owned()),
            severed: false,
        }
    }

    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.severed && self.cut.as_mut().poll(cx).is_ready() {
            self.severed = true;
        }
        if self.severed {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the fake runtime restarted",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for Severable {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Severable {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = self.check(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Severable {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

/// Where the accept task sends connections now.
#[derive(Clone)]
struct Route {
    connections: mpsc::Sender<io::Result<Severable>>,
    cut: CancellationToken,
}

struct Generation {
    cut: CancellationToken,
    stop: CancellationToken,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

/// The accept task and the current server generation.
pub(crate) struct Serving {
    accept: JoinHandle<()>,
    route: Arc<Mutex<Option<Route>>>,
    generation: Option<Generation>,
    /// Where to bind again after a downtime (unix socket path or TCP address); `None`
    /// for in-memory transports, which stay bound and close connections instead.
    rebind: Option<Listen>,
    /// The journal and fault rules every generation's calls go through.
    toolkit: Arc<Toolkit>,
}

impl std::fmt::Debug for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("serving", &self.generation.is_some())
            .finish_non_exhaustive()
    }
}

impl Serving {
    /// Accepts connections from `incoming` and serves `runtime` on them; `rebind` is
    /// where the listener can be bound again after a restart's downtime.
    pub(crate) fn start(
        incoming: Incoming,
        runtime: Arc<Runtime>,
        toolkit: Arc<Toolkit>,
        rebind: Option<Listen>,
    ) -> Self {
        let route: Arc<Mutex<Option<Route>>> = Arc::default();
        let accept = spawn_accept(incoming, Arc::clone(&route));
        let mut serving = Self {
            accept,
            route,
            generation: None,
            rebind,
            toolkit,
        };
        serving.open(runtime);
        serving
    }

    /// Stops listening (clients get "connection refused") when the listener can be
    /// bound again; returns whether it did.
    pub(crate) async fn unbind(&mut self) -> bool {
        if self.rebind.is_none() {
            return false;
        }
        self.accept.abort();
        let _ = (&mut self.accept).await;
        true
    }

    /// Listens again where the listener was.
    pub(crate) async fn bind_again(&mut self) -> Result<(), StartError> {
        let Some(listen) = self.rebind.clone() else {
            return Ok(());
        };
        let bound = transport::bind(&listen)
            .await
            .map_err(|source| StartError::Bind { listen, source })?;
        self.accept = spawn_accept(bound.incoming, Arc::clone(&self.route));
        Ok(())
    }

    /// Starts a server generation over `runtime`.
    pub(crate) fn open(&mut self, runtime: Arc<Runtime>) {
        let wire_errors = WireErrorsLayer::new(runtime.dialect());
        let dispatcher = Dispatcher::new(runtime, Arc::clone(&self.toolkit));
        // The generated runtime service, with the three lists served encoded.
        let runtime_service = RuntimeRoutes::new(dispatcher.clone(), MAX_MESSAGE_SIZE);
        let image_service = ImageServiceServer::new(ImageApi::new(dispatcher))
            .max_encoding_message_size(MAX_MESSAGE_SIZE)
            .max_decoding_message_size(MAX_MESSAGE_SIZE);
        let (tx, rx) = mpsc::channel(64);
        let cut = CancellationToken::new();
        let stop = CancellationToken::new();
        let shutdown = stop.clone();
        let server = tokio::spawn(async move {
            Server::builder()
                .layer(wire_errors)
                .add_service(runtime_service)
                .add_service(image_service)
                .serve_with_incoming_shutdown(ReceiverStream::new(rx), shutdown.cancelled_owned())
                .await
        });
        *self.route.lock().unwrap_or_else(|p| p.into_inner()) = Some(Route {
            connections: tx,
            cut: cut.clone(),
        });
        self.generation = Some(Generation { cut, stop, server });
    }

    /// Ends the current generation: cuts every connection and waits for the server
    /// task. New connections are closed at once until [`open`](Self::open).
    pub(crate) async fn close(&mut self) {
        self.route.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(generation) = self.generation.take() {
            generation.cut.cancel();
            generation.stop.cancel();
            let _ = generation.server.await;
        }
    }

    /// Stops serving for good and waits for the server task.
    pub(crate) async fn shutdown(&mut self) {
        self.close().await;
        self.accept.abort();
        let _ = (&mut self.accept).await;
    }

    /// Stops serving at once, without waiting (for `Drop`).
    pub(crate) fn abort(&mut self) {
        self.route.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(generation) = self.generation.take() {
            generation.cut.cancel();
            generation.stop.cancel();
            generation.server.abort();
        }
        self.accept.abort();
    }
}

/// Hands accepted connections to the current generation; without one (a restart in
/// progress) a connection is closed at once.
fn spawn_accept(mut incoming: Incoming, route: Arc<Mutex<Option<Route>>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(accepted) = incoming.next().await {
            let Ok(conn) = accepted else { continue };
            let current = route.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(route) = current {
                let _ = route
                    .connections
                    .send(Ok(Severable::new(conn, route.cut.clone())))
                    .await;
            }
        }
    })
}

/// How a restart goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    /// Keep or lose the state.
    pub mode: RestartMode,
    /// How long the fake is down before it serves again: unix socket and TCP clients
    /// get "connection refused" (UNAVAILABLE) meanwhile; in-memory connections are
    /// closed at once.
    pub downtime: Duration,
}

impl From<RestartMode> for Restart {
    fn from(mode: RestartMode) -> Self {
        Self {
            mode,
            downtime: Duration::ZERO,
        }
    }
}
