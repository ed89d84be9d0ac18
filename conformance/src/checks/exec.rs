//! ExecSync results and errors (reference §6).

use cri_proto::v1::*;
use tonic::Code;

use super::{SLEEP_FOREVER, empty_prefix, mask_quoted_ids, oci_suffix, texts};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::Exec =>
        non_zero_exit_is_a_successful_response_with_stdout_stderr_and_exit_code,
        true_returns_an_empty_response,
        exit_codes_are_taken_modulo_256,
        exec_killed_by_a_signal_exits_128_plus_the_signal,
        binary_output_is_returned_byte_for_byte,
        env_has_path_hostname_and_home,
        exec_runs_as_root_in_the_root_directory,
        cat_reads_end_of_file_from_the_missing_stdin,
        stdout_and_stderr_are_kept_apart,
        nonexistent_command_fails_to_start_with_the_exec_id,
        nonexistent_absolute_path_fails_with_no_such_file,
        non_executable_file_fails_with_permission_denied,
        empty_command_fails_with_args_must_not_be_empty,
        empty_string_command_is_not_found_in_path,
        exec_in_a_created_container_names_its_state,
        exec_in_an_exited_container_names_its_state,
        exec_in_a_nonexistent_container_is_not_found,
        exec_with_an_empty_id_says_prefix_cant_be_empty,
    ]
}

/// A running `sleep` container for execs.
async fn target(ctx: &mut Ctx, base: &str) -> Result<String, Failure> {
    let (_, id) = ctx.running(base, SLEEP_FOREVER).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    Ok(id)
}

/// The text of an exec that runc could not start (ending in `: unknown` in containerd
/// 1.6 only).
fn exec_start_error(ctx: &Ctx, detail: &str) -> String {
    let suffix = oci_suffix(ctx);
    format!(
        "failed to exec in container: failed to start exec \"<id>\": OCI runtime exec failed: exec failed: {detail}{suffix}"
    )
}

async fn non_zero_exit_is_a_successful_response_with_stdout_stderr_and_exit_code(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = target(ctx, "exit3").await?;
    let exec = ctx
        .exec(&id, &["sh", "-c", "echo out; echo err >&2; exit 3"], 5)
        .await;
    let response = ctx.expect_ok("ExecSync", exec)?;
    ctx.expect_eq(
        "stdout, stderr, exit_code",
        texts(&response),
        ("out\n".into(), "err\n".into(), 3),
    )
}

async fn true_returns_an_empty_response(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "true").await?;
    let exec = ctx.exec(&id, &["true"], 5).await;
    let response = ctx.expect_ok("ExecSync", exec)?;
    ctx.expect_eq("response", response, ExecSyncResponse::default())
}

async fn exit_codes_are_taken_modulo_256(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "mod256").await?;
    for (code, expected) in [(255, 255), (256, 0), (300, 44)] {
        let script = format!("exit {code}");
        let exec = ctx.exec(&id, &["sh", "-c", &script], 5).await;
        let response = ctx.expect_ok(&format!("ExecSync exit {code}"), exec)?;
        ctx.expect_eq(&format!("exit {code}"), response.exit_code, expected)?;
    }
    Ok(())
}

async fn exec_killed_by_a_signal_exits_128_plus_the_signal(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "signal").await?;
    for (signal, expected) in [(9, 137), (15, 143)] {
        let script = format!("kill -{signal} $$");
        let exec = ctx.exec(&id, &["sh", "-c", &script], 5).await;
        let response = ctx.expect_ok(&format!("ExecSync kill -{signal}"), exec)?;
        ctx.expect_eq(
            &format!("kill -{signal} exit_code"),
            response.exit_code,
            expected,
        )?;
    }
    Ok(())
}

async fn binary_output_is_returned_byte_for_byte(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "binary").await?;
    let exec = ctx.exec(&id, &["printf", "a\\000b\\377"], 5).await;
    let response = ctx.expect_ok("ExecSync", exec)?;
    ctx.expect_eq("stdout bytes", response.stdout, b"a\0b\xff".to_vec())
}

async fn env_has_path_hostname_and_home(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "env").await?;
    let exec = ctx.exec(&id, &["env"], 5).await;
    let response = ctx.expect_ok("ExecSync env", exec)?;
    let stdout = String::from_utf8_lossy(&response.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    // The hostname is the machine's (host network): only its presence is compared.
    let shape: Vec<String> = lines
        .iter()
        .map(|l| {
            if l.starts_with("HOSTNAME=") {
                "HOSTNAME=<host>".to_owned()
            } else {
                (*l).to_owned()
            }
        })
        .collect();
    ctx.expect_eq(
        "env lines",
        shape,
        vec![
            "PATH=/bin".to_owned(),
            "HOSTNAME=<host>".to_owned(),
            "HOME=/root".to_owned(),
        ],
    )?;
    ctx.expect_eq("ends with a newline", stdout.ends_with('\n'), true)
}

