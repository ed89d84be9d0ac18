//! Real host sockets that lead into simulated network namespaces.
//!
//! A pod's port mappings with a `host_port` and the ports that processes of host-network
//! pods listen on are reachable from the machine, as with containerd (where the CNI
//! `portmap` plugin and the host network namespace make them so): the fake binds a real
//! TCP listener on the configured host address and copies each accepted connection
//! into a [`Network::connect`] of the namespace. A connection to a port nobody listens
//! on in the namespace is closed at once, as a refused DNAT'ed connection is.
//!
//! Every [`Bridge`] closes its real socket when dropped.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::net::{IpAddr, Ipv4Addr};
//! use cri_fake::process::bridge::Bridge;
//! use cri_fake::process::net::Network;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let net = Network::new();
//! let mut listener = net.listen(80).unwrap();
//! let bridge = Bridge::open(IpAddr::V4(Ipv4Addr::LOCALHOST), 0, &net, 80).unwrap();
//! let mut client = tokio::net::TcpStream::connect(bridge.local_addr()).await.unwrap();
//! let mut server = listener.accept().await.unwrap();
//! client.write_all(b"GET /").await.unwrap();
//! let mut buf = [0; 5];
//! server.read_exact(&mut buf).await.unwrap();
//! assert_eq!(&buf, b"GET /");
//! # }
//! ```

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};

use super::net::Network;

/// A real listening socket on the host that forwards into a simulated namespace's port.
/// Dropping it closes the socket; connections already forwarded go on.
#[derive(Debug)]
pub struct Bridge {
    local_addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Bridge {
    /// Binds `host_ip:host_port` (0 picks a free port) and forwards every connection
    /// to `port` of `network`. Fails as the bind does (`EADDRINUSE`, `EACCES`), or
    /// when called outside a tokio runtime.
    pub fn open(
        host_ip: IpAddr,
        host_port: u16,
        network: &Arc<Network>,
        port: u16,
    ) -> std::io::Result<Bridge> {
        Self::bind(host_ip, host_port, network, Some(port))
    }

    /// Binds `host_ip:host_port` (0 picks a free port) and forwards every connection
    /// to the same port of `network` (the one it got, for port 0).
    pub(crate) fn open_same_port(
        host_ip: IpAddr,
        host_port: u16,
        network: &Arc<Network>,
    ) -> std::io::Result<Bridge> {
        Self::bind(host_ip, host_port, network, None)
    }

    fn bind(
        host_ip: IpAddr,
        host_port: u16,
        network: &Arc<Network>,
        port: Option<u16>,
    ) -> std::io::Result<Bridge> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let std_listener = std::net::TcpListener::bind((host_ip, host_port))?;
        std_listener.set_nonblocking(true)?;
        let local_addr = std_listener.local_addr()?;
        let listener = {
            let _guard = handle.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let network = Arc::downgrade(network);
        let port = port.unwrap_or(local_addr.port());
        let task = handle.spawn(forward(listener, network, port));
        Ok(Bridge {
            local_addr,
            task: Some(task),
        })
    }

    /// The host address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Closes the real socket and returns once it is closed (a drop closes it soon
    /// after, on the runtime's next turn).
    pub async fn close(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn forward(listener: tokio::net::TcpListener, network: Weak<Network>, port: u16) {
    loop {
        let Ok((mut outside, _)) = listener.accept().await else {
            // Out of descriptors or the like: try again shortly rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let Some(network) = network.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            // Nobody listening in the namespace: the connection is dropped (closed).
            if let Ok(mut inside) = network.connect(port).await {
                let _ = tokio::io::copy_bidirectional(&mut outside, &mut inside).await;
            }
        });
    }
}
