//! Receiver-side frame indexes of encrypted messages: the index each envelope is opened as, per message tag.
//!
//! The index is not on the wire; it is bound into the additional data. A
//! receiver opens a begin frame as index 0 and every later frame of the same
//! tag as the next index, so a relay that drops, repeats or reorders frames
//! inside a message makes authentication fail.
//!
//! ```
//! use framechat_wire::{Flags, FrameIndexes};
//!
//! let mut indexes = FrameIndexes::new(16);
//! let tag = [7; 16];
//! assert_eq!(indexes.expected(Flags::MIDDLE, &tag), None); // no begin seen
//! assert_eq!(indexes.expected(Flags::BEGIN, &tag), Some(0));
//! indexes.opened(Flags::BEGIN, &tag, 0);
//! assert_eq!(indexes.expected(Flags::MIDDLE, &tag), Some(1));
//! indexes.opened(Flags::MIDDLE, &tag, 1);
//! assert_eq!(indexes.expected(Flags::END, &tag), Some(2));
//! indexes.opened(Flags::END, &tag, 2);
//! assert!(indexes.is_empty()); // the end frame forgets the tag
//! ```

use std::collections::HashMap;

use crate::envelope::{Flags, TAG_LEN};

/// Unfinished encrypted messages a receiver tracks by default.
pub const DEFAULT_MAX_TAGS: usize = 64;

/// The next frame index of every unfinished encrypted message, by tag.
///
/// Bounded: past `max_tags` unfinished messages the one begun longest ago
/// is forgotten (its later frames then fail to open, and it is shown as
/// unreadable). Only frames that opened are recorded, so nobody without the
/// key can fill it.
#[derive(Debug, Clone)]
pub struct FrameIndexes {
    /// Tag → (next index, the order its begin frame was recorded in).
    next: HashMap<[u8; TAG_LEN], (u32, u64)>,
    max_tags: usize,
    begun: u64,
}

impl Default for FrameIndexes {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_TAGS)
    }
}

impl FrameIndexes {
    /// An empty table tracking at most `max_tags` unfinished messages (at least one).
    #[must_use]
    pub fn new(max_tags: usize) -> Self {
        Self {
            next: HashMap::new(),
            max_tags: max_tags.max(1),
            begun: 0,
        }
    }

    /// The index to open an envelope with these flags and tag as: 0 for a
    /// begin frame (a resend starts again at 0), the tag's next index for any
    /// other, `None` for a frame whose message has no begin frame on record.
    #[must_use]
    pub fn expected(&self, flags: Flags, tag: &[u8; TAG_LEN]) -> Option<u32> {
        if flags.begins() {
            return Some(0);
        }
        self.next.get(tag).map(|&(next, _)| next)
    }

    /// Records that an envelope opened as `index`: a frame that ends its
    /// message forgets the tag, any other makes `index + 1` the next.
    pub fn opened(&mut self, flags: Flags, tag: &[u8; TAG_LEN], index: u32) {
        let next = match index.checked_add(1) {
            Some(next) if !flags.ends() => next,
            _ => {
                self.next.remove(tag);
                return;
            }
        };
        if flags.begins() {
            self.begun = self.begun.saturating_add(1);
            self.next.insert(*tag, (next, self.begun));
            self.evict();
        } else if let Some(entry) = self.next.get_mut(tag) {
            entry.0 = next;
        }
    }

    /// Forgets a message (its transfer failed or expired).
    pub fn forget(&mut self, tag: &[u8; TAG_LEN]) {
        self.next.remove(tag);
    }

    /// How many unfinished messages are tracked.
    #[must_use]
    pub fn len(&self) -> usize {
        self.next.len()
    }

    /// Whether no unfinished message is tracked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.next.is_empty()
    }

    /// Drops the messages begun longest ago until the table is within its bound.
    fn evict(&mut self) {
        while self.next.len() > self.max_tags {
            let oldest = self
                .next
                .iter()
                .min_by_key(|(_, (_, begun))| *begun)
                .map(|(tag, _)| *tag);
            match oldest {
                Some(tag) => {
                    self.next.remove(&tag);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resend_starts_again_at_zero() {
        let mut ix = FrameIndexes::default();
        let tag = [1; 16];
        ix.opened(Flags::BEGIN, &tag, 0);
        ix.opened(Flags::MIDDLE, &tag, 1);
        assert_eq!(ix.expected(Flags::MIDDLE, &tag), Some(2));
        // The sender reconnected and resends from the msg frame.
        assert_eq!(ix.expected(Flags::BEGIN, &tag), Some(0));
        ix.opened(Flags::BEGIN, &tag, 0);
        assert_eq!(ix.expected(Flags::MIDDLE, &tag), Some(1));
        assert_eq!(ix.len(), 1);
    }

    #[test]
    fn single_frames_and_unknown_tags_leave_nothing() {
        let mut ix = FrameIndexes::default();
        ix.opened(Flags::SINGLE, &[2; 16], 0);
        assert!(ix.is_empty());
        // A middle frame recorded without its begin is not tracked either.
        ix.opened(Flags::MIDDLE, &[3; 16], 4);
        assert!(ix.is_empty());
        assert_eq!(ix.expected(Flags::END, &[3; 16]), None);
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_oldest() {
        let mut ix = FrameIndexes::new(2);
        for t in 0..3u8 {
            ix.opened(Flags::BEGIN, &[t; 16], 0);
        }
        assert_eq!(ix.len(), 2);
        assert_eq!(ix.expected(Flags::MIDDLE, &[0; 16]), None);
        assert_eq!(ix.expected(Flags::MIDDLE, &[2; 16]), Some(1));
        ix.forget(&[2; 16]);
        assert_eq!(ix.expected(Flags::MIDDLE, &[2; 16]), None);
    }

    #[test]
    fn the_last_possible_index_ends_the_message() {
        let mut ix = FrameIndexes::default();
        ix.opened(Flags::BEGIN, &[4; 16], 0);
        ix.opened(Flags::MIDDLE, &[4; 16], u32::MAX);
        assert!(ix.is_empty());
    }
}
