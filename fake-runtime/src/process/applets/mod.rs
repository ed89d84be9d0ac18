//! The busybox-like applets, and what they share: buffered output that streams in
//! chunks of at most 64 KiB, input sources (stdin or files), line reading, busybox's
//! error wording.

mod bridge;
mod files;
mod httpd;
mod info;
mod ipcs;
mod mount;
mod net;
mod netstat;
mod nginx;
mod ping;
mod procs;
mod test;
mod text;

pub(crate) use info::strftime;

use bytes::{Bytes, BytesMut};
use futures::FutureExt;

use super::ExitStatus;
use super::pipe::{BrokenPipe, Input, Output};
use super::program::{MemoryCharge, ProgramContext, Programs, System};
use super::signal::{Signal, SignalReceiver};
use super::vfs::{CHUNK, FileReader, FsError};

/// The applets installed as `/bin/<name>` symlinks to `/bin/busybox` in the busybox
/// image (every one is also a registered program).
pub(crate) const APPLETS: &[&str] = &[
    "[", "[[", "ash", "basename", "brctl", "cat", "chmod", "cp", "cut", "date", "dd", "dirname",
    "echo", "egrep", "env", "false", "fgrep", "free", "grep", "groups", "head", "hostname",
    "httpd", "id", "ipcs", "kill", "ln", "ls", "mkdir", "mktemp", "mount", "mv", "nc", "netstat",
    "nohup", "nproc", "pgrep", "pidof", "ping", "pkill", "printenv", "printf", "ps", "pwd",
    "readlink", "realpath", "rm", "rmdir", "seq", "sh", "sleep", "sort", "stat", "stty", "tail",
    "tee", "test", "timeout", "top", "touch", "tr", "true", "uname", "uniq", "uptime", "usleep",
    "wc", "wget", "whoami", "xargs", "yes",
];

/// Registers every applet, `sh`, `busybox`, `pause` and `nnp`.
pub(crate) fn register_all(p: &mut Programs) {
    p.insert_builtin("sh", super::shell::sh_main);
    p.insert_builtin("ash", super::shell::sh_main);
    p.insert_builtin("busybox", busybox);
    p.insert_builtin("pause", procs::pause);
    p.insert_builtin("nnp", info::nnp);
    text::register(p);
    files::register(p);
    procs::register(p);
    info::register(p);
    ipcs::register(p);
    mount::register(p);
    net::register(p);
    netstat::register(p);
    nginx::register(p);
    test::register(p);
    p.insert_builtin("brctl", bridge::brctl);
    p.insert_builtin("ping", ping::ping);
}

/// `busybox`: runs the applet named by `basename(argv[0])`, or by the first argument
/// when invoked as `busybox`.
async fn busybox(mut ctx: ProgramContext) -> ExitStatus {
    let arg0 = ctx.args.first().cloned().unwrap_or_default();
    let mut name = arg0.rsplit('/').next().unwrap_or(&arg0).to_owned();
    if name == "busybox" {
        match ctx.args.get(1).map(String::as_str) {
            None | Some("--help") => {
                let _ = ctx
                    .out(
                        "BusyBox v1.36.1 (Debian 1:1.36.1-3) multi-call binary.\n\
                         BusyBox is copyrighted by many authors between 1998-2015.\n\
                         Licensed under GPLv2. See source distribution for detailed\n\
                         copyright notices.\n\n\
                         Usage: busybox [function [arguments]...]\n   \
                         or: busybox --list\n   \
                         or: function [arguments]...\n",
                    )
                    .await;
                return ExitStatus::Exited(0);
            }
            Some("--list") => {
                let mut text = String::new();
                for a in APPLETS {
                    text += a;
                    text.push('\n');
                }
                let _ = ctx.out(text).await;
                return ExitStatus::Exited(0);
            }
            Some(applet) => {
                name = applet.to_owned();
                ctx.args.remove(0);
            }
        }
    }
    let known = name != "busybox" && APPLETS.contains(&name.as_str());
    match ctx.system.programs().get(&name).filter(|_| known) {
        Some(p) => p.run(ctx).await,
        None => {
            let _ = ctx.err(format!("{name}: applet not found\n")).await;
            ExitStatus::Exited(127)
        }
    }
}

