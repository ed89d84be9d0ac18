//! Text applets: echo, printf, cat, head, tail, yes, seq, wc, grep, cut, tr, sort,
//! uniq, tee, basename, dirname, xargs.

use std::collections::VecDeque;

use bytes::Bytes;

use super::{Env, Held, LINE_COST, Lines, Src, cant_open};
use crate::process::program::{ProgramContext, Programs};
use crate::process::vfs::{CHUNK, FsError, WriteMode};
use crate::process::{ExitStatus, Output, Stdio};

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("echo", echo);
    p.insert_builtin("printf", printf);
    p.insert_builtin("cat", cat);
    p.insert_builtin("head", head);
    p.insert_builtin("tail", tail);
    p.insert_builtin("yes", yes);
    p.insert_builtin("seq", seq);
    p.insert_builtin("wc", wc);
    p.insert_builtin("grep", grep);
    p.insert_builtin("egrep", grep);
    p.insert_builtin("fgrep", grep);
    p.insert_builtin("cut", cut);
    p.insert_builtin("tr", tr);
    p.insert_builtin("sort", sort);
    p.insert_builtin("uniq", uniq);
    p.insert_builtin("tee", tee);
    p.insert_builtin("basename", basename);
    p.insert_builtin("dirname", dirname);
    p.insert_builtin("xargs", xargs);
}

/// Processes one backslash escape at `s[i]` (just after the backslash) the way
/// busybox's `bb_process_escape_sequence` does; returns the bytes and how many input
/// bytes were used. `octal_zero`: `\0NNN` form (echo -e, %b) instead of `\NNN`.
fn escape(s: &[u8], i: usize, octal_zero: bool) -> (Vec<u8>, usize) {
    let Some(&c) = s.get(i) else {
        return (b"\\".to_vec(), 0);
    };
    let simple = match c {
        b'a' => Some(7),
        b'b' => Some(8),
        b'e' => Some(27),
        b'f' => Some(12),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(11),
        b'\\' => Some(b'\\'),
        _ => None,
    };
    if let Some(b) = simple {
        return (vec![b], 1);
    }
    if c == b'x' {
        let mut v = 0u32;
        let mut n = 0;
        while n < 2 && s.get(i + 1 + n).is_some_and(|b| b.is_ascii_hexdigit()) {
            v = v * 16 + (s[i + 1 + n] as char).to_digit(16).unwrap_or(0);
            n += 1;
        }
        if n == 0 {
            return (b"\\x".to_vec(), 1);
        }
        return (vec![v as u8], 1 + n);
    }
    let (start, max) = if octal_zero {
        if c != b'0' {
            return (vec![b'\\', c], 1);
        }
        (i + 1, 3)
    } else {
        (i, 3)
    };
    if (b'0'..=b'7').contains(&c) {
        let mut v = 0u32;
        let mut n = 0;
        while n < max && s.get(start + n).is_some_and(|b| (b'0'..=b'7').contains(b)) {
            v = v * 8 + u32::from(s[start + n] - b'0');
            n += 1;
        }
        return (vec![(v & 0xff) as u8], start - i + n);
    }
    (vec![b'\\', c], 1)
}

/// `echo -e` / `%b` processing; returns the bytes and whether `\c` stopped output.
fn unescape_echo(s: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' {
            if s.get(i + 1) == Some(&b'c') {
                return (out, true);
            }
            let (bytes, used) = escape(s, i + 1, true);
            out.extend_from_slice(&bytes);
            i += 1 + used;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    (out, false)
}

async fn echo(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| matches!(c, 'n' | 'e' | 'E'))
        {
            for c in a[1..].chars() {
                match c {
                    'n' => newline = false,
                    'e' => escapes = true,
                    _ => escapes = false,
                }
            }
            i += 1;
        } else {
            break;
        }
    }
    let mut out = Vec::new();
    for (k, a) in args[i..].iter().enumerate() {
        if k > 0 {
            out.push(b' ');
        }
        if escapes {
            let (bytes, stop) = unescape_echo(a.as_bytes());
            out.extend_from_slice(&bytes);
            if stop {
                newline = false;
                break;
            }
        } else {
            out.extend_from_slice(a.as_bytes());
        }
    }
    if newline {
        out.push(b'\n');
    }
    if env.out.write(&out).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

fn parse_printf_int(arg: &str) -> Result<i64, ()> {
    let t = arg.trim();
    if let Some(rest) = t.strip_prefix('\'').or_else(|| t.strip_prefix('"')) {
        return Ok(rest.chars().next().map(|c| c as i64).unwrap_or(0));
    }
    if t.is_empty() {
        return Ok(0);
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).map_err(|_| ())?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).map_err(|_| ())?
    } else {
        body.parse::<i64>().map_err(|_| ())?
    };
    Ok(if neg { -v } else { v })
}

/// The widest `printf` field or precision honoured.
const MAX_FIELD: usize = 1 << 20;

