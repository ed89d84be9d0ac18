//! Thin tonic adapters: decode the request, call the [`Runtime`](crate::runtime::Runtime)
//! core, encode the answer. One file per service; every call goes through
//! [`Dispatcher::call`], the one place where cross-cutting behaviour (the call journal,
//! fault rules) hooks in.

mod image;
mod runtime;

use std::future::Future;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::error::CriError;
use crate::method::Method;
use crate::runtime::Runtime;

pub use image::ImageApi;
pub use runtime::{ContainerEventStream, RuntimeApi};

/// Routes calls to the runtime core.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    runtime: Arc<Runtime>,
}

impl Dispatcher {
    /// A dispatcher over `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }

    /// Runs one unary call.
    pub async fn call<Req, Resp, F, Fut>(
        &self,
        method: Method,
        request: Request<Req>,
        handler: F,
    ) -> Result<Response<Resp>, Status>
    where
        F: FnOnce(Arc<Runtime>, Req) -> Fut,
        Fut: Future<Output = Result<Resp, CriError>>,
    {
        tracing::trace!(%method, "call");
        let result = handler(self.runtime.clone(), request.into_inner()).await;
        if let Err(error) = &result {
            tracing::debug!(%method, code = ?error.code(), message = error.message(), "call failed");
        }
        result.map(Response::new).map_err(Status::from)
    }
}