/// Buffered output: small writes are gathered, big ones pass through; every chunk
/// sent is at most 64 KiB.
pub(crate) struct Out {
    out: Output,
    buf: BytesMut,
}

impl Out {
    pub(super) fn new(out: Output) -> Out {
        Out {
            out,
            buf: BytesMut::new(),
        }
    }

    pub(super) async fn write(&mut self, data: &[u8]) -> Result<(), BrokenPipe> {
        if self.buf.len() + data.len() > CHUNK {
            self.flush().await?;
        }
        if data.len() >= CHUNK {
            for piece in data.chunks(CHUNK) {
                self.out.write(Bytes::copy_from_slice(piece)).await?;
            }
            return Ok(());
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Writes a chunk without copying it (flushing what is buffered first).
    pub(super) async fn write_bytes(&mut self, data: Bytes) -> Result<(), BrokenPipe> {
        if data.len() < 4096 {
            return self.write(&data).await;
        }
        self.flush().await?;
        let mut data = data;
        while data.len() > CHUNK {
            let head = data.split_to(CHUNK);
            self.out.write(head).await?;
        }
        self.out.write(data).await
    }

    pub(super) async fn flush(&mut self) -> Result<(), BrokenPipe> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = self.buf.split().freeze();
        self.out.write(data).await
    }

    pub(super) fn output(&self) -> &Output {
        &self.out
    }
}

/// Where an applet reads from.
pub(crate) enum Src {
    Stdin,
    File(FileReader),
}

/// What an applet works with: its context, with buffered stdout.
pub(crate) struct Env {
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub stdin: Input,
    pub out: Out,
    pub err: Output,
    pub sys: System,
    pub signals: SignalReceiver,
}

impl Env {
    pub(super) fn new(ctx: ProgramContext) -> Env {
        let name = ctx.name();
        Env {
            name,
            args: ctx.args,
            env: ctx.env,
            cwd: ctx.cwd,
            stdin: ctx.stdin,
            out: Out::new(ctx.stdout),
            err: ctx.stderr,
            sys: ctx.system,
            signals: ctx.signals,
        }
    }

    /// Back to a context (for exec).
    pub(super) fn into_ctx(self) -> ProgramContext {
        ProgramContext {
            args: self.args,
            env: self.env,
            cwd: self.cwd,
            stdin: self.stdin,
            stdout: self.out.out,
            stderr: self.err,
            signals: self.signals,
            system: self.sys,
        }
    }

    /// `"<applet>: <msg>\n"` on stderr.
    pub(super) async fn error(&self, msg: impl std::fmt::Display) {
        let _ = self
            .err
            .write(Bytes::from(format!("{}: {msg}\n", self.name)))
            .await;
    }

    /// busybox's usage error: the usage text on stderr, exit 1.
    pub(super) async fn usage(&mut self, usage: &str) -> ExitStatus {
        let _ = self.out.flush().await;
        let _ = self
            .err
            .write(Bytes::from(format!(
                "BusyBox v1.36.1 (Debian 1:1.36.1-3) multi-call binary.\n\nUsage: {usage}\n"
            )))
            .await;
        ExitStatus::Exited(1)
    }

    pub(super) fn abs(&self, path: &str) -> String {
        super::vfs::normalize(&self.cwd, path)
    }

