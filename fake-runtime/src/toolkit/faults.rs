//! Fault and delay rules: make any RPC fail with a given status, answer late, wait
//! until the test releases it, or cut its server stream short.
//!
//! Rules are built with [`Fault::on`] (one method, named with the [`Method`] enum, never a
//! string), [`Fault::on_methods`] or [`Fault::on_any`], narrowed with
//! [`nth`](Fault::nth), [`first`](Fault::first) or a request predicate
//! ([`when`](Fault::when)), given effects ([`fail_with`](Fault::fail_with),
//! [`delay`](Fault::delay), [`delay_between`](Fault::delay_between),
//! [`block`](Fault::block), [`fail_stream_after`](Fault::fail_stream_after)), and
//! mounted on a fake. [`mount`](Fault::mount) returns a [`FaultGuard`]: the rule is
//! removed when the guard is dropped.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::faults::Fault;
//! use cri_fake::{FakeRuntime, Method};
//! use cri_proto::v1::VersionRequest;
//! use tonic::Code;
//!
//! let fake = FakeRuntime::start().await.unwrap();
//! let mut client = fake.runtime_client();
//! {
//!     let _outage = Fault::on(Method::Version)
//!         .first(2)
//!         .fail_with(Code::Unavailable, "connection refused")
//!         .expect(2)
//!         .mount(&fake);
//!     for _ in 0..2 {
//!         let err = client.version(VersionRequest::default()).await.unwrap_err();
//!         assert_eq!((err.code(), err.message()), (Code::Unavailable, "connection refused"));
//!     }
//!     client.version(VersionRequest::default()).await.unwrap(); // the third call passes
//! } // the guard is dropped: the rule is gone (and its expectation was checked)
//! fake.shutdown().await;
//! # }
//! ```
//!
//! Every rule that matches a call counts it; the rules that fire apply in mount order:
//! their delays and blocks are waited, then the first status (or stream failure) of a
//! fired rule is the answer. A call whose client deadline passes while it is delayed or
//! blocked is dropped by the gRPC server (the client sees `CANCELLED` /
//! `Timeout expired`), so it never holds anything for ever, and its handler never runs.

use std::any::Any;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;

use crate::toolkit::journal::{Recorded, WaitTimeout, request_json, request_type_name};
use crate::toolkit::method::Method;
use crate::toolkit::script::{Times, Toolkit};

/// A gate that holds calls until the test releases it (see [`Fault::block`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use cri_fake::faults::{Fault, Gate};
/// use cri_fake::{FakeRuntime, Method};
/// use cri_proto::v1::VersionRequest;
///
/// let fake = FakeRuntime::start().await.unwrap();
/// let gate = Gate::new();
/// let _held = Fault::on(Method::Version).block(&gate).mount(&fake);
/// let mut client = fake.runtime_client();
/// let call = tokio::spawn(async move { client.version(VersionRequest::default()).await });
/// gate.wait_for_blocked(1, Duration::from_secs(5)).await.unwrap();
/// assert!(!call.is_finished());
/// gate.release();
/// assert!(call.await.unwrap().is_ok());
/// fake.shutdown().await;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Gate {
    inner: Arc<GateInner>,
}

#[derive(Debug)]
struct GateInner {
    open: watch::Sender<bool>,
    blocked: watch::Sender<usize>,
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

struct BlockedGuard<'a>(&'a watch::Sender<usize>);

