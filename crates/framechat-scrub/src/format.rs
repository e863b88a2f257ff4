//! Image formats and MIME types, decided from magic bytes only.

use std::fmt;

use serde::Serialize;

/// An image format [`scrub`](crate::scrub) understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JPEG (ITU T.81), JFIF or EXIF flavoured.
    Jpeg,
    /// PNG, including APNG.
    Png,
    /// WebP in its RIFF container: lossy, lossless, alpha, animated.
    Webp,
    /// GIF87a or GIF89a, including animated GIFs.
    Gif,
    /// HEIF with HEVC images (ISO/IEC 23008-12).
    Heic,
    /// AVIF: HEIF with AV1 images.
    Avif,
    /// An ISO-BMFF movie that is not QuickTime: MP4, M4V, 3GP, M4A (ISO/IEC 14496-14).
    Mp4,
    /// A QuickTime movie (`.mov`): `ftyp` with major brand `qt  `, or an older file that
    /// starts with a `moov`, `mdat`, `wide`, `free`, `skip` or `pnot` atom.
    Mov,
}

/// `ftyp` brands of HEIF files whose images are HEVC (ISO/IEC 23008-12 Annex B) or
/// unspecified (`mif1`, `msf1`: the structural brands, treated as HEIC unless an AVIF
/// brand is also listed).
const HEIC_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];
/// `ftyp` brands of AVIF files (AV1 Image File Format, section 9).
const AVIF_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];
/// Most compatible brands looked at: a real `ftyp` lists a handful.
const MAX_BRANDS: usize = 64;

/// How many leading bytes [`Format::sniff`] and [`sniff_mime`] look at, at most: an ISO-BMFF
/// `ftyp` box with its major brand and [`MAX_BRANDS`] compatible brands. A caller that
/// sniffs a file before reading it whole should read this much: a HEIF file may name its
/// HEIC or AVIF brand well after the first 32 bytes.
pub const SNIFF_LEN: usize = 16 + 4 * MAX_BRANDS;

impl Format {
    /// Recognise an image from its first bytes; `None` when it is not one [`scrub`](crate::scrub) handles.
    ///
    /// ```
    /// use framechat_scrub::Format;
    /// assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Format::Png));
    /// assert_eq!(Format::sniff(b"GIF89a"), Some(Format::Gif));
    /// assert_eq!(Format::sniff(b"%PDF-1.7"), None);
    /// ```
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        // T.81 B.1.1.3: a marker is X'FF' and a code; the file starts with SOI (X'FFD8'),
        // and every JPEG writer follows it with another marker.
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(Format::Jpeg);
        }
        // PNG spec 5.2: the signature is 137 80 78 71 13 10 26 10.
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(Format::Png);
        }
        // GIF89a spec 17: "GIF" followed by the version "87a" or "89a".
        if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            return Some(Format::Gif);
        }
        // WebP container spec: 'RIFF', a 32-bit size, then 'WEBP'.
        if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            return Some(Format::Webp);
        }
        sniff_ftyp(bytes).or_else(|| sniff_old_quicktime(bytes))
    }

    /// Whether this is a movie ([`Format::Mp4`] or [`Format::Mov`]) rather than an image.
    #[must_use]
    pub fn is_video(self) -> bool {
        matches!(self, Format::Mp4 | Format::Mov)
    }

    /// The MIME type of the format, for example `"image/jpeg"`.
    #[must_use]
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
            Format::Heic => "image/heic",
            Format::Avif => "image/avif",
            Format::Mp4 => "video/mp4",
            Format::Mov => "video/quicktime",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
            Format::Gif => "GIF",
            Format::Heic => "HEIC",
            Format::Avif => "AVIF",
            Format::Mp4 => "MP4",
            Format::Mov => "QuickTime",
        })
    }
}

/// The brands of a leading ISO-BMFF `ftyp` box: major brand first, then the compatible ones.
///
/// ISO/IEC 14496-12 4.3: `ftyp` is `size(32) 'ftyp' major_brand(32) minor_version(32)
/// compatible_brands[]`, and comes first in the file.
fn ftyp_brands(bytes: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    if bytes.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let size = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    let size = usize::try_from(size).ok()?;
    if size < 16 {
        return None;
    }
    let major = bytes.get(8..12)?;
    let compatible = bytes.get(16..size.min(bytes.len()))?;
    Some(std::iter::once(major).chain(compatible.chunks_exact(4).take(MAX_BRANDS)))
}

