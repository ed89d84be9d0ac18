//! `netstat`: busybox 1.36's socket listing over the container's network namespace.
//!
//! What the simulated processes listen on ([`Network::listening_ports`]) shows as TCP
//! listeners on `0.0.0.0`. A container on the node's network ([`Network::is_node`])
//! sees the real host's sockets too, read from the host's `/proc/net/{tcp,tcp6,udp,
//! udp6,raw,raw6,unix}` in busybox's order and format. A pod's own namespace has no
//! other sockets. Deliberate differences: `-r` (routes) and `-p` (programs) are not
//! simulated (`-p` prints `-` for every socket, as busybox does for sockets it cannot
//! attribute), and names (`-n` absent) come from the container's `/etc/hosts` only;
//! ports stay numeric (the image has no `/etc/services`).
//!
//! [`Network::listening_ports`]: crate::process::net::Network::listening_ports
//! [`Network::is_node`]: crate::process::net::Network::is_node

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Env;
use crate::process::ExitStatus;
use crate::process::host::HostFile;
use crate::process::program::Programs;

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("netstat", netstat);
}

const USAGE: &str = "netstat [-ral] [-tuwx] [-enWp]";

/// What `netstat` was asked for.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    listening: bool,
    connected: bool,
    numeric: bool,
    tcp: bool,
    udp: bool,
    raw: bool,
    unix: bool,
    wide: bool,
    programs: bool,
}

/// One line of `/proc/net/{tcp,udp,raw}[6]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InetLine {
    local: IpAddr,
    local_port: u16,
    remote: IpAddr,
    remote_port: u16,
    state: u32,
    txq: u64,
    rxq: u64,
}

/// `%32[0-9A-Fa-f]`: 8 hex digits are an IPv4 address, 32 an IPv6 one, each 32-bit
/// word in the kernel's (native) byte order.
fn parse_addr(hex: &str) -> Option<IpAddr> {
    let word = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(hex)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                chunk.copy_from_slice(&word(hex.get(i * 8..i * 8 + 8)?)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bytes)))
        }
        _ => None,
    }
}

fn parse_endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.split_once(':')?;
    Some((parse_addr(addr)?, u16::from_str_radix(port, 16).ok()?))
}

/// busybox's `scan_inet_proc_line`: `sl: local rem st tx:rx ...`.
fn parse_inet_line(line: &str) -> Option<InetLine> {
    let mut fields = line.split_whitespace();
    fields.next()?.strip_suffix(':')?;
    let (local, local_port) = parse_endpoint(fields.next()?)?;
    let (remote, remote_port) = parse_endpoint(fields.next()?)?;
    let state = u32::from_str_radix(fields.next()?, 16).ok()?;
    let (tx, rx) = fields.next()?.split_once(':')?;
    Some(InetLine {
        local,
        local_port,
        remote,
        remote_port,
        state,
        txq: u64::from_str_radix(tx, 16).ok()?,
        rxq: u64::from_str_radix(rx, 16).ok()?,
    })
}

const TCP_STATES: &[&str] = &[
    "",
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
];

/// Address-to-name lookups from the container's `/etc/hosts` (first name wins).
struct Names(Vec<(IpAddr, String)>);

impl Names {
    fn load(env: &Env) -> Names {
        let hosts = env
            .sys
            .vfs()
            .read_to_end("/etc/hosts", env.sys.access())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&hosts);
        Names(
            text.lines()
                .filter_map(|line| {
                    let line = line.split('#').next().unwrap_or("");
                    let mut fields = line.split_whitespace();
                    let ip = fields.next()?.parse().ok()?;
                    Some((ip, fields.next()?.to_owned()))
                })
                .collect(),
        )
    }

    fn endpoint(&self, addr: IpAddr, port: u16, numeric: bool) -> String {
        let host = (!numeric)
            .then(|| self.0.iter().find(|(ip, _)| *ip == addr))
            .flatten()
            .map_or_else(|| addr.to_string(), |(_, name)| name.clone());
        if port == 0 {
            format!("{host}:*")
        } else {
            format!("{host}:{port}")
        }
    }
}

struct Printer<'a> {
    flags: Flags,
    names: &'a Names,
    text: String,
}

