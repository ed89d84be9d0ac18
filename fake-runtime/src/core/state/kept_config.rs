//! A container's create-time config as its record keeps it: compact.
//!
//! A decoded `ContainerConfig` is about 1.2 KB in memory even when most of it is empty
//! (every nested message is inline), which made it the largest part of a container
//! record. The record keeps, decoded, the fields that lists, statuses and events read
//! on every call, and the rest of the config as its protobuf encoding, decoded when a
//! container starts or a verbose status shows it.

use std::collections::HashMap;

use cri_proto::v1::{ContainerConfig, ContainerMetadata, ImageSpec, Mount};
use prost::Message;

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
    rest: Box<[u8]>,
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
            rest: config.encode_to_vec().into_boxed_slice(),
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

    /// The config's `linux` section (decoded from the kept encoding).
    pub fn linux(&self) -> Option<cri_proto::v1::LinuxContainerConfig> {
        self.rest().linux
    }

    /// The config's image spec (decoded from the kept encoding).
    pub fn image(&self) -> Option<ImageSpec> {
        self.rest().image
    }

    /// The fields not kept decoded (the others are empty).
    fn rest(&self) -> ContainerConfig {
        // The bytes are an encoding this type made, so they decode.
        ContainerConfig::decode(&self.rest[..]).unwrap_or_default()
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
        assert_eq!(kept.linux(), config.linux);
        assert_eq!(kept.image(), config.image);
        assert_eq!(kept.labels, config.labels);
        assert!(kept.tty);
    }

    #[test]
    fn a_kept_config_is_smaller_in_memory_than_the_config() {
        assert!(std::mem::size_of::<KeptConfig>() * 3 < std::mem::size_of::<ContainerConfig>());
    }
}
