//! Container lifecycle over a real socket: create checks in containerd's order, the
//! state machine, stop semantics, status and list fields (reference §3, §4, §5, §8, §9).

mod common;

use common::*;
use cri_fake::Profile;
use cri_proto::v1::*;
use tonic::Code;

#[tokio::test]
async fn create_checks_run_in_containerd_order_with_each_releases_texts() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("ctr").await;
        let zeros = "0".repeat(64);
        assert_status(
            env.create(&zeros, &config, container_config("c", &["sleep", "1"]))
                .await,
            Code::NotFound,
            &format!("failed to find sandbox id \"{zeros}\": not found"),
        );
        assert_status(
            env.create("", &config, container_config("c", &["sleep", "1"]))
                .await,
            Code::Unknown,
            match profile {
                Profile::Containerd23 => "failed to find sandbox id \"\": prefix can't be empty",
                Profile::Containerd16 => "failed to find sandbox id \"\": Prefix can't be empty",
            },
        );
        let mut no_metadata = container_config("c", &["sleep", "1"]);
        no_metadata.metadata = None;
        assert_status(
            env.create(&pod, &config, no_metadata).await,
            Code::Unknown,
            "container config must include metadata",
        );
        let missing_config = env
            .rt
            .create_container(CreateContainerRequest {
                pod_sandbox_id: pod.clone(),
                config: None,
                sandbox_config: Some(config.clone()),
            })
            .await;
        assert_status(
            missing_config,
            Code::Unknown,
            "container config must include metadata",
        );

        let first = env
            .create(&pod, &config, container_config("main", &["sleep", "1"]))
            .await
            .unwrap();
        let name = "main_ctr_test_uid-ctr_0";
        let mut bad_image = container_config("main", &["sleep", "1"]);
        bad_image.image = Some(ImageSpec {
            image: "docker.io/library/nope:1".into(),
            ..Default::default()
        });
        // A name conflict is reported before a bad image.
        let (conflict_code, conflict) = match profile {
            Profile::Containerd23 => (
                Code::FailedPrecondition,
                format!(
                    "failed to reserve container name \"{name}\"; check if another CreateContainer request is in progress: name \"{name}\" is reserved for \"{first}\""
                ),
            ),
            Profile::Containerd16 => (
                Code::Unknown,
                format!(
                    "failed to reserve container name \"{name}\": name \"{name}\" is reserved for \"{first}\""
                ),
            ),
        };
        assert_status(
            env.create(&pod, &config, bad_image.clone()).await,
            conflict_code,
            &conflict,
        );
        bad_image.metadata.as_mut().unwrap().attempt = 1;
        assert_status(
            env.create(&pod, &config, bad_image.clone()).await,
            Code::NotFound,
            match profile {
                Profile::Containerd23 => {
                    "failed to check if this is a checkpoint image: failed to resolve image \"docker.io/library/nope:1\": not found"
                }
                Profile::Containerd16 => {
                    "failed to resolve image \"docker.io/library/nope:1\": not found"
                }
            },
        );
        // 2.3 added its checkpoint-image prefix to the missing-image text only; the
        // empty-image text is the same in both releases.
        bad_image.image = Some(ImageSpec::default());
        assert_status(
            env.create(&pod, &config, bad_image.clone()).await,
            Code::Unknown,
            "failed to resolve image \"\": ambiguous digest string",
        );
        // The failed creates released their reservation: attempt 1 works now.
        let mut ok = container_config("main", &["sleep", "1"]);
        ok.metadata.as_mut().unwrap().attempt = 1;
        env.create(&pod, &config, ok).await.unwrap();
    }
}

#[tokio::test]
async fn create_without_sandbox_config_is_an_error_not_a_crash() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, _) = env.pod("nocfg").await;
        let result = env
            .rt
            .create_container(CreateContainerRequest {
                pod_sandbox_id: pod,
                config: Some(container_config("c", &["true"])),
                sandbox_config: None,
            })
            .await;
        assert_status(
            result,
            Code::Unknown,
            match profile {
                Profile::Containerd23 => "pod sandbox config must include metadata",
                Profile::Containerd16 => {
                    "sandbox config must be set in the CreateContainer request"
                }
            },
        );
        env.rt
            .version(VersionRequest::default())
            .await
            .expect("the fake still serves");
    }
}

