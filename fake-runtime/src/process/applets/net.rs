//! Network applets, honest about a container without a network: `wget` and `nc`
//! fail the way they do when names do not resolve and nothing listens; `nc -l` waits
//! for a client that never comes.

use super::Env;
use crate::process::ExitStatus;
use crate::process::program::{ProgramContext, Programs};

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("wget", wget);
    p.insert_builtin("nc", nc);
}

/// Resolves a host name through `/etc/hosts` (there is no DNS); IP literals pass.
fn resolve(env: &Env, host: &str) -> Option<String> {
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    if is_ip {
        return Some(host.to_owned());
    }
    let hosts = env
        .sys
        .vfs()
        .read_to_end("/etc/hosts", env.sys.access())
        .unwrap_or_default();
    String::from_utf8_lossy(&hosts).lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let ip = fields.next()?;
        fields.any(|name| name == host).then(|| ip.to_owned())
    })
}

async fn wget(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut quiet = false;
    let mut url = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-q" => quiet = true,
            "-O" | "-o" | "-T" | "-U" | "--header" | "-P" => i += 1,
            a if a.starts_with('-') => {}
            a => url = Some(a.to_owned()),
        }
        i += 1;
    }
    let Some(url) = url else {
        return env.usage("wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR] [-U STR] [-T SEC] URL...").await;
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url.as_str()));
    let authority = rest.split('/').next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
            (h.to_owned(), p.to_owned())
        }
        _ => (
            authority.to_owned(),
            if scheme == "https" { "443" } else { "80" }.to_owned(),
        ),
    };
    match resolve(&env, &host) {
        None => {
            env.error(format!("bad address '{host}'")).await;
        }
        Some(ip) => {
            if !quiet {
                let _ = env
                    .err
                    .write(format!("Connecting to {host}:{port} ({ip}:{port})\n").into())
                    .await;
            }
            env.error(format!(
                "can't connect to remote host ({ip}): Connection refused"
            ))
            .await;
        }
    }
    ExitStatus::Exited(1)
}

async fn nc(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut listen = false;
    let mut operands = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-l" | "-lk" | "-kl" | "-lv" | "-vl" => listen = true,
            "-p" | "-w" | "-i" | "-s" => i += 1,
            a if a.starts_with('-') => {}
            a => operands.push(a.to_owned()),
        }
        i += 1;
    }
    if listen {
        // Nobody can connect to a simulated container: wait until killed.
        std::future::pending::<()>().await;
    }
    let (Some(host), Some(_port)) = (operands.first(), operands.get(1)) else {
        return env.usage("nc [OPTIONS] HOST PORT  - connect\nnc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen").await;
    };
    match resolve(&env, host) {
        None => env.error(format!("bad address '{host}'")).await,
        Some(ip) => {
            env.error(format!(
                "can't connect to remote host ({ip}): Connection refused"
            ))
            .await
        }
    }
    ExitStatus::Exited(1)
}
