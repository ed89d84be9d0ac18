//! The call journal: every RPC the fake received, in arrival order, with its request,
//! its response or status, when it started and how long it took.
//!
//! Every call goes through `Dispatcher::call` (the gRPC layer), which
//! records it here when it arrives (as [`Outcome::Pending`]) and again when it ends. A
//! call whose client went away (or whose deadline passed) before the fake answered ends
//! as [`Outcome::Cancelled`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::{FakeRuntime, Method};
//! use cri_proto::v1::VersionRequest;
//!
//! let fake = FakeRuntime::start().await.unwrap();
//! fake.runtime_client().version(VersionRequest { version: "v1".into() }).await.unwrap();
//!
//! let calls = fake.journal().calls_to(Method::Version);
//! assert_eq!(calls.len(), 1);
//! assert_eq!(calls[0].number, 1);
//! assert_eq!(calls[0].request::<VersionRequest>().unwrap().version, "v1");
//! assert!(calls[0].outcome.is_ok());
//! // One JSON object per line, for tools in any language.
//! let line = fake.journal().to_json_lines();
//! let call: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
//! assert_eq!((call["number"].as_u64(), call["method"].as_str()), (Some(1), Some("Version")));
//! assert_eq!(call["request"]["version"], "v1");
//! fake.shutdown().await;
//! # }
//! ```

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use tokio::sync::watch;
use tokio::time::Instant;

pub use crate::core::streams::StreamSession;
use crate::toolkit::method::Method;

/// A recorded protobuf message, kept with its concrete type.
pub trait Recorded: Any + Send + Sync + fmt::Debug {
    /// The message as `&dyn Any`, for downcasting to its concrete type.
    fn as_any(&self) -> &dyn Any;
    /// The message's protobuf encoding.
    fn encode(&self) -> Vec<u8>;
    /// The size of the encoding in bytes.
    fn encoded_len(&self) -> usize;
}

impl<M: prost::Message + fmt::Debug + 'static> Recorded for M {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn encode(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    fn encoded_len(&self) -> usize {
        prost::Message::encoded_len(self)
    }
}

/// A message the journal keeps by its protobuf encoding only, decoded (once) when a
/// test first looks at it: a kept call costs its encoded size, not the in-memory size
/// of the decoded message (a `CreateContainerRequest` is about 2.5 KB in memory and a
/// few hundred bytes encoded).
pub(crate) struct Encoded {
    bytes: Box<[u8]>,
    decode: fn(&[u8]) -> Box<dyn Recorded>,
    decoded: OnceLock<Box<dyn Recorded>>,
}

impl Encoded {
    /// `message`, encoded; it decodes back to its own type.
    pub(crate) fn of<M: prost::Message + Default + fmt::Debug + 'static>(message: &M) -> Self {
        Self::from_encoding::<M>(message.encode_to_vec())
    }

    /// An `M` already encoded (the bytes must be an encoding of an `M`; anything else
    /// reads back as the default `M`).
    pub(crate) fn from_encoding<M: prost::Message + Default + fmt::Debug + 'static>(
        bytes: Vec<u8>,
    ) -> Self {
        Self {
            bytes: bytes.into_boxed_slice(),
            decode: decode_as::<M>,
            decoded: OnceLock::new(),
        }
    }

    fn decoded(&self) -> &dyn Recorded {
        self.decoded
            .get_or_init(|| (self.decode)(&self.bytes))
            .as_ref()
    }
}

/// Decodes bytes that [`Encoded::of`] encoded from an `M` (so they decode).
fn decode_as<M: prost::Message + Default + fmt::Debug + 'static>(
    bytes: &[u8],
) -> Box<dyn Recorded> {
    Box::new(M::decode(bytes).unwrap_or_default())
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.decoded().fmt(f)
    }
}

impl Recorded for Encoded {
    fn as_any(&self) -> &dyn Any {
        self.decoded().as_any()
    }

    fn encode(&self) -> Vec<u8> {
        self.bytes.to_vec()
    }

    fn encoded_len(&self) -> usize {
        self.bytes.len()
    }
}

