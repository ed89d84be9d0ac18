//! What a container's processes cannot exhaust: the shell's depth limits (nesting in
//! the syntax, arithmetic and at run time), the writable layer's size, the number of
//! processes, the number of open pipes, the memory applets hold.

use std::time::Duration;

use super::{busybox_spec, sh, sh_in, sim_with};
use crate::process::{ExitStatus, Signal, SimSpec};

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

const TOO_DEEP: &str = "sh: nested too deeply: more than 1000 levels\n";

// ----- depth limits -----

#[tokio::test]
async fn unbounded_function_recursion_dies_of_sigsegv_silently_like_busybox() {
    let r = sh("f() { f; }; f").await;
    assert_eq!(
        (r.out(), r.err(), r.status),
        (
            String::new(),
            String::new(),
            ExitStatus::Signaled(Signal::SIGSEGV)
        )
    );
    assert_eq!(r.code(), 139);
}

#[tokio::test]
async fn a_subshell_that_overflows_is_reported_as_segmentation_fault_by_its_parent() {
    let r = sh(r#"f() { f; }; (f); echo "after $?"; x=$(f); echo "cmdsub $? [$x]""#).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (
            "after 139\ncmdsub 139 []\n".into(),
            "Segmentation fault\nSegmentation fault\n".into(),
            0
        )
    );
}

#[tokio::test]
async fn a_trapped_or_ignored_sigsegv_does_not_save_a_shell_from_overflowing() {
    let r = sh("trap '' SEGV; trap 'echo caught' EXIT; f() { f; }; f; echo after").await;
    assert_eq!((r.out(), r.code()), (String::new(), 139));
}

#[tokio::test]
async fn recursion_of_a_thousand_function_calls_runs_to_the_end() {
    let r = sh("n=0; f() { n=$((n+1)); if [ $n -lt 1000 ]; then f; fi; }; f; echo $n").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("1000\n".into(), String::new(), 0)
    );
}

#[tokio::test]
async fn the_thousand_and_first_nested_call_overflows() {
    let r = sh("n=0; f() { n=$((n+1)); echo $n; f; }; f").await;
    assert!(r.out().ends_with("\n999\n1000\n"), "{}", r.out());
    assert_eq!((r.err(), r.code()), (String::new(), 139));
}

#[tokio::test]
async fn eval_recursing_into_itself_dies_of_sigsegv_too() {
    let r = sh("f() { eval f; }; f").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), String::new(), 139)
    );
}

#[tokio::test]
async fn two_hundred_nested_command_substitutions_print_like_busybox() {
    let script = format!("echo {}", nested("$(echo ", "deep", ")", 200));
    let r = sh(&script).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("deep\n".into(), String::new(), 0)
    );
}

#[tokio::test]
async fn a_thousand_nested_subshells_run_and_one_more_is_refused_before_anything_runs() {
    let r = sh(&nested("(", "echo deep", ")", 1000)).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("deep\n".into(), String::new(), 0)
    );
    let r = sh(&format!(
        "echo before; {}",
        nested("(", "echo deep", ")", 1001)
    ))
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), TOO_DEEP.into(), 2)
    );
}

#[tokio::test]
async fn deeply_nested_compound_commands_run_up_to_the_limit() {
    let ifs = nested("if true; then ", "echo deep", "; fi", 1000);
    let braces = nested("{ ", "echo deep", "; }", 1000);
    let whiles = nested("while true; do ", "echo deep; break 1000", "; done", 1000);
    for script in [ifs, braces, whiles] {
        let r = sh(&script).await;
        assert_eq!(
            (r.out(), r.err(), r.code()),
            ("deep\n".into(), String::new(), 0)
        );
    }
    let r = sh(&nested("if true; then ", "echo deep", "; fi", 1001)).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), TOO_DEEP.into(), 2)
    );
}

