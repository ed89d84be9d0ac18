//! Container create, start, status and resources (reference §3a, §3b, §9).

use std::os::unix::fs::PermissionsExt;

use cri_proto::v1::*;
use tonic::Code;

use super::sandbox::name_conflict_code;
use super::{SLEEP_FOREVER, is_hex_id, json_keys, oci_suffix, parse_json};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, Expected, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::ContainerLifecycle =>
        create_in_a_ready_sandbox_returns_a_hex_id_and_no_log_file_yet,
        start_creates_the_log_file_with_mode_0640,
        created_container_status_has_no_start_finish_or_reason,
        running_container_status_has_started_at_and_no_finish,
        true_exits_0_with_reason_completed,
        false_exits_1_with_reason_error,
        sh_exit_3_exits_3_with_reason_error,
        killing_itself_with_sigkill_exits_137_with_reason_error,
        log_path_is_the_log_directory_joined_with_the_config_log_path,
        log_path_is_cleaned_like_go_filepath_join,
        log_path_uses_the_log_directory_of_the_create_request,
        log_path_is_empty_when_the_config_log_path_is_empty,
        log_path_is_empty_when_the_sandbox_log_directory_is_empty,
        resources_are_present_and_empty_by_default,
        verbose_container_status_has_one_info_key_with_the_documented_json,
        starting_a_running_container_fails_with_its_state,
        starting_an_exited_container_fails_with_its_state,
        nonexistent_binary_fails_start_and_leaves_start_error_128,
        non_executable_binary_fails_start_with_permission_denied,
        starting_in_a_stopped_sandbox_is_a_start_error,
        creating_in_a_stopped_sandbox_is_not_found_in_1_6_and_not_running_in_2_3,
        creating_with_an_absent_image_is_not_found,
        creating_with_an_empty_image_is_an_ambiguous_digest_string,
        name_conflict_is_reported_before_a_bad_image,
        creating_without_metadata_fails_with_unknown,
        creating_without_a_sandbox_config_fails_with_unknown_in_2_3,
        container_with_empty_name_is_accepted,
        no_command_runs_the_image_cmd_sh_which_completes_at_once,
        memory_limit_oom_kills_the_main_process_with_137_oomkilled,
        child_oom_with_main_process_exit_0_is_oomkilled_with_exit_0,
        update_resources_merges_fields_and_sets_swap_to_memory,
        update_resources_with_a_too_low_memory_limit_fails_and_keeps_the_old_values,
        update_resources_of_a_created_container_is_stored,
        update_resources_without_linux_changes_nothing,
        status_and_start_after_remove_are_not_found_and_stop_is_not_found_in_1_6_only,
    ]
}

/// A new pod whose container `name` runs `command`, logging to `log_path` (relative to
/// the pod's log directory; empty for none), created but not started.
async fn created(
    ctx: &mut Ctx,
    base: &str,
    log_path: &str,
    command: &[&str],
) -> Result<(String, String, PodSandboxConfig), Failure> {
    let (pod, config) = ctx.pod(base).await?;
    let mut container = ctx.container_config("main", command);
    container.log_path = log_path.into();
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    Ok((pod, id, config))
}

/// Starts `command` in a new pod and waits until it has exited: its final status.
async fn exited(ctx: &mut Ctx, base: &str, command: &[&str]) -> Result<ContainerStatus, Failure> {
    let (_, id) = ctx.running(base, command).await?;
    ctx.wait_state(&id, ContainerState::ContainerExited).await
}

/// `(exit_code, reason, message)` of a status.
fn ending(status: &ContainerStatus) -> (i32, String, String) {
    (
        status.exit_code,
        status.reason.clone(),
        status.message.clone(),
    )
}

/// The message runc gives a container whose binary cannot be started (ending in
/// `: unknown` in containerd 1.6 only).
fn runc_start_error(ctx: &Ctx, detail: &str) -> String {
    let suffix = oci_suffix(ctx);
    format!(
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: {detail}{suffix}"
    )
}

fn resources(linux: LinuxContainerResources) -> Option<ContainerResources> {
    Some(ContainerResources {
        linux: Some(linux),
        windows: None,
    })
}

async fn create_in_a_ready_sandbox_returns_a_hex_id_and_no_log_file_yet(
    ctx: &mut Ctx,
) -> CheckResult {
    let (_, id, _) = created(ctx, "create", "create.log", SLEEP_FOREVER).await?;
    ctx.expect_eq("container id is 64 lowercase hex", is_hex_id(&id), true)?;
    let exists = ctx.log_path("create.log").exists();
    ctx.expect_eq("log file exists after create", exists, false)
}

