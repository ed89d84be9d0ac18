//! The transports and the handle's lifecycle: sockets are private, answer when start
//! returns, and vanish with the fake.

use std::os::unix::fs::PermissionsExt;

use cri_fake::{FakeRuntime, Listen};
use cri_proto::v1::VersionRequest;

#[tokio::test]
async fn the_default_socket_lives_in_a_private_directory_and_is_removed_at_shutdown() {
    let fake = FakeRuntime::start().await.unwrap();
    let path = fake.socket_path().unwrap().to_path_buf();
    assert_eq!(fake.endpoint(), format!("unix://{}", path.display()));
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let dir = path.parent().unwrap().to_path_buf();
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    fake.runtime_client()
        .version(VersionRequest::default())
        .await
        .unwrap();
    fake.shutdown().await;
    assert!(!path.exists());
    assert!(!dir.exists());
}

#[tokio::test]
async fn dropping_the_handle_removes_the_socket() {
    let fake = FakeRuntime::start().await.unwrap();
    let path = fake.socket_path().unwrap().to_path_buf();
    drop(fake);
    assert!(!path.exists());
}

#[tokio::test]
async fn a_socket_at_a_given_path_and_tcp_on_loopback_both_serve() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/cri.sock");
    let fake = FakeRuntime::builder()
        .listen(Listen::UnixSocket(path.clone()))
        .start()
        .await
        .unwrap();
    let version = fake
        .runtime_client()
        .version(VersionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(version.runtime_api_version, "v1");
    let second = FakeRuntime::builder()
        .listen(Listen::UnixSocket(path.clone()))
        .start()
        .await;
    assert!(second.is_err(), "a live socket is not stolen");
    fake.shutdown().await;
    assert!(!path.exists());

    let tcp = FakeRuntime::builder()
        .listen(Listen::Tcp("127.0.0.1:0".parse().unwrap()))
        .start()
        .await
        .unwrap();
    assert!(tcp.endpoint().starts_with("tcp://127.0.0.1:"));
    tcp.runtime_client()
        .version(VersionRequest::default())
        .await
        .unwrap();
    let plain =
        tonic::transport::Endpoint::from_shared(tcp.endpoint().replace("tcp://", "http://"))
            .unwrap()
            .connect()
            .await
            .unwrap();
    cri_proto::RuntimeServiceClient::new(plain)
        .version(VersionRequest::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_in_memory_transport_needs_no_socket() {
    let fake = FakeRuntime::builder()
        .listen(Listen::InMemory)
        .start()
        .await
        .unwrap();
    assert_eq!(fake.endpoint(), "inmemory://");
    assert!(fake.socket_path().is_none());
    let version = fake
        .runtime_client()
        .version(VersionRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(version.runtime_name, "containerd");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_symlink_planted_at_the_socket_path_is_replaced_and_its_target_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("precious");
    std::fs::write(&precious, b"keep me").unwrap();
    std::fs::set_permissions(&precious, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path = dir.path().join("cri.sock");
    std::os::unix::fs::symlink(&precious, &path).unwrap();
    let fake = FakeRuntime::builder()
        .listen(Listen::UnixSocket(path.clone()))
        .start()
        .await
        .unwrap();
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()));
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read(&precious).unwrap(), b"keep me");
    assert_eq!(
        std::fs::metadata(&precious).unwrap().permissions().mode() & 0o777,
        0o644
    );
    fake.runtime_client()
        .version(VersionRequest::default())
        .await
        .unwrap();
    fake.shutdown().await;
    assert_eq!(std::fs::read(&precious).unwrap(), b"keep me");
}

#[tokio::test]
async fn a_regular_file_at_the_socket_path_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cri.sock");
    std::fs::write(&path, b"not a socket").unwrap();
    let err = FakeRuntime::builder()
        .listen(Listen::UnixSocket(path.clone()))
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{} exists and is not a socket", path.display())),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"not a socket");
}
