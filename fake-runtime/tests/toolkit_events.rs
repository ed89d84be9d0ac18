//! GetContainerEvents over a real socket: real events from state changes, to every
//! subscriber, never blocking the runtime; UNIMPLEMENTED with the containerd 1.6
//! profile.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use cri_fake::{FakeRuntime, Profile};
use cri_proto::v1::*;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::codec::Streaming;

const WAIT: Duration = Duration::from_secs(10);

async fn next(events: &mut Streaming<ContainerEventResponse>) -> ContainerEventResponse {
    tokio::time::timeout(WAIT, events.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

fn kind(event: &ContainerEventResponse) -> (String, ContainerEventType) {
    (event.container_id.clone(), event.container_event_type())
}

#[tokio::test]
async fn a_lifecycle_streams_created_started_stopped_and_deleted_events_with_statuses() {
    let mut env = start().await;
    let mut events = env
        .rt
        .get_container_events(GetEventsRequest {})
        .await
        .unwrap()
        .into_inner();
    let (pod, config) = env.pod("events").await;
    let id = env.running(&pod, &config, "app", &["sleep", "1000"]).await;
    env.stop(&id, 0).await.unwrap();
    env.remove(&id).await.unwrap();
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .unwrap();
    env.rt
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .unwrap();

    use ContainerEventType::*;
    let mut seen = Vec::new();
    for _ in 0..8 {
        seen.push(next(&mut events).await);
    }
    let kinds: Vec<(String, ContainerEventType)> = seen.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            (pod.clone(), ContainerCreatedEvent),
            (pod.clone(), ContainerStartedEvent),
            (id.clone(), ContainerCreatedEvent),
            (id.clone(), ContainerStartedEvent),
            (id.clone(), ContainerStoppedEvent),
            (id.clone(), ContainerDeletedEvent),
            (pod.clone(), ContainerStoppedEvent),
            (pod.clone(), ContainerDeletedEvent),
        ]
    );
    assert!(
        seen.iter()
            .all(|e| e.created_at > 1_600_000_000_000_000_000)
    );
    assert!(seen.windows(2).all(|w| w[0].created_at <= w[1].created_at));
    // The sandbox status and the statuses of its containers, as they were then.
    let started = &seen[3];
    let sandbox = started.pod_sandbox_status.as_ref().unwrap();
    assert_eq!(
        (sandbox.id.as_str(), sandbox.state),
        (pod.as_str(), PodSandboxState::SandboxReady as i32)
    );
    let statuses: Vec<(String, i32)> = started
        .containers_statuses
        .iter()
        .map(|s| (s.id.clone(), s.state))
        .collect();
    assert_eq!(
        statuses,
        [(id.clone(), ContainerState::ContainerRunning as i32)]
    );
    let stopped = &seen[4].containers_statuses[0];
    assert_eq!(
        (stopped.state, stopped.exit_code),
        (ContainerState::ContainerExited as i32, 137)
    );
    assert!(seen[5].containers_statuses.is_empty());
    assert_eq!(
        seen[6].pod_sandbox_status.as_ref().unwrap().state,
        PodSandboxState::SandboxNotready as i32
    );
    // The sandbox is gone when its deletion is published.
    assert_eq!(seen[7].pod_sandbox_status, None);
}

#[tokio::test]
async fn every_subscriber_gets_every_event_from_when_it_subscribed() {
    let mut env = start().await;
    let mut first = env
        .rt
        .get_container_events(GetEventsRequest {})
        .await
        .unwrap()
        .into_inner();
    let early = env.run_pod(pod_config("early")).await;
    let _ = next(&mut first).await;
    let mut second = env
        .fake
        .runtime_client()
        .get_container_events(GetEventsRequest {})
        .await
        .unwrap()
        .into_inner();
    // The stream is open (and subscribed) once the call has answered.
    let late = env.run_pod(pod_config("late")).await;
    assert_eq!(
        kind(&next(&mut first).await),
        (early, ContainerEventType::ContainerStartedEvent)
    );
    assert_eq!(
        kind(&next(&mut first).await),
        (late.clone(), ContainerEventType::ContainerCreatedEvent)
    );
    assert_eq!(
        kind(&next(&mut second).await),
        (late, ContainerEventType::ContainerCreatedEvent)
    );
}

#[tokio::test]
async fn a_slow_subscriber_loses_the_oldest_events_and_never_blocks_the_runtime() {
    let fake = FakeRuntime::start().await.unwrap();
    let mut idle = fake.runtime().subscribe_events();
    let runtime = fake.runtime().clone();
    // 600 sandboxes publish 1200 events, more than the 1024 a subscriber may lag.
    for n in 0..600 {
        runtime
            .run_pod_sandbox(Some(pod_config(&format!("pod-{n}"))), String::new())
            .unwrap();
    }
    match idle.recv().await {
        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
            assert_eq!(missed, 1200 - cri_fake::events::EVENT_BUFFER as u64)
        }
        other => panic!("expected a lag, got {other:?}"),
    }
    let oldest_kept = idle.recv().await.unwrap();
    assert_eq!(
        oldest_kept.container_event_type(),
        ContainerEventType::ContainerCreatedEvent
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn the_containerd_1_6_profile_answers_unimplemented_with_no_events() {
    let mut env = start_with(FakeRuntime::builder().profile(Profile::Containerd16)).await;
    let mut stream = env
        .rt
        .get_container_events(GetEventsRequest {})
        .await
        .map(|r| r.into_inner());
    // tonic reports the error either when opening the stream or at the first read.
    let status = match &mut stream {
        Err(status) => status.clone(),
        Ok(events) => events.next().await.unwrap().unwrap_err(),
    };
    assert_eq!(
        (status.code(), status.message()),
        (
            Code::Unimplemented,
            "method GetContainerEvents not implemented"
        )
    );
}
