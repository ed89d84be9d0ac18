//! The streaming client for the tests: the library's SPDY client
//! (`cri_fake::streaming::client`) with panicking shortcuts, and WebSocket over
//! tokio-tungstenite.

use std::ops::{Deref, DerefMut};

use cri_fake::streaming::client;
use cri_fake::streaming::spdy::Frame;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// `http://127.0.0.1:PORT/PATH` as (address, path).
pub(crate) fn split_url(url: &str) -> (String, String) {
    client::split_url(url).expect("http url")
}

/// A plain HTTP exchange: (status line, head, body read to EOF).
pub(crate) async fn plain(url: &str, headers: &[&str]) -> (String, String, String) {
    client::plain(url, headers).await.expect("HTTP exchange")
}

/// The library's SPDY client; every call panics on an I/O error.
pub(crate) struct SpdyClient(client::SpdyClient);

impl Deref for SpdyClient {
    type Target = client::SpdyClient;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for SpdyClient {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl SpdyClient {
    /// Upgrades `url` to SPDY/3.1 offering `protocol`; panics unless the answer is 101.
    pub(crate) async fn connect(url: &str, protocol: &str) -> (SpdyClient, String) {
        let (client, head) = client::SpdyClient::connect(url, protocol)
            .await
            .expect("SPDY upgrade");
        (SpdyClient(client), head)
    }

    pub(crate) async fn open(&mut self, stream_type: &str) -> u32 {
        self.0.open(stream_type).await.expect("open stream")
    }

    pub(crate) async fn open_with(&mut self, headers: &[(&str, &str)]) -> u32 {
        self.0.open_with(headers).await.expect("open stream")
    }

    pub(crate) async fn write(&mut self, id: u32, data: &[u8], fin: bool) {
        self.0.write(id, data, fin).await.expect("write");
    }

    pub(crate) async fn frame(&mut self, frame: Frame) {
        self.0.frame(frame).await.expect("frame");
    }

    pub(crate) async fn next(&mut self) -> Option<Frame> {
        self.0.next().await.expect("server frame")
    }

    /// Reads frames until stream `id`'s data ends with `suffix`.
    pub(crate) async fn read_until(&mut self, id: u32, suffix: &[u8]) {
        let suffix = suffix.to_vec();
        self.0
            .until(|c| c.data.get(&id).is_some_and(|d| d.ends_with(&suffix)))
            .await
            .unwrap_or_else(|e| panic!("{e} before {:?}", String::from_utf8_lossy(&suffix)));
    }

    pub(crate) async fn finish(&mut self) {
        self.0.finish().await.expect("read to the end");
    }
}

/// A WebSocket client session: connects offering `protocols`.
pub(crate) async fn websocket(
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
pub(crate) async fn ws_messages(
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
pub(crate) async fn ws_send(
    ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    channel: u8,
    data: &[u8],
) {
    let mut bytes = vec![channel];
    bytes.extend_from_slice(data);
    ws.send(Message::binary(bytes)).await.expect("send");
}

/// Everything `channel` carried, joined.
pub(crate) fn channel_text(messages: &[(u8, Vec<u8>)], channel: u8) -> String {
    let joined: Vec<u8> = messages
        .iter()
        .filter(|(c, _)| *c == channel)
        .flat_map(|(_, d)| d.clone())
        .collect();
    String::from_utf8_lossy(&joined).into_owned()
}
