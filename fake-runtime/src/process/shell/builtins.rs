//! The shell's own builtins (`cd`, `exit`, `trap`, `wait`, `read`, ...).

use bytes::Bytes;
use futures::future::BoxFuture;

use super::expand::MAX_WORD_BYTES;
use super::interp::{Ctl, INLINE_APPLETS, R, Shell};
use super::parser::is_name;
use crate::process::signal::{Disposition, Signal};
use crate::process::vfs::{self, FileKind};

/// POSIX special builtins (errors end a non-interactive shell; assignments persist).
pub(crate) fn is_special(name: &str) -> bool {
    matches!(
        name,
        ":" | "."
            | "break"
            | "continue"
            | "eval"
            | "exec"
            | "exit"
            | "export"
            | "readonly"
            | "return"
            | "set"
            | "shift"
            | "trap"
            | "unset"
            | "source"
    )
}

/// Regular builtins implemented by the shell itself.
pub(crate) fn is_regular(name: &str) -> bool {
    matches!(
        name,
        "cd" | "chdir"
            | "pwd"
            | "wait"
            | "read"
            | "local"
            | "umask"
            | "command"
            | "type"
            | "true"
            | "false"
            | "hash"
            | "ulimit"
            | "times"
            | "jobs"
            | "let"
            | "alias"
            | "unalias"
            | "getopts"
    )
}

fn parse_int(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok()
}

