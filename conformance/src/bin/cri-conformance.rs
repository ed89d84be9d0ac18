//! `cri-conformance`: the conformance suite's command-line entry point.
//!
//! Subcommands:
//!
//! * `run [--endpoint URI] [--profile P] [--only PATTERN] [--format table|json]
//!   [--can-pull]`: runs the checks against a runtime (default: an in-process fake), one
//!   line per check and a closing `N passed, M failed, K skipped` line; exits 1 if any
//!   check failed.
//! * `compare A B [--profile P] [--only PATTERN] [--format text|json] [--can-pull]`: runs
//!   the checks on two runtimes (`fake` names an in-process fake) and reports every
//!   observable difference; exits 1 if a check failed on A or a difference is not a
//!   documented deviation.
//! * `build-images [--busybox PATH] --out DIR`: writes the busybox and sandbox test images
//!   as OCI archives (`busybox.tar`, `pause.tar`) for `ctr images import`, and prints one
//!   line per image: `<archive path>\t<reference>\t<image id>\t<size>`.
//!
//! `--profile containerd-2.3|containerd-1.6` says which containerd release a target is,
//! and so which of the releases' answers the checks expect. Without it, a real endpoint's
//! release is detected from its `Version.runtime_version` (`1.6…` is containerd-1.6,
//! `2.…`/`v2.…` containerd-2.3; anything else is an error asking for `--profile`). A fake
//! imitates the release of the real endpoint it is compared with (detected or given);
//! alone or compared with another fake it imitates the `--profile` release, by default
//! containerd-2.3. The release each target was taken for is printed on stderr and in the
//! report.

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use cri_conformance::ctx::{DetectError, detect_profile};
use cri_conformance::{Target, oci, runner};
use cri_fake::Profile;

const USAGE: &str = "usage: cri-conformance <subcommand> [options]

subcommands:
  run [--endpoint URI] [--profile P] [--only PATTERN] [--format table|json] [--can-pull]
      Run the checks against the runtime at URI (unix:///path, /path, tcp://host:port;
      default: an in-process fake). PATTERN selects checks whose area::name contains it.
      --can-pull runs the checks that need a reachable registry.
  compare A B [--profile P] [--only PATTERN] [--format text|json] [--can-pull]
      Run the checks on endpoints A and B (either may be `fake`) and report every
      observable difference; documented deviations are listed but do not fail.
      A fake imitates the release of the real endpoint it is compared with.
  build-images [--busybox PATH] --out DIR
      Write the busybox and sandbox test images as OCI archives into DIR.
      PATH is a statically linked busybox (default /bin/busybox).

