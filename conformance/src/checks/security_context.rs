//! Security contexts: the capability set, what it allows, and read-only paths
//! (reference: runc's defaults as containerd configures them).

use cri_proto::v1::*;

use super::{SLEEP_FOREVER, texts};
use crate::check::{Area, Check, CheckResult, Failure};
use crate::checks;
use crate::ctx::Ctx;

pub(super) fn checks() -> Vec<Check> {
    checks![Area::SecurityContext =>
        the_default_capability_set_is_runcs_and_drop_all_empties_it,
        sethostname_without_sys_admin_is_not_permitted,
        a_readonly_path_refuses_writes_with_erofs,
        ping_needs_net_raw,
        a_masked_file_reads_empty,
    ]
}

/// A running `sleep` container with `security` as its security context.
async fn running_with(
    ctx: &mut Ctx,
    base: &str,
    security: LinuxContainerSecurityContext,
) -> Result<String, Failure> {
    let (pod, pod_config) = ctx.pod(base).await?;
    let mut config = ctx.container_config("main", SLEEP_FOREVER);
    config
        .linux
        .get_or_insert_with(Default::default)
        .security_context = Some(security);
    let id = ctx.create_and_start(&pod, &pod_config, config).await?;
    ctx.wait_state(&id, ContainerState::ContainerRunning)
        .await?;
    Ok(id)
}

/// `(stdout, stderr, exit_code)` of `cmd` in `id`, as text.
async fn run(ctx: &mut Ctx, id: &str, cmd: &[&str]) -> Result<(String, String, i32), Failure> {
    let exec = ctx.exec(id, cmd, 5).await;
    Ok(texts(&ctx.expect_ok("ExecSync", exec)?))
}

async fn the_default_capability_set_is_runcs_and_drop_all_empties_it(ctx: &mut Ctx) -> CheckResult {
    let grep = ["grep", "-E", "^Cap(Prm|Eff|Bnd)", "/proc/self/status"];
    let default = running_with(ctx, "caps", LinuxContainerSecurityContext::default()).await?;
    let observed = run(ctx, &default, &grep).await?;
    ctx.expect_eq(
        "default capabilities",
        observed,
        (
            "CapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n"
                .into(),
            String::new(),
            0,
        ),
    )?;
    let none = running_with(
        ctx,
        "nocaps",
        LinuxContainerSecurityContext {
            capabilities: Some(Capability {
                drop_capabilities: vec!["ALL".into()],
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await?;
    let observed = run(ctx, &none, &grep).await?;
    ctx.expect_eq(
        "capabilities with ALL dropped",
        observed,
        (
            "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
                .into(),
            String::new(),
            0,
        ),
    )
}

async fn sethostname_without_sys_admin_is_not_permitted(ctx: &mut Ctx) -> CheckResult {
    let id = running_with(ctx, "hostname", LinuxContainerSecurityContext::default()).await?;
    let observed = run(ctx, &id, &["hostname", "renamed"]).await?;
    ctx.expect_eq(
        "hostname renamed",
        observed,
        (
            String::new(),
            "hostname: sethostname: Operation not permitted\n".into(),
            1,
        ),
    )
}

async fn a_readonly_path_refuses_writes_with_erofs(ctx: &mut Ctx) -> CheckResult {
    let id = running_with(
        ctx,
        "readonly",
        LinuxContainerSecurityContext {
            readonly_paths: vec!["/etc".into()],
            ..Default::default()
        },
    )
    .await?;
    let observed = run(ctx, &id, &["touch", "/etc/probe"]).await?;
    ctx.expect_eq(
        "touch /etc/probe",
        observed,
        (
            String::new(),
            "touch: /etc/probe: Read-only file system\n".into(),
            1,
        ),
    )?;
    // Elsewhere the container stays writable.
    let observed = run(ctx, &id, &["touch", "/probe"]).await?;
    ctx.expect_eq("touch /probe", observed, (String::new(), String::new(), 0))
}

async fn ping_needs_net_raw(ctx: &mut Ctx) -> CheckResult {
    let ping = ["ping", "-c", "1", "127.0.0.1"];
    let default = running_with(ctx, "ping", LinuxContainerSecurityContext::default()).await?;
    let (stdout, stderr, code) = run(ctx, &default, &ping).await?;
    let first_line = stdout.lines().next().unwrap_or_default().to_owned();
    ctx.expect_eq(
        "ping with NET_RAW: first line, stderr, exit code",
        (first_line, stderr, code),
        (
            "PING 127.0.0.1 (127.0.0.1): 56 data bytes".into(),
            String::new(),
            0,
        ),
    )?;
    let without = running_with(
        ctx,
        "noraw",
        LinuxContainerSecurityContext {
            capabilities: Some(Capability {
                drop_capabilities: vec!["NET_RAW".into()],
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await?;
    let observed = run(ctx, &without, &ping).await?;
    ctx.expect_eq(
        "ping without NET_RAW",
        observed,
        (
            "PING 127.0.0.1 (127.0.0.1): 56 data bytes\n".into(),
            "ping: permission denied (are you root?)\n".into(),
            1,
        ),
    )
}

async fn a_masked_file_reads_empty(ctx: &mut Ctx) -> CheckResult {
    let id = running_with(
        ctx,
        "masked",
        LinuxContainerSecurityContext {
            masked_paths: vec!["/etc/passwd".into()],
            ..Default::default()
        },
    )
    .await?;
    let observed = run(ctx, &id, &["cat", "/etc/passwd"]).await?;
    ctx.expect_eq(
        "cat /etc/passwd",
        observed,
        (String::new(), String::new(), 0),
    )
}
