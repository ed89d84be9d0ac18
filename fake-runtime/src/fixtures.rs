//! Small builders of CRI v1 messages for tests: a pod sandbox config ([`pod`]) and a
//! container config ([`container`]), with the defaults a test against the fake wants.
//!
//! A pod defaults to uid = name, namespace `default` and host networking
//! ([`NamespaceMode::Node`]: the fake, like a containerd without CNI, has no pod
//! network); a container defaults to the `busybox:1.36` image of the fake's catalog.
//! Every field a builder does not set keeps the message's default, so a builder produces
//! exactly the message one would write by hand.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cri_fake::fixtures::{container, pod};
//! use cri_fake::cri_proto::v1::ExecSyncRequest;
//!
//! let fake = cri_fake::FakeRuntime::start().await.unwrap();
//! let (pod_id, ids) = fake
//!     .run_pod_with(
//!         pod("web").namespace("shop").label("app", "web"),
//!         [container("app").command(["sleep", "1000"]).env("MODE", "test")],
//!     )
//!     .await
//!     .unwrap();
//! assert!(!pod_id.is_empty());
//!
//! let out = fake
//!     .runtime_client()
//!     .exec_sync(ExecSyncRequest {
//!         container_id: ids[0].clone(),
//!         cmd: vec!["sh".into(), "-c".into(), "echo $MODE".into()],
//!         timeout: 5,
//!     })
//!     .await
//!     .unwrap()
//!     .into_inner();
//! assert_eq!(out.stdout, b"test\n");
//!
//! // The builders produce plain messages.
//! let config = pod("web").build();
//! assert_eq!(config.metadata.unwrap().uid, "web");
//! fake.shutdown().await;
//! # }
//! ```

use cri_proto::v1::{
    ContainerConfig, ContainerMetadata, ImageSpec, KeyValue, LinuxPodSandboxConfig,
    LinuxSandboxSecurityContext, NamespaceMode, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata,
};

/// The image a [`container`] runs unless told otherwise.
pub const DEFAULT_IMAGE: &str = "busybox:1.36";

/// A builder of a [`PodSandboxConfig`] named `name`: uid `name`, namespace `default`,
/// attempt 0, host networking.
///
/// ```
/// let config = cri_fake::fixtures::pod("web").uid("u1").build();
/// assert_eq!(config.metadata.unwrap().uid, "u1");
/// ```
pub fn pod(name: impl Into<String>) -> PodBuilder {
    let name = name.into();
    PodBuilder {
        config: PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                uid: name.clone(),
                name,
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
        },
    }
}

/// A builder of a [`ContainerConfig`] named `name`: attempt 0, image
/// [`DEFAULT_IMAGE`], the image's command.
///
/// ```
/// let config = cri_fake::fixtures::container("app").command(["sleep", "1"]).build();
/// assert_eq!(config.command, ["sleep", "1"]);
/// assert_eq!(config.image.unwrap().image, "busybox:1.36");
/// ```
pub fn container(name: impl Into<String>) -> ContainerBuilder {
    ContainerBuilder {
        config: ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: DEFAULT_IMAGE.into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// Builds a [`PodSandboxConfig`]; made by [`pod`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PodBuilder {
    config: PodSandboxConfig,
}

impl PodBuilder {
    fn metadata(&mut self) -> &mut PodSandboxMetadata {
        self.config.metadata.get_or_insert_with(Default::default)
    }

    fn linux(&mut self) -> &mut LinuxPodSandboxConfig {
        self.config.linux.get_or_insert_with(Default::default)
    }

    /// The pod's namespace (default `default`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.metadata().namespace = namespace.into();
        self
    }

    /// The pod's uid (default: its name).
    pub fn uid(mut self, uid: impl Into<String>) -> Self {
        self.metadata().uid = uid.into();
        self
    }

    /// The pod's attempt (default 0).
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.metadata().attempt = attempt;
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.labels.insert(key.into(), value.into());
        self
    }

    /// Adds an annotation.
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.annotations.insert(key.into(), value.into());
        self
    }

    /// The pod's hostname (default: none).
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.config.hostname = hostname.into();
        self
    }

    /// The directory the pod's container logs go to (default: none, no logs).
    pub fn log_directory(mut self, dir: impl Into<String>) -> Self {
        self.config.log_directory = dir.into();
        self
    }

    /// The pod's cgroup parent (`linux.cgroup_parent`; default: none).
    pub fn cgroup_parent(mut self, parent: impl Into<String>) -> Self {
        self.linux().cgroup_parent = parent.into();
        self
    }

    /// The pod's network namespace mode (default [`NamespaceMode::Node`], host
    /// networking; [`NamespaceMode::Pod`] needs a runtime with a pod network).
    pub fn network(mut self, mode: NamespaceMode) -> Self {
        self.linux()
            .security_context
            .get_or_insert_with(Default::default)
            .namespace_options
            .get_or_insert_with(Default::default)
            .network = mode as i32;
        self
    }

    /// The config.
    pub fn build(self) -> PodSandboxConfig {
        self.config
    }
}

