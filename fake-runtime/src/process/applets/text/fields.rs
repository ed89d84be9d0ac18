//! `cut` and `tr`: fields and characters of each line.

use super::print::escape;
use crate::process::ExitStatus;
use crate::process::applets::{Env, Lines, Src, cant_open};
use crate::process::program::ProgramContext;

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

pub(super) async fn cut(ctx: ProgramContext) -> ExitStatus {
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

pub(super) async fn tr(ctx: ProgramContext) -> ExitStatus {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tr_sets_expand_ranges_classes_and_escapes() {
        assert_eq!(tr_set("a-d"), b"abcd");
        assert_eq!(tr_set("\\n\\t"), b"\n\t");
        assert_eq!(tr_set("[:digit:]"), b"0123456789");
        assert_eq!(tr_set("\\101"), b"A");
    }
}
