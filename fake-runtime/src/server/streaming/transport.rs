//! The two transports of an exec URL, as kubelet's `remotecommand` serves them:
//!
//! - **SPDY/3.1**: after the `101`, the client opens one stream per channel, named by
//!   its `streamType` header (`error`, `stdin`, `stdout`, `stderr`, `resize`); the
//!   server replies to each, runs the exec once every expected stream is open, writes
//!   the final status on `error` and ends with GOAWAY. stdin's FIN is end-of-file.
//! - **WebSocket**: one message per write, its first byte the channel (0 stdin,
//!   1 stdout, 2 stderr, 3 error, 4 resize; the `base64.` protocols send text, the
//!   channel as a digit and the data base64); v5 adds the close message `255, channel`
//!   (stdin's end-of-file). The server first sends an empty message on the lowest
//!   writable channel, as kubelet does.
//!
//! SPDY flow control: the server grants the peer's data back with WINDOW_UPDATE so a
//! strict client never stalls, and does not hold its own output on the peer's window
//! (kubelet's spdystream does not either; TCP's own backpressure bounds memory).

use std::sync::Arc;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::session::{ExecIo, ExecOutcome, ExecTarget, OutChannel, SessionKind, TermSize};
use super::spdy::{self, Codec, FLAG_FIN, Frame, SpdyError};
use super::{HttpRequest, http_error};
use crate::core::profile::Dialect;
use crate::core::runtime::Runtime;
use crate::core::streams::StreamSession;

/// The header naming the exec protocol.
const PROTOCOL_HEADER: &str = "X-Stream-Protocol-Version";
/// The largest DATA frame the server sends (32 KiB, like kubelet's copy buffer).
const MAX_DATA_CHUNK: usize = 32 * 1024;
/// The largest resize message kept (bytes of JSON waiting for their end).
const MAX_RESIZE_BUFFER: usize = 4096;

/// The WebSocket subprotocols of exec and attach, in kubelet's table, and whether
/// each is base64.
const WS_PROTOCOLS: &[(&str, bool)] = &[
    ("v5.channel.k8s.io", false),
    ("v4.channel.k8s.io", false),
    ("v4.base64.channel.k8s.io", true),
    ("channel.k8s.io", false),
    ("base64.channel.k8s.io", true),
];

/// The close message golang.org/x/net/websocket sends: 1000 (normal closure), no
/// reason. Go clients read it as the end of every channel (a bare close, 1005, is an
/// error to them).
pub(crate) fn close_frame() -> Message {
    Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }))
}

/// What an ended session writes on its error stream: v4 and later a `metav1.Status`,
/// older protocols plain text; nothing for a client that went away.
fn status_text(
    outcome: &ExecOutcome,
    cmd: &[String],
    v4_status: bool,
    dialect: &Dialect,
) -> String {
    match outcome {
        ExecOutcome::Disconnected => String::new(),
        _ if v4_status => outcome.status_json(cmd, dialect.exec_status_metadata),
        _ => outcome.status_text(cmd),
    }
}

/// Records an ended exec or attach session in the journal.
fn record_session(
    runtime: &Runtime,
    target: &ExecTarget,
    transport: &'static str,
    protocol: &str,
    status: &str,
) {
    runtime.hooks.stream_ended(StreamSession {
        kind: match target.kind {
            SessionKind::Exec => "exec",
            SessionKind::Attach => "attach",
        },
        target: target.container_id.clone(),
        args: target.cmd.clone(),
        transport,
        protocol: protocol.to_owned(),
        status: status.to_owned(),
    });
}

/// The first of the client's protocols (in its order) that the server accepts.
fn negotiate<'a>(client: &[String], server: &[&'a str]) -> Option<&'a str> {
    client
        .iter()
        .find_map(|c| server.iter().find(|s| **s == c.as_str()).copied())
}

