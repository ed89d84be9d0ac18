//! Which containerd release the fake imitates, and every place the releases answer
//! differently, in one table.
//!
//! Handlers never compare profiles: they ask the `Dialect` of the running profile for a
//! text, a code or a yes/no, so the whole difference between containerd 1.6.20 and
//! 2.3.4 (measured on the same cases; README "Fidelity") reads top to bottom here.
//!
//! ```
//! use cri_fake::Profile;
//!
//! assert_eq!(Profile::default(), Profile::Containerd23);
//! assert_eq!(Profile::parse("containerd-1.6"), Some(Profile::Containerd16));
//! assert_eq!(Profile::Containerd23.runtime_version(), "v2.3.4");
//! assert_eq!(Profile::Containerd16.sandbox_image(), "registry.k8s.io/pause:3.6");
//! ```

use crate::core::error::{CriError, ErrorCode, go_quote};

/// Which containerd release the fake imitates where releases differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Profile {
    /// containerd 2.3.4 (the default): the release clusters run today.
    #[default]
    Containerd23,
    /// containerd 1.6.20 exactly as measured: RuntimeConfig, metrics, container
    /// events and checkpoints are UNIMPLEMENTED, stopping a missing object is
    /// NOT_FOUND.
    Containerd16,
}

impl Profile {
    /// Every profile, the default first.
    pub const ALL: [Profile; 2] = [Profile::Containerd23, Profile::Containerd16];

    /// The profile's name on the command line and in the TOML config
    /// (`containerd-2.3`, `containerd-1.6`).
    pub fn name(self) -> &'static str {
        self.dialect().name
    }

    /// The profile with this [`name`](Self::name); `latest` is accepted for the default.
    pub fn parse(name: &str) -> Option<Profile> {
        if name == "latest" {
            return Some(Profile::default());
        }
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// `VersionResponse.runtime_version` of this release (`v2.3.4`, `1.6.20~ds1`).
    pub fn runtime_version(self) -> &'static str {
        self.dialect().runtime_version
    }

    /// The release's default sandbox (pause) image.
    pub fn sandbox_image(self) -> &'static str {
        self.dialect().sandbox_image
    }

    /// The table of this profile's answers.
    pub(crate) fn dialect(self) -> &'static Dialect {
        match self {
            Profile::Containerd23 => &CONTAINERD_23,
            Profile::Containerd16 => &CONTAINERD_16,
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How CreateContainer in a stopped (NOTREADY) sandbox fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoppedSandboxCreate {
    /// 1.6: NOT_FOUND `failed to get sandbox container task: no running task found: ...`.
    NoRunningTask,
    /// 2.3: UNKNOWN `sandbox container "<id>" is not running`.
    NotRunning,
}

/// The Go protobuf library that decodes requests, whose error texts a malformed
/// request gets (see `service/wire_errors.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtobufDecoder {
    /// 1.6: gogo/protobuf's generated code (`unexpected EOF`, `proto: illegal wireType N`).
    Gogo,
    /// 2.3: google.golang.org/protobuf (`proto: cannot parse invalid wire-format data`).
    ProtobufGo,
}

/// Why a sandbox's stats cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SandboxStatsFailure {
    /// The sandbox is not READY.
    NotReady,
    /// The sandbox has no `linux.cgroup_parent`.
    NoCgroupPath,
}