impl Printer<'_> {
    fn width(&self) -> usize {
        if self.flags.wide { 51 } else { 23 }
    }

    /// busybox's `print_inet_line`.
    fn inet(&mut self, proto: &str, line: &InetLine, state: &str, connected: bool) {
        let wanted = if connected {
            self.flags.connected
        } else {
            self.flags.listening
        };
        if !wanted {
            return;
        }
        let w = self.width();
        let local = self
            .names
            .endpoint(line.local, line.local_port, self.flags.numeric);
        let remote = self
            .names
            .endpoint(line.remote, line.remote_port, self.flags.numeric);
        self.text += &format!(
            "{proto}   {:>6} {:>6} {local:<w$} {remote:<w$} {state:<12}",
            line.rxq, line.txq
        );
        if self.flags.programs {
            self.text.push('-');
        }
        self.text.push('\n');
    }

    fn host_inet(&mut self, file: HostFile, proto: &str) {
        for line in file.read().lines().skip(1) {
            let Some(parsed) = parse_inet_line(line) else {
                continue;
            };
            let state_index = usize::try_from(parsed.state).unwrap_or(usize::MAX);
            match proto {
                "tcp" => {
                    let state = TCP_STATES.get(state_index).copied().unwrap_or("");
                    self.inet(proto, &parsed, state, parsed.remote_port != 0);
                }
                "udp" => {
                    let state = match parsed.state {
                        1 => "ESTABLISHED",
                        7 => "",
                        _ => "UNKNOWN",
                    };
                    let connected = !parsed.remote.is_unspecified();
                    self.inet(proto, &parsed, state, connected);
                }
                _ => {
                    let connected = !parsed.remote.is_unspecified();
                    let state = parsed.state.to_string();
                    self.inet(proto, &parsed, &state, connected);
                }
            }
        }
    }

    /// busybox's `unix_do_one` over the host's `/proc/net/unix`.
    fn host_unix(&mut self) {
        const ACCEPTCON: u64 = 1 << 16;
        for line in HostFile::Unix.read().lines().skip(1) {
            let mut fields = line.split_whitespace();
            let (Some(_), Some(refcnt), Some(proto), Some(flags), Some(kind), Some(state)) = (
                fields.next(),
                fields.next().and_then(|f| u64::from_str_radix(f, 16).ok()),
                fields.next().and_then(|f| u64::from_str_radix(f, 16).ok()),
                fields.next().and_then(|f| u64::from_str_radix(f, 16).ok()),
                fields.next().and_then(|f| u32::from_str_radix(f, 16).ok()),
                fields.next().and_then(|f| u32::from_str_radix(f, 16).ok()),
            ) else {
                continue;
            };
            let Some(inode) = fields.next().and_then(|f| f.parse::<u64>().ok()) else {
                continue;
            };
            let path = fields.collect::<Vec<_>>().join(" ");
            let listening = state == 1 && flags & ACCEPTCON != 0;
            if !(self.flags.listening && self.flags.connected) {
                let wanted = if listening {
                    self.flags.listening
                } else {
                    self.flags.connected
                };
                if !wanted {
                    continue;
                }
            }
            let proto = if proto == 0 { "unix" } else { "??" };
            let kind = match kind {
                1 => "STREAM",
                2 => "DGRAM",
                3 => "RAW",
                4 => "RDM",
                5 => "SEQPACKET",
                _ => "UNKNOWN",
            };
            let state = match state {
                0 => "FREE",
                1 if flags & ACCEPTCON != 0 => "LISTENING",
                1 => "",
                2 => "CONNECTING",
                3 => "CONNECTED",
                4 => "DISCONNECTING",
                _ => "UNKNOWN",
            };
            let mut marks = String::from("[ ");
            if flags & ACCEPTCON != 0 {
                marks += "ACC ";
            }
            if flags & (1 << 17) != 0 {
                marks += "W ";
            }
            if flags & (1 << 18) != 0 {
                marks += "N ";
            }
            marks.push(']');
            self.text +=
                &format!("{proto:<5} {refcnt:<6} {marks:<11} {kind:<10} {state:<13} {inode:>6} ");
            if self.flags.programs {
                self.text += &format!("{:<20}", "-");
            }
            self.text += &path;
            self.text.push('\n');
        }
    }

    fn which(&self) -> &'static str {
        if self.flags.listening && self.flags.connected {
            "(servers and established)"
        } else if self.flags.listening {
            "(only servers)"
        } else {
            "(w/o servers)"
        }
    }
}

