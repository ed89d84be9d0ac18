//! Exec scripts over a real socket: matching, replies, precedence, fall-back to the
//! simulation, expectations and their reports.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::*;
use cri_fake::process::ProgramContext;
use cri_fake::script::{
    ExecScript, Invocation, Reply, command, command_fn, command_prefix, command_regex,
    container_name, pod_label,
};
use cri_fake::{FakeRuntime, Method, Profile};
use tonic::Code;

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

async fn sleeping(env: &mut Env, pod: &str, name: &str) -> String {
    let (pod_id, config) = env.pod(pod).await;
    env.running(&pod_id, &config, name, &["sleep", "1000"])
        .await
}

#[tokio::test]
async fn a_scripted_exec_answers_with_its_output_and_exit_code_and_other_commands_run_in_the_simulation()
 {
    let mut env = start().await;
    ExecScript::given(command(["cat", "/etc/os-release"]))
        .respond_with(Reply::exit(3).stdout("ID=alpine\n").stderr("warning\n"))
        .expect(1)
        .mount(&env.fake);
    let id = sleeping(&mut env, "web", "app").await;
    let scripted = env.exec(&id, &["cat", "/etc/os-release"], 5).await.unwrap();
    assert_eq!(
        (
            scripted.stdout.as_slice(),
            scripted.stderr.as_slice(),
            scripted.exit_code
        ),
        (&b"ID=alpine\n"[..], &b"warning\n"[..], 3)
    );
    let simulated = env
        .exec(&id, &["sh", "-c", "echo hi; exit 4"], 5)
        .await
        .unwrap();
    assert_eq!(
        (simulated.stdout.as_slice(), simulated.exit_code),
        (&b"hi\n"[..], 4)
    );
    env.fake.verify();
}

#[tokio::test]
async fn scripts_match_by_prefix_regex_predicate_container_name_and_pod_labels() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let mut labelled = pod_config("db");
        labelled.labels = labels(&[("app", "db")]);
        labelled.log_directory = env.log_dir.path().display().to_string();
        let db_pod = env.run_pod(labelled.clone()).await;
        let db = env
            .running(&db_pod, &labelled, "postgres", &["sleep", "1000"])
            .await;
        let web = sleeping(&mut env, "web", "nginx").await;

        ExecScript::given(command_prefix(["pg_isready"]))
            .and(pod_label("app", "db"))
            .respond_with(Reply::ok().stdout("accepting connections\n"))
            .mount(&env.fake);
        ExecScript::given(command_regex("^curl .*/healthz$"))
            .and(container_name("nginx"))
            .respond_with(Reply::ok().stdout("ok"))
            .mount(&env.fake);
        ExecScript::given(command_fn(|argv| argv.len() == 3 && argv[0] == "probe"))
            .respond_with(Reply::exit(7))
            .mount(&env.fake);

        let ready = env
            .exec(&db, &["pg_isready", "-h", "localhost"], 5)
            .await
            .unwrap();
        assert_eq!(
            (ready.stdout.as_slice(), ready.exit_code),
            (&b"accepting connections\n"[..], 0)
        );
        // The same command in a pod without the label runs in the simulation: busybox has
        // no pg_isready.
        let missing = env.exec(&web, &["pg_isready"], 5).await.unwrap_err();
        assert_eq!(missing.code(), Code::Unknown);
        assert!(
            missing.message().ends_with(match profile {
                Profile::Containerd23 => {
                    "OCI runtime exec failed: exec failed: unable to start container process: exec: \"pg_isready\": executable file not found in $PATH"
                }
                Profile::Containerd16 => {
                    "OCI runtime exec failed: exec failed: unable to start container process: exec: \"pg_isready\": executable file not found in $PATH: unknown"
                }
            }),
            "{}",
            missing.message()
        );
        let health = env
            .exec(&web, &["curl", "-s", "http://localhost/healthz"], 5)
            .await
            .unwrap();
        assert_eq!(health.stdout, b"ok");
        assert_eq!(
            env.exec(&db, &["probe", "a", "b"], 5)
                .await
                .unwrap()
                .exit_code,
            7
        );
        assert_eq!(
            env.exec(&db, &["probe", "a"], 5).await.unwrap_err().code(),
            Code::Unknown
        );
    }
}