async fn exec_runs_as_root_in_the_root_directory(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "idpwd").await?;
    let exec = ctx.exec(&id, &["sh", "-c", "id; pwd"], 5).await;
    let response = ctx.expect_ok("ExecSync", exec)?;
    ctx.expect_eq(
        "stdout, stderr, exit_code",
        texts(&response),
        (
            "uid=0(root) gid=0(root) groups=0(root)\n/\n".into(),
            String::new(),
            0,
        ),
    )
}

async fn cat_reads_end_of_file_from_the_missing_stdin(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "cat").await?;
    let exec = ctx.exec(&id, &["cat"], 5).await;
    let response = ctx.expect_ok("ExecSync cat", exec)?;
    ctx.expect_eq("response", response, ExecSyncResponse::default())
}

async fn stdout_and_stderr_are_kept_apart(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "streams").await?;
    let exec = ctx
        .exec(
            &id,
            &["sh", "-c", "echo 1; echo 2 >&2; echo 3; echo 4 >&2"],
            5,
        )
        .await;
    let response = ctx.expect_ok("ExecSync", exec)?;
    ctx.expect_eq(
        "stdout, stderr, exit_code",
        texts(&response),
        ("1\n3\n".into(), "2\n4\n".into(), 0),
    )
}

async fn nonexistent_command_fails_to_start_with_the_exec_id(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "nocmd").await?;
    let exec = ctx.exec(&id, &["nonexistent-cmd"], 5).await;
    ctx.expect_error(
        "ExecSync nonexistent-cmd",
        mask_quoted_ids(exec),
        Code::Unknown,
        &exec_start_error(
            ctx,
            "unable to start container process: exec: \"nonexistent-cmd\": executable file not found in $PATH",
        ),
    )
}

async fn nonexistent_absolute_path_fails_with_no_such_file(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "nopath").await?;
    let exec = ctx.exec(&id, &["/no/such"], 5).await;
    ctx.expect_error(
        "ExecSync /no/such",
        mask_quoted_ids(exec),
        Code::Unknown,
        &exec_start_error(
            ctx,
            "unable to start container process: exec: \"/no/such\": stat /no/such: no such file or directory",
        ),
    )
}

async fn non_executable_file_fails_with_permission_denied(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "noexec").await?;
    let exec = ctx.exec(&id, &["/etc/passwd"], 5).await;
    ctx.expect_error(
        "ExecSync /etc/passwd",
        mask_quoted_ids(exec),
        Code::Unknown,
        &exec_start_error(
            ctx,
            "unable to start container process: exec: \"/etc/passwd\": permission denied",
        ),
    )
}

async fn empty_command_fails_with_args_must_not_be_empty(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "emptycmd").await?;
    let exec = ctx.exec(&id, &[], 5).await;
    ctx.expect_error(
        "ExecSync []",
        mask_quoted_ids(exec),
        Code::Unknown,
        &exec_start_error(ctx, "args must not be empty"),
    )
}

async fn empty_string_command_is_not_found_in_path(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "emptystr").await?;
    let exec = ctx.exec(&id, &[""], 5).await;
    ctx.expect_error(
        "ExecSync [\"\"]",
        mask_quoted_ids(exec),
        Code::Unknown,
        &exec_start_error(
            ctx,
            "unable to start container process: exec: \"\": executable file not found in $PATH",
        ),
    )
}

async fn exec_in_a_created_container_names_its_state(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("execcreated").await?;
    let container = ctx.container_config("main", SLEEP_FOREVER);
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let exec = ctx.exec(&id, &["true"], 5).await;
    ctx.expect_error(
        "ExecSync on CREATED",
        exec,
        Code::Unknown,
        "failed to exec in container: container is in CONTAINER_CREATED state",
    )
}

async fn exec_in_an_exited_container_names_its_state(ctx: &mut Ctx) -> CheckResult {
    let (_, id) = ctx.running("execexited", &["true"]).await?;
    ctx.wait_state(&id, ContainerState::ContainerExited).await?;
    let exec = ctx.exec(&id, &["true"], 5).await;
    ctx.expect_error(
        "ExecSync on EXITED",
        exec,
        Code::Unknown,
        "failed to exec in container: container is in CONTAINER_EXITED state",
    )
}

async fn exec_in_a_nonexistent_container_is_not_found(ctx: &mut Ctx) -> CheckResult {
    let id = "f".repeat(64);
    let exec = ctx.exec(&id, &["true"], 5).await;
    ctx.expect_error(
        "ExecSync on a nonexistent id",
        exec,
        Code::NotFound,
        &format!(
            "failed to exec in container: failed to find container \"{id}\" in store: not found"
        ),
    )
}

async fn exec_with_an_empty_id_says_prefix_cant_be_empty(ctx: &mut Ctx) -> CheckResult {
    let exec = ctx.exec("", &["true"], 5).await;
    let text = format!(
        "failed to exec in container: failed to find container \"\" in store: {}",
        empty_prefix(ctx)
    );
    ctx.expect_error("ExecSync on \"\"", exec, Code::Unknown, &text)
}
