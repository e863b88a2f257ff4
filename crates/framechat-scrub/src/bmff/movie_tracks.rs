//! One movie track (`trak`, 14496-12 8.3): kept with its dates zeroed and its metadata
//! freed, or dropped whole when it is a timed-metadata track; its size and rotation for the
//! report; and the whitelists of what a track's boxes may keep.

use crate::report::Category;
use crate::{Format, ScrubError};

use super::movie::Edits;
use super::movie_samples::{Span, chunk_spans};
use super::movie_tags::{KEPT_UDTA, atom_category, meta_categories, uuid_category};
use super::{BoxRef, find, full_box, qt_boxes};

/// Boxes that only pad: kept wherever they are (what the scrubber writes is one of them).
pub(crate) const PADDING: [&[u8; 4]; 3] = [b"free", b"skip", b"wide"];

/// `trak` children kept (14496-12 8.3, QuickTime "Track Atoms"); `udta` is filtered.
const TRAK: [&[u8; 4]; 12] = [
    b"tkhd", b"tref", b"trgr", b"edts", b"mdia", b"tapt", b"clip", b"matt", b"load", b"imap",
    b"txas", b"udta",
];
/// `mdia` children kept (8.4); `udta` is filtered.
const MDIA: [&[u8; 4]; 5] = [b"mdhd", b"hdlr", b"minf", b"elng", b"udta"];
/// `minf` children kept (8.4.4): media headers, data references, the sample table.
const MINF: [&[u8; 4]; 9] = [
    b"vmhd", b"smhd", b"hmhd", b"nmhd", b"sthd", b"gmhd", b"dinf", b"stbl", b"hdlr",
];

/// Handler types of timed-metadata tracks (8.4.3.3 `meta`; Google's `camm` camera motion
/// metadata; QuickTime `mdta`), dropped whole: their samples are GPS fixes, sensor readings,
/// device state.
const METADATA_HANDLERS: [&[u8; 4]; 4] = [b"meta", b"camm", b"mdta", b"gpmd"];
/// Sample entry formats of timed metadata, dropped whatever the handler says: Apple's
/// `mebx` (boxed metadata, 14496-12 12.3.3.2), GoPro's `gpmd` (GPMF telemetry with GPS),
/// Google's `camm`, and the generic `mett`, `metx`, `urim` entries.
const METADATA_ENTRIES: [&[u8; 4]; 6] = [b"mebx", b"gpmd", b"camm", b"mett", b"metx", b"urim"];

/// A track as the scrubber left it.
#[derive(Debug)]
pub(crate) struct Track {
    pub(crate) id: u32,
    pub(crate) handler: [u8; 4],
    /// A timed-metadata track, freed whole; its samples must be zeroed.
    pub(crate) dropped: bool,
    /// Its chunks in the file (from its sample table; empty in a fragmented file).
    pub(crate) spans: Vec<Span>,
    /// `tkhd` width and height (16.16 fixed point, integer part).
    pub(crate) size: (u32, u32),
    /// The `tkhd` matrix as an EXIF orientation, when it is a quarter turn or a mirror.
    pub(crate) orientation: Option<u8>,
}

/// Zero the creation and modification times of `mvhd`, `tkhd` or `mdhd` (8.2.2, 8.3.2,
/// 8.4.2): "creation_time is an integer that declares the creation time of the presentation
/// (in seconds since midnight, Jan. 1, 1904, in UTC time)"; 32-bit in version 0, 64-bit in 1.
pub(crate) fn zero_dates(
    input: &[u8],
    b: &BoxRef,
    format: Format,
    edits: &mut Edits,
) -> Result<(), ScrubError> {
    let (r, version, _) = full_box(input, b)?;
    let (at, width) = (r.pos(), if version == 1 { 8 } else { 4 });
    if version > 1 {
        return Err(ScrubError::unsupported(
            format,
            "movie header version above 1",
        ));
    }
    if b.end < at + 2 * width {
        return Err(ScrubError::malformed(format, "movie header too short"));
    }
    edits.zero(at, at + 2 * width, Some(Category::DateTime));
    Ok(())
}

