//! gRPC clients of every language reach the fake whatever `:authority` they send, as they
//! reach containerd: raw HTTP/2 frames carrying the values grpc-go, grpc-core (Python,
//! C++, Ruby), grpc-java and hand-written clients put there, over a unix socket and TCP.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use cri_fake::FakeRuntime;
use cri_fake::transport::Listen;
use cri_proto::v1::{VersionRequest, VersionResponse};
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const ACK: u8 = 0x1;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

/// An HPACK literal, with incremental indexing when `index` (RFC 7541 6.2.1), else
/// without (6.2.2); short names and values only (lengths under 127).
fn literal(name: &[u8], value: &[u8], index: bool) -> Vec<u8> {
    assert!(name.len() < 127 && value.len() < 127);
    let mut out = vec![if index { 0x40 } else { 0x00 }, name.len() as u8];
    out.extend(name);
    out.push(value.len() as u8);
    out.extend(value);
    out
}

/// The request headers of a Version call; every field is inserted in the client's
/// dynamic table when `index`, so a later request can refer to them.
fn version_headers(authority: Option<&[u8]>, index: bool) -> Vec<u8> {
    let mut block = Vec::new();
    block.extend(literal(b":method", b"POST", index));
    block.extend(literal(b":scheme", b"http", index));
    block.extend(literal(
        b":path",
        b"/runtime.v1.RuntimeService/Version",
        index,
    ));
    if let Some(authority) = authority {
        block.extend(literal(b":authority", authority, index));
    }
    block.extend(literal(b"content-type", b"application/grpc", index));
    block.extend(literal(b"te", b"trailers", index));
    block
}

fn grpc_message(request: &VersionRequest) -> Vec<u8> {
    let body = request.encode_to_vec();
    let mut out = vec![0];
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}

/// What the server answered on one stream.
#[derive(Debug, Default)]
struct Answer {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    reset: Option<u32>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn version(&self) -> VersionResponse {
        assert_eq!(self.reset, None, "{self:?}");
        assert_eq!(self.header(":status"), Some("200"), "{self:?}");
        assert_eq!(self.header("grpc-status"), Some("0"), "{self:?}");
        assert_eq!(self.body[0], 0, "uncompressed message");
        let length = u32::from_be_bytes(self.body[1..5].try_into().unwrap()) as usize;
        VersionResponse::decode(&self.body[5..5 + length]).expect("a VersionResponse")
    }
}

/// Sends one request per header block on its own stream (1, 3, ...) and collects the
/// answers until every stream ended or was reset.
async fn call(io: &mut (impl AsyncRead + AsyncWrite + Unpin), blocks: &[Vec<u8>]) -> Vec<Answer> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    let body = grpc_message(&VersionRequest {
        version: "v1".into(),
    });
    for (i, block) in blocks.iter().enumerate() {
        let stream = 1 + 2 * i as u32;
        out.extend(frame(HEADERS, END_HEADERS, stream, block));
        out.extend(frame(DATA, END_STREAM, stream, &body));
    }
    io.write_all(&out).await.unwrap();

    let mut answers: Vec<Answer> = blocks.iter().map(|_| Answer::default()).collect();
    let mut ended = 0;
    let mut hpack = loona_hpack::Decoder::new();
    while ended < blocks.len() {
        let mut head = [0u8; 9];
        io.read_exact(&mut head).await.expect("the server answers");
        let length = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes(head[5..9].try_into().unwrap()) & 0x7fff_ffff;
        let mut payload = vec![0; length];
        io.read_exact(&mut payload).await.unwrap();
        assert_ne!(
            kind, GOAWAY,
            "the server closed the connection: {payload:?}"
        );
        if kind == SETTINGS && flags & ACK == 0 {
            io.write_all(&frame(SETTINGS, ACK, 0, &[])).await.unwrap();
            continue;
        }
        if stream == 0 || stream % 2 == 0 {
            continue;
        }
        let answer = &mut answers[(stream as usize - 1) / 2];
        match kind {
            HEADERS => {
                assert_ne!(flags & END_HEADERS, 0, "short answers fit one frame");
                for (name, value) in hpack.decode(&payload).expect("valid HPACK") {
                    answer.headers.push((
                        String::from_utf8(name).unwrap(),
                        String::from_utf8(value).unwrap(),
                    ));
                }
            }
            DATA => answer.body.extend(&payload),
            RST_STREAM => {
                answer.reset = Some(u32::from_be_bytes(payload[..4].try_into().unwrap()));
                ended += 1;
                continue;
            }
            _ => continue,
        }
        if flags & END_STREAM != 0 {
            ended += 1;
        }
    }
    answers
}

