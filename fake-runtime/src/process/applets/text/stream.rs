//! `cat`, `head`, `tail`, `tee`, `wc`: files and stdin passed through, cut short or counted.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::process::applets::{Env, Held, LINE_COST, Lines, Src, cant_open};
use crate::process::program::ProgramContext;
use crate::process::vfs::{FsError, WriteMode};
use crate::process::{ExitStatus, Output};

pub(super) async fn cat(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let mut number = false;
    let mut files = Vec::new();
    for a in env.args.iter().skip(1) {
        match a.as_str() {
            "-n" => number = true,
            "-u" | "-v" | "-e" | "-t" | "-A" => {}
            _ => files.push(a.clone()),
        }
    }
    if files.is_empty() {
        files.push("-".into());
    }
    let mut status = 0;
    let mut lineno = 0u64;
    for f in files {
        let mut src = match env.open(&f) {
            Ok(s) => s,
            Err(FsError::IsDir) => {
                let _ = env.out.flush().await;
                env.error("read error: Is a directory").await;
                status = 1;
                continue;
            }
            Err(e) => {
                let _ = env.out.flush().await;
                env.error(cant_open(&f, &e)).await;
                status = 1;
                continue;
            }
        };
        if number {
            let mut lines = Lines::default();
            while let Some(line) = lines.next(&mut env, &mut src).await {
                lineno += 1;
                let prefix = format!("{lineno:6}\t");
                if env.out.write(prefix.as_bytes()).await.is_err()
                    || env.out.write(&line).await.is_err()
                {
                    return env.sigpipe().await;
                }
            }
            continue;
        }
        while let Some(chunk) = env.read(&mut src).await {
            if env.out.write_bytes(chunk).await.is_err() {
                return env.sigpipe().await;
            }
        }
    }
    env.finish(status).await
}

/// Parses `-n N`, `-c N`, `-N` style counts; `+N` means "from N" for tail.
fn parse_count(s: &str) -> Option<(bool, u64)> {
    let (plus, body) = match s.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('-').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let n = match lower.as_str() {
        b if b.ends_with('k') => b[..b.len() - 1].parse::<u64>().ok()?.checked_mul(1024)?,
        b if b.ends_with('m') => b[..b.len() - 1]
            .parse::<u64>()
            .ok()?
            .checked_mul(1024 * 1024)?,
        b if b.ends_with('b') => b[..b.len() - 1].parse::<u64>().ok()?.checked_mul(512)?,
        b => b.parse::<u64>().ok()?,
    };
    Some((plus, n))
}

struct CountArgs {
    bytes: bool,
    plus: bool,
    count: u64,
    follow: bool,
    quiet: bool,
    verbose: bool,
    files: Vec<String>,
}

fn parse_head_tail(args: &[String]) -> Result<CountArgs, String> {
    let mut c = CountArgs {
        bytes: false,
        plus: false,
        count: 10,
        follow: false,
        quiet: false,
        verbose: false,
        files: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        match a.as_str() {
            "-n" | "-c" => {
                let v = args
                    .get(i + 1)
                    .ok_or_else(|| format!("option requires an argument -- '{}'", &a[1..]))?;
                let (plus, n) = parse_count(v).ok_or_else(|| format!("invalid number '{v}'"))?;
                c.bytes = a == "-c";
                c.plus = plus;
                c.count = n;
                i += 2;
                continue;
            }
            "-f" | "-F" => c.follow = true,
            "-q" => c.quiet = true,
            "-v" => c.verbose = true,
            "--" => {
                c.files.extend(args[i + 1..].iter().cloned());
                break;
            }
            _ if a.starts_with("-n") || a.starts_with("-c") => {
                let v = &a[2..];
                let (plus, n) = parse_count(v).ok_or_else(|| format!("invalid number '{v}'"))?;
                c.bytes = a.starts_with("-c");
                c.plus = plus;
                c.count = n;
            }
            _ if a.len() > 1
                && a.starts_with('-')
                && a[1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                c.count = a[1..]
                    .parse()
                    .map_err(|_| format!("invalid number '{a}'"))?;
            }
            _ if a.len() > 1
                && a.starts_with('+')
                && a[1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                c.plus = true;
                c.count = a[1..]
                    .parse()
                    .map_err(|_| format!("invalid number '{a}'"))?;
            }
            _ if a.len() > 1 && a.starts_with('-') => {
                for ch in a[1..].chars() {
                    match ch {
                        'f' | 'F' => c.follow = true,
                        'q' => c.quiet = true,
                        'v' => c.verbose = true,
                        other => return Err(format!("invalid option -- '{other}'")),
                    }
                }
            }
            _ => c.files.push(a.clone()),
        }
        i += 1;
    }
    if c.files.is_empty() {
        c.files.push("-".into());
    }
    Ok(c)
}