impl From<PodBuilder> for PodSandboxConfig {
    fn from(builder: PodBuilder) -> Self {
        builder.build()
    }
}

/// Builds a [`ContainerConfig`]; made by [`container`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ContainerBuilder {
    config: ContainerConfig,
}

impl ContainerBuilder {
    /// The image reference (default [`DEFAULT_IMAGE`]).
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.config.image.get_or_insert_with(Default::default).image = image.into();
        self
    }

    /// The container's attempt (default 0).
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.config
            .metadata
            .get_or_insert_with(Default::default)
            .attempt = attempt;
        self
    }

    /// The command (the entrypoint; default: the image's).
    pub fn command<S: Into<String>>(mut self, command: impl IntoIterator<Item = S>) -> Self {
        self.config.command = command.into_iter().map(Into::into).collect();
        self
    }

    /// The arguments (default: the image's).
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.config.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.envs.push(KeyValue {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.labels.insert(key.into(), value.into());
        self
    }

    /// Adds an annotation.
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.annotations.insert(key.into(), value.into());
        self
    }

    /// Whether the container has a stdin (default false).
    pub fn stdin(mut self, stdin: bool) -> Self {
        self.config.stdin = stdin;
        self
    }

    /// Whether stdin closes after the first attach ends (default false).
    pub fn stdin_once(mut self, stdin_once: bool) -> Self {
        self.config.stdin_once = stdin_once;
        self
    }

    /// Whether the container has a terminal (default false).
    pub fn tty(mut self, tty: bool) -> Self {
        self.config.tty = tty;
        self
    }

    /// The log path, relative to the pod's log directory (default: none).
    pub fn log_path(mut self, path: impl Into<String>) -> Self {
        self.config.log_path = path.into();
        self
    }

    /// The working directory (default: the image's).
    pub fn working_dir(mut self, dir: impl Into<String>) -> Self {
        self.config.working_dir = dir.into();
        self
    }

    /// The config.
    pub fn build(self) -> ContainerConfig {
        self.config
    }
}

impl From<ContainerBuilder> for ContainerConfig {
    fn from(builder: ContainerBuilder) -> Self {
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_defaults_are_the_hand_written_message() {
        let expected = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: "web".into(),
                uid: "web".into(),
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
        assert_eq!(pod("web").build(), expected);
        assert_eq!(PodSandboxConfig::from(pod("web")), expected);
    }

    #[test]
    fn pod_setters_fill_their_fields() {
        let config = pod("web")
            .namespace("ns")
            .uid("u")
            .attempt(2)
            .label("a", "1")
            .annotation("b", "2")
            .hostname("h")
            .log_directory("/logs")
            .cgroup_parent("/kubepods")
            .network(NamespaceMode::Pod)
            .build();
        let metadata = config.metadata.clone().expect("metadata");
        assert_eq!(
            (metadata.name.as_str(), metadata.uid.as_str()),
            ("web", "u")
        );
        assert_eq!((metadata.namespace.as_str(), metadata.attempt), ("ns", 2));
        assert_eq!(config.labels["a"], "1");
        assert_eq!(config.annotations["b"], "2");
        assert_eq!(config.hostname, "h");
        assert_eq!(config.log_directory, "/logs");
        let linux = config.linux.expect("linux");
        assert_eq!(linux.cgroup_parent, "/kubepods");
        let network = linux
            .security_context
            .and_then(|s| s.namespace_options)
            .map(|n| n.network);
        assert_eq!(network, Some(NamespaceMode::Pod as i32));
    }

    #[test]
    fn container_defaults_and_setters() {
        let expected = ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: "app".into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: DEFAULT_IMAGE.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(container("app").build(), expected);

        let config: ContainerConfig = container("app")
            .image("alpine:3")
            .attempt(1)
            .command(["sh"])
            .args(vec![String::from("-c"), String::from("true")])
            .env("A", "1")
            .env("B", "2")
            .label("l", "v")
            .annotation("n", "w")
            .stdin(true)
            .stdin_once(true)
            .tty(true)
            .log_path("app.log")
            .working_dir("/tmp")
            .into();
        assert_eq!(config.image.expect("image").image, "alpine:3");
        assert_eq!(config.metadata.expect("metadata").attempt, 1);
        assert_eq!(config.command, ["sh"]);
        assert_eq!(config.args, ["-c", "true"]);
        let envs: Vec<_> = config
            .envs
            .iter()
            .map(|kv| (kv.key.as_str(), kv.value.as_str()))
            .collect();
        assert_eq!(envs, [("A", "1"), ("B", "2")]);
        assert_eq!(config.labels["l"], "v");
        assert_eq!(config.annotations["n"], "w");
        assert!(config.stdin && config.stdin_once && config.tty);
        assert_eq!(config.log_path, "app.log");
        assert_eq!(config.working_dir, "/tmp");
    }
}
