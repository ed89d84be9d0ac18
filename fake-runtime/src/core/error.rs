//! The fake's one domain error type, and the single place it becomes a `tonic::Status`.
//!
//! containerd's CRI plugin uses very few gRPC codes (reference §0): NOT_FOUND for a missing
//! object, DEADLINE_EXCEEDED for the ExecSync timeout, INVALID_ARGUMENT for the Exec/Attach
//! stream flags, RESOURCE_EXHAUSTED for the 16 MiB send limit, UNIMPLEMENTED for methods it
//! lacks, and UNKNOWN for everything else. [`CriError`] carries one of those codes and the
//! exact message text.

use std::fmt;

use crate::core::profile::Dialect;

/// The gRPC codes containerd's CRI plugin answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A missing sandbox, container, image or exec target.
    NotFound,
    /// Every other error: wrong state, name conflicts, empty or ambiguous ids.
    Unknown,
    /// Exec/Attach stream flag checks.
    InvalidArgument,
    /// The ExecSync timeout.
    DeadlineExceeded,
    /// A response over the 16 MiB send limit.
    ResourceExhausted,
    /// A method the runtime does not implement.
    Unimplemented,
    /// Name reservation conflicts (containerd 2.3; UNKNOWN in 1.6).
    FailedPrecondition,
    /// Stats of a sandbox that is not ready (containerd 2.3).
    Unavailable,
}

impl ErrorCode {
    /// The tonic code for this error code.
    pub fn to_tonic(self) -> tonic::Code {
        match self {
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::Unknown => tonic::Code::Unknown,
            ErrorCode::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorCode::DeadlineExceeded => tonic::Code::DeadlineExceeded,
            ErrorCode::ResourceExhausted => tonic::Code::ResourceExhausted,
            ErrorCode::Unimplemented => tonic::Code::Unimplemented,
            ErrorCode::FailedPrecondition => tonic::Code::FailedPrecondition,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
        }
    }
}

/// An error as containerd reports it: a code and the exact message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriError {
    code: ErrorCode,
    message: String,
}

impl CriError {
    /// An error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// An UNKNOWN error (containerd's code for most failures).
    pub fn unknown(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unknown, message)
    }

    /// A NOT_FOUND error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The message text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `prefix: ` put in front of the message.
    pub fn context(self, prefix: impl fmt::Display) -> Self {
        Self {
            code: self.code,
            message: format!("{prefix}: {}", self.message),
        }
    }
}

impl fmt::Display for CriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CriError {}

impl From<CriError> for tonic::Status {
    fn from(error: CriError) -> Self {
        tonic::Status::new(error.code.to_tonic(), error.message)
    }
}

/// Why an id or id prefix did not name exactly one object.
///
/// Its `Display` is containerd's wording (the tail of the RPC-specific message), and
/// [`CriError`]s built from it get NOT_FOUND for a missing id and UNKNOWN otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The id was empty.
    Empty,
    /// Nothing has this id or prefix.
    NotFound,
    /// More than one id starts with this prefix.
    Ambiguous(String),
}

impl LookupError {
    /// The gRPC code containerd uses for this lookup failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            LookupError::NotFound => ErrorCode::NotFound,
            LookupError::Empty | LookupError::Ambiguous(_) => ErrorCode::Unknown,
        }
    }

    /// A [`CriError`] with this failure's code and `prefix: <failure>` as message, in
    /// the wording of `dialect`'s release.
    pub(crate) fn with_prefix(&self, dialect: &Dialect, prefix: impl fmt::Display) -> CriError {
        CriError::new(self.code(), format!("{prefix}: {}", self.text(dialect)))
    }

    /// The failure in the wording of `dialect`'s release.
    pub(crate) fn text(&self, dialect: &Dialect) -> std::borrow::Cow<'static, str> {
        match self {
            LookupError::Empty => dialect.empty_prefix.into(),
            LookupError::NotFound => "not found".into(),
            LookupError::Ambiguous(prefix) => {
                format!("Multiple IDs found with provided prefix: {prefix}").into()
            }
        }
    }
}

/// The wording of the default profile.
impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(crate::core::profile::Profile::default().dialect()))
    }
}

impl std::error::Error for LookupError {}

pub use crate::go::go_quote;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_failures_read_like_containerd_and_only_missing_ids_are_not_found() {
        let old = crate::core::profile::Profile::Containerd16.dialect();
        let new = crate::core::profile::Profile::Containerd23.dialect();
        let missing =
            LookupError::NotFound.with_prefix(new, "an error occurred when try to find sandbox");
        assert_eq!(missing.code(), ErrorCode::NotFound);
        assert_eq!(
            missing.message(),
            "an error occurred when try to find sandbox: not found"
        );
        let prefix = format!(
            "an error occurred when try to find container {}",
            go_quote("")
        );
        let empty = LookupError::Empty.with_prefix(old, &prefix);
        assert_eq!(empty.code(), ErrorCode::Unknown);
        assert_eq!(
            empty.message(),
            "an error occurred when try to find container \"\": Prefix can't be empty"
        );
        assert_eq!(
            LookupError::Empty.with_prefix(new, &prefix).message(),
            "an error occurred when try to find container \"\": prefix can't be empty"
        );
        let ambiguous = LookupError::Ambiguous("00".into()).with_prefix(new, "x");
        assert_eq!(ambiguous.code(), ErrorCode::Unknown);
        assert_eq!(
            ambiguous.message(),
            "x: Multiple IDs found with provided prefix: 00"
        );
    }

    #[test]
    fn go_quote_escapes_like_go_percent_q() {
        assert_eq!(go_quote("abc"), "\"abc\"");
        assert_eq!(go_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(go_quote("\u{1}"), "\"\\x01\"");
    }

    #[test]
    fn cri_errors_become_statuses_with_the_same_code_and_text() {
        let status: tonic::Status = CriError::not_found("gone: not found").into();
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(status.message(), "gone: not found");
    }
}
