//! Browser tests of private rooms' WebCrypto glue against the browser's real SubtleCrypto:
//! the Python vectors open and re-seal byte for byte, round trips, tampering, key parsing.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown \
//!       -p framechat --test webcrypto`
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use framechat::platform::webcrypto::{
    CryptoError, EnvelopeErrorKind, FrameKey, fragment_param, generate_room_key, new_message_tag,
    parse_fragment, subtle, subtle_in,
};
use framechat_wire::{Flags, KeyError, RoomKey, decode_inner};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The private-room vectors that Python's `cryptography` wrote (name, text).
macro_rules! vectors {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!(
            "../crates/framechat-wire/tests/vectors/e2e/", $name, ".vec"
        )))),*]
    };
}

const VALID: [(&str, &str); 5] = vectors![
    "single-text",
    "two-frame-0",
    "two-frame-1",
    "middle-chunk",
    "cancel",
];

/// Refusals decided by WebCrypto's authentication or the envelope's layout
/// (the inner-frame checks are the pure crate's, tested natively).
const REFUSED: [(&str, &str); 13] = vectors![
    "err-wrong-room",
    "err-wrong-key",
    "err-wrong-index",
    "err-flipped-begin",
    "err-flipped-end",
    "err-spliced-tag",
    "err-nonce-bit",
    "err-ciphertext-bit",
    "err-gcm-tag-bit",
    "err-cut-short",
    "err-truncated",
    "err-unknown-flags",
    "err-not-an-envelope",
];

struct Vector<'a> {
    name: &'a str,
    text: &'a str,
}

impl<'a> Vector<'a> {
    fn get(&self, key: &str) -> &'a str {
        self.text
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{}: no {key}", self.name))
    }
    fn bytes(&self, key: &str) -> Vec<u8> {
        let s = self.get(key);
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    fn index(&self) -> u32 {
        self.get("index").parse().unwrap()
    }
    fn room_key(&self) -> RoomKey {
        RoomKey::from_bytes(self.bytes("room_key").try_into().unwrap())
    }
}

fn vector<'a>((name, text): (&'a str, &'a str)) -> Vector<'a> {
    Vector { name, text }
}

#[wasm_bindgen_test]
async fn opens_python_envelopes_and_seals_the_same_bytes() {
    for v in VALID.map(vector) {
        let key = FrameKey::derive(&v.room_key()).await.unwrap();
        let (room, index, wire) = (v.get("room"), v.index(), v.bytes("envelope"));
        let inner = v.bytes("inner");
        let plain = key.open(&wire, index, room).await.unwrap();
        assert_eq!(plain, inner, "{}: open", v.name);
        let flags = Flags::from_bits(v.bytes("flags")[0]).unwrap();
        assert!(decode_inner(flags, &plain).is_ok(), "{}: inner", v.name);

        let tag: [u8; 16] = v.bytes("tag").try_into().unwrap();
        let nonce: [u8; 12] = v.bytes("nonce").try_into().unwrap();
        let sealed = key
            .seal_with_nonce(flags, &tag, index, room, &nonce, &inner)
            .await
            .unwrap();
        assert_eq!(sealed, wire, "{}: seal", v.name);
    }
}

#[wasm_bindgen_test]
async fn refuses_the_python_refusals() {
    for v in REFUSED.map(vector) {
        let key = FrameKey::derive(&v.room_key()).await.unwrap();
        let got = key
            .open(&v.bytes("envelope"), v.index(), v.get("room"))
            .await;
        let want = v.get("error");
        match (want, got) {
            ("authentication", Err(CryptoError::Envelope(EnvelopeErrorKind::Authentication))) => {}
            (
                "truncated" | "unknown_flags" | "not_an_envelope",
                Err(CryptoError::Envelope(EnvelopeErrorKind::Layout(_))),
            ) => {}
            (want, got) => panic!("{}: expected {want}, got {got:?}", v.name),
        }
    }
}

#[wasm_bindgen_test]
async fn round_trip_with_fresh_nonces_and_tamper_rejection() {
    let room_key = generate_room_key().unwrap();
    let key = FrameKey::derive(&room_key).await.unwrap();
    let tag = new_message_tag().unwrap();
    let inner = vector(VALID[0]).bytes("inner");

    let a = key
        .seal(Flags::SINGLE, &tag, 0, "room", &inner)
        .await
        .unwrap();
    let b = key
        .seal(Flags::SINGLE, &tag, 0, "room", &inner)
        .await
        .unwrap();
    assert_eq!(a.len(), inner.len() + 46);
    assert_ne!(a[18..30], b[18..30], "every frame draws a fresh nonce");
    assert_eq!(key.open(&a, 0, "room").await.unwrap(), inner);
    assert_eq!(key.open(&b, 0, "room").await.unwrap(), inner);

    // Every single-bit change anywhere in the envelope is refused.
    for i in 0..a.len() {
        let mut bad = a.clone();
        bad[i] ^= 0x01;
        assert!(key.open(&bad, 0, "room").await.is_err(), "byte {i} changed");
    }
    // And so is another index, room or key.
    let auth = Err(CryptoError::Envelope(EnvelopeErrorKind::Authentication));
    assert_eq!(key.open(&a, 1, "room").await, auth);
    assert_eq!(key.open(&a, 0, "room2").await, auth);
    let other = FrameKey::derive(&generate_room_key().unwrap())
        .await
        .unwrap();
    assert_eq!(other.open(&a, 0, "room").await, auth);
}

