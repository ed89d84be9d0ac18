//! Signals: numbers and names (Linux x86_64), dispositions, and the receiving end a
//! program uses for the signals it catches.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

/// A signal, by its Linux x86_64 number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

/// Every signal with a name, in number order.
const NAMES: &[(i32, &str)] = &[
    (1, "SIGHUP"),
    (2, "SIGINT"),
    (3, "SIGQUIT"),
    (4, "SIGILL"),
    (5, "SIGTRAP"),
    (6, "SIGABRT"),
    (7, "SIGBUS"),
    (8, "SIGFPE"),
    (9, "SIGKILL"),
    (10, "SIGUSR1"),
    (11, "SIGSEGV"),
    (12, "SIGUSR2"),
    (13, "SIGPIPE"),
    (14, "SIGALRM"),
    (15, "SIGTERM"),
    (16, "SIGSTKFLT"),
    (17, "SIGCHLD"),
    (18, "SIGCONT"),
    (19, "SIGSTOP"),
    (20, "SIGTSTP"),
    (21, "SIGTTIN"),
    (22, "SIGTTOU"),
    (23, "SIGURG"),
    (24, "SIGXCPU"),
    (25, "SIGXFSZ"),
    (26, "SIGVTALRM"),
    (27, "SIGPROF"),
    (28, "SIGWINCH"),
    (29, "SIGIO"),
    (30, "SIGPWR"),
    (31, "SIGSYS"),
];

/// The highest signal number (`SIGRTMAX` on Linux).
pub const MAX_SIGNAL: i32 = 64;

impl Signal {
    /// Hangup (1).
    pub const SIGHUP: Signal = Signal(1);
    /// Interrupt (2).
    pub const SIGINT: Signal = Signal(2);
    /// Quit (3).
    pub const SIGQUIT: Signal = Signal(3);
    /// Abort (6).
    pub const SIGABRT: Signal = Signal(6);
    /// Kill (9): cannot be caught or ignored.
    pub const SIGKILL: Signal = Signal(9);
    /// User-defined signal 1 (10).
    pub const SIGUSR1: Signal = Signal(10);
    /// Segmentation fault (11).
    pub const SIGSEGV: Signal = Signal(11);
    /// Bad system call (31): what a seccomp filter's kill action ends a process with.
    pub const SIGSYS: Signal = Signal(31);
    /// User-defined signal 2 (12).
    pub const SIGUSR2: Signal = Signal(12);
    /// Broken pipe (13).
    pub const SIGPIPE: Signal = Signal(13);
    /// Alarm clock (14).
    pub const SIGALRM: Signal = Signal(14);
    /// Termination (15).
    pub const SIGTERM: Signal = Signal(15);
    /// Child status changed (17): ignored by default.
    pub const SIGCHLD: Signal = Signal(17);
    /// Continue (18): ignored by default.
    pub const SIGCONT: Signal = Signal(18);
    /// Stop (19): cannot be caught or ignored.
    pub const SIGSTOP: Signal = Signal(19);
    /// Terminal stop (20).
    pub const SIGTSTP: Signal = Signal(20);
    /// Urgent socket condition (23): ignored by default.
    pub const SIGURG: Signal = Signal(23);
    /// Window size change (28): ignored by default.
    pub const SIGWINCH: Signal = Signal(28);

    /// The signal with number `n`, if `1 <= n <= 64`.
    pub fn from_number(n: i32) -> Option<Signal> {
        (1..=MAX_SIGNAL).contains(&n).then_some(Signal(n))
    }

