//! Where a track's samples lie in the file: chunk ranges from a sample table (`stsc`,
//! `stsz`/`stz2`, `stco`/`co64`, 14496-12 8.7) and run ranges from movie fragments (`tfhd`,
//! `trun`, `trex`, 8.8). Used to zero the samples of a dropped metadata track, and to prove
//! that nothing the scrubber overwrites holds a sample of a track it keeps.

use crate::bytes::{Reader, usize_from};
use crate::{Format, ScrubError};

use super::{BoxRef, boxes, find, full_box};

/// A byte range of the file, `[start, end)`, in u64 (offsets in a movie are 64-bit).
pub(crate) type Span = (u64, u64);

fn overflow(format: Format) -> ScrubError {
    ScrubError::malformed(format, "sample offset overflows")
}

/// The sample sizes of `stsz` (8.7.3.2) or `stz2` (8.7.3.3): one size for all, or a table.
enum Sizes<'a> {
    Uniform(u64, u64),
    Table(Reader<'a>, u8, u64),
}

impl Sizes<'_> {
    fn count(&self) -> u64 {
        match self {
            Sizes::Uniform(_, count) | Sizes::Table(_, _, count) => *count,
        }
    }

    /// The total size of the next `n` samples.
    fn take(&mut self, n: u64, format: Format) -> Result<u64, ScrubError> {
        match self {
            Sizes::Uniform(size, _) => size.checked_mul(n).ok_or_else(|| overflow(format)),
            Sizes::Table(r, bits, _) => {
                let mut total = 0u64;
                let mut nibble = None;
                for _ in 0..n {
                    let size = match bits {
                        4 => match nibble.take() {
                            Some(low) => low,
                            None => {
                                let byte = r.u8()?;
                                nibble = Some(u64::from(byte & 0x0F));
                                u64::from(byte >> 4)
                            }
                        },
                        8 => u64::from(r.u8()?),
                        16 => u64::from(r.be_u16()?),
                        _ => u64::from(r.be_u32()?),
                    };
                    total = total.checked_add(size).ok_or_else(|| overflow(format))?;
                }
                Ok(total)
            }
        }
    }
}

