//! Synthetic movies through the movie scrubber: what is freed, zeroed and kept, what is
//! refused, and properties on mutated movies (never a panic, idempotent, the samples of kept
//! tracks byte-identical).

use proptest::prelude::*;

use super::movie_samples::chunk_spans;
use super::movie_tags::XMP_UUID;
use super::{boxes, find, full_box, qt_boxes};
use crate::report::Category::{self, *};
use crate::testing::{bx, check};
use crate::{Format, ScrubError, scrub};

fn full(kind: &[u8; 4], version: u8, payload: &[u8]) -> Vec<u8> {
    bx(kind, &[&[version, 0, 0, 1][..], payload].concat())
}

const DATE: [u8; 4] = [0xE2, 0xA0, 0x00, 0x00];
const VIDEO: &[u8] = b"VIDEO-SAMPLE-ONE|VIDEO-SAMPLE-TWO";
const GPS: &[u8] = b"\x00\x00\x00\x22\x00\x00\x00\x01+48.8567+002.3508+035.000/";

/// A track: tkhd (v0 or v1, 90-degree matrix for video), mdia { mdhd, hdlr, minf { stbl {
/// stsd with one `entry`, stsc, stsz (two samples), stco } } }, and `extra` children.
fn trak(
    id: u32,
    handler: &[u8; 4],
    entry: &[u8; 4],
    chunk: u32,
    sizes: [u32; 2],
    v1: bool,
) -> Vec<u8> {
    let one = 0x1_0000u32;
    let minus = (-0x1_0000i32).to_be_bytes();
    let matrix: Vec<u8> = if handler == b"vide" {
        [
            0u32.to_be_bytes(),
            one.to_be_bytes(),
            [0; 4],
            minus,
            [0; 4],
            [0; 4],
            [0; 4],
            [0; 4],
            0x4000_0000u32.to_be_bytes(),
        ]
        .concat()
    } else {
        [
            one.to_be_bytes(),
            [0; 4],
            [0; 4],
            [0; 4],
            one.to_be_bytes(),
            [0; 4],
            [0; 4],
            [0; 4],
            0x4000_0000u32.to_be_bytes(),
        ]
        .concat()
    };
    let dates = if v1 {
        [[0; 4], DATE, [0; 4], DATE].concat()
    } else {
        [DATE, DATE].concat()
    };
    let duration: &[u8] = if v1 { &[0; 8] } else { &[0; 4] };
    let tkhd = full(
        b"tkhd",
        u8::from(v1),
        &[
            &dates[..],
            &id.to_be_bytes(),
            &[0; 4],
            duration,
            &[0; 16],
            &matrix,
            &(64 * one).to_be_bytes(),
            &(48 * one).to_be_bytes(),
        ]
        .concat(),
    );
    let mdhd = full(
        b"mdhd",
        u8::from(v1),
        &[&dates[..], &[0, 0, 2, 88], duration, &[0x55, 0xC4, 0, 0]].concat(),
    );
    let hdlr = full(
        b"hdlr",
        0,
        &[&b"mhlr"[..], handler, &[0; 12], b"Handler\0"].concat(),
    );
    let stsd = full(
        b"stsd",
        0,
        &[&[0, 0, 0, 1][..], &bx(entry, &[0, 0, 0, 0, 0, 0, 0, 1])].concat(),
    );
    let stsc = full(
        b"stsc",
        0,
        &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1],
    );
    let stsz = full(
        b"stsz",
        0,
        &[
            &[0; 4][..],
            &[0, 0, 0, 2],
            &sizes[0].to_be_bytes(),
            &sizes[1].to_be_bytes(),
        ]
        .concat(),
    );
    let stco = full(
        b"stco",
        0,
        &[&[0, 0, 0, 1][..], &chunk.to_be_bytes()].concat(),
    );
    let stbl = bx(b"stbl", &[stsd, stsc, stsz, stco].concat());
    let minf = bx(b"minf", &[full(b"vmhd", 0, &[0; 8]), stbl].concat());
    let mdia = bx(b"mdia", &[mdhd, hdlr, minf].concat());
    bx(b"trak", &[tkhd, mdia].concat())
}

