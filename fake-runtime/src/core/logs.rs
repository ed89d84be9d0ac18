//! CRI container log files, written the way containerd 1.6's CRI plugin writes them
//! (reference §7).
//!
//! Every line of a container's stdout and stderr becomes one record
//!
//! ```text
//! <RFC3339Nano UTC time> <stdout|stderr> <F|P> <content>\n
//! ```
//!
//! * a complete line is `F`; a line longer than the maximum line size (16384 bytes by
//!   default, containerd's `max_container_log_line_size`) is cut into `P` records of
//!   exactly that size, and the rest is the `F` record (`16384` bytes + `\n` is one `F`,
//!   `16385` is `P` 16384 then `F` 1);
//! * a `\r\n` ending counts as `\n` (the `\r` is dropped); any other `\r` is content;
//! * output without a final newline stays buffered while the container runs and is written
//!   at end of stream as one `P` record (the pieces concatenated);
//! * an empty line is `<ts> stdout F ` (the trailing space stays);
//! * every record is written with one write, so records of two streams never interleave.
//!
//! The file is created with mode 0640 (missing parent directories too), opened for
//! appending, and never deleted by this module. [`ContainerLog::reopen`] implements
//! ReopenContainerLog: the path is opened again, and later records go to the new file.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::process::pipe::OutputReader;

/// containerd's default `max_container_log_line_size`.
pub const DEFAULT_MAX_LINE_SIZE: usize = 16384;

/// The mode of a newly created log file.
const LOG_FILE_MODE: u32 = 0o640;
/// The mode of missing parent directories.
const LOG_DIR_MODE: u32 = 0o755;

/// Which output stream a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// `stdout` (also everything of a tty container).
    Stdout,
    /// `stderr`.
    Stderr,
}

impl LogStream {
    /// The stream's name in the log file.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
}

/// Whether a record ends its line (`F`) or is a piece of a longer one (`P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTag {
    /// `F`: the last (or only) record of a line.
    Full,
    /// `P`: a piece of a line that is continued, or an unterminated tail.
    Partial,
}

impl LogTag {
    /// The tag's letter in the log file.
    pub fn as_str(self) -> &'static str {
        match self {
            LogTag::Full => "F",
            LogTag::Partial => "P",
        }
    }
}

/// One container's log file: a cheap-to-clone shared handle.
///
/// Records of all streams go to the currently open file; [`ContainerLog::reopen`]
/// switches to a freshly opened file at the same path.
#[derive(Clone, Debug)]
pub struct ContainerLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    max_line_size: usize,
    file: Mutex<File>,
}

impl ContainerLog {
    /// Creates the file (and missing parent directories) with mode 0640, opened for
    /// appending, with the default maximum line size of 16384 bytes.
    pub fn open(path: &Path) -> io::Result<ContainerLog> {
        Self::open_with_max_line_size(path, DEFAULT_MAX_LINE_SIZE)
    }

