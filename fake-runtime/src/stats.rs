//! Container and sandbox stats and metrics: generated, self-consistent figures with
//! containerd's filters and errors (reference §9).
//!
//! The figures are a function of each container's running time:
//!
//! - CPU: a running container uses [`SIMULATED_NANO_CORES`] (1% of a core) unless a
//!   test sets another rate; `usage_core_nano_seconds` is the integral of the rate
//!   over the running time, so it only grows (also across rate changes);
//! - memory: a fixed simulated working set ([`SIMULATED_MEMORY_USAGE`]) unless set,
//!   always kept within the container's memory limit; `available_bytes` is the limit
//!   minus the working set (0 without a limit, as containerd reports it);
//! - timestamps are "now" (never zero);
//! - a sandbox's figures are the sums of its running containers', and its process
//!   count is the pause process plus the live simulated processes.
//!
//! Tests set per-container figures with
//! [`FakeRuntime::set_container_stats`](crate::FakeRuntime::set_container_stats):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::stats::StatsOverride;
//! # let fake = cri_fake::FakeRuntime::start().await.unwrap();
//! # let container_id = "no-such-container";
//! let busy = StatsOverride {
//!     cpu_nano_cores: Some(2_000_000_000), // two cores
//!     memory_working_set_bytes: Some(512 << 20),
//!     ..Default::default()
//! };
//! // Fails with containerd's not-found error for an unknown container.
//! assert!(fake.set_container_stats(container_id, busy).is_err());
//! # fake.shutdown().await;
//! # }
//! ```
//!
//! ListMetricDescriptors and ListPodSandboxMetrics follow newer containerd (the metric
//! names of cAdvisor; CPU values in nanoseconds, as containerd reports them); with
//! [`Profile::Containerd16`](crate::Profile::Containerd16) they are UNIMPLEMENTED.

use std::collections::HashMap;
use std::sync::Mutex;

use cri_proto::v1::{
    ContainerAttributes, ContainerMetrics, ContainerStats, ContainerStatsFilter,
    ContainerStatsResponse, CpuUsage, FilesystemIdentifier, FilesystemUsage, LinuxPodSandboxStats,
    MemoryUsage, Metric, MetricDescriptor, MetricType, PodSandboxAttributes, PodSandboxMetrics,
    PodSandboxStats, PodSandboxStatsFilter, ProcessUsage, UInt64Value,
};

use crate::builder::FakeRuntime;
pub use crate::container::SIMULATED_MEMORY_USAGE;
use crate::error::{CriError, ErrorCode};
use crate::profile::SandboxStatsFailure;
use crate::runtime::{Runtime, now_ns};
use crate::sandbox::labels_match;
use crate::state::{ContainerPhase, ContainerRecord, Inner, SandboxPhase, SandboxRecord};

/// Simulated CPU use of a running container, in nanocores (1% of a core).
pub const SIMULATED_NANO_CORES: u64 = 10_000_000;

/// Figures a test sets for one container's stats and metrics; `None` keeps the
/// generated figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsOverride {
    /// CPU use in nanocores (1 000 000 000 = one core) from now on; the cumulative
    /// counter keeps growing from its current value at this rate.
    pub cpu_nano_cores: Option<u64>,
    /// Working set bytes (capped at the memory limit).
    pub memory_working_set_bytes: Option<u64>,
    /// Usage bytes (at least the working set, capped at the memory limit).
    pub memory_usage_bytes: Option<u64>,
    /// RSS bytes (at most the usage).
    pub memory_rss_bytes: Option<u64>,
    /// Page faults.
    pub page_faults: Option<u64>,
    /// Major page faults.
    pub major_page_faults: Option<u64>,
    /// Bytes used by the writable layer.
    pub writable_layer_used_bytes: Option<u64>,
    /// Inodes used by the writable layer.
    pub writable_layer_inodes_used: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Account {
    figures: StatsOverride,
    /// `(since, nanocores)`: CPU rate changes, in time order.
    rates: Vec<(i64, u64)>,
}

