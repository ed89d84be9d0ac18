//! The test-author API: scripted execs and containers, expectations and verification.
//!
//! Scripts are built wiremock-style — `given(matcher).respond_with(reply)
//! .expect(n).mount(&fake)` — and take precedence over the simulation: the first
//! mounted script (by [`priority`](ScriptBuilder::priority), then mount order) whose
//! matchers all apply decides what runs; when none applies, the simulation runs the
//! command as usual.
//!
//! - [`ExecScript`]: an `ExecSync` whose command and container match gets the
//!   [`Reply`] (canned output and exit code, a delay, held IO, a program, another
//!   command) instead of running the command.
//! - [`ContainerScript`]: a container whose name, image, labels... match runs the
//!   reply as its main process at start: exits with a code after a delay, is
//!   OOM-killed, crash-loops, runs a program.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::script::{ExecScript, Reply, command};
//! use cri_fake::FakeRuntime;
//! use cri_proto::v1::*;
//!
//! let fake = FakeRuntime::start().await.unwrap();
//! ExecScript::given(command(["cat", "/etc/os-release"]))
//!     .respond_with(Reply::ok().stdout("ID=alpine\n"))
//!     .expect(1)
//!     .named("os-release probe")
//!     .mount(&fake);
//! # let mut cri = fake.runtime_client();
//! # let pod = PodSandboxConfig {
//! #     metadata: Some(PodSandboxMetadata { name: "web".into(), uid: "u".into(), namespace: "ns".into(), attempt: 0 }),
//! #     linux: Some(LinuxPodSandboxConfig { security_context: Some(LinuxSandboxSecurityContext {
//! #         namespace_options: Some(NamespaceOption { network: NamespaceMode::Node as i32, ..Default::default() }),
//! #         ..Default::default() }), ..Default::default() }),
//! #     ..Default::default()
//! # };
//! # let pod_id = cri.run_pod_sandbox(RunPodSandboxRequest { config: Some(pod.clone()), runtime_handler: String::new() })
//! #     .await.unwrap().into_inner().pod_sandbox_id;
//! # let config = ContainerConfig {
//! #     metadata: Some(ContainerMetadata { name: "app".into(), attempt: 0 }),
//! #     image: Some(ImageSpec { image: "busybox:1.36".into(), ..Default::default() }),
//! #     command: vec!["sleep".into(), "1000".into()],
//! #     ..Default::default()
//! # };
//! # let id = cri.create_container(CreateContainerRequest { pod_sandbox_id: pod_id, config: Some(config), sandbox_config: Some(pod) })
//! #     .await.unwrap().into_inner().container_id;
//! # cri.start_container(StartContainerRequest { container_id: id.clone() }).await.unwrap();
//! let exec = |cmd: &[&str]| ExecSyncRequest {
//!     container_id: id.clone(),
//!     cmd: cmd.iter().map(|s| s.to_string()).collect(),
//!     timeout: 5,
//! };
//! // The script answers, whatever the image holds...
//! let os = cri.exec_sync(exec(&["cat", "/etc/os-release"])).await.unwrap().into_inner();
//! assert_eq!((os.stdout.as_slice(), os.exit_code), (&b"ID=alpine\n"[..], 0));
//! // ...and every other command runs in the simulation.
//! let echo = cri.exec_sync(exec(&["echo", "hi"])).await.unwrap().into_inner();
//! assert_eq!(echo.stdout, b"hi\n");
//! fake.verify(); // the probe ran exactly once
//! # fake.shutdown().await;
//! # }
//! ```
//!
//! Expectations ([`expect`](ScriptBuilder::expect), also on
//! [faults](crate::toolkit::faults::Fault::expect)) are checked by
//! [`FakeRuntime::verify`](crate::FakeRuntime::verify), which panics with a readable
//! report (the unmet expectations, then every call the fake received, numbered), and
//! again when the fake is dropped (never while the thread is already panicking).

mod exec;
mod launcher;
pub mod matchers;
mod reply;
mod wait;

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Range, RangeFrom, RangeInclusive, RangeTo, RangeToInclusive};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

pub(crate) use launcher::Launcher;
pub use matchers::{
    Invocation, Match, Matcher, any, command, command_fn, command_prefix, command_regex,
    container_id, container_label, container_name, image, pod_label, pod_name, pod_namespace,
    try_command_regex,
};
pub use reply::Reply;
pub(crate) use wait::STATE_RECHECK;
pub use wait::StateWaitError;

use crate::toolkit::faults::FaultSet;
use crate::toolkit::journal::{Journal, JournalLimits};

