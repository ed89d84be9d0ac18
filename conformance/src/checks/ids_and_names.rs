//! Id prefixes and name reservations (reference §4, §3a, §10.7).

use cri_proto::v1::*;
use tonic::Code;

use super::container_lifecycle::container_name_conflict;
use super::sandbox::{name_conflict_code, stop_of_a_missing_sandbox};
use super::{SLEEP_FOREVER, shared_first_char};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::IdsAndNames =>
        a_12_char_container_prefix_works_on_every_container_rpc,
        a_12_char_sandbox_prefix_works_on_every_sandbox_rpc,
        container_status_by_prefix_reports_the_full_id,
        ambiguous_container_prefix_is_unknown_multiple_ids_found,
        ambiguous_sandbox_prefix_is_unknown_multiple_ids_found,
        uppercase_container_id_is_not_found,
        container_id_with_an_extra_char_or_space_is_not_found,
        sandbox_id_given_to_container_rpcs_is_not_found,
        container_id_given_to_sandbox_status_is_not_found_and_to_stop_only_in_1_6,
        container_name_conflict_names_the_reservation_from_the_request_sandbox_config,
        container_name_is_free_again_after_remove,
        container_with_attempt_1_runs_alongside_attempt_0,
        same_container_name_in_two_sandboxes_is_accepted,
    ]
}

/// How many characters of an id the prefix checks use: unique on any runtime.
const PREFIX: usize = 12;

fn prefix(id: &str) -> String {
    id.chars().take(PREFIX).collect()
}

async fn a_12_char_container_prefix_works_on_every_container_rpc(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("cprefix").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.log_path = "prefix.log".into();
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let p = prefix(&id);
    let start = ctx.start(&p).await;
    ctx.expect_ok("StartContainer by prefix", start)?;
    let status = ctx.status(&p).await;
    ctx.expect_ok("ContainerStatus by prefix", status)?;
    let exec = ctx.exec(&p, &["echo", "hi"], 5).await;
    let exec = ctx.expect_ok("ExecSync by prefix", exec)?;
    ctx.expect_eq(
        "ExecSync stdout",
        exec.stdout.as_slice(),
        b"hi\n".as_slice(),
    )?;
    let update = ctx
        .update_resources(
            &p,
            Some(LinuxContainerResources {
                cpu_shares: 256,
                ..Default::default()
            }),
        )
        .await;
    ctx.expect_ok("UpdateContainerResources by prefix", update)?;
    let reopen = ctx.reopen_log(&p).await;
    ctx.expect_ok("ReopenContainerLog by prefix", reopen)?;
    let stream = ctx
        .rt
        .exec(ExecRequest {
            container_id: p.clone(),
            cmd: vec!["sh".into()],
            stdout: true,
            ..Default::default()
        })
        .await;
    ctx.expect_ok("Exec by prefix", stream)?;
    let stop = ctx.stop(&p, 0).await;
    ctx.expect_ok("StopContainer by prefix", stop)?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq("stopped by prefix: exit_code", status.exit_code, 137)?;
    let remove = ctx.remove(&p).await;
    ctx.expect_ok("RemoveContainer by prefix", remove)?;
    let gone = ctx.status(&id).await;
    ctx.expect_error(
        "ContainerStatus after remove by prefix",
        gone,
        Code::NotFound,
        &format!("an error occurred when try to find container \"{id}\": not found"),
    )
}

