//! The image catalog seen through the CRI: what critest's image specs pull and read
//! back, pulls that take modelled time and honour the client's deadline, and
//! containers that run their image's entrypoint.

mod common;

use std::time::{Duration, Instant};

use common::*;
use cri_fake::{FakeRuntime, PullPolicy};
use cri_proto::v1::*;
use tonic::Code;

const CRI_TOOLS: &str = "gcr.io/k8s-staging-cri-tools";

fn spec(image: &str) -> Option<ImageSpec> {
    Some(ImageSpec {
        image: image.into(),
        ..Default::default()
    })
}

impl Env {
    async fn pull(&mut self, image: &str) -> Result<String, tonic::Status> {
        self.img
            .pull_image(PullImageRequest {
                image: spec(image),
                ..Default::default()
            })
            .await
            .map(|r| r.into_inner().image_ref)
    }

    async fn image(&mut self, image: &str) -> Option<Image> {
        self.img
            .image_status(ImageStatusRequest {
                image: spec(image),
                verbose: false,
            })
            .await
            .expect("ImageStatus")
            .into_inner()
            .image
    }

    async fn images(&mut self) -> Vec<Image> {
        self.img
            .list_images(ListImagesRequest { filter: None })
            .await
            .expect("ListImages")
            .into_inner()
            .images
    }

    /// The verbose ContainerStatus `info` JSON.
    async fn verbose_info(&mut self, id: &str) -> serde_json::Value {
        let response = self
            .rt
            .container_status(ContainerStatusRequest {
                container_id: id.into(),
                verbose: true,
            })
            .await
            .expect("ContainerStatus")
            .into_inner();
        serde_json::from_str(&response.info["info"]).expect("info is JSON")
    }
}

/// A container of `image` with no command (the image's entrypoint and cmd run).
fn image_container(name: &str, image: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: spec(image),
        log_path: format!("{name}.log"),
        ..Default::default()
    }
}

/// A fake whose pulls answer at once, for tests that are not about pull timing.
async fn fast() -> Env {
    start_with(FakeRuntime::builder().pull_delay(Duration::ZERO)).await
}

#[tokio::test]
async fn image_status_reports_the_cri_tools_user_images_uid_or_username_as_containerd_does() {
    let mut env = fast().await;
    for (name, uid, username) in [
        ("test-image-user-uid", Some(1002), ""),
        ("test-image-user-username", None, "www-data"),
        ("test-image-user-uid-group", Some(1003), ""),
        ("test-image-user-username-group", None, "www-data"),
    ] {
        let reference = format!("{CRI_TOOLS}/{name}:latest");
        env.pull(&reference).await.expect("pull");
        let image = env.image(&reference).await.expect("pulled");
        assert_eq!(image.uid.map(|v| v.value), uid, "{name}");
        assert_eq!(image.username, username, "{name}");
        let listed = env.images().await;
        let listed = listed.iter().find(|i| i.id == image.id).expect("listed");
        assert_eq!(listed.uid, image.uid, "{name}");
        assert_eq!(listed.username, username, "{name}");
    }
    // An image without a user has neither.
    let busybox = env.image(BUSYBOX).await.expect("busybox");
    assert_eq!((busybox.uid, busybox.username.as_str()), (None, ""));
}

#[tokio::test]
async fn three_tags_of_one_image_pull_to_one_id_that_lists_all_three_tags() {
    let mut env = fast().await;
    let tags: Vec<String> = (1..=3)
        .map(|n| format!("{CRI_TOOLS}/test-image-tags:{n}"))
        .collect();
    let mut ids = Vec::new();
    for tag in &tags {
        ids.push(env.pull(tag).await.expect("pull"));
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[1], ids[2]);
    let images = env.images().await;
    let image = images.iter().find(|i| i.id == ids[0]).expect("listed");
    assert_eq!(image.repo_tags, tags);
    assert_eq!(images.len(), 3, "busybox, pause and the one test image");
    // Different images have different ids, one tag each.
    let mut others = Vec::new();
    for n in 1..=3 {
        let tag = format!("{CRI_TOOLS}/test-image-{n}:latest");
        let id = env.pull(&tag).await.expect("pull");
        let image = env.image(&id).await.expect("pulled");
        assert_eq!(image.repo_tags, [tag]);
        others.push(id);
    }
    others.sort();
    others.dedup();
    assert_eq!(others.len(), 3);
}