options of run and compare:
  --profile containerd-2.3|containerd-1.6
      The containerd release the targets are, whose answers the checks expect where
      the releases differ. Default: detected from a real endpoint's
      Version.runtime_version (1.6... is containerd-1.6, 2.x and v2.x are
      containerd-2.3; any other version is an error asking for --profile); a fake with
      no real endpoint to follow imitates containerd-2.3.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((subcommand, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match subcommand.as_str() {
        "build-images" => build_images(rest),
        "run" => block_on(run(rest)),
        "compare" => block_on(compare(rest)),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(CliError::Usage(format!("unknown subcommand {other:?}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(message)) => {
            eprintln!("cri-conformance: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(CliError::Failed(message)) => {
            eprintln!("cri-conformance: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Why a subcommand did not succeed: bad arguments (exit 2) or a failure while working (1).
enum CliError {
    Usage(String),
    Failed(String),
}

/// `build-images [--busybox PATH] --out DIR`.
fn build_images(args: &[String]) -> Result<(), CliError> {
    let mut busybox = PathBuf::from(oci::DEFAULT_BUSYBOX);
    let mut out: Option<PathBuf> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))
        };
        match flag {
            "--busybox" => busybox = PathBuf::from(value()?),
            "--out" => out = Some(PathBuf::from(value()?)),
            other => {
                return Err(CliError::Usage(format!(
                    "build-images: unknown argument {other:?}"
                )));
            }
        }
    }
    let out = out.ok_or_else(|| CliError::Usage("build-images: --out DIR is required".into()))?;
    let written = oci::write_test_images(&busybox, &out)
        .map_err(|e| CliError::Failed(format!("build-images: {e}")))?;
    for image in written {
        println!(
            "{}\t{}\t{}\t{}",
            image.path.display(),
            image.image.reference,
            image.image.id(),
            image.image.size()
        );
    }
    Ok(())
}

fn block_on(
    future: impl std::future::Future<Output = Result<(), CliError>>,
) -> Result<(), CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?
        .block_on(future)
}

/// Options shared by `run` and `compare`.
#[derive(Default)]
struct SuiteOptions {
    endpoints: Vec<String>,
    only: Option<String>,
    format: Option<String>,
    can_pull: bool,
    profile: Option<Profile>,
}

fn parse_suite_options(
    args: &[String],
    command: &str,
    endpoint_flag: bool,
) -> Result<SuiteOptions, CliError> {
    let mut options = SuiteOptions::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| CliError::Usage(format!("{command}: {flag} needs a value")))
        };
        match flag {
            "--endpoint" if endpoint_flag => options.endpoints.push(value()?),
            "--only" => options.only = Some(value()?),
            "--format" => options.format = Some(value()?),
            "--can-pull" => options.can_pull = true,
            "--profile" => {
                let name = value()?;
                let profile = Profile::parse(&name).ok_or_else(|| {
                    CliError::Usage(format!(
                        "{command}: --profile must be containerd-2.3 or containerd-1.6, not {name:?}"
                    ))
                })?;
                options.profile = Some(profile);
            }
            other if !other.starts_with("--") && !endpoint_flag => {
                options.endpoints.push(other.to_owned())
            }
            other => {
                return Err(CliError::Usage(format!(
                    "{command}: unknown argument {other:?}"
                )));
            }
        }
    }
    Ok(options)
}

/// A connected target: the client, its description, and the fake behind it if any.
struct Connected {
    client: cri_client::Client,
    target: Target,
    _fake: Option<cri_fake::FakeRuntime>,
}

/// Whether `endpoint` names an in-process fake (`None` or `fake`).
fn is_fake(endpoint: Option<&str>) -> bool {
    matches!(endpoint, None | Some("fake"))
}

/// Connects to a real runtime at `endpoint` and settles its release: `profile` if given,
/// else detected from its Version.
async fn connect_real(
    endpoint: &str,
    profile: Option<Profile>,
    can_pull: bool,
) -> Result<Connected, CliError> {
    let client = cri_client::Client::connect(endpoint, Duration::from_secs(10))
        .await
        .map_err(|e| CliError::Failed(format!("cannot connect to {endpoint}: {e}")))?;
    let profile = match profile {
        Some(profile) => profile,
        None => detect_profile(&client).await.map_err(|e| match e {
            DetectError::UnknownRelease { .. } => CliError::Failed(format!(
                "{endpoint}: {e}; say which release its answers should match with --profile containerd-2.3 or --profile containerd-1.6"
            )),
            DetectError::Version(_) => CliError::Failed(format!(
                "{endpoint}: cannot detect the containerd release: {e}; give --profile containerd-2.3 or --profile containerd-1.6"
            )),
        })?,
    };
    let mut target = Target::new(endpoint, profile);
    target.can_pull = can_pull;
    Ok(Connected {
        client,
        target,
        _fake: None,
    })
}

/// Starts an in-process fake imitating `profile`; it simulates pulls when `simulate_pulls`
/// and is offline (like the reference containerd) otherwise.
async fn start_fake(profile: Profile, simulate_pulls: bool) -> Result<Connected, CliError> {
    let (fake, target) = cri_conformance::fake::start_fake_with_pulls(profile, simulate_pulls)
        .await
        .map_err(|e| CliError::Failed(format!("cannot start the fake: {e}")))?;
    let client = cri_client::Client::connect(target.endpoint.clone(), Duration::from_secs(10))
        .await
        .map_err(|e| CliError::Failed(format!("cannot connect to {}: {e}", target.endpoint)))?;
    Ok(Connected {
        client,
        target,
        _fake: Some(fake),
    })
}