async fn a_12_char_sandbox_prefix_works_on_every_sandbox_rpc(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("sprefix").await?;
    let p = prefix(&pod);
    let status = ctx.pod_status(&p, false).await;
    let status = ctx
        .expect_ok("PodSandboxStatus by prefix", status)?
        .status
        .unwrap_or_default();
    ctx.expect_eq("status id is the full id", status.id.as_str(), pod.as_str())?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let create = ctx.create(&p, &config, container).await;
    ctx.expect_ok("CreateContainer with a sandbox prefix", create)?;
    let listed = ctx
        .list_containers(ContainerFilter {
            pod_sandbox_id: p.clone(),
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListContainers pod_sandbox_id prefix", listed)?;
    let pods: Vec<String> = listed.into_iter().map(|c| c.pod_sandbox_id).collect();
    ctx.expect_eq("listed pod_sandbox_id", pods, vec![pod.clone()])?;
    let forward = ctx
        .rt
        .port_forward(PortForwardRequest {
            pod_sandbox_id: p.clone(),
            port: vec![80],
        })
        .await;
    ctx.expect_ok("PortForward by prefix", forward)?;
    let stop = ctx.stop_pod(&p).await;
    ctx.expect_ok("StopPodSandbox by prefix", stop)?;
    let remove = ctx.remove_pod(&p).await;
    ctx.expect_ok("RemovePodSandbox by prefix", remove)?;
    let gone = ctx.pod_status(&pod, false).await;
    ctx.expect_error(
        "PodSandboxStatus after remove",
        gone,
        Code::NotFound,
        "an error occurred when try to find sandbox: not found",
    )
}

async fn container_status_by_prefix_reports_the_full_id(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("fullid", SLEEP_FOREVER).await?;
    let status = ctx.status(&id[..20]).await;
    let status = ctx.expect_ok("ContainerStatus by a 20-char prefix", status)?;
    ctx.expect_eq("id", status.id, id)
}

async fn ambiguous_container_prefix_is_unknown_multiple_ids_found(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("ambiguous").await?;
    let mut ids = Vec::new();
    // 17 ids over 16 hex digits always include two with the same first character.
    let shared = loop {
        if let Some(shared) = shared_first_char(&ids) {
            break shared;
        }
        if ids.len() > 16 {
            return Err(Failure::Mismatch(format!(
                "17 container ids without a shared first character: {ids:?}"
            )));
        }
        let container = ctx.container_config(&format!("c{}", ids.len()), SLEEP_FOREVER);
        ids.push(
            ctx.create(&pod, &config, container)
                .await
                .map_err(|s| unexpected("CreateContainer", &s))?,
        );
    };
    let quoted = format!("\"{shared}\"");
    let tail = format!("prefix: {shared}");
    let masks = [(quoted.as_str(), "\"<p>\""), (tail.as_str(), "prefix: <p>")];
    let text = "an error occurred when try to find container \"<p>\": Multiple IDs found with provided prefix: <p>";
    let status = ctx.status(&shared).await;
    ctx.expect_error_masked("ContainerStatus", status, Code::Unknown, text, &masks)?;
    let start = ctx.start(&shared).await;
    ctx.expect_error_masked("StartContainer", start, Code::Unknown, text, &masks)?;
    let stop = ctx.stop(&shared, 0).await;
    ctx.expect_error_masked("StopContainer", stop, Code::Unknown, text, &masks)?;
    let remove = ctx.remove(&shared).await;
    ctx.expect_error_masked("RemoveContainer", remove, Code::Unknown, text, &masks)?;
    let exec = ctx.exec(&shared, &["true"], 5).await;
    ctx.expect_error_masked(
        "ExecSync",
        exec,
        Code::Unknown,
        "failed to exec in container: failed to find container \"<p>\" in store: Multiple IDs found with provided prefix: <p>",
        &masks,
    )?;
    let listed = ctx
        .list_containers(ContainerFilter {
            id: shared.clone(),
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListContainers with an ambiguous id", listed)?;
    ctx.expect_eq("listed", listed.len(), 0)
}

async fn ambiguous_sandbox_prefix_is_unknown_multiple_ids_found(ctx: &mut Ctx) -> CheckResult {
    let mut pods = Vec::new();
    let mut config = None;
    let shared = loop {
        if let Some(shared) = shared_first_char(&pods) {
            break shared;
        }
        if pods.len() > 16 {
            return Err(Failure::Mismatch(format!(
                "17 sandbox ids without a shared first character: {pods:?}"
            )));
        }
        let (pod, pod_config) = ctx.pod("ambiguous").await?;
        pods.push(pod);
        config = Some(pod_config);
    };
    let quoted = format!("\"{shared}\"");
    let tail = format!("prefix: {shared}");
    let masks = [(quoted.as_str(), "\"<p>\""), (tail.as_str(), "prefix: <p>")];
    let status = ctx.pod_status(&shared, false).await;
    ctx.expect_error_masked(
        "PodSandboxStatus",
        status,
        Code::Unknown,
        "an error occurred when try to find sandbox: Multiple IDs found with provided prefix: <p>",
        &masks,
    )?;
    let text = "an error occurred when try to find sandbox \"<p>\": Multiple IDs found with provided prefix: <p>";
    let stop = ctx.stop_pod(&shared).await;
    ctx.expect_error_masked("StopPodSandbox", stop, Code::Unknown, text, &masks)?;
    let remove = ctx.remove_pod(&shared).await;
    ctx.expect_error_masked("RemovePodSandbox", remove, Code::Unknown, text, &masks)?;
    let config = config.unwrap_or_default();
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let create = ctx.create(&shared, &config, container).await;
    ctx.expect_error_masked(
        "CreateContainer",
        create,
        Code::Unknown,
        "failed to find sandbox id \"<p>\": Multiple IDs found with provided prefix: <p>",
        &masks,
    )
}

async fn uppercase_container_id_is_not_found(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("upper", SLEEP_FOREVER).await?;
    let upper = id.to_uppercase();
    if upper == id {
        return Err(Failure::Skip("the id has no letters".into()));
    }
    let status = ctx.status(&upper).await;
    ctx.expect_error_masked(
        "ContainerStatus with the uppercase id",
        status,
        Code::NotFound,
        "an error occurred when try to find container \"<ID>\": not found",
        &[(upper.as_str(), "<ID>")],
    )
}

async fn container_id_with_an_extra_char_or_space_is_not_found(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("extra", SLEEP_FOREVER).await?;
    let longer = format!("{id}0");
    let status = ctx.status(&longer).await;
    ctx.expect_error(
        "ContainerStatus with id + \"0\"",
        status,
        Code::NotFound,
        &format!("an error occurred when try to find container \"{longer}\": not found"),
    )?;
    let spaced = format!("{} ", prefix(&id));
    let status = ctx.status(&spaced).await;
    ctx.expect_error_masked(
        "ContainerStatus with prefix + \" \"",
        status,
        Code::NotFound,
        "an error occurred when try to find container \"<prefix> \": not found",
        &[(spaced.trim_end(), "<prefix>")],
    )
}

async fn sandbox_id_given_to_container_rpcs_is_not_found(ctx: &mut Ctx) -> CheckResult {
    let (pod, _) = ctx.running("sbascontainer", SLEEP_FOREVER).await?;
    let status = ctx.status(&pod).await;
    ctx.expect_error(
        "ContainerStatus with a sandbox id",
        status,
        Code::NotFound,
        &format!("an error occurred when try to find container \"{pod}\": not found"),
    )?;
    let exec = ctx.exec(&pod, &["true"], 5).await;
    ctx.expect_error(
        "ExecSync with a sandbox id",
        exec,
        Code::NotFound,
        &format!(
            "failed to exec in container: failed to find container \"{pod}\" in store: not found"
        ),
    )
}

async fn container_id_given_to_sandbox_status_is_not_found_and_to_stop_only_in_1_6(
    ctx: &mut Ctx,
) -> CheckResult {
    let (_, id) = ctx.running("containerassb", SLEEP_FOREVER).await?;
    let status = ctx.pod_status(&id, false).await;
    ctx.expect_error(
        "PodSandboxStatus with a container id",
        status,
        Code::NotFound,
        "an error occurred when try to find sandbox: not found",
    )?;
    let stop = ctx.stop_pod(&id).await;
    let expected = stop_of_a_missing_sandbox(ctx, &id);
    ctx.expect_outcome("StopPodSandbox with a container id", stop, expected)
        .map(|_| ())
}

async fn container_name_conflict_names_the_reservation_from_the_request_sandbox_config(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, config) = ctx.pod("reserve").await?;
    // The request's sandbox_config, not the stored sandbox, names the reservation.
    let mut alias = config.clone();
    let alias_name = ctx.unique("alias");
    if let Some(m) = alias.metadata.as_mut() {
        m.name = alias_name.clone();
        m.uid = format!("uid-{alias_name}");
    }
    let container = ctx.container_config("web", SLEEP_FOREVER);
    let first = ctx
        .create(&pod, &alias, container.clone())
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let second = ctx.create(&pod, &alias, container.clone()).await;
    let name = format!("web_{alias_name}_cri-conformance_uid-{alias_name}_0");
    let code = name_conflict_code(ctx);
    let text = container_name_conflict(ctx, &name, &first);
    ctx.expect_error("CreateContainer with the same name", second, code, &text)?;
    let real = ctx.create(&pod, &config, container).await;
    ctx.expect_ok("CreateContainer with the stored sandbox's config", real)
        .map(|_| ())
}

async fn container_name_is_free_again_after_remove(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("cfree").await?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let first = ctx
        .create(&pod, &config, container.clone())
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let remove = ctx.remove(&first).await;
    ctx.expect_ok("RemoveContainer", remove)?;
    let again = ctx.create(&pod, &config, container).await;
    let again = ctx.expect_ok("CreateContainer with the same name after remove", again)?;
    ctx.expect_eq("a new id", again != first, true)
}

async fn container_with_attempt_1_runs_alongside_attempt_0(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("cattempt").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    ctx.create(&pod, &config, container.clone())
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    container.metadata = Some(ContainerMetadata {
        name: "main".into(),
        attempt: 1,
    });
    let second = ctx.create(&pod, &config, container).await;
    let second = ctx.expect_ok("CreateContainer attempt=1", second)?;
    let status = ctx.status_ok(&second).await?;
    ctx.expect_eq(
        "metadata",
        status.metadata,
        Some(ContainerMetadata {
            name: "main".into(),
            attempt: 1,
        }),
    )
}

async fn same_container_name_in_two_sandboxes_is_accepted(ctx: &mut Ctx) -> CheckResult {
    let (_, first) = ctx.running("twopods", SLEEP_FOREVER).await?;
    let (pod, config) = ctx.pod("twopods").await?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let second = ctx.create(&pod, &config, container).await;
    let second = ctx.expect_ok(
        "CreateContainer of the same name in another sandbox",
        second,
    )?;
    ctx.expect_eq("a new id", second != first, true)
}