/// How many times something is expected to happen: an exact count (`1`) or a range
/// (`1..=3`, `2..`, `..5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    min: u64,
    max: Option<u64>,
}

impl Times {
    /// Exactly `n` times.
    pub fn exactly(n: u64) -> Self {
        Self {
            min: n,
            max: Some(n),
        }
    }

    /// At least `n` times.
    pub fn at_least(n: u64) -> Self {
        Self { min: n, max: None }
    }

    /// At most `n` times.
    pub fn at_most(n: u64) -> Self {
        Self {
            min: 0,
            max: Some(n),
        }
    }

    /// Whether `n` is within the expectation.
    pub fn contains(&self, n: u64) -> bool {
        n >= self.min && self.max.is_none_or(|max| n <= max)
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (min, Some(max)) if min == max => write!(f, "exactly {min} times"),
            (0, Some(max)) => write!(f, "at most {max} times"),
            (min, Some(max)) => write!(f, "between {min} and {max} times"),
            (min, None) => write!(f, "at least {min} times"),
        }
    }
}

impl From<u64> for Times {
    fn from(n: u64) -> Self {
        Self::exactly(n)
    }
}

impl From<RangeInclusive<u64>> for Times {
    fn from(r: RangeInclusive<u64>) -> Self {
        Self {
            min: *r.start(),
            max: Some(*r.end()),
        }
    }
}

impl From<Range<u64>> for Times {
    fn from(r: Range<u64>) -> Self {
        Self {
            min: r.start,
            max: Some(r.end.saturating_sub(1)),
        }
    }
}

impl From<RangeFrom<u64>> for Times {
    fn from(r: RangeFrom<u64>) -> Self {
        Self::at_least(r.start)
    }
}

impl From<RangeTo<u64>> for Times {
    fn from(r: RangeTo<u64>) -> Self {
        Self::at_most(r.end.saturating_sub(1))
    }
}

impl From<RangeToInclusive<u64>> for Times {
    fn from(r: RangeToInclusive<u64>) -> Self {
        Self::at_most(r.end)
    }
}

/// Marks a [`ScriptBuilder`] for execs.
#[derive(Debug)]
pub enum ForExec {}
/// Marks a [`ScriptBuilder`] for containers.
#[derive(Debug)]
pub enum ForContainer {}

/// Which registry a builder mounts into.
pub trait ScriptTarget: Send + Sync + 'static {
    /// `exec script` or `container script`, for reports.
    const LABEL: &'static str;
    #[doc(hidden)]
    fn registry(toolkit: &Toolkit) -> &Scripts;
}

impl ScriptTarget for ForExec {
    const LABEL: &'static str = "exec script";
    fn registry(toolkit: &Toolkit) -> &Scripts {
        &toolkit.exec_scripts
    }
}

impl ScriptTarget for ForContainer {
    const LABEL: &'static str = "container script";
    fn registry(toolkit: &Toolkit) -> &Scripts {
        &toolkit.container_scripts
    }
}

/// Scripts an `ExecSync`: see the [module docs](self).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use cri_fake::script::{ExecScript, Reply, command_prefix, pod_label};
/// use cri_fake::FakeRuntime;
///
/// let fake = FakeRuntime::start().await.unwrap();
/// let _scoped = ExecScript::given(command_prefix(["pg_isready"]))
///     .and(pod_label("app", "db"))
///     .respond_with(Reply::exit(2).stderr("no response\n").delay(Duration::from_millis(100)))
///     .up_to_n_times(3)
///     .mount_as_scoped(&fake);
/// # }
/// ```
pub type ExecScript = ScriptBuilder<ForExec>;

/// Scripts a container's main process: see the [module docs](self).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use cri_fake::script::{ContainerScript, Reply, container_name, image};
/// use cri_fake::FakeRuntime;
///
/// let fake = FakeRuntime::start().await.unwrap();
/// // Every "worker" container crashes 2 s after it starts, with exit code 3.
/// ContainerScript::given(container_name("worker"))
///     .respond_with(Reply::exit(3).stderr("panic: boom\n").delay(Duration::from_secs(2)))
///     .mount(&fake);
/// // The first two starts of any nginx container crash at once, the third runs normally.
/// ContainerScript::given(image("nginx:1.25"))
///     .respond_with(Reply::crash_loop(1))
///     .up_to_n_times(2)
///     .mount(&fake);
/// # fake.shutdown().await;
/// # }
/// ```
pub type ContainerScript = ScriptBuilder<ForContainer>;

