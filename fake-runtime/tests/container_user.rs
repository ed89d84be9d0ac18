//! ContainerStatus `user` and `image_id`, ListContainers `image_id`, the users
//! CreateContainer refuses, and the pinned sandbox image, for both profiles.
//!
//! The values marked "measured" were read from a real containerd 2.3.4 with the same
//! busybox image (`/etc/passwd`, `/etc/group` as the fake's); containerd 1.6.20 predates
//! `ContainerStatus.user`, `image_id` and pinning, and fails CreateContainer the same way.
// Helpers outside #[test] functions unwrap too: a panic fails the test.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cri_fake::images::Image;
use cri_fake::{FakeRuntime, Profile, Settings};
use cri_proto::v1::*;
use tonic::Code;

const BUSYBOX_ID: &str = "sha256:10157d048594c42d40d2a9acd4c84747a65d27249564ca66980799592e79d18b";
const PAUSE_ID: &str = "sha256:cc9eed72073e2265f4a224b3cedaf5f4b168fdf6e3af18bfdd06d59c0d957d11";

/// A security context with the user fields set.
fn security(
    username: &str,
    uid: Option<i64>,
    gid: Option<i64>,
    groups: &[i64],
) -> LinuxContainerSecurityContext {
    LinuxContainerSecurityContext {
        run_as_username: username.into(),
        run_as_user: uid.map(|value| Int64Value { value }),
        run_as_group: gid.map(|value| Int64Value { value }),
        supplemental_groups: groups.to_vec(),
        ..Default::default()
    }
}

/// A `sleep 1000` container of `image` with `security` (none: no `linux` section).
fn config(
    name: &str,
    image: &str,
    security: Option<LinuxContainerSecurityContext>,
) -> ContainerConfig {
    let mut config = container_config(name, &["sleep", "1000"]);
    config.image = Some(ImageSpec {
        image: image.into(),
        ..Default::default()
    });
    config.linux = security.map(|s| LinuxContainerConfig {
        security_context: Some(s),
        ..Default::default()
    });
    config
}

/// What containerd 2.3 reports as `ContainerStatus.user`.
fn user(uid: i64, gid: i64, groups: &[i64]) -> Option<ContainerUser> {
    Some(ContainerUser {
        linux: Some(LinuxContainerUser {
            uid,
            gid,
            supplemental_groups: groups.to_vec(),
        }),
    })
}

/// The status `user` the profile reports for a container whose spec user is `user`.
fn expected(profile: Profile, user: Option<ContainerUser>) -> Option<ContainerUser> {
    match profile {
        Profile::Containerd23 => user,
        Profile::Containerd16 => None,
    }
}

