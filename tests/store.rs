//! Browser tests of the kept chat (`framechat::store`) on the browser's real IndexedDB: write
//! and read back with and without a store key, dedupe, eviction by count and by bytes, a
//! corrupt record skipped, quota exceeded, no IndexedDB, clear and usage, and the time to read
//! the last 200 messages.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown \
//!       -p framechat --test store`
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use framechat::AppError;
use framechat::platform::idb::{self, Mode, Tx};
use framechat::platform::webcrypto::{StoreKey, derive_store_key, generate_room_key};
use framechat::store::{
    DB_NAME, DB_VERSION, Limits, MESSAGES, PENDING, PendingMessage, RoomStore, Store, StoredFile,
    StoredMessage,
};
use framechat_wire::{Attachment, MessageHeader, Uuid};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::Blob;

wasm_bindgen_test_configure!(run_in_browser);

fn blob(bytes: &[u8]) -> Blob {
    Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(bytes))).unwrap()
}

async fn bytes_of(blob: &Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer()).await.unwrap();
    Uint8Array::new(&buffer).to_vec()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn attachment(name: &str, size: usize) -> Attachment {
    Attachment {
        name: name.into(),
        mime: "image/png".into(),
        size: size as u64,
        width: Some(3),
        height: Some(2),
        removed: vec!["location".into()],
        thumb: None,
    }
}

/// Message `n` of a test: id derived from `n`, time `1000 + n`, with a `media`-byte picture
/// when `media > 0`.
fn message(n: u32, text: &str, media: usize) -> StoredMessage {
    let files = if media == 0 {
        Vec::new()
    } else {
        vec![StoredFile {
            meta: attachment(&format!("p{n}.png"), media),
            blob: Some(blob(&vec![n as u8; media]).into()),
        }]
    };
    StoredMessage {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(n)),
        ts: 1_000 + u64::from(n),
        from: "ada".into(),
        text: text.into(),
        own: n % 2 == 0,
        files,
    }
}

async fn open(limits: Limits) -> Store {
    Store::open(limits).await.unwrap()
}

async fn store_key() -> StoreKey {
    derive_store_key(&generate_room_key().unwrap())
        .await
        .unwrap()
}

/// Runs a piece of JS (to patch or restore the page's APIs).
fn js(code: &str) {
    js_sys::Function::new_no_args(code)
        .call0(&JsValue::NULL)
        .unwrap();
}

