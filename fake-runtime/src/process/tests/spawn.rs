//! Spawning: `argv[0]` resolution, runc's errors, pids, the process table.

use std::time::Duration;

use super::{argv, busybox, busybox_spec, run_in, sim_with};
use crate::process::{ExitStatus, SimSpec, SpawnError, Stdio};

#[tokio::test]
async fn spawn_errors_use_runc_wording() {
    let sim = busybox();
    let err = |args: &[&str]| sim.spawn(&argv(args), Stdio::null()).err();
    assert_eq!(err(&[]), Some(SpawnError::EmptyArgs));
    assert_eq!(err(&[]).unwrap().runc_message(), "args must not be empty");
    assert_eq!(err(&[""]), Some(SpawnError::NotFoundInPath(String::new())));
    assert_eq!(
        err(&[""]).unwrap().runc_message(),
        "unable to start container process: exec: \"\": executable file not found in $PATH"
    );
    assert_eq!(
        err(&["nonexistent-cmd"]).unwrap().runc_message(),
        "unable to start container process: exec: \"nonexistent-cmd\": executable file not found in $PATH"
    );
    assert_eq!(
        err(&["/no/such/binary"]).unwrap().runc_message(),
        "unable to start container process: exec: \"/no/such/binary\": stat /no/such/binary: no such file or directory"
    );
    assert_eq!(
        err(&["/etc/passwd"]).unwrap().runc_message(),
        "unable to start container process: exec: \"/etc/passwd\": permission denied"
    );
    assert_eq!(
        err(&["/tmp"]),
        Some(SpawnError::PermissionDenied("/tmp".into()))
    );
    assert_eq!(sim.processes(), vec![]);
    sim.shutdown().await;
}

#[tokio::test]
async fn commands_resolve_through_path_absolute_and_relative_paths() {
    let sim = busybox();
    assert_eq!(run_in(&sim, &["echo", "a"]).await.out(), "a\n");
    assert_eq!(run_in(&sim, &["/bin/echo", "b"]).await.out(), "b\n");
    let spec = SimSpec {
        working_dir: "/bin".into(),
        ..busybox_spec()
    };
    let in_bin = sim_with(spec);
    assert_eq!(run_in(&in_bin, &["./echo", "c"]).await.out(), "c\n");
    assert_eq!(
        in_bin.spawn(&argv(&["./nope"]), Stdio::null()).err(),
        Some(SpawnError::NoSuchFile("./nope".into()))
    );
    in_bin.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn without_path_in_the_env_bare_names_are_not_found() {
    let spec = SimSpec {
        env: vec![],
        ..busybox_spec()
    };
    let sim = sim_with(spec);
    assert_eq!(
        sim.spawn(&argv(&["echo"]), Stdio::null()).err(),
        Some(SpawnError::NotFoundInPath("echo".into()))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn the_working_directory_is_created_when_missing() {
    let spec = SimSpec {
        working_dir: "/work/dir".into(),
        ..busybox_spec()
    };
    let sim = sim_with(spec);
    assert_eq!(run_in(&sim, &["pwd"]).await.out(), "/work/dir\n");
    assert_eq!(
        run_in(&sim, &["sh", "-c", "echo $PWD"]).await.out(),
        "/work/dir\n"
    );
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn pids_start_at_1_and_every_exec_shows_in_the_table() {
    let sim = busybox();
    let main = sim.spawn(&argv(&["sleep", "100"]), Stdio::null()).unwrap();
    assert_eq!(main.pid(), 1);
    let r = run_in(&sim, &["ps"]).await;
    assert_eq!(
        r.out(),
        "PID   USER     TIME  COMMAND\n    1 root      0:00 sleep 100\n    2 root      0:00 ps\n"
    );
    let infos = sim.processes();
    assert_eq!(infos.len(), 1);
    assert_eq!(
        (infos[0].pid, infos[0].ppid, infos[0].comm.as_str()),
        (1, 0, "sleep")
    );
    let r = run_in(
        &sim,
        &[
            "sh",
            "-c",
            "pgrep sleep; pidof sleep; pgrep -f '^sleep 1'; pgrep nomatch; echo $?",
        ],
    )
    .await;
    assert_eq!(r.out(), "1\n1\n1\n1\n");
    main.signal(crate::process::Signal::SIGKILL);
    assert_eq!(
        main.wait().await,
        ExitStatus::Signaled(crate::process::Signal::SIGKILL)
    );
    assert_eq!(sim.processes(), vec![]);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn any_number_of_waiters_see_the_same_status() {
    let sim = busybox();
    let p = sim.spawn(&argv(&["sleep", "2"]), Stdio::null()).unwrap();
    let q = p.clone();
    let (a, b) = tokio::join!(p.wait(), q.wait());
    assert_eq!((a, b), (ExitStatus::Exited(0), ExitStatus::Exited(0)));
    assert_eq!(p.try_status(), Some(ExitStatus::Exited(0)));
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_simulation_kills_its_processes() {
    let sim = busybox();
    let p = sim
        .spawn(&argv(&["sleep", "infinity"]), Stdio::null())
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop(sim);
    assert_eq!(p.wait().await.code(), 137);
}

#[tokio::test]
async fn processes_spawned_after_shutdown_are_killed_at_once() {
    let sim = busybox();
    sim.shutdown().await;
    let p = sim
        .spawn(&argv(&["sleep", "infinity"]), Stdio::null())
        .unwrap();
    assert_eq!(p.wait().await.code(), 137);
}

#[tokio::test]
async fn busybox_dispatches_on_its_first_argument_or_argv0() {
    let sim = busybox();
    assert_eq!(
        run_in(&sim, &["busybox", "echo", "via busybox"])
            .await
            .out(),
        "via busybox\n"
    );
    let r = run_in(&sim, &["busybox", "nope"]).await;
    assert_eq!(
        (r.err(), r.code()),
        ("nope: applet not found\n".into(), 127)
    );
    let list = run_in(&sim, &["busybox", "--list"]).await.out();
    assert!(list.lines().any(|l| l == "sh") && list.lines().any(|l| l == "dd"));
    sim.shutdown().await;
}