async fn start_creates_the_log_file_with_mode_0640(ctx: &mut Ctx) -> CheckResult {
    let (_, id, _) = created(ctx, "logmode", "start.log", SLEEP_FOREVER).await?;
    let start = ctx.start(&id).await;
    ctx.expect_ok("StartContainer", start)?;
    let mode = std::fs::metadata(ctx.log_path("start.log"))
        .map(|m| format!("{:o}", m.permissions().mode() & 0o777));
    ctx.expect_eq(
        "log file mode after start",
        mode.ok(),
        Some("640".to_owned()),
    )
}

async fn created_container_status_has_no_start_finish_or_reason(ctx: &mut Ctx) -> CheckResult {
    let (_, id, _) = created(ctx, "created", "", SLEEP_FOREVER).await?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq("id", status.id.as_str(), id.as_str())?;
    ctx.expect_eq(
        "state",
        status.state,
        ContainerState::ContainerCreated as i32,
    )?;
    ctx.expect_eq(
        "created_at is in ns",
        status.created_at > 1_600_000_000_000_000_000,
        true,
    )?;
    ctx.expect_eq(
        "started_at, finished_at",
        (status.started_at, status.finished_at),
        (0, 0),
    )?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (0, String::new(), String::new()),
    )?;
    ctx.expect_eq(
        "metadata",
        status.metadata,
        Some(ContainerMetadata {
            name: "main".into(),
            attempt: 0,
        }),
    )?;
    ctx.expect_eq("mounts", status.mounts.len(), 0)
}

async fn running_container_status_has_started_at_and_no_finish(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("running", SLEEP_FOREVER).await?;
    let status = ctx
        .wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    ctx.expect_eq(
        "started_at >= created_at",
        status.started_at >= status.created_at,
        true,
    )?;
    ctx.expect_eq("finished_at", status.finished_at, 0)?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (0, String::new(), String::new()),
    )
}

async fn true_exits_0_with_reason_completed(ctx: &mut Ctx) -> CheckResult {
    let status = exited(ctx, "true", &["true"]).await?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (0, "Completed".into(), String::new()),
    )?;
    ctx.expect_eq(
        "started_at and finished_at are set",
        status.started_at > 0 && status.finished_at > 0,
        true,
    )
}

async fn false_exits_1_with_reason_error(ctx: &mut Ctx) -> CheckResult {
    let status = exited(ctx, "false", &["false"]).await?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (1, "Error".into(), String::new()),
    )
}

async fn sh_exit_3_exits_3_with_reason_error(ctx: &mut Ctx) -> CheckResult {
    let status = exited(ctx, "exit3", &["sh", "-c", "exit 3"]).await?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (3, "Error".into(), String::new()),
    )
}

async fn killing_itself_with_sigkill_exits_137_with_reason_error(ctx: &mut Ctx) -> CheckResult {
    let status = exited(ctx, "kill9", &["sh", "-c", "kill -9 $$"]).await?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (137, "Error".into(), String::new()),
    )
}

async fn log_path_is_the_log_directory_joined_with_the_config_log_path(
    ctx: &mut Ctx,
) -> CheckResult {
    let (_, id, config) = created(ctx, "logpath", "ctr/main.log", SLEEP_FOREVER).await?;
    let status = ctx.status_ok(&id).await?;
    let expected = format!("{}/ctr/main.log", config.log_directory);
    ctx.expect_eq("log_path", status.log_path, expected)
}

async fn log_path_is_cleaned_like_go_filepath_join(ctx: &mut Ctx) -> CheckResult {
    let (_, id, config) =
        created(ctx, "logclean", "/a//b/./x/../main.log", &["echo", "hi"]).await?;
    let status = ctx.status_ok(&id).await?;
    let expected = format!("{}/a/b/main.log", config.log_directory);
    ctx.expect_eq("log_path", status.log_path.as_str(), expected.as_str())?;
    let start = ctx.start(&id).await;
    ctx.expect_ok("StartContainer", start)?;
    ctx.wait_state(&id, ContainerState::ContainerExited).await?;
    let written = std::fs::read_to_string(&expected).map(|text| {
        text.lines()
            .map(|line| line.split_once(' ').map_or("", |(_, rest)| rest).to_owned())
            .collect::<Vec<_>>()
    });
    ctx.expect_eq(
        "records in the cleaned path, without their times",
        written.ok(),
        Some(vec!["stdout F hi".to_owned()]),
    )
}

