//! RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus and ListPodSandbox
//! over a real socket, with containerd's exact codes and texts (reference §2, §4, §5).

mod common;

use common::*;
use cri_fake::Profile;
use cri_proto::v1::*;
use tonic::Code;

async fn sandbox_status(
    env: &mut Env,
    id: &str,
    verbose: bool,
) -> Result<PodSandboxStatusResponse, tonic::Status> {
    env.rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id.into(),
            verbose,
        })
        .await
        .map(|r| r.into_inner())
}

async fn stop_pod(env: &mut Env, id: &str) -> Result<(), tonic::Status> {
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: id.into(),
        })
        .await
        .map(|_| ())
}

async fn remove_pod(env: &mut Env, id: &str) -> Result<(), tonic::Status> {
    env.rt
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: id.into(),
        })
        .await
        .map(|_| ())
}

/// The 64-hex id `message` quotes right after `before` (containerd 2.3 names the new
/// sandbox in some RunPodSandbox failures, although the caller never learns its id).
#[track_caller]
fn id_quoted_after(status: &tonic::Status, before: &str) -> String {
    let message = status.message();
    let rest = message
        .strip_prefix(before)
        .and_then(|rest| rest.strip_prefix('"'))
        .unwrap_or_else(|| panic!("{message:?} does not start with {before:?}"));
    let id = rest.get(..64).unwrap_or_default();
    assert!(
        id.len() == 64
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "no 64-hex id quoted in {message:?}"
    );
    id.to_owned()
}

#[tokio::test]
async fn run_pod_sandbox_returns_a_64_hex_id_and_a_ready_status_echoing_the_config() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let mut config = pod_config("sb1");
        config.labels = labels(&[("app", "a")]);
        config.annotations = labels(&[("note", "n")]);
        let id = env.run_pod(config.clone()).await;
        assert_eq!(id.len(), 64);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );

        let response = sandbox_status(&mut env, &id, false).await.unwrap();
        match profile {
            // 2.3 always answers the `info` key: its sandbox info with nothing filled in.
            Profile::Containerd23 => {
                assert_eq!(response.info.keys().collect::<Vec<_>>(), ["info"]);
                let info: serde_json::Value = serde_json::from_str(&response.info["info"]).unwrap();
                assert_eq!(
                    info,
                    serde_json::json!({
                        "pid": 0,
                        "processStatus": "",
                        "netNamespaceClosed": false,
                        "image": "",
                        "snapshotKey": "",
                        "snapshotter": "",
                        "runtimeType": "",
                        "runtimeOptions": null,
                        "config": null,
                        "runtimeSpec": null,
                        "cniResult": null,
                        "sandboxMetadata": null,
                    })
                );
            }
            Profile::Containerd16 => assert!(response.info.is_empty(), "{:?}", response.info),
        }
        let status = response.status.unwrap();
        assert_eq!(status.id, id);
        assert_eq!(status.metadata, config.metadata);
        assert_eq!(status.state, PodSandboxState::SandboxReady as i32);
        assert!(
            status.created_at > 1_700_000_000_000_000_000,
            "created_at is in ns"
        );
        assert_eq!(status.network, Some(PodSandboxNetworkStatus::default()));
        let options = status.linux.unwrap().namespaces.unwrap().options.unwrap();
        assert_eq!(
            (options.network, options.pid, options.ipc),
            (
                NamespaceMode::Node as i32,
                NamespaceMode::Pod as i32,
                NamespaceMode::Pod as i32
            )
        );
        assert_eq!(status.labels, config.labels);
        assert_eq!(status.annotations, config.annotations);
        assert_eq!(status.runtime_handler, "");
    }
}