impl Account {
    /// CPU nanoseconds used between `started_at` and `now`.
    fn cpu_ns(&self, started_at: i64, now: i64) -> u64 {
        let mut total: u128 = 0;
        let mut rate = SIMULATED_NANO_CORES;
        let mut from = started_at;
        for &(since, next) in &self.rates {
            if since > from {
                let until = since.min(now);
                total += u128::from(rate) * u128::try_from(until.saturating_sub(from)).unwrap_or(0);
                from = until;
            }
            rate = next;
        }
        total += u128::from(rate) * u128::try_from(now.saturating_sub(from)).unwrap_or(0);
        u64::try_from(total / 1_000_000_000).unwrap_or(u64::MAX)
    }

    fn rate(&self) -> u64 {
        self.rates.last().map_or(SIMULATED_NANO_CORES, |&(_, r)| r)
    }
}

/// Per-container stats overrides, by full container id.
#[derive(Debug, Default)]
pub struct StatsOverrides {
    accounts: Mutex<HashMap<String, Account>>,
}

impl StatsOverrides {
    fn account(&self, id: &str) -> Account {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    fn set(&self, id: &str, figures: StatsOverride, now: i64) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let account = accounts.entry(id.to_owned()).or_default();
        if let Some(rate) = figures.cpu_nano_cores {
            account.rates.push((now, rate));
        }
        account.figures = figures;
    }
}

fn value(v: u64) -> Option<UInt64Value> {
    Some(UInt64Value { value: v })
}

/// A container's generated figures at one instant.
struct Figures {
    cpu_ns: u64,
    nano_cores: u64,
    working_set: u64,
    usage: u64,
    rss: u64,
    available: u64,
    page_faults: u64,
    major_page_faults: u64,
    processes: u64,
}

impl Runtime {
    fn writable_layer(&self, account: &Account, now: i64) -> Option<FilesystemUsage> {
        Some(FilesystemUsage {
            timestamp: now,
            fs_id: Some(FilesystemIdentifier {
                mountpoint: format!(
                    "{}/io.containerd.snapshotter.v1.overlayfs",
                    self.settings.containerd_root
                ),
            }),
            used_bytes: value(account.figures.writable_layer_used_bytes.unwrap_or(0)),
            inodes_used: value(account.figures.writable_layer_inodes_used.unwrap_or(0)),
        })
    }

    fn figures(&self, record: &ContainerRecord, account: &Account, now: i64) -> Figures {
        let o = account.figures;
        let limit = u64::try_from(record.resources.memory_limit_in_bytes).unwrap_or(0);
        let cap = |v: u64| if limit > 0 { v.min(limit) } else { v };
        let default_usage = u64::try_from(SIMULATED_MEMORY_USAGE).unwrap_or(0);
        let working_set = cap(o.memory_working_set_bytes.unwrap_or(default_usage));
        let usage = cap(o.memory_usage_bytes.unwrap_or(working_set).max(working_set));
        let rss = o.memory_rss_bytes.unwrap_or(usage / 2).min(usage);
        let processes = record
            .process
            .as_ref()
            .map_or(0, |p| p.sim.processes().len() as u64);
        Figures {
            cpu_ns: account.cpu_ns(record.started_at, now),
            nano_cores: account.rate(),
            working_set,
            usage,
            rss,
            available: limit.saturating_sub(working_set),
            page_faults: o.page_faults.unwrap_or(1_000),
            major_page_faults: o.major_page_faults.unwrap_or(0),
            processes,
        }
    }

    fn stats_of(&self, record: &ContainerRecord, now: i64) -> ContainerStats {
        let account = self.toolkit.stats.account(&record.id);
        let attributes = Some(ContainerAttributes {
            id: record.id.clone(),
            metadata: record.config.metadata.clone(),
            labels: record.config.labels.clone(),
            annotations: record.config.annotations.clone(),
        });
        if record.phase != ContainerPhase::Running {
            return ContainerStats {
                attributes,
                writable_layer: self.writable_layer(&account, now),
                ..Default::default()
            };
        }
        let f = self.figures(record, &account, now);
        ContainerStats {
            attributes,
            cpu: Some(CpuUsage {
                timestamp: now,
                usage_core_nano_seconds: value(f.cpu_ns),
                usage_nano_cores: value(f.nano_cores),
            }),
            memory: Some(MemoryUsage {
                timestamp: now,
                working_set_bytes: value(f.working_set),
                available_bytes: value(f.available),
                usage_bytes: value(f.usage),
                rss_bytes: value(f.rss),
                page_faults: value(f.page_faults),
                major_page_faults: value(f.major_page_faults),
            }),
            writable_layer: self.writable_layer(&account, now),
            ..Default::default()
        }
    }