async fn log_path_uses_the_log_directory_of_the_create_request(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("logreq").await?;
    let mut request_config = config.clone();
    request_config.log_directory = format!("{}/elsewhere", config.log_directory);
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.log_path = "main.log".into();
    let id = ctx
        .create(&pod, &request_config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let status = ctx.status_ok(&id).await?;
    let expected = format!("{}/elsewhere/main.log", config.log_directory);
    ctx.expect_eq("log_path", status.log_path, expected)
}

async fn log_path_is_empty_when_the_config_log_path_is_empty(ctx: &mut Ctx) -> CheckResult {
    let (_, id, _) = created(ctx, "nolog", "", &["true"]).await?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq("log_path", status.log_path.as_str(), "")?;
    let start = ctx.start(&id).await;
    ctx.expect_ok("StartContainer without a log path", start)?;
    let status = ctx.wait_state(&id, ContainerState::ContainerExited).await?;
    ctx.expect_eq(
        "exit_code, reason",
        (status.exit_code, status.reason),
        (0, "Completed".into()),
    )
}

async fn log_path_is_empty_when_the_sandbox_log_directory_is_empty(ctx: &mut Ctx) -> CheckResult {
    let mut config = ctx.pod_config("nologdir");
    config.log_directory = String::new();
    let pod = ctx.run_pod(&config).await?;
    let mut container = ctx.container_config("main", &["true"]);
    container.log_path = "main.log".into();
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq("log_path", status.log_path.as_str(), "")?;
    let start = ctx.start(&id).await;
    ctx.expect_ok("StartContainer without a log directory", start)
        .map(|_| ())
}

async fn resources_are_present_and_empty_by_default(ctx: &mut Ctx) -> CheckResult {
    let (_, id, _) = created(ctx, "defres", "", SLEEP_FOREVER).await?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "resources of a CREATED container",
        status.resources,
        resources(LinuxContainerResources::default()),
    )?;
    let start = ctx.start(&id).await;
    ctx.expect_ok("StartContainer", start)?;
    let status = ctx
        .wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    ctx.expect_eq(
        "resources of a RUNNING container",
        status.resources,
        resources(LinuxContainerResources::default()),
    )
}

async fn verbose_container_status_has_one_info_key_with_the_documented_json(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, id, _) = created(ctx, "cverbose", "rel/main.log", SLEEP_FOREVER).await?;
    let response = ctx.status_verbose(&id).await;
    let response = ctx.expect_ok("ContainerStatus verbose", response)?;
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
    ctx.expect_eq(
        "info JSON keys",
        json_keys(&info),
        [
            "config",
            "pid",
            "removing",
            "runtimeOptions",
            "runtimeSpec",
            "runtimeType",
            "sandboxID",
            "snapshotKey",
            "snapshotter",
        ]
        .map(String::from)
        .to_vec(),
    )?;
    ctx.expect_eq("sandboxID", info["sandboxID"].as_str(), Some(pod.as_str()))?;
    ctx.expect_eq("pid of a CREATED container", info["pid"].as_u64(), Some(0))?;
    ctx.expect_eq("removing", info["removing"].as_bool(), Some(false))?;
    ctx.expect_eq(
        "snapshotKey",
        info["snapshotKey"].as_str(),
        Some(id.as_str()),
    )?;
    ctx.expect_eq(
        "config.log_path stays relative",
        info["config"]["log_path"].as_str(),
        Some("rel/main.log"),
    )
}

async fn starting_a_running_container_fails_with_its_state(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("start2", SLEEP_FOREVER).await?;
    let again = ctx.start(&id).await;
    ctx.expect_error(
        "StartContainer #2",
        again,
        Code::Unknown,
        &format!("failed to set starting state for container \"{id}\": container is in CONTAINER_RUNNING state"),
    )
}

async fn starting_an_exited_container_fails_with_its_state(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("restart", &["true"]).await?;
    ctx.wait_state(&id, ContainerState::ContainerExited).await?;
    let again = ctx.start(&id).await;
    ctx.expect_error(
        "StartContainer on EXITED",
        again,
        Code::Unknown,
        &format!("failed to set starting state for container \"{id}\": container is in CONTAINER_EXITED state"),
    )
}

