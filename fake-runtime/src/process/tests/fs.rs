//! fs tests.
