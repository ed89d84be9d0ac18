//! [`ProcessKiller`]: how a force stop kills a container's shim.
//!
//! When a container does not stop, [`Client::stop_container`](crate::Client::stop_container)
//! reads the process id from the container's verbose status, asks the killer for that
//! process's parent (the runtime shim, for example `containerd-shim-runc-v2`) and kills the
//! parent, then asks the runtime to stop the container again.
//!
//! [`HostProcessKiller`] does this on the local machine with no helper programs: it reads
//! the `PPid:` line of `/proc/<pid>/status` and sends SIGKILL with the `kill` system call.
//! Tests plug in their own implementation (for example one that only records the pids).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Finds a process's parent and kills processes.
///
/// Implementations must be cheap to call from async code (the client calls them inline).
pub trait ProcessKiller: Send + Sync + fmt::Debug {
    /// The parent process id of `pid`.
    fn parent_pid(&self, pid: u32) -> io::Result<u32>;

    /// Sends SIGKILL to `pid`.
    fn kill(&self, pid: u32) -> io::Result<()>;
}

impl<K: ProcessKiller + ?Sized> ProcessKiller for std::sync::Arc<K> {
    fn parent_pid(&self, pid: u32) -> io::Result<u32> {
        (**self).parent_pid(pid)
    }

    fn kill(&self, pid: u32) -> io::Result<()> {
        (**self).kill(pid)
    }
}

/// The real killer: `/proc/<pid>/status` and the `kill(2)` system call.
///
/// It refuses to signal pid 0 (the caller's process group), pid 1 (init: a shim whose
/// parent is gone is re-parented to init) and the calling process itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostProcessKiller {
    proc_root: PathBuf,
}

impl Default for HostProcessKiller {
    fn default() -> Self {
        Self {
            proc_root: PathBuf::from("/proc"),
        }
    }
}

impl HostProcessKiller {
    /// A killer reading `/proc`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A killer reading another procfs mount (for example the host's `/proc` mounted at
    /// `/host/proc` inside an agent's container).
    pub fn with_proc_root(proc_root: impl Into<PathBuf>) -> Self {
        Self {
            proc_root: proc_root.into(),
        }
    }

    /// The procfs directory this killer reads.
    pub fn proc_root(&self) -> &Path {
        &self.proc_root
    }
}

impl ProcessKiller for HostProcessKiller {
    fn parent_pid(&self, pid: u32) -> io::Result<u32> {
        let path = self.proc_root.join(pid.to_string()).join("status");
        let text = std::fs::read_to_string(&path)?;
        parse_ppid(&text).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no PPid line in {}", path.display()),
            )
        })
    }

    fn kill(&self, pid: u32) -> io::Result<()> {
        if pid <= 1 || pid == std::process::id() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("refusing to kill process {pid}"),
            ));
        }
        let raw = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("invalid pid {pid}"))
            })?;
        rustix::process::kill_process(raw, rustix::process::Signal::KILL).map_err(io::Error::from)
    }
}

/// The parent pid from the text of `/proc/<pid>/status` (its `PPid:` line).
pub fn parse_ppid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("PPid:"))
        .and_then(|value| value.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_ppid_reads_the_ppid_line() {
        let status = "Name:\tcontainerd-shim\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\nPPid:\t1\nTracerPid:\t0\n";
        assert_eq!(parse_ppid(status), Some(1));
        assert_eq!(parse_ppid("Pid:\t7\nPPid:\t  812 \n"), Some(812));
    }

    #[test]
    fn parse_ppid_is_none_without_a_ppid_line_or_with_garbage() {
        assert_eq!(parse_ppid("Name:\tx\nPid:\t4\n"), None);
        assert_eq!(parse_ppid("PPid:\tabc\n"), None);
        assert_eq!(parse_ppid(""), None);
    }

    #[test]
    fn host_killer_finds_the_parent_of_the_test_process() {
        let killer = HostProcessKiller::new();
        assert_eq!(
            killer.parent_pid(std::process::id()).unwrap(),
            std::os::unix::process::parent_id()
        );
    }

    #[test]
    fn host_killer_reads_another_proc_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("77")).unwrap();
        std::fs::write(
            dir.path().join("77/status"),
            "Name:\tsleep\nPid:\t77\nPPid:\t70\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("78")).unwrap();
        std::fs::write(dir.path().join("78/status"), "Name:\tbroken\n").unwrap();
        let killer = HostProcessKiller::with_proc_root(dir.path());
        assert_eq!(killer.parent_pid(77).unwrap(), 70);
        assert_eq!(
            killer.parent_pid(78).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert_eq!(
            killer.parent_pid(79).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn host_killer_refuses_init_the_process_group_and_itself() {
        let killer = HostProcessKiller::new();
        for pid in [0, 1, std::process::id()] {
            assert_eq!(
                killer.kill(pid).unwrap_err().kind(),
                io::ErrorKind::InvalidInput,
                "pid {pid}"
            );
        }
    }

    #[test]
    fn host_killer_sends_sigkill() {
        use std::os::unix::process::ExitStatusExt;
        let mut child = std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .unwrap();
        HostProcessKiller::new().kill(child.id()).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9));
    }
}