#[derive(Clone)]
enum Responder {
    Fixed(Reply),
    Dynamic(Arc<dyn Fn(&Invocation) -> Reply + Send + Sync>),
}

/// A script being built; use it through [`ExecScript`] or [`ContainerScript`].
#[must_use = "a script does nothing until it is mounted"]
pub struct ScriptBuilder<T> {
    matchers: Vec<Box<dyn Matcher>>,
    responder: Responder,
    expect: Option<Times>,
    limit: Option<u64>,
    priority: u8,
    name: Option<String>,
    target: PhantomData<fn() -> T>,
}

impl<T: ScriptTarget> fmt::Debug for ScriptBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(T::LABEL)
            .field("matchers", &self.matchers)
            .field("expect", &self.expect)
            .finish_non_exhaustive()
    }
}

impl<T: ScriptTarget> ScriptBuilder<T> {
    /// A script for what `matcher` matches; by default it runs the simulation (so it
    /// only counts) until [`respond_with`](Self::respond_with) says otherwise.
    pub fn given(matcher: impl Matcher) -> Self {
        Self {
            matchers: vec![Box::new(matcher)],
            responder: Responder::Fixed(Reply::simulate()),
            expect: None,
            limit: None,
            priority: 5,
            name: None,
            target: PhantomData,
        }
    }

    /// Adds a matcher: all of them must apply.
    pub fn and(mut self, matcher: impl Matcher) -> Self {
        self.matchers.push(Box::new(matcher));
        self
    }

    /// What a match runs.
    pub fn respond_with(mut self, reply: Reply) -> Self {
        self.responder = Responder::Fixed(reply);
        self
    }

    /// What a match runs, chosen per invocation.
    pub fn respond_with_fn(
        mut self,
        responder: impl Fn(&Invocation) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.responder = Responder::Dynamic(Arc::new(responder));
        self
    }

    /// Expects this many matches; checked by
    /// [`FakeRuntime::verify`](crate::FakeRuntime::verify), on drop, and when a scoped
    /// guard drops.
    pub fn expect(mut self, times: impl Into<Times>) -> Self {
        self.expect = Some(times.into());
        self
    }

    /// Applies to the first `n` matches only; later ones fall through to the next
    /// script or the simulation.
    pub fn up_to_n_times(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Scripts with a lower priority number are consulted first (default 5; scripts of
    /// equal priority in mount order).
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    /// A name for reports.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Mounts the script for the fake's whole life.
    pub fn mount(self, fake: &impl MountTarget) {
        self.mount_on(fake.toolkit());
    }

    /// Mounts the script until the returned guard is dropped; dropping the guard also
    /// checks the script's expectation.
    pub fn mount_as_scoped(self, fake: &impl MountTarget) -> ScriptGuard {
        let toolkit = fake.toolkit();
        let id = self.mount_on(toolkit);
        ScriptGuard {
            toolkit: Arc::clone(toolkit),
            id,
            exec: std::any::TypeId::of::<T>() == std::any::TypeId::of::<ForExec>(),
        }
    }

    pub(crate) fn mount_on(self, toolkit: &Toolkit) -> u64 {
        let registry = T::registry(toolkit);
        let id = registry.next_id.fetch_add(1, Ordering::SeqCst);
        let script = Script {
            id,
            label: T::LABEL,
            matcher: matchers::All(self.matchers),
            responder: self.responder,
            expect: self.expect,
            limit: self.limit,
            priority: self.priority,
            name: self.name,
            hits: AtomicU64::new(0),
        };
        let mut list = registry.lock();
        list.push(Arc::new(script));
        list.sort_by_key(|s| (s.priority, s.id));
        registry.count.store(list.len(), Ordering::SeqCst);
        id
    }
}

/// A mounted script.
pub(crate) struct Script {
    id: u64,
    label: &'static str,
    matcher: matchers::All,
    responder: Responder,
    expect: Option<Times>,
    limit: Option<u64>,
    priority: u8,
    name: Option<String>,
    hits: AtomicU64,
}

impl Script {
    fn describe(&self) -> String {
        let matcher = self.matcher.describe();
        let reply = match &self.responder {
            Responder::Fixed(reply) => reply.describe(),
            Responder::Dynamic(_) => "a reply chosen per call".to_owned(),
        };
        match &self.name {
            Some(name) => format!("{} {name:?} ({matcher} -> {reply})", self.label),
            None => format!("{} ({matcher} -> {reply})", self.label),
        }
    }

    fn unmet(&self) -> Option<String> {
        let times = self.expect?;
        let hits = self.hits.load(Ordering::SeqCst);
        (!times.contains(hits))
            .then(|| format!("{}: expected {times}, matched {hits}", self.describe()))
    }
}

/// The mounted scripts of one kind.
#[derive(Default)]
pub struct Scripts {
    list: Mutex<Vec<Arc<Script>>>,
    count: std::sync::atomic::AtomicUsize,
    next_id: AtomicU64,
}

impl fmt::Debug for Scripts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = self.lock();
        f.debug_list()
            .entries(list.iter().map(|s| s.describe()))
            .finish()
    }
}

