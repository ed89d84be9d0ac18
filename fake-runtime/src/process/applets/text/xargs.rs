//! `xargs`: commands built from stdin words.

use crate::process::applets::{Env, Held, LINE_COST, Src};
use crate::process::program::ProgramContext;
use crate::process::{ExitStatus, Stdio};

pub(super) async fn xargs(ctx: ProgramContext) -> ExitStatus {
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
            .unwrap_or(crate::process::applets::procs::EXECVP_DEFAULT_PATH)
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
            setuid: resolved.setuid,
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
