//! Pacing: how much chunk data may wait in the socket's buffer ([`Drain`]), how long the pump
//! waits for it to drain, and the reconnect backoff. Pure arithmetic over what the link
//! reports.

/// Chunk frames are handed to the socket only while less than this is buffered, at first;
/// then while less than [`BUFFER_MS`] of sending is.
pub const WATERMARK: u32 = 1024 * 1024;
/// The most the buffer may hold for chunk frames however fast it drains.
pub const WATERMARK_MAX: u32 = 16 * 1024 * 1024;
/// Chunk frames may fill the socket buffer with what it drains in this long at the measured
/// rate (within [`WATERMARK`] and [`WATERMARK_MAX`]): a text sent meanwhile waits about this
/// long behind them, or for [`WATERMARK`] on a slow link. Holding a fast link to 1 MiB kept
/// the sending page feeding it in small steps: a 12 MP photo took 250 ms to hand over on
/// localhost, against 15 ms for the whole of it at once.
const BUFFER_MS: f64 = 200.0;
/// While the socket buffer is too full, the pump looks again when the buffer should have
/// drained enough at the measured rate ([`Drain`]), within these bounds, or after
/// [`PUMP_RETRY_UNKNOWN_MS`] before any rate is known. (A fixed 8 ms left the socket idle for
/// much of each wait: 13-27 ms per 12 MP photo in the latency bench.)
const PUMP_RETRY_MIN_MS: f64 = 1.0;
const PUMP_RETRY_MAX_MS: f64 = 32.0;
pub const PUMP_RETRY_UNKNOWN_MS: u32 = 4;
const BACKOFF_BASE_MS: f64 = 500.0;
const BACKOFF_CAP_MS: f64 = 15_000.0;

/// Capped exponential backoff with jitter (half fixed, half random).
pub fn backoff_ms(attempt: u32, random01: f64) -> u32 {
    let exp = BACKOFF_BASE_MS * 2f64.powi(attempt.min(16) as i32);
    let capped = exp.min(BACKOFF_CAP_MS);
    (capped / 2.0 + capped / 2.0 * random01.clamp(0.0, 1.0)) as u32
}

/// How fast the socket buffer drains, from `bufferedAmount` seen over time and what was
/// handed to the socket; it sets how much chunk data may wait in the buffer.
#[derive(Debug, Default)]
pub struct Drain {
    /// Bytes handed to the socket so far.
    handed: u64,
    /// The last look: when (ms), and how much had left the buffer by then.
    last: Option<(f64, u64)>,
    /// Bytes per millisecond; 0 until measured.
    per_ms: f64,
}

impl Drain {
    /// Looks closer together than this are merged: timer and clock granularity.
    const MIN_WINDOW_MS: f64 = 2.0;
    /// What is left of the fastest rate seen at each later look.
    const FADE: f64 = 0.9;

    pub fn handed(&mut self, bytes: u64) {
        self.handed += bytes;
    }

    /// The buffer held `buffered` bytes at `now`.
    pub fn observe(&mut self, now: f64, buffered: u32) {
        let left = self.handed.saturating_sub(u64::from(buffered));
        let Some((then, left_then)) = self.last else {
            if buffered > 0 {
                self.last = Some((now, left));
            }
            return;
        };
        let elapsed = now - then;
        if elapsed < Self::MIN_WINDOW_MS {
            return;
        }
        // Precision loss is irrelevant for a rate.
        #[allow(clippy::cast_precision_loss)]
        let rate = left.saturating_sub(left_then) as f64 / elapsed;
        // The link's pace is what it reaches: a page too busy to feed the socket for a
        // while lowers one look's rate, not what the link can take. Older peaks fade.
        self.per_ms = (self.per_ms * Self::FADE).max(rate);
        self.last = (buffered > 0).then_some((now, left));
    }

