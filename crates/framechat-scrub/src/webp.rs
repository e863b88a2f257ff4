//! WebP (RIFF container, Google's "WebP Container Specification"): a list of RIFF chunks
//! borrowed from the input, kept by whitelist, with the VP8X flags and RIFF size rewritten.
//!
//! ```text
//! 'RIFF' size(u32 LE) 'WEBP'             size counts from 'WEBP' to the end
//! fourcc size(u32 LE) payload [pad]      chunk, padded to an even length
//! simple:   VP8 or VP8L, alone
//! extended: VP8X, ICCP?, ANIM?, (ANMF... | ALPH? VP8/VP8L), EXIF?, 'XMP '?
//! ```
//!
//! Kept: VP8X, ICCP, ANIM, ANMF (with only ALPH/VP8/VP8L inside), ALPH, VP8, VP8L.
//! Dropped: EXIF, XMP and every unknown chunk. When the EXIF Orientation was not 1, a
//! minimal EXIF chunk with only that tag is appended (the place the spec gives EXIF) and
//! its VP8X flag set, the same policy as for JPEG and PNG.

use crate::bytes::Reader;
use crate::plan::Builder;
use crate::report::{Category, Found};
use crate::{Format, Planned, ScrubError, tiff};

/// Most chunks accepted at the top level, and again inside all ANMF frames together.
pub(crate) const MAX_CHUNKS: usize = 64 * 1024;

/// VP8X flags byte: "Reserved (2 bits), ICC (I), Alpha (L), Exif (E), XMP (X),
/// Animation (A), Reserved (1 bit)", most significant bit first.
const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;
/// ANMF: X, Y, width-1, height-1, duration (3 bytes each) and a flags byte, then frame data.
const ANMF_HEADER: usize = 16;

/// One RIFF chunk, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk<'a> {
    pub(crate) fourcc: [u8; 4],
    pub(crate) payload: &'a [u8],
    /// Header, payload and padding byte as in the input.
    pub(crate) raw: &'a [u8],
}

/// Split `data` from `start` (a chunk header) to its end into RIFF chunks, counting them
/// into `count`. Offsets in errors are relative to `data`.
fn split_chunks<'a>(
    data: &'a [u8],
    start: usize,
    count: &mut usize,
) -> Result<Vec<Chunk<'a>>, ScrubError> {
    let mut r = Reader::at(data, start);
    let mut out = Vec::new();
    while !r.is_empty() {
        *count += 1;
        if *count > MAX_CHUNKS {
            return Err(ScrubError::TooMany {
                format: Format::Webp,
                what: "chunks",
                max: MAX_CHUNKS as u64,
            });
        }
        let start = r.pos();
        let fourcc = r.array::<4>()?;
        let size = crate::bytes::usize_from(r.le_u32()?);
        let payload = r.take(size)?;
        // RIFF: "If Chunk Size is odd, a single padding byte -- which MUST be 0 to conform
        // with RIFF -- is added."
        if size % 2 == 1 {
            r.skip(1)?;
        }
        let raw = data.get(start..r.pos()).unwrap_or_default();
        out.push(Chunk {
            fourcc,
            payload,
            raw,
        });
    }
    Ok(out)
}

/// Parse the RIFF header and its chunks; returns them and the bytes after the RIFF.
pub(crate) fn parse(input: &[u8]) -> Result<(Vec<Chunk<'_>>, &[u8]), ScrubError> {
    let mut r = Reader::new(input);
    if &r.array::<4>()? != b"RIFF" {
        return Err(ScrubError::malformed(Format::Webp, "no RIFF header"));
    }
    // "File Size: ... The size of the file in bytes, starting at offset 8."
    let size = r.le_u32()?;
    let end = 8u64.saturating_add(u64::from(size));
    let riff = input
        .get(..usize::try_from(end).unwrap_or(usize::MAX))
        .ok_or_else(|| ScrubError::truncated(end, input.len()))?;
    if riff.get(8..12) != Some(b"WEBP") || size < 4 {
        return Err(ScrubError::malformed(Format::Webp, "no WEBP form type"));
    }
    let mut count = 0;
    let chunks = split_chunks(riff, 12, &mut count)?;
    Ok((chunks, input.get(riff.len()..).unwrap_or_default()))
}

fn too_big() -> ScrubError {
    ScrubError::TooLarge {
        format: Format::Webp,
        what: "chunk",
        len: u64::from(u32::MAX),
        max: u64::from(u32::MAX),
    }
}

