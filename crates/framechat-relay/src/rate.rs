//! Per-connection rate limit: two token buckets, messages and bytes.

use std::time::{Duration, Instant};

/// A token bucket: holds up to `burst` tokens, refilled at `per_sec`.
#[derive(Debug, Clone)]
struct Bucket {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(per_sec: f64, burst: f64, now: Instant) -> Self {
        Self {
            per_sec,
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = now;
    }
}

/// Which limit a message broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// Messages per second.
    Messages,
    /// Bytes per second.
    Bytes,
}

/// Rate limit of one connection. A message is allowed if both buckets hold
/// enough tokens; a message larger than the byte burst can never pass, so
/// the byte burst should be at least the largest message.
#[derive(Debug, Clone)]
pub struct RateLimit {
    messages: Option<Bucket>,
    bytes: Option<Bucket>,
}

impl RateLimit {
    /// A limiter; a rate of 0 disables that bucket.
    #[must_use]
    pub fn new(
        messages_per_sec: u32,
        burst_messages: u32,
        bytes_per_sec: usize,
        burst_bytes: usize,
        now: Instant,
    ) -> Self {
        // usize -> f64 may round for sizes above 2^53 bytes; irrelevant here.
        #[allow(clippy::cast_precision_loss)]
        let bytes = (bytes_per_sec > 0)
            .then(|| Bucket::new(bytes_per_sec as f64, burst_bytes.max(1) as f64, now));
        let messages = (messages_per_sec > 0).then(|| {
            Bucket::new(
                f64::from(messages_per_sec),
                f64::from(burst_messages.max(1)),
                now,
            )
        });
        Self { messages, bytes }
    }

    /// Takes one message of `len` bytes from the buckets, or says which limit
    /// it breaks (and takes nothing).
    ///
    /// # Errors
    /// The first limit the message would exceed.
    pub fn check(&mut self, len: usize, now: Instant) -> Result<(), Exceeded> {
        #[allow(clippy::cast_precision_loss)]
        let len = len as f64;
        if let Some(b) = &mut self.messages {
            b.refill(now);
            if b.tokens < 1.0 {
                return Err(Exceeded::Messages);
            }
        }
        if let Some(b) = &mut self.bytes {
            b.refill(now);
            if b.tokens < len {
                return Err(Exceeded::Bytes);
            }
            b.tokens -= len;
        }
        if let Some(b) = &mut self.messages {
            b.tokens -= 1.0;
        }
        Ok(())
    }

    /// Takes one message of `len` bytes from the buckets, going into debt if
    /// needed, and returns how long to wait before relaying it so that the
    /// debt is paid off. Any size passes eventually, even one above the burst.
    pub fn reserve(&mut self, len: usize, now: Instant) -> Duration {
        #[allow(clippy::cast_precision_loss)]
        let len = len as f64;
        let mut wait = 0.0_f64;
        for (bucket, cost) in [(&mut self.messages, 1.0), (&mut self.bytes, len)] {
            if let Some(b) = bucket {
                b.refill(now);
                b.tokens -= cost;
                if b.tokens < 0.0 {
                    wait = wait.max(-b.tokens / b.per_sec);
                }
            }
        }
        Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(2, 3, 0, 0, t0);
        for _ in 0..3 {
            assert_eq!(r.check(10, t0), Ok(()));
        }
        assert_eq!(r.check(10, t0), Err(Exceeded::Messages));
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(r.check(10, t1), Ok(()));
        assert_eq!(r.check(10, t1), Err(Exceeded::Messages));
    }

    #[test]
    fn bytes_bucket() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(0, 0, 100, 250, t0);
        assert_eq!(r.check(200, t0), Ok(()));
        assert_eq!(r.check(100, t0), Err(Exceeded::Bytes));
        assert_eq!(r.check(50, t0), Ok(()));
        assert_eq!(r.check(100, t0 + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn reserve_goes_into_debt_and_says_how_long_to_wait() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(10, 2, 1000, 1000, t0);
        assert_eq!(r.reserve(100, t0), Duration::ZERO);
        assert_eq!(r.reserve(100, t0), Duration::ZERO);
        // Third message: one message short at 10/s.
        assert_eq!(r.reserve(100, t0), Duration::from_millis(100));
        // A message above the byte burst waits for its debt: 700 + 100 refilled
        // - 2000 = 1200 bytes owed at 1000/s.
        let t1 = t0 + Duration::from_millis(100);
        let wait = r.reserve(2000, t1);
        assert!(
            wait.abs_diff(Duration::from_millis(1200)) < Duration::from_millis(1),
            "{wait:?}"
        );
    }

    #[test]
    fn disabled() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(0, 0, 0, 0, t0);
        for _ in 0..10_000 {
            assert_eq!(r.check(1 << 20, t0), Ok(()));
        }
    }
}
