//! Malformed and hostile requests (issue 12): whatever bytes or field values a client
//! sends to any RPC, the fake answers with a gRPC status (containerd's, or a clear
//! `INVALID_ARGUMENT`), never panics, never hangs, and serves on afterwards.
//!
//! The property tests build requests for **every** method of the CRI services from the
//! API's own descriptors (`cri_proto::FILE_DESCRIPTOR_SET`): random values for every
//! field, out-of-range enums, extreme numbers, path-like and non-ASCII strings, and ids of
//! objects that really exist so that the calls reach past the lookups. They run a bounded
//! number of cases in `cargo test`; a longer run is
//! `PROPTEST_CASES=20000 cargo test --release -p cri-fake --test hostile_requests`.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use common::*;
use cri_proto::v1::*;
use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, Value,
};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

// ----- a gRPC client for raw bytes -----

/// Sends and receives message bodies as they are: no encoding, no validation.
#[derive(Debug, Clone, Default)]
struct RawCodec;

#[derive(Debug, Clone, Default)]
struct RawBytes;

impl Encoder for RawBytes {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawBytes;
    type Decoder = RawBytes;
    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }
    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

/// One RPC of the CRI API.
#[derive(Debug, Clone)]
struct Method {
    path: String,
    input: MessageDescriptor,
    server_streaming: bool,
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(cri_proto::FILE_DESCRIPTOR_SET).expect("the CRI descriptors")
    })
}

/// Every method of every service in the API, in declaration order.
fn methods() -> Vec<Method> {
    pool()
        .services()
        .flat_map(|service| {
            service
                .methods()
                .map(|m| Method {
                    path: format!("/{}/{}", service.full_name(), m.name()),
                    input: m.input(),
                    server_streaming: m.is_server_streaming(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What a call ended with: the response body, or the status.
type Answer = Result<Bytes, tonic::Status>;

/// Calls `method` with `body`; `None` if no answer came within `patience`.
async fn call(
    channel: &Channel,
    method: &Method,
    body: Bytes,
    patience: Duration,
) -> Option<Answer> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    let path: http::uri::PathAndQuery = method.path.parse().expect("a method path");
    let answer = async move {
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::from_error(e.into()))?;
        if method.server_streaming {
            let response = grpc
                .server_streaming(tonic::Request::new(body), path, RawCodec)
                .await?;
            // An event stream stays open: its first message (or the stream's end) will do.
            let mut stream = response.into_inner();
            let first = tokio::time::timeout(Duration::from_millis(200), stream.message()).await;
            match first {
                Ok(Ok(message)) => Ok(message.unwrap_or_default()),
                Ok(Err(status)) => Err(status),
                Err(_) => Ok(Bytes::new()),
            }
        } else {
            grpc.unary(tonic::Request::new(body), path, RawCodec)
                .await
                .map(tonic::Response::into_inner)
        }
    };
    tokio::time::timeout(patience, answer).await.ok()
}

// ----- panics anywhere in the process are counted -----

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// What the first panic said, and where (the checks report it: later panics, a
/// shrinking run's among them, would hide it).
static FIRST_PANIC: OnceLock<String> = OnceLock::new();

/// Counts every panic of any thread (a panicking handler task would otherwise only show
/// as a reset stream). The checks themselves fail without panicking, so only a panic of
/// the fake (or of the test's own code) is counted.
fn count_panics() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            let thread = std::thread::current();
            let _ = FIRST_PANIC.set(format!(
                "thread {:?}: {info}",
                thread.name().unwrap_or("unnamed")
            ));
            default(info);
        }));
    });
}

// ----- random requests built from the descriptors -----

/// A small deterministic generator (SplitMix64): proptest picks the seed, so a failing
/// case is reported, and replayed, by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Strings that reach interesting paths: ids of real objects (whole and as prefixes),
/// path tricks, references, commands, and text that is not ASCII.
struct Corpus {
    strings: Vec<String>,
    ids: Vec<String>,
}