/// How a call ended (or that it has not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The fake is still working on it (or holding it, see [`Gate`](crate::toolkit::faults::Gate)).
    Pending,
    /// It succeeded (for GetContainerEvents: the stream was opened).
    Ok,
    /// It failed with this status.
    Error {
        /// The gRPC code.
        code: tonic::Code,
        /// The status message.
        message: String,
    },
    /// The client went away, or its deadline passed, before the fake answered.
    Cancelled,
}

impl Outcome {
    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }

    /// Whether the call has ended (in any way).
    pub fn is_done(&self) -> bool {
        !matches!(self, Outcome::Pending)
    }

    /// The gRPC code: `Ok` for a success, `Cancelled` for a cancelled call, `None`
    /// while the call is pending.
    pub fn code(&self) -> Option<tonic::Code> {
        match self {
            Outcome::Pending => None,
            Outcome::Ok => Some(tonic::Code::Ok),
            Outcome::Error { code, .. } => Some(*code),
            Outcome::Cancelled => Some(tonic::Code::Cancelled),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Pending => f.write_str("PENDING"),
            Outcome::Ok => f.write_str("OK"),
            Outcome::Error { code, message } => write!(f, "{} {message:?}", code_name(*code)),
            Outcome::Cancelled => f.write_str("CANCELLED"),
        }
    }
}

/// The canonical name of a gRPC code, e.g. `NOT_FOUND`.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// One call as the journal recorded it (a snapshot: a pending call does not change in
/// your hands; query the journal again).
#[derive(Debug, Clone)]
pub struct Call {
    /// Its number: 1 for the first call the fake received, then 2, 3, ...
    pub number: u64,
    /// The RPC.
    pub method: Method,
    /// When it arrived (wall clock).
    pub started_at: SystemTime,
    /// How long the fake took to answer; `None` while pending.
    pub duration: Option<Duration>,
    /// How it ended.
    pub outcome: Outcome,
    request: Arc<dyn Recorded>,
    response: Option<Arc<dyn Recorded>>,
    response_omitted: Option<usize>,
}

impl Call {
    /// The request, as its concrete type (`None` for another type).
    pub fn request<T: 'static>(&self) -> Option<&T> {
        self.request.as_any().downcast_ref()
    }

    /// The response, as its concrete type (`None` for another type, an error, a
    /// pending call, a stream, or a response over
    /// [`JournalLimits::max_response_bytes`]).
    pub fn response<T: 'static>(&self) -> Option<&T> {
        self.response.as_ref()?.as_any().downcast_ref()
    }

    /// The encoded size of a successful response the journal did not keep, because it
    /// was over [`JournalLimits::max_response_bytes`].
    pub fn response_omitted(&self) -> Option<usize> {
        self.response_omitted
    }

    /// The request as JSON (proto field names, enums as numbers, defaults left out).
    pub fn request_json(&self) -> serde_json::Value {
        message_json(self.method, Direction::Request, self.request.as_ref())
    }

    /// The response as JSON; `Null` when there is none.
    pub fn response_json(&self) -> serde_json::Value {
        match &self.response {
            Some(response) => message_json(self.method, Direction::Response, response.as_ref()),
            None => serde_json::Value::Null,
        }
    }

    /// The call as one JSON object (what [`Journal::to_json_lines`] writes per line):
    /// `number`, `method`, `service`, `started_at_ns`, `duration_us` (null while
    /// pending), `code` (`OK`, `NOT_FOUND`, ... or `PENDING`), `message`, `request`,
    /// `response`.
    pub fn to_json(&self) -> serde_json::Value {
        let started_at_ns = self
            .started_at
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let (code, message) = match &self.outcome {
            Outcome::Pending => ("PENDING", String::new()),
            Outcome::Ok => ("OK", String::new()),
            Outcome::Error { code, message } => (code_name(*code), message.clone()),
            Outcome::Cancelled => ("CANCELLED", String::new()),
        };
        let mut value = serde_json::json!({
            "number": self.number,
            "method": self.method.name(),
            "service": self.method.service(),
            "started_at_ns": started_at_ns,
            "duration_us": self.duration.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            "code": code,
            "message": message,
            "request": self.request_json(),
            "response": self.response_json(),
        });
        if let Some(size) = self.response_omitted {
            value["response_omitted_bytes"] = size.into();
        }
        value
    }
}

