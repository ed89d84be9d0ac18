//! PortForward sessions, as kubelet's `portforward` server (which containerd embeds)
//! serves them, forwarding to ports that simulated processes listen on in the pod's
//! network namespace ([`crate::process::net`]):
//!
//! - **SPDY/3.1** (`portforward.k8s.io`): the client opens an `error` and a `data`
//!   stream per forwarded connection, both with `port` and `requestID` headers. A
//!   stream with a bad header is reset. Once a pair is complete the data stream is
//!   connected to the port; a refused connection finishes the data stream, writes
//!   kubelet's message on the error stream and resets it (2.3) or finishes it (1.6). The message's IPv6 part is a host whose `/etc/hosts` maps
//!   `localhost` to `::1` too (`dial tcp6 [::1]:PORT: connect: connection refused`);
//!   without that line Go says `dial tcp6: address localhost: no suitable address
//!   found`.
//! - **WebSocket** (`v4.channel.k8s.io`, `v4.base64.channel.k8s.io` or none): two
//!   channels per port of the PortForward request (data `2i`, error `2i+1`), each
//!   starting with the port as two little-endian bytes.
//!
//! containerd's own part (`sandbox_portforward_linux.go`): the connection is
//! `localhost:PORT` inside the sandbox's namespace (`host` for a host-network pod);
//! when the client's side ends, the other direction gets a second to finish.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::HttpRequest;
use super::spdy::{self, FLAG_FIN, Frame};
use super::transport::{SpdyConn, WsFrame, close_frame, spdy_handshake, websocket_upgrade};
use crate::core::error::go_quote;
use crate::core::profile::Dialect;
use crate::core::runtime::Runtime;
use crate::core::sandbox::netns_path;
use crate::core::state::SandboxPhase;
pub use crate::core::streams::PortForwardTarget;
use crate::core::streams::StreamSession;

/// kubelet's port-forward protocols.
pub const PORT_FORWARD_PROTOCOLS: &[&str] = &["portforward.k8s.io"];
/// How long the other direction may finish once one has ended (containerd's 1 s).
const HALF_CLOSE_GRACE: Duration = Duration::from_secs(1);

impl Runtime {
    /// containerd's `portForward` up to the connection: the port checked, the sandbox
    /// found, `localhost:PORT` dialled in its namespace. Errors are in kubelet's
    /// words, as written on the error stream.
    pub(crate) async fn port_forward_connect(
        &self,
        pod: &str,
        port: i32,
    ) -> Result<DuplexStream, String> {
        let error = |e: String| format!("error forwarding port {port} to pod {pod}, uid : {e}");
        let Ok(port16) = u16::try_from(port) else {
            return Err(error(format!("invalid port {port}")));
        };
        if port16 == 0 {
            return Err(error(format!("invalid port {port}")));
        }
        let found = self.store.read(|s| {
            s.resolve_sandbox(pod)
                .map(|r| (r.network.clone(), netns_path(r), r.phase))
        });
        let (network, path, phase) = found.map_err(|e| {
            let prefix = format!("failed to find sandbox {} in store", go_quote(pod));
            error(e.with_prefix(self.dialect(), prefix).message().to_owned())
        })?;
        if path.is_some() && phase != SandboxPhase::Ready {
            return Err(error(format!(
                "network namespace for sandbox {} is closed",
                go_quote(pod)
            )));
        }
        let path = path.unwrap_or_else(|| "host".into());
        network.connect(port16).await.map_err(|_| {
            error(format!(
                "failed to execute portforward in network namespace {}: failed to connect to localhost:{port} inside namespace {}, IPv4: dial tcp4 127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused ",
                go_quote(&path),
                go_quote(pod)
            ))
        })
    }
}

/// Serves one port-forward URL.
pub(crate) async fn serve(
    mut stream: TcpStream,
    rest: BytesMut,
    request: HttpRequest,
    target: PortForwardTarget,
    runtime: Arc<Runtime>,
    dialect: &'static Dialect,
) {
    if request.is_websocket() {
        return serve_websocket(stream, rest, request, target, runtime).await;
    }
    if spdy_handshake(&mut stream, &request, PORT_FORWARD_PROTOCOLS, dialect)
        .await
        .is_none()
    {
        return;
    }
    serve_spdy(stream, rest, target, runtime).await;
}

