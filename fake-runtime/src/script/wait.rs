//! Waiters instead of sleeps: until a container reaches a state, a container or
//! sandbox is removed, a sandbox reaches a state.
//!
//! Every lifecycle change wakes the waiters (they also re-check every 50 ms, so a
//! change made some other way is seen too).

use std::fmt;
use std::time::Duration;

use cri_proto::v1::{ContainerState, ContainerStatus, PodSandboxState, PodSandboxStatus};

use crate::builder::FakeRuntime;
use crate::state::{ContainerPhase, SandboxPhase};

/// A wait for a state that did not come in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateWaitError {
    /// What was awaited.
    pub what: String,
    /// What was seen last (`CONTAINER_RUNNING`, `absent`, ...).
    pub last_seen: String,
    /// How long the wait lasted.
    pub waited: Duration,
}

impl fmt::Display for StateWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up waiting for {} after {:?}; last seen: {}",
            self.what, self.waited, self.last_seen
        )
    }
}

impl std::error::Error for StateWaitError {}

const RECHECK: Duration = Duration::from_millis(50);

impl FakeRuntime {
    /// Re-evaluates `check` at every state change until it gives `Ok`, or `timeout`.
    async fn wait_state<T>(
        &self,
        what: String,
        timeout: Duration,
        check: impl Fn(&Self) -> Result<T, String>,
    ) -> Result<T, StateWaitError> {
        let mut changes = self.toolkit().subscribe_changes();
        let mut last_seen = String::new();
        let waiting = async {
            loop {
                changes.borrow_and_update();
                match check(self) {
                    Ok(found) => return found,
                    Err(seen) => last_seen = seen,
                }
                let _ = tokio::time::timeout(RECHECK, changes.changed()).await;
            }
        };
        match tokio::time::timeout(timeout, waiting).await {
            Ok(found) => Ok(found),
            Err(_) => Err(StateWaitError {
                what,
                last_seen: match check(self) {
                    Err(seen) => seen,
                    Ok(_) => last_seen,
                },
                waited: timeout,
            }),
        }
    }

    /// Waits until container `id` (full id or unique prefix) is in `state`, and returns
    /// its status then.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # use std::time::Duration;
    /// # use cri_proto::v1::ContainerState;
    /// # let fake = cri_fake::FakeRuntime::start().await.unwrap();
    /// let err = fake
    ///     .wait_for_container_state("nope", ContainerState::ContainerExited, Duration::from_millis(10))
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(err.last_seen, "absent");
    /// # fake.shutdown().await;
    /// # }
    /// ```
    pub async fn wait_for_container_state(
        &self,
        id: &str,
        state: ContainerState,
        timeout: Duration,
    ) -> Result<ContainerStatus, StateWaitError> {
        self.wait_state(
            format!("container {id} to be {}", state.as_str_name()),
            timeout,
            |fake| {
                let runtime = fake.runtime();
                let phase = runtime
                    .store()
                    .read(|s| s.resolve_container(id).map(|r| r.phase).ok());
                match phase {
                    Some(phase) if phase.to_cri() == state && phase != ContainerPhase::Starting => {
                        runtime
                            .container_status(id, false)
                            .ok()
                            .and_then(|r| r.status)
                            .ok_or_else(|| "absent".to_owned())
                    }
                    Some(phase) => Err(phase.to_cri().as_str_name().to_owned()),
                    None => Err("absent".to_owned()),
                }
            },
        )
        .await
    }

    /// Waits until container `id` (a full id) no longer exists.
    pub async fn wait_for_container_removed(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<(), StateWaitError> {
        self.wait_state(format!("container {id} to be removed"), timeout, |fake| {
            fake.runtime().store().read(|s| match s.containers.get(id) {
                Some(record) => Err(record.phase.to_cri().as_str_name().to_owned()),
                None => Ok(()),
            })
        })
        .await
    }

    /// Waits until sandbox `id` (full id or unique prefix) is in `state`, and returns
    /// its status then.
    pub async fn wait_for_sandbox_state(
        &self,
        id: &str,
        state: PodSandboxState,
        timeout: Duration,
    ) -> Result<PodSandboxStatus, StateWaitError> {
        self.wait_state(
            format!("sandbox {id} to be {}", state.as_str_name()),
            timeout,
            |fake| {
                let runtime = fake.runtime();
                let phase = runtime
                    .store()
                    .read(|s| s.resolve_sandbox(id).map(|r| r.phase).ok());
                let current = SandboxPhase::to_cri;
                match phase {
                    Some(phase) if current(phase) == state => runtime
                        .pod_sandbox_status(id, false)
                        .ok()
                        .and_then(|r| r.status)
                        .ok_or_else(|| "absent".to_owned()),
                    Some(phase) => Err(current(phase).as_str_name().to_owned()),
                    None => Err("absent".to_owned()),
                }
            },
        )
        .await
    }

    /// Waits until sandbox `id` (a full id) no longer exists.
    pub async fn wait_for_sandbox_removed(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<(), StateWaitError> {
        self.wait_state(format!("sandbox {id} to be removed"), timeout, |fake| {
            fake.runtime().store().read(|s| match s.sandboxes.get(id) {
                Some(record) => Err(record.phase.to_cri().as_str_name().to_owned()),
                None => Ok(()),
            })
        })
        .await
    }
}
