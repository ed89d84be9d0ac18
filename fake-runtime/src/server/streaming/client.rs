//! A small client of streaming servers (the fake's or containerd's): the HTTP
//! request and upgrade, and the client half of SPDY/3.1 over the same codec. The
//! tests and the conformance suite drive Exec, Attach and PortForward URLs with it.
//!
//! ```no_run
//! # async fn demo(url: &str) -> std::io::Result<()> {
//! use cri_fake::streaming::client::SpdyClient;
//! // `url` is what an Exec RPC with stdout set returned.
//! let (mut client, _head) = SpdyClient::connect(url, "v4.channel.k8s.io").await?;
//! let error = client.open("error").await?;
//! let stdout = client.open("stdout").await?;
//! client.finish().await?;
//! println!("{} / {}", client.text(stdout), client.text(error));
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::io;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::spdy::{Codec, FLAG_FIN, Frame};

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// `http://HOST:PORT/PATH` as (`HOST:PORT`, `/PATH`).
pub fn split_url(url: &str) -> io::Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("not an http URL: {url}")))?;
    let slash = rest
        .find('/')
        .ok_or_else(|| invalid(format!("no path in {url}")))?;
    Ok((rest[..slash].to_owned(), rest[slash..].to_owned()))
}

/// Sends a GET of `url` with `headers` (each `Name: value`) and reads the response
/// head: (head, the connection, bytes read past the head).
pub async fn request(url: &str, headers: &[&str]) -> io::Result<(String, TcpStream, BytesMut)> {
    let (addr, path) = split_url(url)?;
    let mut stream = TcpStream::connect(&addr).await?;
    let mut text = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes()).await?;
    let mut buf = BytesMut::new();
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = buf.split_to(pos + 4);
            return Ok((String::from_utf8_lossy(&head).into_owned(), stream, buf));
        }
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(invalid("connection closed before a response head"));
        }
    }
}

/// A plain HTTP exchange: (status line, head, body: `Content-Length` bytes, or what
/// comes until the server closes).
pub async fn plain(url: &str, headers: &[&str]) -> io::Result<(String, String, String)> {
    let (head, mut stream, mut rest) = request(url, headers).await?;
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())
            .flatten()
    });
    match length {
        Some(length) => {
            while rest.len() < length {
                if stream.read_buf(&mut rest).await? == 0 {
                    break;
                }
            }
            rest.truncate(length);
        }
        None => {
            let mut body = Vec::new();
            // A reset after the body is still the end of it.
            let _ = stream.read_to_end(&mut body).await;
            rest.extend_from_slice(&body);
        }
    }
    let status = head.lines().next().unwrap_or("").to_owned();
    Ok((status, head, String::from_utf8_lossy(&rest).into_owned()))
}

/// The client half of a SPDY/3.1 connection: it opens streams, writes data, and
/// records what the server sends per stream.
#[derive(Debug)]
pub struct SpdyClient {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    encoder: Codec,
    decoder: Codec,
    buf: BytesMut,
    next_id: u32,
    /// Data received per stream.
    pub data: HashMap<u32, Vec<u8>>,
    /// Streams the server finished (FIN), in order.
    pub finished: Vec<u32>,
    /// Streams the server reset, in order.
    pub reset: Vec<u32>,
    /// Streams this client has ended (sent FIN on).
    closed: Vec<u32>,
    /// Whether GOAWAY arrived.
    pub goaway: bool,
}