impl Corpus {
    fn new(ids: &[String]) -> Self {
        let mut strings: Vec<String> = [
            "",
            "a",
            "..",
            "../../../../etc/passwd",
            "/etc/passwd",
            "/tmp/../..",
            "./x/../../y",
            "busybox:1.36",
            "docker.io/library/busybox:1.36",
            "registry.k8s.io/pause:3.10.2",
            "UPPER/Case:1",
            "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "sha256:",
            "@sha256:zz",
            "runc",
            "sh",
            "-c",
            "echo hi; exit 3",
            "cat",
            "true",
            "ls /proc",
            "kill -9 1",
            "NODE",
            "=",
            "a=b",
            "key",
            "io.kubernetes.container.name",
            "\u{0}",
            "ü💥\u{200b}",
            "\u{feff}BOM",
            "%2e%2e%2f",
            "\\\\",
            " ",
            "\n\r\t",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        for id in ids {
            strings.push(id.clone());
            strings.push(id[..1].to_owned());
            strings.push(id[..12].to_owned());
        }
        Self {
            strings,
            ids: ids.to_vec(),
        }
    }

    /// An id field gets a real object's id (or a prefix of one) most of the time.
    fn id(&self, rng: &mut Rng) -> String {
        if rng.chance(3) {
            return self.string(rng);
        }
        let id = &self.ids[rng.below(self.ids.len())];
        match rng.below(4) {
            0 => id[..12].to_owned(),
            _ => id.clone(),
        }
    }

    fn string(&self, rng: &mut Rng) -> String {
        match rng.below(10) {
            0 => (0..rng.below(64))
                .map(|_| char::from(b' ' + rng.below(95) as u8))
                .collect(),
            1 => "x".repeat(rng.below(5000)),
            _ => self.strings[rng.below(self.strings.len())].clone(),
        }
    }
}

fn extreme_i64(rng: &mut Rng) -> i64 {
    match rng.below(8) {
        0 => 0,
        1 => -1,
        2 => i64::MIN,
        3 => i64::MAX,
        4 => rng.below(100) as i64,
        5 => -(rng.below(100) as i64),
        6 => 1 << rng.below(63),
        _ => rng.next() as i64,
    }
}

fn value(kind: &Kind, rng: &mut Rng, corpus: &Corpus, depth: u32) -> Option<Value> {
    Some(match kind {
        Kind::Double => {
            Value::F64([0.0, -1.0, f64::NAN, f64::INFINITY, f64::MIN, 1e300][rng.below(6)])
        }
        Kind::Float => Value::F32([0.0, -1.0, f32::NAN, f32::NEG_INFINITY][rng.below(4)]),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(extreme_i64(rng) as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(extreme_i64(rng)),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(extreme_i64(rng) as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(extreme_i64(rng) as u64),
        Kind::Bool => Value::Bool(rng.chance(2)),
        Kind::String => Value::String(corpus.string(rng)),
        Kind::Bytes => Value::Bytes(Bytes::from(
            (0..rng.below(64))
                .map(|_| rng.next() as u8)
                .collect::<Vec<_>>(),
        )),
        Kind::Enum(e) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            // Numbers the enum does not define are valid on the wire and must not panic.
            match rng.below(4) {
                0 => Value::EnumNumber(extreme_i64(rng) as i32),
                _ => Value::EnumNumber(values[rng.below(values.len())]),
            }
        }
        Kind::Message(m) => {
            if depth > 5 {
                return None;
            }
            Value::Message(message(m, rng, corpus, depth + 1))
        }
    })
}

fn map_key(kind: &Kind, rng: &mut Rng, corpus: &Corpus) -> MapKey {
    match kind {
        Kind::String => MapKey::String(corpus.string(rng)),
        Kind::Bool => MapKey::Bool(rng.chance(2)),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(extreme_i64(rng) as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(extreme_i64(rng)),
        Kind::Uint32 | Kind::Fixed32 => MapKey::U32(extreme_i64(rng) as u32),
        _ => MapKey::U64(extreme_i64(rng) as u64),
    }
}

fn field_value(
    field: &FieldDescriptor,
    rng: &mut Rng,
    corpus: &Corpus,
    depth: u32,
) -> Option<Value> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return None;
        };
        let (key, val) = (entry.map_entry_key_field(), entry.map_entry_value_field());
        let mut map = HashMap::new();
        for _ in 0..rng.below(4) {
            let v = value(&val.kind(), rng, corpus, depth)?;
            map.insert(map_key(&key.kind(), rng, corpus), v);
        }
        Some(Value::Map(map))
    } else if field.is_list() {
        let items = (0..rng.below(4))
            .filter_map(|_| value(&field.kind(), rng, corpus, depth))
            .collect();
        Some(Value::List(items))
    } else {
        value(&field.kind(), rng, corpus, depth)
    }
}

