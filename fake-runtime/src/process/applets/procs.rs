//! Process applets: sleep, usleep, kill, pkill, pgrep, pidof, ps, top, pause, true,
//! false, env, printenv, timeout, nohup.

use std::time::Duration;

use bytes::Bytes;

use super::Env;
use crate::process::program::{ProgramContext, Programs};
use crate::process::sim::ProcessInfo;
use crate::process::users::parse_passwd;
use crate::process::{ExitStatus, Signal, Stdio};

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("sleep", sleep);
    p.insert_builtin("usleep", usleep);
    p.insert_builtin("kill", kill);
    p.insert_builtin("pkill", pgrep);
    p.insert_builtin("pgrep", pgrep);
    p.insert_builtin("pidof", pidof);
    p.insert_builtin("ps", ps);
    p.insert_builtin("top", top);
    p.insert_builtin("true", |_ctx: ProgramContext| async { 0 });
    p.insert_builtin("false", |_ctx: ProgramContext| async { 1 });
    p.insert_builtin("env", env_applet);
    p.insert_builtin("printenv", printenv);
    p.insert_builtin("timeout", timeout);
    p.insert_builtin("nohup", nohup);
}

/// The search path `execvp` uses when `PATH` is unset (glibc).
pub(super) const EXECVP_DEFAULT_PATH: &str = "/bin:/usr/bin";

/// The longest sleep that is still a finite deadline for tokio (about 30 years).
const MAX_SLEEP: Duration = Duration::from_secs(1_000_000_000);

/// Parses a sleep duration: `1`, `0.5`, `1m`, `2h`, `1d`, `1s`; `None` if invalid,
/// `Some(None)` for `infinity`.
fn parse_duration(s: &str) -> Option<Option<Duration>> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("inf") || t.eq_ignore_ascii_case("infinity") {
        return Some(None);
    }
    let (num, mult) = match t.chars().last()? {
        's' => (&t[..t.len() - 1], 1.0),
        'm' => (&t[..t.len() - 1], 60.0),
        'h' => (&t[..t.len() - 1], 3600.0),
        'd' => (&t[..t.len() - 1], 86400.0),
        _ => (t, 1.0),
    };
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    let secs = v * mult;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Some(
        Duration::try_from_secs_f64(secs)
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP),
    ))
}

async fn sleep(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    if env.args.len() < 2 {
        return env.usage("sleep [N]...").await;
    }
    let mut total = Duration::ZERO;
    for a in env.args.clone().iter().skip(1) {
        match parse_duration(a) {
            Some(Some(d)) => total = total.saturating_add(d).min(MAX_SLEEP),
            Some(None) => {
                std::future::pending::<()>().await;
            }
            None => {
                env.error(format!("invalid number '{a}'")).await;
                return ExitStatus::Exited(1);
            }
        }
    }
    tokio::time::sleep(total).await;
    ExitStatus::Exited(0)
}

async fn usleep(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let Some(us) = env.args.get(1).and_then(|a| a.parse::<u64>().ok()) else {
        return env.usage("usleep N").await;
    };
    tokio::time::sleep(Duration::from_micros(us)).await;
    ExitStatus::Exited(0)
}

