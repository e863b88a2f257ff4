//! Lossless removal of identifying metadata from image and movie files, on `&[u8]`, without
//! decoding pixels or samples.
//!
//! [`scrub`] recognises a file by its magic bytes ([`Format::sniff`]), walks its container
//! (JPEG segments, PNG chunks, RIFF chunks, GIF blocks, ISO-BMFF boxes) with slices borrowed
//! from the input, and writes a copy that keeps only what a whitelist allows: the image data
//! and the colour information needed to show it. Everything else is dropped, and the
//! [`Report`] says what was found, in [`Category`]s a person understands.
//!
//! HEIC, AVIF and movies (MP4, MOV, M4V, 3GP) are the exception: their metadata is
//! overwritten in place (HEIF items emptied, movie boxes turned into zeroed `free` boxes), so
//! every offset in the file stays valid; the report's `removed_bytes` then counts the bytes
//! overwritten, and the output is as long as the input.
//!
//! | format | kept | removed |
//! |---|---|---|
//! | JPEG | SOI, APP0 JFIF (without thumbnail), APP2 ICC (all parts), APP14 Adobe, DQT, DHT, DAC, SOFn, DRI, DNL, SOS with its entropy-coded data and RSTn, EOI | APP1 EXIF and XMP, APP13 IPTC, COM, every other APPn (MPF, JUMBF…), bytes after EOI |
//! | PNG | IHDR, PLTE, IDAT, IEND, tRNS, cHRM, gAMA, iCCP, sBIT, sRGB, cICP, mDCV, cLLI, bKGD, hIST, pHYs, acTL, fcTL, fdAT | eXIf, tEXt, zTXt, iTXt, tIME, unknown ancillary chunks, bytes after IEND |
//! | WebP | VP8X (flags rewritten), ICCP, ANIM, ANMF (ALPH/VP8/VP8L inside), ALPH, VP8, VP8L | EXIF, XMP, unknown chunks, bytes after the RIFF |
//! | GIF | header, colour tables, graphic controls, images, NETSCAPE2.0/ANIMEXTS1.0 | comments, plain text, other application extensions (XMP, ICC, IPTC), bytes after the trailer |
//! | HEIC/AVIF | everything, in place | Exif and XMP items' bytes (zeroed) |
//! | MP4/MOV | ftyp, moov (mvhd, trak, mvex), mdat, moof, mfra, sidx, every sample of audio, video and subtitle tracks, `tkhd` matrix | `udta` (©xyz, ©mak, ©mod, ©swr, ©day, loci…), `meta` (keys/ilst: ISO6709 location, make, model, software, creation date), XMP `uuid`, `prft`, unknown boxes; creation and modification times zeroed; timed-metadata tracks (mebx, gpmd, camm) with their samples |
//!
//! Orientation survives: when the EXIF Orientation was not 1, JPEG, PNG and WebP outputs
//! carry a minimal EXIF holding only that tag (HEIF rotates with `irot`, movies with the
//! `tkhd` matrix; both stay).
//!
//! ```
//! use framechat_scrub::{scrub, Category, Format, ScrubError};
//!
//! // SOI, a COM segment "hi", a tiny frame header, one scan of entropy data, EOI.
//! let jpeg = [
//!     0xFF, 0xD8, // SOI
//!     0xFF, 0xFE, 0x00, 0x04, b'h', b'i', // COM
//!     0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, // SOF0 1x1
//!     0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, // SOS
//!     0x12, 0x34, // entropy-coded data
//!     0xFF, 0xD9, // EOI
//! ];
//! let out = scrub(&jpeg)?;
//! assert_eq!(out.report.format, Format::Jpeg);
//! assert_eq!(out.report.removed, vec![Category::Comment]);
//! assert_eq!(out.report.width, Some(1));
//! assert_eq!(out.bytes.len(), jpeg.len() - 6);
//!
//! assert_eq!(scrub(b"just text"), Err(ScrubError::NotAnImage));
//! # Ok::<(), ScrubError>(())
//! ```
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bmff;
mod bytes;
mod error;
mod format;
mod gif;
mod jpeg;
mod plan;
mod png;
mod report;
mod sort;
mod tiff;
mod webp;

pub use error::ScrubError;
pub use format::{Format, SNIFF_LEN, sniff_mime};
pub use plan::{Piece, Plan, Planned};
pub use report::{Category, Report};

/// A scrubbed copy of an image and what was taken out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scrubbed {
    /// The file to send: the same format as the input, metadata removed.
    pub bytes: Vec<u8>,
    /// What the input held and what was removed.
    pub report: Report,
}

/// Remove identifying metadata from an image file, keeping its pixels byte for byte.
///
/// The format is decided from the magic bytes only. The output is the same format, with
/// the image data and colour information copied verbatim; see the crate docs for what
/// each format keeps.
///
/// # Errors
/// [`ScrubError::NotAnImage`] when the magic bytes are not a format this crate scrubs: the
/// caller may send the file as a plain attachment. Any other error means the bytes looked
/// like an image but could not be parsed safely; the caller must not send them silently.
pub fn scrub(input: &[u8]) -> Result<Scrubbed, ScrubError> {
    let Planned { plan, report } = plan(input)?;
    Ok(Scrubbed {
        bytes: plan.apply(input),
        report,
    })
}

