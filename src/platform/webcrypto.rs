//! WebCrypto glue of private rooms: the `#k=` room key, the HKDF frame and store keys, and seal/open.
//!
//! The browser's own `SubtleCrypto` does the cryptography (no RustCrypto in the
//! WebAssembly build); [`framechat_wire`]'s envelope module lays the bytes out
//! and builds the additional data. The frame key is derived once per room with
//! HKDF-SHA256 into a **non-extractable** AES-GCM `CryptoKey`: script on the
//! page can use it but never read it back.
//!
//! WebCrypto exists only in secure contexts (https, or http from localhost).
//! Elsewhere [`CryptoError::InsecureContext`] is returned, and a private room
//! must refuse to open rather than fall back to plaintext.

use std::fmt;

use framechat_wire::{
    ENVELOPE_HEADER_LEN, ENVELOPE_MAGIC, ENVELOPE_OVERHEAD, Envelope, EnvelopeError,
    FRAME_KEY_INFO, Flags, KeyError, NONCE_LEN, ROOM_KEY_LEN, RoomKey, TAG_LEN, additional_data,
};
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesDerivedKeyParams, AesGcmParams, Crypto, CryptoKey, HkdfParams, SubtleCrypto};

/// Why a private room's key or frame could not be handled.
#[derive(Debug, Clone, PartialEq)]
pub enum CryptoError {
    /// `crypto.subtle` is missing: the page is not a secure context (plain
    /// http from an address other than localhost).
    InsecureContext,
    /// The global object has no `crypto` at all.
    NoCrypto,
    /// The `#k=` fragment parameter is not a valid room key.
    Key(KeyError),
    /// The envelope is malformed or failed to authenticate.
    Envelope(EnvelopeErrorKind),
    /// WebCrypto refused an operation for another reason (its message).
    WebCrypto(String),
}

/// The class of an [`EnvelopeError`] (which itself is neither `Clone` nor `PartialEq`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeErrorKind {
    /// Another key, room, index, flags or tag, or changed bytes.
    Authentication,
    /// Not an envelope, truncated, or unknown flags (the message).
    Layout(String),
    /// A room name over 65535 bytes, or an inner frame over the limit (the message).
    Limit(String),
}

impl From<EnvelopeError> for CryptoError {
    fn from(e: EnvelopeError) -> Self {
        CryptoError::Envelope(match e {
            EnvelopeError::Authentication => EnvelopeErrorKind::Authentication,
            EnvelopeError::RoomTooLong { .. } | EnvelopeError::InnerTooLarge { .. } => {
                EnvelopeErrorKind::Limit(e.to_string())
            }
            other => EnvelopeErrorKind::Layout(other.to_string()),
        })
    }
}

