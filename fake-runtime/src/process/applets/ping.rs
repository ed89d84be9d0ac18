//! `ping`: ICMP echo in the container's network namespace, as busybox 1.36's ping
//! words it. Loopback addresses and the namespace's own addresses (the pod IP, the
//! hostname's) answer at once; anything else never does (there is no real network).
//!
//! Like busybox, ping prints its `PING` line and then opens its socket: a raw socket
//! needs `CAP_NET_RAW`; without it ping falls back to an unprivileged ICMP socket,
//! which the kernel allows only to groups in `net.ipv4.ping_group_range` (read from
//! the container's `/proc/sys`; the kernel's default `1 0` allows none), and
//! otherwise fails with `ping: permission denied (are you root?)`, exit 1.

use std::time::Duration;

use super::Env;
use super::net::{is_local, resolve};
use crate::process::program::ProgramContext;
use crate::process::{ExitStatus, Signal};

const USAGE: &str = "ping [OPTIONS] HOST";

/// How long ping waits for the replies after its last packet (busybox's `MAXWAIT`),
/// unless `-W` says otherwise.
const MAXWAIT_SECS: f64 = 10.0;

#[derive(Debug)]
struct Options {
    count: Option<u64>,
    size: u64,
    ttl: u32,
    deadline: Option<f64>,
    timeout: f64,
    interval: f64,
    quiet: bool,
    host: String,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        count: None,
        size: 56,
        ttl: 64,
        deadline: None,
        timeout: MAXWAIT_SECS,
        interval: 1.0,
        quiet: false,
        host: String::new(),
    };
    let mut hosts = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
            hosts.push(a.clone());
            continue;
        };
        for (at, c) in flags.char_indices() {
            match c {
                'q' => o.quiet = true,
                'v' | 'n' | 'A' | '4' => {}
                'c' | 's' | 't' | 'w' | 'W' | 'i' | 'I' | 'p' => {
                    let rest = &flags[at + c.len_utf8()..];
                    let value = if rest.is_empty() {
                        let v = args
                            .get(i)
                            .cloned()
                            .ok_or_else(|| format!("option requires an argument -- '{c}'"))?;
                        i += 1;
                        v
                    } else {
                        rest.to_owned()
                    };
                    let number = |v: &str| -> Result<u64, String> {
                        v.parse::<u64>()
                            .map_err(|_| format!("invalid number '{v}'"))
                    };
                    let seconds = |v: &str| -> Result<f64, String> {
                        v.parse::<f64>()
                            .ok()
                            .filter(|s| s.is_finite() && *s >= 0.0)
                            .ok_or_else(|| format!("invalid number '{v}'"))
                    };
                    match c {
                        'c' => o.count = Some(number(&value)?),
                        's' => o.size = number(&value)?.min(65_507),
                        't' => o.ttl = u32::try_from(number(&value)?.min(255)).unwrap_or(64),
                        'w' => o.deadline = Some(seconds(&value)?),
                        'W' => o.timeout = seconds(&value)?,
                        'i' => o.interval = seconds(&value)?,
                        _ => {}
                    }
                    break;
                }
                other => return Err(format!("invalid option -- '{other}'")),
            }
        }
    }
    if hosts.len() != 1 {
        return Err(String::new());
    }
    o.host = hosts.remove(0);
    Ok(o)
}

/// The unprivileged ICMP socket's check: whether `gid` is in
/// `/proc/sys/net/ipv4/ping_group_range`.
fn unprivileged_icmp_allowed(env: &Env) -> bool {
    let Ok(data) = env
        .sys
        .vfs()
        .read_to_end("/proc/sys/net/ipv4/ping_group_range", env.sys.access())
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&data);
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(lo)), Some(Ok(hi))) = (fields.next(), fields.next()) else {
        return false;
    };
    let gid = u64::from(env.sys.identity().gid);
    lo <= gid && gid <= hi
}

