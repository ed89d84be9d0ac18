//! [`Error`]: one error type for every operation of the client.
//!
//! An error keeps what a caller needs to decide what to do next, as data:
//!
//! - the gRPC [`Code`] and message of the runtime's answer (never parsed back out of text:
//!   use [`Error::code`], [`Error::is_not_found`] and friends);
//! - the [`Rpc`] that failed, or the wrapper [`Operation`] / run [`Step`] it belonged to;
//! - the [`Ids`] involved (pod, container, image).
//!
//! Operations that retry ([`Client::remove_pod`](crate::Client::remove_pod),
//! [`Client::stop_container`](crate::Client::stop_container)) report *every* attempt in
//! [`Error::Attempts`]; [`Client::run_containers`](crate::Client::run_containers) reports the
//! step that failed and what its clean-up could not undo in [`Error::Step`].

use std::fmt;
use std::io;
use std::time::Duration;

pub use tonic::Code;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A CRI RPC, as sent by this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rpc {
    /// `RuntimeService/Version`.
    Version,
    /// `RuntimeService/Status`.
    Status,
    /// `RuntimeService/RunPodSandbox`.
    RunPodSandbox,
    /// `RuntimeService/StopPodSandbox`.
    StopPodSandbox,
    /// `RuntimeService/RemovePodSandbox`.
    RemovePodSandbox,
    /// `RuntimeService/PodSandboxStatus`.
    PodSandboxStatus,
    /// `RuntimeService/ListPodSandbox`.
    ListPodSandbox,
    /// `RuntimeService/CreateContainer`.
    CreateContainer,
    /// `RuntimeService/StartContainer`.
    StartContainer,
    /// `RuntimeService/StopContainer`.
    StopContainer,
    /// `RuntimeService/RemoveContainer`.
    RemoveContainer,
    /// `RuntimeService/ListContainers`.
    ListContainers,
    /// `RuntimeService/ContainerStatus`.
    ContainerStatus,
    /// `RuntimeService/ExecSync`.
    ExecSync,
    /// `ImageService/ListImages`.
    ListImages,
    /// `ImageService/ImageStatus`.
    ImageStatus,
    /// `ImageService/PullImage`.
    PullImage,
    /// `ImageService/RemoveImage`.
    RemoveImage,
}

impl Rpc {
    /// The method name, as in the proto (`"RunPodSandbox"`).
    pub fn method(self) -> &'static str {
        match self {
            Rpc::Version => "Version",
            Rpc::Status => "Status",
            Rpc::RunPodSandbox => "RunPodSandbox",
            Rpc::StopPodSandbox => "StopPodSandbox",
            Rpc::RemovePodSandbox => "RemovePodSandbox",
            Rpc::PodSandboxStatus => "PodSandboxStatus",
            Rpc::ListPodSandbox => "ListPodSandbox",
            Rpc::CreateContainer => "CreateContainer",
            Rpc::StartContainer => "StartContainer",
            Rpc::StopContainer => "StopContainer",
            Rpc::RemoveContainer => "RemoveContainer",
            Rpc::ListContainers => "ListContainers",
            Rpc::ContainerStatus => "ContainerStatus",
            Rpc::ExecSync => "ExecSync",
            Rpc::ListImages => "ListImages",
            Rpc::ImageStatus => "ImageStatus",
            Rpc::PullImage => "PullImage",
            Rpc::RemoveImage => "RemoveImage",
        }
    }

    /// The fully qualified service name (`"runtime.v1.RuntimeService"` or
    /// `"runtime.v1.ImageService"`).
    pub fn service(self) -> &'static str {
        match self {
            Rpc::ListImages | Rpc::ImageStatus | Rpc::PullImage | Rpc::RemoveImage => {
                cri_proto::IMAGE_SERVICE_NAME
            }
            _ => cri_proto::RUNTIME_SERVICE_NAME,
        }
    }

    /// The gRPC path (`"/runtime.v1.RuntimeService/RunPodSandbox"`).
    pub fn path(self) -> String {
        format!("/{}/{}", self.service(), self.method())
    }
}

impl fmt::Display for Rpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.method())
    }
}