/// Answers a request that wants SPDY/3.1 with kubelet's `httpstream.Handshake`:
/// `X-Stream-Protocol-Version` negotiated against `server` (400 when missing, 403
/// when nothing is shared), the upgrade headers checked (400), then the `101`.
/// Returns the negotiated protocol once the connection is upgraded.
pub(crate) async fn spdy_handshake(
    stream: &mut TcpStream,
    request: &HttpRequest,
    server: &'static [&'static str],
    dialect: &'static Dialect,
) -> Option<&'static str> {
    let client = request.header_values(PROTOCOL_HEADER);
    if client.is_empty() {
        let body = dialect.stream_upgrade_refusal(request.go_header_count());
        let _ = stream
            .write_all(http_error("400 Bad Request", "", &body).as_bytes())
            .await;
        let _ = stream.shutdown().await;
        return None;
    }
    let Some(protocol) = negotiate(&client, server) else {
        let accepted: String = server
            .iter()
            .map(|p| format!("X-Accepted-Stream-Protocol-Versions: {p}\r\n"))
            .collect();
        let body = dialect.stream_negotiation_refusal(&client, server);
        let _ = stream
            .write_all(http_error("403 Forbidden", &accepted, &body).as_bytes())
            .await;
        let _ = stream.shutdown().await;
        return None;
    };
    let connection_ok = request
        .header("connection")
        .is_some_and(|c| c.to_ascii_lowercase().contains("upgrade"));
    let upgrade_ok = request
        .header("upgrade")
        .is_some_and(|u| u.to_ascii_lowercase().contains("spdy/3.1"));
    if !connection_ok || !upgrade_ok {
        let body = format!(
            "unable to upgrade: missing upgrade headers in request: {}\n",
            request.go_header_dump()
        );
        let _ = stream
            .write_all(http_error("400 Bad Request", "", &body).as_bytes())
            .await;
        let _ = stream.shutdown().await;
        return None;
    }
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n{PROTOCOL_HEADER}: {protocol}\r\n\r\n"
    );
    stream.write_all(response.as_bytes()).await.ok()?;
    Some(protocol)
}

/// Serves one exec or attach URL on `stream`, whose request head has been read
/// (`rest` holds what the client sent after it).
pub(crate) async fn serve_exec(
    mut stream: TcpStream,
    rest: BytesMut,
    request: HttpRequest,
    target: ExecTarget,
    runtime: Arc<Runtime>,
    dialect: &'static Dialect,
) {
    if request.is_websocket() {
        return serve_exec_websocket(stream, rest, request, target, runtime).await;
    }
    let Some(protocol) = spdy_handshake(
        &mut stream,
        &request,
        dialect.exec_stream_protocols,
        dialect,
    )
    .await
    else {
        return;
    };
    serve_exec_spdy(stream, rest, protocol, target, runtime).await;
}