/// A QuickTime movie as a phone writes it: ftyp, moov { mvhd, trak (video), trak (mebx
/// location), udta { ©xyz ©mak }, meta { hdlr keys ilst } }, an XMP uuid, then mdat with
/// the video samples and the location samples. Returns the file and where both lie.
fn movie(v1: bool) -> (Vec<u8>, std::ops::Range<usize>, std::ops::Range<usize>) {
    let ftyp = bx(b"ftyp", b"qt  \0\0\x02\0qt  ");
    let mvhd = full(
        b"mvhd",
        0,
        &[&DATE[..], &DATE, &[0, 0, 2, 88], &[0; 80], &[0, 0, 0, 3]].concat(),
    );
    let udta = bx(
        b"udta",
        &[
            bx(b"\xA9xyz", b"\0\x12\x15\xC7+48.8567+002.3508/"),
            bx(b"\xA9mak", b"\0\x05\x15\xC7Apple"),
            vec![0; 4],
        ]
        .concat(),
    );
    let key = b"com.apple.quicktime.location.ISO6709";
    let keys = full(
        b"keys",
        0,
        &[
            &[0, 0, 0, 1][..],
            &u32::try_from(8 + key.len()).unwrap().to_be_bytes(),
            b"mdta",
            key,
        ]
        .concat(),
    );
    let ilst = bx(
        b"ilst",
        &bx(
            &[0, 0, 0, 1],
            &bx(b"data", b"\0\0\0\x01\0\0\0\0+48.8567+002.3508/"),
        ),
    );
    let meta = bx(
        b"meta",
        &[
            full(
                b"hdlr",
                0,
                &[&[0; 4][..], b"mdta", &[0; 12], b"\0"].concat(),
            ),
            keys,
            ilst,
        ]
        .concat(),
    );
    let xmp = bx(
        b"uuid",
        &[
            &XMP_UUID[..],
            b"<x:xmpmeta><dc:creator>Ada</dc:creator></x:xmpmeta>",
        ]
        .concat(),
    );
    let size = |chunk| {
        let t1 = trak(1, b"vide", b"avc1", chunk, [16, 17], v1);
        let t2 = trak(2, b"meta", b"mebx", chunk, [17, 17], v1);
        bx(
            b"moov",
            &[mvhd.clone(), t1, t2, udta.clone(), meta.clone()].concat(),
        )
        .len()
    };
    let mdat_payload = u32::try_from(ftyp.len() + size(0) + xmp.len() + 8).unwrap();
    let gps_at = mdat_payload + u32::try_from(VIDEO.len()).unwrap();
    let t1 = trak(1, b"vide", b"avc1", mdat_payload, [16, 17], v1);
    let t2 = trak(2, b"meta", b"mebx", gps_at, [17, 17], v1);
    let moov = bx(b"moov", &[mvhd, t1, t2, udta, meta].concat());
    let mdat = bx(b"mdat", &[VIDEO, GPS].concat());
    let file = [ftyp, moov, xmp, mdat].concat();
    let video = usize::try_from(mdat_payload).unwrap();
    let gps = usize::try_from(gps_at).unwrap();
    (file, video..video + VIDEO.len(), gps..gps + GPS.len())
}

/// Where the box of type `kind` starts, at the top level or in `moov`.
fn at(file: &[u8], kind: &[u8]) -> usize {
    let top = boxes(file, 0, file.len(), Format::Mov).unwrap();
    let moov = find(&top, b"moov").unwrap();
    let kids = qt_boxes(file, moov.payload, moov.end, Format::Mov).unwrap();
    top.iter()
        .chain(&kids)
        .find(|b| b.kind == kind)
        .unwrap()
        .start
}

#[test]
fn frees_metadata_zeroes_dates_and_drops_the_location_track() {
    for v1 in [false, true] {
        let (file, video, gps) = movie(v1);
        let out = scrub(&file).unwrap();
        assert_eq!(out.report.format, Format::Mov);
        assert_eq!(out.report.removed, [Location, Device, DateTime, Xmp, Other]);
        assert_eq!(
            (out.report.width, out.report.height, out.report.orientation),
            (Some(64), Some(48), Some(6))
        );
        let bytes = &out.bytes;
        assert_eq!(bytes.len(), file.len());
        assert_eq!(
            bytes[video.clone()],
            file[video.clone()],
            "video samples kept"
        );
        assert!(
            bytes[gps].iter().all(|&b| b == 0),
            "location samples zeroed"
        );
        // udta, meta, the uuid and the mebx trak are free boxes of their size, zeroed.
        for kind in [&b"udta"[..], b"meta", b"uuid"] {
            let start = at(&file, kind);
            let size = u32::from_be_bytes(file[start..start + 4].try_into().unwrap()) as usize;
            assert_eq!(&bytes[start..start + 4], &file[start..start + 4]);
            assert_eq!(&bytes[start + 4..start + 8], b"free");
            assert!(bytes[start + 8..start + size].iter().all(|&b| b == 0));
        }
        for word in [&b"48.85"[..], b"Apple", b"Ada", b"mebx", b"\xE2\xA0"] {
            assert!(
                !bytes.windows(word.len()).any(|w| w == word),
                "{word:?} left"
            );
        }
        check(
            &file,
            Ok((bytes, &[Location, Device, DateTime, Xmp, Other])),
        );
    }
}

