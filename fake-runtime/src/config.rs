//! The `cri-fake` binary's configuration file (TOML): settings, images, exec scripts,
//! container scripts and fault rules, so tests in any language get what Rust tests
//! get from [`script`] and [`faults`](crate::toolkit::faults).
//!
//! ```toml
//! [settings]
//! runtime_name = "containerd"         # VersionResponse.runtime_name
//! runtime_version = "1.7.13"          # VersionResponse.runtime_version (default: the profile's)
//! profile = "containerd-2.3"          # the default; or "containerd-1.6" (see README "Fidelity")
//! deprecation_warnings = { "io.containerd.deprecation/cgroup-v1" = "The support for cgroup v1 is deprecated" }
//! drain_exec_sync_io_timeout = "10s"  # "0s" = wait for ever (the default)
//! writable_layer_limit_bytes = 67108864 # per container (64 MiB, the default; 0 = unlimited)
//! max_processes = 1024                # per container (the default; 0 = unlimited)
//! max_open_pipes = 1024               # per container (the default; 0 = unlimited)
//! memory_budget_bytes = 67108864      # per container, what applets hold (64 MiB, the default)
//! network_ready = true
//! pull_policy = "simulate-any"        # or "catalog-only", "offline"
//! pull_delay = "20ms"                 # how long a pull takes (the default)
//! host_port_address = "127.0.0.1"     # pods' host ports as real sockets (the binary's default; "off": in memory only)
//! pod_cidr = "127.88.0.0/16"          # pod IPs (the binary's default: reachable loopback addresses)
//! builtin_images = true               # the built-in busybox and pause images
//! journal_max_calls = 10000
//!
//! [[images]]
//! reference = "docker.io/library/nginx:1.25"
//! entrypoint = ["/docker-entrypoint.sh"]
//! cmd = ["nginx", "-g", "daemon off;"]
//! env = ["NGINX_VERSION=1.25.3"]
//! stop_signal = "SIGQUIT"
//! exposed_ports = ["80/tcp"]
//! rootfs = "busybox"                  # or "pause", "scratch"
//!
//! [[images.files]]                    # added to the root filesystem
//! path = "/docker-entrypoint.sh"
//! mode = 0o755
//! contents = "#!/bin/sh\nexec \"$@\"\n" # or target = "..." (symlink), directory = true,
//!                                        # or program = "nnp" (a built-in program)
//!
//! [[exec]]                            # every matcher given must apply
//! name = "os-release"
//! command = ["cat", "/etc/os-release"] # or command_prefix = [...], command_regex = "..."
//! pod_labels = { app = "web" }        # also: container_name, container_id, image,
//!                                     # container_labels, pod_name, pod_namespace
//! stdout = "ID=alpine\n"              # reply: stdout, stderr, exit_code, oom_kill,
//! exit_code = 0                       # or run = [argv], or simulate = true
//! delay = "100ms"
//! hold_io_for = "0s"
//! expect = 1                          # or "1..=3", "2..", "..=4"
//! times = 5                           # applies to the first 5 matches only
//!
//! [[containers]]                      # same keys, for a container's main process
//! container_name = "worker"
//! exit_code = 3
//! delay = "2s"                        # exits 2 s after it starts
//!
//! [[faults]]
//! method = "RunPodSandbox"            # or methods = [...]; neither: every method
//! first = 2                           # or nth = 2, after = 2
//! code = "UNAVAILABLE"                # or "Unavailable", or 14
//! message = "connection refused"
//! delay = "50ms"                      # or delay_between = ["10ms", "90ms"]
//! when = { config = { metadata = { name = "web" } } }  # request JSON (proto names) contains this
//! ```
//!
//! `examples/cri-fake.toml` in the crate is a commented example. An invalid file gives
//! an error naming the line:
//!
//! ```
//! let err = cri_fake::config::Config::parse("[[faults]]\nmethod = \"RunPod\"\n").unwrap_err();
//! assert!(err.to_string().starts_with("TOML parse error at line 2, column 10"));
//! assert!(err.to_string().contains("unknown method `RunPod`"));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use toml::Spanned;

