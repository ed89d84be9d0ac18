//! Pod sandbox lifecycle (reference §2).

use cri_proto::v1::*;
use tonic::Code;

use super::{SLEEP_FOREVER, empty_prefix, json_keys, mask_quoted_ids, oci_suffix, parse_json};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, Expected, RUN_LABEL};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::Sandbox =>
        run_pod_sandbox_returns_a_64_char_lowercase_hex_id,
        ready_host_network_sandbox_status_has_empty_network_and_echoed_namespaces,
        stopping_a_sandbox_twice_succeeds_and_leaves_it_notready,
        status_of_a_removed_sandbox_is_not_found_without_the_id,
        stop_of_a_removed_sandbox_is_not_found_with_the_id_in_1_6_and_ok_in_2_3,
        run_pod_sandbox_without_metadata_fails_with_unknown,
        unknown_runtime_handler_is_rejected,
        hostname_with_host_network_fails_like_runc,
        run_pod_sandbox_without_config_fails_like_without_metadata,
        verbose_sandbox_status_has_one_info_key_with_the_documented_json,
        stopped_sandbox_verbose_status_shows_pid_0_and_deleted_process,
        sandbox_name_conflict_names_the_reserved_name_and_the_first_id,
        sandbox_name_stays_reserved_while_the_sandbox_is_notready,
        sandbox_with_attempt_1_runs_alongside_attempt_0,
        sandbox_name_is_free_again_after_remove,
        sandbox_with_empty_name_is_accepted,
        sandbox_with_empty_uid_and_namespace_is_accepted,
        runtime_handler_runc_is_echoed_in_status_and_list,
        host_pid_and_ipc_namespaces_are_echoed_in_status,
        removing_a_ready_sandbox_removes_its_running_container,
        sandbox_status_with_empty_id_says_prefix_cant_be_empty,
        stop_and_remove_sandbox_with_empty_id_say_prefix_cant_be_empty,
        nonexistent_sandbox_status_is_not_found_remove_is_ok_and_stop_is_not_found_in_1_6_only,
    ]
}

async fn run_pod_sandbox_returns_a_64_char_lowercase_hex_id(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("id").await?;
    let ok = id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ctx.expect_eq("id is 64 lowercase hex", ok, true)
}

async fn ready_host_network_sandbox_status_has_empty_network_and_echoed_namespaces(
    ctx: &mut Ctx,
) -> CheckResult {
    if !ctx.target.host_network {
        return Err(crate::check::Failure::Skip(
            "target pods have their own network".into(),
        ));
    }
    let (id, config) = ctx.pod("status").await?;
    let status = ctx
        .rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id.clone(),
            verbose: false,
        })
        .await;
    let response = ctx.expect_ok("PodSandboxStatus", status)?.into_inner();
    // containerd 2.3 always sends its (unfilled) sandbox info, 1.6 only when verbose.
    let keys: Vec<&str> = response.info.keys().map(String::as_str).collect();
    let expected = ctx.per_profile(vec![], vec!["info"]);
    ctx.expect_eq("non-verbose info keys", keys, expected)?;
    let status = response.status.unwrap_or_default();
    ctx.expect_eq("state", status.state, PodSandboxState::SandboxReady as i32)?;
    ctx.expect_eq("metadata", status.metadata, config.metadata)?;
    ctx.expect_eq(
        "network",
        status.network,
        Some(PodSandboxNetworkStatus::default()),
    )?;
    let options = status
        .linux
        .and_then(|l| l.namespaces)
        .and_then(|n| n.options)
        .unwrap_or_default();
    ctx.expect_eq(
        "namespace options",
        (options.network, options.pid, options.ipc),
        (2, 0, 0),
    )?;
    ctx.expect_eq("runtime_handler", status.runtime_handler, String::new())
}

async fn stopping_a_sandbox_twice_succeeds_and_leaves_it_notready(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("stop2").await?;
    for n in 1..=2 {
        let result = ctx
            .rt
            .stop_pod_sandbox(StopPodSandboxRequest {
                pod_sandbox_id: id.clone(),
            })
            .await;
        ctx.expect_ok(&format!("StopPodSandbox #{n}"), result)?;
    }
    let status = ctx
        .rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id,
            verbose: false,
        })
        .await;
    let state = ctx
        .expect_ok("PodSandboxStatus", status)?
        .into_inner()
        .status
        .unwrap_or_default()
        .state;
    ctx.expect_eq("state", state, PodSandboxState::SandboxNotready as i32)
}