#[tokio::test]
async fn create_in_a_stopped_sandbox_fails_not_running_in_2_3_and_no_running_task_in_1_6() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("stopped").await;
        env.rt
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: pod.clone(),
            })
            .await
            .unwrap();
        let (code, message) = match profile {
            Profile::Containerd23 => (
                Code::Unknown,
                format!("sandbox container \"{pod}\" is not running"),
            ),
            Profile::Containerd16 => (
                Code::NotFound,
                format!(
                    "failed to get sandbox container task: no running task found: task {pod} not found: not found"
                ),
            ),
        };
        assert_status(
            env.create(&pod, &config, container_config("c", &["true"]))
                .await,
            code,
            &message,
        );
    }
}

#[tokio::test]
async fn created_container_status_has_zero_times_no_reason_and_resources_present() {
    let mut env = start().await;
    let (pod, config) = env.pod("st").await;
    let mut c = container_config("c", &["sleep", "10"]);
    c.log_path = "c/0.log".into();
    c.labels = labels(&[("k", "v")]);
    let id = env.create(&pod, &config, c).await.unwrap();
    let status = env.status(&id).await.unwrap();
    assert_eq!(status.state, ContainerState::ContainerCreated as i32);
    assert!(status.created_at > 0);
    assert_eq!(
        (status.started_at, status.finished_at, status.exit_code),
        (0, 0, 0)
    );
    assert_eq!((status.reason.as_str(), status.message.as_str()), ("", ""));
    assert_eq!(
        status.image.unwrap().image,
        "docker.io/library/busybox:1.36"
    );
    assert!(
        status.image_ref.starts_with("sha256:"),
        "{}",
        status.image_ref
    );
    assert_eq!(
        status.log_path,
        format!("{}/c/0.log", env.log_dir.path().display())
    );
    assert_eq!(
        status.resources,
        Some(ContainerResources {
            linux: Some(LinuxContainerResources::default()),
            windows: None
        })
    );
    assert_eq!(status.labels, labels(&[("k", "v")]));
    assert!(
        !env.log_dir.path().join("c/0.log").exists(),
        "the log file is created at start, not at create"
    );
}

#[tokio::test]
async fn log_path_is_empty_when_either_part_is_empty() {
    let mut env = start().await;
    let mut config = pod_config("nolog");
    config.log_directory.clear();
    let pod = env.run_pod(config.clone()).await;
    let mut c = container_config("c", &["true"]);
    c.log_path = "x.log".into();
    let id = env.create(&pod, &config, c).await.unwrap();
    assert_eq!(env.status(&id).await.unwrap().log_path, "");
    let (pod, config) = env.pod("nopath").await;
    let id = env
        .create(&pod, &config, container_config("c", &["true"]))
        .await
        .unwrap();
    assert_eq!(env.status(&id).await.unwrap().log_path, "");
}

#[tokio::test]
async fn start_runs_the_command_and_a_container_cannot_be_started_twice() {
    let mut env = start().await;
    let (pod, config) = env.pod("run").await;
    let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
    let status = env.status(&id).await.unwrap();
    assert_eq!(status.state, ContainerState::ContainerRunning as i32);
    assert!(status.started_at > 0);
    assert_eq!(status.finished_at, 0);
    assert_status(
        env.start(&id).await,
        Code::Unknown,
        &format!(
            "failed to set starting state for container \"{id}\": container is in CONTAINER_RUNNING state"
        ),
    );
    env.stop(&id, 0).await.unwrap();
    assert_status(
        env.start(&id).await,
        Code::Unknown,
        &format!(
            "failed to set starting state for container \"{id}\": container is in CONTAINER_EXITED state"
        ),
    );
}

