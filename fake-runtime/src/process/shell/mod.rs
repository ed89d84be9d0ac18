//! The `sh` program: a POSIX-sh subset in the busybox ash flavour.
//!
//! `sh -c 'script' [arg0 [args...]]`, `sh script-file [args...]`, or `sh` reading the
//! script from stdin. Options `-e`, `-x`, `-u`, `-f`, `-C` as in `set`.

mod arith;
mod ast;
mod builtins;
mod expand;
mod interp;
mod parser;

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::process::ExitStatus;
use crate::process::program::ProgramContext;
use interp::{Fds, Shell};

/// The `sh` program.
pub(crate) async fn sh_main(ctx: ProgramContext) -> ExitStatus {
    let ProgramContext {
        args,
        env,
        cwd,
        stdin,
        stdout,
        stderr,
        signals,
        system,
    } = ctx;
    let argv0 = args.first().cloned().unwrap_or_else(|| "sh".into());
    let mut command_mode = false;
    let mut stdin_mode = false;
    let mut interactive_flag = false;
    let mut opts = interp::Opts::default();
    let mut i = 1;
    while let Some(a) = args.get(i) {
        if a == "--" || a == "-" {
            i += 1;
            break;
        }
        let (on, flags) = match a.chars().next() {
            Some('-') if a.len() > 1 => (true, &a[1..]),
            Some('+') if a.len() > 1 => (false, &a[1..]),
            _ => break,
        };
        for c in flags.chars() {
            match c {
                'c' => command_mode = on,
                's' => stdin_mode = on,
                'e' => opts.errexit = on,
                'x' => opts.xtrace = on,
                'u' => opts.nounset = on,
                'f' => opts.noglob = on,
                'C' => opts.noclobber = on,
                'i' => interactive_flag = on,
                'l' | 'm' | 'v' | 'a' | 'h' | 'b' | 'n' => {}
                _ => {
                    let _ = stderr
                        .write(Bytes::from(format!("{argv0}: -{c}: invalid option\n")))
                        .await;
                    return ExitStatus::Exited(2);
                }
            }
        }
        i += 1;
    }
    // ash: interactive with -i, or reading commands from a terminal.
    let reads_stdin = !command_mode && (stdin_mode || args.get(i).is_none());
    let interactive = reads_stdin && (interactive_flag || stdin.is_terminal());
    let fds = Fds {
        stdin,
        stdout,
        stderr,
        extra: BTreeMap::new(),
    };
    let mut sh = Shell::new((args.clone(), env, cwd, fds, signals, system));
    sh.st.opts = opts;
    let result = if command_mode {
        let Some(script) = args.get(i).cloned() else {
            sh.err(format!("{argv0}: -c requires an argument")).await;
            return ExitStatus::Exited(2);
        };
        if let Some(a0) = args.get(i + 1) {
            sh.st.arg0 = a0.clone();
            sh.st.commandname = Some(a0.clone());
            sh.st.positional = args[i + 2..].to_vec();
        }
        sh.run_script(&script, true).await
    } else if let (Some(file), false) = (args.get(i), stdin_mode) {
        let abs = crate::process::vfs::normalize(&sh.st.cwd, file);
        match sh.system.vfs().read_to_end(&abs, sh.system.access()) {
            Ok(data) => {
                sh.st.arg0 = file.clone();
                sh.st.commandname = Some(file.clone());
                sh.st.positional = args[i + 1..].to_vec();
                let text = String::from_utf8_lossy(&data).into_owned();
                sh.run_script(&text, false).await
            }
            Err(e) => {
                sh.err(format!("{argv0}: can't open '{file}': {e}")).await;
                return ExitStatus::Exited(2);
            }
        }
    } else {
        sh.st.positional = args.get(i..).map(<[String]>::to_vec).unwrap_or_default();
        sh.st.interactive = interactive;
        sh.run_stdin().await
    };
    sh.finish(result).await
}
