//! Many clients at once: nothing lost, duplicated or half-created.

mod common;

use std::collections::HashSet;

use common::*;
use cri_proto::v1::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_tasks_creating_and_removing_at_once_leave_consistent_state() {
    let env = start().await;
    let mut tasks = Vec::new();
    for task in 0..32 {
        let mut rt = env.rt.clone();
        tasks.push(tokio::spawn(async move {
            let config = pod_config(&format!("pod{task}"));
            let pod = rt
                .run_pod_sandbox(RunPodSandboxRequest {
                    config: Some(config.clone()),
                    runtime_handler: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .pod_sandbox_id;
            let mut kept = Vec::new();
            for n in 0..4 {
                let id = rt
                    .create_container(CreateContainerRequest {
                        pod_sandbox_id: pod.clone(),
                        config: Some(container_config(&format!("c{n}"), &["sleep", "1000"])),
                        sandbox_config: Some(config.clone()),
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .container_id;
                rt.start_container(StartContainerRequest {
                    container_id: id.clone(),
                })
                .await
                .unwrap();
                if n % 2 == 0 {
                    rt.remove_container(RemoveContainerRequest { container_id: id })
                        .await
                        .unwrap();
                } else {
                    kept.push(id);
                }
            }
            if task % 4 == 0 {
                rt.remove_pod_sandbox(RemovePodSandboxRequest {
                    pod_sandbox_id: pod,
                })
                .await
                .unwrap();
                (None, Vec::new())
            } else {
                (Some(pod), kept)
            }
        }));
    }
    let mut pods = HashSet::new();
    let mut containers = HashSet::new();
    for task in tasks {
        let (pod, kept) = task.await.unwrap();
        pods.extend(pod);
        containers.extend(kept);
    }
    assert_eq!(pods.len(), 24);
    assert_eq!(containers.len(), 48);
    let listed_pods: HashSet<String> = env
        .rt
        .clone()
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(listed_pods, pods);
    let listed: Vec<Container> = env
        .rt
        .clone()
        .list_containers(ListContainersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .containers;
    let listed_ids: HashSet<String> = listed.iter().map(|c| c.id.clone()).collect();
    assert_eq!(listed_ids, containers);
    assert!(
        listed.iter().all(|c| pods.contains(&c.pod_sandbox_id)
            && c.state == ContainerState::ContainerRunning as i32)
    );
    let sandboxes = env.fake.sandboxes();
    let containers = env.fake.containers();
    assert_eq!((sandboxes.len(), containers.len()), (24, 48));
    // Every container is its sandbox's, and each sandbox has its two.
    assert!(sandboxes.iter().all(|s| s.container_ids.len() == 2));
    assert!(
        containers
            .iter()
            .all(|c| env.fake.container(&c.id).as_ref() == Some(c)
                && env.fake.sandbox(&c.sandbox_id).is_some())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_runs_of_the_same_sandbox_name_create_exactly_one() {
    let env = start().await;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let mut rt = env.rt.clone();
        tasks.push(tokio::spawn(async move {
            rt.run_pod_sandbox(RunPodSandboxRequest {
                config: Some(pod_config("same")),
                runtime_handler: String::new(),
            })
            .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(status) => assert!(
                status
                    .message()
                    .starts_with("failed to reserve sandbox name"),
                "{}",
                status.message()
            ),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(env.fake.sandboxes().len(), 1);
}