impl Drop for BlockedGuard<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(GateInner {
                open: watch::channel(false).0,
                blocked: watch::channel(0).0,
            }),
        }
    }

    /// Opens the gate: every held call goes on, and later calls pass at once.
    pub fn release(&self) {
        self.inner.open.send_replace(true);
    }

    /// Closes the gate again: later calls are held.
    pub fn close(&self) {
        self.inner.open.send_replace(false);
    }

    /// How many calls the gate holds now.
    pub fn blocked(&self) -> usize {
        *self.inner.blocked.borrow()
    }

    /// Waits until the gate holds at least `count` calls.
    pub async fn wait_for_blocked(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<(), WaitTimeout> {
        let mut rx = self.inner.blocked.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|n| *n >= count))
            .await
            .map(|_| ())
            .map_err(|_| WaitTimeout {
                what: format!("{count} calls held by the gate"),
                waited: timeout,
                calls: String::new(),
            })
    }

    /// Passes the gate: at once when open, else when released. Dropping the future
    /// (a cancelled call) lets go of the gate.
    pub(crate) async fn pass(&self) {
        let mut open = self.inner.open.subscribe();
        if *open.borrow_and_update() {
            return;
        }
        self.inner.blocked.send_modify(|n| *n += 1);
        let _guard = BlockedGuard(&self.inner.blocked);
        let _ = open.wait_for(|o| *o).await;
    }
}

/// Which calls of the matching ones a rule fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Always,
    Nth(u64),
    First(u64),
    After(u64),
}

