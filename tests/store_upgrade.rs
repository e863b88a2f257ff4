//! Browser test of the kept chat's upgrade from a database of version 2 (before `sizes`, the
//! numbers eviction reads instead of every record): the records stay, and eviction counts
//! them. Alone in its test binary, so on a page (and an origin) of its own: it deletes the
//! database, which would pull it from under any other test.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown \
//!       -p framechat --test store_upgrade`
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use framechat::state::Keep;
use framechat::store::{Store, finish};
use framechat_wire::{Frame, Header, MessageHeader, Uuid};
use js_sys::Array;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Runs a piece of async JS and gives its result.
async fn js(code: &str) -> JsValue {
    let f = js_sys::Function::new_no_args(&format!("return (async () => {{ {code} }})();"));
    JsFuture::from(js_sys::Promise::from(f.call0(&JsValue::NULL).unwrap()))
        .await
        .unwrap()
}

async fn put(store: &Store, n: u32, text: &str) {
    let header = MessageHeader {
        id: Uuid::from_u128(u128::from(n)),
        from: "ann".into(),
        ts: u64::from(n),
        text: text.into(),
        files: Vec::new(),
    };
    finish(store.put(&header, Array::new(), None))
        .await
        .unwrap();
}

async fn texts(store: &Store) -> Vec<String> {
    let loaded = store.load().await.unwrap();
    let read = |f: &js_sys::Uint8Array| match Frame::decode(&f.to_vec()).unwrap().header {
        Header::Msg(h) => h.text,
        _ => panic!("not a msg frame"),
    };
    loaded.recent.iter().map(read).collect()
}

#[wasm_bindgen_test]
async fn a_version_2_database_keeps_its_records_and_evicts_them_after_the_upgrade() {
    let keep = Keep {
        messages: 2,
        bytes: 1 << 30,
    };
    let open = || async move { Store(finish(Store::open("upgraded", None, keep)).await.unwrap()) };
    let store = open().await;
    put(&store, 1, "old1").await;
    put(&store, 2, "old2").await;
    // The same records, in a database made as version 2 made it (no "sizes").
    js("const get = () => new Promise((ok) => { const q = indexedDB.open('framechat'); q.onsuccess = () => ok(q.result); });
        const db = await get();
        const all = await new Promise((ok) => { const q = db.transaction('messages').objectStore('messages').getAll(); q.onsuccess = () => ok(q.result); });
        db.close();
        // (A `blocked` event may come first, until the store's connection has closed: the
        // deletion then goes on.)
        await new Promise((ok, no) => { const q = indexedDB.deleteDatabase('framechat'); q.onsuccess = ok; q.onerror = no; });
        const old = await new Promise((ok) => {
          const q = indexedDB.open('framechat', 2);
          q.onupgradeneeded = () => {
            for (const name of ['pending', 'messages']) q.result.createObjectStore(name, { keyPath: ['r', 'id'] }).createIndex('order', ['r', 'k', 'id']);
          };
          q.onsuccess = () => ok(q.result);
        });
        const tx = old.transaction('messages', 'readwrite');
        for (const v of all) tx.objectStore('messages').put(v);
        await new Promise((ok) => { tx.oncomplete = ok; });
        old.close();")
    .await;
    let store = open().await;
    assert_eq!(texts(&store).await, ["old1", "old2"]);
    put(&store, 3, "new").await;
    assert_eq!(texts(&store).await, ["old2", "new"]);
    let stored = js("const db = await new Promise((ok) => { const q = indexedDB.open('framechat'); q.onsuccess = () => ok(q.result); });
        const n = await new Promise((ok) => { const q = db.transaction('messages').objectStore('messages').count(); q.onsuccess = () => ok(q.result); });
        db.close();
        return n;")
    .await;
    assert_eq!(
        stored.as_f64(),
        Some(2.0),
        "the oldest went from the database"
    );
}
