//! A small, bounded TIFF/EXIF IFD walker: it classifies what an EXIF block holds and reads
//! the Orientation, and builds the minimal EXIF that carries Orientation alone.
//!
//! The EXIF block is always dropped, so the walker never fails: whatever it cannot read is
//! reported as [`Category::Other`]. It follows at most [`MAX_IFDS`] IFDs, looks at most at
//! [`MAX_ENTRIES`] entries in each, and never visits an offset twice.

use crate::report::{Category, Found};

/// Most IFDs followed: IFD0, IFD1, Exif, GPS and Interoperability, with room to spare.
pub(crate) const MAX_IFDS: usize = 16;
/// Most entries looked at in one IFD; the rest are counted as [`Category::Other`].
pub(crate) const MAX_ENTRIES: usize = 1024;

/// TIFF 6.0 section 2: the byte order mark "II" (little endian) or "MM" (big endian),
/// then 42, then the offset of IFD0.
const TIFF_LE: [u8; 4] = *b"II*\0";
const TIFF_BE: [u8; 4] = *b"MM\0*";

/// EXIF 2.32 4.6.3: the IFD pointer tags.
const TAG_EXIF_IFD: u16 = 0x8769;
const TAG_GPS_IFD: u16 = 0x8825;
const TAG_INTEROP_IFD: u16 = 0xA005;
/// TIFF 6.0 section 8 / EXIF 4.6.4: Orientation, SHORT, 1..=8.
pub(crate) const TAG_ORIENTATION: u16 = 0x0112;

/// What an EXIF block holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExifInfo {
    pub(crate) categories: Vec<Category>,
    pub(crate) orientation: Option<u8>,
    pub(crate) big_endian: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ifd {
    /// IFD0: the main image.
    Main,
    /// IFD1 and any later IFD in the chain: the thumbnail.
    Thumbnail,
    Exif,
    Gps,
    Interop,
}

#[derive(Debug, Clone, Copy)]
struct Tiff<'a> {
    data: &'a [u8],
    big_endian: bool,
}

impl Tiff<'_> {
    fn u16_at(self, offset: usize) -> Option<u16> {
        let bytes: [u8; 2] = self
            .data
            .get(offset..offset.checked_add(2)?)?
            .try_into()
            .ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        })
    }

    fn u32_at(self, offset: usize) -> Option<u32> {
        let bytes: [u8; 4] = self
            .data
            .get(offset..offset.checked_add(4)?)?
            .try_into()
            .ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        })
    }
}

