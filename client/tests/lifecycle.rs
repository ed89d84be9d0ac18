//! Every client method against the fake runtime: success paths, error paths with exact
//! codes and messages, validation before any RPC, and the client-side filters.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use cri_client::{Client, Code, Error, ListContainerOptions, ListPodOptions, Rpc};
use cri_fake::process::ProgramContext;
use cri_fake::{FakeRuntime, Listen, Profile};
use cri_proto::v1::{
    ContainerState, ImageSpec, ImageStatusRequest, PodSandboxState, PullImageRequest,
    VersionRequest,
};
use support::*;

const MISSING: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn ids(listed: &[cri_client::ListedContainer]) -> Vec<String> {
    let mut ids: Vec<String> = listed.iter().map(|c| c.container.id.clone()).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

// ---- connecting ----

#[tokio::test]
async fn connect_accepts_a_unix_url_and_a_plain_socket_path() {
    let fake = FakeRuntime::start().await.unwrap();
    let by_url = Client::connect(fake.endpoint(), Duration::from_secs(5))
        .await
        .unwrap();
    let path = fake.socket_path().unwrap().display().to_string();
    let by_path = cri_client::connect(path.clone(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(by_path.endpoint(), path);
    for client in [by_url, by_path] {
        let version = client.version().await.unwrap();
        assert_eq!(version.runtime_name, "containerd");
        assert_eq!(version.runtime_api_version, "v1");
    }
}

#[tokio::test]
async fn connect_reaches_a_fake_listening_on_tcp() {
    let fake = FakeRuntime::builder()
        .listen(Listen::Tcp("127.0.0.1:0".parse().unwrap()))
        .start()
        .await
        .unwrap();
    assert!(
        fake.endpoint().starts_with("tcp://127.0.0.1:"),
        "{}",
        fake.endpoint()
    );
    let client = Client::connect(fake.endpoint(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(client.version().await.unwrap().runtime_name, "containerd");
}

#[tokio::test]
async fn connect_to_a_removed_socket_fails_naming_the_endpoint() {
    let fake = FakeRuntime::start().await.unwrap();
    let endpoint = fake.endpoint().to_string();
    fake.shutdown().await;
    let err = Client::connect(endpoint.clone(), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Connect { endpoint: named, .. } if *named == endpoint),
        "{err:?}"
    );
    assert!(err.is_unavailable());
}

#[tokio::test]
async fn clones_share_one_connection_between_tasks() {
    let (_fake, client) = fake_and_client().await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.version().await.map(|v| v.runtime_name) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "containerd");
    }
}

#[tokio::test]
async fn the_raw_generated_clients_share_the_connection() {
    let (_fake, client) = fake_and_client().await;
    let version = client
        .runtime_client()
        .version(VersionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(version.runtime_name, "containerd");
    let images = client
        .image_client()
        .list_images(cri_proto::v1::ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images;
    assert_eq!(images.len(), 2);
}

#[tokio::test]
async fn the_default_receive_limit_accepts_a_16_mib_exec_answer() {
    // A program writing N zero bytes in one write (the shell applets are slow at 16 MiB).
    let fake = FakeRuntime::builder()
        .program("zeros", |ctx: ProgramContext| async move {
            let n: usize = ctx.args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0);
            let _ = ctx.stdout.write(Bytes::from(vec![0u8; n])).await;
            0
        })
        .start()
        .await
        .unwrap();
    let client = client_of(fake.endpoint()).await;
    assert_eq!(client.max_receive_message_size(), 16 * 1024 * 1024);
    let (_pod, id) = running_sleeper(&client, "big").await;
    // 16 MiB - 5 bytes of stdout: the encoded answer is exactly 16 MiB, four times
    // tonic's own default limit.
    let out = client
        .exec_sync(&id, ["zeros", "16777211"], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 16_777_211);
    assert!(out.stdout.iter().all(|b| *b == 0));
}

#[tokio::test]
async fn a_smaller_receive_limit_rejects_larger_answers_with_out_of_range() {
    let fake = FakeRuntime::start().await.unwrap();
    let client = Client::builder(fake.endpoint())
        .max_receive_message_size(1024)
        .connect()
        .await
        .unwrap();
    let (_pod, id) = running_sleeper(&client, "limit").await;
    let small = client
        .exec_sync(&id, ["head", "-c", "1000", "/dev/zero"], Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(small.stdout.len(), 1000);
    let err = client
        .exec_sync(&id, ["head", "-c", "2000", "/dev/zero"], Duration::ZERO)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::OutOfRange));
    assert_eq!(err.rpc(), Some(Rpc::ExecSync));
}

#[tokio::test]
async fn a_call_that_outlives_the_call_timeout_ends_with_deadline_exceeded() {
    let (_fake, proxy, _client) = proxied().await;
    proxy.faults().set("Version", Fault::Hang { times: 1 });
    let client = Client::builder(proxy.endpoint())
        .call_timeout(Duration::from_millis(200))
        .connect()
        .await
        .unwrap();
    let err = client.version().await.unwrap_err();
    assert!(
        matches!(err, Error::Timeout { rpc: Rpc::Version, after, .. } if after == Duration::from_millis(200)),
        "{err:?}"
    );
    assert!(err.is_deadline_exceeded());
    // The next call is answered: the connection survived the timeout.
    assert_eq!(client.version().await.unwrap().runtime_name, "containerd");
}

// ---- runtime ----

#[tokio::test]
async fn status_reports_the_runtime_ready() {
    let (_fake, client) = fake_and_client().await;
    let status = client.status(false).await.unwrap().status.unwrap();
    let ready = status
        .conditions
        .iter()
        .find(|c| c.r#type == "RuntimeReady")
        .unwrap();
    assert!(ready.status);
}

// ---- pods ----

#[tokio::test]
async fn run_pod_returns_a_64_hex_id_of_a_ready_pod() {
    let (_fake, client) = fake_and_client().await;
    let id = client
        .run_pod(&pod_config("web", "default"), "")
        .await
        .unwrap();
    assert_eq!(id.len(), 64);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let status = client.pod_status(&id, false).await.unwrap().status.unwrap();
    assert_eq!(status.id, id);
    assert_eq!(status.state, PodSandboxState::SandboxReady as i32);
    assert_eq!(status.metadata.unwrap().name, "web");
}

#[tokio::test]
async fn pod_status_has_one_info_key_verbose_or_not() {
    let (_fake, client) = fake_and_client().await;
    let id = client
        .run_pod(&pod_config("web", "default"), "")
        .await
        .unwrap();
    let verbose = client.pod_status(&id, true).await.unwrap();
    assert_eq!(verbose.info.keys().collect::<Vec<_>>(), ["info"]);
    let plain = client.pod_status(&id, false).await.unwrap();
    assert_eq!(plain.info.keys().collect::<Vec<_>>(), ["info"]);
}

#[tokio::test]
async fn pod_status_of_containerd_1_6_has_info_only_when_verbose() {
    let (_fake, client) = fake_and_client_of(Profile::Containerd16).await;
    let id = client
        .run_pod(&pod_config("web", "default"), "")
        .await
        .unwrap();
    let verbose = client.pod_status(&id, true).await.unwrap();
    assert_eq!(verbose.info.keys().collect::<Vec<_>>(), ["info"]);
    assert!(client.pod_status(&id, false).await.unwrap().info.is_empty());
}

#[tokio::test]
async fn run_pod_with_an_unknown_handler_fails_with_unknown() {
    let (_fake, client) = fake_and_client().await;
    let err = client
        .run_pod(&pod_config("web", "default"), "nope")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::Unknown));
    unknown_handler_sandbox_id(err.message().unwrap());
    assert_eq!(err.rpc(), Some(Rpc::RunPodSandbox));
}

#[tokio::test]
async fn run_pod_with_an_unknown_handler_on_containerd_1_6_fails_with_unknown() {
    let (_fake, client) = fake_and_client_of(Profile::Containerd16).await;
    let err = client
        .run_pod(&pod_config("web", "default"), "nope")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::Unknown));
    assert_eq!(
        err.message(),
        Some("failed to get sandbox runtime: no runtime for \"nope\" is configured")
    );
    assert_eq!(err.rpc(), Some(Rpc::RunPodSandbox));
}

