//! HEIC and AVIF (HEIF, ISO/IEC 23008-12, on ISO-BMFF, ISO/IEC 14496-12): the Exif and XMP
//! items are found through `meta`/`iinf`/`iloc` and overwritten in place, so every box,
//! offset and length in the file stays as it was: each becomes an empty item of its kind,
//! padded (Exif: a TIFF header without tags, then zeros; XMP: a packet without properties,
//! then spaces). Not plain zeros, because libavif refuses to decode an image whose Exif
//! item is all zeros, and XMP readers warn about a packet that is.
//!
//! ```text
//! size(u32 BE) type(4) [largesize(u64) when size == 1] payload    a box; size 0 = to the end
//! ftyp | meta { hdlr pitm iinf { infe... } iloc iprp { ipco ipma } idat? } | mdat
//! ```
//!
//! The report's size and orientation come from the primary item's `ispe`, `clap`, `irot`
//! and `imir` properties, which HEIF readers apply (they ignore EXIF Orientation).
//!
//! Only extents inside an `mdat` box (construction method 0) or the `idat` box (method 1)
//! are overwritten, so a damaged `iloc` can never make the scrubber overwrite box headers or
//! the structure; anything else is refused.

use crate::bytes::Reader;
use crate::report::{Category, Found};
use crate::{Format, Planned, Report, ScrubError, tiff};

use super::{BoxRef, MAX_BOXES, boxes, c_string, find, full_box};

/// Most extents of one metadata item.
pub(crate) const MAX_EXTENTS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Exif,
    Xmp,
}

/// 23008-12 9.2 / 14496-12 8.11.6: the Exif items and the XMP items (`mime` with content
/// type application/rdf+xml) listed in `iinf`.
fn metadata_items(
    input: &[u8],
    iinf: &BoxRef,
    format: Format,
) -> Result<Vec<(u32, Item)>, ScrubError> {
    let (mut r, version, _) = full_box(input, iinf)?;
    if version == 0 {
        r.be_u16()?;
    } else {
        r.be_u32()?;
    }
    let mut items = Vec::new();
    for infe in boxes(input, r.pos(), iinf.end, format)? {
        if &infe.kind != b"infe" {
            continue;
        }
        let (mut r, version, _) = full_box(input, &infe)?;
        // 8.11.6.2: versions 0 and 1 have no item_type (they describe MIME or untyped
        // items); 2 has a 16-bit item_ID, 3 a 32-bit one.
        let (id, kind) = match version {
            0 | 1 => {
                let id = u32::from(r.be_u16()?);
                r.be_u16()?; // item_protection_index
                c_string(&mut r)?; // item_name
                (id, *b"mime")
            }
            2 | 3 => {
                let id = if version == 2 {
                    u32::from(r.be_u16()?)
                } else {
                    r.be_u32()?
                };
                r.be_u16()?;
                let kind = r.array::<4>()?;
                c_string(&mut r)?;
                (id, kind)
            }
            _ => return Err(ScrubError::unsupported(format, "infe version above 3")),
        };
        match &kind {
            b"Exif" => items.push((id, Item::Exif)),
            b"mime" => {
                let content_type = c_string(&mut r)?;
                if content_type.eq_ignore_ascii_case(b"application/rdf+xml") {
                    items.push((id, Item::Xmp));
                }
            }
            _ => {}
        }
    }
    Ok(items)
}

/// One item's location from `iloc` (14496-12 8.11.3).
#[derive(Debug, Default)]
struct Location {
    construction_method: u8,
    data_reference_index: u16,
    base_offset: u64,
    extents: Vec<(u64, u64)>,
}

