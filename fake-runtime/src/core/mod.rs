//! The core: the store, the lifecycle of sandboxes, containers and images, exec, logs,
//! stats and events, in containerd's words. It knows nothing of tonic's services, the
//! toolkit or the transports: what the layers above add, they add through
//! [`hooks`] and [`streams::StreamUrls`], which the core defines.

pub(crate) mod container;
pub(crate) mod container_io;
pub mod error;
pub mod events;
pub mod exec;
pub(crate) mod hooks;
pub(crate) mod image_service;
pub mod images;
pub(crate) mod info;
pub mod list_encode;
pub mod logs;
pub(crate) mod network;
pub mod profile;
pub mod proto_json;
pub mod runtime;
pub(crate) mod sandbox;
pub mod security;
pub mod state;
pub mod stats;
pub(crate) mod streams;
