//! ThumbHash placeholders: a small RGBA image in, about 25 bytes out; those bytes in, a
//! blurred 32-pixel picture out, with the original's aspect ratio and alpha.
//!
//! This is Evan Wallace's ThumbHash design (<https://evanw.github.io/thumbhash/>), written
//! after the reference JavaScript implementation (`thumbhash` on npm) so that [`encode`]
//! gives the same bytes as its `rgbaToThumbHash` for the same pixels: every step is done
//! in `f64`, in the same order, with JavaScript's rounding. The reference is MIT licensed;
//! its notice is in `LICENSE-THUMBHASH` next to this crate's manifest.
//!
//! ```text
//! byte 0..3  header24: L DC (6 bits) | P DC (6) | Q DC (6) | L scale (5) | has alpha (1)
//! byte 3..5  header16: L count (3) | P scale (6) | Q scale (6) | is landscape (1)
//! byte 5     when alpha: A DC (4) | A scale (4)
//! then       AC coefficients, 4 bits each, low nibble first: L, P, Q (and A)
//! ```
//!
//! ```
//! use framechat_thumbhash::{aspect_ratio, average_rgba, decode, encode};
//!
//! // A 4x2 image, left half red, right half blue, opaque.
//! let mut rgba = Vec::new();
//! for _y in 0..2 {
//!     for x in 0..4 {
//!         rgba.extend_from_slice(if x < 2 { &[255, 0, 0, 255] } else { &[0, 0, 255, 255] });
//!     }
//! }
//! let hash = encode(4, 2, &rgba)?;
//! assert!(hash.len() <= 25);
//! assert!((aspect_ratio(&hash)? - 2.0).abs() < 0.5);
//! let [r, _, b, a] = average_rgba(&hash)?;
//! assert!(r > 0.3 && b > 0.3 && a == 1.0);
//! let placeholder = decode(&hash)?;
//! // 7 luminance terms across, 4 down: shown 32x18, about the 2:1 of the original.
//! assert_eq!((placeholder.width, placeholder.height), (32, 18));
//! assert_eq!(placeholder.rgba.len(), 32 * 18 * 4);
//! # Ok::<(), framechat_thumbhash::Error>(())
//! ```
#![deny(clippy::indexing_slicing)]

mod decode;
mod encode;

use std::fmt;

pub use decode::{Image, aspect_ratio, average_rgba, decode, decode_with};
pub use encode::{encode, encode_with};

/// A cosine function: `f64::cos`, or a browser's `Math.cos` ([`encode_with`], [`decode_with`]).
pub type Cos = fn(f64) -> f64;

/// Largest width and height [`encode`] accepts: the design averages over at most 100x100
/// pixels ("encoding an image larger than 100x100 is slow with no benefit"); callers
/// downscale first.
pub const MAX_SIZE: u32 = 100;

/// Longest hash [`encode`] writes: 5 header bytes and 4-bit coefficients, 27 for L and 5
/// each for P and Q (24 bytes); with alpha, 1 more header byte, 14 for L and 14 for A (25).
pub const MAX_HASH_LEN: usize = 25;

/// Why an image could not be encoded or a hash decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Width or height is zero.
    Empty,
    /// Width or height is above [`MAX_SIZE`].
    TooLarge {
        /// The width given.
        width: u32,
        /// The height given.
        height: u32,
        /// The largest accepted for either.
        max: u32,
    },
    /// The pixel buffer is not `width * height * 4` bytes long.
    WrongLength {
        /// The length `width * height * 4`.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The hash ends before the coefficients its header announces.
    Truncated {
        /// Bytes the header says the hash holds.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("image has no pixels"),
            Self::TooLarge { width, height, max } => {
                write!(f, "image {width}x{height} is larger than {max}x{max}")
            }
            Self::WrongLength { expected, actual } => {
                write!(f, "pixel buffer of {actual} bytes, expected {expected}")
            }
            Self::Truncated { needed, available } => {
                write!(
                    f,
                    "truncated thumbhash: needs {needed} bytes, only {available} available"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// JavaScript's `Math.round`: the nearest integer, halves towards +infinity (Rust's
/// `f64::round` takes halves away from zero, which differs below zero).
pub(crate) fn js_round(x: f64) -> f64 {
    let floor = x.floor();
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}

/// The number of AC coefficients of an `nx` x `ny` channel: the triangle `cx * ny < nx *
/// (ny - cy)` without the DC term at (0, 0).
pub(crate) fn ac_count(nx: usize, ny: usize) -> usize {
    (0..ny)
        .map(|cy| {
            let row = (0..nx).filter(|cx| cx * ny < nx * (ny - cy)).count();
            if cy == 0 { row.saturating_sub(1) } else { row }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_like_javascript() {
        for (x, rounded) in [
            (0.5, 1.0),
            (1.5, 2.0),
            (2.4999, 2.0),
            (-0.5, 0.0),
            (-2.5, -2.0),
            (-2.6, -3.0),
            (0.49999999999999994, 0.0),
        ] {
            assert_eq!(js_round(x), rounded, "{x}");
        }
    }

    #[test]
    fn counts_coefficients() {
        // 3x3: (1,0) (2,0) (0,1) (1,1) (0,2) = 5; 7x7 for L: 27; 5x5 for A: 14.
        assert_eq!(ac_count(3, 3), 5);
        assert_eq!(ac_count(7, 7), 27);
        assert_eq!(ac_count(5, 5), 14);
        assert_eq!(ac_count(7, 3), 6 + 5 + 3);
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            Error::TooLarge {
                width: 101,
                height: 3,
                max: 100
            }
            .to_string(),
            "image 101x3 is larger than 100x100"
        );
        assert_eq!(
            Error::Truncated {
                needed: 9,
                available: 5
            }
            .to_string(),
            "truncated thumbhash: needs 9 bytes, only 5 available"
        );
    }
}
