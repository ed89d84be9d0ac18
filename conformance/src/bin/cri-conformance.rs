//! `cri-conformance`: the conformance suite's command-line entry point.
//!
//! Subcommands:
//!
//! * `build-images [--busybox PATH] --out DIR`: writes the busybox and sandbox test images
//!   as OCI archives (`busybox.tar`, `pause.tar`) for `ctr images import`, and prints one
//!   line per image: `<archive path>\t<reference>\t<image id>\t<size>`.

use std::path::PathBuf;
use std::process::ExitCode;

use cri_conformance::oci;

const USAGE: &str = "usage: cri-conformance <subcommand> [options]

subcommands:
  build-images [--busybox PATH] --out DIR
      Write the busybox and sandbox test images as OCI archives into DIR.
      PATH is a statically linked busybox (default /bin/busybox).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((subcommand, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match subcommand.as_str() {
        "build-images" => build_images(rest),
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