    pub(super) fn getenv(&self, key: &str) -> Option<&str> {
        self.env.iter().find_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v)
        })
    }

    /// Starts a child process running `argv` (resolved through `$PATH`, as
    /// `execvp`), with this applet's environment, directory and ignored signals.
    pub(super) fn spawn(
        &self,
        argv: &[String],
        stdio: super::Stdio,
    ) -> Result<super::sim::ProcessHandle, super::SpawnError> {
        let first = argv.first().ok_or(super::SpawnError::EmptyArgs)?;
        let path = self
            .getenv("PATH")
            .unwrap_or(procs::EXECVP_DEFAULT_PATH)
            .to_owned();
        let resolved = self.sys.resolve(first, Some(&path), &self.cwd)?;
        self.sys.spawn_request(super::sim::SpawnRequest {
            argv: resolved.argv(argv),
            comm: resolved.comm(),
            program: std::sync::Arc::clone(&resolved.program),
            setuid: resolved.setuid,
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            stdio,
            ignored: self.signals.ignored_set(),
        })
    }

    /// Opens an operand: `-` (and `/dev/stdin`) is stdin.
    pub(super) fn open(&self, path: &str) -> Result<Src, FsError> {
        if path == "-" || path == "/dev/stdin" || path == "/proc/self/fd/0" {
            return Ok(Src::Stdin);
        }
        self.sys
            .vfs()
            .open_read(&self.abs(path), self.sys.access())
            .map(Src::File)
    }

    /// The next chunk of a source; `Err` for a read error (a directory).
    pub(super) async fn read(&mut self, src: &mut Src) -> Option<Bytes> {
        self.sys.checkpoint().await;
        match src {
            Src::Stdin => {
                if let Some(ready) = self.stdin.read().now_or_never() {
                    return ready;
                }
                // Nothing to read yet: what was written so far reaches its reader
                // before this process waits, as busybox's unbuffered writes would
                // (an interactive `cat` echoes each line as it comes). A reader that is
                // gone shows at the next write.
                let _ = self.out.flush().await;
                self.stdin.read().await
            }
            Src::File(f) => f.read_chunk().ok().flatten(),
        }
    }

    /// Flushes stdout; on a broken pipe the process gets SIGPIPE.
    pub(super) async fn finish(&mut self, status: i32) -> ExitStatus {
        if self.out.flush().await.is_err() {
            return self.sigpipe().await;
        }
        ExitStatus::from(status)
    }

    /// A write to stdout failed. On a pipe the reader is gone: SIGPIPE, like a real
    /// write(2) would deliver (fatal unless ignored; then exit 1). Anything else is a
    /// file (or `/dev/full`) whose filesystem is full: see [`Env::no_space`].
    pub(super) async fn sigpipe(&mut self) -> ExitStatus {
        if !self.out.output().is_pipe() {
            return self.no_space().await;
        }
        self.sys.raise(Signal::SIGPIPE);
        self.sys.checkpoint().await;
        ExitStatus::Exited(1)
    }

    /// stdout's filesystem is full (`ENOSPC`): what busybox 1.35 reports, measured on
    /// a full tmpfs. Most applets say `<name>: write error: No space left on device`
    /// and exit 1 (the shell's `echo` as `sh: write error: ...`); `yes` says
    /// `yes: (null): No space left on device`; `printf` exits 1 and `seq` 255, both
    /// silently.
    pub(super) async fn no_space(&mut self) -> ExitStatus {
        let applet = self.args.first().map(String::as_str).unwrap_or("");
        let applet = applet.rsplit('/').next().unwrap_or(applet);
        match applet {
            "printf" => ExitStatus::Exited(1),
            "seq" => ExitStatus::Exited(255),
            "yes" => {
                self.error("(null): No space left on device").await;
                ExitStatus::Exited(1)
            }
            _ => {
                self.error("write error: No space left on device").await;
                ExitStatus::Exited(1)
            }
        }
    }

    /// Writes to stdout (buffered).
    pub(super) async fn print(&mut self, s: &str) -> Result<(), BrokenPipe> {
        self.out.write(s.as_bytes()).await
    }
}

/// The longest line kept in memory: a longer one is handed out in pieces (real
/// tools would grow without bound; this protects the host running the simulation).
const MAX_LINE: usize = 16 << 20;

/// About what keeping one line (or chunk) costs besides its bytes: its `Vec` in the
/// list that holds it and the allocator's overhead.
pub(crate) const LINE_COST: u64 = 48;

/// The granularity of [`Held`]'s charges.
const HOLD_STEP: u64 = 64 << 10;

/// Memory an applet really keeps (a buffer growing with its input), charged with
/// [`System::hold`] against the container's memory limit and budget in steps of
/// 64 KiB: past them, the process is OOM-killed. Released when dropped.
#[derive(Debug, Default)]
pub(crate) struct Held {
    charge: Option<MemoryCharge>,
    used: u64,
}

impl Held {
    /// The applet now keeps `bytes` more.
    pub(super) async fn add(&mut self, sys: &System, bytes: u64) {
        self.set(sys, self.used.saturating_add(bytes)).await;
    }

