//! The chat kept in the browser (IndexedDB), per room: the pending outbox, so nothing typed
//! or picked is lost on a reload, and the recent history, bounded by count and media bytes,
//! encrypted with a key derived from the room key in private rooms.
//!
//! The IndexedDB side — transactions, eviction, a private room's store key and sealing — is
//! a small JS module, `idb.js` (its header describes the layout and the sealing), so that it
//! costs the WebAssembly next to nothing. A message is kept as one whole `msg` frame
//! (PROTOCOL.md): this module hands over its header bytes (framechat-wire's codec) and its
//! attachments' Blobs, and gets back frames that the connection reads as if the relay had
//! sent them, so a kept message is shown, deduplicated and recognised as own by the code
//! that does so for every message. Blobs never enter WebAssembly.
//!
//! Nothing here panics or throws on what it reads: a record that is not one of ours, or does
//! not decrypt, is skipped and counted ([`Loaded::skipped`]). Failures are typed
//! ([`AppError::StoreFull`] over quota, [`AppError::Store`] for the rest, no IndexedDB
//! included) for a one-line notice, after which the app keeps working in memory.

use framechat_wire::{Header, MessageHeader, RoomKey, Uuid, write_header};
use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::AppError;
use crate::platform::get;
use crate::state::Keep;

#[wasm_bindgen(module = "/src/store/idb.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = open)]
    fn js_open(room: &str, key: Option<Uint8Array>, max: f64, cap: f64)
    -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = put)]
    fn js_put(
        store: &JsValue,
        id: &str,
        ts: f64,
        meta: &[u8],
        blobs: Array,
        seq: f64,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = putKept)]
    fn js_put_kept(
        store: &JsValue,
        id: &str,
        ts: f64,
        meta: &[u8],
        envelopes: &JsValue,
        n: f64,
        seq: f64,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = sent)]
    fn js_sent(store: &JsValue, ids: Array, forget: bool) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = load)]
    fn js_load(store: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = usage)]
    fn js_usage(store: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = clear)]
    fn js_clear(store: &JsValue) -> Result<Promise, JsValue>;
}

/// A store operation, started: what it answers, or the error it threw.
pub type Op = Result<Promise, JsValue>;

/// Waits for `op`.
///
/// # Errors
/// [`AppError::StoreFull`] for a quota error, [`AppError::Store`] for anything else.
pub async fn finish(op: Op) -> Result<JsValue, AppError> {
    let error = |e: JsValue| {
        let text = |k| get(&e, k).as_string().unwrap_or_default();
        match text("name").as_str() {
            "QuotaExceededError" => AppError::StoreFull,
            "" => AppError::Store(AppError::from(e).to_string()),
            name => AppError::Store(format!("{name}: {}", text("message"))),
        }
    };
    JsFuture::from(op.map_err(error)?).await.map_err(error)
}

/// What [`Store::load`] found: whole `msg` frames.
#[derive(Clone, Debug, Default)]
pub struct Loaded {
    /// The newest messages that are not pending, oldest first.
    pub recent: Vec<Uint8Array>,
    /// Own messages the relay has not confirmed, in the order they were sent.
    pub pending: Vec<Uint8Array>,
    /// Records skipped as unreadable (garbled, or sealed under another key).
    pub skipped: usize,
}

/// One room's part of the open database: the handle [`Store::open`] gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Store(pub JsValue);

impl Store {
    /// Opens (on first use creates) the database, for room `room`, keeping what `keep` says;
    /// [`finish`] gives the handle to make a [`Store`] of, or
    /// [`AppError::Store`] without IndexedDB, or when it refuses to open. With `key` (a
    /// private room's) every record is sealed with a key derived from it and filed under a
    /// pseudonym, not the room's name.
    pub fn open(room: &str, key: Option<&RoomKey>, keep: Keep) -> Op {
        let key = key.map(|k| Uint8Array::from(k.as_bytes().as_slice()));
        // Limits as JS numbers: whole, below 2^53.
        js_open(room, key, keep.messages as f64, keep.bytes as f64)
    }