fn locations(
    input: &[u8],
    iloc: &BoxRef,
    wanted: &[(u32, Item)],
    format: Format,
) -> Result<Vec<(u32, Location)>, ScrubError> {
    let (mut r, version, _) = full_box(input, iloc)?;
    if version > 2 {
        return Err(ScrubError::unsupported(format, "iloc version above 2"));
    }
    // "unsigned int(4) offset_size; unsigned int(4) length_size; unsigned int(4)
    // base_offset_size; unsigned int(4) index_size or reserved" — each 0, 4 or 8.
    let [sizes, more] = r.array::<2>()?;
    let (offset_size, length_size) = (sizes >> 4, sizes & 0x0F);
    let base_offset_size = more >> 4;
    let index_size = if version >= 1 { more & 0x0F } else { 0 };
    let bad_size = || ScrubError::malformed(format, "iloc field size not 0, 4 or 8");
    let count = if version < 2 {
        u32::from(r.be_u16()?)
    } else {
        r.be_u32()?
    };
    if crate::bytes::usize_from(count) > MAX_BOXES {
        return Err(ScrubError::TooMany {
            format,
            what: "iloc items",
            max: MAX_BOXES as u64,
        });
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let id = if version < 2 {
            u32::from(r.be_u16()?)
        } else {
            r.be_u32()?
        };
        let mut location = Location::default();
        if version >= 1 {
            // "unsigned int(12) reserved = 0; unsigned int(4) construction_method;"
            let [_, low] = r.be_u16()?.to_be_bytes();
            location.construction_method = low & 0x0F;
        }
        location.data_reference_index = r.be_u16()?;
        location.base_offset = r.be_sized(base_offset_size)?.ok_or_else(bad_size)?;
        let extent_count = usize::from(r.be_u16()?);
        let keep = wanted.iter().any(|(w, _)| *w == id);
        if keep && extent_count > MAX_EXTENTS {
            return Err(ScrubError::TooMany {
                format,
                what: "extents",
                max: MAX_EXTENTS as u64,
            });
        }
        for _ in 0..extent_count {
            if index_size > 0 {
                r.be_sized(index_size)?.ok_or_else(bad_size)?;
            }
            let offset = r.be_sized(offset_size)?.ok_or_else(bad_size)?;
            let length = r.be_sized(length_size)?.ok_or_else(bad_size)?;
            if keep {
                location.extents.push((offset, length));
            }
        }
        if keep {
            out.push((id, location));
        }
    }
    Ok(out)
}

/// The file ranges of one item's extents, each checked to lie inside an `mdat` payload
/// (construction method 0) or the `idat` payload (method 1).
fn ranges(
    location: &Location,
    mdats: &[BoxRef],
    idat: Option<&BoxRef>,
    format: Format,
) -> Result<Vec<(usize, usize)>, ScrubError> {
    if location.data_reference_index != 0 {
        // 8.11.3.3: "0 means 'this file'"; other data lives elsewhere, nothing to zero here.
        return Err(ScrubError::unsupported(
            format,
            "metadata item in another file",
        ));
    }
    let mut out = Vec::with_capacity(location.extents.len());
    for &(offset, length) in &location.extents {
        if length == 0 {
            // "If the value is 0, then length of the extent is the entire length of the
            // source referenced": not something to zero blindly.
            return Err(ScrubError::unsupported(
                format,
                "metadata extent of length 0",
            ));
        }
        let relative = location.base_offset.checked_add(offset);
        let (start, containers): (Option<u64>, Vec<(usize, usize)>) = match location
            .construction_method
        {
            0 => (relative, mdats.iter().map(|b| (b.payload, b.end)).collect()),
            1 => {
                let idat = idat
                    .ok_or_else(|| ScrubError::malformed(format, "idat item without idat box"))?;
                (
                    relative.and_then(|r| r.checked_add(idat.payload as u64)),
                    vec![(idat.payload, idat.end)],
                )
            }
            _ => {
                return Err(ScrubError::unsupported(
                    format,
                    "iloc construction method 2",
                ));
            }
        };
        let start =
            start.ok_or_else(|| ScrubError::malformed(format, "extent offset overflows"))?;
        let end = start
            .checked_add(length)
            .ok_or_else(|| ScrubError::malformed(format, "extent offset overflows"))?;
        let inside = containers
            .iter()
            .any(|&(lo, hi)| start >= lo as u64 && end <= hi as u64);
        if !inside {
            return Err(ScrubError::malformed(
                format,
                "metadata extent outside mdat and idat",
            ));
        }
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return Err(ScrubError::malformed(format, "extent offset overflows"));
        };
        out.push((start, end));
    }
    Ok(out)
}

/// What an Exif item is overwritten with: `exif_tiff_header_offset` 0, a TIFF header and
/// an IFD0 without entries, then zeros; all zeros when the item is too short for that.
///
/// Not plain zeros: libavif (and so browsers using it) refuses to decode an image whose
/// Exif item has no TIFF header ("Invalid Exif payload"). No tag is left either way.
fn empty_exif(len: usize) -> Vec<u8> {
    const EMPTY: [u8; 18] = [
        0, 0, 0, 0, // exif_tiff_header_offset
        b'M', b'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, IFD0 at 8
        0, 0, 0, 0, 0, 0, // no entries, no next IFD
    ];
    let mut out = vec![0; len];
    if let Some(head) = out.get_mut(..EMPTY.len()) {
        head.copy_from_slice(&EMPTY);
    }
    out
}

