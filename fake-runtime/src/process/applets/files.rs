//! File applets: ls, touch, mkdir, rm, rmdir, cp, mv, ln, chmod, readlink, realpath,
//! stat, dd, mktemp, pwd.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::{Env, Src, cant_open, parse_size};
use crate::process::program::{ProgramContext, Programs};
use crate::process::users::{parse_group, parse_passwd};
use crate::process::vfs::{CHUNK, FileKind, FsError, Stat, WriteMode};
use crate::process::{ExitStatus, Output};

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("ls", ls);
    p.insert_builtin("touch", touch);
    p.insert_builtin("mkdir", mkdir);
    p.insert_builtin("rm", rm);
    p.insert_builtin("rmdir", rmdir);
    p.insert_builtin("cp", cp);
    p.insert_builtin("mv", mv);
    p.insert_builtin("ln", ln);
    p.insert_builtin("chmod", chmod);
    p.insert_builtin("readlink", readlink);
    p.insert_builtin("realpath", realpath);
    p.insert_builtin("stat", stat);
    p.insert_builtin("dd", dd);
    p.insert_builtin("mktemp", mktemp);
    p.insert_builtin("pwd", pwd);
}

/// Splits `-abc` style flags from operands (operands after `--` are kept as is).
fn flags_and_operands(args: &[String]) -> (String, Vec<String>) {
    let mut flags = String::new();
    let mut ops = Vec::new();
    let mut done = false;
    for a in args {
        if !done && a == "--" {
            done = true;
        } else if !done && a.len() > 1 && a.starts_with('-') {
            flags += &a[1..];
        } else {
            ops.push(a.clone());
        }
    }
    (flags, ops)
}

/// Id-to-name tables from `/etc/passwd` and `/etc/group`.
type NameTable = Vec<(u32, String)>;

fn names(env: &Env) -> (NameTable, NameTable) {
    let read = |p: &str| {
        env.sys
            .vfs()
            .read_to_end(p, env.sys.access())
            .map(|d| String::from_utf8_lossy(&d).into_owned())
            .unwrap_or_default()
    };
    let users = parse_passwd(&read("/etc/passwd"))
        .into_iter()
        .map(|e| (e.uid, e.name))
        .collect();
    let groups = parse_group(&read("/etc/group"))
        .into_iter()
        .map(|e| (e.gid, e.name))
        .collect();
    (users, groups)
}

fn lookup(table: &[(u32, String)], id: u32) -> String {
    table
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| n.clone())
        .unwrap_or_else(|| id.to_string())
}

fn ls_time(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let c = super::info::civil(secs);
    format!(
        "{} {:2} {:02}:{:02}",
        super::info::MONTHS[c.month as usize - 1],
        c.day,
        c.hour,
        c.minute
    )
}