/// Free each of `kids` whose type is not in `kept`; filter the `udta` ones that are.
pub(crate) fn keep_only(
    input: &[u8],
    kids: &[BoxRef],
    kept: &[&[u8; 4]],
    format: Format,
    edits: &mut Edits,
) -> Result<(), ScrubError> {
    for b in kids {
        if PADDING.contains(&&b.kind) {
            continue;
        }
        if &b.kind == b"udta" && kept.contains(&b"udta") {
            filter_udta(input, b, format, edits)?;
        } else if !kept.contains(&&b.kind) {
            let categories = match &b.kind {
                b"meta" => meta_categories(input, b, format),
                b"uuid" => vec![uuid_category(input, b)],
                kind => vec![atom_category(kind)],
            };
            edits.free(b, categories);
        }
    }
    Ok(())
}

/// 8.10.1 `udta`: everything goes but what players use ([`KEPT_UDTA`]); when nothing is
/// kept, the whole box becomes one `free` box.
pub(crate) fn filter_udta(
    input: &[u8],
    udta: &BoxRef,
    format: Format,
    edits: &mut Edits,
) -> Result<(), ScrubError> {
    let kids = qt_boxes(input, udta.payload, udta.end, format)?;
    let keeps_any = kids
        .iter()
        .any(|b| KEPT_UDTA.contains(&&b.kind) || PADDING.contains(&&b.kind));
    if keeps_any || kids.is_empty() {
        return keep_only(input, &kids, &KEPT_UDTA, format, edits);
    }
    let mut categories = Vec::new();
    for b in &kids {
        match &b.kind {
            b"meta" => categories.extend(meta_categories(input, b, format)),
            b"uuid" => categories.push(uuid_category(input, b)),
            kind => categories.push(atom_category(kind)),
        }
    }
    edits.free(udta, categories);
    Ok(())
}

/// Walk one `trak`: drop it when it is timed metadata, else zero its dates and free what
/// the whitelists do not keep.
pub(crate) fn track(
    input: &[u8],
    trak: &BoxRef,
    format: Format,
    edits: &mut Edits,
) -> Result<Track, ScrubError> {
    let kids = qt_boxes(input, trak.payload, trak.end, format)?;
    let tkhd =
        find(&kids, b"tkhd").ok_or_else(|| ScrubError::malformed(format, "trak without tkhd"))?;
    let (id, size, orientation) = tkhd_fields(input, tkhd)?;
    let mdia =
        find(&kids, b"mdia").ok_or_else(|| ScrubError::malformed(format, "trak without mdia"))?;
    let mdia_kids = qt_boxes(input, mdia.payload, mdia.end, format)?;
    let handler = match find(&mdia_kids, b"hdlr") {
        // 8.4.3: version/flags, pre_defined (QuickTime: component type), handler_type.
        Some(hdlr) => {
            let (mut r, _, _) = full_box(input, hdlr)?;
            r.skip(4)?;
            r.array::<4>()?
        }
        None => return Err(ScrubError::malformed(format, "mdia without hdlr")),
    };
    let minf = find(&mdia_kids, b"minf");
    let minf_kids = match minf {
        Some(minf) => qt_boxes(input, minf.payload, minf.end, format)?,
        None => Vec::new(),
    };
    let stbl = find(&minf_kids, b"stbl");
    let spans = match stbl {
        Some(stbl) => chunk_spans(input, stbl, format)?,
        None => Vec::new(),
    };
    let entry = match stbl {
        Some(stbl) => sample_entry(input, stbl, format)?,
        None => None,
    };
    let dropped = METADATA_HANDLERS.contains(&&handler)
        || entry.is_some_and(|(kind, _)| METADATA_ENTRIES.contains(&&kind));
    if dropped {
        let location = match entry {
            Some((kind, _)) if &kind == b"gpmd" || &kind == b"camm" => true,
            // mebx and the like name their keys: com.apple.quicktime.location.ISO6709…
            Some((_, stsd)) => input.get(stsd.payload..stsd.end).is_some_and(|bytes| {
                bytes
                    .windows(8)
                    .any(|w| w.eq_ignore_ascii_case(b"location"))
            }),
            None => handler == *b"camm",
        };
        let category = if location {
            Category::Location
        } else {
            Category::Other
        };
        edits.free(trak, [category]);
    } else {
        zero_dates(input, tkhd, format, edits)?;
        if let Some(mdhd) = find(&mdia_kids, b"mdhd") {
            zero_dates(input, mdhd, format, edits)?;
        }
        keep_only(input, &kids, &TRAK, format, edits)?;
        keep_only(input, &mdia_kids, &MDIA, format, edits)?;
        keep_only(input, &minf_kids, &MINF, format, edits)?;
    }
    Ok(Track {
        id,
        handler,
        dropped,
        spans,
        size,
        orientation,
    })
}

