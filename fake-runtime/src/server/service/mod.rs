//! Thin tonic adapters: decode the request, call the [`Runtime`]
//! core, encode the answer. One file per service; every call goes through
//! [`Dispatcher::call`], the one place where cross-cutting behaviour hooks in: the
//! [call journal](crate::toolkit::journal) records it, and the [fault rules](crate::toolkit::faults)
//! may delay, hold or fail it (or cut its server stream short).
//!
//! The big lists (ListContainers, ListPodSandbox, ListContainerStats) are answered
//! with bytes the core encodes straight from its records: `lists.rs` serves them in
//! front of the generated runtime service, through the same dispatcher.

mod image;
mod lists;
mod runtime;
mod wire_errors;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use cri_proto::v1::*;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::core::error::CriError;
use crate::core::runtime::Runtime;
use crate::toolkit::journal::{Encoded, Outcome, Recorded};
use crate::toolkit::method::Method;
use crate::toolkit::script::Toolkit;

pub(crate) use image::ImageApi;
pub(crate) use lists::RuntimeRoutes;
pub(crate) use runtime::{ContainerEventStream, RuntimeApi};
pub(crate) use wire_errors::WireErrorsLayer;

/// What an RPC handler answers with: a response message, or (GetContainerEvents) a
/// server stream.
pub(crate) trait Answer: Send + 'static {
    /// The message to keep in the journal (`None` for a stream).
    fn recorded(&self) -> Option<Arc<dyn Recorded>>;

    /// Fails like containerd's gRPC server when the encoded message is over its 16 MiB
    /// send limit (streams are checked item by item by tonic); the encoded size.
    fn check_send_size(&self) -> Result<usize, CriError> {
        Ok(0)
    }

    /// Applies a "fail the stream after k items" rule (only streams have items).
    fn fail_after(self, _items: u64, _status: Status) -> Self
    where
        Self: Sized,
    {
        self
    }
}

macro_rules! message_answers {
    ($($ty:ty),* $(,)?) => {$(
        impl Answer for $ty {
            fn recorded(&self) -> Option<Arc<dyn Recorded>> {
                Some(Arc::new(Encoded::of(self)))
            }

            fn check_send_size(&self) -> Result<usize, CriError> {
                crate::core::exec::check_send_size(self)
            }
        }
    )*};
}

message_answers!(
    VersionResponse,
    RunPodSandboxResponse,
    StopPodSandboxResponse,
    RemovePodSandboxResponse,
    PodSandboxStatusResponse,
    ListPodSandboxResponse,
    CreateContainerResponse,
    StartContainerResponse,
    StopContainerResponse,
    RemoveContainerResponse,
    ListContainersResponse,
    ContainerStatusResponse,
    UpdateContainerResourcesResponse,
    ReopenContainerLogResponse,
    ExecSyncResponse,
    ExecResponse,
    AttachResponse,
    PortForwardResponse,
    ContainerStatsResponse,
    ListContainerStatsResponse,
    PodSandboxStatsResponse,
    ListPodSandboxStatsResponse,
    UpdateRuntimeConfigResponse,
    StatusResponse,
    CheckpointContainerResponse,
    ListMetricDescriptorsResponse,
    ListPodSandboxMetricsResponse,
    RuntimeConfigResponse,
    ListImagesResponse,
    ImageStatusResponse,
    PullImageResponse,
    RemoveImageResponse,
    ImageFsInfoResponse,
);

impl Answer for ContainerEventStream {
    fn recorded(&self) -> Option<Arc<dyn Recorded>> {
        None
    }

    fn fail_after(self, items: u64, status: Status) -> Self {
        Box::pin(FailAfter {
            inner: self,
            left: items,
            status: Some(status),
        })
    }
}

/// A stream that passes `left` items, then fails with `status` and ends.
struct FailAfter {
    inner: ContainerEventStream,
    left: u64,
    status: Option<Status>,
}

impl Stream for FailAfter {
    type Item = Result<ContainerEventResponse, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(self.status.take().map(Err));
        }
        let next = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(_))) = &next {
            self.left -= 1;
        }
        next
    }
}

/// Marks a journal entry as cancelled if the call's future is dropped before it ends
/// (the client went away, or its deadline passed).
struct Pending<'a> {
    toolkit: &'a Toolkit,
    number: Option<u64>,
}

impl Pending<'_> {
    fn finish(mut self, outcome: Outcome, response: Option<Arc<dyn Recorded>>) {
        if let Some(number) = self.number.take() {
            self.toolkit.journal.finish(number, outcome, response);
        }
    }

    fn finish_omitted(mut self, size: usize) {
        if let Some(number) = self.number.take() {
            self.toolkit.journal.finish_omitted(number, size);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(number) = self.number.take() {
            self.toolkit
                .journal
                .finish(number, Outcome::Cancelled, None);
        }
    }
}

/// Routes calls to the runtime core.
#[derive(Debug, Clone)]
pub(crate) struct Dispatcher {
    runtime: Arc<Runtime>,
    toolkit: Arc<Toolkit>,
}

impl Dispatcher {
    /// A dispatcher over `runtime`, journalled and faulted by `toolkit`.
    pub(crate) fn new(runtime: Arc<Runtime>, toolkit: Arc<Toolkit>) -> Self {
        Self { runtime, toolkit }
    }

    /// Runs one call: journals its arrival, applies the fault rules that fire (delays,
    /// gates, a status instead of the handler, a stream failure), runs the handler,
    /// journals the outcome.
    pub(crate) async fn call<Req, Resp, F, Fut>(
        &self,
        method: Method,
        request: Request<Req>,
        handler: F,
    ) -> Result<Response<Resp>, Status>
    where
        Req: prost::Message + Default + std::fmt::Debug + 'static,
        Resp: Answer,
        F: FnOnce(Arc<Runtime>, Req) -> Fut,
        Fut: Future<Output = Result<Resp, CriError>>,
    {
        tracing::trace!(%method, "call");
        let toolkit = &self.toolkit;
        let request = request.into_inner();
        // The journal keeps the request encoded (a fraction of its in-memory size);
        // the fault rules read the request itself.
        let plan = toolkit.faults.evaluate(method, &request);
        let pending = Pending {
            toolkit,
            number: Some(
                toolkit
                    .journal
                    .begin(method, Arc::new(Encoded::of(&request))),
            ),
        };
        if !plan.is_empty() {
            plan.wait().await;
            if let Some(status) = &plan.status {
                tracing::debug!(%method, code = ?status.code, "fault rule answered");
                pending.finish(
                    Outcome::Error {
                        code: status.code,
                        message: status.message.clone(),
                    },
                    None,
                );
                return Err(status.to_status());
            }
        }
        let answer = handler(self.runtime.clone(), request)
            .await
            .and_then(|answer| answer.check_send_size().map(|size| (answer, size)));
        match answer {
            Ok((answer, size)) => {
                let answer = match plan.stream_failure {
                    Some((items, status)) => answer.fail_after(items, status.to_status()),
                    None => answer,
                };
                // A response over the journal's payload limit is not copied: the
                // journal keeps its size only.
                if toolkit.journal.keeps_response(size) {
                    pending.finish(Outcome::Ok, answer.recorded());
                } else {
                    pending.finish_omitted(size);
                }
                Ok(Response::new(answer))
            }
            Err(error) => {
                tracing::debug!(%method, code = ?error.code(), message = error.message(), "call failed");
                let status = Status::from(error);
                pending.finish(
                    Outcome::Error {
                        code: status.code(),
                        message: status.message().to_owned(),
                    },
                    None,
                );
                Err(status)
            }
        }
    }
}