    /// Sets the figures of container `prefix`'s stats (see [`StatsOverride`]).
    pub fn set_container_stats(
        &self,
        prefix: &str,
        figures: StatsOverride,
    ) -> Result<(), CriError> {
        let id = self
            .store
            .read(|s| s.container_ids.resolve(prefix).map(str::to_owned))
            .map_err(|e| e.with_prefix(self.dialect(), "failed to find container"))?;
        self.toolkit.stats.set(&id, figures, now_ns());
        Ok(())
    }

    /// ContainerStats.
    pub fn container_stats(&self, prefix: &str) -> Result<ContainerStatsResponse, CriError> {
        let now = now_ns();
        self.store.read(|s| {
            let record = s
                .resolve_container(prefix)
                .map_err(|e| e.with_prefix(self.dialect(), "failed to find container"))?;
            if record.phase != ContainerPhase::Running {
                return Err(CriError::unknown("unexpected metrics response: []"));
            }
            Ok(ContainerStatsResponse {
                stats: Some(self.stats_of(record, now)),
            })
        })
    }

    /// ListContainerStats: created and running containers, filtered.
    pub fn list_container_stats(
        &self,
        filter: Option<ContainerStatsFilter>,
    ) -> Vec<ContainerStats> {
        let filter = filter.unwrap_or_default();
        let now = now_ns();
        self.store.read(|s| {
            let Some(id) = s.container_ids.resolve_filter(&filter.id) else {
                return Vec::new();
            };
            let Some(sandbox_id) = s.sandbox_ids.resolve_filter(&filter.pod_sandbox_id) else {
                return Vec::new();
            };
            s.containers
                .values()
                .filter(|r| matches!(r.phase, ContainerPhase::Created | ContainerPhase::Running))
                .filter(|r| id.is_none_or(|id| r.id == id))
                .filter(|r| sandbox_id.is_none_or(|sid| r.sandbox_id == sid))
                .filter(|r| labels_match(&r.config.labels, &filter.label_selector))
                .map(|r| self.stats_of(r, now))
                .collect()
        })
    }