impl Trigger {
    fn fires(self, count: u64) -> bool {
        match self {
            Trigger::Always => true,
            Trigger::Nth(n) => count == n,
            Trigger::First(n) => count <= n,
            Trigger::After(n) => count > n,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Always => Ok(()),
            Trigger::Nth(n) => write!(f, ", call #{n} only"),
            Trigger::First(n) => write!(f, ", first {n} calls"),
            Trigger::After(n) => write!(f, ", calls after the first {n}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delay {
    Fixed(Duration),
    Between(Duration, Duration),
}

impl Delay {
    fn sample(self) -> Duration {
        match self {
            Delay::Fixed(d) => d,
            Delay::Between(low, high) if high > low => {
                let low_ns = u64::try_from(low.as_nanos()).unwrap_or(u64::MAX);
                let high_ns = u64::try_from(high.as_nanos()).unwrap_or(u64::MAX);
                Duration::from_nanos(rand::rng().random_range(low_ns..=high_ns))
            }
            Delay::Between(low, _) => low,
        }
    }
}

/// A status a rule answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FaultStatus {
    pub code: tonic::Code,
    pub message: String,
}

impl FaultStatus {
    pub(crate) fn to_status(&self) -> tonic::Status {
        tonic::Status::new(self.code, self.message.clone())
    }
}

type Predicate = Box<dyn Fn(Method, &dyn Recorded) -> bool + Send + Sync>;

enum Methods {
    Any,
    Only(Vec<Method>),
}

impl Methods {
    fn contains(&self, method: Method) -> bool {
        match self {
            Methods::Any => true,
            Methods::Only(list) => list.contains(&method),
        }
    }
}

/// A fault or delay rule, before it is mounted. See the [module docs](self).
#[must_use = "a fault does nothing until it is mounted"]
pub struct Fault {
    methods: Methods,
    predicate: Option<(Predicate, String)>,
    predicate_type: Option<&'static str>,
    trigger: Trigger,
    delay: Option<Delay>,
    gate: Option<Gate>,
    status: Option<FaultStatus>,
    stream_failure: Option<(u64, FaultStatus)>,
    expect: Option<Times>,
    name: Option<String>,
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Fault {
    fn new(methods: Methods) -> Self {
        Self {
            methods,
            predicate: None,
            predicate_type: None,
            trigger: Trigger::Always,
            delay: None,
            gate: None,
            status: None,
            stream_failure: None,
            expect: None,
            name: None,
        }
    }

    /// A rule for calls to `method`.
    pub fn on(method: Method) -> Self {
        Self::new(Methods::Only(vec![method]))
    }

    /// A rule for calls to any of `methods`.
    pub fn on_methods(methods: impl IntoIterator<Item = Method>) -> Self {
        Self::new(Methods::Only(methods.into_iter().collect()))
    }

    /// A rule for calls to every method.
    pub fn on_any() -> Self {
        Self::new(Methods::Any)
    }

    /// Fires only on the `n`-th matching call (1 = the first).
    pub fn nth(mut self, n: u64) -> Self {
        self.trigger = Trigger::Nth(n);
        self
    }

    /// Fires on the first `n` matching calls, then lets calls pass.
    pub fn first(mut self, n: u64) -> Self {
        self.trigger = Trigger::First(n);
        self
    }

    /// Lets the first `n` matching calls pass, then fires on every later one.
    pub fn after(mut self, n: u64) -> Self {
        self.trigger = Trigger::After(n);
        self
    }

    /// Only calls whose request satisfies `predicate` match. `T` must be the request
    /// type of the rule's method(s) (e.g. `RunPodSandboxRequest` for
    /// `Method::RunPodSandbox`); mounting a rule whose `T` is another type panics.
    pub fn when<T: 'static>(
        mut self,
        predicate: impl Fn(&T) -> bool + Send + Sync + 'static,
    ) -> Self {
        let check: Predicate = Box::new(move |_, message: &dyn Recorded| {
            (message.as_any() as &dyn Any)
                .downcast_ref::<T>()
                .is_some_and(&predicate)
        });
        let type_name = std::any::type_name::<T>();
        let short = type_name.rsplit("::").next().unwrap_or(type_name);
        self.predicate = Some((check, format!("a predicate on {short}")));
        self.predicate_type = Some(short);
        self
    }

    /// Only calls whose request, as JSON with proto field names, contains `subset`:
    /// every key of an object in `subset` must be present with a matching value
    /// (objects recursively, everything else equal). Lists match element-wise.
    ///
    /// ```
    /// use cri_fake::faults::Fault;
    /// use cri_fake::Method;
    /// let rule = Fault::on(Method::RunPodSandbox)
    ///     .when_request(serde_json::json!({"config": {"metadata": {"name": "web"}}}));
    /// # drop(rule);
    /// ```
    pub fn when_request(mut self, subset: serde_json::Value) -> Self {
        let description = format!("requests containing {subset}");
        let check: Predicate = Box::new(move |method, message: &dyn Recorded| {
            let json = request_json(method, message);
            !json.is_null() && json_contains(&json, &subset)
        });
        self.predicate = Some((check, description));
        self
    }

    /// Answers with this status instead of running the RPC.
    pub fn fail_with(mut self, code: tonic::Code, message: impl Into<String>) -> Self {
        self.status = Some(FaultStatus {
            code,
            message: message.into(),
        });
        self
    }

    /// Waits this long before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(Delay::Fixed(delay));
        self
    }

    /// Waits a random time in `range` (uniformly) before answering.
    pub fn delay_between(mut self, range: RangeInclusive<Duration>) -> Self {
        self.delay = Some(Delay::Between(*range.start(), *range.end()));
        self
    }

    /// Holds matching calls until `gate` is released.
    pub fn block(mut self, gate: &Gate) -> Self {
        self.gate = Some(gate.clone());
        self
    }

    /// For server streams (GetContainerEvents): the stream sends `items` messages,
    /// then fails with this status.
    pub fn fail_stream_after(
        mut self,
        items: u64,
        code: tonic::Code,
        message: impl Into<String>,
    ) -> Self {
        self.stream_failure = Some((
            items,
            FaultStatus {
                code,
                message: message.into(),
            },
        ));
        self
    }

    /// Expects the rule to fire this many times; checked by
    /// [`FakeRuntime::verify`](crate::FakeRuntime::verify) and when the guard drops.
    pub fn expect(mut self, times: impl Into<Times>) -> Self {
        self.expect = Some(times.into());
        self
    }

    /// A name for reports.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    fn describe(&self) -> String {
        let methods = match &self.methods {
            Methods::Any => "any method".to_owned(),
            Methods::Only(list) => list.iter().map(|m| m.name()).collect::<Vec<_>>().join("|"),
        };
        let mut effects = Vec::new();
        if let Some(delay) = self.delay {
            effects.push(match delay {
                Delay::Fixed(d) => format!("delay {d:?}"),
                Delay::Between(a, b) => format!("delay {a:?}..={b:?}"),
            });
        }
        if self.gate.is_some() {
            effects.push("block until released".to_owned());
        }
        if let Some(status) = &self.status {
            effects.push(format!(
                "fail with {} {:?}",
                crate::toolkit::journal::code_name(status.code),
                status.message
            ));
        }
        if let Some((k, status)) = &self.stream_failure {
            effects.push(format!(
                "fail the stream after {k} items with {}",
                crate::toolkit::journal::code_name(status.code)
            ));
        }
        let mut text = match &self.name {
            Some(name) => format!("fault {name:?} on {methods}"),
            None => format!("fault on {methods}"),
        };
        if let Some((_, description)) = &self.predicate {
            text.push_str(&format!(" for {description}"));
        }
        text.push_str(&self.trigger.to_string());
        if !effects.is_empty() {
            text.push_str(&format!(": {}", effects.join(", ")));
        }
        text
    }