async fn nonexistent_binary_fails_start_and_leaves_start_error_128(ctx: &mut Ctx) -> CheckResult {
    let (_, id, _) = created(ctx, "nobin", "", &["/no/such/binary"]).await?;
    let start = ctx.start(&id).await;
    let text = runc_start_error(
        ctx,
        "exec: \"/no/such/binary\": stat /no/such/binary: no such file or directory",
    );
    ctx.expect_error("StartContainer", start, Code::Unknown, &text)?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "state",
        status.state,
        ContainerState::ContainerExited as i32,
    )?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (128, "StartError".into(), text),
    )?;
    ctx.expect_eq("started_at", status.started_at, 0)?;
    ctx.expect_eq("finished_at is set", status.finished_at > 0, true)
}

async fn non_executable_binary_fails_start_with_permission_denied(ctx: &mut Ctx) -> CheckResult {
    let (_, id, _) = created(ctx, "noexec", "", &["/etc/passwd"]).await?;
    let start = ctx.start(&id).await;
    let text = runc_start_error(ctx, "exec: \"/etc/passwd\": permission denied");
    ctx.expect_error("StartContainer", start, Code::Unknown, &text)?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "state",
        status.state,
        ContainerState::ContainerExited as i32,
    )?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (128, "StartError".into(), text),
    )
}

async fn starting_in_a_stopped_sandbox_is_a_start_error(ctx: &mut Ctx) -> CheckResult {
    let (pod, id, _) = created(ctx, "startstopped", "", SLEEP_FOREVER).await?;
    let stop = ctx.stop_pod(&pod).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let start = ctx.start(&id).await;
    let text = format!("sandbox container \"{pod}\" is not running");
    ctx.expect_error("StartContainer", start, Code::Unknown, &text)?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "state",
        status.state,
        ContainerState::ContainerExited as i32,
    )?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (128, "StartError".into(), text),
    )
}

async fn creating_in_a_stopped_sandbox_is_not_found_in_1_6_and_not_running_in_2_3(
    ctx: &mut Ctx,
) -> CheckResult {
    let (pod, config) = ctx.pod("createstopped").await?;
    let stop = ctx.stop_pod(&pod).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let create = ctx.create(&pod, &config, container).await;
    let (code, text) = ctx.per_profile(
        (
            Code::NotFound,
            format!(
                "failed to get sandbox container task: no running task found: task {pod} not found: not found"
            ),
        ),
        (
            Code::Unknown,
            format!("sandbox container \"{pod}\" is not running"),
        ),
    );
    ctx.expect_error("CreateContainer", create, code, &text)
}

async fn creating_with_an_absent_image_is_not_found(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("noimage").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.image = Some(ImageSpec {
        image: "docker.io/library/nope:1".into(),
        ..Default::default()
    });
    let create = ctx.create(&pod, &config, container).await;
    // 2.3 first checks whether the image is a checkpoint, and fails there.
    let prefix = ctx.per_profile("", "failed to check if this is a checkpoint image: ");
    ctx.expect_error(
        "CreateContainer",
        create,
        Code::NotFound,
        &format!("{prefix}failed to resolve image \"docker.io/library/nope:1\": not found"),
    )
}

async fn creating_with_an_empty_image_is_an_ambiguous_digest_string(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("emptyimage").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.image = Some(ImageSpec::default());
    let create = ctx.create(&pod, &config, container).await;
    ctx.expect_error(
        "CreateContainer",
        create,
        Code::Unknown,
        "failed to resolve image \"\": ambiguous digest string",
    )
}

async fn name_conflict_is_reported_before_a_bad_image(ctx: &mut Ctx) -> CheckResult {
    let (pod, first, config) = created(ctx, "conflict", "", SLEEP_FOREVER).await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.image = Some(ImageSpec {
        image: "docker.io/library/nope:1".into(),
        ..Default::default()
    });
    let create = ctx.create(&pod, &config, container).await;
    let m = config.metadata.clone().unwrap_or_default();
    let name = format!("main_{}_{}_{}_0", m.name, m.namespace, m.uid);
    let code = name_conflict_code(ctx);
    let text = container_name_conflict(ctx, &name, &first);
    ctx.expect_error(
        "CreateContainer with the same name and an absent image",
        create,
        code,
        &text,
    )
}

/// The container name conflict text: 2.3 adds a hint after the quoted name.
pub(super) fn container_name_conflict(ctx: &Ctx, name: &str, holder: &str) -> String {
    let hint = ctx.per_profile(
        "",
        "; check if another CreateContainer request is in progress",
    );
    format!(
        "failed to reserve container name \"{name}\"{hint}: name \"{name}\" is reserved for \"{holder}\""
    )
}