/// Runs a shell builtin (special or regular).
pub(crate) fn run(sh: &mut Shell, argv: Vec<String>) -> BoxFuture<'_, R> {
    Box::pin(async move {
        let name = argv[0].as_str();
        let args = &argv[1..];
        match name {
            ":" | "true" | "hash" | "alias" | "unalias" => {
                sh.st.status = 0;
                Ok(())
            }
            "false" => {
                sh.st.status = 1;
                Ok(())
            }
            "exit" => {
                let code = match args.first() {
                    None => sh.st.status,
                    Some(a) => match parse_int(a) {
                        Some(n) if n >= 0 => (n & 0xff) as i32,
                        _ => {
                            let p = sh.prefix(Some("exit"));
                            sh.err(format!("{p}Illegal number: {a}")).await;
                            2
                        }
                    },
                };
                sh.st.status = code;
                Err(Ctl::Exit(code))
            }
            "break" | "continue" => {
                let n = match args.first() {
                    None => 1,
                    Some(a) => match parse_int(a) {
                        Some(n) if n > 0 => n as u32,
                        _ => {
                            let p = sh.prefix(Some(name));
                            sh.err(format!("{p}Illegal number: {a}")).await;
                            return Err(Ctl::Exit(2));
                        }
                    },
                };
                sh.st.status = 0;
                if sh.loop_depth == 0 {
                    return Ok(());
                }
                let n = n.min(sh.loop_depth);
                Err(if name == "break" {
                    Ctl::Break(n)
                } else {
                    Ctl::Continue(n)
                })
            }
            "return" => {
                if let Some(a) = args.first() {
                    match parse_int(a) {
                        Some(n) => sh.st.status = (n & 0xff) as i32,
                        None => {
                            let p = sh.prefix(Some("return"));
                            sh.err(format!("{p}Illegal number: {a}")).await;
                            return Err(Ctl::Exit(2));
                        }
                    }
                }
                Err(Ctl::Return)
            }
            "export" | "readonly" => export(sh, name, args).await,
            "unset" => {
                let mut funcs = false;
                let mut status = 0;
                for a in args {
                    match a.as_str() {
                        "-f" => funcs = true,
                        "-v" => funcs = false,
                        _ if funcs => {
                            sh.st.functions.remove(a);
                        }
                        _ => {
                            if sh.st.vars.get(a).is_some_and(|v| v.readonly) {
                                let p = sh.prefix(Some("unset"));
                                sh.err(format!("{p}{a}: readonly variable")).await;
                                status = 1;
                            } else {
                                sh.st.vars.remove(a);
                            }
                        }
                    }
                }
                sh.st.status = status;
                Ok(())
            }
            "set" => set(sh, args).await,
            "shift" => {
                let n = match args.first() {
                    None => 1,
                    Some(a) => match parse_int(a) {
                        Some(n) if n >= 0 => n as usize,
                        _ => {
                            let p = sh.prefix(Some("shift"));
                            sh.err(format!("{p}Illegal number: {a}")).await;
                            return Err(Ctl::Exit(2));
                        }
                    },
                };
                if n > sh.st.positional.len() {
                    sh.st.status = 1;
                    return Ok(());
                }
                sh.st.positional.drain(..n);
                sh.st.status = 0;
                Ok(())
            }
            "trap" => trap(sh, args).await,
            "eval" => {
                let text = args.join(" ");
                sh.st.status = 0;
                sh.eval_string(&text).await
            }
            "." | "source" => {
                let Some(file) = args.first() else {
                    sh.st.status = 0;
                    return Ok(());
                };
                let path = if file.contains('/') {
                    Some(file.clone())
                } else {
                    let path_var = sh.get_var("PATH").unwrap_or_default();
                    path_var
                        .split(':')
                        .map(|d| format!("{}/{file}", if d.is_empty() { "." } else { d }))
                        .find(|p| {
                            let abs = vfs::normalize(&sh.st.cwd, p);
                            sh.system
                                .vfs()
                                .stat(&abs, true, sh.system.access())
                                .is_ok_and(|s| s.kind == FileKind::File)
                        })
                        .or_else(|| Some(file.clone()))
                };
                let path = path.unwrap_or_default();
                let abs = vfs::normalize(&sh.st.cwd, &path);
                match sh.system.vfs().read_to_end(&abs, sh.system.access()) {
                    Ok(data) => {
                        let text = String::from_utf8_lossy(&data).into_owned();
                        let saved = if args.len() > 1 {
                            Some(std::mem::replace(&mut sh.st.positional, args[1..].to_vec()))
                        } else {
                            None
                        };
                        sh.st.status = 0;
                        sh.enter_call().await;
                        let r = sh.run_script(&text, false).await;
                        sh.leave_call();
                        if let Some(p) = saved {
                            sh.st.positional = p;
                        }
                        match r {
                            Err(Ctl::Return) => Ok(()),
                            other => other,
                        }
                    }
                    Err(e) => {
                        let p = sh.prefix(Some(name));
                        sh.err(format!("{p}can't open '{file}': {e}")).await;
                        Err(Ctl::Exit(2))
                    }
                }
            }
            "exec" => sh.exec_builtin(args.to_vec()).await,
            "cd" | "chdir" => cd(sh, args).await,
            "pwd" => {
                let physical = args.iter().any(|a| a == "-P");
                let dir = if physical {
                    sh.system
                        .vfs()
                        .canonicalize(&sh.st.cwd, sh.system.access())
                        .unwrap_or_else(|_| sh.st.cwd.clone())
                } else {
                    sh.st.cwd.clone()
                };
                sh.st.status = 0;
                sh.out(format!("{dir}\n")).await
            }
            "wait" => wait(sh, args).await,
            "read" => read(sh, args).await,
            "local" => {
                if sh.func_depth == 0 {
                    let p = sh.prefix(Some("local"));
                    sh.err(format!("{p}not in a function")).await;
                    sh.st.status = 2;
                    return Ok(());
                }
                for a in args {
                    let (n, v) = match a.split_once('=') {
                        Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                        None => (a.clone(), None),
                    };
                    let old = sh.st.vars.get(&n).cloned();
                    if let Some(frame) = sh.locals.last_mut()
                        && !frame.iter().any(|(name, _)| *name == n)
                    {
                        frame.push((n.clone(), old));
                    }
                    if let Some(v) = v {
                        let _ = sh.set_var(&n, &v);
                    }
                }
                sh.st.status = 0;
                Ok(())
            }
            "umask" => {
                sh.st.status = 0;
                if args.is_empty() {
                    sh.out("0022\n").await?;
                }
                Ok(())
            }
            "ulimit" => {
                sh.st.status = 0;
                sh.out("unlimited\n").await
            }
            "times" => {
                sh.st.status = 0;
                sh.out("0m0.00s 0m0.00s\n0m0.00s 0m0.00s\n").await
            }
            "jobs" => {
                sh.st.status = 0;
                Ok(())
            }
            "let" => {
                let mut last = 0;
                for a in args {
                    match super::arith::eval(a, sh) {
                        Ok(v) => last = v,
                        Err(m) => {
                            let p = sh.prefix(Some("let"));
                            sh.err(format!("{p}{m}")).await;
                            return Err(Ctl::Exit(2));
                        }
                    }
                }
                sh.st.status = i32::from(last == 0);
                Ok(())
            }
            "command" => command(sh, args).await,
            "type" => {
                let mut status = 0;
                for a in args {
                    let text = describe(sh, a, true);
                    match text {
                        Some(t) => sh.out(format!("{t}\n")).await?,
                        None => {
                            sh.out(format!("{a}: not found\n")).await?;
                            status = 127;
                        }
                    }
                }
                sh.st.status = status;
                Ok(())
            }
            "getopts" => getopts(sh, args).await,
            _ => {
                sh.st.status = 127;
                Ok(())
            }
        }
    })
}

