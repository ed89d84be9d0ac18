//! Executing the syntax tree: lists, pipelines, compound commands, simple commands,
//! redirections, subshells, background jobs, traps and exec.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::future::BoxFuture;

use super::ast::*;
use super::expand::MAX_WORD_BYTES;
use super::parser::{ParseError, Parser};
use crate::process::pipe::{Input, Output};
use crate::process::program::{Program, ProgramContext, Resolved, System, comm_of};
use crate::process::signal::{Signal, SignalReceiver};
use crate::process::sim::SpawnRequest;
use crate::process::stack::{self, MAX_CALL_DEPTH, MAX_RUN_DEPTH};
use crate::process::vfs::{FsError, WriteMode};
use crate::process::{ExitStatus, ProcessHandle, SpawnError, Stdio};

/// A shell variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Var {
    pub value: String,
    pub exported: bool,
    pub readonly: bool,
    /// Position in ash's variable table (see [`ash_bucket`]): decides the order of
    /// the environment children get.
    pub seq: i64,
}

/// ash's built-in variables (`varinit`), with their initial values when set.
const VARINIT: &[(&str, Option<&str>)] = &[
    ("IFS", Some(" \t\n")),
    ("MAIL", None),
    ("MAILPATH", None),
    ("PATH", Some("/sbin:/usr/sbin:/bin:/usr/bin")),
    ("PS1", Some("$ ")),
    ("PS2", Some("> ")),
    ("PS4", Some("+ ")),
    ("OPTIND", Some("1")),
    ("LINENO", None),
    ("FUNCNAME", None),
    ("RANDOM", None),
    ("EPOCHSECONDS", None),
    ("EPOCHREALTIME", None),
    ("LC_ALL", None),
    ("LC_CTYPE", None),
    ("HISTFILE", None),
];

/// Built-in variables sit at the head of their hash bucket, in reverse order.
fn varinit_seq(name: &str) -> Option<i64> {
    VARINIT
        .iter()
        .position(|(n, _)| *n == name)
        .map(|i| -1000 - i as i64)
}

/// ash's `hashvar()`: the bucket of a variable in its 39-slot table. Children get
/// exported variables bucket by bucket, which is why `sh -c env` prints
/// `HOSTNAME`, `SHLVL`, `HOME`, `PATH`, `PWD` in that order.
pub(crate) fn ash_bucket(name: &str) -> u32 {
    let b = name.as_bytes();
    let mut h = u32::from(b.first().copied().unwrap_or(0)) << 4;
    for &c in b {
        h = h.wrapping_add(u32::from(c));
    }
    h % 39
}

/// `set` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Opts {
    pub errexit: bool,
    pub xtrace: bool,
    pub nounset: bool,
    pub noclobber: bool,
    pub noglob: bool,
    pub pipefail: bool,
}

impl Opts {
    /// `$-`.
    pub(super) fn flags(&self) -> String {
        let mut s = String::new();
        for (on, c) in [
            (self.errexit, 'e'),
            (self.noglob, 'f'),
            (self.nounset, 'u'),
            (self.xtrace, 'x'),
            (self.noclobber, 'C'),
        ] {
            if on {
                s.push(c);
            }
        }
        s
    }
}

/// The part of a shell that a subshell copies.
#[derive(Debug, Clone)]
pub(crate) struct State {
    pub vars: BTreeMap<String, Var>,
    pub positional: Vec<String>,
    /// `$0`, and the first word of every error message.
    pub arg0: String,
    /// The script name (or `-c`'s `$0`): adds `name: line N: ` to error messages.
    pub commandname: Option<String>,
    pub status: i32,
    pub last_bg: Option<u32>,
    pub shell_pid: u32,
    pub cwd: String,
    pub functions: HashMap<String, Arc<Command>>,
    /// Trap actions by signal number (0: EXIT); `""` means ignore.
    pub traps: BTreeMap<i32, String>,
    pub opts: Opts,
    /// Reading commands from a terminal: prompts before each line (`PS1`, `PS2`).
    pub interactive: bool,
    /// busybox's `applet_name`: the prefix of applet errors in builtins (`sh`).
    pub applet_name: String,
    /// What `ps` shows for a subshell (a fork keeps the parent's argv).
    pub fork_argv: Vec<String>,
    pub lineno: u32,
    /// The table position the next new variable gets.
    pub next_seq: i64,
}

/// Open file descriptors.
#[derive(Debug)]
pub(crate) struct Fds {
    pub stdin: Input,
    pub stdout: Output,
    pub stderr: Output,
    pub extra: BTreeMap<u32, Output>,
}

impl Fds {
    /// Another set of descriptors on the same files (stdin shared).
    pub(super) fn dup(&mut self) -> Fds {
        Fds {
            stdin: self.stdin.share(),
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
            extra: self.extra.clone(),
        }
    }

    fn get_out(&self, fd: u32) -> Option<Output> {
        match fd {
            1 => Some(self.stdout.clone()),
            2 => Some(self.stderr.clone()),
            n => self.extra.get(&n).cloned(),
        }
    }

    fn set_out(&mut self, fd: u32, out: Output) {
        match fd {
            0 => {}
            1 => self.stdout = out,
            2 => self.stderr = out,
            n => {
                self.extra.insert(n, out);
            }
        }
    }

    pub(super) fn stdio(&mut self) -> Stdio {
        Stdio {
            stdin: self.stdin.share(),
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
        }
    }
}

/// Non-local control flow.
pub(crate) enum Ctl {
    Break(u32),
    Continue(u32),
    Return,
    Exit(i32),
    Exec(Box<ExecReq>),
}

/// `exec cmd` (or the last command of `sh -c`): replace the shell.
pub(crate) struct ExecReq {
    pub resolved: Resolved,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub fds: Fds,
}

pub(crate) type R = Result<(), Ctl>;

/// What a subshell process runs.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Command(Arc<Command>),
    AndOr(Arc<AndOr>),
    List(Arc<List>),
}