async fn ls(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (flags, mut ops) = flags_and_operands(&args);
    let long = flags.contains('l') || flags.contains('n');
    let numeric = flags.contains('n');
    let all = flags.contains('a');
    let almost = flags.contains('A');
    let dir_itself = flags.contains('d');
    let reverse = flags.contains('r');
    let classify = flags.contains('F');
    if ops.is_empty() {
        ops.push(".".into());
    }
    let (users, groups) = names(&env);
    let mut status = 0;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for op in &ops {
        let abs = env.abs(op);
        match env
            .sys
            .vfs()
            .stat(&abs, true, env.sys.access())
            .or_else(|_| env.sys.vfs().stat(&abs, false, env.sys.access()))
        {
            Ok(st) if st.kind == FileKind::Dir && !dir_itself => dirs.push(op.clone()),
            Ok(_) => files.push(op.clone()),
            Err(e) => {
                let _ = env.out.flush().await;
                env.error(format!("{op}: {e}")).await;
                status = 2;
            }
        }
    }
    files.sort();
    dirs.sort();
    if reverse {
        files.reverse();
        dirs.reverse();
    }
    let entry = |env: &Env, path: &str, name: &str| -> String {
        let abs = env.abs(path);
        let st = env.sys.vfs().stat(&abs, false, env.sys.access());
        let mut shown = name.to_owned();
        let Ok(st) = st else {
            return format!("{shown}\n");
        };
        if classify {
            match st.kind {
                FileKind::Dir => shown.push('/'),
                FileKind::Symlink => shown.push('@'),
                _ if st.mode & 0o111 != 0 => shown.push('*'),
                _ => {}
            }
        }
        if !long {
            return format!("{shown}\n");
        }
        let (user, group) = if numeric {
            (st.uid.to_string(), st.gid.to_string())
        } else {
            (lookup(&users, st.uid), lookup(&groups, st.gid))
        };
        let size = if st.kind == FileKind::CharDevice {
            format!("{:>4}, {:>4}", 1, 3)
        } else {
            st.size.to_string()
        };
        let mut line = format!(
            "{} {:>4} {:<8} {:<8} {:>9} {} {shown}",
            st.mode_string(),
            st.nlink,
            user,
            group,
            size,
            ls_time(st.mtime)
        );
        if st.kind == FileKind::Symlink
            && let Ok(t) = env.sys.vfs().read_link(&abs, env.sys.access())
        {
            line += &format!(" -> {t}");
        }
        line.push('\n');
        line
    };
    let mut text = String::new();
    for f in &files {
        text += &entry(&env, f, f);
    }
    let multiple = ops.len() > 1;
    for (k, d) in dirs.iter().enumerate() {
        if multiple {
            if k > 0 || !files.is_empty() {
                text.push('\n');
            }
            text += &format!("{d}:\n");
        }
        let abs = env.abs(d);
        let mut list = match env.sys.vfs().read_dir(&abs, env.sys.access()) {
            Ok(l) => l,
            Err(e) => {
                let _ = env.out.write(text.as_bytes()).await;
                text.clear();
                let _ = env.out.flush().await;
                env.error(format!("can't open '{d}': {e}")).await;
                status = 2;
                continue;
            }
        };
        if all {
            list.insert(0, "..".into());
            list.insert(0, ".".into());
        }
        if !all && !almost {
            list.retain(|n| !n.starts_with('.'));
        } else if almost && !all {
            list.retain(|n| n != "." && n != "..");
        }
        if reverse {
            list.reverse();
        }
        if long {
            text += "total 0\n";
        }
        for name in list {
            let path = format!("{}/{name}", d.trim_end_matches('/'));
            text += &entry(&env, &path, &name);
        }
        if text.len() > CHUNK {
            if env.out.write(text.as_bytes()).await.is_err() {
                return env.sigpipe().await;
            }
            text.clear();
        }
    }
    if env.out.write(text.as_bytes()).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(if status != 0 { 1 } else { 0 }).await
}

async fn touch(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (flags, ops) = flags_and_operands(&args);
    if ops.is_empty() {
        return env
            .usage("touch [-c] [-d DATE] [-t DATE] [-r FILE] FILE...")
            .await;
    }
    let create = !flags.contains('c');
    let mut status = 0;
    for f in ops {
        let abs = env.abs(&f);
        // utimensat(2) on an existing file, open(O_CREAT) (openat) on a missing one.
        let exists = env.sys.vfs().stat(&abs, true, env.sys.access()).is_ok();
        let call = if exists || !create {
            "utimensat"
        } else {
            "openat"
        };
        let touched = match env.sys.syscall(call).await {
            Ok(()) => env.sys.vfs().touch(&abs, create, env.sys.access()),
            Err(e) => Err(e),
        };
        if let Err(e) = touched {
            if e == FsError::NotFound && !create {
                continue;
            }
            env.error(format!("{f}: {e}")).await;
            status = 1;
        }
    }
    env.finish(status).await
}

async fn mkdir(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut parents = false;
    let mut mode = 0o777;
    let mut ops = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "-m" {
            i += 1;
            mode = args
                .get(i)
                .and_then(|m| u32::from_str_radix(m, 8).ok())
                .unwrap_or(0o777);
        } else if a.len() > 1 && a.starts_with('-') {
            if a.contains('p') {
                parents = true;
            }
        } else {
            ops.push(a.clone());
        }
        i += 1;
    }
    if ops.is_empty() {
        return env.usage("mkdir [-m MODE] [-p] DIRECTORY...").await;
    }
    let mut status = 0;
    for d in ops {
        let abs = env.abs(&d);
        let result = if parents {
            let mut cur = String::new();
            let mut r = Ok(());
            for comp in abs.split('/').filter(|c| !c.is_empty()) {
                cur.push('/');
                cur.push_str(comp);
                match env.sys.vfs().stat(&cur, true, env.sys.access()) {
                    Ok(st) if st.kind == FileKind::Dir => continue,
                    Ok(_) => {
                        r = Err(FsError::Exists);
                        break;
                    }
                    Err(_) => {}
                }
                let made = match env.sys.syscall("mkdir").await {
                    Ok(()) => env.sys.vfs().mkdir(&cur, mode, env.sys.access()),
                    Err(e) => Err(e),
                };
                if let Err(e) = made {
                    r = Err(e);
                    break;
                }
            }
            r
        } else {
            match env.sys.syscall("mkdir").await {
                Ok(()) => env.sys.vfs().mkdir(&abs, mode, env.sys.access()),
                Err(e) => Err(e),
            }
        };
        if let Err(e) = result {
            env.error(format!("can't create directory '{d}': {e}"))
                .await;
            status = 1;
        }
    }
    env.finish(status).await
}