pub(super) async fn head(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let c = match parse_head_tail(&args) {
        Ok(c) => c,
        Err(msg) => {
            env.error(msg).await;
            return ExitStatus::Exited(1);
        }
    };
    let headers = (c.files.len() > 1 && !c.quiet) || c.verbose;
    let mut status = 0;
    for (k, f) in c.files.iter().enumerate() {
        let mut src = match env.open(f) {
            Ok(s) => s,
            Err(e) => {
                let _ = env.out.flush().await;
                env.error(cant_open(f, &e)).await;
                status = 1;
                continue;
            }
        };
        if headers {
            let name = if f == "-" {
                "standard input"
            } else {
                f.as_str()
            };
            let h = format!("{}==> {name} <==\n", if k > 0 { "\n" } else { "" });
            if env.out.write(h.as_bytes()).await.is_err() {
                return env.sigpipe().await;
            }
        }
        let mut left = c.count;
        while left > 0 {
            let Some(mut chunk) = env.read(&mut src).await else {
                break;
            };
            if c.bytes {
                if (chunk.len() as u64) > left {
                    chunk.truncate(left as usize);
                }
                left -= chunk.len() as u64;
            } else {
                let mut cut = None;
                for (i, &b) in chunk.iter().enumerate() {
                    if b == b'\n' {
                        left -= 1;
                        if left == 0 {
                            cut = Some(i + 1);
                            break;
                        }
                    }
                }
                if let Some(cut) = cut {
                    chunk.truncate(cut);
                }
            }
            if env.out.write_bytes(chunk).await.is_err() {
                return env.sigpipe().await;
            }
        }
    }
    env.finish(status).await
}