#[tokio::test]
async fn verbose_sandbox_status_has_one_info_key_with_each_releases_fields() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let id = env.run_pod(pod_config("verbose")).await;
        let response = sandbox_status(&mut env, &id, true).await.unwrap();
        assert_eq!(response.info.keys().collect::<Vec<_>>(), ["info"]);
        let info: serde_json::Value = serde_json::from_str(&response.info["info"]).unwrap();
        let mut keys: Vec<&str> = info
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        // 2.3 dropped `runtimeHandler` and added `sandboxMetadata`.
        let (handler_key, image) = match profile {
            Profile::Containerd23 => ("sandboxMetadata", "registry.k8s.io/pause:3.10.2"),
            Profile::Containerd16 => ("runtimeHandler", "registry.k8s.io/pause:3.6"),
        };
        let mut expected_keys = vec![
            "cniResult",
            "config",
            "image",
            "netNamespaceClosed",
            "pid",
            "processStatus",
            "runtimeOptions",
            "runtimeSpec",
            "runtimeType",
            "snapshotKey",
            "snapshotter",
            handler_key,
        ];
        expected_keys.sort_unstable();
        assert_eq!(keys, expected_keys);
        assert_eq!(info["processStatus"], "running");
        assert_eq!(info["snapshotKey"], id.as_str());
        assert_eq!(info["image"], image);
        assert_eq!(info["config"]["metadata"]["name"], "verbose");
        assert_eq!(
            info["config"]["linux"]["security_context"]["namespace_options"]["network"],
            2
        );
        assert_eq!(
            info["runtimeSpec"]["linux"]["cgroupsPath"],
            format!("/k8s.io/{id}")
        );
        assert!(info["pid"].as_u64().unwrap() > 0);
        match profile {
            Profile::Containerd23 => {
                let metadata = &info["sandboxMetadata"]["Metadata"];
                assert_eq!(metadata["ID"], id.as_str());
                assert_eq!(metadata["Name"], "verbose_test_uid-verbose_0");
                assert_eq!(metadata["RuntimeHandler"], "");
            }
            Profile::Containerd16 => assert_eq!(info["runtimeHandler"], ""),
        }

        stop_pod(&mut env, &id).await.unwrap();
        let info: serde_json::Value =
            serde_json::from_str(&sandbox_status(&mut env, &id, true).await.unwrap().info["info"])
                .unwrap();
        assert_eq!(info["pid"], 0);
        assert_eq!(info["processStatus"], "deleted");
    }
}

#[tokio::test]
async fn stop_is_idempotent_remove_of_a_missing_sandbox_succeeds_and_stopping_a_removed_one_only_in_2_3()
 {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let id = env.run_pod(pod_config("sb")).await;
        stop_pod(&mut env, &id).await.unwrap();
        stop_pod(&mut env, &id).await.unwrap();
        let status = sandbox_status(&mut env, &id, false)
            .await
            .unwrap()
            .status
            .unwrap();
        assert_eq!(status.state, PodSandboxState::SandboxNotready as i32);
        remove_pod(&mut env, &id).await.unwrap();
        remove_pod(&mut env, &id).await.unwrap();
        assert_status(
            sandbox_status(&mut env, &id, false).await,
            Code::NotFound,
            "an error occurred when try to find sandbox: not found",
        );
        match profile {
            Profile::Containerd23 => stop_pod(&mut env, &id).await.unwrap(),
            Profile::Containerd16 => assert_status(
                stop_pod(&mut env, &id).await,
                Code::NotFound,
                &format!("an error occurred when try to find sandbox \"{id}\": not found"),
            ),
        }
    }
}

#[tokio::test]
async fn missing_and_empty_sandbox_ids_answer_with_each_releases_codes_and_texts() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let missing = "deadbeef".repeat(8);
        assert_status(
            sandbox_status(&mut env, &missing, false).await,
            Code::NotFound,
            "an error occurred when try to find sandbox: not found",
        );
        match profile {
            Profile::Containerd23 => {
                stop_pod(&mut env, &missing).await.unwrap();
                // Also for an upper-case (non-matching) version of a real id.
                let id = env.run_pod(pod_config("upper")).await;
                stop_pod(&mut env, &id.to_uppercase()).await.unwrap();
                let status = sandbox_status(&mut env, &id, false)
                    .await
                    .unwrap()
                    .status
                    .unwrap();
                assert_eq!(
                    status.state,
                    PodSandboxState::SandboxReady as i32,
                    "stopping a non-matching id stops nothing"
                );
            }
            Profile::Containerd16 => assert_status(
                stop_pod(&mut env, &missing).await,
                Code::NotFound,
                &format!("an error occurred when try to find sandbox \"{missing}\": not found"),
            ),
        }
        remove_pod(&mut env, &missing).await.unwrap();
        let empty = match profile {
            Profile::Containerd23 => "prefix can't be empty",
            Profile::Containerd16 => "Prefix can't be empty",
        };
        assert_status(
            sandbox_status(&mut env, "", false).await,
            Code::Unknown,
            &format!("an error occurred when try to find sandbox: {empty}"),
        );
        assert_status(
            stop_pod(&mut env, "").await,
            Code::Unknown,
            &format!("an error occurred when try to find sandbox \"\": {empty}"),
        );
        assert_status(
            remove_pod(&mut env, "").await,
            Code::Unknown,
            &format!("an error occurred when try to find sandbox \"\": {empty}"),
        );
    }
}