#[tokio::test]
async fn an_image_pulled_by_digest_has_that_repo_digest_and_no_tag() {
    let mut env = fast().await;
    let reference = format!(
        "{CRI_TOOLS}/test-image-digest@sha256:9700f9a2f5bf2c45f2f605a0bd3bce7cf37420ec9d3ed50ac2758413308766bf"
    );
    let id = env.pull(&reference).await.expect("pull");
    let image = env.image(&reference).await.expect("pulled");
    assert_eq!(image.id, id);
    assert!(image.repo_tags.is_empty(), "{:?}", image.repo_tags);
    assert_eq!(image.repo_digests, [reference.as_str()]);
    env.img
        .remove_image(RemoveImageRequest { image: spec(&id) })
        .await
        .expect("RemoveImage");
    assert_eq!(env.image(&reference).await, None);
}

#[tokio::test]
async fn image_status_is_the_same_by_id_tag_and_repo_digest() {
    let mut env = fast().await;
    let reference = format!("{CRI_TOOLS}/test-image-tag:all");
    env.pull(&reference).await.expect("pull");
    let status = env.image(&reference).await.expect("pulled");
    assert_eq!(status.repo_tags, [reference]);
    assert_eq!(status.repo_digests.len(), 1);
    assert!(
        status.repo_digests[0].starts_with(&format!("{CRI_TOOLS}/test-image-tag@sha256:")),
        "{:?}",
        status.repo_digests
    );
    for name in [status.id.clone(), status.repo_digests[0].clone()] {
        assert_eq!(env.image(&name).await.as_ref(), Some(&status), "{name}");
    }
    // The other tag of that repository is another image.
    let test = env
        .pull(&format!("{CRI_TOOLS}/test-image-tag:test"))
        .await
        .expect("pull");
    assert_ne!(test, status.id);
}

#[tokio::test]
async fn a_pulled_pause_image_has_its_published_digest_id_size_and_user() {
    let mut env = fast().await;
    let id = env.pull("registry.k8s.io/pause:3.9").await.expect("pull");
    assert_eq!(
        id,
        "sha256:e6f1816883972d4be47bd48879a08919b96afcd344132622e4d444987919323c"
    );
    let image = env
        .image("registry.k8s.io/pause:3.9")
        .await
        .expect("pulled");
    assert_eq!(image.repo_tags, ["registry.k8s.io/pause:3.9"]);
    assert_eq!(
        image.repo_digests,
        [
            "registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"
        ]
    );
    assert_eq!(image.size, 321520);
    assert_eq!(image.uid.map(|v| v.value), Some(65535));
}

#[tokio::test]
async fn verbose_image_status_shows_the_web_servers_config_and_exposed_port() {
    let mut env = fast().await;
    let reference = "registry.k8s.io/e2e-test-images/httpd:2.4.39-4";
    env.pull(reference).await.expect("pull");
    let response = env
        .img
        .image_status(ImageStatusRequest {
            image: spec(reference),
            verbose: true,
        })
        .await
        .expect("ImageStatus")
        .into_inner();
    let info: serde_json::Value = serde_json::from_str(&response.info["info"]).unwrap();
    assert_eq!(
        info["imageSpec"]["config"],
        serde_json::json!({
            "ExposedPorts": {"80/tcp": {}},
            "Env": [
                "PATH=/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HTTPD_PREFIX=/usr/local/apache2",
                "HTTPD_VERSION=2.4.39"
            ],
            "Cmd": ["httpd-foreground"],
            "WorkingDir": "/usr/local/apache2",
            "Labels": {"image_version": "2.4.39-4"}
        })
    );
    assert_eq!(
        response.image.expect("pulled").repo_digests,
        [
            "registry.k8s.io/e2e-test-images/httpd@sha256:3fe7acf013d1264ffded116b80a73dc129a449b0fccdb8d21af8279f2233f36e"
        ]
    );
}