pub(super) async fn tail(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let c = match parse_head_tail(&args) {
        Ok(c) => c,
        Err(msg) => {
            env.error(msg).await;
            return ExitStatus::Exited(1);
        }
    };
    let headers = (c.files.len() > 1 && !c.quiet) || c.verbose;
    let mut status = 0;
    let mut followed = Vec::new();
    for (k, f) in c.files.iter().enumerate() {
        let mut src = match env.open(f) {
            Ok(s) => s,
            Err(e) => {
                let _ = env.out.flush().await;
                env.error(cant_open(f, &e)).await;
                status = 1;
                continue;
            }
        };
        if headers {
            let name = if f == "-" {
                "standard input"
            } else {
                f.as_str()
            };
            let h = format!("{}==> {name} <==\n", if k > 0 { "\n" } else { "" });
            if env.out.write(h.as_bytes()).await.is_err() {
                return env.sigpipe().await;
            }
        }
        let r = if c.bytes {
            tail_bytes(&mut env, &mut src, c.plus, c.count).await
        } else {
            tail_lines(&mut env, &mut src, c.plus, c.count).await
        };
        if r.is_err() {
            return env.sigpipe().await;
        }
        if let Src::File(_) = src {
            followed.push(src);
        }
    }
    if c.follow && !followed.is_empty() {
        loop {
            if env.out.flush().await.is_err() {
                return env.sigpipe().await;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            for src in followed.iter_mut() {
                while let Some(chunk) = env.read(src).await {
                    if env.out.write_bytes(chunk).await.is_err() {
                        return env.sigpipe().await;
                    }
                }
            }
        }
    }
    env.finish(status).await
}

async fn tail_bytes(
    env: &mut Env,
    src: &mut Src,
    plus: bool,
    n: u64,
) -> Result<(), crate::process::BrokenPipe> {
    if plus {
        let mut skip = n.saturating_sub(1);
        while let Some(mut chunk) = env.read(src).await {
            if skip > 0 {
                let k = (skip as usize).min(chunk.len());
                let _ = chunk.split_to(k);
                skip -= k as u64;
            }
            env.out.write_bytes(chunk).await?;
        }
        return Ok(());
    }
    // The last n bytes are kept: charged as held memory (`tail -c 1G` of an endless
    // input is OOM-killed instead of growing the simulation's process).
    let mut ring: VecDeque<Bytes> = VecDeque::new();
    let mut held = 0u64;
    let mut charge = Held::default();
    while let Some(chunk) = env.read(src).await {
        held += chunk.len() as u64;
        charge.add(&env.sys, chunk.len() as u64 + LINE_COST).await;
        ring.push_back(chunk);
        while let Some(front) = ring.front() {
            if held - front.len() as u64 >= n {
                held -= front.len() as u64;
                charge.sub(&env.sys, front.len() as u64 + LINE_COST).await;
                ring.pop_front();
            } else {
                break;
            }
        }
    }
    let mut excess = held.saturating_sub(n);
    for mut chunk in ring {
        if excess > 0 {
            let k = (excess as usize).min(chunk.len());
            let _ = chunk.split_to(k);
            excess -= k as u64;
        }
        env.out.write_bytes(chunk).await?;
    }
    Ok(())
}

async fn tail_lines(
    env: &mut Env,
    src: &mut Src,
    plus: bool,
    n: u64,
) -> Result<(), crate::process::BrokenPipe> {
    let mut lines = Lines::default();
    if plus {
        let mut lineno = 0u64;
        while let Some(line) = lines.next(env, src).await {
            lineno += 1;
            if lineno >= n {
                env.out.write(&line).await?;
            }
        }
        return Ok(());
    }
    // The last n lines are kept: charged as held memory (`tail -n 100000000` of an
    // endless input is OOM-killed).
    let mut ring: VecDeque<Vec<u8>> = VecDeque::new();
    let mut charge = Held::default();
    while let Some(line) = lines.next(env, src).await {
        if n == 0 {
            continue;
        }
        if ring.len() as u64 == n
            && let Some(old) = ring.pop_front()
        {
            charge.sub(&env.sys, old.len() as u64 + LINE_COST).await;
        }
        charge.add(&env.sys, line.len() as u64 + LINE_COST).await;
        ring.push_back(line);
    }
    for line in ring {
        env.out.write(&line).await?;
    }
    Ok(())
}

pub(super) async fn tee(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let mut append = false;
    let mut outs = Vec::new();
    let mut status = 0;
    for a in env.args.clone().iter().skip(1) {
        match a.as_str() {
            "-a" => append = true,
            "-i" => {}
            path => {
                let mode = if append {
                    WriteMode::APPEND
                } else {
                    WriteMode::TRUNCATE
                };
                let r = match path {
                    "/dev/stdout" => Ok(env.out.output().clone()),
                    "/dev/stderr" => Ok(env.err.clone()),
                    _ => env
                        .sys
                        .vfs()
                        .open_write(&env.abs(path), mode, env.sys.access())
                        .map(|s| {
                            if s.discards() {
                                Output::null()
                            } else {
                                Output::from_sink(s)
                            }
                        }),
                };
                match r {
                    Ok(o) => outs.push(o),
                    Err(e) => {
                        env.error(format!("{path}: {e}")).await;
                        status = 1;
                    }
                }
            }
        }
    }
    let mut src = Src::Stdin;
    while let Some(chunk) = env.read(&mut src).await {
        for o in &outs {
            let _ = o.write(chunk.clone()).await;
        }
        if env.out.output().write(chunk).await.is_err() {
            return env.sigpipe().await;
        }
    }
    env.finish(status).await
}

pub(super) async fn wc(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let mut sel = [false; 4]; // lines, words, chars, bytes
    let mut files = Vec::new();
    for a in env.args.iter().skip(1) {
        if a.len() > 1 && a.starts_with('-') {
            for c in a[1..].chars() {
                match c {
                    'l' => sel[0] = true,
                    'w' => sel[1] = true,
                    'm' => sel[2] = true,
                    'c' => sel[3] = true,
                    'L' => {}
                    _ => {}
                }
            }
        } else {
            files.push(a.clone());
        }
    }
    if !sel.iter().any(|&s| s) {
        sel = [true, true, false, true];
    }
    let single = sel.iter().filter(|&&s| s).count() == 1;
    let no_files = files.is_empty();
    if no_files {
        files.push("-".into());
    }
    let mut totals = [0u64; 4];
    let mut status = 0;
    let n_files = files.len();
    for f in files {
        let mut src = match env.open(&f) {
            Ok(s) => s,
            Err(e) => {
                let _ = env.out.flush().await;
                env.error(format!("{f}: {e}")).await;
                status = 1;
                continue;
            }
        };
        let mut counts = [0u64; 4];
        let mut in_word = false;
        while let Some(chunk) = env.read(&mut src).await {
            counts[3] += chunk.len() as u64;
            for &b in chunk.iter() {
                if b == b'\n' {
                    counts[0] += 1;
                }
                if b & 0xc0 != 0x80 {
                    counts[2] += 1;
                }
                let space = b.is_ascii_whitespace();
                if !space && !in_word {
                    counts[1] += 1;
                }
                in_word = !space;
            }
        }
        for k in 0..4 {
            totals[k] += counts[k];
        }
        let line = format_wc(
            &counts,
            &sel,
            single,
            if no_files { None } else { Some(&f) },
        );
        if env.out.write(line.as_bytes()).await.is_err() {
            return env.sigpipe().await;
        }
    }
    if n_files > 1 {
        let line = format_wc(&totals, &sel, single, Some("total"));
        if env.out.write(line.as_bytes()).await.is_err() {
            return env.sigpipe().await;
        }
    }
    env.finish(status).await
}

fn format_wc(counts: &[u64; 4], sel: &[bool; 4], single: bool, name: Option<&str>) -> String {
    let mut s = String::new();
    let mut first = true;
    for k in 0..4 {
        if !sel[k] {
            continue;
        }
        if first && single {
            s += &counts[k].to_string();
        } else if first {
            s += &format!("{:9}", counts[k]);
        } else {
            s += &format!(" {:9}", counts[k]);
        }
        first = false;
    }
    match name {
        Some(n) => s += &format!(" {n}\n"),
        None => s.push('\n'),
    }
    s
}
