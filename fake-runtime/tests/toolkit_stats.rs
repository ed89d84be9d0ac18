//! Stats overrides and metrics over a real socket: figures a test sets, CPU counters
//! that only grow, memory within limits, metric descriptors and pod sandbox metrics
//! consistent with the stats.

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

#[tokio::test]
async fn metric_descriptors_and_pod_sandbox_metrics_agree_with_the_stats() {
    let mut env = start().await;
    let descriptors = env
        .rt
        .list_metric_descriptors(ListMetricDescriptorsRequest {})
        .await
        .unwrap()
        .into_inner()
        .descriptors;
    let names: Vec<&str> = descriptors.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "container_cpu_usage_seconds_total",
            "container_cpu_user_seconds_total",
            "container_cpu_system_seconds_total",
            "container_memory_usage_bytes",
            "container_memory_working_set_bytes",
            "container_memory_rss",
            "container_memory_failures_total",
            "container_processes",
        ]
    );
    assert!(
        descriptors
            .iter()
            .all(|d| d.label_keys == ["id", "name"] && !d.help.is_empty())
    );

    let (pod, config) = env.pod("metrics").await;
    let id = env.running(&pod, &config, "app", &["sleep", "1000"]).await;
    env.fake
        .set_container_stats(
            &id,
            StatsOverride {
                memory_working_set_bytes: Some(1 << 20),
                ..Default::default()
            },
        )
        .unwrap();
    let stopped = env.run_pod(pod_config("stopped")).await;
    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: stopped,
        })
        .await
        .unwrap();
    let pods = env
        .rt
        .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
        .await
        .unwrap()
        .into_inner()
        .pod_metrics;
    assert_eq!(pods.len(), 1, "only ready sandboxes");
    assert_eq!(pods[0].pod_sandbox_id, pod);
    let value = |metrics: &[Metric], name: &str| {
        let metric = metrics.iter().find(|m| m.name == name).unwrap();
        (
            metric.value.as_ref().unwrap().value,
            metric.label_values.clone(),
            metric.metric_type,
        )
    };
    assert_eq!(
        value(&pods[0].metrics, "container_processes"),
        (
            2,
            vec![pod.clone(), "metrics".to_string()],
            MetricType::Gauge as i32
        )
    );
    let container = &pods[0].container_metrics[0];
    assert_eq!(container.container_id, id);
    assert_eq!(
        value(&container.metrics, "container_memory_working_set_bytes"),
        (
            1 << 20,
            vec![id.clone(), "app".to_string()],
            MetricType::Gauge as i32
        )
    );
    assert_eq!(value(&container.metrics, "container_processes").0, 1);
    let (cpu_total, _, kind) = value(&container.metrics, "container_cpu_usage_seconds_total");
    let (user, _, _) = value(&container.metrics, "container_cpu_user_seconds_total");
    let (system, _, _) = value(&container.metrics, "container_cpu_system_seconds_total");
    assert_eq!(
        (user + system, kind),
        (cpu_total, MetricType::Counter as i32)
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