#[tokio::test]
async fn containers_exit_on_their_own_with_completed_or_error() {
    let mut env = start().await;
    let (pod, config) = env.pod("exit").await;
    let ok = env.running(&pod, &config, "ok", &["true"]).await;
    let status = env.wait_state(&ok, ContainerState::ContainerExited).await;
    assert_eq!(
        (
            status.exit_code,
            status.reason.as_str(),
            status.message.as_str()
        ),
        (0, "Completed", "")
    );
    assert!(status.finished_at > 0);
    let fail = env.running(&pod, &config, "fail", &["false"]).await;
    let status = env.wait_state(&fail, ContainerState::ContainerExited).await;
    assert_eq!((status.exit_code, status.reason.as_str()), (1, "Error"));
    let three = env
        .running(&pod, &config, "three", &["sh", "-c", "exit 3"])
        .await;
    let status = env
        .wait_state(&three, ContainerState::ContainerExited)
        .await;
    assert_eq!((status.exit_code, status.reason.as_str()), (3, "Error"));
    let killed = env
        .running(&pod, &config, "killed", &["sh", "-c", "kill -9 $$"])
        .await;
    let status = env
        .wait_state(&killed, ContainerState::ContainerExited)
        .await;
    assert_eq!((status.exit_code, status.reason.as_str()), (137, "Error"));
}

#[tokio::test]
async fn a_command_that_cannot_start_leaves_the_container_exited_with_start_error() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("bad").await;
        let prefix = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec:";
        // runc texts end in `: unknown` in 1.6 and lost that ending in 2.3.
        let ending = match profile {
            Profile::Containerd23 => "",
            Profile::Containerd16 => ": unknown",
        };
        for (name, command, tail) in [
            (
                "nosuch",
                "/no/such/binary",
                "\"/no/such/binary\": stat /no/such/binary: no such file or directory",
            ),
            (
                "notexec",
                "/etc/passwd",
                "\"/etc/passwd\": permission denied",
            ),
            (
                "notinpath",
                "nonexistent-cmd",
                "\"nonexistent-cmd\": executable file not found in $PATH",
            ),
        ] {
            let id = env
                .create(&pod, &config, container_config(name, &[command]))
                .await
                .unwrap();
            let expected = format!("{prefix} {tail}{ending}");
            assert_status(env.start(&id).await, Code::Unknown, &expected);
            let status = env.status(&id).await.unwrap();
            assert_eq!(status.state, ContainerState::ContainerExited as i32);
            assert_eq!(
                (status.exit_code, status.reason.as_str()),
                (128, "StartError")
            );
            assert_eq!(status.message, expected);
            assert_eq!(status.started_at, 0);
            assert!(status.finished_at > 0);
        }
    }
}

#[tokio::test]
async fn starting_a_created_container_of_a_stopped_sandbox_is_a_start_error() {
    let mut env = start().await;
    let (pod, config) = env.pod("sbstop").await;
    let id = env
        .create(&pod, &config, container_config("c", &["sleep", "100"]))
        .await
        .unwrap();
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        env.status(&id).await.unwrap().state,
        ContainerState::ContainerCreated as i32
    );
    let expected = format!("sandbox container \"{pod}\" is not running");
    assert_status(env.start(&id).await, Code::Unknown, &expected);
    let status = env.status(&id).await.unwrap();
    assert_eq!(
        (status.state, status.exit_code, status.reason.as_str()),
        (ContainerState::ContainerExited as i32, 128, "StartError")
    );
    assert_eq!(status.message, expected);
}

#[tokio::test]
async fn stop_with_grace_sends_sigterm_and_without_grace_sigkill() {
    let mut env = start().await;
    let (pod, config) = env.pod("stop").await;
    let graceful = env.running(&pod, &config, "g", &["sleep", "1000"]).await;
    env.stop(&graceful, 5).await.unwrap();
    let status = env.status(&graceful).await.unwrap();
    assert_eq!(
        (status.state, status.exit_code, status.reason.as_str()),
        (ContainerState::ContainerExited as i32, 143, "Error")
    );
    let killed = env.running(&pod, &config, "k", &["sleep", "1000"]).await;
    env.stop(&killed, 0).await.unwrap();
    assert_eq!(env.status(&killed).await.unwrap().exit_code, 137);
    let negative = env
        .running(
            &pod,
            &config,
            "n",
            &["sh", "-c", "trap '' TERM; sleep 1000"],
        )
        .await;
    env.stop(&negative, -1).await.unwrap();
    assert_eq!(env.status(&negative).await.unwrap().exit_code, 137);
    let trapping = env
        .running(
            &pod,
            &config,
            "t",
            &[
                "sh",
                "-c",
                "trap 'exit 0' TERM; while true; do sleep 0.05; done",
            ],
        )
        .await;
    env.stop(&trapping, 5).await.unwrap();
    let status = env.status(&trapping).await.unwrap();
    assert_eq!((status.exit_code, status.reason.as_str()), (0, "Completed"));
    // Stopping again changes nothing.
    env.stop(&trapping, 5).await.unwrap();
    assert_eq!(env.status(&trapping).await.unwrap().exit_code, 0);
}