/// Classify a TIFF structure (the bytes after `Exif\0\0` in a JPEG APP1, a PNG `eXIf` or a
/// WebP `EXIF` chunk). Never fails: unreadable parts count as [`Category::Other`].
pub(crate) fn inspect(data: &[u8]) -> ExifInfo {
    let mut found = Found::default();
    let big_endian = match data.get(..4) {
        Some(h) if h == TIFF_BE => true,
        Some(h) if h == TIFF_LE => false,
        _ => {
            found.add(Category::Other);
            return ExifInfo {
                categories: found.into_sorted(),
                orientation: None,
                big_endian: true,
            };
        }
    };
    let tiff = Tiff { data, big_endian };
    let mut orientation = None;
    let mut visited: Vec<u32> = Vec::new();
    let mut queue: Vec<(u32, Ifd)> = Vec::new();
    match tiff.u32_at(4) {
        Some(first) => queue.push((first, Ifd::Main)),
        None => found.add(Category::Other),
    }
    while let Some((offset, kind)) = queue.pop() {
        if offset == 0 {
            continue; // "an offset of 0 means no further IFD" (TIFF 6.0 section 2)
        }
        if visited.contains(&offset) {
            found.add(Category::Other); // a loop: nothing more to learn from it
            continue;
        }
        if visited.len() >= MAX_IFDS {
            found.add(Category::Other);
            break;
        }
        visited.push(offset);
        let start = crate::bytes::usize_from(offset);
        // TIFF 6.0 section 2: an IFD is a 2-byte count, 12-byte entries, a 4-byte next offset.
        let Some(count) = tiff.u16_at(start) else {
            found.add(Category::Other);
            continue;
        };
        if kind == Ifd::Gps {
            found.add(Category::Location);
        }
        if kind == Ifd::Thumbnail && count > 0 {
            found.add(Category::Thumbnail);
        }
        let count = usize::from(count);
        if count > MAX_ENTRIES {
            found.add(Category::Other);
        }
        for i in 0..count.min(MAX_ENTRIES) {
            let Some(entry) = i
                .checked_mul(12)
                .and_then(|o| o.checked_add(start)?.checked_add(2))
            else {
                break;
            };
            let (Some(tag), Some(kind_of_value)) = (tiff.u16_at(entry), tiff.u16_at(entry + 2))
            else {
                found.add(Category::Other);
                break;
            };
            let value = entry + 8;
            match (kind, tag) {
                (Ifd::Main, TAG_ORIENTATION) => {
                    // Orientation is SHORT (type 3), count 1, stored in the value field.
                    orientation = tiff
                        .u16_at(value)
                        .filter(|_| kind_of_value == 3)
                        .and_then(|v| u8::try_from(v).ok())
                        .filter(|v| (1..=8).contains(v));
                }
                (Ifd::Main | Ifd::Thumbnail, TAG_EXIF_IFD) => {
                    queue.extend(tiff.u32_at(value).map(|o| (o, Ifd::Exif)));
                }
                (Ifd::Main | Ifd::Thumbnail, TAG_GPS_IFD) => {
                    found.add(Category::Location);
                    queue.extend(tiff.u32_at(value).map(|o| (o, Ifd::Gps)));
                }
                (Ifd::Exif, TAG_INTEROP_IFD) => {
                    found.add(Category::Other);
                    queue.extend(tiff.u32_at(value).map(|o| (o, Ifd::Interop)));
                }
                _ => found.add(classify(kind, tag)),
            }
        }
        if kind == Ifd::Main || kind == Ifd::Thumbnail {
            // TIFF 6.0: the next-IFD offset follows the entries; after IFD0 it is IFD1,
            // which EXIF 4.5.2 reserves for the thumbnail.
            let next = count
                .checked_mul(12)
                .and_then(|o| o.checked_add(start)?.checked_add(2))
                .and_then(|o| tiff.u32_at(o));
            match next {
                Some(next) => queue.push((next, Ifd::Thumbnail)),
                None => found.add(Category::Other),
            }
        }
    }
    ExifInfo {
        categories: found.into_sorted(),
        orientation,
        big_endian,
    }
}

/// The category of one tag (EXIF 2.32 tables 4 to 10, TIFF 6.0, and Microsoft's XP tags).
fn classify(ifd: Ifd, tag: u16) -> Category {
    match (ifd, tag) {
        (Ifd::Gps, _) => Category::Location,
        (Ifd::Thumbnail, _) => Category::Thumbnail,
        // Make, Model, Software, HostComputer; DNG UniqueCameraModel, CameraSerialNumber.
        (_, 0x010F | 0x0110 | 0x0131 | 0x013C | 0xC614 | 0xC62F) => Category::Device,
        // MakerNote; BodySerialNumber, LensSpecification, LensMake, LensModel, LensSerialNumber.
        (Ifd::Exif, 0x927C | 0xA431..=0xA435) => Category::Device,
        // DateTime; DateTimeOriginal, DateTimeDigitized, OffsetTime*, SubSecTime*.
        (_, 0x0132 | 0x9003 | 0x9004 | 0x9010..=0x9012 | 0x9290..=0x9292) => Category::DateTime,
        // Artist, Copyright, XPAuthor; CameraOwnerName.
        (_, 0x013B | 0x8298 | 0x9C9D | 0xA430) => Category::Author,
        // DocumentName, ImageDescription, XPTitle, XPComment, XPKeywords, XPSubject, UserComment.
        (_, 0x010D | 0x010E | 0x9C9B | 0x9C9C | 0x9C9E | 0x9C9F | 0x9286) => Category::Comment,
        // XMLPacket (TIFF/XMP).
        (_, 0x02BC) => Category::Xmp,
        // IPTC-NAA, Photoshop image resources.
        (_, 0x83BB | 0x8649) => Category::Iptc,
        _ => Category::Other,
    }
}

/// Length of [`minimal_exif`]'s output.
pub(crate) const MINIMAL_LEN: usize = 26;

