//! Splitting a message into frames under a byte budget, and locating byte ranges in the
//! attachment stream.
//!
//! A message's attachments form one stream: their bytes concatenated in order.
//! The `msg` frame carries the header and as much of the stream as fits the
//! budget; `chunk` frames carry the rest, each frame — prefix, header and
//! payload — at most `budget` bytes.
//!
//! ```text
//! stream:  [ file 0 ............ | file 1 ...... ]
//! frames:  [ msg  | chunk 1 | chunk 2 | chunk 3  ]
//!            0..a   a..b      b..c      c..total
//! ```

use std::ops::Range;

use crate::error::EncodeError;
use crate::frame::{PREFIX_LEN, header_len};
use crate::header::{ChunkHeader, Header, MessageHeader};

/// Default frame budget: every frame, header included, is at most 256 KiB.
///
/// Well under the 1 MiB that Django's daphne and the 1 MB that Socket.IO
/// accept by default, and small enough that a text message sent in the middle
/// of a large transfer waits for at most one frame.
pub const DEFAULT_FRAME_BUDGET: usize = 256 * 1024;
/// Smallest budget [`plan`] accepts; a `msg` header must still fit.
pub const MIN_FRAME_BUDGET: usize = 1024;
/// Largest budget [`plan`] accepts.
pub const MAX_FRAME_BUDGET: usize = 16 * 1024 * 1024;

/// One frame of a sending plan: its header and the part of the stream it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFrame {
    /// The frame's header (`msg` for the first, `chunk` after it).
    pub header: Header,
    /// The bytes of the attachment stream this frame carries.
    pub range: Range<u64>,
}

/// A lazy sending plan; see [`frames`].
#[derive(Debug, Clone)]
pub struct Plan {
    first: Option<PlannedFrame>,
    id: uuid::Uuid,
    from: String,
    budget: usize,
    offset: u64,
    total: u64,
}

/// Plans the frames of `header`'s message under `budget`, all at once.
///
/// Convenient for the file sizes a chat client allows (a 100 MiB file is 400
/// frames at the default budget); [`frames`] gives the same plan lazily.
///
/// # Errors
/// As [`frames`].
pub fn plan(header: &MessageHeader, budget: usize) -> Result<Vec<PlannedFrame>, EncodeError> {
    Ok(frames(header, budget)?.collect())
}

/// Plans the frames of `header`'s message under `budget`, one at a time.
///
/// # Errors
/// An invalid header, a budget outside
/// [`MIN_FRAME_BUDGET`]`..=`[`MAX_FRAME_BUDGET`], a message header that does
/// not fit the budget.
pub fn frames(header: &MessageHeader, budget: usize) -> Result<Plan, EncodeError> {
    if !(MIN_FRAME_BUDGET..=MAX_FRAME_BUDGET).contains(&budget) {
        return Err(EncodeError::BadBudget {
            budget,
            min: MIN_FRAME_BUDGET,
            max: MAX_FRAME_BUDGET,
        });
    }
    header.validate()?;
    let total = header.total()?;
    let msg = Header::Msg(header.clone());
    let json_len = header_len(&msg)?;
    let room = budget
        .checked_sub(PREFIX_LEN + json_len)
        .filter(|room| *room > 0 || total == 0)
        .ok_or(EncodeError::HeaderExceedsBudget {
            header: json_len,
            budget,
        })?;
    let first_end = total.min(room as u64);
    Ok(Plan {
        first: Some(PlannedFrame {
            header: msg,
            range: 0..first_end,
        }),
        id: header.id,
        from: header.from.clone(),
        budget,
        offset: first_end,
        total,
    })
}

impl Iterator for Plan {
    type Item = PlannedFrame;