#[tokio::test]
async fn deeply_nested_parameter_expansions_and_backquotes_are_limited_too() {
    let r = sh(&format!("echo {}", nested("${x:-", "deep", "}", 1000))).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("deep\n".into(), String::new(), 0)
    );
    let r = sh(&format!("echo {}", nested("${x:-", "deep", "}", 1001))).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), TOO_DEEP.into(), 2)
    );
    let r = sh(&format!(
        "echo {}",
        nested("\"$(echo ", "deep", ")\"", 1001)
    ))
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), TOO_DEEP.into(), 2)
    );
}

#[tokio::test]
async fn a_script_file_reports_the_nesting_limit_with_its_name_and_line() {
    let script = format!("echo one\n{}\n", nested("(", "echo deep", ")", 1001));
    let sim = sim_with(SimSpec {
        rootfs: {
            let mut files = busybox_spec().rootfs;
            files.push(crate::process::FileSeed::File {
                path: "/tmp/deep.sh".into(),
                contents: script.into(),
                mode: 0o755,
            });
            files
        },
        ..busybox_spec()
    });
    let r = super::run_in(&sim, &["sh", "/tmp/deep.sh"]).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (
            "one\n".into(),
            "/tmp/deep.sh: line 2: nested too deeply: more than 1000 levels\n".into(),
            2
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn arithmetic_nests_a_thousand_levels_and_refuses_more_with_status_2() {
    let r = sh(&format!("echo $(({}))", nested("(", "1", ")", 1000))).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("1\n".into(), String::new(), 0)
    );
    let r = sh(&format!(
        "echo $(({})); echo after",
        nested("(", "1", ")", 1001)
    ))
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), TOO_DEEP.into(), 2)
    );
    let r = sh(&format!("echo $(({}1))", "- ".repeat(1001))).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), TOO_DEEP.into(), 2)
    );
    let r = sh(&format!("echo $(({}1))", "a=".repeat(1001))).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), TOO_DEEP.into(), 2)
    );
}

#[tokio::test]
async fn nested_command_substitutions_parse_in_linear_time() {
    // Each level used to be parsed four times over: 4^30 steps.
    let script = format!("echo {}", nested("$(echo ", "deep", ")", 30));
    let r = tokio::time::timeout(Duration::from_secs(60), sh(&script))
        .await
        .expect("parsing 30 nested $(...) must not take exponential time");
    assert_eq!(r.out(), "deep\n");
}

#[tokio::test]
async fn a_word_growing_past_64_mib_gets_the_shell_oom_killed() {
    let sim = sim_with(busybox_spec());
    let r = sh_in(&sim, "x=a; while :; do x=$x$x; done").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), String::new(), 137)
    );
    assert!(sim.oom_killed());
    let r = sh_in(&sim, "x=$(yes); echo unreached").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), String::new(), 137)
    );
    sim.shutdown().await;
}

// ----- the writable layer -----

fn spec_with_disk(bytes: u64) -> SimSpec {
    SimSpec {
        writable_layer_limit_bytes: bytes,
        ..busybox_spec()
    }
}

