//! Network namespaces: the TCP ports the simulated processes listen on, and the
//! connections made to them.
//!
//! A [`Network`] is one namespace. Every container of a pod shares its pod's; pods on
//! the node's network (`NamespaceMode::Node`) share the runtime's host namespace. A
//! process listening on a port ([`Network::listen`], e.g. `nc -l -p 8080` or `httpd`)
//! receives every [`Network::connect`] to it as an in-memory byte stream, from another
//! process in the namespace or from the streaming server's port-forward. Nothing ever
//! touches the machine's real network.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::process::net::{NetError, Network};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let net = Network::new();
//! let mut listener = net.listen(8080).expect("port free");
//! assert_eq!(net.listen(8080).unwrap_err(), NetError::AddressInUse);
//! let mut client = net.connect(8080).await.expect("someone listens");
//! let mut server = listener.accept().await.expect("connection");
//! client.write_all(b"ping").await.unwrap();
//! let mut buf = [0; 4];
//! server.read_exact(&mut buf).await.unwrap();
//! assert_eq!(&buf, b"ping");
//! drop(listener);
//! assert_eq!(net.connect(8080).await.unwrap_err(), NetError::ConnectionRefused);
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tokio::io::DuplexStream;
use tokio::sync::mpsc;

/// How many bytes a connection buffers in each direction before the writer waits
/// (a socket buffer).
pub const SOCKET_BUFFER_BYTES: usize = 64 * 1024;
/// How many connections wait to be accepted before `connect` waits too (`somaxconn`
/// is 4096 on a current kernel; a simulated server accepts at once).
pub const LISTEN_BACKLOG: usize = 128;
/// The first port handed out to a listener that asks for port 0
/// (`net.ipv4.ip_local_port_range`).
pub const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;

/// Why a listen or connect failed, as the socket call's `errno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// `EADDRINUSE`: another process listens on the port.
    AddressInUse,
    /// `ECONNREFUSED`: nobody listens on the port.
    ConnectionRefused,
}

impl NetError {
    /// The C library's `strerror` text (glibc, as Debian's busybox reports it).
    pub fn strerror(self) -> &'static str {
        match self {
            NetError::AddressInUse => "Address already in use",
            NetError::ConnectionRefused => "Connection refused",
        }
    }
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.strerror())
    }
}

impl std::error::Error for NetError {}

#[derive(Debug)]
struct Bound {
    generation: u64,
    queue: mpsc::Sender<DuplexStream>,
    /// The real host socket of a port listened on in a mirrored namespace.
    _host_socket: Option<super::bridge::Bridge>,
}

#[derive(Debug, Default)]
struct Ports {
    next_generation: u64,
    next_ephemeral: u16,
    bound: BTreeMap<u16, Bound>,
}

/// The most bridges one namespace holds (`brctl addbr` beyond fails with `ENOMEM`):
/// the kernel has no such limit, the simulation's memory does.
pub const MAX_BRIDGES: usize = 256;

/// One network namespace: its listening TCP ports and its bridges.
#[derive(Debug, Default)]
pub struct Network {
    ports: Mutex<Ports>,
    bridges: Mutex<BTreeSet<String>>,
    node: bool,
    /// The namespace's own address (the pod IP) besides loopback.
    address: Option<std::net::IpAddr>,
    /// The host address where every listening port is also a real socket (see
    /// [`Network::mirrored_on`]).
    host_mirror: Option<Mirror>,
}

/// Where a namespace's listening ports are real sockets too.
#[derive(Debug, Clone, Copy)]
struct Mirror {
    ip: std::net::IpAddr,
    /// The node's namespace: a port the machine does not give is in use. A pod's own
    /// namespace: its ports are its own, so a real socket that cannot be had is only
    /// logged.
    shared_with_machine: bool,
}

impl Network {
    /// An empty namespace: nothing listens.
    pub fn new() -> Arc<Network> {
        Arc::default()
    }

    /// The node's namespace (what host-network pods share): besides what the
    /// simulated processes listen on, `netstat` in it lists the real host's sockets,
    /// read from the real `/proc/net` (never changed). Connections still only reach
    /// simulated listeners (see [`Network::mirrored_on`] for the other way).
    pub fn node() -> Arc<Network> {
        Arc::new(Network {
            node: true,
            ..Network::default()
        })
    }

