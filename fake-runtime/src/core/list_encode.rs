//! ListContainers, ListPodSandbox and ListContainerStats answers encoded straight from
//! the store's records, without building their owned messages.
//!
//! The owned lists ([`Runtime::list_containers`] and the others) clone every record's
//! ids, labels, annotations and metadata into prost messages, which prost then walks
//! twice more (for the size, then to encode). Over thousands of objects the copies are
//! most of a list's cost. The encoders here write the same protobuf encoding from
//! borrowed fields, under the store's read lock, item after item into 64 KiB chunks
//! ([`EncodedList`]), nothing allocated per item. A container's fields that never
//! change are encoded once, when it is created ([`ListedFields`]): without that, a list
//! of thousands spends its time fetching each record's ids, labels and metadata from
//! their separate allocations (memory reads, not encoding, bound it).
//!
//! Each encoder selects with the same matcher as its owned list (the crate's
//! `ContainerSelection` and `SandboxSelection`), in the same order, and writes the
//! fields the owned item builders fill: the answer decodes to the owned list's message,
//! at the same length (the tests check it on random stores and filters). Fields at
//! their default value are left out, as prost leaves them out.
//!
//! The server answers the three RPCs with these encodings; the `encode_list_*` methods
//! of [`Runtime`] are public for benchmarks and for embedders that serve lists
//! themselves:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::cri_proto::v1::ListPodSandboxResponse;
//! use prost::Message;
//!
//! let fake = cri_fake::FakeRuntime::start().await.unwrap();
//! let encoded = fake.runtime().encode_list_pod_sandbox(None);
//! let decoded = ListPodSandboxResponse::decode(encoded.to_bytes()).unwrap();
//! assert_eq!(decoded.items, fake.runtime().list_pod_sandbox(None));
//! # fake.shutdown().await;
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;

use bytes::{Bytes, BytesMut};
use cri_proto::v1::{ContainerFilter, ContainerStatsFilter, PodSandboxFilter};
use prost::Message;
use prost::encoding::{
    WireType, encode_key, encode_varint, encoded_len_varint, hash_map, int32, int64, key_len,
    message, string, uint64,
};

use crate::core::container::ContainerSelection;
use crate::core::profile::Dialect;
use crate::core::runtime::{Runtime, now_ns};
use crate::core::sandbox::SandboxSelection;
use crate::core::state::{ContainerRecord, SandboxRecord};
use crate::core::stats::StatsFigures;

/// A message written from borrowed fields.
trait Encode {
    /// The length of the message's encoding (without its own key and length).
    fn body_len(&self) -> usize;
    /// Writes the message's fields (`body_len` bytes).
    fn encode_body(&self, buf: &mut BytesMut);
}

/// The length of `value` as field `tag` (key, length, body).
fn message_len(tag: u32, value: &impl Encode) -> usize {
    let len = value.body_len();
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Writes `value` as field `tag`.
fn put_message(tag: u32, value: &impl Encode, buf: &mut BytesMut) {
    put_sized(tag, value.body_len(), value, buf);
}

/// Writes `value`, whose body is `len` bytes long, as field `tag`.
fn put_sized(tag: u32, len: usize, value: &impl Encode, buf: &mut BytesMut) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
    let start = buf.len();
    value.encode_body(buf);
    // A body longer than its length would still decode (its tail as unknown fields of
    // the enclosing message): the length pass and the write pass must agree.
    debug_assert_eq!(
        buf.len() - start,
        len,
        "field {tag}: length and body disagree"
    );
}

/// The length of string field `tag` (0 when empty: left out).
fn string_len(tag: u32, value: &String) -> usize {
    if value.is_empty() {
        0
    } else {
        string::encoded_len(tag, value)
    }
}

/// Writes string field `tag` unless it is empty.
fn put_string(tag: u32, value: &String, buf: &mut BytesMut) {
    if !value.is_empty() {
        string::encode(tag, value, buf);
    }
}

/// The length of int64 field `tag` (0 when zero: left out).
fn int64_len(tag: u32, value: i64) -> usize {
    if value == 0 {
        0
    } else {
        int64::encoded_len(tag, &value)
    }
}

