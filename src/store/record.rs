//! The layout of a kept record in IndexedDB, and its sealing: one code path with and without
//! a room's store key.
//!
//! ```text
//! { r: room (a private room's pseudonym), id: "<uuid, 32 hex>", k: order (ts or seq),
//!   n: stored media bytes,
//!   m: Uint8Array — what the message says: a flags byte (bit 0: sent from this browser)
//!      and its `msg` frame header (framechat-wire's own codec: no JSON code of the store's),
//!   b: [Blob | null] — one per attachment, null once evicted }
//! ```
//!
//! Without a key `m` is those bytes and each `b` the attachment's own Blob. With one, `m` is
//! `nonce ‖ AES-GCM(bytes)` and each Blob `nonce ‖ AES-GCM(its bytes)`, a fresh 96-bit
//! nonce each, the additional data naming the store, room, record id and part ([`ad`]), so
//! no sealed part can be moved to another record or room. Blobs are encrypted and decrypted
//! in JS memory; they never enter WebAssembly. `r`, `id`, `k` and `n` stay in the clear:
//! they are the keys the store is ordered and bounded by.

use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, CryptoKey};

use crate::error::AppError;
use crate::platform::webcrypto::{open_buffer, seal_buffer};
use crate::platform::{get, set};
use framechat_wire::{Header, MessageHeader, NONCE_LEN, decode_header, write_header};

/// AES-GCM's tag: a sealed part is at least a nonce and a tag long.
const GCM_TAG_LEN: u32 = 16;

/// A record's text part: a flags byte (bit 0: `own`) and `header` as a `msg` frame header.
///
/// # Errors
/// [`AppError::Store`] for a header the wire would not send (too long, invalid).
pub fn encode_meta(own: bool, header: &MessageHeader) -> Result<Vec<u8>, AppError> {
    let mut out = vec![u8::from(own)];
    write_header(&Header::Msg(header.clone()), 0, &mut out)
        .map_err(|e| AppError::Store(format!("could not keep a message: {e}")))?;
    Ok(out)
}

/// What [`encode_meta`] wrote, if it is that, whole, for record `id`.
#[must_use]
pub fn decode_meta(bytes: &[u8], id: &str) -> Option<(bool, MessageHeader)> {
    let (flags, frame) = bytes.split_first()?;
    let own = match flags {
        0 => false,
        1 => true,
        _ => return None,
    };
    match decode_header(frame).ok()? {
        (Header::Msg(h), end) if end == frame.len() && h.id.simple().to_string() == id => {
            Some((own, h))
        }
        _ => None,
    }
}

/// The additional data of one sealed part: `part` is `"m"` for the text, `"b0"`, `"b1"`, …
/// for the attachments.
#[must_use]
pub fn ad(store: &str, room: &str, id: &str, part: &str) -> Vec<u8> {
    format!("framechat store v1\0{store}\0{room}\0{id}\0{part}").into_bytes()
}

/// Builds a record, sealing its parts under `key` when there is one. WebCrypto work: call it
/// before the transaction that writes the record.
///
/// # Errors
/// [`AppError::Store`] when WebCrypto or a Blob read fails.
pub async fn build(
    key: Option<&CryptoKey>,
    store: &str,
    room: &str,
    id: &str,
    order: u64,
    meta: &[u8],
    blobs: &[Option<KeptBlob>],
) -> Result<Object, AppError> {
    let value = Object::new();
    set(&value, "r", &JsValue::from_str(room))?;
    set(&value, "id", &JsValue::from_str(id))?;
    // Times and sequence numbers are whole numbers below 2^53.
    set(&value, "k", &JsValue::from_f64(order as f64))?;
    let m = seal_bytes(key, &ad(store, room, id, "m"), meta).await?;
    set(&value, "m", &m)?;
    let stored = Array::new();
    let mut bytes = 0f64;
    for (i, blob) in blobs.iter().enumerate() {
        // A kept attachment read back is opened and sealed again for this record; one that
        // does not open is kept as evicted.
        let plain = match blob {
            Some(blob) => blob.open().await,
            None => None,
        };
        match plain {
            Some(blob) => {
                let sealed = seal_blob(key, &ad(store, room, id, &format!("b{i}")), &blob).await?;
                bytes += sealed.size();
                stored.push(&sealed);
            }
            None => {
                stored.push(&JsValue::NULL);
            }
        }
    }
    set(&value, "b", &stored)?;
    set(&value, "n", &JsValue::from_f64(bytes))?;
    Ok(value)
}

