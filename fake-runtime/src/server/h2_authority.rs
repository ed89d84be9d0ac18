//! Accepting whatever HTTP/2 `:authority` a gRPC client sends, as containerd does.
//!
//! containerd's gRPC server (grpc-go) never validates `:authority`. The h2 server under
//! tonic does: a value that is not an RFC 3986 authority makes it reset the stream with
//! `PROTOCOL_ERROR` before any handler runs. grpc-core clients (Python grpcio, C++,
//! Ruby, PHP, C#) send the unix socket path, and grpc-java its percent-encoding, so every
//! call from them failed with `INTERNAL: Received RST_STREAM with error code 1`.
//!
//! [`AuthorityRewrite`] sits between the accepted socket and h2 on the client-to-server
//! side. It walks the client's frames and decodes the first header block with an HPACK
//! decoder. A gRPC channel sends one authority on every request of a connection, so the
//! first block decides: if h2 accepts its `:authority`, the connection flows unexamined
//! from then on (the cost for tonic, grpc-go and the like is one decoded block per
//! connection). If not, that block and every later one is decoded with the client's
//! dynamic table and re-encoded as literals (never touching the server's dynamic table,
//! which no longer mirrors the client's) with each refused authority replaced by
//! `localhost`. Nothing the fake does depends on `:authority`, so no information is lost.
//!
//! Bytes it cannot make sense of (a malformed frame, an undecodable block, a block over
//! [`MAX_HEADER_BLOCK`]) switch the connection to opaque pass-through: h2 then judges
//! them exactly as it would without this layer. Server-to-client bytes are never touched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::server::hpack_strings::{encode_string, plain_strings};

/// The client connection preface (RFC 9113 section 3.4).
const PREFACE_LEN: usize = 24;
/// Frame header length.
const FRAME_HEADER_LEN: usize = 9;
/// The smallest SETTINGS_MAX_FRAME_SIZE, the one h2 advertises: re-encoded blocks are
/// split into frames of at most this payload.
const MAX_FRAME_PAYLOAD: usize = 16_384;
/// The largest header block (all its frames) this layer buffers; a larger one passes
/// through unexamined for h2 to refuse.
pub(crate) const MAX_HEADER_BLOCK: usize = 1 << 20;
/// HPACK dynamic table size the client may use (h2 advertises the default 4096).
const HPACK_TABLE_SIZE: usize = 4096;
/// What a refused authority becomes.
const REPLACEMENT_AUTHORITY: &[u8] = b"localhost";

const FRAME_HEADERS: u8 = 0x1;
const FRAME_CONTINUATION: u8 = 0x9;
const FLAG_END_STREAM: u8 = 0x1;
const FLAG_END_HEADERS: u8 = 0x4;
const FLAG_PADDED: u8 = 0x8;
const FLAG_PRIORITY: u8 = 0x20;

/// A connection whose client-sent header blocks get an authority h2 accepts.
pub(crate) struct AuthorityRewrite<T> {
    inner: T,
    frames: FrameRewriter,
    eof: bool,
}