fn pad(body: Vec<u8>, width: usize, left: bool, zero: bool) -> Vec<u8> {
    if body.len() >= width {
        return body;
    }
    let fill = width - body.len();
    let mut out = Vec::with_capacity(width);
    if left {
        out.extend_from_slice(&body);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else if zero {
        let sign = matches!(body.first(), Some(b'-') | Some(b'+'));
        if sign {
            out.push(body[0]);
        }
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend_from_slice(&body[usize::from(sign)..]);
    } else {
        out.extend(std::iter::repeat_n(b' ', fill));
        out.extend_from_slice(&body);
    }
    out
}

async fn printf(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let mut args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    if args.first().map(String::as_str) == Some("--") {
        args.remove(0);
    }
    let Some(format) = args.first().cloned() else {
        return env.usage("printf FORMAT [ARG]...").await;
    };
    let fmt = format.as_bytes();
    let params = &args[1..];
    let mut pi = 0;
    let mut out = Vec::new();
    let mut status = 0;
    let mut errors = Vec::new();
    'outer: loop {
        let start_pi = pi;
        let mut i = 0;
        while i < fmt.len() {
            let c = fmt[i];
            if c == b'\\' {
                if fmt.get(i + 1) == Some(&b'c') {
                    break 'outer;
                }
                let (bytes, used) = escape(fmt, i + 1, false);
                out.extend_from_slice(&bytes);
                i += 1 + used;
                continue;
            }
            if c != b'%' {
                out.push(c);
                i += 1;
                continue;
            }
            i += 1;
            if fmt.get(i) == Some(&b'%') {
                out.push(b'%');
                i += 1;
                continue;
            }
            let mut left = false;
            let mut zero = false;
            let mut plus = false;
            let mut space = false;
            let mut alt = false;
            while let Some(&f) = fmt.get(i) {
                match f {
                    b'-' => left = true,
                    b'0' => zero = true,
                    b'+' => plus = true,
                    b' ' => space = true,
                    b'#' => alt = true,
                    _ => break,
                }
                i += 1;
            }
            let next_arg = |pi: &mut usize| -> Option<String> {
                let a = params.get(*pi).cloned();
                if a.is_some() {
                    *pi += 1;
                }
                a
            };
            let mut width = 0usize;
            if fmt.get(i) == Some(&b'*') {
                i += 1;
                width = next_arg(&mut pi)
                    .and_then(|a| parse_printf_int(&a).ok())
                    .map(|w| {
                        if w < 0 {
                            left = true;
                        }
                        w.unsigned_abs() as usize
                    })
                    .unwrap_or(0);
            } else {
                while let Some(d) = fmt.get(i).filter(|d| d.is_ascii_digit()) {
                    width = width
                        .saturating_mul(10)
                        .saturating_add(usize::from(d - b'0'));
                    i += 1;
                }
            }
            let mut prec: Option<usize> = None;
            if fmt.get(i) == Some(&b'.') {
                i += 1;
                let mut p = 0usize;
                if fmt.get(i) == Some(&b'*') {
                    i += 1;
                    p = next_arg(&mut pi)
                        .and_then(|a| parse_printf_int(&a).ok())
                        .unwrap_or(0)
                        .max(0) as usize;
                } else {
                    while let Some(d) = fmt.get(i).filter(|d| d.is_ascii_digit()) {
                        p = p.saturating_mul(10).saturating_add(usize::from(d - b'0'));
                        i += 1;
                    }
                }
                prec = Some(p);
            }
            while matches!(
                fmt.get(i),
                Some(b'l') | Some(b'h') | Some(b'z') | Some(b'j') | Some(b'q')
            ) {
                i += 1;
            }
            // A field wider than this would only exhaust memory.
            width = width.min(MAX_FIELD);
            let prec = prec.map(|p| p.min(MAX_FIELD));
            let Some(&conv) = fmt.get(i) else {
                errors.push("missing format character".to_owned());
                status = 1;
                break 'outer;
            };
            i += 1;
            let arg = next_arg(&mut pi);
            let body: Vec<u8> = match conv {
                b's' => {
                    let mut s = arg.unwrap_or_default().into_bytes();
                    if let Some(p) = prec {
                        s.truncate(p);
                    }
                    s
                }
                b'b' => {
                    let (bytes, stop) = unescape_echo(arg.unwrap_or_default().as_bytes());
                    let mut b = bytes;
                    if let Some(p) = prec {
                        b.truncate(p);
                    }
                    if stop {
                        out.extend_from_slice(&pad(b, width, left, false));
                        break 'outer;
                    }
                    b
                }
                b'c' => arg
                    .and_then(|a| a.as_bytes().first().copied())
                    .map(|b| vec![b])
                    .unwrap_or_default(),
                b'd' | b'i' | b'o' | b'u' | b'x' | b'X' => {
                    let a = arg.unwrap_or_default();
                    let v = match parse_printf_int(&a) {
                        Ok(v) => v,
                        Err(()) => {
                            errors.push(format!("invalid number '{a}'"));
                            status = 1;
                            0
                        }
                    };
                    let mut digits = match conv {
                        b'd' | b'i' => v.unsigned_abs().to_string(),
                        b'o' => format!("{:o}", v as u64),
                        b'u' => (v as u64).to_string(),
                        b'x' => format!("{:x}", v as u64),
                        _ => format!("{:X}", v as u64),
                    };
                    if let Some(p) = prec {
                        while digits.len() < p {
                            digits.insert(0, '0');
                        }
                    }
                    if alt && v != 0 {
                        match conv {
                            b'o' => digits.insert(0, '0'),
                            b'x' => digits.insert_str(0, "0x"),
                            b'X' => digits.insert_str(0, "0X"),
                            _ => {}
                        }
                    }
                    let sign = if matches!(conv, b'd' | b'i') {
                        if v < 0 {
                            "-"
                        } else if plus {
                            "+"
                        } else if space {
                            " "
                        } else {
                            ""
                        }
                    } else {
                        ""
                    };
                    format!("{sign}{digits}").into_bytes()
                }
                b'f' | b'F' | b'e' | b'E' | b'g' | b'G' => {
                    let a = arg.unwrap_or_default();
                    let v: f64 = if a.trim().is_empty() {
                        0.0
                    } else {
                        match a.trim().parse() {
                            Ok(v) => v,
                            Err(_) => {
                                errors.push(format!("invalid number '{a}'"));
                                status = 1;
                                0.0
                            }
                        }
                    };
                    let p = prec.unwrap_or(6);
                    let s = match conv {
                        b'f' | b'F' => format!("{v:.p$}"),
                        b'e' | b'E' => {
                            let s = format!("{v:.p$e}");
                            // Rust prints 1.5e3; C prints 1.500000e+03.
                            let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                            let exp: i32 = e.parse().unwrap_or(0);
                            let s =
                                format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
                            if conv == b'E' { s.to_uppercase() } else { s }
                        }
                        _ => {
                            let p = p.max(1);
                            let exp = if v == 0.0 {
                                0
                            } else {
                                v.abs().log10().floor() as i32
                            };
                            let s = if exp < -4 || exp >= p as i32 {
                                let digits = p - 1;
                                let s = format!("{v:.digits$e}");
                                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                                let m = if m.contains('.') && !alt {
                                    m.trim_end_matches('0').trim_end_matches('.').to_owned()
                                } else {
                                    m.to_owned()
                                };
                                let exp: i32 = e.parse().unwrap_or(0);
                                format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
                            } else {
                                let decimals = (p as i32 - 1 - exp).max(0) as usize;
                                let s = format!("{v:.decimals$}");
                                if s.contains('.') && !alt {
                                    s.trim_end_matches('0').trim_end_matches('.').to_owned()
                                } else {
                                    s
                                }
                            };
                            if conv == b'G' { s.to_uppercase() } else { s }
                        }
                    };
                    let s = if v >= 0.0 && plus {
                        format!("+{s}")
                    } else if v >= 0.0 && space {
                        format!(" {s}")
                    } else {
                        s
                    };
                    s.into_bytes()
                }
                other => {
                    errors.push(format!("%{}: invalid format", other as char));
                    status = 1;
                    break 'outer;
                }
            };
            let numeric = !matches!(conv, b's' | b'b' | b'c');
            out.extend_from_slice(&pad(body, width, left, zero && numeric && !left));
            if out.len() >= CHUNK && env.out.write(&std::mem::take(&mut out)).await.is_err() {
                return env.sigpipe().await;
            }
        }
        if pi >= params.len() || pi == start_pi {
            break;
        }
    }
    if env.out.write(&out).await.is_err() || env.out.flush().await.is_err() {
        return env.sigpipe().await;
    }
    for e in errors {
        env.error(e).await;
    }
    env.finish(status).await
}

