//! Waiters instead of sleeps: until a container reaches a state, a container or
//! sandbox is removed, a sandbox reaches a state.
//!
//! Every lifecycle change wakes the waiters (they also re-check every 50 ms, so a
//! change made some other way is seen too).

use std::fmt;
use std::time::Duration;

/// A wait for a state that did not come in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateWaitError {
    /// What was awaited.
    pub what: String,
    /// What was seen last (`CONTAINER_RUNNING`, `absent`, ...).
    pub last_seen: String,
    /// How long the wait lasted.
    pub waited: Duration,
}

impl fmt::Display for StateWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gave up waiting for {} after {:?}; last seen: {}",
            self.what, self.waited, self.last_seen
        )
    }
}

impl std::error::Error for StateWaitError {}

/// How often a state wait re-checks even without a state change.
pub(crate) const STATE_RECHECK: Duration = Duration::from_millis(50);
