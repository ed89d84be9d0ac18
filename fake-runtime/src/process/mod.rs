//! Simulated processes.
pub mod pipe;