impl fmt::Display for Call {
    /// `#3 ExecSync {"container_id":"…","cmd":["true"]} -> OK (1.2ms)`; long requests
    /// are shortened.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut request = self.request_json().to_string();
        if request.len() > 160 {
            let mut end = 157;
            while !request.is_char_boundary(end) {
                end -= 1;
            }
            request.truncate(end);
            request.push_str("...");
        }
        write!(
            f,
            "#{} {} {request} -> {}",
            self.number, self.method, self.outcome
        )?;
        if let Some(d) = self.duration {
            write!(f, " ({d:.1?})")?;
        }
        Ok(())
    }
}

/// How much the journal keeps. When either limit is passed the oldest calls are
/// forgotten (numbering goes on; [`Journal::forgotten`] counts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalLimits {
    /// The most calls kept (default 10 000).
    pub max_calls: usize,
    /// The most request and response bytes kept, encoded (default 64 MiB).
    pub max_bytes: usize,
    /// The largest response kept with its payload, encoded (default 1 MiB): a larger
    /// one (a big ExecSync output, a list of thousands) is not copied into the
    /// journal; its call keeps the outcome and [`Call::response_omitted`] its size.
    pub max_response_bytes: usize,
}

impl Default for JournalLimits {
    fn default() -> Self {
        Self {
            max_calls: 10_000,
            max_bytes: 64 << 20,
            max_response_bytes: 1 << 20,
        }
    }
}

#[derive(Debug)]
struct Entry {
    call: Call,
    started: Instant,
    bytes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Entry>,
    next_number: u64,
    bytes: usize,
    forgotten: u64,
    sessions: VecDeque<StreamSession>,
}

/// How many streaming sessions the journal keeps (the oldest go first).
pub const MAX_STREAM_SESSIONS: usize = 1000;

/// Why waiting for something gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitTimeout {
    /// What was awaited, e.g. `a call to ExecSync`.
    pub what: String,
    /// How long the wait lasted.
    pub waited: Duration,
    /// The calls the fake had received by then, one per line.
    pub calls: String,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up waiting for {} after {:?}",
            self.what, self.waited
        )?;
        if self.calls.is_empty() {
            f.write_str("; the fake received no calls")
        } else {
            write!(f, "; calls received:\n{}", self.calls)
        }
    }
}

impl std::error::Error for WaitTimeout {}

/// The record of every call, in arrival order. Reach it with
/// [`FakeRuntime::journal`](crate::FakeRuntime::journal).
#[derive(Debug)]
pub struct Journal {
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
    limits: Mutex<JournalLimits>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::new(JournalLimits::default())
    }
}