use crate::builder::{FakeRuntime, FakeRuntimeBuilder};
use crate::core::images::{Image, PullPolicy};
use crate::core::runtime::Profile;
use crate::toolkit::faults::Fault;
use crate::toolkit::journal::JournalLimits;
use crate::toolkit::method::Method;
use crate::toolkit::script::{self, Matcher, Reply, ScriptBuilder, ScriptTarget, Times};

/// A configuration that could not be read or is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, when read from one.
    pub path: Option<PathBuf>,
    /// The line (1-based) of the problem, when known.
    pub line: Option<usize>,
    /// The full text: `TOML parse error at line L, column C`, the line, a caret, and
    /// what is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        f.write_str(self.message.trim_end())
    }
}

impl std::error::Error for ConfigError {}

/// Line and column (1-based) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// An error at `span` of `text`, formatted like the toml crate's parse errors.
fn error_at(text: &str, span: std::ops::Range<usize>, message: impl fmt::Display) -> ConfigError {
    let (line, column) = position(text, span.start);
    let source = text.lines().nth(line - 1).unwrap_or("");
    let width = line.to_string().len();
    let carets = "^".repeat(
        span.len()
            .clamp(1, source.chars().count().saturating_sub(column - 1).max(1)),
    );
    ConfigError {
        path: None,
        line: Some(line),
        message: format!(
            "TOML parse error at line {line}, column {column}\n{pad} |\n{line} | {source}\n{pad} | {indent}{carets}\n{message}\n",
            pad = " ".repeat(width),
            indent = " ".repeat(column - 1),
        ),
    }
}

/// A duration: `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`, or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfigDuration(pub Duration);

/// Parses `"250ms"`, `"1.5s"`, `"2m"`, `"1h"`, `"10us"`, `"5ns"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("invalid duration {text:?}: expected a number and a unit, like \"250ms\" or \"2s\"")
    })?;
    let scale = match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {unit:?} (use ns, us, ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(value * scale)
        .map_err(|e| format!("invalid duration {text:?}: {e}"))
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(u64),
            Float(f64),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) => parse_duration(&text)
                .map(ConfigDuration)
                .map_err(de::Error::custom),
            Raw::Int(secs) => Ok(ConfigDuration(Duration::from_secs(secs))),
            Raw::Float(secs) => Duration::try_from_secs_f64(secs)
                .map(ConfigDuration)
                .map_err(|e| de::Error::custom(format!("invalid duration {secs}: {e}"))),
        }
    }
}

/// A [`Method`] named by its RPC name (`"RunPodSandbox"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodName(pub Method);

impl<'de> Deserialize<'de> for MethodName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Method::ALL
            .iter()
            .find(|m| m.name() == name)
            .map(|&m| MethodName(m))
            .ok_or_else(|| {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
                de::Error::custom(format!(
                    "unknown method `{name}`, expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// A gRPC code: `"UNAVAILABLE"`, `"Unavailable"` or `14`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeName(pub tonic::Code);

impl<'de> Deserialize<'de> for CodeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        let all: Vec<tonic::Code> = (0..=16).map(tonic::Code::from_i32).collect();
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) if (0..=16).contains(&n) => {
                Ok(CodeName(tonic::Code::from_i32(n as i32)))
            }
            Raw::Number(n) => Err(de::Error::custom(format!(
                "unknown gRPC code {n}, expected 0 to 16"
            ))),
            Raw::Text(text) => {
                let wanted = text.replace('_', "").to_ascii_lowercase();
                all.iter()
                    .find(|c| {
                        crate::toolkit::journal::code_name(**c)
                            .replace('_', "")
                            .to_ascii_lowercase()
                            == wanted
                    })
                    .map(|&c| CodeName(c))
                    .ok_or_else(|| {
                        let names: Vec<&str> = all
                            .iter()
                            .map(|c| crate::toolkit::journal::code_name(*c))
                            .collect();
                        de::Error::custom(format!(
                            "unknown gRPC code `{text}`, expected one of {}",
                            names.join(", ")
                        ))
                    })
            }
        }
    }
}

/// An expectation: `1`, `"1..=3"`, `"2.."`, `"..=4"`, `"1..3"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimesSpec(pub Times);

