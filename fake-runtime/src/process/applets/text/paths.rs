//! `basename` and `dirname`.

use crate::process::ExitStatus;
use crate::process::applets::Env;
use crate::process::program::ProgramContext;

pub(super) async fn basename(ctx: ProgramContext) -> ExitStatus {
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

pub(super) async fn dirname(ctx: ProgramContext) -> ExitStatus {
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
