// Writes vectors.json: ThumbHash test vectors made by the reference implementation (the
// `thumbhash` npm package, pinned in package.json). Run from this folder:
//   npm ci && node generate.mjs
// Each image is made by a small integer formula that tests/vectors.rs repeats exactly, so
// only the formula's name and size are stored, with what the reference makes of them: the
// hash, its decoded placeholder, its average colour and aspect ratio.
import { writeFileSync } from 'node:fs'
import {
  rgbaToThumbHash,
  thumbHashToRGBA,
  thumbHashToAverageRGBA,
  thumbHashToApproximateAspectRatio,
} from 'thumbhash'

// The pixel formulas; keep in step with `pixels` in tests/vectors.rs.
function pixels(kind, w, h) {
  const out = new Uint8Array(w * h * 4)
  let s = 1 // ZX81 LCG: s = (75 s + 74) mod 65537, exact in doubles
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let px
      switch (kind) {
        case 'gradient': px = [(x * 4) % 256, (y * 5) % 256, ((x ^ y) * 8) % 256, 255]; break
        case 'alpha': px = [(x * 7) % 256, (y * 3) % 256, 128, ((x + y) * 9) % 256]; break
        case 'noise': px = [0, 0, 0, 255].map((v, i) => {
          if (i === 3) return v
          s = (75 * s + 74) % 65537
          return s & 255
        }); break
        case 'solid': px = [0, 128, 255, 255]; break
        case 'transparent': px = [10, 20, 30, 0]; break
        default: throw new Error(kind)
      }
      out.set(px, (y * w + x) * 4)
    }
  }
  return out
}

const images = [
  ['gradient', 64, 48],
  ['gradient', 3, 100],
  ['alpha', 30, 80],
  ['noise', 100, 100],
  ['noise', 100, 25],
  ['solid', 1, 1],
  ['transparent', 16, 16],
]

const hex = bytes => Buffer.from(bytes).toString('hex')
const vectors = images.map(([kind, width, height]) => {
  const hash = rgbaToThumbHash(width, height, pixels(kind, width, height))
  const decoded = thumbHashToRGBA(hash)
  const average = thumbHashToAverageRGBA(hash)
  return {
    kind, width, height,
    hash: hex(hash),
    average: [average.r, average.g, average.b, average.a],
    aspect_ratio: thumbHashToApproximateAspectRatio(hash),
    decoded: { width: decoded.w, height: decoded.h, rgba: hex(decoded.rgba) },
  }
})
writeFileSync('vectors.json', JSON.stringify(vectors, null, 1) + '\n')
console.log(`wrote ${vectors.length} vectors`)