impl Journal {
    /// An empty journal keeping at most `limits`.
    pub fn new(limits: JournalLimits) -> Self {
        Self {
            inner: Mutex::new(Inner {
                next_number: 1,
                ..Default::default()
            }),
            changed: watch::channel(0).0,
            limits: Mutex::new(limits),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Records a streaming session that ended.
    pub(crate) fn record_stream(&self, session: StreamSession) {
        let mut inner = self.lock();
        if inner.sessions.len() >= MAX_STREAM_SESSIONS {
            inner.sessions.pop_front();
        }
        inner.sessions.push_back(session);
        drop(inner);
        self.notify();
    }

    /// The streaming sessions that ended (at most [`MAX_STREAM_SESSIONS`]), in order.
    pub fn stream_sessions(&self) -> Vec<StreamSession> {
        self.lock().sessions.iter().cloned().collect()
    }

    /// Changes the limits (applied from the next call on).
    pub fn set_limits(&self, limits: JournalLimits) {
        *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// Records the arrival of a call and returns its number.
    pub(crate) fn begin(&self, method: Method, request: Arc<dyn Recorded>) -> u64 {
        let limits = *self.limits.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = request.encoded_len();
        let number = {
            let mut inner = self.lock();
            let number = inner.next_number;
            inner.next_number += 1;
            inner.bytes += bytes;
            inner.entries.push_back(Entry {
                call: Call {
                    number,
                    method,
                    started_at: SystemTime::now(),
                    duration: None,
                    outcome: Outcome::Pending,
                    request,
                    response: None,
                    response_omitted: None,
                },
                started: Instant::now(),
                bytes,
            });
            while inner.entries.len() > limits.max_calls.max(1)
                || (inner.bytes > limits.max_bytes && inner.entries.len() > 1)
            {
                if let Some(old) = inner.entries.pop_front() {
                    inner.bytes -= old.bytes;
                    inner.forgotten += 1;
                }
            }
            number
        };
        self.notify();
        number
    }

    /// Records how call `number` ended.
    pub(crate) fn finish(
        &self,
        number: u64,
        outcome: Outcome,
        response: Option<Arc<dyn Recorded>>,
    ) {
        self.end(number, outcome, response, None);
    }

    fn end(
        &self,
        number: u64,
        outcome: Outcome,
        response: Option<Arc<dyn Recorded>>,
        response_omitted: Option<usize>,
    ) {
        {
            let mut inner = self.lock();
            let Some(first) = inner.entries.front().map(|e| e.call.number) else {
                return;
            };
            let Some(index) = number
                .checked_sub(first)
                .and_then(|i| usize::try_from(i).ok())
            else {
                return;
            };
            let added = response.as_ref().map_or(0, |r| r.encoded_len());
            let Some(entry) = inner.entries.get_mut(index) else {
                return;
            };
            if entry.call.outcome.is_done() {
                return;
            }
            entry.call.duration = Some(entry.started.elapsed());
            entry.call.outcome = outcome;
            entry.call.response = response;
            entry.call.response_omitted = response_omitted;
            entry.bytes += added;
            inner.bytes += added;
        }
        self.notify();
    }

    /// Whether a response of `size` encoded bytes is kept with its payload.
    pub(crate) fn keeps_response(&self, size: usize) -> bool {
        size <= self
            .limits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .max_response_bytes
    }

    /// Ends call `number` as a success whose response (`size` bytes) is not kept.
    pub(crate) fn finish_omitted(&self, number: u64, size: usize) {
        self.end(number, Outcome::Ok, None, Some(size));
    }

    /// Every call kept, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().entries.iter().map(|e| e.call.clone()).collect()
    }

    /// The calls to `method`, in arrival order.
    pub fn calls_to(&self, method: Method) -> Vec<Call> {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.call.method == method)
            .map(|e| e.call.clone())
            .collect()
    }

    /// Call number `number`, if still kept.
    pub fn call(&self, number: u64) -> Option<Call> {
        self.lock()
            .entries
            .iter()
            .find(|e| e.call.number == number)
            .map(|e| e.call.clone())
    }

    /// How many calls the fake has received (kept or forgotten).
    pub fn len(&self) -> u64 {
        self.lock().next_number - 1
    }

    /// Whether the fake has received no call yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many calls were forgotten because of the [`JournalLimits`].
    pub fn forgotten(&self) -> u64 {
        self.lock().forgotten
    }

    /// Forgets every call kept so far (numbering goes on).
    pub fn clear(&self) {
        let mut inner = self.lock();
        let n = inner.entries.len() as u64;
        inner.sessions.clear();
        inner.entries.clear();
        inner.bytes = 0;
        inner.forgotten += n;
    }

    /// Every call, one per line, as [`Call::to_json`] objects.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for call in self.calls() {
            out.push_str(&call.to_json().to_string());
            out.push('\n');
        }
        out
    }

    /// Writes [`to_json_lines`](Self::to_json_lines) to `writer`.
    pub fn write_json_lines(&self, mut writer: impl std::io::Write) -> std::io::Result<()> {
        writer.write_all(self.to_json_lines().as_bytes())
    }

    /// The calls kept, one per line (`#1 Version {} -> OK (120µs)`), for reports.
    pub fn listing(&self) -> String {
        let calls = self.calls();
        let mut out = String::new();
        let forgotten = self.forgotten();
        if forgotten > 0 {
            out.push_str(&format!("  ({forgotten} earlier calls forgotten)\n"));
        }
        for call in calls {
            out.push_str(&format!("  {call}\n"));
        }
        out
    }

    /// Waits until a kept call satisfies `predicate` and returns the first one that
    /// does (it may have arrived already). Gives up after `timeout`.
    pub async fn wait_for(
        &self,
        predicate: impl Fn(&Call) -> bool,
        timeout: Duration,
    ) -> Result<Call, WaitTimeout> {
        self.wait_described(
            "a matching call",
            |calls| calls.iter().find(|c| predicate(c)).cloned(),
            timeout,
        )
        .await
    }

    /// Waits for a call to `method` (the first one, which may have arrived already);
    /// it may still be pending when this returns. Gives up after `timeout`.
    pub async fn wait_for_call(
        &self,
        method: Method,
        timeout: Duration,
    ) -> Result<Call, WaitTimeout> {
        self.wait_described(
            &format!("a call to {method}"),
            |calls| calls.iter().find(|c| c.method == method).cloned(),
            timeout,
        )
        .await
    }

    /// Waits until `count` calls to `method` have arrived and returns them.
    pub async fn wait_for_calls(
        &self,
        method: Method,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Call>, WaitTimeout> {
        self.wait_described(
            &format!("{count} calls to {method}"),
            |calls| {
                let found: Vec<Call> = calls
                    .iter()
                    .filter(|c| c.method == method)
                    .cloned()
                    .collect();
                (found.len() >= count).then_some(found)
            },
            timeout,
        )
        .await
    }

    /// Waits until the first call to `method` has ended, and returns it.
    pub async fn wait_for_reply(
        &self,
        method: Method,
        timeout: Duration,
    ) -> Result<Call, WaitTimeout> {
        self.wait_described(
            &format!("an answered call to {method}"),
            |calls| {
                calls
                    .iter()
                    .find(|c| c.method == method && c.outcome.is_done())
                    .cloned()
            },
            timeout,
        )
        .await
    }

    async fn wait_described<T>(
        &self,
        what: &str,
        check: impl Fn(&[Call]) -> Option<T>,
        timeout: Duration,
    ) -> Result<T, WaitTimeout> {
        let mut changed = self.changed.subscribe();
        let waiting = async {
            loop {
                changed.borrow_and_update();
                if let Some(found) = check(&self.calls()) {
                    return found;
                }
                if changed.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, waiting)
            .await
            .map_err(|_| WaitTimeout {
                what: what.to_owned(),
                waited: timeout,
                calls: self.listing(),
            })
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Request,
    Response,
}

fn pool() -> Option<&'static DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(cri_proto::FILE_DESCRIPTOR_SET).ok())
        .as_ref()
}

/// The request and response message descriptors of every method.
fn method_messages() -> &'static HashMap<Method, (MessageDescriptor, MessageDescriptor)> {
    static MAP: OnceLock<HashMap<Method, (MessageDescriptor, MessageDescriptor)>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = HashMap::new();
        let Some(pool) = pool() else {
            return map;
        };
        for &method in Method::ALL {
            let Some(service) = pool.get_service_by_name(method.service()) else {
                continue;
            };
            if let Some(m) = service.methods().find(|m| m.name() == method.name()) {
                map.insert(method, (m.input(), m.output()));
            }
        }
        map
    })
}