#[tokio::test]
async fn a_pull_takes_the_configured_delay_and_an_invalid_reference_fails_at_once() {
    let delay = Duration::from_millis(300);
    let mut env = start_with(FakeRuntime::builder().pull_delay(delay)).await;
    let started = Instant::now();
    env.pull("alpine:3.19").await.expect("pull");
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    // Pulling what is present goes to the registry again: the same delay.
    let started = Instant::now();
    env.pull("alpine:3.19").await.expect("pull");
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    let mut slow = start_with(FakeRuntime::builder().pull_delay(Duration::from_secs(600))).await;
    assert_status(
        tokio::time::timeout(Duration::from_secs(60), slow.pull("UPPER/Case:1"))
            .await
            .expect("answers without waiting for the pull delay"),
        Code::Unknown,
        "failed to parse image reference \"UPPER/Case:1\": invalid reference format: \
         repository name (Case) must be lowercase",
    );
}

#[tokio::test]
async fn an_offline_pull_fails_after_the_delay_like_a_registry_that_cannot_be_reached() {
    let delay = Duration::from_millis(200);
    let mut env = start_with(
        FakeRuntime::builder()
            .pull_delay(delay)
            .pull_policy(PullPolicy::Offline),
    )
    .await;
    let started = Instant::now();
    let result = env.pull("busybox:1.36").await;
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert_status(
        result,
        Code::Unknown,
        "failed to pull and unpack image \"docker.io/library/busybox:1.36\": failed to resolve image: \
         failed to do request: Head \"https://registry-1.docker.io/v2/library/busybox/manifests/1.36\": \
         dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host",
    );
}

#[tokio::test]
async fn a_pull_whose_deadline_expires_first_is_abandoned_and_pulls_nothing() {
    let delay = Duration::from_millis(200);
    let mut env = start_with(FakeRuntime::builder().pull_delay(delay)).await;
    let reference = format!("{CRI_TOOLS}/test-image-tag:test");
    // critest: a 1 ms deadline. grpc-go (and grpcio) end such a call themselves with
    // DEADLINE_EXCEEDED; a tonic client leaves it to the server, whose gRPC layer answers
    // CANCELLED `Timeout expired` (containerd 2.3's grpc-go resets the stream with
    // CANCEL at the deadline, which tonic also reports as CANCELLED).
    let mut request = tonic::Request::new(PullImageRequest {
        image: spec(&reference),
        ..Default::default()
    });
    request.set_timeout(Duration::from_millis(1));
    assert_status(
        env.img.pull_image(request).await,
        Code::Cancelled,
        "Timeout expired",
    );
    // A client-side deadline (what grpc-go does) gives DEADLINE_EXCEEDED's elapsed error.
    let client_side = tokio::time::timeout(Duration::from_millis(1), env.pull(&reference)).await;
    assert!(client_side.is_err(), "the pull outlasts a 1 ms deadline");
    // Nothing lands later either.
    tokio::time::sleep(delay * 2).await;
    assert_eq!(env.image(&reference).await, None);
    assert_eq!(env.images().await.len(), 2);
    let calls = env.fake.journal().calls_to(cri_fake::Method::PullImage);
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|call| call.outcome == cri_fake::Outcome::Cancelled),
        "{calls:?}"
    );
    // With time to finish, the same pull succeeds.
    let mut request = tonic::Request::new(PullImageRequest {
        image: spec(&reference),
        ..Default::default()
    });
    request.set_timeout(Duration::from_secs(60));
    env.img.pull_image(request).await.expect("pull");
    assert!(env.image(&reference).await.is_some());
}