    fn sandbox_stats_of(
        &self,
        s: &Inner,
        sandbox: &SandboxRecord,
        now: i64,
    ) -> Result<PodSandboxStats, SandboxStatsFailure> {
        if sandbox.phase != SandboxPhase::Ready {
            return Err(SandboxStatsFailure::NotReady);
        }
        let cgroup_parent = sandbox
            .config
            .linux
            .as_ref()
            .map(|l| l.cgroup_parent.as_str())
            .unwrap_or_default();
        if cgroup_parent.is_empty() {
            return Err(SandboxStatsFailure::NoCgroupPath);
        }
        let running: Vec<&ContainerRecord> = s
            .containers
            .values()
            .filter(|c| c.sandbox_id == sandbox.id && c.phase == ContainerPhase::Running)
            .collect();
        let processes: u64 = running
            .iter()
            .map(|c| {
                self.figures(c, &self.toolkit.stats.account(&c.id), now)
                    .processes
            })
            .sum();
        let containers: Vec<ContainerStats> =
            running.iter().map(|c| self.stats_of(c, now)).collect();
        let sum = |f: fn(&ContainerStats) -> u64| containers.iter().map(f).sum::<u64>();
        let cpu = sum(|c| {
            c.cpu
                .as_ref()
                .and_then(|u| u.usage_core_nano_seconds.as_ref())
                .map_or(0, |v| v.value)
        });
        let nano_cores = sum(|c| {
            c.cpu
                .as_ref()
                .and_then(|u| u.usage_nano_cores.as_ref())
                .map_or(0, |v| v.value)
        });
        let memory = sum(|c| {
            c.memory
                .as_ref()
                .and_then(|u| u.working_set_bytes.as_ref())
                .map_or(0, |v| v.value)
        });
        let usage = sum(|c| {
            c.memory
                .as_ref()
                .and_then(|u| u.usage_bytes.as_ref())
                .map_or(0, |v| v.value)
        });
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
                    usage_nano_cores: value(nano_cores),
                }),
                memory: Some(MemoryUsage {
                    timestamp: now,
                    working_set_bytes: value(memory),
                    usage_bytes: value(usage),
                    ..Default::default()
                }),
                process: Some(ProcessUsage {
                    timestamp: now,
                    process_count: value(1 + processes),
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
                e.with_prefix(
                    self.dialect(),
                    format!("an error occurred when trying to find sandbox {prefix}"),
                )
            })?;
            self.sandbox_stats_of(s, sandbox, now)
                .map_err(|failure| self.dialect().sandbox_stats_error(&sandbox.id, failure))
        })
    }

    /// ListPodSandboxStats: one failing sandbox fails an unfiltered call; with a
    /// filter, sandboxes that are not ready are skipped.
    pub fn list_pod_sandbox_stats(
        &self,
        filter: Option<PodSandboxStatsFilter>,
    ) -> Result<Vec<PodSandboxStats>, CriError> {
        let now = now_ns();
        self.store.read(|s| {
            let filtered = filter.is_some();
            let filter = filter.unwrap_or_default();
            let Some(id) = s.sandbox_ids.resolve_filter(&filter.id) else {
                return Ok(Vec::new());
            };
            let mut stats = Vec::new();
            for sandbox in s.sandboxes.values() {
                if id.is_some_and(|id| sandbox.id != id)
                    || !labels_match(&sandbox.config.labels, &filter.label_selector)
                    || (filtered && sandbox.phase != SandboxPhase::Ready)
                {
                    continue;
                }
                match self.sandbox_stats_of(s, sandbox, now) {
                    Ok(one) => stats.push(one),
                    Err(failure) => {
                        if let Some(error) = self
                            .dialect()
                            .sandbox_stats_list_error(&sandbox.id, failure)
                        {
                            return Err(error);
                        }
                    }
                }
            }
            Ok(stats)
        })
    }

    fn metrics_unimplemented(&self, method: &str) -> Result<(), CriError> {
        if !self.dialect().newer_rpcs {
            return Err(CriError::new(
                ErrorCode::Unimplemented,
                format!("unknown method {method} for service runtime.v1.RuntimeService"),
            ));
        }
        Ok(())
    }

    /// ListMetricDescriptors: the descriptors of every metric ListPodSandboxMetrics
    /// reports (UNIMPLEMENTED with the containerd 1.6 profile).
    pub fn list_metric_descriptors(&self) -> Result<Vec<MetricDescriptor>, CriError> {
        self.metrics_unimplemented("ListMetricDescriptors")?;
        Ok(METRICS
            .iter()
            .map(|m| MetricDescriptor {
                name: m.name.to_owned(),
                help: m.help.to_owned(),
                label_keys: vec!["id".to_owned(), "name".to_owned()],
            })
            .collect())
    }

    /// ListPodSandboxMetrics: for every ready sandbox, its metrics (labels: sandbox id
    /// and pod name) and those of its running containers (labels: container id and
    /// name), consistent with the stats (UNIMPLEMENTED with the containerd 1.6
    /// profile).
    pub fn list_pod_sandbox_metrics(&self) -> Result<Vec<PodSandboxMetrics>, CriError> {
        self.metrics_unimplemented("ListPodSandboxMetrics")?;
        let now = now_ns();
        Ok(self.store.read(|s| {
            let mut sandboxes: Vec<&SandboxRecord> = s
                .sandboxes
                .values()
                .filter(|sb| sb.phase == SandboxPhase::Ready)
                .collect();
            sandboxes.sort_by(|a, b| a.id.cmp(&b.id));
            sandboxes
                .into_iter()
                .map(|sandbox| {
                    let mut running: Vec<&ContainerRecord> = s
                        .containers
                        .values()
                        .filter(|c| {
                            c.sandbox_id == sandbox.id && c.phase == ContainerPhase::Running
                        })
                        .collect();
                    running.sort_by(|a, b| a.id.cmp(&b.id));
                    let figures: Vec<Figures> = running
                        .iter()
                        .map(|c| self.figures(c, &self.toolkit.stats.account(&c.id), now))
                        .collect();
                    let pod_name = sandbox
                        .config
                        .metadata
                        .as_ref()
                        .map(|m| m.name.clone())
                        .unwrap_or_default();
                    let total = Figures {
                        cpu_ns: figures.iter().map(|f| f.cpu_ns).sum(),
                        nano_cores: figures.iter().map(|f| f.nano_cores).sum(),
                        working_set: figures.iter().map(|f| f.working_set).sum(),
                        usage: figures.iter().map(|f| f.usage).sum(),
                        rss: figures.iter().map(|f| f.rss).sum(),
                        available: 0,
                        page_faults: figures.iter().map(|f| f.page_faults).sum(),
                        major_page_faults: figures.iter().map(|f| f.major_page_faults).sum(),
                        processes: 1 + figures.iter().map(|f| f.processes).sum::<u64>(),
                    };
                    PodSandboxMetrics {
                        pod_sandbox_id: sandbox.id.clone(),
                        metrics: metrics_of(&total, &[sandbox.id.clone(), pod_name], now),
                        container_metrics: running
                            .iter()
                            .zip(&figures)
                            .map(|(c, f)| ContainerMetrics {
                                container_id: c.id.clone(),
                                metrics: metrics_of(
                                    f,
                                    &[
                                        c.id.clone(),
                                        c.config
                                            .metadata
                                            .as_ref()
                                            .map(|m| m.name.clone())
                                            .unwrap_or_default(),
                                    ],
                                    now,
                                ),
                            })
                            .collect(),
                    }
                })
                .collect()
        }))
    }
}

