//! [`Reply`]: what a scripted exec or container runs instead of (or as) its command.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::launcher::Launcher;
use super::matchers::Invocation;
use crate::process::pipe::Input;
use crate::process::{
    ContainerSim, ExitStatus, ProcessHandle, Program, ProgramContext, SpawnError, Stdio,
};

/// How a scripted process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Exit(i32),
    OomKill,
}

#[derive(Clone)]
enum Kind {
    Canned {
        stdout: Bytes,
        stderr: Bytes,
        end: End,
    },
    Program(Arc<dyn Program>),
    Command(Vec<String>),
    Simulate,
}

/// What a scripted exec or container does: canned output and an exit code, an
/// OOM kill, a [`Program`], another command, or the real simulation.
///
/// Canned replies write their stdout and stderr at once, wait their
/// [`delay`](Self::delay), optionally leave a background child holding the output open
/// ([`hold_io_for`](Self::hold_io_for)), then exit. They run as processes of the
/// container's simulation, so everything the exec engine does applies to them:
/// `ExecSync`'s timeout (a delay longer than the timeout gives `DEADLINE_EXCEEDED`),
/// its IO drain (held output delays the answer, or fails it with containerd's drain
/// error when `drain_exec_sync_io_timeout` is set), the 16 MiB limits, and a
/// container's exit code, reason (`Completed`, `Error`, `OOMKilled`) and log file.
///
/// ```
/// use std::time::Duration;
/// use cri_fake::script::Reply;
///
/// let reply = Reply::exit(0).stdout("ID=alpine\n");
/// let slow_failure = Reply::exit(1).stderr("boom\n").delay(Duration::from_secs(2));
/// let background_child = Reply::exit(0).stdout("started\n").hold_io_for(Duration::from_secs(20));
/// let oom = Reply::oom_kill().delay(Duration::from_millis(500));
/// # drop((reply, slow_failure, background_child, oom));
/// ```
#[derive(Clone)]
#[must_use]
pub struct Reply {
    kind: Kind,
    delay: Duration,
    hold_io: Duration,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Reply {
    fn of(kind: Kind) -> Self {
        Self {
            kind,
            delay: Duration::ZERO,
            hold_io: Duration::ZERO,
        }
    }

    /// Exits with `code` (taken modulo 256), writing nothing unless
    /// [`stdout`](Self::stdout) / [`stderr`](Self::stderr) are set.
    pub fn exit(code: i32) -> Self {
        Self::of(Kind::Canned {
            stdout: Bytes::new(),
            stderr: Bytes::new(),
            end: End::Exit(code),
        })
    }

    /// Exits with code 0.
    pub fn ok() -> Self {
        Self::exit(0)
    }

    /// Is OOM-killed: exit code 137, and a container's reason becomes `OOMKilled`.
    pub fn oom_kill() -> Self {
        Self::of(Kind::Canned {
            stdout: Bytes::new(),
            stderr: Bytes::new(),
            end: End::OomKill,
        })
    }

    /// A container that crash-loops: every start exits at once with `code` (a
    /// non-zero code gives reason `Error`). The same as [`exit`](Self::exit); use it
    /// with [`ContainerScript`](super::ContainerScript), and with
    /// [`up_to_n_times`](super::ContainerScript::up_to_n_times) to let a later attempt
    /// run normally.
    pub fn crash_loop(code: i32) -> Self {
        Self::exit(code)
    }

    /// Runs `program` with the command's argv (registered nowhere: it runs only here).
    pub fn program(program: impl Program) -> Self {
        Self::of(Kind::Program(Arc::new(program)))
    }

    /// Runs `argv` in the simulation instead of the command (a program registered with
    /// [`FakeRuntimeBuilder::program`](crate::FakeRuntimeBuilder::program), a shell
    /// line, ...).
    pub fn command<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::of(Kind::Command(argv.into_iter().map(Into::into).collect()))
    }

    /// Runs the command in the simulation as if no script matched (the match is still
    /// counted for [`expect`](super::ExecScript::expect)).
    pub fn simulate() -> Self {
        Self::of(Kind::Simulate)
    }

    /// Sets the standard output a canned reply writes.
    pub fn stdout(mut self, data: impl Into<Bytes>) -> Self {
        if let Kind::Canned { stdout, .. } = &mut self.kind {
            *stdout = data.into();
        }
        self
    }

    /// Sets the standard error a canned reply writes.
    pub fn stderr(mut self, data: impl Into<Bytes>) -> Self {
        if let Kind::Canned { stderr, .. } = &mut self.kind {
            *stderr = data.into();
        }
        self
    }

    /// Waits this long before exiting (for a canned reply, after writing its output;
    /// for a program or command, before starting it). A container "exits after a
    /// delay"; an exec "answers after a delay".
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// After a canned reply exits, a background child keeps its stdout and stderr open
    /// this long (like `sleep 20 &`): ExecSync waits for it (containerd's IO drain).
    pub fn hold_io_for(mut self, duration: Duration) -> Self {
        self.hold_io = duration;
        self
    }