    /// How long to wait, holding `buffered` bytes, until the buffer should be under the
    /// allowance (or empty, when only confirmations wait) at the measured rate.
    pub fn wait_ms(&self, buffered: u32) -> u32 {
        if self.per_ms <= 0.0 {
            return PUMP_RETRY_UNKNOWN_MS;
        }
        let allowance = self.allowance();
        let over = if buffered >= allowance {
            buffered - allowance + 1
        } else {
            buffered
        };
        // Clamped to 1..=32 ms, so the cast is in range.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = (f64::from(over) / self.per_ms).clamp(PUMP_RETRY_MIN_MS, PUMP_RETRY_MAX_MS);
        ms as u32
    }

    /// How much chunk data may wait in the buffer.
    pub fn allowance(&self) -> u32 {
        // Clamped into u32's range first.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bytes = (self.per_ms * BUFFER_MS).clamp(f64::from(WATERMARK), f64::from(WATERMARK_MAX));
        bytes as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_allowance_follows_the_drain_rate() {
        let mut d = Drain::default();
        assert_eq!(d.allowance(), WATERMARK, "unmeasured: the least");
        // 1 MiB handed; 10 ms later half of it left: 52 KiB/ms, 200 ms of it is over 10 MiB.
        d.handed(1 << 20);
        d.observe(0.0, 1 << 20);
        d.observe(10.0, 1 << 19);
        assert_eq!(
            d.allowance(),
            (((1 << 19) as f64 / 10.0) * BUFFER_MS) as u32
        );
        // Looks within the clock's granularity change nothing.
        d.observe(11.0, 1 << 18);
        assert_eq!(
            d.allowance(),
            (((1 << 19) as f64 / 10.0) * BUFFER_MS) as u32
        );
        // Faster than the cap allows: capped.
        d.handed(64 << 20);
        d.observe(12.0, 64 << 20);
        d.observe(14.0, 0);
        assert_eq!(d.allowance(), WATERMARK_MAX);

        // Slower looks fade the peak rather than replace it.
        let mut d = Drain::default();
        d.handed(4 << 20);
        d.observe(0.0, 4 << 20);
        d.observe(10.0, (4 << 20) - (1 << 18));
        d.observe(20.0, (4 << 20) - (1 << 18) - 1024);
        let peak = (1 << 18) as f64 / 10.0;
        assert_eq!(d.allowance(), (peak * Drain::FADE * BUFFER_MS) as u32);

        // A slow link: 1 KiB/ms is 200 KiB in 200 ms, so the least applies.
        let mut slow = Drain::default();
        slow.handed(1 << 20);
        slow.observe(0.0, 1 << 20);
        slow.observe(100.0, (1 << 20) - 100 * 1024);
        assert_eq!(slow.allowance(), WATERMARK);
        // An idle buffer is no measurement.
        let mut idle = Drain::default();
        idle.observe(0.0, 0);
        idle.observe(50.0, 0);
        assert_eq!(idle.allowance(), WATERMARK);
    }

    #[test]
    fn the_pump_waits_as_long_as_the_buffer_takes_to_drain() {
        let mut d = Drain::default();
        assert_eq!(d.wait_ms(2 << 20), PUMP_RETRY_UNKNOWN_MS, "no rate yet");
        // 10 KiB/ms: the allowance is 2000 KiB.
        d.handed(4 << 20);
        d.observe(0.0, 4 << 20);
        d.observe(100.0, (4 << 20) - 1_024_000);
        assert_eq!(d.allowance(), 2_048_000);
        // 100 KiB over the allowance: 10 ms; an empty-but-not-quite buffer: 1 ms at least.
        assert_eq!(d.wait_ms(2_048_000 + 102_400 - 1), 10);
        assert_eq!(d.wait_ms(100), 1);
        // Far over: at most 32 ms, so a link that speeds up is noticed.
        assert_eq!(d.wait_ms(u32::MAX), 32);
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff_ms(0, 0.0), 250);
        assert_eq!(backoff_ms(0, 1.0), 500);
        assert_eq!(backoff_ms(3, 1.0), 4000);
        assert_eq!(backoff_ms(10, 1.0), 15_000);
        assert_eq!(backoff_ms(40, 0.0), 7_500);
        assert!(backoff_ms(5, 0.5) > backoff_ms(4, 0.5));
    }
}
