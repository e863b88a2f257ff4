//! Browser tests of the kept chat (`framechat::store`, its IndexedDB side in
//! `src/store/idb.js`) on the browser's real IndexedDB: write and read back with and without a
//! room key, an own message's attachments as byte views, a second write of an id, pending
//! messages in order and confirmed, eviction by count and by bytes, a corrupt record skipped,
//! quota exceeded, no IndexedDB, usage and clear, and the JS store key against the Rust one.
//! (The upgrade of an older database is `store_upgrade.rs`: a page of its own, since it
//! deletes the database these tests share.)
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown \
//!       -p framechat --test store`
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use framechat::AppError;
use framechat::platform::webcrypto::{FrameKey, derive_store_key, generate_room_key};
use framechat::state::Keep;
use framechat::store::{Loaded, Store, finish};
use framechat_wire::{
    Attachment, Flags, Frame, Header, MessageHeader, RoomKey, Uuid, inner_budget, plan, write_frame,
};
use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::Blob;

wasm_bindgen_test_configure!(run_in_browser);

fn blob(bytes: &[u8]) -> Blob {
    Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(bytes))).unwrap()
}

/// Message `n`: id and time from `n`, with a `media`-byte attachment (bytes `n`) when
/// `media > 0`.
fn message(n: u32, text: &str, media: usize) -> (MessageHeader, Array) {
    let files = if media == 0 {
        Vec::new()
    } else {
        vec![Attachment {
            name: format!("p{n}.png"),
            mime: "image/png".into(),
            size: media as u64,
            width: Some(3),
            height: Some(2),
            removed: vec!["location".into()],
            thumb: None,
        }]
    };
    let blobs = Array::new();
    if media > 0 {
        blobs.push(&blob(&vec![n as u8; media]));
    }
    let header = MessageHeader {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(n)),
        from: "ada".into(),
        ts: 1_000 + u64::from(n),
        text: text.into(),
        files,
    };
    (header, blobs)
}

/// A room of its own for each test (they share the page's database).
async fn open(room: &str, key: Option<&RoomKey>, keep: Keep) -> Store {
    Store(finish(Store::open(room, key, keep)).await.unwrap())
}

async fn put(store: &Store, n: u32, text: &str, media: usize, seq: Option<u64>) {
    let (header, blobs) = message(n, text, media);
    finish(store.put(&header, blobs, seq)).await.unwrap();
}

/// A kept frame's header and payload.
fn read(frame: &Uint8Array) -> (MessageHeader, Vec<u8>) {
    let bytes = frame.to_vec();
    let frame = Frame::decode(&bytes).unwrap();
    let Header::Msg(header) = frame.header else {
        panic!("not a msg frame");
    };
    (header, frame.payload.to_vec())
}

fn texts(frames: &[Uint8Array]) -> Vec<String> {
    frames.iter().map(|f| read(f).0.text).collect()
}

/// Runs a piece of JS (to patch or restore the page's APIs, or to reach IndexedDB directly).
async fn js(code: &str) -> JsValue {
    let f = js_sys::Function::new_no_args(&format!("return (async () => {{ {code} }})();"));
    JsFuture::from(js_sys::Promise::from(f.call0(&JsValue::NULL).unwrap()))
        .await
        .unwrap()
}

/// Every record of the messages store (`room|id|frame` lines, the frame's bytes as Latin-1
/// characters, for searching); only room `only`'s records when given.
async fn raw_records(only: Option<&str>) -> String {
    let code = "const db = await new Promise((ok) => { const q = indexedDB.open('framechat'); q.onsuccess = () => ok(q.result); });
        const all = await new Promise((ok) => { const q = db.transaction('messages').objectStore('messages').getAll(); q.onsuccess = () => ok(q.result); });
        db.close();
        let out = '';
        for (const v of all.filter((v) => ONLY === null || v.r === ONLY)) {
          const f = v.f instanceof Blob ? new Uint8Array(await v.f.arrayBuffer()) : v.f;
          out += v.r + '|' + v.id + '|';
          for (let i = 0; i < f.length; i += 32768) out += String.fromCharCode(...f.subarray(i, i + 32768));
          out += '\\n';
        }
        return out;";
    let only = only.map_or("null".into(), |r| format!("{r:?}"));
    js(&code.replace("ONLY", &only)).await.as_string().unwrap()
}