async fn kill(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut sig = Signal::SIGTERM;
    let mut i = 0;
    if args.first().map(String::as_str) == Some("-l") {
        let mut text = String::new();
        if args.len() == 1 {
            for s in Signal::all_standard() {
                text += &format!("{:2}) {}\n", s.number(), s.short_name());
            }
        } else {
            for a in &args[1..] {
                match a.parse::<i32>() {
                    Ok(n) => {
                        let n = if n > 128 { n - 128 } else { n };
                        match Signal::from_number(n) {
                            Some(s) => text += &format!("{}\n", s.short_name()),
                            None => {
                                env.error(format!("bad signal name '{a}'")).await;
                                return ExitStatus::Exited(1);
                            }
                        }
                    }
                    Err(_) => match Signal::parse(a) {
                        Some(s) => text += &format!("{}\n", s.number()),
                        None => {
                            env.error(format!("bad signal name '{a}'")).await;
                            return ExitStatus::Exited(1);
                        }
                    },
                }
            }
        }
        if env.print(&text).await.is_err() {
            return env.sigpipe().await;
        }
        return env.finish(0).await;
    }
    let mut check_only = false;
    if let Some(a) = args.first() {
        if a == "-s" || a == "-n" {
            let Some(name) = args.get(1) else {
                return env.usage("kill [-l] [-SIG] PID...").await;
            };
            if name == "0" {
                check_only = true;
            } else {
                match Signal::parse(name) {
                    Some(s) => sig = s,
                    None => {
                        env.error(format!("bad signal name '{name}'")).await;
                        return ExitStatus::Exited(1);
                    }
                }
            }
            i = 2;
        } else if a.len() > 1 && a.starts_with('-') && a != "--" {
            let body = &a[1..];
            if body == "0" {
                check_only = true;
            } else {
                match Signal::parse(body) {
                    Some(s) => sig = s,
                    None => {
                        env.error(format!("bad signal name '{body}'")).await;
                        return ExitStatus::Exited(1);
                    }
                }
            }
            i = 1;
        }
    }
    if args.get(i).map(String::as_str) == Some("--") {
        i += 1;
    }
    let pids = &args[i..];
    if pids.is_empty() {
        return env.usage("kill [-l] [-SIG] PID...").await;
    }
    let mut status = 0;
    let me = env.sys.pid();
    if check_only {
        for p in pids {
            // kill(pid, 0) is a kill(2) call too.
            if let Err(e) = env.sys.syscall("kill").await {
                env.error(format!("can't kill pid {p}: {e}")).await;
                status = 1;
                continue;
            }
            let exists = p
                .parse::<u32>()
                .ok()
                .is_some_and(|pid| env.sys.processes().iter().any(|q| q.pid == pid));
            if !exists {
                env.error(format!("can't kill pid {p}: No such process"))
                    .await;
                status = 1;
            }
        }
        return ExitStatus::from(status);
    }
    for p in pids {
        let Ok(n) = p.parse::<i64>() else {
            env.error(format!("invalid number '{p}'")).await;
            status = 1;
            continue;
        };
        if let Err(e) = env.sys.syscall("kill").await {
            env.error(format!("can't kill pid {p}: {e}")).await;
            status = 1;
            continue;
        }
        let ok = match n {
            -1 => {
                for q in env.sys.processes() {
                    if q.pid != me {
                        env.sys.kill(q.pid, sig);
                    }
                }
                true
            }
            0 => {
                for q in env.sys.processes() {
                    env.sys.kill(q.pid, sig);
                }
                true
            }
            n if n < 0 => {
                let group = n.unsigned_abs() as u32;
                let found = env.sys.processes().iter().any(|q| q.pid == group);
                if found {
                    env.sys.sim.kill_tree(group, sig);
                }
                found
            }
            n => u32::try_from(n).is_ok_and(|pid| env.sys.kill(pid, sig)),
        };
        if !ok {
            env.error(format!("can't kill pid {p}: No such process"))
                .await;
            status = 1;
        }
    }
    // A signal sent to ourselves takes effect before we return.
    env.sys.checkpoint().await;
    ExitStatus::from(status)
}

fn user_name(env: &Env, uid: u32) -> String {
    let passwd = env
        .sys
        .vfs()
        .read_to_end("/etc/passwd", env.sys.access())
        .unwrap_or_default();
    parse_passwd(&String::from_utf8_lossy(&passwd))
        .into_iter()
        .find(|e| e.uid == uid)
        .map(|e| e.name)
        .unwrap_or_else(|| uid.to_string())
}