/// Everything that differs between the imitated releases. One `static` per profile.
#[derive(Debug)]
pub(crate) struct Dialect {
    /// The profile's name.
    pub name: &'static str,
    /// `VersionResponse.runtime_version`.
    pub runtime_version: &'static str,
    /// The Go release in verbose Status `golang` (1.6.20: Debian's build, measured; 2.3.4:
    /// the toolchain its go.mod requires).
    pub golang_version: &'static str,
    /// The default sandbox image.
    pub sandbox_image: &'static str,
    /// The text of an empty id or prefix (`Prefix can't be empty` in 1.6).
    pub empty_prefix: &'static str,
    /// What runc/OCI error texts end with (`: unknown` in 1.6, nothing in 2.3).
    pub oci_error_suffix: &'static str,
    /// Whose texts an undecodable request gets.
    pub protobuf_decoder: ProtobufDecoder,
    /// StopPodSandbox and StopContainer on a missing id answer OK (2.3) instead of
    /// NOT_FOUND (1.6).
    pub stop_missing_is_ok: bool,
    /// The code of a sandbox or container name reservation conflict.
    pub name_conflict_code: ErrorCode,
    /// What the container name conflict adds after the quoted name.
    pub container_name_conflict_hint: &'static str,
    /// How CreateContainer in a stopped sandbox fails.
    pub stopped_sandbox_create: StoppedSandboxCreate,
    /// What CreateContainer puts before an image resolution failure.
    pub create_image_error_prefix: &'static str,
    /// CreateContainer without a sandbox config: containerd 1.6 crashes the call (the
    /// fake answers with its own text); 2.3 checks it.
    pub missing_sandbox_config: &'static str,
    /// An uppercase repository path names it (`repository name (Case) must be lowercase`,
    /// 2.3's distribution/reference) or not (1.6).
    pub lowercase_error_names_repository: bool,
    /// PullImage offline: 1.6 names the reference (`failed to resolve reference "R"`),
    /// 2.3 does not (`failed to resolve image`).
    pub pull_resolve_names_reference: bool,
    /// RunPodSandbox task failures are prefixed `failed to start sandbox "<id>": `.
    pub sandbox_start_prefix: bool,
    /// The unknown runtime handler message names the sandbox (2.3) or not (1.6).
    pub runtime_handler_names_sandbox: bool,
    /// 2.3's sandbox stats: a not-ready sandbox is UNAVAILABLE (and skipped by the
    /// list), every failure is prefixed `failed to decode pod sandbox metrics <id>: `.
    pub sandbox_stats_v2: bool,
    /// The streaming server's refusal of a request without X-Stream-Protocol-Version
    /// counts the request's headers (2.3) or not (1.6).
    pub stream_upgrade_counts_headers: bool,
    /// The exec/attach protocols the streaming server accepts in
    /// `X-Stream-Protocol-Version`, in its order (kubelet's
    /// `SupportedStreamingProtocols` as each release vendors it: v5 is newer than 1.6).
    pub exec_stream_protocols: &'static [&'static str],
    /// A failed protocol negotiation writes its text twice (1.6: kubelet's
    /// `Handshake` answers 403 with `http.Error`, then its caller calls `http.Error`
    /// again, which appends the text; newer `Handshake` callers do not).
    pub stream_negotiation_error_repeated: bool,
    /// A port-forward that cannot connect resets its error stream after the message
    /// (2.3's vendored kubelet `portforward` resets both, but spdystream sends nothing
    /// for the data stream containerd has already closed: measured on 2.3.4); 1.6
    /// finishes the error stream instead (measured).
    pub port_forward_failure_resets: bool,
    /// The exec/attach `metav1.Status` on the error stream starts with an empty
    /// `"metadata":{}` (1.6, measured); 2.3.4's apimachinery omits it (measured).
    pub exec_status_metadata: bool,
    /// RuntimeConfig, ListMetricDescriptors, ListPodSandboxMetrics, GetContainerEvents and
    /// CheckpointContainer are implemented (2.3) or UNIMPLEMENTED (1.6).
    pub newer_rpcs: bool,
    /// Status carries the `ContainerdHasNoDeprecationWarnings` condition.
    pub deprecation_condition: bool,
    /// Status verbose `config` is 2.3's runtime config (`maxContainerLogLineSize`, the
    /// runtimes' options, no image or streaming keys, which moved to other plugins) and
    /// `cniconfig` lists the built-in loopback network; 1.6 shows its single CRI config.
    pub split_cri_config: bool,
    /// PodSandboxStatus always returns the `info` key, verbose or not.
    pub sandbox_info_always: bool,
    /// The verbose sandbox info has `runtimeHandler` (1.6) or `sandboxMetadata` (2.3).
    pub sandbox_info_has_metadata: bool,
    /// ContainerStatus and ListContainers' Container carry `image_id`, the image's config
    /// digest (2.3); 1.6 predates the field.
    pub container_image_id: bool,
    /// ContainerStatus carries `user`, the spec's uid, gid and additional gids (2.3); 1.6
    /// predates the field.
    pub container_status_user: bool,
    /// Without a CRI user, the `/etc/group` memberships of the image `User` are added to
    /// the additional gids (2.3); 1.6 adds uid 0's.
    pub image_user_groups: bool,
    /// `supplemental_groups_policy` is honoured (2.3: Strict skips `/etc/group`, other
    /// values fail CreateContainer); 1.6 predates it and always merges.
    pub supplemental_groups_policy: bool,
    /// A uid or gid outside `0..=2147483647` fails CreateContainer (2.3); 1.6 truncates it.
    pub user_id_range_checked: bool,
    /// ListImages and ImageStatus report the configured sandbox image as `pinned` (2.3);
    /// 1.6 never sets it.
    pub pins_sandbox_image: bool,
}