    /// The applet freed `bytes`.
    pub(super) async fn sub(&mut self, sys: &System, bytes: u64) {
        self.set(sys, self.used.saturating_sub(bytes)).await;
    }

    /// The applet now keeps `used` bytes in all.
    pub(super) async fn set(&mut self, sys: &System, used: u64) {
        self.used = used;
        let charged = self.charge.as_ref().map_or(0, MemoryCharge::bytes);
        let want = used.div_ceil(HOLD_STEP).saturating_mul(HOLD_STEP);
        if want > charged {
            match &mut self.charge {
                Some(charge) => sys.grow(charge, want - charged).await,
                None => self.charge = Some(sys.hold(want).await),
            }
        } else if charged - want > 2 * HOLD_STEP
            && let Some(charge) = &mut self.charge
        {
            charge.shrink(charged - want);
        }
    }
}

/// How much of a [`Lines`] buffer is not charged: reading ordinary lines in 64 KiB
/// chunks stays under it, so only a long line costs memory of the budget.
const LINE_BUFFER_FREE: u64 = 256 << 10;

/// Reads lines from a [`Src`], keeping the trailing newline. Its buffer, past
/// [`LINE_BUFFER_FREE`], is charged as [`Held`] memory.
#[derive(Default)]
pub(crate) struct Lines {
    buf: Vec<u8>,
    start: usize,
    eof: bool,
    held: Held,
}

impl Lines {
    pub(super) async fn next(&mut self, env: &mut Env, src: &mut Src) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.buf[self.start..].iter().position(|&b| b == b'\n') {
                let line = self.buf[self.start..self.start + i + 1].to_vec();
                self.start += i + 1;
                return Some(line);
            }
            if self.buf.len() - self.start >= MAX_LINE {
                let line = self.buf[self.start..].to_vec();
                self.start = self.buf.len();
                return Some(line);
            }
            if self.eof {
                if self.start < self.buf.len() {
                    let line = self.buf[self.start..].to_vec();
                    self.start = self.buf.len();
                    return Some(line);
                }
                return None;
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            match env.read(src).await {
                Some(chunk) => {
                    self.buf.extend_from_slice(&chunk);
                    let keeps = (self.buf.capacity() as u64).saturating_sub(LINE_BUFFER_FREE);
                    self.held.set(&env.sys, keeps).await;
                }
                None => self.eof = true,
            }
        }
    }
}

/// busybox's `cat: can't open 'x': No such file or directory`.
pub(crate) fn cant_open(path: &str, e: &FsError) -> String {
    format!("can't open '{path}': {e}")
}

/// Parses a size with busybox suffixes (`dd`, `head -c`): b=512, k/K=1024, M, G,
/// kB/KB=1000, MB, GB, w=2, c=1.
pub(crate) fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if digits_end == 0 {
        return None;
    }
    let n: u64 = s[..digits_end].parse().ok()?;
    let mult: u64 = match &s[digits_end..] {
        "" | "c" => 1,
        "w" => 2,
        "b" => 512,
        "k" | "K" | "KiB" => 1024,
        "kB" | "KB" => 1000,
        "M" | "MiB" => 1024 * 1024,
        "MB" => 1000 * 1000,
        "G" | "GiB" => 1024 * 1024 * 1024,
        "GB" => 1000 * 1000 * 1000,
        "T" => 1024u64.pow(4),
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// `busybox --list`, busybox's dispatch and the image's `/bin/<name>` symlinks
    /// (rootfs) all read [`APPLETS`]: it must name exactly the registered applets, that
    /// is every built-in program but `busybox` itself, `pause` (the pause image's) and
    /// `nnp` (the nonewprivs image's).
    #[test]
    fn the_applet_list_is_exactly_the_registered_applets() {
        let registered: BTreeSet<String> = Programs::builtin()
            .names()
            .into_iter()
            // Programs of other images than busybox's.
            .filter(|name| !["busybox", "pause", "nnp", "nginx"].contains(&name.as_str()))
            .collect();
        let listed: BTreeSet<String> = APPLETS.iter().map(|name| name.to_string()).collect();
        assert_eq!(listed.len(), APPLETS.len(), "APPLETS names an applet twice");
        assert_eq!(listed, registered);
        let mut sorted = APPLETS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, APPLETS, "busybox --list prints them sorted");
    }
}
