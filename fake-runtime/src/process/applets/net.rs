//! Network applets over the container's simulated network namespace
//! ([`crate::process::net`]): `nc` listens and connects, `wget` fetches from servers
//! in the namespace (such as `httpd`), and both fail as busybox 1.35 does when a name
//! does not resolve or nothing listens. Addresses outside the namespace (anything but
//! loopback and the container's own name) are unreachable: there is no real network.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::Env;
use crate::process::net::NetError;
use crate::process::pipe::{Input, Output};
use crate::process::program::{ProgramContext, Programs};
use crate::process::vfs::WriteMode;
use crate::process::{ExitStatus, Stdio};

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("wget", wget);
    p.insert_builtin("nc", nc);
    p.insert_builtin("httpd", super::httpd::httpd);
}

/// Whether `ip` is an address of the container's own namespace: loopback, the pod's
/// address, or the address its hostname resolves to.
pub(super) fn is_local(env: &Env, ip: &str) -> bool {
    match ip.parse::<std::net::IpAddr>() {
        Ok(addr) if env.sys.network().is_local(addr) => true,
        _ => resolve(env, &env.sys.hostname()).is_some_and(|own| own == ip),
    }
}

/// busybox's `bb_lookup_port`: a number up to 65535 (or a name from
/// `/etc/services`, which the image does not have).
pub(super) fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok()
}

/// Connects to `ip:port` in the container's namespace.
async fn connect(env: &Env, ip: &str, port: u16) -> Result<DuplexStream, NetError> {
    if !is_local(env, ip) {
        return Err(NetError::ConnectionRefused);
    }
    env.sys.network().connect(port).await
}

/// Resolves a host name through `/etc/hosts` (there is no DNS); IP literals pass.
pub(super) fn resolve(env: &Env, host: &str) -> Option<String> {
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
    let mut output = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-q" => quiet = true,
            "-O" => {
                output = args.get(i + 1).cloned();
                i += 1;
            }
            a if a.starts_with("-O") => output = Some(a[2..].to_owned()),
            "-o" | "-T" | "-U" | "--header" | "-P" => i += 1,
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
    let Some(ip) = resolve(&env, &host) else {
        env.error(format!("bad address '{host}'")).await;
        return ExitStatus::Exited(1);
    };
    if !quiet {
        let _ = env
            .err
            .write(format!("Connecting to {host}:{port} ({ip}:{port})\n").into())
            .await;
    }
    let conn = match parse_port(&port) {
        Some(p) => connect(&env, &ip, p).await,
        None => Err(NetError::ConnectionRefused),
    };
    let conn = match conn {
        Ok(conn) => conn,
        Err(e) => {
            env.error(format!("can't connect to remote host ({ip}): {e}"))
                .await;
            return ExitStatus::Exited(1);
        }
    };
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    fetch(&mut env, conn, &host, path, output, quiet).await
}

/// The HTTP exchange of `wget`: GET `path`, then the body to `output` (`-` is stdout;
/// `None` is the URL's file name, `index.html` for a directory).
async fn fetch(
    env: &mut Env,
    mut conn: DuplexStream,
    host: &str,
    path: &str,
    output: Option<String>,
    quiet: bool,
) -> ExitStatus {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Wget\r\nConnection: close\r\n\r\n"
    );
    let mut response = Vec::new();
    if conn.write_all(request.as_bytes()).await.is_err()
        || conn.read_to_end(&mut response).await.is_err()
    {
        env.error("error getting response: Connection reset by peer")
            .await;
        return ExitStatus::Exited(1);
    }
    let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        env.error("error getting response").await;
        return ExitStatus::Exited(1);
    };
    let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
    let body = Bytes::from(response).slice(head_end + 4..);
    let status_line = head.lines().next().unwrap_or("");
    let code = status_line.split_whitespace().nth(1).unwrap_or("");
    if code != "200" {
        env.error(format!("server returned error: {status_line}"))
            .await;
        return ExitStatus::Exited(1);
    }
    let name = output.unwrap_or_else(|| {
        let file = path
            .split('?')
            .next()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("");
        if file.is_empty() {
            "index.html".into()
        } else {
            file.to_owned()
        }
    });
    let to_stdout = name == "-";
    let say = |text: String| {
        let err = env.err.clone();
        async move {
            if !quiet {
                let _ = err.write(Bytes::from(text)).await;
            }
        }
    };
    if to_stdout {
        say("writing to stdout\n".into()).await;
        if env.out.write_bytes(body.clone()).await.is_err() {
            return env.sigpipe().await;
        }
        if env.out.flush().await.is_err() {
            return env.sigpipe().await;
        }
    } else {
        // busybox opens the file with O_EXCL unless -O names it.
        say(format!("saving to '{name}'\n")).await;
        let file = env
            .sys
            .vfs()
            .open_write(&env.abs(&name), WriteMode::TRUNCATE, env.sys.access())
            .map(Output::from_sink);
        let file = match file {
            Ok(file) => file,
            Err(e) => {
                env.error(super::cant_open(&name, &e)).await;
                return ExitStatus::Exited(1);
            }
        };
        if file.write(body.clone()).await.is_err() {
            return env.no_space().await;
        }
    }
    let label = if to_stdout { "-" } else { name.as_str() };
    // Measured: `index.html           100% |***...***|    11  0:00:00 ETA`.
    say(format!(
        "{label:<20.20} 100% |{}| {:>5} {:>8} ETA\n",
        "*".repeat(32),
        progress_size(body.len() as u64),
        "0:00:00"
    ))
    .await;
    say(if to_stdout {
        "written to stdout\n".to_owned()
    } else {
        format!("'{name}' saved\n")
    })
    .await;
    ExitStatus::Exited(0)
}

