//! Pod sandboxes: list, run, stop, remove (with retries), status.

use cri_proto::v1::{
    ListPodSandboxRequest, PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxStateValue,
    PodSandboxStatusRequest, PodSandboxStatusResponse, RemovePodSandboxRequest,
    RunPodSandboxRequest, StopPodSandboxRequest,
};

use crate::client::Client;
use crate::error::{Error, Ids, Operation, Result, Rpc, require_id};
use crate::filters::{ListPodOptions, parse_pod_state};
use crate::retry::retry;

impl Client {
    /// Lists pod sandboxes. The state is checked before anything is sent: a value other
    /// than `ready` / `notready` is an [`Error::InvalidArgument`] naming it.
    pub async fn list_pods(&self, options: &ListPodOptions) -> Result<Vec<PodSandbox>> {
        let state = options
            .state
            .as_deref()
            .map(parse_pod_state)
            .transpose()?
            .map(|state| PodSandboxStateValue {
                state: state as i32,
            });
        let filter = PodSandboxFilter {
            id: options.id.clone().unwrap_or_default(),
            state,
            label_selector: options.labels.clone(),
        };
        let response = self
            .runtime_call(
                Rpc::ListPodSandbox,
                Ids::none(),
                Some(self.settings.call_timeout),
                ListPodSandboxRequest {
                    filter: Some(filter),
                },
                |mut c, r| async move { c.list_pod_sandbox(r).await },
            )
            .await?;
        Ok(response.items)
    }

    /// Runs a pod sandbox and returns its id. `runtime_handler` `""` is the default handler.
    pub async fn run_pod(
        &self,
        config: &PodSandboxConfig,
        runtime_handler: &str,
    ) -> Result<String> {
        let response = self
            .runtime_call(
                Rpc::RunPodSandbox,
                Ids::none(),
                Some(self.settings.call_timeout),
                RunPodSandboxRequest {
                    config: Some(config.clone()),
                    runtime_handler: runtime_handler.to_string(),
                },
                |mut c, r| async move { c.run_pod_sandbox(r).await },
            )
            .await?;
        if response.pod_sandbox_id.is_empty() {
            return Err(Error::MissingField {
                rpc: Rpc::RunPodSandbox,
                ids: Ids::none(),
                field: "pod_sandbox_id",
            });
        }
        Ok(response.pod_sandbox_id)
    }

    /// Stops a pod sandbox (one try; the runtime kills its containers).
    pub async fn stop_pod(&self, id: &str) -> Result<()> {
        require_id("stop_pod", "pod id", id)?;
        self.stop_pod_once(id, self.settings.call_timeout).await
    }

    pub(crate) async fn stop_pod_once(
        &self,
        id: &str,
        deadline: std::time::Duration,
    ) -> Result<()> {
        self.runtime_call(
            Rpc::StopPodSandbox,
            Ids::pod(id),
            Some(deadline),
            StopPodSandboxRequest {
                pod_sandbox_id: id.to_string(),
            },
            |mut c, r| async move { c.stop_pod_sandbox(r).await },
        )
        .await
        .map(drop)
    }

    /// Removes a pod sandbox (and, in the runtime, its containers), retrying by the
    /// client's [`RetryPolicy`](crate::RetryPolicy): each try has the policy's deadline,
    /// the waits grow, and NOT_FOUND counts as success. When every try fails the error is
    /// [`Error::Attempts`] holding each failure.
    pub async fn remove_pod(&self, id: &str) -> Result<()> {
        require_id("remove_pod", "pod id", id)?;
        let policy = self.settings.retry;
        retry(&policy, |_| async move {
            match self.remove_pod_once(id, policy.per_try_timeout).await {
                Err(err) if err.is_not_found() => Ok(()),
                other => other,
            }
        })
        .await
        .map_err(|attempts| Error::Attempts {
            operation: Operation::RemovePod,
            ids: Ids::pod(id),
            attempts,
        })
    }

    pub(crate) async fn remove_pod_once(
        &self,
        id: &str,
        deadline: std::time::Duration,
    ) -> Result<()> {
        self.runtime_call(
            Rpc::RemovePodSandbox,
            Ids::pod(id),
            Some(deadline),
            RemovePodSandboxRequest {
                pod_sandbox_id: id.to_string(),
            },
            |mut c, r| async move { c.remove_pod_sandbox(r).await },
        )
        .await
        .map(drop)
    }

    /// A pod sandbox's status; with `verbose`, the runtime's `info` too.
    pub async fn pod_status(&self, id: &str, verbose: bool) -> Result<PodSandboxStatusResponse> {
        require_id("pod_status", "pod id", id)?;
        self.runtime_call(
            Rpc::PodSandboxStatus,
            Ids::pod(id),
            Some(self.settings.call_timeout),
            PodSandboxStatusRequest {
                pod_sandbox_id: id.to_string(),
                verbose,
            },
            |mut c, r| async move { c.pod_sandbox_status(r).await },
        )
        .await
    }
}
