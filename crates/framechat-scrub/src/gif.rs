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
use crate::plan::Builder;
use crate::report::{Category, Found};
use crate::{Format, Planned, ScrubError};

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
///
/// Never inlined, like `jpeg::scan_end`: this loop runs over all of an animation's image data,
/// and the engine should only have to optimise this small function for it.
#[inline(never)]
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

/// One block after the screen descriptor, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block<'a> {
    /// `None` for an image, else the extension label.
    pub(crate) label: Option<u8>,
    /// For an application extension: identifier and authentication code.
    pub(crate) application: &'a [u8],
    /// The whole block as in the input.
    pub(crate) raw: &'a [u8],
}

/// A parsed GIF: header with screen descriptor and global colour table, the blocks up
/// to the trailer, and what follows the trailer.
#[derive(Debug)]
pub(crate) struct Gif<'a> {
    pub(crate) header: &'a [u8],
    pub(crate) width: u16,
    pub(crate) height: u16,
    pub(crate) blocks: Vec<Block<'a>>,
    pub(crate) trailing: &'a [u8],
}

/// Split a GIF into blocks up to its trailer.
pub(crate) fn parse(input: &[u8]) -> Result<Gif<'_>, ScrubError> {
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
    let header = input.get(..r.pos()).unwrap_or_default();
    let mut blocks = Vec::new();
    loop {
        if blocks.len() >= MAX_BLOCKS {
            return Err(ScrubError::TooMany {
                format: Format::Gif,
                what: "blocks",
                max: MAX_BLOCKS as u64,
            });
        }
        let start = r.pos();
        let mut application: &[u8] = &[];
        let label = match r.u8()? {
            TRAILER => break,
            IMAGE => {
                // GIF89a 20: left, top, width, height (2 bytes each), packed fields;
                // 22: LZW minimum code size, then the image data sub-blocks.
                r.skip(8)?;
                let packed = r.u8()?;
                skip_colour_table(&mut r, packed)?;
                r.skip(1)?;
                skip_sub_blocks(&mut r)?;
                None
            }
            EXTENSION => {
                let label = r.u8()?;
                if label == APPLICATION {
                    // GIF89a 26: the first sub-block holds the 8-byte identifier and
                    // 3-byte authentication code.
                    let size = r.u8()?;
                    application = r.take(usize::from(size))?;
                }
                skip_sub_blocks(&mut r)?;
                Some(label)
            }
            _ => return Err(ScrubError::malformed(Format::Gif, "unknown block")),
        };
        let raw = input.get(start..r.pos()).unwrap_or_default();
        blocks.push(Block {
            label,
            application,
            raw,
        });
    }
    Ok(Gif {
        header,
        width,
        height,
        blocks,
        trailing: r.rest(),
    })
}