/// `[room, id]`: a record's primary key.
#[must_use]
pub fn primary_key(room: &str, id: &str) -> JsValue {
    Array::of2(&JsValue::from_str(room), &JsValue::from_str(id)).into()
}

/// The first and last keys a room's records can have, in the store and in its `order`
/// index: `[room]` sorts before every `[room, …]`, and an array after every string and
/// number.
#[must_use]
pub fn room_bounds(room: &str) -> (JsValue, JsValue) {
    let room = JsValue::from_str(room);
    (
        Array::of1(&room).into(),
        Array::of2(&room, &Array::new()).into(),
    )
}

/// The stored media bytes of a record (`n`), 0 when unreadable.
#[must_use]
pub fn media_bytes(value: &JsValue) -> u64 {
    // Blob sizes are whole numbers below 2^53; a garbled one counts as 0.
    get(value, "n")
        .as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map_or(0, |n| n as u64)
}

/// The size of a record's text part (`m`), 0 when unreadable.
#[must_use]
pub fn meta_bytes(value: &JsValue) -> u64 {
    get(value, "m")
        .dyn_ref::<Uint8Array>()
        .map_or(0, |m| u64::from(m.length()))
}

/// The record with its media dropped: every `b` entry null, `n` 0.
///
/// # Errors
/// What the browser threw.
pub fn stripped(value: &JsValue) -> Result<JsValue, AppError> {
    let copy = Object::assign(&Object::new(), value.unchecked_ref());
    let count = get(value, "b").dyn_ref::<Array>().map_or(0, Array::length);
    let nulls: Array = (0..count).map(|_| JsValue::NULL).collect();
    set(&copy, "b", &nulls)?;
    set(&copy, "n", &JsValue::from_f64(0.0))?;
    Ok(copy.into())
}

/// A record as read back: its clear fields and opened text; `None` when it is not one of
/// ours, or its text does not open (another key, changed bytes).
pub struct Opened {
    pub id: String,
    pub order: u64,
    pub meta: Vec<u8>,
    /// The stored attachment entries (`b`), still sealed.
    pub blobs: Vec<JsValue>,
}

/// Reads a record of `room` back, opening its text part.
pub async fn open(
    key: Option<&CryptoKey>,
    store: &str,
    room: &str,
    value: &JsValue,
) -> Option<Opened> {
    let id = get(value, "id").as_string()?;
    let order = get(value, "k")
        .as_f64()
        .filter(|k| k.is_finite() && *k >= 0.0)? as u64;
    let m = get(value, "m").dyn_into::<Uint8Array>().ok()?;
    let meta = open_bytes(key, &ad(store, room, &id, "m"), &m).await?;
    let blobs = match get(value, "b").dyn_into::<Array>() {
        Ok(b) => b.iter().collect(),
        Err(_) => Vec::new(),
    };
    Some(Opened {
        id,
        order,
        meta,
        blobs,
    })
}

/// An attachment's bytes as kept: a Blob to use, or one still sealed, opened on demand
/// ([`KeptBlob::open`]) so that reading a private room's history decrypts only the media
/// shown, when it is shown.
#[derive(Clone, Debug)]
pub enum KeptBlob {
    /// Bytes to use as they are (typed as the attachment).
    Open(Blob),
    /// Sealed under the room's store key.
    Sealed(Sealed),
}

/// A kept attachment still sealed: the stored Blob and what opens it.
#[derive(Clone, Debug)]
pub struct Sealed {
    blob: Blob,
    key: CryptoKey,
    ad: Vec<u8>,
    mime: String,
}

impl From<Blob> for KeptBlob {
    fn from(blob: Blob) -> Self {
        KeptBlob::Open(blob)
    }
}

impl KeptBlob {
    /// The Blob to use: as it is, or decrypted in JS memory (never in WebAssembly); `None`
    /// when a sealed one does not open (changed bytes, another key).
    pub async fn open(&self) -> Option<Blob> {
        let s = match self {
            KeptBlob::Open(blob) => return Some(blob.clone()),
            KeptBlob::Sealed(s) => s,
        };
        let buffer = JsFuture::from(s.blob.array_buffer()).await.ok()?;
        let all = Uint8Array::new(&buffer);
        let nonce = nonce_of(&all)?;
        let sealed = all.subarray(NONCE_LEN as u32, all.length());
        let plain = open_buffer(&s.key, &s.ad, &nonce, &sealed).await.ok()?;
        let options = BlobPropertyBag::new();
        options.set_type(&s.mime);
        Blob::new_with_buffer_source_sequence_and_options(&Array::of1(&plain), &options).ok()
    }