async fn check_round_trip(room: &RoomStore) {
    let sent = [
        message(1, "first", 0),
        message(2, "with a picture", 300),
        message(3, "third", 0),
    ];
    // Out of order on purpose: the history is ordered by time.
    for i in [2, 0, 1] {
        room.put_message(&sent[i]).await.unwrap();
    }
    let got = room.recent(10).await.unwrap();
    assert_eq!(got.skipped, 0);
    let ids: Vec<Uuid> = got.items.iter().map(|m| m.id).collect();
    assert_eq!(ids, sent.iter().map(|m| m.id).collect::<Vec<_>>());
    let pic = &got.items[1];
    assert_eq!(
        (pic.ts, pic.from.as_str(), pic.text.as_str(), pic.own),
        (1002, "ada", "with a picture", true)
    );
    assert_eq!(pic.files.len(), 1);
    assert_eq!(pic.files[0].meta, sent[1].files[0].meta);
    let kept = pic.files[0].blob.as_ref().expect("the picture is kept");
    let back = kept.open().await.expect("it opens");
    assert_eq!(back.type_(), "image/png");
    assert_eq!(bytes_of(&back).await, vec![2u8; 300]);
    // A message read back and kept again (its text edited, say) keeps its picture.
    let mut again = pic.clone();
    again.text = "edited".into();
    room.put_message(&again).await.unwrap();
    let reread = room.recent(10).await.unwrap().items;
    assert_eq!(reread[1].text, "edited");
    let reopened = reread[1].files[0]
        .blob
        .as_ref()
        .unwrap()
        .open()
        .await
        .unwrap();
    assert_eq!(bytes_of(&reopened).await, vec![2u8; 300]);
    // The newest two only.
    let last = room.recent(2).await.unwrap();
    assert_eq!(
        last.items.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[1..]
    );

    // Pending: in the order sent, whatever the order written; removal.
    let pending = |seq: u64, n: u32, blobs: Vec<Blob>| {
        let files = blobs.iter().map(|_| attachment("a.bin", 5)).collect();
        PendingMessage {
            seq,
            header: MessageHeader {
                id: Uuid::from_u128(0x0190_0000_0000_7000_9000_0000_0000_0000 + u128::from(n)),
                from: "ada".into(),
                ts: 5_000 - u64::from(n),
                text: format!("pending {n}"),
                files,
            },
            blobs,
        }
    };
    let (a, b, c) = (
        pending(7, 1, vec![]),
        pending(8, 2, vec![blob(b"hello")]),
        pending(9, 3, vec![]),
    );
    for p in [&c, &a, &b] {
        room.put_pending(p).await.unwrap();
    }
    let got = room.pending().await.unwrap();
    assert_eq!(got.skipped, 0);
    let seqs: Vec<u64> = got.items.iter().map(|p| p.seq).collect();
    assert_eq!(seqs, [7, 8, 9]);
    assert_eq!(got.items[1].header, b.header);
    assert_eq!(bytes_of(&got.items[1].blobs[0]).await, b"hello");
    room.remove_pending(b.header.id).await.unwrap();
    let got = room.pending().await.unwrap();
    assert_eq!(got.items.iter().map(|p| p.seq).collect::<Vec<_>>(), [7, 9]);
}

#[wasm_bindgen_test]
async fn write_and_read_back_without_a_key() {
    let store = open(Limits::default()).await;
    check_round_trip(&store.room("plain", None)).await;
}

#[wasm_bindgen_test]
async fn write_and_read_back_with_a_key_and_nothing_readable_without_it() {
    let store = open(Limits::default()).await;
    let key = store_key().await;
    let room = store.room("sealed", Some(key.clone()));
    check_round_trip(&room).await;

    // Filed under the key's pseudonym, not the room's name.
    let label = key.label().to_owned();
    assert!(
        label.len() == 32 && label.bytes().all(|b| b.is_ascii_hexdigit()),
        "{label}"
    );
    let db = idb::open(DB_NAME, DB_VERSION, |_, _| Ok(())).await.unwrap();
    let id = message(2, "", 0).id.simple().to_string();
    let raw_of = |room: &str| {
        let (db, key) = (db.clone(), Array::of2(&room.into(), &id.clone().into()));
        async move {
            let tx = Tx::new(&db, &[MESSAGES], Mode::Read).unwrap();
            let raw = idb::get(&tx.store(MESSAGES).unwrap(), &key).await.unwrap();
            tx.commit().await.unwrap();
            raw
        }
    };
    assert!(raw_of("sealed").await.is_none());
    let raw = raw_of(&label).await.expect("the record is there");

    // What IndexedDB holds is neither the text nor the picture's bytes.
    let meta = Reflect::get(&raw, &"m".into())
        .unwrap()
        .unchecked_into::<Uint8Array>()
        .to_vec();
    assert!(
        !contains(&meta, b"with a picture")
            && !contains(&meta, b"p2.png")
            && !contains(&meta, b"ada")
    );
    let stored: Blob = Reflect::get(&raw, &"b".into())
        .unwrap()
        .unchecked_into::<Array>()
        .get(0)
        .unchecked_into();
    let stored = bytes_of(&stored).await;
    assert_eq!(stored.len(), 12 + 300 + 16, "nonce, ciphertext, tag");
    assert!(!contains(&stored, &[2u8; 16]));

    // The sealed record filed under another id of the same room, or copied into another
    // private room, does not open there: the key and the additional data disagree.
    let other = store_key().await;
    let tx = Tx::new(&db, &[MESSAGES], Mode::Write).unwrap();
    let moved = js_sys::Object::assign(&Object::new(), raw.unchecked_ref());
    let other_id = message(77, "", 0).id.simple().to_string();
    Reflect::set(&moved, &"id".into(), &other_id.into()).unwrap();
    idb::put(&tx.store(MESSAGES).unwrap(), &moved)
        .await
        .unwrap();
    Reflect::set(&raw, &"r".into(), &other.label().into()).unwrap();
    idb::put(&tx.store(MESSAGES).unwrap(), &raw).await.unwrap();
    tx.commit().await.unwrap();
    let got = room.recent(10).await.unwrap();
    assert_eq!((got.items.len(), got.skipped), (3, 1));
    let copy = store
        .room("elsewhere", Some(other))
        .recent(10)
        .await
        .unwrap();
    assert_eq!((copy.items.len(), copy.skipped), (0, 1));

    // The room without its key finds nothing of it.
    let plain = store.room("sealed", None);
    assert_eq!(plain.recent(10).await.unwrap().items.len(), 0);
    assert_eq!(plain.pending().await.unwrap().items.len(), 0);
}

