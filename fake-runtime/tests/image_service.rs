//! ListImages, ImageStatus, PullImage, RemoveImage and ImageFsInfo over a real socket
//! (reference §1, §8).

mod common;

use common::*;
use cri_fake::{Profile, PullPolicy};
use cri_proto::v1::*;
use tonic::Code;

const BUSYBOX_ID: &str = "sha256:10157d048594c42d40d2a9acd4c84747a65d27249564ca66980799592e79d18b";

fn spec(image: &str) -> Option<ImageSpec> {
    Some(ImageSpec {
        image: image.into(),
        ..Default::default()
    })
}

async fn image_status(env: &mut Env, image: &str) -> Result<Option<Image>, tonic::Status> {
    env.img
        .image_status(ImageStatusRequest {
            image: spec(image),
            verbose: false,
        })
        .await
        .map(|r| r.into_inner().image)
}

#[tokio::test]
async fn the_catalog_lists_busybox_and_the_pause_image_tagged_as_each_releases_sandbox_image() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let mut images = env
            .img
            .list_images(ListImagesRequest { filter: None })
            .await
            .unwrap()
            .into_inner()
            .images;
        images.sort_by(|a, b| a.id.cmp(&b.id));
        let busybox = images.iter().find(|i| i.id == BUSYBOX_ID).expect("busybox");
        assert_eq!(busybox.repo_tags, ["docker.io/library/busybox:1.36"]);
        assert_eq!(busybox.size, 1_029_475);
        assert!(busybox.repo_digests.is_empty());
        let pause = match profile {
            Profile::Containerd23 => "registry.k8s.io/pause:3.10.2",
            Profile::Containerd16 => "registry.k8s.io/pause:3.6",
        };
        assert!(images.iter().any(|i| i.repo_tags == [pause]), "{images:?}");
        assert_eq!(images.len(), 2);
        let filtered = env
            .img
            .list_images(ListImagesRequest {
                filter: Some(ImageFilter {
                    image: spec("nope:1"),
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .images;
        assert_eq!(
            filtered.len(),
            images.len(),
            "containerd ignores the filter"
        );
    }
}

#[tokio::test]
async fn image_status_resolves_short_names_and_id_prefixes_and_absent_is_ok() {
    let mut env = start().await;
    for name in [
        "busybox:1.36",
        "library/busybox:1.36",
        "docker.io/busybox:1.36",
        "docker.io/library/busybox:1.36",
        BUSYBOX_ID,
        &BUSYBOX_ID[7..],
        "10157d048594",
        "sha256:10157d048594",
    ] {
        let image = image_status(&mut env, name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} resolves"));
        assert_eq!(image.id, BUSYBOX_ID);
    }
    for absent in [
        "busybox",
        "docker.io/library/nope:1",
        "UPPER:x",
        "pause:3.6",
    ] {
        assert_eq!(
            image_status(&mut env, absent).await.unwrap(),
            None,
            "{absent}"
        );
    }
    assert_status(
        image_status(&mut env, "").await,
        Code::Unknown,
        "can not resolve \"\" locally: ambiguous digest string",
    );
    let verbose = env
        .img
        .image_status(ImageStatusRequest {
            image: spec("busybox:1.36"),
            verbose: true,
        })
        .await
        .unwrap()
        .into_inner();
    let info: serde_json::Value = serde_json::from_str(&verbose.info["info"]).unwrap();
    assert!(info["chainID"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(
        info["imageSpec"]["config"]["Cmd"],
        serde_json::json!(["sh"])
    );
}

#[tokio::test]
async fn pulls_are_simulated_by_default_and_fail_like_offline_containerd_when_asked() {
    let mut env = start().await;
    let image_ref = env
        .img
        .pull_image(PullImageRequest {
            image: spec("nginx:1.25"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .image_ref;
    assert!(
        image_ref.starts_with("sha256:") && image_ref.len() == 71,
        "{image_ref}"
    );
    let again = env
        .img
        .pull_image(PullImageRequest {
            image: spec("docker.io/library/nginx:1.25"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .image_ref;
    assert_eq!(again, image_ref, "deterministic id");
    assert_eq!(
        image_status(&mut env, "nginx:1.25")
            .await
            .unwrap()
            .unwrap()
            .id,
        image_ref
    );
    for profile in Profile::ALL {
        let mut env = start_profile(profile).await;
        let lowercase = match profile {
            Profile::Containerd23 => "repository name (Case) must be lowercase",
            Profile::Containerd16 => "repository name must be lowercase",
        };
        assert_status(
            env.img
                .pull_image(PullImageRequest {
                    image: spec("UPPER/Case:1"),
                    ..Default::default()
                })
                .await,
            Code::Unknown,
            &format!(
                "failed to parse image reference \"UPPER/Case:1\": invalid reference format: {lowercase}"
            ),
        );
    }
    assert_status(
        env.img
            .pull_image(PullImageRequest {
                image: spec(""),
                ..Default::default()
            })
            .await,
        Code::Unknown,
        "failed to parse image reference \"\": invalid reference format",
    );

    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut offline = start_with(
            cri_fake::FakeRuntime::builder()
                .profile(profile)
                .pull_policy(PullPolicy::Offline),
        )
        .await;
        // 1.6 names the reference it failed to resolve, 2.3 does not.
        assert_status(
            offline
                .img
                .pull_image(PullImageRequest {
                    image: spec("alpine:3.19"),
                    ..Default::default()
                })
                .await,
            Code::Unknown,
            match profile {
                Profile::Containerd23 => {
                    "failed to pull and unpack image \"docker.io/library/alpine:3.19\": failed to resolve image: failed to do request: Head \"https://registry-1.docker.io/v2/library/alpine/manifests/3.19\": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host"
                }
                Profile::Containerd16 => {
                    "failed to pull and unpack image \"docker.io/library/alpine:3.19\": failed to resolve reference \"docker.io/library/alpine:3.19\": failed to do request: Head \"https://registry-1.docker.io/v2/library/alpine/manifests/3.19\": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host"
                }
            },
        );
    }
}

#[tokio::test]
async fn remove_image_removes_every_tag_even_while_a_container_uses_it() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, config) = env.pod("img").await;
        let id = env.running(&pod, &config, "c", &["sleep", "1000"]).await;
        env.img
            .remove_image(RemoveImageRequest {
                image: spec("10157d048594"),
            })
            .await
            .unwrap();
        assert_eq!(image_status(&mut env, "busybox:1.36").await.unwrap(), None);
        env.img
            .remove_image(RemoveImageRequest {
                image: spec("busybox:1.36"),
            })
            .await
            .unwrap();
        assert_eq!(
            env.exec(&id, &["echo", "still"], 5).await.unwrap().stdout,
            b"still\n"
        );
        let status = env.status(&id).await.unwrap();
        assert_eq!(
            status.image.unwrap().image,
            "busybox:1.36",
            "the request's string once the image is gone"
        );
        assert_eq!(status.image_ref, BUSYBOX_ID);
        assert_status(
            env.create(&pod, &config, container_config("again", &["true"]))
                .await,
            Code::NotFound,
            match profile {
                Profile::Containerd23 => {
                    "failed to check if this is a checkpoint image: failed to resolve image \"busybox:1.36\": not found"
                }
                Profile::Containerd16 => "failed to resolve image \"busybox:1.36\": not found",
            },
        );
        assert_status(
            env.img
                .remove_image(RemoveImageRequest { image: spec("") })
                .await,
            Code::Unknown,
            "can not resolve \"\" locally: ambiguous digest string",
        );
    }
}

#[tokio::test]
async fn image_fs_info_reports_one_snapshotter_filesystem() {
    let mut env = start().await;
    let info = env
        .img
        .image_fs_info(ImageFsInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.image_filesystems.len(), 1);
    let fs = &info.image_filesystems[0];
    assert_eq!(
        fs.fs_id.as_ref().unwrap().mountpoint,
        "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs"
    );
    assert!(fs.timestamp > 0);
    assert!(fs.used_bytes.as_ref().unwrap().value >= 1_029_475);
    assert!(info.container_filesystems.is_empty());
}
