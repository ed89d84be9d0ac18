//! spawn tests.
