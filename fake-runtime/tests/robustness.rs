//! Nothing a client sends can crash or exhaust the fake (issue 12): the shell's depth
//! limits, the writable-layer, process, open-pipe and memory budgets per container,
//! CPU fairness between a runaway exec and other RPCs, and a property test over
//! arbitrary shell input.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use cri_fake::FakeRuntime;
use cri_fake::config::Config;
use cri_fake::process::{ContainerSim, OutputReader, Programs, SimSpec, Stdio, rootfs};
use cri_proto::v1::*;
use proptest::prelude::*;
use tonic::Code;

const TOO_DEEP: &[u8] = b"sh: nested too deeply: more than 1000 levels\n";
const CANT_FORK: &[u8] = b"sh: can't fork: Resource temporarily unavailable\n";
const CANT_PIPE: &[u8] = b"sh: can't create pipe: Too many open files\n";

async fn running_container(env: &mut Env) -> String {
    let (pod, config) = env.pod("robust").await;
    env.running(&pod, &config, "c", &["sleep", "100000"]).await
}

async fn version(env: &mut Env) -> VersionResponse {
    env.rt
        .version(VersionRequest::default())
        .await
        .expect("Version")
        .into_inner()
}

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

/// `(stdout, stderr, exit code)` of an exec that answered.
async fn exec_out(env: &mut Env, id: &str, script: &str) -> (Vec<u8>, Vec<u8>, i32) {
    let out = env
        .exec(id, &["sh", "-c", script], 60)
        .await
        .unwrap_or_else(|e| panic!("{script:.60}: {e}"));
    (out.stdout, out.stderr, out.exit_code)
}

// ----- depth limits -----

#[tokio::test]
async fn unbounded_function_recursion_exits_139_silently_and_the_fake_answers_on() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    assert_eq!(
        exec_out(&mut env, &id, "f() { f; }; f").await,
        (Vec::new(), Vec::new(), 139)
    );
    assert_eq!(
        exec_out(&mut env, &id, "f() { f; }; (f); echo \"after $?\"").await,
        (b"after 139\n".to_vec(), b"Segmentation fault\n".to_vec(), 0)
    );
    assert_eq!(version(&mut env).await.runtime_name, "containerd");
}

#[tokio::test]
async fn deep_nesting_runs_up_to_the_limit_and_is_refused_beyond_with_status_2() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    let deep = (b"deep\n".to_vec(), Vec::new(), 0);
    let refused = (Vec::new(), TOO_DEEP.to_vec(), 2);
    let cmdsubs = format!("echo {}", nested("$(echo ", "deep", ")", 200));
    assert_eq!(exec_out(&mut env, &id, &cmdsubs).await, deep);
    let subshells = nested("(", "echo deep", ")", 1000);
    assert_eq!(exec_out(&mut env, &id, &subshells).await, deep);
    for script in [
        nested("(", "echo deep", ")", 1001),
        nested("if true; then ", "echo deep", "; fi", 1001),
        format!("echo {}", nested("$(echo ", "deep", ")", 1001)),
        format!("echo $(({}))", nested("(", "1", ")", 1001)),
    ] {
        assert_eq!(
            exec_out(&mut env, &id, &script).await,
            refused,
            "{script:.40}"
        );
    }
    let arith = format!("echo $(({}))", nested("(", "1", ")", 1000));
    assert_eq!(
        exec_out(&mut env, &id, &arith).await,
        (b"1\n".to_vec(), Vec::new(), 0)
    );
}

// ----- the writable layer -----

#[tokio::test]
async fn yes_into_a_file_ends_with_no_space_left_on_device_at_the_default_64_mib() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    assert_eq!(
        exec_out(&mut env, &id, "yes abcdefghijklmnopqrstuvwxyz > /tmp/f").await,
        (
            Vec::new(),
            b"yes: (null): No space left on device\n".to_vec(),
            1
        )
    );
    assert_eq!(
        exec_out(&mut env, &id, "wc -c < /tmp/f; echo more >> /tmp/f").await,
        (
            b"67108864\n".to_vec(),
            b"sh: write error: No space left on device\n".to_vec(),
            1
        )
    );
    assert_eq!(
        exec_out(&mut env, &id, "rm /tmp/f; echo fits > /tmp/g; cat /tmp/g").await,
        (b"fits\n".to_vec(), Vec::new(), 0)
    );
}