    /// A short description for reports.
    pub(crate) fn describe(&self) -> String {
        let mut text = match &self.kind {
            Kind::Canned {
                stdout,
                stderr,
                end,
            } => {
                let mut t = match end {
                    End::Exit(code) => format!("exit {code}"),
                    End::OomKill => "OOM kill".to_owned(),
                };
                if !stdout.is_empty() {
                    t.push_str(&format!(", stdout {} bytes", stdout.len()));
                }
                if !stderr.is_empty() {
                    t.push_str(&format!(", stderr {} bytes", stderr.len()));
                }
                t
            }
            Kind::Program(_) => "a program".to_owned(),
            Kind::Command(argv) => format!("run {argv:?}"),
            Kind::Simulate => "the simulation".to_owned(),
        };
        if !self.delay.is_zero() {
            text.push_str(&format!(", after {:?}", self.delay));
        }
        if !self.hold_io.is_zero() {
            text.push_str(&format!(", holding IO {:?}", self.hold_io));
        }
        text
    }

    /// Starts the reply as a process of `sim` for `invocation`.
    pub(crate) fn spawn(
        &self,
        launcher: &Arc<Launcher>,
        sim: &Arc<ContainerSim>,
        invocation: &Invocation,
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        let argv = invocation.command.clone();
        let program: Arc<dyn Program> = match &self.kind {
            Kind::Simulate => return sim.spawn(&argv, stdio),
            Kind::Command(command) if self.delay.is_zero() => return sim.spawn(command, stdio),
            Kind::Command(command) => Arc::new(Delayed {
                delay: self.delay,
                then: Then::Command(command.clone()),
            }),
            Kind::Program(program) if self.delay.is_zero() => Arc::clone(program),
            Kind::Program(program) => Arc::new(Delayed {
                delay: self.delay,
                then: Then::Program(Arc::clone(program)),
            }),
            Kind::Canned {
                stdout,
                stderr,
                end,
            } => Arc::new(Canned {
                stdout: stdout.clone(),
                stderr: stderr.clone(),
                end: *end,
                delay: self.delay,
                hold_io: self.hold_io,
                launcher: Arc::clone(launcher),
            }),
        };
        let argv = if argv.is_empty() {
            vec!["scripted".to_owned()]
        } else {
            argv
        };
        launcher.spawn(sim, program, argv, stdio)
    }
}

/// A canned process: output, delay, optional IO holder, exit or OOM kill.
struct Canned {
    stdout: Bytes,
    stderr: Bytes,
    end: End,
    delay: Duration,
    hold_io: Duration,
    launcher: Arc<Launcher>,
}

impl Program for Canned {
    fn run(&self, ctx: ProgramContext) -> BoxFuture<'static, ExitStatus> {
        let (stdout, stderr, end, delay, hold_io) = (
            self.stdout.clone(),
            self.stderr.clone(),
            self.end,
            self.delay,
            self.hold_io,
        );
        let launcher = Arc::clone(&self.launcher);
        Box::pin(async move {
            if !stdout.is_empty() {
                let _ = ctx.stdout.write(stdout).await;
            }
            if !stderr.is_empty() {
                let _ = ctx.stderr.write(stderr).await;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if !hold_io.is_zero() {
                // The holder's context keeps the output open until it exits.
                let holder: Arc<dyn Program> = Arc::new(move |child: ProgramContext| async move {
                    let _held = child;
                    tokio::time::sleep(hold_io).await;
                    0
                });
                let stdio = Stdio {
                    stdin: Input::empty(),
                    stdout: ctx.stdout.clone(),
                    stderr: ctx.stderr.clone(),
                };
                let argv = vec!["sleep".to_owned(), format!("{}", hold_io.as_secs_f64())];
                let _ = launcher.spawn_child(&ctx, holder, argv, stdio);
            }
            match end {
                End::Exit(code) => ExitStatus::from(code),
                End::OomKill => {
                    ctx.system.sim.oom_kill(ctx.pid());
                    std::future::pending::<ExitStatus>().await
                }
            }
        })
    }
}

enum Then {
    Program(Arc<dyn Program>),
    Command(Vec<String>),
}

/// Waits, then becomes a program or a command.
struct Delayed {
    delay: Duration,
    then: Then,
}

impl Program for Delayed {
    fn run(&self, ctx: ProgramContext) -> BoxFuture<'static, ExitStatus> {
        let delay = self.delay;
        let then = match &self.then {
            Then::Program(p) => Then::Program(Arc::clone(p)),
            Then::Command(c) => Then::Command(c.clone()),
        };
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            match then {
                Then::Program(program) => program.run(ctx).await,
                Then::Command(argv) => {
                    let Some(first) = argv.first() else {
                        return ExitStatus::Exited(127);
                    };
                    match ctx.system.resolve(first, ctx.getenv("PATH"), &ctx.cwd) {
                        Ok(resolved) => ctx.exec(resolved, argv).await,
                        Err(e) => {
                            let _ = ctx.stderr.write(Bytes::from(format!("{e}\n"))).await;
                            ExitStatus::Exited(127)
                        }
                    }
                }
            }
        })
    }
}