#[tokio::test]
async fn run_pod_with_a_reserved_name_fails_with_each_releases_code() {
    for (profile, code) in [
        (Profile::Containerd23, Code::FailedPrecondition),
        (Profile::Containerd16, Code::Unknown),
    ] {
        let (_fake, client) = fake_and_client_of(profile).await;
        let first = client
            .run_pod(&pod_config("web", "default"), "")
            .await
            .unwrap();
        let err = client
            .run_pod(&pod_config("web", "default"), "")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(code), "{profile}");
        assert_eq!(
            err.message().unwrap(),
            format!(
                "failed to reserve sandbox name \"web_default_uid-web_0\": name \"web_default_uid-web_0\" is reserved for \"{first}\""
            )
        );
    }
}

#[tokio::test]
async fn stop_pod_makes_it_notready_and_is_idempotent() {
    let (_fake, client) = fake_and_client().await;
    let id = client
        .run_pod(&pod_config("web", "default"), "")
        .await
        .unwrap();
    client.stop_pod(&id).await.unwrap();
    client.stop_pod(&id).await.unwrap();
    let status = client.pod_status(&id, false).await.unwrap().status.unwrap();
    assert_eq!(status.state, PodSandboxState::SandboxNotready as i32);
}

#[tokio::test]
async fn stop_pod_of_a_missing_pod_succeeds() {
    let (_fake, client) = fake_and_client().await;
    client.stop_pod(MISSING).await.unwrap();
}