#[tokio::test]
async fn the_writable_layer_budget_is_set_per_container_by_the_builder() {
    let mut env = start_with(FakeRuntime::builder().writable_layer_limit_bytes(1 << 20)).await;
    let id = running_container(&mut env).await;
    assert_eq!(
        exec_out(
            &mut env,
            &id,
            "cat /dev/zero > /tmp/z; echo $?; wc -c < /tmp/z"
        )
        .await,
        (
            b"1\n1048576\n".to_vec(),
            b"cat: write error: No space left on device\n".to_vec(),
            0
        )
    );
    // Another container has its own layer.
    let (pod, config) = env.pod("other").await;
    let other = env.running(&pod, &config, "d", &["sleep", "100000"]).await;
    assert_eq!(
        exec_out(
            &mut env,
            &other,
            "head -c 1000000 /dev/zero > /tmp/z; echo $?"
        )
        .await,
        (b"0\n".to_vec(), Vec::new(), 0)
    );
}

#[test]
fn the_budgets_are_settings_of_the_configuration_file() {
    let config = Config::parse(
        "[settings]\nwritable_layer_limit_bytes = 4096\nmax_processes = 8\n\
         max_open_pipes = 16\nmemory_budget_bytes = 65536\n",
    )
    .expect("valid config");
    let builder = config.apply(FakeRuntime::builder());
    let s = builder.current_settings();
    assert_eq!(
        (
            s.writable_layer_limit_bytes,
            s.max_processes,
            s.max_open_pipes,
            s.memory_budget_bytes
        ),
        (4096, 8, 16, 65536)
    );
    let defaults = FakeRuntime::builder();
    let d = defaults.current_settings();
    assert_eq!(
        (
            d.writable_layer_limit_bytes,
            d.max_processes,
            d.max_open_pipes,
            d.memory_budget_bytes
        ),
        (64 << 20, 1024, 1024, 64 << 20)
    );
}

// ----- the number of processes -----

#[tokio::test]
async fn a_fork_past_the_process_budget_fails_with_cant_fork_and_status_2() {
    // The container's own process, the exec's shell and two background jobs.
    let mut env = start_with(FakeRuntime::builder().max_processes(4)).await;
    let id = running_container(&mut env).await;
    let script = "sleep 5 >/dev/null 2>&1 & sleep 5 >/dev/null 2>&1 & \
                  sleep 5 >/dev/null 2>&1 & echo unreached";
    assert_eq!(
        exec_out(&mut env, &id, script).await,
        (Vec::new(), CANT_FORK.to_vec(), 2)
    );
}

#[tokio::test]
async fn a_fork_bomb_stays_within_the_budget_and_the_exec_timeout_ends_it() {
    let mut env = start_with(FakeRuntime::builder().max_processes(64)).await;
    let id = running_container(&mut env).await;
    // As with busybox under a pids limit, the bomb may also burn out by itself: every
    // shell that cannot fork exits 2, and the others exit once their children did.
    match env.exec(&id, &["sh", "-c", "f() { f | f & }; f"], 2).await {
        Ok(out) => {
            assert_eq!((out.stdout.as_slice(), out.exit_code), (&b""[..], 0));
            assert!(!out.stderr.is_empty());
            for line in out.stderr.split_inclusive(|&b| b == b'\n') {
                assert_eq!(line, CANT_FORK);
            }
        }
        result => assert_status(
            result,
            Code::DeadlineExceeded,
            "failed to exec in container: timeout 2s exceeded: context deadline exceeded",
        ),
    }
    let ps = env.exec(&id, &["ps"], 5).await.unwrap();
    let ps = String::from_utf8(ps.stdout).unwrap();
    // The pod's pause is pid 1 of the PID namespace the container shares.
    assert_eq!(
        ps.lines().count(),
        4,
        "only the header, pause, sleep and ps:\n{ps}"
    );
    assert_eq!(version(&mut env).await.runtime_name, "containerd");
}

