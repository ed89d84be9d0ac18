//! A pod's whole life through `cri-client`: run a pod with one container, exec in it,
//! list it, stop and remove everything.
//!
//! ```text
//! cargo run -p cri-client --example pod_lifecycle                      # against an in-process fake
//! cargo run -p cri-client --example pod_lifecycle -- unix:///run/containerd/containerd.sock
//! ```
//!
//! Against a real runtime the image `docker.io/library/busybox:1.36` must be pullable or
//! already present, and the pod uses host networking.

use std::time::Duration;

use cri_client::{Client, ListContainerOptions};
use cri_proto::v1::{
    ContainerConfig, ContainerMetadata, ImageSpec, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_fake, endpoint) = match std::env::args().nth(1) {
        Some(endpoint) => (None, endpoint),
        None => {
            let fake = cri_fake::FakeRuntime::start().await?;
            let endpoint = fake.endpoint().to_string();
            (Some(fake), endpoint)
        }
    };
    let client = Client::connect(endpoint.clone(), Duration::from_secs(5)).await?;
    let version = client.version().await?;
    println!(
        "{endpoint}: {} {} (CRI {})",
        version.runtime_name, version.runtime_version, version.runtime_api_version
    );

    let pod = PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: "example".into(),
            uid: format!("example-{}", std::process::id()),
            namespace: "default".into(),
            attempt: 0,
        }),
        linux: Some(LinuxPodSandboxConfig {
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network: NamespaceMode::Node as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let app = ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "app".into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: "docker.io/library/busybox:1.36".into(),
            ..Default::default()
        }),
        command: vec!["sleep".into(), "1000".into()],
        ..Default::default()
    };

    let run = client.run_containers(&pod, &[app], "").await?;
    println!("pod {} with container {}", run.pod_id, run.container_ids[0]);

    let out = client
        .exec_sync(
            &run.container_ids[0],
            ["sh", "-c", "echo hello from $(hostname)"],
            Duration::from_secs(5),
        )
        .await?;
    print!("exec: {}", out.stdout_lossy());

    let listed = client
        .list_containers(&ListContainerOptions {
            pod_id: Some(run.pod_id.clone()),
            ..Default::default()
        })
        .await?;
    println!("{} container(s) in the pod", listed.len());

    client
        .stop_container(&run.container_ids[0], Duration::from_secs(2), true, false)
        .await?;
    client.stop_pod(&run.pod_id).await?;
    client.remove_pod(&run.pod_id).await?;
    println!("stopped and removed");
    Ok(())
}