/// A client operation made of several RPCs, retried as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`Client::remove_pod`](crate::Client::remove_pod).
    RemovePod,
    /// [`Client::stop_container`](crate::Client::stop_container).
    StopContainer,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::RemovePod => "remove_pod",
            Operation::StopContainer => "stop_container",
        })
    }
}

/// A step of [`Client::run_containers`](crate::Client::run_containers).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Running the pod sandbox.
    RunPod,
    /// Pulling the image of container number `index` (0-based).
    PullImage {
        /// The container's position in the request.
        index: usize,
        /// The image reference.
        image: String,
    },
    /// Creating container number `index` (0-based).
    CreateContainer {
        /// The container's position in the request.
        index: usize,
        /// The container's metadata name.
        name: String,
    },
    /// Starting container number `index` (0-based).
    StartContainer {
        /// The container's position in the request.
        index: usize,
        /// The id of the created container.
        container_id: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::RunPod => f.write_str("run pod"),
            Step::PullImage { index, image } => {
                write!(f, "pull image {image:?} of container #{index}")
            }
            Step::CreateContainer { index, name } => {
                write!(f, "create container #{index} ({name:?})")
            }
            Step::StartContainer {
                index,
                container_id,
            } => write!(f, "start container #{index} ({container_id:?})"),
        }
    }
}

/// The objects an error is about. Empty fields were not involved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids {
    /// The pod sandbox id.
    pub pod_id: Option<String>,
    /// The container id.
    pub container_id: Option<String>,
    /// The image reference.
    pub image: Option<String>,
}

impl Ids {
    /// No ids.
    pub fn none() -> Self {
        Self::default()
    }

    /// A pod sandbox.
    pub fn pod(id: impl Into<String>) -> Self {
        Self {
            pod_id: Some(id.into()),
            ..Self::default()
        }
    }

    /// A container.
    pub fn container(id: impl Into<String>) -> Self {
        Self {
            container_id: Some(id.into()),
            ..Self::default()
        }
    }

    /// An image.
    pub fn image(reference: impl Into<String>) -> Self {
        Self {
            image: Some(reference.into()),
            ..Self::default()
        }
    }

    /// Whether no id is set.
    pub fn is_empty(&self) -> bool {
        self.pod_id.is_none() && self.container_id.is_none() && self.image.is_none()
    }
}

impl fmt::Display for Ids {
    /// ` (pod "…", container "…", image "…")`, or nothing when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return Ok(());
        }
        let parts: Vec<String> = [
            self.pod_id.as_ref().map(|id| format!("pod {id:?}")),
            self.container_id
                .as_ref()
                .map(|id| format!("container {id:?}")),
            self.image.as_ref().map(|image| format!("image {image:?}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        write!(f, " ({})", parts.join(", "))
    }
}

/// What a force kill was doing when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillAction {
    /// Looking up the parent (the shim) of the container's process.
    FindParent,
    /// Sending SIGKILL.
    Signal,
}

impl fmt::Display for KillAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KillAction::FindParent => "find the parent of",
            KillAction::Signal => "kill",
        })
    }
}

/// The captured result of an `ExecSync` call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Everything the command wrote to stdout (capped by the runtime, 16 MiB in containerd).
    pub stdout: Vec<u8>,
    /// Everything the command wrote to stderr.
    pub stderr: Vec<u8>,
    /// The exit code (128 + signal for signal deaths).
    pub exit_code: i32,
}

impl ExecOutput {
    /// stdout as text, invalid UTF-8 replaced.
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text, invalid UTF-8 replaced.
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Every way an operation of this client can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint string is not a `unix://`, plain-path or `tcp://` endpoint.
    #[error("invalid CRI endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Nothing accepted a connection at the endpoint.
    #[error("cannot connect to CRI endpoint {endpoint:?}: {reason}")]
    Connect {
        /// The endpoint as given.
        endpoint: String,
        /// The cause, with its whole source chain (for example
        /// `No such file or directory (os error 2)`).
        reason: String,
    },

    /// Connecting did not finish within the connect timeout.
    #[error("cannot connect to CRI endpoint {endpoint:?}: no connection within {after:?}")]
    ConnectTimeout {
        /// The endpoint as given.
        endpoint: String,
        /// The connect timeout.
        after: Duration,
    },