async fn cat(ctx: ProgramContext) -> ExitStatus {
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

async fn head(ctx: ProgramContext) -> ExitStatus {
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

async fn tail(ctx: ProgramContext) -> ExitStatus {
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

async fn yes(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let line = if env.args.len() > 1 {
        env.args[1..].join(" ")
    } else {
        "y".into()
    };
    let mut unit = line.into_bytes();
    unit.push(b'\n');
    let reps = (CHUNK / unit.len()).max(1);
    let block = Bytes::from(unit.repeat(reps));
    loop {
        env.sys.checkpoint().await;
        if env.out.output().write(block.clone()).await.is_err() {
            return env.sigpipe().await;
        }
    }
}

async fn seq(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let mut sep = "\n".to_owned();
    let mut equal_width = false;
    let mut nums = Vec::new();
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        match a.as_str() {
            "-s" => {
                i += 1;
                sep = args.get(i).cloned().unwrap_or_default();
            }
            "-w" => equal_width = true,
            _ if a.starts_with("-s") && a.len() > 2 => sep = a[2..].to_owned(),
            _ => nums.push(a.clone()),
        }
        i += 1;
    }
    if nums.is_empty() || nums.len() > 3 {
        return env.usage("seq [-w] [-s SEP] [FIRST [INC]] LAST").await;
    }
    let mut parsed = Vec::new();
    for n in &nums {
        match n.parse::<f64>() {
            Ok(v) if v.is_finite() => parsed.push(v),
            _ => {
                env.error(format!("invalid number '{n}'")).await;
                return ExitStatus::Exited(1);
            }
        }
    }
    let (first, inc, last) = match parsed.as_slice() {
        [l] => (1.0, 1.0, *l),
        [f, l] => (*f, 1.0, *l),
        [f, i, l] => (*f, *i, *l),
        _ => (1.0, 1.0, 0.0),
    };
    let decimals = nums
        .iter()
        .map(|n| n.split_once('.').map(|(_, d)| d.len()).unwrap_or(0))
        .max()
        .unwrap_or(0);
    let width = if equal_width {
        let f = |v: f64| format!("{v:.decimals$}").len();
        f(first).max(f(last))
    } else {
        0
    };
    if inc == 0.0 {
        return env.finish(0).await;
    }
    let mut k = 0u64;
    let mut first_out = true;
    loop {
        let v = first + inc * k as f64;
        if (inc > 0.0 && v > last + 1e-9) || (inc < 0.0 && v < last - 1e-9) {
            break;
        }
        let mut s = format!("{v:.decimals$}");
        if width > 0 {
            let neg = s.starts_with('-');
            let digits = if neg { &s[1..] } else { &s[..] };
            let padded = format!(
                "{}{:0>w$}",
                if neg { "-" } else { "" },
                digits,
                w = width - usize::from(neg)
            );
            s = padded;
        }
        if !first_out && env.out.write(sep.as_bytes()).await.is_err() {
            return env.sigpipe().await;
        }
        first_out = false;
        if env.out.write(s.as_bytes()).await.is_err() {
            return env.sigpipe().await;
        }
        k += 1;
        if k.is_multiple_of(4096) {
            env.sys.checkpoint().await;
        }
    }
    if !first_out && env.out.write(b"\n").await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

async fn wc(ctx: ProgramContext) -> ExitStatus {
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

/// Translates a POSIX basic regular expression into `regex` syntax.
fn bre_to_regex(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut at_start = true;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                match n {
                    '(' | ')' | '{' | '}' | '|' | '+' | '?' => out.push(n),
                    '<' | '>' => out += "\\b",
                    'w' | 'W' | 's' | 'S' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(n);
                    }
                    d if d.is_ascii_digit() => {
                        // Back-references are not supported by `regex`: match the digit.
                        out.push(d);
                    }
                    other => out += &regex::escape(&other.to_string()),
                }
                at_start = n == '(' || n == '|';
                i += 2;
                continue;
            }
            '[' => {
                let (class, next) = bracket_to_regex(&chars, i);
                out += &class;
                i = next;
                at_start = false;
                continue;
            }
            '*' if at_start => out += "\\*",
            '^' if at_start => out.push('^'),
            '$' if i + 1 == chars.len()
                || (chars.get(i + 1) == Some(&'\\')
                    && matches!(chars.get(i + 2), Some(')') | Some('|'))) =>
            {
                out.push('$')
            }
            '.' | '*' => out.push(c),
            other => out += &regex::escape(&other.to_string()),
        }
        at_start = false;
        i += 1;
    }
    out
}