/// An upgraded SPDY connection: frames to send, and the peer's stream frames
/// (SYN_STREAM, DATA, RST_STREAM). The reader answers pings, grants flow-control
/// window back as data arrives, resets bad streams and ends the connection on a
/// session error or GOAWAY (the frame channel then closes).
pub(crate) struct SpdyConn {
    pub(crate) frames: mpsc::Sender<Frame>,
    pub(crate) events: mpsc::Receiver<Frame>,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl SpdyConn {
    pub(crate) fn new(stream: TcpStream, rest: BytesMut, tasks: &TaskTracker) -> SpdyConn {
        let (mut reader, mut writer) = stream.into_split();
        let (frames_tx, mut frames_rx) = mpsc::channel::<Frame>(64);
        let writer_task = tasks.spawn(async move {
            let mut codec = Codec::new();
            let mut out = BytesMut::new();
            while let Some(frame) = frames_rx.recv().await {
                out.clear();
                if codec.encode(&frame, &mut out).is_err() {
                    break;
                }
                if writer.write_all(&out).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        let (events_tx, events) = mpsc::channel::<Frame>(64);
        let frames = frames_tx.clone();
        let reader_task = tasks.spawn(async move {
            let mut codec = Codec::new();
            let mut buf = rest;
            let mut last_id = 0u32;
            'conn: loop {
                loop {
                    let frame = match codec.decode(&mut buf) {
                        Ok(Some(frame)) => frame,
                        Ok(None) => break,
                        Err(SpdyError::Session { status, .. }) => {
                            let _ = frames
                                .send(Frame::GoAway {
                                    last_good_stream_id: last_id,
                                    status,
                                })
                                .await;
                            break 'conn;
                        }
                        Err(SpdyError::Stream { stream_id, status }) => {
                            let _ = frames.send(Frame::RstStream { stream_id, status }).await;
                            continue;
                        }
                    };
                    match frame {
                        Frame::SynStream { stream_id, .. }
                            if stream_id % 2 == 0 || stream_id <= last_id =>
                        {
                            let _ = frames
                                .send(Frame::RstStream {
                                    stream_id,
                                    status: spdy::PROTOCOL_ERROR,
                                })
                                .await;
                        }
                        Frame::SynStream { stream_id, .. } => {
                            last_id = stream_id;
                            if events_tx.send(frame).await.is_err() {
                                break 'conn;
                            }
                        }
                        Frame::Data {
                            stream_id,
                            ref data,
                            ..
                        } => {
                            if !data.is_empty() {
                                let delta = data.len() as u32;
                                let _ = frames.send(Frame::WindowUpdate { stream_id, delta }).await;
                                let _ = frames
                                    .send(Frame::WindowUpdate {
                                        stream_id: 0,
                                        delta,
                                    })
                                    .await;
                            }
                            if events_tx.send(frame).await.is_err() {
                                break 'conn;
                            }
                        }
                        Frame::RstStream { .. } => {
                            if events_tx.send(frame).await.is_err() {
                                break 'conn;
                            }
                        }
                        Frame::Ping { id } => {
                            if id % 2 == 1 {
                                let _ = frames.send(Frame::Ping { id }).await;
                            }
                        }
                        Frame::GoAway { .. } => break 'conn,
                        Frame::SynReply { .. }
                        | Frame::Headers { .. }
                        | Frame::Settings { .. }
                        | Frame::WindowUpdate { .. }
                        | Frame::Unknown { .. } => {}
                    }
                }
                if buf.capacity() - buf.len() < 4096 {
                    buf.reserve(16 * 1024);
                }
                match reader.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        });
        SpdyConn {
            frames: frames_tx,
            events,
            reader: reader_task,
            writer: writer_task,
        }
    }

    /// The peer's stream frames (taken once; later calls get a closed channel).
    pub(crate) fn take_events(&mut self) -> mpsc::Receiver<Frame> {
        std::mem::replace(&mut self.events, mpsc::channel(1).1)
    }

    /// Sends `data` on `stream_id` in frames of at most 32 KiB; `false` once the
    /// connection is gone.
    pub(crate) async fn send_data(
        frames: &mpsc::Sender<Frame>,
        stream_id: u32,
        data: &Bytes,
    ) -> bool {
        for chunk in data.chunks(MAX_DATA_CHUNK) {
            let frame = Frame::Data {
                stream_id,
                flags: 0,
                data: data.slice_ref(chunk),
            };
            if frames.send(frame).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Stops reading, sends what is queued and closes the connection.
    pub(crate) async fn close(self) {
        self.reader.abort();
        drop(self.frames);
        drop(self.events);
        let _ = self.writer.await;
    }
}

/// The stream ids of an exec's SPDY streams.
#[derive(Debug, Default, Clone, Copy)]
struct SpdyStreams {
    error: Option<u32>,
    stdin: Option<u32>,
    stdout: Option<u32>,
    stderr: Option<u32>,
    resize: Option<u32>,
}

impl SpdyStreams {
    fn complete(&self, target: &ExecTarget, resize_expected: bool) -> bool {
        self.error.is_some()
            && (!target.stdin || self.stdin.is_some())
            && (!target.stdout || self.stdout.is_some())
            && (!target.stderr || target.tty || self.stderr.is_some())
            && (!(target.tty && resize_expected) || self.resize.is_some())
    }
}

async fn serve_exec_spdy(
    stream: TcpStream,
    rest: BytesMut,
    protocol: &'static str,
    target: ExecTarget,
    runtime: Arc<Runtime>,
) {
    let mut conn = SpdyConn::new(stream, rest, &runtime.tasks);
    let mut events = conn.take_events();
    let frames_tx = conn.frames.clone();
    // v3 and later open a resize stream with a tty (v1/v2 have none).
    let resize_expected = !matches!(protocol, "channel.k8s.io" | "v2.channel.k8s.io");
    let v4_status = matches!(protocol, "v4.channel.k8s.io" | "v5.channel.k8s.io");
    let gone = CancellationToken::new();
    let (ready_tx, ready_rx) = oneshot::channel::<SpdyStreams>();
    let (stdin_tx, stdin_rx) = mpsc::channel::<Bytes>(16);
    let window = runtime.session_window(&target);
    let resized = window.clone();
    let streams_task = {
        let frames = frames_tx.clone();
        let gone = gone.clone();
        let target = target.clone();
        runtime.tasks.spawn(async move {
            let mut streams = SpdyStreams::default();
            let mut ready = Some(ready_tx);
            let mut stdin_tx = Some(stdin_tx);
            let mut resize_buf = Vec::new();
            while let Some(frame) = events.recv().await {
                match frame {
                    Frame::SynStream {
                        stream_id, headers, ..
                    } => {
                        let _ = frames
                            .send(Frame::SynReply {
                                stream_id,
                                flags: 0,
                                headers: Vec::new(),
                            })
                            .await;
                        let slot = match spdy::header(&headers, "streamtype") {
                            Some("error") => &mut streams.error,
                            Some("stdin") => &mut streams.stdin,
                            Some("stdout") => &mut streams.stdout,
                            Some("stderr") => &mut streams.stderr,
                            Some("resize") => &mut streams.resize,
                            _ => continue,
                        };
                        if slot.is_none() {
                            *slot = Some(stream_id);
                        }
                        if streams.complete(&target, resize_expected)
                            && let Some(tx) = ready.take()
                        {
                            let _ = tx.send(streams);
                        }
                    }
                    Frame::Data {
                        stream_id,
                        flags,
                        data,
                    } => {
                        if Some(stream_id) == streams.stdin {
                            if let Some(tx) = &stdin_tx
                                && !data.is_empty()
                                && tx.send(data).await.is_err()
                            {
                                stdin_tx = None;
                            }
                            if flags & FLAG_FIN != 0 {
                                stdin_tx = None;
                            }
                        } else if Some(stream_id) == streams.resize {
                            resize_buf.extend_from_slice(&data);
                            let mut sizes = serde_json::Deserializer::from_slice(&resize_buf)
                                .into_iter::<TermSize>();
                            let mut used = 0;
                            while let Some(Ok(size)) = sizes.next() {
                                used = sizes.byte_offset();
                                resized.set(size.height, size.width);
                            }
                            resize_buf.drain(..used);
                            if resize_buf.len() > MAX_RESIZE_BUFFER {
                                resize_buf.clear();
                            }
                        }
                    }
                    Frame::RstStream { stream_id, .. } if Some(stream_id) == streams.stdin => {
                        stdin_tx = None;
                    }
                    _ => {}
                }
            }
            gone.cancel();
        })
    };
    let streams = tokio::select! {
        ready = tokio::time::timeout(runtime.settings.stream_creation_timeout, ready_rx) => match ready {
            Ok(Ok(streams)) => Some(streams),
            _ => None,
        },
        () = gone.cancelled() => None,
    };
    let Some(streams) = streams else {
        // kubelet: "timed out waiting for client to create streams"; the connection
        // just closes.
        streams_task.abort();
        drop(frames_tx);
        conn.close().await;
        return;
    };
    let (out_tx, mut out_rx) = mpsc::channel::<(OutChannel, Bytes)>(16);
    let io = ExecIo {
        stdin: target.stdin.then_some(stdin_rx),
        window,
        out: out_tx,
    };
    let cmd = target.cmd.clone();
    let recorded = target.clone();
    let exec = runtime.clone().stream_session(target, io, gone.clone());
    let forward = {
        let frames = frames_tx.clone();
        async move {
            while let Some((channel, data)) = out_rx.recv().await {
                let Some(stream_id) = (match channel {
                    OutChannel::Stdout => streams.stdout,
                    OutChannel::Stderr => streams.stderr,
                }) else {
                    continue;
                };
                if !SpdyConn::send_data(&frames, stream_id, &data).await {
                    return;
                }
            }
        }
    };
    let (outcome, ()) = tokio::join!(exec, forward);
    let text = status_text(&outcome, &cmd, v4_status, runtime.dialect());
    record_session(&runtime, &recorded, "spdy", protocol, &text);
    if outcome != ExecOutcome::Disconnected {
        for id in [streams.stdout, streams.stderr].into_iter().flatten() {
            let _ = frames_tx
                .send(Frame::Data {
                    stream_id: id,
                    flags: FLAG_FIN,
                    data: Bytes::new(),
                })
                .await;
        }
        if let Some(id) = streams.error {
            if !text.is_empty() {
                let _ = frames_tx
                    .send(Frame::Data {
                        stream_id: id,
                        flags: 0,
                        data: Bytes::from(text),
                    })
                    .await;
            }
            // kubelet closes the connection without finishing the error stream:
            // spdystream resets it (measured on containerd 1.6).
            let _ = frames_tx
                .send(Frame::RstStream {
                    stream_id: id,
                    status: spdy::CANCEL,
                })
                .await;
        }
        let last_good_stream_id = [
            streams.error,
            streams.stdin,
            streams.stdout,
            streams.stderr,
            streams.resize,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        let _ = frames_tx
            .send(Frame::GoAway {
                last_good_stream_id,
                status: 0,
            })
            .await;
    }
    streams_task.abort();
    drop(frames_tx);
    conn.close().await;
}

/// The channel framing of a WebSocket remote-command or port-forward session: one
/// message per write, its first byte the channel; the `base64.` protocols send text,
/// the channel as a digit and the data base64.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WsChannels {
    base64: bool,
}

/// A client message, as a session reads it.
pub(crate) enum WsFrame {
    /// The channel byte, then the data.
    Data(Vec<u8>),
    /// The client closed.
    Close,
    /// Nothing for the session (pings, undecodable text).
    Skip,
}

impl WsChannels {
    /// `data` on `channel`.
    pub(crate) fn encode(self, channel: u8, data: &[u8]) -> Message {
        if self.base64 {
            let mut text = String::with_capacity(1 + data.len() * 4 / 3 + 4);
            text.push(char::from(b'0' + channel));
            base64::engine::general_purpose::STANDARD.encode_string(data, &mut text);
            Message::text(text)
        } else {
            let mut bytes = Vec::with_capacity(1 + data.len());
            bytes.push(channel);
            bytes.extend_from_slice(data);
            Message::binary(bytes)
        }
    }

    /// A client message as channel byte and data.
    pub(crate) fn decode(self, message: Message) -> WsFrame {
        match message {
            Message::Binary(data) if !self.base64 => WsFrame::Data(data.to_vec()),
            // x/net/websocket hands text frames to a []byte reader as they are:
            // clients such as the Python kubernetes client send stdin as text.
            Message::Text(text) if !self.base64 => WsFrame::Data(text.as_bytes().to_vec()),
            Message::Text(text) => {
                let text = text.as_str();
                let Some(ch) = text.as_bytes().first().copied() else {
                    return WsFrame::Skip;
                };
                let Ok(mut data) =
                    base64::engine::general_purpose::STANDARD.decode(text.get(1..).unwrap_or(""))
                else {
                    return WsFrame::Skip;
                };
                data.insert(0, ch.wrapping_sub(b'0'));
                WsFrame::Data(data)
            }
            Message::Close(_) => WsFrame::Close,
            _ => WsFrame::Skip,
        }
    }
}

/// Answers a WebSocket upgrade as kubelet's `wsstream` does: the first of the
/// client's `Sec-WebSocket-Protocol`s that `protocols` lists (none offered: binary
/// with no protocol), or golang.org/x/net/websocket's bare 403.
pub(crate) async fn websocket_upgrade(
    mut stream: TcpStream,
    rest: BytesMut,
    request: &HttpRequest,
    protocols: &'static [(&'static str, bool)],
) -> Option<(WebSocketStream<TcpStream>, &'static str, WsChannels)> {
    let offered = request.header_values("sec-websocket-protocol");
    let chosen = if offered.is_empty() {
        Some(("", false))
    } else {
        offered
            .iter()
            .find_map(|o| protocols.iter().find(|(p, _)| *p == o.as_str()).copied())
    };
    let key = request.header("sec-websocket-key");
    let (Some((protocol, base64)), Some(key)) = (chosen, key) else {
        let _ = stream.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
        let _ = stream.shutdown().await;
        return None;
    };
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let protocol_line = if protocol.is_empty() {
        String::new()
    } else {
        format!("Sec-WebSocket-Protocol: {protocol}\r\n")
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{protocol_line}\r\n"
    );
    stream.write_all(response.as_bytes()).await.ok()?;
    let ws = WebSocketStream::from_partially_read(stream, rest.to_vec(), Role::Server, None).await;
    Some((ws, protocol, WsChannels { base64 }))
}

async fn serve_exec_websocket(
    stream: TcpStream,
    rest: BytesMut,
    request: HttpRequest,
    target: ExecTarget,
    runtime: Arc<Runtime>,
) {
    let Some((ws, protocol, channels)) =
        websocket_upgrade(stream, rest, &request, WS_PROTOCOLS).await
    else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let v4_status = protocol.starts_with("v4.") || protocol.starts_with("v5.");
    let v5 = protocol.starts_with("v5.");
    let encode = move |channel: u8, data: &[u8]| channels.encode(channel, data);
    // The empty message on the lowest writable channel tells the client it is open.
    let first = if target.stdout || target.tty {
        1
    } else if target.stderr {
        2
    } else {
        3
    };
    if sink.send(encode(first, &[])).await.is_err() {
        return;
    }
    let gone = CancellationToken::new();
    let (stdin_tx, stdin_rx) = mpsc::channel::<Bytes>(16);
    let window = runtime.session_window(&target);
    let resized = window.clone();
    let reader_task = {
        let gone = gone.clone();
        runtime.tasks.spawn(async move {
            let mut stdin_tx = Some(stdin_tx);
            while let Some(Ok(message)) = source.next().await {
                let raw = match channels.decode(message) {
                    WsFrame::Data(raw) => raw,
                    WsFrame::Close => break,
                    WsFrame::Skip => continue,
                };
                let Some((&channel, data)) = raw.split_first() else {
                    continue;
                };
                match channel {
                    0 => {
                        if let Some(tx) = &stdin_tx
                            && !data.is_empty()
                            && tx.send(Bytes::copy_from_slice(data)).await.is_err()
                        {
                            stdin_tx = None;
                        }
                    }
                    4 => {
                        if let Ok(size) = serde_json::from_slice::<TermSize>(data) {
                            resized.set(size.height, size.width);
                        }
                    }
                    255 if v5 && data.first() == Some(&0) => {
                        stdin_tx = None;
                    }
                    _ => {}
                }
            }
            gone.cancel();
        })
    };
    let (out_tx, mut out_rx) = mpsc::channel::<(OutChannel, Bytes)>(16);
    let io = ExecIo {
        stdin: target.stdin.then_some(stdin_rx),
        window,
        out: out_tx,
    };
    let cmd = target.cmd.clone();
    let recorded = target.clone();
    let exec = runtime.clone().stream_session(target, io, gone.clone());
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
    let forward = {
        let sink_tx = sink_tx.clone();
        async move {
            while let Some((channel, data)) = out_rx.recv().await {
                let ch = match channel {
                    OutChannel::Stdout => 1,
                    OutChannel::Stderr => 2,
                };
                if sink_tx.send(encode(ch, &data)).await.is_err() {
                    return;
                }
            }
        }
    };
    let (outcome, ()) = tokio::join!(exec, forward);
    let text = status_text(&outcome, &cmd, v4_status, runtime.dialect());
    record_session(&runtime, &recorded, "websocket", protocol, &text);
    // Nothing for a client that went away (its status text is empty).
    if !text.is_empty() {
        let _ = sink_tx.send(encode(3, text.as_bytes())).await;
    }
    drop(sink_tx);
    let _ = writer.await;
    reader_task.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_takes_the_clients_first_supported_protocol() {
        let server = ["v4.channel.k8s.io", "v3.channel.k8s.io"];
        let client = vec![
            "v3.channel.k8s.io".to_owned(),
            "v4.channel.k8s.io".to_owned(),
        ];
        assert_eq!(negotiate(&client, &server), Some("v3.channel.k8s.io"));
        assert_eq!(negotiate(&["v9".to_owned()], &server), None);
    }
}