    /// An argument was rejected by the client, before any RPC was sent.
    #[error("{operation}: invalid {argument} {value:?}: {reason}")]
    InvalidArgument {
        /// The client method (`"list_pods"`).
        operation: &'static str,
        /// The argument (`"state"`).
        argument: &'static str,
        /// The value as given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The runtime answered an RPC with a gRPC error.
    #[error("{rpc} failed{ids}: code {code:?}: {message}", code = status.code(), message = status.message())]
    Rpc {
        /// The RPC.
        rpc: Rpc,
        /// The objects involved.
        ids: Ids,
        /// The runtime's status, code and message untouched.
        #[source]
        status: tonic::Status,
    },

    /// The client-side deadline of an RPC passed before the runtime answered.
    #[error("{rpc} failed{ids}: no answer within {after:?} (deadline exceeded)")]
    Timeout {
        /// The RPC.
        rpc: Rpc,
        /// The objects involved.
        ids: Ids,
        /// The deadline that passed.
        after: Duration,
    },

    /// The runtime's answer lacks a field the client needs.
    #[error("{rpc}{ids}: the response has no {field}")]
    MissingField {
        /// The RPC.
        rpc: Rpc,
        /// The objects involved.
        ids: Ids,
        /// The missing field (`"status"`).
        field: &'static str,
    },

    /// `ExecSync` ran the command, and it exited with a non-zero code.
    #[error("command {command:?} in container {container_id:?} exited with code {}", output.exit_code)]
    ExecExit {
        /// The container.
        container_id: String,
        /// The command.
        command: Vec<String>,
        /// Its output and exit code.
        output: ExecOutput,
    },

    /// `StopContainer` succeeded but the container is still running.
    #[error("container {container_id:?} is still running after StopContainer")]
    StillRunning {
        /// The container.
        container_id: String,
    },

    /// The verbose container status does not name a usable process id.
    #[error("container {container_id:?}: no process id in the verbose status: {reason}")]
    NoProcessId {
        /// The container.
        container_id: String,
        /// What was wrong with `info["info"]`.
        reason: String,
    },

    /// A force kill could not find or signal the container's shim.
    #[error("container {container_id:?}: cannot {action} process {pid}: {source}")]
    Kill {
        /// The container.
        container_id: String,
        /// The process the action was about.
        pid: u32,
        /// What failed.
        action: KillAction,
        /// The system error.
        #[source]
        source: io::Error,
    },

    /// Every attempt of a retried operation failed; `attempts` holds each failure in order.
    #[error("{operation} failed{ids} after {n} attempt(s); last error: {last}",
        n = attempts.len(),
        last = attempts.last().map(ToString::to_string).unwrap_or_else(|| "none".into()))]
    Attempts {
        /// The operation.
        operation: Operation,
        /// The objects involved.
        ids: Ids,
        /// Every failure, oldest first (RPC errors, client deadlines, kill errors...).
        attempts: Vec<Error>,
    },

    /// A step of [`Client::run_containers`](crate::Client::run_containers) failed; what the
    /// call had created was stopped and removed.
    #[error("run_containers: {step} failed{}: {source}",
        pod_id.as_ref().map(|id| format!(" in pod {id:?}")).unwrap_or_default())]
    Step {
        /// The step that failed.
        step: Step,
        /// The pod, when it had been created.
        pod_id: Option<String>,
        /// The original error.
        #[source]
        source: Box<Error>,
        /// Errors of the clean-up, if any part of it failed (empty when everything the call
        /// created was removed).
        cleanup: Vec<Error>,
    },
}