#[tokio::test]
async fn a_sandbox_name_stays_reserved_until_the_sandbox_is_removed() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let config = pod_config("dup");
        let first = env.run_pod(config.clone()).await;
        let name = "dup_test_uid-dup_0";
        // The message is the same in both releases; 2.3 changed the code.
        let conflict_code = match profile {
            Profile::Containerd23 => Code::FailedPrecondition,
            Profile::Containerd16 => Code::Unknown,
        };
        let conflict_message = format!(
            "failed to reserve sandbox name \"{name}\": name \"{name}\" is reserved for \"{first}\""
        );
        let conflict = env
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            })
            .await;
        assert_status(conflict, conflict_code, &conflict_message);
        stop_pod(&mut env, &first).await.unwrap();
        // A NOTREADY sandbox still holds the name.
        let still = env
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            })
            .await;
        assert_status(still, conflict_code, &conflict_message);

        let mut next_attempt = config.clone();
        next_attempt.metadata.as_mut().unwrap().attempt = 1;
        env.run_pod(next_attempt).await;

        remove_pod(&mut env, &first).await.unwrap();
        let again = env.run_pod(config).await;
        assert_ne!(again, first);
    }
}

#[tokio::test]
async fn run_pod_sandbox_validates_metadata_handler_and_hostname_with_each_releases_texts() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let no_metadata = env
            .rt
            .run_pod_sandbox(RunPodSandboxRequest::default())
            .await;
        assert_status(
            no_metadata,
            Code::Unknown,
            "sandbox config must include metadata",
        );
        let mut config = pod_config("h");
        config.metadata = None;
        let result = env
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config),
                runtime_handler: String::new(),
            })
            .await;
        assert_status(
            result,
            Code::Unknown,
            "sandbox config must include metadata",
        );

        let result = env
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(pod_config("h")),
                runtime_handler: "nope".into(),
            })
            .await;
        let expected = match profile {
            Profile::Containerd23 => {
                let before = "unable to get OCI runtime for sandbox ";
                let new_id = id_quoted_after(result.as_ref().unwrap_err(), before);
                assert_status(
                    sandbox_status(&mut env, &new_id, false).await,
                    Code::NotFound,
                    "an error occurred when try to find sandbox: not found",
                );
                format!("{before}\"{new_id}\": no runtime for \"nope\" is configured")
            }
            Profile::Containerd16 => {
                "failed to get sandbox runtime: no runtime for \"nope\" is configured".to_owned()
            }
        };
        assert_status(result, Code::Unknown, &expected);

        let id = env
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(pod_config("h")),
                runtime_handler: "runc".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .pod_sandbox_id;
        let status = sandbox_status(&mut env, &id, false)
            .await
            .unwrap()
            .status
            .unwrap();
        assert_eq!(status.runtime_handler, "runc");

        let mut named = pod_config("named");
        named.hostname = "myhost".into();
        let result = env
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(named.clone()),
                runtime_handler: String::new(),
            })
            .await;
        let runc = "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to set hostname without a private UTS namespace";
        let expected = match profile {
            Profile::Containerd23 => {
                let before = "failed to start sandbox ";
                let new_id = id_quoted_after(result.as_ref().unwrap_err(), before);
                assert_status(
                    sandbox_status(&mut env, &new_id, false).await,
                    Code::NotFound,
                    "an error occurred when try to find sandbox: not found",
                );
                format!("{before}\"{new_id}\": {runc}")
            }
            Profile::Containerd16 => format!("{runc}: unknown"),
        };
        assert_status(result, Code::Unknown, &expected);
        assert!(
            env.list_pods(PodSandboxFilter::default())
                .await
                .iter()
                .all(|p| p.metadata.as_ref().unwrap().name != "named")
        );
        named.hostname.clear();
        env.run_pod(named).await;
    }
}

#[tokio::test]
async fn empty_names_and_uids_are_accepted() {
    let mut env = start().await;
    let mut config = pod_config("");
    config.metadata.as_mut().unwrap().uid.clear();
    config.metadata.as_mut().unwrap().namespace.clear();
    let id = env.run_pod(config).await;
    assert_eq!(id.len(), 64);
}

#[tokio::test]
async fn pod_network_sandboxes_get_unique_ips_and_host_network_ones_none() {
    let mut env = start().await;
    let mut a = pod_config("a");
    a.linux = None;
    let mut b = pod_config("b");
    b.linux = None;
    let a = env.run_pod(a).await;
    let b = env.run_pod(b).await;
    let ip_a = sandbox_status(&mut env, &a, false)
        .await
        .unwrap()
        .status
        .unwrap()
        .network
        .unwrap()
        .ip;
    let ip_b = sandbox_status(&mut env, &b, false)
        .await
        .unwrap()
        .status
        .unwrap()
        .network
        .unwrap()
        .ip;
    assert!(ip_a.starts_with("10.88."), "{ip_a}");
    assert!(ip_b.starts_with("10.88."), "{ip_b}");
    assert_ne!(ip_a, ip_b);
}