/// The type of the first sample entry in `stsd` (8.5.2), and the `stsd` box.
fn sample_entry(
    input: &[u8],
    stbl: &BoxRef,
    format: Format,
) -> Result<Option<([u8; 4], BoxRef)>, ScrubError> {
    let kids = qt_boxes(input, stbl.payload, stbl.end, format)?;
    let Some(stsd) = find(&kids, b"stsd") else {
        return Ok(None);
    };
    // version/flags, entry_count, then the entries as boxes.
    let entries = qt_boxes(input, stsd.payload.saturating_add(8), stsd.end, format)?;
    Ok(entries.first().map(|e| (e.kind, *stsd)))
}

/// What `tkhd` says of a track: its ID, width and height, and orientation.
type TrackHeader = (u32, (u32, u32), Option<u8>);

/// 8.3.2 `tkhd`: track_ID, width and height, and the matrix as an EXIF orientation.
fn tkhd_fields(input: &[u8], tkhd: &BoxRef) -> Result<TrackHeader, ScrubError> {
    let (mut r, version, _) = full_box(input, tkhd)?;
    r.skip(if version == 1 { 16 } else { 8 })?; // creation and modification times
    let id = r.be_u32()?;
    r.skip(if version == 1 { 12 } else { 8 })?; // reserved, duration
    r.skip(16)?; // reserved, layer, alternate_group, volume, reserved
    let mut matrix = [0i32; 9];
    for m in &mut matrix {
        *m = i32::from_be_bytes(r.array()?);
    }
    // 16.16 fixed point: the integer part is the size in pixels.
    let (width, height) = (r.be_u32()? >> 16, r.be_u32()? >> 16);
    Ok((id, (width, height), orientation(matrix)))
}

/// The EXIF orientation equivalent to a `tkhd` matrix { a b u  c d v  x y w } (8.3.2: a
/// point (p, q) is shown at (a·p + c·q + x, b·p + d·q + y)), when it only turns by quarter
/// turns or mirrors; `None` for the identity and for anything else.
pub(crate) fn orientation(matrix: [i32; 9]) -> Option<u8> {
    let [a, b, _, c, d, ..] = matrix.map(i32::signum);
    match (a, b, c, d) {
        (-1, 0, 0, 1) => Some(2),
        (-1, 0, 0, -1) => Some(3),
        (1, 0, 0, -1) => Some(4),
        (0, 1, 1, 0) => Some(5),
        (0, 1, -1, 0) => Some(6),
        (0, -1, -1, 0) => Some(7),
        (0, -1, 1, 0) => Some(8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_turn_into_exif_orientations() {
        let one = 0x1_0000;
        let m = |a, b, c, d| [a, b, 0, c, d, 0, 0, 0, 0x4000_0000];
        // iPhone portrait: exiftool "Rotation 90", shown turned a quarter clockwise.
        assert_eq!(orientation(m(0, one, -one, 0)), Some(6));
        assert_eq!(orientation(m(-one, 0, 0, -one)), Some(3));
        assert_eq!(orientation(m(0, -one, one, 0)), Some(8));
        assert_eq!(orientation(m(-one, 0, 0, one)), Some(2));
        assert_eq!(orientation(m(one, 0, 0, one)), None);
        assert_eq!(orientation(m(one, one, 0, one)), None);
    }
}
