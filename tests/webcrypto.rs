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

/// Wait (with a deadline, polling every 10 ms) until `cond` holds.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = js_sys::Date::now() + 30_000.0;
    while !cond() {
        assert!(
            js_sys::Date::now() < deadline,
            "timed out waiting for {what}"
        );
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
}

/// The socket worker seals a private room's frames itself (src/net/socket_worker.js): what it
/// puts on the wire, caught by a bare WebSocket in the same relay room, opens with the Rust
/// opener at the index the protocol gives each frame, and is byte for byte what the Rust
/// sealer makes of the same frame with the same nonce; every frame has a nonce of its own.
/// The room name is not ASCII, so its UTF-8 length is what the additional data binds.
#[wasm_bindgen_test]
async fn the_socket_worker_seals_what_the_rust_opener_opens() {
    use std::cell::RefCell;
    use std::collections::{HashMap, HashSet};
    use std::rc::Rc;

    use framechat::media::{self, Picked};
    use framechat::net::private::PrivateRoom;
    use framechat::net::{Client, LinkKind, NetConfig};
    use framechat::state::{Action, Conn};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Some(base) = option_env!("FRAMECHAT_TEST_WS") else {
        panic!("set FRAMECHAT_TEST_WS=ws://127.0.0.1:PORT/ws/chat/ at build time");
    };
    let url = format!(
        "{base}{}/",
        new_message_tag()
            .unwrap()
            .map(|b| format!("{b:02x}"))
            .concat()
    );
    let room = "café ☕ — Zürich";
    let key = FrameKey::derive(&generate_room_key().unwrap())
        .await
        .unwrap();

    // The bare socket: every binary message, as bytes.
    let caught = Rc::new(RefCell::new(Vec::<Vec<u8>>::new()));
    let bare = web_sys::WebSocket::new(&url).unwrap();
    bare.set_binary_type(web_sys::BinaryType::Arraybuffer);
    let on_message = {
        let caught = caught.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            if let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() {
                caught
                    .borrow_mut()
                    .push(js_sys::Uint8Array::new(&buf).to_vec());
            }
        })
    };
    bare.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    wait_for("the bare socket open", || {
        bare.ready_state() == web_sys::WebSocket::OPEN
    })
    .await;

    let actions = Rc::new(RefCell::new(Vec::<Action>::new()));
    let callback = {
        let actions = actions.clone();
        yew::Callback::from(move |a| match a {
            Action::Batch(batch) => actions.borrow_mut().extend(batch),
            a => actions.borrow_mut().push(a),
        })
    };
    let client = Client::connect(
        NetConfig {
            url: url.clone(),
            frame_budget: 64 * 1024,
            max_message_bytes: 64 << 20,
            link: LinkKind::WebSocket { worker: true },
            private: Some(PrivateRoom {
                key: key.clone(),
                room: room.into(),
            }),
        },
        callback,
        None,
    );
    wait_for("online", || {
        actions
            .borrow()
            .iter()
            .any(|a| matches!(a, Action::Conn(Conn::Online)))
    })
    .await;
    assert!(client.in_worker(), "the socket worker carries the room");

    // A text (one frame) and a 200 kB file (a msg frame, two middle chunks and a last one).
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(data.as_slice()));
    let file = web_sys::File::new_with_u8_array_sequence(&parts, "data.bin").unwrap();
    let prepared = media::prepare(Picked::from(file), 1, 1 << 30, None).await;
    client.send("ann", "one frame".into(), &[]).unwrap();
    client
        .send("ann", "four frames".into(), &[prepared.to_send().unwrap()])
        .unwrap();

    let sealed = |m: &Vec<u8>| m.first() == Some(&0xFD);
    let ends = |caught: &[Vec<u8>]| {
        caught
            .iter()
            .filter(|m| sealed(m) && m[1] & Flags::ENDS_BIT != 0)
            .count()
    };
    wait_for("both messages on the wire", || ends(&caught.borrow()) == 2).await;

    let envelopes: Vec<Vec<u8>> = caught
        .borrow()
        .iter()
        .filter(|m| sealed(m))
        .cloned()
        .collect();
    let flags: Vec<u8> = envelopes.iter().map(|e| e[1]).collect();
    assert_eq!(flags.len(), 5, "envelopes' flags {flags:?}");
    for (bits, want) in [(0x03, 1), (0x01, 1), (0x00, 2), (0x02, 1)] {
        assert_eq!(
            flags.iter().filter(|&&f| f == bits).count(),
            want,
            "{flags:?}"
        );
    }
    let mut next: HashMap<[u8; 16], u32> = HashMap::new();
    let mut nonces = HashSet::new();
    let mut payload = 0;
    for envelope in &envelopes {
        let flags = Flags::from_bits(envelope[1]).unwrap();
        let tag: [u8; 16] = envelope[2..18].try_into().unwrap();
        let nonce: [u8; 12] = envelope[18..30].try_into().unwrap();
        assert!(nonces.insert(nonce), "a nonce used twice");
        let index = if flags.begins() { 0 } else { next[&tag] };
        next.insert(tag, index + 1);
        let inner = key.open(envelope, index, room).await.unwrap();
        let frame = decode_inner(flags, &inner).unwrap();
        payload += frame.payload.len();
        let resealed = key
            .seal_with_nonce(flags, &tag, index, room, &nonce, &inner)
            .await
            .unwrap();
        assert!(
            &resealed == envelope,
            "the Rust sealer's bytes, frame {index}"
        );
    }
    assert_eq!(next.len(), 2, "one tag per message");
    assert_eq!(payload, data.len(), "the file's bytes, all of them");
    client.close();
    bare.set_onmessage(None);
    bare.close().unwrap();
}