async fn export(sh: &mut Shell, name: &str, args: &[String]) -> R {
    let readonly = name == "readonly";
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if names.is_empty() {
        let mut text = String::new();
        for (k, v) in &sh.st.vars {
            if (readonly && v.readonly) || (!readonly && v.exported) {
                text += &format!("{name} {k}='{}'\n", v.value.replace('\'', "'\"'\"'"));
            }
        }
        sh.st.status = 0;
        return sh.out(text).await;
    }
    for a in names {
        let (n, v) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (a.as_str(), None),
        };
        if !is_name(n) {
            let p = sh.prefix(Some(name));
            sh.err(format!("{p}{n}: bad variable name")).await;
            return Err(Ctl::Exit(2));
        }
        if let Some(v) = v
            && let Err(m) = sh.set_var(n, v)
        {
            let p = sh.prefix(Some(name));
            sh.err(format!("{p}{m}")).await;
            return Err(Ctl::Exit(2));
        }
        if !sh.st.vars.contains_key(n) {
            let var = sh.st.new_var(n, "", false);
            sh.st.vars.insert(n.to_owned(), var);
        }
        let Some(var) = sh.st.vars.get_mut(n) else {
            continue;
        };
        if readonly {
            var.readonly = true;
        } else {
            var.exported = true;
        }
    }
    sh.st.status = 0;
    Ok(())
}

async fn set(sh: &mut Shell, args: &[String]) -> R {
    if args.is_empty() {
        let mut text = String::new();
        for (k, v) in &sh.st.vars {
            text += &format!("{k}='{}'\n", v.value.replace('\'', "'\"'\"'"));
        }
        sh.st.status = 0;
        return sh.out(text).await;
    }
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            sh.st.positional = args[i + 1..].to_vec();
            sh.st.status = 0;
            return Ok(());
        }
        let (on, flags) = match a.chars().next() {
            Some('-') if a.len() > 1 => (true, &a[1..]),
            Some('+') if a.len() > 1 => (false, &a[1..]),
            _ => {
                sh.st.positional = args[i..].to_vec();
                sh.st.status = 0;
                return Ok(());
            }
        };
        for c in flags.chars() {
            match c {
                'e' => sh.st.opts.errexit = on,
                'x' => sh.st.opts.xtrace = on,
                'u' => sh.st.opts.nounset = on,
                'C' => sh.st.opts.noclobber = on,
                'f' => sh.st.opts.noglob = on,
                'o' => {
                    i += 1;
                    let Some(opt) = args.get(i) else {
                        let mut text = String::new();
                        for (n, v) in [
                            ("errexit", sh.st.opts.errexit),
                            ("noglob", sh.st.opts.noglob),
                            ("nounset", sh.st.opts.nounset),
                            ("xtrace", sh.st.opts.xtrace),
                            ("noclobber", sh.st.opts.noclobber),
                            ("pipefail", sh.st.opts.pipefail),
                        ] {
                            text += &format!("{n:<16}{}\n", if v { "on" } else { "off" });
                        }
                        return sh.out(text).await;
                    };
                    match opt.as_str() {
                        "errexit" => sh.st.opts.errexit = on,
                        "xtrace" => sh.st.opts.xtrace = on,
                        "nounset" => sh.st.opts.nounset = on,
                        "noclobber" => sh.st.opts.noclobber = on,
                        "noglob" => sh.st.opts.noglob = on,
                        "pipefail" => sh.st.opts.pipefail = on,
                        _ => {
                            let p = sh.prefix(Some("set"));
                            sh.err(format!("{p}Illegal option -o {opt}")).await;
                            return Err(Ctl::Exit(2));
                        }
                    }
                }
                'a' | 'b' | 'h' | 'm' | 'n' | 'v' | 'i' | 's' => {}
                _ => {
                    let p = sh.prefix(Some("set"));
                    sh.err(format!("{p}Illegal option -{c}")).await;
                    return Err(Ctl::Exit(2));
                }
            }
        }
        i += 1;
    }
    sh.st.status = 0;
    Ok(())
}

