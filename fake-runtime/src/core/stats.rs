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
//! ListMetricDescriptors and ListPodSandboxMetrics answer like containerd 2.3.4 on the
//! reference machine (cgroup v1): the 49 descriptors of [`METRICS`], and for every ready
//! sandbox whose containers all run, its eth0 counters (none with the host network) and
//! each container's series in containerd's order, with the figures of its stats (CPU in
//! whole seconds, as containerd truncates them) and constants for what the stats do not
//! cover (filesystem size and free inodes, kernel memory, ...). A sandbox with a created
//! or exited container is left out, as containerd fails to get that container's task.
//! With [`Profile::Containerd16`](crate::Profile::Containerd16) both are UNIMPLEMENTED.

use std::collections::HashMap;
use std::sync::Mutex;

use MetricType::{Counter, Gauge};
use cri_proto::v1::{
    ContainerAttributes, ContainerMetrics, ContainerStats, ContainerStatsFilter,
    ContainerStatsResponse, CpuUsage, FilesystemIdentifier, FilesystemUsage,
    LinuxContainerResources, LinuxPodSandboxStats, MemoryUsage, Metric, MetricDescriptor,
    MetricType, PodSandboxAttributes, PodSandboxMetrics, PodSandboxStats, PodSandboxStatsFilter,
    ProcessUsage, UInt64Value,
};

use crate::core::container::ContainerSelection;
pub use crate::core::container::{SIMULATED_MEMORY_USAGE, SIMULATED_PEAK_MEMORY_USAGE};
use crate::core::error::{CriError, ErrorCode};
use crate::core::profile::SandboxStatsFailure;
use crate::core::runtime::{Runtime, now_ns};
use crate::core::sandbox::labels_match;
use crate::core::state::{ContainerPhase, ContainerRecord, Inner, SandboxPhase, SandboxRecord};

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

    /// Runs `f` with a lookup of the accounts, under one lock (for a list of many).
    fn with_accounts<R>(&self, f: impl FnOnce(&HashMap<String, Account>) -> R) -> R {
        f(&self.accounts.lock().unwrap_or_else(|p| p.into_inner()))
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

/// The parts of a container's stats that are not borrowed from its record: what the
/// owned [`ContainerStats`] and the [encoded list](crate::core::list_encode) both hold.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StatsFigures {
    /// CPU use (`None` unless running).
    pub(crate) cpu: Option<CpuUsage>,
    /// Memory use (`None` unless running).
    pub(crate) memory: Option<MemoryUsage>,
    /// Bytes used by the writable layer.
    pub(crate) writable_layer_used_bytes: u64,
    /// Inodes used by the writable layer.
    pub(crate) writable_layer_inodes_used: u64,
}

