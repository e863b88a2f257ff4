//! RGBA pixels to a ThumbHash: average colour, LPQA channels, a few DCT terms each.

use crate::{Cos, Error, MAX_SIZE, js_round};

/// One channel's DCT: its DC term, its AC terms normalised to 0..=1, and their scale.
struct Channel {
    dc: f64,
    ac: Vec<f64>,
    scale: f64,
}

/// The cosines of the DCT: `cos(PI / n * c * (i + 0.5))` for `c` in `0..terms`, `i` in
/// `0..n`, row by row. The same expression as the reference, computed once per channel
/// instead of once per coefficient: the same values.
fn cosines(n: usize, terms: usize, cos: Cos) -> Vec<f64> {
    use std::f64::consts::PI;
    let nf = n as f64;
    (0..terms)
        .flat_map(|c| (0..n).map(move |i| cos(PI / nf * c as f64 * (i as f64 + 0.5))))
        .collect()
}

/// The DCT terms `(cx, cy)` with `cx * ny < nx * (ny - cy)` of a `w` x `h` channel.
fn encode_channel(
    channel: &[f64],
    (w, h): (usize, usize),
    nx: usize,
    ny: usize,
    cos: Cos,
) -> Channel {
    let (fxs, fys) = (cosines(w, nx, cos), cosines(h, ny, cos));
    let mut out = Channel {
        dc: 0.0,
        ac: Vec::with_capacity(nx * ny),
        scale: 0.0,
    };
    for (cy, fy_row) in fys.chunks_exact(h).enumerate() {
        for (cx, fx) in fxs.chunks_exact(w).enumerate() {
            if cx * ny >= nx * (ny - cy) {
                break;
            }
            let mut f = 0.0;
            for (row, fy) in channel.chunks_exact(w).zip(fy_row) {
                for (value, fx) in row.iter().zip(fx) {
                    f += value * fx * fy;
                }
            }
            f /= (w * h) as f64;
            if cx > 0 || cy > 0 {
                out.ac.push(f);
                out.scale = out.scale.max(f.abs());
            } else {
                out.dc = f;
            }
        }
    }
    if out.scale > 0.0 {
        for ac in &mut out.ac {
            *ac = 0.5 + 0.5 / out.scale * *ac;
        }
    }
    out
}

/// Encode an image to its ThumbHash: `rgba` holds `width * height` pixels, row by row, 4
/// bytes each, not premultiplied by alpha.
///
/// # Errors
/// [`Error::Empty`] for a width or height of 0, [`Error::TooLarge`] above [`MAX_SIZE`],
/// [`Error::WrongLength`] when `rgba` is not `width * height * 4` bytes.
pub fn encode(width: u32, height: u32, rgba: &[u8]) -> Result<Vec<u8>, Error> {
    encode_with(width, height, rgba, f64::cos)
}

