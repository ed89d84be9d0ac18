//! What a check is: an async function over a [`Ctx`], named as a behaviour sentence
//! and grouped by area.

use std::fmt;

use futures::future::BoxFuture;

use crate::ctx::Ctx;

/// The areas checks are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Version, Status, RuntimeConfig, ImageFsInfo.
    RuntimeInfo,
    /// Pod sandbox lifecycle.
    Sandbox,
    /// Container create/start/status/remove.
    ContainerLifecycle,
    /// StopContainer and StopPodSandbox semantics.
    StopSemantics,
    /// Id prefixes and name reservations.
    IdsAndNames,
    /// ListPodSandbox / ListContainers filters.
    Listing,
    /// ExecSync behaviour.
    Exec,
    /// ExecSync size limits, timeouts and IO drain.
    ExecLimits,
    /// CRI log files.
    Logs,
    /// The image service.
    Images,
    /// Repeated calls.
    Idempotence,
    /// Error codes and texts of bad input.
    Errors,
    /// Exec, Attach and PortForward over the streaming server.
    Streaming,
    /// Capabilities and read-only paths of a container's security context.
    SecurityContext,
}

impl Area {
    /// Every area.
    pub const ALL: &'static [Area] = &[
        Area::RuntimeInfo,
        Area::Sandbox,
        Area::ContainerLifecycle,
        Area::StopSemantics,
        Area::IdsAndNames,
        Area::Listing,
        Area::Exec,
        Area::ExecLimits,
        Area::Logs,
        Area::Images,
        Area::Idempotence,
        Area::Errors,
        Area::Streaming,
        Area::SecurityContext,
    ];

    /// The area's name, e.g. `exec_limits`.
    pub fn name(self) -> &'static str {
        match self {
            Area::RuntimeInfo => "runtime_info",
            Area::Sandbox => "sandbox",
            Area::ContainerLifecycle => "container_lifecycle",
            Area::StopSemantics => "stop_semantics",
            Area::IdsAndNames => "ids_and_names",
            Area::Listing => "listing",
            Area::Exec => "exec",
            Area::ExecLimits => "exec_limits",
            Area::Logs => "logs",
            Area::Images => "images",
            Area::Idempotence => "idempotence",
            Area::Errors => "errors",
            Area::Streaming => "streaming",
            Area::SecurityContext => "security_context",
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The runtime behaved differently: what was expected and what was observed.
    Mismatch(String),
    /// The target cannot run this check (e.g. it cannot pull images).
    Skip(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Mismatch(m) | Failure::Skip(m) => f.write_str(m),
        }
    }
}

/// A check's result type.
pub type CheckResult = Result<(), Failure>;

/// The function type of a check.
pub type CheckFn = for<'a> fn(&'a mut Ctx) -> BoxFuture<'a, CheckResult>;

/// One behavioural check.
#[derive(Clone, Copy)]
pub struct Check {
    /// Its area.
    pub area: Area,
    /// A behaviour sentence, e.g. `stop_with_timeout_zero_kills_with_137`.
    pub name: &'static str,
    /// The check itself.
    pub run: CheckFn,
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.area, self.name)
    }
}

impl Check {
    /// `area::name`.
    pub fn full_name(&self) -> String {
        format!("{}::{}", self.area, self.name)
    }
}

/// Declares checks: `checks![Area::Exec => fn_a, fn_b]` gives a `Vec<Check>` whose names
/// are the function names.
#[macro_export]
macro_rules! checks {
    ($area:expr => $($f:ident),* $(,)?) => {
        vec![$($crate::check::Check {
            area: $area,
            name: stringify!($f),
            run: |ctx| Box::pin($f(ctx)),
        }),*]
    };
}

/// Fails the check with a formatted message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($crate::check::Failure::Mismatch(format!($($arg)+)));
        }
    };
}

/// Compares two values; on difference fails with both values and a label.
pub fn expect_eq<T: PartialEq + fmt::Debug>(what: &str, observed: T, expected: T) -> CheckResult {
    if observed == expected {
        Ok(())
    } else {
        Err(Failure::Mismatch(format!(
            "{what}: expected {expected:?}, observed {observed:?}"
        )))
    }
}