async fn pgrep(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let killing = env.name == "pkill";
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (mut full, mut list, mut newest, mut oldest, mut invert, mut exact) =
        (false, false, false, false, false, false);
    let mut sig = Signal::SIGTERM;
    let mut parent: Option<u32> = None;
    let mut pattern: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "-P" {
            i += 1;
            parent = args.get(i).and_then(|p| p.parse().ok());
        } else if a.len() > 1 && a.starts_with('-') && pattern.is_none() {
            let body = &a[1..];
            if killing && let Some(s) = Signal::parse(body) {
                sig = s;
                i += 1;
                continue;
            }
            for c in body.chars() {
                match c {
                    'f' => full = true,
                    'l' => list = true,
                    'n' => newest = true,
                    'o' => oldest = true,
                    'v' => invert = true,
                    'x' => exact = true,
                    _ => {
                        env.error(format!("invalid option -- '{c}'")).await;
                        return env.usage("pgrep [-flanovx] [-s SID|-P PPID|PATTERN]").await;
                    }
                }
            }
        } else {
            pattern = Some(a.clone());
        }
        i += 1;
    }
    let pattern = pattern.unwrap_or_default();
    let re_text = if exact {
        format!("^(?:{pattern})$")
    } else {
        pattern.clone()
    };
    let Ok(re) = regex::Regex::new(&re_text) else {
        env.error(format!("bad regex '{pattern}'")).await;
        return ExitStatus::Exited(2);
    };
    let me = env.sys.pid();
    let mut found: Vec<ProcessInfo> = env
        .sys
        .processes()
        .into_iter()
        .filter(|p| p.pid != me)
        .filter(|p| parent.is_none_or(|pp| p.ppid == pp))
        .filter(|p| {
            let subject = if full {
                p.argv.join(" ")
            } else {
                p.comm.clone()
            };
            re.is_match(&subject) != invert
        })
        .collect();
    if newest {
        found = found
            .into_iter()
            .max_by_key(|p| p.pid)
            .into_iter()
            .collect();
    } else if oldest {
        found = found
            .into_iter()
            .min_by_key(|p| p.pid)
            .into_iter()
            .collect();
    }
    if found.is_empty() {
        return ExitStatus::Exited(1);
    }
    let mut text = String::new();
    for p in &found {
        if killing {
            env.sys.kill(p.pid, sig);
        } else if list {
            let shown = if full {
                p.argv.join(" ")
            } else {
                p.comm.clone()
            };
            text += &format!("{} {shown}\n", p.pid);
        } else {
            text += &format!("{}\n", p.pid);
        }
    }
    if env.print(&text).await.is_err() {
        return env.sigpipe().await;
    }
    env.sys.checkpoint().await;
    env.finish(0).await
}

async fn pidof(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut single = false;
    let mut omit: Vec<u32> = Vec::new();
    let mut names = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-s" => single = true,
            "-o" => {
                i += 1;
                if let Some(o) = args.get(i) {
                    for part in o.split(',') {
                        if part == "%PPID" {
                            omit.push(env.sys.ppid());
                        } else if let Ok(n) = part.parse() {
                            omit.push(n);
                        }
                    }
                }
            }
            a => names.push(a.to_owned()),
        }
        i += 1;
    }
    let procs = env.sys.processes();
    let mut pids = Vec::new();
    for name in &names {
        for p in &procs {
            let arg0 = p.argv.first().map(String::as_str).unwrap_or("");
            let base = arg0.rsplit('/').next().unwrap_or(arg0);
            if (p.comm == *name || base == name || arg0 == name) && !omit.contains(&p.pid) {
                pids.push(p.pid);
                if single {
                    break;
                }
            }
        }
    }
    if pids.is_empty() {
        return ExitStatus::Exited(1);
    }
    let text: Vec<String> = pids.iter().map(u32::to_string).collect();
    if env.print(&format!("{}\n", text.join(" "))).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

async fn ps(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut columns: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "-o" {
            i += 1;
            if let Some(spec) = args.get(i) {
                columns.extend(spec.split(',').map(|c| c.trim().to_owned()));
            }
        } else if let Some(spec) = args[i].strip_prefix("-o") {
            columns.extend(spec.split(',').map(|c| c.trim().to_owned()));
        }
        i += 1;
    }
    let procs = env.sys.processes();
    let mut text = String::new();
    if columns.is_empty() {
        text += "PID   USER     TIME  COMMAND\n";
        for p in &procs {
            let user = user_name(&env, p.uid);
            text += &format!(
                "{:>5} {:<8.8} {:>5} {}\n",
                p.pid,
                user,
                "0:00",
                p.argv.join(" ")
            );
        }
    } else {
        let header: Vec<String> = columns
            .iter()
            .map(|c| match c.as_str() {
                "pid" => format!("{:>5}", "PID"),
                "ppid" => format!("{:>5}", "PPID"),
                "user" => format!("{:<8}", "USER"),
                "comm" | "args" => "COMMAND".to_owned(),
                "time" => format!("{:>5}", "TIME"),
                "vsz" => format!("{:>4}", "VSZ"),
                "rss" => format!("{:>4}", "RSS"),
                "stat" => "STAT".to_owned(),
                other => other.to_uppercase(),
            })
            .collect();
        text += header.join(" ").trim_end();
        text.push('\n');
        for p in &procs {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| match c.as_str() {
                    "pid" => format!("{:>5}", p.pid),
                    "ppid" => format!("{:>5}", p.ppid),
                    "user" => format!("{:<8.8}", user_name(&env, p.uid)),
                    "comm" => p.comm.clone(),
                    "args" => p.argv.join(" "),
                    "time" => format!("{:>5}", "0:00"),
                    "vsz" => format!("{:>4}", 1328),
                    "rss" => format!("{:>4}", 4),
                    "stat" => "S".to_owned(),
                    _ => String::new(),
                })
                .collect();
            text += cells.join(" ").trim_end();
            text.push('\n');
        }
    }
    if env.print(&text).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