#[wasm_bindgen_test]
async fn a_second_write_of_an_id_replaces_the_first() {
    let room = open(Limits::default()).await.room("dedupe", None);
    room.put_message(&message(1, "draft", 0)).await.unwrap();
    room.put_messages(&[message(1, "final", 0), message(2, "other", 0)])
        .await
        .unwrap();
    let got = room.recent(10).await.unwrap().items;
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["final", "other"]);
}

#[wasm_bindgen_test]
async fn the_oldest_messages_past_the_count_are_evicted() {
    let limits = Limits {
        max_messages: 5,
        ..Limits::default()
    };
    let room = open(limits).await.room("by-count", None);
    for n in 1..=8 {
        room.put_message(&message(n, &format!("m{n}"), 0))
            .await
            .unwrap();
    }
    let got = room.recent(100).await.unwrap().items;
    let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["m4", "m5", "m6", "m7", "m8"]);
}

#[wasm_bindgen_test]
async fn the_oldest_media_are_evicted_past_the_byte_cap_and_their_text_stays() {
    for key in [None, Some(store_key().await)] {
        let sealed = key.is_some();
        // A sealed Blob is 28 bytes longer: the cap counts what is stored.
        let cap = if sealed { 100 + 28 } else { 100 };
        let limits = Limits {
            max_messages: 10,
            max_media_bytes: cap,
        };
        let room = open(limits).await.room(&format!("by-bytes-{sealed}"), key);
        for n in 1..=3 {
            room.put_message(&message(n, &format!("m{n}"), 60))
                .await
                .unwrap();
        }
        let got = room.recent(10).await.unwrap().items;
        let texts: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["m1", "m2", "m3"]);
        let kept: Vec<bool> = got.iter().map(|m| m.files[0].blob.is_some()).collect();
        assert_eq!(kept, [false, false, true], "sealed: {sealed}");
        // The evicted pictures' metadata stays, for "no longer available".
        assert_eq!(got[0].files[0].meta.name, "p1.png");
        assert_eq!(
            bytes_of(&got[2].files[0].blob.as_ref().unwrap().open().await.unwrap()).await,
            vec![3u8; 60]
        );
        // The media kept, and three text parts of some 300 bytes each.
        let used = room.usage().await.unwrap();
        assert!((cap - 40..=cap + 3 * 400).contains(&used), "{used}");
    }
}