#[test]
fn a_clean_movie_passes_unchanged() {
    let (file, _, _) = movie(false);
    let once = scrub(&file).unwrap().bytes;
    check(&once, Ok((&once, &[])));
    let planned = crate::plan(&once).unwrap();
    assert_eq!(planned.plan.pieces(), [crate::Piece::Keep(0..once.len())]);
}

#[test]
fn refuses_what_it_cannot_scrub_safely() {
    let (file, video, gps) = movie(false);
    let malformed = |what| Err(ScrubError::malformed(Format::Mov, what));
    let unsupported = |what| Err(ScrubError::unsupported(Format::Mov, what));
    // The location track's chunk pointing into moov instead of mdat.
    let mut outside = file.clone();
    let stco = outside
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"stco")
        .map(|(i, _)| i)
        .nth(1)
        .unwrap();
    outside[stco + 12..stco + 16].copy_from_slice(&40u32.to_be_bytes());
    check(&outside, unsupported("metadata track samples outside mdat"));
    // The video chunk pointing into the udta box: its samples would be freed.
    let mut inside = file.clone();
    let stco = inside.windows(4).position(|w| w == b"stco").unwrap();
    let udta = u32::try_from(at(&file, b"udta") + 8).unwrap();
    inside[stco + 12..stco + 16].copy_from_slice(&udta.to_be_bytes());
    check(
        &inside,
        unsupported("samples of a kept track inside metadata"),
    );
    // Video samples shared with the location track.
    let mut shared = file.clone();
    let stco = shared.windows(4).position(|w| w == b"stco").unwrap();
    shared[stco + 12..stco + 16].copy_from_slice(&u32::try_from(gps.start).unwrap().to_be_bytes());
    check(
        &shared,
        unsupported("samples of a kept track inside metadata"),
    );
    // Cut inside mdat; a version-2 movie header; no moov; two moovs; compressed moov.
    check(
        &file[..file.len() - 1],
        Err(ScrubError::Truncated {
            needed: file.len() as u64,
            available: file.len() as u64 - 1,
        }),
    );
    let mut v2 = file.clone();
    v2[at(&file, b"mvhd") + 8] = 2;
    check(&v2, unsupported("movie header version above 1"));
    let ftyp = &file[..20];
    check(
        &[ftyp, &bx(b"mdat", VIDEO)].concat(),
        malformed("no moov box"),
    );
    let moov = bx(b"moov", &full(b"mvhd", 0, &[0; 96]));
    check(
        &[ftyp, &moov, &moov].concat(),
        unsupported("more than one moov box"),
    );
    check(
        &[ftyp, &bx(b"moov", &bx(b"cmov", b"zlib"))].concat(),
        unsupported("compressed movie header"),
    );
    assert!(video.end <= gps.start);
}

/// moov { mvhd, trak (video, empty tables), trak (camm, empty), mvex { trex, trex } }, then
/// one moof with a traf per track and the mdat they point at.
fn fragmented(camm_flags: u32, video_flags: u32) -> Vec<u8> {
    let ftyp = bx(b"ftyp", b"isom\0\0\x02\0isomiso6");
    let mvhd = full(b"mvhd", 0, &[&DATE[..], &DATE, &[0; 88]].concat());
    let empty = |t: Vec<u8>| t; // tracks with chunk 0 and sizes 0 describe no sample data
    let t1 = empty(trak(1, b"vide", b"avc1", 0, [0, 0], false));
    let t2 = empty(trak(2, b"camm", b"camm", 0, [0, 0], false));
    let trex = |id: u32| {
        full(
            b"trex",
            0,
            &[
                &id.to_be_bytes()[..],
                &[0, 0, 0, 1],
                &[0; 4],
                &4u32.to_be_bytes(),
                &[0; 4],
            ]
            .concat(),
        )
    };
    let moov = bx(
        b"moov",
        &[mvhd, t1, t2, bx(b"mvex", &[trex(1), trex(2)].concat())].concat(),
    );
    // traf: tfhd (flags as given: 0x20000 default-base-is-moof), trun with data_offset.
    let traf = |id: u32, flags: u32, offset: i32| {
        let mut tfhd = full(b"tfhd", 0, &id.to_be_bytes());
        tfhd[9..12].copy_from_slice(&flags.to_be_bytes()[1..]);
        let trun = full(
            b"trun",
            0,
            &[&[0, 0, 0, 2][..], &offset.to_be_bytes()].concat(),
        );
        bx(b"traf", &[tfhd, trun].concat())
    };
    let moof_len = |a, b| {
        bx(
            b"moof",
            &[
                full(b"mfhd", 0, &[0, 0, 0, 1]),
                traf(1, a, 0),
                traf(2, b, 0),
            ]
            .concat(),
        )
        .len()
    };
    let data = i32::try_from(moof_len(0, 0) + 8).unwrap();
    let moof = bx(
        b"moof",
        &[
            full(b"mfhd", 0, &[0, 0, 0, 1]),
            traf(1, video_flags, data),
            traf(2, camm_flags, data + 8),
        ]
        .concat(),
    );
    [ftyp, moov, moof, bx(b"mdat", b"VIDEOVIDGPSFIXES")].concat()
}