/// One forwarded connection's streams, while the pair is incomplete.
#[derive(Debug)]
struct Pair {
    error: Option<u32>,
    data: Option<u32>,
    port: i32,
    /// When kubelet gives up on the missing stream (its stream creation timeout).
    deadline: tokio::time::Instant,
}

/// Why kubelet rejects a new stream (`httpStreamReceived`), if it does.
fn check_stream(headers: &spdy::Headers) -> Result<(String, i32), String> {
    let port = spdy::header(headers, "port").unwrap_or("");
    if port.is_empty() {
        return Err("\"port\" header is required".into());
    }
    let parsed: u16 = port
        .parse()
        .map_err(|_| format!("unable to parse {} as a port", go_quote(port)))?;
    if parsed < 1 {
        return Err(format!("port {} must be > 0", go_quote(port)));
    }
    let kind = spdy::header(headers, "streamtype").unwrap_or("");
    if kind.is_empty() {
        return Err("\"streamType\" header is required".into());
    }
    if kind != "error" && kind != "data" {
        return Err(format!("invalid stream type {}", go_quote(kind)));
    }
    Ok((kind.to_owned(), i32::from(parsed)))
}

async fn serve_spdy(
    stream: TcpStream,
    rest: BytesMut,
    target: PortForwardTarget,
    runtime: Arc<Runtime>,
) {
    let mut conn = SpdyConn::new(stream, rest, &runtime.tasks);
    let mut events = conn.take_events();
    let frames = conn.frames.clone();
    // kubelet's `%p` of the connection in its "timed out" text: a Go heap address
    // (`0xc` and nine hex digits); here, where this connection's state lives.
    let conn_pointer = format!(
        "0xc{:09x}",
        std::ptr::addr_of!(conn) as usize & 0xf_ffff_fff0
    );
    let creation_timeout = runtime.settings.stream_creation_timeout;
    let mut pending: std::collections::HashMap<String, Pair> = Default::default();
    // A complete pair's data stream, to the forward's inbound bytes.
    let mut inbound: std::collections::HashMap<u32, mpsc::Sender<Bytes>> = Default::default();
    let mut forwarded_ports: Vec<String> = Vec::new();
    let mut forwards = tokio::task::JoinSet::new();
    loop {
        let next_deadline = pending.values().map(|p| p.deadline).min();
        let frame = tokio::select! {
            frame = events.recv() => match frame {
                Some(frame) => frame,
                None => break,
            },
            () = sleep_until_or_never(next_deadline) => {
                let now = tokio::time::Instant::now();
                let expired: Vec<String> = pending
                    .iter()
                    .filter(|(_, p)| p.deadline <= now)
                    .map(|(id, _)| id.clone())
                    .collect();
                for request_id in expired {
                    if let Some(Pair { error: Some(error), .. }) = pending.remove(&request_id) {
                        let msg = format!(
                            "(conn={conn_pointer}, request={request_id}) timed out waiting for streams"
                        );
                        SpdyConn::send_data(&frames, error, &Bytes::from(msg)).await;
                    }
                }
                continue;
            }
        };
        match frame {
            Frame::SynStream {
                stream_id, headers, ..
            } => {
                let (kind, port) = match check_stream(&headers) {
                    Ok(ok) => ok,
                    Err(_) => {
                        let _ = frames
                            .send(Frame::RstStream {
                                stream_id,
                                status: spdy::CANCEL,
                            })
                            .await;
                        continue;
                    }
                };
                let _ = frames
                    .send(Frame::SynReply {
                        stream_id,
                        flags: 0,
                        headers: Vec::new(),
                    })
                    .await;
                let request_id = spdy::header(&headers, "requestid")
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .unwrap_or_else(|| {
                        let base = if kind == "data" {
                            stream_id.wrapping_sub(2)
                        } else {
                            stream_id
                        };
                        base.to_string()
                    });
                let pair = pending.entry(request_id.clone()).or_insert_with(|| Pair {
                    error: None,
                    data: None,
                    port: 0,
                    deadline: tokio::time::Instant::now() + creation_timeout,
                });
                let slot = if kind == "data" {
                    &mut pair.data
                } else {
                    &mut pair.error
                };
                if slot.is_some() {
                    if let Some(error) = pair.error {
                        let msg = format!(
                            "error processing stream for request {request_id}: {kind} stream already assigned"
                        );
                        SpdyConn::send_data(&frames, error, &Bytes::from(msg)).await;
                    }
                    continue;
                }
                *slot = Some(stream_id);
                if kind == "data" {
                    pair.port = port;
                }
                if let (Some(error), Some(data)) = (pair.error, pair.data) {
                    // Complete: kubelet forgets the pair (a later stream with the same
                    // request id starts a new one) and forwards it.
                    let port = pair.port;
                    pending.remove(&request_id);
                    forwarded_ports.push(port.to_string());
                    let (tx, rx) = mpsc::channel::<Bytes>(16);
                    inbound.insert(data, tx);
                    let runtime = runtime.clone();
                    let frames = frames.clone();
                    let pod = target.pod_sandbox_id.clone();
                    forwards.spawn(async move {
                        forward_spdy(runtime, pod, port, error, data, rx, frames).await;
                    });
                }
            }
            Frame::Data {
                stream_id,
                flags,
                data,
            } => {
                if let Some(tx) = inbound.get(&stream_id)
                    && !data.is_empty()
                    && tx.send(data).await.is_err()
                {
                    inbound.remove(&stream_id);
                }
                if flags & FLAG_FIN != 0 {
                    inbound.remove(&stream_id);
                }
            }
            Frame::RstStream { stream_id, .. } => {
                inbound.remove(&stream_id);
            }
            _ => {}
        }
    }
    forwards.abort_all();
    drop(frames);
    conn.close().await;
    let mut ports = forwarded_ports;
    ports.sort();
    record_session(&runtime, &target, "spdy", "portforward.k8s.io", ports);
}

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until_or_never(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Records an ended port-forward session (with the ports it forwarded) in the journal.
fn record_session(
    runtime: &Runtime,
    target: &PortForwardTarget,
    transport: &'static str,
    protocol: &str,
    ports: Vec<String>,
) {
    runtime.hooks.stream_ended(StreamSession {
        kind: "portforward",
        target: target.pod_sandbox_id.clone(),
        args: ports,
        transport,
        protocol: protocol.to_owned(),
        status: String::new(),
    });
}

/// Forwards one SPDY pair: the data stream to and from the port; kubelet's error
/// text and two resets when the port cannot be reached.
async fn forward_spdy(
    runtime: Arc<Runtime>,
    pod: String,
    port: i32,
    error: u32,
    data: u32,
    inbound: mpsc::Receiver<Bytes>,
    frames: mpsc::Sender<Frame>,
) {
    let conn = match runtime.port_forward_connect(&pod, port).await {
        Ok(conn) => conn,
        Err(message) => {
            // containerd closes the data stream as its dial fails; kubelet then
            // writes the message and, in 2.3, resets both streams, of which only the
            // error stream is still open (1.6 finishes the error stream).
            let fin = |stream_id| Frame::Data {
                stream_id,
                flags: FLAG_FIN,
                data: Bytes::new(),
            };
            let _ = frames.send(fin(data)).await;
            SpdyConn::send_data(&frames, error, &Bytes::from(message)).await;
            if runtime.dialect().port_forward_failure_resets {
                let _ = frames
                    .send(Frame::RstStream {
                        stream_id: error,
                        status: spdy::CANCEL,
                    })
                    .await;
            } else {
                let _ = frames.send(fin(error)).await;
            }
            return;
        }
    };
    let (mut rd, wr) = tokio::io::split(conn);
    let to_port = copy_to_port(inbound, wr);
    let frames_out = frames.clone();
    let from_port = async move {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0
                || !SpdyConn::send_data(&frames_out, data, &Bytes::copy_from_slice(&buf[..n])).await
            {
                break;
            }
        }
    };
    copy_both_ways(to_port, from_port).await;
    for stream_id in [data, error] {
        let _ = frames
            .send(Frame::Data {
                stream_id,
                flags: FLAG_FIN,
                data: Bytes::new(),
            })
            .await;
    }
}