#[tokio::test]
async fn a_term_ignoring_container_is_killed_after_the_grace_period() {
    let mut env = start().await;
    let (pod, config) = env.pod("grace").await;
    let id = env
        .running(
            &pod,
            &config,
            "c",
            &["sh", "-c", "trap '' TERM; sleep 1000"],
        )
        .await;
    let started = std::time::Instant::now();
    env.stop(&id, 1).await.unwrap();
    let elapsed = started.elapsed();
    let status = env.status(&id).await.unwrap();
    assert_eq!((status.exit_code, status.reason.as_str()), (137, "Error"));
    assert!(
        elapsed >= std::time::Duration::from_secs(1),
        "SIGKILL only after the grace period ({elapsed:?})"
    );
}

#[tokio::test]
async fn the_image_stop_signal_is_used_instead_of_sigterm() {
    let image = cri_fake::Image::builder("docker.io/library/sigint:1")
        .cmd(["sleep", "1000"])
        .env("PATH=/bin")
        .stop_signal("SIGINT")
        .build()
        .unwrap();
    let mut env = start_with(cri_fake::FakeRuntime::builder().image(image)).await;
    let (pod, config) = env.pod("sig").await;
    let mut c = container_config("c", &[]);
    c.image = Some(ImageSpec {
        image: "sigint:1".into(),
        ..Default::default()
    });
    let id = env.create(&pod, &config, c).await.unwrap();
    env.start(&id).await.unwrap();
    env.stop(&id, 5).await.unwrap();
    assert_eq!(env.status(&id).await.unwrap().exit_code, 130);
}

#[tokio::test]
async fn stopping_a_created_container_leaves_it_created() {
    let mut env = start().await;
    let (pod, config) = env.pod("sc").await;
    let id = env
        .create(&pod, &config, container_config("c", &["sleep", "1"]))
        .await
        .unwrap();
    env.stop(&id, 0).await.unwrap();
    assert_eq!(
        env.status(&id).await.unwrap().state,
        ContainerState::ContainerCreated as i32
    );
}

#[tokio::test]
async fn remove_kills_a_running_container_and_a_removed_id_is_fine_to_remove_and_in_2_3_to_stop() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("rm").await;
        let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
        env.remove(&id).await.unwrap();
        let not_found = format!("an error occurred when try to find container \"{id}\": not found");
        assert_status(env.status(&id).await, Code::NotFound, &not_found);
        env.remove(&id).await.unwrap();
        assert_status(
            env.remove("").await,
            Code::Unknown,
            match profile {
                Profile::Containerd23 => {
                    "an error occurred when try to find container \"\": prefix can't be empty"
                }
                Profile::Containerd16 => {
                    "an error occurred when try to find container \"\": Prefix can't be empty"
                }
            },
        );
        match profile {
            Profile::Containerd23 => env.stop(&id, 0).await.unwrap(),
            Profile::Containerd16 => {
                assert_status(env.stop(&id, 0).await, Code::NotFound, &not_found)
            }
        }
        assert_status(env.start(&id).await, Code::NotFound, &not_found);
        // The name is free again.
        env.create(&pod, &config, container_config("c", &["true"]))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn stopping_a_sandbox_kills_running_containers_and_keeps_created_ones() {
    let mut env = start().await;
    let (pod, config) = env.pod("sbk").await;
    let running = env
        .running(
            &pod,
            &config,
            "r",
            &["sh", "-c", "trap '' TERM; sleep 1000"],
        )
        .await;
    let created = env
        .create(&pod, &config, container_config("c", &["sleep", "1"]))
        .await
        .unwrap();
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .unwrap();
    let status = env.status(&running).await.unwrap();
    assert_eq!(
        (status.state, status.exit_code),
        (ContainerState::ContainerExited as i32, 137)
    );
    assert_eq!(
        env.status(&created).await.unwrap().state,
        ContainerState::ContainerCreated as i32
    );
    assert_eq!(
        env.list_containers(ContainerFilter::default()).await.len(),
        2
    );
    env.rt
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: pod,
        })
        .await
        .unwrap();
    assert!(
        env.list_containers(ContainerFilter::default())
            .await
            .is_empty()
    );
    assert_eq!(
        env.status(&running).await.unwrap_err().code(),
        Code::NotFound
    );
}

