//! JPEG (ITU T.81 with JFIF and EXIF): a list of marker segments borrowed from the input,
//! kept by whitelist.
//!
//! ```text
//! FF D8                      SOI
//! FF En LL LL payload        APPn, length counts itself (T.81 B.1.1.4)
//! FF DB / C4 / C0..CF ...    tables and frame header
//! FF DA LL LL header  ecs    SOS, then entropy-coded data with FF 00 stuffing and RSTn
//! FF D9                      EOI; anything after it is not part of the image
//! ```

use memchr::memchr;

use crate::bytes::Reader;
use crate::plan::Builder;
use crate::report::{Category, Found};
use crate::{Format, Planned, ScrubError, tiff};

/// Most marker segments accepted in one file (a progressive JPEG has a few dozen, a
/// multi-segment ICC profile at most 255 more).
pub(crate) const MAX_SEGMENTS: usize = 16 * 1024;

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP13: u8 = 0xED;
const APP14: u8 = 0xEE;
const COM: u8 = 0xFE;

const JFIF: &[u8] = b"JFIF\0";
const EXIF: &[u8] = b"Exif\0";
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXTENSION: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const ICC: &[u8] = b"ICC_PROFILE\0";
const ADOBE: &[u8] = b"Adobe";
/// JFIF 1.02: identifier, version, units, densities, thumbnail width and height.
const JFIF_FIXED_LEN: usize = 14;

/// One marker segment, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment<'a> {
    /// The marker code (the byte after X'FF').
    pub(crate) marker: u8,
    /// The payload after the 2-byte length; empty for markers without one.
    pub(crate) payload: &'a [u8],
    /// For SOS: the entropy-coded data that follows it, RSTn markers included.
    pub(crate) ecs: &'a [u8],
}

/// A parsed JPEG: every segment between SOI and EOI, and what follows EOI.
#[derive(Debug)]
pub(crate) struct Jpeg<'a> {
    pub(crate) segments: Vec<Segment<'a>>,
    pub(crate) trailing: &'a [u8],
}

/// Split a JPEG into segments. Fails on anything that is not a well-formed sequence of
/// segments ending in EOI.
pub(crate) fn parse(input: &[u8]) -> Result<Jpeg<'_>, ScrubError> {
    let mut r = Reader::new(input);
    if r.array::<2>()? != [0xFF, SOI] {
        return Err(ScrubError::malformed(Format::Jpeg, "no SOI marker"));
    }
    let mut segments = Vec::new();
    loop {
        if segments.len() >= MAX_SEGMENTS {
            return Err(ScrubError::TooMany {
                format: Format::Jpeg,
                what: "segments",
                max: MAX_SEGMENTS as u64,
            });
        }
        // T.81 B.1.1.2: "All markers are assigned two-byte codes: an X'FF' byte followed
        // by a byte which is not equal to 0 or X'FF'." "Any marker may optionally be
        // preceded by any number of fill bytes, which are bytes assigned code X'FF'."
        if r.u8()? != 0xFF {
            return Err(ScrubError::malformed(Format::Jpeg, "expected a marker"));
        }
        let mut marker = r.u8()?;
        while marker == 0xFF {
            marker = r.u8()?;
        }
        match marker {
            EOI => break,
            // T.81 B.1.1.3: TEM and RSTn stand alone, without a length. RSTn belongs inside
            // entropy-coded data, where the scan below consumes it.
            0x01 => segments.push(Segment {
                marker,
                payload: &[],
                ecs: &[],
            }),
            0x00 | 0xD0..=0xD7 | SOI => {
                return Err(ScrubError::malformed(Format::Jpeg, "marker out of place"));
            }
            _ => {
                // T.81 B.1.1.4: "Lp: ... specifies the length of the parameters in the
                // marker segment", including its own two bytes.
                let len = r.be_u16()?;
                let Some(payload_len) = usize::from(len).checked_sub(2) else {
                    return Err(ScrubError::malformed(
                        Format::Jpeg,
                        "segment length below 2",
                    ));
                };
                let payload = r.take(payload_len)?;
                let ecs = if marker == SOS {
                    let end = scan_end(input, r.pos())?;
                    r.take(end.saturating_sub(r.pos()))?
                } else {
                    &[]
                };
                segments.push(Segment {
                    marker,
                    payload,
                    ecs,
                });
            }
        }
    }
    Ok(Jpeg {
        segments,
        trailing: r.rest(),
    })
}