impl Runtime {
    /// Where every writable layer is: containerd's overlayfs snapshotter directory.
    pub(crate) fn writable_layer_mountpoint(&self) -> String {
        format!(
            "{}/io.containerd.snapshotter.v1.overlayfs",
            self.settings.containerd_root
        )
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

    /// Runs `f` with the figures of a container's stats at `now` (`figures(record)`),
    /// the overrides locked once for all the containers `f` asks about.
    pub(crate) fn with_stats_figures<R>(
        &self,
        now: i64,
        f: impl FnOnce(&dyn Fn(&ContainerRecord) -> StatsFigures) -> R,
    ) -> R {
        let none = Account::default();
        self.stats_overrides.with_accounts(|accounts| {
            f(&|record| {
                let account = accounts.get(&record.id).unwrap_or(&none);
                self.stats_figures(record, account, now)
            })
        })
    }

    /// The figures of `record`'s stats at `now`, with its `account`.
    fn stats_figures(&self, record: &ContainerRecord, account: &Account, now: i64) -> StatsFigures {
        let (cpu, memory) = if record.phase == ContainerPhase::Running {
            let f = self.figures(record, account, now);
            (
                Some(CpuUsage {
                    timestamp: now,
                    usage_core_nano_seconds: value(f.cpu_ns),
                    usage_nano_cores: value(f.nano_cores),
                }),
                Some(MemoryUsage {
                    timestamp: now,
                    working_set_bytes: value(f.working_set),
                    available_bytes: value(f.available),
                    usage_bytes: value(f.usage),
                    rss_bytes: value(f.rss),
                    page_faults: value(f.page_faults),
                    major_page_faults: value(f.major_page_faults),
                }),
            )
        } else {
            (None, None)
        };
        StatsFigures {
            cpu,
            memory,
            writable_layer_used_bytes: account.figures.writable_layer_used_bytes.unwrap_or(0),
            writable_layer_inodes_used: account.figures.writable_layer_inodes_used.unwrap_or(0),
        }
    }

    /// `record`'s stats at `now`, owned (ContainerStats, ListContainerStats' items,
    /// a sandbox's containers).
    fn stats_of(&self, record: &ContainerRecord, now: i64) -> ContainerStats {
        let figures = self.stats_figures(record, &self.stats_overrides.account(&record.id), now);
        ContainerStats {
            attributes: Some(ContainerAttributes {
                id: record.id.clone(),
                metadata: record.config.metadata.clone(),
                labels: record.config.labels.clone(),
                annotations: record.config.annotations.clone(),
            }),
            cpu: figures.cpu,
            memory: figures.memory,
            writable_layer: Some(FilesystemUsage {
                timestamp: now,
                fs_id: Some(FilesystemIdentifier {
                    mountpoint: self.writable_layer_mountpoint(),
                }),
                used_bytes: value(figures.writable_layer_used_bytes),
                inodes_used: value(figures.writable_layer_inodes_used),
            }),
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
        self.stats_overrides.set(&id, figures, now_ns());
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
        self.list_container_stats_at(filter, now_ns())
    }

    /// [`list_container_stats`](Self::list_container_stats) with the clock at `now`.
    pub(crate) fn list_container_stats_at(
        &self,
        filter: Option<ContainerStatsFilter>,
        now: i64,
    ) -> Vec<ContainerStats> {
        let filter = filter.unwrap_or_default();
        let selection = ContainerSelection::stats(&filter);
        self.store.read(|s| {
            let mut items = Vec::new();
            selection.each(s, |r| items.push(self.stats_of(r, now)));
            items
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
        let cgroup_parent = sandbox.config.cgroup_parent.as_str();
        if cgroup_parent.is_empty() {
            return Err(SandboxStatsFailure::NoCgroupPath);
        }
        let running: Vec<&ContainerRecord> = s
            .container_records_of(&sandbox.id)
            .filter(|c| c.phase == ContainerPhase::Running)
            .collect();
        let processes: u64 = running
            .iter()
            .map(|c| {
                self.figures(c, &self.stats_overrides.account(&c.id), now)
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

    /// ListMetricDescriptors: containerd 2.3's 49 descriptors ([`METRICS`]) in its order,
    /// also those of metrics ListPodSandboxMetrics never reports (UNIMPLEMENTED with the
    /// containerd 1.6 profile).
    pub fn list_metric_descriptors(&self) -> Result<Vec<MetricDescriptor>, CriError> {
        self.metrics_unimplemented("ListMetricDescriptors")?;
        Ok(METRICS
            .iter()
            .map(|d| MetricDescriptor {
                name: d.name.to_owned(),
                help: d.help.to_owned(),
                label_keys: d.label_keys.iter().map(|&k| k.to_owned()).collect(),
            })
            .collect())
    }

    /// ListPodSandboxMetrics: one entry per ready sandbox whose containers all run, like
    /// containerd 2.3 (a created or exited container has no task, which leaves its whole
    /// sandbox out); UNIMPLEMENTED with the containerd 1.6 profile.
    ///
    /// A sandbox's own metrics are the eth0 network counters of its network namespace
    /// (none for a host-network sandbox); each container reports containerd's series with
    /// the values of its stats, labelled pod name, pod namespace, container name,
    /// container id and the user-specified image (then each series' own labels).
    pub fn list_pod_sandbox_metrics(&self) -> Result<Vec<PodSandboxMetrics>, CriError> {
        self.metrics_unimplemented("ListPodSandboxMetrics")?;
        let now = now_ns();
        Ok(self.store.read(|s| {
            let mut sandboxes: Vec<&SandboxRecord> = s
                .sandboxes
                .values()
                .map(|sb| &**sb)
                .filter(|sb| sb.phase == SandboxPhase::Ready)
                .collect();
            sandboxes.sort_by(|a, b| a.id.cmp(&b.id));
            sandboxes
                .into_iter()
                .filter_map(|sandbox| self.sandbox_metrics(s, sandbox, now))
                .collect()
        }))
    }

    /// A ready sandbox's metrics; `None` when one of its containers is not running.
    fn sandbox_metrics(
        &self,
        s: &Inner,
        sandbox: &SandboxRecord,
        now: i64,
    ) -> Option<PodSandboxMetrics> {
        let mut containers: Vec<&ContainerRecord> = s.container_records_of(&sandbox.id).collect();
        if containers
            .iter()
            .any(|c| c.phase != ContainerPhase::Running)
        {
            return None;
        }
        containers.sort_by(|a, b| a.id.cmp(&b.id));
        let metadata = sandbox.config.metadata.clone().unwrap_or_default();
        let pod = [metadata.name, metadata.namespace];
        let metrics = if sandbox.config.uses_host_network() {
            Vec::new()
        } else {
            // Container and image are empty for pod-level metrics; id is the sandbox's.
            let labels = [
                pod[0].clone(),
                pod[1].clone(),
                String::new(),
                sandbox.id.clone(),
                String::new(),
                POD_INTERFACE.to_owned(),
            ];
            POD_NETWORK_SERIES
                .iter()
                .map(|&name| Metric {
                    name: name.to_owned(),
                    timestamp: now,
                    metric_type: MetricType::Counter as i32,
                    label_values: labels.to_vec(),
                    value: value(0),
                })
                .collect()
        };
        Some(PodSandboxMetrics {
            pod_sandbox_id: sandbox.id.clone(),
            metrics,
            container_metrics: containers
                .iter()
                .map(|c| ContainerMetrics {
                    container_id: c.id.clone(),
                    metrics: self.container_metrics(c, &pod, now),
                })
                .collect(),
        })
    }

    fn container_metrics(
        &self,
        record: &ContainerRecord,
        pod: &[String; 2],
        now: i64,
    ) -> Vec<Metric> {
        let sample = self.sample(record, now);
        let config = &record.config;
        let mut labels = pod.to_vec();
        labels.push(
            config
                .metadata
                .as_ref()
                .map(|m| m.name.clone())
                .unwrap_or_default(),
        );
        labels.push(record.id.clone());
        labels.push(
            config
                .image()
                .map(|i| i.user_specified_image)
                .unwrap_or_default(),
        );
        CONTAINER_SERIES
            .iter()
            .filter_map(|series| {
                let v = (series.value)(&sample)?;
                let mut label_values = labels.clone();
                label_values.extend(series.extra_labels.iter().map(|&l| l.to_owned()));
                Some(Metric {
                    name: series.name.to_owned(),
                    timestamp: now,
                    metric_type: series.kind as i32,
                    label_values,
                    value: value(v),
                })
            })
            .collect()
    }

    /// A running container's metric values: its stats' [`Figures`] plus what only the
    /// metrics report.
    fn sample(&self, record: &ContainerRecord, now: i64) -> Sample {
        let account = self.stats_overrides.account(&record.id);
        let f = self.figures(record, &account, now);
        let r = &record.resources;
        let limit = u64::try_from(r.memory_limit_in_bytes).unwrap_or(0);
        let peak = u64::try_from(SIMULATED_PEAK_MEMORY_USAGE)
            .unwrap_or(0)
            .max(f.usage);
        let (cfs_periods, cfs_throttled_periods, cfs_throttled_ns) = cfs(
            r,
            f.cpu_ns,
            f.nano_cores,
            now.saturating_sub(record.started_at),
        );
        // containerd converts the spec's int64 fields with uint64(); 0 means unset.
        let set = |v: i64| (v != 0).then_some(v as u64);
        let user_ns = f.cpu_ns / 10 * 9;
        Sample {
            last_seen: u64::try_from(now / 1_000_000_000).unwrap_or(0),
            started_at: u64::try_from(record.started_at).unwrap_or(0),
            cpu_ns: f.cpu_ns,
            cpu_user_ns: user_ns,
            cpu_system_ns: f.cpu_ns - user_ns,
            cfs_periods,
            cfs_throttled_periods,
            cfs_throttled_ns,
            usage: f.usage,
            working_set: f.working_set,
            max_usage: if limit > 0 { peak.min(limit) } else { peak },
            rss: f.rss,
            inactive_file: f.usage.saturating_sub(f.working_set),
            page_faults: f.page_faults,
            major_page_faults: f.major_page_faults,
            kernel: SIMULATED_KERNEL_MEMORY.min(f.usage),
            fs_used: account
                .figures
                .writable_layer_used_bytes
                .unwrap_or(FRESH_WRITABLE_LAYER_BYTES),
            fs_inodes_used: account
                .figures
                .writable_layer_inodes_used
                .unwrap_or(FRESH_WRITABLE_LAYER_INODES),
            processes: f.processes,
            spec_cpu_period: set(r.cpu_period),
            spec_cpu_shares: set(r.cpu_shares),
            spec_memory_limit: set(r.memory_limit_in_bytes),
            spec_memory_swap_limit: set(r.memory_swap_limit_in_bytes),
        }
    }
}

/// The CFS counters `(periods, throttled periods, throttled ns)` of a container that
/// used `cpu_ns` at `nano_cores` over `running_ns` under `resources`' CPU quota: the
/// periods it needed to run (at most the elapsed ones), all throttled while its rate
/// exceeds the quota. Zeros without a quota, as the kernel counts them.
fn cfs(
    resources: &LinuxContainerResources,
    cpu_ns: u64,
    nano_cores: u64,
    running_ns: i64,
) -> (u64, u64, u64) {
    let quota_us = u128::try_from(resources.cpu_quota).unwrap_or(0);
    if quota_us == 0 {
        return (0, 0, 0);
    }
    let period_us = u128::try_from(resources.cpu_period)
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(DEFAULT_CFS_PERIOD_US);
    let period_ns = period_us * 1_000;
    let elapsed = u128::try_from(running_ns).unwrap_or(0) / period_ns;
    let periods = elapsed.min(u128::from(cpu_ns).div_ceil(period_ns));
    let allowed = quota_us * 1_000_000_000 / period_us;
    let rate = u128::from(nano_cores);
    let (throttled, throttled_ns) = if rate > allowed {
        (periods, periods * period_ns * (rate - allowed) / rate)
    } else {
        (0, 0)
    };
    let narrow = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
    (narrow(periods), narrow(throttled), narrow(throttled_ns))
}

/// The kernel's CFS period when a quota comes without one, in microseconds.
const DEFAULT_CFS_PERIOD_US: u128 = 100_000;

/// Kernel memory a simulated running container uses (at most its usage), in bytes: what
/// a `sleep` in busybox showed on the reference machine.
pub const SIMULATED_KERNEL_MEMORY: u64 = 151_552;

/// What a fresh container's writable layer uses, in bytes, as the metrics report it
/// (`container_fs_usage_bytes`) until a test sets
/// [`StatsOverride::writable_layer_used_bytes`]. ContainerStats keeps reporting 0 then:
/// containerd refreshes its snapshot usage only periodically.
pub const FRESH_WRITABLE_LAYER_BYTES: u64 = 8_192;

/// Inodes a fresh container's writable layer uses, as the metrics report them
/// (`container_fs_inodes_total`, which containerd fills with the snapshot's used inodes)
/// until a test sets [`StatsOverride::writable_layer_inodes_used`].
pub const FRESH_WRITABLE_LAYER_INODES: u64 = 5;

/// Size of the filesystem holding the containers' root filesystems, in bytes
/// (`container_fs_limit_bytes`).
pub const SIMULATED_FS_CAPACITY_BYTES: u64 = 270_553_174_016;

/// Free inodes of the filesystem holding the containers' root filesystems
/// (`container_fs_inodes_free`).
pub const SIMULATED_FS_INODES_FREE: u64 = 16_320_146;

/// Open file descriptors of each simulated process (stdin, stdout, stderr).
pub const FILE_DESCRIPTORS_PER_PROCESS: u64 = 3;

/// The network interface of the pod-level metrics.
const POD_INTERFACE: &str = "eth0";

/// What ListPodSandboxMetrics reports for one running container.
struct Sample {
    /// Seconds since the epoch.
    last_seen: u64,
    /// ns since the epoch.
    started_at: u64,
    cpu_ns: u64,
    cpu_user_ns: u64,
    cpu_system_ns: u64,
    cfs_periods: u64,
    cfs_throttled_periods: u64,
    cfs_throttled_ns: u64,
    usage: u64,
    working_set: u64,
    max_usage: u64,
    rss: u64,
    /// The page cache the working set excludes (all of the cache is inactive).
    inactive_file: u64,
    page_faults: u64,
    major_page_faults: u64,
    kernel: u64,
    fs_used: u64,
    fs_inodes_used: u64,
    processes: u64,
    spec_cpu_period: Option<u64>,
    spec_cpu_shares: Option<u64>,
    spec_memory_limit: Option<u64>,
    spec_memory_swap_limit: Option<u64>,
}

/// One descriptor of ListMetricDescriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// The metric name.
    pub name: &'static str,
    /// Its help text.
    pub help: &'static str,
    /// Its label keys, in the order of every metric's label values.
    pub label_keys: &'static [&'static str],
}

const fn descriptor(
    name: &'static str,
    help: &'static str,
    label_keys: &'static [&'static str],
) -> Descriptor {
    Descriptor {
        name,
        help,
        label_keys,
    }
}

const CONTAINER: &[&str] = &["pod", "namespace", "container", "id", "image"];
const DEVICE: &[&str] = &["pod", "namespace", "container", "id", "image", "device"];
const BLKIO: &[&str] = &[
    "pod",
    "namespace",
    "container",
    "id",
    "image",
    "device",
    "major",
    "minor",
    "operation",
];
const ULIMIT: &[&str] = &["pod", "namespace", "container", "id", "image", "ulimit"];
const FAILURE: &[&str] = &[
    "pod",
    "namespace",
    "container",
    "id",
    "image",
    "failure_type",
    "scope",
];
const INTERFACE: &[&str] = &["pod", "namespace", "container", "id", "image", "interface"];

/// containerd 2.3.4's ListMetricDescriptors, in its order (measured).
pub const METRICS: &[Descriptor] = &[
    descriptor(
        "container_fs_reads_bytes_total",
        "Cumulative count of bytes read",
        DEVICE,
    ),
    descriptor(
        "container_fs_reads_total",
        "Cumulative count of reads completed",
        DEVICE,
    ),
    descriptor(
        "container_fs_writes_bytes_total",
        "Cumulative count of bytes written",
        DEVICE,
    ),
    descriptor(
        "container_fs_writes_total",
        "Cumulative count of writes completed",
        DEVICE,
    ),
    descriptor(
        "container_blkio_device_usage_total",
        "Blkio device bytes usage",
        BLKIO,
    ),
    descriptor(
        "container_processes",
        "Number of processes running inside the container.",
        CONTAINER,
    ),
    descriptor(
        "container_file_descriptors",
        "Number of open file descriptors for the container.",
        CONTAINER,
    ),
    descriptor(
        "container_sockets",
        "Number of open sockets for the container.",
        CONTAINER,
    ),
    descriptor(
        "container_threads_max",
        "Maximum number of threads allowed inside the container, infinity if value is zero",
        CONTAINER,
    ),
    descriptor(
        "container_threads",
        "Number of threads running inside the container",
        CONTAINER,
    ),
    descriptor(
        "container_ulimits_soft",
        "Soft ulimit values for the container root process. Unlimited if -1, except priority and nice",
        ULIMIT,
    ),
    descriptor(
        "container_last_seen",
        "Last time a container was seen by the exporter",
        CONTAINER,
    ),
    descriptor(
        "container_start_time_seconds",
        "Start time of the container since unix epoch in seconds",
        CONTAINER,
    ),
    descriptor(
        "container_spec_cpu_period",
        "CPU period of the container",
        CONTAINER,
    ),
    descriptor(
        "container_spec_cpu_shares",
        "CPU share of the container",
        CONTAINER,
    ),
    descriptor(
        "container_spec_memory_limit_bytes",
        "Memory limit for the container",
        CONTAINER,
    ),
    descriptor(
        "container_spec_memory_reservation_limit_bytes",
        "Memory reservation limit for the container",
        CONTAINER,
    ),
    descriptor(
        "container_spec_memory_swap_limit_bytes",
        "Memory swap limit for the container",
        CONTAINER,
    ),
    descriptor(
        "container_cpu_user_seconds_total",
        "Cumulative user CPU time consumed in seconds.",
        CONTAINER,
    ),
    descriptor(
        "container_cpu_system_seconds_total",
        "Cumulative system CPU time consumed in seconds.",
        CONTAINER,
    ),
    descriptor(
        "container_cpu_usage_seconds_total",
        "Cumulative CPU time consumed in seconds.",
        CONTAINER,
    ),
    descriptor(
        "container_cpu_cfs_periods_total",
        "Number of elapsed enforcement period intervals.",
        CONTAINER,
    ),
    descriptor(
        "container_cpu_cfs_throttled_periods_total",
        "Number of CPU throttled period intervals.",
        CONTAINER,
    ),
    descriptor(
        "container_cpu_cfs_throttled_seconds_total",
        "Total time duration the container has been throttled.",
        CONTAINER,
    ),
    descriptor(
        "container_memory_cache",
        "Number of bytes of memory used by the container for caching purposes.",
        CONTAINER,
    ),
    descriptor(
        "container_memory_rss",
        "Size of RSS in bytes, total anonymous memory and [swap cache memory used by the container.",
        CONTAINER,
    ),
    descriptor(
        "container_memory_kernel_usage",
        "Size of kernel memory allocated to the container in bytes, includes page tables, socket buffers...",
        CONTAINER,
    ),
    descriptor(
        "container_memory_mapped_file",
        "Size of container's memory mapped files in bytes.",
        CONTAINER,
    ),
    descriptor(
        "container_memory_swap",
        "Container swap usage in bytes.",
        CONTAINER,
    ),
    descriptor(
        "container_memory_failcnt",
        "Number of times container memory usage has hit its cgroup v1 upper memory limit, for cg2 this value is not currently supported",
        CONTAINER,
    ),
    descriptor(
        "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
        CONTAINER,
    ),
    descriptor(
        "container_memory_max_usage_bytes",
        "Maximum container memory usage recorded in bytes",
        CONTAINER,
    ),
    descriptor(
        "container_memory_working_set_bytes",
        "Amount of memory that is actively used by the container, excluding cached memory.",
        CONTAINER,
    ),
    descriptor(
        "container_memory_total_active_file_bytes",
        "Amount of cache memory bytes, in use by the container, in file on disk.",
        CONTAINER,
    ),
    descriptor(
        "container_memory_total_inactive_file_bytes",
        "Amount of inactive cache memory bytes, for the container, in file on disk.",
        CONTAINER,
    ),
    descriptor(
        "container_memory_failures_total",
        "Cumulative count of container memory allocation failures.",
        FAILURE,
    ),
    descriptor(
        "container_oom_events_total",
        "Count of out of memory events observed for the container",
        CONTAINER,
    ),
    descriptor(
        "container_network_receive_bytes_total",
        "Cumulative count of bytes received",
        INTERFACE,
    ),
    descriptor(
        "container_network_receive_packets_total",
        "Cumulative count of packets received",
        INTERFACE,
    ),
    descriptor(
        "container_network_receive_packets_dropped_total",
        "Cumulative count of packets dropped while receiving",
        INTERFACE,
    ),
    descriptor(
        "container_network_receive_errors_total",
        "Cumulative count of errors encountered while receiving",
        INTERFACE,
    ),
    descriptor(
        "container_network_transmit_bytes_total",
        "Cumulative count of bytes transmitted",
        INTERFACE,
    ),
    descriptor(
        "container_network_transmit_packets_total",
        "Cumulative count of packets transmitted",
        INTERFACE,
    ),
    descriptor(
        "container_network_transmit_packets_dropped_total",
        "Cumulative count of packets dropped while transmitting",
        INTERFACE,
    ),
    descriptor(
        "container_network_transmit_errors_total",
        "Cumulative count of errors encountered while transmitting",
        INTERFACE,
    ),
    descriptor(
        "container_fs_inodes_free",
        "Number of available Inodes",
        DEVICE,
    ),
    descriptor("container_fs_inodes_total", "Number of Inodes", DEVICE),
    descriptor(
        "container_fs_limit_bytes",
        "Number of bytes that can be consumed by the container on this filesystem.",
        DEVICE,
    ),
    descriptor(
        "container_fs_usage_bytes",
        "Number of bytes that are consumed by the container on this filesystem.",
        DEVICE,
    ),
];

/// One metric of a container's ListPodSandboxMetrics entry.
struct Series {
    name: &'static str,
    kind: MetricType,
    /// Label values after the five container ones.
    extra_labels: &'static [&'static str],
    /// `None`: not reported for this container.
    value: fn(&Sample) -> Option<u64>,
}

const fn series(
    name: &'static str,
    kind: MetricType,
    extra_labels: &'static [&'static str],
    value: fn(&Sample) -> Option<u64>,
) -> Series {
    Series {
        name,
        kind,
        extra_labels,
        value,
    }
}

const NS_PER_S: u64 = 1_000_000_000;

/// A running container's metrics in containerd 2.3.4's order on the reference machine
/// (cgroup v1: no `container_threads`; no blkio series for a container that did no
/// I/O; no `container_ulimits_soft` without rlimits in the spec; the spec series only
/// for the resources set). CPU counters are whole seconds, as containerd truncates
/// them.
const CONTAINER_SERIES: &[Series] = &[
    series("container_last_seen", Gauge, &[], |s| Some(s.last_seen)),
    series("container_start_time_seconds", Gauge, &[], |s| {
        Some(s.started_at)
    }),
    series("container_cpu_usage_seconds_total", Counter, &[], |s| {
        Some(s.cpu_ns / NS_PER_S)
    }),
    series("container_cpu_user_seconds_total", Counter, &[], |s| {
        Some(s.cpu_user_ns / NS_PER_S)
    }),
    series("container_cpu_system_seconds_total", Counter, &[], |s| {
        Some(s.cpu_system_ns / NS_PER_S)
    }),
    series("container_cpu_cfs_periods_total", Counter, &[], |s| {
        Some(s.cfs_periods)
    }),
    series(
        "container_cpu_cfs_throttled_periods_total",
        Counter,
        &[],
        |s| Some(s.cfs_throttled_periods),
    ),
    series(
        "container_cpu_cfs_throttled_seconds_total",
        Counter,
        &[],
        |s| Some(s.cfs_throttled_ns / NS_PER_S),
    ),
    series("container_memory_usage_bytes", Gauge, &[], |s| {
        Some(s.usage)
    }),
    series("container_memory_working_set_bytes", Gauge, &[], |s| {
        Some(s.working_set)
    }),
    series("container_memory_max_usage_bytes", Gauge, &[], |s| {
        Some(s.max_usage)
    }),
    series("container_memory_rss", Gauge, &[], |s| Some(s.rss)),
    series("container_memory_cache", Gauge, &[], |s| {
        Some(s.inactive_file)
    }),
    series("container_memory_mapped_file", Gauge, &[], |_| Some(0)),
    series(
        "container_memory_total_active_file_bytes",
        Gauge,
        &[],
        |_| Some(0),
    ),
    series(
        "container_memory_total_inactive_file_bytes",
        Gauge,
        &[],
        |s| Some(s.inactive_file),
    ),
    series(
        "container_memory_failures_total",
        Counter,
        &["pgfault", "container"],
        |s| Some(s.page_faults),
    ),
    series(
        "container_memory_failures_total",
        Counter,
        &["pgmajfault", "container"],
        |s| Some(s.major_page_faults),
    ),
    series("container_memory_kernel_usage", Gauge, &[], |s| {
        Some(s.kernel)
    }),
    // cgroup v1's memsw usage: memory plus swap, and nothing is swapped.
    series("container_memory_swap", Gauge, &[], |s| Some(s.usage)),
    series("container_memory_failcnt", Counter, &[], |_| Some(0)),
    series("container_oom_events_total", Counter, &[], |_| Some(0)),
    series("container_fs_usage_bytes", Gauge, &["/"], |s| {
        Some(s.fs_used)
    }),
    series("container_fs_limit_bytes", Gauge, &["/"], |_| {
        Some(SIMULATED_FS_CAPACITY_BYTES)
    }),
    series("container_fs_inodes_total", Gauge, &["/"], |s| {
        Some(s.fs_inodes_used)
    }),
    series("container_fs_inodes_free", Gauge, &["/"], |_| {
        Some(SIMULATED_FS_INODES_FREE)
    }),
    series("container_processes", Gauge, &[], |s| Some(s.processes)),
    // No pids limit: 0 (unlimited).
    series("container_threads_max", Gauge, &[], |_| Some(0)),
    series("container_file_descriptors", Gauge, &[], |s| {
        Some(s.processes * FILE_DESCRIPTORS_PER_PROCESS)
    }),
    series("container_sockets", Gauge, &[], |_| Some(0)),
    series("container_spec_cpu_period", Gauge, &[], |s| {
        s.spec_cpu_period
    }),
    series("container_spec_cpu_shares", Gauge, &[], |s| {
        s.spec_cpu_shares
    }),
    series("container_spec_memory_limit_bytes", Gauge, &[], |s| {
        s.spec_memory_limit
    }),
    // containerd's CRI never sets a memory reservation, so
    // container_spec_memory_reservation_limit_bytes never appears.
    series("container_spec_memory_swap_limit_bytes", Gauge, &[], |s| {
        s.spec_memory_swap_limit
    }),
];

/// A pod-network sandbox's own metrics: its eth0 counters (all 0: the simulated pod
/// network carries no traffic).
const POD_NETWORK_SERIES: &[&str] = &[
    "container_network_receive_bytes_total",
    "container_network_receive_packets_total",
    "container_network_receive_packets_dropped_total",
    "container_network_receive_errors_total",
    "container_network_transmit_bytes_total",
    "container_network_transmit_packets_total",
    "container_network_transmit_packets_dropped_total",
    "container_network_transmit_errors_total",
];

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

    #[test]
    fn every_reported_series_is_described_with_as_many_label_keys_as_values() {
        assert_eq!(METRICS.len(), 49);
        for (i, d) in METRICS.iter().enumerate() {
            assert!(
                METRICS[..i].iter().all(|o| o.name != d.name),
                "{} twice",
                d.name
            );
        }
        for s in CONTAINER_SERIES {
            let d = METRICS
                .iter()
                .find(|d| d.name == s.name)
                .unwrap_or_else(|| panic!("{} has no descriptor", s.name));
            assert_eq!(d.label_keys.len(), 5 + s.extra_labels.len(), "{}", s.name);
        }
        for name in POD_NETWORK_SERIES {
            let d = METRICS.iter().find(|d| d.name == *name).unwrap();
            assert_eq!(d.label_keys, INTERFACE);
        }
    }

    #[test]
    fn cfs_counters_need_a_quota_and_throttle_only_above_it() {
        let ms = 1_000_000u64;
        let unlimited = LinuxContainerResources::default();
        assert_eq!(
            cfs(&unlimited, 500 * ms, 2_000_000_000, 10_000_000_000),
            (0, 0, 0)
        );
        let half_core = LinuxContainerResources {
            cpu_quota: 50_000,
            cpu_period: 100_000,
            ..Default::default()
        };
        // 1% of a core for 3 s: 30 ms of CPU fits in one period, never throttled.
        assert_eq!(
            cfs(&half_core, 30 * ms, 10_000_000, 3_000 * 1_000_000),
            (1, 0, 0)
        );
        // Two cores against half a core for 1 s: every elapsed period throttled for
        // three quarters of it.
        assert_eq!(
            cfs(&half_core, 2_000 * ms, 2_000_000_000, 1_000 * 1_000_000),
            (10, 10, 750 * ms)
        );
        // A quota without a period uses the kernel's 100 ms.
        let quota_only = LinuxContainerResources {
            cpu_quota: 50_000,
            ..Default::default()
        };
        assert_eq!(
            cfs(&quota_only, 2_000 * ms, 2_000_000_000, 1_000 * 1_000_000),
            (10, 10, 750 * ms)
        );
    }
}