/// [`encode`] with the cosine `cos` (a browser's `Math.cos`, say: the reference's own, and
/// no copy of a cosine's code in WebAssembly).
///
/// # Errors
/// As [`encode`].
pub fn encode_with(width: u32, height: u32, rgba: &[u8], cos: Cos) -> Result<Vec<u8>, Error> {
    if width == 0 || height == 0 {
        return Err(Error::Empty);
    }
    if width > MAX_SIZE || height > MAX_SIZE {
        return Err(Error::TooLarge {
            width,
            height,
            max: MAX_SIZE,
        });
    }
    // At most 100 x 100: these fit any usize and are exact in f64.
    let (w, h) = (width as usize, height as usize);
    let expected = w * h * 4;
    if rgba.len() != expected {
        return Err(Error::WrongLength {
            expected,
            actual: rgba.len(),
        });
    }

    // The average colour, weighted by alpha.
    let (mut avg_r, mut avg_g, mut avg_b, mut avg_a) = (0.0, 0.0, 0.0, 0.0);
    for px in rgba.chunks_exact(4) {
        let &[r, g, b, a] = px else { continue };
        let alpha = f64::from(a) / 255.0;
        avg_r += alpha / 255.0 * f64::from(r);
        avg_g += alpha / 255.0 * f64::from(g);
        avg_b += alpha / 255.0 * f64::from(b);
        avg_a += alpha;
    }
    if avg_a > 0.0 {
        avg_r /= avg_a;
        avg_g /= avg_a;
        avg_b /= avg_a;
    }

    let has_alpha = avg_a < (w * h) as f64;
    // Fewer luminance terms when alpha needs room.
    let l_limit = if has_alpha { 5.0 } else { 7.0 };
    let longest = w.max(h) as f64;
    // Both in 1..=7: exact as usize.
    let lx = js_round(l_limit * w as f64 / longest).max(1.0) as usize;
    let ly = js_round(l_limit * h as f64 / longest).max(1.0) as usize;

    // RGBA to LPQA, each pixel composited over the average colour.
    let n = w * h;
    let (mut l, mut p, mut q, mut a) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for px in rgba.chunks_exact(4) {
        let &[pr, pg, pb, pa] = px else { continue };
        let alpha = f64::from(pa) / 255.0;
        let r = avg_r * (1.0 - alpha) + alpha / 255.0 * f64::from(pr);
        let g = avg_g * (1.0 - alpha) + alpha / 255.0 * f64::from(pg);
        let b = avg_b * (1.0 - alpha) + alpha / 255.0 * f64::from(pb);
        l.push((r + g + b) / 3.0);
        p.push((r + g) / 2.0 - b);
        q.push(r - g);
        a.push(alpha);
    }

    let l = encode_channel(&l, (w, h), lx.max(3), ly.max(3), cos);
    let p = encode_channel(&p, (w, h), 3, 3, cos);
    let q = encode_channel(&q, (w, h), 3, 3, cos);
    let a = has_alpha.then(|| encode_channel(&a, (w, h), 5, 5, cos));

    // The constants. Every rounded value is within its field (DC terms are in 0..=1 or
    // -1..=1, scales in 0..=1), as in the reference, which ORs them the same way.
    let is_landscape = w > h;
    let field = |x: f64| js_round(x) as u32;
    let header24 = field(63.0 * l.dc)
        | (field(31.5 + 31.5 * p.dc) << 6)
        | (field(31.5 + 31.5 * q.dc) << 12)
        | (field(31.0 * l.scale) << 18)
        | (u32::from(has_alpha) << 23);
    let header16 = (if is_landscape { ly } else { lx }) as u32
        | (field(63.0 * p.scale) << 3)
        | (field(63.0 * q.scale) << 9)
        | (u32::from(is_landscape) << 15);
    let [h0, h1, h2, _] = header24.to_le_bytes();
    let [h3, h4, ..] = header16.to_le_bytes();
    let mut hash = vec![h0, h1, h2, h3, h4];
    if let Some(a) = &a {
        hash.push((field(15.0 * a.dc) | (field(15.0 * a.scale) << 4)) as u8);
    }

    // The AC terms, 4 bits each, low nibble first.
    let mut odd = false;
    let channels = [Some(&l), Some(&p), Some(&q), a.as_ref()];
    for channel in channels.into_iter().flatten() {
        for &f in &channel.ac {
            let nibble = (field(15.0 * f) & 15) as u8;
            match hash.last_mut() {
                Some(last) if odd => *last |= nibble << 4,
                _ => hash.push(nibble),
            }
            odd = !odd;
        }
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_cannot_encode() {
        assert_eq!(encode(0, 5, &[]), Err(Error::Empty));
        assert_eq!(
            encode(101, 5, &[0; 101 * 5 * 4]),
            Err(Error::TooLarge {
                width: 101,
                height: 5,
                max: 100
            })
        );
        assert_eq!(
            encode(2, 2, &[0; 15]),
            Err(Error::WrongLength {
                expected: 16,
                actual: 15
            })
        );
    }

    #[test]
    fn sizes_follow_the_design() {
        // Opaque square: 5 header bytes + 37 nibbles; transparent pixels add the A channel.
        let opaque = encode(8, 8, &[255; 8 * 8 * 4]).unwrap();
        assert_eq!(opaque.len(), 5 + 37_usize.div_ceil(2));
        let mut clear = vec![255; 8 * 8 * 4];
        clear[3] = 0;
        assert_eq!(
            encode(8, 8, &clear).unwrap().len(),
            6 + 38_usize.div_ceil(2)
        );
    }
}