impl From<KeyError> for CryptoError {
    fn from(e: KeyError) -> Self {
        CryptoError::Key(e)
    }
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::InsecureContext => f.write_str(
                "this page is not a secure context (https or localhost), so the browser offers \
                 no WebCrypto: a private room cannot open here",
            ),
            CryptoError::NoCrypto => f.write_str("this browser has no crypto API"),
            CryptoError::Key(e) => write!(f, "bad room key in the link: {e}"),
            CryptoError::Envelope(EnvelopeErrorKind::Authentication) => {
                f.write_str("an encrypted frame failed to authenticate")
            }
            CryptoError::Envelope(EnvelopeErrorKind::Layout(m) | EnvelopeErrorKind::Limit(m)) => {
                f.write_str(m)
            }
            CryptoError::WebCrypto(m) => write!(f, "WebCrypto error: {m}"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// The room key in a URL fragment (`location.hash`, with or without `#`).
///
/// `Ok(None)`: no `k=` parameter, the room is not private.
///
/// # Errors
/// [`CryptoError::Key`] when a `k=` parameter is present but invalid: the
/// room must then not open at all.
pub fn parse_fragment(fragment: &str) -> Result<Option<RoomKey>, CryptoError> {
    Ok(RoomKey::from_fragment(fragment)?)
}

/// The fragment parameter (`k=` and 43 characters) for an invite link.
#[must_use]
pub fn fragment_param(key: &RoomKey) -> String {
    key.to_fragment_param()
}

/// The global `crypto` object of `global` (a window or a worker).
fn crypto_in(global: &JsValue) -> Result<Crypto, CryptoError> {
    let crypto = Reflect::get(global, &JsValue::from_str("crypto")).map_err(js_error)?;
    if crypto.is_undefined() || crypto.is_null() {
        return Err(CryptoError::NoCrypto);
    }
    Ok(crypto.unchecked_into())
}

/// `crypto.subtle` of `global`, or [`CryptoError::InsecureContext`] where the
/// browser hides it.
///
/// # Errors
/// [`CryptoError::NoCrypto`] or [`CryptoError::InsecureContext`].
pub fn subtle_in(global: &JsValue) -> Result<SubtleCrypto, CryptoError> {
    let crypto = crypto_in(global)?;
    let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle")).map_err(js_error)?;
    if subtle.is_undefined() || subtle.is_null() {
        return Err(CryptoError::InsecureContext);
    }
    Ok(subtle.unchecked_into())
}

/// `crypto.subtle` of this page or worker.
///
/// # Errors
/// As [`subtle_in`].
pub fn subtle() -> Result<SubtleCrypto, CryptoError> {
    subtle_in(&js_sys::global())
}

/// `N` bytes from the browser's CSPRNG (`crypto.getRandomValues`).
fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    crypto_in(&js_sys::global())?
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(js_error)?;
    Ok(bytes)
}

/// A fresh room key from the browser's CSPRNG, for "New private room".
///
/// # Errors
/// [`CryptoError::NoCrypto`], or the browser refused.
pub fn generate_room_key() -> Result<RoomKey, CryptoError> {
    Ok(RoomKey::from_bytes(random::<ROOM_KEY_LEN>()?))
}

/// A fresh message tag: drawn once per message, kept for its resends.
///
/// # Errors
/// As [`generate_room_key`].
pub fn new_message_tag() -> Result<[u8; TAG_LEN], CryptoError> {
    random()
}

/// A room's frame key: a non-extractable AES-256-GCM `CryptoKey` for encrypt and decrypt.
#[derive(Clone)]
pub struct FrameKey {
    subtle: SubtleCrypto,
    key: CryptoKey,
}

impl fmt::Debug for FrameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FrameKey(..)")
    }
}

impl FrameKey {
    /// Derives the frame key: the room key imported raw as a non-extractable
    /// HKDF base key, then `deriveKey` with SHA-256, an empty salt and info
    /// `"framechat frame key v1"` into AES-GCM of 256 bits.
    ///
    /// # Errors
    /// [`CryptoError::InsecureContext`] without WebCrypto, or
    /// [`CryptoError::WebCrypto`] if the browser refuses.
    pub async fn derive(room_key: &RoomKey) -> Result<Self, CryptoError> {
        let subtle = subtle()?;
        let base = hkdf_base(&subtle, room_key, &["deriveKey"]).await?;
        let key = derive_aes_key(&subtle, &base, FRAME_KEY_INFO).await?;
        Ok(Self { subtle, key })
    }

    /// The non-extractable `CryptoKey` itself: structured-cloneable, so it
    /// can be posted to a worker that encrypts off the main thread.
    #[must_use]
    pub fn crypto_key(&self) -> &CryptoKey {
        &self.key
    }

    /// A frame key from a `CryptoKey` that [`FrameKey::crypto_key`] gave
    /// (posted to this worker, say).
    ///
    /// # Errors
    /// As [`subtle`].
    pub fn from_crypto_key(key: CryptoKey) -> Result<Self, CryptoError> {
        Ok(Self {
            subtle: subtle()?,
            key,
        })
    }

    /// Encrypts the v1 frame `inner` as frame `index` of the message `tag` in
    /// `room`, under a fresh random nonce: the envelope's bytes.
    ///
    /// # Errors
    /// [`CryptoError::Envelope`] for a room name too long, or
    /// [`CryptoError::WebCrypto`].
    pub async fn seal(
        &self,
        flags: Flags,
        tag: &[u8; TAG_LEN],
        index: u32,
        room: &str,
        inner: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let nonce = random::<NONCE_LEN>()?;
        self.seal_with_nonce(flags, tag, index, room, &nonce, inner)
            .await
    }