#[tokio::test]
async fn removing_a_ready_sandbox_removes_it_and_its_running_containers() {
    let mut env = start().await;
    let (pod, config) = env.pod("rmready").await;
    let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
    env.rt
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: pod[..12].into(),
        })
        .await
        .unwrap();
    assert_eq!(env.status(&id).await.unwrap_err().code(), Code::NotFound);
    assert!(env.list_pods(PodSandboxFilter::default()).await.is_empty());
}

#[tokio::test]
async fn status_and_list_report_image_fields_differently_like_containerd() {
    let mut env = start().await;
    let (pod, config) = env.pod("img").await;
    let id = env
        .create(&pod, &config, container_config("c", &["true"]))
        .await
        .unwrap();
    let status = env.status(&id).await.unwrap();
    let listed = env
        .list_containers(ContainerFilter {
            id: id.clone(),
            ..Default::default()
        })
        .await
        .remove(0);
    assert_eq!(
        status.image.unwrap().image,
        "docker.io/library/busybox:1.36"
    );
    assert_eq!(listed.image.unwrap().image, "busybox:1.36");
    assert_eq!(listed.image_ref, status.image_ref);
    assert_eq!(listed.pod_sandbox_id, pod);
    assert_eq!(listed.state, ContainerState::ContainerCreated as i32);
}