fn parse_times(text: &str) -> Result<Times, String> {
    let bad = || {
        format!(
            "invalid expectation {text:?}: expected a count or a range like \"1..=3\", \"2..\", \"..=4\""
        )
    };
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    let text = text.trim();
    if let Some((low, high)) = text.split_once("..=") {
        let high = number(high)?;
        return Ok(if low.trim().is_empty() {
            (..=high).into()
        } else {
            (number(low)?..=high).into()
        });
    }
    if let Some((low, high)) = text.split_once("..") {
        return Ok(match (low.trim().is_empty(), high.trim().is_empty()) {
            (true, true) => return Err(bad()),
            (false, true) => (number(low)?..).into(),
            (true, false) => (..number(high)?).into(),
            (false, false) => (number(low)?..number(high)?).into(),
        });
    }
    number(text).map(Times::from)
}

impl<'de> Deserialize<'de> for TimesSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Count(n) => Ok(TimesSpec(Times::from(n))),
            Raw::Text(text) => parse_times(&text).map(TimesSpec).map_err(de::Error::custom),
        }
    }
}

/// `[settings]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsConfig {
    /// `VersionResponse.runtime_name`.
    pub runtime_name: Option<String>,
    /// `VersionResponse.runtime_version`.
    pub runtime_version: Option<String>,
    /// `"containerd-2.3"` (also `"latest"`) or `"containerd-1.6"`.
    pub profile: Option<ProfileName>,
    /// Deprecation warnings (id to text) the 2.3 Status condition reports.
    pub deprecation_warnings: Option<std::collections::BTreeMap<String, String>>,
    /// ExecSync's IO drain bound.
    pub drain_exec_sync_io_timeout: Option<ConfigDuration>,
    /// Each container's writable-layer budget in bytes (0: unlimited).
    pub writable_layer_limit_bytes: Option<u64>,
    /// How many processes each container may have at once (0: unlimited).
    pub max_processes: Option<u32>,
    /// How many pipes each container's processes may hold open (0: unlimited).
    pub max_open_pipes: Option<u32>,
    /// How much memory each container's processes may really hold (0: unlimited).
    pub memory_budget_bytes: Option<u64>,
    /// Whether Status reports the network ready.
    pub network_ready: Option<bool>,
    /// `"simulate-any"`, `"catalog-only"` or `"offline"`.
    pub pull_policy: Option<PullPolicyName>,
    /// How long a pull takes (`"20ms"`, the default).
    pub pull_delay: Option<ConfigDuration>,
    /// Where pods' host ports become real sockets (an IP address), or `"off"`.
    pub host_port_address: Option<HostPortAddress>,
    /// The network pod IPs come from (CIDR).
    pub pod_cidr: Option<String>,
    /// Whether the built-in images are present (default true).
    pub builtin_images: Option<bool>,
    /// How many calls the journal keeps.
    pub journal_max_calls: Option<usize>,
}

/// `host_port_address`: an IP address, or `"off"` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPortAddress(pub Option<std::net::IpAddr>);

impl std::str::FromStr for HostPortAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text == "off" {
            return Ok(HostPortAddress(None));
        }
        text.parse()
            .map(|ip| HostPortAddress(Some(ip)))
            .map_err(|_| {
                format!("host_port_address: expected an IP address or \"off\", got {text:?}")
            })
    }
}

impl<'de> Deserialize<'de> for HostPortAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A [`Profile`] by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ProfileName {
    /// [`Profile::Containerd23`].
    #[serde(rename = "containerd-2.3", alias = "latest")]
    Containerd23,
    /// [`Profile::Containerd16`].
    #[serde(rename = "containerd-1.6")]
    Containerd16,
}

impl ProfileName {
    /// The profile this name stands for.
    pub fn profile(self) -> Profile {
        match self {
            ProfileName::Containerd23 => Profile::Containerd23,
            ProfileName::Containerd16 => Profile::Containerd16,
        }
    }
}

/// A [`PullPolicy`] by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PullPolicyName {
    /// [`PullPolicy::SimulateAny`].
    #[serde(rename = "simulate-any")]
    SimulateAny,
    /// [`PullPolicy::CatalogOnly`].
    #[serde(rename = "catalog-only")]
    CatalogOnly,
    /// [`PullPolicy::Offline`].
    #[serde(rename = "offline")]
    Offline,
}

/// A [`Rootfs`](crate::core::images::Rootfs) by name (the catalog's schema).
pub use crate::core::images::catalog::RootfsName;