static CONTAINERD_16: Dialect = Dialect {
    name: "containerd-1.6",
    runtime_version: "1.6.20~ds1",
    golang_version: "go1.19.8",
    sandbox_image: "registry.k8s.io/pause:3.6",
    empty_prefix: "Prefix can't be empty",
    oci_error_suffix: ": unknown",
    protobuf_decoder: ProtobufDecoder::Gogo,
    stop_missing_is_ok: false,
    name_conflict_code: ErrorCode::Unknown,
    container_name_conflict_hint: "",
    stopped_sandbox_create: StoppedSandboxCreate::NoRunningTask,
    create_image_error_prefix: "",
    missing_sandbox_config: "sandbox config must be set in the CreateContainer request",
    lowercase_error_names_repository: false,
    pull_resolve_names_reference: true,
    sandbox_start_prefix: false,
    runtime_handler_names_sandbox: false,
    sandbox_stats_v2: false,
    stream_upgrade_counts_headers: false,
    exec_stream_protocols: &[
        "v4.channel.k8s.io",
        "v3.channel.k8s.io",
        "v2.channel.k8s.io",
        "channel.k8s.io",
    ],
    stream_negotiation_error_repeated: true,
    port_forward_failure_resets: false,
    exec_status_metadata: true,
    newer_rpcs: false,
    deprecation_condition: false,
    split_cri_config: false,
    sandbox_info_always: false,
    sandbox_info_has_metadata: false,
    container_image_id: false,
    container_status_user: false,
    image_user_groups: false,
    supplemental_groups_policy: false,
    user_id_range_checked: false,
    pins_sandbox_image: false,
};

static CONTAINERD_23: Dialect = Dialect {
    name: "containerd-2.3",
    runtime_version: "v2.3.4",
    golang_version: "go1.26.3",
    sandbox_image: "registry.k8s.io/pause:3.10.2",
    empty_prefix: "prefix can't be empty",
    oci_error_suffix: "",
    protobuf_decoder: ProtobufDecoder::ProtobufGo,
    stop_missing_is_ok: true,
    name_conflict_code: ErrorCode::FailedPrecondition,
    container_name_conflict_hint: "; check if another CreateContainer request is in progress",
    stopped_sandbox_create: StoppedSandboxCreate::NotRunning,
    create_image_error_prefix: "failed to check if this is a checkpoint image: ",
    missing_sandbox_config: "pod sandbox config must include metadata",
    lowercase_error_names_repository: true,
    pull_resolve_names_reference: false,
    sandbox_start_prefix: true,
    runtime_handler_names_sandbox: true,
    sandbox_stats_v2: true,
    stream_upgrade_counts_headers: true,
    exec_stream_protocols: &[
        "v5.channel.k8s.io",
        "v4.channel.k8s.io",
        "v3.channel.k8s.io",
        "v2.channel.k8s.io",
        "channel.k8s.io",
    ],
    stream_negotiation_error_repeated: false,
    port_forward_failure_resets: true,
    exec_status_metadata: false,
    newer_rpcs: true,
    deprecation_condition: true,
    split_cri_config: true,
    sandbox_info_always: true,
    sandbox_info_has_metadata: true,
    container_image_id: true,
    container_status_user: true,
    image_user_groups: true,
    supplemental_groups_policy: true,
    user_id_range_checked: true,
    pins_sandbox_image: true,
};