/// A running shell.
pub(crate) struct Shell {
    pub st: State,
    pub fds: Fds,
    pub system: System,
    pub signals: SignalReceiver,
    pub jobs: Vec<ProcessHandle>,
    pending: VecDeque<Signal>,
    pub cond_depth: u32,
    pub loop_depth: u32,
    pub func_depth: u32,
    /// How deeply commands are nested in the running shell (see [`MAX_RUN_DEPTH`]).
    run_depth: u32,
    /// How many calls (functions, `eval`, `.`) are running (see [`MAX_CALL_DEPTH`]).
    call_depth: u32,
    in_trap: bool,
    pub cmdsub_status: Option<i32>,
    pub locals: Vec<Vec<(String, Option<Var>)>>,
}

/// The commands ash runs as builtins from busybox applets.
pub(crate) const INLINE_APPLETS: &[&str] = &["echo", "printf", "test", "[", "[[", "kill"];

/// `errmsg()` of ash: ENOENT/ENOTDIR get a fixed text.
pub(crate) fn ash_errmsg(e: &FsError, enoent: &str) -> String {
    match e {
        FsError::NotFound | FsError::NotDir => enoent.to_owned(),
        other => other.to_string(),
    }
}

enum RedirError {
    Msg(String),
    Ctl(Ctl),
}

impl From<Ctl> for RedirError {
    fn from(c: Ctl) -> Self {
        RedirError::Ctl(c)
    }
}

impl Shell {
    /// A shell for a process context: variables from the environment.
    pub(super) fn new(
        ctx_parts: (
            Vec<String>,
            Vec<String>,
            String,
            Fds,
            SignalReceiver,
            System,
        ),
    ) -> Shell {
        let (args, env, cwd, fds, signals, system) = ctx_parts;
        let mut vars: BTreeMap<String, Var> = BTreeMap::new();
        for (name, value) in VARINIT {
            if let (Some(v), Some(seq)) = (value, varinit_seq(name)) {
                vars.insert(
                    (*name).to_owned(),
                    Var {
                        value: (*v).to_owned(),
                        exported: false,
                        readonly: false,
                        seq,
                    },
                );
            }
        }
        let mut next_seq = 0i64;
        let mut put =
            |vars: &mut BTreeMap<String, Var>, k: &str, v: String, exported: bool| match vars
                .get_mut(k)
            {
                Some(var) => {
                    var.value = v;
                    var.exported |= exported;
                }
                None => {
                    next_seq += 1;
                    vars.insert(
                        k.to_owned(),
                        Var {
                            value: v,
                            exported,
                            readonly: false,
                            seq: varinit_seq(k).unwrap_or(next_seq),
                        },
                    );
                }
            };
        for kv in &env {
            if let Some((k, v)) = kv.split_once('=')
                && super::parser::is_name(k)
            {
                put(&mut vars, k, v.to_owned(), true);
            }
        }
        put(&mut vars, "PPID", system.ppid().to_string(), false);
        let shlvl = vars
            .get("SHLVL")
            .and_then(|v| v.value.trim().parse::<i64>().ok())
            .unwrap_or(0)
            + 1;
        put(&mut vars, "SHLVL", shlvl.to_string(), true);
        if !vars.contains_key("HOSTNAME") {
            put(&mut vars, "HOSTNAME", system.hostname().to_owned(), false);
        }
        put(&mut vars, "PWD", cwd.clone(), true);
        let argv0 = args.first().cloned().unwrap_or_else(|| "sh".into());
        let applet_name = argv0.rsplit('/').next().unwrap_or(&argv0).to_owned();
        Shell {
            st: State {
                vars,
                positional: Vec::new(),
                arg0: argv0,
                commandname: None,
                status: 0,
                last_bg: None,
                shell_pid: system.pid(),
                cwd,
                functions: HashMap::new(),
                traps: BTreeMap::new(),
                opts: Opts::default(),
                interactive: false,
                applet_name,
                fork_argv: args,
                lineno: 1,
                next_seq,
            },
            fds,
            system,
            signals,
            jobs: Vec::new(),
            pending: VecDeque::new(),
            cond_depth: 0,
            loop_depth: 0,
            func_depth: 0,
            run_depth: 0,
            call_depth: 0,
            in_trap: false,
            cmdsub_status: None,
            locals: Vec::new(),
        }
    }

    /// A subshell's shell, from a copied state.
    fn from_state(mut st: State, ctx: ProgramContext) -> Shell {
        st.shell_pid = st.shell_pid.max(1);
        // Caught traps are reset in a subshell; ignored ones stay.
        st.traps.retain(|_, action| action.is_empty());
        st.lineno = st.lineno.max(1);
        let ProgramContext {
            cwd,
            stdin,
            stdout,
            stderr,
            signals,
            system,
            ..
        } = ctx;
        st.cwd = cwd;
        Shell {
            st,
            fds: Fds {
                stdin,
                stdout,
                stderr,
                extra: BTreeMap::new(),
            },
            system,
            signals,
            jobs: Vec::new(),
            pending: VecDeque::new(),
            cond_depth: 0,
            loop_depth: 0,
            func_depth: 0,
            run_depth: 0,
            call_depth: 0,
            in_trap: false,
            cmdsub_status: None,
            locals: Vec::new(),
        }
    }

    // ----- variables -----

    pub(super) fn get_var(&self, name: &str) -> Option<String> {
        if name == "RANDOM" {
            return Some((rand::random::<u16>() & 0x7fff).to_string());
        }
        if name == "LINENO" {
            return Some(self.st.lineno.to_string());
        }
        self.st.vars.get(name).map(|v| v.value.clone())
    }

    /// Sets a variable; `Err` with ash's message for a readonly one.
    pub(super) fn set_var(&mut self, name: &str, value: &str) -> Result<(), String> {
        match self.st.vars.get_mut(name) {
            Some(v) if v.readonly => Err(format!("{name}: is read only")),
            Some(v) => {
                v.value = value.to_owned();
                Ok(())
            }
            None => {
                let var = self.st.new_var(name, value, false);
                self.st.vars.insert(name.to_owned(), var);
                Ok(())
            }
        }
    }