/// `[[images]]`: an image added to the store, in the schema of the built-in catalog
/// (`reference`, `tags`, `digest`/`digests`, `id`, `entrypoint`, `cmd`, `env`,
/// `working_dir`, `user`, `stop_signal`, `labels`, `exposed_ports`, `size`, `rootfs`,
/// `chain_id` and `[[images.files]]`).
pub use crate::core::images::catalog::ImageData as ImageConfig;

/// `[[exec]]` and `[[containers]]`: a script.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// A name for reports.
    pub name: Option<String>,
    /// Matches the exact command.
    pub command: Option<Vec<String>>,
    /// Matches commands starting with these arguments.
    pub command_prefix: Option<Vec<String>>,
    /// Matches commands (joined with spaces) by regular expression.
    pub command_regex: Option<Spanned<String>>,
    /// Matches a container id (or prefix).
    pub container_id: Option<String>,
    /// Matches a container name.
    pub container_name: Option<String>,
    /// Matches an image.
    pub image: Option<String>,
    /// Matches container labels (all of them).
    #[serde(default)]
    pub container_labels: HashMap<String, String>,
    /// Matches pod labels (all of them).
    #[serde(default)]
    pub pod_labels: HashMap<String, String>,
    /// Matches a pod name.
    pub pod_name: Option<String>,
    /// Matches a pod namespace.
    pub pod_namespace: Option<String>,
    /// Canned reply: standard output.
    pub stdout: Option<String>,
    /// Canned reply: standard error.
    pub stderr: Option<String>,
    /// Canned reply: exit code.
    pub exit_code: Option<i32>,
    /// Canned reply: OOM-killed.
    #[serde(default)]
    pub oom_kill: bool,
    /// Runs this argv instead.
    pub run: Option<Vec<String>>,
    /// Runs the simulation (only counts).
    #[serde(default)]
    pub simulate: bool,
    /// Delay before exiting (or before running `run`).
    pub delay: Option<ConfigDuration>,
    /// A background child holds the output this long after exit.
    pub hold_io_for: Option<ConfigDuration>,
    /// Expected matches.
    pub expect: Option<TimesSpec>,
    /// Applies to the first n matches only.
    pub times: Option<u64>,
    /// Lower is consulted first (default 5).
    pub priority: Option<u8>,
}

/// `[[faults]]`: a fault or delay rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// A name for reports.
    pub name: Option<String>,
    /// The method.
    pub method: Option<MethodName>,
    /// Several methods.
    pub methods: Option<Vec<MethodName>>,
    /// The request, as JSON with proto field names, contains this.
    pub when: Option<toml::Value>,
    /// Fires on the nth matching call only.
    pub nth: Option<u64>,
    /// Fires on the first n matching calls.
    pub first: Option<u64>,
    /// Fires on the matching calls after the first n.
    pub after: Option<u64>,
    /// Answers with this code...
    pub code: Option<CodeName>,
    /// ...and this message.
    pub message: Option<String>,
    /// Fixed delay.
    pub delay: Option<ConfigDuration>,
    /// Random delay between two durations.
    pub delay_between: Option<[ConfigDuration; 2]>,
    /// Fails the server stream after this many items (with `code` and `message`).
    pub fail_stream_after: Option<u64>,
    /// Expected firings.
    pub expect: Option<TimesSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: SettingsConfig,
    #[serde(default)]
    images: Vec<Spanned<ImageConfig>>,
    #[serde(default)]
    exec: Vec<Spanned<ScriptConfig>>,
    #[serde(default)]
    containers: Vec<Spanned<ScriptConfig>>,
    #[serde(default)]
    faults: Vec<Spanned<FaultConfig>>,
}

/// A validated configuration, ready to [`apply`](Config::apply) to a builder and
/// [`mount`](Config::mount) on the started fake.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `[settings]`.
    pub settings: SettingsConfig,
    /// `[[images]]`, built.
    pub images: Vec<Image>,
    /// `[[exec]]`.
    pub exec: Vec<ScriptConfig>,
    /// `[[containers]]`.
    pub containers: Vec<ScriptConfig>,
    /// `[[faults]]`.
    pub faults: Vec<FaultConfig>,
}