    /// As [`FrameKey::seal`] with a given nonce: for reproducing test vectors
    /// only. Reusing a nonce under a key breaks AES-GCM.
    ///
    /// # Errors
    /// As [`FrameKey::seal`].
    pub async fn seal_with_nonce(
        &self,
        flags: Flags,
        tag: &[u8; TAG_LEN],
        index: u32,
        room: &str,
        nonce: &[u8; NONCE_LEN],
        inner: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let ad = additional_data(flags, tag, index, room)?;
        let params = gcm_params(nonce, &ad);
        let promise = self
            .subtle
            .encrypt_with_object_and_u8_array(&params, &self.key, inner)
            .map_err(js_error)?;
        let sealed = Uint8Array::new(&JsFuture::from(promise).await.map_err(js_error)?);
        let mut out = Vec::with_capacity(ENVELOPE_HEADER_LEN + sealed.length() as usize);
        Envelope {
            flags,
            tag: *tag,
            nonce: *nonce,
            ciphertext: &[],
        }
        .encode(&mut out);
        let start = out.len();
        out.resize(start + sealed.length() as usize, 0);
        if let Some(body) = out.get_mut(start..) {
            sealed.copy_to(body);
        }
        Ok(out)
    }

    /// Decrypts an envelope received as frame `index` of its message in
    /// `room`: the inner v1 frame's bytes (decode them with
    /// [`framechat_wire::decode_inner`]).
    ///
    /// # Errors
    /// [`CryptoError::Envelope`] with [`EnvelopeErrorKind::Authentication`]
    /// for another key, room, index, flags, tag or changed bytes, or a layout
    /// error; [`CryptoError::WebCrypto`] if the browser fails otherwise.
    pub async fn open(
        &self,
        envelope: &[u8],
        index: u32,
        room: &str,
    ) -> Result<Vec<u8>, CryptoError> {
        let env = Envelope::decode(envelope)?;
        let ad = env.additional_data(index, room)?;
        let params = gcm_params(&env.nonce, &ad);
        let promise = self
            .subtle
            .decrypt_with_object_and_u8_array(&params, &self.key, env.ciphertext)
            .map_err(js_error)?;
        match JsFuture::from(promise).await {
            Ok(plain) => Ok(Uint8Array::new(&plain).to_vec()),
            // WebCrypto rejects a failed authentication with an OperationError.
            Err(e) if error_name(&e).as_deref() == Some("OperationError") => {
                Err(EnvelopeError::Authentication.into())
            }
            Err(e) => Err(js_error(e)),
        }
    }
}

impl FrameKey {
    /// As [`FrameKey::seal`], for a frame in JS memory: the frame is encrypted where it is
    /// (never copied into WASM) and the envelope comes back as one `Uint8Array` of its own,
    /// which a socket worker can take over.
    ///
    /// # Errors
    /// As [`FrameKey::seal`].
    pub async fn seal_view(
        &self,
        flags: Flags,
        tag: &[u8; TAG_LEN],
        index: u32,
        room: &str,
        inner: &Uint8Array,
    ) -> Result<Uint8Array, CryptoError> {
        let nonce = random::<NONCE_LEN>()?;
        let ad = additional_data(flags, tag, index, room)?;
        let params = gcm_params(&nonce, &ad);
        let promise = self
            .subtle
            .encrypt_with_object_and_buffer_source(&params, &self.key, inner)
            .map_err(js_error)?;
        let sealed = Uint8Array::new(&JsFuture::from(promise).await.map_err(js_error)?);
        let mut head = [0; ENVELOPE_HEADER_LEN];
        head[0] = ENVELOPE_MAGIC;
        head[1] = flags.bits();
        head[2..2 + TAG_LEN].copy_from_slice(tag);
        head[2 + TAG_LEN..].copy_from_slice(&nonce);
        let out = Uint8Array::new_with_length(ENVELOPE_HEADER_LEN as u32 + sealed.length());
        out.subarray(0, ENVELOPE_HEADER_LEN as u32).copy_from(&head);
        out.set(&sealed, ENVELOPE_HEADER_LEN as u32);
        Ok(out)
    }