#[test]
fn fragmented_movies_lose_their_metadata_track_fragments() {
    let file = fragmented(0x2_0000, 0x2_0000);
    let out = scrub(&file).unwrap();
    assert_eq!(out.report.format, Format::Mp4);
    assert_eq!(out.report.removed, [Location, DateTime]);
    let bytes = &out.bytes;
    assert!(
        bytes.ends_with(b"VIDEOVID\0\0\0\0\0\0\0\0"),
        "{:?}",
        &bytes[bytes.len() - 16..]
    );
    // The camm trak, its trex and its traf are free boxes now.
    assert_eq!(bytes.windows(4).filter(|w| w == b"traf").count(), 1);
    assert_eq!(bytes.windows(4).filter(|w| w == b"trex").count(), 1);
    check(&file, Ok((bytes, &[Location, DateTime])));
    // Implicit bases: the video fragment after a dropped one would move.
    let mut implicit = fragmented(0, 0);
    let trafs: Vec<usize> = implicit
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == b"traf")
        .map(|(i, _)| i)
        .collect();
    // Swap the tracks of the two trafs: the camm fragment first.
    implicit[trafs[0] + 16..trafs[0] + 20].copy_from_slice(&2u32.to_be_bytes());
    implicit[trafs[1] + 16..trafs[1] + 20].copy_from_slice(&1u32.to_be_bytes());
    check(
        &implicit,
        Err(ScrubError::unsupported(
            Format::Mp4,
            "metadata track fragment before one with an implicit base offset",
        )),
    );
}

/// The chunk ranges of the video and sound tracks of `file`, as the sample tables say.
fn kept_samples(file: &[u8]) -> Vec<(u64, u64)> {
    let format = Format::Mov;
    let mut out = Vec::new();
    let Ok(top) = boxes(file, 0, file.len(), format) else {
        return out;
    };
    let Some(moov) = find(&top, b"moov") else {
        return out;
    };
    for trak in qt_boxes(file, moov.payload, moov.end, format)
        .unwrap_or_default()
        .iter()
        .filter(|b| &b.kind == b"trak")
    {
        let path = |parent: &super::BoxRef, kind| {
            qt_boxes(file, parent.payload, parent.end, format)
                .ok()
                .and_then(|k| find(&k, kind).copied())
        };
        let Some(mdia) = path(trak, b"mdia") else {
            continue;
        };
        let handler = path(&mdia, b"hdlr")
            .and_then(|h| full_box(file, &h).ok())
            .and_then(|(mut r, _, _)| {
                r.skip(4).ok()?;
                r.array::<4>().ok()
            });
        if !matches!(handler.as_ref(), Some(b"vide" | b"soun")) {
            continue;
        }
        if let Some(stbl) = path(&mdia, b"minf").and_then(|m| path(&m, b"stbl")) {
            out.extend(chunk_spans(file, &stbl, format).unwrap_or_default());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Mutated movies: never a panic; what is accepted scrubs to itself, keeps its length,
    /// and keeps every sample of its video and sound tracks byte for byte.
    #[test]
    fn mutated_movies_are_refused_or_scrubbed_soundly(
        v1 in any::<bool>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        fragmented_file in any::<bool>(),
    ) {
        let mut file = if fragmented_file { fragmented(0x2_0000, 0x2_0000) } else { movie(v1).0 };
        for (at, value) in flips {
            let at = at.index(file.len());
            file[at] = value;
        }
        if cut.index(8) == 0 {
            file.truncate(cut.index(file.len()));
        }
        if let Ok(out) = scrub(&file) {
            prop_assert_eq!(out.bytes.len(), file.len());
            let again = scrub(&out.bytes).map_err(|e| TestCaseError::fail(format!("output refused: {e}")))?;
            prop_assert_eq!(&again.bytes, &out.bytes);
            prop_assert_eq!(again.report.removed, Vec::<Category>::new());
            for (start, end) in kept_samples(&file) {
                let range = usize::try_from(start).unwrap()..usize::try_from(end).unwrap();
                prop_assert_eq!(out.bytes.get(range.clone()), file.get(range));
            }
        }
    }
}
