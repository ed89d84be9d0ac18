//! `sort` and `uniq`: ordered and deduplicated lines.

use crate::process::applets::{Env, Held, LINE_COST, Lines, cant_open};
use crate::process::program::ProgramContext;
use crate::process::vfs::WriteMode;
use crate::process::{ExitStatus, Output};

pub(super) async fn sort(ctx: ProgramContext) -> ExitStatus {
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

pub(super) async fn uniq(ctx: ProgramContext) -> ExitStatus {
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
            Ok(sink) => env.out = crate::process::applets::Out::new(Output::from_sink(sink)),
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
