//! Containers: create (with pull), start, stop (retries and force kill), remove, status,
//! list (with client-side filters), and [`Client::run_containers`].

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use cri_proto::v1::{
    ContainerConfig, ContainerFilter, ContainerState, ContainerStateValue, ContainerStatusRequest,
    ContainerStatusResponse, CreateContainerRequest, ImageSpec, ImageStatusRequest,
    ListContainersRequest, PodSandboxConfig, PullImageRequest, RemoveContainerRequest,
    StartContainerRequest, StopContainerRequest,
};

use crate::client::{Client, whole_seconds};
use crate::error::{Error, Ids, KillAction, Operation, Result, Rpc, Step, require_id};
use crate::filters::{
    ListContainerOptions, ListPodOptions, ListedContainer, compile_regexp, image_matches,
    name_matches, namespace_matches, parse_container_state,
};

/// What [`Client::run_containers`] created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunContainersOutput {
    /// The pod sandbox id.
    pub pod_id: String,
    /// The container ids, in the order of the configs.
    pub container_ids: Vec<String>,
}

/// How a stop attempt ended.
enum Stopped {
    /// The container is no longer running.
    Yes,
    /// The runtime does not know the container (NOT_FOUND): nothing to stop or remove.
    Gone,
}

impl Client {
    /// Creates a container in pod `pod_id` and returns its id. With `with_pull`, the image
    /// is pulled first (with `pod_config` as the sandbox config and the image spec's
    /// annotations).
    pub async fn create_container(
        &self,
        pod_id: &str,
        pod_config: &PodSandboxConfig,
        config: &ContainerConfig,
        with_pull: bool,
    ) -> Result<String> {
        require_id("create_container", "pod id", pod_id)?;
        if with_pull {
            self.pull_for(pod_config, config).await?;
        }
        self.create_only(pod_id, pod_config, config).await
    }