#[wasm_bindgen_test]
async fn a_corrupt_record_is_skipped() {
    let room = open(Limits::default()).await.room("corrupt", None);
    room.put_message(&message(1, "good", 0)).await.unwrap();
    room.put_pending(&PendingMessage {
        seq: 1,
        header: MessageHeader {
            id: message(9, "", 0).id,
            from: "ada".into(),
            ts: 1,
            text: "p".into(),
            files: vec![],
        },
        blobs: vec![],
    })
    .await
    .unwrap();

    let db = idb::open(DB_NAME, DB_VERSION, |_, _| Ok(())).await.unwrap();
    let tx = Tx::new(&db, &[MESSAGES, PENDING], Mode::Write).unwrap();
    let record = |id: &str, k: f64, m: &JsValue, b: &JsValue| {
        let o = Object::new();
        for (name, value) in [
            ("r", &"corrupt".into()),
            ("id", &id.into()),
            ("k", &k.into()),
            ("m", m),
            ("b", b),
            ("n", &JsValue::from(-5)),
        ] {
            Reflect::set(&o, &name.into(), value).unwrap();
        }
        o
    };
    let garbage: [Object; 5] = [
        record(
            "not-a-uuid",
            0.0,
            &Uint8Array::from(&b"{}"[..]).into(),
            &7.into(),
        ),
        record(
            &message(2, "", 0).id.simple().to_string(),
            2.0,
            &"not bytes".into(),
            &JsValue::NULL,
        ),
        record(
            &message(3, "", 0).id.simple().to_string(),
            3.0,
            &Uint8Array::from(&[0xff, 0, 1][..]).into(),
            &Array::new(),
        ),
        record(
            &message(4, "", 0).id.simple().to_string(),
            4.0,
            &Uint8Array::from(&br#"{"from":1}"#[..]).into(),
            &Array::new(),
        ),
        record(
            &message(5, "", 0).id.simple().to_string(),
            5e300,
            &Uint8Array::from(&[0u8; 40][..]).into(),
            &Array::of1(&"x".into()),
        ),
    ];
    for (name, values) in [(MESSAGES, &garbage[..]), (PENDING, &garbage[1..3])] {
        let store = tx.store(name).unwrap();
        for value in values {
            idb::put(&store, value).await.unwrap();
        }
    }
    tx.commit().await.unwrap();

    let got = room.recent(100).await.unwrap();
    assert_eq!(
        got.items
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        ["good"]
    );
    assert_eq!(got.skipped, 5);
    let pending = room.pending().await.unwrap();
    assert_eq!((pending.items.len(), pending.skipped), (1, 2));
    // Writing on top of garbage (eviction reads it) still works.
    room.put_message(&message(6, "after", 0)).await.unwrap();
    assert_eq!(room.recent(100).await.unwrap().items.len(), 2);
}

#[wasm_bindgen_test]
async fn quota_exceeded_is_a_typed_error_and_nothing_is_half_written() {
    let room = open(Limits::default()).await.room("quota", None);
    room.put_message(&message(1, "before", 0)).await.unwrap();
    // The first put goes through, every later one is over quota.
    js(
        "globalThis.__put = Object.getOwnPropertyDescriptor(IDBObjectStore.prototype, 'put');
        const put = globalThis.__put.value;
        let calls = 0;
        IDBObjectStore.prototype.put = function (...args) {
            if (calls++ >= 1) throw new DOMException('simulated', 'QuotaExceededError');
            return put.apply(this, args);
        };",
    );
    let full = room
        .put_messages(&[message(2, "lost", 10), message(3, "lost", 0)])
        .await;
    let pending = room
        .put_pending(&PendingMessage {
            seq: 1,
            header: MessageHeader {
                id: message(4, "", 0).id,
                from: "a".into(),
                ts: 1,
                text: "t".into(),
                files: vec![],
            },
            blobs: vec![],
        })
        .await;
    js("Object.defineProperty(IDBObjectStore.prototype, 'put', globalThis.__put);");
    assert!(matches!(full, Err(AppError::StoreFull)), "{full:?}");
    assert!(matches!(pending, Err(AppError::StoreFull)), "{pending:?}");
    assert_eq!(
        full.unwrap_err().to_string(),
        "the browser's storage for this site is full"
    );
    let got = room.recent(10).await.unwrap().items;
    assert_eq!(
        got.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["before"]
    );
    room.put_message(&message(5, "after", 0)).await.unwrap();
    assert_eq!(room.recent(10).await.unwrap().items.len(), 2);
}

#[wasm_bindgen_test]
async fn no_indexeddb_or_a_refused_open_is_store_unavailable() {
    js("globalThis.__idb = Object.getOwnPropertyDescriptor(window, 'indexedDB');
        Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true, writable: true });");
    let missing = Store::open(Limits::default()).await;
    js(
        "if (globalThis.__idb) Object.defineProperty(window, 'indexedDB', globalThis.__idb);
        else delete window.indexedDB;",
    );
    assert!(
        matches!(missing, Err(AppError::StoreUnavailable(_))),
        "{missing:?}"
    );

    js(
        "globalThis.__open = Object.getOwnPropertyDescriptor(IDBFactory.prototype, 'open');
        IDBFactory.prototype.open = function () {
            throw new DOMException('simulated', 'SecurityError');
        };",
    );
    let refused = Store::open(Limits::default()).await;
    js("Object.defineProperty(IDBFactory.prototype, 'open', globalThis.__open);");
    let Err(AppError::StoreUnavailable(why)) = refused else {
        panic!("{refused:?}");
    };
    assert!(why.contains("SecurityError"), "{why}");
    // Restored: the store opens again.
    assert!(Store::open(Limits::default()).await.is_ok());
}