impl Dialect {
    /// The release's rules for the spec user (see [`spec_user`](crate::process::users::spec_user)).
    pub(crate) fn spec_user_rules(&self) -> crate::process::users::SpecUserRules {
        crate::process::users::SpecUserRules {
            image_user_groups: self.image_user_groups,
            groups_policy: self.supplemental_groups_policy,
            id_range_checked: self.user_id_range_checked,
        }
    }

    /// A runc/OCI failure text with the release's ending.
    pub(crate) fn oci_error(&self, text: impl std::fmt::Display) -> String {
        format!("{text}{}", self.oci_error_suffix)
    }

    /// The unknown runtime handler message.
    pub(crate) fn unknown_runtime_handler(&self, sandbox_id: &str, handler: &str) -> String {
        if self.runtime_handler_names_sandbox {
            format!(
                "unable to get OCI runtime for sandbox {}: no runtime for {} is configured",
                go_quote(sandbox_id),
                go_quote(handler)
            )
        } else {
            format!(
                "failed to get sandbox runtime: no runtime for {} is configured",
                go_quote(handler)
            )
        }
    }

    /// A RunPodSandbox task failure (`text` without the OCI ending).
    pub(crate) fn sandbox_start_error(&self, sandbox_id: &str, text: &str) -> String {
        if self.sandbox_start_prefix {
            format!(
                "failed to start sandbox {}: {}",
                go_quote(sandbox_id),
                self.oci_error(text)
            )
        } else {
            self.oci_error(text)
        }
    }

    /// The container name reservation conflict message.
    pub(crate) fn container_name_conflict(&self, name: &str, holder: &str) -> String {
        format!(
            "failed to reserve container name {}{}: name {} is reserved for {}",
            go_quote(name),
            self.container_name_conflict_hint,
            go_quote(name),
            go_quote(holder)
        )
    }

    /// PodSandboxStats' error for a sandbox whose stats cannot be read.
    pub(crate) fn sandbox_stats_error(
        &self,
        sandbox_id: &str,
        failure: SandboxStatsFailure,
    ) -> CriError {
        let id = sandbox_id;
        match (failure, self.sandbox_stats_v2) {
            (SandboxStatsFailure::NotReady, false) => CriError::unknown(format!(
                "failed to decode pod sandbox metrics {id}: failed to get pod sandbox stats since sandbox container \"{id}\" is not in ready state"
            )),
            (SandboxStatsFailure::NotReady, true) => CriError::new(
                ErrorCode::Unavailable,
                format!(
                    "failed to decode pod sandbox metrics {id}: failed to get pod sandbox stats since sandbox container \"{id}\" is not in ready state: unavailable"
                ),
            ),
            (SandboxStatsFailure::NoCgroupPath, v2) => CriError::unknown(format!(
                "{}failed getting metrics for sandbox {id}: failed to get cgroup metrics for sandbox {id} because cgroupPath is empty",
                if v2 {
                    format!("failed to decode pod sandbox metrics {id}: ")
                } else {
                    String::new()
                }
            )),
        }
    }