    /// Parses `"SIGTERM"`, `"TERM"`, `"term"` or `"15"` (as in an image's `StopSignal`,
    /// `kill -s TERM`, `kill -TERM`, `kill -15`, `trap ... TERM`).
    pub fn parse(s: &str) -> Option<Signal> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse::<i32>().ok().and_then(Signal::from_number);
        }
        let upper = s.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some(&(n, _)) = NAMES.iter().find(|(_, name)| &name[3..] == bare) {
            return Some(Signal(n));
        }
        match bare {
            "IOT" => return Some(Signal(6)),
            "POLL" => return Some(Signal(29)),
            "CLD" => return Some(Signal(17)),
            _ => {}
        }
        if let Some(rest) = bare.strip_prefix("RTMIN") {
            return offset(34, rest);
        }
        if let Some(rest) = bare.strip_prefix("RTMAX") {
            return offset(64, rest);
        }
        None
    }

    /// The signal number.
    pub fn number(self) -> i32 {
        self.0
    }

    /// The signal's name with the `SIG` prefix (`"SIGTERM"`); real-time signals are
    /// named like `"SIGRTMIN+2"`.
    pub fn name(self) -> &'static str {
        if let Some(&(_, name)) = NAMES.iter().find(|(n, _)| *n == self.0) {
            return name;
        }
        const RT: [&str; 31] = [
            "SIGRTMIN",
            "SIGRTMIN+1",
            "SIGRTMIN+2",
            "SIGRTMIN+3",
            "SIGRTMIN+4",
            "SIGRTMIN+5",
            "SIGRTMIN+6",
            "SIGRTMIN+7",
            "SIGRTMIN+8",
            "SIGRTMIN+9",
            "SIGRTMIN+10",
            "SIGRTMIN+11",
            "SIGRTMIN+12",
            "SIGRTMIN+13",
            "SIGRTMIN+14",
            "SIGRTMIN+15",
            "SIGRTMAX-14",
            "SIGRTMAX-13",
            "SIGRTMAX-12",
            "SIGRTMAX-11",
            "SIGRTMAX-10",
            "SIGRTMAX-9",
            "SIGRTMAX-8",
            "SIGRTMAX-7",
            "SIGRTMAX-6",
            "SIGRTMAX-5",
            "SIGRTMAX-4",
            "SIGRTMAX-3",
            "SIGRTMAX-2",
            "SIGRTMAX-1",
            "SIGRTMAX",
        ];
        match self.0 {
            32 => "SIGRT32",
            33 => "SIGRT33",
            n @ 34..=64 => RT[(n - 34) as usize],
            _ => "SIG?",
        }
    }

    /// The name without the `SIG` prefix (`"TERM"`), as `kill -l` and `trap` print it.
    pub fn short_name(self) -> &'static str {
        let name = self.name();
        name.strip_prefix("SIG").unwrap_or(name)
    }

    /// The text `strsignal` gives (glibc), as `psignal` and shells print it.
    pub fn description(self) -> &'static str {
        match self.0 {
            1 => "Hangup",
            2 => "Interrupt",
            3 => "Quit",
            4 => "Illegal instruction",
            5 => "Trace/breakpoint trap",
            6 => "Aborted",
            7 => "Bus error",
            8 => "Floating point exception",
            9 => "Killed",
            10 => "User defined signal 1",
            11 => "Segmentation fault",
            12 => "User defined signal 2",
            13 => "Broken pipe",
            14 => "Alarm clock",
            15 => "Terminated",
            16 => "Stack fault",
            17 => "Child exited",
            18 => "Continued",
            19 => "Stopped (signal)",
            20 => "Stopped",
            21 => "Stopped (tty input)",
            22 => "Stopped (tty output)",
            23 => "Urgent I/O condition",
            24 => "CPU time limit exceeded",
            25 => "File size limit exceeded",
            26 => "Virtual timer expired",
            27 => "Profiling timer expired",
            28 => "Window changed",
            29 => "I/O possible",
            30 => "Power failure",
            31 => "Bad system call",
            _ => "Real-time signal",
        }
    }

    /// Whether the default action of this signal is to do nothing (SIGCHLD, SIGCONT,
    /// SIGURG, SIGWINCH) rather than to end the process.
    pub fn default_is_ignore(self) -> bool {
        matches!(self.0, 17 | 18 | 23 | 28)
    }

    /// Whether the default action stops the process (SIGSTOP, SIGTSTP, SIGTTIN,
    /// SIGTTOU). The simulation does not stop processes: such signals are discarded.
    pub fn default_is_stop(self) -> bool {
        matches!(self.0, 19..=22)
    }

    /// Every named signal from 1 to 31, in number order (for `kill -l`).
    pub fn all_standard() -> impl Iterator<Item = Signal> {
        NAMES.iter().map(|&(n, _)| Signal(n))
    }
}

