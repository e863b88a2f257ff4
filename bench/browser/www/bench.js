// framechat browser bench page: scrub timings (our WASM vs piexifjs vs canvas vs a plain copy),
// JPEG segment checks of every output, and bytes on the wire (our frames vs base64 JSON).
// Loaded by index.html; run.mjs (the Node driver) calls window.framechatBench.* through Playwright.

import init, * as wasm from './pkg/framechat_bench_wasm.js';

let shipped = null;
const ready = init().then((exports) => {
  shipped = { scrub_in_memory: wasm.scrub_in_memory, kept_ptr: wasm.kept_ptr, scrub_plan: wasm.scrub_plan, memory: exports.memory };
});

// The reference build (whole build at opt-level 3, simd128), when the xtask made one.
let fast = null;
const fastReady = import('./pkg-simd/framechat_bench_wasm.js')
  .then(async (m) => {
    const exports = await m.default();
    fast = { scrub_in_memory: m.scrub_in_memory, kept_ptr: m.kept_ptr, scrub_plan: m.scrub_plan, memory: exports.memory };
  })
  .catch(() => {});

// ---------------------------------------------------------------- JPEG segment scan

const APP1_EXIF = 'Exif\0\0';
const APP1_XMP = 'http://ns.adobe.com/xap/1.0/\0';
const APP1_XMP_EXT = 'http://ns.adobe.com/xmp/extension/\0';
const APP13_PS = 'Photoshop 3.0\0';
const APP2_ICC = 'ICC_PROFILE\0';

function ascii(u8, start, len) {
  let s = '';
  for (let i = start; i < Math.min(u8.length, start + len); i++) s += String.fromCharCode(u8[i]);
  return s;
}

/** Lists the segments of a JPEG up to its first SOS: marker, length, and what it is. */
function segments(u8) {
  const out = [];
  if (u8[0] !== 0xff || u8[1] !== 0xd8) return { error: 'not a JPEG', segments: out };
  let i = 2;
  while (i + 4 <= u8.length) {
    if (u8[i] !== 0xff) return { error: `no marker at ${i}`, segments: out };
    const marker = u8[i + 1];
    if (marker === 0xff) { i += 1; continue; }
    const len = (u8[i + 2] << 8) | u8[i + 3];
    const body = i + 4;
    let kind = `FF${marker.toString(16).toUpperCase()}`;
    if (marker === 0xe0) kind = ascii(u8, body, 5) === 'JFIF\0' ? 'JFIF' : 'APP0';
    else if (marker === 0xe1) {
      if (ascii(u8, body, 6) === APP1_EXIF) kind = 'EXIF';
      else if (ascii(u8, body, APP1_XMP.length) === APP1_XMP) kind = 'XMP';
      else if (ascii(u8, body, APP1_XMP_EXT.length) === APP1_XMP_EXT) kind = 'XMP-ext';
      else kind = 'APP1';
    } else if (marker === 0xe2) kind = ascii(u8, body, APP2_ICC.length) === APP2_ICC ? 'ICC' : 'APP2';
    else if (marker === 0xed) kind = ascii(u8, body, APP13_PS.length) === APP13_PS ? 'IPTC' : 'APP13';
    else if (marker === 0xfe) kind = 'COM';
    else if (marker >= 0xe0 && marker <= 0xef) kind = `APP${marker - 0xe0}`;
    const seg = { kind, bytes: len + 2, at: i };
    if (kind === 'EXIF') seg.exif = exifTags(u8, body + 6, len - 8);
    if (kind === 'ICC') seg.icc = iccHeader(u8, body + 14, len - 16);
    out.push(seg);
    if (marker === 0xda) break; // SOS: entropy-coded data follows
    i += 2 + len;
  }
  return { segments: out };
}

/** The tag numbers of IFD0 in an EXIF block, and whether further IFDs (thumbnail) follow. */
function exifTags(u8, start, len) {
  const dv = new DataView(u8.buffer, u8.byteOffset + start, Math.max(0, Math.min(len, u8.length - start)));
  try {
    const le = dv.getUint16(0) === 0x4949;
    const ifd0 = dv.getUint32(4, le);
    const n = dv.getUint16(ifd0, le);
    const tags = [];
    for (let k = 0; k < n; k++) tags.push(dv.getUint16(ifd0 + 2 + 12 * k, le));
    const next = dv.getUint32(ifd0 + 2 + 12 * n, le);
    return { tags, ifd1: next !== 0 };
  } catch (e) {
    return { error: String(e) };
  }
}

