//! The create-time configs as the records keep them: compact.
//!
//! A decoded `ContainerConfig` is about 1.2 KB in memory and a `PodSandboxConfig` 1.1 KB
//! even when most of them is empty (every nested message is inline), which made them
//! the largest part of a record. A record keeps, decoded, the fields that lists,
//! statuses and events read on every call, and the rest of the config as its protobuf
//! encoding, decoded when a container starts or a verbose status shows it.

use std::collections::HashMap;
use std::marker::PhantomData;

use cri_proto::v1::{
    ContainerConfig, ContainerMetadata, ImageSpec, Mount, NamespaceOption, PodSandboxConfig,
    PodSandboxMetadata,
};
use prost::Message;

/// A message kept as its encoding, decoded on demand.
#[derive(Debug, Clone, PartialEq)]
struct Rest<M> {
    bytes: Box<[u8]>,
    kind: PhantomData<fn() -> M>,
}

impl<M: Message + Default> Rest<M> {
    fn of(message: &M) -> Self {
        Self {
            bytes: message.encode_to_vec().into_boxed_slice(),
            kind: PhantomData,
        }
    }

    fn decode(&self) -> M {
        // The bytes are an encoding this type made, so they decode.
        M::decode(&self.bytes[..]).unwrap_or_default()
    }
}

/// A `ContainerConfig`: the often-read fields as themselves, the rest encoded.
///
/// ```
/// use cri_fake::state::KeptConfig;
/// use cri_proto::v1::{ContainerConfig, ContainerMetadata};
///
/// let config = ContainerConfig {
///     metadata: Some(ContainerMetadata { name: "app".into(), attempt: 0 }),
///     command: vec!["sleep".into(), "60".into()],
///     ..Default::default()
/// };
/// let kept = KeptConfig::new(config.clone());
/// assert_eq!(kept.metadata, config.metadata);
/// assert_eq!(kept.full(), config);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KeptConfig {
    /// The config's metadata (name, attempt).
    pub metadata: Option<ContainerMetadata>,
    /// The config's labels.
    pub labels: HashMap<String, String>,
    /// The config's annotations.
    pub annotations: HashMap<String, String>,
    /// The config's mounts.
    pub mounts: Vec<Mount>,
    /// The config's `tty`.
    pub tty: bool,
    /// Every other field: the encoding of the config with the fields above cleared.
    rest: Rest<ContainerConfig>,
}

impl KeptConfig {
    /// Keeps `config`.
    pub fn new(mut config: ContainerConfig) -> Self {
        let metadata = config.metadata.take();
        let labels = std::mem::take(&mut config.labels);
        let annotations = std::mem::take(&mut config.annotations);
        let mounts = std::mem::take(&mut config.mounts);
        let tty = std::mem::take(&mut config.tty);
        Self {
            metadata,
            labels,
            annotations,
            mounts,
            tty,
            rest: Rest::of(&config),
        }
    }

    /// The whole config, as it was given to [`KeptConfig::new`].
    pub fn full(&self) -> ContainerConfig {
        let mut config = self.rest();
        config.metadata = self.metadata.clone();
        config.labels = self.labels.clone();
        config.annotations = self.annotations.clone();
        config.mounts = self.mounts.clone();
        config.tty = self.tty;
        config
    }

    /// The config's image spec (decoded from the kept encoding).
    pub fn image(&self) -> Option<ImageSpec> {
        self.rest().image
    }

    /// The fields not kept decoded (the others are empty).
    fn rest(&self) -> ContainerConfig {
        self.rest.decode()
    }
}

/// A `PodSandboxConfig`: the often-read fields as themselves, the rest encoded.
///
/// ```
/// use cri_fake::state::KeptSandboxConfig;
/// use cri_proto::v1::{PodSandboxConfig, PodSandboxMetadata};
///
/// let config = PodSandboxConfig {
///     metadata: Some(PodSandboxMetadata { name: "web".into(), ..Default::default() }),
///     hostname: "web-0".into(),
///     ..Default::default()
/// };
/// let kept = KeptSandboxConfig::new(config.clone());
/// assert_eq!(kept.hostname, "web-0");
/// assert!(!kept.uses_host_network());
/// assert_eq!(kept.full(), config);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KeptSandboxConfig {
    /// The config's metadata (name, uid, namespace, attempt).
    pub metadata: Option<PodSandboxMetadata>,
    /// The config's labels.
    pub labels: HashMap<String, String>,
    /// The config's annotations.
    pub annotations: HashMap<String, String>,
    /// The config's hostname.
    pub hostname: String,
    /// The namespace options of its Linux security context (all `POD` when unset; a
    /// copy: the whole config still holds them).
    pub namespace_options: NamespaceOption,
    /// The `cgroup_parent` of its Linux section.
    pub cgroup_parent: String,
    /// Every other field: the encoding of the config with the fields above cleared.
    rest: Rest<PodSandboxConfig>,
}

