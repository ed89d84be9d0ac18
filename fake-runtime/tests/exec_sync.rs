//! ExecSync over a real socket: output, exit codes, errors, the 16 MiB boundaries,
//! timeouts and the IO drain (reference §6, §10.15–18).

mod common;

use std::time::{Duration, Instant};

use common::*;
use cri_fake::Profile;
use cri_proto::v1::*;
use tonic::Code;

async fn running_container(env: &mut Env) -> String {
    let (pod, config) = env.pod("exec").await;
    env.running(&pod, &config, "c", &["sleep", "100000"]).await
}

#[tokio::test]
async fn exec_returns_both_streams_and_a_non_zero_exit_is_a_normal_response() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    let out = env
        .exec(&id, &["sh", "-c", "echo out; echo err >&2; exit 3"], 5)
        .await
        .unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.exit_code, 3);
    let out = env
        .exec(
            &id,
            &["sh", "-c", "echo 1; echo 2 >&2; echo 3; echo 4 >&2"],
            0,
        )
        .await
        .unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b"1\n3\n"[..], &b"2\n4\n"[..])
    );
    assert_eq!(
        env.exec(&id, &["true"], 0).await.unwrap(),
        ExecSyncResponse::default()
    );
}

#[tokio::test]
async fn exit_statuses_wrap_modulo_256_and_signals_give_128_plus_n() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    for (script, code) in [
        ("exit 255", 255),
        ("exit 256", 0),
        ("exit 300", 44),
        ("kill -9 $$", 137),
        ("kill -15 $$", 143),
    ] {
        assert_eq!(
            env.exec(&id, &["sh", "-c", script], 5)
                .await
                .unwrap()
                .exit_code,
            code,
            "{script}"
        );
    }
}

#[tokio::test]
async fn exec_output_is_bytes_exactly_as_written() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    let out = env.exec(&id, &["printf", "a\\000b\\377"], 5).await.unwrap();
    assert_eq!(out.stdout, b"a\0b\xff");
    let out = env.exec(&id, &["cat"], 5).await.unwrap();
    assert_eq!(
        (out.stdout.len(), out.exit_code),
        (0, 0),
        "exec has no stdin"
    );
}

#[tokio::test]
async fn exec_sees_the_image_environment_and_root_user() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = env.exec(&id, &["env"], 5).await.unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("PATH=/bin\nHOSTNAME={}\nHOME=/root\n", hostname.trim())
    );
    let out = env.exec(&id, &["sh", "-c", "id; pwd"], 5).await.unwrap();
    assert_eq!(out.stdout, b"uid=0(root) gid=0(root) groups=0(root)\n/\n");
}

#[tokio::test]
async fn exec_errors_use_containerd_codes_and_texts() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("errs").await;
        let created = env
            .create(&pod, &config, container_config("created", &["sleep", "1"]))
            .await
            .unwrap();
        assert_status(
            env.exec(&created, &["true"], 0).await,
            Code::Unknown,
            "failed to exec in container: container is in CONTAINER_CREATED state",
        );
        let exited = env.running(&pod, &config, "exited", &["true"]).await;
        env.wait_state(&exited, ContainerState::ContainerExited)
            .await;
        assert_status(
            env.exec(&exited, &["true"], 0).await,
            Code::Unknown,
            "failed to exec in container: container is in CONTAINER_EXITED state",
        );
        let missing = "f".repeat(64);
        assert_status(
            env.exec(&missing, &["true"], 0).await,
            Code::NotFound,
            &format!(
                "failed to exec in container: failed to find container \"{missing}\" in store: not found"
            ),
        );
        assert_status(
            env.exec("", &["true"], 0).await,
            Code::Unknown,
            match profile {
                Profile::Containerd23 => {
                    "failed to exec in container: failed to find container \"\" in store: prefix can't be empty"
                }
                Profile::Containerd16 => {
                    "failed to exec in container: failed to find container \"\" in store: Prefix can't be empty"
                }
            },
        );
        assert_status(
            env.exec(&pod, &["true"], 0).await,
            Code::NotFound,
            &format!(
                "failed to exec in container: failed to find container \"{pod}\" in store: not found"
            ),
        );
    }
}

