//! Signals, traps, dispositions, exit statuses of killed processes, orphans.

use std::time::Duration;

use super::{argv, busybox, drain, run, run_in, sh, sim_with};
use crate::process::{ExitStatus, Output, Signal, SimSpec, Stdio, rootfs};

#[tokio::test]
async fn kill_9_dollar_dollar_is_137_and_nothing_after_it_runs() {
    let r = sh("kill -9 $$; echo after").await;
    assert_eq!(
        (r.out(), r.status),
        ("".into(), ExitStatus::Signaled(Signal::SIGKILL))
    );
    assert_eq!(r.code(), 137);
}

#[tokio::test]
async fn kill_15_dollar_dollar_is_143() {
    let r = sh("kill -15 $$; echo after").await;
    assert_eq!((r.out(), r.code()), ("".into(), 143));
    assert_eq!(sh("kill -s TERM $$").await.code(), 143);
    assert_eq!(sh("kill -TERM $$").await.code(), 143);
}

#[tokio::test(start_paused = true)]
async fn sigterm_ends_a_sleep_with_143_and_sigkill_ends_it_with_137_at_once() {
    let sim = busybox();
    let sleeper = sim.spawn(&argv(&["sleep", "1000"]), Stdio::null()).unwrap();
    sleeper.signal(Signal::SIGTERM);
    assert_eq!(sleeper.wait().await, ExitStatus::Signaled(Signal::SIGTERM));
    let start = tokio::time::Instant::now();
    let sleeper = sim.spawn(&argv(&["sleep", "1000"]), Stdio::null()).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    sleeper.signal(Signal::SIGKILL);
    assert_eq!(sleeper.wait().await.code(), 137);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn sh_c_single_command_is_replaced_by_it_and_gets_the_signal_itself() {
    let sim = busybox();
    let p = sim
        .spawn(&argv(&["sh", "-c", "sleep 1000"]), Stdio::null())
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let procs = sim.processes();
    assert_eq!(procs.len(), 1);
    assert_eq!(
        (procs[0].pid, procs[0].argv.clone()),
        (1, argv(&["sleep", "1000"]))
    );
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait().await.code(), 143);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn trap_exit_0_on_term_ends_a_sleep_loop_with_status_0() {
    let sim = busybox();
    let p = sim
        .spawn(
            &argv(&[
                "sh",
                "-c",
                "trap \"exit 0\" TERM; while true; do sleep 0.1; done",
            ]),
            Stdio::null(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = tokio::time::Instant::now();
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait().await, ExitStatus::Exited(0));
    assert!(start.elapsed() <= Duration::from_millis(100));
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_trapped_signal_runs_its_handler_after_the_foreground_command_finishes() {
    let sim = busybox();
    let (stdout, out) = Output::pipe();
    let p = sim
        .spawn(
            &argv(&[
                "sh",
                "-c",
                "trap 'echo got TERM; exit 3' TERM; sleep 10; echo not reached",
            ]),
            Stdio {
                stdin: Default::default(),
                stdout,
                stderr: Output::null(),
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = tokio::time::Instant::now();
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait().await, ExitStatus::Exited(3));
    assert_eq!(start.elapsed(), Duration::from_secs(9));
    assert_eq!(drain(out).await, b"got TERM\n");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn wait_is_interrupted_by_a_trapped_signal() {
    let sim = busybox();
    let (stdout, out) = Output::pipe();
    let p = sim
        .spawn(
            &argv(&[
                "sh",
                "-c",
                "trap 'echo trapped' USR1; sleep 100 & wait; echo after $?; kill $!",
            ]),
            Stdio {
                stdin: Default::default(),
                stdout,
                stderr: Output::null(),
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    p.signal(Signal::SIGUSR1);
    assert_eq!(p.wait().await, ExitStatus::Exited(0));
    assert_eq!(drain(out).await, b"trapped\nafter 138\n");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_ignored_term_is_inherited_by_children_and_only_kill_ends_them() {
    let sim = busybox();
    let p = sim
        .spawn(
            &argv(&["sh", "-c", "trap '' TERM; sleep 1000; echo done"]),
            Stdio::null(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    p.kill_tree(Signal::SIGTERM);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(p.try_status(), None);
    let names: Vec<Vec<String>> = sim.processes().into_iter().map(|p| p.argv).collect();
    assert_eq!(names.len(), 2);
    assert_eq!(names[1], argv(&["sleep", "1000"]));
    p.kill_tree(Signal::SIGKILL);
    assert_eq!(p.wait().await.code(), 137);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn sh_c_trap_ignore_then_sleep_keeps_the_ignore_across_exec() {
    let sim = busybox();
    let p = sim
        .spawn(
            &argv(&["sh", "-c", "trap '' TERM; sleep 1000"]),
            Stdio::null(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    p.signal(Signal::SIGTERM);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(p.try_status(), None);
    p.signal(Signal::SIGKILL);
    assert_eq!(p.wait().await.code(), 137);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn trap_dash_restores_the_default_action() {
    let sim = busybox();
    let p = sim
        .spawn(
            &argv(&[
                "sh",
                "-c",
                "trap 'echo x' TERM; trap - TERM; sleep 1000; echo after",
            ]),
            Stdio::null(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait().await.code(), 143);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_exit_trap_runs_when_the_shell_exits() {
    let r = sh("trap 'echo bye' EXIT; echo hi; exit 4").await;
    assert_eq!((r.out(), r.code()), ("hi\nbye\n".into(), 4));
}

#[tokio::test]
async fn default_ignored_signals_do_not_end_a_process() {
    let r = sh("kill -CHLD $$; kill -WINCH $$; kill -CONT $$; echo alive").await;
    assert_eq!((r.out(), r.code()), ("alive\n".into(), 0));
}

#[tokio::test]
async fn a_shell_reports_a_foreground_child_killed_by_a_signal() {
    let r = sh("sh -c 'kill -9 $$'; echo status $?").await;
    assert_eq!(
        (r.out(), r.err()),
        ("status 137\n".into(), "Killed\n".into())
    );
    let r = sh("sh -c 'kill $$'; echo status $?").await;
    assert_eq!(
        (r.out(), r.err()),
        ("status 143\n".into(), "Terminated\n".into())
    );
}

#[tokio::test(start_paused = true)]
async fn orphans_keep_running_after_their_parent_exits() {
    let sim = busybox();
    let r = run_in(
        &sim,
        &["sh", "-c", "sleep 50 >/dev/null 2>&1 & echo started"],
    )
    .await;
    assert_eq!((r.out(), r.code()), ("started\n".into(), 0));
    let procs = sim.processes();
    assert_eq!(procs.len(), 1);
    assert_eq!(
        (procs[0].pid, procs[0].ppid, procs[0].argv.clone()),
        (2, 0, argv(&["sleep", "50"]))
    );
    tokio::time::sleep(Duration::from_secs(51)).await;
    assert_eq!(sim.processes(), vec![]);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn kill_all_signals_every_process_and_shutdown_ends_them() {
    let sim = busybox();
    let a = sim.spawn(&argv(&["sleep", "100"]), Stdio::null()).unwrap();
    let b = sim
        .spawn(
            &argv(&["sh", "-c", "trap '' TERM; sleep 100; true"]),
            Stdio::null(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    sim.kill_all(Signal::SIGTERM);
    assert_eq!(a.wait().await.code(), 143);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(b.try_status(), None);
    sim.shutdown().await;
    assert_eq!(b.try_status(), Some(ExitStatus::Signaled(Signal::SIGKILL)));
    assert_eq!(sim.processes(), vec![]);
}

#[tokio::test(start_paused = true)]
async fn kill_from_another_exec_reaches_the_main_process() {
    let sim = busybox();
    let main = sim.spawn(&argv(&["sleep", "1000"]), Stdio::null()).unwrap();
    let r = run_in(&sim, &["kill", "-TERM", "1"]).await;
    assert_eq!(r.code(), 0);
    assert_eq!(main.wait().await.code(), 143);
    let r = run_in(&sim, &["kill", "99"]).await;
    assert_eq!(
        (r.err(), r.code()),
        ("kill: can't kill pid 99: No such process\n".into(), 1)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn kill_as_a_shell_builtin_reports_errors_as_sh() {
    let r = sh("kill 99").await;
    assert_eq!(
        (r.err(), r.code()),
        ("sh: can't kill pid 99: No such process\n".into(), 1)
    );
}

#[tokio::test]
async fn kill_l_translates_between_numbers_and_names() {
    let r = run(&["kill", "-l", "9", "TERM", "143"]).await;
    assert_eq!(r.out(), "KILL\n15\nTERM\n");
    let r = run(&["kill", "-l"]).await;
    assert!(r.out().starts_with(" 1) HUP\n 2) INT\n 3) QUIT\n"));
}

#[tokio::test(start_paused = true)]
async fn pause_exits_0_on_sigterm_and_sigint_and_dies_on_sighup() {
    let spec = SimSpec {
        rootfs: rootfs::pause(),
        ..Default::default()
    };
    for (sig, status) in [
        (Signal::SIGTERM, ExitStatus::Exited(0)),
        (Signal::SIGINT, ExitStatus::Exited(0)),
        (Signal::SIGHUP, ExitStatus::Signaled(Signal::SIGHUP)),
    ] {
        let sim = sim_with(spec.clone());
        let (stderr, err) = Output::pipe();
        let p = sim
            .spawn(
                &argv(&["/pause"]),
                Stdio {
                    stdin: Default::default(),
                    stdout: Output::null(),
                    stderr,
                },
            )
            .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(p.try_status(), None);
        p.signal(sig);
        assert_eq!(p.wait().await, status);
        let text = drain(err).await;
        if sig == Signal::SIGTERM {
            assert_eq!(text, b"Shutting down, got signal: Terminated\n");
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn sigpipe_ends_a_writer_whose_reader_left() {
    let r = sh("yes | head -n 2; echo $?").await;
    assert_eq!((r.out(), r.err()), ("y\ny\n0\n".into(), "".into()));
    let r = sh("set -o pipefail; yes | head -n 1; echo $?").await;
    assert_eq!(r.out(), "y\n141\n");
}

#[tokio::test]
async fn trap_lists_actions_and_rejects_unknown_signals() {
    let r = sh("trap 'echo t' TERM INT; trap '' HUP; trap; trap 'x' FOO; echo $?").await;
    assert_eq!(
        r.out(),
        "trap -- '' HUP\ntrap -- 'echo t' INT\ntrap -- 'echo t' TERM\n1\n"
    );
    assert_eq!(
        r.err(),
        "sh: trap: line 1: FOO: invalid signal specification\n"
    );
}