    /// An empty namespace whose interface has the address `ip` (the pod IP; `None` or
    /// an unparsable text gives loopback only).
    pub fn with_address(ip: Option<&str>) -> Arc<Network> {
        Arc::new(Network {
            address: ip.and_then(|ip| ip.parse().ok()),
            ..Network::default()
        })
    }

    /// The node's namespace as host-network pods see it: every port a process listens
    /// on is also a real socket on `host_ip` of the machine (through a
    /// [`Bridge`](super::bridge::Bridge)), so tools outside the fake reach it, and a
    /// port another program of the machine holds is in use, as on a real node.
    pub fn mirrored_on(host_ip: std::net::IpAddr) -> Arc<Network> {
        Arc::new(Network {
            node: true,
            host_mirror: Some(Mirror {
                ip: host_ip,
                shared_with_machine: true,
            }),
            ..Network::default()
        })
    }

    /// A pod's own namespace with the address `pod_ip`, one of the machine's (a
    /// loopback address): every port a process listens on is also a real socket on
    /// `pod_ip`, as a CNI bridge makes a pod reachable from its node. A real socket the
    /// machine refuses (a privileged port for a non-root fake) is logged, and the port
    /// still works inside the simulation.
    pub fn for_pod_on(pod_ip: std::net::IpAddr) -> Arc<Network> {
        Arc::new(Network {
            address: Some(pod_ip),
            host_mirror: Some(Mirror {
                ip: pod_ip,
                shared_with_machine: false,
            }),
            ..Network::default()
        })
    }

    /// Whether `ip` is an address of this namespace: loopback, or its own address.
    pub fn is_local(&self, ip: std::net::IpAddr) -> bool {
        ip.is_loopback() || ip.is_unspecified() || Some(ip) == self.address
    }

    /// Whether what processes listen on here is also a real socket of the machine
    /// ([`Network::mirrored_on`], [`Network::for_pod_on`]).
    pub fn is_mirrored(&self) -> bool {
        self.host_mirror.is_some()
    }

    /// Whether this is the node's namespace ([`Network::node`]).
    pub fn is_node(&self) -> bool {
        self.node
    }

