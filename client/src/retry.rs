//! [`RetryPolicy`]: bounded tries, a growing interval, and a deadline on every try.
//!
//! The policy drives [`Client::remove_pod`](crate::Client::remove_pod) and the stop loop of
//! [`Client::stop_container`](crate::Client::stop_container). Because every try has its own
//! deadline and the number of tries is bounded, a retried operation always ends: at the
//! latest after `tries × per_try_timeout` plus the sum of [`RetryPolicy::intervals`].

use std::future::Future;
use std::time::Duration;

/// How the interval between two tries grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// Every interval is the first one.
    Constant,
    /// Each interval is the previous one plus this step.
    Linear(Duration),
    /// Each interval is the previous one times this factor.
    Exponential(u32),
}

/// Bounded retries with a growing interval and a per-try deadline.
///
/// The default is what a production node agent uses: 10 tries, 5 s between the first two,
/// growing by 5 s each time (5 s, 10 s, ... 45 s), each interval capped at 60 s, and 30 s for
/// each try. Tests should use a short policy (milliseconds) or paused tokio time.
///
/// ```
/// use std::time::Duration;
/// use cri_client::{Growth, RetryPolicy};
///
/// let policy = RetryPolicy {
///     tries: 4,
///     first_interval: Duration::from_millis(10),
///     growth: Growth::Exponential(2),
///     ..RetryPolicy::default()
/// };
/// let intervals: Vec<Duration> = policy.intervals().collect();
/// assert_eq!(intervals, [10, 20, 40].map(Duration::from_millis));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many tries in all (0 is treated as 1).
    pub tries: u32,
    /// The wait between the first and the second try.
    pub first_interval: Duration,
    /// How the wait grows after that.
    pub growth: Growth,
    /// No wait is longer than this.
    pub max_interval: Duration,
    /// The deadline of each try (for a graceful stop, the grace period is added to it).
    pub per_try_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            tries: 10,
            first_interval: Duration::from_secs(5),
            growth: Growth::Linear(Duration::from_secs(5)),
            max_interval: Duration::from_secs(60),
            per_try_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that tries once.
    pub fn once(per_try_timeout: Duration) -> Self {
        Self {
            tries: 1,
            per_try_timeout,
            ..Self::default()
        }
    }

    /// The number of tries, at least 1.
    pub fn effective_tries(&self) -> u32 {
        self.tries.max(1)
    }

    /// The waits between tries, in order: `effective_tries() - 1` of them.
    pub fn intervals(&self) -> impl Iterator<Item = Duration> + use<> {
        let policy = *self;
        let mut next = policy.first_interval.min(policy.max_interval);
        (1..policy.effective_tries()).map(move |_| {
            let current = next;
            let grown = match policy.growth {
                Growth::Constant => current,
                Growth::Linear(step) => current.saturating_add(step),
                Growth::Exponential(factor) => current.saturating_mul(factor),
            };
            next = grown.min(policy.max_interval);
            current
        })
    }

    /// The longest a retried operation can take: every try hitting its deadline plus every
    /// interval.
    pub fn worst_case(&self) -> Duration {
        let tries_total = self.per_try_timeout.saturating_mul(self.effective_tries());
        self.intervals().fold(tries_total, |total, interval| {
            total.saturating_add(interval)
        })
    }
}

/// Runs `attempt` (given the 0-based try number) until it succeeds or the policy's tries are
/// spent, sleeping [`RetryPolicy::intervals`] in between. Returns the first success, or
/// every failure in order.
///
/// The attempt is responsible for its own deadline (the client passes
/// [`RetryPolicy::per_try_timeout`] to each RPC).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use cri_client::{retry, Growth, RetryPolicy};
///
/// let policy = RetryPolicy { tries: 3, first_interval: Duration::from_millis(1), ..RetryPolicy::default() };
/// let result: Result<u32, Vec<String>> = retry(&policy, |n| async move {
///     if n < 2 { Err(format!("try {n} failed")) } else { Ok(n) }
/// }).await;
/// assert_eq!(result, Ok(2));
/// # }
/// ```
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, mut attempt: F) -> Result<T, Vec<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut errors = Vec::new();
    let mut intervals = policy.intervals();
    let mut n = 0;
    loop {
        match attempt(n).await {
            Ok(value) => return Ok(value),
            Err(err) => errors.push(err),
        }
        match intervals.next() {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return Err(errors),
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    #[test]
    fn default_policy_tries_ten_times_with_intervals_growing_by_five_seconds() {
        let policy = RetryPolicy::default();
        let intervals: Vec<u64> = policy.intervals().map(|d| d.as_secs()).collect();
        assert_eq!(intervals, [5, 10, 15, 20, 25, 30, 35, 40, 45]);
        assert_eq!(policy.worst_case(), Duration::from_secs(10 * 30 + 225));
    }

    #[test]
    fn intervals_are_capped_by_max_interval() {
        let policy = RetryPolicy {
            tries: 6,
            first_interval: Duration::from_secs(1),
            growth: Growth::Exponential(3),
            max_interval: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let intervals: Vec<u64> = policy.intervals().map(|d| d.as_secs()).collect();
        assert_eq!(intervals, [1, 3, 9, 10, 10]);
    }

    #[test]
    fn constant_growth_repeats_the_first_interval() {
        let policy = RetryPolicy {
            tries: 4,
            first_interval: Duration::from_millis(7),
            growth: Growth::Constant,
            ..RetryPolicy::default()
        };
        let intervals: Vec<u128> = policy.intervals().map(|d| d.as_millis()).collect();
        assert_eq!(intervals, [7, 7, 7]);
    }

    #[test]
    fn zero_tries_means_one_try_and_no_interval() {
        let policy = RetryPolicy {
            tries: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.effective_tries(), 1);
        assert_eq!(policy.intervals().count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_succeeds_after_two_failures_having_slept_the_first_two_intervals() {
        let calls = Arc::new(AtomicU32::new(0));
        let started = Instant::now();
        let counter = calls.clone();
        let result: Result<&str, Vec<String>> = retry(&RetryPolicy::default(), |n| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                if n < 2 {
                    Err(format!("failure {n}"))
                } else {
                    Ok("done")
                }
            }
        })
        .await;
        assert_eq!(result, Ok("done"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(started.elapsed(), Duration::from_secs(5 + 10));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_after_all_tries_and_returns_every_failure() {
        let started = Instant::now();
        let result: Result<(), Vec<u32>> =
            retry(&RetryPolicy::default(), |n| async move { Err(n) }).await;
        assert_eq!(result, Err((0..10).collect::<Vec<u32>>()));
        assert_eq!(started.elapsed(), Duration::from_secs(225));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_does_not_sleep_after_a_first_success() {
        let started = Instant::now();
        let result: Result<u32, Vec<()>> =
            retry(&RetryPolicy::default(), |n| async move { Ok(n) }).await;
        assert_eq!(result, Ok(0));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