/// Writes int64 field `tag` unless it is zero.
fn put_int64(tag: u32, value: i64, buf: &mut BytesMut) {
    if value != 0 {
        int64::encode(tag, &value, buf);
    }
}

/// The length of enum field `tag` (0 when zero: left out).
fn enum_len(tag: u32, value: i32) -> usize {
    if value == 0 {
        0
    } else {
        int32::encoded_len(tag, &value)
    }
}

/// Writes enum field `tag` unless it is zero.
fn put_enum(tag: u32, value: i32, buf: &mut BytesMut) {
    if value != 0 {
        int32::encode(tag, &value, buf);
    }
}

/// The length of `map<string, string>` field `tag`.
fn map_len(tag: u32, map: &HashMap<String, String>) -> usize {
    hash_map::encoded_len(string::encoded_len, string::encoded_len, tag, map)
}

/// Writes `map<string, string>` field `tag`.
fn put_map(tag: u32, map: &HashMap<String, String>, buf: &mut BytesMut) {
    hash_map::encode(
        string::encode,
        string::encoded_len,
        string::encode,
        string::encoded_len,
        tag,
        map,
        buf,
    );
}

/// The length of optional message field `tag` (0 when `None`).
fn optional_len<M: Message>(tag: u32, value: Option<&M>) -> usize {
    value.map_or(0, |m| message::encoded_len(tag, m))
}

/// Writes optional message field `tag` when it is set.
fn put_optional<M: Message>(tag: u32, value: Option<&M>, buf: &mut BytesMut) {
    if let Some(m) = value {
        message::encode(tag, m, buf);
    }
}

/// The size of the chunks an [`EncodedList`] is written in.
const CHUNK_BYTES: usize = 64 << 10;

/// A list response's encoding, in the chunks it was written in: a list of megabytes is
/// not copied at every doubling of one growing buffer (the server writes the chunks one
/// after the other).
#[derive(Debug, Clone, Default)]
pub struct EncodedList {
    /// The encoding, in order.
    chunks: Vec<Bytes>,
    /// The total length.
    len: usize,
}

impl EncodedList {
    /// The length of the encoding in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the encoding is empty (an empty list).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoding's chunks, in order.
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// The encoding in one piece (a copy, unless it is one chunk).
    pub fn to_bytes(&self) -> Bytes {
        match self.chunks.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => many.concat().into(),
        }
    }
}

/// Writes the items of a list as field 1 (the repeated field of all three responses),
/// each whole in one chunk.
#[derive(Debug, Default)]
struct ListWriter {
    /// The full chunks.
    list: EncodedList,
    /// The chunk being written.
    current: BytesMut,
}

impl ListWriter {
    /// Appends `item`.
    fn put(&mut self, item: &impl Encode) {
        let len = item.body_len();
        let need = key_len(1) + encoded_len_varint(len as u64) + len;
        if self.current.capacity() - self.current.len() < need {
            let next = BytesMut::with_capacity(need.max(CHUNK_BYTES));
            self.seal(next);
        }
        put_sized(1, len, item, &mut self.current);
    }

    /// Moves the current chunk, unless empty, to the list; `next` is the new one.
    fn seal(&mut self, next: BytesMut) {
        let full = std::mem::replace(&mut self.current, next);
        if !full.is_empty() {
            self.list.len += full.len();
            self.list.chunks.push(full.freeze());
        }
    }

    /// The list written.
    fn finish(mut self) -> EncodedList {
        self.seal(BytesMut::new());
        self.list
    }
}

/// An `ImageSpec` with only its `image` set.
struct ImageSpecView<'a> {
    /// The image as the create request named it.
    image: &'a String,
}

impl Encode for ImageSpecView<'_> {
    fn body_len(&self) -> usize {
        string_len(1, self.image)
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        put_string(1, self.image, buf);
    }
}