struct MetricSpec {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    value: fn(&Figures) -> u64,
}

/// The metrics the fake reports (names and help texts of containerd's descriptors).
const METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "container_cpu_usage_seconds_total",
        help: "Cumulative CPU time consumed in seconds.",
        kind: MetricType::Counter,
        value: |f| f.cpu_ns,
    },
    MetricSpec {
        name: "container_cpu_user_seconds_total",
        help: "Cumulative user CPU time consumed in seconds.",
        kind: MetricType::Counter,
        value: |f| f.cpu_ns / 10 * 9,
    },
    MetricSpec {
        name: "container_cpu_system_seconds_total",
        help: "Cumulative system CPU time consumed in seconds.",
        kind: MetricType::Counter,
        value: |f| f.cpu_ns - f.cpu_ns / 10 * 9,
    },
    MetricSpec {
        name: "container_memory_usage_bytes",
        help: "Current memory usage in bytes, including all memory regardless of when it was accessed",
        kind: MetricType::Gauge,
        value: |f| f.usage,
    },
    MetricSpec {
        name: "container_memory_working_set_bytes",
        help: "Current working set in bytes.",
        kind: MetricType::Gauge,
        value: |f| f.working_set,
    },
    MetricSpec {
        name: "container_memory_rss",
        help: "Size of RSS in bytes.",
        kind: MetricType::Gauge,
        value: |f| f.rss,
    },
    MetricSpec {
        name: "container_memory_failures_total",
        help: "Cumulative count of memory allocation failures.",
        kind: MetricType::Counter,
        value: |f| f.page_faults + f.major_page_faults,
    },
    MetricSpec {
        name: "container_processes",
        help: "Number of processes running inside the container.",
        kind: MetricType::Gauge,
        value: |f| f.processes,
    },
];

fn metrics_of(figures: &Figures, labels: &[String], now: i64) -> Vec<Metric> {
    METRICS
        .iter()
        .map(|m| Metric {
            name: m.name.to_owned(),
            timestamp: now,
            metric_type: m.kind as i32,
            label_values: labels.to_vec(),
            value: value((m.value)(figures)),
        })
        .collect()
}

impl FakeRuntime {
    /// Sets the figures of a container's stats and metrics (full id or unique prefix);
    /// fails like ContainerStats for an unknown container.
    pub fn set_container_stats(
        &self,
        container: &str,
        figures: StatsOverride,
    ) -> Result<(), CriError> {
        self.runtime().set_container_stats(container, figures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_integrates_the_rate_and_never_decreases_across_changes() {
        let s = 1_000_000_000i64;
        let mut account = Account::default();
        // 1% of a core for 10 s: 100 ms.
        assert_eq!(account.cpu_ns(0, 10 * s), 100_000_000);
        account.rates.push((10 * s, 2_000_000_000));
        // Then two cores for 5 s: +10 s.
        assert_eq!(account.cpu_ns(0, 15 * s), 10_100_000_000);
        account.rates.push((15 * s, 0));
        assert_eq!(account.cpu_ns(0, 100 * s), 10_100_000_000);
        // A container started after the changes runs at the latest rate only.
        assert_eq!(account.cpu_ns(20 * s, 30 * s), 0);
        assert_eq!(account.rate(), 0);
    }
}