#[wasm_bindgen_test]
async fn usage_counts_a_room_and_clear_forgets_only_it() {
    let store = open(Limits::default()).await;
    let (a, b) = (store.room("usage-a", None), store.room("usage-b", None));
    assert_eq!(a.usage().await.unwrap(), 0);
    a.put_message(&message(1, "x", 1000)).await.unwrap();
    a.put_pending(&PendingMessage {
        seq: 1,
        header: MessageHeader {
            id: message(2, "", 0).id,
            from: "a".into(),
            ts: 1,
            text: "t".into(),
            files: vec![attachment("f", 500)],
        },
        blobs: vec![blob(&[1u8; 500])],
    })
    .await
    .unwrap();
    b.put_message(&message(1, "y", 10)).await.unwrap();
    let used = a.usage().await.unwrap();
    assert!((1500..1500 + 1000).contains(&used), "{used}");
    a.clear().await.unwrap();
    assert_eq!(a.usage().await.unwrap(), 0);
    assert!(a.recent(10).await.unwrap().items.is_empty());
    assert!(a.pending().await.unwrap().items.is_empty());
    assert_eq!(b.recent(10).await.unwrap().items.len(), 1);
}

/// The time to read the last 200 messages of a full room, with and without a store key, text
/// only and with a 100 KB picture in every tenth message (2 MB), then to open every picture
/// (decrypting it, when sealed): the median of 5 reads, printed.
#[wasm_bindgen_test]
async fn bench_reading_the_last_200_messages() {
    let now = || web_sys::window().unwrap().performance().unwrap().now();
    for (key, media) in [
        (None, false),
        (Some(store_key().await), false),
        (None, true),
        (Some(store_key().await), true),
    ] {
        let sealed = key.is_some();
        let room = open(Limits::default())
            .await
            .room(&format!("bench-{sealed}-{media}"), key);
        let msgs: Vec<StoredMessage> = (0..200)
            .map(|n| {
                let size = if media && n % 10 == 0 { 100_000 } else { 0 };
                message(n, &"a line of chat text ".repeat(4), size)
            })
            .collect();
        let start = now();
        room.put_messages(&msgs).await.unwrap();
        let write = now() - start;
        let (mut times, mut with_media) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let start = now();
            let got = room.recent(200).await.unwrap();
            times.push(now() - start);
            assert_eq!(got.items.len(), 200);
            // Then every picture opened (decrypted, when sealed), as a page showing them all.
            for file in got.items.iter().flat_map(|m| &m.files) {
                file.blob.as_ref().unwrap().open().await.unwrap();
            }
            with_media.push(now() - start);
        }
        times.sort_by(f64::total_cmp);
        with_media.sort_by(f64::total_cmp);
        console_log!(
            "store bench (sealed: {sealed}, pictures: {media}): read 200 messages in {:.1} ms \
             (median of 5, min {:.1}, max {:.1}), and opened their pictures in {:.1} ms in all; \
             wrote them in one transaction in {write:.1} ms",
            times[2],
            times[0],
            times[4],
            with_media[2]
        );
    }
}

