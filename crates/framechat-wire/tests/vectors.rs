//! Golden vectors: every `tests/vectors/*.vec` file decodes to its header and payload
//! and encodes back to the same bytes; every error vector fails with its error class.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::hex;
use framechat_wire::{DecodeError, Frame, Header};

struct Vector {
    name: String,
    header: Option<String>,
    payload: Option<Vec<u8>>,
    frame: Vec<u8>,
    error: Option<String>,
}

fn load() -> Vec<Vector> {
    common::vector_files("vectors")
        .into_iter()
        .map(|(name, lines)| {
            let mut v = Vector {
                name,
                header: None,
                payload: None,
                frame: Vec::new(),
                error: None,
            };
            for (key, value) in lines {
                match key.as_str() {
                    "header" => v.header = Some(value),
                    "payload" => v.payload = Some(hex(&value)),
                    "frame" => v.frame = hex(&value),
                    "error" => v.error = Some(value),
                    other => panic!("{}: unknown key {other}", v.name),
                }
            }
            v
        })
        .collect()
}

fn class(e: &DecodeError) -> &'static str {
    match e {
        DecodeError::Empty => "empty",
        DecodeError::NotAFrame(_) => "not_a_frame",
        DecodeError::UnsupportedVersion(_) => "unsupported_version",
        DecodeError::Truncated { .. } => "truncated",
        DecodeError::InvalidJson(_) => "invalid_json",
        DecodeError::UnknownKind(_) => "unknown_kind",
        DecodeError::InvalidHeader(_) => "invalid_header",
        DecodeError::PayloadTooLong { .. } => "payload_too_long",
        DecodeError::ChunkOutOfRange { .. } => "chunk_out_of_range",
        DecodeError::LastFlagMismatch { .. } => "last_flag_mismatch",
        DecodeError::UnexpectedPayload(_) => "unexpected_payload",
    }
}

#[test]
fn valid_vectors_decode_and_encode_both_ways() {
    let vectors = load();
    let valid: Vec<_> = vectors.iter().filter(|v| v.error.is_none()).collect();
    assert!(
        valid.len() >= 8,
        "expected the valid vectors, found {}",
        valid.len()
    );
    for v in valid {
        let header_json = v.header.as_deref().expect("header line");
        let payload = v.payload.as_deref().expect("payload line");
        let expected: Header = serde_json::from_str(header_json).expect("header json");

        let frame = Frame::decode(&v.frame).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(frame.header, expected, "{}", v.name);
        assert_eq!(frame.payload, payload, "{}", v.name);

        let mut encoded = Vec::new();
        Frame {
            header: expected,
            payload,
        }
        .encode(&mut encoded)
        .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(encoded, v.frame, "{}: encoding differs", v.name);
    }
}

#[test]
fn error_vectors_fail_with_their_class() {
    let vectors = load();
    let invalid: Vec<_> = vectors.iter().filter(|v| v.error.is_some()).collect();
    assert!(
        invalid.len() >= 15,
        "expected the error vectors, found {}",
        invalid.len()
    );
    for v in invalid {
        let want = v.error.as_deref().unwrap();
        match Frame::decode(&v.frame) {
            Ok(f) => panic!("{}: decoded to {:?}, expected {want}", v.name, f.header),
            Err(e) => assert_eq!(class(&e), want, "{}: {e}", v.name),
        }
    }
}

/// The `thumb` vector carries the ThumbHash of framechat-thumbhash's gradient vector, and a
/// receiver that predates the field reads the same message without it.
#[test]
fn thumb_vector_holds_the_thumbhash_and_old_receivers_ignore_it() {
    let vectors = load();
    let v = vectors
        .iter()
        .find(|v| v.name == "msg-thumb")
        .expect("msg-thumb.vec");
    let frame = Frame::decode(&v.frame).unwrap();
    let Header::Msg(msg) = &frame.header else {
        panic!("not a msg: {:?}", frame.header)
    };
    let thumb = msg.files[0].thumb.as_deref().expect("thumb");
    assert_eq!(
        framechat_wire::decode_thumb(thumb),
        Some(vec![
            0xde, 0x17, 0x0a, 0x35, 0x9a, 0x70, 0x75, 0x78, 0x71, 0x78, 0x78, 0x68, 0x58, 0x77,
            0x87, 0x87, 0x71, 0x80, 0x07, 0xf7, 0x87
        ])
    );
    // An old receiver: the same header with the field unknown to it.
    #[derive(serde::Deserialize)]
    struct OldAttachment {
        name: String,
        size: u64,
    }
    #[derive(serde::Deserialize)]
    struct OldMessage {
        files: Vec<OldAttachment>,
    }
    let old: OldMessage = serde_json::from_str(v.header.as_deref().unwrap()).unwrap();
    assert_eq!(
        (old.files[0].name.as_str(), old.files[0].size),
        ("p.jpg", 4)
    );
}