// ----- open pipes -----

#[tokio::test]
async fn pipelines_nested_without_end_stop_at_the_pipe_budget_with_emfile_and_the_fake_serves_on() {
    let mut env = start_with(FakeRuntime::builder().max_open_pipes(8)).await;
    let id = running_container(&mut env).await;
    // Every level holds a pipe open (`yes` writing into the next level) and starts the
    // next one; the ninth level's shell cannot create its pipe.
    assert_eq!(
        exec_out(&mut env, &id, "f() { yes | f; }; f").await,
        (Vec::new(), CANT_PIPE.to_vec(), 2)
    );
    // The levels unwound and gave their pipes back.
    assert_eq!(
        exec_out(&mut env, &id, "echo a | cat | cat; echo $(echo b | cat)").await,
        (b"a\nb\n".to_vec(), Vec::new(), 0)
    );
    assert_eq!(version(&mut env).await.runtime_name, "containerd");
}

// ----- memory applets hold -----

/// The peak resident set of this test process, from `/proc/self/status`.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

#[tokio::test]
async fn sorting_200_mb_is_oom_killed_at_the_default_memory_budget_and_the_fake_stays_small() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    // 50 million lines: holding them would take gigabytes of the process running the
    // fake; sort is OOM-killed once it holds 64 MiB of them.
    let out = env
        .exec(
            &id,
            &["sh", "-c", "yes abc | head -c 200000000 | sort"],
            120,
        )
        .await
        .expect("the exec answers");
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice(), out.exit_code),
        (&b""[..], &b"Killed\n"[..], 137)
    );
    let peak = peak_rss_bytes();
    assert!(peak < 1 << 30, "peak RSS {} MiB", peak >> 20);
    assert_eq!(
        exec_out(&mut env, &id, "seq 3 | sort -r").await,
        (b"3\n2\n1\n".to_vec(), Vec::new(), 0)
    );
}

#[tokio::test]
async fn the_memory_budget_is_set_per_container_by_the_builder() {
    let mut env = start_with(FakeRuntime::builder().memory_budget_bytes(1 << 20)).await;
    let id = running_container(&mut env).await;
    assert_eq!(
        exec_out(&mut env, &id, "seq 100000 | tail -n 50000 | wc -l").await,
        (b"0\n".to_vec(), b"Killed\n".to_vec(), 0)
    );
    let mut env = start_with(FakeRuntime::builder().memory_budget_bytes(0)).await;
    let id = running_container(&mut env).await;
    assert_eq!(
        exec_out(&mut env, &id, "seq 100000 | tail -n 50000 | wc -l").await,
        (b"50000\n".to_vec(), Vec::new(), 0)
    );
}

