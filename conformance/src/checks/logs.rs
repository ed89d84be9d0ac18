//! CRI container log files and ReopenContainerLog (reference §7).
//!
//! Log lines are compared without their timestamps, except where the timestamp format
//! itself is the subject.

use std::path::PathBuf;
use std::sync::OnceLock;

use cri_proto::v1::*;
use regex::Regex;
use tonic::Code;

use super::{LogLine, SLEEP_FOREVER, empty_prefix, read_log};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::{Ctx, unexpected};

pub(super) fn checks() -> Vec<Check> {
    checks![Area::Logs =>
        echo_writes_one_full_stdout_line,
        log_timestamp_is_rfc3339_nano_with_trailing_zeros_trimmed_in_utc,
        stderr_lines_are_tagged_stderr,
        empty_line_is_logged_with_empty_content,
        crlf_is_stripped_and_tab_is_kept,
        line_of_40000_chars_is_split_into_16384_byte_partial_chunks,
        line_of_exactly_16384_chars_is_one_full_line,
        line_of_16385_chars_is_one_partial_chunk_and_one_char,
        long_stderr_line_is_split_the_same_way,
        unterminated_output_is_flushed_as_one_partial_line_at_exit,
        unterminated_output_is_not_written_while_the_container_runs,
        tty_output_is_all_stdout_with_crlf_stripped,
        nested_log_directories_are_created_at_start,
        log_file_is_kept_after_remove_pod_sandbox,
        reopen_container_log_on_a_running_container_keeps_appending,
        reopen_container_log_on_exited_or_created_says_not_running,
        reopen_container_log_nonexistent_and_empty_ids,
        exec_output_is_not_written_to_the_container_log,
    ]
}

/// Starts `command` in a new pod, logging to `log_path`; waits until it exited when
/// `wait_exit`. Returns (pod, container id, log file).
async fn logged(
    ctx: &mut Ctx,
    base: &str,
    log_path: &str,
    command: &[&str],
    tty: bool,
    wait_exit: bool,
) -> Result<(String, String, PathBuf), Failure> {
    let (pod, config) = ctx.pod(base).await?;
    let mut container = ctx.container_config("main", command);
    container.log_path = log_path.into();
    container.tty = tty;
    let id = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let start = ctx.start(&id).await;
    ctx.expect_ok("StartContainer", start)?;
    if wait_exit {
        ctx.wait_state(&id, ContainerState::ContainerExited).await?;
    }
    Ok((pod, id, ctx.log_path(log_path)))
}

/// The log lines of a container that ran `script` under `sh -c` and exited, waiting
/// for at least `lines` of them.
async fn lines_of(
    ctx: &mut Ctx,
    base: &str,
    script: &str,
    lines: usize,
) -> Result<Vec<LogLine>, Failure> {
    let (_, _, path) = logged(ctx, base, "main.log", &["sh", "-c", script], false, true).await?;
    Ok(read_log(&path, lines).await)
}

fn parts(lines: &[LogLine]) -> Vec<(String, String, String)> {
    lines.iter().map(LogLine::parts).collect()
}

fn shapes(lines: &[LogLine]) -> Vec<(String, String, usize)> {
    lines.iter().map(LogLine::shape).collect()
}

fn part(stream: &str, tag: &str, content: &str) -> (String, String, String) {
    (stream.into(), tag.into(), content.into())
}

fn shape(stream: &str, tag: &str, len: usize) -> (String, String, usize) {
    (stream.into(), tag.into(), len)
}

/// A script printing one line of `n` `x` characters to stdout (`>&2`: stderr).
fn long_line(n: usize, redirect: &str) -> String {
    format!("echo {} {redirect}", "x".repeat(n))
}

/// Whether every line's content is made of `x` only.
fn all_x(lines: &[LogLine]) -> bool {
    lines.iter().all(|l| l.content.bytes().all(|b| b == b'x'))
}

async fn echo_writes_one_full_stdout_line(ctx: &mut Ctx) -> CheckResult {
    let lines = lines_of(ctx, "echo", "echo hi", 1).await?;
    ctx.expect_eq("log lines", parts(&lines), vec![part("stdout", "F", "hi")])
}