/// Scrub a GIF: see the module docs.
pub(crate) fn scrub(input: &[u8]) -> Result<Planned, ScrubError> {
    let gif = parse(input)?;
    let mut out = Builder::new(input);
    out.put(gif.header);
    let mut found = Found::default();
    let mut images = 0usize;
    for block in &gif.blocks {
        let verdict = match block.label {
            None => {
                images += 1;
                None
            }
            Some(GRAPHIC_CONTROL) => None,
            Some(COMMENT) => Some(Category::Comment),
            // Text drawn over the image; no browser renders it, so it is hidden text.
            Some(PLAIN_TEXT) => Some(Category::Comment),
            Some(APPLICATION) => application(block.application),
            Some(_) => Some(Category::Other),
        };
        match verdict {
            None => out.put(block.raw),
            Some(category) => found.add(category),
        }
    }
    out.put(&[TRAILER]);
    if images == 0 {
        return Err(ScrubError::malformed(Format::Gif, "no image"));
    }
    if !gif.trailing.is_empty() {
        found.add(Category::TrailingData);
    }
    Ok(found.into_planned(
        Format::Gif,
        (Some(u32::from(gif.width)), Some(u32::from(gif.height))),
        None,
        input.len(),
        out.finish(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, hex};
    use Category::*;

    /// Header, 2x1 screen, a 2-colour global table.
    const HEADER: &str = "\"GIF89a\" 0200 0100 80 00 00 000000 FFFFFF";
    const GCE: &str = "21F9 04 00 0A00 00 00";
    const IMAGE: &str = "2C 0000 0000 0200 0100 00 02 02 4C01 00";
    const LOOP: &str = "21FF 0B \"NETSCAPE2.0\" 03 01 0000 00";
    const TRAILER: &str = "3B";

    fn gif(parts: &[&str]) -> Vec<u8> {
        hex(&parts.join(" "))
    }

    #[test]
    fn keeps_frames_and_looping_drops_the_rest() {
        let clean = gif(&[HEADER, LOOP, GCE, IMAGE, GCE, IMAGE, TRAILER]);
        check(&clean, Ok((&clean, &[])));
        check(
            &gif(&[
                HEADER,
                LOOP,
                "21FE 03 \"abc\" 00", // comment
                // XMP: raw packet then the 258-byte "magic trailer" ending in 00 00 is
                // shortened here to a valid sub-block sequence.
                "21FF 0B \"XMP DataXMP\" 05 \"<x/>!\" 00",
                "21FF 0B \"MGK8BIM0000\" 01 00 00",
                "21FF 0B \"ANIMEXTS1.0\" 03 01 0000 00",
                GCE,
                "21 01 0C 000000000100010008080100 02 \"hi\" 00", // plain text
                IMAGE,
                "21 77 01 00 00", // unknown extension
                TRAILER,
                "\"after\"",
            ]),
            Ok((
                &gif(&[
                    HEADER,
                    LOOP,
                    "21FF 0B \"ANIMEXTS1.0\" 03 01 0000 00",
                    GCE,
                    IMAGE,
                    TRAILER,
                ]),
                &[Comment, TrailingData, Xmp, Iptc, Other],
            )),
        );
        // A local colour table inside an image descriptor.
        let local = gif(&[
            HEADER,
            "2C 0000 0000 0200 0100 80 000000 FF0000 02 02 4C01 00",
            TRAILER,
        ]);
        check(&local, Ok((&local, &[])));
    }

    /// Images and their graphic control extensions, in order.
    fn frames(bytes: &[u8]) -> Vec<Block<'_>> {
        let gif = parse(bytes).unwrap();
        gif.blocks
            .into_iter()
            .filter(|b| matches!(b.label, None | Some(GRAPHIC_CONTROL)))
            .collect()
    }

    #[test]
    fn fixture_image_data_is_byte_identical() {
        for (name, input, output) in crate::testing::scrubbed(Format::Gif) {
            let before = parse(input).unwrap();
            let after = parse(&output).unwrap();
            assert_eq!(before.header, after.header, "{name}");
            assert!(frames(input).len() > 2, "{name}");
            assert_eq!(frames(input), frames(&output), "{name}");
            assert!(
                after.blocks.iter().any(|b| b.application == b"NETSCAPE2.0"),
                "{name}"
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_parse() {
        let truncated = |needed, available| Err(ScrubError::Truncated { needed, available });
        check(&gif(&[HEADER, IMAGE]), truncated(35, 34));
        check(
            &gif(&[HEADER, "2C 0000 0000 0200 0100 00 02 05 4C01"]),
            truncated(36, 33),
        );
        check(&gif(&[HEADER, "2C 0000"]), truncated(28, 22));
        check(
            &gif(&[HEADER, "99", TRAILER]),
            Err(ScrubError::malformed(Format::Gif, "unknown block")),
        );
        check(
            &gif(&[HEADER, GCE, TRAILER]),
            Err(ScrubError::malformed(Format::Gif, "no image")),
        );
        check(
            &hex("\"GIF89a\" 0200 0100 87 00 00 000000"),
            truncated(781, 16),
        );
    }
}