impl KeptSandboxConfig {
    /// Keeps `config`.
    pub fn new(mut config: PodSandboxConfig) -> Self {
        let namespace_options = crate::core::sandbox::namespace_options(&config);
        let cgroup_parent = config
            .linux
            .as_mut()
            .map(|l| std::mem::take(&mut l.cgroup_parent))
            .unwrap_or_default();
        Self {
            metadata: config.metadata.take(),
            labels: std::mem::take(&mut config.labels),
            annotations: std::mem::take(&mut config.annotations),
            hostname: std::mem::take(&mut config.hostname),
            namespace_options,
            cgroup_parent,
            rest: Rest::of(&config),
        }
    }

    /// The whole config, as it was given to [`KeptSandboxConfig::new`].
    pub fn full(&self) -> PodSandboxConfig {
        let mut config = self.rest.decode();
        config.metadata = self.metadata.clone();
        config.labels = self.labels.clone();
        config.annotations = self.annotations.clone();
        config.hostname = self.hostname.clone();
        if let Some(linux) = config.linux.as_mut() {
            linux.cgroup_parent = self.cgroup_parent.clone();
        }
        config
    }

    /// Whether the pod is on the node's network.
    pub fn uses_host_network(&self) -> bool {
        self.namespace_options.network == cri_proto::v1::NamespaceMode::Node as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cri_proto::v1::{KeyValue, LinuxContainerConfig, LinuxContainerSecurityContext};

    #[test]
    fn a_kept_config_gives_back_the_whole_config_it_was_made_from() {
        let config = ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: "app".into(),
                attempt: 2,
            }),
            image: Some(ImageSpec {
                image: "busybox".into(),
                ..Default::default()
            }),
            command: vec!["sh".into()],
            args: vec!["-c".into(), "true".into()],
            working_dir: "/work".into(),
            envs: vec![KeyValue {
                key: "A".into(),
                value: "1".into(),
            }],
            mounts: vec![Mount {
                container_path: "/data".into(),
                host_path: "/tmp".into(),
                ..Default::default()
            }],
            labels: [("app".to_string(), "web".to_string())].into(),
            annotations: [("note".to_string(), "x".to_string())].into(),
            log_path: "app/0.log".into(),
            stdin: true,
            tty: true,
            linux: Some(LinuxContainerConfig {
                security_context: Some(LinuxContainerSecurityContext {
                    privileged: true,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let kept = KeptConfig::new(config.clone());
        assert_eq!(kept.full(), config);
        assert_eq!(kept.image(), config.image);
        assert_eq!(kept.labels, config.labels);
        assert!(kept.tty);
    }

    #[test]
    fn a_kept_config_is_smaller_in_memory_than_the_config() {
        assert!(std::mem::size_of::<KeptConfig>() * 3 < std::mem::size_of::<ContainerConfig>());
        assert!(
            std::mem::size_of::<KeptSandboxConfig>() * 3 < std::mem::size_of::<PodSandboxConfig>()
        );
    }

    #[test]
    fn a_kept_sandbox_config_gives_back_the_whole_config_and_its_namespaces() {
        use cri_proto::v1::{
            DnsConfig, LinuxPodSandboxConfig, LinuxSandboxSecurityContext, NamespaceMode,
            PortMapping,
        };
        let config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: "web".into(),
                uid: "u1".into(),
                namespace: "ns".into(),
                attempt: 1,
            }),
            hostname: "web-0".into(),
            log_directory: "/var/log/pods/web".into(),
            dns_config: Some(DnsConfig {
                servers: vec!["10.0.0.10".into()],
                ..Default::default()
            }),
            port_mappings: vec![PortMapping {
                container_port: 80,
                host_port: 8080,
                ..Default::default()
            }],
            labels: [("app".to_string(), "web".to_string())].into(),
            annotations: [("note".to_string(), "x".to_string())].into(),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: "/kubepods/pod-u1".into(),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(NamespaceOption {
                        network: NamespaceMode::Node as i32,
                        pid: NamespaceMode::Container as i32,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let kept = KeptSandboxConfig::new(config.clone());
        assert_eq!(kept.full(), config);
        assert!(kept.uses_host_network());
        assert_eq!(kept.namespace_options.pid, NamespaceMode::Container as i32);
        assert_eq!(kept.labels, config.labels);
        assert_eq!(kept.hostname, "web-0");
        assert_eq!(kept.cgroup_parent, "/kubepods/pod-u1");
    }
}
