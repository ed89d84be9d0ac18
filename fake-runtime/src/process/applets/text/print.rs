//! `echo`, `printf`, `yes`, `seq`: text made from the arguments, and the backslash escapes they share with `tr`.

use bytes::Bytes;

use crate::process::ExitStatus;
use crate::process::applets::Env;
use crate::process::program::ProgramContext;
use crate::process::vfs::CHUNK;

/// Processes one backslash escape at `s[i]` (just after the backslash) the way
/// busybox's `bb_process_escape_sequence` does; returns the bytes and how many input
/// bytes were used. `octal_zero`: `\0NNN` form (echo -e, %b) instead of `\NNN`.
pub(super) fn escape(s: &[u8], i: usize, octal_zero: bool) -> (Vec<u8>, usize) {
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

pub(super) async fn echo(ctx: ProgramContext) -> ExitStatus {
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

pub(super) async fn printf(ctx: ProgramContext) -> ExitStatus {
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

pub(super) async fn yes(ctx: ProgramContext) -> ExitStatus {
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

pub(super) async fn seq(ctx: ProgramContext) -> ExitStatus {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_busybox_octal_rules() {
        assert_eq!(unescape_echo(b"a\\0101b"), (b"aAb".to_vec(), false));
        assert_eq!(unescape_echo(b"x\\cy"), (b"x".to_vec(), true));
        assert_eq!(escape(b"377", 0, false), (vec![0xff], 3));
        assert_eq!(escape(b"000", 0, false), (vec![0], 3));
    }
}
