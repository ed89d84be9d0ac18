//! Serving: the gRPC services (thin adapters from tonic to the core, every call through
//! one dispatcher where the toolkit's journal and fault rules hook in), serving and
//! simulated restarts, the transports, and the streaming server.

pub(crate) mod h2_authority;
pub(crate) mod hpack_strings;
pub mod restart;
pub(crate) mod service;
pub mod streaming;
pub mod transport;