#[tokio::test]
async fn list_containers_filters_by_id_pod_state_and_labels() {
    let mut env = start().await;
    let (pod_a, config_a) = env.pod("la").await;
    let (pod_b, config_b) = env.pod("lb").await;
    let mut a = container_config("a", &["sleep", "1000"]);
    a.labels = labels(&[("app", "x"), ("tier", "fe")]);
    let a = env.create(&pod_a, &config_a, a).await.unwrap();
    env.start(&a).await.unwrap();
    let b = env
        .create(&pod_b, &config_b, container_config("b", &["sleep", "1"]))
        .await
        .unwrap();
    let ids = |items: Vec<Container>| items.into_iter().map(|c| c.id).collect::<Vec<_>>();
    assert_eq!(
        ids(env
            .list_containers(ContainerFilter {
                id: a[..10].into(),
                ..Default::default()
            })
            .await),
        [a.as_str()]
    );
    assert_eq!(
        ids(env
            .list_containers(ContainerFilter {
                pod_sandbox_id: pod_b[..10].into(),
                ..Default::default()
            })
            .await),
        [b.as_str()]
    );
    let running = Some(ContainerStateValue {
        state: ContainerState::ContainerRunning as i32,
    });
    let created = Some(ContainerStateValue {
        state: ContainerState::ContainerCreated as i32,
    });
    assert_eq!(
        ids(env
            .list_containers(ContainerFilter {
                state: running,
                ..Default::default()
            })
            .await),
        [a.as_str()]
    );
    assert_eq!(
        ids(env
            .list_containers(ContainerFilter {
                state: created,
                ..Default::default()
            })
            .await),
        [b.as_str()]
    );
    assert_eq!(
        ids(env
            .list_containers(ContainerFilter {
                label_selector: labels(&[("app", "x")]),
                ..Default::default()
            })
            .await),
        [a.as_str()]
    );
    assert!(
        env.list_containers(ContainerFilter {
            id: a.clone(),
            pod_sandbox_id: pod_b.clone(),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        env.list_containers(ContainerFilter {
            id: a.clone(),
            state: created,
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        env.list_containers(ContainerFilter {
            pod_sandbox_id: "f".repeat(64),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        env.list_containers(ContainerFilter {
            id: pod_a.clone(),
            ..Default::default()
        })
        .await
        .is_empty(),
        "sandbox ids are another namespace"
    );
}

#[tokio::test]
async fn update_container_resources_merges_and_sets_swap_to_the_memory_limit() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("upd").await;
        let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
        let update = |linux: LinuxContainerResources| UpdateContainerResourcesRequest {
            container_id: id.clone(),
            linux: Some(linux),
            ..Default::default()
        };
        env.rt
            .update_container_resources(update(LinuxContainerResources {
                cpu_shares: 256,
                memory_limit_in_bytes: 64 << 20,
                ..Default::default()
            }))
            .await
            .unwrap();
        env.rt
            .update_container_resources(update(LinuxContainerResources {
                cpu_quota: 20000,
                cpu_period: 100000,
                ..Default::default()
            }))
            .await
            .unwrap();
        let resources = env
            .status(&id)
            .await
            .unwrap()
            .resources
            .unwrap()
            .linux
            .unwrap();
        assert_eq!(
            resources,
            LinuxContainerResources {
                cpu_shares: 256,
                cpu_quota: 20000,
                cpu_period: 100000,
                memory_limit_in_bytes: 64 << 20,
                memory_swap_limit_in_bytes: 64 << 20,
                ..Default::default()
            }
        );
        let too_low = env
            .rt
            .update_container_resources(update(LinuxContainerResources {
                memory_limit_in_bytes: 4096,
                ..Default::default()
            }))
            .await;
        assert_eq!(too_low.unwrap_err().code(), Code::Unknown);
        assert_eq!(
            env.status(&id)
                .await
                .unwrap()
                .resources
                .unwrap()
                .linux
                .unwrap()
                .memory_limit_in_bytes,
            64 << 20
        );
        assert_status(
            env.rt
                .update_container_resources(UpdateContainerResourcesRequest {
                    container_id: "f".repeat(64),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
            "failed to find container: not found",
        );
        assert_status(
            env.rt
                .update_container_resources(UpdateContainerResourcesRequest::default())
                .await,
            Code::Unknown,
            match profile {
                Profile::Containerd23 => "failed to find container: prefix can't be empty",
                Profile::Containerd16 => "failed to find container: Prefix can't be empty",
            },
        );
    }
}

#[tokio::test]
async fn container_ids_resolve_from_unique_prefixes_in_every_call() {
    let mut env = start().await;
    let (pod, config) = env.pod("prefix").await;
    let mut ids = Vec::new();
    for i in 0..17 {
        ids.push(
            env.create(
                &pod,
                &config,
                container_config(&format!("c{i}"), &["sleep", "1000"]),
            )
            .await
            .unwrap(),
        );
    }
    let id = ids[0].clone();
    env.start(&id[..12]).await.unwrap();
    assert_eq!(env.status(&id[..12]).await.unwrap().id, id);
    assert_eq!(
        env.exec(&id[..12], &["true"], 0).await.unwrap().exit_code,
        0
    );
    env.stop(&id[..12], 0).await.unwrap();
    let shared = shared_first_char(&ids).unwrap();
    let text = format!(
        "an error occurred when try to find container \"{shared}\": Multiple IDs found with provided prefix: {shared}"
    );
    assert_status(env.status(&shared).await, Code::Unknown, &text);
    assert_status(env.start(&shared).await, Code::Unknown, &text);
    assert_status(env.stop(&shared, 0).await, Code::Unknown, &text);
    assert_status(env.remove(&shared).await, Code::Unknown, &text);
    assert_status(
        env.exec(&shared, &["true"], 0).await,
        Code::Unknown,
        &format!(
            "failed to exec in container: failed to find container \"{shared}\" in store: Multiple IDs found with provided prefix: {shared}"
        ),
    );
    env.remove(&id[..12]).await.unwrap();
    assert_eq!(
        env.list_containers(ContainerFilter::default()).await.len(),
        16
    );
}

#[tokio::test]
async fn verbose_container_status_reports_a_pid_only_while_running() {
    let mut env = start().await;
    let (pod, config) = env.pod("vpid").await;
    let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
    let verbose = |env: &mut Env, id: String| {
        let mut rt = env.rt.clone();
        async move {
            let response = rt
                .container_status(ContainerStatusRequest {
                    container_id: id,
                    verbose: true,
                })
                .await
                .unwrap()
                .into_inner();
            serde_json::from_str::<serde_json::Value>(&response.info["info"]).unwrap()
        }
    };
    let info = verbose(&mut env, id.clone()).await;
    assert!(info["pid"].as_u64().unwrap() > 0);
    assert_eq!(info["sandboxID"], pod.as_str());
    assert_eq!(info["removing"], false);
    assert_eq!(info["config"]["metadata"]["name"], "c");
    env.stop(&id, 0).await.unwrap();
    assert_eq!(verbose(&mut env, id).await["pid"], 0);
}