#[tokio::test]
async fn stop_pod_of_a_missing_pod_on_containerd_1_6_is_not_found_with_the_id() {
    let (_fake, client) = fake_and_client_of(Profile::Containerd16).await;
    let err = client.stop_pod(MISSING).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.message().unwrap(),
        format!("an error occurred when try to find sandbox \"{MISSING}\": not found")
    );
    assert_eq!(err.ids().unwrap().pod_id.as_deref(), Some(MISSING));
}

#[tokio::test]
async fn pod_status_of_a_removed_pod_is_not_found() {
    let (_fake, client) = fake_and_client().await;
    let id = client
        .run_pod(&pod_config("web", "default"), "")
        .await
        .unwrap();
    client.remove_pod(&id).await.unwrap();
    let err = client.pod_status(&id, false).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.message(),
        Some("an error occurred when try to find sandbox: not found")
    );
}

#[tokio::test]
async fn remove_pod_removes_a_ready_pod_and_its_containers() {
    let (fake, client) = fake_and_client().await;
    let (pod, container) = running_sleeper(&client, "web").await;
    client.remove_pod(&pod).await.unwrap();
    assert!(
        client
            .list_pods(&ListPodOptions::default())
            .await
            .unwrap()
            .is_empty()
    );
    let err = client
        .container_status(&container, false)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    drop(fake);
}

#[tokio::test]
async fn remove_pod_of_a_missing_pod_succeeds() {
    let (_fake, client) = fake_and_client().await;
    client.remove_pod(MISSING).await.unwrap();
}

#[tokio::test]
async fn pod_methods_reject_an_empty_id_without_any_rpc() {
    let (_fake, proxy, client) = proxied().await;
    let errors = [
        client.stop_pod("").await.unwrap_err(),
        client.remove_pod("").await.unwrap_err(),
        client.pod_status("", false).await.unwrap_err(),
    ];
    for err in errors {
        assert!(err.is_rejected_argument(), "{err:?}");
    }
    assert_eq!(proxy.faults().total_calls(), 0);
}

#[tokio::test]
async fn list_pods_filters_by_id_state_and_labels() {
    let (_fake, client) = fake_and_client().await;
    let mut labelled = pod_config("a", "default");
    labelled.labels = HashMap::from([("app".into(), "web".into()), ("tier".into(), "fe".into())]);
    let a = client.run_pod(&labelled, "").await.unwrap();
    let b = client
        .run_pod(&pod_config("b", "default"), "")
        .await
        .unwrap();
    client.stop_pod(&b).await.unwrap();

    let list = |options: ListPodOptions| {
        let client = client.clone();
        async move {
            sorted(
                client
                    .list_pods(&options)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|p| p.id)
                    .collect(),
            )
        }
    };
    assert_eq!(
        list(ListPodOptions::default()).await,
        sorted(vec![a.clone(), b.clone()])
    );
    assert_eq!(
        list(ListPodOptions {
            state: Some("ready".into()),
            ..Default::default()
        })
        .await,
        [a.as_str()]
    );
    assert_eq!(
        list(ListPodOptions {
            state: Some("NotReady".into()),
            ..Default::default()
        })
        .await,
        [b.as_str()]
    );
    assert_eq!(
        list(ListPodOptions {
            id: Some(b[..12].into()),
            ..Default::default()
        })
        .await,
        [b.as_str()]
    );
    let by_label = ListPodOptions {
        labels: HashMap::from([("app".into(), "web".into())]),
        ..Default::default()
    };
    assert_eq!(list(by_label).await, [a.as_str()]);
    let wrong_value = ListPodOptions {
        labels: HashMap::from([("tier".into(), "".into())]),
        ..Default::default()
    };
    assert!(list(wrong_value).await.is_empty());
}