    fn ports(&self) -> std::sync::MutexGuard<'_, Ports> {
        self.ports.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bridge_set(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.bridges.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates the bridge `name` (`SIOCBRADDBR`; the caller checks `CAP_NET_ADMIN`):
    /// the errno is `EEXIST` when an interface of that name exists (`lo` always
    /// does), `EINVAL` for a name the kernel refuses, `ENOMEM` past [`MAX_BRIDGES`].
    pub fn add_bridge(&self, name: &str) -> Result<(), i32> {
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains(['/', ':'])
            || name.chars().any(char::is_whitespace)
        {
            return Err(22);
        }
        let mut bridges = self.bridge_set();
        if name == "lo" || bridges.contains(name) {
            return Err(17);
        }
        if bridges.len() >= MAX_BRIDGES {
            return Err(12);
        }
        bridges.insert(name.to_owned());
        Ok(())
    }

    /// Deletes the bridge `name` (`SIOCBRDELBR`): `ENXIO` when there is no such
    /// interface, `EPERM` for `lo` (an interface that is not a bridge).
    pub fn delete_bridge(&self, name: &str) -> Result<(), i32> {
        if name == "lo" {
            return Err(1);
        }
        if self.bridge_set().remove(name) {
            Ok(())
        } else {
            Err(6)
        }
    }

    /// The bridges, by name.
    pub fn bridges(&self) -> Vec<String> {
        self.bridge_set().iter().cloned().collect()
    }

    /// Listens on `port` (0 picks a free ephemeral port). The port is free again once
    /// the returned listener is dropped.
    pub fn listen(self: &Arc<Self>, port: u16) -> Result<Listener, NetError> {
        let mut ports = self.ports();
        let mut host_socket = None;
        let mirrored = match self.host_mirror {
            Some(mirror) if mirror.shared_with_machine || !ports.bound.contains_key(&port) => {
                match super::bridge::Bridge::open_same_port(mirror.ip, port, self) {
                    Ok(bridge) => Some(bridge),
                    Err(e)
                        if mirror.shared_with_machine
                            && e.kind() == std::io::ErrorKind::AddrInUse =>
                    {
                        return Err(NetError::AddressInUse);
                    }
                    Err(error) => {
                        tracing::warn!(ip = %mirror.ip, port, %error, "a simulated port has no real socket");
                        None
                    }
                }
            }
            _ => None,
        };
        let port = if let Some(bridge) = mirrored {
            // The machine decided which port was free (port 0 takes one it picks).
            let real = bridge.local_addr().port();
            if ports.bound.contains_key(&real) {
                return Err(NetError::AddressInUse);
            }
            host_socket = Some(bridge);
            real
        } else if port == 0 {
            let span = usize::from(EPHEMERAL_PORTS.end() - EPHEMERAL_PORTS.start()) + 1;
            let start = ports.next_ephemeral;
            let free = (0..span)
                .map(|i| {
                    let offset = (usize::from(start) + i) % span;
                    // `offset < span <= u16::MAX - start`, so this fits.
                    EPHEMERAL_PORTS.start() + u16::try_from(offset).unwrap_or(0)
                })
                .find(|p| !ports.bound.contains_key(p))
                .ok_or(NetError::AddressInUse)?;
            ports.next_ephemeral = free - EPHEMERAL_PORTS.start() + 1;
            free
        } else if ports.bound.contains_key(&port) {
            return Err(NetError::AddressInUse);
        } else {
            port
        };
        ports.next_generation += 1;
        let generation = ports.next_generation;
        let (queue, incoming) = mpsc::channel(LISTEN_BACKLOG);
        ports.bound.insert(
            port,
            Bound {
                generation,
                queue,
                _host_socket: host_socket,
            },
        );
        Ok(Listener {
            network: Arc::clone(self),
            port,
            generation,
            incoming,
        })
    }

    /// Connects to `port`: the client's end of a new connection, once the listener's
    /// backlog has room.
    pub async fn connect(&self, port: u16) -> Result<DuplexStream, NetError> {
        let queue = self
            .ports()
            .bound
            .get(&port)
            .map(|b| b.queue.clone())
            .ok_or(NetError::ConnectionRefused)?;
        let (client, server) = tokio::io::duplex(SOCKET_BUFFER_BYTES);
        queue
            .send(server)
            .await
            .map_err(|_| NetError::ConnectionRefused)?;
        Ok(client)
    }

    /// The ports something listens on, in order (what `netstat -ltn` shows).
    pub fn listening_ports(&self) -> Vec<u16> {
        self.ports().bound.keys().copied().collect()
    }
}

/// A listening socket; dropping it closes the port.
#[derive(Debug)]
pub struct Listener {
    network: Arc<Network>,
    port: u16,
    generation: u64,
    incoming: mpsc::Receiver<DuplexStream>,
}

impl Listener {
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's end of the next connection; `None` never happens while the
    /// listener lives (it holds its own port open).
    pub async fn accept(&mut self) -> Option<DuplexStream> {
        self.incoming.recv().await
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut ports = self.network.ports();
        if ports
            .bound
            .get(&self.port)
            .is_some_and(|b| b.generation == self.generation)
        {
            ports.bound.remove(&self.port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_takes_distinct_ephemeral_ports() {
        let net = Network::new();
        let a = net.listen(0).expect("a");
        let b = net.listen(0).expect("b");
        assert_eq!(a.port(), *EPHEMERAL_PORTS.start());
        assert_eq!(b.port(), EPHEMERAL_PORTS.start() + 1);
        assert_eq!(net.listening_ports(), vec![a.port(), b.port()]);
    }

    #[test]
    fn a_new_listener_on_a_freed_port_is_not_closed_by_the_old_ones_drop() {
        let net = Network::new();
        let old = net.listen(80).expect("old");
        drop(old);
        let new = net.listen(80).expect("new");
        assert_eq!(net.listening_ports(), vec![80]);
        drop(new);
        assert!(net.listening_ports().is_empty());
    }
}