#[tokio::test]
async fn status_user_is_the_spec_user_when_created_running_and_exited() {
    // (name, security context, (uid, gid, supplemental groups), `id` in the container);
    // all measured on containerd 2.3.4.
    let sc = security;
    let cases = [
        (
            "root",
            None,
            (0, 0, vec![0]),
            "uid=0(root) gid=0(root) groups=0(root)",
        ),
        (
            "ug",
            Some(sc("", Some(1000), Some(2000), &[5, 6])),
            (1000, 2000, vec![5, 6, 2000]),
            "uid=1000 gid=2000 groups=5(tty),6(disk),2000",
        ),
        (
            "u1000",
            Some(sc("", Some(1000), None, &[])),
            (1000, 0, vec![0]),
            "uid=1000 gid=0(root) groups=0(root)",
        ),
        (
            "sgonly",
            Some(sc("", None, None, &[6, 5, 6])),
            (0, 0, vec![0, 5, 6]),
            "uid=0(root) gid=0(root) groups=0(root),5(tty),6(disk)",
        ),
        (
            "daemon",
            Some(sc("daemon", None, None, &[])),
            (1, 1, vec![1]),
            "uid=1(daemon) gid=1(daemon) groups=1(daemon)",
        ),
        (
            "wwwdata-g5",
            Some(sc("www-data", None, Some(5), &[])),
            (33, 5, vec![5]),
            "uid=33(www-data) gid=5(tty) groups=5(tty)",
        ),
        (
            "uid33",
            Some(sc("", Some(33), None, &[])),
            (33, 33, vec![33]),
            "uid=33(www-data) gid=33(www-data) groups=33(www-data)",
        ),
        (
            "uid33-g2000",
            Some(sc("", Some(33), Some(2000), &[])),
            (33, 2000, vec![2000]),
            "uid=33(www-data) gid=2000 groups=2000",
        ),
        (
            "uid8",
            Some(sc("", Some(8), None, &[100])),
            (8, 8, vec![8, 100]),
            "uid=8(mail) gid=8(mail) groups=8(mail),100(users)",
        ),
        (
            "name-wins-over-uid",
            Some(sc("daemon", Some(1000), None, &[])),
            (1, 1, vec![1]),
            "uid=1(daemon) gid=1(daemon) groups=1(daemon)",
        ),
        (
            "sync",
            Some(sc("sync", None, None, &[])),
            (4, 100, vec![100]),
            "uid=4(sync) gid=100(users) groups=100(users)",
        ),
        (
            "numeric-name",
            Some(sc("33", None, None, &[])),
            (33, 33, vec![33]),
            "uid=33(www-data) gid=33(www-data) groups=33(www-data)",
        ),
    ];
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, pod_config) = env.pod("user").await;
        for (name, security, (uid, gid, groups), id_output) in &cases {
            println!("case {name}");
            let want = expected(profile, user(*uid, *gid, groups));
            let id = env
                .create(&pod, &pod_config, config(name, BUSYBOX, security.clone()))
                .await
                .expect("CreateContainer");
            assert_eq!(env.status(&id).await.unwrap().user, want, "created");
            env.start(&id).await.expect("StartContainer");
            assert_eq!(env.status(&id).await.unwrap().user, want, "running");
            let exec = env.exec(&id, &["id"], 5).await.unwrap();
            assert_eq!(
                String::from_utf8_lossy(&exec.stdout),
                format!("{id_output}\n"),
                "the processes run as the spec user"
            );
            env.stop(&id, 0).await.unwrap();
            let exited = env.status(&id).await.unwrap();
            assert_eq!(exited.state, ContainerState::ContainerExited as i32);
            assert_eq!(exited.user, want, "exited");
        }
    }
}

#[tokio::test]
async fn status_user_follows_the_policy_and_keeps_out_of_range_groups_in_2_3() {
    let strict = |mut s: LinuxContainerSecurityContext| {
        s.supplemental_groups_policy = SupplementalGroupsPolicy::Strict as i32;
        s
    };
    // (name, security context, 2.3's user); all measured on containerd 2.3.4.
    let cases = [
        (
            "strict-root",
            strict(security("", None, None, &[5])),
            (0, 0, vec![5]),
        ),
        (
            "strict-ug",
            strict(security("", Some(1000), Some(2000), &[5])),
            (1000, 2000, vec![5, 2000]),
        ),
        // Go's uint32(-1); runc then refuses to start it.
        (
            "negative-group",
            security("", None, None, &[-1]),
            (0, 0, vec![0, 4_294_967_295]),
        ),
    ];
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, pod_config) = env.pod("policy").await;
        for (name, security, (uid, gid, groups)) in &cases {
            let id = env
                .create(
                    &pod,
                    &pod_config,
                    config(name, BUSYBOX, Some(security.clone())),
                )
                .await
                .expect("CreateContainer");
            assert_eq!(
                env.status(&id).await.unwrap().user,
                expected(profile, user(*uid, *gid, groups)),
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn users_containerd_cannot_build_fail_create_container() {
    let sc = security;
    let policy2 = LinuxContainerSecurityContext {
        supplemental_groups_policy: 2,
        ..Default::default()
    };
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, pod_config) = env.pod("bad-user").await;
        // Measured on containerd 2.3.4; 1.6.20 builds the same texts.
        for (name, security, message) in [
            (
                "ghost",
                sc("ghost", None, None, &[]),
                "failed to create containerd container: no users found",
            ),
            (
                "ghost-g5",
                sc("ghost", None, Some(5), &[]),
                "failed to create containerd container: no users found",
            ),
            (
                "group-only",
                sc("", None, Some(5), &[]),
                "failed to get container spec opts: failed to generate user string: user group \"5\" is specified without user",
            ),
        ] {
            assert_status(
                env.create(&pod, &pod_config, config(name, BUSYBOX, Some(security)))
                    .await,
                Code::Unknown,
                message,
            );
        }
        // 2.3 only (measured): 1.6 predates the policy and range-checks no id.
        for (name, security, message) in [
            (
                "policy2",
                policy2.clone(),
                "failed to get container spec opts: not implemented in this containerd release: SupplementalGroupsPolicy=2",
            ),
            (
                "neg-uid",
                sc("", Some(-1), None, &[]),
                "failed to create containerd container: invalid USER value \"-1\": uid out of range",
            ),
            (
                "big-uid",
                sc("", Some(4_294_967_296), None, &[]),
                "failed to create containerd container: invalid USER value \"4294967296\": uid out of range",
            ),
        ] {
            let created = env
                .create(&pod, &pod_config, config(name, BUSYBOX, Some(security)))
                .await;
            match profile {
                Profile::Containerd23 => assert_status(created, Code::Unknown, message),
                Profile::Containerd16 => {
                    created.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                }
            }
        }
        // The refused names were released: the same names create once the user is fine.
        env.create(&pod, &pod_config, config("ghost", BUSYBOX, None))
            .await
            .expect("the name is free again");
    }
}