async fn netstat(ctx: super::ProgramContext) -> ExitStatus {
    let mut env = Env::new(ctx);
    let mut flags = Flags {
        connected: true,
        ..Flags::default()
    };
    let mut protocols = false;
    let (mut listen_only, mut all) = (false, false);
    let args: Vec<String> = env.args.iter().skip(1).cloned().collect();
    for arg in &args {
        let Some(letters) = arg.strip_prefix('-').filter(|l| !l.is_empty()) else {
            return env.usage(USAGE).await;
        };
        for c in letters.chars() {
            match c {
                'l' => listen_only = true,
                'a' => all = true,
                'e' => {}
                'n' => flags.numeric = true,
                't' => (flags.tcp, protocols) = (true, true),
                'u' => (flags.udp, protocols) = (true, true),
                'w' => (flags.raw, protocols) = (true, true),
                'x' => (flags.unix, protocols) = (true, true),
                'W' => flags.wide = true,
                'p' => flags.programs = true,
                other => {
                    env.error(format!("invalid option -- '{other}'")).await;
                    return env.usage(USAGE).await;
                }
            }
        }
    }
    // As busybox applies them after parsing: `-l` first, then `-a`.
    if listen_only {
        flags.connected = false;
        flags.listening = true;
    }
    if all {
        flags.listening = true;
        flags.connected = true;
    }
    if !protocols {
        (flags.tcp, flags.udp, flags.raw, flags.unix) = (true, true, true, true);
    }
    let names = Names::load(&env);
    let mut p = Printer {
        flags,
        names: &names,
        text: String::new(),
    };
    let banner = if flags.programs {
        "PID/Program name    "
    } else {
        ""
    };
    let node = env.sys.network().is_node();
    if flags.tcp || flags.udp || flags.raw {
        let w = p.width();
        p.text += &format!(
            "Active Internet connections {}\nProto Recv-Q Send-Q {:<w$} {:<w$} State       {banner}\n",
            p.which(),
            "Local Address",
            "Foreign Address"
        );
    }
    // In a node namespace whose listeners are real sockets, the host's own table
    // already has them.
    let simulated_ports = if node && env.sys.network().is_mirrored() {
        Vec::new()
    } else {
        env.sys.network().listening_ports()
    };
    if flags.tcp {
        for port in simulated_ports {
            let line = InetLine {
                local: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                local_port: port,
                remote: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                remote_port: 0,
                state: 10,
                txq: 0,
                rxq: 0,
            };
            p.inet("tcp", &line, "LISTEN", false);
        }
        if node {
            p.host_inet(HostFile::Tcp, "tcp");
            p.host_inet(HostFile::Tcp6, "tcp");
        }
    }
    if flags.udp && node {
        p.host_inet(HostFile::Udp, "udp");
        p.host_inet(HostFile::Udp6, "udp");
    }
    if flags.raw && node {
        p.host_inet(HostFile::Raw, "raw");
        p.host_inet(HostFile::Raw6, "raw");
    }
    if flags.unix {
        p.text += &format!(
            "Active UNIX domain sockets {}\nProto RefCnt Flags       Type       State         I-Node {banner}Path\n",
            p.which()
        );
        if node {
            p.host_unix();
        }
    }
    let text = p.text;
    if env.out.write(text.as_bytes()).await.is_err() {
        return env.sigpipe().await;
    }
    env.finish(0).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_lines_parse_into_addresses_ports_state_and_queues() {
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000002:00000003 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0";
        let parsed = parse_inet_line(line).expect("parses");
        assert_eq!(parsed.local, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(parsed.local_port, 8080);
        assert_eq!(parsed.remote_port, 0);
        assert_eq!(parsed.state, 10);
        assert_eq!((parsed.txq, parsed.rxq), (2, 3));
        let v6 = "   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1";
        let parsed = parse_inet_line(v6).expect("parses");
        assert_eq!(parsed.local, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(parsed.local_port, 80);
        assert_eq!(parse_inet_line("  sl  local_address rem_address"), None);
    }
}
