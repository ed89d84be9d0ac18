//! A small SPDY/3.1 frame codec: what kubelet's streaming server (moby/spdystream) speaks
//! after `Upgrade: SPDY/3.1`.
//!
//! Frames (draft-mbelshe-httpbis-spdy-00 §2.2, §2.6): a control frame starts with the
//! control bit, version 3 and a 16-bit type; a data frame with a 31-bit stream id. Both
//! then carry 8 bits of flags and a 24-bit length. Header blocks (SYN_STREAM, SYN_REPLY,
//! HEADERS) are zlib-compressed with the SPDY/3 dictionary, one compression context per
//! direction for the whole connection, each block ending with a sync flush.
//!
//! Nothing a peer sends panics the codec: every length is checked against what was
//! received and against [`MAX_FRAME_LENGTH`] and [`MAX_HEADER_BLOCK`], and a bad frame is
//! an [`SpdyError`] telling whether the connection (GOAWAY) or one stream (RST_STREAM)
//! is at fault.

use std::sync::LazyLock;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The SPDY version this codec speaks.
pub const VERSION: u16 = 3;
/// The initial flow-control window of every stream (64 KiB).
pub const DEFAULT_WINDOW: u32 = 64 * 1024;
/// The largest frame payload accepted (and produced): 1 MiB. Longer frames are refused
/// with GOAWAY before their payload is buffered.
pub const MAX_FRAME_LENGTH: usize = 1 << 20;
/// The largest decompressed header block accepted (64 KiB).
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// DATA: the sender's last frame on this stream.
pub const FLAG_FIN: u8 = 0x01;
/// SYN_STREAM: the recipient may not send on this stream.
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;

/// RST_STREAM / GOAWAY status: protocol error.
pub const PROTOCOL_ERROR: u32 = 1;
/// RST_STREAM status: a frame for a stream that is not open.
pub const INVALID_STREAM: u32 = 2;
/// RST_STREAM status: the stream is refused.
pub const REFUSED_STREAM: u32 = 3;
/// RST_STREAM status: the stream is cancelled.
pub const CANCEL: u32 = 5;
/// RST_STREAM status: flow control was violated.
pub const FLOW_CONTROL_ERROR: u32 = 7;
/// RST_STREAM status: the stream id is already open.
pub const STREAM_IN_USE: u32 = 8;
/// GOAWAY status: internal error.
pub const INTERNAL_ERROR: u32 = 2;

/// SETTINGS id of the initial window size.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u32 = 7;

const TYPE_SYN_STREAM: u16 = 1;
const TYPE_SYN_REPLY: u16 = 2;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_SETTINGS: u16 = 4;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const TYPE_HEADERS: u16 = 8;
const TYPE_WINDOW_UPDATE: u16 = 9;

/// The header dictionary of SPDY/3 (draft-mbelshe-httpbis-spdy-00 §2.6.10.1): each
/// of these names as a 32-bit big-endian length and the bytes, then [`DICT_TAIL`] as is.
const DICT_WORDS: &[&str] = &[
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The unprefixed end of the SPDY/3 dictionary.
const DICT_TAIL: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request",
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented",
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,",
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=",
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
);

/// The SPDY/3 zlib dictionary (1423 bytes).
pub static DICTIONARY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut dict = Vec::with_capacity(1423);
    for word in DICT_WORDS {
        dict.extend_from_slice(&(word.len() as u32).to_be_bytes());
        dict.extend_from_slice(word.as_bytes());
    }
    dict.extend_from_slice(DICT_TAIL.as_bytes());
    dict
});

/// A decoded header block: (name, value) pairs, names lower-cased. A value holding
/// several values separated by NUL is kept as one string.
pub type Headers = Vec<(String, String)>;

/// The first value of header `name` (case-insensitive).
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.split('\0').next().unwrap_or(""))
}

