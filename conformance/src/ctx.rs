//! The context every check runs in: the clients, what the target offers, unique names,
//! the objects to clean up, and the observations a compare run collects.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cri_fake::{Profile, fixtures};
use cri_proto::v1::*;
use cri_proto::{ImageServiceClient, RuntimeServiceClient};
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::check::{CheckResult, Failure};

/// The label every object the suite creates carries (value: the run id).
pub const RUN_LABEL: &str = "cri-conformance.run";

/// What a target runtime offers the suite.
#[derive(Debug, Clone)]
pub struct Target {
    /// The endpoint (`unix:///...`, `tcp://...`), for reports.
    pub endpoint: String,
    /// Which containerd release the target is (or, for the fake, imitates). Wherever
    /// containerd 1.6.20 and 2.3.4 answer differently, a check expects the answer of this
    /// release (see [`Ctx::per_profile`]); everywhere else both answer alike.
    pub profile: Profile,
    /// The sandbox image the runtime uses (by default the release's:
    /// [`Profile::sandbox_image`]).
    pub sandbox_image: String,
    /// A busybox image present on the target (`PATH=/bin`, cmd `sh`).
    pub test_image: String,
    /// Whether PullImage can reach a registry (or simulates one).
    pub can_pull: bool,
    /// Whether pods need host networking (no CNI).
    pub host_network: bool,
}

impl Target {
    /// The defaults for a target at `endpoint` running containerd release `profile`,
    /// prepared like `conformance/containerd/`: the release's sandbox image, the busybox
    /// test image, no registry, host-network pods.
    ///
    /// ```
    /// use cri_conformance::Target;
    /// use cri_fake::Profile;
    ///
    /// let target = Target::new("unix:///run/containerd/containerd.sock", Profile::Containerd16);
    /// assert_eq!(target.sandbox_image, "registry.k8s.io/pause:3.6");
    /// let target = Target::new("unix:///run/containerd/containerd.sock", Profile::Containerd23);
    /// assert_eq!(target.sandbox_image, "registry.k8s.io/pause:3.10.2");
    /// ```
    pub fn new(endpoint: impl Into<String>, profile: Profile) -> Self {
        Self {
            endpoint: endpoint.into(),
            profile,
            sandbox_image: profile.sandbox_image().into(),
            test_image: "docker.io/library/busybox:1.36".into(),
            can_pull: false,
            host_network: true,
        }
    }
}

/// The containerd release a `VersionResponse.runtime_version` names: `1.6…` (Debian's
/// `1.6.20~ds1`, upstream's `v1.6.20`) is [`Profile::Containerd16`], `2.…`/`v2.…` is
/// [`Profile::Containerd23`] (the 2.x release the expected values were measured on);
/// anything else is unknown.
///
/// ```
/// use cri_conformance::ctx::profile_for_runtime_version;
/// use cri_fake::Profile;
///
/// assert_eq!(profile_for_runtime_version("1.6.20~ds1"), Some(Profile::Containerd16));
/// assert_eq!(profile_for_runtime_version("v2.3.4"), Some(Profile::Containerd23));
/// assert_eq!(profile_for_runtime_version("1.7.2"), None);
/// ```
pub fn profile_for_runtime_version(runtime_version: &str) -> Option<Profile> {
    let version = runtime_version.strip_prefix('v').unwrap_or(runtime_version);
    if version == "1.6" || version.starts_with("1.6.") {
        Some(Profile::Containerd16)
    } else if version.starts_with("2.") {
        Some(Profile::Containerd23)
    } else {
        None
    }
}

/// Why [`detect_profile`] could not tell the target's release.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// The Version call failed.
    #[error("Version failed: {0}")]
    Version(#[from] cri_client::Error),
    /// The runtime version names no release the suite knows.
    #[error(
        "cannot tell the containerd release from Version (runtime_name {runtime_name:?}, runtime_version {runtime_version:?})"
    )]
    UnknownRelease {
        /// `VersionResponse.runtime_name`.
        runtime_name: String,
        /// `VersionResponse.runtime_version`.
        runtime_version: String,
    },
}

