//! The encrypted envelope of private rooms (version byte `0xFD`): layout, flags and additional data.
//!
//! ```text
//! +------+-------+--------------+----------+---------------------------+
//! | 0xFD | flags | message tag  | nonce    | AES-256-GCM ciphertext    |
//! | 1 B  | 1 B   | 16 B random  | 12 B     | of the whole v1 frame,    |
//! |      |       | per message  | random   | + 16 B GCM tag            |
//! +------+-------+--------------+----------+---------------------------+
//! ```
//!
//! The plaintext is one whole version 1 [`Frame`](crate::Frame). The frame
//! key is HKDF-SHA256 of the 32-byte room key (empty salt, info
//! [`FRAME_KEY_INFO`]); the additional data ([`additional_data`]) binds the
//! flags, the tag, the frame's index within its message and the room name.
//!
//! This module is pure: it lays the bytes out and builds the additional data,
//! and leaves AES-GCM and HKDF to the caller (WebCrypto in the browser; the
//! `native-crypto` feature's [`native`](crate::native) module in tests).
//!
//! A single-frame message (flags `0x03`) with tag `10 11 .. 1F`, nonce
//! `20 21 .. 2B` and a 19-byte ciphertext-and-GCM-tag of `AA`s:
//!
//! ```
//! use framechat_wire::{Envelope, Flags};
//!
//! let tag: [u8; 16] = core::array::from_fn(|i| 0x10 + i as u8);
//! let nonce: [u8; 12] = core::array::from_fn(|i| 0x20 + i as u8);
//! let sealed = [0xAA; 19];
//! let mut bytes = Vec::new();
//! Envelope { flags: Flags::SINGLE, tag, nonce, ciphertext: &sealed }.encode(&mut bytes);
//! assert_eq!(bytes.len(), 30 + 19);
//! assert_eq!(&bytes[..2], &[0xFD, 0x03]);
//!
//! let envelope = Envelope::decode(&bytes)?;
//! assert!(envelope.flags.begins() && envelope.flags.ends());
//! assert_eq!((envelope.tag, envelope.nonce), (tag, nonce));
//! assert_eq!(envelope.ciphertext, &sealed);
//! # Ok::<(), framechat_wire::EnvelopeError>(())
//! ```

use crate::chunk::{MAX_FRAME_BUDGET, MIN_FRAME_BUDGET};
use crate::error::{DecodeError, EnvelopeError};
use crate::frame::Frame;
use crate::header::Header;

/// First byte of every encrypted envelope.
pub const ENVELOPE_MAGIC: u8 = 0xFD;
/// Length of the per-message tag that relays group an encrypted message's frames by.
pub const TAG_LEN: usize = 16;
/// Length of the AES-GCM nonce, fresh and random for every frame.
pub const NONCE_LEN: usize = 12;
/// Length of the AES-GCM authentication tag that ends the ciphertext.
pub const GCM_TAG_LEN: usize = 16;
/// Bytes before the ciphertext: version byte, flags, message tag and nonce.
pub const ENVELOPE_HEADER_LEN: usize = 2 + TAG_LEN + NONCE_LEN;
/// What encryption adds to a frame: 46 bytes, also the shortest possible envelope.
pub const ENVELOPE_OVERHEAD: usize = ENVELOPE_HEADER_LEN + GCM_TAG_LEN;
/// Length of a room key and of the frame key derived from it.
pub const ROOM_KEY_LEN: usize = 32;
/// HKDF-SHA256 `info` of the frame key (salt empty, 32 bytes out).
pub const FRAME_KEY_INFO: &[u8] = b"framechat frame key v1";
/// HKDF-SHA256 `info` of the key a browser stores history under (salt empty, 32 bytes out).
pub const STORE_KEY_INFO: &[u8] = b"framechat store key v1";
/// The label the additional data starts with.
pub const AD_LABEL: &[u8; 16] = b"framechat-e2e-v1";
/// Longest room name the additional data's 16-bit length field holds.
pub const MAX_ROOM_LEN: usize = u16::MAX as usize;
/// Largest inner frame one envelope carries: the largest frame budget less the overhead
/// (far below AES-GCM's own limit of 2^36 − 32 bytes).
pub const MAX_INNER_LEN: usize = MAX_FRAME_BUDGET - ENVELOPE_OVERHEAD;
/// Smallest frame budget a private room works with: the planner's minimum plus the overhead.
pub const MIN_PRIVATE_FRAME_BUDGET: usize = MIN_FRAME_BUDGET + ENVELOPE_OVERHEAD;