/// Bytes the fast path of [`scan_end`] looks at in one step.
const CHUNK: usize = 128;

/// Whether `window` (a chunk and the byte after it) holds an X'FF' followed by anything but
/// a stuffed zero: written without branches so that it compiles to a few SIMD compares.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn suspicious(window: &[u8; CHUNK + 1]) -> bool {
    let (Some((_, next)), Some((_, this))) = (window.split_first(), window.split_last()) else {
        return true;
    };
    let mut hit = 0u8;
    for (&a, &b) in this.iter().zip(next) {
        hit |= u8::from(a == 0xFF) & u8::from(b != 0x00);
    }
    hit != 0
}

/// [`suspicious`] in WebAssembly SIMD, where LLVM's vectorised version of the portable loop
/// spends most of its time reducing the lanes to one flag. Here the chunk's 16-byte compares
/// with X'FF' are or-ed and tested once (`v128.any_true`), and only a chunk with an X'FF'
/// in it is compared again with the bytes that follow. This loop is the scrubber's time on a
/// photo: 0.35 -> 0.22 ms for a 12 MP one in the browser bench, with the copy into WASM
/// (0.08 ms) included.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn suspicious(window: &[u8; CHUNK + 1]) -> bool {
    use core::arch::wasm32::{
        u8x16_eq, u8x16_splat, v128, v128_andnot, v128_any_true, v128_load, v128_or,
    };
    /// Sixteen bytes of `window` from `at` (at most `CHUNK - 15`) as one vector.
    #[allow(unsafe_code)]
    fn lanes(window: &[u8; CHUNK + 1], at: usize) -> v128 {
        let bytes: &[u8; 16] = window
            .get(at..)
            .and_then(|rest| rest.first_chunk())
            .unwrap_or(&[0; 16]);
        // SAFETY: `bytes` is 16 readable bytes, and `v128.load` has no alignment requirement.
        // (A safe `u8x16(b[0], ..)` is not folded into one load: measured 4x slower.)
        unsafe { v128_load(bytes.as_ptr().cast::<v128>()) }
    }
    let (ff, zero) = (u8x16_splat(0xFF), u8x16_splat(0));
    // Where each 16-byte vector of the chunk starts.
    const STARTS: [usize; CHUNK / 16] = [0, 16, 32, 48, 64, 80, 96, 112];
    let this = STARTS.map(|at| u8x16_eq(lanes(window, at), ff));
    // Most chunks of entropy-coded data hold no X'FF' at all: done.
    let any = this.iter().fold(u8x16_splat(0), |acc, &v| v128_or(acc, v));
    if !v128_any_true(any) {
        return false;
    }
    let mut hit = u8x16_splat(0);
    for (ff_here, at) in this.into_iter().zip(STARTS) {
        let next_is_zero = u8x16_eq(lanes(window, at + 1), zero);
        hit = v128_or(hit, v128_andnot(ff_here, next_is_zero));
    }
    v128_any_true(hit)
}