async fn top(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut iterations: Option<u64> = None;
    let mut delay = Duration::from_secs(5);
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let value = |i: &mut usize| -> Option<String> {
            if a.len() > 2 {
                Some(a[2..].to_owned())
            } else {
                *i += 1;
                args.get(*i).cloned()
            }
        };
        if a.starts_with("-n") {
            iterations = value(&mut i).and_then(|v| v.parse().ok());
        } else if a.starts_with("-d") {
            delay = value(&mut i)
                .and_then(|v| parse_duration(&v).flatten())
                .unwrap_or(delay);
        }
        i += 1;
    }
    let limit = env.sys.memory_limit();
    let total_kb = if limit > 0 {
        limit / 1024
    } else {
        8 * 1024 * 1024
    };
    let mut frame = 0u64;
    loop {
        let procs = env.sys.processes();
        let used = 1328 * procs.len() as u64;
        let mut text = format!(
            "Mem: {used}K used, {}K free, 0K shrd, 0K buff, 0K cached\n\
             CPU:   0% usr   0% sys   0% nic 100% idle   0% io   0% irq   0% sirq\n\
             Load average: 0.00 0.00 0.00 1/{} {}\n\
             {:>5} {:>5} {:<8} {:<4} {:>5} {:>4} {:>3} {:>4} COMMAND\n",
            total_kb.saturating_sub(used),
            procs.len(),
            procs.last().map(|p| p.pid).unwrap_or(0),
            "PID",
            "PPID",
            "USER",
            "STAT",
            "VSZ",
            "%VSZ",
            "CPU",
            "%CPU",
        );
        for p in &procs {
            let user = user_name(&env, p.uid);
            text += &format!(
                "{:>5} {:>5} {:<8.8} {:<4} {:>5} {:>4} {:>3} {:>4} {}\n",
                p.pid,
                p.ppid,
                user,
                if p.pid == env.sys.pid() { "R" } else { "S" },
                1328,
                "0%",
                0,
                "0%",
                p.argv.join(" ")
            );
        }
        if frame > 0 {
            text.insert(0, '\n');
        }
        if env.print(&text).await.is_err() || env.out.flush().await.is_err() {
            return env.sigpipe().await;
        }
        frame += 1;
        if iterations.is_some_and(|n| frame >= n) {
            return env.finish(0).await;
        }
        tokio::time::sleep(delay).await;
    }
}

/// The sandbox's `pause`: sleeps until SIGINT or SIGTERM, then exits 0.
pub(super) async fn pause(mut ctx: ProgramContext) -> ExitStatus {
    if ctx.pid() != 1 {
        let _ = ctx
            .err(Bytes::from_static(
                b"Warning: pause should be the first process\n",
            ))
            .await;
    }
    ctx.signals.catch(Signal::SIGINT);
    ctx.signals.catch(Signal::SIGTERM);
    ctx.signals.ignore(Signal::SIGCHLD);
    let sig = ctx.signals.recv().await;
    let _ = ctx
        .err(format!(
            "Shutting down, got signal: {}\n",
            sig.description()
        ))
        .await;
    ExitStatus::Exited(0)
}

async fn env_applet(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut vars: Vec<String> = env.env.clone();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-i" | "-" => vars.clear(),
            "-u" => {
                i += 1;
                if let Some(name) = args.get(i) {
                    vars.retain(|kv| kv.split_once('=').map(|(k, _)| k) != Some(name.as_str()));
                }
            }
            "--" => {
                i += 1;
                break;
            }
            _ => break,
        }
        i += 1;
    }
    while let Some(a) = args.get(i) {
        let Some((k, _)) = a.split_once('=') else {
            break;
        };
        vars.retain(|kv| kv.split_once('=').map(|(key, _)| key) != Some(k));
        vars.push(a.clone());
        i += 1;
    }
    if i >= args.len() {
        let mut text = String::new();
        for kv in &vars {
            text += kv;
            text.push('\n');
        }
        if env.print(&text).await.is_err() {
            return env.sigpipe().await;
        }
        return env.finish(0).await;
    }
    let argv = args[i..].to_vec();
    let path = vars
        .iter()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or(EXECVP_DEFAULT_PATH)
        .to_owned();
    let path = Some(path);
    match env.sys.resolve(&argv[0], path.as_deref(), &env.cwd) {
        Ok(resolved) => {
            let _ = env.out.flush().await;
            let mut ctx = env.into_ctx();
            ctx.env = vars;
            ctx.exec(resolved, argv).await
        }
        Err(_) => {
            env.error(format!(
                "can't execute '{}': No such file or directory",
                argv[0]
            ))
            .await;
            ExitStatus::Exited(127)
        }
    }
}

