//! streaming tests.
