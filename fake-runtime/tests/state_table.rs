//! Every (container state x operation) and (sandbox state x operation) pair over the
//! socket, with the exact gRPC code each imitated containerd release answers (reference
//! §3, §6, §7, §9, §10 and the 2.3 differences).
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cri_fake::Profile;
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

/// `profile`'s answer for each pair: `None` = OK, `Some(code)` = that error.
fn expected(profile: Profile, state: State, op: Op) -> Option<Code> {
    use Op::*;
    use State::*;
    match (state, op) {
        (Removed, Remove) => None,
        // containerd 2.3: stopping what is not there is done; 1.6 does not find it.
        (Removed, Stop) => match profile {
            Profile::Containerd23 => None,
            Profile::Containerd16 => Some(Code::NotFound),
        },
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
async fn every_state_and_operation_pair_answers_like_each_containerd_release() {
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
    let mut mismatches = Vec::new();
    for profile in Profile::ALL {
        let mut env = start_profile(profile).await;
        let mut n = 0;
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
                let want = expected(profile, state, op);
                if got != want {
                    mismatches.push(format!(
                        "{profile} {state:?} x {op:?}: expected {want:?}, got {got:?}"
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn every_sandbox_state_and_operation_pair_answers_like_each_containerd_release() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        // Only two cells differ: 2.3 stops a removed sandbox without complaint, and
        // CreateContainer in a stopped one is UNKNOWN "not running" instead of 1.6's
        // NOT_FOUND "no running task found".
        let (notready_create, removed_stop) = match profile {
            Profile::Containerd23 => (Some(Code::Unknown), None),
            Profile::Containerd16 => (Some(Code::NotFound), Some(Code::NotFound)),
        };
        for (state, op, want) in [
            ("ready", "stop", None),
            ("ready", "remove", None),
            ("ready", "status", None),
            ("ready", "create", None),
            ("notready", "stop", None),
            ("notready", "remove", None),
            ("notready", "status", None),
            ("notready", "create", notready_create),
            ("removed", "stop", removed_stop),
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
            assert_eq!(
                got.err().map(|s| s.code()),
                want,
                "{profile} {state} x {op}"
            );
        }
    }
}