/// The fields of ListContainers' `Container` for a record that never change after its
/// creation: all the fields of `container::list_item` but `state`.
struct ContainerFieldsView<'a> {
    /// The record.
    record: &'a ContainerRecord,
    /// The `image_id` field: the config digest, or empty when the profile predates it.
    image_id: &'a String,
}

impl Encode for ContainerFieldsView<'_> {
    fn body_len(&self) -> usize {
        let r = self.record;
        string_len(1, &r.id)
            + string_len(2, &r.sandbox_id)
            + optional_len(3, r.config.metadata.as_ref())
            + message_len(
                4,
                &ImageSpecView {
                    image: &r.image_requested,
                },
            )
            + string_len(5, &r.image_id)
            + int64_len(7, r.created_at)
            + map_len(8, &r.config.labels)
            + map_len(9, &r.config.annotations)
            + string_len(10, self.image_id)
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        let r = self.record;
        put_string(1, &r.id, buf);
        put_string(2, &r.sandbox_id, buf);
        put_optional(3, r.config.metadata.as_ref(), buf);
        put_message(
            4,
            &ImageSpecView {
                image: &r.image_requested,
            },
            buf,
        );
        put_string(5, &r.image_id, buf);
        put_int64(7, r.created_at, buf);
        put_map(8, &r.config.labels, buf);
        put_map(9, &r.config.annotations, buf);
        put_string(10, self.image_id, buf);
    }
}

/// ListContainers' `Container` for a record: its [`ListedFields`], then its state.
struct ContainerView<'a>(&'a ContainerRecord);

impl Encode for ContainerView<'_> {
    fn body_len(&self) -> usize {
        self.0.listed.item.len() + enum_len(6, self.0.phase.to_cri() as i32)
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(&self.0.listed.item);
        put_enum(6, self.0.phase.to_cri() as i32, buf);
    }
}

/// Encoded fields, written as they are (the body of a message field).
struct RawFields<'a>(&'a Bytes);

impl Encode for RawFields<'_> {
    fn body_len(&self) -> usize {
        self.0.len()
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(self.0);
    }
}

/// The encodings of a container's list fields that never change after its creation,
/// made once by CreateContainer: ListContainers' item without its `state`, and
/// ListContainerStats' `attributes`. A list then copies one contiguous piece per
/// container instead of gathering its ids, labels and metadata from a dozen separate
/// allocations: the lists are bound by those memory reads, not by the encoding.
#[derive(Clone, Default)]
pub struct ListedFields {
    /// ListContainers' `Container` fields but `state` (field 6).
    item: Bytes,
    /// ListContainerStats' `ContainerAttributes` fields.
    attributes: Bytes,
}

impl ListedFields {
    /// The fields of `record` (the `image_id` reported as `dialect` does), in one
    /// allocation.
    pub(crate) fn of(dialect: &Dialect, record: &ContainerRecord) -> Self {
        let empty = String::new();
        let item = ContainerFieldsView {
            record,
            image_id: if dialect.container_image_id {
                &record.image_id
            } else {
                &empty
            },
        };
        let attributes = AttributesView(record);
        let mut buf = BytesMut::with_capacity(item.body_len() + attributes.body_len());
        item.encode_body(&mut buf);
        let item = buf.split().freeze();
        attributes.encode_body(&mut buf);
        Self {
            item,
            attributes: buf.freeze(),
        }
    }
}

impl fmt::Debug for ListedFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListedFields")
            .field("item", &self.item.len())
            .field("attributes", &self.attributes.len())
            .finish()
    }
}

/// ListPodSandbox's `PodSandbox` fields of a record but `state` (field 3): the ones
/// that never change after RunPodSandbox (the fields of `sandbox::list_item`).
struct SandboxFieldsView<'a>(&'a SandboxRecord);

impl Encode for SandboxFieldsView<'_> {
    fn body_len(&self) -> usize {
        let r = self.0;
        string_len(1, &r.id)
            + optional_len(2, r.config.metadata.as_ref())
            + int64_len(4, r.created_at)
            + map_len(5, &r.config.labels)
            + map_len(6, &r.config.annotations)
            + string_len(7, &r.runtime_handler)
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        let r = self.0;
        put_string(1, &r.id, buf);
        put_optional(2, r.config.metadata.as_ref(), buf);
        put_int64(4, r.created_at, buf);
        put_map(5, &r.config.labels, buf);
        put_map(6, &r.config.annotations, buf);
        put_string(7, &r.runtime_handler, buf);
    }
}

