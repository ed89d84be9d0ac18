//! `Version` and `Status`.

use cri_proto::v1::{StatusRequest, StatusResponse, VersionRequest, VersionResponse};

use crate::client::Client;
use crate::error::{Ids, Result, Rpc};

/// The CRI API version this client speaks, sent in `VersionRequest.version`.
pub const CRI_API_VERSION: &str = "v1";

impl Client {
    /// The runtime's name, version and CRI API version.
    pub async fn version(&self) -> Result<VersionResponse> {
        let message = VersionRequest {
            version: CRI_API_VERSION.to_string(),
        };
        self.runtime_call(
            Rpc::Version,
            Ids::none(),
            Some(self.settings.call_timeout),
            message,
            |mut c, r| async move { c.version(r).await },
        )
        .await
    }

    /// The runtime's conditions (`RuntimeReady`, `NetworkReady`), with `info` when
    /// `verbose`.
    pub async fn status(&self, verbose: bool) -> Result<StatusResponse> {
        self.runtime_call(
            Rpc::Status,
            Ids::none(),
            Some(self.settings.call_timeout),
            StatusRequest { verbose },
            |mut c, r| async move { c.status(r).await },
        )
        .await
    }
}
