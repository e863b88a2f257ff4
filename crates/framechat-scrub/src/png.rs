//! PNG (ISO/IEC 15948, PNG third edition): a list of chunks borrowed from the input, kept
//! by whitelist.
//!
//! ```text
//! 89 50 4E 47 0D 0A 1A 0A                signature
//! LL LL LL LL  TT TT TT TT  data  CRC    chunk: length of data, type, data, CRC-32
//! ... IHDR first, IDAT..., IEND last; anything after IEND is not part of the image
//! ```
//!
//! Kept chunks are copied byte for byte, CRC included. CRCs are not verified: a kept chunk
//! is never rewritten, so a bad CRC stays exactly as bad as the input's and the decoder
//! judges it, while checking would cost a second pass over the pixel data. Lengths, types
//! and order are checked.
//!
//! Orientation: browsers that honour EXIF in PNG (PNG third edition, `eXIf`) rotate by
//! it, so an `eXIf` with Orientation other than 1 is replaced by a minimal `eXIf` holding
//! only that tag, right after IHDR (before IDAT, as the third edition requires), the same
//! policy as for JPEG.

use crate::bytes::Reader;
use crate::plan::Builder;
use crate::report::{Category, Found};
use crate::{Format, Planned, ScrubError, tiff};

pub(crate) const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// Most chunks accepted in one file: an APNG has two per frame, big images a few hundred
/// IDAT chunks.
pub(crate) const MAX_CHUNKS: usize = 64 * 1024;
/// PNG 5.3: "The length ... is restricted to values less than or equal to 2^31-1."
const MAX_CHUNK_LEN: u32 = 0x7FFF_FFFF;

/// Ancillary chunks that say how to show the pixels, or animate them, and carry nothing
/// about who, where or when: PNG third edition 11.3, and the APNG chunks (11.3.6).
const KEEP: [&[u8; 4]; 16] = [
    b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"mDCv",
    b"cLLi", // draft spellings of mDCV and cLLI, still written by some tools
    b"bKGD", b"hIST", b"pHYs", b"acTL", b"fcTL",
];
/// The critical chunks, all needed to decode, plus APNG frame data.
const NEEDED: [&[u8; 4]; 5] = [b"IHDR", b"PLTE", b"IDAT", b"IEND", b"fdAT"];

/// One chunk, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk<'a> {
    pub(crate) kind: [u8; 4],
    pub(crate) data: &'a [u8],
    /// The whole chunk: length, type, data and CRC.
    pub(crate) raw: &'a [u8],
}

/// Split a PNG into chunks up to and including IEND; returns them and what follows.
pub(crate) fn parse(input: &[u8]) -> Result<(Vec<Chunk<'_>>, &[u8]), ScrubError> {
    let mut r = Reader::new(input);
    if &r.array::<8>()? != SIGNATURE {
        return Err(ScrubError::malformed(Format::Png, "bad signature"));
    }
    let mut chunks = Vec::new();
    loop {
        if chunks.len() >= MAX_CHUNKS {
            return Err(ScrubError::TooMany {
                format: Format::Png,
                what: "chunks",
                max: MAX_CHUNKS as u64,
            });
        }
        let start = r.pos();
        let len = r.be_u32()?;
        if len > MAX_CHUNK_LEN {
            return Err(ScrubError::TooLarge {
                format: Format::Png,
                what: "chunk",
                len: u64::from(len),
                max: u64::from(MAX_CHUNK_LEN),
            });
        }
        let kind = r.array::<4>()?;
        // PNG 5.4: "chunk type codes are restricted to consist of uppercase and lowercase
        // ASCII letters".
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(ScrubError::malformed(
                Format::Png,
                "chunk type is not four letters",
            ));
        }
        let data = r.take(crate::bytes::usize_from(len))?;
        r.skip(4)?; // CRC
        let raw = input.get(start..r.pos()).unwrap_or_default();
        chunks.push(Chunk { kind, data, raw });
        if &kind == b"IEND" {
            return Ok((chunks, r.rest()));
        }
    }
}

/// What a text chunk's keyword (PNG 11.3.3.2 and common practice) says it holds.
fn text_category(data: &[u8]) -> Category {
    let keyword = data.split(|&b| b == 0).next().unwrap_or_default();
    match keyword {
        b"XML:com.adobe.xmp" | b"Raw profile type xmp" => Category::Xmp,
        b"Author" | b"Copyright" => Category::Author,
        b"Creation Time" | b"date:create" | b"date:modify" | b"date:timestamp" => {
            Category::DateTime
        }
        // PNG 11.3.3.2: Source is the "device used to create the image".
        b"Source" | b"Software" => Category::Device,
        b"Raw profile type iptc" | b"Raw profile type 8bim" => Category::Iptc,
        // EXIF written as hex text by ImageMagick; its contents are not inspected here.
        b"Raw profile type exif" | b"Raw profile type APP1" => Category::Other,
        _ => Category::Comment,
    }
}