impl Error {
    /// The gRPC code of the runtime's answer, or [`Code::DeadlineExceeded`] for a client-side
    /// deadline. For [`Error::Attempts`] the code of the last attempt, for [`Error::Step`] the
    /// code of the original error. `None` when no RPC answer is involved (connection,
    /// argument, exit code, kill errors).
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Rpc { status, .. } => Some(status.code()),
            Error::Timeout { .. } => Some(Code::DeadlineExceeded),
            Error::Attempts { attempts, .. } => attempts.last().and_then(Error::code),
            Error::Step { source, .. } => source.code(),
            _ => None,
        }
    }

    /// The runtime's status, when the error is (or ends in) a gRPC error answer.
    pub fn status(&self) -> Option<&tonic::Status> {
        match self {
            Error::Rpc { status, .. } => Some(status),
            Error::Attempts { attempts, .. } => attempts.last().and_then(Error::status),
            Error::Step { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The runtime's error message, when the error is (or ends in) a gRPC error answer.
    pub fn message(&self) -> Option<&str> {
        self.status().map(tonic::Status::message)
    }

    /// The RPC that failed, when one did.
    pub fn rpc(&self) -> Option<Rpc> {
        match self {
            Error::Rpc { rpc, .. }
            | Error::Timeout { rpc, .. }
            | Error::MissingField { rpc, .. } => Some(*rpc),
            Error::ExecExit { .. } => Some(Rpc::ExecSync),
            Error::Attempts { attempts, .. } => attempts.last().and_then(Error::rpc),
            Error::Step { source, .. } => source.rpc(),
            _ => None,
        }
    }

    /// The objects involved, when known.
    pub fn ids(&self) -> Option<&Ids> {
        match self {
            Error::Rpc { ids, .. }
            | Error::Timeout { ids, .. }
            | Error::MissingField { ids, .. }
            | Error::Attempts { ids, .. } => Some(ids),
            Error::Step { source, .. } => source.ids(),
            _ => None,
        }
    }

    /// The output of a command that exited non-zero.
    pub fn exec_output(&self) -> Option<&ExecOutput> {
        match self {
            Error::ExecExit { output, .. } => Some(output),
            _ => None,
        }
    }

    /// The exit code of a command that exited non-zero.
    pub fn exit_code(&self) -> Option<i32> {
        self.exec_output().map(|output| output.exit_code)
    }

    /// Whether the runtime said NOT_FOUND.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound)
    }

    /// Whether a deadline passed (the runtime's DEADLINE_EXCEEDED, for example an ExecSync
    /// timeout, or the client's own deadline).
    pub fn is_deadline_exceeded(&self) -> bool {
        self.code() == Some(Code::DeadlineExceeded)
    }

    /// Whether the runtime could not be reached (UNAVAILABLE), or could not be connected to.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Connect { .. } | Error::ConnectTimeout { .. })
            || self.code() == Some(Code::Unavailable)
    }

    /// Whether the runtime does not implement the RPC (UNIMPLEMENTED).
    pub fn is_unimplemented(&self) -> bool {
        self.code() == Some(Code::Unimplemented)
    }

    /// Whether the runtime said UNKNOWN (containerd's code for most lifecycle errors).
    pub fn is_unknown(&self) -> bool {
        self.code() == Some(Code::Unknown)
    }

    /// Whether the runtime said INVALID_ARGUMENT.
    pub fn is_invalid_argument(&self) -> bool {
        self.code() == Some(Code::InvalidArgument)
    }

    /// Whether the runtime said RESOURCE_EXHAUSTED (for example an ExecSync answer over
    /// the 16 MiB message limit).
    pub fn is_resource_exhausted(&self) -> bool {
        self.code() == Some(Code::ResourceExhausted)
    }

    /// Whether the client rejected an argument before sending anything.
    pub fn is_rejected_argument(&self) -> bool {
        matches!(self, Error::InvalidArgument { .. })
    }

    pub(crate) fn invalid(
        operation: &'static str,
        argument: &'static str,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidArgument {
            operation,
            argument,
            value: value.into(),
            reason: reason.into(),
        }
    }
}

/// Rejects an empty id before any RPC: every runtime answers it with an error, and a retry
/// loop would only repeat it.
pub(crate) fn require_id(operation: &'static str, argument: &'static str, id: &str) -> Result<()> {
    if id.is_empty() {
        Err(Error::invalid(operation, argument, id, "must not be empty"))
    } else {
        Ok(())
    }
}

