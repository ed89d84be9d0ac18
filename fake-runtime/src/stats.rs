//! Container and sandbox stats: generated, self-consistent figures with containerd's
//! filters and errors (reference §9).
//!
//! The figures are a function of the container's running time: CPU usage grows at a
//! steady 1% of a core while it runs (so counters only grow), memory is a fixed
//! simulated working set, kept within the memory limit.

use cri_proto::v1::{
    ContainerAttributes, ContainerStats, ContainerStatsFilter, ContainerStatsResponse, CpuUsage,
    FilesystemIdentifier, FilesystemUsage, LinuxPodSandboxStats, MemoryUsage, PodSandboxAttributes,
    PodSandboxStats, PodSandboxStatsFilter, ProcessUsage, UInt64Value,
};

use crate::container::SIMULATED_MEMORY_USAGE;
use crate::error::{CriError, LookupError};
use crate::runtime::{Runtime, now_ns};
use crate::sandbox::labels_match;
use crate::state::{ContainerPhase, ContainerRecord, Inner, SandboxPhase, SandboxRecord};

/// Simulated CPU use of a running container, in nanocores (1% of a core).
const SIMULATED_NANO_CORES: i64 = 10_000_000;

fn value(v: u64) -> Option<UInt64Value> {
    Some(UInt64Value { value: v })
}

impl Runtime {
    fn writable_layer(&self, now: i64) -> Option<FilesystemUsage> {
        Some(FilesystemUsage {
            timestamp: now,
            fs_id: Some(FilesystemIdentifier {
                mountpoint: format!("{}/io.containerd.snapshotter.v1.overlayfs", self.settings.containerd_root),
            }),
            used_bytes: value(0),
            inodes_used: value(0),
        })
    }

    fn stats_of(&self, record: &ContainerRecord, now: i64) -> ContainerStats {
        let running = record.phase == ContainerPhase::Running;
        let attributes = Some(ContainerAttributes {
            id: record.id.clone(),
            metadata: record.config.metadata.clone(),
            labels: record.config.labels.clone(),
            annotations: record.config.annotations.clone(),
        });
        if !running {
            return ContainerStats {
                attributes,
                writable_layer: self.writable_layer(now),
                ..Default::default()
            };
        }
        let elapsed = u64::try_from(now.saturating_sub(record.started_at)).unwrap_or(0);
        let cpu_ns = elapsed / 100;
        let usage = u64::try_from(SIMULATED_MEMORY_USAGE).unwrap_or(0);
        let limit = u64::try_from(record.resources.memory_limit_in_bytes).unwrap_or(0);
        ContainerStats {
            attributes,
            cpu: Some(CpuUsage {
                timestamp: now,
                usage_core_nano_seconds: value(cpu_ns),
                usage_nano_cores: value(u64::try_from(SIMULATED_NANO_CORES).unwrap_or(0)),
            }),
            memory: Some(MemoryUsage {
                timestamp: now,
                working_set_bytes: value(usage),
                available_bytes: value(limit.saturating_sub(usage)),
                usage_bytes: value(usage),
                rss_bytes: value(usage / 2),
                page_faults: value(1_000),
                major_page_faults: value(0),
            }),
            writable_layer: self.writable_layer(now),
            ..Default::default()
        }
    }

    /// ContainerStats.
    pub fn container_stats(&self, prefix: &str) -> Result<ContainerStatsResponse, CriError> {
        let now = now_ns();
        self.store.read(|s| {
            let record = s
                .resolve_container(prefix)
                .map_err(|e| e.with_prefix("failed to find container"))?;
            if record.phase != ContainerPhase::Running {
                return Err(CriError::unknown("unexpected metrics response: []"));
            }
            Ok(ContainerStatsResponse {
                stats: Some(self.stats_of(record, now)),
            })
        })
    }

    /// ListContainerStats: created and running containers, filtered.
    pub fn list_container_stats(&self, filter: Option<ContainerStatsFilter>) -> Vec<ContainerStats> {
        let filter = filter.unwrap_or_default();
        let now = now_ns();
        self.store.read(|s| {
            let Some(id) = resolve_filter(&s.container_ids, &filter.id) else {
                return Vec::new();
            };
            let Some(sandbox_id) = resolve_filter(&s.sandbox_ids, &filter.pod_sandbox_id) else {
                return Vec::new();
            };
            s.containers
                .values()
                .filter(|r| matches!(r.phase, ContainerPhase::Created | ContainerPhase::Running))
                .filter(|r| id.as_deref().is_none_or(|id| r.id == id))
                .filter(|r| sandbox_id.as_deref().is_none_or(|sid| r.sandbox_id == sid))
                .filter(|r| labels_match(&r.config.labels, &filter.label_selector))
                .map(|r| self.stats_of(r, now))
                .collect()
        })
    }