/// Removes `path` and, when `recursive`, everything under it.
fn remove_tree<'a>(
    env: &'a Env,
    path: &'a str,
    recursive: bool,
) -> BoxFuture<'a, Result<(), (String, FsError)>> {
    Box::pin(async move {
        let abs = env.abs(path);
        let st = env
            .sys
            .vfs()
            .stat(&abs, false, env.sys.access())
            .map_err(|e| (path.to_owned(), e))?;
        if st.kind == FileKind::Dir {
            if !recursive {
                return Err((path.to_owned(), FsError::IsDir));
            }
            let names = env
                .sys
                .vfs()
                .read_dir(&abs, env.sys.access())
                .map_err(|e| (path.to_owned(), e))?;
            for n in names {
                let child = format!("{}/{n}", path.trim_end_matches('/'));
                remove_tree(env, &child, true).await?;
            }
            env.sys.checkpoint().await;
            env.sys
                .syscall("rmdir")
                .await
                .map_err(|e| (path.to_owned(), e))?;
            return env
                .sys
                .vfs()
                .remove(&abs, true, env.sys.access())
                .map_err(|e| (path.to_owned(), e));
        }
        env.sys
            .syscall("unlink")
            .await
            .map_err(|e| (path.to_owned(), e))?;
        env.sys
            .vfs()
            .remove(&abs, false, env.sys.access())
            .map_err(|e| (path.to_owned(), e))
    })
}

async fn rm(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (flags, ops) = flags_and_operands(&args);
    let force = flags.contains('f');
    let recursive = flags.contains('r') || flags.contains('R');
    if ops.is_empty() && !force {
        return env.usage("rm [-irf] FILE...").await;
    }
    let mut status = 0;
    for f in ops {
        match remove_tree(&env, &f, recursive).await {
            Ok(()) => {}
            Err((_, FsError::NotFound)) if force => {}
            Err((p, FsError::IsDir)) if p == f && !recursive => {
                env.error(format!("'{f}' is a directory")).await;
                status = 1;
            }
            Err((p, e)) => {
                env.error(format!("can't remove '{p}': {e}")).await;
                status = 1;
            }
        }
    }
    env.finish(status).await
}

async fn rmdir(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (_, ops) = flags_and_operands(&args);
    if ops.is_empty() {
        return env.usage("rmdir [-p] DIRECTORY...").await;
    }
    let mut status = 0;
    for d in ops {
        let removed = match env.sys.syscall("rmdir").await {
            Ok(()) => env.sys.vfs().remove(&env.abs(&d), true, env.sys.access()),
            Err(e) => Err(e),
        };
        if let Err(e) = removed {
            env.error(format!("'{d}': {e}")).await;
            status = 1;
        }
    }
    env.finish(status).await
}

async fn copy_file(env: &Env, from: &str, to: &str) -> Result<(), String> {
    let mut reader = env
        .sys
        .vfs()
        .open_read(&env.abs(from), env.sys.access())
        .map_err(|e| cant_open(from, &e))?;
    let sink = env
        .sys
        .vfs()
        .open_write(&env.abs(to), WriteMode::TRUNCATE, env.sys.access())
        .map_err(|e| format!("can't create '{to}': {e}"))?;
    while let Some(chunk) = reader
        .read_chunk()
        .map_err(|e| format!("read error: {e}"))?
    {
        env.sys.checkpoint().await;
        sink.write(&chunk)
            .map_err(|_| "write error: No space left on device".to_string())?;
    }
    if let Ok(st) = env.sys.vfs().stat(&env.abs(from), true, env.sys.access()) {
        let _ = env.sys.vfs().chmod(&env.abs(to), st.mode, env.sys.access());
    }
    Ok(())
}