/// The encoding of a sandbox's list fields that never change (all but `state`), made
/// once by RunPodSandbox: a list then copies one piece per sandbox, as it does for
/// containers ([`ListedFields`]).
pub(crate) fn sandbox_listed_fields(record: &SandboxRecord) -> Bytes {
    let fields = SandboxFieldsView(record);
    let mut buf = BytesMut::with_capacity(fields.body_len());
    fields.encode_body(&mut buf);
    buf.freeze()
}

/// ListPodSandbox's `PodSandbox` for a record: its listed fields, then its state.
struct SandboxView<'a>(&'a SandboxRecord);

impl Encode for SandboxView<'_> {
    fn body_len(&self) -> usize {
        self.0.listed.len() + enum_len(3, self.0.phase.to_cri() as i32)
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(&self.0.listed);
        put_enum(3, self.0.phase.to_cri() as i32, buf);
    }
}

/// A container's `ContainerAttributes`.
struct AttributesView<'a>(&'a ContainerRecord);

impl Encode for AttributesView<'_> {
    fn body_len(&self) -> usize {
        let r = self.0;
        string_len(1, &r.id)
            + optional_len(2, r.config.metadata.as_ref())
            + map_len(3, &r.config.labels)
            + map_len(4, &r.config.annotations)
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        let r = self.0;
        put_string(1, &r.id, buf);
        put_optional(2, r.config.metadata.as_ref(), buf);
        put_map(3, &r.config.labels, buf);
        put_map(4, &r.config.annotations, buf);
    }
}

/// A `google.protobuf.UInt64Value`-like wrapper (`UInt64Value`): field 1, left out at 0.
struct UInt64View(u64);

impl Encode for UInt64View {
    fn body_len(&self) -> usize {
        if self.0 == 0 {
            0
        } else {
            uint64::encoded_len(1, &self.0)
        }
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        if self.0 != 0 {
            uint64::encode(1, &self.0, buf);
        }
    }
}

/// `FilesystemIdentifier` with its mountpoint.
struct FsIdView<'a>(&'a String);

impl Encode for FsIdView<'_> {
    fn body_len(&self) -> usize {
        string_len(1, self.0)
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        put_string(1, self.0, buf);
    }
}

/// A container's writable layer `FilesystemUsage` (the one `stats_of` builds).
struct WritableLayerView<'a> {
    /// When the figures were taken.
    timestamp: i64,
    /// The snapshotter's directory.
    mountpoint: &'a String,
    /// Bytes used.
    used_bytes: u64,
    /// Inodes used.
    inodes_used: u64,
}

impl Encode for WritableLayerView<'_> {
    fn body_len(&self) -> usize {
        int64_len(1, self.timestamp)
            + message_len(2, &FsIdView(self.mountpoint))
            + message_len(3, &UInt64View(self.used_bytes))
            + message_len(4, &UInt64View(self.inodes_used))
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        put_int64(1, self.timestamp, buf);
        put_message(2, &FsIdView(self.mountpoint), buf);
        put_message(3, &UInt64View(self.used_bytes), buf);
        put_message(4, &UInt64View(self.inodes_used), buf);
    }
}

/// ListContainerStats' `ContainerStats` for a record (the fields of `stats_of`).
struct StatsView<'a> {
    /// The record.
    record: &'a ContainerRecord,
    /// Its figures at the call's instant.
    figures: StatsFigures,
    /// When the figures were taken.
    now: i64,
    /// Where the writable layers are.
    mountpoint: &'a String,
}

impl StatsView<'_> {
    /// The writable layer's usage.
    fn writable_layer(&self) -> WritableLayerView<'_> {
        WritableLayerView {
            timestamp: self.now,
            mountpoint: self.mountpoint,
            used_bytes: self.figures.writable_layer_used_bytes,
            inodes_used: self.figures.writable_layer_inodes_used,
        }
    }
}

