//! User-registered programs: the extensibility point for test authors.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{argv, busybox_spec, drain, run_in};
use crate::process::{
    ContainerSim, ExitStatus, Output, ProgramContext, Programs, Signal, SpawnError, Stdio,
};

fn sim_with_programs(programs: Programs) -> Arc<ContainerSim> {
    ContainerSim::new(busybox_spec(), Arc::new(programs))
}

async fn greet(ctx: ProgramContext) -> i32 {
    let who = ctx.args.get(1).cloned().unwrap_or_else(|| "world".into());
    let _ = ctx.out(format!("hello {who} from {}\n", ctx.cwd)).await;
    if who == "fail" { 300 } else { 0 }
}

#[tokio::test]
async fn a_closure_registered_as_a_program_runs_from_path_and_from_sh() {
    let mut programs = Programs::builtin();
    programs.register("hello", |ctx: ProgramContext| async move {
        let _ = ctx
            .out(Bytes::from(format!("args={:?}\n", &ctx.args[1..])))
            .await;
        let _ = ctx.err("to stderr\n").await;
        ExitStatus::Exited(9)
    });
    let sim = sim_with_programs(programs);
    let r = run_in(&sim, &["hello", "a", "b c"]).await;
    assert_eq!(
        (r.out(), r.err(), r.code()),
        ("args=[\"a\", \"b c\"]\n".into(), "to stderr\n".into(), 9)
    );
    let r = run_in(
        &sim,
        &["sh", "-c", "hello x 2>/dev/null | tr a-z A-Z; echo $?"],
    )
    .await;
    assert_eq!(r.out(), "ARGS=[\"X\"]\n0\n");
    assert_eq!(
        run_in(&sim, &["ls", "-1", "/bin/hello"]).await.out(),
        "/bin/hello\n"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn an_async_fn_program_returning_i32_has_its_code_taken_modulo_256() {
    let mut programs = Programs::builtin();
    programs.register("greet", greet);
    let sim = sim_with_programs(programs);
    let r = run_in(&sim, &["greet", "you"]).await;
    assert_eq!((r.out(), r.code()), ("hello you from /\n".into(), 0));
    assert_eq!(run_in(&sim, &["greet", "fail"]).await.code(), 44);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_program_with_an_absolute_name_is_placed_at_that_path() {
    let mut programs = Programs::builtin();
    programs.register("/opt/app/server", greet);
    let sim = sim_with_programs(programs);
    assert_eq!(
        run_in(&sim, &["/opt/app/server"]).await.out(),
        "hello world from /\n"
    );
    assert_eq!(
        sim.spawn(&argv(&["server"]), Stdio::null()).err(),
        Some(SpawnError::NotFoundInPath("server".into()))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn registering_a_builtin_name_replaces_it() {
    let mut programs = Programs::builtin();
    programs.register("hostname", |ctx: ProgramContext| async move {
        let _ = ctx.out("replaced\n").await;
        0
    });
    let sim = sim_with_programs(programs);
    assert_eq!(run_in(&sim, &["hostname"]).await.out(), "replaced\n");
    assert_eq!(
        run_in(&sim, &["sh", "-c", "hostname"]).await.out(),
        "replaced\n"
    );
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_program_can_catch_sigterm_and_shut_down_cleanly() {
    let mut programs = Programs::builtin();
    programs.register("server", |mut ctx: ProgramContext| async move {
        ctx.signals.catch(Signal::SIGTERM);
        let _ = ctx.out("ready\n").await;
        let sig = ctx.signals.recv().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = ctx.out(format!("stopping on {sig:?}\n")).await;
        0
    });
    let sim = sim_with_programs(programs);
    let (stdout, out) = Output::pipe();
    let p = sim
        .spawn(
            &argv(&["server"]),
            Stdio {
                stdin: Default::default(),
                stdout,
                stderr: Output::null(),
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let start = tokio::time::Instant::now();
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait().await, ExitStatus::Exited(0));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(drain(out).await, b"ready\nstopping on SIGTERM\n");
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_program_that_does_not_catch_sigterm_dies_of_it() {
    let mut programs = Programs::builtin();
    programs.register("stubborn", |_ctx: ProgramContext| async move {
        tokio::time::sleep(Duration::from_secs(1000)).await;
        0
    });
    let sim = sim_with_programs(programs);
    let p = sim.spawn(&argv(&["stubborn"]), Stdio::null()).unwrap();
    p.signal(Signal::SIGTERM);
    assert_eq!(p.wait().await.code(), 143);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_program_can_use_the_container_filesystem_and_spawn_children() {
    let mut programs = Programs::builtin();
    programs.register("setup", |ctx: ProgramContext| async move {
        let Ok(out) = ctx.open_write("/tmp/config", crate::process::vfs::WriteMode::TRUNCATE)
        else {
            return 1;
        };
        let _ = out.write(Bytes::from_static(b"key=value\n")).await;
        let child = ctx.spawn(
            &["cat".to_string(), "/tmp/config".to_string()],
            Stdio {
                stdin: Default::default(),
                stdout: ctx.stdout.clone(),
                stderr: ctx.stderr.clone(),
            },
        );
        match child {
            Ok(c) => c.wait().await.code(),
            Err(_) => 2,
        }
    });
    let sim = sim_with_programs(programs);
    let r = run_in(&sim, &["setup"]).await;
    assert_eq!((r.out(), r.code()), ("key=value\n".into(), 0));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_program_object_can_be_spawned_directly_and_as_a_child() {
    let sim = sim_with_programs(Programs::builtin());
    let child: Arc<dyn crate::process::Program> = Arc::new(|ctx: ProgramContext| async move {
        let _ = ctx
            .out(format!("child {:?} ppid {}\n", ctx.args, ctx.system.ppid()))
            .await;
        5
    });
    let parent: Arc<dyn crate::process::Program> = Arc::new(move |ctx: ProgramContext| {
        let child = Arc::clone(&child);
        async move {
            let stdio = Stdio {
                stdin: Default::default(),
                stdout: ctx.stdout.clone(),
                stderr: Output::null(),
            };
            let h = ctx.spawn_program(child, &["kid".to_string()], stdio);
            h.wait().await.code() + 1
        }
    });
    let (stdout, out) = Output::pipe();
    let p = sim.spawn_program(
        parent,
        &["parent".to_string(), "x".to_string()],
        Stdio {
            stdin: Default::default(),
            stdout,
            stderr: Output::null(),
        },
    );
    assert_eq!(p.pid(), 1);
    assert_eq!(p.wait().await, ExitStatus::Exited(6));
    assert_eq!(drain(out).await, b"child [\"kid\"] ppid 1\n");
    sim.shutdown().await;
}