/// Copies a bracket expression, escaping what `regex` would treat specially.
fn bracket_to_regex(chars: &[char], start: usize) -> (String, usize) {
    let mut out = String::from("[");
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') || chars.get(i) == Some(&'!') {
        out.push('^');
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        out += "\\]";
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        if c == ']' {
            out.push(']');
            return (out, i + 1);
        }
        if c == '['
            && chars.get(i + 1) == Some(&':')
            && let Some(end) = (i + 2..chars.len().saturating_sub(1))
                .find(|&k| chars[k] == ':' && chars[k + 1] == ']')
        {
            out.extend(&chars[i..end + 2]);
            i = end + 2;
            continue;
        }
        match c {
            '\\' | '[' | '&' | '~' | '-'
                if !(c == '-' && i > start + 1 && chars.get(i + 1) != Some(&']')) =>
            {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    // Unterminated: treat the `[` literally.
    (format!("\\[{}", &out[1..]), chars.len())
}

fn ere_to_regex(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '[' => {
                let (class, next) = bracket_to_regex(&chars, i);
                out += &class;
                i = next;
                continue;
            }
            '\\' if matches!(chars.get(i + 1), Some('<') | Some('>')) => {
                out += "\\b";
                i += 2;
                continue;
            }
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                if n.is_ascii_alphanumeric()
                    && !matches!(n, 'w' | 'W' | 's' | 'S' | 'b' | 'B' | 'd' | 'D')
                {
                    out.push(n);
                } else {
                    out.push('\\');
                    out.push(n);
                }
                i += 2;
                continue;
            }
            '{' if !chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => out += "\\{",
            c => out.push(c),
        }
        i += 1;
    }
    out
}

async fn grep(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let name = env.name.clone();
    let mut extended = name == "egrep";
    let mut fixed = name == "fgrep";
    let (mut invert, mut ignore_case, mut count, mut quiet, mut number) =
        (false, false, false, false, false);
    let (mut files_with, mut files_without, mut no_name, mut with_name) =
        (false, false, false, false);
    let (mut only, mut word, mut line_match, mut silent) = (false, false, false, false);
    let mut patterns: Vec<String> = Vec::new();
    let mut operands = Vec::new();
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut i = 0;
    let mut opts_done = false;
    while i < args.len() {
        let a = &args[i];
        if opts_done || !a.starts_with('-') || a == "-" {
            operands.push(a.clone());
            i += 1;
            continue;
        }
        if a == "--" {
            opts_done = true;
            i += 1;
            continue;
        }
        let flags: Vec<char> = a[1..].chars().collect();
        let mut k = 0;
        while k < flags.len() {
            match flags[k] {
                'v' => invert = true,
                'i' | 'y' => ignore_case = true,
                'c' => count = true,
                'q' => quiet = true,
                'n' => number = true,
                'E' => extended = true,
                'F' => fixed = true,
                'G' => {}
                'l' => files_with = true,
                'L' => files_without = true,
                'h' => no_name = true,
                'H' => with_name = true,
                'o' => only = true,
                'w' => word = true,
                'x' => line_match = true,
                's' => silent = true,
                'r' | 'R' | 'a' | 'I' => {}
                'e' | 'f' => {
                    let rest: String = flags[k + 1..].iter().collect();
                    let value = if !rest.is_empty() {
                        rest
                    } else {
                        i += 1;
                        match args.get(i) {
                            Some(v) => v.clone(),
                            None => {
                                env.error(format!("option requires an argument -- '{}'", flags[k]))
                                    .await;
                                return env.usage("grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...").await;
                            }
                        }
                    };
                    if flags[k] == 'e' {
                        patterns.push(value);
                    } else {
                        match env.open(&value) {
                            Ok(mut src) => {
                                let mut lines = Lines::default();
                                while let Some(l) = lines.next(&mut env, &mut src).await {
                                    let l = String::from_utf8_lossy(&l);
                                    patterns.push(l.trim_end_matches('\n').to_owned());
                                }
                            }
                            Err(e) => {
                                env.error(format!("{value}: {e}")).await;
                                return ExitStatus::Exited(2);
                            }
                        }
                    }
                    k = flags.len();
                    continue;
                }
                other => {
                    env.error(format!("invalid option -- '{other}'")).await;
                    return env.usage("grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...").await;
                }
            }
            k += 1;
        }
        i += 1;
    }
    if patterns.is_empty() {
        if operands.is_empty() {
            return env.usage("grep [-HhnlLoqvsrRiwFE] [-m N] [-A|B|C N] { PATTERN | -e PATTERN... | -f FILE... } [FILE]...").await;
        }
        patterns.push(operands.remove(0));
    }
    let mut alts = Vec::new();
    for p in &patterns {
        // A pattern with newlines is several patterns.
        for piece in p.split('\n') {
            let re = if fixed {
                regex::escape(piece)
            } else if extended {
                ere_to_regex(piece)
            } else {
                bre_to_regex(piece)
            };
            alts.push(format!("(?:{re})"));
        }
    }
    let mut re = alts.join("|");
    if word {
        re = format!("\\b(?:{re})\\b");
    }
    if line_match {
        re = format!("^(?:{re})$");
    }
    let regex = match regex::bytes::RegexBuilder::new(&re)
        .case_insensitive(ignore_case)
        .unicode(false)
        .build()
    {
        Ok(r) => r,
        Err(_) => {
            env.error(format!("bad regex '{}'", patterns.join("\n")))
                .await;
            return ExitStatus::Exited(2);
        }
    };
    if operands.is_empty() {
        operands.push("-".into());
    }
    let show_name = (operands.len() > 1 || with_name) && !no_name;
    let mut any = false;
    let mut error = false;
    for f in &operands {
        let mut src = match env.open(f) {
            Ok(s) => s,
            Err(e) => {
                if !silent {
                    let _ = env.out.flush().await;
                    env.error(format!("{f}: {e}")).await;
                }
                error = true;
                continue;
            }
        };
        let display = if f == "-" {
            "(standard input)"
        } else {
            f.as_str()
        };
        let mut lines = Lines::default();
        let mut matches = 0u64;
        let mut lineno = 0u64;
        while let Some(line) = lines.next(&mut env, &mut src).await {
            lineno += 1;
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            let hit = regex.is_match(body) != invert;
            if !hit {
                continue;
            }
            matches += 1;
            any = true;
            if quiet {
                return env.finish(0).await;
            }
            if files_with || files_without {
                break;
            }
            if count {
                continue;
            }
            let mut prefix = String::new();
            if show_name {
                prefix += display;
                prefix.push(':');
            }
            if number {
                prefix += &format!("{lineno}:");
            }
            let r = if only && !invert {
                let mut r = Ok(());
                for m in regex.find_iter(body) {
                    if m.as_bytes().is_empty() {
                        continue;
                    }
                    let mut l = prefix.clone().into_bytes();
                    l.extend_from_slice(m.as_bytes());
                    l.push(b'\n');
                    r = env.out.write(&l).await;
                    if r.is_err() {
                        break;
                    }
                }
                r
            } else {
                let mut l = prefix.into_bytes();
                l.extend_from_slice(body);
                l.push(b'\n');
                env.out.write(&l).await
            };
            if r.is_err() {
                return env.sigpipe().await;
            }
        }
        let r = if (files_with && matches > 0) || (files_without && matches == 0) {
            env.out.write(format!("{display}\n").as_bytes()).await
        } else if count {
            let text = if show_name {
                format!("{display}:{matches}\n")
            } else {
                format!("{matches}\n")
            };
            env.out.write(text.as_bytes()).await
        } else {
            Ok(())
        };
        if r.is_err() {
            return env.sigpipe().await;
        }
    }
    let status = if error && !(quiet && any) {
        2
    } else if any {
        0
    } else {
        1
    };
    env.finish(status).await
}

