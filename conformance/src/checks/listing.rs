//! ListPodSandbox and ListContainers filters and items (reference §5, §8).
//!
//! A real runtime may be shared, so every list is narrowed to this check's objects: by
//! their ids or by a label only this check uses.

use std::collections::{BTreeMap, HashMap};

use cri_proto::v1::*;

use super::SLEEP_FOREVER;
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, RUN_LABEL, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::Listing =>
        sandbox_filter_by_full_id_and_prefix_finds_the_one_sandbox,
        sandbox_filter_by_removed_or_nonexistent_id_is_empty,
        sandbox_filter_by_state_matches_exactly,
        sandbox_label_selector_is_an_and_of_exact_pairs_and_may_be_a_subset,
        label_selector_with_an_empty_value_does_not_match,
        label_selector_on_an_annotation_key_does_not_match,
        sandbox_filter_id_and_state_are_anded,
        listed_sandbox_carries_id_metadata_state_created_at_labels_and_annotations,
        container_filter_by_full_id_prefix_removed_and_nonexistent,
        container_filter_by_pod_sandbox_id_full_prefix_and_nonexistent,
        container_filter_by_state_matches_exactly,
        container_label_selector_uses_the_same_rules_as_sandboxes,
        container_filter_id_and_conflicting_sandbox_are_anded,
        listed_container_echoes_the_requested_image_and_the_image_id_as_ref,
        container_status_and_list_disagree_on_image_fields,
        container_created_by_image_id_prefix_is_listed_with_that_prefix,
        stop_pod_sandbox_leaves_exited_and_created_containers_listed,
        remove_pod_sandbox_removes_its_containers_from_the_list,
    ]
}

const CHECK_LABEL: &str = "cri-conformance.check";

/// A pod labelled with this check's own label (value `tag`) plus `labels`, with
/// `annotations`.
async fn labelled_pod(
    ctx: &mut Ctx,
    tag: &str,
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
) -> Result<(String, PodSandboxConfig), Failure> {
    let mut config = ctx.pod_config("list");
    config.labels.insert(CHECK_LABEL.into(), tag.into());
    for (k, v) in labels {
        config.labels.insert((*k).into(), (*v).into());
    }
    config.annotations = annotations
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let id = ctx.run_pod(&config).await?;
    Ok((id, config))
}

