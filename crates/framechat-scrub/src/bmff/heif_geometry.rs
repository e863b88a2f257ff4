//! The displayed size and orientation of a HEIF file's primary item, from its properties.

use crate::Format;
use crate::bytes::Reader;

use super::{BoxRef, MAX_BOXES, boxes, find, full_box};

/// How the primary item is shown: its size after the clean aperture (`clap`), before
/// rotation, and its rotation and mirroring (`irot`, `imir`) as the equivalent EXIF
/// orientation. HEIF readers apply these properties and ignore the Exif item's Orientation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) size: Option<(u32, u32)>,
    pub(crate) orientation: Option<u8>,
}

/// The primary item's properties in the order `ipma` lists them (23008-12 6.5.3 `ispe`,
/// 6.5.9 `clap`, 6.5.10 `irot`, 6.5.12 `imir`; "transformative properties are applied in
/// the order of their appearance").
pub(crate) fn primary_geometry(input: &[u8], meta: &[BoxRef], format: Format) -> Option<Geometry> {
    let (mut r, version, _) = full_box(input, find(meta, b"pitm")?).ok()?;
    let primary = if version == 0 {
        u32::from(r.be_u16().ok()?)
    } else {
        r.be_u32().ok()?
    };
    let iprp = find(meta, b"iprp")?;
    let iprp = boxes(input, iprp.payload, iprp.end, format).ok()?;
    let ipco = find(&iprp, b"ipco")?;
    let properties = boxes(input, ipco.payload, ipco.end, format).ok()?;
    let (mut r, version, flags) = full_box(input, find(&iprp, b"ipma")?).ok()?;
    // 14496-12 8.11.14 / 23008-12 9.3: entry_count, then per item its ID and a list of
    // 1-based property indices (7 or 15 bits, the top bit marks "essential").
    let entries = r.be_u32().ok()?;
    let mut geometry = Geometry::default();
    // The transform so far: mirror left-right first when `mirrored`, then turn clockwise
    // by `turns` quarter turns.
    let (mut turns, mut mirrored, mut transformed) = (0u8, false, false);
    for _ in 0..entries.min(u32::try_from(MAX_BOXES).unwrap_or(u32::MAX)) {
        let id = if version < 1 {
            u32::from(r.be_u16().ok()?)
        } else {
            r.be_u32().ok()?
        };
        let count = r.u8().ok()?;
        for _ in 0..count {
            let index = if flags & 1 == 1 {
                r.be_u16().ok()? & 0x7FFF
            } else {
                u16::from(r.u8().ok()? & 0x7F)
            };
            if id != primary || index == 0 {
                continue;
            }
            let Some(property) = properties.get(usize::from(index) - 1) else {
                continue;
            };
            let data = input
                .get(property.payload..property.end)
                .unwrap_or_default();
            let mut p = Reader::new(data);
            match &property.kind {
                // ispe is a FullBox: version and flags, image_width, image_height.
                b"ispe" if geometry.size.is_none() => {
                    p.skip(4).ok()?;
                    geometry.size = Some((p.be_u32().ok()?, p.be_u32().ok()?));
                }
                // clap: width N/D, height N/D, horizontal and vertical offsets N/D.
                b"clap" => {
                    let (wn, wd, hn, hd) = (
                        p.be_u32().ok()?,
                        p.be_u32().ok()?,
                        p.be_u32().ok()?,
                        p.be_u32().ok()?,
                    );
                    if let (Some(w), Some(h)) = (wn.checked_div(wd), hn.checked_div(hd)) {
                        geometry.size = Some((w, h));
                    }
                }
                // irot: 6 reserved bits, 2 bits angle; "angle * 90 specifies the angle (in
                // anti-clockwise direction) in units of degrees".
                b"irot" => {
                    let angle = p.u8().ok()? & 0x03;
                    turns = (turns + 4 - angle) % 4;
                    transformed = true;
                }
                // imir: 7 reserved bits, 1 bit axis; 0 = "vertical axis" (left-right
                // mirror), 1 = horizontal axis (top-bottom, i.e. left-right then a half turn).
                b"imir" => {
                    let axis = p.u8().ok()? & 0x01;
                    turns = (4 - turns + 2 * axis) % 4;
                    mirrored = !mirrored;
                    transformed = true;
                }
                _ => {}
            }
        }
    }
    if transformed {
        // EXIF 2.32 Orientation: 1 normal, 2 mirrored, 3 half turn, 4 mirrored + half turn,
        // 5 mirrored + 3/4 turn clockwise, 6 1/4 turn, 7 mirrored + 1/4 turn, 8 3/4 turn.
        geometry.orientation = Some(match (turns, mirrored) {
            (0, false) => 1,
            (0, true) => 2,
            (2, false) => 3,
            (2, true) => 4,
            (3, true) => 5,
            (1, false) => 6,
            (1, true) => 7,
            _ => 8,
        });
    }
    Some(geometry)
}
