//! Byte streams between simulated processes and whoever reads their output.
//!
//! An [`Output`] is the writing end of a stream (a process's stdout or stderr). Cloning
//! it adds a *holder*, exactly like a duplicated file descriptor: the reading end, an
//! [`OutputReader`], sees end-of-stream only once every holder has been dropped. This is
//! what lets ExecSync wait for a backgrounded child that still holds the exec's stdout
//! (`sh -c 'sleep 20 & echo bg'`) while `sleep 20 >/dev/null 2>&1 &` does not delay it.
//!
//! Pipes are bounded (a few chunks in flight), so a writer that outpaces its reader
//! waits instead of growing memory: `yes` never builds its output in memory.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

/// How many chunks a pipe buffers before the writer waits for the reader.
const PIPE_CAPACITY_CHUNKS: usize = 16;

/// The reader of a pipe has gone away (the writer would get `EPIPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenPipe;

impl std::fmt::Display for BrokenPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Broken pipe")
    }
}

impl std::error::Error for BrokenPipe {}

/// The writing end of a process output stream. Clone it to add a holder.
#[derive(Clone, Debug)]
pub struct Output {
    sink: Sink,
    /// Held by both ends of a pipe counted against a container's budget: the pipe
    /// stays counted while any end lives.
    _lease: Option<Lease>,
}

/// What a counted pipe's ends hold (see [`Output::pipe_with_lease`]).
pub(crate) type Lease = Arc<dyn std::any::Any + Send + Sync>;

#[derive(Clone, Debug)]
enum Sink {
    Null,
    Pipe(mpsc::Sender<Bytes>),
    Custom(Arc<dyn ByteSink>),
}

/// A synchronous destination for an [`Output`], such as a file in a container's
/// filesystem (`echo hi > /tmp/x`).
pub trait ByteSink: Send + Sync + std::fmt::Debug + 'static {
    /// Writes all of `data`.
    fn write(&self, data: &[u8]) -> Result<(), BrokenPipe>;

    /// Whether this sink discards everything (`/dev/null`).
    fn discards(&self) -> bool {
        false
    }
}

/// A synchronous source for an [`Input`], such as a file (`cat < /etc/passwd`).
pub trait ByteSource: Send + Sync + std::fmt::Debug + 'static {
    /// The next chunk, or `None` at end-of-file.
    fn read(&mut self) -> Option<Bytes>;
}

impl Output {
    /// An output that discards everything, like `/dev/null`. It holds no pipe open.
    pub fn null() -> Self {
        Self {
            sink: Sink::Null,
            _lease: None,
        }
    }

    /// A new pipe: the writing end and its reader.
    pub fn pipe() -> (Output, OutputReader) {
        let (tx, rx) = mpsc::channel(PIPE_CAPACITY_CHUNKS);
        (
            Self {
                sink: Sink::Pipe(tx),
                _lease: None,
            },
            OutputReader { rx, _lease: None },
        )
    }

    /// A new pipe whose ends (every clone of the writer, and the reader) hold
    /// `lease`: it is dropped when the last of them is.
    pub(crate) fn pipe_with_lease(lease: Lease) -> (Output, OutputReader) {
        let (tx, rx) = mpsc::channel(PIPE_CAPACITY_CHUNKS);
        (
            Self {
                sink: Sink::Pipe(tx),
                _lease: Some(Arc::clone(&lease)),
            },
            OutputReader {
                rx,
                _lease: Some(lease),
            },
        )
    }

    /// An output writing into `sink` (for example a file). It holds no pipe open.
    pub fn from_sink(sink: Arc<dyn ByteSink>) -> Self {
        Self {
            sink: Sink::Custom(sink),
            _lease: None,
        }
    }

    /// Whether this output discards what is written to it.
    pub fn is_null(&self) -> bool {
        matches!(self.sink, Sink::Null)
    }

    /// Whether this output is the writing end of a pipe.
    pub fn is_pipe(&self) -> bool {
        matches!(self.sink, Sink::Pipe(_))
    }

    /// Writes one chunk, waiting while the pipe is full. Empty chunks are skipped.
    pub async fn write(&self, data: Bytes) -> Result<(), BrokenPipe> {
        match &self.sink {
            Sink::Null => Ok(()),
            Sink::Pipe(_) if data.is_empty() => Ok(()),
            Sink::Pipe(tx) => tx.send(data).await.map_err(|_| BrokenPipe),
            Sink::Custom(sink) => sink.write(&data),
        }
    }
}

impl Default for Output {
    /// A null output.
    fn default() -> Self {
        Output::null()
    }
}

/// The reading end of a pipe.
#[derive(Debug)]
pub struct OutputReader {
    rx: mpsc::Receiver<Bytes>,
    _lease: Option<Lease>,
}

impl OutputReader {
    /// The next chunk, or `None` once every [`Output`] holder has been dropped.
    pub async fn next(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }
}

/// A process's standard input.
#[derive(Debug, Default)]
pub struct Input {
    source: Source,
    /// Bytes read ahead and given back with [`Input::unread`].
    pending: Option<Bytes>,
    /// The terminal this input is (`isatty(0)`): an exec or attach with a tty.
    terminal: Option<Arc<Window>>,
}

