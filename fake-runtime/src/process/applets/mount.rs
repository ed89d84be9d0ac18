//! `mount`: bind mounts inside the container (busybox 1.36's `mount --bind`).
//!
//! `mount --bind SRC DIR` (also `--rbind`, `-o bind`, `-o rbind`) makes `DIR` show
//! the directory `SRC` from then on, in this container only: the container has its
//! own mount namespace, and the simulation never mounts anything on the host, so a
//! bind made on a host mount is not seen on the host (what `rprivate` and `rslave`
//! propagation give; `rshared` propagation back to the host is not simulated).
//! Mounting needs `CAP_SYS_ADMIN` (privileged containers); without it mount(2)'s
//! `EPERM` is reported as busybox does, status 255. Deliberate differences: other
//! filesystems (`-t`), remounts, and listing the mounts (no operands) are not
//! simulated and fail with status 255 saying so.

use super::Env;
use crate::process::ExitStatus;
use crate::process::program::Programs;
use crate::process::vfs::FsError;

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("mount", mount);
}

const USAGE: &str = "mount [OPTIONS] [-o OPT] DEVICE NODE";

async fn mount(ctx: super::ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut bind = false;
    let mut other = None;
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        match arg {
            "--bind" | "--rbind" | "-B" | "-R" => bind = true,
            "-o" | "-t" => {
                let Some(value) = args.get(i + 1) else {
                    return env.usage(USAGE).await;
                };
                i += 1;
                if arg == "-o" && value.split(',').all(|o| o == "bind" || o == "rbind") {
                    bind = true;
                } else {
                    other = Some(format!("{arg} {value}"));
                }
            }
            a if a.starts_with('-') && a.len() > 1 => other = Some(a.to_owned()),
            a => operands.push(a.to_owned()),
        }
        i += 1;
    }
    if let Some(option) = other {
        env.error(format!("{option}: not simulated")).await;
        return ExitStatus::Exited(255);
    }
    if operands.is_empty() {
        env.error("listing mounts: not simulated").await;
        return ExitStatus::Exited(255);
    }
    let [source, target] = operands.as_slice() else {
        return env.usage(USAGE).await;
    };
    if !bind {
        env.error(format!("mounting {source} on {target}: not simulated"))
            .await;
        return ExitStatus::Exited(255);
    }
    let result = if env.sys.capable("SYS_ADMIN") {
        let (src, dst) = (env.abs(source), env.abs(target));
        env.sys.vfs().bind(&src, &dst, env.sys.access())
    } else {
        Err(FsError::NotPermitted)
    };
    match result {
        Ok(()) => env.finish(0).await,
        Err(e) => {
            env.error(format!("mounting {source} on {target} failed: {e}"))
                .await;
            ExitStatus::Exited(255)
        }
    }
}