/// One SPDY/3.1 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Opens a stream.
    SynStream {
        /// The new stream's id.
        stream_id: u32,
        /// The stream it is associated with (0 for none).
        associated_to: u32,
        /// Priority, 0 (highest) to 7.
        priority: u8,
        /// [`FLAG_FIN`], [`FLAG_UNIDIRECTIONAL`].
        flags: u8,
        /// The header block.
        headers: Headers,
    },
    /// Accepts a stream.
    SynReply {
        /// The stream.
        stream_id: u32,
        /// [`FLAG_FIN`].
        flags: u8,
        /// The header block.
        headers: Headers,
    },
    /// Ends a stream abnormally.
    RstStream {
        /// The stream.
        stream_id: u32,
        /// The status code ([`CANCEL`], [`PROTOCOL_ERROR`], ...).
        status: u32,
    },
    /// Connection settings: (flags, id, value).
    Settings {
        /// The frame's flags.
        flags: u8,
        /// The entries.
        entries: Vec<(u8, u32, u32)>,
    },
    /// A ping; the receiver echoes a ping the peer started.
    Ping {
        /// Its id (odd from clients, even from servers).
        id: u32,
    },
    /// The sender takes no new streams.
    GoAway {
        /// The last stream the sender acted on.
        last_good_stream_id: u32,
        /// Why.
        status: u32,
    },
    /// More headers for a stream.
    Headers {
        /// The stream.
        stream_id: u32,
        /// [`FLAG_FIN`].
        flags: u8,
        /// The header block.
        headers: Headers,
    },
    /// More room in the sender's receive window.
    WindowUpdate {
        /// The stream.
        stream_id: u32,
        /// How many more bytes may be sent.
        delta: u32,
    },
    /// Stream data.
    Data {
        /// The stream.
        stream_id: u32,
        /// [`FLAG_FIN`].
        flags: u8,
        /// The payload.
        data: Bytes,
    },
    /// A control frame of a type this codec does not know: ignored, as the spec asks.
    Unknown {
        /// Its type.
        kind: u16,
    },
}

/// What is wrong with what the peer sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpdyError {
    /// The connection is unusable: answer GOAWAY with this status and close.
    #[error("spdy session error: {message}")]
    Session {
        /// The GOAWAY status.
        status: u32,
        /// What was wrong.
        message: String,
    },
    /// One stream is at fault: answer RST_STREAM.
    #[error("spdy stream {stream_id} error: {status}")]
    Stream {
        /// The stream.
        stream_id: u32,
        /// The RST_STREAM status.
        status: u32,
    },
}

fn protocol(message: impl Into<String>) -> SpdyError {
    SpdyError::Session {
        status: PROTOCOL_ERROR,
        message: message.into(),
    }
}

/// The codec of one connection: the two zlib contexts (inflating what the peer sends,
/// deflating what we send), shared by every header block in its direction.
pub struct Codec {
    inflate: Decompress,
    deflate: Compress,
    deflate_started: bool,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec").finish_non_exhaustive()
    }
}

impl Default for Codec {
    fn default() -> Self {
        Self::new()
    }
}

impl Codec {
    /// A codec with fresh compression contexts.
    pub fn new() -> Self {
        Self {
            inflate: Decompress::new(true),
            deflate: Compress::new(Compression::default(), true),
            deflate_started: false,
        }
    }