#[tokio::test]
async fn list_pods_rejects_an_unknown_state_before_any_rpc() {
    let (_fake, proxy, client) = proxied().await;
    let err = client
        .list_pods(&ListPodOptions {
            state: Some("running".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "list_pods: invalid state \"running\": expected ready or notready"
    );
    assert_eq!(proxy.faults().total_calls(), 0);
}

// ---- containers ----

#[tokio::test]
async fn create_container_without_pull_fails_for_an_absent_image() {
    let (_fake, client) = fake_and_client().await;
    let pod_config = pod_config("web", "default");
    let pod = client.run_pod(&pod_config, "").await.unwrap();
    let config = container_config("app", "docker.io/library/nope:1", &["sleep", "1000"]);
    let err = client
        .create_container(&pod, &pod_config, &config, false)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.message(),
        Some(
            "failed to check if this is a checkpoint image: failed to resolve image \"docker.io/library/nope:1\": not found"
        )
    );
    assert_eq!(err.rpc(), Some(Rpc::CreateContainer));
    let ids = err.ids().unwrap();
    assert_eq!(ids.pod_id.as_deref(), Some(pod.as_str()));
    assert_eq!(ids.image.as_deref(), Some("docker.io/library/nope:1"));
}

#[tokio::test]
async fn create_container_with_pull_pulls_with_the_sandbox_config_and_image_annotations() {
    let (_fake, proxy, client) = proxied().await;
    let pod_config = pod_config("web", "default");
    let pod = client.run_pod(&pod_config, "").await.unwrap();
    let mut config = container_config("app", "docker.io/library/alpine:3.19", &["sleep", "1000"]);
    if let Some(image) = config.image.as_mut() {
        image.annotations = HashMap::from([("io.example/pull".into(), "yes".into())]);
    }
    let id = client
        .create_container(&pod, &pod_config, &config, true)
        .await
        .unwrap();
    assert_eq!(id.len(), 64);

    let pulls: Vec<PullImageRequest> = proxy.faults().requests("PullImage");
    assert_eq!(pulls.len(), 1);
    let image = pulls[0].image.clone().unwrap();
    assert_eq!(image.image, "docker.io/library/alpine:3.19");
    assert_eq!(
        image.annotations,
        HashMap::from([("io.example/pull".to_string(), "yes".to_string())])
    );
    assert_eq!(pulls[0].sandbox_config.as_ref(), Some(&pod_config));
    assert_eq!(proxy.faults().calls("CreateContainer"), 1);
}

#[tokio::test]
async fn start_container_runs_it_and_a_second_start_fails_with_unknown() {
    let (fake, client) = fake_and_client().await;
    let pod_config = pod_config("web", "default");
    let pod = client.run_pod(&pod_config, "").await.unwrap();
    let id = client
        .create_container(&pod, &pod_config, &sleeper("app"), false)
        .await
        .unwrap();
    assert_eq!(state_of(&fake, &id).await, ContainerState::ContainerCreated);
    client.start_container(&id).await.unwrap();
    assert_eq!(state_of(&fake, &id).await, ContainerState::ContainerRunning);
    let err = client.start_container(&id).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::Unknown));
    assert_eq!(
        err.message().unwrap(),
        format!(
            "failed to set starting state for container \"{id}\": container is in CONTAINER_RUNNING state"
        )
    );
}

#[tokio::test]
async fn start_container_with_an_empty_id_is_rejected_without_any_rpc() {
    let (_fake, proxy, client) = proxied().await;
    let err = client.start_container("").await.unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidArgument {
            operation: "start_container",
            argument: "container id",
            ..
        }
    ));
    assert_eq!(proxy.faults().total_calls(), 0);
}

