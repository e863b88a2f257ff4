//! What a movie's metadata boxes hold, in the report's categories: `udta` atoms (QuickTime
//! `©xyz`, `©mak`…, 3GPP `loci`, `auth`…), iTunes-style `ilst` items, QuickTime `keys`
//! names (`com.apple.quicktime.location.ISO6709`…) and XMP `uuid` boxes.

use crate::Format;
use crate::report::Category;

use super::{BoxRef, find, qt_boxes};

/// 14496-12 / XMP part 3 1.1.4: the `uuid` box that holds an XMP packet in MP4 files.
pub(crate) const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];

/// `udta` children that players use and that say nothing about who, where or when: 3GPP /
/// 14496-12 track selection (`tsel`), DASH track kind (`kind`), RTP hint information.
pub(crate) const KEPT_UDTA: [&[u8; 4]; 4] = [b"tsel", b"kind", b"hnti", b"hinf"];

/// The category of one `udta` atom or `ilst` item, by its type. QuickTime names its text
/// atoms with a leading `©` (0xA9).
pub(crate) fn atom_category(kind: &[u8; 4]) -> Category {
    const C: u8 = 0xA9;
    let [first, a, b, c] = *kind;
    if first == C {
        return match &[a, b, c] {
            b"xyz" | b"lox" => Category::Location,
            b"mak" | b"mod" | b"swr" | b"too" | b"enc" | b"swf" | b"fmt" | b"hst" => {
                Category::Device
            }
            b"day" | b"dte" | b"ed1" => Category::DateTime,
            b"aut" | b"ART" | b"wrt" | b"prd" | b"PRD" | b"dir" | b"prf" | b"cpy" | b"src"
            | b"own" | b"com" => Category::Author,
            b"cmt" | b"des" | b"nam" | b"inf" | b"alb" | b"key" | b"req" | b"dis" | b"gen" => {
                Category::Comment
            }
            _ => Category::Other,
        };
    }
    match kind {
        b"loci" | b"LOCI" | b"gps0" => Category::Location,
        b"manu" | b"modl" | b"FIRM" | b"LENS" | b"CAME" | b"MUID" | b"smta" | b"SNum" => {
            Category::Device
        }
        b"date" | b"yrrc" => Category::DateTime,
        b"auth" | b"cprt" | b"perf" | b"aART" | b"ownr" | b"albr" => Category::Author,
        b"titl" | b"dscp" | b"kywd" | b"albm" | b"gnre" | b"desc" | b"ldes" | b"name" | b"clsf"
        | b"rtng" => Category::Comment,
        b"CNTH" | b"THMB" | b"thmb" | b"PRVW" | b"covr" | b"PICT" | b"pnot" => Category::Thumbnail,
        b"XMP_" => Category::Xmp,
        _ => Category::Other,
    }
}

/// The category of one QuickTime metadata key (`keys` entry, `mdta` namespace), by its
/// name: `com.apple.quicktime.location.ISO6709`, `com.android.version`…
pub(crate) fn key_category(name: &[u8]) -> Category {
    // "quicktime" holds "time": the namespace says nothing.
    let name = String::from_utf8_lossy(name)
        .to_ascii_lowercase()
        .replace("quicktime", "");
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["location", "gps", "iso6709"]) {
        Category::Location
    } else if has(&[
        "make",
        "model",
        "software",
        "android.version",
        "camera",
        "lens",
        "firmware",
        "serial",
    ]) {
        Category::Device
    } else if has(&["date", "time"]) {
        Category::DateTime
    } else if has(&[
        "author",
        "artist",
        "copyright",
        "publisher",
        "owner",
        "producer",
    ]) {
        Category::Author
    } else if has(&[
        "comment",
        "description",
        "title",
        "keyword",
        "displayname",
        "information",
    ]) {
        Category::Comment
    } else {
        Category::Other
    }
}

/// What a `meta` box (QuickTime: no version and flags; ISO: a FullBox) holds: the names
/// its `keys` box lists, or the types of its `ilst` items; at least [`Category::Other`].
pub(crate) fn meta_categories(input: &[u8], meta: &BoxRef, format: Format) -> Vec<Category> {
    let mut out = vec![Category::Other];
    // QuickTime's `meta` is a plain atom whose first child is `hdlr`; ISO's is a FullBox.
    let children = [meta.payload, meta.payload.saturating_add(4)]
        .into_iter()
        .find_map(|start| {
            let kids = qt_boxes(input, start, meta.end, format).ok()?;
            kids.first()
                .is_some_and(|b| b.kind.iter().all(u8::is_ascii_graphic))
                .then_some(kids)
        })
        .unwrap_or_default();
    if let Some(keys) = find(&children, b"keys") {
        // QuickTime "Metadata Key Atom": version/flags, entry_count, then per key
        // key_size(32, including these 8 bytes), key_namespace(4), key_value.
        let mut at = keys.payload.saturating_add(8);
        while let Some(size) = input
            .get(at..at.saturating_add(4))
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_be_bytes)
            .and_then(|s| usize::try_from(s).ok())
        {
            let end = at.saturating_add(size);
            if size < 8 || end > keys.end {
                break;
            }
            out.push(key_category(input.get(at + 8..end).unwrap_or_default()));
            at = end;
        }
    }
    if let Some(ilst) = find(&children, b"ilst") {
        for item in qt_boxes(input, ilst.payload, ilst.end, format).unwrap_or_default() {
            // With `keys`, item types are 1-based key indices, already counted above.
            if find(&children, b"keys").is_none() {
                out.push(atom_category(&item.kind));
            }
        }
    }
    if find(&children, b"xml ").is_some() || find(&children, b"XMP_").is_some() {
        out.push(Category::Xmp);
    }
    out
}

/// What a `uuid` box is: XMP, or something else nobody needs to play the movie.
pub(crate) fn uuid_category(input: &[u8], b: &BoxRef) -> Category {
    match input.get(b.payload..b.payload.saturating_add(16)) {
        Some(id) if id == XMP_UUID => Category::Xmp,
        _ => Category::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_and_keys_fall_in_their_categories() {
        let copyright = |s: &[u8; 3]| [0xA9, s[0], s[1], s[2]];
        for (kind, category) in [
            (copyright(b"xyz"), Category::Location),
            (copyright(b"mak"), Category::Device),
            (copyright(b"swr"), Category::Device),
            (copyright(b"day"), Category::DateTime),
            (copyright(b"ART"), Category::Author),
            (copyright(b"nam"), Category::Comment),
            (copyright(b"zzz"), Category::Other),
            (*b"loci", Category::Location),
            (*b"XMP_", Category::Xmp),
            (*b"covr", Category::Thumbnail),
            (*b"abcd", Category::Other),
        ] {
            assert_eq!(atom_category(&kind), category, "{kind:?}");
        }
        for (name, category) in [
            ("com.apple.quicktime.location.ISO6709", Category::Location),
            ("com.apple.quicktime.make", Category::Device),
            ("com.apple.quicktime.model", Category::Device),
            ("com.apple.quicktime.software", Category::Device),
            ("com.android.version", Category::Device),
            ("com.apple.quicktime.creationdate", Category::DateTime),
            ("com.apple.quicktime.author", Category::Author),
            ("com.apple.quicktime.title", Category::Comment),
            ("com.android.capture.fps", Category::Other),
        ] {
            assert_eq!(key_category(name.as_bytes()), category, "{name}");
        }
    }
}