#[tokio::test]
async fn image_users_and_images_without_etc() {
    let image = |reference: &str, user: &str| {
        Image::builder(reference)
            .env("PATH=/bin")
            .user(user)
            .build()
            .unwrap()
    };
    for profile in Profile::ALL {
        println!("profile {profile}");
        let builder = FakeRuntime::builder()
            .profile(profile)
            .image(image("users/nobody:1", "nobody"))
            .image(image("users/numeric:1", "1000:1000"))
            .image(image("users/named-group:1", "www-data:tty"))
            .image(image("users/ghost:1", "ghost"))
            .image(image("users/ghost-group:1", "nobody:ghosts"))
            .image(image("users/three:1", "a:b:c"));
        let mut env = start_with(builder).await;
        let (pod, pod_config) = env.pod("image-user").await;
        // Derived from the source (no such images on the measured machine).
        for (reference, (uid, gid, groups)) in [
            ("users/nobody:1", (65534, 65534, vec![65534])),
            ("users/numeric:1", (1000, 1000, vec![1000])),
            ("users/named-group:1", (33, 5, vec![5])),
        ] {
            let id = env
                .create(&pod, &pod_config, config(reference, reference, None))
                .await
                .expect("CreateContainer");
            assert_eq!(
                env.status(&id).await.unwrap().user,
                expected(profile, user(uid, gid, &groups)),
                "{reference}"
            );
        }
        // A CRI user wins over the image's.
        let id = env
            .create(
                &pod,
                &pod_config,
                config(
                    "override",
                    "users/nobody:1",
                    Some(security("", Some(8), None, &[])),
                ),
            )
            .await
            .unwrap();
        assert_eq!(
            env.status(&id).await.unwrap().user,
            expected(profile, user(8, 8, &[8]))
        );
        for (reference, message) in [
            (
                "users/ghost:1",
                "failed to create containerd container: no users found",
            ),
            (
                "users/ghost-group:1",
                "failed to create containerd container: no groups found",
            ),
            (
                "users/three:1",
                "failed to create containerd container: invalid USER value a:b:c",
            ),
        ] {
            assert_status(
                env.create(&pod, &pod_config, config(reference, reference, None))
                    .await,
                Code::Unknown,
                message,
            );
        }
        // The pause image has no /etc: a uid needs no passwd entry, a name cannot be
        // looked up (text derived from 2.3's overlay view, not measured).
        let pause = profile.sandbox_image();
        let id = env
            .create(
                &pod,
                &pod_config,
                config(
                    "pause-uid",
                    pause,
                    Some(security("", Some(1000), None, &[7])),
                ),
            )
            .await
            .unwrap();
        assert_eq!(
            env.status(&id).await.unwrap().user,
            expected(profile, user(1000, 0, &[0, 7]))
        );
        assert_status(
            env.create(
                &pod,
                &pod_config,
                config("pause-name", pause, Some(security("root", None, None, &[]))),
            )
            .await,
            Code::Unknown,
            "failed to create containerd container: lstat etc: file does not exist",
        );
    }
}

