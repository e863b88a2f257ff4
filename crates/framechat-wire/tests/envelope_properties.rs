//! Properties of the encrypted envelope: seal/open round trips, and any change of one
//! ciphertext byte, one nonce byte or any additional-data field (flags, tag, index, room)
//! is refused; arbitrary bytes never panic; room keys round-trip through base64url.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use framechat_wire::native::FrameKey;
use framechat_wire::{
    Attachment, DEFAULT_FRAME_BUDGET, ENVELOPE_HEADER_LEN, ENVELOPE_OVERHEAD, Envelope,
    EnvelopeError, Flags, Frame, MessageHeader, RoomKey, Uuid, decode_inner, inner_budget, plan,
    stream_slices, write_frame,
};
use proptest::prelude::*;

fn flags() -> impl Strategy<Value = Flags> {
    (0u8..4).prop_map(|b| Flags::from_bits(b).unwrap())
}

fn room() -> impl Strategy<Value = String> {
    "[a-z0-9 é👋-]{0,24}"
}

/// Everything a sender binds into one envelope.
#[derive(Debug, Clone)]
struct Sealed {
    key: [u8; 32],
    flags: Flags,
    tag: [u8; 16],
    index: u32,
    room: String,
    nonce: [u8; 12],
    inner: Vec<u8>,
}

impl Sealed {
    fn frame_key(&self) -> FrameKey {
        FrameKey::derive(&RoomKey::from_bytes(self.key))
    }
    fn seal(&self) -> Vec<u8> {
        self.frame_key()
            .seal(
                self.flags,
                &self.tag,
                self.index,
                &self.room,
                &self.nonce,
                &self.inner,
            )
            .unwrap()
    }
    fn open(&self, wire: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        self.frame_key().open(wire, self.index, &self.room)
    }
}

fn sealed() -> impl Strategy<Value = Sealed> {
    (
        any::<[u8; 32]>(),
        flags(),
        any::<[u8; 16]>(),
        any::<u32>(),
        room(),
        any::<[u8; 12]>(),
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(key, flags, tag, index, room, nonce, inner)| Sealed {
            key,
            flags,
            tag,
            index,
            room,
            nonce,
            inner,
        })
}

fn is_auth_failure(r: &Result<Vec<u8>, EnvelopeError>) -> bool {
    matches!(r, Err(EnvelopeError::Authentication))
}

