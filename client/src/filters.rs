//! Listing options, their validation, and the filters the client applies itself.
//!
//! The runtime filters pods and containers by id, state and labels. The container name,
//! pod namespace and image filters of [`ListContainerOptions`] are not part of the CRI
//! filter, so the client applies them to what the runtime returns, with the pure functions
//! of this module.

use std::collections::HashMap;

use cri_proto::v1::{Container, ContainerState, PodSandboxState};
use regex::Regex;

use crate::error::{Error, Result};

/// Options of [`Client::list_pods`](crate::Client::list_pods). Every set field narrows the
/// list (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPodOptions {
    /// A pod id or unique id prefix.
    pub id: Option<String>,
    /// `ready` or `notready` (case-insensitive).
    pub state: Option<String>,
    /// Labels the pod must carry, with exactly these values.
    pub labels: HashMap<String, String>,
}

/// Options of [`Client::list_containers`](crate::Client::list_containers). Every set field
/// narrows the list (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListContainerOptions {
    /// A container id or unique id prefix (applied by the runtime).
    pub id: Option<String>,
    /// The pod id or unique prefix (applied by the runtime).
    pub pod_id: Option<String>,
    /// A regular expression searched in the container's metadata name (applied by the
    /// client; unanchored: use `^…$` for a whole-name match).
    pub name_regexp: Option<String>,
    /// A regular expression searched in the namespace of the container's pod (applied by
    /// the client, which lists the pods to learn their namespaces).
    pub pod_namespace_regexp: Option<String>,
    /// `created`, `running`, `exited` or `unknown` (case-insensitive; applied by the
    /// runtime).
    pub state: Option<String>,
    /// Labels the container must carry, with exactly these values (applied by the runtime).
    pub labels: HashMap<String, String>,
    /// An image reference or id (applied by the client): a container matches when its image
    /// name, image ref or image id equals it, or when the runtime resolves it (with
    /// `ImageStatus`) to the image id the container uses.
    pub image: Option<String>,
    /// Also fetch each listed container's verbose status
    /// ([`ListedContainer::status`]).
    pub verbose: bool,
}

/// One entry of [`Client::list_containers`](crate::Client::list_containers).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedContainer {
    /// The container as the runtime lists it.
    pub container: Container,
    /// Its verbose status, when [`ListContainerOptions::verbose`] was set.
    pub status: Option<cri_proto::v1::ContainerStatusResponse>,
}

/// Parses a pod state: `ready` or `notready`, case-insensitive (also with the enum's
/// `SANDBOX_` prefix). Anything else is an [`Error::InvalidArgument`] naming the value.
pub fn parse_pod_state(value: &str) -> Result<PodSandboxState> {
    let lower = value.trim().to_ascii_lowercase();
    match lower.strip_prefix("sandbox_").unwrap_or(&lower) {
        "ready" => Ok(PodSandboxState::SandboxReady),
        "notready" => Ok(PodSandboxState::SandboxNotready),
        _ => Err(Error::invalid(
            "list_pods",
            "state",
            value,
            "expected ready or notready",
        )),
    }
}

/// Parses a container state: `created`, `running`, `exited` or `unknown`, case-insensitive
/// (also with the enum's `CONTAINER_` prefix). Anything else is an
/// [`Error::InvalidArgument`] naming the value.
pub fn parse_container_state(value: &str) -> Result<ContainerState> {
    let lower = value.trim().to_ascii_lowercase();
    match lower.strip_prefix("container_").unwrap_or(&lower) {
        "created" => Ok(ContainerState::ContainerCreated),
        "running" => Ok(ContainerState::ContainerRunning),
        "exited" => Ok(ContainerState::ContainerExited),
        "unknown" => Ok(ContainerState::ContainerUnknown),
        _ => Err(Error::invalid(
            "list_containers",
            "state",
            value,
            "expected created, running, exited or unknown",
        )),
    }
}

/// Compiles a filter regular expression, or names the bad one in an
/// [`Error::InvalidArgument`].
pub fn compile_regexp(argument: &'static str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern)
        .map_err(|err| Error::invalid("list_containers", argument, pattern, err.to_string()))
}

/// Whether `container`'s metadata name matches `name` (no metadata: the empty name).
pub fn name_matches(container: &Container, name: &Regex) -> bool {
    let metadata_name = container
        .metadata
        .as_ref()
        .map(|metadata| metadata.name.as_str())
        .unwrap_or_default();
    name.is_match(metadata_name)
}

/// Whether the container's pod namespace matches `namespace`. `namespaces` maps pod ids to
/// namespaces; a container whose pod is unknown does not match.
pub fn namespace_matches(
    container: &Container,
    namespace: &Regex,
    namespaces: &HashMap<String, String>,
) -> bool {
    namespaces
        .get(&container.pod_sandbox_id)
        .is_some_and(|ns| namespace.is_match(ns))
}