impl Encode for StatsView<'_> {
    fn body_len(&self) -> usize {
        message_len(1, &RawFields(&self.record.listed.attributes))
            + optional_len(2, self.figures.cpu.as_ref())
            + optional_len(3, self.figures.memory.as_ref())
            + message_len(4, &self.writable_layer())
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        put_message(1, &RawFields(&self.record.listed.attributes), buf);
        put_optional(2, self.figures.cpu.as_ref(), buf);
        put_optional(3, self.figures.memory.as_ref(), buf);
        put_message(4, &self.writable_layer(), buf);
    }
}

impl Runtime {
    /// [`list_containers`](Self::list_containers)' answer, a `ListContainersResponse`,
    /// encoded.
    pub fn encode_list_containers(&self, filter: Option<ContainerFilter>) -> EncodedList {
        let filter = filter.unwrap_or_default();
        let selection = ContainerSelection::listed(&filter);
        self.store.read(|s| {
            let mut writer = ListWriter::default();
            selection.each(s, |record| writer.put(&ContainerView(record)));
            writer.finish()
        })
    }

    /// [`list_pod_sandbox`](Self::list_pod_sandbox)'s answer, a
    /// `ListPodSandboxResponse`, encoded.
    pub fn encode_list_pod_sandbox(&self, filter: Option<PodSandboxFilter>) -> EncodedList {
        let filter = filter.unwrap_or_default();
        let selection = SandboxSelection::listed(&filter);
        self.store.read(|s| {
            let mut writer = ListWriter::default();
            selection.each(s, |record| writer.put(&SandboxView(record)));
            writer.finish()
        })
    }

    /// [`list_container_stats`](Self::list_container_stats)' answer, a
    /// `ListContainerStatsResponse`, encoded.
    pub fn encode_list_container_stats(&self, filter: Option<ContainerStatsFilter>) -> EncodedList {
        self.encode_list_container_stats_at(filter, now_ns())
    }