/// Where the entropy-coded data starting at `start` ends: at the X'FF' of the first marker
/// that is neither a stuffed zero nor RSTn.
///
/// T.81 B.1.1.5: "If a X'FF' byte occurs in any entropy-coded segment, it shall be
/// followed by a 'stuffed' zero byte"; F.1.2.3: RSTn markers sit between restart intervals.
///
/// This is the one pass over the image data, so it is built for speed: whole chunks whose
/// every X'FF' is stuffed are skipped at once, and only a chunk with something else in it
/// is looked at byte by byte.
///
/// Never inlined: V8 (and other engines) tier WebAssembly up one function at a time, once it
/// has run hot. Inlined, this loop made all of [`crate::plan`] (27-41 KB of code) hot, and
/// its optimising compile took 45-155 ms on a worker thread while the photo was being sent
/// (57-81 ms of CPU in Chromium traces; latency bench, `--trace-wasm-compilation-times`). On
/// its own only this small function is recompiled. (wasm-opt must not inline it either: see
/// index.html.)
#[inline(never)]
fn scan_end(input: &[u8], start: usize) -> Result<usize, ScrubError> {
    let truncated = || ScrubError::truncated(input.len() as u64 + 2, input.len());
    let mut i = start;
    loop {
        while let Some(window) = input.get(i..).and_then(|rest| rest.first_chunk()) {
            if suspicious(window) {
                break;
            }
            i += CHUNK;
        }
        let rest = input.get(i..).ok_or_else(truncated)?;
        let ff = i
            .checked_add(memchr(0xFF, rest).ok_or_else(truncated)?)
            .ok_or_else(truncated)?;
        // Skip fill bytes to find the code.
        let mut j = ff.checked_add(1).ok_or_else(truncated)?;
        let code = loop {
            match input.get(j) {
                None => return Err(truncated()),
                Some(0xFF) => j = j.checked_add(1).ok_or_else(truncated)?,
                Some(&code) => break code,
            }
        };
        match code {
            0x00 | 0xD0..=0xD7 => i = j.checked_add(1).ok_or_else(truncated)?,
            _ => return Ok(ff),
        }
    }
}

/// What happens to a segment.
enum Verdict {
    Keep,
    /// JFIF APP0 with a thumbnail: keep its first 12 payload bytes and zero thumbnail size.
    KeepJfifWithoutThumbnail,
    Drop(Category),
    /// APP1 EXIF: dropped, and its contents classified.
    DropExif,
}

fn verdict(segment: &Segment<'_>, seen_jfif: bool) -> Result<Verdict, ScrubError> {
    let p = segment.payload;
    Ok(match segment.marker {
        // JFIF 1.02: APP0 "JFIF\0"; only the first one counts. Its optional thumbnail is RGB
        // pixels of the picture, so it goes.
        APP0 if p.starts_with(JFIF) && !seen_jfif && p.len() >= JFIF_FIXED_LEN => {
            if p.len() > JFIF_FIXED_LEN {
                Verdict::KeepJfifWithoutThumbnail
            } else {
                Verdict::Keep
            }
        }
        // JFXX extension APP0: a thumbnail and nothing else.
        APP0 if p.starts_with(b"JFXX\0") => Verdict::Drop(Category::Thumbnail),
        // EXIF 2.32 4.5.4: APP1 "Exif\0" then a pad byte, then TIFF.
        APP1 if p.starts_with(EXIF) => Verdict::DropExif,
        APP1 if p.starts_with(XMP) || p.starts_with(XMP_EXTENSION) => Verdict::Drop(Category::Xmp),
        // ICC.1 B.4: APP2 "ICC_PROFILE\0", sequence number, count, data: keep every part.
        APP2 if p.starts_with(ICC) => Verdict::Keep,
        // APP13 "Photoshop 3.0\0" holds IPTC-IIM and Photoshop resources.
        APP13 => Verdict::Drop(Category::Iptc),
        // APP14 "Adobe" says how to transform colours (YCCK, CMYK): needed to decode.
        APP14 if p.starts_with(ADOBE) => Verdict::Keep,
        0xE0..=0xEF => Verdict::Drop(Category::Other),
        COM => Verdict::Drop(Category::Comment),
        // T.81 Table B.1: SOF0..SOF15 (without DHT C4, JPG C8, DAC CC), DHT, DAC, SOS, DQT,
        // DNL, DRI, DHP, EXP.
        0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => Verdict::Keep,
        0xC4 | 0xCC | SOS | 0xDB..=0xDF => Verdict::Keep,
        // TEM: only meaningful in arithmetic-coding tests; nothing to keep.
        0x01 => Verdict::Drop(Category::Other),
        // JPG and JPGn: reserved for JPEG extensions (JPEG-LS uses them). Dropping one could
        // break the image, keeping an unknown one could leak: refuse.
        0xC8 | 0xF0..=0xFD => {
            return Err(ScrubError::unsupported(
                Format::Jpeg,
                "JPEG extension marker",
            ));
        }
        _ => return Err(ScrubError::malformed(Format::Jpeg, "reserved marker")),
    })
}