#[tokio::test]
async fn a_container_without_a_command_runs_the_images_entrypoint_and_cmd() {
    let mut env = fast().await;
    let (pod_id, pod) = env.pod("entrypoints").await;
    for (image, args) in [
        (
            "registry.k8s.io/e2e-test-images/httpd:2.4.39-4",
            vec!["httpd-foreground"],
        ),
        (
            "registry.k8s.io/e2e-test-images/nginx:1.14-2",
            vec!["nginx", "-g", "daemon off;"],
        ),
        (
            "docker.io/library/nginx:1.25.0",
            vec!["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"],
        ),
        (
            "registry.k8s.io/e2e-test-images/agnhost:2.53",
            vec!["/agnhost", "pause"],
        ),
    ] {
        env.pull(image).await.expect("pull");
        let name = image.rsplit('/').next().unwrap().replace([':', '.'], "-");
        let id = env
            .create(&pod_id, &pod, image_container(&name, image))
            .await
            .expect("CreateContainer");
        let info = env.verbose_info(&id).await;
        assert_eq!(
            info["runtimeSpec"]["process"]["args"],
            serde_json::json!(args),
            "{image}"
        );
    }
    // containerd: a command replaces the entrypoint (and the cmd), args replace the cmd.
    let image = "docker.io/library/nginx:1.25.0";
    let mut config = image_container("override-command", image);
    config.command = vec!["sh".into()];
    let id = env.create(&pod_id, &pod, config).await.unwrap();
    let info = env.verbose_info(&id).await;
    assert_eq!(
        info["runtimeSpec"]["process"]["args"],
        serde_json::json!(["sh"])
    );
    let mut config = image_container("override-args", image);
    config.args = vec!["nginx-debug".into()];
    let id = env.create(&pod_id, &pod, config).await.unwrap();
    let info = env.verbose_info(&id).await;
    assert_eq!(
        info["runtimeSpec"]["process"]["args"],
        serde_json::json!(["/docker-entrypoint.sh", "nginx-debug"])
    );
}

#[tokio::test]
async fn web_server_images_carry_the_script_that_starts_the_simulated_httpd() {
    let mut env = fast().await;
    let (pod_id, pod) = env.pod("scripts").await;
    for (image, script, server) in [
        (
            "registry.k8s.io/e2e-test-images/httpd:2.4.39-4",
            "/usr/local/bin/httpd-foreground",
            "httpd -f -p 80 -h /usr/local/apache2/htdocs &",
        ),
        (
            "gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64:latest",
            "/usr/sbin/nginx",
            "httpd -f -p 12003 -h /usr/share/nginx/html &",
        ),
    ] {
        env.pull(image).await.expect("pull");
        let name = image.rsplit('/').next().unwrap().replace([':', '.'], "-");
        let mut config = image_container(&name, image);
        config.command = vec!["sleep".into(), "1000".into()];
        let id = env.create(&pod_id, &pod, config).await.unwrap();
        env.start(&id).await.unwrap();
        let out = env.exec(&id, &["cat", script], 0).await.unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"), "{image}: {text}");
        assert!(text.lines().any(|line| line == server), "{image}: {text}");
        assert_eq!(text.lines().last(), Some("wait $!"), "{image}");
        let out = env
            .exec(
                &id,
                &["sh", "-c", "test -x \"$0\" && echo executable", script],
                0,
            )
            .await
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "executable\n");
    }
}

#[tokio::test]
async fn agnhost_pause_runs_until_sigterm_and_then_exits_zero() {
    let mut env = fast().await;
    let (pod_id, pod) = env.pod("agnhost").await;
    let image = "registry.k8s.io/e2e-test-images/agnhost:2.53";
    env.pull(image).await.expect("pull");
    let id = env
        .create(&pod_id, &pod, image_container("agnhost", image))
        .await
        .unwrap();
    env.start(&id).await.unwrap();
    let running = env.status(&id).await.unwrap();
    assert_eq!(running.state, ContainerState::ContainerRunning as i32);
    env.stop(&id, 10).await.unwrap();
    let status = env.wait_state(&id, ContainerState::ContainerExited).await;
    assert_eq!((status.exit_code, status.reason.as_str()), (0, "Completed"));
    let log = std::fs::read_to_string(env.log_dir.path().join("agnhost.log")).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .map(|line| line.splitn(4, ' ').nth(3).unwrap_or_default())
        .collect();
    assert_eq!(
        lines,
        [
            "Paused",
            "Shutting down after receiving signal: terminated."
        ]
    );
}