/// The first quoted 64-hex id in a message (the exec id containerd names).
fn exec_id_of(message: &str) -> &str {
    message
        .split('"')
        .find(|part| part.len() == 64 && part.bytes().all(|b| b.is_ascii_hexdigit()))
        .expect("exec id in message")
}

#[tokio::test]
async fn commands_that_cannot_start_fail_with_runc_texts_and_a_fresh_exec_id() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let id = running_container(&mut env).await;
        // runc texts end in `: unknown` in 1.6 and lost that ending in 2.3.
        let ending = match profile {
            Profile::Containerd23 => "",
            Profile::Containerd16 => ": unknown",
        };
        for (cmd, tail) in [
            (
                vec!["nonexistent-cmd"],
                "unable to start container process: exec: \"nonexistent-cmd\": executable file not found in $PATH",
            ),
            (
                vec!["/no/such"],
                "unable to start container process: exec: \"/no/such\": stat /no/such: no such file or directory",
            ),
            (
                vec!["/etc/passwd"],
                "unable to start container process: exec: \"/etc/passwd\": permission denied",
            ),
            (vec![], "args must not be empty"),
            (
                vec![""],
                "unable to start container process: exec: \"\": executable file not found in $PATH",
            ),
        ] {
            let status = env.exec(&id, &cmd, 0).await.unwrap_err();
            assert_eq!(status.code(), Code::Unknown);
            let exec_id = exec_id_of(status.message());
            assert!(
                exec_id
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert_eq!(
                status.message(),
                format!(
                    "failed to exec in container: failed to start exec \"{exec_id}\": OCI runtime exec failed: exec failed: {tail}{ending}"
                )
            );
        }
    }
}

#[tokio::test]
async fn the_largest_ok_stdout_is_16_mib_minus_5_bytes() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    let out = env
        .exec(&id, &["head", "-c", "16777211", "/dev/zero"], 0)
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 16_777_211);
    assert!(out.stdout.iter().all(|&b| b == 0));
    assert_status(
        env.exec(&id, &["head", "-c", "16777212", "/dev/zero"], 0)
            .await,
        Code::ResourceExhausted,
        "grpc: trying to send message larger than max (16777217 vs. 16777216)",
    );
    let out = env
        .exec(&id, &["sh", "-c", "head -c 16777209 /dev/zero; exit 1"], 0)
        .await
        .unwrap();
    assert_eq!((out.stdout.len(), out.exit_code), (16_777_209, 1));
    assert_status(
        env.exec(&id, &["sh", "-c", "head -c 16777211 /dev/zero; exit 1"], 0)
            .await,
        Code::ResourceExhausted,
        "grpc: trying to send message larger than max (16777218 vs. 16777216)",
    );
}

#[tokio::test]
async fn each_stream_is_capped_at_16_mib_and_both_share_the_send_limit() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    for (script, size) in [
        ("head -c 16777215 /dev/zero", 16_777_220),
        ("head -c 16777216 /dev/zero", 16_777_221),
        ("head -c 20000000 /dev/zero", 16_777_221),
        ("head -c 16777217 /dev/zero >&2", 16_777_221),
        (
            "head -c 10485760 /dev/zero; head -c 10485760 /dev/zero >&2",
            20_971_530,
        ),
        (
            "head -c 8388608 /dev/zero; head -c 8388608 /dev/zero >&2",
            16_777_226,
        ),
    ] {
        assert_status(
            env.exec(&id, &["sh", "-c", script], 0).await,
            Code::ResourceExhausted,
            &format!("grpc: trying to send message larger than max ({size} vs. 16777216)"),
        );
    }
    let out = env
        .exec(
            &id,
            &[
                "sh",
                "-c",
                "head -c 8388600 /dev/zero; head -c 8388600 /dev/zero >&2",
            ],
            0,
        )
        .await
        .unwrap();
    assert_eq!((out.stdout.len(), out.stderr.len()), (8_388_600, 8_388_600));
}