fn copy_tree<'a>(
    env: &'a Env,
    from: &'a str,
    to: &'a str,
    recursive: bool,
) -> BoxFuture<'a, Result<(), String>> {
    Box::pin(async move {
        let st = env
            .sys
            .vfs()
            .stat(&env.abs(from), true, env.sys.access())
            .map_err(|e| format!("can't stat '{from}': {e}"))?;
        if st.kind == FileKind::Dir {
            if !recursive {
                return Err(format!("omitting directory '{from}'"));
            }
            let to_abs = env.abs(to);
            if env.sys.vfs().stat(&to_abs, true, env.sys.access()).is_err() {
                env.sys
                    .vfs()
                    .mkdir(&to_abs, st.mode, env.sys.access())
                    .map_err(|e| format!("can't create directory '{to}': {e}"))?;
            }
            let names = env
                .sys
                .vfs()
                .read_dir(&env.abs(from), env.sys.access())
                .map_err(|e| format!("can't open '{from}': {e}"))?;
            for n in names {
                let f = format!("{}/{n}", from.trim_end_matches('/'));
                let t = format!("{}/{n}", to.trim_end_matches('/'));
                copy_tree(env, &f, &t, true).await?;
            }
            return Ok(());
        }
        copy_file(env, from, to).await
    })
}

/// The destination for `cp`/`mv SRC DST`: inside DST when it is a directory.
fn target_path(env: &Env, src: &str, dst: &str, many: bool) -> String {
    let is_dir = env
        .sys
        .vfs()
        .stat(&env.abs(dst), true, env.sys.access())
        .is_ok_and(|s| s.kind == FileKind::Dir);
    if is_dir || many {
        let base = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
        format!("{}/{base}", dst.trim_end_matches('/'))
    } else {
        dst.to_owned()
    }
}

async fn cp(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (flags, ops) = flags_and_operands(&args);
    let recursive = flags.contains('r') || flags.contains('R') || flags.contains('a');
    if ops.len() < 2 {
        return env.usage("cp [-arPLHpfinlsTu] SOURCE DEST").await;
    }
    let (srcs, dst) = ops.split_at(ops.len() - 1);
    let mut status = 0;
    for s in srcs {
        let to = target_path(&env, s, &dst[0], srcs.len() > 1);
        if let Err(m) = copy_tree(&env, s, &to, recursive).await {
            env.error(m).await;
            status = 1;
        }
    }
    env.finish(status).await
}

async fn mv(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (_, ops) = flags_and_operands(&args);
    if ops.len() < 2 {
        return env.usage("mv [-finT] SOURCE DEST").await;
    }
    let (srcs, dst) = ops.split_at(ops.len() - 1);
    let mut status = 0;
    for s in srcs {
        let to = target_path(&env, s, &dst[0], srcs.len() > 1);
        let renamed = match env.sys.syscall("rename").await {
            Ok(()) => env
                .sys
                .vfs()
                .rename(&env.abs(s), &env.abs(&to), env.sys.access()),
            Err(e) => Err(e),
        };
        if let Err(e) = renamed {
            if e == FsError::NotFound {
                env.error(format!("can't stat '{s}': {e}")).await;
            } else {
                env.error(format!("can't rename '{s}': {e}")).await;
            }
            status = 1;
        }
    }
    env.finish(status).await
}

async fn ln(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (flags, ops) = flags_and_operands(&args);
    let symbolic = flags.contains('s');
    let force = flags.contains('f');
    if ops.is_empty() {
        return env.usage("ln [-sfnbtv] [-S SUF] TARGET... LINK|DIR").await;
    }
    let (target, link) = if ops.len() == 1 {
        let base = ops[0].rsplit('/').next().unwrap_or(&ops[0]).to_owned();
        (ops[0].clone(), base)
    } else {
        let link = target_path(&env, &ops[0], &ops[1], false);
        (ops[0].clone(), link)
    };
    let link_abs = env.abs(&link);
    if force {
        let _ = env.sys.vfs().remove(&link_abs, false, env.sys.access());
    }
    let r = if symbolic {
        match env.sys.syscall("symlink").await {
            Ok(()) => env.sys.vfs().symlink(&target, &link_abs, env.sys.access()),
            Err(e) => Err(e),
        }
    } else {
        // Hard links are simulated as copies.
        match copy_file(&env, &target, &link).await {
            Ok(()) => Ok(()),
            Err(m) => {
                env.error(m).await;
                return ExitStatus::Exited(1);
            }
        }
    };
    if let Err(e) = r {
        env.error(format!("{link}: {e}")).await;
        return ExitStatus::Exited(1);
    }
    env.finish(0).await
}

