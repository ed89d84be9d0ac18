//! CRI container log files written by running containers (reference §7).
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::*;
use cri_fake::Profile;
use cri_proto::v1::*;
use tonic::Code;

/// Lines of the log as (stream, tag, content), checking each timestamp's format.
fn parse_log(path: &PathBuf) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split_terminator('\n')
        .map(|line| {
            let mut parts = line.splitn(4, ' ');
            let ts = parts.next().unwrap();
            assert!(
                ts.ends_with('Z') && ts.len() >= 20 && ts.len() <= 30,
                "timestamp {ts:?}"
            );
            assert!(
                !ts.trim_end_matches('Z').ends_with('0') || !ts.contains('.'),
                "trailing zeros trimmed: {ts}"
            );
            (
                parts.next().unwrap().into(),
                parts.next().unwrap().into(),
                parts.next().unwrap_or_default().into(),
            )
        })
        .collect()
}

async fn run_to_exit(env: &mut Env, name: &str, command: &[&str], tty: bool) -> PathBuf {
    let (pod, config) = env.pod(name).await;
    let mut c = container_config(name, command);
    c.log_path = format!("{name}/0.log");
    c.tty = tty;
    let id = env.create(&pod, &config, c).await.unwrap();
    env.start(&id).await.unwrap();
    env.wait_state(&id, ContainerState::ContainerExited).await;
    env.log_dir.path().join(format!("{name}/0.log"))
}

fn line(stream: &str, tag: &str, content: &str) -> (String, String, String) {
    (stream.into(), tag.into(), content.into())
}

#[tokio::test]
async fn container_output_lands_in_the_log_with_stream_and_tag() {
    let mut env = start().await;
    let path = run_to_exit(
        &mut env,
        "out",
        &[
            "sh",
            "-c",
            "echo hi; echo err >&2; echo; printf 'a\\r\\n'; printf 'tab\\there\\n'",
        ],
        false,
    )
    .await;
    let mut lines = parse_log(&path);
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        lines,
        [
            line("stderr", "F", "err"),
            line("stdout", "F", "hi"),
            line("stdout", "F", ""),
            line("stdout", "F", "a"),
            line("stdout", "F", "tab\there")
        ]
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[tokio::test]
async fn long_lines_split_into_16384_byte_partial_chunks() {
    let mut env = start().await;
    let path = run_to_exit(&mut env, "long", &["sh", "-c", "head -c 40000 /dev/zero | tr '\\000' x; echo; head -c 16384 /dev/zero | tr '\\000' y; echo"], false).await;
    let lines = parse_log(&path);
    let shape: Vec<(&str, usize)> = lines
        .iter()
        .map(|(_, tag, c)| (tag.as_str(), c.len()))
        .collect();
    assert_eq!(
        shape,
        [("P", 16384), ("P", 16384), ("F", 7232), ("F", 16384)]
    );
}

#[tokio::test]
async fn unterminated_output_is_flushed_as_one_partial_line_at_exit() {
    let mut env = start().await;
    let path = run_to_exit(
        &mut env,
        "nonl",
        &["sh", "-c", "printf nonl; sleep 0.05; printf more"],
        false,
    )
    .await;
    assert_eq!(parse_log(&path), [line("stdout", "P", "nonlmore")]);
}

#[tokio::test]
async fn with_a_tty_everything_goes_to_stdout() {
    let mut env = start().await;
    let path = run_to_exit(
        &mut env,
        "tty",
        &["sh", "-c", "echo ttyout; echo ttyerr >&2"],
        true,
    )
    .await;
    assert_eq!(
        parse_log(&path),
        [line("stdout", "F", "ttyout"), line("stdout", "F", "ttyerr")]
    );
}

#[tokio::test]
async fn exec_output_never_reaches_the_container_log_and_logs_outlive_the_container() {
    let mut env = start().await;
    let (pod, config) = env.pod("keep").await;
    let mut c = container_config("c", &["sleep", "1000"]);
    c.log_path = "nested/dir/c.log".into();
    let id = env.create(&pod, &config, c).await.unwrap();
    env.start(&id).await.unwrap();
    let path = env.log_dir.path().join("nested/dir/c.log");
    env.exec(&id, &["echo", "from exec"], 5).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"");
    env.rt
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: pod,
        })
        .await
        .unwrap();
    assert!(path.exists(), "log files are never deleted");
}

#[tokio::test]
async fn reopen_container_log_moves_later_lines_to_a_new_file() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("reopen").await;
        let mut c = container_config(
            "c",
            &[
                "sh",
                "-c",
                "echo one; while true; do sleep 0.02; if [ -e /tmp/go ]; then echo two; exit 0; fi; done",
            ],
        );
        c.log_path = "c.log".into();
        let id = env.create(&pod, &config, c).await.unwrap();
        env.start(&id).await.unwrap();
        let path = env.log_dir.path().join("c.log");
        for _ in 0..500 {
            if std::fs::read_to_string(&path)
                .unwrap_or_default()
                .contains("one")
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        std::fs::rename(&path, path.with_extension("log.1")).unwrap();
        env.rt
            .reopen_container_log(ReopenContainerLogRequest {
                container_id: id[..12].into(),
            })
            .await
            .unwrap();
        env.exec(&id, &["touch", "/tmp/go"], 5).await.unwrap();
        env.wait_state(&id, ContainerState::ContainerExited).await;
        assert_eq!(
            parse_log(&path.with_extension("log.1")),
            [line("stdout", "F", "one")]
        );
        assert_eq!(parse_log(&path), [line("stdout", "F", "two")]);
        assert_status(
            env.rt
                .reopen_container_log(ReopenContainerLogRequest {
                    container_id: id.clone(),
                })
                .await,
            Code::Unknown,
            "container is not running",
        );
        let missing = "f".repeat(64);
        assert_status(
            env.rt
                .reopen_container_log(ReopenContainerLogRequest {
                    container_id: missing.clone(),
                })
                .await,
            Code::NotFound,
            &format!("an error occurred when try to find container \"{missing}\": not found"),
        );
        assert_status(
            env.rt
                .reopen_container_log(ReopenContainerLogRequest {
                    container_id: String::new(),
                })
                .await,
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
    }
}

#[tokio::test]
async fn log_paths_are_joined_and_cleaned_like_go_filepath_join() {
    let mut env = start().await;
    let (pod, mut config) = env.pod("paths").await;
    // A log directory with a trailing slash and a detour, as a client might send it.
    let root = env.log_dir.path().display().to_string();
    config.log_directory = format!("{root}/pods/./p/");
    for (n, (log_path, expected)) in [
        ("a//b/./0.log", format!("{root}/pods/p/a/b/0.log")),
        ("/abs/1.log", format!("{root}/pods/p/abs/1.log")),
        ("x/../2.log", format!("{root}/pods/p/2.log")),
        ("../../up.log", format!("{root}/up.log")),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = container_config(&format!("c{n}"), &["echo", log_path]);
        c.log_path = log_path.into();
        let id = env.create(&pod, &config, c).await.unwrap();
        assert_eq!(env.status(&id).await.unwrap().log_path, expected);
        env.start(&id).await.unwrap();
        env.wait_state(&id, ContainerState::ContainerExited).await;
        assert_eq!(
            parse_log(&PathBuf::from(&expected)),
            [line("stdout", "F", log_path)],
            "{log_path}"
        );
    }
}
