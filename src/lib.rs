//! The Kubernetes Container Runtime Interface (CRI) v1 API, generated for
//! [tonic](https://docs.rs/tonic) and [prost](https://docs.rs/prost).
//!
//! This crate holds nothing but generated code: the messages of package `runtime.v1`
//! and the client and server stubs of its two services, `RuntimeService` and
//! `ImageService`. The source is `proto/api.proto`, the upstream CRI `api.proto`,
//! compiled at build time by a pure-Rust protobuf compiler (no `protoc` needed).
//!
//! # Layout
//!
//! - [`v1`]: every message and enum of `runtime.v1`, plus
//!   [`v1::runtime_service_client`], [`v1::runtime_service_server`],
//!   [`v1::image_service_client`] and [`v1::image_service_server`].
//! - The most used stubs are re-exported at the crate root.
//!
//! # Example
//!
//! ```
//! use cri_proto::v1::{VersionRequest, PodSandboxMetadata};
//!
//! let request = VersionRequest { version: "v1".into() };
//! assert_eq!(request.version, "v1");
//! let metadata = PodSandboxMetadata { name: "web".into(), ..Default::default() };
//! assert_eq!(metadata.attempt, 0);
//! ```

/// The CRI v1 API: package `runtime.v1`, generated from `proto/api.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic, rustdoc::all)]
pub mod v1 {
    tonic::include_proto!("runtime.v1");
}

pub use v1::image_service_client::ImageServiceClient;
pub use v1::image_service_server::{ImageService, ImageServiceServer};
pub use v1::runtime_service_client::RuntimeServiceClient;
pub use v1::runtime_service_server::{RuntimeService, RuntimeServiceServer};

/// The encoded `FileDescriptorSet` of `proto/api.proto`, for reflection (for example
/// rendering any CRI message as JSON with `prost-reflect`).
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/cri_descriptor_set.bin"));

/// The fully qualified gRPC name of the runtime service.
pub const RUNTIME_SERVICE_NAME: &str = "runtime.v1.RuntimeService";
/// The fully qualified gRPC name of the image service.
pub const IMAGE_SERVICE_NAME: &str = "runtime.v1.ImageService";
