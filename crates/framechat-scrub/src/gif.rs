//! GIF (GIF89a specification): blocks walked in order, kept by whitelist.
//!
//! ```text
//! 'GIF89a' | logical screen descriptor (7) | global colour table?
//! 21 label  sub-blocks... 00             extension (F9 graphic control, FE comment,
//!                                        FF application, 01 plain text)
//! 2C descriptor (9) table? lzw-size sub-blocks... 00     image
//! 3B                                     trailer; anything after it is not part of the GIF
//! ```
//!
//! Kept: header, screen descriptor, colour tables, graphic control extensions, images,
//! and the looping application extensions NETSCAPE2.0 and ANIMEXTS1.0. Dropped: comment
//! and plain text extensions, every other application extension (XMP rides in
//! "XMP DataXMP", IPTC in ImageMagick's "MGK8BIM0000"), unknown extensions, and what
//! follows the trailer. A file without a trailer is refused as truncated.

use crate::bytes::Reader;
use crate::report::{Category, Found};
use crate::{Format, Report, ScrubError, Scrubbed};

/// Most blocks accepted: images, extensions and their graphic controls.
pub(crate) const MAX_BLOCKS: usize = 256 * 1024;

const EXTENSION: u8 = 0x21;
const IMAGE: u8 = 0x2C;
const TRAILER: u8 = 0x3B;
const GRAPHIC_CONTROL: u8 = 0xF9;
const COMMENT: u8 = 0xFE;
const PLAIN_TEXT: u8 = 0x01;
const APPLICATION: u8 = 0xFF;

/// GIF89a 15: "Data Sub-blocks ... a Block Size field [1 byte] ... followed by the data";
/// a sequence ends with the Block Terminator, a zero-size sub-block.
fn skip_sub_blocks(r: &mut Reader<'_>) -> Result<(), ScrubError> {
    loop {
        let size = r.u8()?;
        if size == 0 {
            return Ok(());
        }
        r.skip(usize::from(size))?;
    }
}

/// GIF89a 18/19: a colour table of 3 × 2^(N+1) bytes, when the packed field's top bit is set.
fn skip_colour_table(r: &mut Reader<'_>, packed: u8) -> Result<(), ScrubError> {
    if packed & 0x80 != 0 {
        r.skip(3 << ((packed & 0x07) + 1))?;
    }
    Ok(())
}

/// What an application extension (GIF89a 26) with this identifier and authentication code is.
fn application(id: &[u8]) -> Option<Category> {
    match id {
        // Looping: Netscape's and the older AnimExts; all a viewer needs to animate.
        b"NETSCAPE2.0" | b"ANIMEXTS1.0" => None,
        // XMP Specification Part 3, 1.1.2: "XMP DataXMP".
        b"XMP DataXMP" => Some(Category::Xmp),
        // ImageMagick's Photoshop resources and IPTC profiles.
        b"MGK8BIM0000" | b"MGKIPTC0000" => Some(Category::Iptc),
        _ => Some(Category::Other),
    }
}

/// Scrub a GIF: see the module docs.
pub(crate) fn scrub(input: &[u8]) -> Result<Scrubbed, ScrubError> {
    let mut r = Reader::new(input);
    let signature = r.array::<6>()?;
    if &signature != b"GIF87a" && &signature != b"GIF89a" {
        return Err(ScrubError::malformed(Format::Gif, "bad signature"));
    }
    // GIF89a 18: logical screen width, height, packed fields, background, aspect ratio.
    let width = r.le_u16()?;
    let height = r.le_u16()?;
    let packed = r.u8()?;
    r.skip(2)?;
    skip_colour_table(&mut r, packed)?;

    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(input.get(..r.pos()).unwrap_or_default());
    let mut found = Found::default();
    let mut images = 0usize;
    let mut blocks = 0usize;
    loop {
        blocks += 1;
        if blocks > MAX_BLOCKS {
            return Err(ScrubError::TooMany {
                format: Format::Gif,
                what: "blocks",
                max: MAX_BLOCKS as u64,
            });
        }
        let start = r.pos();
        let keep = match r.u8()? {
            TRAILER => {
                out.push(TRAILER);
                break;
            }
            IMAGE => {
                // GIF89a 20: left, top, width, height (2 bytes each), packed fields;
                // 22: LZW minimum code size, then the image data sub-blocks.
                r.skip(8)?;
                let packed = r.u8()?;
                skip_colour_table(&mut r, packed)?;
                r.skip(1)?;
                skip_sub_blocks(&mut r)?;
                images += 1;
                true
            }
            EXTENSION => {
                let label = r.u8()?;
                let verdict = match label {
                    GRAPHIC_CONTROL => None,
                    COMMENT => Some(Category::Comment),
                    // Text drawn over the image; no browser renders it, so it is hidden text.
                    PLAIN_TEXT => Some(Category::Comment),
                    APPLICATION => {
                        // GIF89a 26: the first sub-block holds the 8-byte identifier and
                        // 3-byte authentication code.
                        let size = r.u8()?;
                        let id = r.take(usize::from(size))?;
                        application(id)
                    }
                    _ => Some(Category::Other),
                };
                skip_sub_blocks(&mut r)?;
                match verdict {
                    None => true,
                    Some(category) => {
                        found.add(category);
                        false
                    }
                }
            }
            _ => return Err(ScrubError::malformed(Format::Gif, "unknown block")),
        };
        if keep {
            out.extend_from_slice(input.get(start..r.pos()).unwrap_or_default());
        }
    }
    if images == 0 {
        return Err(ScrubError::malformed(Format::Gif, "no image"));
    }
    if !r.is_empty() {
        found.add(Category::TrailingData);
    }
    Ok(Scrubbed {
        report: Report {
            format: Format::Gif,
            width: Some(u32::from(width)),
            height: Some(u32::from(height)),
            orientation: None,
            removed: found.into_sorted(),
            removed_bytes: (input.len() as u64).saturating_sub(out.len() as u64),
        },
        bytes: out,
    })
}