/// Applies a chmod mode (octal or symbolic like `u+x,go-w`) to `old`.
fn apply_mode(spec: &str, old: u32, is_dir: bool) -> Option<u32> {
    if spec.bytes().all(|b| (b'0'..=b'7').contains(&b)) && !spec.is_empty() {
        return u32::from_str_radix(spec, 8).ok();
    }
    let mut mode = old;
    for clause in spec.split(',') {
        let who_end = clause.find(['+', '-', '=']).unwrap_or(clause.len());
        let who = &clause[..who_end];
        let mut mask = 0u32;
        for c in who.chars() {
            mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return None,
            };
        }
        if who.is_empty() {
            mask = 0o7777 & !0o022 | 0o7000;
        }
        let mut rest = &clause[who_end..];
        while !rest.is_empty() {
            let op = rest.chars().next()?;
            rest = &rest[1..];
            let perm_end = rest.find(['+', '-', '=']).unwrap_or(rest.len());
            let perms = &rest[..perm_end];
            rest = &rest[perm_end..];
            let mut bits = 0u32;
            for c in perms.chars() {
                bits |= match c {
                    'r' => 0o444,
                    'w' => 0o222,
                    'x' => 0o111,
                    'X' if is_dir || old & 0o111 != 0 => 0o111,
                    'X' => 0,
                    's' => 0o6000,
                    't' => 0o1000,
                    _ => return None,
                };
            }
            let bits = bits & mask;
            match op {
                '+' => mode |= bits,
                '-' => mode &= !bits,
                '=' => {
                    let clear = if who.is_empty() { 0o7777 } else { mask };
                    mode = (mode & !clear) | bits;
                }
                _ => return None,
            }
        }
    }
    Some(mode & 0o7777)
}

async fn chmod(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut recursive = false;
    let mut ops = Vec::new();
    for a in &args {
        if a == "-R" {
            recursive = true;
        } else {
            ops.push(a.clone());
        }
    }
    let _ = recursive;
    if ops.len() < 2 {
        return env.usage("chmod [-Rcvf] MODE[,MODE]... FILE...").await;
    }
    let spec = ops[0].clone();
    let mut status = 0;
    for f in &ops[1..] {
        let abs = env.abs(f);
        let st = match env.sys.vfs().stat(&abs, true, env.sys.access()) {
            Ok(s) => s,
            Err(e) => {
                env.error(format!("{f}: {e}")).await;
                status = 1;
                continue;
            }
        };
        let Some(mode) = apply_mode(&spec, st.mode, st.kind == FileKind::Dir) else {
            env.error(format!("invalid mode '{spec}'")).await;
            return ExitStatus::Exited(1);
        };
        let changed = match env.sys.syscall("chmod").await {
            Ok(()) => env.sys.vfs().chmod(&abs, mode, env.sys.access()),
            Err(e) => Err(e),
        };
        if let Err(e) = changed {
            env.error(format!("{f}: {e}")).await;
            status = 1;
        }
    }
    env.finish(status).await
}

async fn readlink(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (flags, ops) = flags_and_operands(&args);
    let Some(path) = ops.first() else {
        return env.usage("readlink [-fnv] FILE").await;
    };
    let abs = env.abs(path);
    let r = if flags.contains('f') || flags.contains('e') {
        env.sys.vfs().canonicalize(&abs, env.sys.access())
    } else {
        env.sys.vfs().read_link(&abs, env.sys.access())
    };
    match r {
        Ok(t) => {
            let nl = if flags.contains('n') { "" } else { "\n" };
            if env.print(&format!("{t}{nl}")).await.is_err() {
                return env.sigpipe().await;
            }
            env.finish(0).await
        }
        Err(_) => ExitStatus::Exited(1),
    }
}

