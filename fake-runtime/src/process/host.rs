//! Read-only views of the real machine, for containers sharing one of its
//! namespaces: a host-network container's `netstat` lists the host's sockets
//! (`/proc/net/*`), a host-IPC container's `ipcs` lists the host's System V IPC
//! objects (`/proc/sysvipc/*`). Only the files named in [`HostFile`] are ever read,
//! and nothing is written.

/// A file of the real host's `/proc` that a simulated container may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostFile {
    /// `/proc/net/tcp`.
    Tcp,
    /// `/proc/net/tcp6`.
    Tcp6,
    /// `/proc/net/udp`.
    Udp,
    /// `/proc/net/udp6`.
    Udp6,
    /// `/proc/net/raw`.
    Raw,
    /// `/proc/net/raw6`.
    Raw6,
    /// `/proc/net/unix`.
    Unix,
    /// `/proc/sysvipc/shm`.
    Shm,
    /// `/proc/sysvipc/msg`.
    Msg,
    /// `/proc/sysvipc/sem`.
    Sem,
}

impl HostFile {
    fn path(self) -> &'static str {
        match self {
            HostFile::Tcp => "/proc/net/tcp",
            HostFile::Tcp6 => "/proc/net/tcp6",
            HostFile::Udp => "/proc/net/udp",
            HostFile::Udp6 => "/proc/net/udp6",
            HostFile::Raw => "/proc/net/raw",
            HostFile::Raw6 => "/proc/net/raw6",
            HostFile::Unix => "/proc/net/unix",
            HostFile::Shm => "/proc/sysvipc/shm",
            HostFile::Msg => "/proc/sysvipc/msg",
            HostFile::Sem => "/proc/sysvipc/sem",
        }
    }

    /// The file's text; empty when the host has no such file (no IPv6, no SysV IPC).
    pub(crate) fn read(self) -> String {
        std::fs::read(self.path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}
