//! A scrubbed file described without copying it: ranges of the input to keep, in order, with
//! a few new bytes between them (rewritten lengths, a minimal EXIF).
//!
//! The image data of a photo is megabytes; what changes around it is a few hundred bytes. A
//! [`Plan`] lets the caller build the output from the bytes it already holds — slices of the
//! picked `File` in the browser, `write_vectored` natively — instead of receiving a copy.

use std::ops::Range;

use crate::Report;

/// One stretch of the scrubbed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// These bytes of the input, unchanged.
    Keep(Range<usize>),
    /// New bytes that are not in the input at this point.
    Insert(Vec<u8>),
}

impl Piece {
    /// How many bytes this piece adds to the output.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Piece::Keep(range) => range.len(),
            Piece::Insert(bytes) => bytes.len(),
        }
    }

    /// Never true for a piece of a [`Plan`]; there for symmetry with [`Piece::len`].
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How to write the scrubbed file: [`Piece`]s in order. Every `Keep` range lies inside the
/// input the plan was made from, no piece is empty, and no two neighbours could be one piece.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pieces: Vec<Piece>,
    len: usize,
}

impl Plan {
    /// The pieces, in output order.
    #[must_use]
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The length of the scrubbed file.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the scrubbed file is empty (never, for a plan made by this crate).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many bytes the plan takes from the input, the rest being inserted.
    #[must_use]
    pub fn kept(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Keep(range) => range.len(),
                Piece::Insert(_) => 0,
            })
            .sum()
    }

    /// The scrubbed file, copied out of `input`: the same `input` the plan was made from.
    /// (With another input, ranges that do not fit it are left out.)
    #[must_use]
    pub fn apply(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for piece in &self.pieces {
            match piece {
                Piece::Keep(range) => {
                    out.extend_from_slice(input.get(range.clone()).unwrap_or_default());
                }
                Piece::Insert(bytes) => out.extend_from_slice(bytes),
            }
        }
        out
    }
}

/// A plan and what was found: the result of [`plan`](crate::plan).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// How to write the scrubbed file from the input.
    pub plan: Plan,
    /// What the input held and what was removed.
    pub report: Report,
}

/// Writes a plan the way one would write the output: bytes in order, through [`put`].
///
/// [`put`] recognises a slice borrowed from the input by its address and keeps it as a range;
/// other bytes that happen to equal the input where the last range ends (a segment header
/// written back unchanged) extend that range; the rest is inserted. So a format's writer does
/// not track offsets, and a file with nothing to remove comes out as one `Keep`.
///
/// [`put`]: Builder::put
#[derive(Debug)]
pub(crate) struct Builder<'a> {
    input: &'a [u8],
    plan: Plan,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            plan: Plan::default(),
        }
    }

    /// Where `bytes` starts in the input, if it is a slice of it.
    fn offset_in_input(&self, bytes: &[u8]) -> Option<usize> {
        // Addresses compared as integers: no pointer is made or read from them.
        let start = self.input.as_ptr() as usize;
        let at = (bytes.as_ptr() as usize).checked_sub(start)?;
        (at.checked_add(bytes.len())? <= self.input.len()).then_some(at)
    }

    /// Append `bytes` to the output.
    pub(crate) fn put(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(at) = self.offset_in_input(bytes) {
            self.keep(at..at + bytes.len());
            return;
        }
        let next = match self.plan.pieces.last() {
            Some(Piece::Keep(range)) => Some(range.end),
            None => Some(0),
            Some(Piece::Insert(_)) => None,
        };
        if let Some(next) = next {
            let end = next.saturating_add(bytes.len());
            if self.input.get(next..end) == Some(bytes) {
                self.keep(next..end);
                return;
            }
        }
        self.plan.len += bytes.len();
        match self.plan.pieces.last_mut() {
            Some(Piece::Insert(last)) => last.extend_from_slice(bytes),
            _ => self.plan.pieces.push(Piece::Insert(bytes.to_vec())),
        }
    }

    /// Append `range` of the input, merging it with the piece before when they join up.
    fn keep(&mut self, mut range: Range<usize>) {
        self.plan.len += range.len();
        // The end of an insert that equals the input just before `range` was that input
        // all along (a chunk header written back unchanged after a rewritten one).
        if let Some(Piece::Insert(last)) = self.plan.pieces.last_mut() {
            let before = self.input.get(..range.start).unwrap_or_default();
            let same = last
                .iter()
                .rev()
                .zip(before.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            range.start -= same;
            last.truncate(last.len() - same);
            if last.is_empty() {
                self.plan.pieces.pop();
            }
        }
        match self.plan.pieces.last_mut() {
            Some(Piece::Keep(last)) if last.end == range.start => last.end = range.end,
            _ => self.plan.pieces.push(Piece::Keep(range)),
        }
    }

    /// Append everything `other` (made over the same input) wrote.
    pub(crate) fn append(&mut self, other: Builder<'a>) {
        for piece in other.plan.pieces {
            match piece {
                Piece::Keep(range) => self.keep(range),
                Piece::Insert(bytes) => self.put(&bytes),
            }
        }
    }

    /// The length written so far.
    pub(crate) fn len(&self) -> usize {
        self.plan.len
    }

    pub(crate) fn finish(self) -> Plan {
        self.plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_slices_become_ranges_and_join_up() {
        let input = b"0123456789";
        let mut b = Builder::new(input);
        b.put(&input[0..3]);
        b.put(&input[3..5]);
        b.put(b"xy");
        b.put(b"z");
        b.put(&input[7..10]);
        let plan = b.finish();
        assert_eq!(
            plan.pieces(),
            [
                Piece::Keep(0..5),
                Piece::Insert(b"xyz".to_vec()),
                Piece::Keep(7..10)
            ]
        );
        assert_eq!(plan.len(), 11);
        assert_eq!(plan.kept(), 8);
        assert_eq!(plan.apply(input), b"01234xyz789");
    }

    #[test]
    fn new_bytes_equal_to_the_input_are_kept() {
        let input = b"HEAD-body-TAIL";
        // A header written back unchanged, then its body: one range.
        let mut b = Builder::new(input);
        b.put(b"HEAD-");
        b.put(&input[5..10]);
        b.put(b"TAIL");
        assert_eq!(b.finish().pieces(), [Piece::Keep(0..14)]);

        // Bytes equal to the input just before a later slice join that slice.
        let mut b = Builder::new(input);
        b.put(b"HE");
        b.put(b"body-");
        b.put(&input[10..14]);
        assert_eq!(b.finish().pieces(), [Piece::Keep(0..2), Piece::Keep(5..14)]);
    }

    #[test]
    fn slices_of_other_memory_are_inserted() {
        let input = b"abc";
        let other = b"abd".to_vec();
        let mut b = Builder::new(input);
        b.put(&other);
        b.put(&[]);
        let plan = b.finish();
        assert_eq!(plan.pieces(), [Piece::Insert(b"abd".to_vec())]);
        assert_eq!(plan.kept(), 0);
    }

    #[test]
    fn append_merges_across_builders() {
        let input = b"RIFF....WEBPbody";
        let mut rest = Builder::new(input);
        rest.put(&input[12..16]);
        let mut out = Builder::new(input);
        out.put(b"RIFF");
        out.put(&[4, 0, 0, 0]);
        out.put(b"WEBP");
        out.append(rest);
        assert_eq!(out.len(), 16);
        assert_eq!(
            out.finish().pieces(),
            [
                Piece::Keep(0..4),
                Piece::Insert(vec![4, 0, 0, 0]),
                Piece::Keep(8..16)
            ]
        );
    }
}
