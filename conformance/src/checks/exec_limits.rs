//! ExecSync output caps, the 16 MiB send limit, timeouts and the IO drain (reference §6).
//!
//! Large outputs are recorded as lengths, never as bytes.

use std::time::{Duration, Instant};

use cri_proto::v1::*;
use tonic::{Code, Status};

use super::SLEEP_FOREVER;
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::Ctx;

pub(super) fn checks() -> Vec<Check> {
    checks![Area::ExecLimits =>
        largest_ok_stdout_is_16777211_bytes,
        stdout_of_16777212_bytes_exceeds_the_send_limit_by_one,
        a_non_zero_exit_code_costs_two_bytes_of_the_limit,
        stdout_around_16_mib_is_capped_and_exceeds_the_send_limit,
        stderr_around_16_mib_is_capped_and_exceeds_the_send_limit,
        two_streams_of_10_mib_share_the_one_limit,
        two_streams_of_8_mib_exceed_the_limit_by_ten,
        two_streams_of_8_mib_minus_8_fit,
        timeout_kills_the_exec_with_deadline_exceeded,
        timeout_discards_partial_output,
        timeout_kills_a_term_ignoring_exec,
        timeouts_not_positive_as_go_durations_mean_no_timeout,
        background_child_holding_stdout_delays_the_answer_past_the_timeout,
        background_child_with_redirected_output_does_not_delay_the_answer,
    ]
}

const MIB: usize = 1 << 20;

/// The send-limit error text for an encoded response of `size` bytes.
fn too_large(size: usize) -> String {
    format!("grpc: trying to send message larger than max ({size} vs. 16777216)")
}

/// A running `sleep` container for execs.
async fn target(ctx: &mut Ctx, base: &str) -> Result<String, Failure> {
    let (_, id) = ctx.running(base, SLEEP_FOREVER).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    Ok(id)
}

/// `sh -c <script>` with timeout 10 (containerd needs under a second for 20 MB).
async fn sh(ctx: &mut Ctx, id: &str, script: &str) -> Result<ExecSyncResponse, Status> {
    ctx.exec(id, &["sh", "-c", script], 10).await
}

/// Expects a successful exec whose stdout is `stdout_len` zero bytes, stderr
/// `stderr_len` zero bytes and exit code `exit_code`; records the lengths.
fn expect_zeros(
    ctx: &mut Ctx,
    key: &str,
    result: Result<ExecSyncResponse, Status>,
    lengths: (usize, usize, i32),
) -> CheckResult {
    let response = ctx.expect_ok(key, result)?;
    let observed = (
        response.stdout.len(),
        response.stderr.len(),
        response.exit_code,
    );
    ctx.expect_eq(
        &format!("{key}: stdout len, stderr len, exit_code"),
        observed,
        lengths,
    )?;
    let zeros = response
        .stdout
        .iter()
        .chain(response.stderr.iter())
        .all(|b| *b == 0);
    ctx.expect_eq(&format!("{key}: all bytes are zero"), zeros, true)
}

async fn largest_ok_stdout_is_16777211_bytes(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "largest").await?;
    let exec = ctx
        .exec(&id, &["head", "-c", "16777211", "/dev/zero"], 10)
        .await;
    expect_zeros(ctx, "ExecSync 16777211 bytes", exec, (16_777_211, 0, 0))
}

async fn stdout_of_16777212_bytes_exceeds_the_send_limit_by_one(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "overbyone").await?;
    let exec = ctx
        .exec(&id, &["head", "-c", "16777212", "/dev/zero"], 10)
        .await;
    ctx.expect_error(
        "ExecSync 16777212 bytes",
        exec,
        Code::ResourceExhausted,
        &too_large(16_777_217),
    )
}

async fn a_non_zero_exit_code_costs_two_bytes_of_the_limit(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "exitcost").await?;
    let exec = sh(ctx, &id, "head -c 16777209 /dev/zero; exit 1").await;
    expect_zeros(
        ctx,
        "ExecSync 16777209 bytes, exit 1",
        exec,
        (16_777_209, 0, 1),
    )?;
    let exec = sh(ctx, &id, "head -c 16777211 /dev/zero; exit 1").await;
    ctx.expect_error(
        "ExecSync 16777211 bytes, exit 1",
        exec,
        Code::ResourceExhausted,
        &too_large(16_777_218),
    )
}

async fn stdout_around_16_mib_is_capped_and_exceeds_the_send_limit(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "stdout16").await?;
    for (bytes, size) in [
        (16 * MIB - 1, 16_777_220),
        (16 * MIB, 16_777_221),
        (16 * MIB + 1, 16_777_221),
        (20_000_000, 16_777_221),
    ] {
        let count = bytes.to_string();
        let exec = ctx
            .exec(&id, &["head", "-c", &count, "/dev/zero"], 10)
            .await;
        ctx.expect_error(
            &format!("ExecSync stdout {bytes} bytes"),
            exec,
            Code::ResourceExhausted,
            &too_large(size),
        )?;
    }
    Ok(())
}

async fn stderr_around_16_mib_is_capped_and_exceeds_the_send_limit(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "stderr16").await?;
    for (bytes, size) in [
        (16 * MIB - 1, 16_777_220),
        (16 * MIB, 16_777_221),
        (16 * MIB + 1, 16_777_221),
        (20_000_000, 16_777_221),
    ] {
        let exec = sh(ctx, &id, &format!("head -c {bytes} /dev/zero >&2")).await;
        ctx.expect_error(
            &format!("ExecSync stderr {bytes} bytes"),
            exec,
            Code::ResourceExhausted,
            &too_large(size),
        )?;
    }
    Ok(())
}

