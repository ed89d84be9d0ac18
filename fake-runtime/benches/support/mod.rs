//! Configs shared by the benchmarks, from the crate's own fixtures.

use cri_fake::fixtures;
use cri_proto::v1::{ContainerConfig, PodSandboxConfig};

/// A host-network pod config named `name` (uid `name`, namespace `bench`).
pub fn pod_config(name: &str) -> PodSandboxConfig {
    fixtures::pod(name).uid(name).namespace("bench").build()
}

/// A busybox container config running `command`.
pub fn container_config(name: &str, command: &[&str]) -> ContainerConfig {
    fixtures::container(name)
        .image("busybox:1.36")
        .command(command.iter().copied())
        .build()
}
