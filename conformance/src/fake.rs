//! An in-process fake set up like the reference containerd (1.6 profile, no CNI, the
//! busybox and pause images), as a target for the suite.

use cri_fake::{FakeRuntime, Profile};

use crate::ctx::Target;

/// Starts a fake imitating containerd 1.6 and describes it as a target. The fake
/// simulates pulls, so pull checks run against it.
pub async fn start_fake() -> Result<(FakeRuntime, Target), cri_fake::StartError> {
    let fake = FakeRuntime::builder()
        .profile(Profile::Containerd16)
        .network_ready(false)
        .start()
        .await?;
    let mut target = Target::new(fake.endpoint());
    target.can_pull = true;
    Ok((fake, target))
}