/// `err` and all its sources, joined with `": "`.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc_error(code: Code, message: &str) -> Error {
        Error::Rpc {
            rpc: Rpc::StopContainer,
            ids: Ids::container("abc"),
            status: tonic::Status::new(code, message),
        }
    }

    #[test]
    fn rpc_error_keeps_the_code_the_message_and_the_ids() {
        let err = rpc_error(
            Code::NotFound,
            "an error occurred when try to find container \"abc\": not found",
        );
        assert_eq!(err.code(), Some(Code::NotFound));
        assert!(err.is_not_found());
        assert_eq!(
            err.message(),
            Some("an error occurred when try to find container \"abc\": not found")
        );
        assert_eq!(err.rpc(), Some(Rpc::StopContainer));
        assert_eq!(err.ids(), Some(&Ids::container("abc")));
        assert_eq!(
            err.to_string(),
            "StopContainer failed (container \"abc\"): code NotFound: an error occurred when try to find container \"abc\": not found"
        );
    }

    #[test]
    fn classification_uses_the_code_not_the_message_text() {
        let err = rpc_error(Code::Unknown, "rpc error: code = NotFound desc = not found");
        assert!(!err.is_not_found());
        assert!(err.is_unknown());
    }

    #[test]
    fn client_deadline_counts_as_deadline_exceeded() {
        let err = Error::Timeout {
            rpc: Rpc::RemovePodSandbox,
            ids: Ids::pod("p1"),
            after: Duration::from_millis(50),
        };
        assert_eq!(err.code(), Some(Code::DeadlineExceeded));
        assert!(err.is_deadline_exceeded());
        assert_eq!(err.rpc(), Some(Rpc::RemovePodSandbox));
        assert_eq!(
            err.to_string(),
            "RemovePodSandbox failed (pod \"p1\"): no answer within 50ms (deadline exceeded)"
        );
    }

    #[test]
    fn attempts_report_the_last_code_and_every_attempt() {
        let err = Error::Attempts {
            operation: Operation::RemovePod,
            ids: Ids::pod("p1"),
            attempts: vec![
                rpc_error(Code::Unknown, "first"),
                rpc_error(Code::Unavailable, "second"),
            ],
        };
        assert_eq!(err.code(), Some(Code::Unavailable));
        assert!(err.is_unavailable());
        assert_eq!(err.message(), Some("second"));
        assert_eq!(err.ids(), Some(&Ids::pod("p1")));
        assert_eq!(
            err.to_string(),
            "remove_pod failed (pod \"p1\") after 2 attempt(s); last error: StopContainer failed (container \"abc\"): code Unavailable: second"
        );
    }

    #[test]
    fn step_error_delegates_to_the_original_error() {
        let err = Error::Step {
            step: Step::CreateContainer {
                index: 2,
                name: "c".into(),
            },
            pod_id: Some("p1".into()),
            source: Box::new(rpc_error(
                Code::NotFound,
                "failed to resolve image \"x\": not found",
            )),
            cleanup: Vec::new(),
        };
        assert!(err.is_not_found());
        assert_eq!(
            err.to_string(),
            "run_containers: create container #2 (\"c\") failed in pod \"p1\": StopContainer failed (container \"abc\"): code NotFound: failed to resolve image \"x\": not found"
        );
    }

    #[test]
    fn exec_exit_carries_code_and_output_but_no_grpc_code() {
        let err = Error::ExecExit {
            container_id: "c1".into(),
            command: vec!["false".into()],
            output: ExecOutput {
                stdout: b"out".to_vec(),
                stderr: b"err".to_vec(),
                exit_code: 1,
            },
        };
        assert_eq!(err.exit_code(), Some(1));
        assert_eq!(err.code(), None);
        assert_eq!(err.rpc(), Some(Rpc::ExecSync));
        assert_eq!(
            err.to_string(),
            "command [\"false\"] in container \"c1\" exited with code 1"
        );
    }

    #[test]
    fn rpc_paths_name_the_right_service() {
        assert_eq!(Rpc::PullImage.path(), "/runtime.v1.ImageService/PullImage");
        assert_eq!(
            Rpc::RemovePodSandbox.path(),
            "/runtime.v1.RuntimeService/RemovePodSandbox"
        );
    }

    #[test]
    fn empty_ids_are_rejected_with_the_operation_and_argument() {
        let err = require_id("start_container", "container id", "").unwrap_err();
        assert!(err.is_rejected_argument());
        assert_eq!(
            err.to_string(),
            "start_container: invalid container id \"\": must not be empty"
        );
        assert!(require_id("start_container", "container id", "abc").is_ok());
    }
}
