//! Runs checks against a target and reports: one line per check and a closing
//! `N passed, M failed, K skipped` line, as a table or JSON.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::check::{Area, Check, Failure};
use crate::ctx::{Ctx, Target};

/// How long one check may take before it fails.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// It behaved as expected.
    Pass,
    /// It did not: the observed difference.
    Fail(String),
    /// The target cannot run it: why.
    Skip(String),
}

/// One check's report.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `area::name`.
    pub name: String,
    /// Its area.
    pub area: Area,
    /// The result.
    pub outcome: Outcome,
    /// How long it took.
    #[serde(serialize_with = "as_millis")]
    pub duration: Duration,
    /// What it observed (for compare runs), ids not masked.
    #[serde(skip)]
    pub observations: Vec<(String, String)>,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u128(d.as_millis())
}

/// A whole run's report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The target's endpoint.
    pub target: String,
    /// The containerd release the target was taken for (`containerd-1.6`,
    /// `containerd-2.3`): whose answers the checks expected.
    pub profile: String,
    /// Every check run, in order.
    pub checks: Vec<CheckReport>,
}

impl Report {
    /// (passed, failed, skipped).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.checks
            .iter()
            .fold((0, 0, 0), |(p, f, s), c| match c.outcome {
                Outcome::Pass => (p + 1, f, s),
                Outcome::Fail(_) => (p, f + 1, s),
                Outcome::Skip(_) => (p, f, s + 1),
            })
    }

    /// `N passed, M failed, K skipped`.
    pub fn summary_line(&self) -> String {
        let (p, f, s) = self.counts();
        format!("{p} passed, {f} failed, {s} skipped")
    }

    /// Whether every check passed or was skipped.
    pub fn succeeded(&self) -> bool {
        self.counts().1 == 0
    }

    /// The failures, one `name: difference` line each.
    pub fn failures(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Fail(why) => Some(format!("{}: {why}", c.name)),
                _ => None,
            })
            .collect()
    }

    /// A table: one line per check, then the summary line.
    pub fn to_table(&self) -> String {
        let mut out = format!("target: {} ({})\n", self.target, self.profile);
        for check in &self.checks {
            let (tag, detail) = match &check.outcome {
                Outcome::Pass => ("pass", String::new()),
                Outcome::Fail(why) => ("FAIL", format!("  {why}")),
                Outcome::Skip(why) => ("skip", format!("  ({why})")),
            };
            out.push_str(&format!(
                "{tag} {:>7.2}s  {}{detail}\n",
                check.duration.as_secs_f64(),
                check.name
            ));
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    /// The report as JSON, with the summary counts.
    pub fn to_json(&self) -> String {
        let (passed, failed, skipped) = self.counts();
        serde_json::json!({
            "target": self.target,
            "profile": self.profile,
            "checks": self.checks,
            "passed": passed,
            "failed": failed,
            "skipped": skipped,
        })
        .to_string()
    }
}

/// Whether `check` is selected by `pattern` (a substring of `area::name`).
pub fn selected(check: &Check, pattern: Option<&str>) -> bool {
    pattern.is_none_or(|p| check.full_name().contains(p))
}

/// Runs one check in a fresh context and cleans up after it, whatever happens.
pub async fn run_check(
    check: &Check,
    client: &cri_client::Client,
    target: &Target,
    run_id: &str,
) -> CheckReport {
    let started = Instant::now();
    let (outcome, observations) = match Ctx::new(client.clone(), target.clone(), run_id) {
        Err(e) => (
            Outcome::Fail(format!("cannot create the check's log directory: {e}")),
            Vec::new(),
        ),
        Ok(mut ctx) => {
            let result = tokio::time::timeout(CHECK_TIMEOUT, (check.run)(&mut ctx)).await;
            ctx.cleanup().await;
            let outcome = match result {
                Ok(Ok(())) => Outcome::Pass,
                Ok(Err(Failure::Mismatch(why))) => Outcome::Fail(why),
                Ok(Err(Failure::Skip(why))) => Outcome::Skip(why),
                Err(_) => Outcome::Fail(format!(
                    "did not finish within {}s",
                    CHECK_TIMEOUT.as_secs()
                )),
            };
            (outcome, ctx.observations().to_vec())
        }
    };
    CheckReport {
        name: check.full_name(),
        area: check.area,
        outcome,
        duration: started.elapsed(),
        observations,
    }
}

/// Runs the selected checks one after the other.
pub async fn run(
    checks: &[Check],
    client: &cri_client::Client,
    target: &Target,
    pattern: Option<&str>,
) -> Report {
    let run_id = new_run_id();
    let mut reports = Vec::new();
    for check in checks.iter().filter(|c| selected(c, pattern)) {
        reports.push(run_check(check, client, target, &run_id).await);
    }
    Report {
        target: target.endpoint.clone(),
        profile: target.profile.to_string(),
        checks: reports,
    }
}

/// A short random id for one run (names and labels).
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "r{:08x}",
        (nanos as u64 ^ u64::from(std::process::id()).rotate_left(32)) as u32
    )
}
