//! Pods' host ports as real sockets on the machine: port mappings, ports that
//! host-network pods listen on, and pods on a loopback pod network, with a
//! `host_port_address` set (the binary's default).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::*;
use cri_fake::FakeRuntime;
use cri_proto::v1::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WEB_SERVER: &[&str] = &[
    "sh",
    "-c",
    "mkdir /www && echo hello from the pod > /www/index.html && httpd -f -p 8080 -h /www",
];

/// A port the machine has free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn with_real_ports(pod_cidr: &str) -> cri_fake::FakeRuntimeBuilder {
    FakeRuntime::builder()
        .host_port_address(Some(Ipv4Addr::LOCALHOST.into()))
        .pod_cidr(pod_cidr)
}

/// GETs `/index.html` from `addr` over a real TCP connection, retrying while the
/// server starts; the whole response.
async fn http_get(addr: SocketAddr) -> String {
    for _ in 0..100 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            stream
                .write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
                .await
                .unwrap();
            let mut response = Vec::new();
            let _ = stream.read_to_end(&mut response).await;
            if !response.is_empty() {
                return String::from_utf8_lossy(&response).into_owned();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("nothing answered on {addr}");
}

/// A pod with its own network namespace, logging to `log_dir`.
fn pod_network_pod(name: &str, log_dir: &std::path::Path) -> PodSandboxConfig {
    let mut config = cri_fake::fixtures::pod(name)
        .namespace("test")
        .network(NamespaceMode::Pod)
        .build();
    config.log_directory = log_dir.display().to_string();
    config
}

#[tokio::test]
async fn a_port_mapping_with_a_host_port_reaches_the_pods_server_until_the_pod_stops() {
    let mut env = start_with(with_real_ports("127.90.0.0/24")).await;
    let host_port = free_port();
    let mut config = pod_network_pod("mapped", env.log_dir.path());
    config.port_mappings = vec![PortMapping {
        protocol: Protocol::Tcp as i32,
        container_port: 8080,
        host_port: i32::from(host_port),
        host_ip: String::new(),
    }];
    let pod_id = env.run_pod(config.clone()).await;
    env.running(&pod_id, &config, "web", WEB_SERVER).await;

    let response = http_get((Ipv4Addr::LOCALHOST, host_port).into()).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with("\r\n\r\nhello from the pod\n"),
        "{response}"
    );

    env.rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod_id,
        })
        .await
        .unwrap();
    let refused = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, host_port))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn a_pod_on_a_loopback_pod_network_is_reachable_at_its_ip() {
    let mut env = start_with(with_real_ports("127.91.0.0/24")).await;
    let config = pod_network_pod("reachable", env.log_dir.path());
    let pod_id = env.run_pod(config.clone()).await;
    env.running(&pod_id, &config, "web", WEB_SERVER).await;
    let status = env
        .rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod_id,
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    let ip = status.network.unwrap().ip;
    assert_eq!(ip, "127.91.0.2");

    let response = http_get(SocketAddr::new(ip.parse().unwrap(), 8080)).await;
    assert!(
        response.ends_with("\r\n\r\nhello from the pod\n"),
        "{response}"
    );
}

#[tokio::test]
async fn a_host_network_pods_listener_is_a_real_port_and_a_port_the_machine_holds_is_in_use() {
    let mut env = start_with(with_real_ports("127.92.0.0/24")).await;
    let (pod_id, config) = env.pod("hostnet").await;
    let port = free_port();
    let script = format!("echo hi from the node | nc -l -p {port}");
    let id = env
        .running(&pod_id, &config, "listener", &["sh", "-c", &script])
        .await;
    let mut received = String::new();
    for _ in 0..100 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await {
            stream.read_to_string(&mut received).await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(received, "hi from the node\n");
    env.wait_state(&id, ContainerState::ContainerExited).await;

    let held = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let held_port = held.local_addr().unwrap().port();
    let busy = env
        .running(&pod_id, &config, "busy", &["sleep", "1000"])
        .await;
    let out = env
        .exec(&busy, &["nc", "-l", "-p", &held_port.to_string()], 5)
        .await
        .unwrap();
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice(), out.exit_code),
        (&b""[..], &b"nc: bind: Address already in use\n"[..], 1)
    );
    drop(held);
}

#[tokio::test]
async fn netstat_on_a_mirrored_node_network_lists_a_simulated_listener_once() {
    let mut env = start_with(with_real_ports("127.93.0.0/24")).await;
    let (pod_id, config) = env.pod("listed").await;
    let port = free_port();
    let script = format!("nc -l -p {port} & sleep 1000");
    let id = env
        .running(&pod_id, &config, "listener", &["sh", "-c", &script])
        .await;
    let needle = format!(":{port} ");
    let mut lines = Vec::new();
    for _ in 0..100 {
        let out = env.exec(&id, &["netstat", "-ltn"], 5).await.unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        lines = text
            .lines()
            .filter(|l| l.contains(&needle))
            .map(str::to_owned)
            .collect();
        if !lines.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("tcp "), "{lines:?}");
    assert!(lines[0].ends_with(" LISTEN      "), "{lines:?}");
}