/// A TIFF structure holding one IFD0 entry, Orientation, and nothing else.
///
/// ```text
/// MM 00 2A 00 00 00 08   header, IFD0 at offset 8
/// 00 01                  one entry
/// 01 12 00 03 00 00 00 01 00 0v 00 00   Orientation, SHORT, count 1, value v
/// 00 00 00 00            no next IFD
/// ```
pub(crate) fn minimal_exif(orientation: u8, big_endian: bool) -> [u8; MINIMAL_LEN] {
    let mut out = [0u8; MINIMAL_LEN];
    let fields: [(usize, u32, usize); 7] = [
        (4, 8, 4),                           // offset of IFD0
        (8, 1, 2),                           // entry count
        (10, u32::from(TAG_ORIENTATION), 2), // tag
        (12, 3, 2),                          // type SHORT
        (14, 1, 4),                          // count
        (18, u32::from(orientation), 2),     // value, left-justified in the 4-byte field
        (22, 0, 4),                          // next IFD: none
    ];
    let header = if big_endian { TIFF_BE } else { TIFF_LE };
    for (slot, byte) in out.iter_mut().zip(header) {
        *slot = byte;
    }
    for (at, value, width) in fields {
        let bytes = value.to_be_bytes();
        let le = value.to_le_bytes();
        let src = if big_endian {
            bytes.get(4 - width..).unwrap_or_default()
        } else {
            le.get(..width).unwrap_or_default()
        };
        if let Some(dst) = out.get_mut(at..at + width) {
            dst.copy_from_slice(src);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::hex;

    #[test]
    fn minimal_exif_is_byte_exact_in_both_orders() {
        assert_eq!(
            minimal_exif(6, true).to_vec(),
            hex("4D4D002A 00000008 0001 0112 0003 00000001 00060000 00000000")
        );
        assert_eq!(
            minimal_exif(8, false).to_vec(),
            hex("49492A00 08000000 0100 1201 0300 01000000 08000000 00000000")
        );
        for big_endian in [true, false] {
            let info = inspect(&minimal_exif(3, big_endian));
            assert_eq!(info.orientation, Some(3));
            assert_eq!(info.big_endian, big_endian);
            assert_eq!(info.categories, vec![]);
        }
    }

    /// A table of TIFF blocks and what the walker must make of them.
    fn check(input: &str, categories: &[Category], orientation: Option<u8>) {
        let info = inspect(&hex(input));
        assert_eq!(info.categories, categories, "{input}");
        assert_eq!(info.orientation, orientation, "{input}");
    }

    #[test]
    fn classifies_tags_and_pointers() {
        use Category::*;
        // IFD0: Make (ASCII "Ab\0"), GPS pointer -> IFD at 38 with one entry; next IFD 0.
        check(
            "4D4D002A 00000008 0002 010F 0002 00000003 41620000 8825 0004 00000001 00000026 00000000
             0001 0001 0002 00000002 4E000000 00000000",
            &[Location, Device],
            None,
        );
        // Little endian: Orientation 6 and DateTime, then IFD1 at 38 with one entry.
        check(
            "49492A00 08000000 0200 1201 0300 01000000 06000000 3201 0200 14000000 00000000 26000000
             0100 0102 0400 01000000 00000000 00000000",
            &[DateTime, Thumbnail],
            Some(6),
        );
        // Exif IFD with BodySerialNumber and a loop back to IFD0 via the Exif pointer.
        check(
            "4D4D002A 00000008 0001 8769 0004 00000001 0000001A 00000000
             0002 A431 0002 00000002 31000000 8769 0004 00000001 00000008 00000000",
            &[Device, Other],
            None,
        );
        // Orientation out of range or of the wrong type is ignored.
        check(
            "4D4D002A 00000008 0001 0112 0003 00000001 00090000 00000000",
            &[],
            None,
        );
        check(
            "4D4D002A 00000008 0001 0112 0004 00000001 00000006 00000000",
            &[],
            None,
        );
        // IFD0 loops to itself through its next pointer.
        check(
            "4D4D002A 00000008 0001 013B 0002 00000001 00000000 00000008",
            &[Author, Other],
            None,
        );
        // Not TIFF, truncated header, IFD0 past the end, entries past the end.
        check("00112233", &[Other], None);
        check("4D4D002A 0000", &[Other], None);
        check("4D4D002A 000000FF", &[Other], None);
        check("4D4D002A 00000008 0005 010F", &[Other], None);
    }
}
