//! Which kept messages to drop or strip of their media when a room is over its limits: a pure
//! plan over the records' media sizes, oldest first, tested natively.

use super::Limits;

/// What to do to a room's records, oldest first, to bring it within its [`Limits`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Delete this many of the oldest records.
    pub delete: usize,
    /// Drop the media of the records at these indices (their text and metadata stay).
    pub strip: Vec<usize>,
}

/// The plan for records whose stored media take `bytes` each, oldest first: the records past
/// the newest `max_messages` go, then the oldest media go until the rest fits
/// `max_media_bytes`.
#[must_use]
pub fn plan(bytes: &[u64], limits: &Limits) -> Plan {
    let delete = bytes.len().saturating_sub(limits.max_messages);
    let kept = bytes.get(delete..).unwrap_or_default();
    let mut total = kept.iter().fold(0u64, |sum, b| sum.saturating_add(*b));
    let mut strip = Vec::new();
    for (i, b) in kept.iter().enumerate() {
        if total <= limits.max_media_bytes {
            break;
        }
        if *b > 0 {
            strip.push(delete + i);
            total = total.saturating_sub(*b);
        }
    }
    Plan { delete, strip }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(
        bytes: &[u64],
        max_messages: usize,
        max_media_bytes: u64,
        delete: usize,
        strip: &[usize],
    ) {
        let limits = Limits {
            max_messages,
            max_media_bytes,
        };
        assert_eq!(
            plan(bytes, &limits),
            Plan {
                delete,
                strip: strip.to_vec()
            },
            "{bytes:?} within {max_messages} messages, {max_media_bytes} bytes"
        );
    }

    #[test]
    fn within_limits_nothing_changes() {
        check(&[], 3, 100, 0, &[]);
        check(&[10, 0, 90], 3, 100, 0, &[]);
    }

    #[test]
    fn the_oldest_messages_past_the_count_go() {
        check(&[0, 0, 0, 0, 0], 3, 100, 2, &[]);
        check(&[0; 4], 0, 100, 4, &[]);
    }

    #[test]
    fn the_oldest_media_go_until_the_rest_fits() {
        // 60 + 0 + 60 + 60 = 180 > 100: strip the first (120), then the third (60).
        check(&[60, 0, 60, 60], 10, 100, 0, &[0, 2]);
        // A single record larger than the cap loses its own media.
        check(&[500], 10, 100, 0, &[0]);
    }

    #[test]
    fn deleted_records_do_not_count_towards_the_bytes() {
        // The two oldest go by count; the rest (50 + 50) fits.
        check(&[80, 80, 50, 50], 2, 100, 2, &[]);
        check(&[80, 80, 50, 60], 2, 100, 2, &[2]);
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        check(&[u64::MAX, u64::MAX], 5, u64::MAX - 1, 0, &[0]);
    }
}