#[tokio::test]
async fn start_container_of_a_missing_container_is_not_found() {
    let (_fake, client) = fake_and_client().await;
    let err = client.start_container(MISSING).await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.message().unwrap(),
        format!("an error occurred when try to find container \"{MISSING}\": not found")
    );
}

#[tokio::test]
async fn stop_container_with_a_grace_period_ends_it_with_sigterm() {
    let (fake, client) = fake_and_client().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    client
        .stop_container(&id, Duration::from_secs(5), false, false)
        .await
        .unwrap();
    let status = client
        .container_status(&id, false)
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(status.state, ContainerState::ContainerExited as i32);
    assert_eq!(status.exit_code, 143);
    assert_eq!(status.reason, "Error");
    drop(fake);
}

#[tokio::test]
async fn stop_container_with_try_remove_removes_it() {
    let (_fake, client) = fake_and_client().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    client
        .stop_container(&id, Duration::ZERO, true, false)
        .await
        .unwrap();
    assert!(
        client
            .container_status(&id, false)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn stop_container_of_a_missing_container_succeeds() {
    let (_fake, client) = fake_and_client().await;
    client
        .stop_container(MISSING, Duration::from_secs(1), false, false)
        .await
        .unwrap();
    client
        .stop_container(MISSING, Duration::from_secs(1), true, true)
        .await
        .unwrap();
}

#[tokio::test]
async fn remove_container_removes_a_running_container_and_a_missing_one_is_fine() {
    let (_fake, client) = fake_and_client().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    client.remove_container(&id).await.unwrap();
    assert!(
        client
            .container_status(&id, false)
            .await
            .unwrap_err()
            .is_not_found()
    );
    client.remove_container(&id).await.unwrap();
}

#[tokio::test]
async fn container_status_verbose_info_names_the_process_id() {
    let (_fake, client) = fake_and_client().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    let response = client.container_status(&id, true).await.unwrap();
    let pid = cri_client::process_id(&id, &response).unwrap();
    assert!(pid > 0);
    let status = response.status.unwrap();
    assert_eq!(status.id, id);
    assert_eq!(status.state, ContainerState::ContainerRunning as i32);
}

#[tokio::test]
async fn container_methods_reject_an_empty_id_without_any_rpc() {
    let (_fake, proxy, client) = proxied().await;
    let errors = [
        client
            .stop_container("", Duration::ZERO, true, true)
            .await
            .unwrap_err(),
        client.remove_container("").await.unwrap_err(),
        client.container_status("", true).await.unwrap_err(),
        client
            .exec_sync("", ["true"], Duration::ZERO)
            .await
            .unwrap_err(),
        client
            .create_container("", &pod_config("p", "d"), &sleeper("c"), true)
            .await
            .unwrap_err(),
    ];
    for err in errors {
        assert!(err.is_rejected_argument(), "{err:?}");
    }
    assert_eq!(proxy.faults().total_calls(), 0);
}

#[tokio::test]
async fn run_containers_runs_the_pod_and_starts_every_container() {
    let (fake, client) = fake_and_client().await;
    let configs = [sleeper("one"), sleeper("two")];
    let run = client
        .run_containers(&pod_config("web", "default"), &configs, "")
        .await
        .unwrap();
    assert_eq!(run.container_ids.len(), 2);
    for id in &run.container_ids {
        assert_eq!(state_of(&fake, id).await, ContainerState::ContainerRunning);
        let status = client
            .container_status(id, false)
            .await
            .unwrap()
            .status
            .unwrap();
        assert_eq!(status.id, *id);
    }
    let names: Vec<String> = futures_names(&client, &run.container_ids).await;
    assert_eq!(names, ["one", "two"]);
    let pods = client.list_pods(&ListPodOptions::default()).await.unwrap();
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].id, run.pod_id);
}

async fn futures_names(client: &Client, ids: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for id in ids {
        let status = client
            .container_status(id, false)
            .await
            .unwrap()
            .status
            .unwrap();
        names.push(status.metadata.unwrap().name);
    }
    names
}

// ---- listing containers ----

struct Listing {
    web_app: String,
    web_sidecar: String,
    system_app: String,
    web_pod: String,
}

