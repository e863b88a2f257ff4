//! Native seal and open of encrypted envelopes (RustCrypto), for tests, fuzzing and tools only.
//!
//! Behind the non-default `native-crypto` feature: the browser client uses
//! WebCrypto and must not link this. Sealing takes the nonce as an argument
//! so test vectors can be reproduced; a real sender draws a fresh random
//! nonce for every frame and never reuses one under a key.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;

use crate::envelope::{
    ENVELOPE_HEADER_LEN, Envelope, FRAME_KEY_INFO, Flags, GCM_TAG_LEN, MAX_INNER_LEN, NONCE_LEN,
    ROOM_KEY_LEN, TAG_LEN, additional_data,
};
use crate::error::EnvelopeError;
use crate::room_key::RoomKey;

/// HKDF-SHA256 of `room_key`: salt empty, `info`, 32 bytes out.
#[must_use]
pub fn derive(room_key: &RoomKey, info: &[u8]) -> [u8; ROOM_KEY_LEN] {
    let mut okm = [0u8; ROOM_KEY_LEN];
    // 32 bytes is far below HKDF-SHA256's limit of 255 × 32, so expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(&[]), room_key.as_bytes()).expand(info, &mut okm);
    okm
}

/// A room's frame key, ready to seal and open.
#[derive(Clone)]
pub struct FrameKey(Aes256Gcm);

impl std::fmt::Debug for FrameKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameKey(..)")
    }
}

impl FrameKey {
    /// Derives the frame key from the room key (HKDF info [`FRAME_KEY_INFO`]).
    #[must_use]
    pub fn derive(room_key: &RoomKey) -> Self {
        Self::from_bytes(&derive(room_key, FRAME_KEY_INFO))
    }

    /// A frame key from its 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; ROOM_KEY_LEN]) -> Self {
        Self(Aes256Gcm::new(bytes.into()))
    }

    /// Encrypts the v1 frame `inner` as frame `index` of the message `tag` in `room`.
    ///
    /// `nonce` must be fresh and random (12 bytes from a CSPRNG) for every call.
    ///
    /// # Errors
    /// [`EnvelopeError::RoomTooLong`], or [`EnvelopeError::InnerTooLarge`]
    /// for an inner frame over [`MAX_INNER_LEN`].
    pub fn seal(
        &self,
        flags: Flags,
        tag: &[u8; TAG_LEN],
        index: u32,
        room: &str,
        nonce: &[u8; NONCE_LEN],
        inner: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        if inner.len() > MAX_INNER_LEN {
            return Err(EnvelopeError::InnerTooLarge {
                len: inner.len() as u64,
                max: MAX_INNER_LEN as u64,
            });
        }
        let ad = additional_data(flags, tag, index, room)?;
        let mut out = Vec::with_capacity(ENVELOPE_HEADER_LEN + inner.len() + GCM_TAG_LEN);
        Envelope {
            flags,
            tag: *tag,
            nonce: *nonce,
            ciphertext: &[],
        }
        .encode(&mut out);
        out.extend_from_slice(inner);
        let body = out.get_mut(ENVELOPE_HEADER_LEN..).unwrap_or_default();
        let gcm_tag = self
            .0
            .encrypt_in_place_detached(Nonce::from_slice(nonce), &ad, body)
            .map_err(|_| EnvelopeError::InnerTooLarge {
                len: inner.len() as u64,
                max: MAX_INNER_LEN as u64,
            })?;
        out.extend_from_slice(&gcm_tag);
        Ok(out)
    }

    /// Decrypts an envelope received as frame `index` of its message in `room`:
    /// the inner v1 frame's bytes.
    ///
    /// Checks only the layout and the authentication; decode the plaintext
    /// with [`decode_inner`](crate::decode_inner).
    ///
    /// # Errors
    /// A layout error of [`Envelope::decode`], [`EnvelopeError::RoomTooLong`],
    /// or [`EnvelopeError::Authentication`] for any other key, room, index,
    /// flags, tag, nonce or ciphertext than the sender's.
    pub fn open(&self, envelope: &[u8], index: u32, room: &str) -> Result<Vec<u8>, EnvelopeError> {
        let env = Envelope::decode(envelope)?;
        let ad = env.additional_data(index, room)?;
        let split = env
            .ciphertext
            .len()
            .checked_sub(GCM_TAG_LEN)
            .ok_or(EnvelopeError::Authentication)?;
        let (body, gcm_tag) = env
            .ciphertext
            .split_at_checked(split)
            .ok_or(EnvelopeError::Authentication)?;
        let gcm_tag: [u8; GCM_TAG_LEN] = gcm_tag
            .try_into()
            .map_err(|_| EnvelopeError::Authentication)?;
        let mut plain = body.to_vec();
        self.0
            .decrypt_in_place_detached(
                Nonce::from_slice(&env.nonce),
                &ad,
                &mut plain,
                &Tag::from(gcm_tag),
            )
            .map_err(|_| EnvelopeError::Authentication)?;
        Ok(plain)
    }
}