    /// Keeps message `header` with its attachments' bytes `blobs` (replacing a record of its
    /// id), as pending when `seq` (its place in the order the user sent) is given, then
    /// evicts past the room's limits: the messages past the newest [`Keep::messages`] go,
    /// then the oldest messages with attachments until theirs fit [`Keep::bytes`]. Pending
    /// messages are never evicted. Starts now, and a message that is not pending (one
    /// received) is written once the page is idle, so that keeping it does not hold up
    /// showing it; [`finish`] waits for it (over quota, nothing of it is kept:
    /// [`AppError::StoreFull`]).
    pub fn put(&self, header: &MessageHeader, blobs: Array, seq: Option<u64>) -> Op {
        let (meta, _) = meta(header)?;
        js_put(
            &self.0,
            &id(header),
            header.ts as f64,
            &meta,
            blobs,
            js_seq(seq),
        )
    }

    /// Keeps message `header` of a private room as the envelopes the relay carried, not
    /// sealed again: an own one as the socket worker sealed it to send it, a received one as
    /// it came. `envelopes`: a Blob of them, each after its length (u32, little-endian), or a
    /// JS array of those lengths and envelopes as byte views. As [`Store::put`] otherwise;
    /// read back, it is one whole `msg` frame like any other.
    pub fn put_kept(&self, header: &MessageHeader, envelopes: &JsValue, seq: Option<u64>) -> Op {
        let (meta, total) = meta(header)?;
        let (ts, n) = (header.ts as f64, total as f64);
        js_put_kept(&self.0, &id(header), ts, &meta, envelopes, n, js_seq(seq))
    }

    /// Messages `ids` are no longer pending: the relay has them, or (`forget`) the user
    /// cancelled them, and they are not kept at all.
    pub fn sent(&self, ids: &[Uuid], forget: bool) -> Op {
        let ids = ids.iter().map(|id| JsValue::from(id.simple().to_string()));
        js_sent(&self.0, ids.collect(), forget)
    }

    /// The newest [`Keep::messages`] messages and the pending ones.
    ///
    /// # Errors
    /// [`AppError::Store`] when the store cannot be read.
    pub async fn load(&self) -> Result<Loaded, AppError> {
        let all: Array = finish(js_load(&self.0)).await?.unchecked_into();
        let number = |i| all.get(i).as_f64().unwrap_or(0.0) as usize;
        let shown = number(1);
        let frames: Vec<Uint8Array> = all.iter().skip(2).map(|b| Uint8Array::new(&b)).collect();
        let (recent, pending) = frames.split_at(shown.min(frames.len()));
        Ok(Loaded {
            recent: recent.to_vec(),
            pending: pending.to_vec(),
            skipped: number(0),
        })
    }

    /// The bytes this room keeps (text and media, as stored), once [`finish`]ed.
    pub fn usage(&self) -> Op {
        js_usage(&self.0)
    }

    /// Forgets everything this room keeps, pending messages included.
    pub fn clear(&self) -> Op {
        js_clear(&self.0)
    }
}

/// A message's header bytes as its whole `msg` frame has them, and its attachments' bytes.
fn meta(header: &MessageHeader) -> Result<(Vec<u8>, u64), JsValue> {
    let mut meta = Vec::new();
    let total = header.files.iter().map(|f| f.size).sum();
    // A header the outbox planned, or the inbox decoded: it encodes.
    write_header(&Header::Msg(header.clone()), total, &mut meta)
        .map_err(|_| JsValue::from("a message that does not encode"))?;
    Ok((meta, total))
}

fn id(header: &MessageHeader) -> String {
    header.id.simple().to_string()
}

/// Times, sizes and sequence numbers go to `idb.js` as JS numbers: whole, below 2^53. No
/// `seq` is -1.
fn js_seq(seq: Option<u64>) -> f64 {
    seq.map_or(-1.0, |s| s as f64)
}