impl Scripts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Script>>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether no script is mounted (the fast path of the hooks).
    pub(crate) fn is_empty(&self) -> bool {
        self.count.load(Ordering::SeqCst) == 0
    }

    /// The reply of the first applicable script, counting the match.
    pub(crate) fn find(&self, invocation: &Invocation) -> Option<Reply> {
        let list = self.lock();
        for script in list.iter() {
            if script
                .limit
                .is_some_and(|limit| script.hits.load(Ordering::SeqCst) >= limit)
            {
                continue;
            }
            if !script.matcher.matches(invocation) {
                continue;
            }
            script.hits.fetch_add(1, Ordering::SeqCst);
            return Some(match &script.responder {
                Responder::Fixed(reply) => reply.clone(),
                Responder::Dynamic(f) => f(invocation),
            });
        }
        None
    }

    fn remove(&self, id: u64) -> Option<Arc<Script>> {
        let mut list = self.lock();
        let index = list.iter().position(|s| s.id == id)?;
        let script = list.remove(index);
        self.count.store(list.len(), Ordering::SeqCst);
        Some(script)
    }

    fn hits(&self, id: u64) -> u64 {
        self.lock()
            .iter()
            .find(|s| s.id == id)
            .map_or(0, |s| s.hits.load(Ordering::SeqCst))
    }

    fn unmet(&self) -> Vec<String> {
        self.lock().iter().filter_map(|s| s.unmet()).collect()
    }
}

/// Keeps a script mounted with
/// [`mount_as_scoped`](ScriptBuilder::mount_as_scoped); dropping it unmounts the
/// script and checks its expectation (panicking with a report when it is not met,
/// unless the thread is already panicking).
#[derive(Debug)]
#[must_use = "the script is unmounted as soon as the guard is dropped"]
pub struct ScriptGuard {
    toolkit: Arc<Toolkit>,
    id: u64,
    exec: bool,
}

impl ScriptGuard {
    fn registry(&self) -> &Scripts {
        if self.exec {
            &self.toolkit.exec_scripts
        } else {
            &self.toolkit.container_scripts
        }
    }

    /// How many times the script matched so far.
    pub fn hits(&self) -> u64 {
        self.registry().hits(self.id)
    }
}

impl Drop for ScriptGuard {
    fn drop(&mut self) {
        let Some(script) = self.registry().remove(self.id) else {
            return;
        };
        if std::thread::panicking() {
            return;
        }
        if let Some(unmet) = script.unmet() {
            panic!("{}", self.toolkit.report_with(vec![unmet]));
        }
    }
}

/// Everything the test-author API keeps for one fake; shared by the gRPC layer and
/// the runtime core, and kept across [restarts](crate::FakeRuntime::restart).
pub struct Toolkit {
    pub(crate) journal: Journal,
    pub(crate) faults: FaultSet,
    pub(crate) exec_scripts: Scripts,
    pub(crate) container_scripts: Scripts,
    pub(crate) launcher: Arc<Launcher>,
    changes: watch::Sender<u64>,
    pub(crate) verified: AtomicBool,
}

/// What scripts and faults mount on: the [`FakeRuntime`](crate::FakeRuntime)
/// implements it, so the toolkit needs nothing from the facade.
pub trait MountTarget {
    /// The toolkit scripts and faults are added to.
    #[doc(hidden)]
    fn toolkit(&self) -> &Arc<Toolkit>;
}

impl fmt::Debug for Toolkit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Toolkit")
            .field("faults", &self.faults)
            .field("exec_scripts", &self.exec_scripts)
            .field("container_scripts", &self.container_scripts)
            .finish_non_exhaustive()
    }
}

impl Default for Toolkit {
    fn default() -> Self {
        Self::new(JournalLimits::default())
    }
}

impl Toolkit {
    /// An empty toolkit whose journal keeps at most `limits`.
    pub(crate) fn new(limits: JournalLimits) -> Self {
        Self {
            journal: Journal::new(limits),
            faults: FaultSet::default(),
            exec_scripts: Scripts::default(),
            container_scripts: Scripts::default(),
            launcher: Arc::new(Launcher::default()),
            changes: watch::channel(0).0,
            verified: AtomicBool::new(false),
        }
    }