/// The flags byte: whether a frame begins its message, ends it, both or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flags(u8);

impl Flags {
    /// Bit 0: the inner frame is the message's `msg` frame.
    pub const BEGINS_BIT: u8 = 0x01;
    /// Bit 1: the inner frame completes the stream (a whole `msg`, the `last` chunk) or cancels.
    pub const ENDS_BIT: u8 = 0x02;
    /// A middle chunk: neither begins nor ends.
    pub const MIDDLE: Self = Self(0);
    /// The `msg` frame of a message that continues in chunks.
    pub const BEGIN: Self = Self(Self::BEGINS_BIT);
    /// The `last` chunk, or a `cancel`.
    pub const END: Self = Self(Self::ENDS_BIT);
    /// A message complete in one frame.
    pub const SINGLE: Self = Self(Self::BEGINS_BIT | Self::ENDS_BIT);

    /// Flags from the two roles.
    #[must_use]
    pub const fn new(begins: bool, ends: bool) -> Self {
        let mut bits = 0;
        if begins {
            bits |= Self::BEGINS_BIT;
        }
        if ends {
            bits |= Self::ENDS_BIT;
        }
        Self(bits)
    }

    /// Reads a flags byte.
    ///
    /// # Errors
    /// [`EnvelopeError::UnknownFlags`] when a bit other than 0 and 1 is set.
    pub const fn from_bits(bits: u8) -> Result<Self, EnvelopeError> {
        if bits & !(Self::BEGINS_BIT | Self::ENDS_BIT) != 0 {
            return Err(EnvelopeError::UnknownFlags(bits));
        }
        Ok(Self(bits))
    }

    /// The byte written on the wire.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// This frame begins its message: it carries the `msg` frame.
    #[must_use]
    pub const fn begins(self) -> bool {
        self.0 & Self::BEGINS_BIT != 0
    }

    /// This frame ends its message: whole stream, `last` chunk or `cancel`.
    #[must_use]
    pub const fn ends(self) -> bool {
        self.0 & Self::ENDS_BIT != 0
    }

    /// The flags of a frame with this header and `payload_len` payload bytes.
    ///
    /// For senders that have the header and know the payload's length
    /// without holding a decoded [`Frame`].
    ///
    /// # Errors
    /// [`DecodeError::InvalidHeader`] when a `msg` header's sizes overflow.
    pub fn of_header(header: &Header, payload_len: u64) -> Result<Self, DecodeError> {
        Ok(match header {
            // A msg begins its message and ends it when it carries the whole stream.
            Header::Msg(m) => Self::new(true, payload_len == m.total()?),
            Header::Chunk(c) => Self::new(false, c.last),
            Header::Cancel(_) => Self::END,
        })
    }

    /// The flags of a decoded frame.
    ///
    /// # Errors
    /// As [`Flags::of_header`] (not for a frame that [`Frame::decode`] accepted).
    pub fn of_frame(frame: &Frame<'_>) -> Result<Self, DecodeError> {
        Self::of_header(&frame.header, frame.payload.len() as u64)
    }

    /// Decodes an encoded v1 frame and returns its flags.
    ///
    /// # Errors
    /// The [`DecodeError`] of [`Frame::decode`].
    pub fn of_inner(inner: &[u8]) -> Result<Self, DecodeError> {
        Self::of_frame(&Frame::decode(inner)?)
    }
}