/// Asks the runtime behind `client` for its Version and tells its release from
/// `runtime_version` (see [`profile_for_runtime_version`]).
pub async fn detect_profile(client: &cri_client::Client) -> Result<Profile, DetectError> {
    let version = client.version().await?;
    profile_for_runtime_version(&version.runtime_version).ok_or(DetectError::UnknownRelease {
        runtime_name: version.runtime_name,
        runtime_version: version.runtime_version,
    })
}

/// What a call is expected to answer where the releases differ in kind (one answers, the
/// other fails), for [`Ctx::expect_outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The call succeeds.
    Ok,
    /// The call fails with exactly this code and message.
    Error(Code, String),
}

impl Expected {
    /// [`Expected::Error`] with `message`.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Expected::Error(code, message.into())
    }
}

/// The context of one check.
pub struct Ctx {
    /// The runtime service.
    pub rt: RuntimeServiceClient<Channel>,
    /// The image service.
    pub img: ImageServiceClient<Channel>,
    /// The typed client (retries, filters, exec errors).
    pub client: cri_client::Client,
    /// What the target offers.
    pub target: Target,
    run_id: String,
    sequence: u32,
    pods: Vec<String>,
    images: Vec<String>,
    log_dir: tempfile::TempDir,
    observations: Vec<(String, String)>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("target", &self.target)
            .field("run_id", &self.run_id)
            .field("sequence", &self.sequence)
            .field("pods", &self.pods)
            .field("images", &self.images)
            .field("log_dir", &self.log_dir)
            .field("observations", &self.observations)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// A context over a connected client.
    pub fn new(client: cri_client::Client, target: Target, run_id: &str) -> std::io::Result<Self> {
        let log_dir = tempfile::Builder::new()
            .prefix("cri-conformance-logs-")
            .tempdir()?;
        Ok(Self {
            rt: client.runtime_client(),
            img: client.image_client(),
            client,
            target,
            run_id: run_id.to_owned(),
            sequence: 0,
            pods: Vec::new(),
            images: Vec::new(),
            log_dir,
            observations: Vec::new(),
        })
    }

    /// The containerd release the target is (or imitates).
    pub fn profile(&self) -> Profile {
        self.target.profile
    }

    /// The expected value for the target's release: `containerd_16` for containerd 1.6.20,
    /// `containerd_23` for 2.3.4. Checks state both wherever the releases differ.
    ///
    /// ```no_run
    /// # async fn check(ctx: &mut cri_conformance::Ctx) -> cri_conformance::CheckResult {
    /// let text = ctx.per_profile("Prefix can't be empty", "prefix can't be empty");
    /// # let _ = text; Ok(()) }
    /// ```
    pub fn per_profile<T>(&self, containerd_16: T, containerd_23: T) -> T {
        match self.target.profile {
            Profile::Containerd16 => containerd_16,
            Profile::Containerd23 => containerd_23,
        }
    }

    /// This run's id (labels, names).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// A name no other check or run uses: `<base>-<run>-<n>`.
    pub fn unique(&mut self, base: &str) -> String {
        self.sequence += 1;
        format!("{base}-{}-{}", self.run_id, self.sequence)
    }

    /// The log directory pods of this check write to.
    pub fn log_dir(&self) -> &Path {
        self.log_dir.path()
    }

    /// A path inside the log directory.
    pub fn log_path(&self, relative: &str) -> PathBuf {
        self.log_dir.path().join(relative)
    }

    /// A pod config with a unique name, the run label, the log directory and host
    /// networking when the target needs it.
    pub fn pod_config(&mut self, base: &str) -> PodSandboxConfig {
        let name = self.unique(base);
        fixtures::pod(name.as_str())
            .uid(format!("uid-{name}"))
            .namespace("cri-conformance")
            .log_directory(self.log_dir.path().display().to_string())
            .label(RUN_LABEL, self.run_id.as_str())
            .network(if self.target.host_network {
                NamespaceMode::Node
            } else {
                NamespaceMode::Pod
            })
            .build()
    }