#[wasm_bindgen_test]
async fn the_frame_key_cannot_be_exported() {
    let key = FrameKey::derive(&generate_room_key().unwrap())
        .await
        .unwrap();
    let crypto_key = key.crypto_key();
    assert!(!crypto_key.extractable());
    assert_eq!(crypto_key.type_(), "secret");
    let export = subtle().unwrap().export_key("raw", crypto_key).unwrap();
    assert!(JsFuture::from(export).await.is_err(), "raw export refused");
    // A key handed over as a CryptoKey (as to a worker) works the same.
    let again = FrameKey::from_crypto_key(crypto_key.clone()).unwrap();
    let sealed = key
        .seal(
            Flags::END,
            &[9; 16],
            3,
            "r",
            &vector(VALID[4]).bytes("inner"),
        )
        .await
        .unwrap();
    assert!(again.open(&sealed, 3, "r").await.is_ok());
}

#[wasm_bindgen_test]
fn a_missing_subtle_is_an_insecure_context() {
    // An insecure page's global: `crypto` (getRandomValues) without `subtle`.
    let global = Object::new();
    let crypto = Object::new();
    Reflect::set(&global, &"crypto".into(), &crypto).unwrap();
    assert_eq!(subtle_in(&global).err(), Some(CryptoError::InsecureContext));
    Reflect::set(&crypto, &"subtle".into(), &JsValue::UNDEFINED).unwrap();
    assert_eq!(subtle_in(&global).err(), Some(CryptoError::InsecureContext));
    assert_eq!(subtle_in(&Object::new()).err(), Some(CryptoError::NoCrypto));
    assert!(
        CryptoError::InsecureContext
            .to_string()
            .contains("secure context")
    );
    // The test page itself (http://127.0.0.1) is a secure context.
    assert!(subtle().is_ok());
}

#[wasm_bindgen_test]
fn fragment_keys_parse_strictly() {
    let v = vector(VALID[0]);
    let b64 = v.get("key_b64");
    assert_eq!(
        parse_fragment(&format!("#k={b64}&name=ann")),
        Ok(Some(v.room_key()))
    );
    assert_eq!(parse_fragment("#name=ann"), Ok(None));
    assert_eq!(parse_fragment(""), Ok(None));
    assert_eq!(
        parse_fragment(&format!("#k={}", &b64[1..])),
        Err(CryptoError::Key(KeyError::Length {
            len: 42,
            expected: 43
        }))
    );
    assert_eq!(
        parse_fragment(&format!("#k={b64}=")),
        Err(CryptoError::Key(KeyError::Length {
            len: 44,
            expected: 43
        }))
    );
    assert_eq!(
        parse_fragment(&format!("#k=+{}", &b64[1..])),
        Err(CryptoError::Key(KeyError::InvalidCharacter { offset: 0 }))
    );

    let fresh = generate_room_key().unwrap();
    let param = fragment_param(&fresh);
    assert_eq!(param.len(), 2 + 43);
    assert_eq!(parse_fragment(&param), Ok(Some(fresh.clone())));
    assert_ne!(generate_room_key().unwrap(), fresh);
}

/// A 4 MiB frame and one at the largest budget (16 MiB less the overhead) round-trip,
/// and so do 4 MiB in frames of the default budget; the time WebCrypto took is
/// logged, not asserted.
#[wasm_bindgen_test]
async fn seals_and_opens_a_large_frame() {
    let key = FrameKey::derive(&generate_room_key().unwrap())
        .await
        .unwrap();
    let performance = web_sys::window().unwrap().performance().unwrap();
    for len in [4 * 1024 * 1024, framechat_wire::MAX_INNER_LEN] {
        let inner: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let start = performance.now();
        let sealed = key
            .seal(Flags::MIDDLE, &[5; 16], 1, "room", &inner)
            .await
            .unwrap();
        let sealed_at = performance.now();
        let opened = key.open(&sealed, 1, "room").await.unwrap();
        let opened_at = performance.now();
        assert_eq!(sealed.len(), len + 46);
        assert!(opened == inner, "{len} bytes round-trip");
        gloo::console::log!(format!(
            "WebCrypto, {len} bytes: seal {:.1} ms, open {:.1} ms",
            sealed_at - start,
            opened_at - sealed_at
        ));
    }

    let inner = framechat_wire::inner_budget(framechat_wire::DEFAULT_FRAME_BUDGET).unwrap();
    let data: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let start = performance.now();
    let mut sealed = Vec::new();
    for (i, frame) in data.chunks(inner).enumerate() {
        let index = u32::try_from(i).unwrap();
        sealed.push(
            key.seal(Flags::MIDDLE, &[6; 16], index, "room", frame)
                .await
                .unwrap(),
        );
    }
    let sealed_at = performance.now();
    let mut opened = Vec::with_capacity(data.len());
    for (i, envelope) in sealed.iter().enumerate() {
        let index = u32::try_from(i).unwrap();
        opened.extend(key.open(envelope, index, "room").await.unwrap());
    }
    let opened_at = performance.now();
    assert!(
        opened == data,
        "4 MiB in {} frames round-trip",
        sealed.len()
    );
    gloo::console::log!(format!(
        "WebCrypto, 4 MiB in {} frames of the default budget: seal {:.1} ms, open {:.1} ms",
        sealed.len(),
        sealed_at - start,
        opened_at - sealed_at
    ));
}
