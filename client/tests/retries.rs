//! Retries, force stop and rollback, proven with faults injected by a proxy in front of the
//! fake runtime. The client under test talks real gRPC to the proxy; the retry policy is
//! short (milliseconds), so nothing waits for real.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use cri_client::{
    Client, Code, Error, Growth, KillAction, ListContainerOptions, ListPodOptions, Operation,
    RetryPolicy, Rpc, Step,
};
use cri_fake::{FakeRuntime, PullPolicy};
use cri_proto::v1::{ContainerState, StopContainerRequest};
use support::*;

fn fail(code: Code, message: &str, times: u32) -> Fault {
    Fault::Fail {
        code,
        message: message.into(),
        times,
    }
}

fn always(code: Code, message: &str) -> Fault {
    Fault::Always {
        code,
        message: message.into(),
    }
}

fn stop_timeouts(proxy: &FaultProxy) -> Vec<i64> {
    proxy
        .faults()
        .requests::<StopContainerRequest>("StopContainer")
        .into_iter()
        .map(|r| r.timeout)
        .collect()
}

async fn client_with_killer(proxy: &FaultProxy, killer: Arc<RecordingKiller>) -> Client {
    Client::builder(proxy.endpoint())
        .retry_policy(quick_policy())
        .process_killer(killer)
        .connect()
        .await
        .unwrap()
}

async fn pod_count(fake: &FakeRuntime) -> usize {
    let client = Client::from_channel(fake.channel());
    client
        .list_pods(&ListPodOptions::default())
        .await
        .unwrap()
        .len()
}

async fn container_count(fake: &FakeRuntime) -> usize {
    let client = Client::from_channel(fake.channel());
    client
        .list_containers(&ListContainerOptions::default())
        .await
        .unwrap()
        .len()
}

/// The process id the fake reports for a container.
async fn pid_of(fake: &FakeRuntime, id: &str) -> u32 {
    let client = Client::from_channel(fake.channel());
    let response = client.container_status(id, true).await.unwrap();
    cri_client::process_id(id, &response).unwrap()
}

// ---- remove_pod ----

#[tokio::test]
async fn remove_pod_retries_failures_then_succeeds() {
    let (fake, proxy, client) = proxied().await;
    let pod = client
        .run_pod(&pod_config("web", "default"), "")
        .await
        .unwrap();
    proxy
        .faults()
        .set("RemovePodSandbox", fail(Code::Unknown, "busy", 2));
    client.remove_pod(&pod).await.unwrap();
    assert_eq!(proxy.faults().calls("RemovePodSandbox"), 3);
    assert_eq!(pod_count(&fake).await, 0);
}

#[tokio::test]
async fn remove_pod_counts_not_found_as_success_at_once() {
    let (_fake, proxy, client) = proxied().await;
    proxy.faults().set(
        "RemovePodSandbox",
        always(
            Code::NotFound,
            "an error occurred when try to find sandbox: not found",
        ),
    );
    client.remove_pod("abc").await.unwrap();
    assert_eq!(proxy.faults().calls("RemovePodSandbox"), 1);
}