async fn status_of_a_removed_sandbox_is_not_found_without_the_id(ctx: &mut Ctx) -> CheckResult {
    let (id, _) = ctx.pod("gone").await?;
    let _ = ctx
        .rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: id.clone(),
        })
        .await;
    let removed = ctx
        .rt
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: id.clone(),
        })
        .await;
    ctx.expect_ok("RemovePodSandbox", removed)?;
    let status = ctx
        .rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: id,
            verbose: false,
        })
        .await;
    ctx.expect_error(
        "PodSandboxStatus",
        status,
        Code::NotFound,
        "an error occurred when try to find sandbox: not found",
    )
}

/// What StopPodSandbox answers for a sandbox id nothing has: NOT_FOUND with the id as
/// given in containerd 1.6, OK in 2.3.
pub(super) fn stop_of_a_missing_sandbox(ctx: &Ctx, id: &str) -> Expected {
    ctx.per_profile(
        Expected::error(
            Code::NotFound,
            format!("an error occurred when try to find sandbox \"{id}\": not found"),
        ),
        Expected::Ok,
    )
}

async fn stop_of_a_removed_sandbox_is_not_found_with_the_id_in_1_6_and_ok_in_2_3(
    ctx: &mut Ctx,
) -> CheckResult {
    let (id, _) = ctx.pod("gone").await?;
    let _ = ctx
        .rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: id.clone(),
        })
        .await;
    let _ = ctx
        .rt
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: id.clone(),
        })
        .await;
    let again = ctx
        .rt
        .remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: id.clone(),
        })
        .await;
    ctx.expect_ok("RemovePodSandbox again", again)?;
    let stop = ctx
        .rt
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: id.clone(),
        })
        .await;
    let expected = stop_of_a_missing_sandbox(ctx, &id);
    ctx.expect_outcome("StopPodSandbox", stop, expected)
        .map(|_| ())
}

async fn run_pod_sandbox_without_metadata_fails_with_unknown(ctx: &mut Ctx) -> CheckResult {
    let mut config = ctx.pod_config("nometa");
    config.metadata = None;
    let result = ctx.try_run_pod(&config).await;
    ctx.expect_error(
        "RunPodSandbox",
        result,
        Code::Unknown,
        "sandbox config must include metadata",
    )
}

async fn unknown_runtime_handler_is_rejected(ctx: &mut Ctx) -> CheckResult {
    let config = ctx.pod_config("handler");
    let result = ctx
        .rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config),
            runtime_handler: "nope".into(),
        })
        .await;
    // 2.3 names the sandbox it was creating, whose id the check cannot know.
    let text = ctx.per_profile(
        "failed to get sandbox runtime: no runtime for \"nope\" is configured",
        "unable to get OCI runtime for sandbox \"<id>\": no runtime for \"nope\" is configured",
    );
    ctx.expect_error(
        "RunPodSandbox",
        mask_quoted_ids(result),
        Code::Unknown,
        text,
    )
}

async fn hostname_with_host_network_fails_like_runc(ctx: &mut Ctx) -> CheckResult {
    let mut config = ctx.pod_config("hostname");
    config.hostname = "custom".into();
    let result = ctx.try_run_pod(&config).await;
    // 2.3 puts the new sandbox's id (unknown to the check) in front.
    let prefix = ctx.per_profile("", "failed to start sandbox \"<id>\": ");
    let suffix = oci_suffix(ctx);
    ctx.expect_error(
        "RunPodSandbox",
        mask_quoted_ids(result),
        Code::Unknown,
        &format!(
            "{prefix}failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to set hostname without a private UTS namespace{suffix}"
        ),
    )
}

/// The code of a name reservation conflict (sandboxes and containers): UNKNOWN in
/// containerd 1.6, FAILED_PRECONDITION in 2.3.
pub(super) fn name_conflict_code(ctx: &Ctx) -> Code {
    ctx.per_profile(Code::Unknown, Code::FailedPrecondition)
}