/// A terminal's window size (`TIOCGWINSZ`), which the client's resize events set; a
/// new terminal is 0 by 0, as a fresh pty is.
#[derive(Debug, Default)]
pub struct Window {
    /// Rows in the high half, columns in the low half.
    size: std::sync::atomic::AtomicU32,
}

impl Window {
    /// Sets the size.
    pub fn set(&self, rows: u16, cols: u16) {
        let packed = (u32::from(rows) << 16) | u32::from(cols);
        self.size
            .store(packed, std::sync::atomic::Ordering::Relaxed);
    }

    /// (rows, columns).
    pub fn get(&self) -> (u16, u16) {
        let packed = self.size.load(std::sync::atomic::Ordering::Relaxed);
        ((packed >> 16) as u16, packed as u16)
    }
}

#[derive(Debug, Default)]
enum Source {
    /// Reads end-of-file at once (CRI processes have no stdin).
    #[default]
    Empty,
    Buffer(Option<Bytes>),
    Reader(OutputReader),
    Stream(Box<dyn ByteSource>),
    /// One input shared by several holders (a shell and its foreground children).
    Shared(Arc<tokio::sync::Mutex<Input>>),
}

impl Input {
    /// An input at end-of-file, like `/dev/null`.
    pub fn empty() -> Self {
        Self::default()
    }

    /// An input that yields `data` once, then end-of-file.
    pub fn from_bytes(data: impl Into<Bytes>) -> Self {
        Self {
            source: Source::Buffer(Some(data.into())),
            pending: None,
            terminal: None,
        }
    }

    /// An input fed by the reading end of a pipe (the right side of `|`).
    pub fn from_reader(reader: OutputReader) -> Self {
        Self {
            source: Source::Reader(reader),
            pending: None,
            terminal: None,
        }
    }

    /// An input fed by a synchronous source (a file).
    pub fn from_source(source: Box<dyn ByteSource>) -> Self {
        Self {
            source: Source::Stream(source),
            pending: None,
            terminal: None,
        }
    }

    /// Marks this input as a terminal (the stdin of an exec or attach with a tty).
    pub fn into_terminal(self) -> Input {
        self.into_terminal_with(Arc::default())
    }

    /// Marks this input as the terminal whose size is `window`.
    pub fn into_terminal_with(mut self, window: Arc<Window>) -> Input {
        self.terminal = Some(window);
        self
    }

    /// Whether this input is a terminal, like `isatty(0)`; duplicates share it.
    pub fn is_terminal(&self) -> bool {
        self.terminal.is_some()
    }

    /// The terminal's window, when this input is one.
    pub fn window(&self) -> Option<&Arc<Window>> {
        self.terminal.as_ref()
    }

    /// Another handle on this same input, like a duplicated file descriptor: whatever
    /// one handle reads, the others do not see. Turns `self` into a shared input.
    pub fn share(&mut self) -> Input {
        let terminal = self.terminal.clone();
        if let Source::Shared(shared) = &self.source {
            return Input {
                source: Source::Shared(Arc::clone(shared)),
                pending: None,
                terminal,
            };
        }
        let inner = std::mem::take(self);
        let shared = Arc::new(tokio::sync::Mutex::new(inner));
        self.source = Source::Shared(Arc::clone(&shared));
        self.terminal = terminal.clone();
        Input {
            source: Source::Shared(shared),
            pending: None,
            terminal,
        }
    }

    /// Gives `data` back: the next read returns it first.
    pub fn unread(&mut self, data: Bytes) {
        if data.is_empty() {
            return;
        }
        match &self.source {
            Source::Shared(shared) => match shared.try_lock() {
                Ok(mut inner) => inner.unread(data),
                Err(_) => self.pending = Some(data),
            },
            _ => {
                self.pending = Some(match self.pending.take() {
                    Some(rest) => {
                        let mut joined = Vec::with_capacity(data.len() + rest.len());
                        joined.extend_from_slice(&data);
                        joined.extend_from_slice(&rest);
                        Bytes::from(joined)
                    }
                    None => data,
                })
            }
        }
    }

    /// The next chunk, or `None` at end-of-file.
    pub async fn read(&mut self) -> Option<Bytes> {
        if let Some(data) = self.pending.take() {
            return Some(data);
        }
        match &mut self.source {
            Source::Shared(shared) => {
                let shared = Arc::clone(shared);
                let mut inner = shared.lock().await;
                inner.read_direct().await
            }
            _ => self.read_direct().await,
        }
    }

    /// Reads one line (up to and including `\n`, which is kept), or what is left before
    /// end-of-file; `None` at end-of-file. Bytes after the line stay unread.
    pub async fn read_line(&mut self) -> Option<Vec<u8>> {
        self.read_line_bounded(usize::MAX).await
    }