    /// Decodes one frame from the front of `buf`, consuming it. `Ok(None)` when `buf`
    /// holds no whole frame yet (nothing is consumed).
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, SpdyError> {
        if buf.len() < 8 {
            return Ok(None);
        }
        let length = (usize::from(buf[5]) << 16) | (usize::from(buf[6]) << 8) | usize::from(buf[7]);
        if length > MAX_FRAME_LENGTH {
            return Err(protocol(format!("frame of {length} bytes is too large")));
        }
        if buf.len() < 8 + length {
            return Ok(None);
        }
        let head = buf.split_to(8);
        let mut payload = buf.split_to(length).freeze();
        let flags = head[4];
        if head[0] & 0x80 == 0 {
            let stream_id = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
            return Ok(Some(Frame::Data {
                stream_id,
                flags,
                data: payload,
            }));
        }
        let version = u16::from_be_bytes([head[0] & 0x7f, head[1]]);
        let kind = u16::from_be_bytes([head[2], head[3]]);
        if version != VERSION {
            return Err(protocol(format!("unsupported spdy version {version}")));
        }
        let need = |payload: &Bytes, n: usize| {
            if payload.len() < n {
                Err(protocol(format!("control frame type {kind} too short")))
            } else {
                Ok(())
            }
        };
        let frame = match kind {
            TYPE_SYN_STREAM => {
                need(&payload, 10)?;
                let stream_id = payload.get_u32() & 0x7fff_ffff;
                let associated_to = payload.get_u32() & 0x7fff_ffff;
                let priority = payload.get_u8() >> 5;
                let _slot = payload.get_u8();
                if stream_id == 0 {
                    return Err(protocol("SYN_STREAM with stream id 0"));
                }
                let headers = self.inflate_block(&payload)?;
                Frame::SynStream {
                    stream_id,
                    associated_to,
                    priority,
                    flags,
                    headers,
                }
            }
            TYPE_SYN_REPLY | TYPE_HEADERS => {
                need(&payload, 4)?;
                let stream_id = payload.get_u32() & 0x7fff_ffff;
                let headers = self.inflate_block(&payload)?;
                if kind == TYPE_SYN_REPLY {
                    Frame::SynReply {
                        stream_id,
                        flags,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        stream_id,
                        flags,
                        headers,
                    }
                }
            }
            TYPE_RST_STREAM => {
                need(&payload, 8)?;
                Frame::RstStream {
                    stream_id: payload.get_u32() & 0x7fff_ffff,
                    status: payload.get_u32(),
                }
            }
            TYPE_SETTINGS => {
                need(&payload, 4)?;
                let count = payload.get_u32() as usize;
                if count.checked_mul(8) != Some(payload.len()) {
                    return Err(protocol("SETTINGS length does not match its entries"));
                }
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    let word = payload.get_u32();
                    let value = payload.get_u32();
                    entries.push(((word >> 24) as u8, word & 0x00ff_ffff, value));
                }
                Frame::Settings { flags, entries }
            }
            TYPE_PING => {
                need(&payload, 4)?;
                Frame::Ping {
                    id: payload.get_u32(),
                }
            }
            TYPE_GOAWAY => {
                need(&payload, 8)?;
                Frame::GoAway {
                    last_good_stream_id: payload.get_u32() & 0x7fff_ffff,
                    status: payload.get_u32(),
                }
            }
            TYPE_WINDOW_UPDATE => {
                need(&payload, 8)?;
                let stream_id = payload.get_u32() & 0x7fff_ffff;
                let delta = payload.get_u32() & 0x7fff_ffff;
                if delta == 0 {
                    return Err(SpdyError::Stream {
                        stream_id,
                        status: FLOW_CONTROL_ERROR,
                    });
                }
                Frame::WindowUpdate { stream_id, delta }
            }
            other => Frame::Unknown { kind: other },
        };
        Ok(Some(frame))
    }

    /// Encodes `frame` onto `out`. Fails only for frames this codec refuses to produce
    /// (a payload over [`MAX_FRAME_LENGTH`]).
    pub fn encode(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<(), SpdyError> {
        let mut body = BytesMut::new();
        let (kind, flags) = match frame {
            Frame::Data {
                stream_id,
                flags,
                data,
            } => {
                check_len(data.len())?;
                out.put_u32(stream_id & 0x7fff_ffff);
                out.put_u8(*flags);
                put_u24(out, data.len());
                out.put_slice(data);
                return Ok(());
            }
            Frame::SynStream {
                stream_id,
                associated_to,
                priority,
                flags,
                headers,
            } => {
                body.put_u32(stream_id & 0x7fff_ffff);
                body.put_u32(associated_to & 0x7fff_ffff);
                body.put_u8((priority & 0x7) << 5);
                body.put_u8(0);
                self.deflate_block(headers, &mut body)?;
                (TYPE_SYN_STREAM, *flags)
            }
            Frame::SynReply {
                stream_id,
                flags,
                headers,
            } => {
                body.put_u32(stream_id & 0x7fff_ffff);
                self.deflate_block(headers, &mut body)?;
                (TYPE_SYN_REPLY, *flags)
            }
            Frame::Headers {
                stream_id,
                flags,
                headers,
            } => {
                body.put_u32(stream_id & 0x7fff_ffff);
                self.deflate_block(headers, &mut body)?;
                (TYPE_HEADERS, *flags)
            }
            Frame::RstStream { stream_id, status } => {
                body.put_u32(stream_id & 0x7fff_ffff);
                body.put_u32(*status);
                (TYPE_RST_STREAM, 0)
            }
            Frame::Settings { flags, entries } => {
                body.put_u32(entries.len() as u32);
                for (f, id, value) in entries {
                    body.put_u32((u32::from(*f) << 24) | (id & 0x00ff_ffff));
                    body.put_u32(*value);
                }
                (TYPE_SETTINGS, *flags)
            }
            Frame::Ping { id } => {
                body.put_u32(*id);
                (TYPE_PING, 0)
            }
            Frame::GoAway {
                last_good_stream_id,
                status,
            } => {
                body.put_u32(last_good_stream_id & 0x7fff_ffff);
                body.put_u32(*status);
                (TYPE_GOAWAY, 0)
            }
            Frame::WindowUpdate { stream_id, delta } => {
                body.put_u32(stream_id & 0x7fff_ffff);
                body.put_u32(delta & 0x7fff_ffff);
                (TYPE_WINDOW_UPDATE, 0)
            }
            Frame::Unknown { kind } => (*kind, 0),
        };
        check_len(body.len())?;
        out.put_u16(0x8000 | VERSION);
        out.put_u16(kind);
        out.put_u8(flags);
        put_u24(out, body.len());
        out.put_slice(&body);
        Ok(())
    }

    /// Inflates one header block with the connection's shared context and parses it.
    fn inflate_block(&mut self, input: &[u8]) -> Result<Headers, SpdyError> {
        let mut raw = Vec::with_capacity(input.len().saturating_mul(4).min(MAX_HEADER_BLOCK));
        let mut consumed = 0usize;
        loop {
            if raw.len() == raw.capacity() {
                if raw.len() >= MAX_HEADER_BLOCK {
                    return Err(protocol("header block too large"));
                }
                raw.reserve((raw.len().max(256)).min(MAX_HEADER_BLOCK - raw.len()));
            }
            let before_in = self.inflate.total_in();
            let before_out = raw.len();
            let result =
                self.inflate
                    .decompress_vec(&input[consumed..], &mut raw, FlushDecompress::Sync);
            consumed += (self.inflate.total_in() - before_in) as usize;
            match result {
                Ok(Status::StreamEnd) => return Err(protocol("header block ends the zlib stream")),
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(&DICTIONARY)
                        .map_err(|_| protocol("header block wants another dictionary"))?;
                    continue;
                }
                Err(_) => return Err(protocol("header block does not inflate")),
            }
            let room_left = raw.len() < raw.capacity();
            if consumed >= input.len() && room_left {
                break;
            }
            let progressed = self.inflate.total_in() > before_in || raw.len() > before_out;
            if !progressed && room_left {
                return Err(protocol("header block does not inflate"));
            }
        }
        parse_block(&raw)
    }

    /// Serializes and deflates a header block with the shared context (sync flush).
    fn deflate_block(&mut self, headers: &Headers, out: &mut BytesMut) -> Result<(), SpdyError> {
        if !self.deflate_started {
            self.deflate
                .set_dictionary(&DICTIONARY)
                .map_err(|_| SpdyError::Session {
                    status: INTERNAL_ERROR,
                    message: "deflate dictionary".into(),
                })?;
            self.deflate_started = true;
        }
        let mut raw = Vec::new();
        raw.put_u32(headers.len() as u32);
        for (name, value) in headers {
            raw.put_u32(name.len() as u32);
            raw.put_slice(name.to_ascii_lowercase().as_bytes());
            raw.put_u32(value.len() as u32);
            raw.put_slice(value.as_bytes());
        }
        let mut compressed = Vec::with_capacity(raw.len() + 64);
        let mut consumed = 0usize;
        loop {
            if compressed.len() == compressed.capacity() {
                compressed.reserve(256);
            }
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(&raw[consumed..], &mut compressed, FlushCompress::Sync)
                .map_err(|_| SpdyError::Session {
                    status: INTERNAL_ERROR,
                    message: "deflate".into(),
                })?;
            consumed += (self.deflate.total_in() - before) as usize;
            if consumed >= raw.len() && compressed.len() < compressed.capacity() {
                break;
            }
        }
        out.put_slice(&compressed);
        Ok(())
    }
}

