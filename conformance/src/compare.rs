//! Compare mode: run the same checks on two runtimes and report every observable
//! difference (codes, texts with ids masked, states, exit codes, output, log lines),
//! minus the documented deviations.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use crate::check::Check;
use crate::ctx::Target;
use crate::runner::{self, Outcome, Report};

/// Differences between the fake and the containerd release it imitates that are
/// deliberate, with the reason. Each entry is (`area::check`, observation key or `*` for
/// all of the check).
pub const DEVIATIONS: &[(&str, &str, &str)] = &[];

/// One observable difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `area::check`.
    pub check: String,
    /// The observation key (`outcome` for the check's result).
    pub key: String,
    /// What runtime A showed (masked).
    pub a: String,
    /// What runtime B showed (masked).
    pub b: String,
    /// The documented reason, when this difference is a known deviation.
    pub deviation: Option<&'static str>,
}

/// The result of a compare run.
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// Runtime A's endpoint.
    pub a: String,
    /// Runtime B's endpoint.
    pub b: String,
    /// How many observations were compared.
    pub compared: usize,
    /// Every difference found.
    pub differences: Vec<Difference>,
}

impl CompareReport {
    /// Differences that are not documented deviations.
    pub fn undocumented(&self) -> Vec<&Difference> {
        self.differences
            .iter()
            .filter(|d| d.deviation.is_none())
            .collect()
    }

    /// A readable report.
    pub fn to_text(&self) -> String {
        let mut out = format!("A: {}\nB: {}\n", self.a, self.b);
        for d in &self.differences {
            let tag = if d.deviation.is_some() {
                "documented"
            } else {
                "DIFFERENT"
            };
            out.push_str(&format!(
                "{tag} {} [{}]\n  A: {}\n  B: {}\n",
                d.check, d.key, d.a, d.b
            ));
            if let Some(reason) = d.deviation {
                out.push_str(&format!("  why: {reason}\n"));
            }
        }
        out.push_str(&format!(
            "{} observations compared, {} differences ({} undocumented)\n",
            self.compared,
            self.differences.len(),
            self.undocumented().len()
        ));
        out
    }
}

/// Masks what legitimately differs between runs: object and exec ids, the run id, the
/// per-check log directory, streaming URLs.
pub fn mask(text: &str, run_id: &str) -> String {
    static PATTERNS: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        [
            (r"[0-9a-f]{64}", "<id>"),
            (r"/[^\s]*cri-conformance-logs-[A-Za-z0-9_]+", "<logs>"),
            (
                r"http://127\.0\.0\.1:[0-9]+/(exec|attach|portforward)/[A-Za-z0-9_-]{8}",
                "<stream-url>",
            ),
        ]
        .into_iter()
        .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, r)))
        .collect()
    });
    let mut masked = if run_id.is_empty() {
        text.to_owned()
    } else {
        text.replace(run_id, "<run>")
    };
    for (re, replacement) in patterns {
        masked = re.replace_all(&masked, *replacement).into_owned();
    }
    masked
}

fn observations(report: &Report) -> BTreeMap<(String, String), String> {
    let mut map = BTreeMap::new();
    for check in &report.checks {
        let outcome = match &check.outcome {
            Outcome::Pass => "pass".to_owned(),
            Outcome::Fail(_) => "fail".to_owned(),
            Outcome::Skip(why) => format!("skip: {why}"),
        };
        map.insert((check.name.clone(), "outcome".to_owned()), outcome);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (key, value) in &check.observations {
            let n = seen.entry(key.clone()).or_default();
            *n += 1;
            let key = if *n == 1 {
                key.clone()
            } else {
                format!("{key}#{n}")
            };
            map.insert((check.name.clone(), key), value.clone());
        }
    }
    map
}

fn deviation(check: &str, key: &str) -> Option<&'static str> {
    DEVIATIONS
        .iter()
        .find(|(c, k, _)| *c == check && (*k == "*" || *k == key))
        .map(|(_, _, why)| *why)
}

/// Compares two finished reports (each masked with its own run id).
pub fn diff(a: &Report, a_run: &str, b: &Report, b_run: &str) -> CompareReport {
    let a_obs = observations(a);
    let b_obs = observations(b);
    let mut keys: Vec<&(String, String)> = a_obs.keys().chain(b_obs.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut differences = Vec::new();
    for key in &keys {
        let av = a_obs
            .get(*key)
            .map(|v| mask(v, a_run))
            .unwrap_or_else(|| "<not observed>".into());
        let bv = b_obs
            .get(*key)
            .map(|v| mask(v, b_run))
            .unwrap_or_else(|| "<not observed>".into());
        if av != bv {
            differences.push(Difference {
                check: key.0.clone(),
                key: key.1.clone(),
                a: av,
                b: bv,
                deviation: deviation(&key.0, &key.1),
            });
        }
    }
    CompareReport {
        a: a.target.clone(),
        b: b.target.clone(),
        compared: keys.len(),
        differences,
    }
}

/// Runs the selected checks on both targets (A first, then B) and compares them.
pub async fn compare(
    checks: &[Check],
    a: (&cri_client::Client, &Target),
    b: (&cri_client::Client, &Target),
    pattern: Option<&str>,
) -> (Report, Report, CompareReport) {
    let a_run = runner::new_run_id();
    let b_run = format!("{a_run}b");
    let selected: Vec<Check> = checks
        .iter()
        .filter(|c| runner::selected(c, pattern))
        .copied()
        .collect();
    let mut a_report = Report {
        target: a.1.endpoint.clone(),
        profile: a.1.profile.to_string(),
        checks: Vec::new(),
    };
    let mut b_report = Report {
        target: b.1.endpoint.clone(),
        profile: b.1.profile.to_string(),
        checks: Vec::new(),
    };
    for check in &selected {
        a_report
            .checks
            .push(runner::run_check(check, a.0, a.1, &a_run).await);
        b_report
            .checks
            .push(runner::run_check(check, b.0, b.1, &b_run).await);
    }
    let report = diff(&a_report, &a_run, &b_report, &b_run);
    (a_report, b_report, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_ids_run_ids_log_dirs_and_stream_urls() {
        let id = "a".repeat(64);
        let text = format!(
            "an error occurred when try to find container \"{id}\": not found; pod-r1234-2 at /tmp/cri-conformance-logs-AbC123/x.log http://127.0.0.1:4242/exec/aB-_x9Zz"
        );
        assert_eq!(
            mask(&text, "r1234"),
            "an error occurred when try to find container \"<id>\": not found; pod-<run>-2 at <logs>/x.log <stream-url>"
        );
    }
}
