//! PID namespaces shared by several containers.
//!
//! A container whose [`SimSpec::pid_namespace`](super::SimSpec::pid_namespace) is
//! `None` is its own PID namespace: its main process is pid 1 and it sees only its
//! own processes (CRI `pid: CONTAINER`). Containers given one [`PidNamespace`] share
//! it: their pids come from it, and `/proc`, `ps`, `pidof` and `kill` in any of them
//! see (and reach) the processes of all of them.
//!
//! * [`PidNamespace::pod`] is a pod's (CRI `pid: POD`): its pid 1 is the sandbox's
//!   `pause` (`/pause`), which is shown but not simulated (signals sent to it have no
//!   effect), and the containers' processes follow from pid 2.
//! * [`PidNamespace::node`] is the node's (CRI `pid: NODE`): pids are host pids. It
//!   holds the processes of the host-PID containers only; the real host's processes
//!   and those of containers in other PID namespaces are not shown (deliberate:
//!   the simulation gives them no host pid).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;

use super::ProcessInfo;
use super::signal::Signal;
use super::sim::SimInner;

/// One PID namespace shared by containers (see the [module](self) docs).
pub struct PidNamespace {
    /// The pod's `pause` as pid 1, for a pod's namespace.
    init: Option<ProcessInfo>,
    next_pid: AtomicU32,
    members: Mutex<Vec<Weak<SimInner>>>,
}

impl std::fmt::Debug for PidNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PidNamespace")
            .field("init", &self.init)
            .field("next_pid", &self.next_pid)
            .finish_non_exhaustive()
    }
}

impl PidNamespace {
    /// A pod's namespace: pid 1 is its `pause`, containers' processes follow.
    pub fn pod() -> Arc<PidNamespace> {
        Arc::new(PidNamespace {
            init: Some(ProcessInfo {
                pid: 1,
                ppid: 0,
                uid: 0,
                argv: vec!["/pause".into()],
                comm: "pause".into(),
            }),
            next_pid: AtomicU32::new(2),
            members: Mutex::new(Vec::new()),
        })
    }

    /// The node's namespace, whose pids start at `first_pid` (host pids).
    pub fn node(first_pid: u32) -> Arc<PidNamespace> {
        Arc::new(PidNamespace {
            init: None,
            next_pid: AtomicU32::new(first_pid.max(2)),
            members: Mutex::new(Vec::new()),
        })
    }

    /// A new pid (never 0 or 1, which the namespace's init holds).
    pub(crate) fn allocate(&self) -> u32 {
        loop {
            let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
            if pid > 1 {
                return pid;
            }
        }
    }

    pub(crate) fn join(&self, sim: Weak<SimInner>) {
        let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        members.retain(|m| m.strong_count() > 0);
        members.push(sim);
    }

    fn members(&self) -> Vec<Arc<SimInner>> {
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// Every live process of the namespace, by pid.
    pub(crate) fn processes(&self) -> Vec<ProcessInfo> {
        let mut all: Vec<ProcessInfo> = self.init.iter().cloned().collect();
        for member in self.members() {
            all.extend(member.own_processes());
        }
        all.sort_by_key(|p| p.pid);
        all
    }

    /// The live pids.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.processes().into_iter().map(|p| p.pid).collect()
    }

    /// Delivers `sig` to `pid` in whichever container runs it; `false` if no process
    /// has that pid. The pod's `pause` exists but ignores what it is sent.
    pub(crate) fn deliver(&self, pid: u32, sig: Signal) -> bool {
        if self.init.as_ref().is_some_and(|i| i.pid == pid) {
            return true;
        }
        self.members()
            .iter()
            .any(|member| member.deliver_own(pid, sig))
    }

    /// `/proc/<pid>/<name>` of any process of the namespace.
    pub(crate) fn proc_file(&self, pid: u32, name: &str) -> Option<Bytes> {
        if let Some(init) = self.init.as_ref().filter(|i| i.pid == pid) {
            return init_file(init, name);
        }
        self.members()
            .iter()
            .find_map(|member| member.own_proc_file(pid, name))
    }
}

/// The `/proc` files of the pod's `pause`.
fn init_file(init: &ProcessInfo, name: &str) -> Option<Bytes> {
    let pid = init.pid;
    let text = match name {
        "cmdline" => {
            let mut v = Vec::new();
            for a in &init.argv {
                v.extend_from_slice(a.as_bytes());
                v.push(0);
            }
            v
        }
        "comm" => format!("{}\n", init.comm).into_bytes(),
        "environ" => Vec::new(),
        "status" => format!(
            "Name:\t{}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t0\nTracerPid:\t0\n\
             Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\nThreads:\t1\n",
            init.comm,
            uid = init.uid
        )
        .into_bytes(),
        "stat" => format!(
            "{pid} ({}) S 0 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 0 1028096 1 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
            init.comm
        )
        .into_bytes(),
        _ => return None,
    };
    Some(Bytes::from(text))
}
