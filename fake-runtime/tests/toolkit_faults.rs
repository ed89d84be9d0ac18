//! Fault and delay rules over a real socket: statuses, nth / first / after, request
//! predicates, delays and deadlines, gates, stream failures, scoped guards.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::*;
use cri_fake::faults::{Fault, Gate};
use cri_fake::{Method, Outcome};
use cri_proto::v1::*;
use tokio_stream::StreamExt;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(10);

async fn version(env: &mut Env) -> Result<VersionResponse, tonic::Status> {
    env.rt
        .version(VersionRequest::default())
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_status_rule_fails_the_first_n_calls_then_lets_them_pass() {
    let mut env = start().await;
    let _outage = Fault::on(Method::Version)
        .first(2)
        .fail_with(Code::Unavailable, "connection refused")
        .expect(2)
        .mount(&env.fake);
    for _ in 0..2 {
        assert_status(
            version(&mut env).await,
            Code::Unavailable,
            "connection refused",
        );
    }
    assert_eq!(version(&mut env).await.unwrap().runtime_name, "containerd");
    let outcomes: Vec<Outcome> = env.fake.calls().into_iter().map(|c| c.outcome).collect();
    let refused = Outcome::Error {
        code: Code::Unavailable,
        message: "connection refused".into(),
    };
    assert_eq!(outcomes, [refused.clone(), refused, Outcome::Ok]);
}

#[tokio::test]
async fn nth_fails_only_that_call_and_after_fails_every_later_one() {
    let mut env = start().await;
    let second = Fault::on(Method::Version)
        .nth(2)
        .fail_with(Code::Internal, "second")
        .mount(&env.fake);
    let results: Vec<bool> = {
        let mut out = Vec::new();
        for _ in 0..3 {
            out.push(version(&mut env).await.is_ok());
        }
        out
    };
    assert_eq!(results, [true, false, true]);
    assert_eq!((second.matched(), second.fired()), (3, 1));
    drop(second);
    let _later = Fault::on(Method::Version)
        .after(1)
        .fail_with(Code::Aborted, "later")
        .mount(&env.fake);
    assert!(version(&mut env).await.is_ok());
    assert_status(version(&mut env).await, Code::Aborted, "later");
    assert_status(version(&mut env).await, Code::Aborted, "later");
}

#[tokio::test]
async fn request_predicates_select_the_calls_that_fail_and_the_handler_never_runs() {
    let mut env = start().await;
    let _typed = Fault::on(Method::RunPodSandbox)
        .when(|r: &RunPodSandboxRequest| {
            r.config
                .as_ref()
                .and_then(|c| c.metadata.as_ref())
                .is_some_and(|m| m.name == "bad")
        })
        .fail_with(Code::Unknown, "failed to setup network for sandbox")
        .mount(&env.fake);
    let _json = Fault::on_any()
        .when_request(serde_json::json!({"pod_sandbox_id": "gone"}))
        .fail_with(Code::NotFound, "scripted not found")
        .mount(&env.fake);
    let bad = env
        .rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(pod_config("bad")),
            runtime_handler: String::new(),
        })
        .await;
    assert_status(bad, Code::Unknown, "failed to setup network for sandbox");
    assert_eq!(env.fake.sandboxes().len(), 0);
    let good = env.run_pod(pod_config("good")).await;
    assert_eq!(good.len(), 64);
    let status = env
        .rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: "gone".into(),
            verbose: false,
        })
        .await;
    assert_status(status, Code::NotFound, "scripted not found");
    let stop = env
        .rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: "gone".into(),
        })
        .await;
    assert_status(stop, Code::NotFound, "scripted not found");
}

#[tokio::test(start_paused = true)]
async fn delays_hold_the_answer_for_a_fixed_or_a_random_time_in_range() {
    let mut env = start().await;
    let fixed = Fault::on(Method::Version)
        .delay(Duration::from_secs(3))
        .mount(&env.fake);
    let started = tokio::time::Instant::now();
    version(&mut env).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(3));
    drop(fixed);
    let _jitter = Fault::on(Method::Version)
        .delay_between(Duration::from_secs(1)..=Duration::from_secs(2))
        .mount(&env.fake);
    for _ in 0..5 {
        let started = tokio::time::Instant::now();
        version(&mut env).await.unwrap();
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(1) && took < Duration::from_millis(2100),
            "{took:?}"
        );
    }
}

#[tokio::test]
async fn a_delayed_call_whose_deadline_passes_is_cancelled_and_never_runs_its_handler() {
    let mut env = start().await;
    let _slow = Fault::on(Method::RunPodSandbox)
        .delay(Duration::from_secs(60))
        .mount(&env.fake);
    let mut request = tonic::Request::new(RunPodSandboxRequest {
        config: Some(pod_config("late")),
        runtime_handler: String::new(),
    });
    request.set_timeout(Duration::from_millis(200));
    // tonic's server drops the call at the deadline and answers CANCELLED.
    assert_status(
        env.rt.run_pod_sandbox(request).await,
        Code::Cancelled,
        "Timeout expired",
    );
    let call = env
        .fake
        .journal()
        .wait_for_reply(Method::RunPodSandbox, WAIT)
        .await
        .unwrap();
    assert_eq!(call.outcome, Outcome::Cancelled);
    assert_eq!(env.fake.sandboxes().len(), 0);
}