impl Config {
    /// Parses and validates a configuration.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError {
            path: None,
            line: e.span().map(|s| position(text, s.start).0),
            message: e.to_string(),
        })?;
        let mut images = Vec::new();
        for entry in &raw.images {
            images.push(
                entry
                    .get_ref()
                    .build()
                    .map_err(|m| error_at(text, entry.span(), m))?,
            );
        }
        for entry in raw.exec.iter().chain(&raw.containers) {
            validate_script(entry.get_ref())
                .map_err(|(span, m)| error_at(text, span.unwrap_or(entry.span()), m))?;
        }
        for entry in &raw.faults {
            validate_fault(entry.get_ref()).map_err(|m| error_at(text, entry.span(), m))?;
        }
        Ok(Config {
            settings: raw.settings,
            images,
            exec: raw.exec.into_iter().map(Spanned::into_inner).collect(),
            containers: raw
                .containers
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            faults: raw.faults.into_iter().map(Spanned::into_inner).collect(),
        })
    }

    /// Reads and validates the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: Some(path.to_owned()),
            line: None,
            message: format!("cannot read the configuration: {e}"),
        })?;
        Config::parse(&text).map_err(|mut e| {
            e.path = Some(path.to_owned());
            e
        })
    }

    /// Applies the settings and images to a builder.
    pub fn apply(&self, mut builder: FakeRuntimeBuilder) -> FakeRuntimeBuilder {
        let s = &self.settings;
        let profile = s.profile.map(ProfileName::profile);
        if let Some(profile) = profile {
            builder = builder.profile(profile);
        }
        if let Some(warnings) = &s.deprecation_warnings {
            builder = builder
                .deprecation_warnings(warnings.iter().map(|(id, text)| (id.clone(), text.clone())));
        }
        if let (Some(name), Some(version)) = (&s.runtime_name, &s.runtime_version) {
            builder = builder.runtime_identity(name.clone(), version.clone());
        } else if s.runtime_name.is_some() || s.runtime_version.is_some() {
            let defaults = crate::core::runtime::Settings::for_profile(profile.unwrap_or_default());
            builder = builder.runtime_identity(
                s.runtime_name.clone().unwrap_or(defaults.runtime_name),
                s.runtime_version
                    .clone()
                    .unwrap_or(defaults.runtime_version),
            );
        }
        if let Some(timeout) = s.drain_exec_sync_io_timeout {
            builder = builder.drain_exec_sync_io_timeout(timeout.0);
        }
        if let Some(bytes) = s.writable_layer_limit_bytes {
            builder = builder.writable_layer_limit_bytes(bytes);
        }
        if let Some(count) = s.max_processes {
            builder = builder.max_processes(count);
        }
        if let Some(count) = s.max_open_pipes {
            builder = builder.max_open_pipes(count);
        }
        if let Some(bytes) = s.memory_budget_bytes {
            builder = builder.memory_budget_bytes(bytes);
        }
        if let Some(ready) = s.network_ready {
            builder = builder.network_ready(ready);
        }
        if let Some(policy) = s.pull_policy {
            builder = builder.pull_policy(match policy {
                PullPolicyName::SimulateAny => PullPolicy::SimulateAny,
                PullPolicyName::CatalogOnly => PullPolicy::CatalogOnly,
                PullPolicyName::Offline => PullPolicy::Offline,
            });
        }
        if let Some(delay) = s.pull_delay {
            builder = builder.pull_delay(delay.0);
        }
        if let Some(HostPortAddress(address)) = s.host_port_address {
            builder = builder.host_port_address(address);
        }
        if let Some(cidr) = &s.pod_cidr {
            builder = builder.pod_cidr(cidr.clone());
        }
        if s.builtin_images == Some(false) {
            builder = builder.without_builtin_images();
        }
        if let Some(max_calls) = s.journal_max_calls {
            builder = builder.journal_limits(JournalLimits {
                max_calls,
                ..JournalLimits::default()
            });
        }
        for image in &self.images {
            builder = builder.image(image.clone());
        }
        builder
    }

    /// Mounts the scripts and fault rules on `fake`, for its whole life.
    pub fn mount(&self, fake: &FakeRuntime) {
        for entry in &self.exec {
            script_builder::<script::ForExec>(entry).mount(fake);
        }
        for entry in &self.containers {
            script_builder::<script::ForContainer>(entry).mount(fake);
        }
        for entry in &self.faults {
            fault(entry).mount(fake).keep();
        }
    }
}

type Span = Option<std::ops::Range<usize>>;