    /// Runs a pod (remembered for cleanup).
    pub async fn try_run_pod(&mut self, config: &PodSandboxConfig) -> Result<String, Status> {
        let id = self
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: String::new(),
            })
            .await?
            .into_inner()
            .pod_sandbox_id;
        self.pods.push(id.clone());
        Ok(id)
    }

    /// Runs a pod with a runtime handler (remembered for cleanup).
    pub async fn try_run_pod_with_handler(
        &mut self,
        config: &PodSandboxConfig,
        runtime_handler: &str,
    ) -> Result<String, Status> {
        let id = self
            .rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(config.clone()),
                runtime_handler: runtime_handler.into(),
            })
            .await?
            .into_inner()
            .pod_sandbox_id;
        self.pods.push(id.clone());
        Ok(id)
    }

    /// Runs a pod; failing is a check failure.
    pub async fn run_pod(&mut self, config: &PodSandboxConfig) -> Result<String, Failure> {
        self.try_run_pod(config)
            .await
            .map_err(|s| unexpected("RunPodSandbox", &s))
    }

    /// A new pod with a unique name: (id, config).
    pub async fn pod(&mut self, base: &str) -> Result<(String, PodSandboxConfig), Failure> {
        let config = self.pod_config(base);
        let id = self.run_pod(&config).await?;
        Ok((id, config))
    }

    /// A container config of the test image running `command`, labelled with the run.
    pub fn container_config(&self, name: &str, command: &[&str]) -> ContainerConfig {
        fixtures::container(name)
            .image(self.target.test_image.as_str())
            .command(command.iter().copied())
            .label(RUN_LABEL, self.run_id.as_str())
            .build()
    }

    /// CreateContainer.
    pub async fn create(
        &mut self,
        pod: &str,
        pod_config: &PodSandboxConfig,
        config: ContainerConfig,
    ) -> Result<String, Status> {
        self.rt
            .create_container(CreateContainerRequest {
                pod_sandbox_id: pod.into(),
                config: Some(config),
                sandbox_config: Some(pod_config.clone()),
            })
            .await
            .map(|r| r.into_inner().container_id)
    }

    /// StartContainer.
    pub async fn start(&mut self, id: &str) -> Result<(), Status> {
        self.rt
            .start_container(StartContainerRequest {
                container_id: id.into(),
            })
            .await
            .map(|_| ())
    }

    /// Creates and starts `command` in a new pod: (pod id, container id).
    pub async fn running(
        &mut self,
        base: &str,
        command: &[&str],
    ) -> Result<(String, String), Failure> {
        let (pod, config) = self.pod(base).await?;
        let id = self.running_in(&pod, &config, "main", command).await?;
        Ok((pod, id))
    }

    /// Creates and starts a container in an existing pod.
    pub async fn running_in(
        &mut self,
        pod: &str,
        config: &PodSandboxConfig,
        name: &str,
        command: &[&str],
    ) -> Result<String, Failure> {
        let container = self.container_config(name, command);
        self.create_and_start(pod, config, container).await
    }

    /// Creates and starts `container` in an existing pod; failing is a check failure.
    pub async fn create_and_start(
        &mut self,
        pod: &str,
        pod_config: &PodSandboxConfig,
        container: ContainerConfig,
    ) -> Result<String, Failure> {
        let id = self
            .create(pod, pod_config, container)
            .await
            .map_err(|s| unexpected("CreateContainer", &s))?;
        self.start(&id)
            .await
            .map_err(|s| unexpected("StartContainer", &s))?;
        Ok(id)
    }

    /// ContainerStatus.
    pub async fn status(&mut self, id: &str) -> Result<ContainerStatus, Status> {
        self.rt
            .container_status(ContainerStatusRequest {
                container_id: id.into(),
                verbose: false,
            })
            .await
            .map(|r| r.into_inner().status.unwrap_or_default())
    }

    /// ContainerStatus; failing is a check failure.
    pub async fn status_ok(&mut self, id: &str) -> Result<ContainerStatus, Failure> {
        self.status(id)
            .await
            .map_err(|s| unexpected("ContainerStatus", &s))
    }

    /// StopContainer.
    pub async fn stop(&mut self, id: &str, timeout: i64) -> Result<(), Status> {
        self.rt
            .stop_container(StopContainerRequest {
                container_id: id.into(),
                timeout,
            })
            .await
            .map(|_| ())
    }

    /// RemoveContainer.
    pub async fn remove(&mut self, id: &str) -> Result<(), Status> {
        self.rt
            .remove_container(RemoveContainerRequest {
                container_id: id.into(),
            })
            .await
            .map(|_| ())
    }

    /// ExecSync.
    pub async fn exec(
        &mut self,
        id: &str,
        cmd: &[&str],
        timeout: i64,
    ) -> Result<ExecSyncResponse, Status> {
        self.rt
            .exec_sync(ExecSyncRequest {
                container_id: id.into(),
                cmd: cmd.iter().map(|s| s.to_string()).collect(),
                timeout,
            })
            .await
            .map(|r| r.into_inner())
    }

    /// ExecSync; failing is a check failure.
    pub async fn exec_ok(
        &mut self,
        id: &str,
        cmd: &[&str],
        timeout: i64,
    ) -> Result<ExecSyncResponse, Failure> {
        self.exec(id, cmd, timeout)
            .await
            .map_err(|s| unexpected("ExecSync", &s))
    }

    /// StopPodSandbox, then (when it succeeded) up to 5 s for the sandbox to leave READY.
    ///
    /// containerd 2.3 marks the sandbox NOTREADY from its exit monitor, a moment after
    /// StopPodSandbox has returned (measured: a CreateContainer or a READY filter right
    /// after the stop still sees it ready now and then); 1.6 and the fake update it
    /// before answering. Checks observe the settled state.
    pub async fn stop_pod(&mut self, id: &str) -> Result<(), Status> {
        self.rt
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: id.into(),
            })
            .await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let status = self
                .rt
                .pod_sandbox_status(PodSandboxStatusRequest {
                    pod_sandbox_id: id.into(),
                    verbose: false,
                })
                .await;
            let ready = status.is_ok_and(|s| {
                s.into_inner()
                    .status
                    .is_some_and(|s| s.state == PodSandboxState::SandboxReady as i32)
            });
            if !ready || tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// RemovePodSandbox.
    pub async fn remove_pod(&mut self, id: &str) -> Result<(), Status> {
        self.rt
            .remove_pod_sandbox(RemovePodSandboxRequest {
                pod_sandbox_id: id.into(),
            })
            .await
            .map(|_| ())
    }

    /// PodSandboxStatus (the whole response, for `info`).
    pub async fn pod_status(
        &mut self,
        id: &str,
        verbose: bool,
    ) -> Result<PodSandboxStatusResponse, Status> {
        self.rt
            .pod_sandbox_status(PodSandboxStatusRequest {
                pod_sandbox_id: id.into(),
                verbose,
            })
            .await
            .map(|r| r.into_inner())
    }

    /// ContainerStatus with `verbose`, the whole response (for `info`).
    pub async fn status_verbose(&mut self, id: &str) -> Result<ContainerStatusResponse, Status> {
        self.rt
            .container_status(ContainerStatusRequest {
                container_id: id.into(),
                verbose: true,
            })
            .await
            .map(|r| r.into_inner())
    }

    /// ListPodSandbox with a filter.
    pub async fn list_pods(&mut self, filter: PodSandboxFilter) -> Result<Vec<PodSandbox>, Status> {
        self.rt
            .list_pod_sandbox(ListPodSandboxRequest {
                filter: Some(filter),
            })
            .await
            .map(|r| r.into_inner().items)
    }

    /// ListContainers with a filter.
    pub async fn list_containers(
        &mut self,
        filter: ContainerFilter,
    ) -> Result<Vec<Container>, Status> {
        self.rt
            .list_containers(ListContainersRequest {
                filter: Some(filter),
            })
            .await
            .map(|r| r.into_inner().containers)
    }

    /// UpdateContainerResources with Linux resources.
    pub async fn update_resources(
        &mut self,
        id: &str,
        linux: Option<LinuxContainerResources>,
    ) -> Result<(), Status> {
        self.rt
            .update_container_resources(UpdateContainerResourcesRequest {
                container_id: id.into(),
                linux,
                ..Default::default()
            })
            .await
            .map(|_| ())
    }

    /// ReopenContainerLog.
    pub async fn reopen_log(&mut self, id: &str) -> Result<(), Status> {
        self.rt
            .reopen_container_log(ReopenContainerLogRequest {
                container_id: id.into(),
            })
            .await
            .map(|_| ())
    }

    /// ImageStatus of a reference (`verbose` for `info`).
    pub async fn image_status(
        &mut self,
        image: &str,
        verbose: bool,
    ) -> Result<ImageStatusResponse, Status> {
        self.img
            .image_status(ImageStatusRequest {
                image: Some(ImageSpec {
                    image: image.into(),
                    ..Default::default()
                }),
                verbose,
            })
            .await
            .map(|r| r.into_inner())
    }

    /// The test image's id (`sha256:…`), from ImageStatus; a missing image is a check failure.
    pub async fn test_image_id(&mut self) -> Result<String, Failure> {
        let image = self.target.test_image.clone();
        let response = self
            .image_status(&image, false)
            .await
            .map_err(|s| unexpected("ImageStatus", &s))?;
        response.image.map(|i| i.id).ok_or_else(|| {
            Failure::Mismatch(format!(
                "the test image {image} is not present on the target"
            ))
        })
    }

    /// Expects `result` to fail with exactly `code` and `message` after replacing, in the
    /// observed message, each `(from, to)` pair (to hide values that differ between runs,
    /// such as a random one-character prefix); records the replaced outcome.
    pub fn expect_error_masked<T: Debug>(
        &mut self,
        key: &str,
        result: Result<T, Status>,
        code: Code,
        message: &str,
        masks: &[(&str, &str)],
    ) -> CheckResult {
        let result = result.map_err(|s| {
            let mut text = s.message().to_owned();
            for (from, to) in masks {
                text = text.replace(from, to);
            }
            Status::new(s.code(), text)
        });
        self.expect_error(key, result, code, message)
    }

    /// Polls (bounded, 20 s) until the container reaches `state`.
    pub async fn wait_state(
        &mut self,
        id: &str,
        state: ContainerState,
    ) -> Result<ContainerStatus, Failure> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let status = self.status_ok(id).await?;
            if status.state == state as i32 {
                return Ok(status);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Failure::Mismatch(format!(
                    "container never reached {state:?}: {status:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Records an observation for compare runs.
    pub fn observe(&mut self, key: &str, value: impl Into<String>) {
        self.observations.push((key.to_owned(), value.into()));
    }

    /// The observations recorded so far (ids not yet masked).
    pub fn observations(&self) -> &[(String, String)] {
        &self.observations
    }

    /// Expects `result` to fail with exactly `code` and `message`; records the outcome.
    pub fn expect_error<T: Debug>(
        &mut self,
        key: &str,
        result: Result<T, Status>,
        code: Code,
        message: &str,
    ) -> CheckResult {
        let observed = outcome(&result);
        self.observe(key, observed.clone());
        let expected = format!("{code:?}: {message}");
        if observed == expected {
            Ok(())
        } else {
            Err(Failure::Mismatch(format!(
                "{key}: expected {expected:?}, observed {observed:?}"
            )))
        }
    }

    /// Expects `result` to succeed; records the outcome and returns the value.
    pub fn expect_ok<T: Debug>(
        &mut self,
        key: &str,
        result: Result<T, Status>,
    ) -> Result<T, Failure> {
        self.observe(key, outcome(&result));
        result.map_err(|s| {
            Failure::Mismatch(format!(
                "{key}: expected OK, observed {:?}: {}",
                s.code(),
                s.message()
            ))
        })
    }

    /// Expects `result` to be `expected` (a success, or exactly an error); records the
    /// outcome. Returns the value when a success was expected and observed, `None` when
    /// the expected error was observed.
    pub fn expect_outcome<T: Debug>(
        &mut self,
        key: &str,
        result: Result<T, Status>,
        expected: Expected,
    ) -> Result<Option<T>, Failure> {
        match expected {
            Expected::Ok => self.expect_ok(key, result).map(Some),
            Expected::Error(code, message) => self
                .expect_error(key, result, code, &message)
                .map(|()| None),
        }
    }

    /// Expects `observed == expected`; records the observed value.
    pub fn expect_eq<T: PartialEq + Debug>(
        &mut self,
        key: &str,
        observed: T,
        expected: T,
    ) -> CheckResult {
        self.observe(key, format!("{observed:?}"));
        crate::check::expect_eq(key, observed, expected)
    }

    /// Remembers an image reference to remove at cleanup.
    pub fn remove_image_at_cleanup(&mut self, reference: &str) {
        self.images.push(reference.to_owned());
    }

    /// Removes every pod this check created (and with them their containers) and the
    /// images it registered. Never touches anything else.
    pub async fn cleanup(&mut self) {
        for pod in std::mem::take(&mut self.pods) {
            let _ = self
                .rt
                .stop_pod_sandbox(StopPodSandboxRequest {
                    pod_sandbox_id: pod.clone(),
                })
                .await;
            let _ = self
                .rt
                .remove_pod_sandbox(RemovePodSandboxRequest {
                    pod_sandbox_id: pod,
                })
                .await;
        }
        for image in std::mem::take(&mut self.images) {
            let _ = self
                .img
                .remove_image(RemoveImageRequest {
                    image: Some(ImageSpec {
                        image,
                        ..Default::default()
                    }),
                })
                .await;
        }
    }
}

/// `OK` or `<Code>: <message>`.
pub fn outcome<T>(result: &Result<T, Status>) -> String {
    match result {
        Ok(_) => "OK".into(),
        Err(s) => format!("{:?}: {}", s.code(), s.message()),
    }
}

/// A failure for an unexpected error of a setup step.
pub fn unexpected(step: &str, status: &Status) -> Failure {
    Failure::Mismatch(format!(
        "{step} failed unexpectedly: {:?}: {}",
        status.code(),
        status.message()
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The configs the suite sent before it used `cri_fake::fixtures`, written out: the
    /// fixtures must produce them field for field (a real containerd receives them).
    #[test]
    fn fixture_configs_are_the_hand_written_ones() {
        for host_network in [true, false] {
            let name = "pod-run-1".to_owned();
            let written = PodSandboxConfig {
                metadata: Some(PodSandboxMetadata {
                    uid: format!("uid-{name}"),
                    name: name.clone(),
                    namespace: "cri-conformance".into(),
                    attempt: 0,
                }),
                log_directory: "/logs".into(),
                labels: HashMap::from([(RUN_LABEL.to_owned(), "run".to_owned())]),
                linux: Some(LinuxPodSandboxConfig {
                    security_context: Some(LinuxSandboxSecurityContext {
                        namespace_options: Some(NamespaceOption {
                            network: if host_network {
                                NamespaceMode::Node as i32
                            } else {
                                NamespaceMode::Pod as i32
                            },
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let built = fixtures::pod(name.as_str())
                .uid(format!("uid-{name}"))
                .namespace("cri-conformance")
                .log_directory("/logs")
                .label(RUN_LABEL, "run")
                .network(if host_network {
                    NamespaceMode::Node
                } else {
                    NamespaceMode::Pod
                })
                .build();
            assert_eq!(built, written);
        }

        let written = ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: "app".into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: "registry.example/test:1".into(),
                ..Default::default()
            }),
            command: vec!["sleep".into(), "1".into()],
            labels: HashMap::from([(RUN_LABEL.to_owned(), "run".to_owned())]),
            ..Default::default()
        };
        let built = fixtures::container("app")
            .image("registry.example/test:1")
            .command(["sleep", "1"])
            .label(RUN_LABEL, "run")
            .build();
        assert_eq!(built, written);
    }
}