/// Parses a trap condition: `EXIT`/`0`, a signal name or number.
fn trap_signal(s: &str) -> Option<i32> {
    let upper = s.to_ascii_uppercase();
    if upper == "EXIT" || upper == "SIGEXIT" || s == "0" {
        return Some(0);
    }
    Signal::parse(s).map(Signal::number)
}

async fn trap(sh: &mut Shell, args: &[String]) -> R {
    let args: Vec<&String> = args.iter().filter(|a| a.as_str() != "--").collect();
    if args.is_empty() || args[0] == "-p" {
        let mut text = String::new();
        for (n, action) in &sh.st.traps {
            let name = if *n == 0 {
                "EXIT".to_owned()
            } else {
                Signal::from_number(*n)
                    .map(|s| s.short_name().to_owned())
                    .unwrap_or_else(|| n.to_string())
            };
            text += &format!("trap -- '{}' {name}\n", action.replace('\'', "'\\''"));
        }
        sh.st.status = 0;
        return sh.out(text).await;
    }
    if args[0] == "-l" {
        let mut text = String::new();
        for s in Signal::all_standard() {
            text += &format!("{:2}) {}\n", s.number(), s.short_name());
        }
        return sh.out(text).await;
    }
    // `trap N SIG...` with a number first resets; `trap - SIG...` resets.
    let (action, conds): (Option<&str>, &[&String]) = if args.len() == 1
        || (!args[0].is_empty() && args[0].bytes().all(|b| b.is_ascii_digit()))
    {
        (None, &args[..])
    } else if args[0] == "-" {
        (None, &args[1..])
    } else {
        (Some(args[0].as_str()), &args[1..])
    };
    let mut status = 0;
    for cond in conds {
        let Some(n) = trap_signal(cond) else {
            let p = sh.prefix(Some("trap"));
            sh.err(format!("{p}{cond}: invalid signal specification"))
                .await;
            status = 1;
            continue;
        };
        match action {
            None => {
                sh.st.traps.remove(&n);
                if let Some(sig) = Signal::from_number(n) {
                    sh.signals.set(sig, Disposition::Default);
                }
            }
            Some(a) => {
                sh.st.traps.insert(n, a.to_owned());
                if let Some(sig) = Signal::from_number(n) {
                    sh.signals.set(
                        sig,
                        if a.is_empty() {
                            Disposition::Ignore
                        } else {
                            Disposition::Catch
                        },
                    );
                }
            }
        }
    }
    sh.st.status = status;
    Ok(())
}

async fn cd(sh: &mut Shell, args: &[String]) -> R {
    let args: Vec<&String> = args
        .iter()
        .filter(|a| !matches!(a.as_str(), "-L" | "-P"))
        .collect();
    let mut print = false;
    let target = match args.first() {
        None => sh.get_var("HOME").unwrap_or_else(|| "/".into()),
        Some(a) if a.as_str() == "-" => {
            print = true;
            sh.get_var("OLDPWD").unwrap_or_else(|| sh.st.cwd.clone())
        }
        Some(a) => (*a).clone(),
    };
    let abs = vfs::normalize(&sh.st.cwd, &target);
    let result = sh
        .system
        .vfs()
        .stat(&abs, true, sh.system.access())
        .and_then(|st| {
            if st.kind != FileKind::Dir {
                Err(vfs::FsError::NotDir)
            } else if !sh.system.vfs().access_ok(&abs, 1, sh.system.access()) {
                Err(vfs::FsError::PermissionDenied)
            } else {
                Ok(())
            }
        });
    match result {
        Ok(()) => {
            let old = std::mem::replace(&mut sh.st.cwd, abs.clone());
            let _ = sh.set_var("OLDPWD", &old);
            let _ = sh.set_var("PWD", &abs);
            sh.st.status = 0;
            if print {
                sh.out(format!("{abs}\n")).await?;
            }
            Ok(())
        }
        Err(e) => {
            let p = sh.prefix(Some("cd"));
            sh.err(format!("{p}can't cd to {target}: {e}")).await;
            sh.st.status = 2;
            Ok(())
        }
    }
}

