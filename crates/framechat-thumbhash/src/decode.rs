//! A ThumbHash back to pixels, and what its header says without decoding: aspect ratio and
//! average colour. Every byte is read with a bounds check: a hostile hash is an error,
//! never a panic.

use crate::{Cos, Error, ac_count, js_round};

/// A decoded placeholder: at most 32 pixels on its longer side, RGBA row by row, not
/// premultiplied by alpha.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels, 1..=32.
    pub width: u32,
    /// Height in pixels, 1..=32.
    pub height: u32,
    /// `width * height * 4` bytes.
    pub rgba: Vec<u8>,
}

/// The fields of a hash's header.
struct Header {
    l_dc: f64,
    p_dc: f64,
    q_dc: f64,
    l_scale: f64,
    p_scale: f64,
    q_scale: f64,
    has_alpha: bool,
    lx: usize,
    ly: usize,
    a_dc: f64,
    a_scale: f64,
}

fn byte(hash: &[u8], i: usize) -> Result<u8, Error> {
    hash.get(i).copied().ok_or(Error::Truncated {
        needed: i + 1,
        available: hash.len(),
    })
}

fn header(hash: &[u8]) -> Result<Header, Error> {
    let header24 = u32::from(byte(hash, 0)?)
        | u32::from(byte(hash, 1)?) << 8
        | u32::from(byte(hash, 2)?) << 16;
    let header16 = u32::from(byte(hash, 3)?) | u32::from(byte(hash, 4)?) << 8;
    let has_alpha = header24 >> 23 != 0;
    let is_landscape = header16 >> 15 != 0;
    let l_max = if has_alpha { 5 } else { 7 };
    let l_min = (header16 & 7) as usize;
    let (a_dc, a_scale) = if has_alpha {
        let a = byte(hash, 5)?;
        (f64::from(a & 15) / 15.0, f64::from(a >> 4) / 15.0)
    } else {
        (1.0, 1.0)
    };
    Ok(Header {
        l_dc: f64::from(header24 & 63) / 63.0,
        p_dc: f64::from((header24 >> 6) & 63) / 31.5 - 1.0,
        q_dc: f64::from((header24 >> 12) & 63) / 31.5 - 1.0,
        l_scale: f64::from((header24 >> 18) & 31) / 31.0,
        p_scale: f64::from((header16 >> 3) & 63) / 63.0,
        q_scale: f64::from((header16 >> 9) & 63) / 63.0,
        has_alpha,
        lx: (if is_landscape { l_max } else { l_min }).max(3),
        ly: (if is_landscape { l_min } else { l_max }).max(3),
        a_dc,
        a_scale,
    })
}

/// The original image's width divided by its height, approximately (from the number of
/// luminance terms: 1/7 to 7).
///
/// # Errors
/// [`Error::Truncated`] when the hash is shorter than its 5-byte header.
pub fn aspect_ratio(hash: &[u8]) -> Result<f64, Error> {
    let has_alpha = byte(hash, 2)? & 0x80 != 0;
    let l_min = f64::from(byte(hash, 3)? & 7);
    let is_landscape = byte(hash, 4)? & 0x80 != 0;
    let l_max = if has_alpha { 5.0 } else { 7.0 };
    Ok(if is_landscape {
        l_max / l_min
    } else {
        l_min / l_max
    })
}

/// The image's average colour as `[r, g, b, a]`, each 0.0..=1.0, not premultiplied.
///
/// # Errors
/// [`Error::Truncated`] when the hash is shorter than its header.
pub fn average_rgba(hash: &[u8]) -> Result<[f64; 4], Error> {
    let h = header(hash)?;
    let (r, g, b) = rgb(h.l_dc, h.p_dc, h.q_dc);
    Ok([
        r.clamp(0.0, 1.0),
        g.clamp(0.0, 1.0),
        b.clamp(0.0, 1.0),
        h.a_dc,
    ])
}

/// LPQ back to RGB.
fn rgb(l: f64, p: f64, q: f64) -> (f64, f64, f64) {
    let b = l - 2.0 / 3.0 * p;
    let r = (3.0 * l - b + q) / 2.0;
    (r, r - q, b)
}

/// Decode a hash to its placeholder image, 32 pixels on its longer side.
///
/// # Errors
/// [`Error::Truncated`] when the hash is shorter than its header says. Bytes after the
/// coefficients are ignored, as the reference does.
pub fn decode(hash: &[u8]) -> Result<Image, Error> {
    decode_with(hash, f64::cos)
}