/// `%u.%03u` of microseconds, as ping prints times in milliseconds.
fn ms(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

fn duration(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

pub(super) async fn ping(ctx: ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(msg) => {
            if !msg.is_empty() {
                env.error(msg).await;
            }
            return env.usage(USAGE).await;
        }
    };
    let Some(ip) = resolve(&env, &opts.host) else {
        env.error(format!("bad address '{}'", opts.host)).await;
        return ExitStatus::Exited(1);
    };
    if env
        .print(&format!(
            "PING {} ({ip}): {} data bytes\n",
            opts.host, opts.size
        ))
        .await
        .is_err()
    {
        return env.sigpipe().await;
    }
    // socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), then SOCK_DGRAM on EPERM.
    let raw = match env.sys.syscall("socket").await {
        Ok(()) if env.sys.capable("NET_RAW") => Ok(()),
        Ok(()) => Err(crate::process::vfs::FsError::NotPermitted),
        Err(e) => Err(e),
    };
    match raw {
        Ok(()) => {}
        Err(crate::process::vfs::FsError::NotPermitted) if unprivileged_icmp_allowed(&env) => {}
        Err(crate::process::vfs::FsError::NotPermitted) => {
            let _ = env.out.flush().await;
            env.error("permission denied (are you root?)").await;
            return ExitStatus::Exited(1);
        }
        Err(e) => {
            let _ = env.out.flush().await;
            env.error(format!("can't create raw socket: {e}")).await;
            return ExitStatus::Exited(1);
        }
    }
    env.signals.catch(Signal::SIGINT);
    let answers = is_local(&env, &ip);
    let started = tokio::time::Instant::now();
    let deadline = opts.deadline.map(|d| started + duration(d));
    let mut sent: u64 = 0;
    let mut times: Vec<u64> = Vec::new();
    loop {
        if opts.count.is_some_and(|c| sent >= c) {
            break;
        }
        let seq = sent;
        sent += 1;
        if answers {
            let us = 30 + (seq * 37) % 60;
            times.push(us);
            if !opts.quiet
                && env
                    .print(&format!(
                        "{} bytes from {ip}: seq={seq} ttl={} time={} ms\n",
                        opts.size + 8,
                        opts.ttl,
                        ms(us)
                    ))
                    .await
                    .is_err()
            {
                return env.sigpipe().await;
            }
            if env.out.flush().await.is_err() {
                return env.sigpipe().await;
            }
        }
        if opts.count.is_some_and(|c| sent >= c) && times.len() as u64 == sent {
            break;
        }
        // The next packet after the interval; after the last one, the replies' wait.
        let wait = if opts.count.is_some_and(|c| sent >= c) {
            duration(opts.timeout)
        } else {
            duration(opts.interval)
        };
        let mut until = tokio::time::Instant::now() + wait;
        if let Some(d) = deadline {
            until = until.min(d);
        }
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {}
            _ = env.signals.recv() => break,
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            break;
        }
        if opts.count.is_some_and(|c| sent >= c) {
            break;
        }
    }
    let received = times.len() as u64;
    let loss = ((sent - received) * 100).checked_div(sent).unwrap_or(0);
    let mut text = format!(
        "\n--- {} ping statistics ---\n{sent} packets transmitted, {received} packets received, {loss}% packet loss\n",
        opts.host
    );
    if let (Some(min), Some(max)) = (times.iter().min(), times.iter().max()) {
        let avg = times.iter().sum::<u64>() / received.max(1);
        text += &format!(
            "round-trip min/avg/max = {}/{}/{} ms\n",
            ms(*min),
            ms(avg),
            ms(*max)
        );
    }
    if env.print(&text).await.is_err() {
        return env.sigpipe().await;
    }
    let failed = received == 0 || (deadline.is_some() && opts.count.is_some_and(|c| received < c));
    env.finish(i32::from(failed)).await
}

#[cfg(test)]
mod tests {
    use crate::process::tests::{busybox_spec, run_in, sim_with};
    use crate::process::{ExitStatus, SecuritySpec, SimSpec};

