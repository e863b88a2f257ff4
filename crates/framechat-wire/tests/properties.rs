//! Properties: encode/decode round trips, arbitrary bytes never panic, every strict
//! prefix of a valid frame is an error, and reassembly of any frame sequence stays
//! within its limits.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use framechat_wire::{
    Attachment, CancelHeader, ChunkHeader, Frame, Header, Limits, MessageHeader, Reassembler, Uuid,
    decode_header, encode_thumb, header_end, plan, stream_slices, write_frame,
};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._()äöüé👋\"\\\\-]{1,20}"
}

fn attachment() -> impl Strategy<Value = Attachment> {
    (
        name(),
        "[a-z]{1,10}/[a-z0-9.+-]{1,20}",
        0u64..5_000,
        proptest::option::of(1u32..=65_536),
        proptest::option::of(1u32..=65_536),
        proptest::collection::vec("[a-z_]{1,12}", 0..5),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=48)),
    )
        .prop_map(
            |(name, mime, size, width, height, removed, thumb)| Attachment {
                name,
                mime,
                size,
                width,
                height,
                removed,
                thumb: thumb.map(|bytes| encode_thumb(&bytes)),
            },
        )
}

fn message() -> impl Strategy<Value = MessageHeader> {
    (
        any::<u128>(),
        name(),
        0u64..(1 << 53),
        "[^\\p{Cc}]{0,40}",
        proptest::collection::vec(attachment(), 0..4),
    )
        .prop_filter("a message has text or files", |(_, _, _, text, files)| {
            !text.trim().is_empty() || !files.is_empty()
        })
        .prop_map(|(id, from, ts, text, files)| MessageHeader {
            id: Uuid::from_u128(id),
            from,
            ts,
            text,
            files,
        })
}

fn header() -> impl Strategy<Value = (Header, usize)> {
    prop_oneof![
        message().prop_map(|m| {
            let total = m.files.iter().map(|f| f.size).sum::<u64>();
            (Header::Msg(m), total as usize)
        }),
        (any::<u128>(), name(), 0u64..10_000, 1u64..10_000).prop_map(|(id, from, offset, len)| {
            let total = offset + len;
            (
                Header::Chunk(ChunkHeader {
                    id: Uuid::from_u128(id),
                    from,
                    offset,
                    total,
                    last: true,
                }),
                len as usize,
            )
        }),
        (any::<u128>(), name()).prop_map(|(id, from)| (
            Header::Cancel(CancelHeader {
                id: Uuid::from_u128(id),
                from
            }),
            0
        )),
    ]
}

fn encode(header: &Header, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_frame(header, &[payload], &mut out).unwrap();
    out
}

