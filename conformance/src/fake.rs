//! An in-process fake set up like the reference containerd (1.6 profile, no CNI, the
//! busybox and pause images), as a target for the suite.

use cri_fake::{FakeRuntime, Profile, PullPolicy};

use crate::ctx::Target;

/// Starts a fake imitating containerd 1.6 and describes it as a target. The fake
/// simulates pulls, so pull checks run against it.
pub async fn start_fake() -> Result<(FakeRuntime, Target), cri_fake::StartError> {
    start_fake_with_pulls(true).await
}

/// Starts a fake imitating containerd 1.6; with `can_pull` false its pulls fail like an
/// offline containerd's (for comparing with one).
pub async fn start_fake_with_pulls(
    can_pull: bool,
) -> Result<(FakeRuntime, Target), cri_fake::StartError> {
    let policy = if can_pull {
        PullPolicy::SimulateAny
    } else {
        PullPolicy::Offline
    };
    let fake = FakeRuntime::builder()
        .profile(Profile::Containerd16)
        .network_ready(false)
        .pull_policy(policy)
        .start()
        .await?;
    let mut target = Target::new(fake.endpoint());
    target.can_pull = can_pull;
    Ok((fake, target))
}