/// The `:authority` values real clients send: grpc-go (`localhost` over unix, host:port
/// over TCP), grpc-core (the socket path), grpc-java (its percent-encoding), a
/// target-as-authority client, an empty value and none at all.
fn authorities(socket: &str) -> Vec<Option<Vec<u8>>> {
    let encoded = socket.replace('/', "%2F");
    vec![
        Some(b"localhost".to_vec()),
        Some(socket.as_bytes().to_vec()),
        Some(encoded.into_bytes()),
        Some(format!("unix://{socket}").into_bytes()),
        Some(b"127.0.0.1:10010".to_vec()),
        Some(Vec::new()),
        None,
    ]
}

async fn with_timeout<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("the exchange finishes in 10 s")
}

#[tokio::test]
async fn version_answers_over_a_unix_socket_whatever_authority_the_client_sends() {
    let fake = FakeRuntime::builder().start().await.unwrap();
    let socket = fake.socket_path().expect("a unix socket").to_owned();
    for authority in authorities(socket.to_str().unwrap()) {
        let mut io = tokio::net::UnixStream::connect(&socket).await.unwrap();
        let answers = with_timeout(call(
            &mut io,
            &[version_headers(authority.as_deref(), false)],
        ))
        .await;
        let version = answers[0].version();
        assert_eq!(
            (
                version.runtime_name.as_str(),
                version.runtime_api_version.as_str()
            ),
            ("containerd", "v1"),
            "authority {authority:?}"
        );
    }
}

#[tokio::test]
async fn version_answers_over_tcp_whatever_authority_the_client_sends() {
    let fake = FakeRuntime::builder()
        .listen(Listen::Tcp("127.0.0.1:0".parse().unwrap()))
        .start()
        .await
        .unwrap();
    let address = fake.endpoint().strip_prefix("tcp://").unwrap().to_owned();
    for authority in authorities("/run/containerd/containerd.sock") {
        let mut io = tokio::net::TcpStream::connect(&address).await.unwrap();
        let answers = with_timeout(call(
            &mut io,
            &[version_headers(authority.as_deref(), false)],
        ))
        .await;
        assert_eq!(answers[0].version().runtime_name, "containerd");
    }
}

#[tokio::test]
async fn later_requests_indexing_a_socket_path_authority_on_one_connection_all_answer() {
    // grpc-core inserts every request header in its HPACK table and sends the next
    // requests as table references: after the first authority is rewritten, the
    // server's table no longer mirrors the client's, and later blocks must still decode.
    let fake = FakeRuntime::builder().start().await.unwrap();
    let socket = fake.socket_path().unwrap().to_owned();
    let path = socket.to_str().unwrap().as_bytes().to_vec();
    let first = version_headers(Some(&path), true);
    // Six dynamic entries, newest first: te(62) content-type(63) :authority(64)
    // :path(65) :scheme(66) :method(67).
    let second: Vec<u8> = [67u8, 66, 65, 64, 63, 62].map(|i| 0x80 | i).to_vec();
    let third = [
        vec![0x80 | 67, 0x80 | 66, 0x80 | 65],
        literal(b":authority", b"localhost", false),
        vec![0x80 | 63, 0x80 | 62],
    ]
    .concat();
    let mut io = tokio::net::UnixStream::connect(&socket).await.unwrap();
    let answers = with_timeout(call(&mut io, &[first, second.clone(), third, second])).await;
    assert_eq!(answers.len(), 4);
    for answer in &answers {
        assert_eq!(answer.version().runtime_version, "v2.3.4");
    }
}