/// The reserved name of a sandbox: `<name>_<namespace>_<uid>_<attempt>`.
fn reserved_sandbox_name(config: &PodSandboxConfig) -> String {
    let m = config.metadata.clone().unwrap_or_default();
    format!("{}_{}_{}_{}", m.name, m.namespace, m.uid, m.attempt)
}

async fn run_pod_sandbox_without_config_fails_like_without_metadata(ctx: &mut Ctx) -> CheckResult {
    let result = ctx
        .rt
        .run_pod_sandbox(RunPodSandboxRequest::default())
        .await;
    ctx.expect_error(
        "RunPodSandbox {}",
        result,
        Code::Unknown,
        "sandbox config must include metadata",
    )
}

async fn verbose_sandbox_status_has_one_info_key_with_the_documented_json(
    ctx: &mut Ctx,
) -> CheckResult {
    let (id, config) = ctx.pod("verbose").await?;
    let response = ctx.pod_status(&id, true).await;
    let response = ctx.expect_ok("PodSandboxStatus verbose", response)?;
    let keys: Vec<&str> = response.info.keys().map(String::as_str).collect();
    ctx.expect_eq("info keys", keys, vec!["info"])?;
    let info = parse_json(
        "info",
        response
            .info
            .get("info")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
    // 2.3 dropped runtimeHandler and added sandboxMetadata.
    let expected = ctx.per_profile(
        vec![
            "cniResult",
            "config",
            "image",
            "netNamespaceClosed",
            "pid",
            "processStatus",
            "runtimeHandler",
            "runtimeOptions",
            "runtimeSpec",
            "runtimeType",
            "snapshotKey",
            "snapshotter",
        ],
        vec![
            "cniResult",
            "config",
            "image",
            "netNamespaceClosed",
            "pid",
            "processStatus",
            "runtimeOptions",
            "runtimeSpec",
            "runtimeType",
            "sandboxMetadata",
            "snapshotKey",
            "snapshotter",
        ],
    );
    ctx.expect_eq(
        "info JSON keys",
        json_keys(&info),
        expected.into_iter().map(String::from).collect(),
    )?;
    ctx.expect_eq(
        "processStatus",
        info["processStatus"].as_str(),
        Some("running"),
    )?;
    ctx.expect_eq(
        "netNamespaceClosed",
        info["netNamespaceClosed"].as_bool(),
        Some(false),
    )?;
    let sandbox_image = ctx.target.sandbox_image.clone();
    ctx.expect_eq(
        "image",
        info["image"].as_str(),
        Some(sandbox_image.as_str()),
    )?;
    ctx.expect_eq(
        "snapshotKey is the sandbox id",
        info["snapshotKey"].as_str(),
        Some(id.as_str()),
    )?;
    ctx.expect_eq(
        "snapshotter",
        info["snapshotter"].as_str(),
        Some("overlayfs"),
    )?;
    let expected = ctx.per_profile(Some(""), None);
    ctx.expect_eq(
        "runtimeHandler",
        info.get("runtimeHandler").and_then(|v| v.as_str()),
        expected,
    )?;
    ctx.expect_eq(
        "runtimeType",
        info["runtimeType"].as_str(),
        Some("io.containerd.runc.v2"),
    )?;
    ctx.expect_eq("cniResult", info["cniResult"].is_null(), true)?;
    let pid = info["pid"].as_u64().unwrap_or_default();
    ctx.expect_eq("pid is positive", pid > 0, true)?;
    let name = config.metadata.map(|m| m.name).unwrap_or_default();
    ctx.expect_eq(
        "config.metadata.name",
        info["config"]["metadata"]["name"].as_str(),
        Some(name.as_str()),
    )?;
    let cgroups_path = format!("/k8s.io/{id}");
    ctx.expect_eq(
        "runtimeSpec.linux.cgroupsPath",
        info["runtimeSpec"]["linux"]["cgroupsPath"].as_str(),
        Some(cgroups_path.as_str()),
    )
}

async fn stopped_sandbox_verbose_status_shows_pid_0_and_deleted_process(
    ctx: &mut Ctx,
) -> CheckResult {
    let (id, _) = ctx.pod("stopped-verbose").await?;
    let stop = ctx.stop_pod(&id).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let response = ctx.pod_status(&id, true).await;
    let response = ctx.expect_ok("PodSandboxStatus verbose", response)?;
    let state = response.status.map(|s| s.state).unwrap_or(-1);
    ctx.expect_eq("state", state, PodSandboxState::SandboxNotready as i32)?;
    let info = parse_json(
        "info",
        response
            .info
            .get("info")
            .map(String::as_str)
            .unwrap_or_default(),
    )?;
    ctx.expect_eq("pid", info["pid"].as_u64(), Some(0))?;
    ctx.expect_eq(
        "processStatus",
        info["processStatus"].as_str(),
        Some("deleted"),
    )
}

async fn sandbox_name_conflict_names_the_reserved_name_and_the_first_id(
    ctx: &mut Ctx,
) -> CheckResult {
    let (first, config) = ctx.pod("dup").await?;
    let second = ctx.try_run_pod(&config).await;
    let name = reserved_sandbox_name(&config);
    let code = name_conflict_code(ctx);
    ctx.expect_error(
        "RunPodSandbox with the same metadata",
        second,
        code,
        &format!(
            "failed to reserve sandbox name \"{name}\": name \"{name}\" is reserved for \"{first}\""
        ),
    )
}

async fn sandbox_name_stays_reserved_while_the_sandbox_is_notready(ctx: &mut Ctx) -> CheckResult {
    let (first, config) = ctx.pod("dup-stopped").await?;
    let stop = ctx.stop_pod(&first).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let second = ctx.try_run_pod(&config).await;
    let name = reserved_sandbox_name(&config);
    let code = name_conflict_code(ctx);
    ctx.expect_error(
        "RunPodSandbox with the metadata of a stopped sandbox",
        second,
        code,
        &format!(
            "failed to reserve sandbox name \"{name}\": name \"{name}\" is reserved for \"{first}\""
        ),
    )
}

async fn sandbox_with_attempt_1_runs_alongside_attempt_0(ctx: &mut Ctx) -> CheckResult {
    let (first, mut config) = ctx.pod("attempt").await?;
    if let Some(m) = config.metadata.as_mut() {
        m.attempt = 1;
    }
    let second = ctx.try_run_pod(&config).await;
    let second = ctx.expect_ok("RunPodSandbox attempt=1", second)?;
    ctx.expect_eq("a new sandbox", second != first, true)
}

async fn sandbox_name_is_free_again_after_remove(ctx: &mut Ctx) -> CheckResult {
    let (first, config) = ctx.pod("reuse").await?;
    let stop = ctx.stop_pod(&first).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let remove = ctx.remove_pod(&first).await;
    ctx.expect_ok("RemovePodSandbox", remove)?;
    let again = ctx.try_run_pod(&config).await;
    let again = ctx.expect_ok("RunPodSandbox with the same metadata after remove", again)?;
    ctx.expect_eq("a new id", again != first, true)
}

async fn sandbox_with_empty_name_is_accepted(ctx: &mut Ctx) -> CheckResult {
    let mut config = ctx.pod_config("noname");
    if let Some(m) = config.metadata.as_mut() {
        m.name = String::new();
    }
    let id = ctx.try_run_pod(&config).await;
    let id = ctx.expect_ok("RunPodSandbox with an empty name", id)?;
    let status = ctx.pod_status(&id, false).await;
    let status = ctx
        .expect_ok("PodSandboxStatus", status)?
        .status
        .unwrap_or_default();
    ctx.expect_eq("metadata echo", status.metadata, config.metadata)
}

async fn sandbox_with_empty_uid_and_namespace_is_accepted(ctx: &mut Ctx) -> CheckResult {
    let mut config = ctx.pod_config("nouid");
    if let Some(m) = config.metadata.as_mut() {
        m.uid = String::new();
        m.namespace = String::new();
    }
    let id = ctx.try_run_pod(&config).await;
    ctx.expect_ok("RunPodSandbox with empty uid and namespace", id)
        .map(|_| ())
}

async fn runtime_handler_runc_is_echoed_in_status_and_list(ctx: &mut Ctx) -> CheckResult {
    let config = ctx.pod_config("runc");
    let id = ctx.try_run_pod_with_handler(&config, "runc").await;
    let id = ctx.expect_ok("RunPodSandbox runtime_handler=runc", id)?;
    let status = ctx.pod_status(&id, false).await;
    let status = ctx
        .expect_ok("PodSandboxStatus", status)?
        .status
        .unwrap_or_default();
    ctx.expect_eq(
        "status runtime_handler",
        status.runtime_handler.as_str(),
        "runc",
    )?;
    let listed = ctx
        .list_pods(PodSandboxFilter {
            id: id.clone(),
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListPodSandbox", listed)?;
    let handlers: Vec<String> = listed.into_iter().map(|p| p.runtime_handler).collect();
    ctx.expect_eq("listed runtime_handler", handlers, vec!["runc".to_owned()])
}

async fn host_pid_and_ipc_namespaces_are_echoed_in_status(ctx: &mut Ctx) -> CheckResult {
    if !ctx.target.host_network {
        return Err(Failure::Skip("target pods have their own network".into()));
    }
    let mut config = ctx.pod_config("hostns");
    let options = config
        .linux
        .as_mut()
        .and_then(|l| l.security_context.as_mut())
        .and_then(|s| s.namespace_options.as_mut());
    if let Some(options) = options {
        options.pid = NamespaceMode::Node as i32;
        options.ipc = NamespaceMode::Node as i32;
    }
    let id = ctx.run_pod(&config).await?;
    let status = ctx.pod_status(&id, false).await;
    let status = ctx
        .expect_ok("PodSandboxStatus", status)?
        .status
        .unwrap_or_default();
    let options = status
        .linux
        .and_then(|l| l.namespaces)
        .and_then(|n| n.options)
        .unwrap_or_default();
    ctx.expect_eq(
        "namespace options (network, pid, ipc)",
        (options.network, options.pid, options.ipc),
        (2, 2, 2),
    )
}

async fn removing_a_ready_sandbox_removes_its_running_container(ctx: &mut Ctx) -> CheckResult {
    let (pod, container) = ctx.running("rmready", SLEEP_FOREVER).await?;
    ctx.wait_state(&container, ContainerState::ContainerRunning)
        .await?;
    let remove = ctx.remove_pod(&pod).await;
    ctx.expect_ok("RemovePodSandbox on a READY sandbox", remove)?;
    let status = ctx.status(&container).await;
    ctx.expect_error(
        "ContainerStatus of its container",
        status,
        Code::NotFound,
        &format!("an error occurred when try to find container \"{container}\": not found"),
    )?;
    let listed = ctx
        .list_containers(ContainerFilter {
            label_selector: [(RUN_LABEL.to_owned(), ctx.run_id().to_owned())].into(),
            pod_sandbox_id: pod.clone(),
            ..Default::default()
        })
        .await;
    let listed = ctx.expect_ok("ListContainers of the removed sandbox", listed)?;
    ctx.expect_eq("containers listed", listed.len(), 0)
}

async fn sandbox_status_with_empty_id_says_prefix_cant_be_empty(ctx: &mut Ctx) -> CheckResult {
    let result = ctx.pod_status("", false).await;
    let text = format!(
        "an error occurred when try to find sandbox: {}",
        empty_prefix(ctx)
    );
    ctx.expect_error("PodSandboxStatus \"\"", result, Code::Unknown, &text)
}

async fn stop_and_remove_sandbox_with_empty_id_say_prefix_cant_be_empty(
    ctx: &mut Ctx,
) -> CheckResult {
    let stop = ctx.stop_pod("").await;
    let text = format!(
        "an error occurred when try to find sandbox \"\": {}",
        empty_prefix(ctx)
    );
    ctx.expect_error("StopPodSandbox \"\"", stop, Code::Unknown, &text)?;
    let remove = ctx.remove_pod("").await;
    ctx.expect_error("RemovePodSandbox \"\"", remove, Code::Unknown, &text)
}

async fn nonexistent_sandbox_status_is_not_found_remove_is_ok_and_stop_is_not_found_in_1_6_only(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = "deadbeef".repeat(8);
    let status = ctx.pod_status(&id, false).await;
    ctx.expect_error(
        "PodSandboxStatus",
        status,
        Code::NotFound,
        "an error occurred when try to find sandbox: not found",
    )?;
    let stop = ctx.stop_pod(&id).await;
    let expected = stop_of_a_missing_sandbox(ctx, &id);
    ctx.expect_outcome("StopPodSandbox", stop, expected)?;
    let remove = ctx.remove_pod(&id).await;
    ctx.expect_ok("RemovePodSandbox", remove).map(|_| ())
}
