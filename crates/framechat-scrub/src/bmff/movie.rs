//! MP4, MOV, M4V and 3GP movies (ISO/IEC 14496-12 and 14496-14, QuickTime File Format):
//! metadata boxes are overwritten in place with `free` boxes of the same size, the dates of
//! the movie, track and media headers are zeroed, and timed-metadata tracks are dropped
//! with their samples zeroed. No sample of a kept track is touched and the file keeps its
//! length, so every chunk offset stays valid.
//!
//! ```text
//! ftyp | moov { mvhd, trak { tkhd, edts, mdia { mdhd, hdlr, minf { stbl } }, udta }, udta, meta, mvex }
//!      | mdat | moof { mfhd, traf { tfhd, tfdt, trun } } | mdat | ... | mfra
//! before: udta { ©xyz ©mak ©mod ©swr ©day } meta { hdlr keys ilst } uuid(XMP)
//! after:  free (same size, payload zeroed)
//! ```
//!
//! Why in place rather than cut out: sample data is addressed by absolute file offsets
//! (`stco`/`co64` chunk offsets, `tfhd` base offsets, `sidx` and `tfra` byte offsets,
//! `iloc` in a `meta`). Removing bytes would mean rewriting every one of them, and growing
//! `stco` into `co64` when a file crosses 4 GiB, with no way to check that nothing else
//! pointed at a moved byte; a `free` box of the same size changes no offset at all, in
//! plain and fragmented files alike, and players skip it (14496-12 8.1.2: "the contents of
//! a free-space box are irrelevant and may be ignored"). The price is that the file does
//! not shrink; metadata is kilobytes in a file of megabytes. The freed bytes are zeroed,
//! never left behind a new header, so nothing of what was there can be read back.
//!
//! What is kept is a whitelist per container (see [`movie_tracks`](super::movie_tracks)):
//! the structure a player needs, `udta` only for track selection and kind. Everything else
//! at any level is freed: `udta` atoms (`©xyz` location, `©mak`/`©mod`/`©swr` device,
//! `©day` date, `auth`/`cprt`/`©ART` author, …), `meta` boxes (`keys`/`ilst` with
//! `com.apple.quicktime.location.ISO6709`, make, model, software, creation date), XMP in
//! `uuid` boxes, `prft` wall-clock times, `emsg` events, unknown top-level boxes.
//!
//! A timed-metadata track (handler `meta`/`camm`/`mdta`, sample entry `mebx`, `gpmd`,
//! `camm`, …) is freed whole and its samples in `mdat` are zeroed; in a fragmented file its
//! `traf` boxes, `trex` and `tfra` go as well. The file is refused when that cannot be done
//! safely: samples outside `mdat`, samples shared with a kept track, or a later track
//! fragment whose implicit base offset would move.
//!
//! Before anything is written, every range to overwrite is checked against the samples of
//! the kept tracks (chunk ranges from the sample tables, run ranges from the fragments): a
//! file whose metadata boxes overlap sample data is refused rather than damaged.
//!
//! The report's size is the first video track's `tkhd` width and height, and its
//! orientation the `tkhd` matrix as an EXIF orientation, which players apply.

use crate::plan::Planned;
use crate::report::{Category, Found, Report};
use crate::{Format, ScrubError};

use super::movie_samples::{Span, fragments, trex_default_size};
use super::movie_tags::{atom_category, meta_categories, uuid_category};
use super::movie_tracks::{PADDING, keep_only, track, zero_dates};
use super::{BoxRef, boxes, find, full_box, overwrite, qt_boxes};

/// Top-level boxes kept (14496-12 Table 1): the structure and the media data.
const TOP: [&[u8; 4]; 9] = [
    b"ftyp", b"styp", b"moov", b"mdat", b"moof", b"mfra", b"sidx", b"ssix", b"pdin",
];
/// `moov` children kept; `trak`, `mvex` and `udta` are walked further.
const MOOV: [&[u8; 4]; 9] = [
    b"mvhd", b"trak", b"mvex", b"iods", b"pssh", b"ctab", b"clip", b"rmra", b"udta",
];
const MVEX: [&[u8; 4]; 3] = [b"mehd", b"trex", b"leva"];
const MOOF: [&[u8; 4]; 3] = [b"mfhd", b"traf", b"pssh"];
const TRAF: [&[u8; 4]; 9] = [
    b"tfhd", b"tfdt", b"trun", b"sbgp", b"sgpd", b"subs", b"saiz", b"saio", b"senc",
];
const MFRA: [&[u8; 4]; 2] = [b"tfra", b"mfro"];
/// `uuid` boxes of `traf` that Smooth Streaming (PIFF 1.3) players need: sample encryption,
/// fragment absolute time (media time, not a date) and fragment references.
const PIFF_UUIDS: [[u8; 16]; 3] = [
    *b"\xA2\x39\x4F\x52\x5A\x9B\x4F\x14\xA2\x44\x6C\x42\x7C\x64\x8D\xF4",
    *b"\x6D\x1D\x9B\x05\x42\xD5\x44\xE6\x80\xE2\x14\x1D\xAF\xF7\x57\xB2",
    *b"\xD4\x80\x7E\xF2\xCA\x39\x46\x95\x8E\x54\x26\xCB\x9E\x46\xA7\x9F",
];

