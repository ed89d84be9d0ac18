//! Property test: random operation sequences against the fake and a small reference
//! model of containerd's rules, once per imitated release; after every step the answers
//! (OK or gRPC code) and at the end the listed states must agree.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{container_config, pod_config};
use cri_fake::{FakeRuntime, Listen, Profile};
use cri_proto::v1::*;
use proptest::prelude::*;
use tonic::Code;

#[derive(Debug, Clone)]
enum Op {
    RunPod(u8),
    StopPod(u8),
    RemovePod(u8),
    Create(u8, u8),
    Start(u8, u8),
    Stop(u8, u8),
    Remove(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let pod = 0u8..3;
    let ctr = 0u8..2;
    prop_oneof![
        3 => pod.clone().prop_map(Op::RunPod),
        1 => pod.clone().prop_map(Op::StopPod),
        1 => pod.clone().prop_map(Op::RemovePod),
        3 => (pod.clone(), ctr.clone()).prop_map(|(p, c)| Op::Create(p, c)),
        3 => (pod.clone(), ctr.clone()).prop_map(|(p, c)| Op::Start(p, c)),
        1 => (pod.clone(), ctr.clone()).prop_map(|(p, c)| Op::Stop(p, c)),
        1 => (pod, ctr).prop_map(|(p, c)| Op::Remove(p, c)),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum C {
    Created,
    Running,
    Exited,
}

type Outcome = Result<(), Code>;

/// Where the releases' rules differ, as the model's own table (from the references, not
/// from the fake's).
#[derive(Debug, Clone, Copy)]
struct Rules {
    /// A sandbox or container name that is still reserved.
    name_conflict: Code,
    /// StopPodSandbox / StopContainer of an id that is gone.
    stop_missing: Outcome,
    /// CreateContainer in a stopped (NOTREADY) sandbox.
    create_in_stopped_pod: Code,
}

impl Rules {
    fn of(profile: Profile) -> Self {
        match profile {
            Profile::Containerd23 => Rules {
                name_conflict: Code::FailedPrecondition,
                stop_missing: Ok(()),
                create_in_stopped_pod: Code::Unknown,
            },
            Profile::Containerd16 => Rules {
                name_conflict: Code::Unknown,
                stop_missing: Err(Code::NotFound),
                create_in_stopped_pod: Code::NotFound,
            },
        }
    }
}

#[derive(Debug)]
struct Model {
    rules: Rules,
    /// Live pods by slot: (id, ready).
    pods: HashMap<u8, (String, bool)>,
    /// Live containers by (pod slot, name slot): (id, state).
    containers: HashMap<(u8, u8), (String, C)>,
    /// The last id a slot had (to address removed objects).
    last_pod_id: HashMap<u8, String>,
    last_ctr_id: HashMap<(u8, u8), String>,
}

fn code<T>(r: Result<T, tonic::Status>) -> Outcome {
    r.map(|_| ()).map_err(|s| s.code())
}

async fn step(
    rt: &mut cri_proto::RuntimeServiceClient<tonic::transport::Channel>,
    model: &mut Model,
    op: &Op,
) -> Option<(Outcome, Outcome)> {
    match *op {
        Op::RunPod(p) => {
            let actual = rt
                .run_pod_sandbox(RunPodSandboxRequest {
                    config: Some(pod_config(&format!("p{p}"))),
                    runtime_handler: String::new(),
                })
                .await;
            let expected = if model.pods.contains_key(&p) {
                Err(model.rules.name_conflict)
            } else {
                Ok(())
            };
            if let Ok(r) = &actual {
                let id = r.get_ref().pod_sandbox_id.clone();
                model.pods.insert(p, (id.clone(), true));
                model.last_pod_id.insert(p, id);
            }
            Some((code(actual), expected))
        }
        Op::StopPod(p) => {
            let id = model.last_pod_id.get(&p)?.clone();
            let actual = rt
                .stop_pod_sandbox(StopPodSandboxRequest {
                    pod_sandbox_id: id.clone(),
                })
                .await;
            let expected = match model.pods.get_mut(&p) {
                Some(pod) => {
                    pod.1 = false;
                    for ((cp, _), (_, state)) in model.containers.iter_mut() {
                        if *cp == p && *state == C::Running {
                            *state = C::Exited;
                        }
                    }
                    Ok(())
                }
                None => model.rules.stop_missing,
            };
            Some((code(actual), expected))
        }
        Op::RemovePod(p) => {
            let id = model.last_pod_id.get(&p)?.clone();
            let actual = rt
                .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
                .await;
            model.pods.remove(&p);
            model.containers.retain(|(cp, _), _| *cp != p);
            Some((code(actual), Ok(())))
        }
        Op::Create(p, c) => {
            let id = model.last_pod_id.get(&p)?.clone();
            let actual = rt
                .create_container(CreateContainerRequest {
                    pod_sandbox_id: id,
                    config: Some(container_config(&format!("c{c}"), &["sleep", "1000"])),
                    sandbox_config: Some(pod_config(&format!("p{p}"))),
                })
                .await;
            let expected = match model.pods.get(&p) {
                None => Err(Code::NotFound),
                Some((_, false)) => Err(model.rules.create_in_stopped_pod),
                Some(_) if model.containers.contains_key(&(p, c)) => Err(model.rules.name_conflict),
                Some(_) => Ok(()),
            };
            if let Ok(r) = &actual {
                let id = r.get_ref().container_id.clone();
                model.containers.insert((p, c), (id.clone(), C::Created));
                model.last_ctr_id.insert((p, c), id);
            }
            Some((code(actual), expected))
        }
        Op::Start(p, c) => {
            let id = model.last_ctr_id.get(&(p, c))?.clone();
            let actual = rt
                .start_container(StartContainerRequest { container_id: id })
                .await;
            let ready = model.pods.get(&p).is_some_and(|pod| pod.1);
            let expected = match model.containers.get_mut(&(p, c)) {
                None => Err(Code::NotFound),
                Some((_, state @ C::Created)) if ready => {
                    *state = C::Running;
                    Ok(())
                }
                Some((_, state @ C::Created)) => {
                    *state = C::Exited;
                    Err(Code::Unknown)
                }
                Some(_) => Err(Code::Unknown),
            };
            Some((code(actual), expected))
        }
        Op::Stop(p, c) => {
            let id = model.last_ctr_id.get(&(p, c))?.clone();
            let actual = rt
                .stop_container(StopContainerRequest {
                    container_id: id,
                    timeout: 0,
                })
                .await;
            let expected = match model.containers.get_mut(&(p, c)) {
                None => model.rules.stop_missing,
                Some((_, state)) => {
                    if *state == C::Running {
                        *state = C::Exited;
                    }
                    Ok(())
                }
            };
            Some((code(actual), expected))
        }
        Op::Remove(p, c) => {
            let id = model.last_ctr_id.get(&(p, c))?.clone();
            let actual = rt
                .remove_container(RemoveContainerRequest { container_id: id })
                .await;
            model.containers.remove(&(p, c));
            Some((code(actual), Ok(())))
        }
    }
}

fn cri_state(state: C) -> i32 {
    match state {
        C::Created => ContainerState::ContainerCreated as i32,
        C::Running => ContainerState::ContainerRunning as i32,
        C::Exited => ContainerState::ContainerExited as i32,
    }
}

async fn run(profile: Profile, ops: &[Op]) -> Result<(), TestCaseError> {
    let fake = FakeRuntime::builder()
        .listen(Listen::InMemory)
        .profile(profile)
        .start()
        .await
        .expect("fake");
    let mut rt = fake.runtime_client();
    let mut model = Model {
        rules: Rules::of(profile),
        pods: HashMap::new(),
        containers: HashMap::new(),
        last_pod_id: HashMap::new(),
        last_ctr_id: HashMap::new(),
    };
    for (n, op) in ops.iter().enumerate() {
        if let Some((actual, expected)) = step(&mut rt, &mut model, op).await {
            prop_assert_eq!(actual, expected, "{} step {} {:?}", profile, n, op);
        }
    }
    let pods: BTreeMap<String, i32> = rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items
        .into_iter()
        .map(|p| (p.id, p.state))
        .collect();
    let expected_pods: BTreeMap<String, i32> = model
        .pods
        .values()
        .map(|(id, ready)| {
            (
                id.clone(),
                if *ready {
                    PodSandboxState::SandboxReady as i32
                } else {
                    PodSandboxState::SandboxNotready as i32
                },
            )
        })
        .collect();
    prop_assert_eq!(pods, expected_pods, "{} listed sandboxes", profile);
    let containers: BTreeMap<String, i32> = rt
        .list_containers(ListContainersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .containers
        .into_iter()
        .map(|c| (c.id, c.state))
        .collect();
    let expected: BTreeMap<String, i32> = model
        .containers
        .values()
        .map(|(id, s)| (id.clone(), cri_state(*s)))
        .collect();
    prop_assert_eq!(containers, expected, "{} listed containers", profile);
    fake.shutdown().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_agree_with_each_releases_reference_model(ops in proptest::collection::vec(op(), 1..30)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for profile in Profile::ALL {
            runtime.block_on(run(profile, &ops))?;
        }
    }
}
