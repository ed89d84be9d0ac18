//! The call journal and the waiters, over a real socket.

mod common;

use std::time::Duration;

use common::*;
use cri_fake::Method;
use cri_fake::Outcome;
use cri_fake::Profile;
use cri_proto::v1::*;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn every_call_is_journaled_in_order_with_its_request_and_response_or_status() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        env.rt
            .version(VersionRequest {
                version: "v1".into(),
            })
            .await
            .unwrap();
        let pod = env.run_pod(pod_config("journal")).await;
        let missing = env
            .rt
            .container_status(ContainerStatusRequest {
                container_id: "nope".into(),
                verbose: false,
            })
            .await;
        assert_eq!(missing.unwrap_err().code(), Code::NotFound);

        let calls = env.fake.calls();
        let summary: Vec<(u64, Method, Option<Code>)> = calls
            .iter()
            .map(|c| (c.number, c.method, c.outcome.code()))
            .collect();
        assert_eq!(
            summary,
            [
                (1, Method::Version, Some(Code::Ok)),
                (2, Method::RunPodSandbox, Some(Code::Ok)),
                (3, Method::ContainerStatus, Some(Code::NotFound)),
            ]
        );
        assert_eq!(calls[0].request::<VersionRequest>().unwrap().version, "v1");
        assert_eq!(
            calls[0]
                .response::<VersionResponse>()
                .unwrap()
                .runtime_version,
            match profile {
                Profile::Containerd23 => "v2.3.4",
                Profile::Containerd16 => "1.6.20~ds1",
            }
        );
        assert_eq!(
            calls[1]
                .response::<RunPodSandboxResponse>()
                .unwrap()
                .pod_sandbox_id,
            pod
        );
        assert_eq!(
            calls[2].outcome,
            Outcome::Error {
                code: Code::NotFound,
                message: "an error occurred when try to find container \"nope\": not found".into()
            }
        );
        assert!(calls[2].response::<ContainerStatusResponse>().is_none());
        assert!(calls.iter().all(|c| c.duration.is_some()));
        assert!(calls.windows(2).all(|w| w[0].started_at <= w[1].started_at));
        assert_eq!(env.fake.calls_to(Method::RunPodSandbox).len(), 1);
        assert_eq!(env.fake.journal().len(), 3);
    }
}

#[tokio::test]
async fn the_journal_exports_one_json_object_per_call() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let pod = env.run_pod(pod_config("export")).await;
        let _ = env
            .rt
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: String::new(),
            })
            .await;
        let lines: Vec<serde_json::Value> = env
            .fake
            .journal()
            .to_json_lines()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["number"], 1);
        assert_eq!(lines[0]["method"], "RunPodSandbox");
        assert_eq!(lines[0]["service"], "runtime.v1.RuntimeService");
        assert_eq!(lines[0]["code"], "OK");
        assert_eq!(lines[0]["request"]["config"]["metadata"]["name"], "export");
        assert_eq!(lines[0]["response"]["pod_sandbox_id"], pod.as_str());
        assert!(lines[0]["started_at_ns"].as_u64().unwrap() > 1_600_000_000_000_000_000);
        assert!(lines[0]["duration_us"].is_u64());
        assert_eq!(lines[1]["code"], "UNKNOWN");
        assert_eq!(
            lines[1]["message"],
            match profile {
                Profile::Containerd23 => {
                    "an error occurred when try to find sandbox \"\": prefix can't be empty"
                }
                Profile::Containerd16 => {
                    "an error occurred when try to find sandbox \"\": Prefix can't be empty"
                }
            }
        );
        assert_eq!(lines[1]["response"], serde_json::Value::Null);
    }
}

#[tokio::test]
async fn waiting_for_a_call_returns_when_it_arrives_or_reports_the_calls_received() {
    let mut env = start().await;
    let mut client = env.fake.runtime_client();
    let later = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        client
            .status(StatusRequest { verbose: false })
            .await
            .unwrap();
    });
    let call = env.fake.wait_for_call(Method::Status, WAIT).await.unwrap();
    assert_eq!(call.number, 1);
    later.await.unwrap();
    env.rt.version(VersionRequest::default()).await.unwrap();
    let versions = env
        .fake
        .journal()
        .wait_for_calls(Method::Version, 1, WAIT)
        .await
        .unwrap();
    assert_eq!(versions[0].number, 2);
    let err = env
        .fake
        .wait_for_call(Method::ExecSync, Duration::from_millis(20))
        .await
        .unwrap_err();
    assert_eq!(err.what, "a call to ExecSync");
    assert!(
        err.calls.starts_with("  #1 Status {} -> OK ("),
        "{}",
        err.calls
    );
    assert!(err.to_string().starts_with(
        "gave up waiting for a call to ExecSync after 20ms; calls received:\n  #1 Status"
    ));
}