fn validate_script(c: &ScriptConfig) -> Result<(), (Span, String)> {
    if let Some(regex) = &c.command_regex
        && let Err(e) = regex::Regex::new(regex.get_ref())
    {
        return Err((Some(regex.span()), format!("invalid command_regex: {e}")));
    }
    let canned = c.stdout.is_some() || c.stderr.is_some() || c.exit_code.is_some() || c.oom_kill;
    let replies = [canned, c.run.is_some(), c.simulate]
        .iter()
        .filter(|&&b| b)
        .count();
    if replies > 1 {
        return Err((None, "a script has one reply: canned output (stdout, stderr, exit_code, oom_kill), `run`, or `simulate`".to_owned()));
    }
    if c.oom_kill && c.exit_code.is_some() {
        return Err((
            None,
            "`oom_kill` and `exit_code` exclude each other (an OOM kill exits with 137)".to_owned(),
        ));
    }
    if c.run.as_ref().is_some_and(Vec::is_empty) {
        return Err((None, "`run` needs a command".to_owned()));
    }
    Ok(())
}

fn validate_fault(c: &FaultConfig) -> Result<(), String> {
    if c.method.is_some() && c.methods.is_some() {
        return Err("give `method` or `methods`, not both".to_owned());
    }
    if [c.nth, c.first, c.after]
        .iter()
        .filter(|v| v.is_some())
        .count()
        > 1
    {
        return Err("give at most one of `nth`, `first`, `after`".to_owned());
    }
    if c.delay.is_some() && c.delay_between.is_some() {
        return Err("give `delay` or `delay_between`, not both".to_owned());
    }
    if c.message.is_some() && c.code.is_none() {
        return Err("`message` needs a `code`".to_owned());
    }
    if c.fail_stream_after.is_some() && c.code.is_none() {
        return Err("`fail_stream_after` needs a `code` (and a `message`)".to_owned());
    }
    if c.code.is_none() && c.delay.is_none() && c.delay_between.is_none() {
        return Err(
            "a fault needs an effect: `code` (with `message`), `delay` or `delay_between`"
                .to_owned(),
        );
    }
    if c.code.is_some_and(|code| code.0 == tonic::Code::Ok) {
        return Err("`code` must be an error code, not OK".to_owned());
    }
    if let Some(when) = &c.when {
        serde_json::to_value(when).map_err(|e| format!("`when` cannot be read as JSON: {e}"))?;
    }
    Ok(())
}

fn script_builder<T: ScriptTarget>(c: &ScriptConfig) -> ScriptBuilder<T> {
    let mut matchers: Vec<Box<dyn Matcher>> = Vec::new();
    if let Some(argv) = &c.command {
        matchers.push(Box::new(script::command(argv.clone())));
    }
    if let Some(prefix) = &c.command_prefix {
        matchers.push(Box::new(script::command_prefix(prefix.clone())));
    }
    if let Some(regex) = &c.command_regex
        && let Ok(matcher) = script::try_command_regex(regex.get_ref())
    {
        matchers.push(Box::new(matcher));
    }
    if let Some(id) = &c.container_id {
        matchers.push(Box::new(script::container_id(id.clone())));
    }
    if let Some(name) = &c.container_name {
        matchers.push(Box::new(script::container_name(name.clone())));
    }
    if let Some(image) = &c.image {
        matchers.push(Box::new(script::image(image.clone())));
    }
    let mut labels: Vec<_> = c.container_labels.iter().collect();
    labels.sort();
    for (k, v) in labels {
        matchers.push(Box::new(script::container_label(k.clone(), v.clone())));
    }
    let mut labels: Vec<_> = c.pod_labels.iter().collect();
    labels.sort();
    for (k, v) in labels {
        matchers.push(Box::new(script::pod_label(k.clone(), v.clone())));
    }
    if let Some(name) = &c.pod_name {
        matchers.push(Box::new(script::pod_name(name.clone())));
    }
    if let Some(namespace) = &c.pod_namespace {
        matchers.push(Box::new(script::pod_namespace(namespace.clone())));
    }
    let mut matchers = matchers.into_iter();
    let mut builder = match matchers.next() {
        Some(first) => ScriptBuilder::<T>::given(BoxedMatcher(first)),
        None => ScriptBuilder::<T>::given(script::any()),
    };
    for matcher in matchers {
        builder = builder.and(BoxedMatcher(matcher));
    }
    let mut reply = if c.simulate {
        Reply::simulate()
    } else if let Some(run) = &c.run {
        Reply::command(run.clone())
    } else if c.oom_kill {
        Reply::oom_kill()
    } else {
        Reply::exit(c.exit_code.unwrap_or(0))
    };
    if let Some(stdout) = &c.stdout {
        reply = reply.stdout(stdout.clone());
    }
    if let Some(stderr) = &c.stderr {
        reply = reply.stderr(stderr.clone());
    }
    if let Some(delay) = c.delay {
        reply = reply.delay(delay.0);
    }
    if let Some(hold) = c.hold_io_for {
        reply = reply.hold_io_for(hold.0);
    }
    builder = builder.respond_with(reply);
    if let Some(expect) = c.expect {
        builder = builder.expect(expect.0);
    }
    if let Some(times) = c.times {
        builder = builder.up_to_n_times(times);
    }
    if let Some(priority) = c.priority {
        builder = builder.priority(priority);
    }
    if let Some(name) = &c.name {
        builder = builder.named(name.clone());
    }
    builder
}