async fn wait(sh: &mut Shell, args: &[String]) -> R {
    if args.is_empty() {
        let jobs = std::mem::take(&mut sh.jobs);
        for (i, job) in jobs.iter().enumerate() {
            if let Err(sig) = sh.wait_interruptible(job).await {
                sh.jobs = jobs[i..].to_vec();
                sh.st.status = 128 + sig.number();
                return sh.run_pending_traps().await;
            }
        }
        sh.st.status = 0;
        return Ok(());
    }
    let mut status = 0;
    for a in args {
        let Some(pid) = a.parse::<u32>().ok() else {
            let p = sh.prefix(Some("wait"));
            sh.err(format!("{p}Illegal number: {a}")).await;
            return Err(Ctl::Exit(2));
        };
        let Some(job) = sh.jobs.iter().find(|j| j.pid() == pid).cloned() else {
            status = 127;
            continue;
        };
        match sh.wait_interruptible(&job).await {
            Ok(st) => {
                status = st.code();
                sh.jobs.retain(|j| j.pid() != pid);
            }
            Err(sig) => {
                sh.st.status = 128 + sig.number();
                return sh.run_pending_traps().await;
            }
        }
    }
    sh.st.status = status;
    Ok(())
}

async fn read(sh: &mut Shell, args: &[String]) -> R {
    let mut raw = false;
    let mut names = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-r" => raw = true,
            "-p" => {
                i += 1;
                if let Some(prompt) = args.get(i) {
                    let _ = sh.fds.stderr.write(Bytes::from(prompt.clone())).await;
                }
            }
            "-s" => {}
            a => names.push(a.to_owned()),
        }
        i += 1;
    }
    if names.is_empty() {
        names.push("REPLY".into());
    }
    let mut line: Vec<u8> = Vec::new();
    let mut eof = false;
    loop {
        // A line longer than a word may be gets the shell OOM-killed, as a word does.
        let max = MAX_WORD_BYTES - line.len().min(MAX_WORD_BYTES);
        match sh.fds.stdin.read_line_bounded(max).await {
            None => {
                eof = true;
                break;
            }
            Some(l) if l.len() > max && l.last() != Some(&b'\n') => {
                drop(l);
                sh.system.out_of_memory().await;
            }
            Some(mut l) => {
                let ended = l.last() == Some(&b'\n');
                if ended {
                    l.pop();
                }
                if !raw && l.last() == Some(&b'\\') && ended {
                    l.pop();
                    line.extend_from_slice(&l);
                    continue;
                }
                line.extend_from_slice(&l);
                if !ended {
                    eof = true;
                }
                break;
            }
        }
    }
    let mut text = String::from_utf8_lossy(&line).into_owned();
    if !raw {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else {
                out.push(c);
            }
        }
        text = out;
    }
    let ifs = sh.get_var("IFS").unwrap_or_else(|| " \t\n".into());
    let is_ifs = |c: char| ifs.contains(c);
    let mut rest = text.trim_start_matches(is_ifs).to_owned();
    for (k, name) in names.iter().enumerate() {
        let value = if k + 1 == names.len() {
            rest.trim_end_matches(|c: char| is_ifs(c) && c.is_whitespace())
                .to_owned()
        } else {
            match rest.find(is_ifs) {
                Some(pos) => {
                    let v = rest[..pos].to_owned();
                    rest = rest[pos..].trim_start_matches(is_ifs).to_owned();
                    v
                }
                None => std::mem::take(&mut rest),
            }
        };
        let _ = sh.set_var(name, &value);
    }
    sh.st.status = i32::from(eof);
    Ok(())
}