async fn creating_without_metadata_fails_with_unknown(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("nometa").await?;
    let mut container = ctx.container_config("main", SLEEP_FOREVER);
    container.metadata = None;
    let create = ctx.create(&pod, &config, container).await;
    ctx.expect_error(
        "CreateContainer without metadata",
        create,
        Code::Unknown,
        "container config must include metadata",
    )
}

async fn creating_without_a_sandbox_config_fails_with_unknown_in_2_3(ctx: &mut Ctx) -> CheckResult {
    // containerd 1.6.20 dereferences the missing config and the whole daemon exits
    // (reference §3a): nothing to expect, and the request must never reach one.
    let Some(text) = ctx.per_profile(None, Some("pod sandbox config must include metadata")) else {
        return Err(Failure::Skip(
            "containerd 1.6.20 crashes on a CreateContainer without sandbox_config".into(),
        ));
    };
    let (pod, _) = ctx.pod("nosbconfig").await?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let create = ctx
        .rt
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod,
            config: Some(container),
            sandbox_config: None,
        })
        .await;
    ctx.expect_error(
        "CreateContainer without sandbox_config",
        create,
        Code::Unknown,
        text,
    )
}

async fn container_with_empty_name_is_accepted(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("emptyname").await?;
    let container = ctx.container_config("", SLEEP_FOREVER);
    let create = ctx.create(&pod, &config, container).await;
    let id = ctx.expect_ok("CreateContainer with an empty name", create)?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "metadata",
        status.metadata,
        Some(ContainerMetadata {
            name: String::new(),
            attempt: 0,
        }),
    )
}

async fn no_command_runs_the_image_cmd_sh_which_completes_at_once(ctx: &mut Ctx) -> CheckResult {
    let status = exited(ctx, "nocmd", &[]).await?;
    ctx.expect_eq(
        "exit_code, reason, message",
        ending(&status),
        (0, "Completed".into(), String::new()),
    )
}

/// A container of `command` limited to 32 MiB of memory, started; its final status.
async fn with_32_mib(
    ctx: &mut Ctx,
    base: &str,
    command: &[&str],
) -> Result<ContainerStatus, Failure> {
    let (pod, config) = ctx.pod(base).await?;
    let mut container = ctx.container_config("main", command);
    container.linux = Some(LinuxContainerConfig {
        resources: Some(LinuxContainerResources {
            memory_limit_in_bytes: 32 << 20,
            ..Default::default()
        }),
        ..Default::default()
    });
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let start = ctx.start(&id).await;
    ctx.expect_ok("StartContainer", start)?;
    ctx.wait_state(&id, ContainerState::ContainerExited).await
}

async fn memory_limit_oom_kills_the_main_process_with_137_oomkilled(ctx: &mut Ctx) -> CheckResult {
    let status = with_32_mib(
        ctx,
        "oom",
        &["dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1"],
    )
    .await?;
    ctx.expect_eq(
        "exit_code, reason",
        (status.exit_code, status.reason.clone()),
        (137, "OOMKilled".into()),
    )?;
    let limits = LinuxContainerResources {
        memory_limit_in_bytes: 33_554_432,
        memory_swap_limit_in_bytes: 33_554_432,
        ..Default::default()
    };
    ctx.expect_eq("resources", status.resources, resources(limits))
}

async fn child_oom_with_main_process_exit_0_is_oomkilled_with_exit_0(ctx: &mut Ctx) -> CheckResult {
    let command = [
        "sh",
        "-c",
        "dd if=/dev/zero of=/dev/null bs=200M count=1; echo survived",
    ];
    let status = with_32_mib(ctx, "childoom", &command).await?;
    ctx.expect_eq(
        "exit_code, reason",
        (status.exit_code, status.reason),
        (0, "OOMKilled".into()),
    )
}