    /// The environment for a child: exported variables plus `extra` assignments, in
    /// ash's table order.
    pub(super) fn child_env(&self, extra: &[(String, String)]) -> Vec<String> {
        let mut items: Vec<(u32, i64, &str, &str)> = Vec::new();
        for (k, v) in &self.st.vars {
            let overridden = extra.iter().rev().find(|(n, _)| n == k);
            if v.exported || overridden.is_some() {
                let value = overridden.map(|(_, x)| x.as_str()).unwrap_or(&v.value);
                items.push((ash_bucket(k), v.seq, k, value));
            }
        }
        let mut seq = self.st.next_seq;
        for (k, v) in extra {
            if self.st.vars.contains_key(k) || items.iter().any(|(_, _, n, _)| *n == k) {
                continue;
            }
            seq += 1;
            let value = extra
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, x)| x.as_str())
                .unwrap_or(v);
            items.push((ash_bucket(k), seq, k, value));
        }
        items.sort_by_key(|&(bucket, seq, _, _)| (bucket, seq));
        items
            .into_iter()
            .map(|(_, _, k, v)| format!("{k}={v}"))
            .collect()
    }

    // ----- messages -----

    /// ash's message prefix: `sh: `, plus `cmd: line N: ` inside builtins or scripts.
    pub(super) fn prefix(&self, builtin: Option<&str>) -> String {
        let mut s = format!("{}: ", self.st.arg0);
        let cn = builtin
            .map(str::to_owned)
            .or_else(|| self.st.commandname.clone());
        if let Some(cn) = cn {
            if cn != self.st.arg0 {
                s += &format!("{cn}: ");
            }
            s += &format!("line {}: ", self.st.lineno);
        }
        s
    }

    pub(super) async fn err(&self, text: impl Into<String>) {
        let mut t: String = text.into();
        t.push('\n');
        let _ = self.fds.stderr.write(Bytes::from(t)).await;
    }

    pub(super) async fn out(&self, text: impl Into<Bytes>) -> R {
        if self.fds.stdout.write(text.into()).await.is_err() {
            return self.broken_pipe().await;
        }
        Ok(())
    }

    /// Writing to a pipe nobody reads: SIGPIPE (fatal by default).
    pub(super) async fn broken_pipe(&self) -> R {
        self.system.raise(Signal::SIGPIPE);
        self.system.checkpoint().await;
        Ok(())
    }

    pub(super) fn syntax_error_text(&self, e: &ParseError) -> String {
        let mut s = format!("{}: ", self.st.arg0);
        if let Some(cn) = &self.st.commandname {
            if *cn != self.st.arg0 {
                s += &format!("{cn}: ");
            }
            s += &format!("line {}: ", e.line);
        }
        s + &e.msg
    }

    // ----- running scripts -----

    /// Runs a script text, command line by command line (a syntax error stops it with
    /// status 2 after the lines before it ran). `tail`: the last command may replace
    /// the shell (`sh -c`).
    pub(super) async fn run_script(&mut self, text: &str, tail: bool) -> R {
        let mut parser = Parser::new(text);
        loop {
            match parser.next_command() {
                Ok(None) => return Ok(()),
                Ok(Some(list)) => {
                    let last = parser.at_eof();
                    self.exec_list(&list, tail && last).await?;
                }
                Err(e) => {
                    let text = self.syntax_error_text(&e);
                    self.err(text).await;
                    self.st.status = 2;
                    return Err(Ctl::Exit(2));
                }
            }
        }
    }

    /// An interactive prompt: busybox ash's default `PS1` (`\\w \\$ `: the working
    /// directory, `~` for `$HOME`, then `#` for root, `$` otherwise) unless the script
    /// set its own; `PS2` for a continuation line.
    fn prompt(&self, first: bool) -> String {
        if !first {
            return self.get_var("PS2").unwrap_or_else(|| "> ".into());
        }
        match self.get_var("PS1") {
            Some(ps1) if ps1 != "$ " => ps1,
            _ => {
                let cwd = &self.st.cwd;
                let home = self.get_var("HOME").unwrap_or_default();
                let shown = match cwd.strip_prefix(home.as_str()) {
                    Some(rest) if home.len() > 1 && (rest.is_empty() || rest.starts_with('/')) => {
                        format!("~{rest}")
                    }
                    _ => cwd.clone(),
                };
                let mark = if self.system.access().cred.uid == 0 {
                    '#'
                } else {
                    '$'
                };
                format!("{shown} {mark} ")
            }
        }
    }

    /// Reads the script from stdin, running each complete command as soon as it is read.
    pub(super) async fn run_stdin(&mut self) -> R {
        let mut buffer = String::new();
        loop {
            if self.st.interactive {
                let prompt = self.prompt(buffer.is_empty());
                let _ = self.fds.stderr.write(Bytes::from(prompt)).await;
            }
            // A command longer than a word may be gets the shell OOM-killed.
            let max = MAX_WORD_BYTES - buffer.len().min(MAX_WORD_BYTES);
            let line = self.fds.stdin.read_line_bounded(max).await;
            let eof = line.is_none();
            if let Some(line) = line {
                if line.len() > max && line.last() != Some(&b'\n') {
                    drop(line);
                    self.system.out_of_memory().await;
                }
                buffer.push_str(&String::from_utf8_lossy(&line));
            }
            let mut parser = Parser::new(&buffer);
            let mut lists = Vec::new();
            let mut incomplete = false;
            loop {
                match parser.next_command() {
                    Ok(Some(list)) => lists.push(list),
                    Ok(None) => break,
                    Err(e) if e.at_eof && !eof => {
                        incomplete = true;
                        break;
                    }
                    Err(e) => {
                        for list in lists {
                            self.exec_list(&list, false).await?;
                        }
                        let text = self.syntax_error_text(&e);
                        self.err(text).await;
                        return Err(Ctl::Exit(2));
                    }
                }
            }
            if incomplete && lists.is_empty() {
                continue;
            }
            if incomplete {
                // Keep it simple: wait until the whole buffer parses.
                continue;
            }
            buffer.clear();
            for list in lists {
                self.exec_list(&list, false).await?;
            }
            if eof {
                return Ok(());
            }
        }
    }

    /// Enters one more nested call (a function, `eval`, `.`): beyond
    /// [`MAX_CALL_DEPTH`] the shell dies of a simulated stack overflow (SIGSEGV, status
    /// 139, no message), as busybox ash does when unbounded recursion
    /// (`f() { f; }; f`) exhausts its stack. Pair with [`Shell::leave_call`].
    pub(super) async fn enter_call(&mut self) {
        if self.call_depth >= MAX_CALL_DEPTH {
            self.system.crash(Signal::SIGSEGV).await;
        }
        self.call_depth += 1;
    }

    /// Leaves a call entered with [`Shell::enter_call`].
    pub(super) fn leave_call(&mut self) {
        self.call_depth = self.call_depth.saturating_sub(1);
    }

    /// `eval`, trap actions: parse and run in this shell.
    pub(super) async fn eval_string(&mut self, text: &str) -> R {
        match Parser::parse_program(text) {
            Ok(list) => {
                self.enter_call().await;
                let r = self.exec_list(&list, false).await;
                self.leave_call();
                r
            }
            Err(e) => {
                let text = self.syntax_error_text(&e);
                self.err(text).await;
                self.st.status = 2;
                Err(Ctl::Exit(2))
            }
        }
    }

    /// Ends the shell: turns the result into an exit status, runs the EXIT trap, or
    /// replaces the process for `exec`.
    pub(super) async fn finish(mut self, result: R) -> ExitStatus {
        let mut status = match result {
            Ok(()) => self.st.status,
            Err(Ctl::Exit(n)) => n,
            Err(Ctl::Exec(req)) => return self.exec_into(*req).await,
            Err(_) => self.st.status,
        };
        if let Some(action) = self.st.traps.remove(&0)
            && !action.is_empty()
        {
            self.st.status = status;
            self.in_trap = true;
            match self.eval_string(&action).await {
                Err(Ctl::Exit(n)) => status = n,
                Err(Ctl::Exec(req)) => return self.exec_into(*req).await,
                _ => {}
            }
        }
        ExitStatus::from(status)
    }

    async fn exec_into(self, req: ExecReq) -> ExitStatus {
        let Shell {
            st,
            fds,
            system,
            signals,
            ..
        } = self;
        // The shell's own descriptors close now: only what the new program got stays
        // open (a pipe is not held by the exec'd program's former shell).
        drop(fds);
        let ctx = ProgramContext {
            args: req.argv.clone(),
            env: req.env,
            cwd: st.cwd,
            stdin: req.fds.stdin,
            stdout: req.fds.stdout,
            stderr: req.fds.stderr,
            signals,
            system,
        };
        ctx.exec(req.resolved, req.argv).await
    }

    // ----- traps -----

    /// Runs the actions of caught signals that arrived (after a command finishes).
    pub(super) async fn run_pending_traps(&mut self) -> R {
        if self.in_trap {
            return Ok(());
        }
        while let Some(sig) = self.signals.try_recv() {
            self.pending.push_back(sig);
        }
        while let Some(sig) = self.pending.pop_front() {
            let Some(action) = self.st.traps.get(&sig.number()).cloned() else {
                continue;
            };
            if action.is_empty() {
                continue;
            }
            let saved = self.st.status;
            self.in_trap = true;
            let r = self.eval_string(&action).await;
            self.in_trap = false;
            r?;
            self.st.status = saved;
        }
        Ok(())
    }

    /// Waits for `handle`, or until a caught signal arrives (`wait` is interruptible).
    pub(super) async fn wait_interruptible(
        &mut self,
        handle: &ProcessHandle,
    ) -> Result<ExitStatus, Signal> {
        tokio::select! {
            status = handle.wait() => Ok(status),
            sig = self.signals.recv() => {
                self.pending.push_back(sig);
                Err(sig)
            }
        }
    }

    /// Waits for a foreground process; like ash, reports on stderr when a signal
    /// other than SIGINT or SIGPIPE killed it (`Killed`, `Terminated`, ...).
    pub(super) async fn wait_foreground(&self, handle: &ProcessHandle) -> ExitStatus {
        let status = handle.wait().await;
        if let ExitStatus::Signaled(sig) = status
            && sig != Signal::SIGINT
            && sig != Signal::SIGPIPE
        {
            self.err(sig.description()).await;
        }
        status
    }

    /// Whether the shell may be replaced by its last command: no trap would need it.
    fn can_tail_exec(&self) -> bool {
        !self.st.traps.values().any(|a| !a.is_empty())
    }

    // ----- execution -----

    pub(super) fn exec_list<'a>(&'a mut self, list: &'a List, tail: bool) -> BoxFuture<'a, R> {
        Box::pin(async move {
            let n = list.items.len();
            for (i, item) in list.items.iter().enumerate() {
                if item.background {
                    if self.spawn_background(&item.and_or).is_err() {
                        return Err(self.fork_failed().await);
                    }
                    self.run_pending_traps().await?;
                    continue;
                }
                let candidate = self.exec_and_or(&item.and_or, tail && i + 1 == n).await?;
                if candidate && self.st.opts.errexit && self.cond_depth == 0 && self.st.status != 0
                {
                    return Err(Ctl::Exit(self.st.status));
                }
            }
            Ok(())
        })
    }

    /// Runs an and-or list; `Ok(true)` when its status may trigger `set -e`.
    pub(super) fn exec_and_or<'a>(
        &'a mut self,
        ao: &'a AndOr,
        tail: bool,
    ) -> BoxFuture<'a, Result<bool, Ctl>> {
        Box::pin(async move {
            let n = ao.rest.len();
            if n > 0 {
                self.cond_depth += 1;
            }
            let r = self.exec_pipeline(&ao.first, tail && n == 0).await;
            if n > 0 {
                self.cond_depth -= 1;
            }
            r?;
            let mut last_ran = 0;
            for (k, (conn, p)) in ao.rest.iter().enumerate() {
                let run = match conn {
                    Connector::And => self.st.status == 0,
                    Connector::Or => self.st.status != 0,
                };
                if !run {
                    continue;
                }
                let is_last = k + 1 == n;
                if !is_last {
                    self.cond_depth += 1;
                }
                let r = self.exec_pipeline(p, tail && is_last).await;
                if !is_last {
                    self.cond_depth -= 1;
                }
                r?;
                last_ran = k + 1;
            }
            let last = if n == 0 { &ao.first } else { &ao.rest[n - 1].1 };
            Ok(last_ran == n && !last.bang)
        })
    }

    fn exec_pipeline<'a>(&'a mut self, p: &'a Pipeline, tail: bool) -> BoxFuture<'a, R> {
        Box::pin(async move {
            if p.commands.len() == 1 {
                if p.bang {
                    self.cond_depth += 1;
                    let r = self.exec_command(&p.commands[0], false).await;
                    self.cond_depth -= 1;
                    r?;
                    self.st.status = i32::from(self.st.status == 0);
                } else {
                    self.exec_command(&p.commands[0], tail).await?;
                }
                return Ok(());
            }
            let n = p.commands.len();
            let mut handles = Vec::with_capacity(n);
            let mut prev: Option<crate::process::pipe::OutputReader> = None;
            for (i, cmd) in p.commands.iter().enumerate() {
                let stdin = match prev.take() {
                    Some(reader) => Input::from_reader(reader),
                    None => self.fds.stdin.share(),
                };
                let stdout = if i + 1 == n {
                    self.fds.stdout.clone()
                } else {
                    let Some((w, r)) = self.system.pipe() else {
                        return Err(self.pipe_failed().await);
                    };
                    prev = Some(r);
                    w
                };
                let stdio = Stdio {
                    stdin,
                    stdout,
                    stderr: self.fds.stderr.clone(),
                };
                match self.spawn_subshell(Body::Command(Arc::clone(cmd)), stdio) {
                    Ok(h) => handles.push(h),
                    Err(_) => return Err(self.fork_failed().await),
                }
            }
            let mut codes = Vec::with_capacity(n);
            for h in &handles {
                codes.push(self.wait_foreground(h).await.code());
            }
            let last = codes.last().copied().unwrap_or(0);
            let status = if self.st.opts.pipefail {
                codes.iter().rev().copied().find(|&c| c != 0).unwrap_or(0)
            } else {
                last
            };
            self.st.status = if p.bang {
                i32::from(status == 0)
            } else {
                status
            };
            self.run_pending_traps().await
        })
    }

    /// What ash does when `fork` fails (the container has its maximum number of
    /// processes): `sh: can't fork: Resource temporarily unavailable` and the shell
    /// exits with status 2 (measured on busybox 1.35 under `RLIMIT_NPROC`).
    pub(super) async fn fork_failed(&mut self) -> Ctl {
        self.raise_perror("can't fork: Resource temporarily unavailable")
            .await
    }

    /// What ash does when `pipe` fails (the container's processes hold their maximum
    /// number of open pipes): `sh: can't create pipe: Too many open files` (`EMFILE`)
    /// and the shell exits with status 2, as for a failed fork (busybox 1.36.1
    /// `evalpipe` and `evalbackcmd`: `ash_msg_and_raise_perror("can't create pipe")`).
    pub(super) async fn pipe_failed(&mut self) -> Ctl {
        self.raise_perror("can't create pipe: Too many open files")
            .await
    }

    /// ash's `ash_msg_and_raise_perror`: the message on stderr with the shell's
    /// prefix, status 2, and the (non-interactive) shell exits.
    async fn raise_perror(&mut self, msg: &str) -> Ctl {
        let p = self.prefix(None);
        self.err(format!("{p}{msg}")).await;
        self.st.status = 2;
        Ctl::Exit(2)
    }

    /// Starts a subshell process running `body` with a copy of this shell's state;
    /// `Err` when the container has its maximum number of processes.
    pub(super) fn spawn_subshell(
        &mut self,
        body: Body,
        stdio: Stdio,
    ) -> Result<ProcessHandle, SpawnError> {
        let ignored = self.signals.ignored_set();
        self.spawn_subshell_with(body, stdio, ignored)
    }

    fn spawn_subshell_with(
        &mut self,
        body: Body,
        stdio: Stdio,
        ignored: std::collections::BTreeSet<Signal>,
    ) -> Result<ProcessHandle, SpawnError> {
        let program = SubshellProgram(Mutex::new(Some((self.st.clone(), body))));
        let argv = self.st.fork_argv.clone();
        let comm = comm_of(argv.first().map(String::as_str).unwrap_or("sh"));
        self.system.spawn_request(SpawnRequest {
            argv,
            comm,
            program: Arc::new(program),
            setuid: None,
            env: self.child_env(&[]),
            cwd: self.st.cwd.clone(),
            stdio,
            ignored,
        })
    }

    fn spawn_background(&mut self, ao: &Arc<AndOr>) -> Result<(), SpawnError> {
        let stdio = Stdio {
            stdin: Input::empty(),
            stdout: self.fds.stdout.clone(),
            stderr: self.fds.stderr.clone(),
        };
        // Without job control, asynchronous commands ignore SIGINT and SIGQUIT.
        let mut ignored = self.signals.ignored_set();
        ignored.insert(Signal::SIGINT);
        ignored.insert(Signal::SIGQUIT);
        let handle = self.spawn_subshell_with(Body::AndOr(Arc::clone(ao)), stdio, ignored)?;
        self.st.last_bg = Some(handle.pid());
        self.jobs.retain(|j| j.try_status().is_none());
        self.jobs.push(handle);
        self.st.status = 0;
        Ok(())
    }

    /// Runs one command, one level deeper: beyond [`MAX_RUN_DEPTH`] the shell dies of
    /// a simulated stack overflow, as in [`Shell::enter_call`].
    pub(super) fn exec_command<'a>(&'a mut self, cmd: &'a Command, tail: bool) -> BoxFuture<'a, R> {
        stack::boxed(async move {
            if self.run_depth >= MAX_RUN_DEPTH {
                self.system.crash(Signal::SIGSEGV).await;
            }
            self.run_depth += 1;
            let r = self.exec_command_here(cmd, tail).await;
            self.run_depth -= 1;
            r
        })
    }

    async fn exec_command_here(&mut self, cmd: &Command, tail: bool) -> R {
        match cmd {
            Command::Simple(s) => self.exec_simple(s, tail).await,
            Command::FuncDef(name, body) => {
                self.st.functions.insert(name.clone(), Arc::clone(body));
                self.st.status = 0;
                Ok(())
            }
            Command::Compound(c, redirs) => {
                let saved = match self.push_redirs(redirs).await {
                    Ok(saved) => saved,
                    Err(RedirError::Msg(m)) => {
                        let p = self.prefix(None);
                        self.err(format!("{p}{m}")).await;
                        self.st.status = 1;
                        return Ok(());
                    }
                    Err(RedirError::Ctl(c)) => return Err(c),
                };
                let r = self.exec_compound(c).await;
                self.pop_redirs(saved);
                r
            }
        }
    }

    fn exec_compound<'a>(&'a mut self, c: &'a Compound) -> BoxFuture<'a, R> {
        Box::pin(async move {
            match c {
                Compound::Brace(list) => self.exec_list(list, false).await,
                Compound::Subshell(list) => {
                    let stdio = self.fds.stdio();
                    let Ok(h) = self.spawn_subshell(Body::List(Arc::clone(list)), stdio) else {
                        return Err(self.fork_failed().await);
                    };
                    self.st.status = self.wait_foreground(&h).await.code();
                    self.run_pending_traps().await
                }
                Compound::If {
                    branches,
                    otherwise,
                } => {
                    for (cond, body) in branches {
                        self.cond_depth += 1;
                        let r = self.exec_list(cond, false).await;
                        self.cond_depth -= 1;
                        r?;
                        if self.st.status == 0 {
                            return self.exec_list(body, false).await;
                        }
                    }
                    match otherwise {
                        Some(body) => self.exec_list(body, false).await,
                        None => {
                            self.st.status = 0;
                            Ok(())
                        }
                    }
                }
                Compound::Loop { until, cond, body } => {
                    self.loop_depth += 1;
                    let r = self.run_loop(*until, cond, body).await;
                    self.loop_depth -= 1;
                    r
                }
                Compound::For { var, items, body } => {
                    let values = match items {
                        Some(words) => {
                            let mut v = Vec::new();
                            for w in words {
                                v.extend(self.expand_fields(w).await?);
                            }
                            v
                        }
                        None => self.st.positional.clone(),
                    };
                    self.loop_depth += 1;
                    let r = self.run_for(var, values, body).await;
                    self.loop_depth -= 1;
                    r
                }
                Compound::Case { word, arms } => {
                    let value = self.expand_string(word).await?;
                    for arm in arms {
                        for pat in &arm.patterns {
                            let p = self.expand_pattern(pat).await?;
                            if super::expand::glob_match(&p, &value) {
                                self.st.status = 0;
                                return self.exec_list(&arm.body, false).await;
                            }
                        }
                    }
                    self.st.status = 0;
                    Ok(())
                }
            }
        })
    }

    async fn run_loop(&mut self, until: bool, cond: &List, body: &List) -> R {
        let mut last = 0;
        loop {
            self.cond_depth += 1;
            let r = self.exec_list(cond, false).await;
            self.cond_depth -= 1;
            match r {
                Ok(()) => {}
                Err(Ctl::Break(n)) => {
                    if n > 1 {
                        return Err(Ctl::Break(n - 1));
                    }
                    break;
                }
                Err(Ctl::Continue(n)) => {
                    if n > 1 {
                        return Err(Ctl::Continue(n - 1));
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
            if (self.st.status == 0) == until {
                break;
            }
            match self.exec_list(body, false).await {
                Ok(()) => last = self.st.status,
                Err(Ctl::Break(n)) => {
                    if n > 1 {
                        return Err(Ctl::Break(n - 1));
                    }
                    last = self.st.status;
                    break;
                }
                Err(Ctl::Continue(n)) => {
                    if n > 1 {
                        return Err(Ctl::Continue(n - 1));
                    }
                    last = self.st.status;
                }
                Err(e) => return Err(e),
            }
            self.system.checkpoint().await;
        }
        self.st.status = last;
        Ok(())
    }

    async fn run_for(&mut self, var: &str, values: Vec<String>, body: &List) -> R {
        let mut last = 0;
        for v in values {
            if let Err(m) = self.set_var(var, &v) {
                let p = self.prefix(None);
                self.err(format!("{p}{m}")).await;
                return Err(Ctl::Exit(2));
            }
            match self.exec_list(body, false).await {
                Ok(()) => last = self.st.status,
                Err(Ctl::Break(n)) => {
                    if n > 1 {
                        return Err(Ctl::Break(n - 1));
                    }
                    last = self.st.status;
                    break;
                }
                Err(Ctl::Continue(n)) => {
                    if n > 1 {
                        return Err(Ctl::Continue(n - 1));
                    }
                    last = self.st.status;
                }
                Err(e) => return Err(e),
            }
            self.system.checkpoint().await;
        }
        self.st.status = last;
        Ok(())
    }

    async fn exec_simple(&mut self, cmd: &SimpleCommand, tail: bool) -> R {
        self.st.lineno = cmd.line;
        self.system.checkpoint().await;
        self.cmdsub_status = None;
        let mut argv = Vec::new();
        for w in &cmd.words {
            argv.extend(self.expand_fields(w).await?);
        }
        let mut assigns = Vec::new();
        for (name, w) in &cmd.assigns {
            assigns.push((name.clone(), self.expand_string(w).await?));
        }
        if self.st.opts.xtrace {
            let ps4 = self.get_var("PS4").unwrap_or_else(|| "+ ".into());
            let mut line = ps4;
            let words: Vec<String> = assigns
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .chain(argv.iter().cloned())
                .collect();
            line += &words.join(" ");
            self.err(line).await;
        }
        if argv.is_empty() {
            for (n, v) in &assigns {
                if let Err(m) = self.set_var(n, v) {
                    let p = self.prefix(None);
                    self.err(format!("{p}{m}")).await;
                    return Err(Ctl::Exit(2));
                }
            }
            let saved = match self.push_redirs(&cmd.redirs).await {
                Ok(s) => s,
                Err(RedirError::Msg(m)) => {
                    let p = self.prefix(None);
                    self.err(format!("{p}{m}")).await;
                    self.st.status = 1;
                    return self.run_pending_traps().await;
                }
                Err(RedirError::Ctl(c)) => return Err(c),
            };
            self.pop_redirs(saved);
            self.st.status = self.cmdsub_status.unwrap_or(0);
            return self.run_pending_traps().await;
        }
        let name = argv[0].clone();
        // `exec` without a command makes its redirections permanent.
        if name == "exec" && argv.len() == 1 {
            match self.push_redirs(&cmd.redirs).await {
                Ok(_) => self.st.status = 0,
                Err(RedirError::Msg(m)) => {
                    let p = self.prefix(None);
                    self.err(format!("{p}{m}")).await;
                    return Err(Ctl::Exit(2));
                }
                Err(RedirError::Ctl(c)) => return Err(c),
            }
            return self.run_pending_traps().await;
        }
        let special = super::builtins::is_special(&name);
        let saved = match self.push_redirs(&cmd.redirs).await {
            Ok(s) => s,
            Err(RedirError::Msg(m)) => {
                let p = self.prefix(None);
                self.err(format!("{p}{m}")).await;
                self.st.status = 1;
                if special {
                    return Err(Ctl::Exit(1));
                }
                return self.run_pending_traps().await;
            }
            Err(RedirError::Ctl(c)) => return Err(c),
        };
        let r = self.dispatch(argv, assigns, special, tail, true).await;
        self.pop_redirs(saved);
        r?;
        self.run_pending_traps().await
    }

    /// Runs a command by name: special builtin, function, builtin, inline applet, or
    /// an external program.
    pub(super) fn dispatch<'a>(
        &'a mut self,
        argv: Vec<String>,
        assigns: Vec<(String, String)>,
        special: bool,
        tail: bool,
        functions: bool,
    ) -> BoxFuture<'a, R> {
        Box::pin(async move {
            let name = argv[0].clone();
            if special {
                for (n, v) in &assigns {
                    if let Err(m) = self.set_var(n, v) {
                        let p = self.prefix(None);
                        self.err(format!("{p}{m}")).await;
                        return Err(Ctl::Exit(2));
                    }
                }
                return super::builtins::run(self, argv).await;
            }
            if functions && let Some(body) = self.st.functions.get(&name).cloned() {
                let saved = self.temp_assign(&assigns);
                let r = self.call_function(&body, argv[1..].to_vec()).await;
                self.restore_assign(saved);
                return r;
            }
            if super::builtins::is_regular(&name) {
                let saved = self.temp_assign(&assigns);
                let r = super::builtins::run(self, argv).await;
                self.restore_assign(saved);
                return r;
            }
            if INLINE_APPLETS.contains(&name.as_str())
                && let Some(program) = self.system.programs().get(&name)
            {
                let env = self.child_env(&assigns);
                return self.run_inline(program, argv, env).await;
            }
            self.run_external(argv, assigns, tail).await
        })
    }

    fn temp_assign(&mut self, assigns: &[(String, String)]) -> Vec<(String, Option<Var>)> {
        let mut saved = Vec::new();
        for (n, v) in assigns {
            saved.push((n.clone(), self.st.vars.get(n).cloned()));
            let _ = self.set_var(n, v);
            if let Some(var) = self.st.vars.get_mut(n) {
                var.exported = true;
            }
        }
        saved
    }

    fn restore_assign(&mut self, saved: Vec<(String, Option<Var>)>) {
        for (n, old) in saved.into_iter().rev() {
            match old {
                Some(v) => {
                    self.st.vars.insert(n, v);
                }
                None => {
                    self.st.vars.remove(&n);
                }
            }
        }
    }

    pub(super) async fn call_function(&mut self, body: &Command, args: Vec<String>) -> R {
        let saved_pos = std::mem::replace(&mut self.st.positional, args);
        self.func_depth += 1;
        self.locals.push(Vec::new());
        self.enter_call().await;
        let r = self.exec_command(body, false).await;
        self.leave_call();
        if let Some(frame) = self.locals.pop() {
            self.restore_assign(frame);
        }
        self.func_depth -= 1;
        self.st.positional = saved_pos;
        match r {
            Err(Ctl::Return) => Ok(()),
            other => other,
        }
    }

    /// Runs a busybox applet as a builtin, in this process (ash's NOFORK applets).
    async fn run_inline(
        &mut self,
        program: Arc<dyn Program>,
        argv: Vec<String>,
        env: Vec<String>,
    ) -> R {
        let mut system = self.system.clone();
        system.msg_name = Some(self.st.applet_name.clone());
        let ctx = ProgramContext {
            args: argv,
            env,
            cwd: self.st.cwd.clone(),
            stdin: self.fds.stdin.share(),
            stdout: self.fds.stdout.clone(),
            stderr: self.fds.stderr.clone(),
            signals: SignalReceiver::detached(),
            system,
        };
        let status = program.run(ctx).await;
        self.st.status = status.code();
        self.system.checkpoint().await;
        Ok(())
    }

    async fn run_external(
        &mut self,
        argv: Vec<String>,
        assigns: Vec<(String, String)>,
        tail: bool,
    ) -> R {
        let name = argv[0].clone();
        let path = self.get_var("PATH");
        let resolved = match self
            .system
            .resolve_ash(&name, path.as_deref(), &self.st.cwd)
        {
            Ok(r) => r,
            Err((msg, code)) => {
                let p = self.prefix(None);
                self.err(format!("{p}{name}: {msg}")).await;
                self.st.status = i32::from(code);
                return Ok(());
            }
        };
        let env = self.child_env(&assigns);
        if tail && self.can_tail_exec() {
            let fds = self.fds.dup();
            return Err(Ctl::Exec(Box::new(ExecReq {
                resolved,
                argv,
                env,
                fds,
            })));
        }
        let stdio = self.fds.stdio();
        let Ok(handle) = self.system.spawn_request(SpawnRequest {
            argv: resolved.argv(&argv),
            comm: resolved.comm(),
            program: Arc::clone(&resolved.program),
            setuid: resolved.setuid,
            env,
            cwd: self.st.cwd.clone(),
            stdio,
            ignored: self.signals.ignored_set(),
        }) else {
            return Err(self.fork_failed().await);
        };
        self.st.status = self.wait_foreground(&handle).await.code();
        Ok(())
    }

    /// Prepares an `exec cmd`.
    pub(super) async fn exec_builtin(&mut self, argv: Vec<String>) -> R {
        let name = argv[0].clone();
        let path = self.get_var("PATH");
        match self
            .system
            .resolve_ash(&name, path.as_deref(), &self.st.cwd)
        {
            Ok(resolved) => {
                let env = self.child_env(&[]);
                let fds = self.fds.dup();
                Err(Ctl::Exec(Box::new(ExecReq {
                    resolved,
                    argv,
                    env,
                    fds,
                })))
            }
            Err((msg, code)) => {
                let p = self.prefix(Some("exec"));
                self.err(format!("{p}{name}: {msg}")).await;
                Err(Ctl::Exit(i32::from(code)))
            }
        }
    }

    // ----- redirections -----

    fn open_out(&self, path: &str, mode: WriteMode) -> Result<Output, FsError> {
        match path {
            "/dev/stdout" | "/proc/self/fd/1" => return Ok(self.fds.stdout.clone()),
            "/dev/stderr" | "/proc/self/fd/2" => return Ok(self.fds.stderr.clone()),
            _ => {}
        }
        let abs = crate::process::vfs::normalize(&self.st.cwd, path);
        let sink = self
            .system
            .vfs()
            .open_write(&abs, mode, self.system.access())?;
        Ok(if sink.discards() {
            Output::null()
        } else {
            Output::from_sink(sink)
        })
    }

    async fn push_redirs(&mut self, redirs: &[Redir]) -> Result<Option<Fds>, RedirError> {
        if redirs.is_empty() {
            return Ok(None);
        }
        let mut new = self.fds.dup();
        for r in redirs {
            match r.op {
                RedirOp::Out | RedirOp::Clobber | RedirOp::Append => {
                    let path = self.expand_string(&r.target).await?;
                    let mut mode = if r.op == RedirOp::Append {
                        WriteMode::APPEND
                    } else {
                        WriteMode::TRUNCATE
                    };
                    if r.op == RedirOp::Out && self.st.opts.noclobber {
                        let abs = crate::process::vfs::normalize(&self.st.cwd, &path);
                        if let Ok(st) = self.system.vfs().stat(&abs, true, self.system.access())
                            && st.kind == crate::process::vfs::FileKind::File
                        {
                            mode.exclusive = true;
                        }
                    }
                    let out = self.open_out(&path, mode).map_err(|e| {
                        RedirError::Msg(format!(
                            "can't create {path}: {}",
                            ash_errmsg(&e, "nonexistent directory")
                        ))
                    })?;
                    new.set_out(r.fd.unwrap_or(1), out);
                }
                RedirOp::In | RedirOp::ReadWrite => {
                    let path = self.expand_string(&r.target).await?;
                    if path == "/dev/stdin" {
                        continue;
                    }
                    let abs = crate::process::vfs::normalize(&self.st.cwd, &path);
                    if r.op == RedirOp::ReadWrite {
                        let _ = self.open_out(&path, WriteMode::KEEP);
                    }
                    let reader = self
                        .system
                        .vfs()
                        .open_read(&abs, self.system.access())
                        .map_err(|e| {
                            RedirError::Msg(format!(
                                "can't open {path}: {}",
                                ash_errmsg(&e, "no such file")
                            ))
                        })?;
                    if r.fd.unwrap_or(0) == 0 {
                        new.stdin = Input::from_source(Box::new(reader));
                    }
                }
                RedirOp::DupOut | RedirOp::DupIn => {
                    let target = self.expand_string(&r.target).await?;
                    let fd = r.fd.unwrap_or(if r.op == RedirOp::DupOut { 1 } else { 0 });
                    if target == "-" {
                        if fd == 0 {
                            new.stdin = Input::empty();
                        } else {
                            new.set_out(fd, Output::null());
                        }
                        continue;
                    }
                    let Ok(src) = target.parse::<u32>() else {
                        if r.op == RedirOp::DupOut {
                            // `>&file`: like `>file 2>&1`.
                            let out = self.open_out(&target, WriteMode::TRUNCATE).map_err(|e| {
                                RedirError::Msg(format!(
                                    "can't create {target}: {}",
                                    ash_errmsg(&e, "nonexistent directory")
                                ))
                            })?;
                            new.set_out(1, out.clone());
                            new.set_out(2, out);
                            continue;
                        }
                        return Err(RedirError::Msg(format!("{target}: bad file descriptor")));
                    };
                    if fd == 0 || src == 0 {
                        continue;
                    }
                    match new.get_out(src) {
                        Some(out) => new.set_out(fd, out),
                        None => return Err(RedirError::Msg(format!("{src}: Bad file descriptor"))),
                    }
                }
                RedirOp::HereDoc => {
                    let body = self.expand_string(&r.target).await?;
                    if r.fd.unwrap_or(0) == 0 {
                        new.stdin = Input::from_bytes(body);
                    }
                }
            }
        }
        Ok(Some(std::mem::replace(&mut self.fds, new)))
    }

    fn pop_redirs(&mut self, saved: Option<Fds>) {
        if let Some(fds) = saved {
            self.fds = fds;
        }
    }
}