// ----- CPU fairness -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_does_not_starve_other_calls_and_its_timeout_stops_it() {
    let mut env = start().await;
    let id = running_container(&mut env).await;
    let mut looping = env.rt.clone();
    let container_id = id.clone();
    let exec = tokio::spawn(async move {
        let r = looping
            .exec_sync(ExecSyncRequest {
                container_id,
                cmd: vec!["sh".into(), "-c".into(), "while :; do :; done".into()],
                timeout: 1,
            })
            .await;
        (r, std::time::Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let version_answered = version(&mut env).await;
    let version_at = std::time::Instant::now();
    assert_eq!(version_answered.runtime_name, "containerd");
    let (result, exec_at) = exec.await.unwrap();
    assert_status(
        result,
        Code::DeadlineExceeded,
        "failed to exec in container: timeout 1s exceeded: context deadline exceeded",
    );
    assert!(
        version_at < exec_at,
        "Version answered while the loop ran, not after its timeout"
    );
    let ps = env.exec(&id, &["ps"], 5).await.unwrap();
    let ps = String::from_utf8(ps.stdout).unwrap();
    assert!(!ps.contains("while"), "the loop is gone:\n{ps}");
}

// ----- arbitrary shell input -----

/// Reads a stream to its end, keeping at most 1 MiB.
async fn drain_capped(mut reader: OutputReader) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = reader.next().await {
        if out.len() < 1 << 20 {
            out.extend_from_slice(&chunk);
        }
    }
    out
}

/// Runs `sh -c script` in a fresh busybox container for at most `limit`.
async fn run_script(script: &str, limit: Duration) -> Option<(i32, Vec<u8>, Vec<u8>)> {
    let sim = ContainerSim::new(
        SimSpec {
            hostname: "vm".into(),
            env: vec!["PATH=/bin".into()],
            rootfs: rootfs::busybox(),
            ..Default::default()
        },
        Arc::new(Programs::builtin()),
    );
    let (stdio, out, err) = Stdio::piped();
    let argv = ["sh".to_string(), "-c".into(), script.into()];
    let process = sim.spawn(&argv, stdio).expect("sh starts");
    let run = async {
        let (out, err, status) = tokio::join!(drain_capped(out), drain_capped(err), process.wait());
        (status.code(), out, err)
    };
    let result = tokio::time::timeout(limit, run).await.ok();
    sim.shutdown().await;
    result
}

const WORDS: &[&str] = &[
    "echo a",
    "true",
    "false",
    ":",
    "x=1",
    "echo $x",
    "echo $((1+2))",
    "f",
    "exit 3",
    "return",
    "break",
    "shift",
    "echo \"$@\"",
    "set -e",
    "cat /etc/hostname",
    "wc -l",
    "test 1 -eq 1",
    "[ -n x ]",
    "echo ${x:-d}",
    "read v",
    "eval echo e",
    "local y",
    "trap 'echo t' EXIT",
];

/// Scripts built from well-formed (and ill-formed) nesting of shell constructs.
fn structured() -> impl Strategy<Value = String> {
    let leaf = proptest::sample::select(WORDS).prop_map(str::to_owned);
    leaf.prop_recursive(6, 64, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}; {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} | {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} && {b} || {a}")),
            inner.clone().prop_map(|a| format!("( {a} )")),
            inner.clone().prop_map(|a| format!("{{ {a}; }}")),
            inner.clone().prop_map(|a| format!("echo $({a})")),
            inner.clone().prop_map(|a| format!("echo \"`{a}`\"")),
            inner.clone().prop_map(|a| format!("{a} &")),
            inner.clone().prop_map(|a| format!("f() {{ {a}; }}; f")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("if {a}; then {b}; else {a}; fi")),
            inner
                .clone()
                .prop_map(|a| format!("for i in 1 2; do {a}; done")),
            inner
                .clone()
                .prop_map(|a| format!("i=0; while [ $i -lt 2 ]; do i=$((i+1)); {a}; done")),
            inner
                .clone()
                .prop_map(|a| format!("case x in x) {a};; *) :;; esac")),
            inner
                .clone()
                .prop_map(|a| format!("{a} > /tmp/o 2>&1 < /etc/hostname")),
            inner
                .clone()
                .prop_map(|a| format!("cat <<EOF\n$({a})\nEOF\n")),
            // Truncated and unbalanced forms.
            inner.clone().prop_map(|a| format!("if {a}; then")),
            inner.clone().prop_map(|a| format!("( {a}")),
            inner.prop_map(|a| format!("{a} ))")),
        ]
    })
}

/// Arbitrary text over the characters the shell gives meaning to.
fn chaotic() -> impl Strategy<Value = String> {
    "[a-z0-9 \t\n;&|()<>$`'\"\\\\{}=*?#!~%+:^\\[\\]-]{0,80}"
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Whatever the script, the shell ends (or is stopped by the limit) with a status
    /// a CRI client can report, without panicking or overflowing a stack.
    #[test]
    fn arbitrary_shell_input_ends_with_a_well_formed_result(
        script in prop_oneof![structured(), chaotic()]
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        if let Some((code, _out, err)) = rt.block_on(run_script(&script, Duration::from_secs(2))) {
            prop_assert!((0..=255).contains(&code), "exit code {code} for {script:?}");
            let err = String::from_utf8_lossy(&err);
            prop_assert!(!err.contains("panicked"), "{err}");
        }
    }
}
