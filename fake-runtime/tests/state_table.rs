//! Every (container state x operation) pair over the socket, with the exact gRPC code
//! containerd answers (reference §3, §6, §7, §9, §10).

mod common;

use common::*;
use cri_proto::v1::*;
use tonic::Code;

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Created,
    Running,
    Exited,
    Removed,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Start,
    Stop,
    Remove,
    Status,
    Exec,
    ReopenLog,
    UpdateResources,
    Stats,
}

/// containerd's answer for each pair: `None` = OK, `Some(code)` = that error.
fn expected(state: State, op: Op) -> Option<Code> {
    use Op::*;
    use State::*;
    match (state, op) {
        (Removed, Remove) => None,
        (Removed, UpdateResources | Stats) => Some(Code::NotFound),
        (Removed, _) => Some(Code::NotFound),
        (Created, Start) => None,
        (Running | Exited, Start) => Some(Code::Unknown),
        (_, Stop | Remove | Status | UpdateResources) => None,
        (Running, Exec | ReopenLog | Stats) => None,
        (Created | Exited, Exec | ReopenLog | Stats) => Some(Code::Unknown),
    }
}

async fn container_in(env: &mut Env, state: State, n: usize) -> String {
    let (pod, config) = env.pod(&format!("table{n}")).await;
    let mut c = container_config("c", &["sleep", "1000"]);
    c.log_path = "c.log".into();
    let id = env.create(&pod, &config, c).await.unwrap();
    match state {
        State::Created => {}
        State::Running => env.start(&id).await.unwrap(),
        State::Exited => {
            env.start(&id).await.unwrap();
            env.stop(&id, 0).await.unwrap();
        }
        State::Removed => env.remove(&id).await.unwrap(),
    }
    id
}

async fn apply(env: &mut Env, op: Op, id: &str) -> Result<(), tonic::Status> {
    let id = id.to_owned();
    match op {
        Op::Start => env.start(&id).await,
        Op::Stop => env.stop(&id, 0).await,
        Op::Remove => env.remove(&id).await,
        Op::Status => env.status(&id).await.map(|_| ()),
        Op::Exec => env.exec(&id, &["true"], 5).await.map(|_| ()),
        Op::ReopenLog => env
            .rt
            .reopen_container_log(ReopenContainerLogRequest { container_id: id })
            .await
            .map(|_| ()),
        Op::UpdateResources => env
            .rt
            .update_container_resources(UpdateContainerResourcesRequest {
                container_id: id,
                linux: Some(LinuxContainerResources {
                    cpu_shares: 512,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .map(|_| ()),
        Op::Stats => env
            .rt
            .container_stats(ContainerStatsRequest { container_id: id })
            .await
            .map(|_| ()),
    }
}

#[tokio::test]
async fn every_state_and_operation_pair_answers_like_containerd() {
    let mut env = start().await;
    let ops = [
        Op::Start,
        Op::Stop,
        Op::Remove,
        Op::Status,
        Op::Exec,
        Op::ReopenLog,
        Op::UpdateResources,
        Op::Stats,
    ];
    let mut n = 0;
    let mut mismatches = Vec::new();
    for state in [
        State::Created,
        State::Running,
        State::Exited,
        State::Removed,
    ] {
        for op in ops {
            n += 1;
            let id = container_in(&mut env, state, n).await;
            let got = apply(&mut env, op, &id).await.err().map(|s| s.code());
            if got != expected(state, op) {
                mismatches.push(format!(
                    "{state:?} x {op:?}: expected {:?}, got {got:?}",
                    expected(state, op)
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn every_sandbox_state_and_operation_pair_answers_like_containerd() {
    let mut env = start().await;
    for (state, op, want) in [
        ("ready", "stop", None),
        ("ready", "remove", None),
        ("ready", "status", None),
        ("ready", "create", None),
        ("notready", "stop", None),
        ("notready", "remove", None),
        ("notready", "status", None),
        ("notready", "create", Some(Code::NotFound)),
        ("removed", "stop", Some(Code::NotFound)),
        ("removed", "remove", None),
        ("removed", "status", Some(Code::NotFound)),
        ("removed", "create", Some(Code::NotFound)),
    ] {
        let (pod, config) = env.pod(&format!("{state}-{op}")).await;
        if state != "ready" {
            env.rt
                .stop_pod_sandbox(StopPodSandboxRequest {
                    pod_sandbox_id: pod.clone(),
                })
                .await
                .unwrap();
        }
        if state == "removed" {
            env.rt
                .remove_pod_sandbox(RemovePodSandboxRequest {
                    pod_sandbox_id: pod.clone(),
                })
                .await
                .unwrap();
        }
        let got = match op {
            "stop" => env
                .rt
                .stop_pod_sandbox(StopPodSandboxRequest {
                    pod_sandbox_id: pod.clone(),
                })
                .await
                .map(|_| ()),
            "remove" => env
                .rt
                .remove_pod_sandbox(RemovePodSandboxRequest {
                    pod_sandbox_id: pod.clone(),
                })
                .await
                .map(|_| ()),
            "status" => env
                .rt
                .pod_sandbox_status(PodSandboxStatusRequest {
                    pod_sandbox_id: pod.clone(),
                    verbose: false,
                })
                .await
                .map(|_| ()),
            _ => env
                .create(&pod, &config, container_config("c", &["true"]))
                .await
                .map(|_| ()),
        };
        assert_eq!(got.err().map(|s| s.code()), want, "{state} x {op}");
    }
}