/** An ICC profile's declared size, CMM and colour space, and a hash of its bytes (to compare). */
function iccHeader(u8, start, len) {
  const end = Math.min(u8.length, start + len);
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ u8[i], 0x01000193) >>> 0;
  const dv = new DataView(u8.buffer, u8.byteOffset + start, Math.max(0, end - start));
  return {
    size: dv.byteLength >= 4 ? dv.getUint32(0) : 0,
    cmm: ascii(u8, start + 4, 4).replace(/[^\x21-\x7e]/g, '') || 'none',
    space: ascii(u8, start + 16, 4).replace(/[^\x21-\x7e]/g, ''),
    fnv1a: hash.toString(16),
  };
}

/** A summary of what identifying or colour segments a JPEG holds. */
function inventory(u8) {
  const { segments: segs, error } = segments(u8);
  const count = (k) => segs.filter((s) => s.kind === k).length;
  const exif = segs.find((s) => s.kind === 'EXIF');
  return {
    error,
    bytes: u8.length,
    exif: count('EXIF'),
    exifTags: exif ? exif.exif.tags : [],
    exifMoreIfds: exif ? exif.exif.ifd1 : false,
    xmp: count('XMP') + count('XMP-ext'),
    iptc: count('IPTC'),
    com: count('COM'),
    icc: count('ICC'),
    iccProfiles: segs.filter((s) => s.kind === 'ICC').map((s) => s.icc),
    otherApp: segs.filter((s) => /^APP\d+$/.test(s.kind)).length,
    kinds: segs.map((s) => s.kind),
  };
}

// ---------------------------------------------------------------- the contenders

/** ArrayBuffer -> "binary string" (one char per byte), in slices to stay under the arg limit. */
function toBinaryString(u8) {
  const parts = [];
  for (let i = 0; i < u8.length; i += 0x8000) {
    parts.push(String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000)));
  }
  return parts.join('');
}

/** "binary string" -> bytes. */
function fromBinaryString(s) {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function piexifFull(ab) {
  return fromBinaryString(window.piexif.remove(toBinaryString(new Uint8Array(ab)))).buffer;
}

async function canvasReencode(ab) {
  const bitmap = await createImageBitmap(new Blob([ab], { type: 'image/jpeg' }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.92 });
  return blob.arrayBuffer();
}

/** Scrub, output left in WASM memory: a view of it (valid until the next call). */
function scrubToView(ab, m = shipped) {
  const len = m.scrub_in_memory(new Uint8Array(ab));
  return new Uint8Array(m.memory.buffer, m.kept_ptr(), len);
}

/** The copying path: scrub, then a Blob made from the scrubbed bytes in WASM memory. */
function scrubToBlob(ab, m = shipped) {
  return new Blob([scrubToView(ab, m)], { type: 'image/jpeg' });
}

/**
 * The client's path (src/media.rs): copy the bytes into WASM and plan; the Blob that is shown
 * and sent is slices of the picked file (`file`, the same bytes as `ab`) around the plan's
 * new bytes.
 */
function scrubPlanToBlob(ab, file, m = shipped) {
  const parts = m.scrub_plan(new Uint8Array(ab)).map((p) => (p instanceof Uint8Array ? p : file.slice(p[0], p[1])));
  return new Blob(parts, { type: 'image/jpeg' });
}

/** The plan as views of `ab` and the new bytes: the bytes to send, with no Blob around them. */
function scrubPlanToViews(ab, m = shipped) {
  const input = new Uint8Array(ab);
  return m.scrub_plan(input).map((p) => (p instanceof Uint8Array ? p : input.subarray(p[0], p[1])));
}

// ---------------------------------------------------------------- timing

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return { n: s.length, median: at(0.5), p90: at(0.9), min: s[0], max: s[s.length - 1] };
}

/** How many calls of a fast `fn` make a sample of at least `minMs` (timer resolution is coarse). */
function calibrate(fn, minMs) {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let k = 0; k < n; k++) fn();
    if (performance.now() - t0 >= minMs || n >= 1024) return n;
    n *= 2;
  }
}

function timeSync(fn, n) {
  const t0 = performance.now();
  for (let k = 0; k < n; k++) fn();
  return (performance.now() - t0) / n;
}