fn offset(base: i32, rest: &str) -> Option<Signal> {
    if rest.is_empty() {
        return Signal::from_number(base);
    }
    let n: i32 = rest.parse().ok()?;
    let sig = Signal::from_number(base + n)?;
    (34..=64).contains(&sig.0).then_some(sig)
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a process does when a signal arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disposition {
    /// The default action: end the process (or nothing, for SIGCHLD and friends).
    #[default]
    Default,
    /// Discard the signal. Inherited by child processes, like a real `SIG_IGN`.
    Ignore,
    /// Queue the signal for the program's [`SignalReceiver`]. Reset to the default in
    /// child processes and on exec.
    Catch,
}

/// The dispositions of one process. Signals not listed have the default disposition.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dispositions {
    ignored: BTreeSet<Signal>,
    caught: BTreeSet<Signal>,
}

impl Dispositions {
    pub(crate) fn with_ignored(ignored: BTreeSet<Signal>) -> Self {
        Self {
            ignored,
            caught: BTreeSet::new(),
        }
    }

    pub(crate) fn get(&self, sig: Signal) -> Disposition {
        if self.ignored.contains(&sig) {
            Disposition::Ignore
        } else if self.caught.contains(&sig) {
            Disposition::Catch
        } else {
            Disposition::Default
        }
    }

    pub(crate) fn set(&mut self, sig: Signal, disposition: Disposition) {
        if sig == Signal::SIGKILL || sig == Signal::SIGSTOP {
            return;
        }
        self.ignored.remove(&sig);
        self.caught.remove(&sig);
        match disposition {
            Disposition::Default => {}
            Disposition::Ignore => {
                self.ignored.insert(sig);
            }
            Disposition::Catch => {
                self.caught.insert(sig);
            }
        }
    }

    /// The signals a child process starts out ignoring.
    pub(crate) fn ignored(&self) -> BTreeSet<Signal> {
        self.ignored.clone()
    }

    /// What exec does: caught signals go back to the default, ignored ones stay.
    pub(crate) fn reset_caught(&mut self) {
        self.caught.clear();
    }

    /// A bit mask of a set, as `/proc/<pid>/status` prints `SigIgn`/`SigCgt`.
    pub(crate) fn masks(&self) -> (u64, u64) {
        let mask = |set: &BTreeSet<Signal>| {
            set.iter()
                .fold(0u64, |m, s| m | (1u64 << ((s.0 - 1) as u32 & 63)))
        };
        (mask(&self.ignored), mask(&self.caught))
    }
}

/// The receiving end of a process's caught signals.
///
/// A program that wants to handle a signal itself calls [`SignalReceiver::catch`] and
/// then awaits [`SignalReceiver::recv`]. Signals with the default disposition end the
/// process without the program's involvement (SIGKILL always does), and ignored ones
/// are discarded.
#[derive(Debug)]
pub struct SignalReceiver {
    rx: mpsc::UnboundedReceiver<Signal>,
    dispositions: Arc<Mutex<Dispositions>>,
}

impl SignalReceiver {
    pub(crate) fn new(
        rx: mpsc::UnboundedReceiver<Signal>,
        dispositions: Arc<Mutex<Dispositions>>,
    ) -> Self {
        Self { rx, dispositions }
    }

    /// A receiver connected to nothing: it never yields a signal. Useful for running a
    /// program inline, where the caller keeps the real receiver.
    pub fn detached() -> Self {
        let (_tx, rx) = mpsc::unbounded_channel();
        Self {
            rx,
            dispositions: Arc::new(Mutex::new(Dispositions::default())),
        }
    }

    /// The next caught signal. Pending forever if none ever arrives.
    pub async fn recv(&mut self) -> Signal {
        match self.rx.recv().await {
            Some(sig) => sig,
            None => std::future::pending().await,
        }
    }

    /// A caught signal that has already arrived, if any.
    pub fn try_recv(&mut self) -> Option<Signal> {
        self.rx.try_recv().ok()
    }

