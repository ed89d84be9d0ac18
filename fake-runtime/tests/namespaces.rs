//! PID and IPC namespaces through gRPC: which processes a container sees (its own,
//! its pod's with `pause` as pid 1, or every host-PID container's), and the nginx
//! image's processes.

mod common;

use common::*;
use cri_proto::v1::*;

const NGINX: &str = "registry.k8s.io/e2e-test-images/nginx:1.14-2";

fn namespaces(pid: NamespaceMode, ipc: NamespaceMode) -> Option<NamespaceOption> {
    Some(NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: pid as i32,
        ipc: ipc as i32,
        ..Default::default()
    })
}

/// A container of `image` (its own command when `command` is empty) in the given
/// PID and IPC namespace modes.
fn config(
    name: &str,
    image: &str,
    command: &[&str],
    pid: NamespaceMode,
    ipc: NamespaceMode,
) -> ContainerConfig {
    let mut config = cri_fake::fixtures::container(name)
        .image(image)
        .command(command.iter().copied())
        .build();
    config.linux = Some(LinuxContainerConfig {
        security_context: Some(LinuxContainerSecurityContext {
            namespace_options: namespaces(pid, ipc),
            ..Default::default()
        }),
        ..Default::default()
    });
    config
}

async fn pod_with(
    env: &mut Env,
    name: &str,
    pid: NamespaceMode,
    ipc: NamespaceMode,
) -> (String, PodSandboxConfig) {
    env.img
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: NGINX.into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("PullImage");
    let mut pod = pod_config(name);
    pod.log_directory = env.log_dir.path().display().to_string();
    pod.linux = Some(LinuxPodSandboxConfig {
        security_context: Some(LinuxSandboxSecurityContext {
            namespace_options: namespaces(pid, ipc),
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = env.run_pod(pod.clone()).await;
    (id, pod)
}

async fn run(
    env: &mut Env,
    pod_id: &str,
    pod: &PodSandboxConfig,
    config: ContainerConfig,
) -> String {
    let id = env
        .create(pod_id, pod, config)
        .await
        .expect("CreateContainer");
    env.start(&id).await.expect("StartContainer");
    id
}

async fn out(env: &mut Env, id: &str, cmd: &[&str]) -> (i32, String) {
    let r = env.exec(id, cmd, 10).await.expect("ExecSync");
    (r.exit_code, String::from_utf8_lossy(&r.stdout).into_owned())
}

/// nginx's pid as it wrote it, once it has.
async fn nginx_pid(env: &mut Env, id: &str) -> String {
    let (code, pid) = out(
        env,
        id,
        &[
            "sh",
            "-c",
            "while [ ! -f /var/run/nginx.pid ]; do sleep 0.05; done; cat /var/run/nginx.pid",
        ],
    )
    .await;
    assert_eq!(code, 0);
    pid.trim().to_owned()
}

#[tokio::test]
async fn nginx_in_its_own_pid_namespace_is_pid_1_titled_master_process_and_serves_port_80() {
    let mut env = start().await;
    let (pod_id, pod) = pod_with(
        &mut env,
        "own",
        NamespaceMode::Container,
        NamespaceMode::Pod,
    )
    .await;
    let id = run(
        &mut env,
        &pod_id,
        &pod,
        config(
            "nginx",
            NGINX,
            &[],
            NamespaceMode::Container,
            NamespaceMode::Pod,
        ),
    )
    .await;
    assert_eq!(nginx_pid(&mut env, &id).await, "1");
    let (_, cmdline) = out(&mut env, &id, &["cat", "/proc/1/cmdline"]).await;
    assert_eq!(cmdline, "nginx: master process nginx -g daemon off;\0");
    let (_, comm) = out(&mut env, &id, &["cat", "/proc/1/comm"]).await;
    assert_eq!(comm, "nginx\n");
    let (code, page) = out(
        &mut env,
        &id,
        &["wget", "-q", "-O", "-", "http://127.0.0.1/"],
    )
    .await;
    assert_eq!(code, 0);
    assert!(page.contains("<title>Welcome to nginx!</title>"), "{page}");
    let (_, ps) = out(&mut env, &id, &["ps", "-o", "pid,args"]).await;
    assert!(
        ps.contains("    1 nginx: master process nginx -g daemon off;\n"),
        "{ps}"
    );
    assert!(ps.contains("    2 nginx: worker process\n"), "{ps}");
    // TERM is nginx's fast shutdown: status 0, pid file gone.
    env.stop(&id, 10).await.expect("StopContainer");
    let status = env.wait_state(&id, ContainerState::ContainerExited).await;
    assert_eq!(status.exit_code, 0);
}

#[tokio::test]
async fn containers_of_a_pod_pid_namespace_see_pause_as_pid_1_and_each_others_processes() {
    let mut env = start().await;
    let (pod_id, pod) = pod_with(&mut env, "shared", NamespaceMode::Pod, NamespaceMode::Pod).await;
    let nginx = run(
        &mut env,
        &pod_id,
        &pod,
        config("nginx", NGINX, &[], NamespaceMode::Pod, NamespaceMode::Pod),
    )
    .await;
    let pid = nginx_pid(&mut env, &nginx).await;
    assert_ne!(pid, "1");
    let (_, init) = out(&mut env, &nginx, &["cat", "/proc/1/cmdline"]).await;
    assert_eq!(init, "/pause\0");
    let other = run(
        &mut env,
        &pod_id,
        &pod,
        config(
            "bb",
            BUSYBOX,
            &["sleep", "60"],
            NamespaceMode::Pod,
            NamespaceMode::Pod,
        ),
    )
    .await;
    let (code, found) = out(&mut env, &other, &["pidof", "nginx"]).await;
    assert_eq!(code, 0);
    assert!(
        found.split_whitespace().any(|p| p == pid),
        "{found} lacks {pid}"
    );
    let (_, comm) = out(&mut env, &other, &["cat", &format!("/proc/{pid}/comm")]).await;
    assert_eq!(comm, "nginx\n");
    // A container with its own PID namespace in the same pod sees none of them.
    let alone = run(
        &mut env,
        &pod_id,
        &pod,
        config(
            "alone",
            BUSYBOX,
            &["sleep", "60"],
            NamespaceMode::Container,
            NamespaceMode::Pod,
        ),
    )
    .await;
    let (code, found) = out(&mut env, &alone, &["pidof", "nginx"]).await;
    assert_eq!((code, found.as_str()), (1, ""));
    let (_, init) = out(&mut env, &alone, &["cat", "/proc/1/cmdline"]).await;
    assert_eq!(init, "sleep\u{0}60\u{0}");
}

#[tokio::test]
async fn host_pid_containers_see_each_others_processes_by_host_pid_across_pods() {
    let mut env = start().await;
    let (web_pod, web_config) =
        pod_with(&mut env, "web", NamespaceMode::Node, NamespaceMode::Pod).await;
    let nginx = run(
        &mut env,
        &web_pod,
        &web_config,
        config("nginx", NGINX, &[], NamespaceMode::Node, NamespaceMode::Pod),
    )
    .await;
    let pid = nginx_pid(&mut env, &nginx).await;
    let host_pid: u32 = pid.parse().expect("numeric pid");
    assert!(host_pid > 1);
    let (other_pod, other_config) =
        pod_with(&mut env, "other", NamespaceMode::Node, NamespaceMode::Pod).await;
    let bb = run(
        &mut env,
        &other_pod,
        &other_config,
        config(
            "bb",
            BUSYBOX,
            &["sleep", "60"],
            NamespaceMode::Node,
            NamespaceMode::Pod,
        ),
    )
    .await;
    let (code, found) = out(&mut env, &bb, &["pidof", "nginx"]).await;
    assert_eq!(code, 0);
    assert!(
        found.split_whitespace().any(|p| p == pid),
        "{found} lacks {pid}"
    );
    // A pod-PID container does not see the host's processes.
    let (pod_pod, pod_config) =
        pod_with(&mut env, "podpid", NamespaceMode::Pod, NamespaceMode::Pod).await;
    let inside = run(
        &mut env,
        &pod_pod,
        &pod_config,
        config(
            "in",
            BUSYBOX,
            &["sleep", "60"],
            NamespaceMode::Pod,
            NamespaceMode::Pod,
        ),
    )
    .await;
    let (code, _) = out(&mut env, &inside, &["pidof", "nginx"]).await;
    assert_eq!(code, 1);
}

/// A System V shared memory segment on the real host, removed when dropped.
struct HostSegment(i32);

impl Drop for HostSegment {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID ignores the buffer argument.
        unsafe { libc::shmctl(self.0, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

#[tokio::test]
async fn ipcs_shows_the_hosts_segments_only_in_a_host_ipc_container() {
    // SAFETY: shmget takes no pointers.
    let id = unsafe { libc::shmget(libc::IPC_PRIVATE, 8192, libc::IPC_CREAT | 0o600) };
    assert!(id >= 0);
    let segment = HostSegment(id);
    let mut env = start().await;
    // The IPC namespace is the pod's choice: containers join their sandbox's.
    let sleep = ["sleep", "60"];
    let (host_pod, host_config) =
        pod_with(&mut env, "hostipc", NamespaceMode::Pod, NamespaceMode::Node).await;
    let host_container = config(
        "host",
        BUSYBOX,
        &sleep,
        NamespaceMode::Pod,
        NamespaceMode::Node,
    );
    let host = run(&mut env, &host_pod, &host_config, host_container).await;
    let (own_pod, own_config) =
        pod_with(&mut env, "podipc", NamespaceMode::Pod, NamespaceMode::Pod).await;
    let own_container = config(
        "own",
        BUSYBOX,
        &sleep,
        NamespaceMode::Pod,
        NamespaceMode::Pod,
    );
    let own = run(&mut env, &own_pod, &own_config, own_container).await;
    let row = format!("0x00000000 {:<10} ", segment.0);
    let (code, listing) = out(&mut env, &host, &["ipcs", "-m"]).await;
    assert_eq!(code, 0);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with(&row) && l.contains(" 8192 ")),
        "{listing}"
    );
    let (code, listing) = out(&mut env, &own, &["ipcs", "-m"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        listing,
        "\n------ Shared Memory Segments --------\n\
         key        shmid      owner      perms      bytes      nattch     status      \n\n"
    );
}