async fn log_timestamp_is_rfc3339_nano_with_trailing_zeros_trimmed_in_utc(
    ctx: &mut Ctx,
) -> CheckResult {
    static RFC3339_NANO: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RFC3339_NANO
        .get_or_init(|| Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$").ok());
    let Some(re) = re else {
        return Err(Failure::Mismatch(
            "the timestamp pattern does not compile".into(),
        ));
    };
    let lines = lines_of(
        ctx,
        "timestamp",
        "for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; done",
        10,
    )
    .await?;
    ctx.expect_eq("lines", lines.len(), 10)?;
    let bad: Vec<&str> = lines
        .iter()
        .map(|l| l.time.as_str())
        .filter(|t| !re.is_match(t))
        .collect();
    ctx.expect_eq(
        "timestamps not in trimmed RFC3339Nano UTC",
        bad,
        Vec::<&str>::new(),
    )
}

async fn stderr_lines_are_tagged_stderr(ctx: &mut Ctx) -> CheckResult {
    let lines = lines_of(ctx, "stderr", "echo err >&2", 1).await?;
    ctx.expect_eq("log lines", parts(&lines), vec![part("stderr", "F", "err")])
}

async fn empty_line_is_logged_with_empty_content(ctx: &mut Ctx) -> CheckResult {
    let (_, _, path) = logged(ctx, "emptyline", "main.log", &["echo"], false, true).await?;
    let lines = read_log(&path, 1).await;
    ctx.expect_eq("log lines", parts(&lines), vec![part("stdout", "F", "")])?;
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    ctx.expect_eq(
        "the line ends in \"stdout F \\n\"",
        text.ends_with(" stdout F \n"),
        true,
    )
}

async fn crlf_is_stripped_and_tab_is_kept(ctx: &mut Ctx) -> CheckResult {
    let lines = lines_of(ctx, "crlf", "printf 'a\\r\\n'; printf 'tab\\there\\n'", 2).await?;
    ctx.expect_eq(
        "log lines",
        parts(&lines),
        vec![part("stdout", "F", "a"), part("stdout", "F", "tab\there")],
    )
}

async fn line_of_40000_chars_is_split_into_16384_byte_partial_chunks(ctx: &mut Ctx) -> CheckResult {
    let lines = lines_of(ctx, "long", &long_line(40_000, ""), 3).await?;
    ctx.expect_eq(
        "log lines (stream, tag, length)",
        shapes(&lines),
        vec![
            shape("stdout", "P", 16384),
            shape("stdout", "P", 16384),
            shape("stdout", "F", 7232),
        ],
    )?;
    ctx.expect_eq("content is the line's characters", all_x(&lines), true)
}

async fn line_of_exactly_16384_chars_is_one_full_line(ctx: &mut Ctx) -> CheckResult {
    let lines = lines_of(ctx, "exact", &long_line(16_384, ""), 1).await?;
    ctx.expect_eq(
        "log lines (stream, tag, length)",
        shapes(&lines),
        vec![shape("stdout", "F", 16384)],
    )?;
    ctx.expect_eq("content is the line's characters", all_x(&lines), true)
}

async fn line_of_16385_chars_is_one_partial_chunk_and_one_char(ctx: &mut Ctx) -> CheckResult {
    let lines = lines_of(ctx, "overone", &long_line(16_385, ""), 2).await?;
    ctx.expect_eq(
        "log lines (stream, tag, length)",
        shapes(&lines),
        vec![shape("stdout", "P", 16384), shape("stdout", "F", 1)],
    )?;
    ctx.expect_eq("content is the line's characters", all_x(&lines), true)
}

async fn long_stderr_line_is_split_the_same_way(ctx: &mut Ctx) -> CheckResult {
    let lines = lines_of(ctx, "longerr", &long_line(20_000, ">&2"), 2).await?;
    ctx.expect_eq(
        "log lines (stream, tag, length)",
        shapes(&lines),
        vec![shape("stderr", "P", 16384), shape("stderr", "F", 3616)],
    )
}

async fn unterminated_output_is_flushed_as_one_partial_line_at_exit(ctx: &mut Ctx) -> CheckResult {
    let lines = lines_of(ctx, "nonl", "printf nonl; sleep 1; printf more", 1).await?;
    ctx.expect_eq(
        "log lines",
        parts(&lines),
        vec![part("stdout", "P", "nonlmore")],
    )
}

async fn unterminated_output_is_not_written_while_the_container_runs(ctx: &mut Ctx) -> CheckResult {
    let script = "printf nonl; touch /tmp/printed; sleep 100000";
    let (_, id, path) = logged(
        ctx,
        "nonlrun",
        "main.log",
        &["sh", "-c", script],
        false,
        false,
    )
    .await?;
    // The marker file exists once the partial line has been written to the runtime.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let probe = ctx.exec_ok(&id, &["test", "-f", "/tmp/printed"], 5).await?;
        if probe.exit_code == 0 {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Failure::Mismatch(
                "the container never printed its partial line".into(),
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).ok();
    ctx.expect_eq("log file size while running", size, Some(0))?;
    let stop = ctx.stop(&id, 0).await;
    ctx.expect_ok("StopContainer", stop)?;
    let lines = read_log(&path, 1).await;
    ctx.expect_eq(
        "log lines after the kill",
        parts(&lines),
        vec![part("stdout", "P", "nonl")],
    )
}

async fn tty_output_is_all_stdout_with_crlf_stripped(ctx: &mut Ctx) -> CheckResult {
    let command = ["sh", "-c", "echo ttyout; echo ttyerr >&2"];
    let (_, _, path) = logged(ctx, "tty", "main.log", &command, true, true).await?;
    let lines = read_log(&path, 2).await;
    ctx.expect_eq(
        "log lines",
        parts(&lines),
        vec![part("stdout", "F", "ttyout"), part("stdout", "F", "ttyerr")],
    )
}

async fn nested_log_directories_are_created_at_start(ctx: &mut Ctx) -> CheckResult {
    let (_, _, path) = logged(
        ctx,
        "nested",
        "sub/dir/y.log",
        &["echo", "nested"],
        false,
        true,
    )
    .await?;
    let lines = read_log(&path, 1).await;
    ctx.expect_eq(
        "log lines in sub/dir/y.log",
        parts(&lines),
        vec![part("stdout", "F", "nested")],
    )
}

async fn log_file_is_kept_after_remove_pod_sandbox(ctx: &mut Ctx) -> CheckResult {
    let (pod, _, path) = logged(ctx, "kept", "main.log", &["echo", "kept"], false, true).await?;
    read_log(&path, 1).await;
    let stop = ctx.stop_pod(&pod).await;
    ctx.expect_ok("StopPodSandbox", stop)?;
    let remove = ctx.remove_pod(&pod).await;
    ctx.expect_ok("RemovePodSandbox", remove)?;
    let lines = read_log(&path, 1).await;
    ctx.expect_eq(
        "log lines after RemovePodSandbox",
        parts(&lines),
        vec![part("stdout", "F", "kept")],
    )
}

async fn reopen_container_log_on_a_running_container_keeps_appending(ctx: &mut Ctx) -> CheckResult {
    let script = "echo before; while [ ! -f /tmp/go ]; do sleep 1; done; echo after; sleep 100000";
    let (_, id, path) = logged(
        ctx,
        "reopen",
        "main.log",
        &["sh", "-c", script],
        false,
        false,
    )
    .await?;
    read_log(&path, 1).await;
    let reopen = ctx.reopen_log(&id).await;
    ctx.expect_ok("ReopenContainerLog", reopen)?;
    ctx.exec_ok(&id, &["touch", "/tmp/go"], 5).await?;
    let lines = read_log(&path, 2).await;
    ctx.expect_eq(
        "log lines",
        parts(&lines),
        vec![part("stdout", "F", "before"), part("stdout", "F", "after")],
    )
}

async fn reopen_container_log_on_exited_or_created_says_not_running(ctx: &mut Ctx) -> CheckResult {
    let (pod, config) = ctx.pod("reopennotrunning").await?;
    let mut container = ctx.container_config("exited", &["true"]);
    container.log_path = "exited.log".into();
    let exited = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let start = ctx.start(&exited).await;
    ctx.expect_ok("StartContainer", start)?;
    ctx.wait_state(&exited, ContainerState::ContainerExited)
        .await?;
    let reopen = ctx.reopen_log(&exited).await;
    ctx.expect_error(
        "ReopenContainerLog on EXITED",
        reopen,
        Code::Unknown,
        "container is not running",
    )?;
    let mut container = ctx.container_config("created", SLEEP_FOREVER);
    container.log_path = "created.log".into();
    let created = ctx
        .create(&pod, &config, container)
        .await
        .map_err(|s| unexpected("CreateContainer", &s))?;
    let reopen = ctx.reopen_log(&created).await;
    ctx.expect_error(
        "ReopenContainerLog on CREATED",
        reopen,
        Code::Unknown,
        "container is not running",
    )
}

async fn reopen_container_log_nonexistent_and_empty_ids(ctx: &mut Ctx) -> CheckResult {
    let id = "f".repeat(64);
    let reopen = ctx.reopen_log(&id).await;
    ctx.expect_error(
        "ReopenContainerLog nonexistent",
        reopen,
        Code::NotFound,
        &format!("an error occurred when try to find container \"{id}\": not found"),
    )?;
    let reopen = ctx.reopen_log("").await;
    let text = format!(
        "an error occurred when try to find container \"\": {}",
        empty_prefix(ctx)
    );
    ctx.expect_error("ReopenContainerLog \"\"", reopen, Code::Unknown, &text)
}

async fn exec_output_is_not_written_to_the_container_log(ctx: &mut Ctx) -> CheckResult {
    let (_, id, path) = logged(ctx, "execlog", "main.log", SLEEP_FOREVER, false, false).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    let exec = ctx
        .exec(&id, &["sh", "-c", "echo fromexec; echo fromexec >&2"], 5)
        .await;
    ctx.expect_ok("ExecSync", exec)?;
    let size = std::fs::metadata(&path).map(|m| m.len()).ok();
    ctx.expect_eq("log file size", size, Some(0))
}