proptest! {
    #[test]
    fn decode_inverts_encode((header, max_payload) in header(), fill in any::<u8>()) {
        // A msg may carry any prefix of its stream; other kinds exactly their length.
        let payload = vec![fill; max_payload];
        let bytes = encode(&header, &payload);
        let frame = Frame::decode(&bytes).unwrap();
        prop_assert_eq!(&frame.header, &header);
        prop_assert_eq!(frame.payload, &payload[..]);
        let (h, end) = decode_header(&bytes).unwrap();
        prop_assert_eq!(h, header);
        prop_assert_eq!(end, header_end(&bytes[..3]).unwrap());
    }

    #[test]
    fn every_strict_prefix_is_an_error((header, len) in header()) {
        let bytes = encode(&header, &vec![7u8; len]);
        let end = header_end(&bytes).unwrap();
        // Every cut into the prefix and header; into the payload, its edges and middle.
        let payload_cuts = [end, end + 1, end + len / 2, (end + len).saturating_sub(1)];
        let cuts = (0..end).chain(payload_cuts.into_iter().filter(|c| *c < bytes.len()));
        for cut in cuts {
            let prefix = &bytes[..cut];
            // Cutting into the header or, for chunks, the payload must fail.
            // A msg frame's payload may legitimately be any prefix of its
            // stream, so those cuts are only required to decode consistently.
            match (&header, Frame::decode(prefix)) {
                (_, Err(_)) => {}
                (Header::Msg(_), Ok(f)) if cut >= end => {
                    prop_assert_eq!(f.payload.len(), cut - end);
                }
                (_, Ok(f)) => prop_assert!(false, "prefix of {cut} bytes decoded: {:?}", f.header),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Frame::decode(&bytes);
        let _ = header_end(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic(
        len in any::<u16>(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = vec![0xFC];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&body);
        let _ = Frame::decode(&bytes);
    }

    #[test]
    fn json_shaped_garbage_never_panics(
        kind in prop_oneof![Just("msg".to_string()), Just("chunk".to_string()), Just("cancel".to_string()), "[a-z]{0,6}"],
        fields in proptest::collection::vec(("[a-z]{1,8}", prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            "[a-z0-9]{0,40}".prop_map(|s| format!("{s:?}")),
            Just("true".to_string()), Just("null".to_string()), Just("[]".to_string()),
        ]), 0..8),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut json = format!("{{\"kind\":\"{kind}\"");
        for (k, v) in fields {
            json.push_str(&format!(",\"{k}\":{v}"));
        }
        json.push('}');
        let mut bytes = vec![0xFC];
        bytes.extend_from_slice(&(json.len() as u16).to_be_bytes());
        bytes.extend_from_slice(json.as_bytes());
        bytes.extend_from_slice(&payload);
        let _ = Frame::decode(&bytes);
    }

    /// Any sequence of frames — valid ones shuffled, duplicated or dropped,
    /// from several senders — never panics and never holds more than the limits.
    #[test]
    fn reassembly_of_any_sequence_stays_bounded(
        msgs in proptest::collection::vec(message(), 1..4),
        ops in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4), 0..60),
    ) {
        let limits = Limits {
            max_message_bytes: 8_000,
            max_transfers: 3,
            max_transfers_per_sender: 2,
            max_buffered_bytes: 6_000,
            stale_after_ms: 100,
        };
        let mut frames = Vec::new();
        for m in &msgs {
            let files: Vec<Vec<u8>> = m.files.iter().map(|f| vec![1u8; f.size as usize]).collect();
            let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
            for p in plan(m, 1024).unwrap() {
                frames.push(encode(&p.header, &stream_slices(&refs, p.range).concat()));
            }
        }
        let mut rx = Reassembler::<Vec<u8>>::new(limits);
        for (now, (index, op)) in ops.into_iter().enumerate() {
            let bytes = &frames[index.index(frames.len())];
            if op == 3 {
                rx.expire(now as u64 * 10);
                continue;
            }
            let f = Frame::decode(bytes).unwrap();
            let _ = rx.push(f.header, f.payload.to_vec(), now as u64 * 10);
            prop_assert!(rx.in_progress() <= limits.max_transfers);
            prop_assert!(rx.buffered_bytes() <= limits.max_buffered_bytes);
        }
    }
}

proptest! {
    /// Any message under any budget: every frame fits, and reassembly gives
    /// back exactly the attachments sent.
    #[test]
    fn planned_frames_fit_and_reassemble(m in message(), budget in 1024usize..20_000, seed in any::<u8>()) {
        let files: Vec<Vec<u8>> = m
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (0..f.size).map(|j| (j as u8) ^ seed ^ (i as u8)).collect())
            .collect();
        let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let Ok(planned) = plan(&m, budget) else {
            // Only a header too large for a small budget may be refused.
            prop_assert!(framechat_wire::header_len(&Header::Msg(m.clone())).unwrap() + 3 >= budget);
            return Ok(());
        };
        let mut rx = Reassembler::<Vec<u8>>::new(Limits::default());
        let mut complete = None;
        for p in planned {
            let bytes = encode(&p.header, &stream_slices(&refs, p.range).concat());
            prop_assert!(bytes.len() <= budget);
            let f = Frame::decode(&bytes).unwrap();
            if let framechat_wire::Event::Complete { header, parts } = rx.push(f.header, f.payload.to_vec(), 0).unwrap() {
                prop_assert!(complete.is_none());
                complete = Some((header, parts.concat()));
            }
        }
        let (header, stream) = complete.expect("message completes");
        prop_assert_eq!(header, m);
        prop_assert_eq!(stream, files.concat());
    }
}