    fn check_predicate_type(&self) {
        let (Some(expected), Methods::Only(methods)) = (self.predicate_type, &self.methods) else {
            return;
        };
        for &method in methods {
            if let Some(actual) = request_type_name(method) {
                assert!(
                    actual == expected,
                    "cri-fake: Fault::when on {method} takes a &{actual}, not a &{expected}"
                );
            }
        }
    }

    /// Mounts the rule on `fake`; it applies until the returned guard is dropped.
    ///
    /// # Panics
    ///
    /// When a [`when`](Self::when) predicate takes another type than the method's
    /// request (a mistake in the test).
    pub fn mount(self, fake: &impl crate::toolkit::script::MountTarget) -> FaultGuard {
        self.mount_on(fake.toolkit())
    }

    pub(crate) fn mount_on(self, toolkit: &Arc<Toolkit>) -> FaultGuard {
        self.check_predicate_type();
        let id = toolkit.faults.add(self);
        FaultGuard {
            toolkit: toolkit.clone(),
            id,
            kept: false,
        }
    }
}

/// Keeps a mounted [`Fault`] in force; dropping it removes the rule and checks its
/// expectation (panicking with a report when it is not met, unless the thread is
/// already panicking).
#[derive(Debug)]
#[must_use = "the rule is removed as soon as the guard is dropped"]
pub struct FaultGuard {
    toolkit: Arc<Toolkit>,
    id: u64,
    kept: bool,
}

impl FaultGuard {
    /// How many calls the rule fired on so far.
    pub fn fired(&self) -> u64 {
        self.toolkit.faults.fired(self.id)
    }

    /// How many calls matched the rule's method and predicate so far.
    pub fn matched(&self) -> u64 {
        self.toolkit.faults.matched(self.id)
    }

    /// Keeps the rule for the fake's whole life (it is checked by
    /// [`FakeRuntime::verify`](crate::FakeRuntime::verify)).
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for FaultGuard {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let Some(rule) = self.toolkit.faults.remove(self.id) else {
            return;
        };
        if std::thread::panicking() {
            return;
        }
        if let Some(unmet) = rule.unmet() {
            let report = self.toolkit.report_with(vec![unmet]);
            panic!("{report}");
        }
    }
}

/// A mounted rule.
pub(crate) struct Rule {
    id: u64,
    fault: Fault,
    matched: AtomicU64,
    fired: AtomicU64,
}

impl Rule {
    /// The unmet expectation, as a report line.
    pub(crate) fn unmet(&self) -> Option<String> {
        let times = self.fault.expect?;
        let fired = self.fired.load(Ordering::SeqCst);
        (!times.contains(fired)).then(|| {
            format!(
                "{}: expected to fire {times}, fired {fired} times",
                self.fault.describe()
            )
        })
    }
}

