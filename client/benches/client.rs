//! What the wrapper costs over the generated client, against the in-process fake:
//! `Version` through both, a pod lifecycle through `run_containers`, and listing 100
//! containers with and without the client-side filters. Compare figures within one run.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Duration;

use cri_client::{Client, ListContainerOptions};
use cri_fake::fixtures;
use cri_proto::v1::{ContainerConfig, PodSandboxConfig, VersionRequest};
use criterion::{Criterion, criterion_group, criterion_main};

fn pod(name: &str) -> PodSandboxConfig {
    fixtures::pod(name)
        .uid(format!("uid-{name}"))
        .namespace("bench")
        .build()
}

fn sleeper(name: &str) -> ContainerConfig {
    fixtures::container(name)
        .image("docker.io/library/busybox:1.36")
        .command(["sleep", "1000"])
        .build()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let fake = rt.block_on(cri_fake::FakeRuntime::start()).expect("fake");
    let client = rt
        .block_on(Client::connect(fake.endpoint(), Duration::from_secs(5)))
        .expect("connect");

    let mut group = c.benchmark_group("version");
    group.bench_function("generated client", |b| {
        b.to_async(&rt).iter(|| {
            let mut raw = client.runtime_client();
            async move {
                raw.version(VersionRequest::default())
                    .await
                    .expect("version")
            }
        })
    });
    group.bench_function("cri-client", |b| {
        b.to_async(&rt)
            .iter(|| async { client.version().await.expect("version") })
    });
    group.finish();

    c.bench_function("pod lifecycle (run_containers, stop, remove)", |b| {
        b.to_async(&rt).iter(|| async {
            let run = client
                .run_containers(&pod("cycle"), &[sleeper("app")], "")
                .await
                .expect("run");
            client
                .stop_container(&run.container_ids[0], Duration::ZERO, true, false)
                .await
                .expect("stop");
            client.stop_pod(&run.pod_id).await.expect("stop pod");
            client.remove_pod(&run.pod_id).await.expect("remove pod");
        })
    });

    rt.block_on(async {
        for n in 0..10 {
            let configs: Vec<ContainerConfig> =
                (0..10).map(|i| sleeper(&format!("c{i}"))).collect();
            client
                .run_containers(&pod(&format!("list-{n}")), &configs, "")
                .await
                .expect("populate");
        }
    });
    let mut group = c.benchmark_group("list 100 containers");
    group.bench_function("no filter", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .list_containers(&ListContainerOptions::default())
                .await
                .expect("list")
        })
    });
    let filtered = ListContainerOptions {
        name_regexp: Some("^c[0-4]$".into()),
        pod_namespace_regexp: Some("^bench$".into()),
        image: Some("busybox:1.36".into()),
        ..Default::default()
    };
    group.bench_function("name + namespace + image filters", |b| {
        b.to_async(&rt)
            .iter(|| async { client.list_containers(&filtered).await.expect("list") })
    });
    group.finish();
    rt.block_on(fake.shutdown());
}

criterion_group!(client_benches, benches);
criterion_main!(client_benches);