/// Pod "web" (namespace default): "app" (running, label tier=fe, created as the full
/// busybox name) and "sidecar" (exited, created as "busybox:1.36"). Pod "sys" (namespace
/// kube-system): "app" (created, from an alpine image pulled on the fly).
async fn listing(client: &Client) -> Listing {
    let web = pod_config("web", "default");
    let mut app = sleeper("app");
    app.labels = HashMap::from([("tier".into(), "fe".into())]);
    let sidecar = container_config("sidecar", "busybox:1.36", &["sleep", "1000"]);
    let run = client
        .run_containers(&web, &[app, sidecar], "")
        .await
        .unwrap();
    client
        .stop_container(&run.container_ids[1], Duration::ZERO, false, false)
        .await
        .unwrap();
    let sys = pod_config("sys", "kube-system");
    let sys_pod = client.run_pod(&sys, "").await.unwrap();
    let alpine = container_config("app", "docker.io/library/alpine:3.19", &["sleep", "1000"]);
    let system_app = client
        .create_container(&sys_pod, &sys, &alpine, true)
        .await
        .unwrap();
    Listing {
        web_app: run.container_ids[0].clone(),
        web_sidecar: run.container_ids[1].clone(),
        system_app,
        web_pod: run.pod_id,
    }
}

#[tokio::test]
async fn list_containers_applies_the_runtime_filters() {
    let (_fake, client) = fake_and_client().await;
    let l = listing(&client).await;
    let list = |options: ListContainerOptions| {
        let client = client.clone();
        async move { ids(&client.list_containers(&options).await.unwrap()) }
    };
    assert_eq!(
        list(ListContainerOptions::default()).await,
        sorted(vec![
            l.web_app.clone(),
            l.web_sidecar.clone(),
            l.system_app.clone()
        ])
    );
    assert_eq!(
        list(ListContainerOptions {
            id: Some(l.web_app[..10].into()),
            ..Default::default()
        })
        .await,
        [l.web_app.as_str()]
    );
    assert_eq!(
        list(ListContainerOptions {
            pod_id: Some(l.web_pod.clone()),
            ..Default::default()
        })
        .await,
        sorted(vec![l.web_app.clone(), l.web_sidecar.clone()])
    );
    assert_eq!(
        list(ListContainerOptions {
            state: Some("running".into()),
            ..Default::default()
        })
        .await,
        [l.web_app.as_str()]
    );
    assert_eq!(
        list(ListContainerOptions {
            state: Some("EXITED".into()),
            ..Default::default()
        })
        .await,
        [l.web_sidecar.as_str()]
    );
    assert_eq!(
        list(ListContainerOptions {
            state: Some("created".into()),
            ..Default::default()
        })
        .await,
        [l.system_app.as_str()]
    );
    assert!(
        list(ListContainerOptions {
            state: Some("unknown".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        list(ListContainerOptions {
            labels: HashMap::from([("tier".into(), "fe".into())]),
            ..Default::default()
        })
        .await,
        [l.web_app.as_str()]
    );
}

#[tokio::test]
async fn list_containers_filters_names_namespaces_and_images_on_the_client() {
    let (_fake, client) = fake_and_client().await;
    let l = listing(&client).await;
    let list = |options: ListContainerOptions| {
        let client = client.clone();
        async move { ids(&client.list_containers(&options).await.unwrap()) }
    };
    assert_eq!(
        list(ListContainerOptions {
            name_regexp: Some("^app$".into()),
            ..Default::default()
        })
        .await,
        sorted(vec![l.web_app.clone(), l.system_app.clone()])
    );
    assert_eq!(
        list(ListContainerOptions {
            name_regexp: Some("car".into()),
            ..Default::default()
        })
        .await,
        [l.web_sidecar.as_str()]
    );
    assert_eq!(
        list(ListContainerOptions {
            pod_namespace_regexp: Some("^kube-".into()),
            ..Default::default()
        })
        .await,
        [l.system_app.as_str()]
    );
    assert_eq!(
        list(ListContainerOptions {
            pod_namespace_regexp: Some("^default$".into()),
            ..Default::default()
        })
        .await,
        sorted(vec![l.web_app.clone(), l.web_sidecar.clone()])
    );
    // The sidecar was created as "busybox:1.36" and the app as the full name: both use
    // the busybox image, whichever way the filter names it.
    for name in [BUSYBOX, "busybox:1.36", BUSYBOX_ID, &BUSYBOX_ID[7..19]] {
        assert_eq!(
            list(ListContainerOptions {
                image: Some(name.into()),
                ..Default::default()
            })
            .await,
            sorted(vec![l.web_app.clone(), l.web_sidecar.clone()]),
            "image filter {name}"
        );
    }
    assert_eq!(
        list(ListContainerOptions {
            image: Some("alpine:3.19".into()),
            ..Default::default()
        })
        .await,
        [l.system_app.as_str()]
    );
    assert!(
        list(ListContainerOptions {
            image: Some("docker.io/library/nope:1".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    // Filters combine (AND).
    assert_eq!(
        list(ListContainerOptions {
            name_regexp: Some("app".into()),
            pod_namespace_regexp: Some("default".into()),
            image: Some(BUSYBOX.into()),
            state: Some("running".into()),
            ..Default::default()
        })
        .await,
        [l.web_app.as_str()]
    );
}

#[tokio::test]
async fn list_containers_verbose_carries_each_verbose_status() {
    let (_fake, client) = fake_and_client().await;
    let l = listing(&client).await;
    let plain = client
        .list_containers(&ListContainerOptions {
            pod_id: Some(l.web_pod.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(plain.iter().all(|c| c.status.is_none()));
    let verbose = client
        .list_containers(&ListContainerOptions {
            pod_id: Some(l.web_pod.clone()),
            verbose: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(verbose.len(), 2);
    for entry in verbose {
        let status = entry.status.unwrap();
        assert_eq!(status.status.unwrap().id, entry.container.id);
        assert_eq!(status.info.keys().collect::<Vec<_>>(), ["info"]);
    }
}

#[tokio::test]
async fn list_containers_rejects_bad_states_and_expressions_before_any_rpc() {
    let (_fake, proxy, client) = proxied().await;
    let bad = [
        (
            ListContainerOptions {
                state: Some("stopped".into()),
                ..Default::default()
            },
            "state",
            "stopped",
        ),
        (
            ListContainerOptions {
                name_regexp: Some("a(".into()),
                ..Default::default()
            },
            "name_regexp",
            "a(",
        ),
        (
            ListContainerOptions {
                pod_namespace_regexp: Some("[".into()),
                ..Default::default()
            },
            "pod_namespace_regexp",
            "[",
        ),
        (
            ListContainerOptions {
                image: Some(String::new()),
                ..Default::default()
            },
            "image",
            "",
        ),
    ];
    for (options, argument, value) in bad {
        match client.list_containers(&options).await.unwrap_err() {
            Error::InvalidArgument {
                operation,
                argument: got,
                value: got_value,
                ..
            } => {
                assert_eq!(
                    (operation, got, got_value.as_str()),
                    ("list_containers", argument, value)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(proxy.faults().total_calls(), 0);
}

// ---- images ----

#[tokio::test]
async fn list_images_lists_the_catalog() {
    let (_fake, client) = fake_and_client().await;
    let mut tags: Vec<String> = client
        .list_images(None)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|image| image.repo_tags)
        .collect();
    tags.sort();
    assert_eq!(tags, [BUSYBOX, PAUSE]);
    assert_eq!(client.list_images(Some("nope:1")).await.unwrap().len(), 2);
}

#[tokio::test]
async fn image_status_finds_present_images_and_answers_absent_ones_without_image() {
    let (_fake, client) = fake_and_client().await;
    let status = |image: &str| ImageStatusRequest {
        image: Some(ImageSpec {
            image: image.into(),
            ..Default::default()
        }),
        verbose: false,
    };
    let present = client.image_status(status("busybox:1.36")).await.unwrap();
    assert_eq!(present.image.unwrap().id, BUSYBOX_ID);
    let absent = client
        .image_status(status("docker.io/library/nope:1"))
        .await
        .unwrap();
    assert_eq!(absent.image, None);
    let err = client.image_status(status("")).await.unwrap_err();
    assert_eq!(err.code(), Some(Code::Unknown));
    assert_eq!(
        err.message(),
        Some("can not resolve \"\" locally: ambiguous digest string")
    );
    assert_eq!(err.rpc(), Some(Rpc::ImageStatus));
}

#[tokio::test]
async fn pull_then_remove_an_image() {
    let (_fake, client) = fake_and_client().await;
    let image_ref = client
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: "docker.io/library/alpine:3.19".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(image_ref.starts_with("sha256:"), "{image_ref}");
    let status = client
        .image_status(ImageStatusRequest {
            image: Some(ImageSpec {
                image: "alpine:3.19".into(),
                ..Default::default()
            }),
            verbose: false,
        })
        .await
        .unwrap();
    assert_eq!(status.image.unwrap().id, image_ref);
    client
        .remove_image("docker.io/library/alpine:3.19")
        .await
        .unwrap();
    client
        .remove_image("docker.io/library/alpine:3.19")
        .await
        .unwrap();
    let images = client.list_images(None).await.unwrap();
    assert!(images.iter().all(|image| image.id != image_ref));
}

#[tokio::test]
async fn pull_of_an_invalid_reference_fails_with_unknown() {
    let (_fake, client) = fake_and_client().await;
    let err = client
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: "UPPER/Case:1".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(Code::Unknown));
    assert_eq!(
        err.message(),
        Some(
            "failed to parse image reference \"UPPER/Case:1\": invalid reference format: repository name (Case) must be lowercase"
        )
    );
    assert_eq!(err.ids().unwrap().image.as_deref(), Some("UPPER/Case:1"));
}

#[tokio::test]
async fn remove_image_with_an_empty_reference_is_rejected_without_any_rpc() {
    let (_fake, proxy, client) = proxied().await;
    assert!(
        client
            .remove_image("")
            .await
            .unwrap_err()
            .is_rejected_argument()
    );
    assert_eq!(proxy.faults().total_calls(), 0);
}

// ---- exec ----

#[tokio::test]
async fn exec_sync_returns_stdout_stderr_and_exit_code_zero() {
    let (_fake, client) = fake_and_client().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    let out = client
        .exec_sync(
            &id,
            ["sh", "-c", "echo out; echo err >&2"],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice(), out.exit_code),
        (&b"out\n"[..], &b"err\n"[..], 0)
    );
}

#[tokio::test]
async fn exec_sync_turns_a_non_zero_exit_into_an_error_with_the_output() {
    let (_fake, client) = fake_and_client().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    let err = client
        .exec_sync(
            &id,
            ["sh", "-c", "echo out; echo err >&2; exit 3"],
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    match &err {
        Error::ExecExit {
            container_id,
            command,
            output,
        } => {
            assert_eq!(container_id, &id);
            assert_eq!(command, &["sh", "-c", "echo out; echo err >&2; exit 3"]);
            assert_eq!(output.stdout, b"out\n");
            assert_eq!(output.stderr, b"err\n");
            assert_eq!(output.exit_code, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    let out = client
        .exec_sync_output(&id, ["sh", "-c", "exit 3"], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 3);
}

#[tokio::test]
async fn exec_sync_timeout_is_deadline_exceeded_from_the_runtime() {
    let (_fake, client) = fake_and_client().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    let err = client
        .exec_sync(&id, ["sleep", "30"], Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(err.is_deadline_exceeded());
    assert_eq!(
        err.message(),
        Some("failed to exec in container: timeout 1s exceeded: context deadline exceeded")
    );
}

#[tokio::test]
async fn exec_sync_sends_the_timeout_in_whole_seconds() {
    let (_fake, proxy, client) = proxied().await;
    let (_pod, id) = running_sleeper(&client, "web").await;
    client
        .exec_sync(&id, ["true"], Duration::from_millis(1500))
        .await
        .unwrap();
    client
        .exec_sync(&id, ["true"], Duration::ZERO)
        .await
        .unwrap();
    let timeouts: Vec<i64> = proxy
        .faults()
        .requests::<cri_proto::v1::ExecSyncRequest>("ExecSync")
        .into_iter()
        .map(|r| r.timeout)
        .collect();
    assert_eq!(timeouts, [2, 0]);
}

#[tokio::test]
async fn exec_sync_in_a_missing_container_is_not_found() {
    let (_fake, client) = fake_and_client().await;
    let err = client
        .exec_sync(MISSING, ["true"], Duration::ZERO)
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.message().unwrap(),
        format!(
            "failed to exec in container: failed to find container \"{MISSING}\" in store: not found"
        )
    );
}
