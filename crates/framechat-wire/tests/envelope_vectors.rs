//! Private-room vectors (`tests/vectors/e2e/*.vec`, made by Python's `cryptography`), checked
//! both ways: Rust opens Python's envelopes, and seals the same bytes with the vector's nonce.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;

use common::hex;
use framechat_wire::native::{FrameKey, derive};
use framechat_wire::{
    Envelope, EnvelopeError, FRAME_KEY_INFO, Flags, RoomKey, additional_data, decode_inner,
};

/// One vector file: its name and its `key value` lines.
struct Vector {
    name: String,
    fields: BTreeMap<String, String>,
}

impl Vector {
    fn text(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .unwrap_or_else(|| panic!("{}: no {key} line", self.name))
    }
    fn bytes(&self, key: &str) -> Vec<u8> {
        hex(self.text(key))
    }
    fn array<const N: usize>(&self, key: &str) -> [u8; N] {
        self.bytes(key).try_into().expect("array length")
    }
    fn index(&self) -> u32 {
        self.text("index").parse().expect("decimal index")
    }
    fn room_key(&self) -> RoomKey {
        RoomKey::from_bytes(self.array("room_key"))
    }
}

fn load() -> Vec<Vector> {
    common::vector_files("vectors/e2e")
        .into_iter()
        .map(|(name, lines)| Vector {
            name,
            fields: lines.into_iter().collect(),
        })
        .collect()
}

/// What a receiver does with an envelope: read the layout, authenticate and
/// decrypt, then decode the inner frame and check its role against the flags.
fn receive(key: &RoomKey, room: &str, index: u32, bytes: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    let envelope = Envelope::decode(bytes)?;
    let plain = FrameKey::derive(key).open(bytes, index, room)?;
    decode_inner(envelope.flags, &plain)?;
    Ok(plain)
}

fn class(e: &EnvelopeError) -> &'static str {
    match e {
        EnvelopeError::Empty => "empty",
        EnvelopeError::NotAnEnvelope(_) => "not_an_envelope",
        EnvelopeError::Truncated { .. } => "truncated",
        EnvelopeError::UnknownFlags(_) => "unknown_flags",
        EnvelopeError::RoomTooLong { .. } => "room_too_long",
        EnvelopeError::InnerTooLarge { .. } => "inner_too_large",
        EnvelopeError::Authentication => "authentication",
        EnvelopeError::Inner(_) => "inner",
        EnvelopeError::FlagsMismatch { .. } => "flags_mismatch",
    }
}

#[test]
fn rust_opens_python_envelopes_and_seals_the_same_bytes() {
    let vectors = load();
    let valid: Vec<_> = vectors
        .iter()
        .filter(|v| !v.fields.contains_key("error"))
        .collect();
    assert!(valid.len() >= 5, "found {} valid vectors", valid.len());
    for v in valid {
        let name = &v.name;
        let key = v.room_key();
        assert_eq!(
            RoomKey::from_base64url(v.text("key_b64")).as_ref(),
            Ok(&key),
            "{name}: key_b64"
        );
        assert_eq!(
            derive(&key, FRAME_KEY_INFO).as_slice(),
            v.bytes("frame_key"),
            "{name}: HKDF"
        );
        let flags = Flags::from_bits(v.array::<1>("flags")[0]).unwrap();
        let tag: [u8; 16] = v.array("tag");
        let nonce: [u8; 12] = v.array("nonce");
        let (room, index, inner) = (v.text("room"), v.index(), v.bytes("inner"));
        let wire = v.bytes("envelope");

        assert_eq!(
            additional_data(flags, &tag, index, room).unwrap(),
            v.bytes("ad"),
            "{name}: additional data"
        );
        let envelope = Envelope::decode(&wire).unwrap();
        assert_eq!(
            (envelope.flags, envelope.tag, envelope.nonce),
            (flags, tag, nonce),
            "{name}: layout"
        );
        assert_eq!(Flags::of_inner(&inner).unwrap(), flags, "{name}: role");

        // Python -> Rust.
        assert_eq!(
            receive(&key, room, index, &wire).unwrap(),
            inner,
            "{name}: open"
        );
        // Rust -> Python: the same nonce gives the same bytes.
        let sealed = FrameKey::derive(&key)
            .seal(flags, &tag, index, room, &nonce, &inner)
            .unwrap();
        assert_eq!(sealed, wire, "{name}: seal");
        let mut encoded = Vec::new();
        envelope.encode(&mut encoded);
        assert_eq!(encoded, wire, "{name}: encode");
    }
}

#[test]
fn refused_envelopes_fail_with_their_class() {
    let vectors = load();
    let refused: Vec<_> = vectors
        .iter()
        .filter(|v| v.fields.contains_key("error"))
        .collect();
    assert!(refused.len() >= 12, "found {} refusals", refused.len());
    for v in refused {
        let want = v.text("error");
        match receive(
            &v.room_key(),
            v.text("room"),
            v.index(),
            &v.bytes("envelope"),
        ) {
            Ok(plain) => panic!(
                "{}: opened to {} bytes, expected {want}",
                v.name,
                plain.len()
            ),
            Err(e) => assert_eq!(class(&e), want, "{}: {e}", v.name),
        }
    }
}

/// The two-frame message opens in order with indexes 0 and 1, and not otherwise.
#[test]
fn two_frame_message_opens_only_in_sending_order() {
    let vectors = load();
    let get = |n: &str| vectors.iter().find(|v| v.name == n).expect(n);
    let (first, second) = (get("two-frame-0"), get("two-frame-1"));
    let key = first.room_key();
    let room = first.text("room");
    let (f0, f1) = (first.bytes("envelope"), second.bytes("envelope"));
    assert!(receive(&key, room, 0, &f0).is_ok());
    assert!(receive(&key, room, 1, &f1).is_ok());
    assert!(receive(&key, room, 1, &f0).is_err());
    assert!(receive(&key, room, 0, &f1).is_err());
    assert!(receive(&key, room, 2, &f1).is_err());
}