    async fn pull_for(
        &self,
        pod_config: &PodSandboxConfig,
        config: &ContainerConfig,
    ) -> Result<String> {
        let image = config.image.clone().unwrap_or_default();
        self.pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: image.image,
                annotations: image.annotations,
                runtime_handler: image.runtime_handler,
                user_specified_image: image.user_specified_image,
            }),
            auth: None,
            sandbox_config: Some(pod_config.clone()),
        })
        .await
    }

    async fn create_only(
        &self,
        pod_id: &str,
        pod_config: &PodSandboxConfig,
        config: &ContainerConfig,
    ) -> Result<String> {
        let ids = Ids {
            pod_id: Some(pod_id.to_string()),
            image: config.image.as_ref().map(|spec| spec.image.clone()),
            container_id: None,
        };
        let response = self
            .runtime_call(
                Rpc::CreateContainer,
                ids.clone(),
                Some(self.settings.call_timeout),
                CreateContainerRequest {
                    pod_sandbox_id: pod_id.to_string(),
                    config: Some(config.clone()),
                    sandbox_config: Some(pod_config.clone()),
                },
                |mut c, r| async move { c.create_container(r).await },
            )
            .await?;
        if response.container_id.is_empty() {
            return Err(Error::MissingField {
                rpc: Rpc::CreateContainer,
                ids,
                field: "container_id",
            });
        }
        Ok(response.container_id)
    }

    /// Starts a created container. An empty id is an [`Error::InvalidArgument`], sent
    /// nowhere.
    pub async fn start_container(&self, id: &str) -> Result<()> {
        require_id("start_container", "container id", id)?;
        self.runtime_call(
            Rpc::StartContainer,
            Ids::container(id),
            Some(self.settings.call_timeout),
            StartContainerRequest {
                container_id: id.to_string(),
            },
            |mut c, r| async move { c.start_container(r).await },
        )
        .await
        .map(drop)
    }

    /// Stops a container, surely.
    ///
    /// - With `force`: force kill at once (below).
    /// - Otherwise: `StopContainer` with the grace `timeout` (whole seconds, rounded up),
    ///   then retries by the client's [`RetryPolicy`](crate::RetryPolicy) with timeout 0.
    ///   A try succeeds when the runtime answers OK *and* the container's status is no
    ///   longer RUNNING. When every try failed: force kill.
    /// - Force kill: read the process id from the verbose status (`info["info"]` JSON,
    ///   key `pid`), find its parent (the shim) with the [`ProcessKiller`](crate::ProcessKiller)
    ///   and kill it, then `StopContainer` again.
    /// - With `try_remove`: `RemoveContainer` afterwards, whatever the stop achieved; the
    ///   call succeeds if the remove does.
    ///
    /// NOT_FOUND at any point means the container is gone: success. Otherwise a failure is
    /// [`Error::Attempts`] with every stop try, the force-kill error and the remove error.
    pub async fn stop_container(
        &self,
        id: &str,
        timeout: Duration,
        try_remove: bool,
        force: bool,
    ) -> Result<()> {
        require_id("stop_container", "container id", id)?;
        let mut failures = Vec::new();
        let mut stopped = false;
        if !force {
            let policy = self.settings.retry;
            let grace = whole_seconds(timeout);
            let outcome = crate::retry::retry(&policy, |n| {
                let grace = if n == 0 { grace } else { 0 };
                self.stop_and_check(id, grace)
            })
            .await;
            match outcome {
                Ok(Stopped::Gone) => return Ok(()),
                Ok(Stopped::Yes) => stopped = true,
                Err(errors) => failures.extend(errors),
            }
        }
        if !stopped {
            match self.force_stop(id).await {
                Ok(Stopped::Gone) => return Ok(()),
                Ok(Stopped::Yes) => stopped = true,
                Err(err) => failures.push(err),
            }
        }
        if try_remove {
            match self.remove_container(id).await {
                Ok(()) => return Ok(()),
                Err(err) => failures.push(err),
            }
        } else if stopped {
            return Ok(());
        }
        Err(Error::Attempts {
            operation: Operation::StopContainer,
            ids: Ids::container(id),
            attempts: failures,
        })
    }

    /// One `StopContainer` with grace `seconds`, then a status check.
    async fn stop_and_check(&self, id: &str, seconds: i64) -> Result<Stopped> {
        let policy = self.settings.retry;
        let grace = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
        match self
            .stop_once(id, seconds, policy.per_try_timeout.saturating_add(grace))
            .await
        {
            Err(err) if err.is_not_found() => return Ok(Stopped::Gone),
            Err(err) => return Err(err),
            Ok(()) => {}
        }
        match self.status_once(id, false, policy.per_try_timeout).await {
            Err(err) if err.is_not_found() => Ok(Stopped::Gone),
            Err(err) => Err(err),
            Ok(response) => {
                let running = response
                    .status
                    .is_some_and(|status| status.state == ContainerState::ContainerRunning as i32);
                if running {
                    Err(Error::StillRunning {
                        container_id: id.to_string(),
                    })
                } else {
                    Ok(Stopped::Yes)
                }
            }
        }
    }

    /// Kills the container's shim (the parent of its process) and stops it again.
    async fn force_stop(&self, id: &str) -> Result<Stopped> {
        let per_try = self.settings.retry.per_try_timeout;
        let response = match self.status_once(id, true, per_try).await {
            Err(err) if err.is_not_found() => return Ok(Stopped::Gone),
            other => other?,
        };
        let running = response
            .status
            .as_ref()
            .is_some_and(|status| status.state == ContainerState::ContainerRunning as i32);
        if running {
            let pid = process_id(id, &response)?;
            if pid > 0 {
                let killer = &self.settings.killer;
                let parent = killer.parent_pid(pid).map_err(|source| Error::Kill {
                    container_id: id.to_string(),
                    pid,
                    action: KillAction::FindParent,
                    source,
                })?;
                tracing::warn!(
                    container = id,
                    pid,
                    shim = parent,
                    "force-killing the container's shim"
                );
                killer.kill(parent).map_err(|source| Error::Kill {
                    container_id: id.to_string(),
                    pid: parent,
                    action: KillAction::Signal,
                    source,
                })?;
            }
        }
        self.stop_and_check(id, 0).await
    }

    async fn stop_once(&self, id: &str, seconds: i64, deadline: Duration) -> Result<()> {
        self.runtime_call(
            Rpc::StopContainer,
            Ids::container(id),
            Some(deadline),
            StopContainerRequest {
                container_id: id.to_string(),
                timeout: seconds,
            },
            |mut c, r| async move { c.stop_container(r).await },
        )
        .await
        .map(drop)
    }

    /// Removes a container (one try; the runtime kills it first if it runs).
    pub async fn remove_container(&self, id: &str) -> Result<()> {
        require_id("remove_container", "container id", id)?;
        self.runtime_call(
            Rpc::RemoveContainer,
            Ids::container(id),
            Some(self.settings.call_timeout),
            RemoveContainerRequest {
                container_id: id.to_string(),
            },
            |mut c, r| async move { c.remove_container(r).await },
        )
        .await
        .map(drop)
    }

    /// A container's status; with `verbose`, the runtime's `info` too.
    pub async fn container_status(
        &self,
        id: &str,
        verbose: bool,
    ) -> Result<ContainerStatusResponse> {
        require_id("container_status", "container id", id)?;
        self.status_once(id, verbose, self.settings.call_timeout)
            .await
    }

    async fn status_once(
        &self,
        id: &str,
        verbose: bool,
        deadline: Duration,
    ) -> Result<ContainerStatusResponse> {
        self.runtime_call(
            Rpc::ContainerStatus,
            Ids::container(id),
            Some(deadline),
            ContainerStatusRequest {
                container_id: id.to_string(),
                verbose,
            },
            |mut c, r| async move { c.container_status(r).await },
        )
        .await
    }

    /// Lists containers. The state, name and namespace expressions are checked before
    /// anything is sent. Id, pod, state and labels are filtered by the runtime; name, pod
    /// namespace and image by the client (see [`ListContainerOptions`]). With `verbose`,
    /// each entry carries its verbose status (containers removed in between are left out).
    pub async fn list_containers(
        &self,
        options: &ListContainerOptions,
    ) -> Result<Vec<ListedContainer>> {
        let state = options
            .state
            .as_deref()
            .map(parse_container_state)
            .transpose()?
            .map(|state| ContainerStateValue {
                state: state as i32,
            });
        let name = options
            .name_regexp
            .as_deref()
            .map(|pattern| compile_regexp("name_regexp", pattern))
            .transpose()?;
        let namespace = options
            .pod_namespace_regexp
            .as_deref()
            .map(|pattern| compile_regexp("pod_namespace_regexp", pattern))
            .transpose()?;
        if options.image.as_deref() == Some("") {
            return Err(Error::invalid(
                "list_containers",
                "image",
                "",
                "must not be empty",
            ));
        }

        let filter = ContainerFilter {
            id: options.id.clone().unwrap_or_default(),
            state,
            pod_sandbox_id: options.pod_id.clone().unwrap_or_default(),
            label_selector: options.labels.clone(),
        };
        let mut containers = self
            .runtime_call(
                Rpc::ListContainers,
                Ids::none(),
                Some(self.settings.call_timeout),
                ListContainersRequest {
                    filter: Some(filter),
                },
                |mut c, r| async move { c.list_containers(r).await },
            )
            .await?
            .containers;

        if let Some(name) = &name {
            containers.retain(|c| name_matches(c, name));
        }
        if let Some(namespace) = &namespace
            && !containers.is_empty()
        {
            let namespaces = self.pod_namespaces(&containers).await?;
            containers.retain(|c| namespace_matches(c, namespace, &namespaces));
        }
        if let Some(image) = &options.image
            && !containers.is_empty()
        {
            let resolved = self.resolve_image_id(image).await?;
            containers.retain(|c| image_matches(c, image, resolved.as_deref()));
        }

        let mut listed = Vec::with_capacity(containers.len());
        for container in containers {
            let status = if options.verbose {
                match self.container_status(&container.id, true).await {
                    Ok(status) => Some(status),
                    Err(err) if err.is_not_found() => continue,
                    Err(err) => return Err(err),
                }
            } else {
                None
            };
            listed.push(ListedContainer { container, status });
        }
        Ok(listed)
    }

    /// Pod id → namespace for the pods of `containers` (one `ListPodSandbox`, filtered by id
    /// when they all share one pod).
    async fn pod_namespaces(
        &self,
        containers: &[cri_proto::v1::Container],
    ) -> Result<HashMap<String, String>> {
        let pods: HashSet<&str> = containers
            .iter()
            .map(|c| c.pod_sandbox_id.as_str())
            .collect();
        let id = match pods.iter().next() {
            Some(only) if pods.len() == 1 => Some((*only).to_string()),
            _ => None,
        };
        let listed = self
            .list_pods(&ListPodOptions {
                id,
                ..ListPodOptions::default()
            })
            .await?;
        Ok(listed
            .into_iter()
            .map(|pod| {
                let namespace = pod.metadata.map(|m| m.namespace).unwrap_or_default();
                (pod.id, namespace)
            })
            .collect())
    }

    /// The id the runtime resolves `image` to, if it has that image.
    async fn resolve_image_id(&self, image: &str) -> Result<Option<String>> {
        let response = self
            .image_status(ImageStatusRequest {
                image: Some(ImageSpec {
                    image: image.to_string(),
                    ..ImageSpec::default()
                }),
                verbose: false,
            })
            .await?;
        Ok(response.image.map(|image| image.id))
    }

    /// Runs a pod, then creates (pulling the image first) and starts each container, in
    /// order. Returns the pod id and the container ids.
    ///
    /// If any step fails, the containers and the pod this call created are stopped and
    /// removed (one try each), and the error is [`Error::Step`]: the failed step, the
    /// original error, and any clean-up failures.
    pub async fn run_containers(
        &self,
        pod_config: &PodSandboxConfig,
        configs: &[ContainerConfig],
        runtime_handler: &str,
    ) -> Result<RunContainersOutput> {
        let pod_id = self
            .run_pod(pod_config, runtime_handler)
            .await
            .map_err(|source| Error::Step {
                step: Step::RunPod,
                pod_id: None,
                source: Box::new(source),
                cleanup: Vec::new(),
            })?;
        let mut created = Vec::with_capacity(configs.len());
        for (index, config) in configs.iter().enumerate() {
            if let Err((step, source)) = self
                .create_and_start(&pod_id, pod_config, config, index, &mut created)
                .await
            {
                let cleanup = self.roll_back(&pod_id, &created).await;
                return Err(Error::Step {
                    step,
                    pod_id: Some(pod_id),
                    source: Box::new(source),
                    cleanup,
                });
            }
        }
        Ok(RunContainersOutput {
            pod_id,
            container_ids: created,
        })
    }

    async fn create_and_start(
        &self,
        pod_id: &str,
        pod_config: &PodSandboxConfig,
        config: &ContainerConfig,
        index: usize,
        created: &mut Vec<String>,
    ) -> std::result::Result<(), (Step, Error)> {
        let image = config
            .image
            .as_ref()
            .map(|spec| spec.image.clone())
            .unwrap_or_default();
        self.pull_for(pod_config, config)
            .await
            .map_err(|err| (Step::PullImage { index, image }, err))?;
        let name = config
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let id = self
            .create_only(pod_id, pod_config, config)
            .await
            .map_err(|err| (Step::CreateContainer { index, name }, err))?;
        created.push(id.clone());
        self.start_container(&id).await.map_err(|err| {
            (
                Step::StartContainer {
                    index,
                    container_id: id,
                },
                err,
            )
        })
    }

    /// Stops and removes `containers` (newest first), then the pod; NOT_FOUND is fine.
    /// Returns what failed.
    async fn roll_back(&self, pod_id: &str, containers: &[String]) -> Vec<Error> {
        let deadline = self.settings.retry.per_try_timeout;
        let mut failures = Vec::new();
        let mut keep = |result: Result<()>| {
            if let Err(err) = result
                && !err.is_not_found()
            {
                failures.push(err);
            }
        };
        for id in containers.iter().rev() {
            keep(self.stop_once(id, 0, deadline).await);
            keep(
                self.runtime_call(
                    Rpc::RemoveContainer,
                    Ids::container(id),
                    Some(deadline),
                    RemoveContainerRequest {
                        container_id: id.clone(),
                    },
                    |mut c, r| async move { c.remove_container(r).await },
                )
                .await
                .map(drop),
            );
        }
        keep(self.stop_pod_once(pod_id, deadline).await);
        keep(self.remove_pod_once(pod_id, deadline).await);
        failures
    }
}