async function timeAsync(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function loadPhoto(url) {
  const res = await fetch(url, { cache: 'no-store' });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.arrayBuffer();
}

/**
 * Times every contender on the same bytes, interleaved round by round so that drift hits all
 * alike. Sync contenders are batched to at least `minSampleMs` per sample.
 */
async function scrubBench({ photo = 'photo.jpg', rounds = 15, canvasRounds = 5, warmup = 3, minSampleMs = 20 } = {}) {
  await ready;
  await fastReady;
  const ab = await loadPhoto(photo);
  const input = new Uint8Array(ab);
  const floorDst = new Uint8Array(input.length);
  // What the user picked: a Blob of the same bytes, as the client holds a File.
  const file = new Blob([ab], { type: 'image/jpeg' });
  const binary = toBinaryString(input);

  const sync = {
    floor: () => floorDst.set(new Uint8Array(ab)),
    wasmPlanBlob: () => scrubPlanToBlob(ab, file),
    wasmPlanViews: () => scrubPlanToViews(ab),
    wasm: () => wasm.scrub(new Uint8Array(ab)),
    wasmBlob: () => scrubToBlob(ab),
    ...(fast ? { wasmSimdPlanBlob: () => scrubPlanToBlob(ab, file, fast), wasmSimdView: () => scrubToView(ab, fast) } : {}),
    wasmView: () => scrubToView(ab),
    wasmCopyOnly: () => wasm.copy_through(new Uint8Array(ab)),
    wasmCopyIn: () => wasm.copy_in(new Uint8Array(ab)),
    piexif: () => piexifFull(ab),
    piexifRemoveOnly: () => window.piexif.remove(binary),
  };
  // Warm-up: JIT, WASM memory growth, first-use allocations.
  for (let w = 0; w < warmup; w++) {
    for (const fn of Object.values(sync)) fn();
    await canvasReencode(ab);
    if (typeof gc === 'function') gc();
  }
  const batch = Object.fromEntries(Object.entries(sync).map(([k, fn]) => {
    const n = calibrate(fn, minSampleMs);
    if (typeof gc === 'function') gc();
    return [k, n];
  }));
  const samples = Object.fromEntries([...Object.keys(sync), 'canvas'].map((k) => [k, []]));
  // Collected between samples (not timed): the Blob rows make 4 MB Blobs at every call, and
  // Chromium's blob storage fills up long before the JS heap notices them.
  const collect = () => { if (typeof gc === 'function') gc(); };
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of Object.entries(sync)) {
      collect();
      samples[k].push(timeSync(fn, batch[k]));
    }
    collect();
    if (r < canvasRounds) samples.canvas.push(await timeAsync(() => canvasReencode(ab)));
  }
  collect();

  // What the client sends: the bytes of the Blob its path makes (checked against the copy).
  const ours = new Uint8Array(await scrubPlanToBlob(ab, file).arrayBuffer());
  const copied = wasm.scrub(new Uint8Array(ab));
  const planMatchesCopy = ours.length === copied.length && ours.every((v, i) => v === copied[i]);
  const theirs = new Uint8Array(piexifFull(ab));
  const canvas = new Uint8Array(await canvasReencode(ab));
  const decoded = async (u8) => {
    try {
      const b = await createImageBitmap(new Blob([u8], { type: 'image/jpeg' }));
      const size = [b.width, b.height];
      b.close();
      return size;
    } catch (e) {
      return [`not decoded: ${e.message}`];
    }
  };
  return {
    userAgent: navigator.userAgent,
    timerResolutionHint: crossOriginIsolated ? '5us' : '100us',
    inputBytes: input.length,
    batch,
    times: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stats(v)])),
    report: JSON.parse(wasm.scrub_report(input)),
    segments: {
      input: inventory(input),
      wasm: inventory(ours),
      piexif: inventory(theirs),
      canvas: inventory(canvas),
    },
    decodedSize: {
      input: await decoded(input),
      wasm: await decoded(ours),
      canvas: await decoded(canvas),
    },
    planMatchesCopy,
    canvasIdenticalBytes: canvas.length === input.length && canvas.every((v, i) => v === input[i]),
  };
}

// ---------------------------------------------------------------- wire

function base64(u8) {
  return btoa(toBinaryString(u8));
}

/** Bytes on the wire for one image: our frames vs a base64 JSON text message, same bytes. */
async function wireBench({ photo = 'photo.jpg', name = 'IMG_0001.jpg' } = {}) {
  await ready;
  const input = new Uint8Array(await loadPhoto(photo));
  const scrubbed = wasm.scrub(input);
  const frames = Array.from(wasm.frame_sizes(input, name));
  const framed = frames.reduce((a, b) => a + b, 0);
  const json = JSON.stringify({ type: 'image', name, data: base64(scrubbed) });
  const jsonBytes = new TextEncoder().encode(json).length;
  // What each message costs in WebSocket framing from a browser (client frames are masked).
  const wsHeader = (len) => 2 + 4 + (len > 65535 ? 8 : len > 125 ? 2 : 0);
  return {
    name,
    payloadBytes: scrubbed.length,
    frames: frames.length,
    maxFrame: Math.max(...frames),
    framedBytes: framed,
    framedWithWs: framed + frames.reduce((a, f) => a + wsHeader(f), 0),
    base64JsonBytes: jsonBytes,
    base64JsonWithWs: jsonBytes + wsHeader(jsonBytes),
  };
}

window.framechatBench = { scrubBench, wireBench, inventory, ready: () => ready.then(() => true) };
