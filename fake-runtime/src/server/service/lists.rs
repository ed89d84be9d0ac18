//! ListContainers, ListPodSandbox and ListContainerStats served from their
//! [encoded](crate::list_encode) answers.
//!
//! The generated `RuntimeServiceServer` answers with owned messages only, so
//! [`RuntimeRoutes`] stands in front of it under the same service name: it serves the
//! three list paths itself, with tonic's own [`Grpc`] machinery (the same message size
//! limits, and no compression, as the generated server is configured), and hands every
//! other path to the generated server. A list call still runs through
//! [`Dispatcher::call`] (journal and fault rules): its answer is an
//! [`EncodedResponse`], whose size is its byte length and which is decoded for the
//! journal only when the journal keeps it. The request is decoded by prost's decoder,
//! as the generated server's, so its failures read the same (and
//! [`WireErrorsLayer`](super::WireErrorsLayer), around the whole router, rewrites them
//! alike).

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::BufMut;
use cri_proto::RuntimeServiceServer;
use cri_proto::v1::{
    ListContainerStatsRequest, ListContainerStatsResponse, ListContainersRequest,
    ListContainersResponse, ListPodSandboxRequest, ListPodSandboxResponse,
};
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, EncodeBuf, Encoder};
use tonic::codegen::{Body, BoxFuture, StdError};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic_prost::{ProstCodec, ProstDecoder};

use super::{Answer, Dispatcher, RuntimeApi};
use crate::core::error::CriError;
use crate::core::exec::check_encoded_size;
use crate::core::list_encode::EncodedList;
use crate::core::runtime::Runtime;
use crate::toolkit::journal::{Encoded, Recorded};
use crate::toolkit::method::Method;

/// A response message of type `T`, already encoded.
pub(super) struct EncodedResponse<T> {
    /// The encoding of a `T`.
    encoded: EncodedList,
    /// The message type the bytes encode.
    message: PhantomData<fn() -> T>,
}

impl<T> EncodedResponse<T> {
    /// The answer whose encoding is `encoded`.
    pub(super) fn new(encoded: EncodedList) -> Self {
        Self {
            encoded,
            message: PhantomData,
        }
    }
}

impl<T> fmt::Debug for EncodedResponse<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedResponse")
            .field("type", &std::any::type_name::<T>())
            .field("bytes", &self.encoded.len())
            .finish()
    }
}

impl<T: prost::Message + Default + fmt::Debug + 'static> Answer for EncodedResponse<T> {
    /// The bytes, kept encoded (called only when the journal keeps them).
    fn recorded(&self) -> Option<Arc<dyn Recorded>> {
        Some(Arc::new(Encoded::from_encoding::<T>(
            self.encoded.chunks().concat(),
        )))
    }

    fn check_send_size(&self) -> Result<usize, CriError> {
        check_encoded_size(self.encoded.len())
    }
}

/// The codec of an encoded list: the request decoded by prost, the answer's bytes
/// written as they are.
struct EncodedCodec<Req, T>(PhantomData<fn() -> (Req, T)>);

impl<Req, T> Default for EncodedCodec<Req, T> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<Req, T> Codec for EncodedCodec<Req, T>
where
    Req: prost::Message + Default + Send + 'static,
    T: Send + 'static,
{
    type Encode = EncodedResponse<T>;
    type Decode = Req;
    type Encoder = VerbatimEncoder<T>;
    type Decoder = ProstDecoder<Req>;

    fn encoder(&mut self) -> Self::Encoder {
        VerbatimEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstCodec::<Req, Req>::raw_decoder(BufferSettings::default())
    }
}

/// Writes an [`EncodedResponse`]'s bytes verbatim (into a buffer grown once).
struct VerbatimEncoder<T>(PhantomData<fn() -> T>);

impl<T> Encoder for VerbatimEncoder<T> {
    type Item = EncodedResponse<T>;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.encoded.len());
        for chunk in item.encoded.chunks() {
            dst.put_slice(chunk);
        }
        Ok(())
    }
}

