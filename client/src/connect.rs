//! Endpoints and channels: `unix:///path`, a plain socket path, or `tcp://host:port`.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::{Error, Result, chain};

/// A parsed CRI endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CriEndpoint {
    /// A unix socket (`unix:///run/containerd/containerd.sock` or a plain path).
    Unix(PathBuf),
    /// A TCP address (`tcp://127.0.0.1:1234`); `host` keeps IPv6 brackets.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

impl CriEndpoint {
    /// Parses `unix:///path` (also `unix:/path` and `unix:path`), a plain socket path
    /// (`/run/x.sock`, `./x.sock`, `x.sock`), or `tcp://host:port`. Any other scheme is an
    /// [`Error::InvalidEndpoint`] naming the endpoint.
    ///
    /// ```
    /// use cri_client::CriEndpoint;
    ///
    /// assert_eq!(
    ///     CriEndpoint::parse("unix:///run/containerd/containerd.sock").unwrap(),
    ///     CriEndpoint::Unix("/run/containerd/containerd.sock".into()),
    /// );
    /// assert_eq!(
    ///     CriEndpoint::parse("tcp://127.0.0.1:10010").unwrap(),
    ///     CriEndpoint::Tcp { host: "127.0.0.1".into(), port: 10010 },
    /// );
    /// assert!(CriEndpoint::parse("npipe:////./pipe/containerd").is_err());
    /// ```
    pub fn parse(endpoint: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidEndpoint {
            endpoint: endpoint.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = endpoint.trim();
        if trimmed.is_empty() {
            return Err(invalid("the endpoint is empty"));
        }
        if let Some(rest) = trimmed.strip_prefix("unix:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(invalid("the unix socket path is empty"));
            }
            return Ok(CriEndpoint::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = trimmed.strip_prefix("tcp://") {
            return parse_tcp(rest).map_err(|reason| invalid(&reason));
        }
        if let Some((scheme, _)) = trimmed.split_once("://") {
            return Err(invalid(&format!(
                "unsupported scheme {scheme:?} (use unix://, tcp:// or a socket path)"
            )));
        }
        Ok(CriEndpoint::Unix(PathBuf::from(trimmed)))
    }
}

impl fmt::Display for CriEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CriEndpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            CriEndpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

fn parse_tcp(rest: &str) -> std::result::Result<CriEndpoint, String> {
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains('/') {
        return Err("a tcp endpoint has no path".into());
    }
    let Some((host, port)) = authority.rsplit_once(':') else {
        return Err("a tcp endpoint needs a port (tcp://host:port)".into());
    };
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    let bracketed = host.starts_with('[');
    if bracketed != host.ends_with(']') || (!bracketed && host.contains(':')) {
        return Err("an IPv6 host must be in brackets (tcp://[::1]:port)".into());
    }
    let port: u16 = port.parse().map_err(|_| format!("invalid port {port:?}"))?;
    if port == 0 {
        return Err("port 0 is not a listening port".into());
    }
    Ok(CriEndpoint::Tcp {
        host: host.to_string(),
        port,
    })
}

/// Opens a channel to `endpoint`, failing with an error naming it when nothing listens.
/// The whole attempt (socket connect and HTTP/2 handshake) is bounded by `timeout`.
pub(crate) async fn open_channel(endpoint: &str, timeout: Duration) -> Result<Channel> {
    let parsed = CriEndpoint::parse(endpoint)?;
    let attempt = async {
        match parsed {
            CriEndpoint::Unix(path) => {
                // The URI is required by tonic but unused: the connector ignores it.
                Endpoint::from_static("http://[::]:50051")
                    .connect_timeout(timeout)
                    .connect_with_connector(tower::service_fn(move |_: Uri| {
                        let path = path.clone();
                        async move {
                            let stream = tokio::net::UnixStream::connect(path).await?;
                            Ok::<_, io::Error>(TokioIo::new(stream))
                        }
                    }))
                    .await
            }
            CriEndpoint::Tcp { host, port } => {
                let endpoint = Endpoint::from_shared(format!("http://{host}:{port}"))?;
                endpoint.connect_timeout(timeout).connect().await
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(channel)) => Ok(channel),
        Ok(Err(err)) => Err(Error::Connect {
            endpoint: endpoint.to_string(),
            reason: chain(&err),
        }),
        Err(_) => Err(Error::ConnectTimeout {
            endpoint: endpoint.to_string(),
            after: timeout,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(path: &str) -> CriEndpoint {
        CriEndpoint::Unix(PathBuf::from(path))
    }

    #[test]
    fn unix_urls_and_plain_paths_are_unix_sockets() {
        assert_eq!(
            CriEndpoint::parse("unix:///run/containerd/containerd.sock").unwrap(),
            unix("/run/containerd/containerd.sock")
        );
        assert_eq!(
            CriEndpoint::parse("unix:/tmp/a.sock").unwrap(),
            unix("/tmp/a.sock")
        );
        assert_eq!(
            CriEndpoint::parse("unix:rel.sock").unwrap(),
            unix("rel.sock")
        );
        assert_eq!(
            CriEndpoint::parse("/var/run/crio/crio.sock").unwrap(),
            unix("/var/run/crio/crio.sock")
        );
        assert_eq!(
            CriEndpoint::parse("./cri.sock").unwrap(),
            unix("./cri.sock")
        );
    }

    #[test]
    fn tcp_urls_need_host_and_port() {
        assert_eq!(
            CriEndpoint::parse("tcp://localhost:10010").unwrap(),
            CriEndpoint::Tcp {
                host: "localhost".into(),
                port: 10010
            }
        );
        assert_eq!(
            CriEndpoint::parse("tcp://[::1]:7").unwrap(),
            CriEndpoint::Tcp {
                host: "[::1]".into(),
                port: 7
            }
        );
        for bad in [
            "tcp://localhost",
            "tcp://:80",
            "tcp://h:99999",
            "tcp://h:0",
            "tcp://::1:80",
            "tcp://h:1/x",
        ] {
            let err = CriEndpoint::parse(bad).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidEndpoint { endpoint, .. } if endpoint == bad),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn other_schemes_and_empty_endpoints_are_rejected_by_name() {
        let err = CriEndpoint::parse("http://localhost:80").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid CRI endpoint \"http://localhost:80\": unsupported scheme \"http\" (use unix://, tcp:// or a socket path)"
        );
        assert_eq!(
            CriEndpoint::parse("").unwrap_err().to_string(),
            "invalid CRI endpoint \"\": the endpoint is empty"
        );
        assert_eq!(
            CriEndpoint::parse("unix://").unwrap_err().to_string(),
            "invalid CRI endpoint \"unix://\": the unix socket path is empty"
        );
    }

    #[test]
    fn endpoints_display_as_urls() {
        assert_eq!(unix("/a/b.sock").to_string(), "unix:///a/b.sock");
        assert_eq!(
            CriEndpoint::Tcp {
                host: "h".into(),
                port: 1
            }
            .to_string(),
            "tcp://h:1"
        );
    }

    #[tokio::test]
    async fn connecting_to_a_missing_socket_names_the_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = format!("unix://{}/missing.sock", dir.path().display());
        let err = open_channel(&endpoint, Duration::from_secs(5))
            .await
            .unwrap_err();
        match &err {
            Error::Connect {
                endpoint: named,
                reason,
            } => {
                assert_eq!(named, &endpoint);
                assert!(reason.contains("No such file or directory"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with(&format!("cannot connect to CRI endpoint \"{endpoint}\""))
        );
        assert!(err.is_unavailable());
    }

    #[tokio::test]
    async fn connecting_to_a_closed_tcp_port_names_the_endpoint() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let endpoint = format!("tcp://127.0.0.1:{port}");
        let err = open_channel(&endpoint, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Connect { endpoint: named, .. } if named == &endpoint),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_socket_that_never_answers_fails_the_first_call_at_its_deadline() {
        // A listener that accepts nothing: the kernel queues the connection, so connecting
        // succeeds, but no answer ever comes; the call deadline must end the first call.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("silent.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let client = crate::Client::builder(path.display().to_string())
            .connect_timeout(Duration::from_millis(200))
            .call_timeout(Duration::from_millis(200))
            .connect()
            .await
            .unwrap();
        let err = client.version().await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { rpc: crate::Rpc::Version, after, .. } if after == Duration::from_millis(200)),
            "{err:?}"
        );
    }
}
