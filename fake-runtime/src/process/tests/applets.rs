//! applets tests.