/// A `cut` list: 1-based inclusive ranges.
fn parse_list(s: &str) -> Option<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                if a.is_empty() { 1 } else { a.parse().ok()? },
                if b.is_empty() {
                    usize::MAX
                } else {
                    b.parse().ok()?
                },
            ),
            None => {
                let n: usize = part.parse().ok()?;
                (n, n)
            }
        };
        if a == 0 || b < a {
            return None;
        }
        out.push((a, b));
    }
    Some(out)
}

async fn cut(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let mut delim = b'\t';
    let mut fields: Option<Vec<(usize, usize)>> = None;
    let mut chars: Option<Vec<(usize, usize)>> = None;
    let mut only_delimited = false;
    let mut files = Vec::new();
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let (opt, value) = if a.len() >= 2
            && a.starts_with('-')
            && matches!(a.get(1..2), Some("d" | "f" | "c" | "b"))
        {
            if a.len() > 2 {
                (a[1..2].to_owned(), Some(a[2..].to_owned()))
            } else {
                i += 1;
                (a[1..2].to_owned(), args.get(i).cloned())
            }
        } else if a == "-s" {
            only_delimited = true;
            i += 1;
            continue;
        } else {
            files.push(a.clone());
            i += 1;
            continue;
        };
        let Some(value) = value else {
            env.error(format!("option requires an argument -- '{opt}'"))
                .await;
            return ExitStatus::Exited(1);
        };
        match opt.as_str() {
            "d" => {
                if value.len() != 1 {
                    env.error("the delimiter must be a single character").await;
                    return ExitStatus::Exited(1);
                }
                delim = value.as_bytes()[0];
            }
            kind => {
                let Some(list) = parse_list(&value) else {
                    env.error("invalid byte or character range".to_string())
                        .await;
                    return ExitStatus::Exited(1);
                };
                if kind == "f" {
                    fields = Some(list);
                } else {
                    chars = Some(list);
                }
            }
        }
        i += 1;
    }
    if fields.is_none() && chars.is_none() {
        env.error("expected a list of bytes, characters, or fields")
            .await;
        return ExitStatus::Exited(1);
    }
    if files.is_empty() {
        files.push("-".into());
    }
    let in_list = |list: &[(usize, usize)], n: usize| list.iter().any(|&(a, b)| a <= n && n <= b);
    let mut status = 0;
    for f in files {
        let mut src = match env.open(&f) {
            Ok(s) => s,
            Err(e) => {
                env.error(cant_open(&f, &e)).await;
                status = 1;
                continue;
            }
        };
        let mut lines = Lines::default();
        while let Some(line) = lines.next(&mut env, &mut src).await {
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            let mut out = Vec::new();
            if let Some(list) = &chars {
                for (k, &b) in body.iter().enumerate() {
                    if in_list(list, k + 1) {
                        out.push(b);
                    }
                }
            } else if let Some(list) = &fields {
                if !body.contains(&delim) {
                    if only_delimited {
                        continue;
                    }
                    out.extend_from_slice(body);
                } else {
                    let mut first = true;
                    for (k, field) in body.split(|&b| b == delim).enumerate() {
                        if in_list(list, k + 1) {
                            if !first {
                                out.push(delim);
                            }
                            out.extend_from_slice(field);
                            first = false;
                        }
                    }
                }
            }
            out.push(b'\n');
            if env.out.write(&out).await.is_err() {
                return env.sigpipe().await;
            }
        }
    }
    env.finish(status).await
}