/// What `type`/`command -v` say about a name.
fn describe(sh: &Shell, name: &str, verbose: bool) -> Option<String> {
    let is_builtin = is_special(name) || is_regular(name) || INLINE_APPLETS.contains(&name);
    if sh.st.functions.contains_key(name) {
        return Some(if verbose {
            format!("{name} is a function")
        } else {
            name.to_owned()
        });
    }
    if is_builtin {
        return Some(if verbose {
            if is_special(name) {
                format!("{name} is a special shell builtin")
            } else {
                format!("{name} is a shell builtin")
            }
        } else {
            name.to_owned()
        });
    }
    let path = sh.get_var("PATH");
    let resolved = sh.system.resolve(name, path.as_deref(), &sh.st.cwd).ok()?;
    let p = if name.contains('/') {
        name.to_owned()
    } else {
        resolved.path().to_owned()
    };
    Some(if verbose { format!("{name} is {p}") } else { p })
}

async fn command(sh: &mut Shell, args: &[String]) -> R {
    let mut i = 0;
    let mut mode = None;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-v" => mode = Some(false),
            "-V" => mode = Some(true),
            "-p" => {}
            "--" => {
                i += 1;
                break;
            }
            _ => break,
        }
        i += 1;
    }
    let rest = &args[i..];
    if let Some(verbose) = mode {
        let mut status = 0;
        for a in rest {
            match describe(sh, a, verbose) {
                Some(t) => sh.out(format!("{t}\n")).await?,
                None => {
                    if verbose {
                        let p = sh.prefix(Some("command"));
                        sh.err(format!("{p}{a}: not found")).await;
                    }
                    status = 127;
                }
            }
        }
        sh.st.status = if status != 0 && !verbose { 1 } else { status };
        return Ok(());
    }
    if rest.is_empty() {
        sh.st.status = 0;
        return Ok(());
    }
    let special = is_special(&rest[0]);
    sh.dispatch(rest.to_vec(), Vec::new(), special, false, false)
        .await
}

async fn getopts(sh: &mut Shell, args: &[String]) -> R {
    let (Some(spec), Some(var)) = (args.first(), args.get(1)) else {
        sh.st.status = 2;
        return Ok(());
    };
    let params: Vec<String> = if args.len() > 2 {
        args[2..].to_vec()
    } else {
        sh.st.positional.clone()
    };
    let optind: usize = sh
        .get_var("OPTIND")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let sub: usize = sh
        .get_var("__GETOPTS_SUB")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let Some(arg) = params.get(optind - 1) else {
        let _ = sh.set_var(var, "?");
        sh.st.status = 1;
        return Ok(());
    };
    if !arg.starts_with('-') || arg == "-" || arg == "--" {
        if arg == "--" {
            let _ = sh.set_var("OPTIND", &(optind + 1).to_string());
        }
        let _ = sh.set_var(var, "?");
        sh.st.status = 1;
        return Ok(());
    }
    let chars: Vec<char> = arg.chars().collect();
    let c = chars.get(sub).copied().unwrap_or('?');
    let pos = spec.find(c);
    let takes_arg = pos.is_some_and(|p| spec[p + c.len_utf8()..].starts_with(':'));
    let (next_ind, next_sub) = if sub + 1 < chars.len() && !takes_arg {
        (optind, sub + 1)
    } else {
        (optind + 1, 1)
    };
    if pos.is_none() || c == ':' {
        let p = sh.prefix(None);
        sh.err(format!("{p}illegal option -- {c}")).await;
        let _ = sh.set_var(var, "?");
        let _ = sh.set_var("OPTIND", &next_ind.to_string());
        let _ = sh.set_var("__GETOPTS_SUB", &next_sub.to_string());
        sh.st.status = 0;
        return Ok(());
    }
    let mut ind = next_ind;
    if takes_arg {
        let value = if sub + 1 < chars.len() {
            chars[sub + 1..].iter().collect::<String>()
        } else {
            ind += 1;
            params.get(optind).cloned().unwrap_or_default()
        };
        let _ = sh.set_var("OPTARG", &value);
    }
    let _ = sh.set_var(var, &c.to_string());
    let _ = sh.set_var("OPTIND", &ind.to_string());
    let _ = sh.set_var("__GETOPTS_SUB", &next_sub.to_string());
    sh.st.status = 0;
    Ok(())
}