    fn dropping(cap: &str) -> SimSpec {
        SimSpec {
            security: SecuritySpec {
                drop_capabilities: vec![cap.into()],
                ..Default::default()
            },
            ..busybox_spec()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn loopback_answers_count_pings_with_statistics() {
        let sim = sim_with(busybox_spec());
        let started = tokio::time::Instant::now();
        let r = run_in(&sim, &["ping", "-c", "2", "127.0.0.1"]).await;
        assert_eq!(r.status, ExitStatus::Exited(0));
        assert_eq!(r.err(), "");
        assert_eq!(
            r.out(),
            "PING 127.0.0.1 (127.0.0.1): 56 data bytes\n\
             64 bytes from 127.0.0.1: seq=0 ttl=64 time=0.030 ms\n\
             64 bytes from 127.0.0.1: seq=1 ttl=64 time=0.067 ms\n\
             \n--- 127.0.0.1 ping statistics ---\n\
             2 packets transmitted, 2 packets received, 0% packet loss\n\
             round-trip min/avg/max = 0.030/0.048/0.067 ms\n"
        );
        // One interval between the two packets, none after the last reply.
        assert_eq!(started.elapsed(), std::time::Duration::from_secs(1));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn without_net_raw_ping_prints_its_header_then_is_denied() {
        let sim = sim_with(dropping("NET_RAW"));
        let r = run_in(&sim, &["ping", "127.0.0.1"]).await;
        assert_eq!(r.status, ExitStatus::Exited(1));
        assert_eq!(r.out(), "PING 127.0.0.1 (127.0.0.1): 56 data bytes\n");
        assert_eq!(r.err(), "ping: permission denied (are you root?)\n");
        sim.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn without_net_raw_a_ping_group_range_sysctl_allows_unprivileged_icmp() {
        let spec = SimSpec {
            sysctls: vec![("net.ipv4.ping_group_range".into(), "0 2147483647".into())],
            ..dropping("NET_RAW")
        };
        let sim = sim_with(spec);
        let r = run_in(&sim, &["ping", "-c", "1", "-q", "localhost"]).await;
        assert_eq!((r.code(), r.err()), (0, String::new()));
        assert_eq!(
            r.out(),
            "PING localhost (127.0.0.1): 56 data bytes\n\
             \n--- localhost ping statistics ---\n\
             1 packets transmitted, 1 packets received, 0% packet loss\n\
             round-trip min/avg/max = 0.030/0.030/0.030 ms\n"
        );
        sim.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_outside_the_namespace_never_answers_until_the_deadline() {
        let sim = sim_with(busybox_spec());
        let started = tokio::time::Instant::now();
        let r = run_in(&sim, &["ping", "-w", "3", "10.9.9.9"]).await;
        assert_eq!(r.status, ExitStatus::Exited(1));
        assert_eq!(
            r.out(),
            "PING 10.9.9.9 (10.9.9.9): 56 data bytes\n\
             \n--- 10.9.9.9 ping statistics ---\n\
             3 packets transmitted, 0 packets received, 100% packet loss\n"
        );
        assert_eq!(started.elapsed(), std::time::Duration::from_secs(3));
        let r = run_in(&sim, &["ping", "-c", "1", "-W", "2", "10.9.9.9"]).await;
        assert_eq!(r.code(), 1);
        assert!(
            r.out()
                .contains("1 packets transmitted, 0 packets received, 100% packet loss\n")
        );
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_and_a_missing_host_are_errors() {
        let sim = sim_with(busybox_spec());
        let r = run_in(&sim, &["ping", "nowhere.invalid"]).await;
        assert_eq!(
            (r.code(), r.err()),
            (1, "ping: bad address 'nowhere.invalid'\n".into())
        );
        let r = run_in(&sim, &["ping"]).await;
        assert_eq!(r.code(), 1);
        assert!(
            r.err().ends_with("Usage: ping [OPTIONS] HOST\n"),
            "{}",
            r.err()
        );
        sim.shutdown().await;
    }

    #[tokio::test(start_paused = true)]
    async fn sigint_ends_an_endless_ping_with_its_statistics() {
        use crate::process::{Output, Signal, Stdio};
        let sim = sim_with(busybox_spec());
        let (stdout, out) = Output::pipe();
        let p = sim
            .spawn(
                &["ping".to_owned(), "127.0.0.1".to_owned()],
                Stdio {
                    stdin: Default::default(),
                    stdout,
                    stderr: Output::null(),
                },
            )
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        p.signal(Signal::SIGINT);
        assert_eq!(p.wait().await, ExitStatus::Exited(0));
        let text = String::from_utf8(crate::process::tests::drain(out).await).unwrap();
        assert!(
            text.ends_with("3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min/avg/max = 0.030/0.047/0.067 ms\n"),
            "{text}"
        );
        sim.shutdown().await;
    }
}