    /// As [`FrameKey::open`], for an envelope in JS memory, whose header (`flags`, `tag`,
    /// `nonce`, already read by the caller) precedes the ciphertext: the inner frame's bytes
    /// as an `ArrayBuffer`, never copied into WASM.
    ///
    /// # Errors
    /// As [`FrameKey::open`].
    pub async fn open_view(
        &self,
        head: &EnvelopeHead,
        envelope: &Uint8Array,
        index: u32,
        room: &str,
    ) -> Result<js_sys::ArrayBuffer, CryptoError> {
        let ad = additional_data(head.flags, &head.tag, index, room)?;
        let params = gcm_params(&head.nonce, &ad);
        let ciphertext = envelope.subarray(ENVELOPE_HEADER_LEN as u32, envelope.length());
        let promise = self
            .subtle
            .decrypt_with_object_and_buffer_source(&params, &self.key, &ciphertext)
            .map_err(js_error)?;
        match JsFuture::from(promise).await {
            Ok(plain) => Ok(plain.unchecked_into()),
            Err(e) if error_name(&e).as_deref() == Some("OperationError") => {
                Err(EnvelopeError::Authentication.into())
            }
            Err(e) => Err(js_error(e)),
        }
    }
}

/// An envelope's clear header, read from JS memory (30 bytes copied into WASM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnvelopeHead {
    pub flags: Flags,
    pub tag: [u8; TAG_LEN],
    pub nonce: [u8; NONCE_LEN],
}

impl EnvelopeHead {
    /// The header of the envelope `bytes`, if it is one of a valid length.
    ///
    /// # Errors
    /// The envelope's layout error (not an envelope, too short, unknown flags).
    pub fn read(bytes: &Uint8Array) -> Result<Self, CryptoError> {
        let len = bytes.length() as usize;
        let copied = len.min(ENVELOPE_HEADER_LEN);
        let mut head = [0u8; ENVELOPE_OVERHEAD];
        bytes
            .subarray(0, copied as u32)
            .copy_to(&mut head[..copied]);
        // The layout checks are the wire crate's: it sees the header and, for the ciphertext,
        // a stand-in of the right length class (at least a GCM tag, or what there is).
        let env = Envelope::decode(&head[..len.min(ENVELOPE_OVERHEAD)])?;
        Ok(Self {
            flags: env.flags,
            tag: env.tag,
            nonce: env.nonce,
        })
    }
}

/// HKDF info of the key that encrypts a private room's chat kept in the browser (IndexedDB).
pub const STORE_KEY_INFO: &[u8] = b"framechat store key v1";

/// HKDF info of the pseudonym a private room's kept chat is filed under.
pub const STORE_LABEL_INFO: &[u8] = b"framechat store label v1";

/// A private room's keys for the chat kept in the browser: the AES-GCM key its records are
/// sealed with, and the pseudonym they are filed under instead of the room's name.
#[derive(Clone)]
pub struct StoreKey {
    key: CryptoKey,
    label: String,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

impl StoreKey {
    /// The non-extractable AES-256-GCM key records are sealed with.
    #[must_use]
    pub fn crypto_key(&self) -> &CryptoKey {
        &self.key
    }