#[wasm_bindgen_test]
async fn write_and_read_back_as_whole_frames() {
    let store = open("plain", None, Keep::default()).await;
    put(&store, 1, "first", 0, None).await;
    put(&store, 2, "with a picture", 300, None).await;
    put(&store, 3, "third", 0, None).await;
    let loaded = store.load().await.unwrap();
    assert_eq!(texts(&loaded.recent), ["first", "with a picture", "third"]);
    assert!(loaded.pending.is_empty());
    assert_eq!(loaded.skipped, 0);
    let (header, payload) = read(&loaded.recent[1]);
    assert_eq!(
        header,
        message(2, "with a picture", 300).0,
        "the header as it was"
    );
    assert_eq!(payload, vec![2u8; 300], "the attachment's bytes");
    // Plain rooms keep plain records, filed under the room's name.
    let raw = raw_records(Some("plain")).await;
    assert!(raw.contains("with a picture"));
    // A text's record holds its own bytes, not a view of the WebAssembly's memory (which
    // IndexedDB would clone whole into every record).
    let sizes = js("const db = await new Promise((ok) => { const q = indexedDB.open('framechat'); q.onsuccess = () => ok(q.result); });
        const all = await new Promise((ok) => { const q = db.transaction('messages').objectStore('messages').getAll(IDBKeyRange.bound(['plain'], ['plain', []])); q.onsuccess = () => ok(q.result); });
        db.close();
        return all.filter((v) => v.f instanceof Uint8Array).map((v) => v.f.buffer.byteLength - v.f.byteLength).join(',');")
    .await;
    assert_eq!(sizes.as_string().as_deref(), Some("0,0"));
}

#[wasm_bindgen_test]
async fn with_a_room_key_nothing_is_readable_and_another_key_reads_nothing() {
    let key = generate_room_key().unwrap();
    let store = open("sealed room", Some(&key), Keep::default()).await;
    put(&store, 1, "a secret text", 0, None).await;
    put(&store, 2, "a secret picture", 64, None).await;
    let loaded = store.load().await.unwrap();
    assert_eq!(texts(&loaded.recent), ["a secret text", "a secret picture"]);
    assert_eq!(read(&loaded.recent[1]).1, vec![2u8; 64]);
    // Filed under the pseudonym the Rust derivation gives (both sides derive it alike).
    let label = Reflect::get(&store.0, &"r".into()).unwrap().as_string();
    let rust = derive_store_key(&key).await.unwrap();
    assert_eq!(label.as_deref(), Some(rust.label()));
    assert!(raw_records(Some("sealed room")).await.is_empty());
    let raw = raw_records(Some(rust.label())).await;
    assert_eq!(raw.matches(&format!("{}|", rust.label())).count(), 2);
    for clear in ["a secret", "sealed room", "ada", "p2.png"] {
        assert!(!raw.contains(clear), "{clear:?} readable in {raw:?}");
    }
    // Another key files elsewhere, and reads nothing of these.
    let other = open(
        "sealed room",
        Some(&generate_room_key().unwrap()),
        Keep::default(),
    )
    .await;
    assert!(other.load().await.unwrap().recent.is_empty());
}

#[wasm_bindgen_test]
async fn own_attachments_as_byte_views_are_kept_sealed_and_read_back_whole() {
    // What the sender hands over: views into larger buffers (the scrubber's output), two
    // parts of one attachment and a second attachment, in a sealed room and a plain one.
    let backing = Uint8Array::from(
        (0..=255u8)
            .cycle()
            .take(5_000)
            .collect::<Vec<_>>()
            .as_slice(),
    );
    let parts = [
        backing.subarray(7, 1_007),
        backing.subarray(2_000, 2_500),
        backing.subarray(4_000, 4_300),
    ];
    let expected: Vec<u8> = parts.iter().flat_map(|p| p.to_vec()).collect();
    let (mut header, _) = message(9, "views", 1_500);
    let mut second = header.files[0].clone();
    second.name = "q9.png".into();
    second.size = 300;
    header.files.push(second);
    let key = generate_room_key().unwrap();
    for (room, key) in [("views sealed", Some(&key)), ("views", None)] {
        let store = open(room, key, Keep::default()).await;
        finish(store.put(&header, parts.iter().collect(), Some(1)))
            .await
            .unwrap();
        let loaded = store.load().await.unwrap();
        assert_eq!(loaded.pending.len(), 1, "{room}");
        let (back, payload) = read(&loaded.pending[0]);
        assert_eq!(back, header, "{room}");
        assert_eq!(payload, expected, "{room}: every byte, in order");
        // The views' buffers are the sender's: left as they were.
        assert_eq!(backing.length(), 5_000);
    }
    // Sealed: one opaque record, the attachment's bytes nowhere in it.
    let label = derive_store_key(&key).await.unwrap().label().to_owned();
    let raw = raw_records(Some(&label)).await;
    let clear: String = expected[..64].iter().map(|&b| char::from(b)).collect();
    assert!(raw.starts_with(&label) && !raw.contains(&clear) && !raw.contains("views"));
}

#[wasm_bindgen_test]
async fn a_private_message_kept_as_sent_reads_back_whole_and_a_tampered_one_is_skipped() {
    // What the socket worker seals to send and the store keeps (Store::put_kept): every frame
    // of the message in its envelope, each after its length.
    let key = generate_room_key().unwrap();
    let frame_key = FrameKey::derive(&key).await.unwrap();
    let room = "kept as sent";
    let (header, _) = message(21, "as sent", 600_000);
    let payload: Vec<u8> = (0..600_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let frames = plan(&header, inner_budget(256 * 1024).unwrap()).unwrap();
    assert_eq!(frames.len(), 3);
    let tag = [9u8; 16];
    let mut envelopes = Vec::new();
    for (index, f) in (0u32..).zip(&frames) {
        let range = f.range.start as usize..f.range.end as usize;
        let mut bytes = Vec::new();
        write_frame(&f.header, &[&payload[range.clone()]], &mut bytes).unwrap();
        let flags = Flags::of_header(&f.header, range.len() as u64).unwrap();
        let inner = Uint8Array::from(bytes.as_slice());
        let sealed = frame_key.seal_view(flags, &tag, index, room, &inner).await;
        envelopes.push(sealed.unwrap().to_vec());
    }
    let record = |envelopes: &[Vec<u8>]| {
        let mut out = Vec::new();
        for e in envelopes {
            out.extend_from_slice(&(e.len() as u32).to_le_bytes());
            out.extend_from_slice(e);
        }
        blob(&out)
    };
    let store = open(room, Some(&key), Keep::default()).await;
    finish(store.put_kept(&header, &record(&envelopes), Some(1)))
        .await
        .unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!((loaded.skipped, loaded.pending.len()), (0, 1));
    let (back, bytes) = read(&loaded.pending[0]);
    assert_eq!(back, header);
    assert!(bytes == payload, "the whole message, every byte in order");
    // Nothing of it in the clear; the room is filed under its pseudonym.
    let label = derive_store_key(&key).await.unwrap().label().to_owned();
    let raw = raw_records(Some(&label)).await;
    assert!(raw.starts_with(&label) && !raw.contains("as sent") && !raw.contains("p21.png"));

    // One ciphertext byte changed, two envelopes swapped, the last one gone: each skipped.
    let mut flipped = envelopes.clone();
    flipped[1][100] ^= 1;
    let mut swapped = envelopes.clone();
    swapped.swap(0, 1);
    let cut = envelopes[..2].to_vec();
    for (n, bad) in [(22, flipped), (23, swapped), (24, cut)] {
        let (other, _) = message(n, "tampered", 0);
        finish(store.put_kept(&other, &record(&bad), None))
            .await
            .unwrap();
    }
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.skipped, 3);
    assert_eq!((loaded.recent.len(), loaded.pending.len()), (0, 1));
}

#[wasm_bindgen_test]
async fn a_second_write_of_an_id_replaces_the_first() {
    let store = open("twice", None, Keep::default()).await;
    put(&store, 1, "once", 0, None).await;
    put(&store, 1, "once", 0, Some(7)).await;
    let loaded = store.load().await.unwrap();
    assert!(
        loaded.recent.is_empty(),
        "pending, so not in the history's list"
    );
    assert_eq!(texts(&loaded.pending), ["once"]);
}

#[wasm_bindgen_test]
async fn pending_messages_come_back_in_the_order_sent_until_confirmed() {
    let store = open(
        "pending",
        None,
        Keep {
            messages: 1,
            bytes: 10,
        },
    )
    .await;
    // Sent in the order 3, 1, 2 (their sequence numbers), with attachments over the byte cap
    // and more of them than the count: pending ones are never evicted.
    put(&store, 3, "third sent first", 100, Some(1)).await;
    put(&store, 1, "then this", 100, Some(2)).await;
    put(&store, 2, "then that", 0, Some(3)).await;
    put(&store, 9, "someone else's", 0, None).await;
    let loaded = store.load().await.unwrap();
    assert_eq!(
        texts(&loaded.pending),
        ["third sent first", "then this", "then that"]
    );
    assert_eq!(texts(&loaded.recent), ["someone else's"]);
    // Confirmed: they stay in the history, no longer pending, and are evicted as any other.
    let ids = [message(3, "", 0).0.id, message(1, "", 0).0.id];
    finish(store.sent(&ids, false)).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(texts(&loaded.pending), ["then that"]);
    assert_eq!(texts(&loaded.recent), ["someone else's"], "newest one only");
    // Cancelled: not pending, and not kept at all.
    finish(store.sent(&[message(2, "", 0).0.id], true))
        .await
        .unwrap();
    assert!(store.load().await.unwrap().pending.is_empty());
    let raw = raw_records(Some("pending")).await;
    assert!(
        raw.contains("then this") && !raw.contains("then that"),
        "{raw}"
    );
}

#[wasm_bindgen_test]
async fn the_oldest_messages_past_the_count_are_evicted() {
    let store = open(
        "count",
        None,
        Keep {
            messages: 3,
            bytes: 1 << 30,
        },
    )
    .await;
    for n in 1..=5 {
        put(&store, n, &format!("m{n}"), 0, None).await;
    }
    assert_eq!(
        texts(&store.load().await.unwrap().recent),
        ["m3", "m4", "m5"]
    );
    // Gone from the database, not only from what is shown.
    assert_eq!(stored("count").await, 3.0);
}

/// How many messages records room `room` has.
async fn stored(room: &str) -> f64 {
    js(&format!(
        "const db = await new Promise((ok) => {{ const q = indexedDB.open('framechat'); q.onsuccess = () => ok(q.result); }});
         const n = await new Promise((ok) => {{ const q = db.transaction('messages').objectStore('messages').count(IDBKeyRange.bound(['{room}'], ['{room}', []])); q.onsuccess = () => ok(q.result); }});
         db.close();
         return n;"
    ))
    .await
    .as_f64()
    .unwrap()
}

#[wasm_bindgen_test]
async fn past_the_byte_cap_the_oldest_attachments_go_and_their_messages_text_stays() {
    let gone = |text: &str, n: u32| format!("{text}\n[p{n}.png: no longer kept in this browser]");
    let mut sealed_label = None;
    for key in [None, Some(generate_room_key().unwrap())] {
        let room = if key.is_some() {
            "bytes sealed"
        } else {
            "bytes"
        };
        let store = open(
            room,
            key.as_ref(),
            Keep {
                messages: 100,
                bytes: 250,
            },
        )
        .await;
        put(&store, 1, "old picture", 100, None).await;
        put(&store, 2, "old text", 0, None).await;
        put(&store, 3, "picture", 100, None).await;
        put(&store, 4, "new picture", 100, None).await;
        let loaded = store.load().await.unwrap();
        assert_eq!(
            texts(&loaded.recent),
            [
                gone("old picture", 1).as_str(),
                "old text",
                "picture",
                "new picture"
            ],
            "{room}"
        );
        let (first, payload) = read(&loaded.recent[0]);
        assert!(
            first.files.is_empty() && payload.is_empty(),
            "{room}: {first:?}"
        );
        assert_eq!(
            read(&loaded.recent[3]).1,
            vec![4u8; 100],
            "{room}: kept whole"
        );
        // A message over the cap by itself keeps its text only, and so do the older ones.
        put(&store, 5, "", 1_000, None).await;
        assert_eq!(
            texts(&store.load().await.unwrap().recent),
            [
                gone("old picture", 1),
                "old text".into(),
                gone("picture", 3),
                gone("new picture", 4),
                "[p5.png: no longer kept in this browser]".into(),
            ],
            "{room}"
        );
        if key.is_some() {
            sealed_label = Reflect::get(&store.0, &"r".into()).unwrap().as_string();
        }
    }
    // Sealed, the text-only records reveal nothing either.
    let sealed = raw_records(sealed_label.as_deref()).await;
    assert!(sealed.starts_with(sealed_label.as_deref().unwrap_or("?")));
    assert!(!sealed.contains("no longer kept") && !sealed.contains("picture"));
}

#[wasm_bindgen_test]
async fn a_corrupt_record_is_skipped_and_counted() {
    let store = open("corrupt", None, Keep::default()).await;
    put(&store, 1, "good", 0, None).await;
    put(&store, 2, "garbled", 0, None).await;
    put(&store, 3, "not ours", 0, None).await;
    put(&store, 4, "also good", 0, None).await;
    js("const db = await new Promise((ok) => { const q = indexedDB.open('framechat'); q.onsuccess = () => ok(q.result); });
        const tx = db.transaction('messages', 'readwrite');
        const s = tx.objectStore('messages');
        const all = await new Promise((ok) => { const q = s.getAll(IDBKeyRange.bound(['corrupt'], ['corrupt', []])); q.onsuccess = () => ok(q.result); });
        const f = all[1].f.slice(); f[5] ^= 0xff; f[6] = 0;
        s.put({ ...all[1], f });
        s.put({ ...all[2], f: 'not a frame' });
        await new Promise((ok) => { tx.oncomplete = ok; });
        db.close();")
    .await;
    let Loaded {
        recent, skipped, ..
    } = store.load().await.unwrap();
    // The garbled frame reads back as bytes, and the connection's frame parser turns it down
    // (a notice) like any bad frame; the record that is not a frame is skipped here.
    assert_eq!(skipped, 1);
    assert_eq!(recent.len(), 3);
    assert!(Frame::decode(&recent[1].to_vec()).is_err());
    assert_eq!(
        texts(&[recent[0].clone(), recent[2].clone()]),
        ["good", "also good"]
    );
}

#[wasm_bindgen_test]
async fn quota_exceeded_is_a_typed_error_and_nothing_is_half_written() {
    let store = open("quota", None, Keep::default()).await;
    put(&store, 1, "before", 0, None).await;
    js("globalThis.__put = Object.getOwnPropertyDescriptor(IDBObjectStore.prototype, 'put');
        const put = globalThis.__put.value;
        IDBObjectStore.prototype.put = function (value) {
          // The pending record (no frame of its own) is over quota.
          if (value && value.r === 'quota' && !('f' in value)) throw new DOMException('simulated', 'QuotaExceededError');
          return put.apply(this, arguments);
        };")
    .await;
    // The message record goes in, its pending record does not: neither is kept.
    let (header, blobs) = message(2, "lost", 10);
    let full = finish(store.put(&header, blobs, Some(1))).await;
    js("Object.defineProperty(IDBObjectStore.prototype, 'put', globalThis.__put);").await;
    assert!(matches!(full, Err(AppError::StoreFull)), "{full:?}");
    assert_eq!(
        full.unwrap_err().to_string(),
        "the browser's storage for this site is full"
    );
    let loaded = store.load().await.unwrap();
    assert_eq!(texts(&loaded.recent), ["before"]);
    assert!(loaded.pending.is_empty());
    put(&store, 3, "after", 0, None).await;
    assert_eq!(
        texts(&store.load().await.unwrap().recent),
        ["before", "after"]
    );
}

#[wasm_bindgen_test]
async fn no_indexeddb_or_a_refused_open_is_an_error_not_a_throw() {
    js("globalThis.__idb = Object.getOwnPropertyDescriptor(window, 'indexedDB');
        Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true, writable: true });")
    .await;
    let missing = finish(Store::open("none", None, Keep::default())).await;
    js(
        "if (globalThis.__idb) Object.defineProperty(window, 'indexedDB', globalThis.__idb);
        else delete window.indexedDB;",
    )
    .await;
    assert!(matches!(missing, Err(AppError::Store(_))), "{missing:?}");

    js("globalThis.__open = Object.getOwnPropertyDescriptor(IDBFactory.prototype, 'open');
        IDBFactory.prototype.open = function () { throw new DOMException('simulated', 'SecurityError'); };")
    .await;
    let refused = finish(Store::open("none", None, Keep::default())).await;
    js("Object.defineProperty(IDBFactory.prototype, 'open', globalThis.__open);").await;
    let Err(AppError::Store(why)) = refused else {
        panic!("{refused:?}");
    };
    assert!(why.contains("SecurityError"), "{why}");
    // Restored: it opens again.
    assert!(
        finish(Store::open("none", None, Keep::default()))
            .await
            .is_ok()
    );
}

#[wasm_bindgen_test]
async fn usage_counts_a_room_and_clear_forgets_only_it() {
    let a = open("usage a", None, Keep::default()).await;
    let b = open("usage b", None, Keep::default()).await;
    put(&a, 1, "text", 0, None).await;
    put(&a, 2, "picture", 5_000, Some(1)).await;
    put(&b, 3, "other room", 0, None).await;
    let usage = |s: &Store| {
        let op = s.usage();
        async move { finish(op).await.unwrap().as_f64().unwrap() as u64 }
    };
    let before = usage(&a).await;
    assert!((5_000..6_000).contains(&before), "{before}");
    finish(a.clear()).await.unwrap();
    assert_eq!(usage(&a).await, 0);
    let loaded = a.load().await.unwrap();
    assert!(loaded.recent.is_empty() && loaded.pending.is_empty());
    assert_eq!(texts(&b.load().await.unwrap().recent), ["other room"]);
}
