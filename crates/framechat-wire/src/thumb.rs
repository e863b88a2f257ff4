//! The attachment header's `thumb` field: ThumbHash bytes as base64url without padding
//! (RFC 4648 section 5, "base64url", with the `=` padding left out as section 3.2 allows).

use crate::error::HeaderError;

/// Longest `thumb` value, in characters: 48 bytes of hash. A ThumbHash is at most 25
/// bytes (34 characters); the rest leaves room for a later version of the design.
pub const MAX_THUMB_LEN: usize = 64;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `bytes` as base64url without padding: what a sender puts in `thumb`.
///
/// ```
/// assert_eq!(framechat_wire::encode_thumb(&[0xDE, 0x17, 0x0A, 0x35]), "3hcKNQ");
/// ```
#[must_use]
pub fn encode_thumb(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let [a, b, c] = [0, 1, 2].map(|i| group.get(i).copied().unwrap_or(0));
        let n = u32::from(a) << 16 | u32::from(b) << 8 | u32::from(c);
        // 2, 3 or 4 characters for 1, 2 or 3 bytes.
        for k in 0..=group.len() {
            let index = (n >> (18 - 6 * k)) & 63;
            if let Some(&ch) = ALPHABET.get(index as usize) {
                out.push(char::from(ch));
            }
        }
    }
    out
}

/// The bytes of a `thumb` value; `None` when it is not unpadded base64url.
///
/// ```
/// assert_eq!(framechat_wire::decode_thumb("3hcKNQ"), Some(vec![0xDE, 0x17, 0x0A, 0x35]));
/// assert_eq!(framechat_wire::decode_thumb("3hcKNQ=="), None);
/// ```
#[must_use]
pub fn decode_thumb(text: &str) -> Option<Vec<u8>> {
    // A last group of 1 character cannot hold a byte.
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for group in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (k, &ch) in group.iter().enumerate() {
            let value = ALPHABET.iter().position(|&a| a == ch)?;
            n |= u32::try_from(value).ok()? << (18 - 6 * k);
        }
        let [_, a, b, c] = n.to_be_bytes();
        out.extend_from_slice([a, b, c].get(..group.len() - 1)?);
    }
    Some(out)
}

/// The `thumb` rules of PROTOCOL.md: 1..=64 characters of unpadded base64url.
pub(crate) fn check(thumb: &str) -> Result<(), HeaderError> {
    if thumb.is_empty() {
        return Err(HeaderError::FieldEmpty("thumb"));
    }
    if thumb.len() > MAX_THUMB_LEN {
        return Err(HeaderError::FieldTooLong {
            field: "thumb",
            len: thumb.len(),
            max: MAX_THUMB_LEN,
        });
    }
    if decode_thumb(thumb).is_none() {
        return Err(HeaderError::NotBase64Url("thumb"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        let bytes: Vec<u8> = (0..=255).rev().collect();
        for len in 0..40 {
            let text = encode_thumb(&bytes[..len]);
            assert_eq!(text.len(), (len * 4).div_ceil(3));
            assert!(!text.contains(['+', '/', '=']));
            assert_eq!(decode_thumb(&text).as_deref(), Some(&bytes[..len]));
        }
    }

    #[test]
    fn refuses_what_is_not_unpadded_base64url() {
        for bad in ["A", "AAAAA", "ab+c", "ab/c", "abc=", "a b", "é"] {
            assert_eq!(decode_thumb(bad), None, "{bad}");
        }
        assert_eq!(check(""), Err(HeaderError::FieldEmpty("thumb")));
        assert_eq!(
            check(&"A".repeat(65)).map_err(|e| e.to_string()),
            Err("field thumb is 65 bytes, the limit is 64".into())
        );
        assert_eq!(check("ab+c"), Err(HeaderError::NotBase64Url("thumb")));
        assert_eq!(check(&"A".repeat(64)), Ok(()));
    }
}