    /// Handle `signal` in the program: it is queued for [`SignalReceiver::recv`]
    /// instead of taking its default action. Has no effect on SIGKILL and SIGSTOP.
    pub fn catch(&self, signal: Signal) {
        self.set(signal, Disposition::Catch);
    }

    /// Ignore `signal` (`SIG_IGN`); children spawned afterwards inherit this.
    pub fn ignore(&self, signal: Signal) {
        self.set(signal, Disposition::Ignore);
    }

    /// Restore the default action of `signal`.
    pub fn set_default(&self, signal: Signal) {
        self.set(signal, Disposition::Default);
    }

    /// Sets the disposition of `signal`.
    pub fn set(&self, signal: Signal, disposition: Disposition) {
        if let Ok(mut d) = self.dispositions.lock() {
            d.set(signal, disposition);
        }
    }

    /// The current disposition of `signal`.
    pub fn disposition(&self, signal: Signal) -> Disposition {
        self.dispositions
            .lock()
            .map(|d| d.get(signal))
            .unwrap_or_default()
    }

    pub(crate) fn ignored_set(&self) -> BTreeSet<Signal> {
        self.dispositions
            .lock()
            .map(|d| d.ignored())
            .unwrap_or_default()
    }

    pub(crate) fn reset_caught(&self) {
        if let Ok(mut d) = self.dispositions.lock() {
            d.reset_caught();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_parse_accepts_names_with_and_without_prefix_in_any_case_and_numbers() {
        assert_eq!(Signal::parse("SIGTERM"), Some(Signal::SIGTERM));
        assert_eq!(Signal::parse("TERM"), Some(Signal::SIGTERM));
        assert_eq!(Signal::parse("term"), Some(Signal::SIGTERM));
        assert_eq!(Signal::parse("15"), Some(Signal::SIGTERM));
        assert_eq!(Signal::parse("sigint"), Some(Signal::SIGINT));
        assert_eq!(Signal::parse("9"), Some(Signal::SIGKILL));
        assert_eq!(Signal::parse("RTMIN+2").map(Signal::number), Some(36));
        assert_eq!(Signal::parse("0"), None);
        assert_eq!(Signal::parse("65"), None);
        assert_eq!(Signal::parse("NOPE"), None);
        assert_eq!(Signal::parse(""), None);
    }

    #[test]
    fn signal_numbers_and_names_follow_linux_x86_64() {
        let expected = [
            (Signal::SIGHUP, 1, "SIGHUP"),
            (Signal::SIGINT, 2, "SIGINT"),
            (Signal::SIGQUIT, 3, "SIGQUIT"),
            (Signal::SIGKILL, 9, "SIGKILL"),
            (Signal::SIGUSR1, 10, "SIGUSR1"),
            (Signal::SIGUSR2, 12, "SIGUSR2"),
            (Signal::SIGPIPE, 13, "SIGPIPE"),
            (Signal::SIGALRM, 14, "SIGALRM"),
            (Signal::SIGTERM, 15, "SIGTERM"),
            (Signal::SIGCHLD, 17, "SIGCHLD"),
            (Signal::SIGCONT, 18, "SIGCONT"),
            (Signal::SIGSTOP, 19, "SIGSTOP"),
        ];
        for (sig, n, name) in expected {
            assert_eq!((sig.number(), sig.name()), (n, name));
        }
        assert_eq!(Signal::SIGTERM.short_name(), "TERM");
        assert_eq!(format!("{:?}", Signal::SIGKILL), "SIGKILL");
    }

    #[test]
    fn dispositions_keep_sigkill_uncatchable_and_exec_resets_only_caught_signals() {
        let mut d = Dispositions::default();
        d.set(Signal::SIGKILL, Disposition::Ignore);
        assert_eq!(d.get(Signal::SIGKILL), Disposition::Default);
        d.set(Signal::SIGTERM, Disposition::Ignore);
        d.set(Signal::SIGINT, Disposition::Catch);
        d.reset_caught();
        assert_eq!(d.get(Signal::SIGTERM), Disposition::Ignore);
        assert_eq!(d.get(Signal::SIGINT), Disposition::Default);
        assert_eq!(d.masks(), (1 << 14, 0));
    }
}