/// Expands a `tr` set: escapes, ranges, classes.
fn tr_set(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut raw: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'['
            && b.get(i + 1) == Some(&b':')
            && let Some(end) = s[i + 2..].find(":]")
        {
            let class = &s[i + 2..i + 2 + end];
            let pred: fn(u8) -> bool = match class {
                "alpha" => |c| c.is_ascii_alphabetic(),
                "digit" => |c| c.is_ascii_digit(),
                "alnum" => |c| c.is_ascii_alphanumeric(),
                "upper" => |c| c.is_ascii_uppercase(),
                "lower" => |c| c.is_ascii_lowercase(),
                "space" => |c| c.is_ascii_whitespace() || c == 11,
                "blank" => |c| c == b' ' || c == b'\t',
                "punct" => |c| c.is_ascii_punctuation(),
                "xdigit" => |c| c.is_ascii_hexdigit(),
                "cntrl" => |c| c.is_ascii_control(),
                "print" => |c| (32..127).contains(&c),
                "graph" => |c| c.is_ascii_graphic(),
                _ => |_| false,
            };
            raw.extend((0u8..=255).filter(|&c| pred(c)));
            i += 2 + end + 2;
            continue;
        }
        let c = if b[i] == b'\\' && i + 1 < b.len() {
            let (bytes, used) = escape(b, i + 1, false);
            i += 1 + used;
            bytes.last().copied().unwrap_or(b'\\')
        } else {
            i += 1;
            b[i - 1]
        };
        if b.get(i) == Some(&b'-') && i + 1 < b.len() {
            let hi = if b[i + 1] == b'\\' && i + 2 < b.len() {
                let (bytes, used) = escape(b, i + 2, false);
                i += 2 + used;
                bytes.last().copied().unwrap_or(b'\\')
            } else {
                i += 2;
                b[i - 1]
            };
            if hi >= c {
                raw.extend(c..=hi);
            }
            continue;
        }
        raw.push(c);
    }
    raw
}

async fn tr(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let (mut delete, mut squeeze, mut complement) = (false, false, false);
    let mut sets = Vec::new();
    for a in env.args.iter().skip(1) {
        if a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| "dscC".contains(c)) {
            for c in a[1..].chars() {
                match c {
                    'd' => delete = true,
                    's' => squeeze = true,
                    _ => complement = true,
                }
            }
        } else {
            sets.push(a.clone());
        }
    }
    if sets.is_empty() || (!delete && !squeeze && sets.len() < 2) {
        return env.usage("tr [-cds] STRING1 [STRING2]").await;
    }
    let mut set1 = tr_set(&sets[0]);
    if complement {
        let mut member = [false; 256];
        for &c in &set1 {
            member[c as usize] = true;
        }
        set1 = (0u8..=255).filter(|c| !member[*c as usize]).collect();
    }
    let set2 = sets.get(1).map(|s| tr_set(s)).unwrap_or_default();
    let mut map: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut del = [false; 256];
    let mut sq = [false; 256];
    if delete {
        for &c in &set1 {
            del[c as usize] = true;
        }
        if squeeze {
            for &c in &set2 {
                sq[c as usize] = true;
            }
        }
    } else if sets.len() >= 2 {
        for (k, &c) in set1.iter().enumerate() {
            let to = set2.get(k).or(set2.last()).copied().unwrap_or(c);
            map[c as usize] = to;
        }
        if squeeze {
            for &c in &set2 {
                sq[c as usize] = true;
            }
        }
    } else {
        for &c in &set1 {
            sq[c as usize] = true;
        }
    }
    let mut last: Option<u8> = None;
    let mut src = Src::Stdin;
    while let Some(chunk) = env.read(&mut src).await {
        let mut out = Vec::with_capacity(chunk.len());
        for &b in chunk.iter() {
            if del[b as usize] {
                continue;
            }
            let m = map[b as usize];
            if squeeze && sq[m as usize] && last == Some(m) {
                continue;
            }
            last = Some(m);
            out.push(m);
        }
        if env.out.write(&out).await.is_err() {
            return env.sigpipe().await;
        }
    }
    env.finish(0).await
}