#[tokio::test]
async fn list_pod_sandbox_filters_by_id_prefix_state_and_label_subset_anded() {
    let mut env = start().await;
    let mut a = pod_config("a");
    a.labels = labels(&[("suite", "s"), ("app", "a"), ("tier", "fe")]);
    a.annotations = labels(&[("anno", "x")]);
    let mut b = pod_config("b");
    b.labels = labels(&[("suite", "s"), ("app", "b")]);
    let a = env.run_pod(a).await;
    let b = env.run_pod(b).await;
    stop_pod(&mut env, &b).await.unwrap();

    let ids = |items: Vec<PodSandbox>| {
        let mut ids: Vec<String> = items.into_iter().map(|p| p.id).collect();
        ids.sort();
        ids
    };
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(ids(env.list_pods(PodSandboxFilter::default()).await), both);
    assert_eq!(
        ids(env
            .list_pods(PodSandboxFilter {
                id: a[..12].into(),
                ..Default::default()
            })
            .await),
        [a.as_str()]
    );
    assert_eq!(
        ids(env
            .list_pods(PodSandboxFilter {
                id: "f".repeat(64),
                ..Default::default()
            })
            .await),
        Vec::<String>::new()
    );
    let ready = Some(PodSandboxStateValue {
        state: PodSandboxState::SandboxReady as i32,
    });
    let not_ready = Some(PodSandboxStateValue {
        state: PodSandboxState::SandboxNotready as i32,
    });
    assert_eq!(
        ids(env
            .list_pods(PodSandboxFilter {
                state: ready,
                ..Default::default()
            })
            .await),
        [a.as_str()]
    );
    assert_eq!(
        ids(env
            .list_pods(PodSandboxFilter {
                state: not_ready,
                ..Default::default()
            })
            .await),
        [b.as_str()]
    );
    assert_eq!(
        ids(env
            .list_pods(PodSandboxFilter {
                label_selector: labels(&[("suite", "s")]),
                ..Default::default()
            })
            .await),
        both
    );
    assert_eq!(
        ids(env
            .list_pods(PodSandboxFilter {
                label_selector: labels(&[("suite", "s"), ("app", "a")]),
                ..Default::default()
            })
            .await),
        [a.as_str()]
    );
    assert!(
        env.list_pods(PodSandboxFilter {
            label_selector: labels(&[("tier", "")]),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        env.list_pods(PodSandboxFilter {
            label_selector: labels(&[("anno", "x")]),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        env.list_pods(PodSandboxFilter {
            id: a.clone(),
            state: not_ready,
            ..Default::default()
        })
        .await
        .is_empty()
    );

    let item = env
        .list_pods(PodSandboxFilter {
            id: a.clone(),
            ..Default::default()
        })
        .await
        .remove(0);
    assert_eq!(item.annotations, labels(&[("anno", "x")]));
    assert_eq!(item.state, PodSandboxState::SandboxReady as i32);
    remove_pod(&mut env, &b).await.unwrap();
    assert_eq!(ids(env.list_pods(PodSandboxFilter::default()).await), [a]);
}

#[tokio::test]
async fn sandbox_ids_resolve_from_any_unique_prefix_and_ambiguous_ones_fail() {
    let mut env = start().await;
    let mut ids = Vec::new();
    for i in 0..17 {
        ids.push(env.run_pod(pod_config(&format!("p{i}"))).await);
    }
    let status = sandbox_status(&mut env, &ids[0][..12], false)
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(status.id, ids[0]);
    let shared = shared_first_char(&ids).expect("17 ids share a first hex digit");
    assert_status(
        sandbox_status(&mut env, &shared, false).await,
        Code::Unknown,
        &format!(
            "an error occurred when try to find sandbox: Multiple IDs found with provided prefix: {shared}"
        ),
    );
    assert_status(
        stop_pod(&mut env, &shared).await,
        Code::Unknown,
        &format!(
            "an error occurred when try to find sandbox \"{shared}\": Multiple IDs found with provided prefix: {shared}"
        ),
    );
    assert!(
        env.list_pods(PodSandboxFilter {
            id: shared.clone(),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_status(
        sandbox_status(&mut env, &ids[0].to_uppercase(), false).await,
        Code::NotFound,
        "an error occurred when try to find sandbox: not found",
    );
    stop_pod(&mut env, &ids[1][..12]).await.unwrap();
    remove_pod(&mut env, &ids[1][..12]).await.unwrap();
    assert_eq!(env.list_pods(PodSandboxFilter::default()).await.len(), 16);
}