#[tokio::test]
async fn yes_into_a_file_stops_at_the_writable_layer_budget_with_busyboxs_message() {
    let sim = sim_with(spec_with_disk(1 << 20));
    let r = sh_in(&sim, "yes abcdefghijklmnopqrstuvwxyz > /tmp/f").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (
            String::new(),
            "yes: (null): No space left on device\n".into(),
            1
        )
    );
    let r = sh_in(&sim, "wc -c < /tmp/f").await;
    assert_eq!(r.out(), "1048576\n");
    assert_eq!(sim.vfs().writable_layer_used(), 1 << 20);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_full_writable_layer_fails_writes_but_still_creates_empty_files() {
    let sim = sim_with(spec_with_disk(64 << 10));
    let r = sh_in(
        &sim,
        "head -c 65536 /dev/zero > /tmp/fill; echo $?; touch /tmp/t; echo $?; mkdir /tmp/d; echo $?; \
         echo hi > /tmp/g; echo \"echo $?\"; cat /etc/passwd > /tmp/g; echo \"cat $?\"; \
         printf '%s\\n' hi > /tmp/g; echo \"printf $?\"; seq 1 100 > /tmp/g; echo \"seq $?\"; \
         cp /etc/passwd /tmp/copy; echo \"cp $?\"",
    )
    .await;
    assert_eq!(r.out(), "0\n0\n0\necho 1\ncat 1\nprintf 1\nseq 255\ncp 1\n");
    assert_eq!(
        r.err(),
        "sh: write error: No space left on device\n\
         cat: write error: No space left on device\n\
         cp: write error: No space left on device\n"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn dd_into_a_full_writable_layer_reports_the_failed_write_and_its_records() {
    let sim = sim_with(spec_with_disk(4 << 10));
    let r = sh_in(&sim, "dd if=/dev/zero of=/tmp/h bs=1k count=10").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (
            String::new(),
            "dd: error writing '/tmp/h': No space left on device\n5+0 records in\n4+0 records out\n"
                .into(),
            1
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn removing_files_gives_their_space_back() {
    let sim = sim_with(spec_with_disk(64 << 10));
    let r = sh_in(
        &sim,
        "head -c 65536 /dev/zero > /tmp/a; echo x >> /tmp/a; echo $?; rm /tmp/a; \
         head -c 65536 /dev/zero > /tmp/b; echo $?; : > /tmp/b; echo again > /tmp/c; cat /tmp/c",
    )
    .await;
    assert_eq!(
        (r.out(), r.err()),
        (
            "1\n0\nagain\n".into(),
            "sh: write error: No space left on device\n".into()
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn new_entries_are_bounded_even_when_empty() {
    let sim = sim_with(spec_with_disk(16 << 10));
    let r = sh_in(
        &sim,
        "i=0; while touch /tmp/f$i 2>/dev/null; do i=$((i+1)); done; echo $i; touch /tmp/x",
    )
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (
            "4\n".into(),
            "touch: /tmp/x: No space left on device\n".into(),
            1
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn paths_of_4096_bytes_or_more_are_too_long() {
    let long = format!("/tmp/{}", "a/".repeat(2046));
    let r = sh(&format!("mkdir -p {long}; echo $?")).await;
    assert!(r.err().ends_with(": File name too long\n"), "{}", r.err());
    let name = "n".repeat(256);
    let r = sh(&format!("echo hi > /tmp/{name}")).await;
    assert_eq!(
        (r.err(), r.code()),
        (
            format!("sh: can't create /tmp/{name}: File name too long\n"),
            1
        )
    );
}

// ----- the number of processes -----

fn spec_with_processes(n: u32) -> SimSpec {
    SimSpec {
        max_processes: n,
        ..busybox_spec()
    }
}

#[tokio::test]
async fn a_fork_past_the_process_budget_fails_like_ash_under_a_pids_limit() {
    for last in [
        "sleep 5 &",
        "true | true;",
        "(true);",
        "x=$(echo hi);",
        "/bin/true;",
    ] {
        // The shell and its two background jobs are the three processes allowed.
        let script =
            format!("sleep 5 >/dev/null 2>&1 & sleep 5 >/dev/null 2>&1 & {last} echo unreached");
        let sim = sim_with(spec_with_processes(3));
        let r = sh_in(&sim, &script).await;
        assert_eq!(
            (r.out(), r.err(), r.code()),
            (
                String::new(),
                "sh: can't fork: Resource temporarily unavailable\n".into(),
                2
            ),
            "{script}"
        );
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn timeout_and_xargs_report_a_failed_fork_as_busybox_does() {
    // `sh -c` replaces itself by its last command: that is the one process allowed.
    let sim = sim_with(spec_with_processes(1));
    let r = sh_in(&sim, "timeout 5 sleep 1").await;
    assert_eq!(
        (r.err(), r.code()),
        (
            "timeout: vfork: Resource temporarily unavailable\n".into(),
            1
        )
    );
    let r = sh_in(&sim, "echo a > /tmp/in; exec xargs sleep < /tmp/in").await;
    assert_eq!(
        (r.err(), r.code()),
        (
            "xargs: sleep: Resource temporarily unavailable\n".into(),
            126
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_fork_bomb_never_has_more_processes_than_the_budget_and_dies_with_the_container() {
    let sim = sim_with(spec_with_processes(64));
    let (stdout, out) = crate::process::Output::pipe();
    let (stderr, mut err) = crate::process::Output::pipe();
    let bomb = sim
        .spawn(
            &super::argv(&["sh", "-c", "f() { f | f & }; f"]),
            crate::process::Stdio {
                stdin: Default::default(),
                stdout,
                stderr,
            },
        )
        .unwrap();
    assert_eq!(bomb.wait().await, ExitStatus::Exited(0));
    let mut seen = Vec::new();
    let mut max = 0;
    while seen.len() < 64 * 1024 {
        max = max.max(sim.processes().len());
        match err.next().await {
            Some(chunk) => seen.extend_from_slice(&chunk),
            None => break,
        }
    }
    assert!(max <= 64, "{max} processes");
    let text = String::from_utf8_lossy(&seen);
    assert!(
        text.starts_with("sh: can't fork: Resource temporarily unavailable\n"),
        "{text}"
    );
    sim.shutdown().await;
    assert!(sim.processes().is_empty());
    drop(out);
}

// ----- open pipes -----

const CANT_PIPE: &str = "sh: can't create pipe: Too many open files\n";

fn spec_with_pipes(n: u32) -> SimSpec {
    SimSpec {
        max_open_pipes: n,
        ..busybox_spec()
    }
}

#[tokio::test]
async fn a_pipe_past_the_open_pipe_budget_fails_like_ash_with_emfile_and_status_2() {
    // The first two sleeps hold the two pipes allowed (and nothing of the exec's
    // streams); the third `|` cannot get a pipe, so nothing after it runs.
    let sim = sim_with(spec_with_pipes(2));
    let quiet = "sleep 5 >/dev/null 2>&1";
    let r = sh_in(
        &sim,
        &format!("sleep 5 2>/dev/null | sleep 5 2>/dev/null | {quiet} | echo unreached"),
    )
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), CANT_PIPE.into(), 2)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_command_substitution_past_the_open_pipe_budget_fails_in_its_subshell() {
    // The outer $(...) holds the one pipe allowed; the subshell running it cannot get
    // another and exits 2, which becomes the assignment's status.
    let sim = sim_with(spec_with_pipes(1));
    let r = sh_in(&sim, "x=$(y=$(echo hi); echo unreached); echo \"$? [$x]\"").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("2 []\n".into(), CANT_PIPE.into(), 0)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_pipe_is_given_back_to_the_budget_once_both_its_ends_are_closed() {
    let sim = sim_with(spec_with_pipes(1));
    let r = sh_in(
        &sim,
        "for i in 1 2 3; do echo $i | cat; done; x=$(echo four); echo $x",
    )
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("1\n2\n3\nfour\n".into(), String::new(), 0)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn pipelines_nested_without_end_stop_at_the_budget_and_unwind_with_status_2() {
    // Each level holds one pipe (`yes` writing, the next level reading) and starts
    // the next; the ninth cannot get a pipe, exits 2, and every `yes` above it dies
    // of SIGPIPE as the levels unwind.
    let sim = sim_with(spec_with_pipes(8));
    let r = sh_in(&sim, "f() { yes | f; }; f").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), CANT_PIPE.into(), 2)
    );
    assert!(sim.processes().is_empty(), "{:?}", sim.processes());
    sim.shutdown().await;
}

// ----- memory applets hold -----

fn spec_with_memory_budget(bytes: u64) -> SimSpec {
    SimSpec {
        memory_budget_bytes: bytes,
        ..busybox_spec()
    }
}

#[tokio::test]
async fn sort_holding_more_than_the_memory_budget_is_oom_killed_without_a_memory_limit() {
    let sim = sim_with(spec_with_memory_budget(8 << 20));
    let r = sh_in(&sim, "yes abc | head -c 200000000 | sort").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), "Killed\n".into(), 137)
    );
    assert!(sim.oom_killed());
    sim.shutdown().await;
}

#[tokio::test]
async fn what_sort_holds_is_given_back_when_it_exits() {
    // Each sort holds about 5 MiB: one fits the 8 MiB budget, two at once would not.
    let sim = sim_with(spec_with_memory_budget(8 << 20));
    let r = sh_in(
        &sim,
        "seq 100000 | sort -n | tail -n 1; seq 100000 | sort -rn | tail -n 1",
    )
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("100000\n1\n".into(), String::new(), 0)
    );
    assert!(!sim.oom_killed());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_lower_of_the_memory_limit_and_the_memory_budget_applies() {
    // 100000 short lines are about 5 MiB held: within the budget, over a 4 MiB limit.
    let script = "seq 100000 | sort >/dev/null";
    let sim = sim_with(SimSpec {
        memory_limit_bytes: 64 << 20,
        ..spec_with_memory_budget(64 << 20)
    });
    let r = sh_in(&sim, script).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), String::new(), 0)
    );
    sim.shutdown().await;
    let sim = sim_with(SimSpec {
        memory_limit_bytes: 4 << 20,
        ..spec_with_memory_budget(64 << 20)
    });
    let r = sh_in(&sim, script).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), "Killed\n".into(), 137)
    );
    sim.shutdown().await;
    let sim = sim_with(SimSpec {
        memory_limit_bytes: 64 << 20,
        ..spec_with_memory_budget(4 << 20)
    });
    let r = sh_in(&sim, script).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), "Killed\n".into(), 137)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn tail_keeping_more_lines_or_bytes_than_the_budget_is_oom_killed() {
    let sim = sim_with(spec_with_memory_budget(8 << 20));
    for script in [
        "yes abc | tail -n 100000000",
        "yes abc | tail -c 1000000000",
    ] {
        let r = sh_in(&sim, script).await;
        assert_eq!(
            (r.out(), r.err(), r.code()),
            (String::new(), "Killed\n".into(), 137),
            "{script}"
        );
    }
    // A tail that keeps little streams through any amount.
    let r = sh_in(&sim, "yes abc | head -c 40000000 | tail -n 2").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("abc\nabc\n".into(), String::new(), 0)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_line_without_end_gets_uniq_and_grep_oom_killed_past_the_budget() {
    let sim = sim_with(spec_with_memory_budget(4 << 20));
    for script in ["yes | tr -d '\\n' | uniq", "yes | tr -d '\\n' | grep x"] {
        let r = sh_in(&sim, script).await;
        assert_eq!(
            (r.out(), r.err(), r.code()),
            (String::new(), "Killed\n".into(), 137),
            "{script}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn xargs_reading_an_endless_input_is_oom_killed_instead_of_growing() {
    // The fake's xargs reads all its input before it runs anything (busybox runs a
    // command per 30 KiB of arguments and would go on for ever): what it holds is
    // charged.
    let sim = sim_with(spec_with_memory_budget(8 << 20));
    let r = sh_in(&sim, "yes abc | xargs true").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), "Killed\n".into(), 137)
    );
    let r = sh_in(&sim, "seq 3 | xargs -n 2 echo").await;
    assert_eq!((r.out(), r.code()), ("1 2\n3\n".into(), 0));
    sim.shutdown().await;
}

#[tokio::test]
async fn memory_that_is_only_accounted_is_not_charged_to_the_budget() {
    // dd's block buffer counts against the memory limit alone (it is not really
    // allocated: see `dd_with_a_block_bigger_than_the_memory_limit_is_oom_killed`).
    let sim = sim_with(spec_with_memory_budget(1 << 20));
    let r = sh_in(
        &sim,
        "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null",
    )
    .await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), String::new(), 0)
    );
    assert!(!sim.oom_killed());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_read_builtin_and_a_script_on_stdin_stop_at_the_word_limit() {
    let sim = sim_with(busybox_spec());
    let r = sh_in(&sim, "yes | tr -d '\\n' | { read x; echo unreached; }").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), "Killed\n".into(), 137)
    );
    let r = sh_in(&sim, "yes : | tr -d '\\n' | sh").await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        (String::new(), "Killed\n".into(), 137)
    );
    sim.shutdown().await;
}
