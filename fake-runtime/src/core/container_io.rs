//! A container's main-process stdio as containerd's `ContainerIO` holds it: stdin
//! kept open for attach when the config asks for it (`stdin`), and stdout/stderr
//! fanned out to the CRI log and to every attached client.
//!
//! Attach follows containerd (`internal/cri/io/container_io.go`): output goes to the
//! log whether or not anyone is attached; a client's stdin is copied into the
//! container's; when that client's stdin ends, `stdin_once` without a tty closes the
//! container's stdin (the process reads end-of-file), otherwise the client detaches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::core::logs::{LogStream, StreamWriter};
use crate::process::pipe::{Output, OutputReader, Window};

/// One attached client's output channel.
#[derive(Debug)]
struct Attached {
    id: u64,
    out: mpsc::Sender<(LogStream, Bytes)>,
    stdout: bool,
    stderr: bool,
}

/// The main process's streams, shared by the log copiers and attach sessions.
#[derive(Debug)]
pub struct ContainerIo {
    tty: bool,
    stdin_once: bool,
    /// The writing end of the main process's stdin (`None` without `stdin`, or
    /// once closed).
    stdin: Mutex<Option<Output>>,
    /// A terminal's echo into stdout; released when the main process exits so the
    /// output pipes can close.
    echo: Mutex<Option<Output>>,
    attached: Mutex<Vec<Attached>>,
    next_id: AtomicU64,
    /// The tty's window, which attached clients resize.
    window: Option<Arc<Window>>,
}

/// An attach session's registration; dropping it detaches.
#[derive(Debug)]
pub struct Attachment<'a> {
    io: &'a ContainerIo,
    id: u64,
}

impl Drop for Attachment<'_> {
    fn drop(&mut self) {
        self.io.detach(self.id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ContainerIo {
    /// The streams of a container with `tty` and `stdin_once` from its config;
    /// `stdin` is the writing end of its stdin pipe (when `stdin` is set) and `echo` a
    /// handle on its stdout (for a tty's echo).
    pub fn new(
        tty: bool,
        stdin_once: bool,
        stdin: Option<Output>,
        echo: Option<Output>,
        window: Option<Arc<Window>>,
    ) -> Self {
        ContainerIo {
            window: window.filter(|_| tty),
            tty,
            stdin_once,
            stdin: Mutex::new(stdin),
            echo: Mutex::new(echo.filter(|_| tty)),
            attached: Mutex::default(),
            next_id: AtomicU64::new(1),
        }
    }

    /// The tty's window (`None` without a tty).
    pub fn window(&self) -> Option<Arc<Window>> {
        self.window.clone()
    }

    /// Whether the container has a tty.
    pub fn tty(&self) -> bool {
        self.tty
    }

    /// Whether the container's stdin is open for attach.
    pub fn has_stdin(&self) -> bool {
        lock(&self.stdin).is_some()
    }

    /// Registers a client for the streams it wants, until the attachment drops.
    pub fn attach(
        &self,
        out: mpsc::Sender<(LogStream, Bytes)>,
        stdout: bool,
        stderr: bool,
    ) -> Attachment<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.attached).push(Attached {
            id,
            out,
            stdout,
            stderr: stderr && !self.tty,
        });
        Attachment { io: self, id }
    }

    fn detach(&self, id: u64) {
        lock(&self.attached).retain(|a| a.id != id);
    }

    /// Writes a client's input into the container's stdin (a terminal reads a typed
    /// `\r` as `\n` and echoes it). `false` when stdin is closed.
    pub async fn write_stdin(&self, data: Bytes) -> bool {
        let Some(stdin) = lock(&self.stdin).clone() else {
            return false;
        };
        let data = if self.tty {
            let data: Bytes = data
                .iter()
                .map(|&b| if b == b'\r' { b'\n' } else { b })
                .collect::<Vec<u8>>()
                .into();
            let echo = lock(&self.echo).clone();
            if let Some(echo) = echo {
                let _ = echo.write(data.clone()).await;
            }
            data
        } else {
            data
        };
        stdin.write(data).await.is_ok()
    }

    /// A client's stdin ended: `true` when this closes the container's stdin
    /// (`stdin_once` without a tty), `false` when the client just detaches.
    pub fn client_stdin_ended(&self) -> bool {
        if self.stdin_once && !self.tty {
            lock(&self.stdin).take();
            true
        } else {
            false
        }
    }

    /// The main process exited: the echo handle goes, so its output can end.
    pub(crate) fn main_exited(&self) {
        lock(&self.echo).take();
        lock(&self.stdin).take();
    }

    /// Copies one output stream to every attached client and to the log pipe `log`,
    /// until the stream ends.
    pub(crate) async fn fan_out(
        &self,
        stream: LogStream,
        mut reader: OutputReader,
        mut log: Option<StreamWriter>,
    ) {
        while let Some(chunk) = reader.next().await {
            let targets: Vec<mpsc::Sender<(LogStream, Bytes)>> = lock(&self.attached)
                .iter()
                .filter(|a| match stream {
                    LogStream::Stdout => a.stdout,
                    LogStream::Stderr => a.stderr,
                })
                .map(|a| a.out.clone())
                .collect();
            for target in targets {
                let _ = target.send((stream, chunk.clone())).await;
            }
            if let Some(log) = log.as_mut() {
                log.push(&chunk);
            }
        }
        if let Some(log) = log {
            log.finish();
        }
    }
}