    /// [`Input::read_line`], but a line growing past `max` bytes is returned as soon
    /// as it has: longer than `max` and without its newline (the caller decides what
    /// a line too long to hold means; the rest stays unread).
    pub(crate) async fn read_line_bounded(&mut self, max: usize) -> Option<Vec<u8>> {
        if let Source::Shared(shared) = &self.source {
            let shared = Arc::clone(shared);
            let mut line = Vec::new();
            if let Some(data) = self.pending.take()
                && let Some(done) = take_line(&mut line, data, &mut self.pending, max)
            {
                return Some(done);
            }
            let mut inner = shared.lock().await;
            return inner.read_line_direct(line, max).await;
        }
        self.read_line_direct(Vec::new(), max).await
    }

    async fn read_line_direct(&mut self, mut line: Vec<u8>, max: usize) -> Option<Vec<u8>> {
        loop {
            let chunk = match self.pending.take() {
                Some(data) => Some(data),
                None => self.read_direct().await,
            };
            let Some(data) = chunk else {
                return (!line.is_empty()).then_some(line);
            };
            if let Some(done) = take_line(&mut line, data, &mut self.pending, max) {
                return Some(done);
            }
        }
    }

    /// Reads from a source that is not shared.
    async fn read_direct(&mut self) -> Option<Bytes> {
        if let Some(data) = self.pending.take() {
            return Some(data);
        }
        match &mut self.source {
            Source::Empty => None,
            Source::Buffer(data) => data.take().filter(|d| !d.is_empty()),
            Source::Reader(reader) => reader.next().await,
            Source::Stream(source) => source.read(),
            // A shared input's inner input is never itself shared (see `share`).
            Source::Shared(_) => None,
        }
    }
}

/// Appends `data` to `line` up to the first newline; returns the line when complete
/// (or once longer than `max`), leaving the rest in `pending`.
fn take_line(
    line: &mut Vec<u8>,
    mut data: Bytes,
    pending: &mut Option<Bytes>,
    max: usize,
) -> Option<Vec<u8>> {
    let room = max.saturating_sub(line.len()).saturating_add(1);
    let newline = data.iter().position(|&b| b == b'\n');
    match newline {
        Some(i) if i < room => {
            line.extend_from_slice(&data[..=i]);
            let rest = data.slice(i + 1..);
            if !rest.is_empty() {
                *pending = Some(rest);
            }
            Some(std::mem::take(line))
        }
        _ if data.len() >= room => {
            let rest = data.split_off(room);
            line.extend_from_slice(&data);
            if !rest.is_empty() {
                *pending = Some(rest);
            }
            Some(std::mem::take(line))
        }
        _ => {
            line.extend_from_slice(&data);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reader_sees_end_of_stream_only_after_every_holder_is_dropped() {
        let (out, mut reader) = Output::pipe();
        let held_by_background_child = out.clone();
        out.write(Bytes::from_static(b"bg\n")).await.unwrap();
        drop(out);
        assert_eq!(reader.next().await.unwrap(), Bytes::from_static(b"bg\n"));
        let pending =
            tokio::time::timeout(std::time::Duration::from_millis(20), reader.next()).await;
        assert!(
            pending.is_err(),
            "stream must stay open while a holder lives"
        );
        drop(held_by_background_child);
        assert_eq!(reader.next().await, None);
    }

    #[tokio::test]
    async fn writing_to_a_pipe_whose_reader_is_gone_is_a_broken_pipe() {
        let (out, reader) = Output::pipe();
        drop(reader);
        assert_eq!(out.write(Bytes::from_static(b"x")).await, Err(BrokenPipe));
    }

    #[tokio::test]
    async fn null_output_accepts_everything_and_input_from_bytes_reads_once() {
        assert_eq!(Output::null().write(Bytes::from_static(b"x")).await, Ok(()));
        let mut input = Input::from_bytes("abc");
        assert_eq!(input.read().await.unwrap(), Bytes::from_static(b"abc"));
        assert_eq!(input.read().await, None);
        assert_eq!(Input::empty().read().await, None);
    }

    #[tokio::test]
    async fn shared_input_handles_read_one_stream_and_unread_bytes_come_back_first() {
        let mut original = Input::from_bytes("one\ntwo\nthree");
        let mut child = original.share();
        assert_eq!(child.read_line().await.unwrap(), b"one\n");
        assert_eq!(original.read_line().await.unwrap(), b"two\n");
        assert_eq!(child.read_line().await.unwrap(), b"three");
        assert_eq!(original.read_line().await, None);
        let mut plain = Input::from_bytes("xyz");
        let first = plain.read().await.unwrap();
        plain.unread(first.slice(1..));
        assert_eq!(plain.read().await.unwrap(), Bytes::from_static(b"yz"));
        assert_eq!(plain.read().await, None);
    }

    #[tokio::test]
    async fn a_bounded_line_read_stops_one_byte_past_the_bound_and_keeps_the_rest() {
        let mut input = Input::from_bytes("abcdef\nxy\n");
        assert_eq!(input.read_line_bounded(3).await.unwrap(), b"abcd");
        assert_eq!(input.read_line_bounded(3).await.unwrap(), b"ef\n");
        assert_eq!(input.read_line_bounded(2).await.unwrap(), b"xy\n");
        assert_eq!(input.read_line_bounded(2).await, None);
    }
}