/// The process id in a verbose container status: `info["info"]` is JSON with a `pid` key.
pub fn process_id(container_id: &str, response: &ContainerStatusResponse) -> Result<u32> {
    let no_pid = |reason: String| Error::NoProcessId {
        container_id: container_id.to_string(),
        reason,
    };
    let info = response
        .info
        .get("info")
        .ok_or_else(|| no_pid("no \"info\" key".into()))?;
    let value: serde_json::Value =
        serde_json::from_str(info).map_err(|err| no_pid(format!("not JSON: {err}")))?;
    let pid = value
        .get("pid")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| no_pid("no numeric \"pid\"".into()))?;
    u32::try_from(pid).map_err(|_| no_pid(format!("pid {pid} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_info(info: Option<&str>) -> ContainerStatusResponse {
        ContainerStatusResponse {
            info: info
                .map(|text| HashMap::from([("info".to_string(), text.to_string())]))
                .unwrap_or_default(),
            ..ContainerStatusResponse::default()
        }
    }

    #[test]
    fn process_id_reads_pid_from_the_verbose_info_json() {
        let response = with_info(Some(r#"{"sandboxID":"s","pid":4242,"removing":false}"#));
        assert_eq!(process_id("c", &response).unwrap(), 4242);
    }

    #[test]
    fn process_id_explains_what_is_missing() {
        let cases = [
            (None, "no \"info\" key"),
            (
                Some("{"),
                "not JSON: EOF while parsing an object at line 1 column 1",
            ),
            (Some(r#"{"pid":"12"}"#), "no numeric \"pid\""),
            (
                Some(r#"{"pid":99999999999}"#),
                "pid 99999999999 out of range",
            ),
        ];
        for (info, reason) in cases {
            match process_id("c", &with_info(info)).unwrap_err() {
                Error::NoProcessId {
                    container_id,
                    reason: got,
                } => {
                    assert_eq!(container_id, "c");
                    assert_eq!(got, reason);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
