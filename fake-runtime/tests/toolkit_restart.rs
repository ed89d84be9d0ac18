//! Simulated runtime restarts over a real socket: every connection drops, in-flight
//! calls fail, clients reconnect; the state is kept or lost; scripts, faults and the
//! journal survive.

mod common;

use std::time::Duration;

use common::*;
use cri_fake::faults::{Fault, Gate};
use cri_fake::restart::{Restart, RestartMode};
use cri_fake::script::{ExecScript, Reply, command};
use cri_fake::{FakeRuntime, Method, Outcome};
use cri_proto::v1::*;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(10);

/// Retries a call until the client has reconnected (the first call after a restart
/// may fail with UNAVAILABLE while its connection is re-established).
async fn list_pods(env: &mut Env) -> Vec<PodSandbox> {
    for _ in 0..100 {
        match env
            .rt
            .list_pod_sandbox(ListPodSandboxRequest::default())
            .await
        {
            Ok(reply) => return reply.into_inner().items,
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{}", status.message());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    panic!("the client never reconnected");
}

#[tokio::test]
async fn a_restart_keeping_state_fails_in_flight_calls_and_keeps_sandboxes_and_running_containers()
{
    let mut env = start().await;
    let (pod, config) = env.pod("kept").await;
    let id = env.running(&pod, &config, "app", &["sleep", "1000"]).await;
    let gate = Gate::new();
    let _held = Fault::on(Method::Version).block(&gate).mount(&env.fake);
    let mut client = env.fake.runtime_client();
    let in_flight = tokio::spawn(async move { client.version(VersionRequest::default()).await });
    gate.wait_for_blocked(1, WAIT).await.unwrap();

    env.fake.restart(RestartMode::KeepState).await.unwrap();
    let failed = in_flight.await.unwrap().unwrap_err();
    assert_eq!(failed.code(), Code::Unknown, "{}", failed.message());
    assert_eq!(gate.blocked(), 0);
    let call = env
        .fake
        .journal()
        .wait_for_reply(Method::Version, WAIT)
        .await
        .unwrap();
    assert_eq!(call.outcome, Outcome::Cancelled);

    let pods = list_pods(&mut env).await;
    assert_eq!(pods.iter().map(|p| p.id.clone()).collect::<Vec<_>>(), [pod]);
    assert_eq!(
        env.status(&id).await.unwrap().state,
        ContainerState::ContainerRunning as i32
    );
    assert_eq!(
        env.exec(&id, &["echo", "still here"], 5)
            .await
            .unwrap()
            .stdout,
        b"still here\n"
    );
}

#[tokio::test]
async fn a_restart_losing_state_forgets_everything_and_kills_every_process() {
    let mut env = start().await;
    let (pod, config) = env.pod("lost").await;
    let id = env.running(&pod, &config, "app", &["sleep", "1000"]).await;
    let pulled = env
        .img
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: "nginx:1.25".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .image_ref;
    let old = env.fake.runtime().clone();
    env.fake.restart(RestartMode::LoseState).await.unwrap();

    assert!(list_pods(&mut env).await.is_empty());
    assert_status(
        env.status(&id).await,
        Code::NotFound,
        &format!("an error occurred when try to find container \"{id}\": not found"),
    );
    let images: Vec<String> = env
        .img
        .list_images(ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert!(!images.contains(&pulled));
    assert_eq!(images.len(), 2, "back to the built-in busybox and pause");
    // The old runtime's processes are gone: its container exited when it was killed.
    let old_state = old
        .store()
        .read(|s| s.containers.get(&id).map(|c| (c.phase, c.exit_code)));
    assert_eq!(
        old_state,
        Some((cri_fake::state::ContainerPhase::Exited, 137))
    );
    // A sandbox of the same name can be created again.
    env.run_pod(pod_config("lost")).await;
}

#[tokio::test]
async fn during_the_downtime_connections_are_refused_then_the_fake_serves_again() {
    let env = start().await;
    let Env { fake, mut rt, .. } = env;
    let restarting = tokio::spawn(async move {
        let mut fake = fake;
        fake.restart(Restart {
            mode: RestartMode::KeepState,
            downtime: Duration::from_secs(2),
        })
        .await
        .unwrap();
        fake
    });
    // Calls succeed until the restart begins, then fail as refused connections.
    let mut refused = None;
    for _ in 0..150 {
        match rt.version(VersionRequest::default()).await {
            Err(status) if status.code() == Code::Unavailable => {
                refused = Some(status);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    assert_eq!(refused.map(|s| s.code()), Some(Code::Unavailable));
    let fake = restarting.await.unwrap();
    let mut served = None;
    for _ in 0..100 {
        match rt.version(VersionRequest::default()).await {
            Ok(reply) => {
                served = Some(reply.into_inner());
                break;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{}", status.message());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    assert_eq!(served.unwrap().runtime_name, "containerd");
    fake.shutdown().await;
}

#[tokio::test]
async fn scripts_faults_and_the_journal_survive_a_restart_that_loses_state() {
    let mut env = start_with(FakeRuntime::builder()).await;
    ExecScript::given(command(["probe"]))
        .respond_with(Reply::exit(9))
        .expect(1)
        .mount(&env.fake);
    let _down = Fault::on(Method::ImageFsInfo)
        .fail_with(Code::Internal, "disk")
        .mount(&env.fake);
    env.rt.version(VersionRequest::default()).await.unwrap();
    env.fake.restart(RestartMode::LoseState).await.unwrap();
    list_pods(&mut env).await;
    let (pod, config) = env.pod("after").await;
    let id = env.running(&pod, &config, "app", &["sleep", "1000"]).await;
    assert_eq!(env.exec(&id, &["probe"], 5).await.unwrap().exit_code, 9);
    assert_status(
        env.img.image_fs_info(ImageFsInfoRequest {}).await,
        Code::Internal,
        "disk",
    );
    assert_eq!(env.fake.calls()[0].method, Method::Version);
    env.fake.verify();
}

#[tokio::test]
async fn in_memory_and_tcp_fakes_serve_again_on_the_same_endpoint_after_a_restart() {
    for listen in [
        cri_fake::Listen::InMemory,
        cri_fake::Listen::Tcp("127.0.0.1:0".parse().unwrap()),
    ] {
        let mut env = start_with(FakeRuntime::builder().listen(listen.clone())).await;
        let endpoint = env.fake.endpoint().to_string();
        let pod = env.run_pod(pod_config("same")).await;
        env.fake
            .restart(Restart {
                mode: RestartMode::KeepState,
                downtime: Duration::from_millis(50),
            })
            .await
            .unwrap();
        assert_eq!(env.fake.endpoint(), endpoint);
        let ids: Vec<String> = list_pods(&mut env)
            .await
            .into_iter()
            .map(|p| p.id)
            .collect();
        assert_eq!(ids, [pod], "{listen:?}");
        env.fake.shutdown().await;
    }
}