/// [`decode`] with the cosine `cos` (a browser's `Math.cos`, say: the reference's own, and
/// no copy of a cosine's code in WebAssembly).
///
/// # Errors
/// As [`decode`].
pub fn decode_with(hash: &[u8], cos: Cos) -> Result<Image, Error> {
    use std::f64::consts::PI;
    let h = header(hash)?;
    let ac_start = if h.has_alpha { 6 } else { 5 };
    let counts = [
        ac_count(h.lx, h.ly),
        5,
        5,
        if h.has_alpha { ac_count(5, 5) } else { 0 },
    ];
    let needed = ac_start + counts.iter().sum::<usize>().div_ceil(2);
    if hash.len() < needed {
        return Err(Error::Truncated {
            needed,
            available: hash.len(),
        });
    }
    // The coefficients, boosting P and Q by 1.25 for the saturation quantisation loses.
    let scales = [h.l_scale, h.p_scale * 1.25, h.q_scale * 1.25, h.a_scale];
    let mut index = 0;
    let mut channels: [Vec<f64>; 4] = Default::default();
    for ((channel, count), scale) in channels.iter_mut().zip(counts).zip(scales) {
        for _ in 0..count {
            let nibble = (byte(hash, ac_start + index / 2)? >> ((index & 1) * 4)) & 15;
            channel.push((f64::from(nibble) / 7.5 - 1.0) * scale);
            index += 1;
        }
    }
    let [l_ac, p_ac, q_ac, a_ac] = channels;

    let ratio = aspect_ratio(hash)?;
    // A hostile header may say 0 luminance terms one way: keep at least one pixel.
    let (w, h_px) = if ratio > 1.0 {
        (32.0, js_round(32.0 / ratio))
    } else {
        (js_round(32.0 * ratio), 32.0)
    };
    let (w, h_px) = (w.clamp(1.0, 32.0), h_px.clamp(1.0, 32.0));
    let (width, height) = (w as usize, h_px as usize);
    let mut rgba = Vec::with_capacity(width * height * 4);
    let n = h.lx.max(if h.has_alpha { 5 } else { 3 });
    let m = h.ly.max(if h.has_alpha { 5 } else { 3 });
    // Every column's cosines once (the reference computes them again for every row).
    let fxs: Vec<f64> = (0..width)
        .flat_map(|x| (0..n).map(move |cx| cos(PI / w * (x as f64 + 0.5) * cx as f64)))
        .collect();
    let mut fy = vec![0.0; m];
    for y in 0..height {
        for (cy, f) in fy.iter_mut().enumerate() {
            *f = cos(PI / h_px * (y as f64 + 0.5) * cy as f64);
        }
        for fx in fxs.chunks_exact(n) {
            let term = |ac: &[f64], nx: usize, ny: usize, start: f64| {
                let mut v = start;
                let mut j = 0;
                for (cy, fy) in fy.iter().enumerate().take(ny) {
                    let fy2 = fy * 2.0;
                    let mut cx = usize::from(cy == 0);
                    while cx * ny < nx * (ny - cy) {
                        let (Some(a), Some(fx)) = (ac.get(j), fx.get(cx)) else {
                            break;
                        };
                        v += a * fx * fy2;
                        j += 1;
                        cx += 1;
                    }
                }
                v
            };
            let l = term(&l_ac, h.lx, h.ly, h.l_dc);
            let (p, q) = pq(&p_ac, &q_ac, fx, &fy, h.p_dc, h.q_dc);
            let a = if h.has_alpha {
                term(&a_ac, 5, 5, h.a_dc)
            } else {
                h.a_dc
            };
            let (r, g, b) = rgb(l, p, q);
            // In 0..=255 after the clamp: the cast truncates as the reference's Uint8Array.
            for v in [r, g, b, a] {
                rgba.push((255.0 * v.min(1.0)).max(0.0) as u8);
            }
        }
    }
    Ok(Image {
        width: u32::try_from(width).unwrap_or(32),
        height: u32::try_from(height).unwrap_or(32),
        rgba,
    })
}

/// P and Q share their 3x3 terms: summed in one pass, as the reference does.
fn pq(p_ac: &[f64], q_ac: &[f64], fx: &[f64], fy: &[f64], p: f64, q: f64) -> (f64, f64) {
    let (mut p, mut q) = (p, q);
    let mut j = 0;
    for cy in 0..3 {
        let fy2 = fy.get(cy).copied().unwrap_or(0.0) * 2.0;
        for cx in usize::from(cy == 0)..3 - cy {
            let f = fx.get(cx).copied().unwrap_or(0.0) * fy2;
            p += p_ac.get(j).copied().unwrap_or(0.0) * f;
            q += q_ac.get(j).copied().unwrap_or(0.0) * f;
            j += 1;
        }
    }
    (p, q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hashes_are_errors() {
        assert_eq!(
            decode(&[]),
            Err(Error::Truncated {
                needed: 1,
                available: 0
            })
        );
        assert_eq!(
            aspect_ratio(&[0, 0, 0, 7]),
            Err(Error::Truncated {
                needed: 5,
                available: 4
            })
        );
        // An opaque portrait header announcing 7x7 L terms needs 5 + 19 bytes.
        let header = [0x20, 0x20, 0x00, 0x07, 0x00];
        assert_eq!(
            decode(&header),
            Err(Error::Truncated {
                needed: 24,
                available: 5
            })
        );
        assert!(decode(&[header.as_slice(), &[0x77; 19]].concat()).is_ok());
    }

    #[test]
    fn degenerate_headers_still_give_a_pixel() {
        // Landscape with 0 luminance terms: an infinite ratio in the reference.
        let hash = [
            0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let image = decode(&hash).unwrap();
        assert_eq!((image.width, image.height), (32, 1));
        assert_eq!(image.rgba.len(), 32 * 4);
    }
}