/// What the fired rules do to one call.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    delays: Vec<Duration>,
    gates: Vec<Gate>,
    /// The status to answer with instead of running the handler.
    pub status: Option<FaultStatus>,
    /// Fail the server stream after this many items, with this status.
    pub stream_failure: Option<(u64, FaultStatus)>,
}

impl Plan {
    /// Whether nothing fired.
    pub(crate) fn is_empty(&self) -> bool {
        self.delays.is_empty()
            && self.gates.is_empty()
            && self.status.is_none()
            && self.stream_failure.is_none()
    }

    /// Waits the delays and passes the gates.
    pub(crate) async fn wait(&self) {
        for delay in &self.delays {
            tokio::time::sleep(*delay).await;
        }
        for gate in &self.gates {
            gate.pass().await;
        }
    }
}

/// The mounted rules of a fake.
#[derive(Default)]
pub(crate) struct FaultSet {
    rules: Mutex<Vec<Arc<Rule>>>,
    next_id: AtomicU64,
}

impl fmt::Debug for FaultSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules = self.lock();
        f.debug_list()
            .entries(rules.iter().map(|r| r.fault.describe()))
            .finish()
    }
}

impl FaultSet {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Rule>>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, fault: Fault) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.lock().push(Arc::new(Rule {
            id,
            fault,
            matched: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        }));
        id
    }

    fn remove(&self, id: u64) -> Option<Arc<Rule>> {
        let mut rules = self.lock();
        let index = rules.iter().position(|r| r.id == id)?;
        Some(rules.remove(index))
    }

    fn find(&self, id: u64) -> Option<Arc<Rule>> {
        self.lock().iter().find(|r| r.id == id).cloned()
    }

    fn fired(&self, id: u64) -> u64 {
        self.find(id).map_or(0, |r| r.fired.load(Ordering::SeqCst))
    }

    fn matched(&self, id: u64) -> u64 {
        self.find(id)
            .map_or(0, |r| r.matched.load(Ordering::SeqCst))
    }

    /// The unmet expectations of the rules still mounted.
    pub(crate) fn unmet(&self) -> Vec<String> {
        let rules: Vec<Arc<Rule>> = self.lock().clone();
        rules.iter().filter_map(|r| r.unmet()).collect()
    }

    /// Counts the call against every matching rule and collects what the fired ones
    /// do.
    pub(crate) fn evaluate(&self, method: Method, request: &dyn Recorded) -> Plan {
        let rules: Vec<Arc<Rule>> = {
            let rules = self.lock();
            if rules.is_empty() {
                return Plan::default();
            }
            rules.clone()
        };
        let mut plan = Plan::default();
        for rule in rules {
            let fault = &rule.fault;
            if !fault.methods.contains(method) {
                continue;
            }
            if let Some((predicate, _)) = &fault.predicate
                && !predicate(method, request)
            {
                continue;
            }
            let count = rule.matched.fetch_add(1, Ordering::SeqCst) + 1;
            if !fault.trigger.fires(count) {
                continue;
            }
            rule.fired.fetch_add(1, Ordering::SeqCst);
            if let Some(delay) = fault.delay {
                plan.delays.push(delay.sample());
            }
            if let Some(gate) = &fault.gate {
                plan.gates.push(gate.clone());
            }
            if plan.status.is_none() && plan.stream_failure.is_none() {
                plan.status = fault.status.clone();
                plan.stream_failure = fault.stream_failure.clone();
            }
        }
        plan
    }
}