fn check_len(len: usize) -> Result<(), SpdyError> {
    if len > MAX_FRAME_LENGTH {
        return Err(SpdyError::Session {
            status: INTERNAL_ERROR,
            message: format!("frame of {len} bytes is too large"),
        });
    }
    Ok(())
}

fn put_u24(out: &mut BytesMut, len: usize) {
    out.put_u8((len >> 16) as u8);
    out.put_u8((len >> 8) as u8);
    out.put_u8(len as u8);
}

/// Parses a decompressed header block: count, then length-prefixed names and values.
pub fn parse_block(mut raw: &[u8]) -> Result<Headers, SpdyError> {
    fn take<'a>(raw: &mut &'a [u8]) -> Result<&'a [u8], SpdyError> {
        if raw.len() < 4 {
            return Err(protocol("truncated header block"));
        }
        let len = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
        *raw = &raw[4..];
        if raw.len() < len {
            return Err(protocol("truncated header block"));
        }
        let (value, rest) = raw.split_at(len);
        *raw = rest;
        Ok(value)
    }
    if raw.len() < 4 {
        return Err(protocol("truncated header block"));
    }
    let count = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
    raw = &raw[4..];
    // Each pair takes at least 8 bytes: a count larger than that is a lie.
    if count > raw.len() / 8 {
        return Err(protocol("header count larger than the block"));
    }
    let mut headers = Vec::with_capacity(count);
    for _ in 0..count {
        let name = take(&mut raw)?;
        let value = take(&mut raw)?;
        if name.is_empty() {
            return Err(protocol("empty header name"));
        }
        headers.push((
            String::from_utf8_lossy(name).to_ascii_lowercase(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn round_trip(frames: &[Frame]) -> Vec<Frame> {
        let (mut tx, mut rx) = (Codec::new(), Codec::new());
        let mut wire = BytesMut::new();
        for f in frames {
            tx.encode(f, &mut wire).unwrap();
        }
        let mut out = Vec::new();
        while let Some(f) = rx.decode(&mut wire).unwrap() {
            out.push(f);
        }
        assert!(wire.is_empty());
        out
    }

    #[test]
    fn the_dictionary_is_the_1423_bytes_of_the_spdy3_spec() {
        assert_eq!(DICTIONARY.len(), 1423);
        assert_eq!(&DICTIONARY[..11], b"\0\0\0\x07options");
        assert!(DICTIONARY.ends_with(b",enq=0."));
    }

    #[test]
    fn every_frame_type_survives_an_encode_decode_round_trip() {
        let frames = vec![
            Frame::SynStream {
                stream_id: 1,
                associated_to: 0,
                priority: 3,
                flags: FLAG_FIN,
                headers: h(&[("streamtype", "error")]),
            },
            Frame::SynReply {
                stream_id: 1,
                flags: 0,
                headers: vec![],
            },
            Frame::Headers {
                stream_id: 3,
                flags: 0,
                headers: h(&[("streamtype", "stdout"), ("port", "80")]),
            },
            Frame::RstStream {
                stream_id: 5,
                status: CANCEL,
            },
            Frame::Settings {
                flags: 0,
                entries: vec![(0, SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)],
            },
            Frame::Ping { id: 7 },
            Frame::GoAway {
                last_good_stream_id: 9,
                status: 0,
            },
            Frame::WindowUpdate {
                stream_id: 1,
                delta: 4096,
            },
            Frame::Data {
                stream_id: 1,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"hi\n"),
            },
        ];
        assert_eq!(round_trip(&frames), frames);
    }

    #[test]
    fn later_header_blocks_reuse_the_shared_compression_context() {
        let frame = |id| Frame::SynStream {
            stream_id: id,
            associated_to: 0,
            priority: 0,
            flags: 0,
            headers: h(&[("streamtype", "stdin"), ("requestid", "0")]),
        };
        let mut tx = Codec::new();
        let (mut first, mut second) = (BytesMut::new(), BytesMut::new());
        tx.encode(&frame(1), &mut first).unwrap();
        tx.encode(&frame(3), &mut second).unwrap();
        // The same headers again compress to far fewer bytes: the context is shared.
        assert!(
            second.len() < first.len(),
            "{} < {}",
            second.len(),
            first.len()
        );
        // A decoder that missed the first block cannot read the second alone.
        assert!(Codec::new().decode(&mut second.clone()).is_err());
        let mut rx = Codec::new();
        let mut both = first;
        both.extend_from_slice(&second);
        assert_eq!(rx.decode(&mut both).unwrap(), Some(frame(1)));
        assert_eq!(rx.decode(&mut both).unwrap(), Some(frame(3)));
    }

    #[test]
    fn a_header_block_from_an_independent_zlib_with_the_dictionary_decodes() {
        // The block built by hand as the spec lays it out, compressed by flate2's
        // writer (not the codec) with the dictionary and a sync flush.
        let mut raw = Vec::new();
        raw.extend_from_slice(&1u32.to_be_bytes());
        raw.extend_from_slice(&10u32.to_be_bytes());
        raw.extend_from_slice(b"streamtype");
        raw.extend_from_slice(&6u32.to_be_bytes());
        raw.extend_from_slice(b"stdout");
        let mut z = Compress::new(Compression::best(), true);
        z.set_dictionary(&DICTIONARY).unwrap();
        let mut block = Vec::with_capacity(256);
        z.compress_vec(&raw, &mut block, FlushCompress::Sync)
            .unwrap();
        // zlib header: CMF 0x78, FLG with FDICT, then the dictionary's Adler-32.
        assert_eq!(block[0], 0x78);
        assert_ne!(block[1] & 0x20, 0);
        let adler = {
            let (mut s1, mut s2) = (1u32, 0u32);
            for b in DICTIONARY.iter() {
                s1 = (s1 + u32::from(*b)) % 65521;
                s2 = (s2 + s1) % 65521;
            }
            (s2 << 16) | s1
        };
        assert_eq!(block[2..6], adler.to_be_bytes());
        let mut wire = BytesMut::new();
        wire.put_u16(0x8000 | VERSION);
        wire.put_u16(TYPE_SYN_REPLY);
        wire.put_u8(0);
        put_u24(&mut wire, 4 + block.len());
        wire.put_u32(1);
        wire.put_slice(&block);
        assert_eq!(
            Codec::new().decode(&mut wire).unwrap(),
            Some(Frame::SynReply {
                stream_id: 1,
                flags: 0,
                headers: h(&[("streamtype", "stdout")]),
            })
        );
    }

    #[test]
    fn known_frame_bytes_decode_to_the_frames_they_spell() {
        let mut wire = BytesMut::from(
            &[
                0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
                0x01, // PING 1
                0x00, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x02, b'o', b'k', // DATA 3 FIN "ok"
            ][..],
        );
        let mut c = Codec::new();
        assert_eq!(c.decode(&mut wire).unwrap(), Some(Frame::Ping { id: 1 }));
        assert_eq!(
            c.decode(&mut wire).unwrap(),
            Some(Frame::Data {
                stream_id: 3,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"ok")
            })
        );
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut wire = BytesMut::new();
        Codec::new()
            .encode(&Frame::Ping { id: 1 }, &mut wire)
            .unwrap();
        let mut part = BytesMut::from(&wire[..7]);
        assert_eq!(Codec::new().decode(&mut part).unwrap(), None);
        assert_eq!(part.len(), 7);
    }

    #[test]
    fn oversized_frames_are_a_session_error_before_buffering() {
        let mut wire = BytesMut::from(&[0x00, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            Codec::new().decode(&mut wire),
            Err(SpdyError::Session {
                status: PROTOCOL_ERROR,
                ..
            })
        ));
    }

    #[test]
    fn other_versions_and_short_control_frames_are_protocol_errors() {
        let mut v2 = BytesMut::from(&[0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1][..]);
        assert!(Codec::new().decode(&mut v2).is_err());
        let mut short = BytesMut::from(&[0x80, 0x03, 0x00, 0x03, 0, 0, 0, 2, 0, 0][..]);
        assert!(Codec::new().decode(&mut short).is_err());
        let mut zero =
            BytesMut::from(&[0x80, 0x03, 0x00, 0x09, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0][..]);
        assert_eq!(
            Codec::new().decode(&mut zero),
            Err(SpdyError::Stream {
                stream_id: 1,
                status: FLOW_CONTROL_ERROR
            })
        );
    }

    #[test]
    fn header_counts_larger_than_the_block_are_refused() {
        assert!(parse_block(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, b'a']).is_err());
        assert!(parse_block(&[0, 0, 0, 1, 0, 0, 0, 9, b'a', 0, 0, 0, 0]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn garbage_input_gives_errors_or_frames_never_a_panic(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)
        ) {
            let mut c = Codec::new();
            let mut buf = BytesMut::from(&data[..]);
            while let Ok(Some(_)) = c.decode(&mut buf) {}
        }

        #[test]
        fn garbage_after_a_control_header_never_panics(
            kind in 0u16..12, flags in proptest::prelude::any::<u8>(),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)
        ) {
            let mut buf = BytesMut::new();
            buf.put_u16(0x8003);
            buf.put_u16(kind);
            buf.put_u8(flags);
            put_u24(&mut buf, body.len());
            buf.put_slice(&body);
            let _ = Codec::new().decode(&mut buf);
        }
    }
}
