//! Behavioural conformance checks for CRI runtimes.
//!
//! One suite of checks, each an async function over a [`Ctx`] and named as a behaviour
//! sentence, runs against the in-process fake (`cargo test`) and against any CRI socket
//! (`cri-conformance run --endpoint unix:///...`). `cri-conformance compare A B` runs
//! them on two runtimes and reports every observable difference. The expected values
//! are what containerd 1.6.20 was measured to do.
//!
//! # Layout
//!
//! - [`check`]: the [`Check`] type, areas, failures, the `checks!` macro.
//! - [`ctx`]: [`Ctx`] (clients, unique names, cleanup, observations) and [`Target`].
//! - [`checks`](mod@checks): the checks, one module per area.
//! - [`runner`]: runs checks and formats reports (table, JSON, summary line).
//! - [`compare`]: runs two targets and diffs their observations, minus documented deviations.
//! - [`fake`]: starts an in-process fake configured like the reference containerd.
//! - [`oci`]: writes OCI image archives (for provisioning a real containerd).

pub mod check;
pub mod checks;
pub mod compare;
pub mod ctx;
pub mod fake;
pub mod oci;
pub mod runner;

pub use check::{Area, Check, CheckResult, Failure};
pub use ctx::{Ctx, Target};
pub use runner::{Outcome, Report};
