//! GetContainerEvents. containerd 1.6 does not implement it: the stream fails at once
//! with UNIMPLEMENTED (reference §9).

use crate::error::{CriError, ErrorCode};
use crate::runtime::Runtime;
use crate::service::ContainerEventStream;

impl Runtime {
    /// The container event stream.
    pub fn container_events(&self) -> Result<ContainerEventStream, CriError> {
        Err(CriError::new(
            ErrorCode::Unimplemented,
            "method GetContainerEvents not implemented",
        ))
    }
}