async fn update_resources_merges_fields_and_sets_swap_to_memory(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("update", SLEEP_FOREVER).await?;
    let first = LinuxContainerResources {
        cpu_shares: 256,
        memory_limit_in_bytes: 64 << 20,
        ..Default::default()
    };
    let update = ctx.update_resources(&id, Some(first)).await;
    ctx.expect_ok("UpdateContainerResources shares+memory", update)?;
    let status = ctx.status_ok(&id).await?;
    let after_first = LinuxContainerResources {
        cpu_shares: 256,
        memory_limit_in_bytes: 67_108_864,
        memory_swap_limit_in_bytes: 67_108_864,
        ..Default::default()
    };
    ctx.expect_eq(
        "resources after the first update",
        status.resources,
        resources(after_first.clone()),
    )?;
    let second = LinuxContainerResources {
        cpu_quota: 20_000,
        cpu_period: 100_000,
        ..Default::default()
    };
    let update = ctx.update_resources(&id, Some(second)).await;
    ctx.expect_ok("UpdateContainerResources quota+period", update)?;
    let status = ctx.status_ok(&id).await?;
    let merged = LinuxContainerResources {
        cpu_quota: 20_000,
        cpu_period: 100_000,
        ..after_first
    };
    ctx.expect_eq(
        "resources after the second update",
        status.resources,
        resources(merged),
    )
}

async fn update_resources_with_a_too_low_memory_limit_fails_and_keeps_the_old_values(
    ctx: &mut Ctx,
) -> CheckResult {
    let (_, id) = ctx.running("toolow", SLEEP_FOREVER).await?;
    let before = ctx.status_ok(&id).await?.resources;
    let limit = LinuxContainerResources {
        memory_limit_in_bytes: 4096,
        ..Default::default()
    };
    let update = ctx.update_resources(&id, Some(limit)).await;
    let code = update.as_ref().err().map(|s| s.code());
    ctx.observe("UpdateContainerResources 4096 code", format!("{code:?}"));
    let message = update
        .as_ref()
        .err()
        .map(|s| s.message().to_owned())
        .unwrap_or_default();
    crate::ensure!(
        code == Some(Code::Unknown) && message.starts_with("failed to update resources"),
        "UpdateContainerResources 4096: expected UNKNOWN \"failed to update resources…\", observed {code:?}: {message:?}"
    );
    let after = ctx.status_ok(&id).await?.resources;
    ctx.expect_eq("resources after the failed update", after, before)
}

async fn update_resources_of_a_created_container_is_stored(ctx: &mut Ctx) -> CheckResult {
    let (_, id, _) = created(ctx, "updcreated", "", SLEEP_FOREVER).await?;
    let update = ctx
        .update_resources(
            &id,
            Some(LinuxContainerResources {
                cpu_shares: 128,
                ..Default::default()
            }),
        )
        .await;
    ctx.expect_ok("UpdateContainerResources on CREATED", update)?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "resources",
        status.resources,
        resources(LinuxContainerResources {
            cpu_shares: 128,
            ..Default::default()
        }),
    )
}

async fn update_resources_without_linux_changes_nothing(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("updnone", SLEEP_FOREVER).await?;
    let update = ctx
        .update_resources(
            &id,
            Some(LinuxContainerResources {
                cpu_shares: 512,
                ..Default::default()
            }),
        )
        .await;
    ctx.expect_ok("UpdateContainerResources cpu_shares", update)?;
    let update = ctx.update_resources(&id, None).await;
    ctx.expect_ok("UpdateContainerResources without linux", update)?;
    let status = ctx.status_ok(&id).await?;
    ctx.expect_eq(
        "resources",
        status.resources,
        resources(LinuxContainerResources {
            cpu_shares: 512,
            ..Default::default()
        }),
    )
}

async fn status_and_start_after_remove_are_not_found_and_stop_is_not_found_in_1_6_only(
    ctx: &mut Ctx,
) -> CheckResult {
    let (_, id, _) = created(ctx, "afterrm", "", SLEEP_FOREVER).await?;
    let remove = ctx.remove(&id).await;
    ctx.expect_ok("RemoveContainer", remove)?;
    let text = format!("an error occurred when try to find container \"{id}\": not found");
    let status = ctx.status(&id).await;
    ctx.expect_error("ContainerStatus", status, Code::NotFound, &text)?;
    let start = ctx.start(&id).await;
    ctx.expect_error("StartContainer", start, Code::NotFound, &text)?;
    let stop = ctx.stop(&id, 0).await;
    let expected = stop_of_a_missing_container(ctx, &id);
    ctx.expect_outcome("StopContainer", stop, expected)
        .map(|_| ())
}

/// What StopContainer answers for a container id nothing has: NOT_FOUND with the id as
/// given in containerd 1.6, OK in 2.3.
pub(super) fn stop_of_a_missing_container(ctx: &Ctx, id: &str) -> Expected {
    ctx.per_profile(
        Expected::error(
            Code::NotFound,
            format!("an error occurred when try to find container \"{id}\": not found"),
        ),
        Expected::Ok,
    )
}