impl<T> AuthorityRewrite<T> {
    /// Wraps an accepted connection.
    pub(crate) fn new(inner: T) -> Self {
        Self {
            inner,
            frames: FrameRewriter::new(),
            eof: false,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for AuthorityRewrite<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.frames.passes_through() {
                // Nothing left to examine or hand over: read straight into h2's buffer.
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if !this.frames.ready.is_empty() {
                let n = this.frames.ready.len().min(buf.remaining());
                buf.put_slice(&this.frames.ready.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            this.frames.received.reserve(8 * 1024);
            let n = ready!(tokio_util::io::poll_read_buf(
                Pin::new(&mut this.inner),
                cx,
                &mut this.frames.received
            ))?;
            if n == 0 {
                this.eof = true;
                this.frames.give_up();
            } else {
                this.frames.scan();
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for AuthorityRewrite<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// How header blocks are forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Before the first header block: it is decoded and decides the mode.
    AsSent,
    /// Blocks are re-encoded as literals: a rewritten block dropped the client's table
    /// insertions, so the server's table no longer mirrors the client's.
    ReEncoded,
    /// The first block's authority was accepted, or something could not be parsed:
    /// every byte from here on flows unchanged.
    Opaque,
}

/// A header block being collected: its HEADERS frame and any CONTINUATIONs.
struct PendingBlock {
    stream_id: u32,
    /// END_STREAM and PRIORITY of the HEADERS frame.
    flags: u8,
    priority: Option<[u8; 5]>,
    /// The HPACK fragments, concatenated.
    fragment: Vec<u8>,
    /// The frames exactly as received.
    frames: BytesMut,
}

/// The client-to-server frame walk, independent of IO.
struct FrameRewriter {
    /// Bytes read from the client, not yet walked.
    received: BytesMut,
    /// Walked bytes for h2.
    ready: BytesMut,
    preface_left: usize,
    /// Payload bytes of the current frame that pass unexamined.
    verbatim_left: usize,
    block: Option<PendingBlock>,
    hpack: loona_hpack::Decoder<'static>,
    mode: Mode,
    /// Decoded names and values of the current block (reused).
    arena: Vec<u8>,
    fields: Vec<Field>,
}

/// A decoded header: name and value ranges in the arena.
struct Field {
    name: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

impl FrameRewriter {
    fn new() -> Self {
        let mut hpack = loona_hpack::Decoder::new();
        hpack.set_max_allowed_table_size(HPACK_TABLE_SIZE);
        Self {
            received: BytesMut::new(),
            ready: BytesMut::new(),
            preface_left: PREFACE_LEN,
            verbatim_left: 0,
            block: None,
            hpack,
            mode: Mode::AsSent,
            arena: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Whether every later byte flows unchanged and none is buffered here.
    fn passes_through(&self) -> bool {
        self.mode == Mode::Opaque && self.ready.is_empty() && self.received.is_empty()
    }

    /// Moves `n` received bytes to `ready` unchanged (no copy while they stay contiguous).
    fn pass(&mut self, n: usize) {
        let bytes = self.received.split_to(n);
        self.ready.unsplit(bytes);
    }

    /// Stops examining: whatever is buffered and everything later flows unchanged.
    fn give_up(&mut self) {
        if let Some(block) = self.block.take() {
            self.ready.unsplit(block.frames);
        }
        self.mode = Mode::Opaque;
        let n = self.received.len();
        self.pass(n);
    }

    /// Walks as many received bytes as form complete units.
    fn scan(&mut self) {
        loop {
            if self.mode == Mode::Opaque {
                let n = self.received.len();
                self.pass(n);
                return;
            }
            if self.preface_left > 0 || self.verbatim_left > 0 {
                let left = if self.preface_left > 0 {
                    &mut self.preface_left
                } else {
                    &mut self.verbatim_left
                };
                let n = (*left).min(self.received.len());
                *left -= n;
                let still = *left > 0;
                self.pass(n);
                if still {
                    return;
                }
                continue;
            }
            if self.received.len() < FRAME_HEADER_LEN {
                return;
            }
            let head = &self.received[..FRAME_HEADER_LEN];
            let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
            let kind = head[3];
            let flags = head[4];
            let stream_id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
            match (kind, self.block.as_ref()) {
                (FRAME_HEADERS, None) | (FRAME_CONTINUATION, Some(_)) => {
                    let collected = self.block.as_ref().map_or(0, |b| b.frames.len());
                    if length > MAX_FRAME_PAYLOAD
                        || collected + FRAME_HEADER_LEN + length > MAX_HEADER_BLOCK
                        || self
                            .block
                            .as_ref()
                            .is_some_and(|b| b.stream_id != stream_id)
                    {
                        return self.give_up();
                    }
                    if self.received.len() < FRAME_HEADER_LEN + length {
                        return;
                    }
                    let frame = self.received.split_to(FRAME_HEADER_LEN + length);
                    if !self.collect(kind, flags, stream_id, frame) {
                        return self.give_up();
                    }
                    if flags & FLAG_END_HEADERS != 0 {
                        self.finish_block();
                    }
                }
                // Anything else inside a header block is a connection error h2 reports.
                (_, Some(_)) => return self.give_up(),
                _ => {
                    self.verbatim_left = length;
                    self.pass(FRAME_HEADER_LEN);
                }
            }
        }
    }

    /// Adds one complete HEADERS or CONTINUATION frame to the pending block; false when
    /// its padding or priority fields do not fit (h2 then refuses the frame).
    fn collect(&mut self, kind: u8, flags: u8, stream_id: u32, frame: BytesMut) -> bool {
        let payload = &frame[FRAME_HEADER_LEN..];
        let mut start = 0;
        let mut end = payload.len();
        let mut priority = None;
        if kind == FRAME_HEADERS {
            if flags & FLAG_PADDED != 0 {
                let Some(&pad) = payload.first() else {
                    return false;
                };
                start = 1;
                end = match end.checked_sub(pad as usize) {
                    Some(end) => end,
                    None => return false,
                };
            }
            if flags & FLAG_PRIORITY != 0 {
                let Some(fields) = payload.get(start..start + 5) else {
                    return false;
                };
                priority = Some(<[u8; 5]>::try_from(fields).expect("five bytes"));
                start += 5;
            }
            if start > end {
                return false;
            }
        }
        let fragment = &payload[start..end];
        match &mut self.block {
            Some(block) => {
                block.fragment.extend_from_slice(fragment);
                block.frames.unsplit(frame);
            }
            None => {
                self.block = Some(PendingBlock {
                    stream_id,
                    flags: flags & (FLAG_END_STREAM | FLAG_PRIORITY),
                    priority,
                    fragment: fragment.to_vec(),
                    frames: frame,
                });
            }
        }
        true
    }

    /// Decodes the complete pending block and forwards it as sent or re-encoded.
    fn finish_block(&mut self) {
        let block = self.block.take().expect("a pending block");
        self.arena.clear();
        self.fields.clear();
        let (arena, fields) = (&mut self.arena, &mut self.fields);
        // The same block with plain strings (loona-hpack is slow on Huffman ones).
        let plain = plain_strings(&block.fragment);
        let fragment = plain.as_deref().unwrap_or(&block.fragment);
        let decoded = self.hpack.decode_with_cb(fragment, |name, value| {
            let name_start = arena.len();
            arena.extend_from_slice(&name);
            let value_start = arena.len();
            arena.extend_from_slice(&value);
            fields.push(Field {
                name: name_start..value_start,
                value: value_start..arena.len(),
            });
        });
        if decoded.is_err() {
            self.ready.unsplit(block.frames);
            self.mode = Mode::Opaque;
            return;
        }
        if self.mode == Mode::AsSent && !self.has_refused_authority() {
            // A gRPC channel sends one authority on every request of a connection: once
            // the first block's is accepted, the rest flows unexamined (no HPACK work
            // per request for the clients h2 already accepts).
            self.ready.unsplit(block.frames);
            self.mode = Mode::Opaque;
            return;
        }
        self.mode = Mode::ReEncoded;
        let encoded = self.encode_literals();
        self.write_block(&block, &encoded);
    }

    fn has_refused_authority(&self) -> bool {
        self.fields.iter().any(|field| {
            &self.arena[field.name.clone()] == b":authority"
                && !is_accepted_authority(&self.arena[field.value.clone()])
        })
    }

    /// The decoded block as HPACK literals without indexing, refused authorities replaced.
    fn encode_literals(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.arena.len() + 4 * self.fields.len());
        for field in &self.fields {
            let name = &self.arena[field.name.clone()];
            let mut value = &self.arena[field.value.clone()];
            if name == b":authority" && !is_accepted_authority(value) {
                value = REPLACEMENT_AUTHORITY;
            }
            // Literal header field without indexing, new name (RFC 7541 6.2.2).
            out.push(0x00);
            encode_string(name, &mut out);
            encode_string(value, &mut out);
        }
        out
    }

    /// Emits a HEADERS frame (and CONTINUATIONs) carrying `encoded` for `block`'s stream.
    fn write_block(&mut self, block: &PendingBlock, encoded: &[u8]) {
        let priority = block.priority.as_ref().map_or(&[][..], |p| &p[..]);
        let first_room = MAX_FRAME_PAYLOAD - priority.len();
        let (first, mut rest) = encoded.split_at(encoded.len().min(first_room));
        let end_headers = if rest.is_empty() { FLAG_END_HEADERS } else { 0 };
        self.write_frame_header(
            priority.len() + first.len(),
            FRAME_HEADERS,
            block.flags | end_headers,
            block.stream_id,
        );
        self.ready.put_slice(priority);
        self.ready.put_slice(first);
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(rest.len().min(MAX_FRAME_PAYLOAD));
            let end_headers = if after.is_empty() {
                FLAG_END_HEADERS
            } else {
                0
            };
            self.write_frame_header(
                chunk.len(),
                FRAME_CONTINUATION,
                end_headers,
                block.stream_id,
            );
            self.ready.put_slice(chunk);
            rest = after;
        }
    }

    fn write_frame_header(&mut self, length: usize, kind: u8, flags: u8, stream_id: u32) {
        let length = u32::try_from(length).expect("frame payloads are at most 16 KiB");
        self.ready.put_slice(&length.to_be_bytes()[1..]);
        self.ready.put_u8(kind);
        self.ready.put_u8(flags);
        self.ready.put_u32(stream_id);
    }
}

/// Whether h2 accepts `value` as `:authority` (the check it applies, from `http`).
fn is_accepted_authority(value: &[u8]) -> bool {
    http::uri::Authority::try_from(value).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    fn frame(kind: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        out.push(kind);
        out.push(flags);
        out.extend_from_slice(&stream_id.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// A request block: `:authority` as a literal with incremental indexing (static
    /// name index 1), the way grpc-core sends it, plus `:path` without indexing.
    fn request_block(authority: &[u8]) -> Vec<u8> {
        let mut block = vec![0x41];
        encode_string(authority, &mut block);
        block.push(0x04); // :path, without indexing, static name index 4
        encode_string(b"/runtime.v1.RuntimeService/Version", &mut block);
        block
    }

    /// Feeds `input` in chunks of `chunk` bytes and returns what h2 would read.
    fn walk(input: &[u8], chunk: usize) -> Vec<u8> {
        let mut rewriter = FrameRewriter::new();
        for piece in input.chunks(chunk) {
            rewriter.received.extend_from_slice(piece);
            rewriter.scan();
        }
        rewriter.give_up();
        rewriter.ready.to_vec()
    }

    /// Splits walked bytes into (kind, flags, stream, payload) after the preface.
    fn frames_of(bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
        assert_eq!(&bytes[..PREFACE_LEN], PREFACE);
        let mut rest = &bytes[PREFACE_LEN..];
        let mut out = Vec::new();
        while !rest.is_empty() {
            let length = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
            let stream = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
            out.push((rest[3], rest[4], stream, rest[9..9 + length].to_vec()));
            rest = &rest[9 + length..];
        }
        out
    }

    fn decode(decoder: &mut loona_hpack::Decoder<'static>, block: &[u8]) -> Vec<(String, String)> {
        decoder
            .decode(block)
            .expect("valid HPACK")
            .into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8(n).expect("utf-8"),
                    String::from_utf8(v).expect("utf-8"),
                )
            })
            .collect()
    }

    #[test]
    fn accepted_authorities_pass_through_byte_for_byte() {
        let mut input = PREFACE.to_vec();
        input.extend(frame(0x4, 0, 0, &[])); // SETTINGS
        for (stream, authority) in [(1, &b"localhost"[..]), (3, b"127.0.0.1:10010")] {
            input.extend(frame(
                FRAME_HEADERS,
                FLAG_END_HEADERS,
                stream,
                &request_block(authority),
            ));
            input.extend(frame(
                0x0,
                FLAG_END_STREAM,
                stream,
                b"\0\0\0\0\x04\x0a\x02v1",
            ));
        }
        for chunk in [1, 7, 4096] {
            assert_eq!(walk(&input, chunk), input, "chunk size {chunk}");
        }
    }

    #[test]
    fn a_socket_path_authority_becomes_localhost_and_later_blocks_stay_decodable() {
        let mut input = PREFACE.to_vec();
        input.extend(frame(0x4, 0, 0, &[]));
        input.extend(frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS,
            1,
            &request_block(b"/run/containerd/containerd.sock"),
        ));
        // The second request refers to the client's dynamic-table entry 62 (the path
        // authority inserted by the first block) and adds a padded, prioritised frame
        // split into a CONTINUATION.
        let mut padded = vec![3u8];
        padded.extend_from_slice(&[0, 0, 0, 0, 15]);
        padded.extend_from_slice(&[0x80 | 62]);
        padded.extend_from_slice(&[0, 0, 0]);
        input.extend(frame(
            FRAME_HEADERS,
            FLAG_PADDED | FLAG_PRIORITY | FLAG_END_STREAM,
            3,
            &padded,
        ));
        let mut path = vec![0x04];
        encode_string(b"/runtime.v1.RuntimeService/Status", &mut path);
        input.extend(frame(FRAME_CONTINUATION, FLAG_END_HEADERS, 3, &path));

        for chunk in [1, 5, 4096] {
            let frames = frames_of(&walk(&input, chunk));
            assert_eq!(frames.len(), 3, "chunk size {chunk}");
            assert_eq!((frames[0].0, frames[0].3.len()), (0x4, 0));
            let mut server = loona_hpack::Decoder::new();
            let (kind, flags, stream, payload) = &frames[1];
            assert_eq!(
                (*kind, *flags, *stream),
                (FRAME_HEADERS, FLAG_END_HEADERS, 1)
            );
            assert_eq!(
                decode(&mut server, payload),
                [
                    (":authority".into(), "localhost".into()),
                    (":path".into(), "/runtime.v1.RuntimeService/Version".into()),
                ]
            );
            let (kind, flags, stream, payload) = &frames[2];
            assert_eq!(
                (*kind, *flags, *stream),
                (
                    FRAME_HEADERS,
                    FLAG_PRIORITY | FLAG_END_STREAM | FLAG_END_HEADERS,
                    3
                )
            );
            assert_eq!(&payload[..5], &[0, 0, 0, 0, 15]);
            assert_eq!(
                decode(&mut server, &payload[5..]),
                [
                    (":authority".into(), "localhost".into()),
                    (":path".into(), "/runtime.v1.RuntimeService/Status".into()),
                ]
            );
        }
    }

    #[test]
    fn the_first_block_decides_and_an_accepted_one_leaves_the_connection_unexamined() {
        // A later block is not even decoded (here it could not be: index 99 is unknown).
        let mut input = PREFACE.to_vec();
        input.extend(frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS,
            1,
            &request_block(b"localhost"),
        ));
        input.extend(frame(FRAME_HEADERS, FLAG_END_HEADERS, 3, &[0x80 | 99]));
        input.extend(frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS,
            5,
            &request_block(b"/x.sock"),
        ));
        let mut rewriter = FrameRewriter::new();
        rewriter.received.extend_from_slice(&input);
        rewriter.scan();
        assert_eq!(rewriter.mode, Mode::Opaque);
        assert_eq!(rewriter.ready.to_vec(), input);
    }

    #[test]
    fn percent_encoded_and_empty_authorities_are_refused_by_h2_and_replaced() {
        for refused in [&b"%2Frun%2Fcri.sock"[..], b"", b"unix:///run/cri.sock"] {
            assert!(!is_accepted_authority(refused), "{refused:?}");
            let mut input = PREFACE.to_vec();
            input.extend(frame(
                FRAME_HEADERS,
                FLAG_END_HEADERS,
                1,
                &request_block(refused),
            ));
            let frames = frames_of(&walk(&input, 3));
            let mut server = loona_hpack::Decoder::new();
            assert_eq!(
                decode(&mut server, &frames[0].3)[0],
                (":authority".into(), "localhost".into())
            );
        }
        for accepted in [&b"localhost"[..], b"[::1]:50051", b"cri.sock"] {
            assert!(is_accepted_authority(accepted), "{accepted:?}");
        }
    }

    #[test]
    fn a_large_re_encoded_block_is_split_into_continuations() {
        let mut block = request_block(b"/tmp/cri.sock");
        block.push(0x00);
        encode_string(b"x-big", &mut block);
        encode_string(&vec![b'a'; 40_000], &mut block);
        let mut input = PREFACE.to_vec();
        for (i, piece) in block.chunks(MAX_FRAME_PAYLOAD).enumerate() {
            let last = (i + 1) * MAX_FRAME_PAYLOAD >= block.len();
            let kind = if i == 0 {
                FRAME_HEADERS
            } else {
                FRAME_CONTINUATION
            };
            let flags = if last { FLAG_END_HEADERS } else { 0 };
            input.extend(frame(kind, flags, 1, piece));
        }
        let frames = frames_of(&walk(&input, 1000));
        let kinds: Vec<_> = frames.iter().map(|f| (f.0, f.1)).collect();
        assert_eq!(
            kinds,
            [
                (FRAME_HEADERS, 0),
                (FRAME_CONTINUATION, 0),
                (FRAME_CONTINUATION, FLAG_END_HEADERS)
            ]
        );
        let joined: Vec<u8> = frames.iter().flat_map(|f| f.3.clone()).collect();
        let headers = decode(&mut loona_hpack::Decoder::new(), &joined);
        assert_eq!(headers[0], (":authority".into(), "localhost".into()));
        assert_eq!(headers[2].1.len(), 40_000);
    }

    #[test]
    fn unparseable_input_passes_through_unchanged() {
        // An oversized HEADERS frame, an undecodable HPACK block, a DATA frame inside a
        // header block, and garbage after the preface: h2 must see them as sent.
        let mut oversized = PREFACE.to_vec();
        oversized.extend(frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, &vec![0; 20_000]));
        let mut undecodable = PREFACE.to_vec();
        undecodable.extend(frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS,
            1,
            &[0xff, 0xff, 0xff],
        ));
        undecodable.extend(frame(
            FRAME_HEADERS,
            FLAG_END_HEADERS,
            3,
            &request_block(b"/x"),
        ));
        let mut interleaved = PREFACE.to_vec();
        interleaved.extend(frame(FRAME_HEADERS, 0, 1, &request_block(b"/x")));
        interleaved.extend(frame(0x0, 0, 1, b"data"));
        let mut garbage = PREFACE.to_vec();
        garbage.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let mut truncated = PREFACE.to_vec();
        truncated.extend(&frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, &request_block(b"/x"))[..12]);
        for input in [oversized, undecodable, interleaved, garbage, truncated] {
            for chunk in [1, 64, 1 << 20] {
                assert_eq!(walk(&input, chunk), input);
            }
        }
    }
}
