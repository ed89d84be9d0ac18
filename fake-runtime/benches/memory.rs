//! What the fake's memory is made of: live heap bytes per sandbox and per created
//! container (as the scale row of `perf` creates them), measured with a counting
//! global allocator, and a breakdown of what one container record keeps.
//!
//! Run with `cargo bench -p cri-fake --bench memory`. `MEMORY_PODS` sets the number of
//! sandboxes (default 2,000; 5 containers each). Nothing is asserted; the figures are
//! bytes counted by the allocator, not RSS (RSS adds the allocator's own overhead and
//! fragmentation, which the `scale` row of `perf` shows).

#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

mod support;

use cri_fake::FakeRuntime;
use cri_proto::v1::*;
use support::{scale_container, scale_pod};

/// The system allocator, counting live bytes and allocations.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's arguments.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Live bytes `f`'s result holds (what it allocated and did not free).
fn held<R>(f: impl FnOnce() -> R) -> (R, isize) {
    let before = live();
    let r = f();
    (r, live() - before)
}

fn main() {
    let pods: u64 = std::env::var("MEMORY_PODS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let containers = 5usize;
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Direct calls on the Runtime: the store alone, no journal.
    let fake = rt.block_on(FakeRuntime::start()).unwrap();
    let runtime = fake.runtime().clone();
    let mut sandbox_bytes = 0;
    let mut container_bytes = 0;
    for n in 0..pods {
        let config = scale_pod(n);
        let (pod, bytes) = held(|| {
            runtime
                .run_pod_sandbox(Some(config.clone()), String::new())
                .unwrap()
        });
        sandbox_bytes += bytes;
        for i in 0..containers {
            let container = scale_container(n, i);
            let (_, bytes) = held(|| {
                runtime
                    .create_container(&pod, Some(container), Some(config.clone()))
                    .unwrap()
            });
            container_bytes += bytes;
        }
    }
    let total_containers = pods as isize * containers as isize;
    println!(
        "store (direct calls, {pods} sandboxes x {containers} containers): {} B per sandbox, {} B per container",
        sandbox_bytes / pods as isize,
        container_bytes / total_containers
    );

    // What one container record keeps, by part (heap bytes of a clone of each part,
    // plus the record's own size).
    let record = fake.inspect(|s| s.containers.values().next().unwrap().as_ref().clone());
    let (_, config) = held(|| record.config.clone());
    let (_, spec) = held(|| record.spec_process.clone());
    let (_, resources) = held(|| record.resources.clone());
    let strings = [
        &record.id,
        &record.sandbox_id,
        &record.reserved_name,
        &record.image_requested,
        &record.image_id,
        &record.stop_signal,
        &record.log_path,
    ]
    .iter()
    .map(|s| s.capacity())
    .sum::<usize>();
    println!(
        "one container record: struct {} B (boxed), config {config} B, spec process {spec} B (args {}, env {} entries), resources {resources} B, strings {strings} B",
        std::mem::size_of_val(&record),
        record.spec_process.args.len(),
        record.spec_process.env.len(),
    );
    println!(
        "in-memory sizes: ContainerConfig {} B (linux {} B, windows {} B), LinuxContainerResources {} B, PodSandboxConfig {} B, ContainerStatus {} B, PodSandboxStatus {} B",
        std::mem::size_of::<ContainerConfig>(),
        std::mem::size_of::<LinuxContainerConfig>(),
        std::mem::size_of::<WindowsContainerConfig>(),
        std::mem::size_of::<LinuxContainerResources>(),
        std::mem::size_of::<PodSandboxConfig>(),
        std::mem::size_of::<ContainerStatus>(),
        std::mem::size_of::<PodSandboxStatus>(),
    );
    println!(
        "indexes per container: id index + name registry + sandbox's container set (the rest of the per-container figure)"
    );
    drop(record);
    rt.block_on(fake.shutdown());

    // Through gRPC: the same workload plus the journal and the transport.
    let fake = rt.block_on(FakeRuntime::start()).unwrap();
    let before = live();
    let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
    rt.block_on(async {
        let mut c = fake.runtime_client();
        for n in 0..pods {
            let config = scale_pod(n);
            let pod = c
                .run_pod_sandbox(RunPodSandboxRequest {
                    config: Some(config.clone()),
                    runtime_handler: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .pod_sandbox_id;
            for i in 0..containers {
                c.create_container(CreateContainerRequest {
                    pod_sandbox_id: pod.clone(),
                    config: Some(scale_container(n, i)),
                    sandbox_config: Some(config.clone()),
                })
                .await
                .unwrap();
            }
        }
    });
    let grpc = live() - before;
    let calls = pods as isize * (1 + containers as isize);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
    let (_, journal) = held(|| fake.journal().clear());
    println!(
        "through gRPC: {} B per container held in all ({} calls kept: the journal holds {} B per call); {:.0} allocations per call (client and server)",
        grpc / total_containers,
        calls,
        -journal / calls,
        allocations as f64 / calls as f64,
    );
    rt.block_on(fake.shutdown());
}
