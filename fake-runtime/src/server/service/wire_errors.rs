//! Requests that cannot be decoded get the answers containerd's gRPC server (grpc-go)
//! gives them, not tonic's.
//!
//! tonic refuses a request over the 16 MiB receive limit with `OUT_OF_RANGE` `Error,
//! decoded message length too large: ...` and bytes that are not a valid message with
//! `INTERNAL` `failed to decode Protobuf message: ...`. containerd answers
//! `RESOURCE_EXHAUSTED` `grpc: received message larger than max (N vs. 16777216)` and
//! `INTERNAL` `grpc: error unmarshalling request: <the protobuf library's text>`. This
//! layer rewrites those two answers (they are always trailers-only responses, so only
//! the response headers change) and leaves every other response untouched.
//!
//! The protobuf library's text is the profile's: containerd 2.3 decodes with
//! google.golang.org/protobuf (`string field contains invalid UTF-8`, `proto: cannot
//! parse invalid wire-format data`); containerd 1.6 with gogo/protobuf's generated code
//! (`unexpected EOF`, `proto: illegal wireType N`, ...). gogo does not check UTF-8 at
//! all, so containerd 1.6 accepts such strings where the fake (whose strings are Rust
//! `String`s) refuses them with 2.3's text: a documented difference.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::{Code, Status};

use crate::core::profile::{Dialect, ProtobufDecoder};

/// Wraps the gRPC services with [`WireErrors`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireErrorsLayer {
    dialect: &'static Dialect,
}

impl WireErrorsLayer {
    /// The layer for the release `dialect` imitates.
    pub(crate) fn new(dialect: &'static Dialect) -> Self {
        Self { dialect }
    }
}

impl<S> tower::Layer<S> for WireErrorsLayer {
    type Service = WireErrors<S>;

    fn layer(&self, inner: S) -> WireErrors<S> {
        WireErrors {
            inner,
            dialect: self.dialect,
        }
    }
}

/// A service whose decode failures read as containerd's (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct WireErrors<S> {
    inner: S,
    dialect: &'static Dialect,
}

impl<S, Req, Body> tower::Service<http::Request<Req>> for WireErrors<S>
where
    S: tower::Service<http::Request<Req>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Req>) -> Self::Future {
        let answer = self.inner.call(request);
        let dialect = self.dialect;
        Box::pin(async move {
            let mut response = answer.await?;
            rewrite(response.headers_mut(), dialect);
            Ok(response)
        })
    }
}

/// Replaces tonic's decode-failure status in `headers` by containerd's.
fn rewrite(headers: &mut http::HeaderMap, dialect: &'static Dialect) {
    if !headers.contains_key("grpc-status") {
        return;
    }
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    let Some(replacement) = containerd_status(&status, dialect) else {
        return;
    };
    headers.remove("grpc-message");
    let _ = replacement.add_header(headers);
}

/// containerd's status for a tonic decode failure; `None` for any other status.
fn containerd_status(status: &Status, dialect: &'static Dialect) -> Option<Status> {
    let message = status.message();
    match status.code() {
        Code::OutOfRange => {
            let rest = message.strip_prefix("Error, decoded message length too large: found ")?;
            let (found, rest) = rest.split_once(" bytes, the limit is: ")?;
            let limit = rest.strip_suffix(" bytes")?;
            Some(Status::resource_exhausted(format!(
                "grpc: received message larger than max ({found} vs. {limit})"
            )))
        }
        Code::Internal => {
            let cause = message.strip_prefix("failed to decode Protobuf message: ")?;
            Some(Status::internal(format!(
                "grpc: error unmarshalling request: {}",
                unmarshal_text(cause, dialect.protobuf_decoder)
            )))
        }
        _ => None,
    }
}

/// The Go protobuf library's text for what prost reported as `cause`
/// (`Message.field: description`).
fn unmarshal_text(cause: &str, decoder: ProtobufDecoder) -> String {
    const NOT_UTF8: &str = "invalid string value: data is not UTF-8 encoded";
    if cause.ends_with(NOT_UTF8) {
        return "string field contains invalid UTF-8".into();
    }
    match decoder {
        ProtobufDecoder::ProtobufGo => "proto: cannot parse invalid wire-format data".into(),
        ProtobufDecoder::Gogo => match cause.split_once("invalid wire type value: ") {
            Some((_, wire_type)) => format!("proto: illegal wireType {wire_type}"),
            None if cause.ends_with("invalid varint") => "proto: integer overflow".into(),
            None => "unexpected EOF".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    fn rewritten(status: Status, profile: Profile) -> Option<(Code, String)> {
        containerd_status(&status, profile.dialect()).map(|s| (s.code(), s.message().into()))
    }

    #[test]
    fn an_oversized_request_is_resource_exhausted_in_grpc_go_words() {
        let tonic = Status::out_of_range(
            "Error, decoded message length too large: found 17825832 bytes, the limit is: 16777216 bytes",
        );
        for profile in Profile::ALL {
            assert_eq!(
                rewritten(tonic.clone(), profile),
                Some((
                    Code::ResourceExhausted,
                    "grpc: received message larger than max (17825832 vs. 16777216)".into()
                ))
            );
        }
    }

    #[test]
    fn invalid_utf8_is_an_unmarshalling_error_in_protobuf_go_words() {
        let tonic = Status::internal(
            "failed to decode Protobuf message: VersionRequest.version: invalid string value: data is not UTF-8 encoded",
        );
        assert_eq!(
            rewritten(tonic, Profile::Containerd23),
            Some((
                Code::Internal,
                "grpc: error unmarshalling request: string field contains invalid UTF-8".into()
            ))
        );
    }

    #[test]
    fn bad_wire_data_reads_as_each_releases_protobuf_library() {
        let wire_type = Status::internal(
            "failed to decode Protobuf message: RunPodSandboxRequest.config: invalid wire type value: 7",
        );
        let underflow = Status::internal("failed to decode Protobuf message: buffer underflow");
        assert_eq!(
            rewritten(wire_type.clone(), Profile::Containerd23).map(|r| r.1),
            Some(
                "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data"
                    .into()
            )
        );
        assert_eq!(
            rewritten(wire_type, Profile::Containerd16).map(|r| r.1),
            Some("grpc: error unmarshalling request: proto: illegal wireType 7".into())
        );
        assert_eq!(
            rewritten(underflow, Profile::Containerd16).map(|r| r.1),
            Some("grpc: error unmarshalling request: unexpected EOF".into())
        );
    }

    #[test]
    fn other_statuses_are_left_alone() {
        for status in [
            Status::internal("something else"),
            Status::out_of_range("out of range"),
            Status::unknown("failed to decode Protobuf message: looks like one"),
        ] {
            assert_eq!(rewritten(status, Profile::Containerd23), None);
        }
    }

    #[test]
    fn the_rewritten_status_replaces_the_headers() {
        let mut headers = http::HeaderMap::new();
        Status::out_of_range(
            "Error, decoded message length too large: found 20 bytes, the limit is: 10 bytes",
        )
        .add_header(&mut headers)
        .unwrap();
        rewrite(&mut headers, Profile::Containerd23.dialect());
        let status = Status::from_header_map(&headers).unwrap();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "grpc: received message larger than max (20 vs. 10)"
        );
        assert_eq!(headers.get_all("grpc-message").iter().count(), 1);
    }
}
