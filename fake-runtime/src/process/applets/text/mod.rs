//! Text applets: echo, printf, cat, head, tail, yes, seq, wc, grep, cut, tr, sort,
//! uniq, tee, basename, dirname, xargs.
//!
//! One module per family: [`print`] (echo, printf, yes, seq), [`stream`] (cat, head,
//! tail, tee, wc), [`filter`] (grep), [`fields`] (cut, tr), [`sort`] (sort, uniq),
//! [`paths`] (basename, dirname), [`xargs`].

mod fields;
mod filter;
mod paths;
mod print;
mod sort;
mod stream;
mod xargs;

use crate::process::program::Programs;

pub(super) fn register(p: &mut Programs) {
    p.insert_builtin("echo", print::echo);
    p.insert_builtin("printf", print::printf);
    p.insert_builtin("cat", stream::cat);
    p.insert_builtin("head", stream::head);
    p.insert_builtin("tail", stream::tail);
    p.insert_builtin("yes", print::yes);
    p.insert_builtin("seq", print::seq);
    p.insert_builtin("wc", stream::wc);
    p.insert_builtin("grep", filter::grep);
    p.insert_builtin("egrep", filter::grep);
    p.insert_builtin("fgrep", filter::grep);
    p.insert_builtin("cut", fields::cut);
    p.insert_builtin("tr", fields::tr);
    p.insert_builtin("sort", sort::sort);
    p.insert_builtin("uniq", sort::uniq);
    p.insert_builtin("tee", stream::tee);
    p.insert_builtin("basename", paths::basename);
    p.insert_builtin("dirname", paths::dirname);
    p.insert_builtin("xargs", xargs::xargs);
}
