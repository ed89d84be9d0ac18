//! The checks, one module per area. Every check creates uniquely named, labelled
//! objects through the [`Ctx`] (which removes them afterwards, also
//! when the check fails) and never touches anything else.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;
use tonic::Status;

use crate::check::{Area, Check, Failure};
use crate::ctx::Ctx;

mod container_lifecycle;
mod errors;
mod exec;
mod exec_limits;
mod idempotence;
mod ids_and_names;
mod images;
mod listing;
mod logs;
mod runtime_info;
mod sandbox;
mod security_context;
mod stop_semantics;
mod streaming;

/// Every check, grouped by area in a stable order.
pub fn all() -> Vec<Check> {
    let mut checks = Vec::new();
    checks.extend(runtime_info::checks());
    checks.extend(sandbox::checks());
    checks.extend(container_lifecycle::checks());
    checks.extend(stop_semantics::checks());
    checks.extend(ids_and_names::checks());
    checks.extend(listing::checks());
    checks.extend(exec::checks());
    checks.extend(exec_limits::checks());
    checks.extend(logs::checks());
    checks.extend(images::checks());
    checks.extend(idempotence::checks());
    checks.extend(errors::checks());
    checks.extend(streaming::checks());
    checks.extend(security_context::checks());
    checks
}

/// The checks of one area.
pub fn of_area(area: Area) -> Vec<Check> {
    all().into_iter().filter(|c| c.area == area).collect()
}

/// `(stdout, stderr, exit_code)` of an ExecSync response, as text.
fn texts(response: &cri_proto::v1::ExecSyncResponse) -> (String, String, i32) {
    (
        String::from_utf8_lossy(&response.stdout).into_owned(),
        String::from_utf8_lossy(&response.stderr).into_owned(),
        response.exit_code,
    )
}

/// A command that keeps a container running for the length of any check.
const SLEEP_FOREVER: &[&str] = &["sleep", "100000"];

/// What an empty id or prefix is called in every RPC that takes one: `Prefix can't be
/// empty` in containerd 1.6, `prefix can't be empty` in 2.3.
fn empty_prefix(ctx: &Ctx) -> &'static str {
    ctx.per_profile("Prefix can't be empty", "prefix can't be empty")
}

/// What runc/OCI failure texts end with: `: unknown` in containerd 1.6, nothing in 2.3.
fn oci_suffix(ctx: &Ctx) -> &'static str {
    ctx.per_profile(": unknown", "")
}

/// Replaces every quoted 64-hex id (for example an exec id, which the check cannot know)
/// in an error message with `"<id>"`.
fn mask_quoted_ids<T>(result: Result<T, Status>) -> Result<T, Status> {
    static QUOTED_ID: OnceLock<Option<Regex>> = OnceLock::new();
    let re = QUOTED_ID.get_or_init(|| Regex::new("\"[0-9a-f]{64}\"").ok());
    result.map_err(|s| match re {
        Some(re) => Status::new(
            s.code(),
            re.replace_all(s.message(), "\"<id>\"").into_owned(),
        ),
        None => s,
    })
}

/// Whether `id` is 64 lowercase hex characters.
fn is_hex_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a JSON text from a verbose `info` map.
fn parse_json(what: &str, text: &str) -> Result<serde_json::Value, Failure> {
    serde_json::from_str(text)
        .map_err(|e| Failure::Mismatch(format!("{what} is not JSON ({e}): {text:.200}")))
}

/// The sorted keys of a JSON object (empty for anything else).
fn json_keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// One line of a CRI log file: `<time> <stream> <tag> <content>`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LogLine {
    time: String,
    stream: String,
    tag: String,
    content: String,
}

impl LogLine {
    /// `(stream, tag, content)`: the line without its timestamp.
    fn parts(&self) -> (String, String, String) {
        (self.stream.clone(), self.tag.clone(), self.content.clone())
    }

    /// `(stream, tag, content length)`, for long lines.
    fn shape(&self) -> (String, String, usize) {
        (self.stream.clone(), self.tag.clone(), self.content.len())
    }
}

/// Parses the complete (newline-terminated) lines of a CRI log file.
fn parse_log(text: &str) -> Vec<LogLine> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => return Vec::new(),
    };
    complete
        .split('\n')
        .map(|line| {
            let mut fields = line.splitn(4, ' ');
            let mut next = || fields.next().unwrap_or_default().to_owned();
            LogLine {
                time: next(),
                stream: next(),
                tag: next(),
                content: next(),
            }
        })
        .collect()
}

/// Reads a CRI log file, waiting (bounded, 5 s) until it holds at least `lines` complete
/// lines: the runtime's log writer may still be flushing when the container is reported
/// exited. Returns what is there after the wait either way.
async fn read_log(path: &Path, lines: usize) -> Vec<LogLine> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let parsed = parse_log(&text);
        if parsed.len() >= lines || tokio::time::Instant::now() > deadline {
            return parsed;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The prefix `ids` share if two of them start with the same character: the first such
/// character. Two objects the check created share it, so the prefix is ambiguous on the
/// whole runtime, whatever else exists there.
fn shared_first_char(ids: &[String]) -> Option<String> {
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            if a.get(..1).is_some() && a.get(..1) == b.get(..1) {
                return a.get(..1).map(str::to_owned);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_log_splits_time_stream_tag_and_content_and_keeps_inner_spaces() {
        let lines = parse_log(
            "2026-11-23T18:22:44.85Z stdout F a b \n2026-11-23T18:22:45Z stderr P \npartial",
        );
        assert_eq!(
            lines,
            vec![
                LogLine {
                    time: "2026-11-23T18:22:44.85Z".into(),
                    stream: "stdout".into(),
                    tag: "F".into(),
                    content: "a b ".into()
                },
                LogLine {
                    time: "2026-11-23T18:22:45Z".into(),
                    stream: "stderr".into(),
                    tag: "P".into(),
                    content: String::new()
                },
            ]
        );
    }

    #[test]
    fn shared_first_char_finds_two_ids_with_the_same_first_character() {
        let ids = vec!["ab".to_owned(), "cd".to_owned(), "ce".to_owned()];
        assert_eq!(shared_first_char(&ids), Some("c".to_owned()));
        assert_eq!(shared_first_char(&ids[..2]), None);
    }

    #[test]
    fn mask_quoted_ids_replaces_only_quoted_64_hex_ids() {
        let id = "a".repeat(64);
        let result: Result<(), Status> = Err(Status::unknown(format!("exec \"{id}\": {id}")));
        let masked = mask_quoted_ids(result)
            .err()
            .map(|s| s.message().to_owned());
        assert_eq!(masked, Some(format!("exec \"<id>\": {id}")));
    }

    #[test]
    fn every_check_name_is_unique_and_there_are_at_least_80() {
        let all = all();
        let mut names: Vec<String> = all.iter().map(|c| c.full_name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.len() >= 80, "{}", all.len());
    }
}