    /// Its size as stored (a sealed one is 28 bytes longer than its attachment).
    #[must_use]
    pub fn stored_size(&self) -> u64 {
        // Blob sizes are whole numbers below 2^53.
        match self {
            KeptBlob::Open(blob) => blob.size() as u64,
            KeptBlob::Sealed(s) => s.blob.size() as u64,
        }
    }
}

/// Attachment `index` of record `id` as read (`stored`), typed `mime`; `None` when it was
/// evicted or is not a Blob. Nothing is decrypted yet.
#[must_use]
pub fn kept_blob(
    key: Option<&CryptoKey>,
    store: &str,
    room: &str,
    id: &str,
    index: usize,
    stored: Option<&JsValue>,
    mime: &str,
) -> Option<KeptBlob> {
    let blob = stored?.dyn_ref::<Blob>()?;
    match key {
        // A view typed as the attachment (no copy).
        None => blob
            .slice_with_f64_and_f64_and_content_type(0.0, blob.size(), mime)
            .ok()
            .map(KeptBlob::Open),
        Some(key) => Some(KeptBlob::Sealed(Sealed {
            blob: blob.clone(),
            key: key.clone(),
            ad: ad(store, room, id, &format!("b{index}")),
            mime: mime.to_owned(),
        })),
    }
}

/// The nonce that starts a sealed part, if it is long enough to be one.
fn nonce_of(all: &Uint8Array) -> Option<[u8; NONCE_LEN]> {
    if all.length() < NONCE_LEN as u32 + GCM_TAG_LEN {
        return None;
    }
    let mut nonce = [0u8; NONCE_LEN];
    all.subarray(0, NONCE_LEN as u32).copy_to(&mut nonce);
    Some(nonce)
}

/// `bytes`, or `nonce ‖ AES-GCM(bytes)` under `key`.
async fn seal_bytes(
    key: Option<&CryptoKey>,
    ad: &[u8],
    bytes: &[u8],
) -> Result<Uint8Array, AppError> {
    let plain = Uint8Array::from(bytes);
    let Some(key) = key else {
        return Ok(plain);
    };
    let (nonce, sealed) = seal_buffer(key, ad, &plain).await.map_err(crypto)?;
    let sealed = Uint8Array::new(&sealed);
    let out = Uint8Array::new_with_length(NONCE_LEN as u32 + sealed.length());
    out.set(&Uint8Array::from(nonce.as_slice()), 0);
    out.set(&sealed, NONCE_LEN as u32);
    Ok(out)
}

/// The bytes [`seal_bytes`] sealed, copied into WebAssembly; `None` when they do not open.
async fn open_bytes(key: Option<&CryptoKey>, ad: &[u8], stored: &Uint8Array) -> Option<Vec<u8>> {
    let Some(key) = key else {
        return Some(stored.to_vec());
    };
    let nonce = nonce_of(stored)?;
    let sealed = stored.subarray(NONCE_LEN as u32, stored.length());
    let plain = open_buffer(key, ad, &nonce, &sealed).await.ok()?;
    Some(Uint8Array::new(&plain).to_vec())
}

/// `blob`, or a Blob of `nonce ‖ AES-GCM(blob's bytes)` made in JS memory.
async fn seal_blob(key: Option<&CryptoKey>, ad: &[u8], blob: &Blob) -> Result<Blob, AppError> {
    let Some(key) = key else {
        return Ok(blob.clone());
    };
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| {
        AppError::Store(format!(
            "could not read an attachment: {}",
            AppError::from(e)
        ))
    })?;
    let (nonce, sealed) = seal_buffer(key, ad, buffer.unchecked_ref())
        .await
        .map_err(crypto)?;
    let parts = Array::of2(&Uint8Array::from(nonce.as_slice()), &sealed);
    Blob::new_with_buffer_source_sequence(&parts)
        .map_err(|e| AppError::Store(AppError::from(e).to_string()))
}

fn crypto(e: crate::platform::webcrypto::CryptoError) -> AppError {
    AppError::Store(e.to_string())
}