/// The size column of busybox's progress bar: bytes up to 99999, then k, M, G.
fn progress_size(bytes: u64) -> String {
    let mut value = bytes;
    for unit in ["", "k", "M", "G", "T"] {
        if value < 100_000 {
            return format!("{value}{unit}");
        }
        value /= 1024;
    }
    format!("{value}P")
}

/// `nc`, busybox 1.35's small version (`nc [-iN] [-wN] [-l] [-p PORT] [-f FILE|IPADDR
/// PORT] [-e PROG]`): copies stdin to the connection and the connection to stdout.
/// stdin's end-of-file closes the sending half only; the peer closing ends `nc` with
/// status 0. `-l` accepts one connection (`-ll` with `-e` serves every connection);
/// `-e PROG ARGS...` runs PROG with the connection as its stdin and stdout.
async fn nc(ctx: ProgramContext) -> ExitStatus {
    const USAGE: &str = "nc [-iN] [-wN] [-l] [-p PORT] [-f FILE|IPADDR PORT] [-e PROG]\n\nOpen a pipe to IP:PORT or FILE\n\n\t-l\tListen mode, for inbound connects\n\t\t(use -ll with -e for persistent server)\n\t-p PORT\tLocal port\n\t-w SEC\tConnect timeout\n\t-i SEC\tDelay interval for lines sent\n\t-f FILE\tUse file (ala /dev/ttyS0) instead of network\n\t-e PROG\tRun PROG after connect";
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let mut listen = 0u32;
    let mut local_port: Option<String> = None;
    let mut exec: Option<Vec<String>> = None;
    let mut operands = Vec::new();
    let mut i = 0;
    // getopt("lp:w:i:f:e:"): options may follow operands; -e takes the rest.
    'args: while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            operands.extend(args[i + 1..].iter().cloned());
            break;
        }
        if !arg.starts_with('-') || arg == "-" {
            operands.push(arg.clone());
            i += 1;
            continue;
        }
        let flags: Vec<char> = arg[1..].chars().collect();
        let mut k = 0;
        while k < flags.len() {
            let flag = flags[k];
            match flag {
                'l' => listen += 1,
                'p' | 'w' | 'i' | 'f' | 'e' => {
                    let inline: String = flags[k + 1..].iter().collect();
                    let value = if !inline.is_empty() {
                        inline
                    } else {
                        i += 1;
                        match args.get(i) {
                            Some(v) => v.clone(),
                            None => {
                                env.error(format!("option requires an argument -- '{flag}'"))
                                    .await;
                                return env.usage(USAGE).await;
                            }
                        }
                    };
                    match flag {
                        'p' => local_port = Some(value),
                        'w' | 'i' => {
                            if value.parse::<u32>().is_err() {
                                env.error(format!("invalid number '{value}'")).await;
                                return ExitStatus::Exited(1);
                            }
                        }
                        // A serial line instead of the network: not simulated.
                        'f' => return env.usage(USAGE).await,
                        _ => {
                            let mut prog = vec![value];
                            prog.extend(args[i + 1..].iter().cloned());
                            exec = Some(prog);
                            break 'args;
                        }
                    }
                    break;
                }
                other => {
                    env.error(format!("invalid option -- '{other}'")).await;
                    return env.usage(USAGE).await;
                }
            }
            k += 1;
        }
        i += 1;
    }
    let bad_count = if listen > 0 {
        operands.len() > 1
    } else {
        operands.is_empty() || operands.len() > 2
    };
    if bad_count {
        return env.usage(USAGE).await;
    }
    let port_of = |s: &str| parse_port(s).ok_or_else(|| format!("bad port '{s}'"));
    if listen > 0 {
        let port = match local_port.as_deref().map(port_of).transpose() {
            Ok(p) => p.unwrap_or(0),
            Err(msg) => {
                env.error(msg).await;
                return ExitStatus::Exited(1);
            }
        };
        let mut listener = match env.sys.network().listen(port) {
            Ok(l) => l,
            Err(e) => {
                env.error(format!("bind: {e}")).await;
                return ExitStatus::Exited(1);
            }
        };
        let Some(prog) = exec.clone().filter(|_| listen > 1) else {
            let Some(conn) = listener.accept().await else {
                env.error("accept: Invalid argument").await;
                return ExitStatus::Exited(1);
            };
            drop(listener);
            return match &exec {
                Some(prog) => run_on_connection(&mut env, prog, conn).await,
                None => relay(&mut env, conn).await,
            };
        };
        // A persistent server: PROG for every connection, until killed.
        let mut sessions = FuturesUnordered::new();
        loop {
            tokio::select! {
                conn = listener.accept() => {
                    let Some(conn) = conn else { return ExitStatus::Exited(1) };
                    let (stdio, pumps) = connection_stdio(conn, env.err.clone());
                    match env.spawn(&prog, stdio) {
                        Ok(child) => sessions.push(async move {
                            let _ = tokio::join!(child.wait(), pumps);
                        }),
                        Err(_) => {
                            env.error(format!("can't execute '{}': No such file or directory", prog[0])).await;
                        }
                    }
                }
                Some(()) = sessions.next(), if !sessions.is_empty() => {}
            }
        }
    }
    let host = &operands[0];
    let Some(port) = operands.get(1) else {
        return env.usage(USAGE).await;
    };
    let port = match port_of(port) {
        Ok(p) => p,
        Err(msg) => {
            env.error(msg).await;
            return ExitStatus::Exited(1);
        }
    };
    let Some(ip) = resolve(&env, host) else {
        env.error(format!("bad address '{host}'")).await;
        return ExitStatus::Exited(1);
    };
    let conn = match connect(&env, &ip, port).await {
        Ok(conn) => conn,
        Err(e) => {
            env.error(format!("can't connect to remote host ({ip}): {e}"))
                .await;
            return ExitStatus::Exited(1);
        }
    };
    match &exec {
        Some(prog) => run_on_connection(&mut env, prog, conn).await,
        None => relay(&mut env, conn).await,
    }
}