async fn sort(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let (mut reverse, mut numeric, mut unique, mut fold) = (false, false, false, false);
    let mut key: Option<usize> = None;
    let mut sep: Option<u8> = None;
    let mut files = Vec::new();
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "-k" || a == "-t" {
            i += 1;
            let v = args.get(i).cloned().unwrap_or_default();
            if a == "-k" {
                key = v.split([',', '.']).next().and_then(|n| n.parse().ok());
            } else {
                sep = v.bytes().next();
            }
        } else if a.len() > 1 && a.starts_with('-') {
            for c in a[1..].chars() {
                match c {
                    'r' => reverse = true,
                    'n' => numeric = true,
                    'u' => unique = true,
                    'f' => fold = true,
                    _ => {}
                }
            }
        } else {
            files.push(a.clone());
        }
        i += 1;
    }
    if files.is_empty() {
        files.push("-".into());
    }
    let mut all: Vec<Vec<u8>> = Vec::new();
    let mut held = Held::default();
    for f in files {
        let mut src = match env.open(&f) {
            Ok(s) => s,
            Err(e) => {
                env.error(cant_open(&f, &e)).await;
                return ExitStatus::Exited(2);
            }
        };
        let mut lines = Lines::default();
        while let Some(mut l) = lines.next(&mut env, &mut src).await {
            if l.last() == Some(&b'\n') {
                l.pop();
            }
            // Sorting holds its whole input: charged against the memory limit and
            // budget, past which sort is OOM-killed.
            held.add(&env.sys, l.len() as u64 + LINE_COST).await;
            all.push(l);
        }
    }
    let key_of = |l: &[u8]| -> Vec<u8> {
        let Some(k) = key else {
            return l.to_vec();
        };
        let fields: Vec<&[u8]> = match sep {
            Some(s) => l.split(|&b| b == s).collect(),
            None => l
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty())
                .collect(),
        };
        fields
            .get(k.saturating_sub(1)..)
            .map(|f| f.join(&sep.unwrap_or(b' ')))
            .unwrap_or_default()
    };
    let num = |l: &[u8]| -> f64 {
        let s = String::from_utf8_lossy(l);
        let t = s.trim_start();
        let end = t
            .char_indices()
            .take_while(|(i, c)| c.is_ascii_digit() || *c == '.' || (*i == 0 && *c == '-'))
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .unwrap_or(0);
        t[..end].parse().unwrap_or(0.0)
    };
    all.sort_by(|a, b| {
        let (ka, kb) = (key_of(a), key_of(b));
        let ord = if numeric {
            num(&ka)
                .partial_cmp(&num(&kb))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.cmp(b))
        } else if fold {
            ka.to_ascii_lowercase()
                .cmp(&kb.to_ascii_lowercase())
                .then_with(|| a.cmp(b))
        } else {
            ka.cmp(&kb).then_with(|| a.cmp(b))
        };
        if reverse { ord.reverse() } else { ord }
    });
    if unique {
        all.dedup_by(|a, b| key_of(a) == key_of(b));
    }
    for mut l in all {
        l.push(b'\n');
        if env.out.write(&l).await.is_err() {
            return env.sigpipe().await;
        }
    }
    env.finish(0).await
}