/// `run [--endpoint URI] [--profile P] [--only PATTERN] [--format table|json] [--can-pull]`.
async fn run(args: &[String]) -> Result<(), CliError> {
    let options = parse_suite_options(args, "run", true)?;
    if options.endpoints.len() > 1 {
        return Err(CliError::Usage("run: give --endpoint once".into()));
    }
    let format = options.format.as_deref().unwrap_or("table");
    if !matches!(format, "table" | "json") {
        return Err(CliError::Usage(format!(
            "run: --format must be table or json, not {format:?}"
        )));
    }
    // Without an endpoint the fake simulates pulls (so the pull checks run); `fake` is
    // offline like the reference containerd unless --can-pull. It imitates the given or
    // the default release.
    let simulate_pulls = options.can_pull || options.endpoints.is_empty();
    let real = options
        .endpoints
        .first()
        .map(String::as_str)
        .filter(|e| !is_fake(Some(e)));
    let connected = match real {
        None => start_fake(options.profile.unwrap_or_default(), simulate_pulls).await?,
        Some(endpoint) => connect_real(endpoint, options.profile, options.can_pull).await?,
    };
    let how = match (options.profile, real) {
        (Some(_), _) => "given",
        (None, Some(_)) => "detected",
        (None, None) => "default",
    };
    eprintln!(
        "cri-conformance: {} is {} ({how})",
        connected.target.endpoint, connected.target.profile
    );
    let checks = cri_conformance::checks::all();
    let report = runner::run(
        &checks,
        &connected.client,
        &connected.target,
        options.only.as_deref(),
    )
    .await;
    match format {
        "json" => println!("{}", report.to_json()),
        _ => print!("{}", report.to_table()),
    }
    if report.checks.is_empty() {
        return Err(CliError::Failed(
            "no check matches the --only pattern".into(),
        ));
    }
    if report.succeeded() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} check(s) failed",
            report.counts().1
        )))
    }
}

/// `compare A B [--profile P] [--only PATTERN] [--format text|json] [--can-pull]`.
async fn compare(args: &[String]) -> Result<(), CliError> {
    let options = parse_suite_options(args, "compare", false)?;
    let [a, b] = options.endpoints.as_slice() else {
        return Err(CliError::Usage(
            "compare: give exactly two endpoints, A and B".into(),
        ));
    };
    let format = options.format.as_deref().unwrap_or("text");
    if !matches!(format, "text" | "json") {
        return Err(CliError::Usage(format!(
            "compare: --format must be text or json, not {format:?}"
        )));
    }
    // Real endpoints first: a fake imitates the release of the real endpoint it is
    // compared with, and is offline like it (unless --can-pull).
    let real_a = if is_fake(Some(a)) {
        None
    } else {
        Some(connect_real(a, options.profile, options.can_pull).await?)
    };
    let real_b = if is_fake(Some(b)) {
        None
    } else {
        Some(connect_real(b, options.profile, options.can_pull).await?)
    };
    let follow = real_a
        .as_ref()
        .or(real_b.as_ref())
        .map(|c| c.target.profile)
        .or(options.profile)
        .unwrap_or_default();
    let a = match real_a {
        Some(a) => a,
        None => start_fake(follow, options.can_pull).await?,
    };
    let b = match real_b {
        Some(b) => b,
        None => start_fake(follow, options.can_pull).await?,
    };
    eprintln!(
        "cri-conformance: A {} is {}, B {} is {}",
        a.target.endpoint, a.target.profile, b.target.endpoint, b.target.profile
    );
    let checks = cri_conformance::checks::all();
    let (a_report, b_report, report) = cri_conformance::compare::compare(
        &checks,
        (&a.client, &a.target),
        (&b.client, &b.target),
        options.only.as_deref(),
    )
    .await;
    match format {
        "json" => println!("{}", serde_json::to_string(&report).unwrap_or_default()),
        _ => print!("{}", report.to_text()),
    }
    println!("A: {}", a_report.summary_line());
    println!("B: {}", b_report.summary_line());
    let undocumented = report.undocumented().len();
    if !a_report.succeeded() {
        return Err(CliError::Failed(format!(
            "checks failed on A:\n{}",
            a_report.failures().join("\n")
        )));
    }
    if undocumented > 0 {
        return Err(CliError::Failed(format!(
            "{undocumented} undocumented difference(s) between A and B"
        )));
    }
    Ok(())
}
