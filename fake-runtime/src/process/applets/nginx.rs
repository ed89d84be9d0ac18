//! `nginx`: the web server of the nginx images, as far as its processes go.
//!
//! Like nginx 1.14 in the foreground (`-g 'daemon off;'`, the images' command), the
//! master process binds port 80 (`0.0.0.0:80`), writes its pid to
//! `/var/run/nginx.pid`, renames itself `nginx: master process <its command line>`
//! (what `/proc/<pid>/cmdline` and `ps` show; `comm` stays `nginx`) and starts one
//! `nginx: worker process`, which serves the document root `/usr/share/nginx/html`.
//! TERM and INT (fast shutdown) and QUIT (graceful) end the worker, remove the pid
//! file and end the master with status 0. `-v` and `-t` answer as nginx does.
//! Deliberate differences: there is no configuration (`/etc/nginx/nginx.conf` is
//! not read; `-c`, `-p` and `-g` other than `daemon off;` are accepted and ignored),
//! without `daemon off;` it stays in the foreground too, and responses are those of
//! the simulation's `httpd` (busybox's headers, not nginx's).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::process::net::{Listener, NetError};
use crate::process::pipe::{Input, Output};
use crate::process::program::{ProgramContext, Programs};
use crate::process::vfs::FsError;
use crate::process::vfs::normalize;
use crate::process::{ExitStatus, Signal, Stdio};

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("nginx", nginx);
}

const PID_FILE: &str = "/var/run/nginx.pid";
const ROOT: &str = "/usr/share/nginx/html";
const VERSION: &str = "nginx version: nginx/1.14.2\n";

async fn nginx(mut ctx: ProgramContext) -> ExitStatus {
    let args: Vec<String> = ctx.args.iter().skip(1).cloned().collect();
    if args.iter().any(|a| a == "-v" || a == "-V") {
        let _ = ctx.err(Bytes::from_static(VERSION.as_bytes())).await;
        return ExitStatus::Exited(0);
    }
    if args.iter().any(|a| a == "-t" || a == "-T") {
        let _ = ctx
            .err(Bytes::from_static(
                b"nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n\
                  nginx: configuration file /etc/nginx/nginx.conf test is successful\n",
            ))
            .await;
        return ExitStatus::Exited(0);
    }
    let listener = match ctx.system.network().listen(80) {
        Ok(l) => l,
        Err(e) => {
            let _ = ctx
                .err(format!(
                    "nginx: [emerg] bind() to 0.0.0.0:80 failed ({}: {})\n",
                    match e {
                        NetError::AddressInUse => 98,
                        NetError::ConnectionRefused => 111,
                    },
                    e.strerror()
                ))
                .await;
            return ExitStatus::Exited(1);
        }
    };
    let pid = ctx.pid();
    let mut sys = ctx.system.clone();
    if let Err(e) = sys
        .vfs()
        .write_file(PID_FILE, format!("{pid}\n").as_bytes(), sys.access())
    {
        let _ = ctx
            .err(format!(
                "nginx: [emerg] open() \"{PID_FILE}\" failed ({}: {e})\n",
                fs_errno(&e)
            ))
            .await;
        return ExitStatus::Exited(1);
    }
    let title = format!("nginx: master process {}", ctx.args.join(" "));
    let euid = sys.euid();
    sys.set_argv(&[title], "nginx", euid);
    for sig in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGQUIT] {
        ctx.signals.catch(sig);
    }
    let handoff = Arc::new(Mutex::new(Some(listener)));
    let worker_program = {
        let handoff = Arc::clone(&handoff);
        move |ctx: ProgramContext| worker(ctx, handoff.clone())
    };
    let worker = ctx.spawn_program(
        Arc::new(worker_program),
        &["nginx: worker process".to_owned()],
        Stdio {
            stdin: Input::empty(),
            stdout: Output::null(),
            stderr: Output::null(),
        },
    );
    let _ = ctx.signals.recv().await;
    worker.kill_tree(Signal::SIGKILL);
    let _ = worker.wait().await;
    let _ = sys
        .vfs()
        .remove(&normalize("/", PID_FILE), false, sys.access());
    ExitStatus::Exited(0)
}

/// The worker: serves what the master's listening socket accepts.
async fn worker(mut ctx: ProgramContext, handoff: Arc<Mutex<Option<Listener>>>) -> ExitStatus {
    let euid = ctx.system.euid();
    ctx.system
        .set_argv(&["nginx: worker process".to_owned()], "nginx", euid);
    let taken = handoff.lock().unwrap_or_else(|p| p.into_inner()).take();
    let Some(mut listener) = taken else {
        return ExitStatus::Exited(1);
    };
    let mut sessions = FuturesUnordered::new();
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let Some(conn) = conn else { return ExitStatus::Exited(1) };
                sessions.push(super::httpd::serve(ctx.system.clone(), ROOT.to_owned(), conn));
            }
            Some(()) = sessions.next(), if !sessions.is_empty() => {}
        }
    }
}

/// The `errno` nginx prints beside the error text.
fn fs_errno(e: &FsError) -> i32 {
    match e {
        FsError::NotFound => 2,
        FsError::PermissionDenied => 13,
        FsError::NotDir => 20,
        FsError::IsDir => 21,
        FsError::ReadOnly => 30,
        _ => 5,
    }
}