fn write_chunk(
    out: &mut Builder<'_>,
    fourcc: &[u8; 4],
    payload: &[&[u8]],
) -> Result<(), ScrubError> {
    let len: usize = payload.iter().map(|p| p.len()).sum();
    out.put(fourcc);
    out.put(&u32::try_from(len).map_err(|_| too_big())?.to_le_bytes());
    for part in payload {
        out.put(part);
    }
    if len % 2 == 1 {
        out.put(&[0]);
    }
    Ok(())
}

/// What an EXIF chunk holds. The container spec puts TIFF data directly in it; some
/// writers prefix it with JPEG's "Exif\0\0", which is accepted too.
fn inspect_exif(payload: &[u8]) -> tiff::ExifInfo {
    tiff::inspect(payload.strip_prefix(b"Exif\0\0").unwrap_or(payload))
}

/// Scrub a WebP: see the module docs.
pub(crate) fn scrub(input: &[u8]) -> Result<Planned, ScrubError> {
    let (chunks, trailing) = parse(input)?;
    let mut found = Found::default();
    let mut orientation = None;
    let mut big_endian = true;
    let mut frame_chunks = 0;

    let first = chunks
        .first()
        .ok_or_else(|| ScrubError::malformed(Format::Webp, "no chunks"))?;
    let (vp8x, size) = match &first.fourcc {
        b"VP8X" => {
            // VP8X: flags (1), reserved (3), canvas width-1 (3), canvas height-1 (3).
            let mut r = Reader::new(first.payload);
            let flags = r.u8()?;
            r.skip(3)?;
            let [w0, w1, w2] = r.array::<3>()?;
            let [h0, h1, h2] = r.array::<3>()?;
            let w = u32::from_le_bytes([w0, w1, w2, 0]) + 1;
            let h = u32::from_le_bytes([h0, h1, h2, 0]) + 1;
            (Some(flags), Some((w, h)))
        }
        b"VP8 " => (None, vp8_size(first.payload)),
        b"VP8L" => (None, vp8l_size(first.payload)),
        _ => {
            return Err(ScrubError::malformed(
                Format::Webp,
                "first chunk is not VP8, VP8L or VP8X",
            ));
        }
    };

    let mut body = Builder::new(input);
    let mut images = usize::from(vp8x.is_none());
    for chunk in chunks.get(1..).unwrap_or_default() {
        match &chunk.fourcc {
            b"ICCP" | b"ANIM" | b"ALPH" => body.put(chunk.raw),
            b"VP8 " | b"VP8L" => {
                images += 1;
                body.put(chunk.raw);
            }
            b"ANMF" => {
                let header = chunk.payload.get(..ANMF_HEADER).ok_or_else(|| {
                    ScrubError::malformed(Format::Webp, "ANMF shorter than its header")
                })?;
                // "Frame Data: ... An optional alpha subchunk, a bitstream subchunk, an
                // optional list of unknown chunks." Only the first two are kept.
                let subchunks = split_chunks(chunk.payload, ANMF_HEADER, &mut frame_chunks)?;
                let keep = |c: &Chunk<'_>| matches!(&c.fourcc, b"ALPH" | b"VP8 " | b"VP8L");
                // "A bitstream subchunk for the frame": a frame without one is broken, and
                // passing it on would hand the receiver a file that does not decode.
                if !subchunks
                    .iter()
                    .any(|c| matches!(&c.fourcc, b"VP8 " | b"VP8L"))
                {
                    return Err(ScrubError::malformed(
                        Format::Webp,
                        "ANMF frame without a bitstream",
                    ));
                }
                images += 1;
                if subchunks.iter().all(keep) {
                    body.put(chunk.raw);
                } else {
                    found.add(Category::Other);
                    let mut parts: Vec<&[u8]> = vec![header];
                    parts.extend(subchunks.iter().filter(|c| keep(c)).map(|c| c.raw));
                    write_chunk(&mut body, b"ANMF", &parts)?;
                }
            }
            b"EXIF" => {
                let info = inspect_exif(chunk.payload);
                found.extend(info.categories);
                if orientation.is_none() {
                    orientation = info.orientation;
                    big_endian = info.big_endian;
                }
            }
            b"XMP " => found.add(Category::Xmp),
            _ => found.add(Category::Other),
        }
    }
    if images == 0 {
        return Err(ScrubError::malformed(Format::Webp, "no image data"));
    }
    if !trailing.is_empty() {
        found.add(Category::TrailingData);
    }

    // Everything after "WEBP", whose length the RIFF header states.
    let mut rest = Builder::new(input);
    match vp8x {
        Some(flags) => {
            let minimal = orientation
                .filter(|&o| o != 1)
                .map(|o| tiff::minimal_exif(o, big_endian));
            let mut flags = flags & !(FLAG_EXIF | FLAG_XMP);
            if minimal.is_some() {
                flags |= FLAG_EXIF;
            }
            let vp8x_rest = first.payload.get(1..).unwrap_or_default();
            write_chunk(&mut rest, b"VP8X", &[&[flags], vp8x_rest])?;
            rest.append(body);
            if let Some(tiff) = minimal {
                write_chunk(&mut rest, b"EXIF", &[&tiff])?;
            }
        }
        None => {
            rest.put(first.raw);
            rest.append(body);
        }
    }
    // RIFF: "File Size ... the size of the file in bytes, starting at offset 8", which is
    // the "WEBP" and what follows.
    let riff_size = u32::try_from(rest.len().saturating_add(4)).map_err(|_| too_big())?;
    let mut out = Builder::new(input);
    out.put(b"RIFF");
    out.put(&riff_size.to_le_bytes());
    out.put(b"WEBP");
    out.append(rest);
    Ok(found.into_planned(
        Format::Webp,
        size.unzip(),
        orientation,
        input.len(),
        out.finish(),
    ))
}

