//! Stats overrides and metrics over a real socket: figures a test sets, CPU counters
//! that only grow, memory within limits, metric descriptors and pod sandbox metrics
//! consistent with the stats.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cri_fake::stats::{SIMULATED_NANO_CORES, StatsOverride};
use cri_proto::v1::*;
use tonic::Code;

async fn stats(env: &mut Env, id: &str) -> ContainerStats {
    env.rt
        .container_stats(ContainerStatsRequest {
            container_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap()
}

fn cpu(s: &ContainerStats) -> (u64, u64) {
    let cpu = s.cpu.as_ref().unwrap();
    (
        cpu.usage_core_nano_seconds.as_ref().unwrap().value,
        cpu.usage_nano_cores.as_ref().unwrap().value,
    )
}

fn memory(s: &ContainerStats) -> (u64, u64, u64, u64) {
    let m = s.memory.as_ref().unwrap();
    let v = |x: &Option<UInt64Value>| x.as_ref().unwrap().value;
    (
        v(&m.working_set_bytes),
        v(&m.usage_bytes),
        v(&m.rss_bytes),
        v(&m.available_bytes),
    )
}

#[tokio::test]
async fn overridden_figures_are_reported_and_cpu_time_keeps_growing_across_rate_changes() {
    let mut env = start().await;
    let (pod, config) = env.pod("stats").await;
    let id = env.running(&pod, &config, "app", &["sleep", "1000"]).await;
    let before = stats(&mut env, &id).await;
    assert_eq!(cpu(&before).1, SIMULATED_NANO_CORES);
    assert_eq!(memory(&before), (204_800, 204_800, 102_400, 0));

    env.fake
        .set_container_stats(
            &id[..12],
            StatsOverride {
                cpu_nano_cores: Some(2_000_000_000),
                memory_working_set_bytes: Some(300 << 20),
                memory_rss_bytes: Some(100 << 20),
                writable_layer_used_bytes: Some(4096),
                ..Default::default()
            },
        )
        .unwrap();
    let busy = stats(&mut env, &id).await;
    assert_eq!(cpu(&busy).1, 2_000_000_000);
    assert!(cpu(&busy).0 >= cpu(&before).0);
    assert_eq!(memory(&busy), (300 << 20, 300 << 20, 100 << 20, 0));
    assert_eq!(
        busy.writable_layer
            .as_ref()
            .unwrap()
            .used_bytes
            .as_ref()
            .unwrap()
            .value,
        4096
    );
    assert!(
        busy.cpu.as_ref().unwrap().timestamp > 0 && busy.memory.as_ref().unwrap().timestamp > 0
    );

    env.fake
        .set_container_stats(
            &id,
            StatsOverride {
                cpu_nano_cores: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    let idle = stats(&mut env, &id).await;
    let later = stats(&mut env, &id).await;
    assert!(cpu(&idle).0 >= cpu(&busy).0);
    assert_eq!(
        cpu(&later).0,
        cpu(&idle).0,
        "an idle container's counter stays put"
    );
    assert_eq!(cpu(&later).1, 0);
}

#[tokio::test]
async fn memory_figures_stay_within_the_memory_limit() {
    let mut env = start().await;
    let (pod, config) = env.pod("limited").await;
    let mut limited = container_config("app", &["sleep", "1000"]);
    limited.linux = Some(LinuxContainerConfig {
        resources: Some(LinuxContainerResources {
            memory_limit_in_bytes: 64 << 20,
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = env.create(&pod, &config, limited).await.unwrap();
    env.start(&id).await.unwrap();
    assert_eq!(
        memory(&stats(&mut env, &id).await),
        (204_800, 204_800, 102_400, (64 << 20) - 204_800)
    );
    env.fake
        .set_container_stats(
            &id,
            StatsOverride {
                memory_working_set_bytes: Some(1 << 30),
                memory_usage_bytes: Some(2 << 30),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        memory(&stats(&mut env, &id).await),
        (64 << 20, 64 << 20, 32 << 20, 0)
    );
}

#[tokio::test]
async fn setting_the_stats_of_an_unknown_container_fails_like_container_stats() {
    let env = start().await;
    let err = env
        .fake
        .set_container_stats("nope", StatsOverride::default())
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (
            cri_fake::ErrorCode::NotFound,
            "failed to find container: not found"
        )
    );
}

/// containerd 2.3.4's ListMetricDescriptors names, in its order (measured).
const DESCRIPTOR_NAMES: [&str; 49] = [
    "container_fs_reads_bytes_total",
    "container_fs_reads_total",
    "container_fs_writes_bytes_total",
    "container_fs_writes_total",
    "container_blkio_device_usage_total",
    "container_processes",
    "container_file_descriptors",
    "container_sockets",
    "container_threads_max",
    "container_threads",
    "container_ulimits_soft",
    "container_last_seen",
    "container_start_time_seconds",
    "container_spec_cpu_period",
    "container_spec_cpu_shares",
    "container_spec_memory_limit_bytes",
    "container_spec_memory_reservation_limit_bytes",
    "container_spec_memory_swap_limit_bytes",
    "container_cpu_user_seconds_total",
    "container_cpu_system_seconds_total",
    "container_cpu_usage_seconds_total",
    "container_cpu_cfs_periods_total",
    "container_cpu_cfs_throttled_periods_total",
    "container_cpu_cfs_throttled_seconds_total",
    "container_memory_cache",
    "container_memory_rss",
    "container_memory_kernel_usage",
    "container_memory_mapped_file",
    "container_memory_swap",
    "container_memory_failcnt",
    "container_memory_usage_bytes",
    "container_memory_max_usage_bytes",
    "container_memory_working_set_bytes",
    "container_memory_total_active_file_bytes",
    "container_memory_total_inactive_file_bytes",
    "container_memory_failures_total",
    "container_oom_events_total",
    "container_network_receive_bytes_total",
    "container_network_receive_packets_total",
    "container_network_receive_packets_dropped_total",
    "container_network_receive_errors_total",
    "container_network_transmit_bytes_total",
    "container_network_transmit_packets_total",
    "container_network_transmit_packets_dropped_total",
    "container_network_transmit_errors_total",
    "container_fs_inodes_free",
    "container_fs_inodes_total",
    "container_fs_limit_bytes",
    "container_fs_usage_bytes",
];

const GAUGE: i32 = MetricType::Gauge as i32;
const COUNTER: i32 = MetricType::Counter as i32;

/// A running container's series without resources, in containerd 2.3.4's order
/// (measured): name, type and the labels after the five container ones.
const CONTAINER_SERIES: [(&str, i32, &[&str]); 30] = [
    ("container_last_seen", GAUGE, &[]),
    ("container_start_time_seconds", GAUGE, &[]),
    ("container_cpu_usage_seconds_total", COUNTER, &[]),
    ("container_cpu_user_seconds_total", COUNTER, &[]),
    ("container_cpu_system_seconds_total", COUNTER, &[]),
    ("container_cpu_cfs_periods_total", COUNTER, &[]),
    ("container_cpu_cfs_throttled_periods_total", COUNTER, &[]),
    ("container_cpu_cfs_throttled_seconds_total", COUNTER, &[]),
    ("container_memory_usage_bytes", GAUGE, &[]),
    ("container_memory_working_set_bytes", GAUGE, &[]),
    ("container_memory_max_usage_bytes", GAUGE, &[]),
    ("container_memory_rss", GAUGE, &[]),
    ("container_memory_cache", GAUGE, &[]),
    ("container_memory_mapped_file", GAUGE, &[]),
    ("container_memory_total_active_file_bytes", GAUGE, &[]),
    ("container_memory_total_inactive_file_bytes", GAUGE, &[]),
    (
        "container_memory_failures_total",
        COUNTER,
        &["pgfault", "container"],
    ),
    (
        "container_memory_failures_total",
        COUNTER,
        &["pgmajfault", "container"],
    ),
    ("container_memory_kernel_usage", GAUGE, &[]),
    ("container_memory_swap", GAUGE, &[]),
    ("container_memory_failcnt", COUNTER, &[]),
    ("container_oom_events_total", COUNTER, &[]),
    ("container_fs_usage_bytes", GAUGE, &["/"]),
    ("container_fs_limit_bytes", GAUGE, &["/"]),
    ("container_fs_inodes_total", GAUGE, &["/"]),
    ("container_fs_inodes_free", GAUGE, &["/"]),
    ("container_processes", GAUGE, &[]),
    ("container_threads_max", GAUGE, &[]),
    ("container_file_descriptors", GAUGE, &[]),
    ("container_sockets", GAUGE, &[]),
];

async fn pod_metrics(env: &mut Env) -> Vec<PodSandboxMetrics> {
    env.rt
        .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
        .await
        .unwrap()
        .into_inner()
        .pod_metrics
}

async fn metrics_of(env: &mut Env, pod: &str) -> Option<PodSandboxMetrics> {
    pod_metrics(env)
        .await
        .into_iter()
        .find(|p| p.pod_sandbox_id == pod)
}

/// `(name, type, label values)` of each metric, in order.
fn shape(metrics: &[Metric]) -> Vec<(String, i32, Vec<String>)> {
    metrics
        .iter()
        .map(|m| (m.name.clone(), m.metric_type, m.label_values.clone()))
        .collect()
}

/// The value of the first metric `name` whose labels end with `extra`.
fn metric(metrics: &[Metric], name: &str, extra: &[&str]) -> u64 {
    metrics
        .iter()
        .find(|m| {
            m.name == name
                && m.label_values.len() >= extra.len()
                && m.label_values[m.label_values.len() - extra.len()..] == *extra
        })
        .unwrap_or_else(|| panic!("no {name} {extra:?}"))
        .value
        .as_ref()
        .unwrap()
        .value
}

#[tokio::test]
async fn metric_descriptors_are_containerd_2_3s_in_its_order() {
    let mut env = start().await;
    let descriptors = env
        .rt
        .list_metric_descriptors(ListMetricDescriptorsRequest {})
        .await
        .unwrap()
        .into_inner()
        .descriptors;
    let names: Vec<&str> = descriptors.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, DESCRIPTOR_NAMES);
    let find = |name: &str| descriptors.iter().find(|d| d.name == name).unwrap();
    let container = ["pod", "namespace", "container", "id", "image"];
    let with = |extra: &[&str]| -> Vec<String> {
        container
            .iter()
            .chain(extra)
            .map(|k| k.to_string())
            .collect()
    };
    let blkio = find("container_blkio_device_usage_total");
    assert_eq!(
        (blkio.help.as_str(), &blkio.label_keys),
        (
            "Blkio device bytes usage",
            &with(&["device", "major", "minor", "operation"])
        )
    );
    let rss = find("container_memory_rss");
    assert_eq!(
        (rss.help.as_str(), &rss.label_keys),
        (
            "Size of RSS in bytes, total anonymous memory and [swap cache memory used by the container.",
            &with(&[])
        )
    );
    let failures = find("container_memory_failures_total");
    assert_eq!(
        (failures.help.as_str(), &failures.label_keys),
        (
            "Cumulative count of container memory allocation failures.",
            &with(&["failure_type", "scope"])
        )
    );
    let ulimits = find("container_ulimits_soft");
    assert_eq!(
        (ulimits.help.as_str(), &ulimits.label_keys),
        (
            "Soft ulimit values for the container root process. Unlimited if -1, except priority and nice",
            &with(&["ulimit"])
        )
    );
    let received = find("container_network_receive_bytes_total");
    assert_eq!(
        (received.help.as_str(), &received.label_keys),
        ("Cumulative count of bytes received", &with(&["interface"]))
    );
    let fs_usage = find("container_fs_usage_bytes");
    assert_eq!(
        (fs_usage.help.as_str(), &fs_usage.label_keys),
        (
            "Number of bytes that are consumed by the container on this filesystem.",
            &with(&["device"])
        )
    );
    assert_eq!(find("container_threads").label_keys, with(&[]));
}

#[tokio::test]
async fn a_running_container_reports_containerds_series_in_order_and_the_pod_none() {
    let mut env = start().await;
    let (pod, config) = env.pod("metrics").await;
    let mut app = container_config("app", &["sleep", "1000"]);
    app.image.as_mut().unwrap().user_specified_image = "docker.io/library/busybox:1.36".into();
    let id = env.create(&pod, &config, app).await.unwrap();
    env.start(&id).await.unwrap();
    let stopped = env.run_pod(pod_config("stopped")).await;
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: stopped,
        })
        .await
        .unwrap();

    let pods = pod_metrics(&mut env).await;
    assert_eq!(pods.len(), 1, "only ready sandboxes");
    assert_eq!(pods[0].pod_sandbox_id, pod);
    assert!(
        pods[0].metrics.is_empty(),
        "no pod-level metrics with the host network"
    );
    assert_eq!(pods[0].container_metrics.len(), 1);
    let container = &pods[0].container_metrics[0];
    assert_eq!(container.container_id, id);
    let labels = [
        "metrics",
        "test",
        "app",
        id.as_str(),
        "docker.io/library/busybox:1.36",
    ];
    let expected: Vec<(String, i32, Vec<String>)> = CONTAINER_SERIES
        .iter()
        .map(|(name, kind, extra)| {
            (
                name.to_string(),
                *kind,
                labels.iter().chain(*extra).map(|l| l.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(shape(&container.metrics), expected);
    let timestamp = container.metrics[0].timestamp;
    assert!(timestamp > 1_000_000_000_000_000_000, "nanoseconds");
    assert!(container.metrics.iter().all(|m| m.timestamp == timestamp));
}

#[tokio::test]
async fn container_metrics_tie_to_the_container_stats() {
    let mut env = start().await;
    let (pod, config) = env.pod("values").await;
    let id = env.running(&pod, &config, "app", &["sleep", "1000"]).await;
    let m = |metrics: &[Metric], name: &str| metric(metrics, name, &[]);

    // The generated figures.
    let before = stats(&mut env, &id).await;
    let metrics = metrics_of(&mut env, &pod).await.unwrap().container_metrics[0]
        .metrics
        .clone();
    let after = stats(&mut env, &id).await;
    let (working_set, usage, rss, _) = memory(&before);
    assert_eq!(
        m(&metrics, "container_memory_working_set_bytes"),
        working_set
    );
    assert_eq!(m(&metrics, "container_memory_usage_bytes"), usage);
    assert_eq!(m(&metrics, "container_memory_rss"), rss);
    assert_eq!(m(&metrics, "container_memory_swap"), usage);
    assert_eq!(
        m(&metrics, "container_memory_max_usage_bytes"),
        cri_fake::stats::SIMULATED_PEAK_MEMORY_USAGE as u64
    );
    assert_eq!(
        m(&metrics, "container_memory_kernel_usage"),
        cri_fake::stats::SIMULATED_KERNEL_MEMORY
    );
    let mem = before.memory.as_ref().unwrap();
    assert_eq!(
        metric(
            &metrics,
            "container_memory_failures_total",
            &["pgfault", "container"]
        ),
        mem.page_faults.as_ref().unwrap().value
    );
    assert_eq!(
        metric(
            &metrics,
            "container_memory_failures_total",
            &["pgmajfault", "container"]
        ),
        mem.major_page_faults.as_ref().unwrap().value
    );
    assert_eq!(m(&metrics, "container_cpu_usage_seconds_total"), 0);
    assert!(cpu(&after).0 < 1_000_000_000);
    assert_eq!(
        metric(&metrics, "container_fs_usage_bytes", &["/"]),
        cri_fake::stats::FRESH_WRITABLE_LAYER_BYTES
    );
    assert_eq!(
        metric(&metrics, "container_fs_inodes_total", &["/"]),
        cri_fake::stats::FRESH_WRITABLE_LAYER_INODES
    );
    assert_eq!(
        metric(&metrics, "container_fs_limit_bytes", &["/"]),
        cri_fake::stats::SIMULATED_FS_CAPACITY_BYTES
    );
    assert_eq!(m(&metrics, "container_processes"), 1);
    assert_eq!(m(&metrics, "container_file_descriptors"), 3);
    assert_eq!(m(&metrics, "container_cpu_cfs_periods_total"), 0);
    let started_at = env.status(&id).await.unwrap().started_at;
    assert_eq!(
        m(&metrics, "container_start_time_seconds"),
        started_at as u64,
        "nanoseconds, despite the name"
    );
    let last_seen = m(&metrics, "container_last_seen");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(last_seen <= now && last_seen + 60 > now, "seconds");

    // Figures a test sets.
    env.fake
        .set_container_stats(
            &id,
            StatsOverride {
                // A million cores: thousands of CPU seconds within milliseconds.
                cpu_nano_cores: Some(1_000_000_000_000_000),
                memory_working_set_bytes: Some(3 << 20),
                memory_usage_bytes: Some(4 << 20),
                memory_rss_bytes: Some(1 << 20),
                page_faults: Some(4242),
                major_page_faults: Some(7),
                writable_layer_used_bytes: Some(65536),
                writable_layer_inodes_used: Some(12),
            },
        )
        .unwrap();
    let before = stats(&mut env, &id).await;
    let metrics = metrics_of(&mut env, &pod).await.unwrap().container_metrics[0]
        .metrics
        .clone();
    let after = stats(&mut env, &id).await;
    assert_eq!(memory(&before), (3 << 20, 4 << 20, 1 << 20, 0));
    assert_eq!(m(&metrics, "container_memory_working_set_bytes"), 3 << 20);
    assert_eq!(m(&metrics, "container_memory_usage_bytes"), 4 << 20);
    assert_eq!(m(&metrics, "container_memory_rss"), 1 << 20);
    assert_eq!(m(&metrics, "container_memory_max_usage_bytes"), 4 << 20);
    assert_eq!(
        m(&metrics, "container_memory_total_inactive_file_bytes"),
        1 << 20,
        "the cache the working set excludes"
    );
    assert_eq!(m(&metrics, "container_memory_cache"), 1 << 20);
    assert_eq!(
        metric(
            &metrics,
            "container_memory_failures_total",
            &["pgfault", "container"]
        ),
        4242
    );
    assert_eq!(
        metric(
            &metrics,
            "container_memory_failures_total",
            &["pgmajfault", "container"]
        ),
        7
    );
    let layer = before.writable_layer.as_ref().unwrap();
    assert_eq!(
        metric(&metrics, "container_fs_usage_bytes", &["/"]),
        layer.used_bytes.as_ref().unwrap().value
    );
    assert_eq!(
        metric(&metrics, "container_fs_inodes_total", &["/"]),
        layer.inodes_used.as_ref().unwrap().value
    );
    let seconds = m(&metrics, "container_cpu_usage_seconds_total");
    assert!(
        cpu(&before).0 / 1_000_000_000 <= seconds && seconds <= cpu(&after).0 / 1_000_000_000,
        "whole seconds of the stats' nanoseconds"
    );
    assert!(seconds > 0);
    let user = m(&metrics, "container_cpu_user_seconds_total");
    let system = m(&metrics, "container_cpu_system_seconds_total");
    assert!(user > system && user + system <= seconds && user + system + 1 >= seconds);
}

#[tokio::test]
async fn spec_series_follow_the_containers_resources() {
    let mut env = start().await;
    let (pod, config) = env.pod("spec").await;
    let mut limited = container_config("lim", &["sleep", "1000"]);
    limited.linux = Some(LinuxContainerConfig {
        resources: Some(LinuxContainerResources {
            memory_limit_in_bytes: 64 << 20,
            cpu_quota: 50_000,
            cpu_period: 100_000,
            cpu_shares: 512,
            ..Default::default()
        }),
        ..Default::default()
    });
    let lim = env.create(&pod, &config, limited).await.unwrap();
    env.start(&lim).await.unwrap();
    let mut memory_only = container_config("lim2", &["sleep", "1000"]);
    memory_only.linux = Some(LinuxContainerConfig {
        resources: Some(LinuxContainerResources {
            memory_limit_in_bytes: 32 << 20,
            memory_swap_limit_in_bytes: 64 << 20,
            ..Default::default()
        }),
        ..Default::default()
    });
    let lim2 = env.create(&pod, &config, memory_only).await.unwrap();
    env.start(&lim2).await.unwrap();

    let pods = metrics_of(&mut env, &pod).await.unwrap();
    let of = |id: &str| {
        pods.container_metrics
            .iter()
            .find(|c| c.container_id == id)
            .unwrap()
            .metrics
            .clone()
    };
    let tail = |metrics: &[Metric], n: usize| -> Vec<(String, u64)> {
        assert_eq!(metrics.len(), 30 + n);
        metrics[30..]
            .iter()
            .map(|m| (m.name.clone(), m.value.as_ref().unwrap().value))
            .collect()
    };
    let spec = |pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
        pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect()
    };
    let lim_metrics = of(&lim);
    assert_eq!(
        tail(&lim_metrics, 4),
        spec(&[
            ("container_spec_cpu_period", 100_000),
            ("container_spec_cpu_shares", 512),
            ("container_spec_memory_limit_bytes", 64 << 20),
            ("container_spec_memory_swap_limit_bytes", 64 << 20),
        ])
    );
    assert!(lim_metrics[30..].iter().all(|m| m.metric_type == GAUGE));
    assert_eq!(
        metric(&lim_metrics, "container_memory_max_usage_bytes", &[]),
        cri_fake::stats::SIMULATED_PEAK_MEMORY_USAGE as u64
    );
    assert_eq!(
        tail(&of(&lim2), 2),
        spec(&[
            ("container_spec_memory_limit_bytes", 32 << 20),
            ("container_spec_memory_swap_limit_bytes", 64 << 20),
        ])
    );
    // A limit below the peak caps the peak.
    env.rt
        .update_container_resources(UpdateContainerResourcesRequest {
            container_id: lim2.clone(),
            linux: Some(LinuxContainerResources {
                memory_limit_in_bytes: 1 << 20,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let pods = metrics_of(&mut env, &pod).await.unwrap();
    let lim2_metrics = &pods
        .container_metrics
        .iter()
        .find(|c| c.container_id == lim2)
        .unwrap()
        .metrics;
    assert_eq!(
        metric(lim2_metrics, "container_spec_memory_limit_bytes", &[]),
        1 << 20
    );
    assert_eq!(
        metric(lim2_metrics, "container_memory_max_usage_bytes", &[]),
        1 << 20
    );
}

#[tokio::test]
async fn a_sandbox_with_a_container_that_does_not_run_is_left_out() {
    let mut env = start().await;
    let (empty, _) = env.pod("empty").await;
    let (pod, config) = env.pod("mixed").await;
    let running = env.running(&pod, &config, "run", &["sleep", "1000"]).await;
    let created = env
        .create(&pod, &config, container_config("later", &["sleep", "1000"]))
        .await
        .unwrap();

    let listed = metrics_of(&mut env, &empty).await.unwrap();
    assert!(listed.metrics.is_empty() && listed.container_metrics.is_empty());
    assert!(
        metrics_of(&mut env, &pod).await.is_none(),
        "a created container has no task: containerd skips its sandbox"
    );
    env.start(&created).await.unwrap();
    let listed = metrics_of(&mut env, &pod).await.unwrap();
    let mut ids: Vec<&str> = listed
        .container_metrics
        .iter()
        .map(|c| c.container_id.as_str())
        .collect();
    ids.sort();
    let mut expected = [running.as_str(), created.as_str()];
    expected.sort();
    assert_eq!(ids, expected);

    let done = env.running(&pod, &config, "done", &["true"]).await;
    env.wait_state(&done, ContainerState::ContainerExited).await;
    assert!(
        metrics_of(&mut env, &pod).await.is_none(),
        "nor with an exited one"
    );
    env.remove(&done).await.unwrap();
    assert_eq!(
        metrics_of(&mut env, &pod)
            .await
            .unwrap()
            .container_metrics
            .len(),
        2
    );
}

#[tokio::test]
async fn a_pod_network_sandbox_reports_its_eth0_counters() {
    let mut env = start().await;
    let mut config = pod_config("netns");
    config.linux = None;
    let pod = env.run_pod(config).await;
    let listed = metrics_of(&mut env, &pod).await.unwrap();
    let labels: Vec<String> = ["netns", "test", "", pod.as_str(), "", "eth0"]
        .iter()
        .map(|l| l.to_string())
        .collect();
    let expected: Vec<(String, i32, Vec<String>)> = [
        "container_network_receive_bytes_total",
        "container_network_receive_packets_total",
        "container_network_receive_packets_dropped_total",
        "container_network_receive_errors_total",
        "container_network_transmit_bytes_total",
        "container_network_transmit_packets_total",
        "container_network_transmit_packets_dropped_total",
        "container_network_transmit_errors_total",
    ]
    .iter()
    .map(|name| (name.to_string(), COUNTER, labels.clone()))
    .collect();
    assert_eq!(shape(&listed.metrics), expected);
    assert!(
        listed
            .metrics
            .iter()
            .all(|m| m.value.as_ref().unwrap().value == 0)
    );
}

#[tokio::test]
async fn pod_sandbox_stats_sum_their_containers_and_count_the_pause_process() {
    let mut env = start().await;
    let mut config = pod_config("sum");
    config.linux.as_mut().unwrap().cgroup_parent = "/kubepods/sum".into();
    let pod = env.run_pod(config.clone()).await;
    let a = env.running(&pod, &config, "a", &["sleep", "1000"]).await;
    let b = env.running(&pod, &config, "b", &["sleep", "1000"]).await;
    env.fake
        .set_container_stats(
            &a,
            StatsOverride {
                memory_working_set_bytes: Some(1000),
                ..Default::default()
            },
        )
        .unwrap();
    env.fake
        .set_container_stats(
            &b,
            StatsOverride {
                memory_working_set_bytes: Some(2000),
                ..Default::default()
            },
        )
        .unwrap();
    let sandbox = env
        .rt
        .pod_sandbox_stats(PodSandboxStatsRequest {
            pod_sandbox_id: pod.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap();
    let linux = sandbox.linux.unwrap();
    assert_eq!(linux.memory.unwrap().working_set_bytes.unwrap().value, 3000);
    // The pause process and the two containers' sleeps.
    assert_eq!(linux.process.unwrap().process_count.unwrap().value, 3);
    assert_eq!(linux.containers.len(), 2);
    let unknown = env
        .rt
        .pod_sandbox_stats(PodSandboxStatsRequest {
            pod_sandbox_id: "nope".into(),
        })
        .await;
    assert_status(
        unknown,
        Code::NotFound,
        "an error occurred when trying to find sandbox nope: not found",
    );
}