/// Scrub a PNG: see the module docs.
pub(crate) fn scrub(input: &[u8]) -> Result<Planned, ScrubError> {
    let (chunks, trailing) = parse(input)?;
    let mut found = Found::default();
    let mut orientation = None;
    let mut big_endian = true;
    let mut size = None;
    let mut seen_idat = false;
    let mut kept: Vec<&[u8]> = Vec::with_capacity(chunks.len());
    for (i, chunk) in chunks.iter().enumerate() {
        let kind = &chunk.kind;
        // PNG 5.6: "IHDR shall be first".
        if (i == 0) != (kind == b"IHDR") {
            return Err(ScrubError::malformed(
                Format::Png,
                "IHDR is not the first chunk",
            ));
        }
        if kind == b"IHDR" {
            // PNG 11.2.2: width (4), height (4), bit depth, colour type, compression,
            // filter, interlace: 13 bytes.
            if chunk.data.len() != 13 {
                return Err(ScrubError::malformed(Format::Png, "IHDR is not 13 bytes"));
            }
            let mut r = Reader::new(chunk.data);
            size = Some((r.be_u32()?, r.be_u32()?));
        }
        seen_idat |= kind == b"IDAT";
        if NEEDED.contains(&kind) || KEEP.contains(&kind) {
            kept.push(chunk.raw);
            continue;
        }
        match kind {
            b"eXIf" => {
                let info = tiff::inspect(chunk.data);
                found.extend(info.categories);
                if orientation.is_none() {
                    orientation = info.orientation;
                    big_endian = info.big_endian;
                }
            }
            b"tEXt" | b"zTXt" | b"iTXt" => found.add(text_category(chunk.data)),
            // PNG 11.3.6.1: tIME is "the time of the last image modification".
            b"tIME" => found.add(Category::DateTime),
            // PNG 5.4: bit 5 of the first byte clear = critical, "the decoder ... shall
            // indicate ... that the image cannot be displayed" when it does not know one.
            [first, ..] if first & 0x20 == 0 => {
                return Err(ScrubError::unsupported(
                    Format::Png,
                    "unknown critical chunk",
                ));
            }
            _ => found.add(Category::Other),
        }
    }
    if !seen_idat {
        return Err(ScrubError::malformed(Format::Png, "no IDAT chunk"));
    }
    if !trailing.is_empty() {
        found.add(Category::TrailingData);
    }

    let minimal = orientation
        .filter(|&o| o != 1)
        .map(|o| exif_chunk(&tiff::minimal_exif(o, big_endian)));
    let mut out = Builder::new(input);
    out.put(SIGNATURE);
    let mut kept = kept.into_iter();
    // IHDR is first (checked above), then the minimal eXIf.
    out.put(kept.next().unwrap_or_default());
    if let Some(chunk) = minimal {
        out.put(&chunk);
    }
    for raw in kept {
        out.put(raw);
    }
    Ok(found.into_planned(
        Format::Png,
        size.unzip(),
        orientation,
        input.len(),
        out.finish(),
    ))
}

const EXIF_CHUNK_LEN: usize = 12 + tiff::MINIMAL_LEN;

/// An `eXIf` chunk around a TIFF structure: length, type, data, CRC.
fn exif_chunk(tiff: &[u8; tiff::MINIMAL_LEN]) -> [u8; EXIF_CHUNK_LEN] {
    let mut out = [0u8; EXIF_CHUNK_LEN];
    let len = u32::try_from(tiff.len()).unwrap_or(0).to_be_bytes();
    let parts: [&[u8]; 3] = [&len, b"eXIf", tiff];
    let mut at = 0;
    for part in parts {
        if let Some(dst) = out.get_mut(at..at + part.len()) {
            dst.copy_from_slice(part);
        }
        at += part.len();
    }
    // PNG 5.5: the CRC covers the type and data, not the length.
    let crc = crc32(out.get(4..at).unwrap_or_default()).to_be_bytes();
    if let Some(dst) = out.get_mut(at..) {
        dst.copy_from_slice(&crc);
    }
    out
}