impl SpdyClient {
    /// Upgrades `url` to SPDY/3.1 offering `protocol` as `X-Stream-Protocol-Version`;
    /// an answer other than `101` is an error carrying the response head.
    pub async fn connect(url: &str, protocol: &str) -> io::Result<(SpdyClient, String)> {
        let version = format!("X-Stream-Protocol-Version: {protocol}");
        let (head, stream, rest) =
            request(url, &["Connection: Upgrade", "Upgrade: SPDY/3.1", &version]).await?;
        if !head.starts_with("HTTP/1.1 101 ") {
            return Err(invalid(head));
        }
        let (reader, writer) = stream.into_split();
        let client = SpdyClient {
            reader,
            writer,
            encoder: Codec::new(),
            decoder: Codec::new(),
            buf: rest,
            next_id: 1,
            data: HashMap::new(),
            finished: Vec::new(),
            reset: Vec::new(),
            closed: Vec::new(),
            goaway: false,
        };
        Ok((client, head))
    }

    /// Sends a frame.
    pub async fn frame(&mut self, frame: Frame) -> io::Result<()> {
        let mut out = BytesMut::new();
        self.encoder
            .encode(&frame, &mut out)
            .map_err(|e| invalid(format!("{e:?}")))?;
        self.writer.write_all(&out).await
    }

    /// Opens a stream whose `streamtype` is `stream_type`; returns its id.
    pub async fn open(&mut self, stream_type: &str) -> io::Result<u32> {
        self.open_with(&[("streamtype", stream_type)]).await
    }

    /// Opens a stream with these headers (names in lower case, as SPDY/3 sends them);
    /// returns its id.
    pub async fn open_with(&mut self, headers: &[(&str, &str)]) -> io::Result<u32> {
        let id = self.next_id;
        self.next_id += 2;
        self.frame(Frame::SynStream {
            stream_id: id,
            associated_to: 0,
            priority: 0,
            flags: 0,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
        .await?;
        Ok(id)
    }

    /// Sends `data` on stream `id`, with FIN (the end of what the client sends on
    /// it) if `fin`.
    pub async fn write(&mut self, id: u32, data: &[u8], fin: bool) -> io::Result<()> {
        if fin {
            self.closed.push(id);
        }
        self.frame(Frame::Data {
            stream_id: id,
            flags: if fin { FLAG_FIN } else { 0 },
            data: Bytes::copy_from_slice(data),
        })
        .await
    }

    /// The next frame from the server (its data, FIN, reset and GOAWAY recorded), or
    /// `None` once the connection has ended. A stream the server finishes is closed
    /// from this side too, as Go's spdystream clients do: kubelet's server closes the
    /// connection only once every stream is closed both ways.
    pub async fn next(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let decoded = self
                .decoder
                .decode(&mut self.buf)
                .map_err(|e| invalid(format!("{e:?}")))?;
            if let Some(frame) = decoded {
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
                            if !self.closed.contains(stream_id) {
                                // A server already gone does not need it.
                                let _ = self.write(*stream_id, &[], true).await;
                            }
                        }
                    }
                    Frame::GoAway { .. } => self.goaway = true,
                    Frame::RstStream { stream_id, .. } => self.reset.push(*stream_id),
                    _ => {}
                }
                return Ok(Some(frame));
            }
            match self.reader.read_buf(&mut self.buf).await {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                // A server that has said all it will closes the connection; frames
                // this client sends meanwhile (the FINs above) make the kernel answer
                // with a reset, which ends the connection like a close does. What
                // arrived before it is in `data`, `finished` and `reset`.
                Err(e) if self.goaway || e.kind() == io::ErrorKind::ConnectionReset => {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads frames until `done` holds; an error if the connection ends first.
    pub async fn until(&mut self, mut done: impl FnMut(&SpdyClient) -> bool) -> io::Result<()> {
        while !done(self) {
            if self.next().await?.is_none() {
                return Err(invalid("the connection ended first"));
            }
        }
        Ok(())
    }

    /// Reads until the connection ends.
    pub async fn finish(&mut self) -> io::Result<()> {
        while self.next().await?.is_some() {}
        Ok(())
    }

    /// What stream `id` carried, as text.
    pub fn text(&self, id: u32) -> String {
        String::from_utf8_lossy(self.data.get(&id).map_or(&[][..], |d| &d[..])).into_owned()
    }
}