fn message(desc: &MessageDescriptor, rng: &mut Rng, corpus: &Corpus, depth: u32) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    for field in desc.fields() {
        // Near the top most fields are set; deeper down fewer, so messages stay small.
        if rng.below(8) < (1 + 2 * depth as usize).min(7) {
            continue;
        }
        if field.name().ends_with("id") && field.kind() == Kind::String && !field.is_list() {
            message.set_field(&field, Value::String(corpus.id(rng)));
        } else if let Some(v) = field_value(&field, rng, corpus, depth) {
            message.set_field(&field, v);
        }
    }
    message
}

// ----- the world the requests land in -----

struct World {
    runtime: tokio::runtime::Runtime,
    env: Env,
    corpus: std::sync::Mutex<Corpus>,
    methods: Vec<Method>,
    generation: usize,
}

/// Pulls the images the random requests may have removed, and makes a ready pod with
/// a running, a created and an exited container; returns their ids.
async fn populate(env: &mut Env, generation: usize) -> Vec<String> {
    for image in [BUSYBOX, "registry.k8s.io/pause:3.10.2"] {
        env.img
            .pull_image(PullImageRequest {
                image: Some(ImageSpec {
                    image: image.into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("PullImage");
    }
    let (pod, config) = env.pod(&format!("hostile-{generation}")).await;
    let running = env
        .running(&pod, &config, "running", &["sleep", "100000"])
        .await;
    let created = env
        .create(&pod, &config, container_config("created", &["sleep", "1"]))
        .await
        .expect("CreateContainer");
    let exited = env.running(&pod, &config, "exited", &["true"]).await;
    env.wait_state(&exited, ContainerState::ContainerExited)
        .await;
    vec![pod, running, created, exited]
}

/// A fake whose objects random ids can hit (see [`populate`]).
fn world() -> World {
    count_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (env, ids) = runtime.block_on(async {
        let mut env = start().await;
        let ids = populate(&mut env, 0).await;
        (env, ids)
    });
    World {
        runtime,
        env,
        corpus: std::sync::Mutex::new(Corpus::new(&ids)),
        methods: methods(),
        generation: 0,
    }
}

impl World {
    /// Every 16 requests, fresh objects: random requests stop and remove what they hit.
    fn refresh_now_and_then(&mut self) {
        self.generation += 1;
        if self.generation.is_multiple_of(16) {
            let ids = self
                .runtime
                .block_on(populate(&mut self.env, self.generation));
            *self.corpus.lock().unwrap() = Corpus::new(&ids);
        }
    }

    /// Builds a random request for `method` from `seed`.
    fn request(&self, method: &Method, seed: u64) -> DynamicMessage {
        let corpus = self.corpus.lock().unwrap();
        message(&method.input, &mut Rng(seed), &corpus, 0)
    }
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// An answer a hostile request may get: any status the fake sends on purpose (an
/// `UNAVAILABLE` among them: containerd 2.3 answers PodSandboxStats of a stopped sandbox
/// so). A call that broke (a reset stream, a closed connection: a status tonic made on
/// the client side, which carries its transport error as its source), a cancelled call,
/// silence, or a panic anywhere in the process is not one.
fn check_answered(method: &Method, answer: Option<Answer>, what: &str) -> Result<(), String> {
    let Some(answer) = answer else {
        return Err(format!(
            "{} did not answer within 20 s: {what}",
            method.path
        ));
    };
    if let Err(status) = &answer {
        if std::error::Error::source(status).is_some() || status.code() == Code::Cancelled {
            return Err(format!(
                "{}: the call broke ({status:?}): {what}",
                method.path
            ));
        }
        if status.message().contains("panicked") || status.message().contains("h2 protocol") {
            return Err(format!("{}: {status:?}: {what}", method.path));
        }
    }
    match PANICS.load(Ordering::SeqCst) {
        0 => Ok(()),
        n => Err(format!(
            "{}: {n} panic(s), the first: {}; the request: {what}",
            method.path,
            FIRST_PANIC.get().map_or("?", String::as_str)
        )),
    }
}

fn serves_on(world: &World) {
    world.runtime.block_on(async {
        let version = world
            .env
            .rt
            .clone()
            .version(VersionRequest::default())
            .await
            .expect("the fake still answers Version");
        assert_eq!(version.into_inner().runtime_name, "containerd");
    });
}

#[test]
fn random_requests_to_every_rpc_get_an_answer_and_never_a_panic() {
    let world = std::cell::RefCell::new(world());
    let channel = world.borrow().env.fake.channel();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(128),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let count = world.borrow().methods.len();
    let ask = |index: usize, seed: u64| -> Result<(), String> {
        world.borrow_mut().refresh_now_and_then();
        let world = world.borrow();
        let method = &world.methods[index];
        let request = world.request(method, seed);
        let answer = world.runtime.block_on(call(
            &channel,
            method,
            Bytes::from(request.encode_to_vec()),
            Duration::from_secs(20),
        ));
        check_answered(method, answer, &format!("{request:?}"))
    };
    runner
        .run(&(0..count, any::<u64>()), |(index, seed)| {
            ask(index, seed).map_err(TestCaseError::fail)
        })
        .unwrap();
    // Every method once more, so none is left out however few the cases.
    for index in 0..count {
        ask(index, index as u64).unwrap();
    }
    let world = world.borrow();
    serves_on(&world);
}

#[test]
fn random_bytes_to_every_rpc_get_an_answer_and_never_a_panic() {
    let world = world();
    let channel = world.env.fake.channel();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(96),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let count = world.methods.len();
    runner
        .run(
            &(0..count, prop::collection::vec(any::<u8>(), 0..256)),
            |(index, bytes)| {
                let method = &world.methods[index];
                let answer = world.runtime.block_on(call(
                    &channel,
                    method,
                    Bytes::from(bytes.clone()),
                    Duration::from_secs(20),
                ));
                check_answered(method, answer, &format!("{bytes:?}")).map_err(TestCaseError::fail)
            },
        )
        .unwrap();
    serves_on(&world);
}

// ----- targeted cases -----

/// The raw `RunPodSandbox` method, and its request for `config`.
fn run_pod_sandbox(config: PodSandboxConfig) -> (Method, Bytes) {
    let method = methods()
        .into_iter()
        .find(|m| m.path == "/runtime.v1.RuntimeService/RunPodSandbox")
        .expect("RunPodSandbox");
    let body = RunPodSandboxRequest {
        config: Some(config),
        runtime_handler: String::new(),
    }
    .encode_to_vec();
    (method, Bytes::from(body))
}

fn status_of(answer: Option<Answer>) -> (Code, String) {
    match answer.expect("an answer") {
        Ok(body) => panic!("expected an error, got {} bytes", body.len()),
        Err(status) => (status.code(), status.message().to_owned()),
    }
}

#[tokio::test]
async fn a_request_over_16_mib_is_resource_exhausted_in_containerds_words() {
    for profile in cri_fake::Profile::ALL {
        let env = start_profile(profile).await;
        let mut config = pod_config("big");
        config.hostname = "x".repeat(17 << 20);
        let (method, body) = run_pod_sandbox(config);
        let size = body.len();
        let answer = call(&env.fake.channel(), &method, body, Duration::from_secs(20)).await;
        assert_eq!(
            status_of(answer),
            (
                Code::ResourceExhausted,
                format!("grpc: received message larger than max ({size} vs. 16777216)")
            ),
            "{profile}"
        );
        assert_eq!(env.fake.sandboxes().len(), 0);
    }
}

#[tokio::test]
async fn invalid_utf8_in_a_string_field_is_an_unmarshalling_error() {
    let env = start().await;
    let version = methods()
        .into_iter()
        .find(|m| m.path.ends_with("/Version"))
        .unwrap();
    // VersionRequest field 1 (`version`, a string), length 2, bytes 0xff 0xfe.
    let answer = call(
        &env.fake.channel(),
        &version,
        Bytes::from_static(&[0x0a, 0x02, 0xff, 0xfe]),
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(
        status_of(answer),
        (
            Code::Internal,
            "grpc: error unmarshalling request: string field contains invalid UTF-8".into()
        )
    );
}

#[tokio::test]
async fn a_truncated_message_is_an_unmarshalling_error_in_each_releases_words() {
    for (profile, text) in [
        (
            cri_fake::Profile::Containerd23,
            "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data",
        ),
        (
            cri_fake::Profile::Containerd16,
            "grpc: error unmarshalling request: unexpected EOF",
        ),
    ] {
        let env = start_profile(profile).await;
        let (method, body) = run_pod_sandbox(pod_config("cut"));
        let cut = body.slice(..body.len() - 3);
        let answer = call(&env.fake.channel(), &method, cut, Duration::from_secs(20)).await;
        assert_eq!(
            status_of(answer),
            (Code::Internal, text.into()),
            "{profile}"
        );
    }
}

#[tokio::test]
async fn a_10_mb_pod_name_and_100k_labels_are_kept_and_found_by_label() {
    let mut env = start().await;
    let mut config = pod_config("n");
    config.metadata.as_mut().unwrap().name = "n".repeat(10_000_000);
    config.labels = (0..100_000)
        .map(|i| (format!("label-{i}"), format!("v{i}")))
        .collect();
    let id = env.run_pod(config).await;
    let status = env
        .rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(status.metadata.unwrap().name.len(), 10_000_000);
    assert_eq!(status.labels.len(), 100_000);
    let found = env
        .list_pods(PodSandboxFilter {
            label_selector: labels(&[("label-99999", "v99999")]),
            ..Default::default()
        })
        .await;
    assert_eq!(
        found.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        [id.as_str()]
    );
}

#[tokio::test]
async fn a_response_over_16_mib_is_resource_exhausted_as_grpc_go_refuses_to_send_it() {
    let mut env = start().await;
    let mut config = pod_config("n");
    config.metadata.as_mut().unwrap().name = "n".repeat(10_000_000);
    let id = env.run_pod(config).await;
    // Verbose status repeats the config in its `info` JSON: over the send limit.
    let err = env
        .rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id,
            verbose: true,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    let size: usize = err
        .message()
        .strip_prefix("grpc: trying to send message larger than max (")
        .and_then(|rest| rest.strip_suffix(" vs. 16777216)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", err.message()));
    assert!(size > 20_000_000, "{size}");
}

#[tokio::test]
async fn negative_and_huge_timeouts_wrap_like_go_durations_and_mean_none() {
    let mut env = start().await;
    let (pod, config) = env.pod("numbers").await;
    let id = env.running(&pod, &config, "c", &["sleep", "100000"]).await;
    for timeout in [-1, i64::MIN, i64::MAX] {
        let out = env.exec(&id, &["echo", "hi"], timeout).await.unwrap();
        assert_eq!(
            (out.stdout, out.exit_code),
            (b"hi\n".to_vec(), 0),
            "{timeout}"
        );
    }
    // `time.Duration(t) * time.Second` wraps: both are "no grace period", so SIGKILL.
    for timeout in [i64::MIN, i64::MAX] {
        let id = env
            .running(
                &pod,
                &config,
                &format!("s{}", timeout < 0),
                &["sleep", "100000"],
            )
            .await;
        env.stop(&id, timeout).await.unwrap();
        let status = env.status(&id).await.unwrap();
        assert_eq!(status.state, ContainerState::ContainerExited as i32);
        assert_eq!(status.exit_code, 137, "{timeout}");
    }
}

#[tokio::test]
async fn a_status_the_fake_sends_on_purpose_is_an_answer_even_unavailable_and_a_broken_call_is_not()
{
    let mut env = start().await;
    let (pod, _) = env.pod("stopped").await;
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .expect("StopPodSandbox");
    let stats = methods()
        .into_iter()
        .find(|m| m.path == "/runtime.v1.RuntimeService/PodSandboxStats")
        .expect("PodSandboxStats");
    let body = Bytes::from(
        PodSandboxStatsRequest {
            pod_sandbox_id: pod.clone(),
        }
        .encode_to_vec(),
    );
    let channel = env.fake.channel();
    let answer = call(&channel, &stats, body.clone(), Duration::from_secs(20)).await;
    let Some(Err(status)) = &answer else {
        panic!("expected a status, got {answer:?}");
    };
    assert_eq!(
        (status.code(), status.message()),
        (
            Code::Unavailable,
            format!(
                "failed to decode pod sandbox metrics {pod}: failed to get pod sandbox stats since sandbox container \"{pod}\" is not in ready state: unavailable"
            )
            .as_str()
        )
    );
    assert_eq!(check_answered(&stats, answer, "stopped pod"), Ok(()));

    // The same call once the fake is gone: tonic's own UNAVAILABLE, a broken call.
    env.fake.shutdown().await;
    let answer = call(&channel, &stats, body, Duration::from_secs(20)).await;
    let verdict = check_answered(&stats, answer, "fake gone").expect_err("a broken call");
    assert!(
        verdict.starts_with(
            "/runtime.v1.RuntimeService/PodSandboxStats: the call broke (Status { code: Unavailable"
        ),
        "{verdict}"
    );
}

/// The raw method at `path`.
fn method(path: &str) -> Method {
    methods()
        .into_iter()
        .find(|m| m.path == path)
        .unwrap_or_else(|| panic!("{path}"))
}

#[tokio::test]
async fn malformed_list_requests_get_containerds_unmarshalling_and_size_answers() {
    let env = start().await;
    let channel = env.fake.channel();
    // Field 1 (`filter`) of length 10, cut after 2 bytes.
    let truncated = Bytes::from_static(&[0x0a, 0x0a, 0x0a, 0x00]);
    for path in [
        "/runtime.v1.RuntimeService/ListContainers",
        "/runtime.v1.RuntimeService/ListPodSandbox",
        "/runtime.v1.RuntimeService/ListContainerStats",
    ] {
        let list = method(path);
        let answer = call(&channel, &list, truncated.clone(), Duration::from_secs(20)).await;
        assert_eq!(
            status_of(answer),
            (
                Code::Internal,
                "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data"
                    .into()
            ),
            "{path}"
        );
        let filter = ContainerFilter {
            id: "x".repeat(17 << 20),
            ..Default::default()
        };
        let body = Bytes::from(
            ListContainersRequest {
                filter: Some(filter),
            }
            .encode_to_vec(),
        );
        let size = body.len();
        let answer = call(&channel, &list, body, Duration::from_secs(20)).await;
        assert_eq!(
            status_of(answer),
            (
                Code::ResourceExhausted,
                format!("grpc: received message larger than max ({size} vs. 16777216)")
            ),
            "{path}"
        );
    }
    // Neither reached the journal, as with every other method.
    assert!(
        env.fake
            .calls_to(cri_fake::Method::ListContainers)
            .is_empty()
    );
}

#[tokio::test]
async fn a_list_over_16_mib_is_resource_exhausted_with_its_encoded_size() {
    let mut env = start().await;
    for name in ["a", "b"] {
        let mut config = pod_config(name);
        config.metadata.as_mut().unwrap().name = name.repeat(9_000_000);
        env.run_pod(config).await;
    }
    let size = ListPodSandboxResponse {
        items: env.fake.runtime().list_pod_sandbox(None),
    }
    .encoded_len();
    assert!(size > 16 << 20, "{size}");
    let err = env
        .rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(
        err.message(),
        format!("grpc: trying to send message larger than max ({size} vs. 16777216)")
    );
    let calls = env.fake.calls_to(cri_fake::Method::ListPodSandbox);
    assert_eq!(calls[0].outcome.code(), Some(Code::ResourceExhausted));
}