    fn sandbox_stats_of(&self, s: &Inner, sandbox: &SandboxRecord, now: i64) -> Result<PodSandboxStats, CriError> {
        if sandbox.phase != SandboxPhase::Ready {
            return Err(CriError::unknown(format!(
                "failed to decode pod sandbox metrics {id}: failed to get pod sandbox stats since sandbox container \"{id}\" is not in ready state",
                id = sandbox.id
            )));
        }
        let cgroup_parent = sandbox.config.linux.as_ref().map(|l| l.cgroup_parent.as_str()).unwrap_or_default();
        if cgroup_parent.is_empty() {
            return Err(CriError::unknown(format!(
                "failed getting metrics for sandbox {id}: failed to get cgroup metrics for sandbox {id} because cgroupPath is empty",
                id = sandbox.id
            )));
        }
        let containers: Vec<ContainerStats> = s
            .containers
            .values()
            .filter(|c| c.sandbox_id == sandbox.id && c.phase == ContainerPhase::Running)
            .map(|c| self.stats_of(c, now))
            .collect();
        let sum = |f: fn(&ContainerStats) -> u64| containers.iter().map(f).sum::<u64>();
        let cpu = sum(|c| c.cpu.as_ref().and_then(|u| u.usage_core_nano_seconds.as_ref()).map_or(0, |v| v.value));
        let memory = sum(|c| c.memory.as_ref().and_then(|u| u.working_set_bytes.as_ref()).map_or(0, |v| v.value));
        Ok(PodSandboxStats {
            attributes: Some(PodSandboxAttributes {
                id: sandbox.id.clone(),
                metadata: sandbox.config.metadata.clone(),
                labels: sandbox.config.labels.clone(),
                annotations: sandbox.config.annotations.clone(),
            }),
            linux: Some(LinuxPodSandboxStats {
                cpu: Some(CpuUsage {
                    timestamp: now,
                    usage_core_nano_seconds: value(cpu),
                    usage_nano_cores: value(0),
                }),
                memory: Some(MemoryUsage {
                    timestamp: now,
                    working_set_bytes: value(memory),
                    usage_bytes: value(memory),
                    ..Default::default()
                }),
                process: Some(ProcessUsage {
                    timestamp: now,
                    process_count: value(1 + containers.len() as u64),
                }),
                containers,
                ..Default::default()
            }),
            windows: None,
        })
    }

    /// PodSandboxStats: needs `linux.cgroup_parent`, like containerd.
    pub fn pod_sandbox_stats(&self, prefix: &str) -> Result<PodSandboxStats, CriError> {
        let now = now_ns();
        self.store.read(|s| {
            let sandbox = s.resolve_sandbox(prefix).map_err(|e| {
                e.with_prefix(format!("an error occurred when trying to find sandbox {prefix}"))
            })?;
            self.sandbox_stats_of(s, sandbox, now)
        })
    }

    /// ListPodSandboxStats: one failing sandbox fails an unfiltered call; with a
    /// filter, sandboxes that are not ready are skipped.
    pub fn list_pod_sandbox_stats(&self, filter: Option<PodSandboxStatsFilter>) -> Result<Vec<PodSandboxStats>, CriError> {
        let now = now_ns();
        self.store.read(|s| {
            let filtered = filter.is_some();
            let filter = filter.unwrap_or_default();
            let Some(id) = resolve_filter(&s.sandbox_ids, &filter.id) else {
                return Ok(Vec::new());
            };
            let mut stats = Vec::new();
            for sandbox in s.sandboxes.values() {
                if id.as_deref().is_some_and(|id| sandbox.id != id)
                    || !labels_match(&sandbox.config.labels, &filter.label_selector)
                    || (filtered && sandbox.phase != SandboxPhase::Ready)
                {
                    continue;
                }
                let one = self.sandbox_stats_of(s, sandbox, now).map_err(|e| {
                    CriError::unknown(format!("failed to obtain metrics for sandbox \"{}\": {}", sandbox.id, e.message().split_once(": ").map_or(e.message(), |(_, rest)| rest)))
                })?;
                stats.push(one);
            }
            Ok(stats)
        })
    }
}

/// `Some(None)`: no id filter; `Some(Some(id))`: the resolved id; `None`: nothing matches.
fn resolve_filter(index: &crate::state::IdIndex, prefix: &str) -> Option<Option<String>> {
    if prefix.is_empty() {
        return Some(None);
    }
    match index.resolve(prefix) {
        Ok(id) => Some(Some(id.to_owned())),
        Err(LookupError::NotFound | LookupError::Ambiguous(_) | LookupError::Empty) => None,
    }
}
