//! Behaviour tests of the process world, by area. The helpers spawn an argv in a fresh
//! busybox container and collect stdout, stderr and the exit status.

mod applets;
mod fs;
mod limits;
mod net;
mod programs;
mod security;
mod shell;
mod signals;
mod spawn;
mod streaming;
mod users;

use std::sync::Arc;

use super::{
    ContainerSim, ExitStatus, Input, Output, OutputReader, Programs, SimSpec, Stdio, rootfs,
};

/// What a finished process left behind.
#[derive(Debug)]
pub(super) struct Run {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: ExitStatus,
}

impl Run {
    pub(super) fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub(super) fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    pub(super) fn code(&self) -> i32 {
        self.status.code()
    }
}

/// The busybox image as containerd runs it: hostname `vm`, `PATH=/bin`.
pub(super) fn busybox_spec() -> SimSpec {
    SimSpec {
        hostname: "vm".into(),
        env: vec!["PATH=/bin".into()],
        rootfs: rootfs::busybox(),
        ..Default::default()
    }
}

pub(super) fn sim_with(spec: SimSpec) -> Arc<ContainerSim> {
    ContainerSim::new(spec, Arc::new(Programs::builtin()))
}

pub(super) fn busybox() -> Arc<ContainerSim> {
    sim_with(busybox_spec())
}

pub(super) fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

pub(super) async fn drain(mut reader: OutputReader) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = reader.next().await {
        out.extend_from_slice(&chunk);
    }
    out
}

/// Runs `args` in `sim` with `stdin`, collecting both streams until every holder of
/// them is gone.
pub(super) async fn run_with_input(sim: &Arc<ContainerSim>, args: &[&str], stdin: Input) -> Run {
    let (stdout, out) = Output::pipe();
    let (stderr, err) = Output::pipe();
    let process = sim
        .spawn(
            &argv(args),
            Stdio {
                stdin,
                stdout,
                stderr,
            },
        )
        .expect("spawn");
    let (stdout, stderr, status) = tokio::join!(drain(out), drain(err), process.wait());
    Run {
        stdout,
        stderr,
        status,
    }
}

pub(super) async fn run_in(sim: &Arc<ContainerSim>, args: &[&str]) -> Run {
    run_with_input(sim, args, Input::empty()).await
}

/// Runs `args` in a fresh busybox container.
pub(super) async fn run(args: &[&str]) -> Run {
    let sim = busybox();
    let r = run_in(&sim, args).await;
    sim.shutdown().await;
    r
}

/// `sh -c script` in a fresh busybox container.
pub(super) async fn sh(script: &str) -> Run {
    run(&["sh", "-c", script]).await
}

/// `sh -c script` in `sim`.
pub(super) async fn sh_in(sim: &Arc<ContainerSim>, script: &str) -> Run {
    run_in(sim, &["sh", "-c", script]).await
}