/// RFC 6386 9.1: a key frame's 3-byte frame tag, start code 9D 01 2A, then 14-bit width
/// and 14-bit height (each with 2 bits of scale above).
fn vp8_size(payload: &[u8]) -> Option<(u32, u32)> {
    let mut r = Reader::new(payload);
    r.skip(3).ok()?;
    if r.array::<3>().ok()? != [0x9D, 0x01, 0x2A] {
        return None;
    }
    let w = r.le_u16().ok()? & 0x3FFF;
    let h = r.le_u16().ok()? & 0x3FFF;
    Some((u32::from(w), u32::from(h)))
}

/// WebP lossless bitstream spec 3.2: signature 0x2F, then 14 bits width-1 and 14 bits
/// height-1, least significant bits first.
fn vp8l_size(payload: &[u8]) -> Option<(u32, u32)> {
    let mut r = Reader::new(payload);
    if r.u8().ok()? != 0x2F {
        return None;
    }
    let bits = r.le_u32().ok()?;
    Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, hex};
    use Category::*;

    fn chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = Builder::new(&[]);
        write_chunk(&mut out, fourcc, &[payload]).unwrap();
        out.finish().apply(&[])
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(&body);
        out
    }

    /// VP8X with the given flags, canvas 64x48.
    fn vp8x(flags: u8) -> Vec<u8> {
        let mut payload = vec![flags, 0, 0, 0];
        payload.extend_from_slice(&hex("3F0000 2F0000"));
        chunk(b"VP8X", &payload)
    }
    /// A VP8L header for 64x48: signature, then (w-1) | (h-1) << 14.
    fn vp8l() -> Vec<u8> {
        let bits: u32 = 63 | (47 << 14);
        let mut payload = vec![0x2F];
        payload.extend_from_slice(&bits.to_le_bytes());
        chunk(b"VP8L", &payload)
    }
    /// A VP8 key frame header for 64x48 (odd length: padded).
    fn vp8() -> Vec<u8> {
        chunk(b"VP8 ", &hex("000000 9D012A 4000 3000 AA"))
    }
    fn exif(orientation: u16) -> Vec<u8> {
        let tiff = hex(&format!(
            "4D4D002A 00000008 0002 0112 0003 00000001 {orientation:04X}0000 8825 0004 00000001 00000026 00000000
             0001 0001 0002 00000002 4E000000 00000000"
        ));
        chunk(b"EXIF", &tiff)
    }

    #[test]
    fn simple_files_stay_as_they_are() {
        for image in [vp8l(), vp8()] {
            let file = riff(&[image]);
            check(&file, Ok((&file, &[])));
            let out = crate::scrub(&file).unwrap();
            assert_eq!((out.report.width, out.report.height), (Some(64), Some(48)));
        }
    }

    #[test]
    fn drops_exif_and_xmp_and_fixes_flags_and_size() {
        // ICC (0x20) + Alpha (0x10) + EXIF (0x08) + XMP (0x04).
        let iccp = chunk(b"ICCP", b"profile");
        let alph = chunk(b"ALPH", b"\x00alpha");
        let mut input = riff(&[
            vp8x(0x3C),
            iccp.clone(),
            alph.clone(),
            vp8(),
            exif(1),
            chunk(b"XMP ", b"<x:xmpmeta/>"),
            chunk(b"ABCD", b"?"),
        ]);
        input.extend_from_slice(b"junk");
        check(
            &input,
            Ok((
                &riff(&[vp8x(0x30), iccp, alph, vp8()]),
                &[Location, TrailingData, Xmp, Other],
            )),
        );
        // Orientation 6: a minimal EXIF chunk at the end and the EXIF flag set.
        let minimal = chunk(b"EXIF", &crate::tiff::minimal_exif(6, true));
        check(
            &riff(&[vp8x(0x08), vp8l(), exif(6)]),
            Ok((&riff(&[vp8x(0x08), vp8l(), minimal]), &[Location])),
        );
        // Writers that prefix "Exif\0\0" are understood too.
        let mut prefixed = b"Exif\0\0".to_vec();
        prefixed.extend_from_slice(&crate::tiff::minimal_exif(3, false));
        let out = crate::scrub(&riff(&[vp8x(0x08), vp8l(), chunk(b"EXIF", &prefixed)])).unwrap();
        assert_eq!(out.report.orientation, Some(3));
    }

    #[test]
    fn animation_keeps_frames_and_drops_unknown_frame_chunks() {
        let anim = chunk(b"ANIM", &hex("00000000 0000"));
        let frame_header = hex("000000 000000 3F0000 2F0000 640000 00");
        let anmf = |extra: &[u8]| {
            let mut payload = frame_header.clone();
            payload.extend_from_slice(&chunk(b"ALPH", b"a"));
            payload.extend_from_slice(&vp8());
            payload.extend_from_slice(extra);
            chunk(b"ANMF", &payload)
        };
        let input = riff(&[
            vp8x(0x12),
            anim.clone(),
            anmf(&[]),
            anmf(&chunk(b"ZZZZ", b"hidden")),
        ]);
        check(
            &input,
            Ok((&riff(&[vp8x(0x12), anim, anmf(&[]), anmf(&[])]), &[Other])),
        );
    }

    /// Image data chunks at the top level and inside ANMF frames, in order.
    fn image_data(bytes: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        let (chunks, _) = parse(bytes).unwrap();
        let mut out = Vec::new();
        for chunk in chunks {
            match &chunk.fourcc {
                b"ANMF" => {
                    out.push((*b"ANMF", chunk.payload[..ANMF_HEADER].to_vec()));
                    for sub in split_chunks(chunk.payload, ANMF_HEADER, &mut 0).unwrap() {
                        out.push((sub.fourcc, sub.payload.to_vec()));
                    }
                }
                b"VP8 " | b"VP8L" | b"ALPH" | b"ICCP" | b"ANIM" => {
                    out.push((chunk.fourcc, chunk.payload.to_vec()));
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn fixture_image_data_is_byte_identical() {
        for (name, input, output) in crate::testing::scrubbed(Format::Webp) {
            assert_eq!(image_data(input), image_data(&output), "{name}");
            // Alpha and animation flags stay; EXIF only for the kept orientation, no XMP.
            let (before, _) = parse(input).unwrap();
            let (after, _) = parse(&output).unwrap();
            let flags = |c: &[Chunk<'_>]| c[0].payload[0];
            assert_eq!(flags(&before) & 0x32, flags(&after) & 0x32, "{name}");
            assert_eq!(flags(&after) & FLAG_XMP, 0, "{name}");
            let has_exif = after.iter().any(|c| &c.fourcc == b"EXIF");
            assert_eq!(flags(&after) & FLAG_EXIF != 0, has_exif, "{name}");
            // The RIFF size is the file size minus 8.
            assert_eq!(
                u32::from_le_bytes(output[4..8].try_into().unwrap()) as usize,
                output.len() - 8
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_parse() {
        let mut long = riff(&[vp8l()]);
        long[4] += 10;
        check(
            &long,
            Err(ScrubError::Truncated {
                needed: 36,
                available: 26,
            }),
        );
        check(
            &riff(&[exif(1)]),
            Err(ScrubError::malformed(
                Format::Webp,
                "first chunk is not VP8, VP8L or VP8X",
            )),
        );
        check(
            &riff(&[]),
            Err(ScrubError::malformed(Format::Webp, "no chunks")),
        );
        check(
            &riff(&[chunk(b"VP8X", b"\0\0")]),
            Err(ScrubError::Truncated {
                needed: 4,
                available: 2,
            }),
        );
        // A chunk whose size runs past the RIFF.
        check(
            &riff(&[hex("\"VP8L\" 10000000 2F")]),
            Err(ScrubError::Truncated {
                needed: 36,
                available: 21,
            }),
        );
        check(
            &riff(&[vp8x(0x02), chunk(b"ANMF", b"short")]),
            Err(ScrubError::malformed(
                Format::Webp,
                "ANMF shorter than its header",
            )),
        );
    }
}