    fn next(&mut self) -> Option<PlannedFrame> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        if self.offset >= self.total {
            return None;
        }
        let mut chunk = ChunkHeader {
            id: self.id,
            from: self.from.clone(),
            offset: self.offset,
            total: self.total,
            last: false,
        };
        // Room for payload in a full frame, and in a last frame, whose header
        // is longer by `"last":true`.
        let room = |chunk: &ChunkHeader| -> Option<u64> {
            let json_len = header_len(&Header::Chunk(chunk.clone())).ok()?;
            let room = self.budget.checked_sub(PREFIX_LEN + json_len)?;
            Some(room as u64).filter(|room| *room > 0)
        };
        let full = room(&chunk)?;
        chunk.last = true;
        let last = room(&chunk)?;
        let remaining = self.total - self.offset;
        let len = if remaining <= last {
            remaining
        } else {
            chunk.last = false;
            // Between the two rooms: leave one byte for a final chunk, since
            // this one cannot both end the stream and fit the flag.
            full.min(remaining - 1)
        };
        let end = self.offset + len;
        let range = self.offset..end;
        self.offset = end;
        Some(PlannedFrame {
            header: Header::Chunk(chunk),
            range,
        })
    }
}

/// The slices of `files` that make up `range` of their concatenation.
///
/// Parts of the range past the end of the files are left out.
#[must_use]
pub fn stream_slices<'a>(files: &[&'a [u8]], range: Range<u64>) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start_of_file: u64 = 0;
    for file in files {
        let len = file.len() as u64;
        let end_of_file = start_of_file.saturating_add(len);
        let from = range.start.max(start_of_file);
        let to = range.end.min(end_of_file);
        if from < to {
            let (Ok(a), Ok(b)) = (
                usize::try_from(from - start_of_file),
                usize::try_from(to - start_of_file),
            ) else {
                break;
            };
            if let Some(slice) = file.get(a..b) {
                out.push(slice);
            }
        }
        start_of_file = end_of_file;
        if start_of_file >= range.end {
            break;
        }
    }
    out
}

/// A byte span of one received part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Index of the part (in stream order).
    pub part: usize,
    /// First byte in the part.
    pub start: u64,
    /// One past the last byte in the part.
    pub end: u64,
}

/// Where each attachment lies in the received parts.
///
/// `sizes` are the attachments' sizes, `part_lens` the lengths of the
/// payloads received, both in stream order. Returns, per attachment, the
/// spans of parts that make it up; an attachment of size 0 has no spans.
/// Bytes past the end of the parts are left out.
#[must_use]
pub fn split_parts(sizes: &[u64], part_lens: &[u64]) -> Vec<Vec<Span>> {
    let mut result = Vec::with_capacity(sizes.len());
    let mut part = 0usize;
    let mut pos_in_part: u64 = 0;
    for &size in sizes {
        let mut spans = Vec::new();
        let mut need = size;
        while need > 0 {
            let Some(&len) = part_lens.get(part) else {
                break;
            };
            let available = len.saturating_sub(pos_in_part);
            if available == 0 {
                part += 1;
                pos_in_part = 0;
                continue;
            }
            let take = available.min(need);
            spans.push(Span {
                part,
                start: pos_in_part,
                end: pos_in_part + take,
            });
            need -= take;
            pos_in_part += take;
        }
        result.push(spans);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_slices_cross_file_boundaries() {
        let a: &[u8] = b"abcd";
        let b: &[u8] = b"";
        let c: &[u8] = b"efgh";
        let files = [a, b, c];
        let check = |range: Range<u64>, expected: &[&[u8]]| {
            assert_eq!(stream_slices(&files, range.clone()), expected, "{range:?}");
        };
        check(0..8, &[b"abcd", b"efgh"]);
        check(2..6, &[b"cd", b"ef"]);
        check(4..5, &[b"e"]);
        check(3..4, &[b"d"]);
        check(5..5, &[]);
        check(6..100, &[b"gh"]);
        check(100..200, &[]);
    }

    #[test]
    fn split_parts_maps_files_onto_parts() {
        let span = |part, start, end| Span { part, start, end };
        assert_eq!(
            split_parts(&[3, 0, 5], &[4, 2, 2]),
            vec![
                vec![span(0, 0, 3)],
                vec![],
                vec![span(0, 3, 4), span(1, 0, 2), span(2, 0, 2)],
            ]
        );
        // Empty parts are skipped; missing bytes are left out.
        assert_eq!(
            split_parts(&[2, 4], &[0, 2, 0, 1]),
            vec![vec![span(1, 0, 2)], vec![span(3, 0, 1)]]
        );
    }
}