/// The client's bytes into the port's connection, half-closing it when they end.
async fn copy_to_port(
    mut inbound: mpsc::Receiver<Bytes>,
    mut wr: tokio::io::WriteHalf<DuplexStream>,
) {
    while let Some(chunk) = inbound.recv().await {
        if wr.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

/// containerd's copy: both directions until the first ends, then a second for the
/// other.
async fn copy_both_ways(a: impl Future<Output = ()>, b: impl Future<Output = ()>) {
    tokio::pin!(a, b);
    tokio::select! {
        () = &mut a => { let _ = tokio::time::timeout(HALF_CLOSE_GRACE, b).await; }
        () = &mut b => { let _ = tokio::time::timeout(HALF_CLOSE_GRACE, a).await; }
    }
}

async fn serve_websocket(
    stream: TcpStream,
    rest: BytesMut,
    request: HttpRequest,
    target: PortForwardTarget,
    runtime: Arc<Runtime>,
) {
    const PROTOCOLS: &[(&str, bool)] = &[
        ("v4.channel.k8s.io", false),
        ("v4.base64.channel.k8s.io", true),
    ];
    let Some((ws, protocol, channels)) = websocket_upgrade(stream, rest, &request, PROTOCOLS).await
    else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let encode = move |channel: u8, data: &[u8]| channels.encode(channel, data);
    let (sink_tx, mut sink_rx) = mpsc::channel::<Message>(16);
    let writer = runtime.tasks.spawn(async move {
        while let Some(message) = sink_rx.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
        let _ = sink.send(close_frame()).await;
        let _ = sink.close().await;
    });
    let mut inbound = Vec::new();
    let mut sessions = Vec::new();
    for (i, &port) in target.ports.iter().enumerate() {
        let Ok(channel) = u8::try_from(i * 2) else {
            break;
        };
        let port_bytes = (port as u16).to_le_bytes();
        let _ = sink_tx.send(encode(channel, &port_bytes)).await;
        let _ = sink_tx.send(encode(channel + 1, &port_bytes)).await;
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        inbound.push(Some(tx));
        let runtime = runtime.clone();
        let pod = target.pod_sandbox_id.clone();
        let out = sink_tx.clone();
        sessions.push(async move {
            forward_websocket(runtime, pod, port, channel, rx, out, encode).await;
        });
    }
    // Held until the session is journaled, so the close comes after the record.
    let closing = sink_tx;
    let reader = async move {
        while let Some(Ok(message)) = source.next().await {
            let raw = match channels.decode(message) {
                WsFrame::Data(raw) => raw,
                WsFrame::Close => break,
                WsFrame::Skip => continue,
            };
            let Some((&channel, data)) = raw.split_first() else {
                continue;
            };
            // Data channels are even; what a client writes on an error channel is
            // ignored (kubelet's are write-only).
            if channel % 2 == 0
                && let Some(Some(tx)) = inbound.get_mut(usize::from(channel / 2))
                && !data.is_empty()
                && tx.send(Bytes::copy_from_slice(data)).await.is_err()
            {
                inbound[usize::from(channel / 2)] = None;
            }
        }
    };
    tokio::select! {
        _ = futures::future::join_all(sessions) => {}
        () = reader => {}
    }
    let ports = target.ports.iter().map(i32::to_string).collect();
    record_session(&runtime, &target, "websocket", protocol, ports);
    drop(closing);
    let _ = writer.await;
}

/// Forwards one port of a WebSocket session on channels `channel` (data) and
/// `channel + 1` (error).
async fn forward_websocket(
    runtime: Arc<Runtime>,
    pod: String,
    port: i32,
    channel: u8,
    inbound: mpsc::Receiver<Bytes>,
    out: mpsc::Sender<Message>,
    encode: impl Fn(u8, &[u8]) -> Message + Copy,
) {
    let conn = match runtime.port_forward_connect(&pod, port).await {
        Ok(conn) => conn,
        Err(message) => {
            let _ = out.send(encode(channel + 1, message.as_bytes())).await;
            return;
        }
    };
    let (mut rd, wr) = tokio::io::split(conn);
    let to_port = copy_to_port(inbound, wr);
    let from_port = async move {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 || out.send(encode(channel, &buf[..n])).await.is_err() {
                break;
            }
        }
    };
    copy_both_ways(to_port, from_port).await;
}