async fn realpath(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut status = 0;
    for p in args {
        match env.sys.vfs().canonicalize(&env.abs(&p), env.sys.access()) {
            Ok(t) => {
                if env.print(&format!("{t}\n")).await.is_err() {
                    return env.sigpipe().await;
                }
            }
            Err(e) => {
                env.error(format!("{p}: {e}")).await;
                status = 1;
            }
        }
    }
    env.finish(status).await
}

fn kind_name(st: &Stat) -> &'static str {
    match st.kind {
        FileKind::Dir => "directory",
        FileKind::File if st.size == 0 => "regular empty file",
        FileKind::File => "regular file",
        FileKind::Symlink => "symbolic link",
        FileKind::CharDevice => "character special file",
    }
}

async fn stat(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut format: Option<String> = None;
    let mut follow = false;
    let mut ops = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-c" => {
                i += 1;
                format = args.get(i).cloned();
            }
            "-L" => follow = true,
            a => ops.push(a.to_owned()),
        }
        i += 1;
    }
    if ops.is_empty() {
        return env.usage("stat [-ltf] [-c FMT] FILE...").await;
    }
    let (users, groups) = names(&env);
    let mut status = 0;
    for f in ops {
        let st = match env.sys.vfs().stat(&env.abs(&f), follow, env.sys.access()) {
            Ok(s) => s,
            Err(e) => {
                env.error(format!("can't stat '{f}': {e}")).await;
                status = 1;
                continue;
            }
        };
        let text = match &format {
            Some(fmt) => {
                let mut out = String::new();
                let mut chars = fmt.chars();
                while let Some(c) = chars.next() {
                    if c != '%' {
                        out.push(c);
                        continue;
                    }
                    match chars.next() {
                        Some('s') => out += &st.size.to_string(),
                        Some('n') => out += &f,
                        Some('a') => out += &format!("{:o}", st.mode & 0o7777),
                        Some('A') => out += &st.mode_string(),
                        Some('u') => out += &st.uid.to_string(),
                        Some('g') => out += &st.gid.to_string(),
                        Some('U') => out += &lookup(&users, st.uid),
                        Some('G') => out += &lookup(&groups, st.gid),
                        Some('F') => out += kind_name(&st),
                        Some('h') => out += &st.nlink.to_string(),
                        Some('%') => out.push('%'),
                        Some(o) => {
                            out.push('%');
                            out.push(o);
                        }
                        None => out.push('%'),
                    }
                }
                out.push('\n');
                out
            }
            None => format!(
                "  File: {f}\n  Size: {:<10}\tBlocks: {:<10} IO Block: 4096   {}\nAccess: ({:04o}/{})  Uid: ({:5}/{:>8})   Gid: ({:5}/{:>8})\n",
                st.size,
                st.size.div_ceil(512),
                kind_name(&st),
                st.mode & 0o7777,
                st.mode_string(),
                st.uid,
                lookup(&users, st.uid),
                st.gid,
                lookup(&groups, st.gid)
            ),
        };
        if env.print(&text).await.is_err() {
            return env.sigpipe().await;
        }
    }
    env.finish(status).await
}

/// busybox's `make_human_readable_str(val, 1, 0)`.
pub(crate) fn human(mut val: u64) -> String {
    if val == 0 {
        return "0".into();
    }
    const UNITS: &[char] = &['\0', 'K', 'M', 'G', 'T', 'P', 'E'];
    let mut u = 0;
    let mut frac = 0u64;
    let mut scaled = false;
    while val >= 1024 && u + 1 < UNITS.len() {
        scaled = true;
        u += 1;
        frac = ((val % 1024) * 10 + 512) / 1024;
        val /= 1024;
    }
    if frac >= 10 {
        val += 1;
        frac = 0;
    }
    if scaled {
        format!("{val}.{frac}{}", UNITS[u])
    } else {
        val.to_string()
    }
}