struct BoxedMatcher(Box<dyn Matcher>);

impl Matcher for BoxedMatcher {
    fn matches(&self, invocation: &script::Invocation) -> bool {
        self.0.matches(invocation)
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

fn fault(c: &FaultConfig) -> Fault {
    let mut fault = match (&c.method, &c.methods) {
        (Some(method), _) => Fault::on(method.0),
        (None, Some(methods)) => Fault::on_methods(methods.iter().map(|m| m.0)),
        (None, None) => Fault::on_any(),
    };
    if let Some(when) = c.when.as_ref().and_then(|w| serde_json::to_value(w).ok()) {
        fault = fault.when_request(when);
    }
    if let Some(n) = c.nth {
        fault = fault.nth(n);
    }
    if let Some(n) = c.first {
        fault = fault.first(n);
    }
    if let Some(n) = c.after {
        fault = fault.after(n);
    }
    if let Some(delay) = c.delay {
        fault = fault.delay(delay.0);
    }
    if let Some([low, high]) = c.delay_between {
        fault = fault.delay_between(low.0..=high.0);
    }
    if let Some(code) = c.code {
        let message = c.message.clone().unwrap_or_default();
        fault = match c.fail_stream_after {
            Some(items) => fault.fail_stream_after(items, code.0, message),
            None => fault.fail_with(code.0, message),
        };
    }
    if let Some(expect) = c.expect {
        fault = fault.expect(expect.0);
    }
    if let Some(name) = &c.name {
        fault = fault.named(name.clone());
    }
    fault
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_units_and_plain_seconds() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(
            parse_duration("3 days"),
            Err(
                "invalid duration \"3 days\": unknown unit \" days\" (use ns, us, ms, s, m or h)"
                    .to_owned()
            )
        );
        let config = Config::parse("[settings]\ndrain_exec_sync_io_timeout = 5\n").unwrap();
        assert_eq!(
            config.settings.drain_exec_sync_io_timeout,
            Some(ConfigDuration(Duration::from_secs(5)))
        );
    }

    #[test]
    fn host_port_address_is_an_ip_address_or_off() {
        let on = Config::parse(
            "[settings]\nhost_port_address = \"::1\"\npod_cidr = \"127.88.0.0/16\"\n",
        )
        .unwrap();
        assert_eq!(
            on.settings.host_port_address,
            Some(HostPortAddress(Some(std::net::Ipv6Addr::LOCALHOST.into())))
        );
        assert_eq!(on.settings.pod_cidr.as_deref(), Some("127.88.0.0/16"));
        let off = Config::parse("[settings]\nhost_port_address = \"off\"\n").unwrap();
        assert_eq!(off.settings.host_port_address, Some(HostPortAddress(None)));
        let error = Config::parse("[settings]\nhost_port_address = \"loopback\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            error
                .contains("host_port_address: expected an IP address or \"off\", got \"loopback\""),
            "{error}"
        );
    }

    #[test]
    fn expectations_read_counts_and_ranges() {
        assert_eq!(parse_times("3"), Ok(Times::from(3)));
        assert_eq!(parse_times("1..=3"), Ok(Times::from(1..=3)));
        assert_eq!(parse_times("2.."), Ok(Times::from(2..)));
        assert_eq!(parse_times("..=4"), Ok(Times::from(..=4)));
        assert_eq!(parse_times("1..3"), Ok(Times::from(1..3)));
        assert!(parse_times("..").is_err());
    }

    #[test]
    fn a_full_configuration_parses() {
        let text = r#"
[settings]
runtime_name = "containerd"
runtime_version = "1.7.13"
profile = "containerd-1.6"
pull_policy = "offline"

[[images]]
reference = "nginx:1.25"
cmd = ["nginx"]
rootfs = "scratch"

[[exec]]
command = ["cat", "/etc/os-release"]
pod_labels = { app = "web" }
stdout = "ID=alpine\n"
expect = "1..=2"

[[containers]]
container_name = "worker"
oom_kill = true
delay = "2s"

[[faults]]
methods = ["RunPodSandbox", "StopPodSandbox"]
first = 2
code = "Unavailable"
message = "connection refused"
when = { config = { metadata = { name = "web" } } }
"#;
        let config = Config::parse(text).unwrap();
        assert_eq!(config.images[0].repo_tags, ["docker.io/library/nginx:1.25"]);
        assert_eq!(config.exec[0].expect, Some(TimesSpec(Times::from(1..=2))));
        assert_eq!(
            config.faults[0].code,
            Some(CodeName(tonic::Code::Unavailable))
        );
        assert_eq!(config.settings.profile, Some(ProfileName::Containerd16));
        let fault = fault(&config.faults[0]);
        assert_eq!(
            format!("{fault:?}"),
            "fault on RunPodSandbox|StopPodSandbox for requests containing \
             {\"config\":{\"metadata\":{\"name\":\"web\"}}}, first 2 calls: fail with UNAVAILABLE \"connection refused\""
        );
    }

    #[test]
    fn the_example_configuration_is_valid() {
        let config = Config::parse(include_str!("../examples/cri-fake.toml")).unwrap();
        assert_eq!(
            (
                config.images.len(),
                config.exec.len(),
                config.containers.len(),
                config.faults.len()
            ),
            (1, 2, 2, 3)
        );
        assert_eq!(
            config.images[0].repo_tags,
            ["registry.example.com/shop/api:2.3"]
        );
        assert_eq!(
            config.faults[1].delay_between.map(|[a, b]| (a.0, b.0)),
            Some((Duration::from_millis(50), Duration::from_millis(150)))
        );
    }

    #[test]
    fn unknown_keys_and_values_are_reported_with_their_line() {
        let err = Config::parse("[[exec]]\ncommand = [\"x\"]\nstdot = \"typo\"\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("unknown field `stdot`"), "{err}");
        let err = Config::parse("[[faults]]\nmethod = \"Version\"\ncode = \"NOPE\"\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("unknown gRPC code `NOPE`"), "{err}");
        let err =
            Config::parse("[[faults]]\nmethod = \"Version\"\ndelay = \"fast\"\n").unwrap_err();
        assert_eq!(err.line, Some(3));
    }

    #[test]
    fn inconsistent_entries_are_reported_at_their_table() {
        let text = "[settings]\nnetwork_ready = false\n\n[[faults]]\nmethod = \"Version\"\n";
        let err = Config::parse(text).unwrap_err();
        assert_eq!(err.line, Some(4));
        assert!(
            err.message.starts_with(
                "TOML parse error at line 4, column 1\n  |\n4 | [[faults]]\n  | ^^^^^^^^^^\n"
            ),
            "{err}"
        );
        assert!(
            err.message.ends_with(
                "a fault needs an effect: `code` (with `message`), `delay` or `delay_between`\n"
            ),
            "{err}"
        );
        let err = Config::parse("[[exec]]\ncommand_regex = \"(\"\n").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(
            err.message.starts_with(
                "TOML parse error at line 2, column 17\n  |\n2 | command_regex = \"(\"\n"
            ),
            "{err}"
        );
        let err = Config::parse("[[images]]\nreference = \"UPPER/Case\"\n").unwrap_err();
        assert_eq!(err.line, Some(1));
        assert!(err.message.ends_with("invalid image reference \"UPPER/Case\": invalid reference format: repository name (Case) must be lowercase\n"), "{err}");
    }
}
