//! `cri-fake`: serve the fake CRI runtime on a socket, for crictl, kubelet and tests in
//! any language.
//!
//! ```text
//! cri-fake --listen unix:///tmp/cri-fake.sock
//! cri-fake --listen tcp://127.0.0.1:10010
//! cri-fake --config fake.toml --journal calls.jsonl
//! ```
//!
//! `--config` reads a TOML file of settings, images, exec scripts, container scripts
//! and fault rules (see the `cri_fake::config` docs). At exit (SIGTERM or Ctrl-C) the
//! binary writes the call journal to the `--journal` file, as JSON lines, and checks
//! the expectations of the configuration: when one is unmet it prints the report on
//! stderr and exits with status 1.
//!
//! Restarts, for testing clients' reconnect and recovery paths: SIGHUP restarts the
//! fake keeping its state (every connection drops), SIGUSR1 restarts it losing its
//! state (every sandbox and container forgotten, images back to the start).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cri_fake::config::Config;
use cri_fake::{FakeRuntime, Listen, Profile, PullPolicy, RestartMode};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing_subscriber::EnvFilter;

fn parse_profile(name: &str) -> Result<Profile, String> {
    Profile::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
        format!("unknown profile {name:?} (use {})", names.join(" or "))
    })
}

/// The binary's pod network: loopback addresses, which the machine reaches (what a
/// CNI bridge gives a node), where the library keeps containerd's sample `10.88.0.0/16`.
const BINARY_POD_CIDR: &str = "127.88.0.0/16";

/// A fake Kubernetes CRI runtime that behaves like containerd's CRI plugin.
#[derive(Debug, Parser)]
#[command(name = "cri-fake", version, about)]
struct Args {
    /// Where to serve: unix:///path/to.sock, an absolute socket path, or
    /// tcp://127.0.0.1:PORT. Default: a socket in a new private temporary directory.
    #[arg(long, value_name = "ENDPOINT")]
    listen: Option<String>,

    /// Allow a TCP address that is not loopback (the CRI has no authentication).
    #[arg(long)]
    allow_non_loopback: bool,

    /// Which containerd release to imitate where releases differ: containerd-2.3 (the
    /// default) or containerd-1.6 (overrides the config file).
    #[arg(long, value_name = "PROFILE", value_parser = parse_profile)]
    profile: Option<Profile>,

    /// The same as --profile containerd-1.6.
    #[arg(long, conflicts_with = "profile")]
    containerd_1_6: bool,

    /// PullImage fails for every reference, like containerd with no registry reachable.
    #[arg(long)]
    offline_pulls: bool,

    /// Where pods' host ports (port mappings, and ports that host-network pods listen
    /// on) become real sockets: an IP address, or `off` to keep them in memory
    /// (overrides the config file). Default 127.0.0.1.
    #[arg(long, value_name = "ADDRESS|off")]
    host_port_address: Option<cri_fake::config::HostPortAddress>,

    /// The network pod IPs come from (overrides the config file). Default
    /// 127.88.0.0/16: loopback addresses the machine reaches.
    #[arg(long, value_name = "CIDR")]
    pod_cidr: Option<String>,

    /// Bound on ExecSync's wait for backgrounded holders of its output, in seconds
    /// (0 = wait for ever, containerd's default; overrides the config file).
    #[arg(long, value_name = "SECONDS")]
    drain_exec_sync_io_timeout: Option<f64>,

    /// A TOML configuration: settings, images, exec and container scripts, faults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Write the call journal to FILE (JSON lines) when the fake stops.
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,

    /// Log filter (tracing's EnvFilter syntax); RUST_LOG wins when set.
    #[arg(long, default_value = "info")]
    log: String,
}

fn listen_address(args: &Args) -> Result<Listen, String> {
    let Some(endpoint) = &args.listen else {
        return Ok(Listen::TempUnixSocket);
    };
    let listen = Listen::parse(endpoint)?;
    if let Listen::Tcp(addr) = &listen {
        check_loopback(*addr, args.allow_non_loopback)?;
    }
    Ok(listen)
}

fn check_loopback(addr: SocketAddr, allowed: bool) -> Result<(), String> {
    if addr.ip().is_loopback() || allowed {
        return Ok(());
    }
    Err(format!(
        "refusing to serve the CRI on non-loopback address {addr}: anyone who can reach it controls \
         the fake; pass --allow-non-loopback to do it anyway"
    ))
}