/// The protobuf message name of `method`'s request, e.g. `ExecSyncRequest`.
pub(crate) fn request_type_name(method: Method) -> Option<&'static str> {
    method_messages()
        .get(&method)
        .map(|(input, _)| input.name())
}

fn message_json(method: Method, direction: Direction, message: &dyn Recorded) -> serde_json::Value {
    let Some((input, output)) = method_messages().get(&method) else {
        return serde_json::Value::Null;
    };
    let descriptor = match direction {
        Direction::Request => input.clone(),
        Direction::Response => output.clone(),
    };
    to_json(descriptor, &message.encode())
}

/// `bytes`, a message of type `descriptor`, as JSON with proto field names.
pub(crate) fn to_json(descriptor: MessageDescriptor, bytes: &[u8]) -> serde_json::Value {
    let Ok(dynamic) = DynamicMessage::decode(descriptor, bytes) else {
        return serde_json::Value::Null;
    };
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .use_enum_numbers(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(serde_json::Value::Null)
}

/// `message`, the request of `method`, as JSON (used by request predicates).
pub(crate) fn request_json(method: Method, message: &dyn Recorded) -> serde_json::Value {
    message_json(method, Direction::Request, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cri_proto::v1::{ExecSyncRequest, ExecSyncResponse, VersionRequest};

    fn exec(id: &str) -> Arc<dyn Recorded> {
        Arc::new(ExecSyncRequest {
            container_id: id.into(),
            cmd: vec!["true".into()],
            timeout: 0,
        })
    }

    #[test]
    fn an_encoded_message_is_kept_at_its_encoded_size_and_reads_back_as_its_own_type() {
        let request = cri_proto::v1::CreateContainerRequest {
            pod_sandbox_id: "pod".into(),
            config: Some(cri_proto::v1::ContainerConfig {
                labels: [("app".to_string(), "web".to_string())].into(),
                ..Default::default()
            }),
            sandbox_config: None,
        };
        let kept = Encoded::of(&request);
        assert_eq!(kept.encoded_len(), prost::Message::encoded_len(&request));
        assert_eq!(kept.encode(), prost::Message::encode_to_vec(&request));
        assert_eq!(
            kept.as_any()
                .downcast_ref::<cri_proto::v1::CreateContainerRequest>(),
            Some(&request)
        );
        assert!(kept.as_any().downcast_ref::<VersionRequest>().is_none());
        assert_eq!(format!("{kept:?}"), format!("{request:?}"));
    }

    #[test]
    fn calls_are_numbered_in_arrival_order_and_keep_their_typed_messages() {
        let journal = Journal::default();
        let first = journal.begin(Method::ExecSync, exec("a"));
        let second = journal.begin(Method::Version, Arc::new(VersionRequest::default()));
        journal.finish(
            first,
            Outcome::Ok,
            Some(Arc::new(ExecSyncResponse {
                stdout: b"hi".to_vec(),
                ..Default::default()
            })),
        );
        assert_eq!((first, second), (1, 2));
        let calls = journal.calls();
        assert_eq!(
            calls[0].request::<ExecSyncRequest>().unwrap().container_id,
            "a"
        );
        assert_eq!(
            calls[0].response::<ExecSyncResponse>().unwrap().stdout,
            b"hi"
        );
        assert!(calls[0].request::<VersionRequest>().is_none());
        assert_eq!(calls[1].outcome, Outcome::Pending);
        assert_eq!(journal.calls_to(Method::Version).len(), 1);
    }

    #[test]
    fn the_oldest_calls_are_forgotten_past_the_limits() {
        let journal = Journal::new(JournalLimits {
            max_calls: 2,
            max_bytes: 1 << 20,
            ..JournalLimits::default()
        });
        for id in ["a", "b", "c"] {
            journal.begin(Method::ExecSync, exec(id));
        }
        let numbers: Vec<u64> = journal.calls().iter().map(|c| c.number).collect();
        assert_eq!(numbers, [2, 3]);
        assert_eq!((journal.forgotten(), journal.len()), (1, 3));
        journal.finish(1, Outcome::Ok, None);
        assert_eq!(journal.call(2).unwrap().outcome, Outcome::Pending);
    }

    #[test]
    fn json_lines_hold_code_message_and_messages_with_proto_names() {
        let journal = Journal::default();
        let n = journal.begin(Method::ExecSync, exec("abc"));
        journal.finish(
            n,
            Outcome::Error {
                code: tonic::Code::NotFound,
                message: "gone".into(),
            },
            None,
        );
        let line = journal.to_json_lines();
        let value: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(value["code"], "NOT_FOUND");
        assert_eq!(value["message"], "gone");
        assert_eq!(value["request"]["container_id"], "abc");
        assert_eq!(value["request"]["cmd"][0], "true");
        assert_eq!(value["response"], serde_json::Value::Null);
        assert_eq!(
            request_type_name(Method::GetContainerEvents),
            Some("GetEventsRequest")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_call_that_never_comes_reports_the_calls_received() {
        let journal = Journal::default();
        journal.begin(Method::Version, Arc::new(VersionRequest::default()));
        let err = journal
            .wait_for_call(Method::ExecSync, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(err.what, "a call to ExecSync");
        assert_eq!(err.calls, "  #1 Version {} -> PENDING\n");
    }
}
