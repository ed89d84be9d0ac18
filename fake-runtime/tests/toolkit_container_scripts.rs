//! Container scripts over a real socket: a matching container's main process exits
//! with a code after a delay, is OOM-killed, crash-loops, runs a program.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use cri_fake::process::ProgramContext;
use cri_fake::script::{ContainerScript, Reply, container_label, container_name, image};
use cri_proto::v1::*;

const WAIT: Duration = Duration::from_secs(10);

fn log_lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| line.split_once(' ').unwrap().1.to_string())
        .collect()
}

fn with_log(mut config: ContainerConfig, name: &str) -> ContainerConfig {
    config.log_path = format!("{name}.log");
    config
}

#[tokio::test]
async fn a_scripted_container_logs_its_output_and_exits_with_its_code_after_the_delay() {
    let mut env = start().await;
    ContainerScript::given(container_name("worker"))
        .respond_with(
            Reply::exit(3)
                .stdout("starting\n")
                .stderr("panic: boom\n")
                .delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&env.fake);
    let (pod, config) = env.pod("jobs").await;
    let id = env
        .create(
            &pod,
            &config,
            with_log(container_config("worker", &["sleep", "1000"]), "worker"),
        )
        .await
        .unwrap();
    env.start(&id).await.unwrap();
    let running = env.status(&id).await.unwrap();
    assert_eq!(running.state, ContainerState::ContainerRunning as i32);
    let exited = env
        .fake
        .wait_for_container_state(&id, ContainerState::ContainerExited, WAIT)
        .await
        .unwrap();
    assert_eq!((exited.exit_code, exited.reason.as_str()), (3, "Error"));
    assert!(exited.finished_at - exited.started_at >= 200_000_000);
    assert_eq!(
        log_lines(&exited.log_path),
        ["stdout F starting", "stderr F panic: boom"]
    );
    env.fake.verify();
}

#[tokio::test]
async fn an_oom_killed_container_exits_137_with_reason_oomkilled() {
    let mut env = start().await;
    ContainerScript::given(image("docker.io/library/busybox:1.36"))
        .and(container_label("tier", "cache"))
        .respond_with(Reply::oom_kill().delay(Duration::from_millis(50)))
        .mount(&env.fake);
    let (pod, config) = env.pod("cache").await;
    let mut cache = container_config("redis", &["sleep", "1000"]);
    cache.labels = labels(&[("tier", "cache")]);
    let id = env.create(&pod, &config, cache).await.unwrap();
    env.start(&id).await.unwrap();
    let other = env
        .running(&pod, &config, "sidecar", &["sleep", "1000"])
        .await;
    let exited = env
        .fake
        .wait_for_container_state(&id, ContainerState::ContainerExited, WAIT)
        .await
        .unwrap();
    assert_eq!(
        (exited.exit_code, exited.reason.as_str()),
        (137, "OOMKilled")
    );
    assert_eq!(
        env.status(&other).await.unwrap().state,
        ContainerState::ContainerRunning as i32
    );
}

#[tokio::test]
async fn a_crash_looping_container_crashes_n_times_then_runs_its_command() {
    let mut env = start().await;
    ContainerScript::given(container_name("api"))
        .respond_with(Reply::crash_loop(1).stderr("cannot connect to db\n"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&env.fake);
    let (pod, config) = env.pod("api").await;
    for attempt in 0..3u32 {
        let mut api = container_config("api", &["sleep", "1000"]);
        api.metadata.as_mut().unwrap().attempt = attempt;
        let id = env.create(&pod, &config, api).await.unwrap();
        env.start(&id).await.unwrap();
        if attempt < 2 {
            let exited = env
                .fake
                .wait_for_container_state(&id, ContainerState::ContainerExited, WAIT)
                .await
                .unwrap();
            assert_eq!(
                (exited.exit_code, exited.reason.as_str()),
                (1, "Error"),
                "attempt {attempt}"
            );
        } else {
            let ps = env.exec(&id, &["ps", "-o", "args"], 5).await.unwrap();
            // The pod's pause leads the PID namespace the container shares.
            assert_eq!(ps.stdout, b"COMMAND\n/pause\nsleep 1000\nps -o args\n");
        }
    }
    env.fake.verify();
}

#[tokio::test]
async fn a_container_can_run_a_program_that_completes() {
    let mut env = start().await;
    ContainerScript::given(container_name("migrate"))
        .respond_with(Reply::program(|ctx: ProgramContext| async move {
            let _ = ctx
                .out(format!("migrating with {}\n", ctx.args.join(" ")))
                .await;
            0
        }))
        .mount(&env.fake);
    let (pod, config) = env.pod("migrations").await;
    let id = env
        .create(
            &pod,
            &config,
            with_log(container_config("migrate", &["migrate", "--up"]), "migrate"),
        )
        .await
        .unwrap();
    env.start(&id).await.unwrap();
    let exited = env
        .fake
        .wait_for_container_state(&id, ContainerState::ContainerExited, WAIT)
        .await
        .unwrap();
    assert_eq!((exited.exit_code, exited.reason.as_str()), (0, "Completed"));
    assert_eq!(
        log_lines(&exited.log_path),
        ["stdout F migrating with migrate --up"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_that_exit_at_once_are_recorded_as_exited_on_a_multi_threaded_runtime() {
    let mut env = start().await;
    ContainerScript::given(container_name("instant"))
        .respond_with(Reply::exit(2))
        .mount(&env.fake);
    let (pod, config) = env.pod("instant").await;
    for attempt in 0..40u32 {
        let mut instant = container_config("instant", &["sleep", "1000"]);
        instant.metadata.as_mut().unwrap().attempt = attempt;
        let id = env.create(&pod, &config, instant).await.unwrap();
        env.start(&id).await.unwrap();
        let exited = env
            .fake
            .wait_for_container_state(&id, ContainerState::ContainerExited, WAIT)
            .await
            .unwrap();
        assert_eq!(
            (exited.exit_code, exited.reason.as_str()),
            (2, "Error"),
            "attempt {attempt}"
        );
    }
}