    /// [`encode_list_container_stats`](Self::encode_list_container_stats) with the
    /// clock at `now`.
    pub(crate) fn encode_list_container_stats_at(
        &self,
        filter: Option<ContainerStatsFilter>,
        now: i64,
    ) -> EncodedList {
        let filter = filter.unwrap_or_default();
        let selection = ContainerSelection::stats(&filter);
        let mountpoint = self.writable_layer_mountpoint();
        self.store.read(|s| {
            self.with_stats_figures(now, |figures| {
                let mut writer = ListWriter::default();
                selection.each(s, |record| {
                    writer.put(&StatsView {
                        record,
                        figures: figures(record),
                        now,
                        mountpoint: &mountpoint,
                    });
                });
                writer.finish()
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use cri_proto::v1::{
        ContainerState, ContainerStateValue, ListContainerStatsResponse, ListContainersResponse,
        ListPodSandboxResponse, PodSandboxState, PodSandboxStateValue,
    };
    use proptest::prelude::*;

    use super::*;
    use crate::core::images::{ImageStore, builtin_catalog};
    use crate::core::runtime::{Profile, Settings};
    use crate::core::state::{ContainerPhase, SandboxPhase};
    use crate::core::stats::StatsOverride;
    use crate::fixtures;
    use crate::process::Programs;

    /// One sandbox of a generated store: its label value, whether it is stopped, and
    /// its containers (label value, phase index, figures override).
    #[derive(Debug, Clone)]
    struct PodSpec {
        /// The value of its `app` label (0: no label).
        app: u8,
        /// Stopped after its containers are created.
        stopped: bool,
        /// Its containers.
        containers: Vec<ContainerSpec>,
    }

    /// One container of a [`PodSpec`].
    #[derive(Debug, Clone)]
    struct ContainerSpec {
        /// The value of its `tier` label (0: no label).
        tier: u8,
        /// 0 created, 1 starting, 2 running, 3 exited.
        phase: u8,
        /// Writable layer bytes set with `set_container_stats` (0: none set).
        layer_bytes: u64,
    }

    /// A runtime of `profile` holding the sandboxes and containers of `pods`; their
    /// sandbox ids and container ids.
    fn store(profile: Profile, pods: &[PodSpec]) -> (Runtime, Vec<String>, Vec<String>) {
        let runtime = Runtime::new(
            Settings::for_profile(profile),
            ImageStore::new(builtin_catalog()),
            Programs::builtin(),
        );
        let (mut sandboxes, mut containers) = (Vec::new(), Vec::new());
        for (n, pod) in pods.iter().enumerate() {
            let mut builder = fixtures::pod(format!("p{n}")).uid(format!("u{n}"));
            if pod.app > 0 {
                builder = builder.label("app", format!("a{}", pod.app));
            }
            let config = builder.annotation("note", format!("pod {n}")).build();
            let sandbox = runtime
                .run_pod_sandbox(Some(config.clone()), String::new())
                .unwrap();
            for (i, spec) in pod.containers.iter().enumerate() {
                let mut builder = fixtures::container(format!("c{i}")).image("busybox:1.36");
                if spec.tier > 0 {
                    builder = builder.label("tier", format!("t{}", spec.tier));
                }
                let id = runtime
                    .create_container(&sandbox, Some(builder.build()), Some(config.clone()))
                    .unwrap();
                let phase = [
                    ContainerPhase::Created,
                    ContainerPhase::Starting,
                    ContainerPhase::Running,
                    ContainerPhase::Exited,
                ][usize::from(spec.phase % 4)];
                runtime.store.write(|s| {
                    let record = s.containers.get_mut(&id).unwrap();
                    record.phase = phase;
                    if phase == ContainerPhase::Running {
                        record.started_at = record.created_at + 1_000_000;
                    }
                });
                if spec.layer_bytes > 0 {
                    let figures = StatsOverride {
                        writable_layer_used_bytes: Some(spec.layer_bytes),
                        cpu_nano_cores: Some(spec.layer_bytes),
                        ..Default::default()
                    };
                    runtime.set_container_stats(&id, figures).unwrap();
                }
                containers.push(id);
            }
            if pod.stopped {
                runtime.store.write(|s| {
                    s.sandboxes.get_mut(&sandbox).unwrap().phase = SandboxPhase::NotReady;
                });
            }
            sandboxes.push(sandbox);
        }
        (runtime, sandboxes, containers)
    }

    /// An id filter: empty, a prefix of one of `ids` (`pick` chooses which and how
    /// long), or an id of nothing.
    fn id_filter(ids: &[String], pick: Option<(usize, usize)>) -> String {
        match pick {
            None => String::new(),
            Some(_) if ids.is_empty() => "0123456789".to_owned(),
            Some((which, len)) => {
                let id = &ids[which % ids.len()];
                id[..1 + len % id.len()].to_owned()
            }
        }
    }

    /// A label selector on `key`: empty, or `key` = `prefix` + `value`.
    fn selector(key: &str, prefix: &str, value: Option<u8>) -> HashMap<String, String> {
        value
            .map(|v| (key.to_owned(), format!("{prefix}{v}")))
            .into_iter()
            .collect()
    }

    fn pods() -> impl Strategy<Value = Vec<PodSpec>> {
        let container = (0u8..3, 0u8..4, prop_oneof![Just(0u64), 1u64..1 << 40]).prop_map(
            |(tier, phase, layer_bytes)| ContainerSpec {
                tier,
                phase,
                layer_bytes,
            },
        );
        let pod = (
            0u8..3,
            any::<bool>(),
            prop::collection::vec(container, 0..4),
        )
            .prop_map(|(app, stopped, containers)| PodSpec {
                app,
                stopped,
                containers,
            });
        prop::collection::vec(pod, 0..6)
    }

    fn profile() -> impl Strategy<Value = Profile> {
        prop_oneof![Just(Profile::Containerd23), Just(Profile::Containerd16)]
    }

    /// A prefix choice: none, or which id and how long a prefix.
    fn pick() -> impl Strategy<Value = Option<(usize, usize)>> {
        prop::option::of((any::<usize>(), any::<usize>()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn encoded_container_list_decodes_to_the_same_containers_as_the_owned_list(
            profile in profile(),
            pods in pods(),
            id in pick(),
            sandbox in pick(),
            state in prop::option::of(0i32..5),
            tier in prop::option::of(0u8..3),
        ) {
            let (runtime, sandboxes, containers) = store(profile, &pods);
            let filter = ContainerFilter {
                id: id_filter(&containers, id),
                pod_sandbox_id: id_filter(&sandboxes, sandbox),
                state: state.map(|state| ContainerStateValue { state }),
                label_selector: selector("tier", "t", tier),
            };
            let owned = ListContainersResponse {
                containers: runtime.list_containers(Some(filter.clone())),
            };
            let encoded = runtime.encode_list_containers(Some(filter));
            prop_assert_eq!(encoded.len(), owned.encoded_len());
            prop_assert_eq!(ListContainersResponse::decode(encoded.to_bytes()).unwrap(), owned);
        }

        #[test]
        fn encoded_sandbox_list_decodes_to_the_same_sandboxes_as_the_owned_list(
            profile in profile(),
            pods in pods(),
            id in pick(),
            state in prop::option::of(0i32..3),
            app in prop::option::of(0u8..3),
        ) {
            let (runtime, sandboxes, _) = store(profile, &pods);
            let filter = PodSandboxFilter {
                id: id_filter(&sandboxes, id),
                state: state.map(|state| PodSandboxStateValue { state }),
                label_selector: selector("app", "a", app),
            };
            let owned = ListPodSandboxResponse {
                items: runtime.list_pod_sandbox(Some(filter.clone())),
            };
            let encoded = runtime.encode_list_pod_sandbox(Some(filter));
            prop_assert_eq!(encoded.len(), owned.encoded_len());
            prop_assert_eq!(ListPodSandboxResponse::decode(encoded.to_bytes()).unwrap(), owned);
        }

        #[test]
        fn encoded_stats_list_decodes_to_the_same_stats_as_the_owned_list_at_one_instant(
            profile in profile(),
            pods in pods(),
            id in pick(),
            sandbox in pick(),
            tier in prop::option::of(0u8..3),
            later in 0i64..1 << 50,
        ) {
            let (runtime, sandboxes, containers) = store(profile, &pods);
            let filter = ContainerStatsFilter {
                id: id_filter(&containers, id),
                pod_sandbox_id: id_filter(&sandboxes, sandbox),
                label_selector: selector("tier", "t", tier),
            };
            // The figures are a function of the clock: both lists read the same one.
            let now = now_ns() + later;
            let owned = ListContainerStatsResponse {
                stats: runtime.list_container_stats_at(Some(filter.clone()), now),
            };
            let encoded = runtime.encode_list_container_stats_at(Some(filter), now);
            prop_assert_eq!(encoded.len(), owned.encoded_len());
            prop_assert_eq!(ListContainerStatsResponse::decode(encoded.to_bytes()).unwrap(), owned);
        }
    }

    /// Two sandboxes of two containers each, one container running.
    fn small_store(profile: Profile) -> (Runtime, Vec<String>, Vec<String>) {
        let container = |phase| ContainerSpec {
            tier: 1,
            phase,
            layer_bytes: 0,
        };
        let pod = PodSpec {
            app: 1,
            stopped: false,
            containers: vec![container(0), container(2)],
        };
        store(profile, &[pod.clone(), pod])
    }

    #[test]
    fn a_list_longer_than_a_chunk_is_written_in_whole_items_and_decodes_to_the_owned_list() {
        let container = |phase| ContainerSpec {
            tier: 1,
            phase,
            layer_bytes: 7,
        };
        let pod = PodSpec {
            app: 2,
            stopped: false,
            // Created and running: all of them have stats.
            containers: [0, 2, 0, 2].map(container).to_vec(),
        };
        let (runtime, _, _) = store(Profile::default(), &vec![pod; 100]);
        let containers = runtime.encode_list_containers(None);
        assert!(containers.chunks().len() > 1, "{containers:?}");
        assert_eq!(
            containers.chunks().iter().map(Bytes::len).sum::<usize>(),
            containers.len()
        );
        for chunk in containers.chunks() {
            // Each chunk decodes alone: no item is split across two.
            let items = ListContainersResponse::decode(chunk.clone())
                .unwrap()
                .containers;
            assert!(!items.is_empty() && chunk.len() <= CHUNK_BYTES);
        }
        let decoded = ListContainersResponse::decode(containers.to_bytes()).unwrap();
        assert_eq!(decoded.containers, runtime.list_containers(None));
        let now = now_ns();
        let stats = runtime.encode_list_container_stats_at(None, now);
        assert!(stats.chunks().len() > 1);
        let decoded = ListContainerStatsResponse::decode(stats.to_bytes()).unwrap();
        assert_eq!(decoded.stats, runtime.list_container_stats_at(None, now));
    }

    #[test]
    fn encoded_lists_of_an_empty_store_are_empty_messages() {
        let (runtime, _, _) = store(Profile::default(), &[]);
        assert!(runtime.encode_list_containers(None).is_empty());
        assert!(runtime.encode_list_pod_sandbox(None).is_empty());
        assert!(runtime.encode_list_container_stats(None).is_empty());
    }

    #[test]
    fn encoded_lists_select_nothing_for_an_id_prefix_of_nothing() {
        let (runtime, _, _) = small_store(Profile::default());
        let nothing = || "no-such-id".to_owned();
        let containers = runtime.encode_list_containers(Some(ContainerFilter {
            id: nothing(),
            ..Default::default()
        }));
        let sandboxes = runtime.encode_list_pod_sandbox(Some(PodSandboxFilter {
            id: nothing(),
            ..Default::default()
        }));
        let stats = runtime.encode_list_container_stats(Some(ContainerStatsFilter {
            pod_sandbox_id: nothing(),
            ..Default::default()
        }));
        assert!(containers.is_empty() && sandboxes.is_empty() && stats.is_empty());
    }

    #[test]
    fn encoded_container_list_carries_image_id_only_where_the_profile_reports_it() {
        for (profile, reported) in [
            (Profile::Containerd23, true),
            (Profile::Containerd16, false),
        ] {
            let (runtime, _, _) = small_store(profile);
            let listed =
                ListContainersResponse::decode(runtime.encode_list_containers(None).to_bytes())
                    .unwrap()
                    .containers;
            assert_eq!(listed.len(), 4);
            for container in listed {
                assert!(!container.image_ref.is_empty());
                assert_eq!(container.image_id == container.image_ref, reported);
                assert_eq!(container.image_id.is_empty(), !reported);
            }
        }
    }

    #[test]
    fn encoded_lists_filter_by_state_like_the_owned_lists() {
        let (runtime, _, _) = small_store(Profile::default());
        let running = ContainerFilter {
            state: Some(ContainerStateValue {
                state: ContainerState::ContainerRunning as i32,
            }),
            ..Default::default()
        };
        let listed = ListContainersResponse::decode(
            runtime.encode_list_containers(Some(running)).to_bytes(),
        )
        .unwrap()
        .containers;
        assert_eq!(listed.len(), 2);
        let ready = PodSandboxFilter {
            state: Some(PodSandboxStateValue {
                state: PodSandboxState::SandboxReady as i32,
            }),
            ..Default::default()
        };
        let listed =
            ListPodSandboxResponse::decode(runtime.encode_list_pod_sandbox(Some(ready)).to_bytes())
                .unwrap()
                .items;
        assert_eq!(listed.len(), 2);
        // Stats cover created and running containers: all four.
        let stats = ListContainerStatsResponse::decode(
            runtime.encode_list_container_stats(None).to_bytes(),
        )
        .unwrap()
        .stats;
        assert_eq!(stats.len(), 4);
        assert_eq!(stats.iter().filter(|s| s.cpu.is_some()).count(), 2);
    }
}