impl State {
    /// A new variable, at the end of its bucket (or where ash's built-ins sit).
    pub(super) fn new_var(&mut self, name: &str, value: &str, exported: bool) -> Var {
        self.next_seq += 1;
        Var {
            value: value.to_owned(),
            exported,
            readonly: false,
            seq: varinit_seq(name).unwrap_or(self.next_seq),
        }
    }
}

/// A subshell (pipeline element, background job, `( ... )`, `$( ... )`).
struct SubshellProgram(Mutex<Option<(State, Body)>>);

impl Program for SubshellProgram {
    fn run(&self, ctx: ProgramContext) -> BoxFuture<'static, ExitStatus> {
        let taken = self.0.lock().ok().and_then(|mut g| g.take());
        Box::pin(async move {
            let Some((state, body)) = taken else {
                return ExitStatus::Exited(0);
            };
            let mut sh = Shell::from_state(state, ctx);
            let r = match &body {
                Body::Command(c) => sh.exec_command(c, true).await,
                Body::AndOr(ao) => sh.exec_and_or(ao, true).await.map(|_| ()),
                Body::List(l) => sh.exec_list(l, true).await,
            };
            sh.finish(r).await
        })
    }
}

impl super::arith::Vars for Shell {
    fn get(&self, name: &str) -> Option<String> {
        self.get_var(name)
    }

    fn set(&mut self, name: &str, value: String) {
        let _ = self.set_var(name, &value);
    }
}
