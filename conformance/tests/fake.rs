//! Runs every conformance check against an in-process fake, one test per area, so
//! `cargo test` proves the fake behaves like the containerd the checks were written
//! from.

use std::time::Duration;

use cri_conformance::{Area, checks, fake, runner};

async fn run_area(area: Area) {
    let (fake, target) = fake::start_fake().await.expect("fake starts");
    let client = cri_client::Client::connect(fake.endpoint(), Duration::from_secs(5))
        .await
        .expect("client connects");
    let area_checks = checks::of_area(area);
    assert!(!area_checks.is_empty(), "area {area} has no checks");
    let report = runner::run(&area_checks, &client, &target, None).await;
    println!("{}", report.to_table());
    assert!(
        report.succeeded(),
        "failed checks:\n{}",
        report.failures().join("\n")
    );
    assert_eq!(report.checks.len(), area_checks.len());
    fake.shutdown().await;
}

macro_rules! area_tests {
    ($($test:ident => $area:expr,)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            run_area($area).await;
        }
    )*};
}

area_tests! {
    runtime_info_checks_pass_against_the_fake => Area::RuntimeInfo,
    sandbox_checks_pass_against_the_fake => Area::Sandbox,
    container_lifecycle_checks_pass_against_the_fake => Area::ContainerLifecycle,
    stop_semantics_checks_pass_against_the_fake => Area::StopSemantics,
    ids_and_names_checks_pass_against_the_fake => Area::IdsAndNames,
    listing_checks_pass_against_the_fake => Area::Listing,
    exec_checks_pass_against_the_fake => Area::Exec,
    exec_limits_checks_pass_against_the_fake => Area::ExecLimits,
    logs_checks_pass_against_the_fake => Area::Logs,
    images_checks_pass_against_the_fake => Area::Images,
    idempotence_checks_pass_against_the_fake => Area::Idempotence,
    errors_checks_pass_against_the_fake => Area::Errors,
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