/// What an XMP item is overwritten with: an XMP packet without properties, padded with
/// spaces (XMP part 1, 7.3.3: a packet may be followed by padding whitespace); zeros when
/// the item is too short for that.
fn empty_xmp(len: usize) -> Vec<u8> {
    const EMPTY: &[u8] = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";
    match len.checked_sub(EMPTY.len()) {
        Some(padding) => [EMPTY, &vec![b' '; padding]].concat(),
        None => vec![0; len],
    }
}

/// 23008-12 A.2.1: an Exif item is `unsigned int(32) exif_tiff_header_offset` then the
/// Exif payload, whose TIFF header sits that many bytes in.
fn inspect_exif(item: &[u8]) -> tiff::ExifInfo {
    let mut r = Reader::new(item);
    let tiff = r
        .be_u32()
        .ok()
        .and_then(|offset| r.rest().get(crate::bytes::usize_from(offset)..))
        .unwrap_or_default();
    tiff::inspect(tiff)
}

/// A metadata item's file ranges, in item order, and the bytes that replace it.
type Overwrite = (Vec<(usize, usize)>, Vec<u8>);

/// Scrub a HEIC or AVIF file: see the module docs.
pub(crate) fn scrub(input: &[u8], format: Format) -> Result<Planned, ScrubError> {
    let top = boxes(input, 0, input.len(), format)?;
    if top.first().map(|b| &b.kind) != Some(b"ftyp") {
        return Err(ScrubError::malformed(format, "ftyp is not the first box"));
    }
    let meta = find(&top, b"meta").ok_or_else(|| ScrubError::malformed(format, "no meta box"))?;
    // meta is a FullBox: its children follow version and flags.
    let meta = boxes(input, meta.payload.saturating_add(4), meta.end, format)?;
    let mdats: Vec<BoxRef> = top.iter().filter(|b| &b.kind == b"mdat").copied().collect();
    let idat = find(&meta, b"idat");

    let items = match find(&meta, b"iinf") {
        Some(iinf) => metadata_items(input, iinf, format)?,
        None => Vec::new(),
    };
    let located = match find(&meta, b"iloc") {
        Some(iloc) if !items.is_empty() => locations(input, iloc, &items, format)?,
        _ => Vec::new(),
    };

    let mut found = Found::default();
    let mut writes: Vec<Overwrite> = Vec::new();
    for (id, kind) in &items {
        let Some((_, location)) = located.iter().find(|(l, _)| l == id) else {
            continue; // listed but stored nowhere: nothing to overwrite
        };
        let ranges = ranges(location, &mdats, idat, format)?;
        let bytes: Vec<u8> = ranges
            .iter()
            .flat_map(|&(s, e)| input.get(s..e).unwrap_or_default())
            .copied()
            .collect();
        let replacement = match kind {
            Item::Exif => empty_exif(bytes.len()),
            Item::Xmp => empty_xmp(bytes.len()),
        };
        if bytes == replacement || bytes.iter().all(|&b| b == 0) {
            continue; // already scrubbed
        }
        match kind {
            Item::Exif => found.extend(inspect_exif(&bytes).categories),
            Item::Xmp => found.add(Category::Xmp),
        }
        writes.push((ranges, replacement));
    }

    let mut all: Vec<(usize, usize)> = writes.iter().flat_map(|(r, _)| r.iter().copied()).collect();
    crate::sort::sort_by_key(&mut all, |&extent| extent);
    // Extents that overlap (a damaged or hostile iloc) cannot each get their own
    // replacement; they all become zeros, which a second pass leaves alone.
    let overlapping = all.windows(2).any(|w| matches!(w, [a, b] if b.0 < a.1));
    // What each overwritten range gets: its share of the item's replacement, or zeros.
    let mut patches: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    if overlapping {
        for &(start, end) in &all {
            match patches.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => patches.push((start, end, Vec::new())),
            }
        }
        for patch in &mut patches {
            patch.2 = vec![0; patch.1.saturating_sub(patch.0)];
        }
    } else {
        for (ranges, replacement) in &writes {
            let mut source = replacement.iter().copied();
            for &(start, end) in ranges {
                let len = end.saturating_sub(start);
                let bytes = source.by_ref().chain(std::iter::repeat(0)).take(len);
                patches.push((start, end, bytes.collect()));
            }
        }
        crate::sort::sort_by_key(&mut patches, |p| p.0);
    }
    let plan = super::overwrite(input, &patches);
    let (mut removed, mut covered) = (0u64, 0usize);
    for (start, end) in all {
        removed += end.saturating_sub(start.max(covered)) as u64;
        covered = covered.max(end);
    }
    let geometry = super::heif_geometry::primary_geometry(input, &meta, format).unwrap_or_default();
    Ok(Planned {
        report: Report {
            format,
            width: geometry.size.map(|s| s.0),
            height: geometry.size.map(|s| s.1),
            orientation: geometry.orientation,
            removed: found.into_sorted(),
            removed_bytes: removed,
        },
        plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bx, check};
    use Category::*;

    fn full(kind: &[u8; 4], version: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![version, 0, 0, 0];
        p.extend_from_slice(payload);
        bx(kind, &p)
    }

    fn infe(id: u16, kind: &[u8; 4], content_type: &str) -> Vec<u8> {
        let mut p = id.to_be_bytes().to_vec();
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(kind);
        p.push(0); // empty item_name
        if kind == b"mime" {
            p.extend_from_slice(content_type.as_bytes());
            p.push(0);
        }
        full(b"infe", 2, &p)
    }

    /// ftyp, meta (pitm, iinf, iloc, iprp with ispe + irot), mdat holding an image, an Exif
    /// item and an XMP item; iloc v0 with 4-byte offsets and lengths.
    fn heif(exif: &[u8], xmp: &[u8], mdat_extra: usize) -> (Vec<u8>, std::ops::Range<usize>) {
        let image = b"IMAGEDATA".to_vec();
        let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        let iinf = {
            let mut p = 3u16.to_be_bytes().to_vec();
            p.extend(infe(1, b"hvc1", ""));
            p.extend(infe(2, b"Exif", ""));
            p.extend(infe(3, b"mime", "application/rdf+xml"));
            full(b"iinf", 0, &p)
        };
        let ipco = bx(
            b"ipco",
            &[
                full(b"ispe", 0, &[0, 0, 0, 64, 0, 0, 0, 48]),
                bx(b"irot", &[1]),
            ]
            .concat(),
        );
        let ipma = full(b"ipma", 0, &[0, 0, 0, 1, 0, 1, 2, 0x81, 0x82]);
        let iprp = bx(b"iprp", &[ipco, ipma].concat());
        let pitm = full(b"pitm", 0, &[0, 1]);
        let iloc_len = 12 + 2 + 2 + 3 * (2 + 2 + 2 + 8);
        let meta_len = 12 + pitm.len() + iinf.len() + iloc_len + iprp.len();
        let mdat_start = ftyp.len() + meta_len + 8;
        let offsets = [
            mdat_start,
            mdat_start + image.len(),
            mdat_start + image.len() + exif.len(),
        ];
        let lengths = [image.len(), exif.len(), xmp.len()];
        let mut p = vec![0x44, 0x00, 0, 3];
        for (i, (offset, length)) in offsets.iter().zip(lengths).enumerate() {
            p.extend_from_slice(&u16::try_from(i + 1).unwrap().to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, 1]); // data_reference_index 0, one extent
            p.extend_from_slice(&u32::try_from(*offset).unwrap().to_be_bytes());
            p.extend_from_slice(&u32::try_from(length).unwrap().to_be_bytes());
        }
        let iloc = full(b"iloc", 0, &p);
        assert_eq!(iloc.len(), iloc_len);
        let meta = full(b"meta", 0, &[pitm, iinf, iloc, iprp].concat());
        let mut mdat = [image, exif.to_vec(), xmp.to_vec()].concat();
        mdat.extend(std::iter::repeat_n(0xEE, mdat_extra));
        let file = [ftyp, meta, bx(b"mdat", &mdat)].concat();
        let metadata = mdat_start + 9..mdat_start + 9 + exif.len() + xmp.len();
        (file, metadata)
    }

    fn exif_item() -> Vec<u8> {
        let mut item = vec![0, 0, 0, 6];
        item.extend_from_slice(b"Exif\0\0");
        item.extend_from_slice(&crate::testing::hex(
            "4D4D002A 00000008 0002 0110 0002 00000003 41620000 9C9D 0001 00000001 41000000 00000000",
        ));
        item
    }

    #[test]
    fn overwrites_exif_and_xmp_in_place() {
        let xmp =
            br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>Ada</dc:creator></x:xmpmeta>"#;
        let (file, metadata) = heif(&exif_item(), xmp, 4);
        let mut expected = file.clone();
        let exif_len = exif_item().len();
        expected[metadata.start..metadata.start + exif_len].copy_from_slice(&empty_exif(exif_len));
        expected[metadata.start + exif_len..metadata.end]
            .copy_from_slice(&empty_xmp(metadata.len() - exif_len));
        check(&file, Ok((&expected, &[Device, Author, Xmp])));
        let out = crate::scrub(&file).unwrap();
        assert_eq!(out.report.format, Format::Heic);
        assert_eq!(out.report.removed_bytes, metadata.len() as u64);
        // irot angle 1 is a quarter turn anticlockwise: EXIF orientation 8.
        assert_eq!(
            (out.report.width, out.report.height, out.report.orientation),
            (Some(64), Some(48), Some(8))
        );
        assert_eq!(out.report.display_size(), Some((48, 64)));
    }

    #[test]
    fn overlapping_items_become_zeros() {
        let (mut file, metadata) = heif(&exif_item(), b"<x:xmpmeta/>", 4);
        // Point the XMP item (third iloc entry) at the Exif item's bytes.
        let entry = |i: usize| file.windows(4).position(|w| w == b"iloc").unwrap() + 12 + i * 14;
        let exif_offset = entry(1) + 6;
        let xmp_offset = entry(2) + 6;
        let offset: [u8; 4] = file[exif_offset..exif_offset + 4].try_into().unwrap();
        file[xmp_offset..xmp_offset + 4].copy_from_slice(&offset);
        let mut expected = file.clone();
        expected[metadata.start..metadata.start + exif_item().len()].fill(0);
        check(&file, Ok((&expected, &[Device, Author, Xmp])));
    }

    #[test]
    fn zeroes_items_stored_in_idat() {
        // iloc version 1, construction method 1: offsets count from the idat payload.
        let exif = exif_item();
        let iinf = full(b"iinf", 0, &[&[0, 1][..], &infe(7, b"Exif", "")].concat());
        let mut p = vec![0x44, 0x00, 0, 1, 0, 7, 0, 1, 0, 0, 0, 1];
        p.extend_from_slice(&2u32.to_be_bytes());
        p.extend_from_slice(&u32::try_from(exif.len()).unwrap().to_be_bytes());
        let iloc = full(b"iloc", 1, &p);
        let idat = bx(b"idat", &[&b"ab"[..], &exif, b"cd"].concat());
        let meta = full(b"meta", 0, &[iinf, iloc, idat].concat());
        let file = [
            bx(b"ftyp", b"avif\0\0\0\0avifmif1"),
            meta,
            bx(b"mdat", b"pixels"),
        ]
        .concat();
        let at = file.windows(4).position(|w| w == b"idat").unwrap() + 4 + 2;
        let mut expected = file.clone();
        expected[at..at + exif.len()].copy_from_slice(&empty_exif(exif.len()));
        check(&file, Ok((&expected, &[Device, Author])));
        let out = crate::scrub(&file).unwrap();
        assert_eq!(out.report.format, Format::Avif);
        assert_eq!((out.report.width, out.report.orientation), (None, None));
        // The same item pointing past the idat payload is refused.
        let mut past = file.clone();
        let length = past.windows(4).position(|w| w == b"iloc").unwrap() + 8 + 12 + 4;
        past[length..length + 4].copy_from_slice(&1000u32.to_be_bytes());
        check(
            &past,
            Err(ScrubError::malformed(
                Format::Avif,
                "metadata extent outside mdat and idat",
            )),
        );
    }

    #[test]
    fn refuses_what_it_cannot_parse() {
        let (file, _) = heif(&exif_item(), b"<x/>", 0);
        let e = |what| Err(ScrubError::malformed(Format::Heic, what));
        // Cut inside mdat: the box claims more than there is.
        check(
            &file[..file.len() - 1],
            Err(ScrubError::Truncated {
                needed: file.len() as u64,
                available: file.len() as u64 - 1,
            }),
        );
        // An Exif extent pointing into the meta box instead of mdat.
        let mut outside = file.clone();
        let at = outside.windows(4).position(|w| w == b"iloc").unwrap() + 8 + 4 + 14 + 6;
        outside[at..at + 4].copy_from_slice(&40u32.to_be_bytes());
        check(&outside, e("metadata extent outside mdat and idat"));
        // Exif extent of length 0 would mean "to the end of the file".
        let mut zero_len = file.clone();
        zero_len[at + 4..at + 8].fill(0);
        check(
            &zero_len,
            Err(ScrubError::unsupported(
                Format::Heic,
                "metadata extent of length 0",
            )),
        );
        // A box smaller than its header, and no meta at all.
        let mut small = file.clone();
        let meta = small.windows(4).position(|w| w == b"meta").unwrap() - 4;
        small[meta..meta + 4].copy_from_slice(&4u32.to_be_bytes());
        check(&small, e("box smaller than its header"));
        check(
            &[bx(b"ftyp", b"heic\0\0\0\0"), bx(b"mdat", b"")].concat(),
            e("no meta box"),
        );
    }
}