/// An encrypted envelope, its ciphertext borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// Whether the frame begins and/or ends its message.
    pub flags: Flags,
    /// The random per-message tag, the same on every frame of a message and its resends.
    pub tag: [u8; TAG_LEN],
    /// The frame's random AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The AES-256-GCM ciphertext of the inner frame followed by the 16-byte GCM tag.
    pub ciphertext: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Reads the envelope's layout. Does not decrypt.
    ///
    /// # Errors
    /// [`EnvelopeError::Empty`], [`EnvelopeError::NotAnEnvelope`],
    /// [`EnvelopeError::UnknownFlags`] or [`EnvelopeError::Truncated`] (fewer
    /// than [`ENVELOPE_OVERHEAD`] bytes).
    pub fn decode(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        let (&magic, rest) = bytes.split_first().ok_or(EnvelopeError::Empty)?;
        if magic != ENVELOPE_MAGIC {
            return Err(EnvelopeError::NotAnEnvelope(magic));
        }
        let truncated = EnvelopeError::Truncated {
            needed: ENVELOPE_OVERHEAD as u64,
            available: bytes.len() as u64,
        };
        let (&flags, rest) = rest.split_first().ok_or(truncated)?;
        // "Other bits must be 0 (reject otherwise)."
        let flags = Flags::from_bits(flags)?;
        if bytes.len() < ENVELOPE_OVERHEAD {
            return Err(EnvelopeError::Truncated {
                needed: ENVELOPE_OVERHEAD as u64,
                available: bytes.len() as u64,
            });
        }
        let (tag, rest) = split_array::<TAG_LEN>(rest).ok_or(EnvelopeError::Empty)?;
        let (nonce, ciphertext) = split_array::<NONCE_LEN>(rest).ok_or(EnvelopeError::Empty)?;
        Ok(Self {
            flags,
            tag,
            nonce,
            ciphertext,
        })
    }

    /// Appends the envelope's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(ENVELOPE_MAGIC);
        out.push(self.flags.bits());
        out.extend_from_slice(&self.tag);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(self.ciphertext);
    }

    /// Length of the encoded envelope.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        ENVELOPE_HEADER_LEN.saturating_add(self.ciphertext.len())
    }

    /// The additional data this envelope authenticates as frame `index` of its message in `room`.
    ///
    /// # Errors
    /// [`EnvelopeError::RoomTooLong`].
    pub fn additional_data(&self, index: u32, room: &str) -> Result<Vec<u8>, EnvelopeError> {
        additional_data(self.flags, &self.tag, index, room)
    }
}

/// The first `N` bytes as an array, and the rest.
fn split_array<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let (head, rest) = bytes.split_at_checked(N)?;
    Some((head.try_into().ok()?, rest))
}

/// Whether a WebSocket message is an encrypted envelope (its first byte is `0xFD`).
#[must_use]
pub fn is_envelope(bytes: &[u8]) -> bool {
    bytes.first() == Some(&ENVELOPE_MAGIC)
}

/// The additional data of a frame: `"framechat-e2e-v1"` ‖ flags ‖ tag ‖
/// index (u32 BE) ‖ room name length (u16 BE) ‖ room name (UTF-8).
///
/// `index` is the frame's place in its message's sending order: 0 for the
/// begin frame, one more for each later frame.
///
/// # Errors
/// [`EnvelopeError::RoomTooLong`] for a room name over [`MAX_ROOM_LEN`] bytes.
pub fn additional_data(
    flags: Flags,
    tag: &[u8; TAG_LEN],
    index: u32,
    room: &str,
) -> Result<Vec<u8>, EnvelopeError> {
    let room_len = u16::try_from(room.len()).map_err(|_| EnvelopeError::RoomTooLong {
        len: room.len(),
        max: MAX_ROOM_LEN,
    })?;
    let mut ad = Vec::with_capacity(AD_LABEL.len() + 1 + TAG_LEN + 4 + 2 + room.len());
    ad.extend_from_slice(AD_LABEL);
    ad.push(flags.bits());
    ad.extend_from_slice(tag);
    ad.extend_from_slice(&index.to_be_bytes());
    ad.extend_from_slice(&room_len.to_be_bytes());
    ad.extend_from_slice(room.as_bytes());
    Ok(ad)
}

/// The budget to chunk a private room's messages with: `outer − 46`, so
/// every sealed frame fits the outer (wire) frame budget.
///
/// `None` when that is below [`MIN_FRAME_BUDGET`]: a private room needs an
/// outer budget of at least [`MIN_PRIVATE_FRAME_BUDGET`] bytes.
#[must_use]
pub const fn inner_budget(outer: usize) -> Option<usize> {
    match outer.checked_sub(ENVELOPE_OVERHEAD) {
        Some(inner) if inner >= MIN_FRAME_BUDGET => Some(inner),
        _ => None,
    }
}