async fn uniq(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let (mut count, mut dups, mut uniques, mut fold) = (false, false, false, false);
    let mut files = Vec::new();
    for a in env.args.iter().skip(1) {
        if a.len() > 1 && a.starts_with('-') {
            for c in a[1..].chars() {
                match c {
                    'c' => count = true,
                    'd' => dups = true,
                    'u' => uniques = true,
                    'i' => fold = true,
                    _ => {}
                }
            }
        } else {
            files.push(a.clone());
        }
    }
    let input = files.first().cloned().unwrap_or_else(|| "-".into());
    let mut src = match env.open(&input) {
        Ok(s) => s,
        Err(e) => {
            env.error(cant_open(&input, &e)).await;
            return ExitStatus::Exited(1);
        }
    };
    if let Some(outfile) = files.get(1) {
        let path = env.abs(outfile);
        match env
            .sys
            .vfs()
            .open_write(&path, WriteMode::TRUNCATE, env.sys.access())
        {
            Ok(sink) => env.out = super::Out::new(Output::from_sink(sink)),
            Err(e) => {
                env.error(format!("can't open '{outfile}': {e}")).await;
                return ExitStatus::Exited(1);
            }
        }
    }
    let mut lines = Lines::default();
    let mut prev: Option<Vec<u8>> = None;
    let mut held = Held::default();
    let mut n = 0u64;
    let same = |a: &[u8], b: &[u8]| {
        if fold {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    loop {
        let line = lines.next(&mut env, &mut src).await.map(|mut l| {
            if l.last() == Some(&b'\n') {
                l.pop();
            }
            l
        });
        if let (Some(p), Some(l)) = (&prev, &line)
            && same(p, l)
        {
            n += 1;
            continue;
        }
        if let Some(p) = prev.take() {
            let show = (!dups || n > 1) && (!uniques || n == 1);
            if show {
                let mut out = if count {
                    format!("{n:7} ").into_bytes()
                } else {
                    Vec::new()
                };
                out.extend_from_slice(&p);
                out.push(b'\n');
                if env.out.write(&out).await.is_err() {
                    return env.sigpipe().await;
                }
            }
        }
        match line {
            Some(l) => {
                // The line compared with the next one is held (up to 16 MiB).
                held.set(&env.sys, l.len() as u64).await;
                prev = Some(l);
                n = 1;
            }
            None => break,
        }
    }
    env.finish(0).await
}

async fn tee(ctx: ProgramContext) -> ExitStatus {
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

async fn basename(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let Some(path) = env.args.get(1).cloned() else {
        return env.usage("basename FILE [SUFFIX]").await;
    };
    let trimmed = path.trim_end_matches('/');
    let mut base = if trimmed.is_empty() && path.starts_with('/') {
        "/".to_owned()
    } else {
        trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
    };
    if let Some(suffix) = env.args.get(2)
        && base.len() > suffix.len()
        && base.ends_with(suffix.as_str())
    {
        base.truncate(base.len() - suffix.len());
    }
    base.push('\n');
    if env.print(&base).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

async fn dirname(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let Some(path) = env.args.get(1).cloned() else {
        return env.usage("dirname FILENAME").await;
    };
    let trimmed = path.trim_end_matches('/');
    let dir = if trimmed.is_empty() {
        if path.starts_with('/') { "/" } else { "." }.to_owned()
    } else {
        match trimmed.rfind('/') {
            None => ".".to_owned(),
            Some(i) => {
                let d = trimmed[..i].trim_end_matches('/');
                if d.is_empty() {
                    "/".to_owned()
                } else {
                    d.to_owned()
                }
            }
        }
    };
    if env.print(&format!("{dir}\n")).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

async fn xargs(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let mut max_args: Option<usize> = None;
    let mut replace: Option<String> = None;
    let mut null_sep = false;
    let mut no_run_empty = false;
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        match a.as_str() {
            "-n" => {
                i += 1;
                max_args = args.get(i).and_then(|v| v.parse().ok());
            }
            "-I" => {
                i += 1;
                replace = args.get(i).cloned();
            }
            "-0" => null_sep = true,
            "-r" => no_run_empty = true,
            "-t" | "-p" => {}
            _ if a.starts_with("-n") && a.len() > 2 => max_args = a[2..].parse().ok(),
            _ if a.starts_with("-I") && a.len() > 2 => replace = Some(a[2..].to_owned()),
            _ => break,
        }
        i += 1;
    }
    let mut command: Vec<String> = args[i..].to_vec();
    if command.is_empty() {
        command.push("echo".into());
    }
    // xargs reads all its input before running anything: what it holds (the input,
    // then its items and each command line) is charged as held memory.
    let mut held = Held::default();
    let mut input = Vec::new();
    let mut src = Src::Stdin;
    while let Some(chunk) = env.read(&mut src).await {
        held.add(&env.sys, chunk.len() as u64).await;
        input.extend_from_slice(&chunk);
    }
    let text = match String::from_utf8(input) {
        Ok(text) => text,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    held.set(&env.sys, text.len() as u64).await;
    let items_of = |emit: &mut dyn FnMut(&str)| {
        if replace.is_some() {
            text.lines().filter(|l| !l.is_empty()).for_each(emit);
        } else if null_sep {
            text.split('\0').filter(|s| !s.is_empty()).for_each(emit);
        } else {
            split_xargs_words(&text, |w| emit(&w));
        }
    };
    // Counted first, so the items' overhead is charged before it is allocated.
    let mut count = 0u64;
    items_of(&mut |_| count += 1);
    held.add(
        &env.sys,
        count.saturating_mul(LINE_COST) + text.len() as u64,
    )
    .await;
    let mut items: Vec<String> = Vec::new();
    items_of(&mut |item| items.push(item.to_owned()));
    let text_len = text.len() as u64;
    drop(text);
    held.sub(&env.sys, text_len).await;
    if items.is_empty() && (no_run_empty || replace.is_some()) {
        return env.finish(0).await;
    }
    let per = max_args.unwrap_or(usize::MAX).max(1);
    let batch_count = if replace.is_some() {
        items.len()
    } else {
        items.len().div_ceil(per).max(1)
    };
    let batch = |k: usize| -> Vec<String> {
        match &replace {
            Some(r) => command
                .iter()
                .map(|c| c.replace(r.as_str(), &items[k]))
                .collect(),
            None => {
                let mut argv = command.clone();
                let from = k.saturating_mul(per).min(items.len());
                let to = from.saturating_add(per).min(items.len());
                argv.extend(items[from..to].iter().cloned());
                argv
            }
        }
    };
    let _ = env.out.flush().await;
    let mut status = 0;
    let path = Some(
        env.getenv("PATH")
            .unwrap_or(super::procs::EXECVP_DEFAULT_PATH)
            .to_owned(),
    );
    for k in 0..batch_count {
        let argv = batch(k);
        let argv_bytes: u64 = argv.iter().map(|a| a.len() as u64 + LINE_COST).sum();
        held.add(&env.sys, argv_bytes).await;
        let resolved = match env.sys.resolve(&argv[0], path.as_deref(), &env.cwd) {
            Ok(r) => r,
            Err(_) => {
                env.error(format!("{}: No such file or directory", argv[0]))
                    .await;
                return ExitStatus::Exited(127);
            }
        };
        let stdio = Stdio {
            stdin: crate::process::Input::empty(),
            stdout: env.out.output().clone(),
            stderr: env.err.clone(),
        };
        let handle = match env.sys.spawn_request(crate::process::sim::SpawnRequest {
            argv: resolved.argv(&argv),
            comm: resolved.comm(),
            program: std::sync::Arc::clone(&resolved.program),
            env: env.env.clone(),
            cwd: env.cwd.clone(),
            stdio,
            ignored: env.signals.ignored_set(),
        }) {
            Ok(handle) => handle,
            Err(_) => {
                // busybox 1.35 at the process limit, measured.
                env.error(format!("{}: Resource temporarily unavailable", argv[0]))
                    .await;
                return ExitStatus::Exited(126);
            }
        };
        let st = handle.wait().await;
        if st.code() != 0 {
            status = 123;
        }
        drop(argv);
        held.sub(&env.sys, argv_bytes).await;
    }
    env.finish(status).await
}

/// xargs's words: split at blanks, with quotes and backslashes; each one to `emit`.
fn split_xargs_words(text: &str, mut emit: impl FnMut(String)) {
    let mut cur = String::new();
    let mut has = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    has = true;
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                        has = true;
                    }
                }
                c if c.is_whitespace() => {
                    if has {
                        emit(std::mem::take(&mut cur));
                        has = false;
                    }
                }
                c => {
                    cur.push(c);
                    has = true;
                }
            },
        }
    }
    if has {
        emit(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_regex_translation_keeps_bre_meaning() {
        let re = regex::Regex::new(&bre_to_regex("a\\(b\\)*c+")).unwrap();
        assert!(re.is_match("abbc+"));
        assert!(!re.is_match("abbcc"));
        let re = regex::Regex::new(&bre_to_regex("^[0-9]\\{2\\}$")).unwrap();
        assert!(re.is_match("42"));
        assert!(!re.is_match("4"));
        let re = regex::Regex::new(&ere_to_regex("a|b+")).unwrap();
        assert!(re.is_match("bb"));
    }

    #[test]
    fn tr_sets_expand_ranges_classes_and_escapes() {
        assert_eq!(tr_set("a-d"), b"abcd");
        assert_eq!(tr_set("\\n\\t"), b"\n\t");
        assert_eq!(tr_set("[:digit:]"), b"0123456789");
        assert_eq!(tr_set("\\101"), b"A");
    }

    #[test]
    fn escapes_follow_busybox_octal_rules() {
        assert_eq!(unescape_echo(b"a\\0101b"), (b"aAb".to_vec(), false));
        assert_eq!(unescape_echo(b"x\\cy"), (b"x".to_vec(), true));
        assert_eq!(escape(b"377", 0, false), (vec![0xff], 3));
        assert_eq!(escape(b"000", 0, false), (vec![0], 3));
    }
}