/// Whether the container uses the image `wanted`: its image name, image ref or image id
/// equals `wanted`, or its image ref or image id equals `resolved_id` (the id the runtime
/// resolved `wanted` to, when it knows the image).
pub fn image_matches(container: &Container, wanted: &str, resolved_id: Option<&str>) -> bool {
    let name = container
        .image
        .as_ref()
        .map(|spec| spec.image.as_str())
        .unwrap_or_default();
    let refs = [
        name,
        container.image_ref.as_str(),
        container.image_id.as_str(),
    ];
    refs.iter().any(|r| !r.is_empty() && *r == wanted)
        || resolved_id.is_some_and(|id| {
            !id.is_empty() && (container.image_ref == id || container.image_id == id)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cri_proto::v1::{ContainerMetadata, ImageSpec};

    fn container(name: &str, pod: &str, image: &str, image_ref: &str) -> Container {
        Container {
            id: format!("id-{name}"),
            pod_sandbox_id: pod.into(),
            metadata: Some(ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: image.into(),
                ..Default::default()
            }),
            image_ref: image_ref.into(),
            ..Default::default()
        }
    }

    #[test]
    fn pod_states_parse_case_insensitively() {
        assert_eq!(
            parse_pod_state("ready").unwrap(),
            PodSandboxState::SandboxReady
        );
        assert_eq!(
            parse_pod_state("NotReady").unwrap(),
            PodSandboxState::SandboxNotready
        );
        assert_eq!(
            parse_pod_state("SANDBOX_READY").unwrap(),
            PodSandboxState::SandboxReady
        );
    }

    #[test]
    fn an_unknown_pod_state_is_an_error_naming_the_value() {
        let err = parse_pod_state("running").unwrap_err();
        assert_eq!(
            err.to_string(),
            "list_pods: invalid state \"running\": expected ready or notready"
        );
        assert!(parse_pod_state("").is_err());
    }

    #[test]
    fn container_states_parse_case_insensitively() {
        assert_eq!(
            parse_container_state("created").unwrap(),
            ContainerState::ContainerCreated
        );
        assert_eq!(
            parse_container_state("RUNNING").unwrap(),
            ContainerState::ContainerRunning
        );
        assert_eq!(
            parse_container_state("Exited").unwrap(),
            ContainerState::ContainerExited
        );
        assert_eq!(
            parse_container_state("unknown").unwrap(),
            ContainerState::ContainerUnknown
        );
        assert_eq!(
            parse_container_state("container_exited").unwrap(),
            ContainerState::ContainerExited
        );
    }

    #[test]
    fn an_unknown_container_state_is_an_error_naming_the_value() {
        let err = parse_container_state("stopped").unwrap_err();
        assert_eq!(
            err.to_string(),
            "list_containers: invalid state \"stopped\": expected created, running, exited or unknown"
        );
    }

    #[test]
    fn a_bad_regexp_is_an_error_naming_the_pattern() {
        let err = compile_regexp("name_regexp", "web(").unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument { argument: "name_regexp", value, .. } if value == "web("),
            "{err:?}"
        );
    }

    #[test]
    fn name_filter_searches_the_metadata_name() {
        let web = container("web-1", "p", "busybox:1.36", "sha256:b");
        let db = container("db", "p", "busybox:1.36", "sha256:b");
        let re = compile_regexp("name_regexp", "^web").unwrap();
        assert!(name_matches(&web, &re));
        assert!(!name_matches(&db, &re));
        let unanchored = compile_regexp("name_regexp", "b-").unwrap();
        assert!(name_matches(&web, &unanchored));
    }

    #[test]
    fn namespace_filter_uses_the_pods_namespace() {
        let namespaces: HashMap<String, String> = [
            ("p1".to_string(), "kube-system".to_string()),
            ("p2".to_string(), "default".to_string()),
        ]
        .into();
        let re = compile_regexp("pod_namespace_regexp", "^kube-").unwrap();
        assert!(namespace_matches(
            &container("a", "p1", "i", "r"),
            &re,
            &namespaces
        ));
        assert!(!namespace_matches(
            &container("a", "p2", "i", "r"),
            &re,
            &namespaces
        ));
        assert!(!namespace_matches(
            &container("a", "p3", "i", "r"),
            &re,
            &namespaces
        ));
    }

    #[test]
    fn image_filter_matches_name_ref_or_resolved_id() {
        let c = container("a", "p", "busybox:1.36", "sha256:10157d");
        assert!(image_matches(&c, "busybox:1.36", None));
        assert!(image_matches(&c, "sha256:10157d", None));
        assert!(!image_matches(&c, "docker.io/library/busybox:1.36", None));
        assert!(image_matches(
            &c,
            "docker.io/library/busybox:1.36",
            Some("sha256:10157d")
        ));
        assert!(!image_matches(
            &c,
            "registry.k8s.io/pause:3.6",
            Some("sha256:cc9eed")
        ));
        assert!(!image_matches(&c, "", Some("")));
    }
}