/// A connection opened by `platform::idb::open` closes when a newer version is opened (in
/// another tab, say), so that upgrade is not blocked for good.
#[wasm_bindgen_test]
async fn a_newer_version_elsewhere_is_not_blocked_by_an_open_connection() {
    fn upgrade(db: &web_sys::IdbDatabase, old: u32) -> Result<(), AppError> {
        if old < 1 {
            idb::create_store(db, "s", &["id"])?;
        }
        Ok(())
    }
    let name = format!("framechat-test-{}", js_sys::Math::random());
    let first = idb::open(&name, 1, upgrade).await.unwrap();
    let newer = wasm_bindgen_futures::future_to_promise(async move {
        idb::open(&name, 2, upgrade)
            .await
            .map(JsValue::from)
            .map_err(|e| JsValue::from_str(&e.to_string()))
    });
    let timeout = js_sys::Promise::new(&mut |_, reject| {
        let window = web_sys::window().unwrap();
        window
            .set_timeout_with_callback_and_timeout_and_arguments_0(&reject, 5_000)
            .unwrap();
    });
    let race = js_sys::Promise::race(&Array::of2(&newer, &timeout));
    let newer: web_sys::IdbDatabase = JsFuture::from(race)
        .await
        .expect("the newer version opens within 5 s")
        .unchecked_into();
    assert_eq!(newer.version(), 2.0);
    drop(first);
    newer.close();
}

/// A reload derives the same store key from the room key and finds its records again; another
/// room key files elsewhere.
#[wasm_bindgen_test]
async fn the_store_key_is_the_same_for_the_same_room_key() {
    let room_key = generate_room_key().unwrap();
    let first = derive_store_key(&room_key).await.unwrap();
    let again = derive_store_key(&room_key).await.unwrap();
    let other = store_key().await;
    assert_eq!(first.label(), again.label());
    assert_ne!(first.label(), other.label());
    let store = open(Limits::default()).await;
    store
        .room("reload", Some(first))
        .put_message(&message(1, "kept", 0))
        .await
        .unwrap();
    let got = store.room("reload", Some(again)).recent(10).await.unwrap();
    assert_eq!(got.items[0].text, "kept");
    assert!(format!("{other:?}") == "StoreKey(..)");
}

/// Asking for nothing, or keeping a pending message whose Blobs do not match its
/// attachments, is answered without touching what is kept.
#[wasm_bindgen_test]
async fn edge_cases_are_answered_plainly() {
    let room = open(Limits::default()).await.room("edges", None);
    room.put_message(&message(1, "one", 0)).await.unwrap();
    assert!(room.recent(0).await.unwrap().items.is_empty());
    let mismatched = PendingMessage {
        seq: 1,
        header: MessageHeader {
            id: message(2, "", 0).id,
            from: "a".into(),
            ts: 1,
            text: String::new(),
            files: vec![attachment("a", 5), attachment("b", 5)],
        },
        blobs: vec![blob(b"12345")],
    };
    let refused = room.put_pending(&mismatched).await;
    assert!(matches!(refused, Err(AppError::Store(_))), "{refused:?}");
    assert!(room.pending().await.unwrap().items.is_empty());
    // Removing or clearing what is not there is no error.
    room.remove_pending(message(3, "", 0).id).await.unwrap();
    room.clear().await.unwrap();
    room.clear().await.unwrap();
    assert!(room.recent(10).await.unwrap().items.is_empty());
}
