//! GetContainerEvents: the container event bus.
//!
//! Every lifecycle change publishes a `ContainerEventResponse` the way newer containerd
//! fills it: `container_id`, `container_event_type`, `created_at` (now), the
//! sandbox's status and the statuses of all its containers. Sandboxes have events too,
//! with `container_id` = the sandbox id: created and started at RunPodSandbox, stopped
//! at StopPodSandbox, deleted at RemovePodSandbox (with no sandbox status, as the
//! sandbox is gone). Containers: created, started, stopped (when the main process
//! exits, however), deleted.
//!
//! Events go to every subscriber through a broadcast channel: a subscriber that falls
//! more than [`EVENT_BUFFER`] events behind loses the oldest ones; the runtime never
//! waits for a subscriber. As in containerd 2.3, events published while nobody
//! subscribes are kept ([`BACKLOG_KEEP`], at most [`BACKLOG_LIMIT`]) and the next
//! subscriber receives that backlog first.
//!
//! With [`Profile::Containerd16`](crate::Profile::Containerd16) the stream fails at once
//! with UNIMPLEMENTED `method GetContainerEvents not implemented`, as containerd 1.6
//! does (reference §9).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_proto::v1::{ContainerEventType, GetEventsRequest, RunPodSandboxRequest};
//! use tokio_stream::StreamExt;
//! # use cri_proto::v1::*;
//!
//! let fake = cri_fake::FakeRuntime::start().await.unwrap();
//! let mut client = fake.runtime_client();
//! let mut events = client.get_container_events(GetEventsRequest {}).await.unwrap().into_inner();
//! # let config = PodSandboxConfig {
//! #     metadata: Some(PodSandboxMetadata { name: "web".into(), uid: "u".into(), namespace: "ns".into(), attempt: 0 }),
//! #     linux: Some(LinuxPodSandboxConfig { security_context: Some(LinuxSandboxSecurityContext {
//! #         namespace_options: Some(NamespaceOption { network: NamespaceMode::Node as i32, ..Default::default() }),
//! #         ..Default::default() }), ..Default::default() }),
//! #     ..Default::default()
//! # };
//! let pod = client
//!     .run_pod_sandbox(RunPodSandboxRequest { config: Some(config), runtime_handler: String::new() })
//!     .await.unwrap().into_inner().pod_sandbox_id;
//! let created = events.next().await.unwrap().unwrap();
//! assert_eq!(created.container_id, pod);
//! assert_eq!(created.container_event_type(), ContainerEventType::ContainerCreatedEvent);
//! assert_eq!(created.pod_sandbox_status.unwrap().id, pod);
//! let started = events.next().await.unwrap().unwrap();
//! assert_eq!(started.container_event_type(), ContainerEventType::ContainerStartedEvent);
//! fake.shutdown().await;
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cri_proto::v1::{ContainerEventResponse, ContainerEventType};
use prost::Message;
use tokio::sync::broadcast;

use crate::core::error::{CriError, ErrorCode};
use crate::core::runtime::{Runtime, now_ns};
use crate::core::sandbox::sandbox_status;

/// The container events of one subscriber: the backlog, then live events until the
/// runtime shuts down (the gRPC layer wraps each in `Ok`).
pub type EventStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = ContainerEventResponse> + Send + 'static>>;

/// How many events a slow subscriber may fall behind before it loses the oldest.
pub const EVENT_BUFFER: usize = 1024;

/// How long an event published while nobody subscribes is kept for the next
/// subscriber (containerd 2.3's event queue: 5 minutes).
pub const BACKLOG_KEEP: Duration = Duration::from_secs(5 * 60);

/// At most this many events wait for a subscriber; beyond that the oldest go (containerd
/// bounds the backlog by time only; the fake also bounds its memory).
pub const BACKLOG_LIMIT: usize = 4096;

/// The broadcast channel behind GetContainerEvents, and the backlog of events published
/// while nobody listened.
#[derive(Debug)]
pub struct EventBus {
    sender: broadcast::Sender<ContainerEventResponse>,
    /// Whether events published without subscribers are kept (containerd 2.3).
    keeps_backlog: bool,
    /// Each event encoded: an event carries the statuses of its pod and of all its
    /// containers, several KB in memory and a fraction of that encoded.
    backlog: Mutex<VecDeque<(Instant, Box<[u8]>)>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(false)
    }
}

impl EventBus {
    /// A bus that keeps a backlog for later subscribers when `keeps_backlog`.
    pub fn new(keeps_backlog: bool) -> Self {
        Self {
            sender: broadcast::channel(EVENT_BUFFER).0,
            keeps_backlog,
            backlog: Mutex::default(),
        }
    }