#[tokio::test]
async fn waiters_return_when_a_container_exits_and_when_objects_are_removed() {
    let mut env = start().await;
    let (pod, config) = env.pod("waiters").await;
    let id = env.running(&pod, &config, "short", &["sleep", "0.2"]).await;
    let exited = env
        .fake
        .wait_for_container_state(&id, ContainerState::ContainerExited, WAIT)
        .await
        .unwrap();
    assert_eq!((exited.exit_code, exited.reason.as_str()), (0, "Completed"));

    let mut client = env.fake.runtime_client();
    let (pod_id, container_id) = (pod.clone(), id.clone());
    let remover = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        client
            .remove_pod_sandbox(RemovePodSandboxRequest {
                pod_sandbox_id: pod_id,
            })
            .await
            .unwrap();
    });
    env.fake
        .wait_for_container_removed(&container_id, WAIT)
        .await
        .unwrap();
    env.fake.wait_for_sandbox_removed(&pod, WAIT).await.unwrap();
    remover.await.unwrap();

    let stopped = env.run_pod(pod_config("stopping")).await;
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: stopped.clone(),
        })
        .await
        .unwrap();
    let status = env
        .fake
        .wait_for_sandbox_state(&stopped, PodSandboxState::SandboxNotready, WAIT)
        .await
        .unwrap();
    assert_eq!(status.id, stopped);
    let err = env
        .fake
        .wait_for_sandbox_state(
            &stopped,
            PodSandboxState::SandboxReady,
            Duration::from_millis(20),
        )
        .await
        .unwrap_err();
    assert_eq!(err.last_seen, "SANDBOX_NOTREADY");
    assert_eq!(
        err.to_string(),
        format!(
            "gave up waiting for sandbox {stopped} to be SANDBOX_READY after 20ms; last seen: SANDBOX_NOTREADY"
        )
    );
}

#[tokio::test]
async fn a_response_over_the_payload_limit_is_journaled_by_size_without_a_copy() {
    let mut env = start().await;
    let (pod, config) = env.pod("big").await;
    let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
    // 2 MiB of output (over the default 1 MiB), then 3 bytes (under it).
    let big = env
        .exec(
            &id,
            &["sh", "-c", "dd if=/dev/zero bs=1048576 count=2 2>/dev/null"],
            10,
        )
        .await
        .unwrap();
    assert_eq!(big.stdout.len(), 2 << 20);
    let small = env.exec(&id, &["echo", "hi"], 10).await.unwrap();
    assert_eq!(small.stdout, b"hi\n");

    let execs = env.fake.calls_to(Method::ExecSync);
    assert_eq!(execs.len(), 2);
    assert_eq!(execs[0].outcome, Outcome::Ok);
    assert!(execs[0].response::<ExecSyncResponse>().is_none());
    // Field 1 (stdout): a tag byte, a 4-byte varint length (2^21), 2 MiB; exit code 0
    // is not sent.
    assert_eq!(execs[0].response_omitted(), Some(1 + 4 + (2 << 20)));
    assert_eq!(
        execs[1]
            .response::<ExecSyncResponse>()
            .map(|r| r.stdout.as_slice()),
        Some(&b"hi\n"[..])
    );
    assert_eq!(execs[1].response_omitted(), None);
}

#[tokio::test]
async fn list_answers_match_the_core_lists_and_are_journaled_as_their_messages() {
    for profile in Profile::ALL {
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("lists").await;
        let running = env.running(&pod, &config, "run", &["sleep", "1000"]).await;
        let created = env
            .create(&pod, &config, container_config("made", &["true"]))
            .await
            .unwrap();
        let containers = env
            .rt
            .list_containers(ListContainersRequest::default())
            .await
            .unwrap()
            .into_inner();
        let mut owned = env.fake.runtime().list_containers(None);
        let sort = |list: &mut Vec<Container>| list.sort_by(|a, b| a.id.cmp(&b.id));
        let mut listed = containers.containers.clone();
        sort(&mut listed);
        sort(&mut owned);
        assert_eq!(listed, owned, "{profile}");
        let mut ids = [running.clone(), created.clone()];
        ids.sort();
        assert_eq!(
            listed.iter().map(|c| &c.id).collect::<Vec<_>>(),
            ids.iter().collect::<Vec<_>>()
        );
        let pods = env
            .rt
            .list_pod_sandbox(ListPodSandboxRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            pods.items,
            env.fake.runtime().list_pod_sandbox(None),
            "{profile}"
        );
        let stats = env
            .rt
            .list_container_stats(ListContainerStatsRequest {
                filter: Some(ContainerStatsFilter {
                    id: running.clone(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(stats.stats.len(), 1);
        assert_eq!(stats.stats[0].attributes.as_ref().unwrap().id, running);

        let journaled = |method| {
            let calls = env.fake.calls_to(method);
            assert_eq!(calls.len(), 1, "{method}");
            assert_eq!(calls[0].outcome, Outcome::Ok, "{method}");
            calls.into_iter().next().unwrap()
        };
        assert_eq!(
            journaled(Method::ListContainers).response::<ListContainersResponse>(),
            Some(&containers)
        );
        assert_eq!(
            journaled(Method::ListPodSandbox).response::<ListPodSandboxResponse>(),
            Some(&pods)
        );
        let call = journaled(Method::ListContainerStats);
        assert_eq!(
            call.request::<ListContainerStatsRequest>()
                .and_then(|r| r.filter.as_ref())
                .map(|f| f.id.as_str()),
            Some(running.as_str())
        );
        assert_eq!(call.response::<ListContainerStatsResponse>(), Some(&stats));
    }
}

#[tokio::test]
async fn a_list_over_the_payload_limit_is_journaled_by_its_encoded_size() {
    let limits = cri_fake::journal::JournalLimits {
        max_response_bytes: 100,
        ..Default::default()
    };
    let mut env = start_with(cri_fake::FakeRuntime::builder().journal_limits(limits)).await;
    for name in ["a", "b", "c"] {
        env.run_pod(pod_config(name)).await;
    }
    let pods = env
        .rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pods.items.len(), 3);
    let calls = env.fake.calls_to(Method::ListPodSandbox);
    assert!(calls[0].response::<ListPodSandboxResponse>().is_none());
    assert_eq!(
        calls[0].response_omitted(),
        Some(prost::Message::encoded_len(&pods))
    );
}