/// What the opener reports, in order: "frame", "notice", or the bytes of an `Arrived`.
#[derive(Debug, PartialEq)]
enum Reported {
    Frame,
    Notice,
    Arrived(Vec<u8>),
}

/// A message with one attachment of `total` bytes, planned at `budget`, each frame sealed under
/// `tag` at its index: the envelopes.
async fn sealed_message(key: &FrameKey, room: &str, tag: [u8; 16], total: u64) -> Vec<Vec<u8>> {
    use framechat_wire::{Attachment, MessageHeader, Uuid, plan, write_frame};
    let header = MessageHeader {
        id: Uuid::from_bytes(new_message_tag().unwrap()),
        from: "ann".into(),
        ts: 1,
        text: "as it came".into(),
        files: vec![Attachment {
            name: "a.bin".into(),
            mime: "application/octet-stream".into(),
            size: total,
            width: None,
            height: None,
            removed: Vec::new(),
            thumb: None,
        }],
    };
    let data: Vec<u8> = (0..total).map(|i| (i % 249) as u8).collect();
    let mut envelopes = Vec::new();
    for (index, frame) in (0u32..).zip(plan(&header, 16 * 1024).unwrap()) {
        let payload = &data[frame.range.start as usize..frame.range.end as usize];
        let mut inner = Vec::new();
        write_frame(&frame.header, &[payload], &mut inner).unwrap();
        let flags = Flags::of_header(&frame.header, payload.len() as u64).unwrap();
        envelopes.push(key.seal(flags, &tag, index, room, &inner).await.unwrap());
    }
    envelopes
}

/// Feeds `envelopes` to an opener that gathers up to `gather` bytes; what it reported.
async fn opened(key: &FrameKey, room: &str, gather: u64, envelopes: &[Vec<u8>]) -> Vec<Reported> {
    use std::cell::RefCell;
    use std::rc::Rc;

    use framechat::net::link::LinkEvent;
    use framechat::net::private::{Opener, PrivateRoom};

    let reported = Rc::new(RefCell::new(Vec::new()));
    let out = {
        let reported = reported.clone();
        Rc::new(move |event: LinkEvent| {
            reported.borrow_mut().push(match event {
                LinkEvent::Frame(_) => Reported::Frame,
                LinkEvent::Notice(_) => Reported::Notice,
                LinkEvent::Arrived(parts) => Reported::Arrived(
                    parts
                        .iter()
                        .flat_map(|p| js_sys::Uint8Array::new(&p).to_vec())
                        .collect(),
                ),
                _ => panic!("an event the opener does not make"),
            });
        })
    };
    let room = PrivateRoom {
        key: key.clone(),
        room: room.into(),
    };
    let events = Opener::wrap(room, gather, out);
    for envelope in envelopes {
        events(LinkEvent::Frame(
            js_sys::Uint8Array::from(envelope.as_slice()).buffer(),
        ));
    }
    let count = envelopes.len();
    wait_for("every frame reported", || {
        reported
            .borrow()
            .iter()
            .filter(|r| !matches!(r, Reported::Arrived(_)))
            .count()
            >= count
    })
    .await;
    reported.take()
}

/// As the store keeps them: each envelope after its length (u32, little-endian).
fn laid_out(envelopes: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in envelopes {
        out.extend_from_slice(&(e.len() as u32).to_le_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// A received private message is handed on as the envelopes it came in, right before the frame
/// that ends it, for the store to keep as they are: a resend starts them again, a frame that
/// does not open ends them, and none are gathered past the bound or without a store.
#[wasm_bindgen_test]
async fn the_opener_hands_on_a_message_as_the_envelopes_it_came_in() {
    use Reported::{Arrived, Frame, Notice};
    let key = FrameKey::derive(&generate_room_key().unwrap())
        .await
        .unwrap();
    let room = "gathered";
    let tag = new_message_tag().unwrap();
    let message = sealed_message(&key, room, tag, 40_000).await;
    assert_eq!(message.len(), 3, "a msg frame and two chunks");
    let whole = laid_out(&message);

    let got = opened(&key, room, 1 << 20, &message).await;
    assert_eq!(got, [Frame, Frame, Arrived(whole.clone()), Frame]);

    // Sent again from its start (after a reconnect): only the second sending's.
    let mut resent = message[..2].to_vec();
    resent.extend(message.iter().cloned());
    let got = opened(&key, room, 1 << 20, &resent).await;
    assert_eq!(got.iter().filter(|r| **r == Frame).count(), 5);
    assert_eq!(got[got.len() - 2], Arrived(whole.clone()));
    assert_eq!(got.iter().filter(|r| matches!(r, Arrived(_))).count(), 1);

    // A middle frame tampered with: a notice, and the message is not handed on.
    let mut tampered = message.clone();
    let last = tampered[1].len() - 1;
    tampered[1][last] ^= 1;
    let got = opened(&key, room, 1 << 20, &tampered).await;
    assert_eq!(got, [Frame, Notice, Frame]);

    // Past the bound, or with nothing kept (0): the frames alone.
    let got = opened(&key, room, whole.len() as u64 - 1, &message).await;
    assert_eq!(got, [Frame, Frame, Frame]);
    let got = opened(&key, room, 0, &message).await;
    assert_eq!(got, [Frame, Frame, Frame]);
    let got = opened(&key, room, whole.len() as u64, &message).await;
    assert_eq!(got, [Frame, Frame, Arrived(whole), Frame]);
}