    /// A new subscription: every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ContainerEventResponse> {
        self.sender.subscribe()
    }

    /// A new subscription and the backlog it receives first (taken: the next
    /// subscriber does not get it again), in publication order.
    fn subscribe_with_backlog(
        &self,
    ) -> (
        Vec<ContainerEventResponse>,
        broadcast::Receiver<ContainerEventResponse>,
    ) {
        let mut backlog = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
        let receiver = self.sender.subscribe();
        let now = Instant::now();
        let kept = backlog
            .drain(..)
            .filter(|(at, _)| now.duration_since(*at) < BACKLOG_KEEP)
            .filter_map(|(_, event)| ContainerEventResponse::decode(&event[..]).ok())
            .collect();
        (kept, receiver)
    }

    /// Whether published events go anywhere (they are only built then).
    fn wants_events(&self) -> bool {
        self.keeps_backlog || self.sender.receiver_count() > 0
    }

    /// Sends to the subscribers, or keeps the event for the next one.
    fn send(&self, event: ContainerEventResponse) {
        let mut backlog = self.backlog.lock().unwrap_or_else(|p| p.into_inner());
        if self.sender.receiver_count() > 0 {
            // An error only means that the last subscriber just left.
            let _ = self.sender.send(event);
            return;
        }
        if !self.keeps_backlog {
            return;
        }
        let now = Instant::now();
        while backlog
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= BACKLOG_KEEP)
            || backlog.len() >= BACKLOG_LIMIT
        {
            backlog.pop_front();
        }
        backlog.push_back((now, event.encode_to_vec().into_boxed_slice()));
    }
}

impl Runtime {
    /// The container event stream (GetContainerEvents).
    pub fn container_events(&self) -> Result<EventStream, CriError> {
        if !self.dialect().newer_rpcs {
            return Err(CriError::new(
                ErrorCode::Unimplemented,
                "method GetContainerEvents not implemented",
            ));
        }
        let (backlog, receiver) = self.events.subscribe_with_backlog();
        let shutdown = self.shutdown.clone();
        let backlog = futures::stream::iter(backlog);
        let live = futures::stream::unfold(
            (receiver, shutdown),
            |(mut receiver, shutdown)| async move {
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return None,
                        event = receiver.recv() => match event {
                            Ok(event) => return Some((event, (receiver, shutdown))),
                            Err(broadcast::error::RecvError::Lagged(missed)) => {
                                tracing::warn!(missed, "a container event subscriber fell behind and lost events");
                            }
                            Err(broadcast::error::RecvError::Closed) => return None,
                        },
                    }
                }
            },
        );
        Ok(Box::pin(futures::StreamExt::chain(backlog, live)))
    }

    /// Subscribes to container events directly (no gRPC), from now on.
    pub fn subscribe_events(&self) -> broadcast::Receiver<ContainerEventResponse> {
        self.events.subscribe()
    }

    /// Publishes an event for container (or sandbox) `id`, whose sandbox is found in the
    /// store, and wakes the state waiters.
    pub(crate) fn emit_event(&self, id: &str, kind: ContainerEventType) {
        self.hooks.state_changed();
        if !self.events.wants_events() {
            return;
        }
        let sandbox_id = self.store.read(|s| {
            s.containers
                .get(id)
                .map(|c| c.sandbox_id.clone())
                .or_else(|| s.sandboxes.contains_key(id).then(|| id.to_owned()))
        });
        let Some(sandbox_id) = sandbox_id else {
            return;
        };
        self.publish(id, &sandbox_id, kind);
    }

    /// Publishes the deletion of container (or sandbox) `id` of sandbox `sandbox_id`
    /// (already gone from the store), and wakes the state waiters.
    pub(crate) fn emit_deleted_event(&self, id: &str, sandbox_id: &str) {
        self.hooks.state_changed();
        if self.events.wants_events() {
            self.publish(id, sandbox_id, ContainerEventType::ContainerDeletedEvent);
        }
    }

    fn publish(&self, id: &str, sandbox_id: &str, kind: ContainerEventType) {
        // One look at the store: the sandbox's status and its containers', in id order.
        let (pod_sandbox_status, containers_statuses) = self.store.read(|s| {
            let pod = s.sandboxes.get(sandbox_id).map(|r| sandbox_status(r));
            let containers = s
                .container_records_of(sandbox_id)
                .map(|r| self.container_status_of(s, r))
                .collect();
            (pod, containers)
        });
        let event = ContainerEventResponse {
            container_id: id.to_owned(),
            container_event_type: kind as i32,
            created_at: now_ns(),
            pod_sandbox_status,
            containers_statuses,
        };
        self.events.send(event);
    }
}
