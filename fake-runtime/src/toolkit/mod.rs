//! The test author's toolkit: scripted execs and containers, fault and delay rules,
//! the call journal, expectations and waiters. It uses the core and plugs into it
//! through the core's hooks ([`script::Toolkit`] implements them).

pub mod faults;
pub mod journal;
pub mod method;
pub mod script;