    /// ListPodSandboxStats' answer to one sandbox whose stats cannot be read: `None`
    /// skips the sandbox, `Some` fails the call.
    pub(crate) fn sandbox_stats_list_error(
        &self,
        sandbox_id: &str,
        failure: SandboxStatsFailure,
    ) -> Option<CriError> {
        let id = sandbox_id;
        match (failure, self.sandbox_stats_v2) {
            (SandboxStatsFailure::NotReady, true) => None,
            (SandboxStatsFailure::NotReady, false) => Some(CriError::unknown(format!(
                "failed to obtain metrics for sandbox \"{id}\": failed to get pod sandbox stats since sandbox container \"{id}\" is not in ready state"
            ))),
            (SandboxStatsFailure::NoCgroupPath, false) => Some(CriError::unknown(format!(
                "failed to obtain metrics for sandbox \"{id}\": failed to get cgroup metrics for sandbox {id} because cgroupPath is empty"
            ))),
            (SandboxStatsFailure::NoCgroupPath, true) => Some(CriError::unknown(format!(
                "failed to decode sandbox container metrics for sandbox \"{id}\": failed getting metrics for sandbox {id}: failed to get cgroup metrics for sandbox {id} because cgroupPath is empty"
            ))),
        }
    }

    /// The body of the streaming server's 403 when no protocol the client offers is in
    /// `server` (Go's `%v` of both lists).
    pub(crate) fn stream_negotiation_refusal(&self, client: &[String], server: &[&str]) -> String {
        let line = format!(
            "unable to upgrade: unable to negotiate protocol: client supports [{}], server accepts [{}]\n",
            client.join(" "),
            server.join(" ")
        );
        if self.stream_negotiation_error_repeated {
            line.repeat(2)
        } else {
            line
        }
    }

    /// The body of the streaming server's answer to a request without
    /// `X-Stream-Protocol-Version`, which had `header_count` headers.
    pub(crate) fn stream_upgrade_refusal(&self, header_count: usize) -> String {
        if self.stream_upgrade_counts_headers {
            format!(
                "unable to upgrade: header X-Stream-Protocol-Version does not exist in request with {header_count} headers\n"
            )
        } else {
            "unable to upgrade: X-Stream-Protocol-Version is required\n".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_round_trip_and_latest_means_the_default() {
        for profile in Profile::ALL {
            assert_eq!(Profile::parse(profile.name()), Some(profile));
            assert_eq!(profile.to_string(), profile.name());
        }
        assert_eq!(Profile::parse("latest"), Some(Profile::Containerd23));
        assert_eq!(Profile::parse("containerd-1.7"), None);
    }

    #[test]
    fn texts_that_differ_between_releases_read_as_each_release_wrote_them() {
        let old = Profile::Containerd16.dialect();
        let new = Profile::Containerd23.dialect();
        assert_eq!(old.oci_error("x"), "x: unknown");
        assert_eq!(new.oci_error("x"), "x");
        assert_eq!(
            new.unknown_runtime_handler("abc", "nope"),
            "unable to get OCI runtime for sandbox \"abc\": no runtime for \"nope\" is configured"
        );
        assert_eq!(
            old.unknown_runtime_handler("abc", "nope"),
            "failed to get sandbox runtime: no runtime for \"nope\" is configured"
        );
        assert_eq!(
            new.container_name_conflict("n", "id"),
            "failed to reserve container name \"n\"; check if another CreateContainer request is in progress: name \"n\" is reserved for \"id\""
        );
        assert_eq!(
            old.container_name_conflict("n", "id"),
            "failed to reserve container name \"n\": name \"n\" is reserved for \"id\""
        );
        assert_eq!(
            new.stream_upgrade_refusal(3),
            "unable to upgrade: header X-Stream-Protocol-Version does not exist in request with 3 headers\n"
        );
        assert_eq!(
            old.stream_upgrade_refusal(3),
            "unable to upgrade: X-Stream-Protocol-Version is required\n"
        );
        assert_eq!(
            new.sandbox_start_error("abc", "task failed"),
            "failed to start sandbox \"abc\": task failed"
        );
        assert_eq!(
            old.sandbox_start_error("abc", "task failed"),
            "task failed: unknown"
        );
    }
}