/// The overwrites decided so far and what they remove.
#[derive(Debug)]
pub(crate) struct Edits<'a> {
    input: &'a [u8],
    patches: Vec<(usize, usize, Vec<u8>)>,
    found: Found,
}

impl<'a> Edits<'a> {
    /// Overwrite box `b` with a `free` box of the same size: its size fields as they were,
    /// the type `free`, then zeros.
    pub(crate) fn free(&mut self, b: &BoxRef, categories: impl IntoIterator<Item = Category>) {
        if PADDING.contains(&&b.kind) {
            return;
        }
        let mut bytes = vec![0; b.end.saturating_sub(b.start)];
        let header = self.input.get(b.start..b.payload).unwrap_or_default();
        if let Some(head) = bytes.get_mut(..header.len()) {
            head.copy_from_slice(header);
        }
        if let Some(kind) = bytes.get_mut(4..8) {
            kind.copy_from_slice(b"free");
        }
        self.found.extend(categories);
        self.patches.push((b.start, b.end, bytes));
    }

    /// Zero `start..end` unless it is zero already.
    pub(crate) fn zero(&mut self, start: usize, end: usize, category: Option<Category>) {
        if let Some(bytes) = self.input.get(start..end) {
            if bytes.iter().any(|&b| b != 0) {
                self.found.extend(category);
                self.patches.push((start, end, vec![0; end - start]));
            }
        }
    }
}

