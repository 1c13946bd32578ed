//! Reconnection delays: the stream's retry time, doubled per failed attempt, capped, jittered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Floor under the doubling, so that a server's `retry: 0` cannot turn repeated failures into a
/// busy loop (the first reconnection still uses the server's value as given).
const DOUBLING_FLOOR: Duration = Duration::from_millis(10);

/// How far a delay may be moved either way, as a fraction of it.
const JITTER: f64 = 0.2;

/// Computes reconnection delays; owns a small xorshift generator for the jitter.
#[derive(Debug)]
pub(super) struct Backoff {
    state: u64,
}

impl Backoff {
    /// A generator seeded from the clock and a process-wide counter, so streams opened in the
    /// same instant still spread out.
    pub(super) fn from_clock() -> Self {
        static STREAMS: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        let count = STREAMS.fetch_add(1, Ordering::Relaxed);
        Self::seeded(nanos ^ count.rotate_left(32))
    }

    /// A generator with a fixed seed (any value, zero included).
    pub(super) fn seeded(seed: u64) -> Self {
        // splitmix64 scrambles the seed; xorshift needs a non-zero state.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self { state: z | 1 }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// A factor drawn uniformly from `[1 - JITTER, 1 + JITTER)`.
    fn jitter_factor(&mut self) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        1.0 - JITTER + 2.0 * JITTER * unit
    }

    /// The delay before the next reconnection attempt.
    ///
    /// `retry` is the stream's reconnection time (the server's last `retry:` or the configured
    /// initial value), `failures` the number of reconnection attempts in a row that have failed.
    /// The result is `retry * 2^failures`, capped at `max_backoff` (or at `retry` itself when the
    /// server asked for more than `max_backoff`), moved by up to ±20% and never above that cap.
    pub(super) fn delay(
        &mut self,
        retry: Duration,
        failures: u32,
        max_backoff: Duration,
    ) -> Duration {
        let cap = max_backoff.max(retry);
        let base = if failures == 0 {
            retry
        } else {
            let factor = 1u32.checked_shl(failures).unwrap_or(u32::MAX);
            retry.max(DOUBLING_FLOOR).saturating_mul(factor)
        };
        let base = base.min(cap);
        Duration::try_from_secs_f64(base.as_secs_f64() * self.jitter_factor())
            .unwrap_or(cap)
            .min(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn within_jitter(delay: Duration, expected: Duration) -> bool {
        let (low, high) = (expected.mul_f64(0.8), expected.mul_f64(1.2));
        low <= delay && delay <= high
    }

    #[test]
    fn doubles_per_failure_within_jitter() {
        let mut backoff = Backoff::seeded(7);
        for (failures, expected) in [(0, 100), (1, 200), (2, 400), (3, 800), (4, 1600)] {
            let delay = backoff.delay(100 * MS, failures, 30_000 * MS);
            assert!(
                within_jitter(delay, expected * MS),
                "{failures} failures: {delay:?}"
            );
        }
    }

    #[test]
    fn never_exceeds_the_cap() {
        let mut backoff = Backoff::seeded(1);
        for failures in 0..200 {
            let delay = backoff.delay(1000 * MS, failures, 30_000 * MS);
            assert!(delay <= 30_000 * MS, "{failures} failures: {delay:?}");
        }
        let delay = backoff.delay(1000 * MS, 40, 30_000 * MS);
        assert!(delay >= 24_000 * MS, "{delay:?}");
    }

    #[test]
    fn a_server_retry_above_the_cap_is_honoured() {
        let mut backoff = Backoff::seeded(3);
        let delay = backoff.delay(60_000 * MS, 0, 30_000 * MS);
        assert!(delay >= 48_000 * MS && delay <= 60_000 * MS, "{delay:?}");
    }

    #[test]
    fn retry_zero_reconnects_at_once_then_backs_off() {
        let mut backoff = Backoff::seeded(5);
        assert_eq!(
            backoff.delay(Duration::ZERO, 0, 30_000 * MS),
            Duration::ZERO
        );
        assert!(within_jitter(
            backoff.delay(Duration::ZERO, 3, 30_000 * MS),
            80 * MS
        ));
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let mut backoff = Backoff::seeded(9);
        let delay = backoff.delay(Duration::MAX, u32::MAX, Duration::MAX);
        assert!(delay <= Duration::MAX);
    }

    #[test]
    fn jitter_spreads_and_stays_in_range() {
        let mut backoff = Backoff::seeded(11);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1000 {
            let factor = backoff.jitter_factor();
            assert!((0.8..1.2).contains(&factor), "{factor}");
            seen.insert((factor * 100.0) as u32);
        }
        // 1000 draws over 40 one-percent buckets: every bucket is hit.
        assert_eq!(seen.len(), 40, "{seen:?}");
    }

    #[test]
    fn differently_seeded_generators_differ() {
        let a = Backoff::from_clock().next_u64();
        let b = Backoff::from_clock().next_u64();
        assert_ne!(a, b);
    }
}