/// What a signal asks for.
enum Request {
    /// SIGTERM, SIGINT: stop.
    Stop,
    /// SIGHUP: restart keeping the state; SIGUSR1: restart losing it.
    Restart(RestartMode),
}

/// The signals the binary handles, listened for from creation on (so a signal sent as
/// soon as the "serving" line is printed is not missed).
struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
    user1: Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
            user1: signal(SignalKind::user_defined1())?,
        })
    }

    async fn next(&mut self) -> Request {
        tokio::select! {
            _ = self.terminate.recv() => Request::Stop,
            _ = self.interrupt.recv() => Request::Stop,
            _ = self.hangup.recv() => Request::Restart(RestartMode::KeepState),
            _ = self.user1.recv() => Request::Restart(RestartMode::LoseState),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&args.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let listen = match listen_address(&args) {
        Ok(listen) => listen,
        Err(message) => {
            eprintln!("cri-fake: {message}");
            return ExitCode::from(2);
        }
    };
    let config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("cri-fake: invalid configuration {error}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    // A node-level fake: pods and their host ports are reachable from the machine.
    let defaults = FakeRuntime::builder()
        .listen(listen)
        .host_port_address(Some(std::net::Ipv4Addr::LOCALHOST.into()))
        .pod_cidr(BINARY_POD_CIDR);
    let mut builder = config.apply(defaults);
    if let Some(seconds) = args.drain_exec_sync_io_timeout {
        if !(seconds >= 0.0 && seconds.is_finite()) {
            eprintln!(
                "cri-fake: --drain-exec-sync-io-timeout must be a non-negative number of seconds"
            );
            return ExitCode::from(2);
        }
        builder = builder.drain_exec_sync_io_timeout(Duration::from_secs_f64(seconds));
    }
    if args.containerd_1_6 {
        builder = builder.profile(Profile::Containerd16);
    }
    if let Some(profile) = args.profile {
        builder = builder.profile(profile);
    }
    if args.offline_pulls {
        builder = builder.pull_policy(PullPolicy::Offline);
    }
    if let Some(cri_fake::config::HostPortAddress(address)) = args.host_port_address {
        builder = builder.host_port_address(address);
    }
    if let Some(cidr) = &args.pod_cidr {
        builder = builder.pod_cidr(cidr.clone());
    }
    let fake = match builder.start().await {
        Ok(fake) => fake,
        Err(error) => {
            eprintln!("cri-fake: {error}");
            return ExitCode::FAILURE;
        }
    };
    config.mount(&fake);
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("cri-fake: cannot listen for signals: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("cri-fake serving on {}", fake.endpoint());
    let mut fake = fake;
    while let Request::Restart(mode) = signals.next().await {
        tracing::info!(?mode, "restarting on a signal");
        if let Err(error) = fake.restart(mode).await {
            eprintln!("cri-fake: cannot restart: {error}");
            break;
        }
    }
    tracing::info!("shutting down");
    finish(fake, args.journal.as_deref()).await
}

/// Writes the journal, checks the expectations, stops the fake.
async fn finish(fake: FakeRuntime, journal: Option<&std::path::Path>) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    if let Some(path) = journal {
        let written =
            std::fs::File::create(path).and_then(|file| fake.journal().write_json_lines(file));
        if let Err(error) = written {
            eprintln!(
                "cri-fake: cannot write the journal to {}: {error}",
                path.display()
            );
            status = ExitCode::FAILURE;
        }
    }
    if let Some(report) = fake.verification_report() {
        eprint!("{report}");
        status = ExitCode::FAILURE;
    }
    // The report is printed already: stopping the fake must not panic with it.
    fake.skip_verification_on_drop();
    fake.shutdown().await;
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_tcp_is_refused_unless_allowed() {
        let public: SocketAddr = "0.0.0.0:10010".parse().unwrap();
        assert!(
            check_loopback(public, false)
                .unwrap_err()
                .contains("--allow-non-loopback")
        );
        assert_eq!(check_loopback(public, true), Ok(()));
        assert_eq!(
            check_loopback("127.0.0.1:1".parse().unwrap(), false),
            Ok(())
        );
        assert_eq!(check_loopback("[::1]:1".parse().unwrap(), false), Ok(()));
    }
}