/// Decodes the plaintext of an opened envelope and checks that its role matches the flags.
///
/// A sender holding the key could lie about the flags; relays group and
/// expire messages by them, so a receiver refuses such a frame.
///
/// # Errors
/// [`EnvelopeError::Inner`] when the plaintext is not a valid frame,
/// [`EnvelopeError::FlagsMismatch`] when its role differs from `flags`.
pub fn decode_inner(flags: Flags, plaintext: &[u8]) -> Result<Frame<'_>, EnvelopeError> {
    let frame = Frame::decode(plaintext).map_err(EnvelopeError::Inner)?;
    let inner = Flags::of_frame(&frame).map_err(EnvelopeError::Inner)?;
    if inner != flags {
        return Err(EnvelopeError::FlagsMismatch {
            envelope: flags.bits(),
            inner: inner.bits(),
        });
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16).unwrap_or(0))
            .collect()
    }

    #[test]
    fn constants_match_the_spec() {
        assert_eq!(ENVELOPE_OVERHEAD, 46);
        assert_eq!(ENVELOPE_HEADER_LEN, 30);
        assert_eq!(AD_LABEL.len(), 16);
        assert_eq!(inner_budget(262_144), Some(262_098));
        assert_eq!(inner_budget(45), None);
        assert_eq!(inner_budget(1069), None);
        assert_eq!(inner_budget(MIN_PRIVATE_FRAME_BUDGET), Some(1024));
    }

    #[test]
    fn additional_data_is_byte_exact() {
        let tag: [u8; 16] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let ad = additional_data(Flags::BEGIN, &tag, 0x0102_0304, "é").unwrap();
        let want = hex("6672616d65636861742d6532652d7631 01
             000102030405060708090a0b0c0d0e0f 01020304 0002 c3a9");
        assert_eq!(ad, want);
    }

    #[test]
    fn room_names_past_the_length_field_are_refused() {
        let room = "a".repeat(MAX_ROOM_LEN + 1);
        assert!(matches!(
            additional_data(Flags::SINGLE, &[0; 16], 0, &room),
            Err(EnvelopeError::RoomTooLong { len: 65_536, .. })
        ));
        assert!(additional_data(Flags::SINGLE, &[0; 16], 0, &room[1..]).is_ok());
    }

    #[test]
    fn flags_refuse_unknown_bits() {
        for bits in 0..=255u8 {
            let flags = Flags::from_bits(bits);
            if bits <= 3 {
                let flags = flags.unwrap();
                assert_eq!(flags.bits(), bits);
                assert_eq!(Flags::new(flags.begins(), flags.ends()), flags);
            } else {
                assert!(matches!(flags, Err(EnvelopeError::UnknownFlags(b)) if b == bits));
            }
        }
    }

    #[test]
    fn decode_checks_version_flags_and_length() {
        let mut bytes = vec![ENVELOPE_MAGIC, 0x02];
        bytes.extend_from_slice(&[7; 44]);
        let env = Envelope::decode(&bytes).unwrap();
        assert_eq!(env.flags, Flags::END);
        assert_eq!(env.tag, [7; 16]);
        assert_eq!(env.nonce, [7; 12]);
        assert_eq!(env.ciphertext, &[7; 16]);
        let mut again = Vec::new();
        env.encode(&mut again);
        assert_eq!(again, bytes);

        for len in 2..ENVELOPE_OVERHEAD {
            assert!(
                matches!(
                    Envelope::decode(&bytes[..len]),
                    Err(EnvelopeError::Truncated { needed: 46, available }) if available == len as u64
                ),
                "{len}"
            );
        }
        assert!(matches!(
            Envelope::decode(&bytes[..1]),
            Err(EnvelopeError::Truncated { .. })
        ));
        assert!(matches!(Envelope::decode(&[]), Err(EnvelopeError::Empty)));
        bytes[1] = 0x04;
        assert!(matches!(
            Envelope::decode(&bytes),
            Err(EnvelopeError::UnknownFlags(0x04))
        ));
        bytes[0] = 0xFC;
        assert!(matches!(
            Envelope::decode(&bytes),
            Err(EnvelopeError::NotAnEnvelope(0xFC))
        ));
        assert!(!is_envelope(&bytes));
    }
}