async fn two_streams_of_10_mib_share_the_one_limit(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "both10").await?;
    let exec = sh(
        ctx,
        &id,
        "head -c 10485760 /dev/zero; head -c 10485760 /dev/zero >&2",
    )
    .await;
    ctx.expect_error(
        "ExecSync 10 MiB + 10 MiB",
        exec,
        Code::ResourceExhausted,
        &too_large(20_971_530),
    )
}

async fn two_streams_of_8_mib_exceed_the_limit_by_ten(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "both8").await?;
    let exec = sh(
        ctx,
        &id,
        "head -c 8388608 /dev/zero; head -c 8388608 /dev/zero >&2",
    )
    .await;
    ctx.expect_error(
        "ExecSync 8 MiB + 8 MiB",
        exec,
        Code::ResourceExhausted,
        &too_large(16_777_226),
    )
}

async fn two_streams_of_8_mib_minus_8_fit(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "both8m8").await?;
    let exec = sh(
        ctx,
        &id,
        "head -c 8388600 /dev/zero; head -c 8388600 /dev/zero >&2",
    )
    .await;
    expect_zeros(
        ctx,
        "ExecSync 8 MiB - 8 twice",
        exec,
        (8_388_600, 8_388_600, 0),
    )
}

async fn timeout_kills_the_exec_with_deadline_exceeded(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "timeout").await?;
    let started = Instant::now();
    let exec = ctx.exec(&id, &["sleep", "30"], 1).await;
    let took = started.elapsed();
    ctx.expect_error(
        "ExecSync sleep 30, timeout 1",
        exec,
        Code::DeadlineExceeded,
        "failed to exec in container: timeout 1s exceeded: context deadline exceeded",
    )?;
    ctx.expect_eq(
        "waited the 1 s timeout (>= 0.9 s)",
        took >= Duration::from_millis(900),
        true,
    )
}

async fn timeout_discards_partial_output(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "partial").await?;
    let exec = ctx
        .exec(&id, &["sh", "-c", "echo partial; sleep 30"], 1)
        .await;
    ctx.expect_error(
        "ExecSync echo partial; sleep 30, timeout 1",
        exec,
        Code::DeadlineExceeded,
        "failed to exec in container: timeout 1s exceeded: context deadline exceeded",
    )
}

async fn timeout_kills_a_term_ignoring_exec(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "termexec").await?;
    let exec = ctx
        .exec(&id, &["sh", "-c", "trap '' TERM; sleep 33"], 1)
        .await;
    ctx.expect_error(
        "ExecSync TERM-ignoring, timeout 1",
        exec,
        Code::DeadlineExceeded,
        "failed to exec in container: timeout 1s exceeded: context deadline exceeded",
    )
}

async fn timeouts_not_positive_as_go_durations_mean_no_timeout(ctx: &mut Ctx) -> CheckResult {
    let id = target(ctx, "notimeout").await?;
    // `time.Duration(t) * time.Second` wraps: i64::MAX is -1 s, i64::MIN is 0.
    for timeout in [0, -1, i64::MIN, i64::MAX] {
        let started = Instant::now();
        let exec = ctx
            .exec(&id, &["sh", "-c", "sleep 1; echo done"], timeout)
            .await;
        let took = started.elapsed();
        let response = ctx.expect_ok(&format!("ExecSync sleep 1, timeout {timeout}"), exec)?;
        ctx.expect_eq(
            &format!("timeout {timeout}: stdout"),
            response.stdout.as_slice(),
            b"done\n".as_slice(),
        )?;
        ctx.expect_eq(
            &format!("timeout {timeout}: the sleep ran (>= 0.9 s)"),
            took >= Duration::from_millis(900),
            true,
        )?;
    }
    Ok(())
}

async fn background_child_holding_stdout_delays_the_answer_past_the_timeout(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = target(ctx, "drain").await?;
    let started = Instant::now();
    let exec = ctx.exec(&id, &["sh", "-c", "sleep 2 & echo bg"], 1).await;
    let took = started.elapsed();
    let response = ctx.expect_ok("ExecSync sleep 2 & echo bg, timeout 1", exec)?;
    ctx.expect_eq(
        "stdout, exit_code",
        (response.stdout.as_slice(), response.exit_code),
        (b"bg\n".as_slice(), 0),
    )?;
    ctx.expect_eq(
        "waited for the child (>= 1.9 s)",
        took >= Duration::from_millis(1900),
        true,
    )
}

async fn background_child_with_redirected_output_does_not_delay_the_answer(
    ctx: &mut Ctx,
) -> CheckResult {
    let id = target(ctx, "nodrain").await?;
    let started = Instant::now();
    let exec = ctx
        .exec(&id, &["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo bg"], 5)
        .await;
    let took = started.elapsed();
    let response = ctx.expect_ok("ExecSync sleep 30 >/dev/null 2>&1 & echo bg", exec)?;
    ctx.expect_eq(
        "stdout, exit_code",
        (response.stdout.as_slice(), response.exit_code),
        (b"bg\n".as_slice(), 0),
    )?;
    // Loose: waiting for the child would take 30 s.
    ctx.expect_eq(
        "did not wait for the child (< 15 s)",
        took < Duration::from_secs(15),
        true,
    )
}
