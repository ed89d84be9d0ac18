//! Where the fake listens: a unix socket in a private temporary directory (the
//! default), a unix socket at a given path, TCP on loopback, or an in-memory duplex.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream, UnixListenerStream};
use tonic::transport::{Channel, Endpoint};

use crate::server::h2_authority::AuthorityRewrite;

/// Where the fake serves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Listen {
    /// `cri.sock` in a new private temporary directory (0700; socket 0600), removed
    /// with the fake.
    #[default]
    TempUnixSocket,
    /// A unix socket at this path (0600), removed with the fake.
    UnixSocket(PathBuf),
    /// TCP at this address (port 0 picks a free port).
    Tcp(SocketAddr),
    /// An in-memory duplex: no socket at all; reach it through the fake's channel.
    InMemory,
}

impl Listen {
    /// Parses `unix:///path`, `unix:path`, a plain absolute path, or
    /// `tcp://host:port`.
    pub fn parse(endpoint: &str) -> Result<Listen, String> {
        if let Some(path) = endpoint.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!("endpoint {endpoint:?} has no socket path"));
            }
            return Ok(Listen::UnixSocket(PathBuf::from(path)));
        }
        if let Some(path) = endpoint.strip_prefix("unix:") {
            return Ok(Listen::UnixSocket(PathBuf::from(path)));
        }
        if let Some(addr) = endpoint.strip_prefix("tcp://") {
            return addr
                .parse()
                .map(Listen::Tcp)
                .map_err(|e| format!("endpoint {endpoint:?}: invalid TCP address: {e}"));
        }
        if endpoint.starts_with('/') {
            return Ok(Listen::UnixSocket(PathBuf::from(endpoint)));
        }
        Err(format!(
            "endpoint {endpoint:?} is not unix:///path, an absolute socket path or tcp://host:port"
        ))
    }
}

/// Object-safe connection IO for the boxed stream.
pub trait ConnectionIo: AsyncRead + AsyncWrite + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + 'static> ConnectionIo for T {}

/// One accepted connection, whatever the transport.
pub struct Conn(AuthorityRewrite<Pin<Box<dyn ConnectionIo>>>);

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").finish_non_exhaustive()
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();

    fn connect_info(&self) -> Self::ConnectInfo {}
}

/// The accepted-connection stream the tonic server consumes.
pub type Incoming = Pin<Box<dyn Stream<Item = std::io::Result<Conn>> + Send>>;

/// A bound listener, the endpoint a client uses, and what must be cleaned up.
pub struct Bound {
    /// The connection stream.
    pub incoming: Incoming,
    /// `unix:///...`, `tcp://...` or `inmemory://`.
    pub endpoint: String,
    /// The socket file, removed at shutdown.
    pub socket_path: Option<PathBuf>,
    /// The private directory (removed when dropped).
    pub temp_dir: Option<tempfile::TempDir>,
    /// A channel connected to this listener.
    pub channel: Channel,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("endpoint", &self.endpoint)
            .field("socket_path", &self.socket_path)
            .field("temp_dir", &self.temp_dir)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

fn boxed<S, C>(stream: S) -> Incoming
where
    S: Stream<Item = std::io::Result<C>> + Send + 'static,
    C: AsyncRead + AsyncWrite + Send + 'static,
{
    use tokio_stream::StreamExt;
    Box::pin(stream.map(|c| c.map(|c| Conn(AuthorityRewrite::new(Box::pin(c))))))
}

/// A lazily connecting channel to a unix socket.
pub fn unix_channel(path: &Path) -> Channel {
    let path = path.to_path_buf();
    Endpoint::from_static("http://[::1]:50051").connect_with_connector_lazy(tower::service_fn(
        move |_| {
            let path = path.clone();
            async move {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok::<_, std::io::Error>(TokioIo::new(stream))
            }
        },
    ))
}

/// Binds a unix socket at `path`. What is already there is never followed: a symlink
/// is removed itself (its target is left alone, as containerd's `unlink` does), a stale
/// socket from a dead server is replaced, a live one is an error, and any other file is
/// refused rather than deleted (containerd would unlink it: a deliberate difference).
fn bind_unix(path: &Path) -> std::io::Result<UnixListener> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::FileTypeExt as _;

    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::remove_file(path)?,
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(Error::new(
                    ErrorKind::AddrInUse,
                    format!("{} is in use by a running server", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        Ok(_) => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let listener = UnixListener::bind(path)?;
    // chmod follows links: only touch the path while it is still the socket just made.
    if !std::fs::symlink_metadata(path)?.file_type().is_socket() {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!("{} was replaced while binding", path.display()),
        ));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Binds `listen`. Returns once the listener accepts connections.
pub async fn bind(listen: &Listen) -> std::io::Result<Bound> {
    match listen {
        Listen::TempUnixSocket => {
            let dir = tempfile::Builder::new().prefix("cri-fake-").tempdir()?;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
            let path = dir.path().join("cri.sock");
            let listener = bind_unix(&path)?;
            Ok(Bound {
                incoming: boxed(UnixListenerStream::new(listener)),
                endpoint: format!("unix://{}", path.display()),
                channel: unix_channel(&path),
                socket_path: Some(path),
                temp_dir: Some(dir),
            })
        }
        Listen::UnixSocket(path) => {
            let listener = bind_unix(path)?;
            Ok(Bound {
                incoming: boxed(UnixListenerStream::new(listener)),
                endpoint: format!("unix://{}", path.display()),
                channel: unix_channel(path),
                socket_path: Some(path.clone()),
                temp_dir: None,
            })
        }
        Listen::Tcp(addr) => {
            let listener = TcpListener::bind(addr).await?;
            let local = listener.local_addr()?;
            let channel = Endpoint::from_shared(format!("http://{local}"))
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?
                .connect_lazy();
            Ok(Bound {
                incoming: boxed(TcpListenerStream::new(listener)),
                endpoint: format!("tcp://{local}"),
                channel,
                socket_path: None,
                temp_dir: None,
            })
        }
        Listen::InMemory => {
            let (tx, rx) = mpsc::channel::<std::io::Result<DuplexStream>>(16);
            let channel = Endpoint::from_static("http://[::1]:50051").connect_with_connector_lazy(
                tower::service_fn(move |_| {
                    let tx = tx.clone();
                    async move {
                        let (client, server) = tokio::io::duplex(1 << 20);
                        tx.send(Ok(server)).await.map_err(|_| {
                            std::io::Error::new(
                                std::io::ErrorKind::ConnectionRefused,
                                "the fake has shut down",
                            )
                        })?;
                        Ok::<_, std::io::Error>(TokioIo::new(client))
                    }
                }),
            );
            Ok(Bound {
                incoming: boxed(ReceiverStream::new(rx)),
                endpoint: "inmemory://".into(),
                channel,
                socket_path: None,
                temp_dir: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_to_listen_addresses() {
        assert_eq!(
            Listen::parse("unix:///tmp/x.sock"),
            Ok(Listen::UnixSocket("/tmp/x.sock".into()))
        );
        assert_eq!(
            Listen::parse("/tmp/x.sock"),
            Ok(Listen::UnixSocket("/tmp/x.sock".into()))
        );
        assert_eq!(
            Listen::parse("tcp://127.0.0.1:0"),
            Ok(Listen::Tcp("127.0.0.1:0".parse().unwrap()))
        );
        assert!(Listen::parse("tcp://nope").is_err());
        assert!(Listen::parse("http://x").is_err());
        assert!(Listen::parse("unix://").is_err());
    }
}