#[tokio::test]
async fn the_lowest_priority_number_then_the_first_mounted_script_answers() {
    let mut env = start().await;
    let id = sleeping(&mut env, "prio", "app").await;
    ExecScript::given(command(["x"]))
        .respond_with(Reply::exit(1))
        .mount(&env.fake);
    ExecScript::given(command(["x"]))
        .respond_with(Reply::exit(2))
        .mount(&env.fake);
    assert_eq!(env.exec(&id, &["x"], 5).await.unwrap().exit_code, 1);
    ExecScript::given(command(["x"]))
        .respond_with(Reply::exit(3))
        .priority(1)
        .mount(&env.fake);
    assert_eq!(env.exec(&id, &["x"], 5).await.unwrap().exit_code, 3);
}

#[tokio::test]
async fn up_to_n_times_falls_back_to_the_simulation_afterwards() {
    let mut env = start().await;
    let id = sleeping(&mut env, "flaky", "app").await;
    ExecScript::given(command(["echo", "real"]))
        .respond_with(Reply::exit(1).stderr("transient\n"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&env.fake);
    for _ in 0..2 {
        let failed = env.exec(&id, &["echo", "real"], 5).await.unwrap();
        assert_eq!(
            (failed.stderr.as_slice(), failed.exit_code),
            (&b"transient\n"[..], 1)
        );
    }
    let real = env.exec(&id, &["echo", "real"], 5).await.unwrap();
    assert_eq!(
        (real.stdout.as_slice(), real.exit_code),
        (&b"real\n"[..], 0)
    );
    env.fake.verify();
}

#[tokio::test]
async fn program_command_and_per_call_replies_run_in_the_container() {
    let mut env = start().await;
    let id = sleeping(&mut env, "prog", "app").await;
    ExecScript::given(command_prefix(["greet"]))
        .respond_with(Reply::program(|ctx: ProgramContext| async move {
            let _ = ctx
                .out(format!("hello {} from pid {}\n", ctx.args[1], ctx.pid()))
                .await;
            5
        }))
        .mount(&env.fake);
    ExecScript::given(command(["version"]))
        .respond_with(Reply::command(["sh", "-c", "echo replaced; exit 6"]))
        .mount(&env.fake);
    ExecScript::given(command_prefix(["echo-container"]))
        .respond_with_fn(|call: &Invocation| {
            Reply::ok().stdout(format!("{}/{}", call.pod_name, call.container_name))
        })
        .mount(&env.fake);

    let greeted = env.exec(&id, &["greet", "you"], 5).await.unwrap();
    // The pod's pause is pid 1 of the PID namespace the container shares, the
    // container's main process pid 2; the exec is the next process.
    assert_eq!(
        (greeted.stdout.as_slice(), greeted.exit_code),
        (&b"hello you from pid 3\n"[..], 5)
    );
    let replaced = env.exec(&id, &["version"], 5).await.unwrap();
    assert_eq!(
        (replaced.stdout.as_slice(), replaced.exit_code),
        (&b"replaced\n"[..], 6)
    );
    assert_eq!(
        env.exec(&id, &["echo-container"], 5).await.unwrap().stdout,
        b"prog/app"
    );
}

#[tokio::test(start_paused = true)]
async fn a_delay_longer_than_the_exec_timeout_fails_with_deadline_exceeded() {
    let mut env = start().await;
    let id = sleeping(&mut env, "slow", "app").await;
    ExecScript::given(command(["slow"]))
        .respond_with(Reply::ok().stdout("late").delay(Duration::from_secs(30)))
        .mount(&env.fake);
    assert_status(
        env.exec(&id, &["slow"], 2).await,
        Code::DeadlineExceeded,
        "failed to exec in container: timeout 2s exceeded: context deadline exceeded",
    );
    let started = tokio::time::Instant::now();
    let answered = env.exec(&id, &["slow"], 0).await.unwrap();
    assert_eq!(answered.stdout, b"late");
    assert!(started.elapsed() >= Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn held_io_delays_the_answer_until_the_holder_exits() {
    let mut env = start().await;
    let id = sleeping(&mut env, "held", "app").await;
    ExecScript::given(command(["start-daemon"]))
        .respond_with(
            Reply::ok()
                .stdout("started\n")
                .hold_io_for(Duration::from_secs(20)),
        )
        .mount(&env.fake);
    let started = tokio::time::Instant::now();
    // The exec timeout does not cut the IO drain short, as in containerd.
    let out = env.exec(&id, &["start-daemon"], 5).await.unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.exit_code),
        (&b"started\n"[..], 0)
    );
    assert!(started.elapsed() >= Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn held_io_past_the_drain_timeout_fails_with_the_drain_error() {
    let mut env =
        start_with(FakeRuntime::builder().drain_exec_sync_io_timeout(Duration::from_millis(300)))
            .await;
    let id = sleeping(&mut env, "drain", "app").await;
    ExecScript::given(command(["start-daemon"]))
        .respond_with(Reply::ok().hold_io_for(Duration::from_secs(20)))
        .mount(&env.fake);
    let status = env.exec(&id, &["start-daemon"], 5).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    let exec_id = status
        .message()
        .split('"')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert_eq!(exec_id.len(), 64);
    assert_eq!(
        status.message(),
        format!(
            "failed to exec in container: failed to drain exec process \"{exec_id}\" io: failed to drain exec process \"{exec_id}\" io in 300ms because io is still held by other processes"
        )
    );
}

#[tokio::test]
async fn verify_panics_with_the_unmet_expectations_and_the_numbered_calls_once() {
    let mut env = start().await;
    ExecScript::given(command(["cat", "/etc/os-release"]))
        .respond_with(Reply::ok().stdout("ID=alpine\n"))
        .expect(2)
        .named("os-release")
        .mount(&env.fake);
    let id = sleeping(&mut env, "report", "app").await;
    env.exec(&id, &["cat", "/etc/os-release"], 5).await.unwrap();
    let calls = env.fake.calls();
    assert_eq!(calls.len(), 4);
    let expected = format!(
        "cri-fake: 1 expectation was not met:\n\
         \x20 - exec script \"os-release\" (command [\"cat\", \"/etc/os-release\"] -> exit 0, stdout 10 bytes): expected exactly 2 times, matched 1\n\
         Calls received (4):\n\
         \x20 {}\n  {}\n  {}\n  {}\n",
        calls[0], calls[1], calls[2], calls[3]
    );
    assert_eq!(
        env.fake.verification_report().as_deref(),
        Some(expected.as_str())
    );
    assert!(calls[3].to_string().starts_with(&format!(
        "#4 ExecSync {{\"cmd\":[\"cat\",\"/etc/os-release\"],\"container_id\":\"{id}\",\"timeout\":5}} -> OK ("
    )), "{}", calls[3]);
    let payload = catch_unwind(AssertUnwindSafe(|| env.fake.verify())).unwrap_err();
    assert_eq!(panic_text(payload), expected);
    // Dropping the fake does not panic a second time.
    drop(env);
}

#[tokio::test]
async fn dropping_a_fake_with_unmet_expectations_panics_with_the_report() {
    let fake = FakeRuntime::start().await.unwrap();
    ExecScript::given(command(["never"]))
        .expect(1..)
        .mount(&fake);
    let payload = catch_unwind(AssertUnwindSafe(move || drop(fake))).unwrap_err();
    assert_eq!(
        panic_text(payload),
        "cri-fake: 1 expectation was not met:\n  - exec script (command [\"never\"] -> the simulation): expected at least 1 times, matched 0\nThe fake received no calls.\n"
    );
}

#[test]
fn a_test_that_already_panics_keeps_its_own_panic() {
    let outcome = std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let fake = rt.block_on(FakeRuntime::start()).unwrap();
        ExecScript::given(command(["never"])).expect(1).mount(&fake);
        let _fake = fake;
        panic!("the test's own failure");
    })
    .join();
    assert_eq!(panic_text(outcome.unwrap_err()), "the test's own failure");
}

#[tokio::test]
async fn a_scoped_script_applies_until_its_guard_drops_which_checks_its_expectation() {
    let mut env = start().await;
    let id = sleeping(&mut env, "scoped", "app").await;
    {
        let guard = ExecScript::given(command(["echo", "real"]))
            .respond_with(Reply::ok().stdout("scripted\n"))
            .expect(1)
            .mount_as_scoped(&env.fake);
        assert_eq!(
            env.exec(&id, &["echo", "real"], 5).await.unwrap().stdout,
            b"scripted\n"
        );
        assert_eq!(guard.hits(), 1);
    }
    assert_eq!(
        env.exec(&id, &["echo", "real"], 5).await.unwrap().stdout,
        b"real\n"
    );
    let unmet = ExecScript::given(command(["echo", "real"]))
        .expect(3)
        .mount_as_scoped(&env.fake);
    let payload = catch_unwind(AssertUnwindSafe(move || drop(unmet))).unwrap_err();
    let text = panic_text(payload);
    assert!(
        text.starts_with(
            "cri-fake: 1 expectation was not met:\n  - exec script (command [\"echo\", \"real\"] -> the simulation): expected exactly 3 times, matched 0\nCalls received (5):\n"
        ),
        "{text}"
    );
    assert_eq!(env.fake.calls_to(Method::ExecSync).len(), 2);
}