    /// Like [`ContainerLog::open`] with another maximum line size (`0` = unlimited, as
    /// containerd's negative setting).
    pub fn open_with_max_line_size(path: &Path, max_line_size: usize) -> io::Result<ContainerLog> {
        let file = open_log_file(path)?;
        Ok(ContainerLog {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                max_line_size,
                file: Mutex::new(file),
            }),
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The longest record content; longer lines are split into `P` records.
    pub fn max_line_size(&self) -> usize {
        self.inner.max_line_size
    }

    /// ReopenContainerLog: opens the path again (creating it if it was moved away); later
    /// records go there. Records before this call went to the old file.
    pub fn reopen(&self) -> io::Result<()> {
        let file = open_log_file(&self.inner.path)?;
        *self.lock_file() = file;
        Ok(())
    }

    /// Spawns a task that copies `reader` into the file as CRI records of `stream`, until
    /// end of stream (when an unterminated tail is flushed as a `P` record). Await the
    /// handle to know every record is on disk. Write errors are logged and the copy goes on,
    /// so the process never blocks on a broken log.
    pub fn copy_stream(
        &self,
        stream: LogStream,
        mut reader: OutputReader,
    ) -> tokio::task::JoinHandle<()> {
        let mut writer = self.stream_writer(stream);
        tokio::spawn(async move {
            while let Some(chunk) = reader.next().await {
                writer.push(&chunk);
            }
            writer.finish();
        })
    }

    /// A writer of `stream`'s output as CRI records into this log, for a copier that
    /// reads the stream itself (the container's output fan-out does): no task and no
    /// pipe of its own.
    pub(crate) fn stream_writer(&self, stream: LogStream) -> StreamWriter {
        StreamWriter {
            lines: LineBuffer::new(self.max_line_size()),
            log: self.clone(),
            stream,
        }
    }

    /// Writes one record (`content` must not contain `\n`) with the current time, in one write.
    pub fn write_record(&self, stream: LogStream, tag: LogTag, content: &[u8]) -> io::Result<()> {
        let timestamp = rfc3339_nano(SystemTime::now());
        let mut record = Vec::with_capacity(timestamp.len() + content.len() + 12);
        record.extend_from_slice(timestamp.as_bytes());
        record.push(b' ');
        record.extend_from_slice(stream.as_str().as_bytes());
        record.push(b' ');
        record.extend_from_slice(tag.as_str().as_bytes());
        record.push(b' ');
        record.extend_from_slice(content);
        record.push(b'\n');
        self.lock_file().write_all(&record)
    }

    fn write_record_logged(&self, stream: LogStream, tag: LogTag, content: &[u8]) {
        if let Err(error) = self.write_record(stream, tag, content) {
            tracing::warn!(
                path = %self.inner.path.display(),
                stream = stream.as_str(),
                %error,
                "failed to write container log record"
            );
        }
    }

    fn lock_file(&self) -> MutexGuard<'_, File> {
        // A panic while holding the lock cannot leave a File inconsistent.
        self.inner
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Where containerd puts a container's log: `filepath.Join(log_directory, log_path)`,
/// or `""` (no log) when either is empty. Go's `Join` cleans the result lexically, so
/// `a//b`, `./b` and `x/../b` collapse, an absolute `log_path` lands *under* the
/// directory, and `..` may climb out of it, as it does in containerd.
///
/// ```
/// use cri_fake::logs::cri_log_path;
///
/// assert_eq!(cri_log_path("/var/log/pods/p/", "c/0.log"), "/var/log/pods/p/c/0.log");
/// assert_eq!(cri_log_path("/logs", "/abs/0.log"), "/logs/abs/0.log");
/// assert_eq!(cri_log_path("/logs/p", "../../../../x.log"), "/x.log");
/// assert_eq!(cri_log_path("", "0.log"), "");
/// ```
pub fn cri_log_path(log_directory: &str, log_path: &str) -> String {
    if log_directory.is_empty() || log_path.is_empty() {
        return String::new();
    }
    crate::process::vfs::clean(&format!("{log_directory}/{log_path}"))
}

/// Opens `path` for appending, creating it (mode 0640) and its parent directories.
fn open_log_file(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(LOG_DIR_MODE)
            .create(parent)?;
    }
    match OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(LOG_FILE_MODE)
        .open(path)
    {
        Ok(file) => {
            // The mode given to open is reduced by the umask; containerd's files are 0640.
            file.set_permissions(Permissions::from_mode(LOG_FILE_MODE))?;
            Ok(file)
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => OpenOptions::new()
            .append(true)
            .create(true)
            .mode(LOG_FILE_MODE)
            .open(path),
        Err(error) => Err(error),
    }
}

/// One output stream of a container being written into its log as CRI records (made by
/// [`ContainerLog::stream_writer`]). Write errors are logged and writing goes on.
#[derive(Debug)]
pub(crate) struct StreamWriter {
    lines: LineBuffer,
    log: ContainerLog,
    stream: LogStream,
}

impl StreamWriter {
    /// Writes the records `chunk` completes.
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        let (log, stream) = (&self.log, self.stream);
        self.lines.push(chunk, &mut |tag: LogTag, content: &[u8]| {
            log.write_record_logged(stream, tag, content)
        });
    }

    /// The stream ended: writes an unterminated tail as a `P` record.
    pub(crate) fn finish(mut self) {
        let (log, stream) = (&self.log, self.stream);
        self.lines.finish(&mut |tag: LogTag, content: &[u8]| {
            log.write_record_logged(stream, tag, content)
        });
    }
}

/// Cuts a byte stream into CRI records, like containerd's `redirectLogs`.
#[derive(Debug)]
struct LineBuffer {
    /// Bytes of the current, not yet terminated line that are not written yet.
    pending: Vec<u8>,
    /// The maximum record content (`0` = unlimited).
    max: usize,
}

impl LineBuffer {
    fn new(max: usize) -> Self {
        Self {
            pending: Vec::new(),
            max,
        }
    }

