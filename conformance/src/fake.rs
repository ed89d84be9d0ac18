//! An in-process fake set up like the reference containerd of a release (no CNI, the
//! busybox and the release's pause image; for 2.3 the reference host's cgroup v1
//! deprecation warning), as a target for the suite.

use cri_fake::{FakeRuntime, Profile, PullPolicy};

use crate::ctx::Target;

/// The deprecation warning containerd 2.3.4 reported on the reference host (cgroup v1),
/// which the 2.3 fake reports too. containerd 1.6 has no such condition.
pub const REFERENCE_DEPRECATION_WARNINGS: &[(&str, &str)] = &[(
    "io.containerd.deprecation/cgroup-v1",
    "The support for cgroup v1 is deprecated since containerd v2.2 and will be removed by no later than May 2029. Upgrade the host to use cgroup v2.",
)];

/// Starts a fake imitating containerd release `profile` and describes it as a target.
/// The fake simulates pulls, so pull checks run against it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use cri_fake::Profile;
///
/// let (fake, target) = cri_conformance::fake::start_fake(Profile::Containerd16)
///     .await
///     .expect("the fake starts");
/// assert_eq!(target.profile, Profile::Containerd16);
/// assert_eq!(target.sandbox_image, "registry.k8s.io/pause:3.6");
/// fake.shutdown().await;
/// # }
/// ```
pub async fn start_fake(profile: Profile) -> Result<(FakeRuntime, Target), cri_fake::StartError> {
    start_fake_with_pulls(profile, true).await
}

/// Starts a fake imitating containerd release `profile`; with `can_pull` false its pulls
/// fail like an offline containerd's (for comparing with one).
pub async fn start_fake_with_pulls(
    profile: Profile,
    can_pull: bool,
) -> Result<(FakeRuntime, Target), cri_fake::StartError> {
    let policy = if can_pull {
        PullPolicy::SimulateAny
    } else {
        PullPolicy::Offline
    };
    let warnings = REFERENCE_DEPRECATION_WARNINGS
        .iter()
        .map(|(id, text)| ((*id).to_owned(), (*text).to_owned()));
    let fake = FakeRuntime::builder()
        .profile(profile)
        .network_ready(false)
        .deprecation_warnings(warnings)
        .pull_policy(policy)
        .start()
        .await?;
    let mut target = Target::new(fake.endpoint(), profile);
    target.can_pull = can_pull;
    Ok((fake, target))
}
