//! [`FsError`]: the errno a filesystem operation fails with.

/// A filesystem error, displayed as `strerror` words it (glibc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsError {
    /// `ENOENT`.
    NotFound,
    /// `ENOTDIR`.
    NotDir,
    /// `EISDIR`.
    IsDir,
    /// `EEXIST`.
    Exists,
    /// `EACCES`.
    PermissionDenied,
    /// `EPERM`.
    NotPermitted,
    /// `EROFS`.
    ReadOnly,
    /// `ENOTEMPTY`.
    NotEmpty,
    /// `ELOOP`.
    Loop,
    /// `EINVAL`.
    Invalid,
    /// `EBUSY`.
    Busy,
    /// `ENOSPC`: the container's writable layer is full (see
    /// [`SimSpec::writable_layer_limit_bytes`](crate::process::SimSpec::writable_layer_limit_bytes)).
    NoSpace,
    /// `ENAMETOOLONG`: a path of 4096 bytes or more, or a name of more than 255.
    NameTooLong,
    /// Any other host error, with its text.
    Io(String),
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FsError::NotFound => "No such file or directory",
            FsError::NotDir => "Not a directory",
            FsError::IsDir => "Is a directory",
            FsError::Exists => "File exists",
            FsError::PermissionDenied => "Permission denied",
            FsError::NotPermitted => "Operation not permitted",
            FsError::ReadOnly => "Read-only file system",
            FsError::NotEmpty => "Directory not empty",
            FsError::Loop => "Too many levels of symbolic links",
            FsError::Invalid => "Invalid argument",
            FsError::Busy => "Device or resource busy",
            FsError::NoSpace => "No space left on device",
            FsError::NameTooLong => "File name too long",
            FsError::Io(text) => text,
        })
    }
}

impl std::error::Error for FsError {}

impl FsError {
    /// The error for an errno (what a seccomp rule's `errnoRet` gives): the variant
    /// when there is one, otherwise [`FsError::Io`] with glibc's `strerror` text.
    pub fn from_errno(errno: i32) -> FsError {
        match errno {
            2 => FsError::NotFound,
            20 => FsError::NotDir,
            21 => FsError::IsDir,
            17 => FsError::Exists,
            13 => FsError::PermissionDenied,
            1 => FsError::NotPermitted,
            30 => FsError::ReadOnly,
            39 => FsError::NotEmpty,
            40 => FsError::Loop,
            22 => FsError::Invalid,
            16 => FsError::Busy,
            28 => FsError::NoSpace,
            36 => FsError::NameTooLong,
            other => FsError::Io(crate::process::seccomp::strerror(other)),
        }
    }
}

impl From<std::io::Error> for FsError {
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(2) => FsError::NotFound,
            Some(20) => FsError::NotDir,
            Some(21) => FsError::IsDir,
            Some(17) => FsError::Exists,
            Some(13) => FsError::PermissionDenied,
            Some(1) => FsError::NotPermitted,
            Some(30) => FsError::ReadOnly,
            Some(39) => FsError::NotEmpty,
            Some(40) => FsError::Loop,
            Some(22) => FsError::Invalid,
            Some(16) => FsError::Busy,
            Some(28) => FsError::NoSpace,
            Some(36) => FsError::NameTooLong,
            _ => match e.kind() {
                std::io::ErrorKind::NotFound => FsError::NotFound,
                std::io::ErrorKind::PermissionDenied => FsError::PermissionDenied,
                std::io::ErrorKind::AlreadyExists => FsError::Exists,
                _ => FsError::Io(e.to_string()),
            },
        }
    }
}