    /// Takes the next chunk; emits the records it completes.
    fn push(&mut self, chunk: &[u8], emit: &mut impl FnMut(LogTag, &[u8])) {
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(newline) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + newline;
            let line = &self.pending[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            emit_split(line, LogTag::Full, self.max, emit);
            start = end + 1;
        }
        if self.max > 0 {
            // A line longer than the maximum is written in pieces as it grows. A trailing
            // `\r` may be half of a `\r\n`, so it does not count yet.
            loop {
                let rest = &self.pending[start..];
                let countable = rest.len() - usize::from(rest.ends_with(b"\r"));
                if countable <= self.max {
                    break;
                }
                emit(LogTag::Partial, &rest[..self.max]);
                start += self.max;
            }
        }
        self.pending.drain(..start);
    }

    /// End of stream: an unterminated tail becomes `P` records.
    fn finish(&mut self, emit: &mut impl FnMut(LogTag, &[u8])) {
        if !self.pending.is_empty() {
            emit_split(&self.pending, LogTag::Partial, self.max, emit);
            self.pending.clear();
        }
    }
}

/// Emits `line` as `P` records of `max` bytes and a last record tagged `last`.
fn emit_split(mut line: &[u8], last: LogTag, max: usize, emit: &mut impl FnMut(LogTag, &[u8])) {
    while max > 0 && line.len() > max {
        emit(LogTag::Partial, &line[..max]);
        line = &line[max..];
    }
    emit(last, line);
}

/// Formats a time like Go's `time.RFC3339Nano` in UTC: trailing zeros of the fraction are
/// trimmed, and a zero fraction is left out (`2026-11-23T18:22:44.850987597Z`,
/// `…:48.5071719Z`, `…:48Z`).
pub fn rfc3339_nano(t: SystemTime) -> String {
    let (seconds, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => (after.as_secs() as i64, after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            let seconds = -(before.as_secs() as i64);
            match before.subsec_nanos() {
                0 => (seconds, 0),
                nanos => (seconds - 1, 1_000_000_000 - nanos),
            }
        }
    };
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let second_of_day = seconds.rem_euclid(86_400);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if nanos != 0 {
        let fraction = format!(".{nanos:09}");
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {

    #[test]
    fn clean_collapses_like_go_filepath_clean() {
        for (path, clean) in [
            ("", "."),
            ("/", "/"),
            ("a//b/./c/", "a/b/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/../../b", "../b"),
            ("/a/b/../../..", "/"),
            ("./", "."),
            ("a/..", "."),
        ] {
            assert_eq!(crate::process::vfs::clean(path), clean, "{path:?}");
        }
    }

    use super::*;
    use crate::process::pipe::Output;
    use bytes::Bytes;
    use std::time::Duration;

    fn at(seconds: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(seconds, nanos)
    }

    #[test]
    fn rfc3339_nano_trims_trailing_zeros_of_the_fraction() {
        assert_eq!(
            rfc3339_nano(at(1_795_458_164, 850_987_597)),
            "2026-11-23T18:22:44.850987597Z"
        );
        assert_eq!(
            rfc3339_nano(at(1_795_458_168, 507_171_900)),
            "2026-11-23T18:22:48.5071719Z"
        );
        assert_eq!(
            rfc3339_nano(at(1_795_458_168, 410_000_000)),
            "2026-11-23T18:22:48.41Z"
        );
        assert_eq!(
            rfc3339_nano(at(1_795_458_168, 1)),
            "2026-11-23T18:22:48.000000001Z"
        );
    }

    #[test]
    fn rfc3339_nano_leaves_out_a_zero_fraction() {
        assert_eq!(rfc3339_nano(at(1_795_458_168, 0)), "2026-11-23T18:22:48Z");
        assert_eq!(rfc3339_nano(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn rfc3339_nano_handles_leap_days_and_times_before_the_epoch() {
        assert_eq!(rfc3339_nano(at(951_782_400, 0)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_nano(at(4_107_542_399, 0)), "2100-02-28T23:59:59Z");
        assert_eq!(
            rfc3339_nano(UNIX_EPOCH - Duration::new(1, 500_000_000)),
            "1969-12-31T23:59:58.5Z"
        );
    }

    /// The records a byte sequence becomes, with the tail flushed at end of stream.
    fn split(chunks: &[&[u8]], max: usize) -> Vec<(LogTag, Vec<u8>)> {
        let mut records = Vec::new();
        let mut buffer = LineBuffer::new(max);
        let mut emit = |tag: LogTag, content: &[u8]| records.push((tag, content.to_vec()));
        for chunk in chunks {
            buffer.push(chunk, &mut emit);
        }
        buffer.finish(&mut emit);
        records
    }

    fn sizes(records: &[(LogTag, Vec<u8>)]) -> Vec<(&'static str, usize)> {
        records
            .iter()
            .map(|(tag, c)| (tag.as_str(), c.len()))
            .collect()
    }

    #[test]
    fn an_unterminated_tail_is_written_only_at_end_of_stream_as_one_p_record() {
        let mut records: Vec<(LogTag, Vec<u8>)> = Vec::new();
        let mut buffer = LineBuffer::new(DEFAULT_MAX_LINE_SIZE);
        let mut emit = |tag: LogTag, content: &[u8]| records.push((tag, content.to_vec()));
        buffer.push(b"nonl", &mut emit);
        buffer.push(b"more", &mut emit);
        buffer.finish(&mut emit);
        assert_eq!(records, [(LogTag::Partial, b"nonlmore".to_vec())]);
    }

    #[test]
    fn line_splitting_matches_containerd_at_the_16384_boundaries() {
        let line = |n: usize| {
            let mut bytes = vec![b'x'; n];
            bytes.push(b'\n');
            bytes
        };
        assert_eq!(sizes(&split(&[&line(16384)], 16384)), [("F", 16384)]);
        assert_eq!(
            sizes(&split(&[&line(16385)], 16384)),
            [("P", 16384), ("F", 1)]
        );
        assert_eq!(
            sizes(&split(&[&line(40000)], 16384)),
            [("P", 16384), ("P", 16384), ("F", 7232)]
        );
        assert_eq!(
            sizes(&split(&[&line(32768)], 16384)),
            [("P", 16384), ("F", 16384)]
        );
        let no_newline = vec![b'x'; 20000];
        assert_eq!(
            sizes(&split(&[&no_newline], 16384)),
            [("P", 16384), ("P", 3616)]
        );
    }

    #[test]
    fn lines_split_across_chunks_give_the_same_records() {
        let whole = {
            let mut bytes = vec![b'y'; 40000];
            bytes.extend_from_slice(b"\nshort\n");
            bytes
        };
        let pieces: Vec<&[u8]> = whole.chunks(777).collect();
        assert_eq!(split(&pieces, 16384), split(&[&whole], 16384));
        assert_eq!(
            sizes(&split(&pieces, 16384)),
            [("P", 16384), ("P", 16384), ("F", 7232), ("F", 5)]
        );
    }

    #[test]
    fn crlf_becomes_a_plain_line_end_even_across_chunks_and_at_the_size_limit() {
        assert_eq!(split(&[b"a\r\n"], 16384), [(LogTag::Full, b"a".to_vec())]);
        assert_eq!(
            split(&[b"a\r", b"\n"], 16384),
            [(LogTag::Full, b"a".to_vec())]
        );
        assert_eq!(
            split(&[b"a\r\r\n"], 16384),
            [(LogTag::Full, b"a\r".to_vec())]
        );
        assert_eq!(
            split(&[b"a\rb\n"], 16384),
            [(LogTag::Full, b"a\rb".to_vec())]
        );
        // Four bytes and "\r" pending: the "\r" may start "\r\n", so no P record yet.
        assert_eq!(
            split(&[b"abcd\r", b"\n"], 4),
            [(LogTag::Full, b"abcd".to_vec())]
        );
        assert_eq!(
            split(&[b"abcd\r", b"e\n"], 4),
            [
                (LogTag::Partial, b"abcd".to_vec()),
                (LogTag::Full, b"\re".to_vec())
            ]
        );
        // At end of stream a lone "\r" is content.
        assert_eq!(
            split(&[b"ab\r"], 16384),
            [(LogTag::Partial, b"ab\r".to_vec())]
        );
    }

    #[test]
    fn empty_lines_and_tabs_are_kept() {
        assert_eq!(
            split(&[b"\n\ttab\there\n"], 16384),
            [
                (LogTag::Full, Vec::new()),
                (LogTag::Full, b"\ttab\there".to_vec())
            ]
        );
    }

    #[test]
    fn a_zero_maximum_never_splits() {
        let long = vec![b'z'; 50000];
        assert_eq!(sizes(&split(&[&long, b"\n"], 0)), [("F", 50000)]);
    }

    /// `(stream, tag, content)` of every record of a log file, checking each timestamp.
    fn records(path: &Path) -> Vec<(String, String, String)> {
        let timestamp =
            regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$").unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        text.lines()
            .map(|line| {
                let mut fields = line.splitn(4, ' ');
                let (ts, stream, tag, content) = (
                    fields.next().unwrap(),
                    fields.next().unwrap(),
                    fields.next().unwrap(),
                    fields.next().unwrap(),
                );
                assert!(timestamp.is_match(ts), "timestamp {ts:?}");
                (stream.to_string(), tag.to_string(), content.to_string())
            })
            .collect()
    }

    fn record(stream: &str, tag: &str, content: &str) -> (String, String, String) {
        (stream.to_string(), tag.to_string(), content.to_string())
    }

    /// Copies `chunks` through a pipe into the log as `stream` and waits until all is written.
    async fn copy(log: &ContainerLog, stream: LogStream, chunks: &[&[u8]]) {
        let (output, reader) = Output::pipe();
        let handle = log.copy_stream(stream, reader);
        for chunk in chunks {
            output.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        drop(output);
        handle.await.unwrap();
    }

    #[tokio::test]
    async fn stdout_and_stderr_lines_are_written_in_the_cri_format() {
        let dir = tempfile::tempdir().unwrap();
        let log = ContainerLog::open(&dir.path().join("main.log")).unwrap();
        copy(&log, LogStream::Stdout, &[b"hi\n", b"\n", b"a\r\n"]).await;
        copy(&log, LogStream::Stderr, &[b"err\n"]).await;
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(
            text.contains(" stdout F \n"),
            "empty line keeps its trailing space: {text:?}"
        );
        assert_eq!(
            records(log.path()),
            [
                record("stdout", "F", "hi"),
                record("stdout", "F", ""),
                record("stdout", "F", "a"),
                record("stderr", "F", "err"),
            ]
        );
    }

    #[tokio::test]
    async fn long_lines_on_stderr_are_split_into_p_then_f_records_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let log = ContainerLog::open(&dir.path().join("long.log")).unwrap();
        let mut line = vec![b'e'; 20000];
        line.push(b'\n');
        copy(&log, LogStream::Stderr, &[&line[..5000], &line[5000..]]).await;
        let got: Vec<(String, String, usize)> = records(log.path())
            .into_iter()
            .map(|(stream, tag, content)| (stream, tag, content.len()))
            .collect();
        assert_eq!(
            got,
            [
                ("stderr".to_string(), "P".to_string(), 16384),
                ("stderr".to_string(), "F".to_string(), 3616)
            ]
        );
    }

    #[tokio::test]
    async fn an_unterminated_tail_is_flushed_as_p_at_end_of_stream() {
        let dir = tempfile::tempdir().unwrap();
        let log = ContainerLog::open(&dir.path().join("tail.log")).unwrap();
        copy(&log, LogStream::Stdout, &[b"nonl", b"more"]).await;
        assert_eq!(records(log.path()), [record("stdout", "P", "nonlmore")]);
    }

    #[tokio::test]
    async fn a_custom_maximum_line_size_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let log = ContainerLog::open_with_max_line_size(&dir.path().join("m.log"), 4).unwrap();
        assert_eq!(log.max_line_size(), 4);
        copy(&log, LogStream::Stdout, &[b"abcdefghij\n"]).await;
        assert_eq!(
            records(log.path()),
            [
                record("stdout", "P", "abcd"),
                record("stdout", "P", "efgh"),
                record("stdout", "F", "ij")
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lines_of_two_streams_never_interleave_within_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = ContainerLog::open(&dir.path().join("both.log")).unwrap();
        let lines = |name: &str| -> Vec<String> {
            (0..500)
                .map(|i| format!("{name}-{i:04}-{}", name.repeat(100)))
                .collect()
        };
        let chunks = |lines: &[String]| -> Vec<Vec<u8>> {
            lines
                .iter()
                .map(|line| format!("{line}\n").into_bytes())
                .collect()
        };
        let (out, err) = (lines("out"), lines("err"));
        let (out_chunks, err_chunks) = (chunks(&out), chunks(&err));
        let out_refs: Vec<&[u8]> = out_chunks.iter().map(Vec::as_slice).collect();
        let err_refs: Vec<&[u8]> = err_chunks.iter().map(Vec::as_slice).collect();
        tokio::join!(
            copy(&log, LogStream::Stdout, &out_refs),
            copy(&log, LogStream::Stderr, &err_refs)
        );
        let all = records(log.path());
        assert_eq!(all.len(), 1000);
        let of = |stream: &str| -> Vec<String> {
            all.iter()
                .filter(|(s, tag, _)| s == stream && tag == "F")
                .map(|(_, _, content)| content.clone())
                .collect()
        };
        assert_eq!(of("stdout"), out);
        assert_eq!(of("stderr"), err);
    }

    #[test]
    fn the_file_is_created_with_mode_0640_and_nested_parent_directories() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/y.log");
        let log = ContainerLog::open(&path).unwrap();
        assert_eq!(log.path(), path);
        let metadata = std::fs::metadata(&path).unwrap();
        assert!(metadata.is_file());
        assert_eq!(metadata.len(), 0);
        assert_eq!(metadata.permissions().mode() & 0o777, 0o640);
        assert!(
            std::fs::metadata(dir.path().join("sub/dir"))
                .unwrap()
                .is_dir()
        );
    }

    #[tokio::test]
    async fn an_existing_file_is_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.log");
        std::fs::write(&path, "2026-11-23T18:22:44Z stdout F earlier\n").unwrap();
        let log = ContainerLog::open(&path).unwrap();
        copy(&log, LogStream::Stdout, &[b"later\n"]).await;
        assert_eq!(
            records(&path),
            [
                record("stdout", "F", "earlier"),
                record("stdout", "F", "later")
            ]
        );
    }

    #[tokio::test]
    async fn reopen_after_rename_writes_later_lines_to_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.log");
        let moved = dir.path().join("main.log.1");
        let log = ContainerLog::open(&path).unwrap();
        copy(&log, LogStream::Stdout, &[b"before\n"]).await;
        std::fs::rename(&path, &moved).unwrap();
        copy(&log, LogStream::Stdout, &[b"still old\n"]).await;
        assert!(!path.exists());
        log.reopen().unwrap();
        copy(&log, LogStream::Stderr, &[b"after\n"]).await;
        assert_eq!(
            records(&moved),
            [
                record("stdout", "F", "before"),
                record("stdout", "F", "still old")
            ]
        );
        assert_eq!(records(&path), [record("stderr", "F", "after")]);
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[tokio::test]
    async fn reopen_without_a_move_keeps_appending_to_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("same.log");
        let log = ContainerLog::open(&path).unwrap();
        copy(&log, LogStream::Stdout, &[b"one\n"]).await;
        log.reopen().unwrap();
        copy(&log, LogStream::Stdout, &[b"two\n"]).await;
        assert_eq!(
            records(&path),
            [record("stdout", "F", "one"), record("stdout", "F", "two")]
        );
    }

    #[tokio::test]
    async fn clones_share_the_file_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let log = ContainerLog::open(&path).unwrap();
        let clone = log.clone();
        std::fs::rename(&path, dir.path().join("c.log.1")).unwrap();
        clone.reopen().unwrap();
        copy(&log, LogStream::Stdout, &[b"x\n"]).await;
        assert_eq!(records(&path), [record("stdout", "F", "x")]);
    }
}