/// Major brands of ISO-BMFF files that are neither HEIF nor movies: Canon CR3 raw photos
/// keep their EXIF in `uuid` boxes of `moov`, which the movie scrubber would drop.
const NOT_MOVIE_BRANDS: [&[u8; 4]; 1] = [b"crx "];

fn sniff_ftyp(bytes: &[u8]) -> Option<Format> {
    let mut heic = false;
    for brand in ftyp_brands(bytes)? {
        if AVIF_BRANDS.iter().any(|b| b.as_slice() == brand) {
            return Some(Format::Avif);
        }
        heic |= HEIC_BRANDS.iter().any(|b| b.as_slice() == brand);
    }
    if heic {
        return Some(Format::Heic);
    }
    // 14496-12 4.3 / QuickTime File Format: any other `ftyp` file is a movie; QuickTime
    // names `qt  ` as its major brand.
    let major = bytes.get(8..12)?;
    if NOT_MOVIE_BRANDS.iter().any(|b| b.as_slice() == major) {
        return None;
    }
    Some(if major == b"qt  " {
        Format::Mov
    } else {
        Format::Mp4
    })
}

/// QuickTime files written before `ftyp` existed (and some cameras still) start with one of
/// these atoms (exiftool's QuickTime reader accepts the same list).
fn sniff_old_quicktime(bytes: &[u8]) -> Option<Format> {
    const FIRST_ATOMS: [&[u8; 4]; 6] = [b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"];
    let size = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    let kind = bytes.get(4..8)?;
    // size 0 (to the end) and 1 (64-bit size follows) are valid only for mdat here.
    let sized = size >= 8 || (kind == b"mdat" && size <= 1);
    (sized && FIRST_ATOMS.iter().any(|a| a.as_slice() == kind)).then_some(Format::Mov)
}

/// Decide a MIME type from magic bytes only: the images [`Format::sniff`] knows and a few
/// common other files.
///
/// `None` means unknown; the caller then uses `application/octet-stream`. The file name
/// and what the browser claims are never consulted.
///
/// ```
/// use framechat_scrub::sniff_mime;
/// assert_eq!(sniff_mime(b"\xFF\xD8\xFF\xE0"), Some("image/jpeg"));
/// assert_eq!(sniff_mime(b"%PDF-1.4\n"), Some("application/pdf"));
/// assert_eq!(sniff_mime(b"hello"), None);
/// ```
#[must_use]
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    // MPEG-4 audio is scrubbed as an MP4 movie, but a browser should know it is sound. By
    // the major brand only: iTunes videos list M4A among their compatible brands.
    if ftyp_brands(bytes).is_some_and(|mut brands| brands.next() == Some(b"M4A ")) {
        return Some("audio/mp4");
    }
    if let Some(format) = Format::sniff(bytes) {
        return Some(format.mime());
    }
    const MAGIC: [(&[u8], &str); 9] = [
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"PK\x05\x06", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"7z\xBC\xAF\x27\x1C", "application/x-7z-compressed"),
        (b"OggS", "audio/ogg"),
        (b"ID3", "audio/mpeg"),
        (b"II*\x00", "image/tiff"),
        (b"MM\x00*", "image/tiff"),
    ];
    if let Some((_, mime)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(mime);
    }
    if bytes.starts_with(b"RIFF") {
        return match bytes.get(8..12) {
            Some(b"WAVE") => Some("audio/wav"),
            Some(b"AVI ") => Some("video/x-msvideo"),
            _ => None,
        };
    }
    if bytes.starts_with(b"\x1A\x45\xDF\xA3") {
        // EBML header: Matroska or WebM; WebM is what browsers play.
        return Some("video/webm");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::hex;

    #[test]
    fn a_brand_named_late_is_within_sniff_len() {
        // An ftyp whose major brand says nothing and whose HEIC brand is the 60th.
        let mut ftyp = Vec::new();
        let brands = 60;
        ftyp.extend_from_slice(&u32::try_from(16 + 4 * brands).unwrap().to_be_bytes());
        ftyp.extend_from_slice(b"ftypiso8\0\0\0\0");
        for _ in 1..brands {
            ftyp.extend_from_slice(b"iso8");
        }
        ftyp.extend_from_slice(b"heic");
        ftyp.resize(1000, 0);
        // From 32 bytes it looks like an MP4 video, and would be sent unscrubbed.
        assert_eq!(sniff_mime(&ftyp[..32]), Some("video/mp4"));
        assert_eq!(sniff_mime(&ftyp[..SNIFF_LEN]), Some("image/heic"));
        assert_eq!(Format::sniff(&ftyp), Some(Format::Heic));
    }

    #[test]
    fn sniffs_magic_bytes_only() {
        let table: [(&str, Option<Format>, Option<&str>); 23] = [
            ("FFD8FFE0", Some(Format::Jpeg), Some("image/jpeg")),
            ("FFD8", None, None),
            ("89504E470D0A1A0A", Some(Format::Png), Some("image/png")),
            ("\"GIF87a\"", Some(Format::Gif), Some("image/gif")),
            (
                "\"RIFF\" 00000000 \"WEBP\"",
                Some(Format::Webp),
                Some("image/webp"),
            ),
            ("\"RIFF\" 00000000 \"WAVE\"", None, Some("audio/wav")),
            (
                "00000018 \"ftypheic\" 00000000 \"mif1heic\"",
                Some(Format::Heic),
                Some("image/heic"),
            ),
            (
                "00000018 \"ftypmif1\" 00000000 \"mif1avif\"",
                Some(Format::Avif),
                Some("image/avif"),
            ),
            (
                "0000001C \"ftypavis\" 00000000 \"avismsf1miaf\"",
                Some(Format::Avif),
                Some("image/avif"),
            ),
            (
                "00000018 \"ftypisom\" 00000000 \"isomiso2\"",
                Some(Format::Mp4),
                Some("video/mp4"),
            ),
            (
                "00000014 \"ftypqt  \" 00000000 \"qt  \"",
                Some(Format::Mov),
                Some("video/quicktime"),
            ),
            // A brand beyond the ftyp box's size does not count.
            (
                "00000010 \"ftypisom\" 00000000 \"heic\"",
                Some(Format::Mp4),
                Some("video/mp4"),
            ),
            (
                "00000018 \"ftypM4A \" 00000000 \"M4A isom\"",
                Some(Format::Mp4),
                Some("audio/mp4"),
            ),
            (
                "00000018 \"ftyp3gp4\" 00000000 \"3gp4isom\"",
                Some(Format::Mp4),
                Some("video/mp4"),
            ),
            (
                "00000018 \"ftypM4V \" 00000000 \"M4V M4A \"",
                Some(Format::Mp4),
                Some("video/mp4"),
            ),
            // Canon CR3 raw photos are ISO-BMFF too, but not movies.
            ("00000018 \"ftypcrx \" 00000001 \"crx isom\"", None, None),
            // QuickTime without ftyp; a too-small first atom is not one.
            (
                "00000008 \"wide\" 00000010 \"mdat\"",
                Some(Format::Mov),
                Some("video/quicktime"),
            ),
            (
                "00000000 \"mdat\"",
                Some(Format::Mov),
                Some("video/quicktime"),
            ),
            ("00000004 \"free\"", None, None),
            ("\"%PDF-1.7\"", None, Some("application/pdf")),
            ("504B0304", None, Some("application/zip")),
            ("\"<svg xmlns=\"", None, None),
            ("", None, None),
        ];
        for (input, format, mime) in table {
            let bytes = hex(input);
            assert_eq!(Format::sniff(&bytes), format, "{input}");
            assert_eq!(sniff_mime(&bytes), mime, "{input}");
        }
    }

    #[test]
    fn names_and_serde_forms() {
        assert_eq!(serde_json::to_string(&Format::Webp).unwrap(), "\"webp\"");
        assert_eq!(Format::Heic.to_string(), "HEIC");
        assert_eq!(
            crate::ScrubError::malformed(Format::Png, "no IDAT chunk").to_string(),
            "malformed PNG file: no IDAT chunk"
        );
        assert_eq!(
            crate::ScrubError::Truncated {
                needed: 10,
                available: 4
            }
            .to_string(),
            "truncated image: needs 10 bytes, only 4 available"
        );
    }
}