/// Whether `value` contains `subset` (objects: every key of `subset` present and
/// matching; arrays: same length, element-wise; everything else: equal).
pub(crate) fn json_contains(value: &serde_json::Value, subset: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (value, subset) {
        (Value::Object(value), Value::Object(subset)) => subset
            .iter()
            .all(|(k, s)| value.get(k).is_some_and(|v| json_contains(v, s))),
        (Value::Array(value), Value::Array(subset)) => {
            value.len() == subset.len()
                && value.iter().zip(subset).all(|(v, s)| json_contains(v, s))
        }
        (value, subset) => value == subset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cri_proto::v1::{RunPodSandboxRequest, VersionRequest};

    #[test]
    fn nth_first_and_after_fire_on_the_right_calls() {
        let fires = |t: Trigger| (1..=5).filter(|&n| t.fires(n)).collect::<Vec<u64>>();
        assert_eq!(fires(Trigger::Always), [1, 2, 3, 4, 5]);
        assert_eq!(fires(Trigger::Nth(2)), [2]);
        assert_eq!(fires(Trigger::First(2)), [1, 2]);
        assert_eq!(fires(Trigger::After(3)), [4, 5]);
    }

    #[test]
    fn rules_count_only_matching_calls_and_the_first_status_wins() {
        let set = FaultSet::default();
        set.add(
            Fault::on(Method::Version)
                .nth(2)
                .fail_with(tonic::Code::Internal, "second"),
        );
        set.add(Fault::on_any().fail_with(tonic::Code::Unavailable, "any"));
        let version = VersionRequest::default();
        let pod = RunPodSandboxRequest::default();
        let first = set.evaluate(Method::Version, &version);
        assert_eq!(first.status.unwrap().message, "any");
        assert!(set.evaluate(Method::RunPodSandbox, &pod).status.is_some());
        let second = set.evaluate(Method::Version, &version);
        assert_eq!(second.status.unwrap().message, "second");
    }

    #[test]
    fn typed_and_json_predicates_select_requests() {
        let set = FaultSet::default();
        set.add(
            Fault::on(Method::RunPodSandbox)
                .when(|r: &RunPodSandboxRequest| r.runtime_handler == "kata")
                .fail_with(tonic::Code::Unknown, "typed"),
        );
        set.add(
            Fault::on(Method::RunPodSandbox)
                .when_request(serde_json::json!({"runtime_handler": "gvisor"}))
                .fail_with(tonic::Code::Unknown, "json"),
        );
        let request = |handler: &str| RunPodSandboxRequest {
            runtime_handler: handler.into(),
            ..Default::default()
        };
        let status = |h: &str| {
            set.evaluate(Method::RunPodSandbox, &request(h))
                .status
                .map(|s| s.message)
        };
        assert_eq!(status("kata").as_deref(), Some("typed"));
        assert_eq!(status("gvisor").as_deref(), Some("json"));
        assert_eq!(status("runc"), None);
    }

    #[test]
    #[should_panic(
        expected = "Fault::when on Version takes a &VersionRequest, not a &RunPodSandboxRequest"
    )]
    fn a_predicate_on_the_wrong_request_type_is_refused_at_mount() {
        Fault::on(Method::Version)
            .when(|_: &RunPodSandboxRequest| true)
            .check_predicate_type();
    }

    #[test]
    fn json_subsets_match_nested_objects_and_whole_lists() {
        let value = serde_json::json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        assert!(json_contains(&value, &serde_json::json!({"a": {"b": 1}})));
        assert!(json_contains(
            &value,
            &serde_json::json!({"a": {"c": [1, 2]}})
        ));
        assert!(!json_contains(
            &value,
            &serde_json::json!({"a": {"c": [1]}})
        ));
        assert!(!json_contains(&value, &serde_json::json!({"e": null})));
    }

    #[test]
    fn rules_describe_themselves_for_reports() {
        let fault = Fault::on(Method::ExecSync)
            .first(2)
            .delay(Duration::from_millis(5))
            .fail_with(tonic::Code::Unavailable, "down")
            .named("flaky exec");
        assert_eq!(
            fault.describe(),
            "fault \"flaky exec\" on ExecSync, first 2 calls: delay 5ms, fail with UNAVAILABLE \"down\""
        );
    }
}