/// Scrub a JPEG: see the module docs.
pub(crate) fn scrub(input: &[u8]) -> Result<Planned, ScrubError> {
    let jpeg = parse(input)?;
    let mut found = Found::default();
    let mut orientation = None;
    let mut big_endian = true;
    let mut size = None;
    let mut seen_scan = false;
    let mut seen_jfif = false;
    let mut kept: Vec<(Segment<'_>, bool)> = Vec::with_capacity(jpeg.segments.len());
    for segment in &jpeg.segments {
        match verdict(segment, seen_jfif)? {
            Verdict::Keep => kept.push((*segment, false)),
            Verdict::KeepJfifWithoutThumbnail => {
                let thumb = segment.payload.get(12..14).unwrap_or_default();
                found.add(if thumb.iter().all(|&b| b != 0) {
                    Category::Thumbnail
                } else {
                    Category::Other
                });
                kept.push((*segment, true));
            }
            Verdict::Drop(category) => found.add(category),
            Verdict::DropExif => {
                let info = tiff::inspect(segment.payload.get(6..).unwrap_or_default());
                found.extend(info.categories);
                if orientation.is_none() {
                    orientation = info.orientation;
                    big_endian = info.big_endian;
                }
            }
        }
        if segment.marker == APP0 && segment.payload.starts_with(JFIF) {
            seen_jfif = true;
        }
        match segment.marker {
            // T.81 B.2.2: SOFn payload is P, Y (lines), X (samples per line), Nf, ...
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF if size.is_none() => {
                let mut r = Reader::new(segment.payload);
                let _precision = r.u8()?;
                let (y, x) = (r.be_u16()?, r.be_u16()?);
                size = Some((u32::from(x), u32::from(y)));
            }
            SOS if size.is_none() => {
                return Err(ScrubError::malformed(
                    Format::Jpeg,
                    "scan before frame header",
                ));
            }
            SOS => seen_scan = true,
            _ => {}
        }
    }
    if !seen_scan {
        return Err(ScrubError::malformed(Format::Jpeg, "no scan"));
    }
    if !jpeg.trailing.is_empty() {
        found.add(Category::TrailingData);
    }

    let minimal = orientation
        .filter(|&o| o != 1)
        .map(|o| tiff::minimal_exif(o, big_endian));
    let mut out = Builder::new(input);
    out.put(&[0xFF, SOI]);
    let mut kept = kept.into_iter().peekable();
    // The minimal EXIF goes right after SOI, or after APP0 JFIF when it leads (JFIF 1.02:
    // "the APP0 marker is used to identify a JPEG FIF file" and follows SOI immediately).
    if kept.peek().is_some_and(|(first, _)| first.marker == APP0) {
        if let Some((segment, strip)) = kept.next() {
            write_segment(&mut out, &segment, strip)?;
        }
    }
    if let Some(tiff) = minimal {
        // EXIF 2.32 4.5.4: APP1, length, "Exif\0\0", TIFF header and IFD0.
        let len = 2 + EXIF.len() + 1 + tiff.len();
        out.put(&[0xFF, APP1]);
        out.put(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
        out.put(EXIF);
        out.put(&[0]);
        out.put(&tiff);
    }
    for (segment, strip) in kept {
        write_segment(&mut out, &segment, strip)?;
    }
    out.put(&[0xFF, EOI]);

    let (width, height) = match size {
        Some((w, h)) => (Some(w), (h != 0).then_some(h)),
        None => (None, None),
    };
    Ok(found.into_planned(
        Format::Jpeg,
        (width, height),
        orientation,
        input.len(),
        out.finish(),
    ))
}

fn write_segment(
    out: &mut Builder<'_>,
    segment: &Segment<'_>,
    strip_thumbnail: bool,
) -> Result<(), ScrubError> {
    out.put(&[0xFF, segment.marker]);
    if segment.marker == 0x01 {
        return Ok(());
    }
    let payload = if strip_thumbnail {
        segment
            .payload
            .get(..JFIF_FIXED_LEN - 2)
            .unwrap_or_default()
    } else {
        segment.payload
    };
    let extra = if strip_thumbnail { 2 } else { 0 };
    let len = u16::try_from(payload.len() + 2 + extra)
        .map_err(|_| ScrubError::malformed(Format::Jpeg, "segment too long"))?;
    out.put(&len.to_be_bytes());
    out.put(payload);
    if strip_thumbnail {
        out.put(&[0, 0]);
    }
    out.put(segment.ecs);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, hex};
    use Category::*;

    const SOI: &str = "FFD8";
    const JFIF: &str = "FFE0 0010 \"JFIF\" 00 0101 00 0001 0001 0000";
    const SOF0: &str = "FFC0 000B 08 0030 0040 01 011100";
    const DQT: &str = "FFDB 0004 0102";
    const DHT: &str = "FFC4 0004 0304";
    const DRI: &str = "FFDD 0004 0002";
    /// SOS, then entropy-coded data with a stuffed FF00 and a restart marker RST0.
    const SCAN: &str = "FFDA 0008 01 0100 003F00  12 FF00 34 FFD0 56";
    const EOI: &str = "FFD9";
    /// APP1 EXIF, big endian: Make "Ab", GPS IFD with one entry, Orientation 6.
    const EXIF_APP1: &str = "FFE1 004C \"Exif\" 0000
        4D4D002A 00000008 0003 010F 0002 00000003 41620000 0112 0003 00000001 00060000
        8825 0004 00000001 00000032 00000000
        0001 0001 0002 00000002 4E000000 00000000";
    /// What replaces it: APP1 EXIF with Orientation 6 alone.
    const MINIMAL_APP1: &str = "FFE1 0022 \"Exif\" 0000
        4D4D002A 00000008 0001 0112 0003 00000001 00060000 00000000";
    const ICC_1: &str = "FFE2 0011 \"ICC_PROFILE\" 00 0102 AA";
    const ICC_2: &str = "FFE2 0011 \"ICC_PROFILE\" 00 0202 BB";
    const ADOBE: &str = "FFEE 000E \"Adobe\" 0064 0000 0000 01";

    fn jpeg(parts: &[&str]) -> Vec<u8> {
        hex(&parts.join(" "))
    }

    #[test]
    fn keeps_image_data_and_colour_drops_the_rest() {
        let clean = jpeg(&[SOI, JFIF, DQT, SOF0, DHT, SCAN, EOI]);
        check(&clean, Ok((&clean, &[])));
        // Every kind of metadata segment, a second scan (progressive), trailing bytes.
        check(
            &jpeg(&[
                SOI,
                JFIF,
                EXIF_APP1,
                ICC_1,
                ICC_2,
                ADOBE,
                "FFE1 0021 \"http://ns.adobe.com/xap/1.0/\" 00 3C3E", // XMP
                "FFED 0008 \"PS3.0\" 00",                             // APP13
                "FFE2 000A \"MPF\" 00 0000 0000",                     // MPF
                "FFEB 0004 0000",                                     // APP11 (JUMBF, C2PA)
                "FFFE 0004 \"hi\"",                                   // COM
                DQT,
                SOF0,
                DHT,
                DRI,
                SCAN,
                DHT,
                SCAN,
                EOI,
                "AABB",
            ]),
            Ok((
                &jpeg(&[
                    SOI,
                    JFIF,
                    MINIMAL_APP1,
                    ICC_1,
                    ICC_2,
                    ADOBE,
                    DQT,
                    SOF0,
                    DHT,
                    DRI,
                    SCAN,
                    DHT,
                    SCAN,
                    EOI,
                ]),
                &[Location, Device, Comment, TrailingData, Xmp, Iptc, Other],
            )),
        );
        // Without APP0 the minimal EXIF goes right after SOI; fill bytes before markers go.
        check(
            &jpeg(&[SOI, "FFFF", DQT, EXIF_APP1, SOF0, SCAN, "FFFF", EOI]),
            Ok((
                &jpeg(&[SOI, MINIMAL_APP1, DQT, SOF0, SCAN, EOI]),
                &[Location, Device],
            )),
        );
        // A JFIF thumbnail (1x1 RGB) is cut off; JFXX thumbnails go.
        check(
            &jpeg(&[
                SOI,
                "FFE0 0013 \"JFIF\" 00 0101 00 0001 0001 0101 FF0000",
                "FFE0 0008 \"JFXX\" 00 10",
                SOF0,
                SCAN,
                EOI,
            ]),
            Ok((&jpeg(&[SOI, JFIF, SOF0, SCAN, EOI]), &[Thumbnail])),
        );
        // Orientation 1 needs no EXIF at all.
        check(
            &jpeg(&[
                SOI,
                "FFE1 0022 \"Exif\" 0000 4D4D002A 00000008 0001 0112 0003 00000001 00010000 00000000",
                SOF0,
                SCAN,
                EOI,
            ]),
            Ok((&jpeg(&[SOI, SOF0, SCAN, EOI]), &[])),
        );
        // Fill bytes inside entropy-coded data before RSTn stay part of the data.
        let fill = jpeg(&[SOI, SOF0, "FFDA 0008 01 0100 003F00 11 FFFFD1 22", EOI]);
        check(&fill, Ok((&fill, &[])));
    }

    #[test]
    fn reads_size_and_orientation() {
        let out = crate::scrub(&jpeg(&[SOI, EXIF_APP1, SOF0, SCAN, EOI])).unwrap();
        assert_eq!((out.report.width, out.report.height), (Some(64), Some(48)));
        assert_eq!(out.report.orientation, Some(6));
        assert_eq!(out.report.display_size(), Some((48, 64)));
    }

    #[test]
    fn refuses_what_it_cannot_parse() {
        let truncated = |needed, available| Err(ScrubError::Truncated { needed, available });
        // A COM segment whose length runs past the end.
        check(&hex("FFD8 FFFE 0004 68"), truncated(8, 7));
        check(
            &hex("FFD8 FFFE 0001"),
            Err(ScrubError::malformed(
                Format::Jpeg,
                "segment length below 2",
            )),
        );
        // Entropy-coded data that never ends, and a file that stops before EOI.
        let no_eoi = jpeg(&[SOI, SOF0, SCAN]);
        check(
            &no_eoi,
            truncated(no_eoi.len() as u64 + 2, no_eoi.len() as u64),
        );
        check(&jpeg(&[SOI, SOF0]), truncated(16, 15));
        check(
            &jpeg(&[SOI, DQT, "00", EOI]),
            Err(ScrubError::malformed(Format::Jpeg, "expected a marker")),
        );
        check(
            &jpeg(&[SOI, "FFD0", EOI]),
            Err(ScrubError::malformed(Format::Jpeg, "marker out of place")),
        );
        check(
            &jpeg(&[SOI, "FFD8", EOI]),
            Err(ScrubError::malformed(Format::Jpeg, "marker out of place")),
        );
        check(
            &jpeg(&[SOI, "FF02 0002", EOI]),
            Err(ScrubError::malformed(Format::Jpeg, "reserved marker")),
        );
        check(
            &jpeg(&[SOI, "FFF7 0002", EOI]),
            Err(ScrubError::unsupported(
                Format::Jpeg,
                "JPEG extension marker",
            )),
        );
        check(
            &jpeg(&[SOI, SCAN, EOI]),
            Err(ScrubError::malformed(
                Format::Jpeg,
                "scan before frame header",
            )),
        );
        check(
            &jpeg(&[SOI, SOF0, EOI]),
            Err(ScrubError::malformed(Format::Jpeg, "no scan")),
        );
        let mut many = hex(SOI);
        for _ in 0..=MAX_SEGMENTS {
            many.extend_from_slice(&hex("FFFE 0002"));
        }
        check(
            &many,
            Err(ScrubError::TooMany {
                format: Format::Jpeg,
                what: "segments",
                max: MAX_SEGMENTS as u64,
            }),
        );
    }

    /// Everything but APPn and COM: tables, frame header, every scan with its data.
    fn image_data(bytes: &[u8]) -> Vec<Segment<'_>> {
        let jpeg = parse(bytes).unwrap();
        jpeg.segments
            .into_iter()
            .filter(|s| !matches!(s.marker, 0xE0..=0xEF | COM))
            .collect()
    }

    /// ICC profile parts and Adobe segments, in order.
    fn colour(bytes: &[u8]) -> Vec<Segment<'_>> {
        let jpeg = parse(bytes).unwrap();
        jpeg.segments
            .into_iter()
            .filter(|s| {
                (s.marker == APP2 && s.payload.starts_with(ICC))
                    || (s.marker == APP14 && s.payload.starts_with(super::ADOBE))
            })
            .collect()
    }

    #[test]
    fn fixture_image_data_is_byte_identical() {
        for (name, input, output) in crate::testing::scrubbed(Format::Jpeg) {
            let before = image_data(input);
            assert!(
                before.iter().any(|s| s.marker == SOS && !s.ecs.is_empty()),
                "{name}"
            );
            assert_eq!(before, image_data(&output), "{name}");
            assert_eq!(colour(input), colour(&output), "{name}");
        }
        let (_, full, output) = &crate::testing::scrubbed(Format::Jpeg)[0];
        assert_eq!(
            colour(full).len(),
            3,
            "the ICC profile comes in three parts"
        );
        assert_eq!(colour(output).len(), 3);
    }

    #[test]
    fn scan_ends_at_the_first_real_marker_wherever_it_falls() {
        // Entropy-coded data of every length up to two of the fast path's chunks, with a
        // stuffed FF00, a restart marker and fill bytes at every offset.
        for len in 0..2 * CHUNK + 4 {
            for at in 0..len {
                for special in [&[0xFF, 0x00][..], &[0xFF, 0xD3], &[0xFF, 0xFF, 0xD7]] {
                    let mut ecs: Vec<u8> = (0..len)
                        .map(|i| u8::try_from(i * 7 % 251).unwrap())
                        .collect();
                    ecs.splice(at..at, special.iter().copied());
                    let mut file = jpeg(&[SOI, SOF0, "FFDA 0008 01 0100 003F00"]);
                    file.extend_from_slice(&ecs);
                    file.extend_from_slice(&hex("FFFF FFD9"));
                    let parsed = parse(&file).unwrap();
                    assert_eq!(
                        parsed.segments.last().unwrap().ecs,
                        &ecs[..],
                        "len {len} at {at}"
                    );
                    assert!(parsed.trailing.is_empty());
                }
            }
        }
    }

    #[test]
    fn every_strict_prefix_is_an_error() {
        let full = jpeg(&[SOI, JFIF, EXIF_APP1, SOF0, DHT, SCAN, EOI]);
        for len in 0..full.len() {
            assert!(crate::scrub(&full[..len]).is_err(), "prefix of {len} bytes");
        }
    }
}
