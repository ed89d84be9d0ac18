//! programs tests.