/// What [`scrub`] does, without the copy: how to write the scrubbed file from `input`.
///
/// For a photo, the plan is the image data as one range of the input and a few small pieces
/// around it, so the caller can send the file from the bytes it already has (in the browser,
/// slices of the picked `File`) and the pixels are never copied.
///
/// ```
/// use framechat_scrub::{Piece, plan, scrub};
///
/// let jpeg = [
///     0xFF, 0xD8, // SOI
///     0xFF, 0xFE, 0x00, 0x04, b'h', b'i', // COM
///     0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, // SOF0
///     0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00, 0x12, 0x34, // SOS, data
///     0xFF, 0xD9, // EOI
///     b'e', b'x', b't', b'r', b'a', // after the end
/// ];
/// let planned = plan(&jpeg)?;
/// assert_eq!(planned.plan.pieces(), [Piece::Keep(0..2), Piece::Keep(8..35)]);
/// assert_eq!(planned.plan.apply(&jpeg), scrub(&jpeg)?.bytes);
/// # Ok::<(), framechat_scrub::ScrubError>(())
/// ```
///
/// # Errors
/// As [`scrub`].
pub fn plan(input: &[u8]) -> Result<Planned, ScrubError> {
    let format = Format::sniff(input).ok_or(ScrubError::NotAnImage)?;
    match format {
        Format::Jpeg => jpeg::scrub(input),
        Format::Png => png::scrub(input),
        Format::Webp => webp::scrub(input),
        Format::Gif => gif::scrub(input),
        Format::Heic | Format::Avif => bmff::scrub_heif(input, format),
        Format::Mp4 | Format::Mov => bmff::scrub_movie(input, format),
    }
}

/// Helpers for the inline tests: hex vectors and the table-driven `check`.
#[cfg(test)]
pub(crate) mod testing {
    use crate::{Category, ScrubError, scrub};

    /// An ISO-BMFF box: 32-bit size, type, payload.
    pub(crate) fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(payload.len() + 8)
            .unwrap()
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    /// Bytes from hex digits; whitespace is ignored, and `"text"` in quotes is taken as ASCII.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, part) in s.split('"').enumerate() {
            if i % 2 == 1 {
                out.extend_from_slice(part.as_bytes());
                continue;
            }
            let digits: String = part.split_whitespace().collect();
            assert!(digits.len() % 2 == 0, "odd hex: {part}");
            for pair in digits.as_bytes().chunks(2) {
                let pair = std::str::from_utf8(pair).unwrap();
                out.push(u8::from_str_radix(pair, 16).unwrap());
            }
        }
        out
    }

    /// Scrub `input` and compare with `expected`: the output bytes and removed categories,
    /// or the error. A successful output must also scrub to itself with nothing removed.
    #[track_caller]
    pub(crate) fn check(input: &[u8], expected: Result<(&[u8], &[Category]), ScrubError>) {
        let got = scrub(input);
        match (&got, expected) {
            (Ok(out), Ok((bytes, removed))) => {
                assert_eq!(
                    hexdump(&out.bytes),
                    hexdump(bytes),
                    "output of {}",
                    hexdump(input)
                );
                assert_eq!(
                    out.report.removed,
                    removed,
                    "removed from {}",
                    hexdump(input)
                );
                let again = scrub(&out.bytes).unwrap();
                assert_eq!(again.bytes, out.bytes, "not idempotent");
                assert_eq!(
                    again.report.removed,
                    vec![],
                    "second pass removed something"
                );
                assert_eq!(again.report.removed_bytes, 0);
            }
            (Err(e), Err(expected)) => assert_eq!(*e, expected, "error for {}", hexdump(input)),
            (got, expected) => panic!("for {}: got {got:?}, expected {expected:?}", hexdump(input)),
        }
    }

    /// The committed fixtures, by name.
    pub(crate) const FIXTURES: [(&str, &[u8]); 11] = [
        (
            "jpeg_full.jpg",
            include_bytes!("../tests/fixtures/jpeg_full.jpg"),
        ),
        (
            "jpeg_progressive.jpg",
            include_bytes!("../tests/fixtures/jpeg_progressive.jpg"),
        ),
        (
            "jpeg_clean.jpg",
            include_bytes!("../tests/fixtures/jpeg_clean.jpg"),
        ),
        (
            "png_full.png",
            include_bytes!("../tests/fixtures/png_full.png"),
        ),
        ("apng.png", include_bytes!("../tests/fixtures/apng.png")),
        (
            "webp_lossy.webp",
            include_bytes!("../tests/fixtures/webp_lossy.webp"),
        ),
        (
            "webp_alpha.webp",
            include_bytes!("../tests/fixtures/webp_alpha.webp"),
        ),
        (
            "webp_anim.webp",
            include_bytes!("../tests/fixtures/webp_anim.webp"),
        ),
        (
            "gif_anim.gif",
            include_bytes!("../tests/fixtures/gif_anim.gif"),
        ),
        (
            "heic_meta.heic",
            include_bytes!("../tests/fixtures/heic_meta.heic"),
        ),
        (
            "avif_meta.avif",
            include_bytes!("../tests/fixtures/avif_meta.avif"),
        ),
    ];

    /// The fixtures of one format, scrubbed: (name, input, output).
    pub(crate) fn scrubbed(format: crate::Format) -> Vec<(&'static str, &'static [u8], Vec<u8>)> {
        let found: Vec<_> = FIXTURES
            .iter()
            .filter(|(_, bytes)| crate::Format::sniff(bytes) == Some(format))
            .map(|&(name, bytes)| (name, bytes, scrub(bytes).unwrap().bytes))
            .collect();
        assert!(!found.is_empty(), "no {format} fixture");
        found
    }

    pub(crate) fn hexdump(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}