/// The connection as a process's stdin and stdout: two pumps, ending with the
/// connection or the process.
fn connection_stdio(conn: DuplexStream, stderr: Output) -> (Stdio, impl Future<Output = ()>) {
    let (mut rd, mut wr) = tokio::io::split(conn);
    let (to_stdin, stdin_reader) = Output::pipe();
    let (stdout, mut from_stdout) = Output::pipe();
    let pumps = async move {
        let inbound = async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = rd.read(&mut buf).await {
                if n == 0
                    || to_stdin
                        .write(Bytes::copy_from_slice(&buf[..n]))
                        .await
                        .is_err()
                {
                    break;
                }
            }
        };
        let outbound = async move {
            while let Some(chunk) = from_stdout.next().await {
                if wr.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            let _ = wr.shutdown().await;
        };
        tokio::join!(inbound, outbound);
    };
    let stdio = Stdio {
        stdin: Input::from_reader(stdin_reader),
        stdout,
        stderr,
    };
    (stdio, pumps)
}

/// `-e PROG` (one connection): PROG runs with the connection as stdin and stdout;
/// its status is nc's (busybox execs it).
async fn run_on_connection(env: &mut Env, prog: &[String], conn: DuplexStream) -> ExitStatus {
    let (stdio, pumps) = connection_stdio(conn, env.err.clone());
    let child = match env.spawn(prog, stdio) {
        Ok(child) => child,
        Err(e) => {
            let _ = e;
            env.error(format!(
                "can't execute '{}': No such file or directory",
                prog[0]
            ))
            .await;
            return ExitStatus::Exited(1);
        }
    };
    let (status, ()) = tokio::join!(child.wait(), pumps);
    status
}

/// Copies stdin to the connection and the connection to stdout until the peer
/// closes (stdin's end only half-closes the connection).
async fn relay(env: &mut Env, conn: DuplexStream) -> ExitStatus {
    let (mut rd, mut wr) = tokio::io::split(conn);
    let stdin = &mut env.stdin;
    let out = env.out.output().clone();
    let to_peer = async move {
        while let Some(chunk) = stdin.read().await {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
        std::future::pending::<()>().await;
    };
    let from_peer = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return true,
                Ok(n) => {
                    if out.write(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                        return false;
                    }
                }
            }
        }
    };
    let delivered = tokio::select! {
        () = to_peer => true,
        delivered = from_peer => delivered,
    };
    if delivered {
        ExitStatus::Exited(0)
    } else {
        env.sigpipe().await
    }
}