async fn dd(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut input: Option<String> = None;
    let mut output: Option<String> = None;
    let mut ibs = 512u64;
    let mut obs = 512u64;
    let mut count: Option<u64> = None;
    let mut skip = 0u64;
    let mut seek = 0u64;
    let mut notrunc = false;
    let mut quiet = false;
    let mut noxfer = false;
    for a in &args {
        let Some((k, v)) = a.split_once('=') else {
            env.error(format!("invalid argument '{a}'")).await;
            return ExitStatus::Exited(1);
        };
        let num = |v: &str| parse_size(v);
        let bad = || format!("invalid number '{v}'");
        match k {
            "if" => input = Some(v.to_owned()),
            "of" => output = Some(v.to_owned()),
            "bs" | "ibs" | "obs" | "count" | "skip" | "seek" => {
                let Some(n) = num(v) else {
                    env.error(bad()).await;
                    return ExitStatus::Exited(1);
                };
                match k {
                    "bs" => {
                        ibs = n;
                        obs = n;
                    }
                    "ibs" => ibs = n,
                    "obs" => obs = n,
                    "count" => count = Some(n),
                    "skip" => skip = n,
                    _ => seek = n,
                }
            }
            "conv" => {
                for c in v.split(',') {
                    if c == "notrunc" {
                        notrunc = true;
                    }
                }
            }
            "status" => match v {
                "none" => quiet = true,
                "noxfer" => noxfer = true,
                _ => {}
            },
            "iflag" | "oflag" => {}
            _ => {
                env.error(format!("invalid argument '{a}'")).await;
                return ExitStatus::Exited(1);
            }
        }
    }
    if ibs == 0 || obs == 0 {
        env.error("invalid number '0'").await;
        return ExitStatus::Exited(1);
    }
    // The block buffer: this is what runs a memory-limited container out of memory.
    let _charge = env.sys.allocate(ibs.max(obs)).await;
    let mut src = match &input {
        None => Src::Stdin,
        Some(p) => match env.open(p) {
            Ok(s) => s,
            Err(e) => {
                env.error(cant_open(p, &e)).await;
                return ExitStatus::Exited(1);
            }
        },
    };
    let out: Output = match &output {
        None => env.out.output().clone(),
        Some(p) => {
            let mode = if notrunc || seek > 0 {
                WriteMode::KEEP
            } else {
                WriteMode::TRUNCATE
            };
            let path = env.abs(p);
            match env.sys.vfs().open_write(&path, mode, env.sys.access()) {
                Ok(sink) => {
                    if sink.discards() {
                        Output::null()
                    } else {
                        Output::from_sink(sink)
                    }
                }
                Err(e) => {
                    env.error(format!("can't open '{p}': {e}")).await;
                    return ExitStatus::Exited(1);
                }
            }
        }
    };
    let start = tokio::time::Instant::now();
    // Skip input blocks.
    if skip > 0 {
        let mut to_skip = skip.saturating_mul(ibs);
        if let Src::File(f) = &mut src {
            to_skip -= f.skip(to_skip).unwrap_or(0);
        }
        while to_skip > 0 {
            let Some(chunk) = env.read(&mut src).await else {
                break;
            };
            if (chunk.len() as u64) > to_skip {
                env.stdin.unread(chunk.slice(to_skip as usize..));
                to_skip = 0;
            } else {
                to_skip -= chunk.len() as u64;
            }
        }
    }
    let is_file = matches!(src, Src::File(_));
    let (mut full_in, mut part_in, mut full_out, mut part_out, mut total) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut leftover: Option<Bytes> = None;
    // Output blocks not yet written when obs differs from ibs. Records and blocks are
    // kept as lists of chunks: a 200M block of /dev/zero costs nothing real.
    let mut pending_out: VecDeque<Bytes> = VecDeque::new();
    let mut pending_len = 0u64;
    let mut broken = false;
    'blocks: loop {
        if count.is_some_and(|c| full_in + part_in >= c) {
            break;
        }
        // One input record: up to ibs bytes (a file fills it; a pipe gives what it has).
        let mut record: Vec<Bytes> = Vec::new();
        let mut rlen = 0u64;
        loop {
            let chunk = match leftover.take() {
                Some(c) => Some(c),
                None => env.read(&mut src).await,
            };
            let Some(mut chunk) = chunk else {
                break;
            };
            let want = ibs - rlen;
            if chunk.len() as u64 > want {
                leftover = Some(chunk.split_off(want as usize));
            }
            rlen += chunk.len() as u64;
            record.push(chunk);
            if rlen >= ibs || !is_file {
                break;
            }
        }
        if rlen == 0 {
            break;
        }
        if rlen == ibs {
            full_in += 1;
        } else {
            part_in += 1;
        }
        total += rlen;
        if ibs == obs {
            for chunk in record {
                if out.write(chunk).await.is_err() {
                    broken = true;
                    break 'blocks;
                }
            }
            if rlen == obs {
                full_out += 1;
            } else {
                part_out += 1;
            }
        } else {
            pending_len += rlen;
            pending_out.extend(record);
            while pending_len >= obs {
                let mut left = obs;
                while left > 0 {
                    let Some(mut chunk) = pending_out.pop_front() else {
                        break;
                    };
                    if chunk.len() as u64 > left {
                        pending_out.push_front(chunk.split_off(left as usize));
                    }
                    left -= chunk.len() as u64;
                    if out.write(chunk).await.is_err() {
                        broken = true;
                        break 'blocks;
                    }
                }
                pending_len -= obs;
                full_out += 1;
            }
        }
    }
    if !broken && pending_len > 0 {
        for chunk in pending_out {
            if out.write(chunk).await.is_err() {
                broken = true;
                break;
            }
        }
        if !broken {
            part_out += 1;
        }
    }
    let to_pipe = out.is_pipe();
    drop(out);
    if broken && !to_pipe {
        // A full filesystem (measured on busybox 1.35): the error, then the records
        // (the failed one not counted), no transfer line, exit 1.
        let target = output.as_deref().unwrap_or("standard output");
        env.error(format!("error writing '{target}': No space left on device"))
            .await;
        let text = format!("{full_in}+{part_in} records in\n{full_out}+{part_out} records out\n");
        let _ = env.err.write(Bytes::from(text)).await;
        return ExitStatus::Exited(1);
    }
    if broken {
        return env.sigpipe().await;
    }
    if !quiet {
        let mut text =
            format!("{full_in}+{part_in} records in\n{full_out}+{part_out} records out\n");
        if !noxfer {
            let secs = start.elapsed().as_secs_f64().max(1e-6);
            let rate = (total as f64 / secs) as u64;
            text += &format!(
                "{total} bytes ({}B) copied, {secs:.6} seconds, {}B/s\n",
                human(total),
                human(rate)
            );
        }
        let _ = env.err.write(Bytes::from(text)).await;
    }
    env.finish(0).await
}