    /// Signals that the state changed (waiters re-check).
    pub(crate) fn state_changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver woken at every state change.
    pub(crate) fn subscribe_changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Every unmet expectation, one line each.
    pub(crate) fn unmet(&self) -> Vec<String> {
        let mut unmet = self.exec_scripts.unmet();
        unmet.extend(self.container_scripts.unmet());
        unmet.extend(self.faults.unmet());
        unmet
    }

    /// The report for `unmet` expectations: the list, then the calls received.
    pub(crate) fn report_with(&self, unmet: Vec<String>) -> String {
        let mut report = format!(
            "cri-fake: {} expectation{} not met:\n",
            unmet.len(),
            if unmet.len() == 1 { " was" } else { "s were" }
        );
        for line in &unmet {
            report.push_str(&format!("  - {line}\n"));
        }
        let calls = self.journal.listing();
        let received = self.journal.len();
        if received == 0 {
            report.push_str("The fake received no calls.\n");
        } else {
            report.push_str(&format!("Calls received ({received}):\n{calls}"));
        }
        report
    }

    /// The report of the unmet expectations, or `None` when all are met.
    pub(crate) fn report(&self) -> Option<String> {
        let unmet = self.unmet();
        (!unmet.is_empty()).then(|| self.report_with(unmet))
    }

    /// Panics with the report, unless everything is met, it already panicked, or the
    /// thread is panicking (a drop during a failing test).
    pub(crate) fn verify_on_drop(&self) {
        if std::thread::panicking() || self.verified.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(report) = self.report() {
            panic!("{report}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolkit::method::Method;

    #[test]
    fn times_accept_counts_and_ranges() {
        assert!(Times::from(2).contains(2));
        assert!(!Times::from(2).contains(3));
        assert!(Times::from(1..=3).contains(3));
        assert!(!Times::from(1..3).contains(3));
        assert!(Times::from(2..).contains(100));
        assert!(!Times::from(..2).contains(2));
        assert!(Times::from(..=2).contains(2));
        assert_eq!(Times::from(1).to_string(), "exactly 1 times");
        assert_eq!(Times::from(1..=3).to_string(), "between 1 and 3 times");
        assert_eq!(Times::from(2..).to_string(), "at least 2 times");
        assert_eq!(Times::from(..=4).to_string(), "at most 4 times");
    }

    fn invocation(command: &[&str]) -> Invocation {
        Invocation {
            command: command.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_first_script_by_priority_then_mount_order_answers_until_its_limit() {
        let toolkit = Toolkit::default();
        ExecScript::given(command(["a"]))
            .respond_with(Reply::exit(1))
            .up_to_n_times(1)
            .mount_on(&toolkit);
        ExecScript::given(any())
            .respond_with(Reply::exit(2))
            .mount_on(&toolkit);
        ExecScript::given(command(["a"]))
            .respond_with(Reply::exit(3))
            .priority(1)
            .mount_on(&toolkit);
        let described = |r: Option<Reply>| r.map(|r| r.describe());
        assert_eq!(
            described(toolkit.exec_scripts.find(&invocation(&["a"]))).as_deref(),
            Some("exit 3")
        );
        assert_eq!(
            described(toolkit.exec_scripts.find(&invocation(&["b"]))).as_deref(),
            Some("exit 2")
        );
        assert!(
            toolkit
                .container_scripts
                .find(&invocation(&["a"]))
                .is_none()
        );
    }

    #[test]
    fn the_report_lists_unmet_expectations_then_the_numbered_calls() {
        let toolkit = Toolkit::default();
        ExecScript::given(command(["cat", "/etc/os-release"]))
            .respond_with(Reply::ok().stdout("ID=alpine\n"))
            .expect(1)
            .named("os-release")
            .mount_on(&toolkit);
        ExecScript::given(any()).expect(0..).mount_on(&toolkit);
        toolkit.journal.begin(
            Method::Version,
            Arc::new(cri_proto::v1::VersionRequest::default()),
        );
        assert_eq!(
            toolkit.report().unwrap(),
            "cri-fake: 1 expectation was not met:\n  - exec script \"os-release\" (command [\"cat\", \
             \"/etc/os-release\"] -> exit 0, stdout 10 bytes): expected exactly 1 times, matched 0\n\
             Calls received (1):\n  #1 Version {} -> PENDING\n"
        );
    }
}
