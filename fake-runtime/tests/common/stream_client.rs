//! A small client side of the streaming server for the tests: raw HTTP, SPDY/3.1 over
//! the fake's own codec (the client half of it), and WebSocket over tokio-tungstenite.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use cri_fake::streaming::spdy::{Codec, FLAG_FIN, Frame};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// `http://127.0.0.1:PORT/PATH` as (address, path).
pub fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("http url");
    let slash = rest.find('/').expect("path");
    (rest[..slash].to_owned(), rest[slash..].to_owned())
}

/// Sends `headers` (each `Name: value`) as a GET of `url` and reads the response head;
/// returns (head, stream, bytes read past the head).
pub async fn request(url: &str, headers: &[&str]) -> (String, TcpStream, BytesMut) {
    let (addr, path) = split_url(url);
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let mut text = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).await.expect("write");
    let mut buf = BytesMut::new();
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf.split_to(pos + 4);
            return (String::from_utf8_lossy(&head).into_owned(), stream, buf);
        }
        let n = stream.read_buf(&mut buf).await.expect("read");
        assert!(n > 0, "connection closed before a response head: {buf:?}");
    }
}

/// A plain HTTP exchange: (status line, head, body read to EOF).
pub async fn plain(url: &str, headers: &[&str]) -> (String, String, String) {
    let (head, mut stream, mut rest) = request(url, headers).await;
    let mut body = Vec::new();
    let _ = stream.read_to_end(&mut body).await;
    rest.extend_from_slice(&body);
    let status = head.lines().next().unwrap_or("").to_owned();
    (status, head, String::from_utf8_lossy(&rest).into_owned())
}

/// The client half of a SPDY/3.1 connection.
pub struct SpdyClient {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    encoder: Codec,
    decoder: Codec,
    buf: BytesMut,
    next_id: u32,
    /// Data received per stream.
    pub data: HashMap<u32, Vec<u8>>,
    /// Streams the server finished (FIN).
    pub finished: Vec<u32>,
    /// Streams the server reset.
    pub reset: Vec<u32>,
    /// Whether GOAWAY arrived.
    pub goaway: bool,
}

impl SpdyClient {
    /// Upgrades `url` to SPDY/3.1 offering `protocol`; panics unless the answer is 101.
    /// Returns the client and the response head.
    pub async fn connect(url: &str, protocol: &str) -> (SpdyClient, String) {
        let version = format!("X-Stream-Protocol-Version: {protocol}");
        let (head, stream, rest) =
            request(url, &["Connection: Upgrade", "Upgrade: SPDY/3.1", &version]).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        let (reader, writer) = stream.into_split();
        (
            SpdyClient {
                reader,
                writer,
                encoder: Codec::new(),
                decoder: Codec::new(),
                buf: rest,
                next_id: 1,
                data: HashMap::new(),
                finished: Vec::new(),
                reset: Vec::new(),
                goaway: false,
            },
            head,
        )
    }

    async fn send(&mut self, frame: Frame) {
        let mut out = BytesMut::new();
        self.encoder.encode(&frame, &mut out).expect("encode");
        self.writer.write_all(&out).await.expect("write frame");
    }

    /// Opens a stream of `stream_type`; returns its id.
    pub async fn open(&mut self, stream_type: &str) -> u32 {
        self.open_with(&[("streamtype", stream_type)]).await
    }

    /// Opens a stream with these headers; returns its id.
    pub async fn open_with(&mut self, headers: &[(&str, &str)]) -> u32 {
        let id = self.next_id;
        self.next_id += 2;
        self.send(Frame::SynStream {
            stream_id: id,
            associated_to: 0,
            priority: 0,
            flags: 0,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
        .await;
        id
    }

    /// Sends `data` on `id`, with FIN if `fin`.
    pub async fn write(&mut self, id: u32, data: &[u8], fin: bool) {
        self.send(Frame::Data {
            stream_id: id,
            flags: if fin { FLAG_FIN } else { 0 },
            data: Bytes::copy_from_slice(data),
        })
        .await;
    }

    /// Sends a raw frame.
    pub async fn frame(&mut self, frame: Frame) {
        self.send(frame).await;
    }

    /// The next frame from the server (data recorded), or `None` at EOF.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.buf).expect("server frame") {
                match &frame {
                    Frame::Data {
                        stream_id,
                        flags,
                        data,
                    } => {
                        self.data
                            .entry(*stream_id)
                            .or_default()
                            .extend_from_slice(data);
                        if flags & FLAG_FIN != 0 {
                            self.finished.push(*stream_id);
                        }
                    }
                    Frame::GoAway { .. } => self.goaway = true,
                    Frame::RstStream { stream_id, .. } => self.reset.push(*stream_id),
                    _ => {}
                }
                return Some(frame);
            }
            let n = self.reader.read_buf(&mut self.buf).await.ok()?;
            if n == 0 {
                return None;
            }
        }
    }

    /// Reads frames until stream `id`'s data ends with `suffix`.
    pub async fn read_until(&mut self, id: u32, suffix: &[u8]) {
        while !self.data.get(&id).is_some_and(|d| d.ends_with(suffix)) {
            assert!(
                self.next().await.is_some(),
                "EOF before {:?}; got {:?}",
                String::from_utf8_lossy(suffix),
                self.text(id)
            );
        }
    }

    /// Reads until the connection ends.
    pub async fn finish(&mut self) {
        while self.next().await.is_some() {}
    }

    /// What stream `id` carried, as text.
    pub fn text(&self, id: u32) -> String {
        String::from_utf8_lossy(self.data.get(&id).map_or(&[][..], |d| &d[..])).into_owned()
    }
}

/// A WebSocket client session: connects offering `protocols`.
pub async fn websocket(
    url: &str,
    protocols: &str,
) -> (
    tokio_tungstenite::WebSocketStream<TcpStream>,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    let (addr, _) = split_url(url);
    let ws_url = url.replacen("http://", "ws://", 1);
    let mut request = ws_url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocols.parse().expect("header"));
    let stream = TcpStream::connect(&addr).await.expect("connect");
    tokio_tungstenite::client_async(request, stream)
        .await
        .expect("websocket handshake")
}

/// Reads binary channel messages until the server closes (asserting it closes with
/// 1000): the messages in order, as (channel, data).
pub async fn ws_messages(
    ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Binary(data) => {
                if let Some((&ch, rest)) = data.split_first() {
                    out.push((ch, rest.to_vec()));
                }
            }
            Message::Text(text) => {
                let text = text.as_str();
                out.push((text.as_bytes()[0], text.as_bytes()[1..].to_vec()));
            }
            Message::Close(frame) => {
                // Go clients read only 1000 (normal closure) as the end of the streams.
                let code = frame.map(|f| u16::from(f.code));
                assert_eq!(code, Some(1000), "the server closes with 1000");
                break;
            }
            _ => {}
        }
    }
    out
}

/// Sends a binary channel message.
pub async fn ws_send(
    ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    channel: u8,
    data: &[u8],
) {
    let mut bytes = vec![channel];
    bytes.extend_from_slice(data);
    ws.send(Message::binary(bytes)).await.expect("send");
}

/// Everything `channel` carried, joined.
pub fn channel_text(messages: &[(u8, Vec<u8>)], channel: u8) -> String {
    let joined: Vec<u8> = messages
        .iter()
        .filter(|(c, _)| *c == channel)
        .flat_map(|(_, d)| d.clone())
        .collect();
    String::from_utf8_lossy(&joined).into_owned()
}