/// Scrub a movie: see the module docs.
pub(crate) fn scrub(input: &[u8], format: Format) -> Result<Planned, ScrubError> {
    let top = boxes(input, 0, input.len(), format)?;
    let moov = match top
        .iter()
        .filter(|b| &b.kind == b"moov")
        .collect::<Vec<_>>()[..]
    {
        [moov] => *moov,
        [] => return Err(ScrubError::malformed(format, "no moov box")),
        _ => return Err(ScrubError::unsupported(format, "more than one moov box")),
    };
    let mut edits = Edits {
        input,
        patches: Vec::new(),
        found: Found::default(),
    };
    let moov_kids = qt_boxes(input, moov.payload, moov.end, format)?;
    if find(&moov_kids, b"cmov").is_some() {
        // QuickTime compressed movie header: its metadata is inside a zlib stream.
        return Err(ScrubError::unsupported(format, "compressed movie header"));
    }
    if let Some(mvhd) = find(&moov_kids, b"mvhd") {
        zero_dates(input, mvhd, format, &mut edits)?;
    }
    let mut tracks = Vec::new();
    for trak in moov_kids.iter().filter(|b| &b.kind == b"trak") {
        tracks.push(track(input, trak, format, &mut edits)?);
    }
    let dropped: Vec<u32> = tracks.iter().filter(|t| t.dropped).map(|t| t.id).collect();
    let mut kept_spans: Vec<Span> = Vec::new();
    let mut dropped_spans: Vec<Span> = Vec::new();
    for t in &tracks {
        let spans = if t.dropped {
            &mut dropped_spans
        } else {
            &mut kept_spans
        };
        spans.extend_from_slice(&t.spans);
    }

    let mut defaults = Vec::new();
    if let Some(mvex) = find(&moov_kids, b"mvex") {
        let kids = boxes(input, mvex.payload, mvex.end, format)?;
        for trex in kids.iter().filter(|b| &b.kind == b"trex") {
            let (id, size) = trex_default_size(input, trex)?;
            if dropped.contains(&id) {
                edits.free(trex, []);
            }
            // Kept for dropped tracks too: their fragments' samples are zeroed.
            defaults.push((id, size));
        }
        keep_only(input, &kids, &MVEX, format, &mut edits)?;
    }
    keep_only(input, &moov_kids, &MOOV, format, &mut edits)?;

    for moof in top.iter().filter(|b| &b.kind == b"moof") {
        let frags = fragments(input, moof, &defaults, format)?;
        for (i, f) in frags.iter().enumerate() {
            if dropped.contains(&f.track) {
                // 8.8.7.1: a later track fragment without an explicit base starts where
                // this one's data ends; without this one it would start elsewhere.
                if frags.iter().skip(i + 1).any(|g| !g.explicit_base) {
                    return Err(ScrubError::unsupported(
                        format,
                        "metadata track fragment before one with an implicit base offset",
                    ));
                }
                edits.free(&f.traf, []);
                dropped_spans.extend_from_slice(&f.spans);
            } else {
                kept_spans.extend_from_slice(&f.spans);
                let kids = boxes(input, f.traf.payload, f.traf.end, format)?;
                let kids: Vec<BoxRef> = kids
                    .into_iter()
                    .filter(|b| {
                        &b.kind != b"uuid"
                            || !PIFF_UUIDS.iter().any(|id| {
                                input.get(b.payload..b.payload.saturating_add(16)) == Some(id)
                            })
                    })
                    .collect();
                keep_only(input, &kids, &TRAF, format, &mut edits)?;
            }
        }
        let kids = boxes(input, moof.payload, moof.end, format)?;
        keep_only(input, &kids, &MOOF, format, &mut edits)?;
    }
    for mfra in top.iter().filter(|b| &b.kind == b"mfra") {
        let kids = boxes(input, mfra.payload, mfra.end, format)?;
        for tfra in kids.iter().filter(|b| &b.kind == b"tfra") {
            let (mut r, _, _) = full_box(input, tfra)?;
            if dropped.contains(&r.be_u32()?) {
                edits.free(tfra, []);
            }
        }
        keep_only(input, &kids, &MFRA, format, &mut edits)?;
    }
    for b in &top {
        if TOP.contains(&&b.kind) {
            continue;
        }
        let categories = match &b.kind {
            b"uuid" => vec![uuid_category(input, b)],
            b"meta" => meta_categories(input, b, format),
            // 8.16.5 producer reference time: an NTP wall-clock time.
            b"prft" => vec![Category::DateTime],
            kind => vec![atom_category(kind)],
        };
        edits.free(b, categories);
    }

    let mdats: Vec<(u64, u64)> = top
        .iter()
        .filter(|b| &b.kind == b"mdat")
        .map(|b| (b.payload as u64, b.end as u64))
        .collect();
    for (start, end) in union(dropped_spans) {
        if !mdats.iter().any(|&(lo, hi)| start >= lo && end <= hi) {
            return Err(ScrubError::unsupported(
                format,
                "metadata track samples outside mdat",
            ));
        }
        // Inside mdat, hence inside the file: both fit in usize.
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return Err(ScrubError::malformed(format, "sample offset overflows"));
        };
        edits.zero(start, end, None);
    }

    let kept = union(kept_spans);
    // Samples past the end: the file was cut short (or its data lives in another file,
    // which this crate does not follow).
    if let Some(&(_, end)) = kept.last() {
        if end > input.len() as u64 {
            return Err(ScrubError::Truncated {
                needed: end,
                available: input.len() as u64,
            });
        }
    }
    let mut patches = edits.patches;
    crate::sort::sort_by_key(&mut patches, |p| p.0);
    let mut covered = 0;
    for (start, end, _) in &patches {
        if *start < covered {
            return Err(ScrubError::malformed(format, "overlapping boxes"));
        }
        covered = *end;
        let first = kept.partition_point(|s| s.1 <= *start as u64);
        if kept.get(first).is_some_and(|s| s.0 < *end as u64) {
            return Err(ScrubError::unsupported(
                format,
                "samples of a kept track inside metadata",
            ));
        }
    }
    let video = tracks
        .iter()
        .find(|t| !t.dropped && &t.handler == b"vide" && t.size.0 > 0 && t.size.1 > 0);
    let removed_bytes = patches.iter().map(|p| (p.1 - p.0) as u64).sum();
    Ok(Planned {
        plan: overwrite(input, &patches),
        report: Report {
            format,
            width: video.map(|t| t.size.0),
            height: video.map(|t| t.size.1),
            orientation: video.and_then(|t| t.orientation),
            removed: edits.found.into_sorted(),
            removed_bytes,
        },
    })
}

/// The union of `spans`, sorted and disjoint, empty ones left out.
fn union(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| s.0 < s.1);
    crate::sort::sort_by_key(&mut spans, |&span| span);
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}