#[tokio::test]
async fn the_predefined_group_image_merges_its_etc_group_into_the_supplemental_groups() {
    let mut env = fast().await;
    let (pod_id, pod) = env.pod("groups").await;
    let image = format!("{CRI_TOOLS}/test-image-predefined-group:latest");
    env.pull(&image).await.expect("pull");
    let mut config = image_container("merge", &image);
    config.command = vec!["sh".into(), "-c".into(), "id -G; sleep 1000".into()];
    config.linux = Some(LinuxContainerConfig {
        security_context: Some(LinuxContainerSecurityContext {
            run_as_user: Some(Int64Value { value: 1000 }),
            supplemental_groups: vec![1234],
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = env.create(&pod_id, &pod, config).await.unwrap();
    env.start(&id).await.unwrap();
    let out = env.exec(&id, &["id", "-G"], 0).await.unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "1000 1234 50000\n");
    let out = env.exec(&id, &["id", "-un"], 0).await.unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "default-user\n");
    let user = env.status(&id).await.unwrap().user.and_then(|u| u.linux);
    let mut user = user.expect("2.3 reports the user");
    user.supplemental_groups.sort();
    assert_eq!(
        (user.uid, user.gid, user.supplemental_groups),
        (1000, 1000, vec![1000, 1234, 50000])
    );
}

#[tokio::test]
async fn the_binary_config_adds_images_with_files_and_ports_and_sets_the_pull_delay() {
    let config = cri_fake::config::Config::parse(
        r##"
[settings]
pull_delay = "250ms"

[[images]]
reference = "myorg/web:1"
env = ["PATH=/usr/bin:/bin"]
cmd = ["serve"]
exposed_ports = ["8080/tcp"]

[[images.files]]
path = "/usr/bin/serve"
mode = 0o755
contents = "#!/bin/sh\necho serving\n"
"##,
    )
    .expect("valid config");
    let builder = config.apply(FakeRuntime::builder());
    assert_eq!(
        builder.current_settings().pull_delay,
        Duration::from_millis(250)
    );
    let mut env = start_with(builder.pull_delay(Duration::ZERO)).await;
    let image = env.image("myorg/web:1").await.expect("added");
    assert_eq!(image.repo_tags, ["docker.io/myorg/web:1"]);
    let (pod_id, pod) = env.pod("web").await;
    let id = env
        .create(&pod_id, &pod, image_container("web", "myorg/web:1"))
        .await
        .unwrap();
    env.start(&id).await.unwrap();
    let status = env.wait_state(&id, ContainerState::ContainerExited).await;
    assert_eq!(status.exit_code, 0);
    let log = std::fs::read_to_string(env.log_dir.path().join("web.log")).unwrap();
    assert!(log.ends_with(" stdout F serving\n"), "{log}");
}

#[tokio::test]
async fn a_config_file_entry_that_is_not_exactly_one_kind_is_refused_with_its_line() {
    let error = cri_fake::config::Config::parse(
        "[[images]]\nreference = \"a:1\"\n[[images.files]]\npath = \"/x\"\n",
    )
    .unwrap_err();
    assert_eq!(error.line, Some(1));
    assert!(
        error.message.ends_with(
            "file \"/x\" needs exactly one of `contents`, `target`, `directory = true` or `program`\n"
        ),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn the_httpd_image_logs_apaches_server_name_notice_to_stderr_as_it_starts() {
    let mut env = fast().await;
    let (pod_id, pod) = env.pod("httpd").await;
    let image = "registry.k8s.io/e2e-test-images/httpd:2.4.39-4";
    env.pull(image).await.expect("pull");
    let id = env
        .create(&pod_id, &pod, image_container("httpd", image))
        .await
        .unwrap();
    env.start(&id).await.unwrap();
    let path = env.log_dir.path().join("httpd.log");
    let mut first = None;
    for _ in 0..2000 {
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(line) = log.lines().next() {
            first = Some(line.splitn(4, ' ').skip(1).collect::<Vec<_>>().join(" "));
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        first.as_deref(),
        Some(
            "stderr F AH00558: httpd: Could not reliably determine the server's fully qualified \
             domain name, using 127.0.1.1. Set the 'ServerName' directive globally to suppress \
             this message"
        )
    );
}

/// A pod with its own network namespace, so that each pod's web server has port 80.
async fn own_network_pod(env: &mut Env, name: &str) -> (String, PodSandboxConfig) {
    let mut config = pod_config(name);
    config.log_directory = env.log_dir.path().display().to_string();
    if let Some(ns) = config
        .linux
        .as_mut()
        .and_then(|l| l.security_context.as_mut())
        .and_then(|s| s.namespace_options.as_mut())
    {
        ns.network = NamespaceMode::Pod as i32;
    }
    let id = env.run_pod(config.clone()).await;
    (id, config)
}

#[tokio::test]
async fn web_server_images_started_without_a_command_stay_running_and_serve_their_page() {
    let mut env = fast().await;
    for (n, (image, port, page)) in [
        (
            "registry.k8s.io/e2e-test-images/httpd:2.4.39-4",
            80,
            "<html><body><h1>It works!</h1></body></html>\n",
        ),
        (
            "docker.io/library/httpd:2.4",
            80,
            "<html><body><h1>It works!</h1></body></html>\n",
        ),
        (
            "registry.k8s.io/e2e-test-images/nginx:1.14-2",
            80,
            "<title>Welcome to nginx!</title>",
        ),
        (
            "docker.io/library/nginx:1.25.0",
            80,
            "<title>Welcome to nginx!</title>",
        ),
        (
            "gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64:latest",
            12003,
            "<title>Welcome to nginx!</title>",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (pod_id, pod) = own_network_pod(&mut env, &format!("web-{n}")).await;
        env.pull(image).await.expect("pull");
        let id = env
            .create(&pod_id, &pod, image_container(&format!("web-{n}"), image))
            .await
            .unwrap();
        env.start(&id).await.unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        let mut body = None;
        for _ in 0..200 {
            let r = env
                .exec(&id, &["wget", "-q", "-O", "-", &url], 0)
                .await
                .unwrap();
            if r.exit_code == 0 {
                body = Some(String::from_utf8(r.stdout).unwrap());
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let body = body.unwrap_or_else(|| panic!("{image} never answered on {port}"));
        assert!(body.contains(page), "{image}: {body}");
        let status = env.status(&id).await.unwrap();
        assert_eq!(
            status.state,
            ContainerState::ContainerRunning as i32,
            "{image}"
        );
        let ps = env.exec(&id, &["ps", "-o", "args"], 0).await.unwrap();
        let ps = String::from_utf8(ps.stdout).unwrap();
        // nginx 1.14-2 runs the simulated nginx (its master and worker processes);
        // the others a script starting the simulated httpd.
        let server = if image == "registry.k8s.io/e2e-test-images/nginx:1.14-2" {
            ps.lines()
                .any(|l| l == "nginx: master process nginx -g daemon off;")
                && ps.lines().any(|l| l == "nginx: worker process")
        } else {
            ps.lines()
                .any(|l| l.starts_with(&format!("httpd -f -p {port} -h ")))
        };
        assert!(server, "{image}:\n{ps}");
        // The image's stop signal (SIGTERM, SIGQUIT for nginx 1.25, SIGWINCH for httpd
        // 2.4) stops the server the way the real one exits: 0, at once.
        let started = Instant::now();
        env.stop(&id, 30).await.unwrap();
        let status = env.wait_state(&id, ContainerState::ContainerExited).await;
        assert_eq!(
            (status.exit_code, status.reason.as_str()),
            (0, "Completed"),
            "{image}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{image}: {:?}",
            started.elapsed()
        );
    }
}