#[tokio::test]
async fn an_exec_writing_a_gibibyte_ends_with_resource_exhausted() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    assert_status(
        env.exec(&id, &["head", "-c", "1073741824", "/dev/zero"], 0)
            .await,
        Code::ResourceExhausted,
        "grpc: trying to send message larger than max (16777221 vs. 16777216)",
    );
}

#[tokio::test]
async fn exec_timeout_kills_the_process_and_drops_partial_output() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    assert_status(
        env.exec(&id, &["sh", "-c", "echo partial; sleep 30"], 1)
            .await,
        Code::DeadlineExceeded,
        "failed to exec in container: timeout 1s exceeded: context deadline exceeded",
    );
    let ps = env.exec(&id, &["ps"], 0).await.unwrap();
    let ps = String::from_utf8(ps.stdout).unwrap();
    assert!(
        !ps.contains("sleep 30"),
        "the timed-out exec is gone:\n{ps}"
    );
    assert!(
        ps.contains("sleep 100000"),
        "the container's own process lives:\n{ps}"
    );
}

#[tokio::test]
async fn a_backgrounded_child_holding_stdout_delays_the_answer_even_past_the_timeout() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    let started = Instant::now();
    let out = env
        .exec(&id, &["sh", "-c", "sleep 2 & echo bg"], 1)
        .await
        .unwrap();
    assert_eq!((out.stdout.as_slice(), out.exit_code), (&b"bg\n"[..], 0));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited for the holder: {:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let out = env
        .exec(&id, &["sh", "-c", "sleep 20 >/dev/null 2>&1 & echo bg"], 5)
        .await
        .unwrap();
    assert_eq!(out.stdout, b"bg\n");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a redirected child does not hold the pipe"
    );
}

#[tokio::test]
async fn a_drain_timeout_bounds_the_wait_and_kills_the_holders() {
    let mut env = start_with(
        cri_fake::FakeRuntime::builder().drain_exec_sync_io_timeout(Duration::from_millis(300)),
    )
    .await;
    let id = running_container(&mut env).await;
    let status = env
        .exec(&id, &["sh", "-c", "sleep 365 & echo bg"], 5)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unknown, "{}", status.message());
    let exec_id = exec_id_of(status.message());
    assert_eq!(
        status.message(),
        format!(
            "failed to exec in container: failed to drain exec process \"{exec_id}\" io: failed to drain exec process \"{exec_id}\" io in 300ms because io is still held by other processes"
        )
    );
    let ps = String::from_utf8(env.exec(&id, &["ps"], 0).await.unwrap().stdout).unwrap();
    assert!(!ps.contains("sleep 365"), "holders are killed:\n{ps}");
}

#[tokio::test]
async fn a_client_that_gives_up_kills_the_exec() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    let mut request = tonic::Request::new(ExecSyncRequest {
        container_id: id.clone(),
        cmd: vec!["sleep".into(), "50".into()],
        timeout: 0,
    });
    request.set_timeout(Duration::from_millis(300));
    let status = env.rt.exec_sync(request).await.unwrap_err();
    // tonic reports its own client-side deadline as CANCELLED.
    assert_eq!(status.code(), Code::Cancelled, "{}", status.message());
    // The server notices the cancellation and kills the process.
    for _ in 0..200 {
        let ps = String::from_utf8(env.exec(&id, &["ps"], 0).await.unwrap().stdout).unwrap();
        if !ps.contains("sleep 50") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the cancelled exec still runs");
}

#[tokio::test]
async fn exec_shares_the_container_filesystem_and_process_table() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    env.exec(&id, &["sh", "-c", "echo data > /tmp/f"], 5)
        .await
        .unwrap();
    assert_eq!(
        env.exec(&id, &["cat", "/tmp/f"], 5).await.unwrap().stdout,
        b"data\n"
    );
    let out = env.exec(&id, &["pgrep", "sleep"], 5).await.unwrap();
    assert_eq!(out.exit_code, 0);
    assert!(!out.stdout.is_empty());
}