async fn printenv(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let names: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut text = String::new();
    let mut status = 0;
    if names.is_empty() {
        for kv in &env.env {
            text += kv;
            text.push('\n');
        }
    } else {
        for n in &names {
            match env.getenv(n) {
                Some(v) => {
                    text += v;
                    text.push('\n');
                }
                None => status = 1,
            }
        }
    }
    if env.print(&text).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(status).await
}

async fn timeout(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut sig = Signal::SIGTERM;
    let mut kill_after: Option<Duration> = None;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-s" => {
                i += 1;
                sig = args.get(i).and_then(|s| Signal::parse(s)).unwrap_or(sig);
            }
            "-k" => {
                i += 1;
                kill_after = args.get(i).and_then(|s| parse_duration(s).flatten());
            }
            "-t" => {}
            _ => break,
        }
        i += 1;
    }
    let Some(limit) = args.get(i).and_then(|s| parse_duration(s)) else {
        return env
            .usage("timeout [-s SIG] [-k KILL_SECS] SECS PROG ARGS")
            .await;
    };
    let argv = args[i + 1..].to_vec();
    if argv.is_empty() {
        return env
            .usage("timeout [-s SIG] [-k KILL_SECS] SECS PROG ARGS")
            .await;
    }
    let path = Some(env.getenv("PATH").unwrap_or(EXECVP_DEFAULT_PATH).to_owned());
    let resolved = match env.sys.resolve(&argv[0], path.as_deref(), &env.cwd) {
        Ok(r) => r,
        Err(_) => {
            env.error(format!(
                "can't execute '{}': No such file or directory",
                argv[0]
            ))
            .await;
            return ExitStatus::Exited(127);
        }
    };
    let stdio = Stdio {
        stdin: env.stdin.share(),
        stdout: env.out.output().clone(),
        stderr: env.err.clone(),
    };
    let child = match env.sys.spawn_request(crate::process::sim::SpawnRequest {
        argv: resolved.argv(&argv),
        comm: resolved.comm(),
        program: std::sync::Arc::clone(&resolved.program),
        setuid: resolved.setuid,
        env: env.env.clone(),
        cwd: env.cwd.clone(),
        stdio,
        ignored: env.signals.ignored_set(),
    }) {
        Ok(child) => child,
        Err(_) => {
            // busybox 1.35 at the process limit, measured.
            env.error("vfork: Resource temporarily unavailable").await;
            return ExitStatus::Exited(1);
        }
    };
    let Some(limit) = limit else {
        return ExitStatus::from(child.wait().await.code());
    };
    tokio::select! {
        st = child.wait() => return ExitStatus::from(st.code()),
        _ = tokio::time::sleep(limit) => {}
    }
    child.signal(sig);
    if let Some(k) = kill_after {
        tokio::select! {
            st = child.wait() => return ExitStatus::from(st.code()),
            _ = tokio::time::sleep(k) => child.signal(Signal::SIGKILL),
        }
    }
    ExitStatus::from(child.wait().await.code())
}

async fn nohup(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let argv: Vec<String> = env.args.iter().skip(1).cloned().collect();
    if argv.is_empty() {
        return env.usage("nohup PROG ARGS").await;
    }
    env.signals.ignore(Signal::SIGHUP);
    let path = Some(env.getenv("PATH").unwrap_or(EXECVP_DEFAULT_PATH).to_owned());
    match env.sys.resolve(&argv[0], path.as_deref(), &env.cwd) {
        Ok(resolved) => env.into_ctx().exec(resolved, argv).await,
        Err(_) => {
            env.error(format!(
                "can't execute '{}': No such file or directory",
                argv[0]
            ))
            .await;
            ExitStatus::Exited(127)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_durations_accept_fractions_suffixes_and_infinity() {
        assert_eq!(parse_duration("1"), Some(Some(Duration::from_secs(1))));
        assert_eq!(
            parse_duration("0.5"),
            Some(Some(Duration::from_millis(500)))
        );
        assert_eq!(parse_duration("1m"), Some(Some(Duration::from_secs(60))));
        assert_eq!(parse_duration("2h"), Some(Some(Duration::from_secs(7200))));
        assert_eq!(parse_duration("infinity"), Some(None));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("-1"), None);
    }
}
