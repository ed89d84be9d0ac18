//! Configs shared by the benchmarks, from the crate's own fixtures.

use cri_fake::fixtures;
use cri_proto::v1::{ContainerConfig, PodSandboxConfig};

/// A host-network pod config named `name` (uid `name`, namespace `bench`).
pub(crate) fn pod_config(name: &str) -> PodSandboxConfig {
    fixtures::pod(name).uid(name).namespace("bench").build()
}

/// A busybox container config running `command`.
pub(crate) fn container_config(name: &str, command: &[&str]) -> ContainerConfig {
    fixtures::container(name)
        .image("busybox:1.36")
        .command(command.iter().copied())
        .build()
}

/// The scale rows' sandbox config `n` (labelled with one of 100 groups).
#[allow(dead_code)] // used by the perf and memory benches only
pub(crate) fn scale_pod(n: u64) -> PodSandboxConfig {
    let mut config = pod_config(&format!("s{n}"));
    config
        .labels
        .insert("group".into(), format!("g{}", n % 100));
    config
}

/// The scale rows' container config `i` of sandbox `n` (labelled with its index and
/// its sandbox's group).
#[allow(dead_code)] // used by the perf and memory benches only
pub(crate) fn scale_container(n: u64, i: usize) -> ContainerConfig {
    let mut container = container_config(&format!("c{i}"), &["sleep", "1"]);
    container.labels.insert("index".into(), i.to_string());
    container
        .labels
        .insert("group".into(), format!("g{}", n % 100));
    container
}
