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
}

#[derive(Clone, Debug)]
enum Sink {
    Null,
    Pipe(mpsc::Sender<Bytes>),
}

impl Output {
    /// An output that discards everything, like `/dev/null`. It holds no pipe open.
    pub fn null() -> Self {
        Self { sink: Sink::Null }
    }

    /// A new pipe: the writing end and its reader.
    pub fn pipe() -> (Output, OutputReader) {
        let (tx, rx) = mpsc::channel(PIPE_CAPACITY_CHUNKS);
        (
            Self {
                sink: Sink::Pipe(tx),
            },
            OutputReader { rx },
        )
    }

    /// Whether this output discards what is written to it.
    pub fn is_null(&self) -> bool {
        matches!(self.sink, Sink::Null)
    }

    /// Writes one chunk, waiting while the pipe is full. Empty chunks are skipped.
    pub async fn write(&self, data: Bytes) -> Result<(), BrokenPipe> {
        match &self.sink {
            Sink::Null => Ok(()),
            Sink::Pipe(_) if data.is_empty() => Ok(()),
            Sink::Pipe(tx) => tx.send(data).await.map_err(|_| BrokenPipe),
        }
    }
}

/// The reading end of a pipe.
#[derive(Debug)]
pub struct OutputReader {
    rx: mpsc::Receiver<Bytes>,
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
}

#[derive(Debug, Default)]
enum Source {
    /// Reads end-of-file at once (CRI processes have no stdin).
    #[default]
    Empty,
    Buffer(Option<Bytes>),
    Reader(OutputReader),
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
        }
    }

    /// An input fed by the reading end of a pipe (the right side of `|`).
    pub fn from_reader(reader: OutputReader) -> Self {
        Self {
            source: Source::Reader(reader),
        }
    }

    /// The next chunk, or `None` at end-of-file.
    pub async fn read(&mut self) -> Option<Bytes> {
        match &mut self.source {
            Source::Empty => None,
            Source::Buffer(data) => data.take().filter(|d| !d.is_empty()),
            Source::Reader(reader) => reader.next().await,
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
        let pending = tokio::time::timeout(std::time::Duration::from_millis(20), reader.next()).await;
        assert!(pending.is_err(), "stream must stay open while a holder lives");
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
}