/// The chunks of the track whose `stbl` is given, as file ranges in chunk order.
pub(crate) fn chunk_spans(
    input: &[u8],
    stbl: &BoxRef,
    format: Format,
) -> Result<Vec<Span>, ScrubError> {
    let kids = boxes(input, stbl.payload, stbl.end, format)?;
    let offsets: Vec<u64> = if let Some(stco) = find(&kids, b"stco") {
        let (mut r, _, _) = full_box(input, stco)?;
        let n = r.be_u32()?;
        (0..n)
            .map(|_| r.be_u32().map(u64::from))
            .collect::<Result<_, _>>()?
    } else if let Some(co64) = find(&kids, b"co64") {
        let (mut r, _, _) = full_box(input, co64)?;
        let n = r.be_u32()?;
        (0..n).map(|_| r.be_u64()).collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    if offsets.is_empty() {
        return Ok(Vec::new());
    }
    let mut sizes = if let Some(stsz) = find(&kids, b"stsz") {
        let (mut r, _, _) = full_box(input, stsz)?;
        let (size, count) = (r.be_u32()?, r.be_u32()?);
        if size == 0 {
            Sizes::Table(r, 32, u64::from(count))
        } else {
            Sizes::Uniform(u64::from(size), u64::from(count))
        }
    } else if let Some(stz2) = find(&kids, b"stz2") {
        let (mut r, _, _) = full_box(input, stz2)?;
        let [_, _, _, bits] = r.array::<4>()?;
        if !matches!(bits, 4 | 8 | 16) {
            return Err(ScrubError::malformed(
                format,
                "stz2 field size not 4, 8 or 16",
            ));
        }
        let count = u64::from(r.be_u32()?);
        Sizes::Table(r, bits, count)
    } else {
        return Err(ScrubError::malformed(format, "chunks without sample sizes"));
    };
    let stsc =
        find(&kids, b"stsc").ok_or_else(|| ScrubError::malformed(format, "chunks without stsc"))?;
    let (mut r, _, _) = full_box(input, stsc)?;
    let entries = r.be_u32()?;
    // 8.7.4: first_chunk (1-based), samples_per_chunk, sample_description_index; each
    // entry runs until the next entry's first chunk.
    let mut runs = Vec::new();
    for _ in 0..entries {
        let (first, per_chunk) = (r.be_u32()?, r.be_u32()?);
        r.skip(4)?;
        runs.push((u64::from(first), u64::from(per_chunk)));
    }
    let mut spans = Vec::with_capacity(offsets.len());
    let mut run = 0;
    let mut left = sizes.count();
    for (i, &offset) in (1u64..).zip(&offsets) {
        while runs.get(run + 1).is_some_and(|&(first, _)| first <= i) {
            run += 1;
        }
        let per_chunk = match runs.get(run) {
            Some(&(first, n)) if first <= i => n,
            _ => return Err(ScrubError::malformed(format, "chunk not covered by stsc")),
        };
        let n = per_chunk.min(left);
        left -= n;
        let len = sizes.take(n, format)?;
        spans.push((
            offset,
            offset.checked_add(len).ok_or_else(|| overflow(format))?,
        ));
    }
    Ok(spans)
}

/// 8.8.3 `trex`: a track's defaults for its fragments — (track_ID, default_sample_size).
pub(crate) fn trex_default_size(input: &[u8], trex: &BoxRef) -> Result<(u32, u32), ScrubError> {
    let (mut r, _, _) = full_box(input, trex)?;
    let track = r.be_u32()?;
    r.skip(8)?; // default_sample_description_index, default_sample_duration
    Ok((track, r.be_u32()?))
}

/// One track fragment of a `moof`: its track, its box, where its base offset came from,
/// and the file ranges of its runs.
#[derive(Debug)]
pub(crate) struct Fragment {
    pub(crate) track: u32,
    pub(crate) traf: BoxRef,
    /// Its base is written in `tfhd` or is the `moof` (flags 0x1 / 0x20000), so it does not
    /// depend on the track fragment before it.
    pub(crate) explicit_base: bool,
    pub(crate) spans: Vec<Span>,
}

/// The track fragments of `moof` (8.8.4), with the ranges their `trun`s point at.
pub(crate) fn fragments(
    input: &[u8],
    moof: &BoxRef,
    defaults: &[(u32, u32)],
    format: Format,
) -> Result<Vec<Fragment>, ScrubError> {
    let moof_start = moof.start as u64;
    let mut out = Vec::new();
    // 8.8.7.1: without base-data-offset or default-base-is-moof, "the base-data-offset for
    // this track fragment is ... the first byte of the enclosing Movie Fragment Box" for
    // the first track fragment, and for later ones "the end of the data defined by the
    // preceding track fragment".
    let mut previous_end = moof_start;
    for traf in boxes(input, moof.payload, moof.end, format)? {
        if &traf.kind != b"traf" {
            continue;
        }
        let kids = boxes(input, traf.payload, traf.end, format)?;
        let tfhd = find(&kids, b"tfhd")
            .ok_or_else(|| ScrubError::malformed(format, "traf without tfhd"))?;
        let (mut r, _, flags) = full_box(input, tfhd)?;
        let track = r.be_u32()?;
        let base = if flags & 0x1 != 0 {
            Some(r.be_u64()?)
        } else {
            None
        };
        if flags & 0x2 != 0 {
            r.skip(4)?; // sample_description_index
        }
        if flags & 0x8 != 0 {
            r.skip(4)?; // default_sample_duration
        }
        let default_size = if flags & 0x10 != 0 {
            Some(r.be_u32()?)
        } else {
            defaults.iter().find(|d| d.0 == track).map(|d| d.1)
        };
        let explicit_base = base.is_some() || flags & 0x2_0000 != 0;
        let base = match base {
            Some(base) => base,
            None if flags & 0x2_0000 != 0 => moof_start,
            None => previous_end,
        };
        let mut spans = Vec::new();
        let mut next = base;
        for trun in kids.iter().filter(|b| &b.kind == b"trun") {
            let (mut r, _, flags) = full_box(input, trun)?;
            let count = r.be_u32()?;
            // 8.8.8: "data_offset is added to the implicit or explicit data_offset established
            // in the track fragment header"; without it the run follows the previous one.
            let start = if flags & 0x1 != 0 {
                let offset = i64::from(i32::from_be_bytes(r.array()?));
                base.checked_add_signed(offset)
                    .ok_or_else(|| overflow(format))?
            } else {
                next
            };
            if flags & 0x4 != 0 {
                r.skip(4)?; // first_sample_flags
            }
            let per_sample = [0x100, 0x200, 0x400, 0x800].map(|bit| flags & bit != 0);
            let fields = per_sample.iter().filter(|&&f| f).count();
            let len = if per_sample[1] {
                if u64::from(count).saturating_mul(4 * fields as u64) > r.rest().len() as u64 {
                    return Err(ScrubError::truncated(trun.end as u64 + 1, input.len()));
                }
                let mut total = 0u64;
                for _ in 0..usize_from(count) {
                    for (i, present) in per_sample.iter().enumerate() {
                        if *present {
                            let v = r.be_u32()?;
                            if i == 1 {
                                total = total
                                    .checked_add(u64::from(v))
                                    .ok_or_else(|| overflow(format))?;
                            }
                        }
                    }
                }
                total
            } else {
                let size = default_size
                    .ok_or_else(|| ScrubError::malformed(format, "trun without sample sizes"))?;
                u64::from(size).saturating_mul(u64::from(count))
            };
            next = start.checked_add(len).ok_or_else(|| overflow(format))?;
            if len > 0 {
                spans.push((start, next));
            }
        }
        previous_end = next;
        out.push(Fragment {
            track,
            traf,
            explicit_base,
            spans,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::bx;

    fn spans(stbl_children: &[Vec<u8>]) -> Result<Vec<Span>, ScrubError> {
        let stbl = bx(b"stbl", &stbl_children.concat());
        let b = boxes(&stbl, 0, stbl.len(), Format::Mp4)?;
        chunk_spans(&stbl, &b[0], Format::Mp4)
    }

    #[test]
    fn chunks_from_co64_stz2_and_stsc_runs() {
        // Chunks 1-2 hold 2 samples each, chunk 3 onwards 1; sizes 8-bit in stz2.
        let stsc = bx(
            b"stsc",
            &[
                &[0u8; 4][..],
                &[0, 0, 0, 2],
                &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1],
                &[0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 1],
            ]
            .concat(),
        );
        let stz2 = bx(
            b"stz2",
            &[
                &[0u8; 4][..],
                &[0, 0, 0, 8],
                &[0, 0, 0, 5],
                &[1, 2, 3, 4, 5],
            ]
            .concat(),
        );
        let offsets: Vec<u8> = [100u64, 1 << 33, 50]
            .iter()
            .flat_map(|o| o.to_be_bytes())
            .collect();
        let co64 = bx(b"co64", &[&[0u8; 4][..], &[0, 0, 0, 3], &offsets].concat());
        assert_eq!(
            spans(&[stsc.clone(), stz2.clone(), co64.clone()]),
            Ok(vec![(100, 103), (1 << 33, (1 << 33) + 7), (50, 55)])
        );
        // 4-bit sizes: two to a byte, high nibble first.
        let stz2_4 = bx(
            b"stz2",
            &[
                &[0u8; 4][..],
                &[0, 0, 0, 4],
                &[0, 0, 0, 5],
                &[0x12, 0x34, 0x50],
            ]
            .concat(),
        );
        assert_eq!(
            spans(&[stsc.clone(), stz2_4, co64.clone()]),
            Ok(vec![(100, 103), (1 << 33, (1 << 33) + 7), (50, 55)])
        );
        // A uniform size in stsz, and an stz2 field size the spec does not have.
        let stsz = bx(
            b"stsz",
            &[&[0u8; 4][..], &[0, 0, 0, 10], &[0, 0, 0, 5]].concat(),
        );
        assert_eq!(
            spans(&[stsc.clone(), stsz, co64.clone()]),
            Ok(vec![(100, 120), (1 << 33, (1 << 33) + 20), (50, 60)])
        );
        let stz2_7 = bx(
            b"stz2",
            &[&[0u8; 4][..], &[0, 0, 0, 7], &[0, 0, 0, 5]].concat(),
        );
        assert_eq!(
            spans(&[stsc.clone(), stz2_7, co64.clone()]),
            Err(ScrubError::malformed(
                Format::Mp4,
                "stz2 field size not 4, 8 or 16"
            ))
        );
        // Chunks without sizes or without stsc are refused; no chunks is no spans.
        assert_eq!(
            spans(&[stsc, co64.clone()]),
            Err(ScrubError::malformed(
                Format::Mp4,
                "chunks without sample sizes"
            ))
        );
        assert_eq!(
            spans(&[stz2, co64]),
            Err(ScrubError::malformed(Format::Mp4, "chunks without stsc"))
        );
        assert_eq!(spans(&[]), Ok(vec![]));
    }
}
