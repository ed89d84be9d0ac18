//! Runs every conformance check against an in-process fake of each containerd release,
//! one test per area and release, so `cargo test` proves the fake behaves like both
//! releases the checks were written from.

use std::time::Duration;

use cri_conformance::{Area, checks, fake, runner};
use cri_fake::Profile;

async fn run_area(area: Area, profile: Profile) {
    let (fake, target) = fake::start_fake(profile).await.expect("fake starts");
    assert_eq!(target.profile, profile);
    let client = cri_client::Client::connect(fake.endpoint(), Duration::from_secs(5))
        .await
        .expect("client connects");
    let area_checks = checks::of_area(area);
    assert!(!area_checks.is_empty(), "area {area} has no checks");
    let report = runner::run(&area_checks, &client, &target, None).await;
    println!("{profile}\n{}", report.to_table());
    assert!(
        report.succeeded(),
        "failed checks against the {profile} fake:\n{}",
        report.failures().join("\n")
    );
    assert_eq!(report.checks.len(), area_checks.len());
    fake.shutdown().await;
}

macro_rules! area_tests {
    ($($test_16:ident, $test_23:ident => $area:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test_16() {
            run_area($area, Profile::Containerd16).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test_23() {
            run_area($area, Profile::Containerd23).await;
        }
    )*};
}

area_tests! {
    runtime_info_checks_pass_against_the_1_6_fake,
        runtime_info_checks_pass_against_the_2_3_fake => Area::RuntimeInfo,
    sandbox_checks_pass_against_the_1_6_fake,
        sandbox_checks_pass_against_the_2_3_fake => Area::Sandbox,
    container_lifecycle_checks_pass_against_the_1_6_fake,
        container_lifecycle_checks_pass_against_the_2_3_fake => Area::ContainerLifecycle,
    stop_semantics_checks_pass_against_the_1_6_fake,
        stop_semantics_checks_pass_against_the_2_3_fake => Area::StopSemantics,
    ids_and_names_checks_pass_against_the_1_6_fake,
        ids_and_names_checks_pass_against_the_2_3_fake => Area::IdsAndNames,
    listing_checks_pass_against_the_1_6_fake,
        listing_checks_pass_against_the_2_3_fake => Area::Listing,
    exec_checks_pass_against_the_1_6_fake,
        exec_checks_pass_against_the_2_3_fake => Area::Exec,
    exec_limits_checks_pass_against_the_1_6_fake,
        exec_limits_checks_pass_against_the_2_3_fake => Area::ExecLimits,
    logs_checks_pass_against_the_1_6_fake,
        logs_checks_pass_against_the_2_3_fake => Area::Logs,
    images_checks_pass_against_the_1_6_fake,
        images_checks_pass_against_the_2_3_fake => Area::Images,
    idempotence_checks_pass_against_the_1_6_fake,
        idempotence_checks_pass_against_the_2_3_fake => Area::Idempotence,
    errors_checks_pass_against_the_1_6_fake,
        errors_checks_pass_against_the_2_3_fake => Area::Errors,
    security_context_checks_pass_against_the_1_6_fake,
        security_context_checks_pass_against_the_2_3_fake => Area::SecurityContext,
}

#[test]
fn the_suite_has_at_least_80_checks_with_unique_names() {
    let all = checks::all();
    assert!(all.len() >= 80, "only {} checks", all.len());
    let mut names: Vec<String> = all.iter().map(|c| c.full_name()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len(), "check names are unique");
}

#[tokio::test]
async fn each_fake_is_detected_as_the_release_it_imitates() {
    for profile in Profile::ALL {
        let (fake, _) = fake::start_fake(profile).await.expect("fake starts");
        let client = cri_client::Client::connect(fake.endpoint(), Duration::from_secs(5))
            .await
            .expect("client connects");
        let detected = cri_conformance::ctx::detect_profile(&client)
            .await
            .expect("the release is detected");
        assert_eq!(detected, profile);
        fake.shutdown().await;
    }
}

#[tokio::test]
async fn a_runtime_version_of_no_known_release_is_not_detected() {
    let fake = cri_fake::FakeRuntime::builder()
        .runtime_identity("containerd", "1.7.2")
        .start()
        .await
        .expect("fake starts");
    let client = cri_client::Client::connect(fake.endpoint(), Duration::from_secs(5))
        .await
        .expect("client connects");
    let detected = cri_conformance::ctx::detect_profile(&client).await;
    assert!(
        matches!(
            &detected,
            Err(cri_conformance::ctx::DetectError::UnknownRelease { runtime_version, .. })
                if runtime_version == "1.7.2"
        ),
        "{detected:?}"
    );
    fake.shutdown().await;
}