/// PNG Annex D: CRC-32 with polynomial 0xEDB88320 (reflected), initial and final XOR all ones.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    // Evaluated at compile time, with n < 256: an out-of-range index would fail the
    // build, not a run, and n fits in u32.
    #[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        let [low, ..] = crc.to_le_bytes();
        let index = usize::from(low ^ byte);
        crc = TABLE.get(index).copied().unwrap_or(0) ^ (crc >> 8);
    }
    crc ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, hex};
    use Category::*;

    /// A chunk with its length and CRC.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[4..]);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        for c in chunks {
            out.extend_from_slice(c);
        }
        out
    }

    fn ihdr() -> Vec<u8> {
        chunk(b"IHDR", &hex("00000040 00000030 08 02 00 00 00"))
    }
    fn idat() -> Vec<u8> {
        chunk(b"IDAT", &hex("78DA 6300 0000 0100 01"))
    }
    fn iend() -> Vec<u8> {
        chunk(b"IEND", &[])
    }

    #[test]
    fn crc_matches_the_spec() {
        // The IEND chunk every PNG ends with: 00000000 49454E44 AE426082.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(iend(), hex("00000000 49454E44 AE426082"));
    }

    #[test]
    fn keeps_pixels_and_colour_drops_text_time_exif() {
        let colour = [
            chunk(b"gAMA", &hex("0000B18F")),
            chunk(b"iCCP", &hex("\"sRGB\" 00 00 789C")),
            chunk(b"pHYs", &hex("00000B13 00000B13 01")),
        ];
        let clean = png(&[
            ihdr(),
            colour[0].clone(),
            colour[1].clone(),
            idat(),
            idat(),
            iend(),
        ]);
        check(&clean, Ok((&clean, &[])));
        let exif = hex(
            "4D4D002A 00000008 0002 0112 0003 00000001 00060000 8825 0004 00000001 00000026 00000000
             0001 0001 0002 00000002 4E000000 00000000",
        );
        let minimal = chunk(b"eXIf", &crate::tiff::minimal_exif(6, true));
        assert_eq!(
            minimal,
            exif_chunk(&crate::tiff::minimal_exif(6, true)).to_vec()
        );
        let mut input = png(&[
            ihdr(),
            chunk(b"tEXt", b"Author\0Ada"),
            chunk(b"zTXt", b"Comment\0\0x"),
            chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0<x/>"),
            chunk(b"tIME", &hex("07E8 05 06 07 08 09")),
            colour[0].clone(),
            chunk(b"eXIf", &exif),
            colour[2].clone(),
            idat(),
            chunk(b"prVt", b"private"),
            iend(),
        ]);
        input.extend_from_slice(b"trailing");
        check(
            &input,
            Ok((
                &png(&[
                    ihdr(),
                    minimal,
                    colour[0].clone(),
                    colour[2].clone(),
                    idat(),
                    iend(),
                ]),
                &[
                    Location,
                    DateTime,
                    Author,
                    Comment,
                    TrailingData,
                    Xmp,
                    Other,
                ],
            )),
        );
        let out = crate::scrub(&input).unwrap();
        assert_eq!(out.report.orientation, Some(6));
        assert_eq!((out.report.width, out.report.height), (Some(64), Some(48)));
    }

    #[test]
    fn keeps_apng_chunks() {
        let apng = png(&[
            ihdr(),
            chunk(b"acTL", &hex("00000002 00000000")),
            chunk(b"fcTL", &[0; 26]),
            idat(),
            chunk(b"fcTL", &[0; 26]),
            chunk(b"fdAT", &hex("00000003 78DA")),
            chunk(b"tEXt", b"Title\0x"),
            iend(),
        ]);
        let expected: Vec<u8> = apng[..apng.len() - 12 - 19]
            .iter()
            .chain(&iend())
            .copied()
            .collect();
        check(&apng, Ok((&expected, &[Comment])));
    }

    #[test]
    fn fixture_image_data_is_byte_identical() {
        for (name, input, output) in crate::testing::scrubbed(Format::Png) {
            let (before, _) = parse(input).unwrap();
            let (after, _) = parse(&output).unwrap();
            let kept: Vec<_> = before
                .iter()
                .filter(|c| NEEDED.contains(&&c.kind) || KEEP.contains(&&c.kind))
                .collect();
            let after: Vec<_> = after.iter().filter(|c| &c.kind != b"eXIf").collect();
            assert!(kept.iter().any(|c| &c.kind == b"IDAT"), "{name}");
            assert_eq!(kept, after, "{name}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_parse() {
        let e = |what| Err(ScrubError::malformed(Format::Png, what));
        check(
            &png(&[ihdr(), idat()]),
            Err(ScrubError::Truncated {
                needed: 58,
                available: 54,
            }),
        );
        check(
            &png(&[idat(), ihdr(), iend()]),
            e("IHDR is not the first chunk"),
        );
        check(
            &png(&[ihdr(), ihdr(), idat(), iend()]),
            e("IHDR is not the first chunk"),
        );
        check(
            &png(&[chunk(b"IHDR", &[0; 12]), idat(), iend()]),
            e("IHDR is not 13 bytes"),
        );
        check(&png(&[ihdr(), iend()]), e("no IDAT chunk"));
        check(
            &png(&[ihdr(), chunk(b"a1cd", b""), idat(), iend()]),
            e("chunk type is not four letters"),
        );
        check(
            &png(&[ihdr(), chunk(b"ABCD", b""), idat(), iend()]),
            Err(ScrubError::unsupported(
                Format::Png,
                "unknown critical chunk",
            )),
        );
        check(
            &png(&[ihdr(), hex("80000000 \"IDAT\"")]),
            Err(ScrubError::TooLarge {
                format: Format::Png,
                what: "chunk",
                len: 1 << 31,
                max: (1 << 31) - 1,
            }),
        );
        // A length that runs past the end of the file.
        check(
            &png(&[ihdr(), hex("00001000 \"IDAT\" 00")]),
            Err(ScrubError::Truncated {
                needed: 4137,
                available: 42,
            }),
        );
    }
}