/// One list RPC: `list` encodes the answer to a request, through the dispatcher.
struct ListRpc<Req, T> {
    /// Journals and faults the call.
    dispatcher: Dispatcher,
    /// The RPC.
    method: Method,
    /// The encoder of the answer.
    list: fn(&Runtime, Req) -> EncodedList,
    /// The message type of the answer.
    message: PhantomData<fn() -> T>,
}

impl<Req, T> UnaryService<Req> for ListRpc<Req, T>
where
    Req: prost::Message + Default + fmt::Debug + 'static,
    T: prost::Message + Default + fmt::Debug + 'static,
{
    type Response = EncodedResponse<T>;
    type Future = BoxFuture<tonic::Response<EncodedResponse<T>>, Status>;

    fn call(&mut self, request: tonic::Request<Req>) -> Self::Future {
        let dispatcher = self.dispatcher.clone();
        let (method, list) = (self.method, self.list);
        Box::pin(async move {
            dispatcher
                .call(method, request, |rt, req| async move {
                    Ok(EncodedResponse::new(list(&rt, req)))
                })
                .await
        })
    }
}

/// `runtime.v1.RuntimeService`: the three lists served encoded, every other path by
/// the generated server (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct RuntimeRoutes {
    /// Runs the list calls.
    dispatcher: Dispatcher,
    /// Serves every other path.
    generated: RuntimeServiceServer<RuntimeApi>,
    /// The receive and send limit of the list paths (the generated server's).
    max_message_size: usize,
}

impl RuntimeRoutes {
    /// The service over `dispatcher`, with `max_message_size` as the receive and send
    /// limit of every path.
    pub(crate) fn new(dispatcher: Dispatcher, max_message_size: usize) -> Self {
        let generated = RuntimeServiceServer::new(RuntimeApi::new(dispatcher.clone()))
            .max_encoding_message_size(max_message_size)
            .max_decoding_message_size(max_message_size);
        Self {
            dispatcher,
            generated,
            max_message_size,
        }
    }

    /// Serves `request` as the list RPC `method`, answered by `list`.
    fn serve<Req, T, B>(
        &self,
        request: http::Request<B>,
        method: Method,
        list: fn(&Runtime, Req) -> EncodedList,
    ) -> BoxFuture<http::Response<tonic::body::Body>, Infallible>
    where
        Req: prost::Message + Default + fmt::Debug + 'static,
        T: prost::Message + Default + fmt::Debug + 'static,
        B: Body + Send + 'static,
        B::Error: Into<StdError> + Send + 'static,
    {
        let service = ListRpc::<Req, T> {
            dispatcher: self.dispatcher.clone(),
            method,
            list,
            message: PhantomData,
        };
        let limit = Some(self.max_message_size);
        Box::pin(async move {
            let mut grpc = Grpc::new(EncodedCodec::<Req, T>::default())
                .apply_max_message_size_config(limit, limit);
            Ok(grpc.unary(service, request).await)
        })
    }
}

impl NamedService for RuntimeRoutes {
    const NAME: &'static str = <RuntimeServiceServer<RuntimeApi> as NamedService>::NAME;
}

impl<B> tower::Service<http::Request<B>> for RuntimeRoutes
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        tower::Service::<http::Request<B>>::poll_ready(&mut self.generated, cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match request.uri().path() {
            "/runtime.v1.RuntimeService/ListContainers" => self
                .serve::<ListContainersRequest, ListContainersResponse, B>(
                    request,
                    Method::ListContainers,
                    |rt, req| rt.encode_list_containers(req.filter),
                ),
            "/runtime.v1.RuntimeService/ListPodSandbox" => self
                .serve::<ListPodSandboxRequest, ListPodSandboxResponse, B>(
                    request,
                    Method::ListPodSandbox,
                    |rt, req| rt.encode_list_pod_sandbox(req.filter),
                ),
            "/runtime.v1.RuntimeService/ListContainerStats" => self
                .serve::<ListContainerStatsRequest, ListContainerStatsResponse, B>(
                    request,
                    Method::ListContainerStats,
                    |rt, req| rt.encode_list_container_stats(req.filter),
                ),
            _ => self.generated.call(request),
        }
    }
}
