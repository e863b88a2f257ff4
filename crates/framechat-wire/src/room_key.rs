//! Room keys of private rooms: 32 bytes, written in the URL fragment as `#k=` and 43 base64url characters.
//!
//! The fragment is never sent to a server by a browser, so the key reaches
//! only the people the link is shared with. Parsing is strict: exactly 43
//! characters of the URL-safe alphabet (RFC 4648 §5), no padding, and the
//! last character's two unused bits zero, so every key has one spelling.
//!
//! ```
//! use framechat_wire::RoomKey;
//!
//! let key = RoomKey::from_bytes([0xFB; 32]);
//! let fragment = format!("#{}&theme=dark", key.to_fragment_param());
//! assert_eq!(&fragment[..6], "#k=-_v");
//! assert_eq!(RoomKey::from_fragment(&fragment)?, Some(key));
//! assert_eq!(RoomKey::from_fragment("#theme=dark")?, None);
//! # Ok::<(), framechat_wire::KeyError>(())
//! ```

use std::fmt;

use crate::envelope::ROOM_KEY_LEN;
use crate::error::KeyError;

/// Characters of a room key in base64url without padding: ⌈32 × 8 / 6⌉.
pub const ROOM_KEY_CHARS: usize = 43;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A room's 32-byte key. Its `Debug` output does not show the key.
#[derive(Clone, PartialEq, Eq)]
pub struct RoomKey([u8; ROOM_KEY_LEN]);

impl fmt::Debug for RoomKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key must never reach a log line.
        f.write_str("RoomKey(..)")
    }
}

impl RoomKey {
    /// A key from its bytes (fresh from a CSPRNG when making a room).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; ROOM_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The key's bytes: the HKDF input keying material.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; ROOM_KEY_LEN] {
        &self.0
    }

    /// Parses 43 base64url characters.
    ///
    /// # Errors
    /// [`KeyError::Length`], [`KeyError::InvalidCharacter`] (padding `=`
    /// included) or [`KeyError::NonCanonical`].
    pub fn from_base64url(text: &str) -> Result<Self, KeyError> {
        let chars = text.as_bytes();
        if chars.len() != ROOM_KEY_CHARS {
            return Err(KeyError::Length {
                len: chars.len(),
                expected: ROOM_KEY_CHARS,
            });
        }
        let mut out = [0u8; ROOM_KEY_LEN];
        let mut acc: u32 = 0;
        let mut bits: u32 = 0;
        let mut written = 0usize;
        for (offset, &c) in chars.iter().enumerate() {
            let value = sextet(c).ok_or(KeyError::InvalidCharacter { offset })?;
            acc = (acc << 6) | u32::from(value);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                let byte = u8::try_from((acc >> bits) & 0xFF).unwrap_or(0);
                if let Some(slot) = out.get_mut(written) {
                    *slot = byte;
                }
                written += 1;
                acc &= (1 << bits) - 1;
            }
        }
        // 43 × 6 = 258 bits: the last character's two low bits are left over
        // and must be zero, or two spellings would name one key.
        if acc != 0 {
            return Err(KeyError::NonCanonical);
        }
        Ok(Self(out))
    }

    /// The 43 base64url characters of the key.
    #[must_use]
    pub fn to_base64url(&self) -> String {
        let mut out = String::with_capacity(ROOM_KEY_CHARS);
        let mut acc: u32 = 0;
        let mut bits: u32 = 0;
        let mut push = |v: u32| {
            let i = usize::try_from(v & 63).unwrap_or(0);
            out.push(char::from(ALPHABET.get(i).copied().unwrap_or(b'A')));
        };
        for &byte in &self.0 {
            acc = (acc << 8) | u32::from(byte);
            bits += 8;
            while bits >= 6 {
                bits -= 6;
                push(acc >> bits);
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            push(acc << (6 - bits));
        }
        out
    }

    /// The fragment parameter `k=` and the key, without `#`.
    #[must_use]
    pub fn to_fragment_param(&self) -> String {
        format!("k={}", self.to_base64url())
    }

    /// The key in a URL fragment (with or without its leading `#`):
    /// `&`-separated parameters, one of them `k=` and the key.
    ///
    /// `Ok(None)` when there is no `k=` parameter: the room is not private.
    ///
    /// # Errors
    /// A [`KeyError`] when a `k=` parameter is there but is not a valid
    /// key, or appears twice: such a room must not open unencrypted.
    pub fn from_fragment(fragment: &str) -> Result<Option<Self>, KeyError> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        let mut found = None;
        for param in fragment.split('&') {
            if let Some(value) = param.strip_prefix("k=") {
                if found.is_some() {
                    return Err(KeyError::Duplicate);
                }
                found = Some(Self::from_base64url(value)?);
            }
        }
        Ok(found)
    }
}

/// The value of one base64url character.
fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_spellings() {
        // Python: base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=")
        let key = RoomKey::from_bytes(core::array::from_fn(|i| u8::try_from(i).unwrap()));
        assert_eq!(
            key.to_base64url(),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
        );
        assert_eq!(
            RoomKey::from_base64url("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
            Ok(key)
        );
        let ones = RoomKey::from_bytes([0xFF; 32]);
        assert_eq!(
            ones.to_base64url(),
            "__________________________________________8"
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        let good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        assert_eq!(
            RoomKey::from_base64url(&good[1..]),
            Err(KeyError::Length {
                len: 42,
                expected: 43
            })
        );
        assert_eq!(
            RoomKey::from_base64url(&format!("{good}=")),
            Err(KeyError::Length {
                len: 44,
                expected: 43
            })
        );
        let plus = good.replacen('A', "+", 1);
        assert_eq!(
            RoomKey::from_base64url(&plus),
            Err(KeyError::InvalidCharacter { offset: 0 })
        );
        // "8" ends the all-0xFF key; "9" sets an unused bit.
        let noncanonical = format!("{}9", "_".repeat(42));
        assert_eq!(
            RoomKey::from_base64url(&noncanonical),
            Err(KeyError::NonCanonical)
        );
        // A multi-byte character of the right byte length is not a key either.
        let accented = format!("é{}", &good[2..]);
        assert!(matches!(
            RoomKey::from_base64url(&accented),
            Err(KeyError::InvalidCharacter { offset: 0 })
        ));
    }

    #[test]
    fn fragments() {
        let good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
        let key = RoomKey::from_base64url(good).unwrap();
        for fragment in [
            format!("#k={good}"),
            format!("k={good}"),
            format!("#name=ann&k={good}"),
            format!("#k={good}&x=1&y"),
        ] {
            assert_eq!(
                RoomKey::from_fragment(&fragment),
                Ok(Some(key.clone())),
                "{fragment}"
            );
        }
        assert_eq!(RoomKey::from_fragment(""), Ok(None));
        assert_eq!(RoomKey::from_fragment("#"), Ok(None));
        assert_eq!(RoomKey::from_fragment("#kk=1&xk=2"), Ok(None));
        assert_eq!(
            RoomKey::from_fragment("#k="),
            Err(KeyError::Length {
                len: 0,
                expected: 43
            })
        );
        assert_eq!(
            RoomKey::from_fragment(&format!("#k={good}&k={good}")),
            Err(KeyError::Duplicate)
        );
        assert_eq!(format!("{key:?}"), "RoomKey(..)");
    }
}