#[tokio::test]
async fn a_blocked_call_waits_for_the_gate_and_a_cancelled_one_lets_go_of_it() {
    let mut env = start().await;
    let gate = Gate::new();
    let _held = Fault::on(Method::ListPodSandbox)
        .block(&gate)
        .mount(&env.fake);
    let mut client = env.fake.runtime_client();
    let mut request = tonic::Request::new(ListPodSandboxRequest::default());
    request.set_timeout(Duration::from_millis(200));
    assert_status(
        client.list_pod_sandbox(request).await,
        Code::Cancelled,
        "Timeout expired",
    );
    env.fake
        .journal()
        .wait_for_reply(Method::ListPodSandbox, WAIT)
        .await
        .unwrap();
    assert_eq!(gate.blocked(), 0);

    let call = tokio::spawn(async move {
        client
            .list_pod_sandbox(ListPodSandboxRequest::default())
            .await
    });
    gate.wait_for_blocked(1, WAIT).await.unwrap();
    // Other methods are not held.
    version(&mut env).await.unwrap();
    assert!(!call.is_finished());
    gate.release();
    assert_eq!(call.await.unwrap().unwrap().into_inner().items.len(), 0);
    // An open gate lets calls through at once.
    env.rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_server_stream_fails_after_k_items() {
    let mut env = start().await;
    let _cut = Fault::on(Method::GetContainerEvents)
        .fail_stream_after(2, Code::Internal, "stream broken")
        .mount(&env.fake);
    let mut events = env
        .rt
        .get_container_events(GetEventsRequest {})
        .await
        .unwrap()
        .into_inner();
    let pod = env.run_pod(pod_config("stream")).await;
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .unwrap();
    let first = events.next().await.unwrap().unwrap();
    let second = events.next().await.unwrap().unwrap();
    assert_eq!(
        (first.container_event_type(), second.container_event_type()),
        (
            ContainerEventType::ContainerCreatedEvent,
            ContainerEventType::ContainerStartedEvent
        )
    );
    let failure = events.next().await.unwrap().unwrap_err();
    assert_eq!(
        (failure.code(), failure.message()),
        (Code::Internal, "stream broken")
    );
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn a_rule_stops_applying_when_its_guard_drops_and_checks_its_expectation() {
    let mut env = start().await;
    {
        let _down = Fault::on(Method::Version)
            .fail_with(Code::Unavailable, "down")
            .mount(&env.fake);
        assert_status(version(&mut env).await, Code::Unavailable, "down");
    }
    version(&mut env).await.unwrap();
    let unmet = Fault::on(Method::Version)
        .nth(5)
        .fail_with(Code::Unavailable, "down")
        .expect(1)
        .mount(&env.fake);
    let payload = catch_unwind(AssertUnwindSafe(move || drop(unmet))).unwrap_err();
    let text = payload.downcast::<String>().map(|s| *s).unwrap_or_default();
    assert!(
        text.starts_with(
            "cri-fake: 1 expectation was not met:\n  - fault on Version, call #5 only: fail with UNAVAILABLE \"down\": expected to fire exactly 1 times, fired 0 times\nCalls received (2):\n  #1 Version {} -> UNAVAILABLE \"down\" ("
        ),
        "{text}"
    );
    // A kept rule lives as long as the fake and is checked by verify().
    Fault::on(Method::ImageFsInfo)
        .fail_with(Code::Internal, "disk")
        .mount(&env.fake)
        .keep();
    let fs = env.img.image_fs_info(ImageFsInfoRequest {}).await;
    assert_status(fs, Code::Internal, "disk");
    env.fake.verify();
}

#[tokio::test]
async fn status_rules_and_request_predicates_apply_to_the_lists() {
    let mut env = start().await;
    let (pod, config) = env.pod("listed").await;
    env.create(&pod, &config, container_config("c", &["true"]))
        .await
        .unwrap();
    let _lists = Fault::on(Method::ListContainers)
        .first(1)
        .fail_with(Code::Unavailable, "lists are down")
        .expect(1)
        .mount(&env.fake);
    let _stats = Fault::on(Method::ListContainerStats)
        .fail_with(Code::DeadlineExceeded, "stats are slow")
        .mount(&env.fake);
    let all = ListContainersRequest::default();
    assert_status(
        env.rt.list_containers(all.clone()).await,
        Code::Unavailable,
        "lists are down",
    );
    let listed = env.rt.list_containers(all).await.unwrap().into_inner();
    assert_eq!(listed.containers.len(), 1);
    assert_status(
        env.rt
            .list_container_stats(ListContainerStatsRequest::default())
            .await,
        Code::DeadlineExceeded,
        "stats are slow",
    );
    // ListPodSandbox has no rule.
    let pods = env
        .rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap();
    assert_eq!(pods.into_inner().items.len(), 1);
    let outcomes: Vec<(Method, Option<Code>)> = env
        .fake
        .calls()
        .into_iter()
        .filter(|c| {
            [
                Method::ListContainers,
                Method::ListContainerStats,
                Method::ListPodSandbox,
            ]
            .contains(&c.method)
        })
        .map(|c| (c.method, c.outcome.code()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Method::ListContainers, Some(Code::Unavailable)),
            (Method::ListContainers, Some(Code::Ok)),
            (Method::ListContainerStats, Some(Code::DeadlineExceeded)),
            (Method::ListPodSandbox, Some(Code::Ok)),
        ]
    );
}