proptest! {
    #[test]
    fn seal_then_open_round_trips(s in sealed()) {
        let wire = s.seal();
        prop_assert_eq!(wire.len(), s.inner.len() + ENVELOPE_OVERHEAD);
        let envelope = Envelope::decode(&wire).unwrap();
        prop_assert_eq!((envelope.flags, envelope.tag, envelope.nonce), (s.flags, s.tag, s.nonce));
        prop_assert_eq!(s.open(&wire).unwrap(), s.inner);
    }

    #[test]
    fn any_changed_ciphertext_byte_is_refused(s in sealed(), at in any::<prop::sample::Index>(), mask in 1u8..) {
        let mut wire = s.seal();
        // The ciphertext and its GCM tag: everything after the nonce.
        let i = ENVELOPE_HEADER_LEN + at.index(wire.len() - ENVELOPE_HEADER_LEN);
        wire[i] ^= mask;
        prop_assert!(is_auth_failure(&s.open(&wire)));
    }

    #[test]
    fn any_changed_nonce_byte_is_refused(s in sealed(), at in 0usize..12, mask in 1u8..) {
        let mut wire = s.seal();
        wire[18 + at] ^= mask;
        prop_assert!(is_auth_failure(&s.open(&wire)));
    }

    #[test]
    fn any_changed_tag_byte_is_refused(s in sealed(), at in 0usize..16, mask in 1u8..) {
        let mut wire = s.seal();
        wire[2 + at] ^= mask;
        prop_assert!(is_auth_failure(&s.open(&wire)));
    }

    #[test]
    fn any_other_flags_are_refused(s in sealed(), other in flags()) {
        prop_assume!(other != s.flags);
        let mut wire = s.seal();
        wire[1] = other.bits();
        prop_assert!(is_auth_failure(&s.open(&wire)));
    }

    #[test]
    fn any_other_index_is_refused(s in sealed(), other in any::<u32>()) {
        prop_assume!(other != s.index);
        let wire = s.seal();
        prop_assert!(is_auth_failure(&s.frame_key().open(&wire, other, &s.room)));
    }

    #[test]
    fn any_other_room_is_refused(s in sealed(), other in room()) {
        prop_assume!(other != s.room);
        let wire = s.seal();
        prop_assert!(is_auth_failure(&s.frame_key().open(&wire, s.index, &other)));
    }

    #[test]
    fn any_other_key_is_refused(s in sealed(), other in any::<[u8; 32]>()) {
        prop_assume!(other != s.key);
        let wire = s.seal();
        let key = FrameKey::derive(&RoomKey::from_bytes(other));
        prop_assert!(is_auth_failure(&key.open(&wire, s.index, &s.room)));
    }

    #[test]
    fn every_strict_prefix_is_refused(s in sealed()) {
        let wire = s.seal();
        for len in 0..wire.len() {
            prop_assert!(s.open(&wire[..len]).is_err(), "prefix of {} bytes opened", len);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), index in any::<u32>()) {
        let key = FrameKey::derive(&RoomKey::from_bytes([7; 32]));
        let _ = Envelope::decode(&bytes);
        let _ = key.open(&bytes, index, "room");
        let mut enveloped = vec![0xFD, 0x03];
        enveloped.extend_from_slice(&bytes);
        prop_assert!(key.open(&enveloped, index, "room").is_err());
        let _ = decode_inner(Flags::SINGLE, &bytes);
    }

    #[test]
    fn room_keys_round_trip_through_base64url(bytes in any::<[u8; 32]>(), before in "[a-j]{1,5}=[a-z0-9]{0,5}") {
        let key = RoomKey::from_bytes(bytes);
        let text = key.to_base64url();
        prop_assert_eq!(text.len(), 43);
        prop_assert_eq!(RoomKey::from_base64url(&text), Ok(key.clone()));
        let fragment = format!("#{before}&k={text}&{before}");
        prop_assert_eq!(RoomKey::from_fragment(&fragment), Ok(Some(key)));
    }

    #[test]
    fn arbitrary_fragments_never_panic(fragment in "\\PC{0,80}") {
        let _ = RoomKey::from_fragment(&fragment);
    }
}

/// A message chunked with the inner budget seals into frames that fit the outer
/// budget, with the flags the inner frames call for and indexes 0, 1, 2, ...
#[test]
fn sealed_planned_frames_fit_the_outer_budget() {
    let file: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let header = MessageHeader {
        id: Uuid::from_u128(7),
        from: "ann".into(),
        ts: 0,
        text: "big".into(),
        files: vec![Attachment {
            name: "a.bin".into(),
            mime: "application/octet-stream".into(),
            size: file.len() as u64,
            width: None,
            height: None,
            removed: vec![],
            thumb: None,
        }],
    };
    let key = FrameKey::derive(&RoomKey::from_bytes([3; 32]));
    for outer in [DEFAULT_FRAME_BUDGET, 1024 + ENVELOPE_OVERHEAD] {
        let planned = plan(&header, inner_budget(outer).unwrap()).unwrap();
        let count = planned.len();
        assert!(count >= 3, "{count} frames");
        for (index, p) in planned.into_iter().enumerate() {
            let mut inner = Vec::new();
            write_frame(&p.header, &stream_slices(&[&file], p.range), &mut inner).unwrap();
            let flags = Flags::of_frame(&Frame::decode(&inner).unwrap()).unwrap();
            assert_eq!(flags.begins(), index == 0);
            assert_eq!(flags.ends(), index + 1 == count);
            let index = u32::try_from(index).unwrap();
            let sealed = key
                .seal(flags, &[1; 16], index, "r", &[index as u8; 12], &inner)
                .unwrap();
            assert!(sealed.len() <= outer, "{} > {outer}", sealed.len());
            assert_eq!(key.open(&sealed, index, "r").unwrap(), inner);
        }
    }
}
