//! ISO base media file format (ISO/IEC 14496-12) boxes, shared by the HEIF and the movie
//! scrubbers: one walker over a list of boxes, FullBox headers, and the plan of a file that
//! is changed only by overwriting ranges with bytes of the same length.
//!
//! ```text
//! size(u32 BE) type(4) [largesize(u64) when size == 1] payload    a box; size 0 = to the end
//! ```

mod heif;
mod heif_geometry;
mod movie;
mod movie_samples;
mod movie_tags;
#[cfg(test)]
mod movie_tests;
mod movie_tracks;

pub(crate) use heif::scrub as scrub_heif;
pub(crate) use movie::scrub as scrub_movie;

use crate::bytes::Reader;
use crate::plan::{Builder, Plan};
use crate::{Format, ScrubError};

/// Most boxes accepted in one list of children, and most `iinf`/`iloc` entries.
pub(crate) const MAX_BOXES: usize = 64 * 1024;

/// One box: its type, where its header starts, where its payload starts and where it
/// ends, as file offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BoxRef {
    pub(crate) kind: [u8; 4],
    pub(crate) start: usize,
    pub(crate) payload: usize,
    pub(crate) end: usize,
}

/// The child boxes of `input[start..end]` (ISO/IEC 14496-12 4.2).
pub(crate) fn boxes(
    input: &[u8],
    start: usize,
    end: usize,
    format: Format,
) -> Result<Vec<BoxRef>, ScrubError> {
    walk(input, start, end, format, false)
}

/// As [`boxes`], for QuickTime containers: QuickTime File Format, "User Data Atoms": "the
/// user data list may be terminated by a 32-bit integer set to 0", so up to 7 zero bytes
/// after the last box end the list instead of being a truncated box.
pub(crate) fn qt_boxes(
    input: &[u8],
    start: usize,
    end: usize,
    format: Format,
) -> Result<Vec<BoxRef>, ScrubError> {
    walk(input, start, end, format, true)
}

fn walk(
    input: &[u8],
    start: usize,
    end: usize,
    format: Format,
    zero_tail: bool,
) -> Result<Vec<BoxRef>, ScrubError> {
    let data = input
        .get(..end)
        .ok_or_else(|| ScrubError::truncated(end as u64, input.len()))?;
    let mut r = Reader::at(data, start);
    let mut out = Vec::new();
    while !r.is_empty() {
        if zero_tail && r.rest().len() < 8 && r.rest().iter().all(|&b| b == 0) {
            break;
        }
        if out.len() >= MAX_BOXES {
            return Err(ScrubError::TooMany {
                format,
                what: "boxes",
                max: MAX_BOXES as u64,
            });
        }
        let box_start = r.pos();
        // 4.2: "size is an integer that specifies the number of bytes in this box,
        // including all its fields and contained boxes; if size is 1 then the actual size
        // is in the field largesize; if size is 0, then this box is the last one in the
        // file, and its contents extend to the end of the file".
        let size = r.be_u32()?;
        let kind = r.array::<4>()?;
        let size = match size {
            0 => (end - box_start) as u64,
            1 => r.be_u64()?,
            n => u64::from(n),
        };
        let header = (r.pos() - box_start) as u64;
        if size < header {
            return Err(ScrubError::malformed(format, "box smaller than its header"));
        }
        let box_end = (box_start as u64).saturating_add(size);
        if box_end > end as u64 {
            return Err(if end == input.len() {
                ScrubError::truncated(box_end, input.len())
            } else {
                ScrubError::malformed(format, "box overruns its parent")
            });
        }
        let box_end = usize::try_from(box_end).unwrap_or(end);
        out.push(BoxRef {
            kind,
            start: box_start,
            payload: r.pos(),
            end: box_end,
        });
        r = Reader::at(data, box_end);
    }
    Ok(out)
}

pub(crate) fn find<'b>(boxes: &'b [BoxRef], kind: &[u8; 4]) -> Option<&'b BoxRef> {
    boxes.iter().find(|b| &b.kind == kind)
}

/// A reader over one box's payload, positioned after a FullBox's version and flags
/// (4.2: "unsigned int(8) version; bit(24) flags").
pub(crate) fn full_box<'a>(
    input: &'a [u8],
    b: &BoxRef,
) -> Result<(Reader<'a>, u8, u32), ScrubError> {
    let data = input.get(..b.end).unwrap_or_default();
    let mut r = Reader::at(data, b.payload);
    let word = r.be_u32()?;
    let [version, ..] = word.to_be_bytes();
    Ok((r, version, word & 0x00FF_FFFF))
}

/// A NUL-terminated UTF-8 string (`utf8string` in 14496-12), as bytes without the NUL.
pub(crate) fn c_string<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], ScrubError> {
    let rest = r.rest();
    let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let s = r.take(len)?;
    if !r.is_empty() {
        r.skip(1)?;
    }
    Ok(s)
}

/// The plan of `input` with each `(start, end, bytes)` patch written over its range; the
/// patches are sorted by start, and `bytes` is as long as its range. A patch outside the
/// file or overlapping the one before is left out.
pub(crate) fn overwrite(input: &[u8], patches: &[(usize, usize, Vec<u8>)]) -> Plan {
    let mut out = Builder::new(input);
    let mut at = 0;
    for (start, end, bytes) in patches {
        if input.get(*start..*end).is_none() || *start < at {
            continue; // outside the file: nothing there to overwrite
        }
        out.put(input.get(at..*start).unwrap_or_default());
        out.put(bytes);
        at = *end;
    }
    out.put(input.get(at..).unwrap_or_default());
    out.finish()
}
