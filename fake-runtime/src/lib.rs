//! A fake Kubernetes CRI runtime that behaves like containerd's CRI plugin.
//!
//! # Layout
//!
//! (filled in as the modules land)
#![warn(missing_docs)]

pub mod process;