#[tokio::test]
async fn remove_pod_gives_up_after_every_try_and_reports_each_attempt() {
    let (_fake, proxy, client) = proxied().await;
    proxy.faults().set(
        "RemovePodSandbox",
        always(Code::Unavailable, "runtime is restarting"),
    );
    let err = client.remove_pod("abc").await.unwrap_err();
    assert_eq!(proxy.faults().calls("RemovePodSandbox"), 3);
    match &err {
        Error::Attempts {
            operation,
            ids,
            attempts,
        } => {
            assert_eq!(*operation, Operation::RemovePod);
            assert_eq!(ids.pod_id.as_deref(), Some("abc"));
            assert_eq!(attempts.len(), 3);
            for attempt in attempts {
                assert_eq!(attempt.code(), Some(Code::Unavailable));
                assert_eq!(attempt.message(), Some("runtime is restarting"));
                assert_eq!(attempt.rpc(), Some(Rpc::RemovePodSandbox));
            }
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_unavailable());
}

#[tokio::test]
async fn remove_pod_ends_hanging_tries_at_the_per_try_deadline() {
    let (_fake, proxy, _client) = proxied().await;
    proxy
        .faults()
        .set("RemovePodSandbox", Fault::Hang { times: 2 });
    let policy = RetryPolicy {
        per_try_timeout: Duration::from_millis(100),
        ..quick_policy()
    };
    let client = Client::builder(proxy.endpoint())
        .retry_policy(policy)
        .connect()
        .await
        .unwrap();
    // Two tries hang and time out; the third is forwarded (the pod is missing: OK).
    client.remove_pod("abc").await.unwrap();
    assert_eq!(proxy.faults().calls("RemovePodSandbox"), 3);

    proxy
        .faults()
        .set("RemovePodSandbox", Fault::Hang { times: 3 });
    let err = client.remove_pod("abc").await.unwrap_err();
    let Error::Attempts { attempts, .. } = &err else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(attempts.len(), 3);
    for attempt in attempts {
        assert!(
            matches!(attempt, Error::Timeout { rpc: Rpc::RemovePodSandbox, after, .. } if *after == Duration::from_millis(100)),
            "{attempt:?}"
        );
    }
    assert!(err.is_deadline_exceeded());
}

// ---- stop_container ----

#[tokio::test]
async fn stop_container_retries_with_timeout_zero_after_a_failed_graceful_stop() {
    let (fake, proxy, client) = proxied().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    proxy.faults().set(
        "StopContainer",
        fail(Code::DeadlineExceeded, "stop timed out", 1),
    );
    client
        .stop_container(&id, Duration::from_secs(5), false, false)
        .await
        .unwrap();
    assert_eq!(stop_timeouts(&proxy), [5, 0]);
    let status = Client::from_channel(fake.channel())
        .container_status(&id, false)
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(status.state, ContainerState::ContainerExited as i32);
    assert_eq!(status.exit_code, 137);
}

#[tokio::test]
async fn stop_container_counts_not_found_as_success() {
    let (_fake, proxy, client) = proxied().await;
    proxy.faults().set(
        "StopContainer",
        always(
            Code::NotFound,
            "an error occurred when try to find container \"abc\": not found",
        ),
    );
    client
        .stop_container("abc", Duration::from_secs(5), true, false)
        .await
        .unwrap();
    assert_eq!(proxy.faults().calls("StopContainer"), 1);
    assert_eq!(proxy.faults().calls("RemoveContainer"), 0);
}

#[tokio::test]
async fn stop_container_force_kills_the_shim_when_stops_never_take_effect() {
    let (fake, proxy, _client) = proxied().await;
    let killer = Arc::new(RecordingKiller::clearing(proxy.faults(), "StopContainer"));
    let client = client_with_killer(&proxy, killer.clone()).await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    let pid = pid_of(&fake, &id).await;
    // The runtime answers OK to every stop but the container keeps running, until the
    // shim is killed (the recording killer then lifts the fault).
    proxy.faults().set("StopContainer", Fault::NoOp);

    client
        .stop_container(&id, Duration::from_secs(5), false, false)
        .await
        .unwrap();

    assert_eq!(stop_timeouts(&proxy), [5, 0, 0, 0]);
    assert_eq!(killer.lookups(), [pid]);
    assert_eq!(killer.kills(), [pid + 10000]);
    assert_eq!(state_of(&fake, &id).await, ContainerState::ContainerExited);
}

#[tokio::test]
async fn stop_container_with_force_kills_first_without_a_graceful_stop() {
    let (fake, proxy, _client) = proxied().await;
    let killer = Arc::new(RecordingKiller::default());
    let client = client_with_killer(&proxy, killer.clone()).await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    let pid = pid_of(&fake, &id).await;

    client
        .stop_container(&id, Duration::from_secs(30), false, true)
        .await
        .unwrap();

    assert_eq!(killer.lookups(), [pid]);
    assert_eq!(killer.kills(), [pid + 10000]);
    assert_eq!(stop_timeouts(&proxy), [0]);
    assert_eq!(state_of(&fake, &id).await, ContainerState::ContainerExited);
}

#[tokio::test]
async fn stop_container_that_never_stops_fails_with_every_attempt() {
    let (fake, proxy, _client) = proxied().await;
    let killer = Arc::new(RecordingKiller::default());
    let client = client_with_killer(&proxy, killer.clone()).await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    proxy.faults().set("StopContainer", Fault::NoOp);

    let err = client
        .stop_container(&id, Duration::from_secs(5), false, false)
        .await
        .unwrap_err();

    let Error::Attempts {
        operation,
        ids,
        attempts,
    } = &err
    else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(*operation, Operation::StopContainer);
    assert_eq!(ids.container_id.as_deref(), Some(id.as_str()));
    // Three stop tries, then the stop after the force kill: each one left it running.
    assert_eq!(attempts.len(), 4);
    for attempt in attempts {
        assert!(
            matches!(attempt, Error::StillRunning { container_id } if *container_id == id),
            "{attempt:?}"
        );
    }
    assert_eq!(killer.kills().len(), 1);
    assert_eq!(state_of(&fake, &id).await, ContainerState::ContainerRunning);
}

#[tokio::test]
async fn stop_container_with_try_remove_succeeds_when_the_remove_does() {
    let (_fake, proxy, _client) = proxied().await;
    let killer = Arc::new(RecordingKiller::default());
    let client = client_with_killer(&proxy, killer.clone()).await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    proxy.faults().set("StopContainer", Fault::NoOp);

    client
        .stop_container(&id, Duration::from_secs(5), true, false)
        .await
        .unwrap();

    assert_eq!(proxy.faults().calls("RemoveContainer"), 1);
    assert!(
        client
            .container_status(&id, false)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn stop_container_with_try_remove_reports_a_failed_remove_after_the_stop_errors() {
    let (_fake, proxy, client) = proxied().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    proxy
        .faults()
        .set("RemoveContainer", always(Code::Unknown, "remove failed"));

    let err = client
        .stop_container(&id, Duration::ZERO, true, false)
        .await
        .unwrap_err();

    let Error::Attempts { attempts, .. } = &err else {
        panic!("unexpected {err:?}")
    };
    // The stop worked; only the remove failed.
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].rpc(), Some(Rpc::RemoveContainer));
    assert_eq!(err.message(), Some("remove failed"));
}

#[tokio::test]
async fn stop_container_reports_a_failed_kill() {
    let (fake, proxy, _client) = proxied().await;
    let killer = Arc::new(RecordingKiller {
        fail_kill: true,
        ..RecordingKiller::default()
    });
    let client = client_with_killer(&proxy, killer.clone()).await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    let pid = pid_of(&fake, &id).await;
    proxy.faults().set(
        "StopContainer",
        always(Code::Unknown, "shim not responding"),
    );

    let err = client
        .stop_container(&id, Duration::from_secs(1), false, false)
        .await
        .unwrap_err();

    let Error::Attempts { attempts, .. } = &err else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(attempts.len(), 4);
    for attempt in &attempts[..3] {
        assert_eq!(attempt.message(), Some("shim not responding"));
    }
    match &attempts[3] {
        Error::Kill {
            container_id,
            pid: killed,
            action,
            source,
        } => {
            assert_eq!(container_id, &id);
            assert_eq!(*killed, pid + 10000);
            assert_eq!(*action, KillAction::Signal);
            assert_eq!(source.raw_os_error(), Some(1));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(stop_timeouts(&proxy), [1, 0, 0]);
}

#[tokio::test]
async fn force_stop_reports_a_process_whose_parent_cannot_be_found() {
    let (fake, proxy, _client) = proxied().await;
    let killer = Arc::new(RecordingKiller {
        fail_parent_lookup: true,
        ..RecordingKiller::default()
    });
    let client = client_with_killer(&proxy, killer.clone()).await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    let pid = pid_of(&fake, &id).await;

    let err = client
        .stop_container(&id, Duration::ZERO, false, true)
        .await
        .unwrap_err();

    let Error::Attempts { attempts, .. } = &err else {
        panic!("unexpected {err:?}")
    };
    match attempts.as_slice() {
        [
            Error::Kill {
                pid: looked_up,
                action,
                source,
                ..
            },
        ] => {
            assert_eq!(*looked_up, pid);
            assert_eq!(*action, KillAction::FindParent);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(killer.kills().is_empty());
    assert_eq!(proxy.faults().calls("StopContainer"), 0);
    assert_eq!(state_of(&fake, &id).await, ContainerState::ContainerRunning);
}

#[tokio::test(start_paused = true)]
async fn the_default_policy_waits_five_then_ten_seconds_between_tries() {
    // Paused time with the default policy: the retry loop alone, no socket I/O.
    let started = tokio::time::Instant::now();
    let outcome: Result<(), Vec<u32>> =
        cri_client::retry(&RetryPolicy::default(), |n| async move {
            if n < 2 { Err(n) } else { Ok(()) }
        })
        .await;
    assert_eq!(outcome, Ok(()));
    assert_eq!(started.elapsed(), Duration::from_secs(15));
    assert_eq!(
        RetryPolicy::default().growth,
        Growth::Linear(Duration::from_secs(5))
    );
}

// ---- run_containers rollback ----

#[tokio::test]
async fn run_containers_with_an_unknown_image_in_the_third_container_leaves_nothing_behind() {
    let fake = FakeRuntime::builder()
        .pull_policy(PullPolicy::CatalogOnly)
        .start()
        .await
        .unwrap();
    let client = client_of(fake.endpoint()).await;
    let configs = [
        sleeper("one"),
        sleeper("two"),
        container_config("three", "docker.io/library/nope:1", &["sleep", "1000"]),
    ];

    let err = client
        .run_containers(&pod_config("web", "default"), &configs, "")
        .await
        .unwrap_err();

    match &err {
        Error::Step {
            step,
            pod_id,
            source,
            cleanup,
        } => {
            assert_eq!(
                *step,
                Step::PullImage {
                    index: 2,
                    image: "docker.io/library/nope:1".into()
                }
            );
            assert_eq!(pod_id.as_ref().map(String::len), Some(64));
            assert_eq!(source.rpc(), Some(Rpc::PullImage));
            assert!(cleanup.is_empty(), "{cleanup:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.code(), Some(Code::Unknown));
    assert_eq!(pod_count(&fake).await, 0);
    assert_eq!(container_count(&fake).await, 0);
}

#[tokio::test]
async fn run_containers_rolls_back_when_a_container_fails_to_start() {
    let (fake, client) = fake_and_client().await;
    let configs = [
        sleeper("one"),
        container_config("two", BUSYBOX, &["/no/such/binary"]),
    ];
    let err = client
        .run_containers(&pod_config("web", "default"), &configs, "")
        .await
        .unwrap_err();
    let Error::Step { step, source, .. } = &err else {
        panic!("unexpected {err:?}")
    };
    assert!(
        matches!(step, Step::StartContainer { index: 1, container_id } if container_id.len() == 64),
        "{step:?}"
    );
    assert_eq!(source.code(), Some(Code::Unknown));
    assert_eq!(pod_count(&fake).await, 0);
    assert_eq!(container_count(&fake).await, 0);
}

#[tokio::test]
async fn run_containers_reports_a_failed_pod_run_with_nothing_to_undo() {
    let (fake, proxy, client) = proxied().await;
    let err = client
        .run_containers(&pod_config("web", "default"), &[sleeper("one")], "nope")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Step { step: Step::RunPod, pod_id: None, cleanup, .. } if cleanup.is_empty()),
        "{err:?}"
    );
    unknown_handler_sandbox_id(err.message().unwrap());
    assert_eq!(proxy.faults().calls("PullImage"), 0);
    assert_eq!(pod_count(&fake).await, 0);
}

#[tokio::test]
async fn run_containers_reports_what_the_cleanup_could_not_undo() {
    let (fake, proxy, client) = proxied().await;
    proxy
        .faults()
        .set("CreateContainer", fail(Code::Unknown, "disk full", 1));
    proxy.faults().set(
        "RemovePodSandbox",
        always(Code::Unavailable, "runtime gone"),
    );

    let err = client
        .run_containers(&pod_config("web", "default"), &[sleeper("one")], "")
        .await
        .unwrap_err();

    let Error::Step {
        step,
        source,
        cleanup,
        ..
    } = &err
    else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(
        *step,
        Step::CreateContainer {
            index: 0,
            name: "one".into()
        }
    );
    assert_eq!(source.message(), Some("disk full"));
    assert_eq!(cleanup.len(), 1);
    assert_eq!(cleanup[0].rpc(), Some(Rpc::RemovePodSandbox));
    assert_eq!(cleanup[0].code(), Some(Code::Unavailable));
    // The original error stays the error of the call.
    assert_eq!(err.message(), Some("disk full"));
    // The pod could not be removed, but it was stopped.
    assert_eq!(pod_count(&fake).await, 1);
}