async fn mktemp(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let (flags, ops) = flags_and_operands(&args);
    let dir = flags.contains('d');
    let template = ops
        .first()
        .cloned()
        .unwrap_or_else(|| "/tmp/tmp.XXXXXX".into());
    let template = if template.contains('/') || ops.is_empty() {
        template
    } else {
        format!("/tmp/{template}")
    };
    let xs = template.chars().rev().take_while(|&c| c == 'X').count();
    if xs < 3 {
        env.error(format!("invalid template '{template}'")).await;
        return ExitStatus::Exited(1);
    }
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for _ in 0..100 {
        let suffix: String = (0..xs)
            .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
            .collect();
        let path = format!("{}{suffix}", &template[..template.len() - xs]);
        let abs = env.abs(&path);
        let r = if dir {
            env.sys.vfs().mkdir(&abs, 0o700, env.sys.access())
        } else {
            let mode = WriteMode {
                exclusive: true,
                ..WriteMode::TRUNCATE
            };
            env.sys
                .vfs()
                .open_write(&abs, mode, env.sys.access())
                .map(|_| ())
        };
        match r {
            Ok(()) => {
                if env.print(&format!("{path}\n")).await.is_err() {
                    return env.sigpipe().await;
                }
                return env.finish(0).await;
            }
            Err(FsError::Exists) => continue,
            Err(e) => {
                env.error(format!("{}: {e}", &path)).await;
                return ExitStatus::Exited(1);
            }
        }
    }
    ExitStatus::Exited(1)
}

async fn pwd(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let cwd = env.cwd.clone();
    if env.print(&format!("{cwd}\n")).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chmod_modes_apply_octal_and_symbolic_clauses() {
        assert_eq!(apply_mode("755", 0o644, false), Some(0o755));
        assert_eq!(apply_mode("u+x", 0o644, false), Some(0o744));
        assert_eq!(apply_mode("a-w", 0o666, false), Some(0o444));
        assert_eq!(apply_mode("go=r", 0o777, false), Some(0o744));
        assert_eq!(apply_mode("+x", 0o644, false), Some(0o755));
        assert_eq!(apply_mode("q+x", 0o644, false), None);
    }

    #[test]
    fn human_sizes_match_busybox() {
        assert_eq!(human(0), "0");
        assert_eq!(human(512), "512");
        assert_eq!(human(10 * 1024 * 1024), "10.0M");
        assert_eq!(human(1536), "1.5K");
    }
}
