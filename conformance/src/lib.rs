//! CRI conformance checks (in progress).