fn selector(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The sorted ids of a sandbox listing.
async fn pod_ids(
    ctx: &mut Ctx,
    key: &str,
    filter: PodSandboxFilter,
) -> Result<Vec<String>, Failure> {
    let listed = ctx.list_pods(filter).await;
    let mut ids: Vec<String> = ctx
        .expect_ok(key, listed)?
        .into_iter()
        .map(|p| p.id)
        .collect();
    ids.sort();
    Ok(ids)
}

/// The sorted ids of a container listing.
async fn container_ids(
    ctx: &mut Ctx,
    key: &str,
    filter: ContainerFilter,
) -> Result<Vec<String>, Failure> {
    let listed = ctx.list_containers(filter).await;
    let mut ids: Vec<String> = ctx
        .expect_ok(key, listed)?
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    Ok(ids)
}

/// A map in key order, so that its recorded form is the same on every run.
fn sorted_map(map: &HashMap<String, String>) -> BTreeMap<&str, &str> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn pod_state(state: PodSandboxState) -> Option<PodSandboxStateValue> {
    Some(PodSandboxStateValue {
        state: state as i32,
    })
}

fn container_state(state: ContainerState) -> Option<ContainerStateValue> {
    Some(ContainerStateValue {
        state: state as i32,
    })
}

async fn sandbox_filter_by_full_id_and_prefix_finds_the_one_sandbox(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("byid").await?;
    let full = pod_ids(
        ctx,
        "ListPodSandbox id=full",
        PodSandboxFilter {
            id: id.clone(),
            ..Default::default()
        },
    )
    .await?;
    ctx.expect_eq("by full id", full, vec![id.clone()])?;
    let prefix = pod_ids(
        ctx,
        "ListPodSandbox id=prefix",
        PodSandboxFilter {
            id: id[..12].into(),
            ..Default::default()
        },
    )
    .await?;
    ctx.expect_eq("by 12-char prefix", prefix, vec![id.clone()])
}

async fn sandbox_filter_by_removed_or_nonexistent_id_is_empty(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("removed").await?;
    let stop = ctx.stop_pod(&id).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let remove = ctx.remove_pod(&id).await;
    ctx.expect_ok("RemovePodSandbox", remove)?;
    let removed = pod_ids(
        ctx,
        "ListPodSandbox id=removed",
        PodSandboxFilter {
            id,
            ..Default::default()
        },
    )
    .await?;
    ctx.expect_eq("by removed id", removed, Vec::<String>::new())?;
    let missing = pod_ids(
        ctx,
        "ListPodSandbox id=missing",
        PodSandboxFilter {
            id: "deadbeef".repeat(8),
            ..Default::default()
        },
    )
    .await?;
    ctx.expect_eq("by nonexistent id", missing, Vec::<String>::new())
}

async fn sandbox_filter_by_state_matches_exactly(ctx: &mut Ctx) -> CheckResult {
    let tag = ctx.unique("state");
    let (ready, _) = labelled_pod(ctx, &tag, &[], &[]).await?;
    let (stopped, _) = labelled_pod(ctx, &tag, &[], &[]).await?;
    let stop = ctx.stop_pod(&stopped).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let mine = selector(&[(CHECK_LABEL, &tag)]);
    let filter = |state| PodSandboxFilter {
        state: pod_state(state),
        label_selector: mine.clone(),
        ..Default::default()
    };
    let listed = pod_ids(
        ctx,
        "ListPodSandbox state=READY",
        filter(PodSandboxState::SandboxReady),
    )
    .await?;
    ctx.expect_eq("READY", listed, vec![ready.clone()])?;
    let listed = pod_ids(
        ctx,
        "ListPodSandbox state=NOTREADY",
        filter(PodSandboxState::SandboxNotready),
    )
    .await?;
    ctx.expect_eq("NOTREADY", listed, vec![stopped.clone()])?;
    let all = PodSandboxFilter {
        label_selector: mine,
        ..Default::default()
    };
    let listed = pod_ids(ctx, "ListPodSandbox without state", all).await?;
    ctx.expect_eq("both", listed, sorted(vec![ready, stopped]))
}

async fn sandbox_label_selector_is_an_and_of_exact_pairs_and_may_be_a_subset(
    ctx: &mut Ctx,
) -> CheckResult {
    let tag = ctx.unique("labels");
    let (a, _) = labelled_pod(ctx, &tag, &[("app", "a"), ("tier", "fe")], &[]).await?;
    let (b, _) = labelled_pod(ctx, &tag, &[("app", "b"), ("tier", "fe")], &[]).await?;
    let filter = |pairs: &[(&str, &str)]| PodSandboxFilter {
        label_selector: selector(&[&[(CHECK_LABEL, tag.as_str())][..], pairs].concat()),
        ..Default::default()
    };
    let listed = pod_ids(ctx, "ListPodSandbox app=a", filter(&[("app", "a")])).await?;
    ctx.expect_eq("app=a", listed, vec![a.clone()])?;
    let listed = pod_ids(ctx, "ListPodSandbox tier=fe", filter(&[("tier", "fe")])).await?;
    ctx.expect_eq("tier=fe", listed, sorted(vec![a.clone(), b.clone()]))?;
    let listed = pod_ids(
        ctx,
        "ListPodSandbox app=b,tier=fe",
        filter(&[("app", "b"), ("tier", "fe")]),
    )
    .await?;
    ctx.expect_eq("app=b AND tier=fe", listed, vec![b])?;
    let listed = pod_ids(
        ctx,
        "ListPodSandbox app=a,tier=be",
        filter(&[("app", "a"), ("tier", "be")]),
    )
    .await?;
    ctx.expect_eq("app=a AND tier=be", listed, Vec::<String>::new())?;
    let listed = pod_ids(ctx, "ListPodSandbox app=c", filter(&[("app", "c")])).await?;
    ctx.expect_eq("app=c", listed, Vec::<String>::new())
}

async fn label_selector_with_an_empty_value_does_not_match(ctx: &mut Ctx) -> CheckResult {
    let tag = ctx.unique("emptyvalue");
    let (pod, config) = labelled_pod(ctx, &tag, &[("tier", "fe")], &[]).await?;
    let filter = PodSandboxFilter {
        label_selector: selector(&[(CHECK_LABEL, &tag), ("tier", "")]),
        ..Default::default()
    };
    let listed = pod_ids(ctx, "ListPodSandbox tier=\"\"", filter).await?;
    ctx.expect_eq("sandboxes with tier=\"\"", listed, Vec::<String>::new())?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.labels.insert("tier".into(), "fe".into());
    ctx.create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let filter = ContainerFilter {
        pod_sandbox_id: pod,
        label_selector: selector(&[("tier", "")]),
        ..Default::default()
    };
    let listed = container_ids(ctx, "ListContainers tier=\"\"", filter).await?;
    ctx.expect_eq("containers with tier=\"\"", listed, Vec::<String>::new())
}

async fn label_selector_on_an_annotation_key_does_not_match(ctx: &mut Ctx) -> CheckResult {
    let tag = ctx.unique("annotation");
    labelled_pod(ctx, &tag, &[], &[("note", "x")]).await?;
    let filter = PodSandboxFilter {
        label_selector: selector(&[(CHECK_LABEL, &tag), ("note", "x")]),
        ..Default::default()
    };
    let listed = pod_ids(ctx, "ListPodSandbox note=x (an annotation)", filter).await?;
    ctx.expect_eq("by annotation", listed, Vec::<String>::new())
}

async fn sandbox_filter_id_and_state_are_anded(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("and").await?;
    let filter = PodSandboxFilter {
        id: id.clone(),
        state: pod_state(PodSandboxState::SandboxNotready),
        ..Default::default()
    };
    let listed = pod_ids(ctx, "ListPodSandbox id=ready AND NOTREADY", filter).await?;
    ctx.expect_eq(
        "READY sandbox filtered as NOTREADY",
        listed,
        Vec::<String>::new(),
    )?;
    let filter = PodSandboxFilter {
        id: id.clone(),
        state: pod_state(PodSandboxState::SandboxReady),
        ..Default::default()
    };
    let listed = pod_ids(ctx, "ListPodSandbox id=ready AND READY", filter).await?;
    ctx.expect_eq("READY sandbox filtered as READY", listed, vec![id])
}

async fn listed_sandbox_carries_id_metadata_state_created_at_labels_and_annotations(
    ctx: &mut Ctx,
) -> CheckResult {
    let tag = ctx.unique("fields");
    let (id, config) = labelled_pod(ctx, &tag, &[("app", "a")], &[("note", "x")]).await?;
    let listed = ctx
        .list_pods(PodSandboxFilter {
            id: id.clone(),
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListPodSandbox", listed)?;
    ctx.expect_eq("items", listed.len(), 1)?;
    let item = &listed[0];
    ctx.expect_eq("id", item.id.as_str(), id.as_str())?;
    ctx.expect_eq("metadata", &item.metadata, &config.metadata)?;
    ctx.expect_eq("state", item.state, PodSandboxState::SandboxReady as i32)?;
    ctx.expect_eq(
        "created_at is in ns",
        item.created_at > 1_600_000_000_000_000_000,
        true,
    )?;
    ctx.expect_eq(
        "labels",
        sorted_map(&item.labels),
        sorted_map(&config.labels),
    )?;
    ctx.expect_eq(
        "annotations",
        sorted_map(&item.annotations),
        sorted_map(&config.annotations),
    )?;
    ctx.expect_eq("runtime_handler", item.runtime_handler.as_str(), "")
}

async fn container_filter_by_full_id_prefix_removed_and_nonexistent(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("cbyid").await?;
    let keep = ctx.running_in(&pod, &config, "keep", SLEEP_FOREVER).await?;
    let gone = ctx.running_in(&pod, &config, "gone", SLEEP_FOREVER).await?;
    let remove = ctx.remove(&gone).await;
    ctx.expect_ok("RemoveContainer", remove)?;
    let by = |id: String| ContainerFilter {
        id,
        ..Default::default()
    };
    let listed = container_ids(ctx, "ListContainers id=full", by(keep.clone())).await?;
    ctx.expect_eq("by full id", listed, vec![keep.clone()])?;
    let listed = container_ids(ctx, "ListContainers id=prefix", by(keep[..12].into())).await?;
    ctx.expect_eq("by 12-char prefix", listed, vec![keep.clone()])?;
    let listed = container_ids(ctx, "ListContainers id=removed", by(gone)).await?;
    ctx.expect_eq("by removed id", listed, Vec::<String>::new())?;
    let listed = container_ids(ctx, "ListContainers id=missing", by("f".repeat(64))).await?;
    ctx.expect_eq("by nonexistent id", listed, Vec::<String>::new())
}

async fn container_filter_by_pod_sandbox_id_full_prefix_and_nonexistent(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, config) = ctx.pod("cbypod").await?;
    let a = ctx.running_in(&pod, &config, "a", SLEEP_FOREVER).await?;
    let b = ctx.running_in(&pod, &config, "b", SLEEP_FOREVER).await?;
    ctx.running("cbypod-other", SLEEP_FOREVER).await?;
    let by = |pod_sandbox_id: String| ContainerFilter {
        pod_sandbox_id,
        ..Default::default()
    };
    let listed = container_ids(ctx, "ListContainers pod=full", by(pod.clone())).await?;
    ctx.expect_eq(
        "by full sandbox id",
        listed,
        sorted(vec![a.clone(), b.clone()]),
    )?;
    let listed = container_ids(ctx, "ListContainers pod=prefix", by(pod[..12].into())).await?;
    ctx.expect_eq("by 12-char sandbox prefix", listed, sorted(vec![a, b]))?;
    let listed = container_ids(ctx, "ListContainers pod=missing", by("f".repeat(64))).await?;
    ctx.expect_eq("by nonexistent sandbox id", listed, Vec::<String>::new())
}

async fn container_filter_by_state_matches_exactly(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("cstate").await?;
    let container = ctx.container_config("created", SLEEP_FOREVER);
    let created = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let running = ctx
        .running_in(&pod, &config, "running", SLEEP_FOREVER)
        .await?;
    let exited = ctx.running_in(&pod, &config, "exited", &["true"]).await?;
    ctx.wait_state(&running, ContainerState::ContainerRunning)
        .await?;
    ctx.wait_state(&exited, ContainerState::ContainerExited)
        .await?;
    let by = |state| ContainerFilter {
        pod_sandbox_id: pod.clone(),
        state: container_state(state),
        ..Default::default()
    };
    let listed = container_ids(
        ctx,
        "ListContainers CREATED",
        by(ContainerState::ContainerCreated),
    )
    .await?;
    ctx.expect_eq("CREATED", listed, vec![created])?;
    let listed = container_ids(
        ctx,
        "ListContainers RUNNING",
        by(ContainerState::ContainerRunning),
    )
    .await?;
    ctx.expect_eq("RUNNING", listed, vec![running])?;
    let listed = container_ids(
        ctx,
        "ListContainers EXITED",
        by(ContainerState::ContainerExited),
    )
    .await?;
    ctx.expect_eq("EXITED", listed, vec![exited])?;
    let listed = container_ids(
        ctx,
        "ListContainers UNKNOWN",
        by(ContainerState::ContainerUnknown),
    )
    .await?;
    ctx.expect_eq("UNKNOWN", listed, Vec::<String>::new())
}

async fn container_label_selector_uses_the_same_rules_as_sandboxes(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("clabels").await?;
    let labelled = |name: &str, app: &str| {
        let mut container = ctx.container_config(name, SLEEP_FOREVER);
        container.labels.insert("app".into(), app.into());
        container.labels.insert("tier".into(), "fe".into());
        container.annotations.insert("note".into(), "x".into());
        container
    };
    let (ca, cb) = (labelled("a", "a"), labelled("b", "b"));
    let a = ctx
        .create(&pod, &config, ca)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let b = ctx
        .create(&pod, &config, cb)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let by = |pairs: &[(&str, &str)]| ContainerFilter {
        pod_sandbox_id: pod.clone(),
        label_selector: selector(pairs),
        ..Default::default()
    };
    let listed = container_ids(ctx, "ListContainers app=a", by(&[("app", "a")])).await?;
    ctx.expect_eq("app=a", listed, vec![a.clone()])?;
    let listed = container_ids(ctx, "ListContainers tier=fe", by(&[("tier", "fe")])).await?;
    ctx.expect_eq("tier=fe", listed, sorted(vec![a, b.clone()]))?;
    let listed = container_ids(
        ctx,
        "ListContainers app=b,tier=fe",
        by(&[("app", "b"), ("tier", "fe")]),
    )
    .await?;
    ctx.expect_eq("app=b AND tier=fe", listed, vec![b])?;
    let listed = container_ids(ctx, "ListContainers note=x", by(&[("note", "x")])).await?;
    ctx.expect_eq("by annotation", listed, Vec::<String>::new())
}

async fn container_filter_id_and_conflicting_sandbox_are_anded(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("cand", SLEEP_FOREVER).await?;
    let (other, _) = ctx.pod("cand-other").await?;
    let filter = ContainerFilter {
        id: id.clone(),
        pod_sandbox_id: other,
        ..Default::default()
    };
    let listed = container_ids(ctx, "ListContainers id AND another sandbox", filter).await?;
    ctx.expect_eq("id with another sandbox", listed, Vec::<String>::new())?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    let filter = ContainerFilter {
        id: id.clone(),
        state: container_state(ContainerState::ContainerExited),
        ..Default::default()
    };
    let listed = container_ids(ctx, "ListContainers running id AND EXITED", filter).await?;
    ctx.expect_eq("running id with state EXITED", listed, Vec::<String>::new())
}

/// The test image's short docker name (`busybox:1.36` for `docker.io/library/busybox:1.36`).
fn short_name(image: &str) -> Option<&str> {
    image.strip_prefix("docker.io/library/")
}

async fn listed_container_echoes_the_requested_image_and_the_image_id_as_ref(
    ctx: &mut Ctx,
) -> CheckResult {
    let test_image = ctx.target.test_image.clone();
    let Some(short) = short_name(&test_image).map(str::to_owned) else {
        return Err(Failure::Skip(format!(
            "{test_image} has no short docker name"
        )));
    };
    let image_id = ctx.test_image_id().await?;
    let (pod, config) = ctx.pod("cfields").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.image = Some(ImageSpec {
        image: short.clone(),
        ..Default::default()
    });
    container.annotations.insert("note".into(), "x".into());
    let id = ctx
        .create(&pod, &config, container.clone())
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let listed = ctx
        .list_containers(ContainerFilter {
            id: id.clone(),
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListContainers", listed)?;
    ctx.expect_eq("items", listed.len(), 1)?;
    let item = &listed[0];
    ctx.expect_eq(
        "id, pod_sandbox_id",
        (item.id.as_str(), item.pod_sandbox_id.as_str()),
        (id.as_str(), pod.as_str()),
    )?;
    ctx.expect_eq("metadata", &item.metadata, &container.metadata)?;
    ctx.expect_eq(
        "image",
        item.image.as_ref().map(|i| i.image.as_str()),
        Some(short.as_str()),
    )?;
    ctx.expect_eq("image_ref", item.image_ref.as_str(), image_id.as_str())?;
    ctx.expect_eq("state", item.state, ContainerState::ContainerCreated as i32)?;
    ctx.expect_eq(
        "created_at is in ns",
        item.created_at > 1_600_000_000_000_000_000,
        true,
    )?;
    ctx.expect_eq(
        "labels",
        sorted_map(&item.labels),
        sorted_map(&container.labels),
    )?;
    ctx.expect_eq(
        "annotations",
        sorted_map(&item.annotations),
        sorted_map(&container.annotations),
    )
}

async fn container_status_and_list_disagree_on_image_fields(ctx: &mut Ctx) -> CheckResult {
    let test_image = ctx.target.test_image.clone();
    let Some(short) = short_name(&test_image).map(str::to_owned) else {
        return Err(Failure::Skip(format!(
            "{test_image} has no short docker name"
        )));
    };
    let image_id = ctx.test_image_id().await?;
    let (pod, config) = ctx.pod("cimage").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.image = Some(ImageSpec {
        image: short.clone(),
        ..Default::default()
    });
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "status image",
        status.image.map(|i| i.image),
        Some(test_image.clone()),
    )?;
    ctx.expect_eq(
        "status image_ref (no repo digest)",
        status.image_ref.as_str(),
        image_id.as_str(),
    )?;
    let listed = ctx
        .list_containers(ContainerFilter {
            id,
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListContainers", listed)?;
    let images: Vec<(Option<String>, String)> = listed
        .into_iter()
        .map(|c| (c.image.map(|i| i.image), c.image_ref))
        .collect();
    ctx.expect_eq(
        "list image, image_ref",
        images,
        vec![(Some(short), image_id)],
    )
}

async fn container_created_by_image_id_prefix_is_listed_with_that_prefix(
    ctx: &mut Ctx,
) -> CheckResult {
    let image_id = ctx.test_image_id().await?;
    let hex = image_id.trim_start_matches("sha256:");
    let prefix: String = hex.chars().take(12).collect();
    let (pod, config) = ctx.pod("cbyimageid").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.image = Some(ImageSpec {
        image: prefix.clone(),
        ..Default::default()
    });
    let create = ctx.create(&pod, &config, container).await;
    let id = ctx.expect_ok("CreateContainer by a 12-hex image id prefix", create)?;
    let test_image = ctx.target.test_image.clone();
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "status image is the first repo tag",
        status.image.map(|i| i.image),
        Some(test_image),
    )?;
    let listed = ctx
        .list_containers(ContainerFilter {
            id,
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListContainers", listed)?;
    let images: Vec<Option<String>> = listed
        .into_iter()
        .map(|c| c.image.map(|i| i.image))
        .collect();
    ctx.observe("requested image", "<12-hex image id prefix>");
    crate::check::expect_eq("list image", images, vec![Some(prefix)])
}

async fn stop_pod_sandbox_leaves_exited_and_created_containers_listed(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, config) = ctx.pod("cstoppod").await?;
    let running = ctx
        .running_in(&pod, &config, "running", SLEEP_FOREVER)
        .await?;
    ctx.wait_state(&running, ContainerState::ContainerRunning)
        .await?;
    let container = ctx.container_config("created", SLEEP_FOREVER);
    let created = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let stop = ctx.stop_pod(&pod).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let listed = ctx
        .list_containers(ContainerFilter {
            pod_sandbox_id: pod.clone(),
            ..Default::default()
        })
        .await;
    // Ids are random, so name each listed container by its role before sorting: the
    // recorded observation is then the same on every runtime.
    let role = |id: &str| match id {
        id if id == running => "running",
        id if id == created => "created",
        _ => "other",
    };
    let mut states: Vec<(&str, i32)> = ctx
        .expect_ok("ListContainers", listed)?
        .into_iter()
        .map(|c| (role(&c.id), c.state))
        .collect();
    states.sort();
    let expected = vec![
        ("created", ContainerState::ContainerCreated as i32),
        ("running", ContainerState::ContainerExited as i32),
    ];
    ctx.expect_eq("listed (role, state)", states, expected)
}

async fn remove_pod_sandbox_removes_its_containers_from_the_list(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("crmpod").await?;
    let running = ctx
        .running_in(&pod, &config, "running", SLEEP_FOREVER)
        .await?;
    let stop = ctx.stop_pod(&pod).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let remove = ctx.remove_pod(&pod).await;
    ctx.expect_ok("RemovePodSandbox", remove)?;
    let run_id = ctx.run_id().to_owned();
    let filter = ContainerFilter {
        label_selector: selector(&[(RUN_LABEL, &run_id)]),
        ..Default::default()
    };
    let listed = container_ids(ctx, "ListContainers of the run", filter).await?;
    ctx.expect_eq(
        "the removed sandbox's container is listed",
        listed.contains(&running),
        false,
    )?;
    let listed = pod_ids(
        ctx,
        "ListPodSandbox by id",
        PodSandboxFilter {
            id: pod,
            ..Default::default()
        },
    )
    .await?;
    ctx.expect_eq("removed sandbox listed", listed, Vec::<String>::new())
}
