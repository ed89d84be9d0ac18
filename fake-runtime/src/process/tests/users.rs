//! users tests.