    /// The room's pseudonym in the store: 32 hex digits, the same for every holder of the
    /// room key, telling nothing of the room's name or key.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// A private room's store key: the room key imported raw as a non-extractable HKDF base
/// key, then with SHA-256 and an empty salt `deriveKey` with info `"framechat store key
/// v1"` into a **non-extractable** AES-GCM key of 256 bits (encrypt and decrypt), and
/// `deriveBits` with info `"framechat store label v1"` into the 128-bit pseudonym the room's
/// records are filed under. Another info than the frame key's, so stored records can never
/// be replayed as frames.
///
/// # Errors
/// As [`FrameKey::derive`].
pub async fn derive_store_key(room_key: &RoomKey) -> Result<StoreKey, CryptoError> {
    let subtle = subtle()?;
    let base = hkdf_base(&subtle, room_key, &["deriveKey", "deriveBits"]).await?;
    let key = derive_aes_key(&subtle, &base, STORE_KEY_INFO).await?;
    let bits = subtle
        .derive_bits_with_object(&hkdf_params(STORE_LABEL_INFO), &base, 128)
        .map_err(js_error)?;
    let bits = Uint8Array::new(&JsFuture::from(bits).await.map_err(js_error)?).to_vec();
    let label = bits.iter().map(|b| format!("{b:02x}")).collect();
    Ok(StoreKey { key, label })
}

/// The room key imported raw as a non-extractable HKDF base key for `uses`.
async fn hkdf_base(
    subtle: &SubtleCrypto,
    room_key: &RoomKey,
    uses: &[&str],
) -> Result<CryptoKey, CryptoError> {
    let raw = Uint8Array::from(room_key.as_bytes().as_slice());
    let hkdf = Object::new();
    Reflect::set(&hkdf, &"name".into(), &"HKDF".into()).map_err(js_error)?;
    let base = subtle
        .import_key_with_object("raw", &raw, &hkdf, false, &usages(uses))
        .map_err(js_error)?;
    Ok(JsFuture::from(base)
        .await
        .map_err(js_error)?
        .unchecked_into())
}

/// HKDF with SHA-256, an empty salt and `info`.
fn hkdf_params(info: &[u8]) -> HkdfParams {
    HkdfParams::new(
        "HKDF",
        &JsValue::from_str("SHA-256"),
        &Uint8Array::from(info),
        &Uint8Array::new_with_length(0),
    )
}

/// HKDF of `base` with `info` into a non-extractable AES-256-GCM key.
async fn derive_aes_key(
    subtle: &SubtleCrypto,
    base: &CryptoKey,
    info: &[u8],
) -> Result<CryptoKey, CryptoError> {
    let derived = subtle
        .derive_key_with_object_and_object(
            &hkdf_params(info),
            base,
            &AesDerivedKeyParams::new("AES-GCM", 256),
            false,
            &usages(&["encrypt", "decrypt"]),
        )
        .map_err(js_error)?;
    Ok(JsFuture::from(derived)
        .await
        .map_err(js_error)?
        .unchecked_into())
}

/// Encrypts `plain` (an `ArrayBuffer` or typed array, in JS memory) with AES-GCM under `key`
/// and a fresh random nonce, binding `ad`: the nonce and the ciphertext with its tag, which
/// stays in JS memory.
///
/// # Errors
/// [`CryptoError::NoCrypto`], [`CryptoError::InsecureContext`] or [`CryptoError::WebCrypto`].
pub async fn seal_buffer(
    key: &CryptoKey,
    ad: &[u8],
    plain: &Object,
) -> Result<([u8; NONCE_LEN], js_sys::ArrayBuffer), CryptoError> {
    let nonce = random::<NONCE_LEN>()?;
    let promise = subtle()?
        .encrypt_with_object_and_buffer_source(&gcm_params(&nonce, ad), key, plain)
        .map_err(js_error)?;
    let sealed = JsFuture::from(promise).await.map_err(js_error)?;
    Ok((nonce, sealed.unchecked_into()))
}

/// Decrypts what [`seal_buffer`] gave (`sealed`: ciphertext and tag, in JS memory).
///
/// # Errors
/// [`CryptoError::Envelope`] with [`EnvelopeErrorKind::Authentication`] for another key,
/// additional data, nonce or changed bytes; [`CryptoError::WebCrypto`] otherwise.
pub async fn open_buffer(
    key: &CryptoKey,
    ad: &[u8],
    nonce: &[u8; NONCE_LEN],
    sealed: &Object,
) -> Result<js_sys::ArrayBuffer, CryptoError> {
    let promise = subtle()?
        .decrypt_with_object_and_buffer_source(&gcm_params(nonce, ad), key, sealed)
        .map_err(js_error)?;
    match JsFuture::from(promise).await {
        Ok(plain) => Ok(plain.unchecked_into()),
        Err(e) if error_name(&e).as_deref() == Some("OperationError") => {
            Err(EnvelopeError::Authentication.into())
        }
        Err(e) => Err(js_error(e)),
    }
}

/// `{ name: "AES-GCM", iv, additionalData }` (tag length: the default 128 bits).
fn gcm_params(nonce: &[u8; NONCE_LEN], ad: &[u8]) -> AesGcmParams {
    let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(nonce.as_slice()));
    params.set_additional_data(&Uint8Array::from(ad));
    params
}

fn usages(names: &[&str]) -> Array {
    names.iter().map(|n| JsValue::from_str(n)).collect()
}

/// The `name` of a thrown DOMException or Error.
fn error_name(e: &JsValue) -> Option<String> {
    Reflect::get(e, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
}

fn js_error(e: JsValue) -> CryptoError {
    let message = Reflect::get(&e, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    CryptoError::WebCrypto(match error_name(&e) {
        Some(name) => format!("{name}: {message}"),
        None => message,
    })
}
