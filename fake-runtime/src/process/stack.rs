//! Deep recursion in the simulation: the depth limits, and stack that grows on demand.
//!
//! The shell is a recursive-descent parser and a recursive (async) interpreter. A
//! script decides how deep they go, so every recursive path has a limit, and every
//! level runs through [`grow`] (or [`Grow`] for futures): when less than
//! [`RED_ZONE`] of stack is left, the next level continues on a fresh heap-allocated
//! segment instead of overflowing the thread's stack (tokio workers and test threads
//! have 2 MiB, and a debug build needs tens of KiB per shell function call).
//!
//! What a script sees at the limits (see README "Fidelity"):
//!
//! * nesting in the *syntax* beyond [`MAX_SYNTAX_DEPTH`] levels (`( ( ... ) )`,
//!   `if` in `if`, `$( $( ... ) )`, `${x:-${x:-...}}`, heredocs and backquotes
//!   included) is refused like a syntax error: `sh: nested too deeply: more than 1000
//!   levels`, status 2, before anything of that command line runs. Parsing stays linear
//!   in the nesting (a keyword is recognised without re-reading the `$(...)` of the word
//!   after it). busybox ash parses (and runs) far deeper
//!   scripts until its own 8 MiB stack overflows (measured: 10000 nested subshells
//!   run, 30000 segfault), which the fake cannot afford per level;
//! * arithmetic nested beyond [`MAX_ARITH_DEPTH`] levels (`$(( ((...)) ))`, `- - 1`,
//!   `a=b=c`, `2**2**2`) fails the same way with status 2. ash's evaluator is iterative
//!   and has no such limit;
//! * *running* more than [`MAX_CALL_DEPTH`] nested calls (unbounded function
//!   recursion `f() { f; }; f`, `eval` or `.` recursing into itself), or commands
//!   nested more than [`MAX_RUN_DEPTH`] deep, ends the shell as busybox ends: killed by
//!   SIGSEGV, status 139, no message of its own (a parent shell reports `Segmentation
//!   fault`). busybox 1.35 segfaults after about 7300 levels of `f() { f; }` with the
//!   default 8 MiB stack; the fake's limit is lower to keep the memory a runaway
//!   recursion costs to tens of MiB (a debug build needs about 60 KiB per call).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;

/// How deep the shell's syntax may nest.
pub(crate) const MAX_SYNTAX_DEPTH: u32 = 1000;

/// How deep an arithmetic expression may nest.
pub(crate) const MAX_ARITH_DEPTH: u32 = 1000;

/// How deep a running shell may nest calls (functions, `eval`, `.`) before it dies of
/// a simulated stack overflow.
pub(crate) const MAX_CALL_DEPTH: u32 = 1000;

/// How deep a running shell may nest commands (a function call is at least two: the
/// call and its body) before it dies of a simulated stack overflow.
pub(crate) const MAX_RUN_DEPTH: u32 = 5000;

/// The message for syntax or arithmetic nested beyond its limit.
pub(crate) fn too_deep_message(limit: u32) -> String {
    format!("nested too deeply: more than {limit} levels")
}

/// The stack one level may use before the next check: deep but bounded work between
/// two checks (dropping or cloning a syntax tree nested [`MAX_SYNTAX_DEPTH`] deep needs
/// about 0.7 MiB in a debug build) must fit in it.
pub(crate) const RED_ZONE: usize = 1024 * 1024;

/// The size of each new stack segment.
const SEGMENT: usize = 4 * 1024 * 1024;

/// Runs `f`, on a new stack segment if less than [`RED_ZONE`] is left.
pub(crate) fn grow<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}

/// A future whose every poll runs through [`grow`]: the recursion of nested futures
/// (each poll calls the next level's poll) never overflows the thread's stack.
pub(crate) struct Grow<'a, T>(BoxFuture<'a, T>);

impl<T> Future for Grow<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let fut = &mut self.0;
        grow(|| fut.as_mut().poll(cx))
    }
}

/// Boxes `fut` so that polling it grows the stack when needed (see [`Grow`]).
pub(crate) fn boxed<'a, T: 'a>(fut: impl Future<Output = T> + Send + 'a) -> BoxFuture<'a, T> {
    Box::pin(Grow(Box::pin(fut)))
}