#[tokio::test]
async fn image_id_is_the_config_digest_in_status_and_list_in_2_3() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let mut env = start_profile(profile).await;
        let (pod, pod_config) = env.pod("image-id").await;
        let id = env
            .create(&pod, &pod_config, config("c", BUSYBOX, None))
            .await
            .unwrap();
        let want = match profile {
            Profile::Containerd23 => BUSYBOX_ID,
            Profile::Containerd16 => "",
        };
        let status = env.status(&id).await.unwrap();
        assert_eq!(status.image_ref, BUSYBOX_ID);
        assert_eq!(status.image_id, want);
        let listed = env
            .list_containers(ContainerFilter {
                id: id.clone(),
                ..Default::default()
            })
            .await
            .remove(0);
        assert_eq!(listed.image_ref, BUSYBOX_ID);
        assert_eq!(listed.image_id, want);
        // A pulled image has a repo digest: ContainerStatus' image_ref becomes it, the
        // image id stays the config digest.
        let pulled = env
            .img
            .pull_image(PullImageRequest {
                image: Some(ImageSpec {
                    image: "example.com/app:1".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .image_ref;
        let id = env
            .create(&pod, &pod_config, config("app", "example.com/app:1", None))
            .await
            .unwrap();
        let status = env.status(&id).await.unwrap();
        assert!(
            status.image_ref.starts_with("example.com/app@sha256:"),
            "{}",
            status.image_ref
        );
        let want = match profile {
            Profile::Containerd23 => pulled.as_str(),
            Profile::Containerd16 => "",
        };
        assert_eq!(status.image_id, want);
        let listed = env
            .list_containers(ContainerFilter {
                id,
                ..Default::default()
            })
            .await
            .remove(0);
        assert_eq!(
            (listed.image_ref.as_str(), listed.image_id.as_str()),
            (pulled.as_str(), want)
        );
    }
}

async fn pinned(env: &mut Env) -> Vec<(String, bool)> {
    let mut images: Vec<(String, bool)> = env
        .img
        .list_images(ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images
        .into_iter()
        .map(|i| (i.id, i.pinned))
        .collect();
    images.sort();
    for (id, pinned) in &images {
        let status = env
            .img
            .image_status(ImageStatusRequest {
                image: Some(ImageSpec {
                    image: id.clone(),
                    ..Default::default()
                }),
                verbose: false,
            })
            .await
            .unwrap()
            .into_inner()
            .image
            .unwrap();
        assert_eq!(status.pinned, *pinned, "ImageStatus agrees with ListImages");
    }
    images
}

#[tokio::test]
async fn the_sandbox_image_is_pinned_in_2_3() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let is_23 = profile == Profile::Containerd23;
        let mut env = start_profile(profile).await;
        assert_eq!(
            pinned(&mut env).await,
            [(BUSYBOX_ID.to_owned(), false), (PAUSE_ID.to_owned(), is_23)],
            "measured on 2.3.4: the pause image only"
        );
        // Pulled again under the sandbox image's name, it is pinned again.
        env.img
            .remove_image(RemoveImageRequest {
                image: Some(ImageSpec {
                    image: PAUSE_ID.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
        assert_eq!(pinned(&mut env).await, [(BUSYBOX_ID.to_owned(), false)]);
        env.img
            .pull_image(PullImageRequest {
                image: Some(ImageSpec {
                    image: profile.sandbox_image().into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            pinned(&mut env).await,
            [(BUSYBOX_ID.to_owned(), false), (PAUSE_ID.to_owned(), is_23)]
        );
    }
}

#[tokio::test]
async fn the_configured_sandbox_image_is_the_pinned_one() {
    for profile in Profile::ALL {
        println!("profile {profile}");
        let settings = Settings {
            sandbox_image: "registry.k8s.io/pause:3.9".into(),
            ..Settings::for_profile(profile)
        };
        let mut env = start_with(FakeRuntime::builder().settings(settings)).await;
        let is_23 = profile == Profile::Containerd23;
        assert_eq!(
            pinned(&mut env).await,
            [(BUSYBOX_ID.to_owned(), false), (PAUSE_ID.to_owned(), is_23)]
        );
        // Another release's sandbox image is just an image.
        let other = match profile {
            Profile::Containerd23 => Profile::Containerd16,
            Profile::Containerd16 => Profile::Containerd23,
        };
        env.img
            .pull_image(PullImageRequest {
                image: Some(ImageSpec {
                    image: other.sandbox_image().into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap();
        let listed = pinned(&mut env).await;
        assert_eq!(
            listed.iter().filter(|(_, pinned)| *pinned).count(),
            usize::from(is_23)
        );
    }
}
