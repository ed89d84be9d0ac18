//! Behavioural conformance checks for CRI runtimes.
//!
//! One suite of checks, each an async function over a [`Ctx`] and named as a behaviour
//! sentence, runs against the in-process fake (`cargo test`) and against any CRI socket
//! (`cri-conformance run --endpoint unix:///...`). `cri-conformance compare A B` runs
//! them on two runtimes and reports every observable difference.
//!
//! # Two releases
//!
//! The expected values are what containerd 1.6.20 and 2.3.4 were measured to do. Each
//! [`Target`] says which release it is ([`Target::profile`], a [`cri_fake::Profile`]);
//! where the releases answer differently a check states both answers and expects the
//! target's ([`Ctx::per_profile`], [`ctx::Expected`]), everywhere else one answer holds
//! for both. `cargo test` runs the whole suite against a fake of each release; the
//! `cri-conformance` binary detects a real endpoint's release from its
//! `Version.runtime_version` ([`ctx::detect_profile`]) unless `--profile` names it, and a
//! compared fake imitates the release of the real endpoint.
//!
//! # Layout
//!
//! - [`check`]: the [`Check`] type, areas, failures, the `checks!` macro.
//! - [`ctx`]: [`Ctx`] (clients, unique names, cleanup, observations, the per-release
//!   expectations) and [`Target`]; release detection.
//! - [`checks`](mod@checks): the checks, one module per area.
//! - [`runner`]: runs checks and formats reports (table, JSON, summary line).
//! - [`compare`]: runs two targets and diffs their observations, minus documented deviations.
//! - [`fake`]: starts an in-process fake configured like the reference containerd of a
//!   release.
//! - [`oci`]: writes OCI image archives (for provisioning a real containerd).

pub mod check;
pub mod checks;
pub mod compare;
pub mod ctx;
pub mod fake;
pub mod oci;
pub mod runner;

pub use check::{Area, Check, CheckResult, Failure};
pub use ctx::{Ctx, Expected, Target};
pub use runner::{Outcome, Report};
