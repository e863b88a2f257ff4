// End-to-end: a phone video from page A plays inline on page B, its location, device and
// dates removed; a 12 MP photo's ThumbHash preview is painted in its reserved box on page B
// before the photo's last chunk arrives. See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  FIXTURES, Server, Session, attach, blobBytes, checkReceivedImage, exif, holdAfter3FramesUntilReleased,
  leakedTags, makePhoto, run, shotPath, uniqueRoom,
} from './harness.mjs';

const server = new Server();
let s;
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

/** Tags exiftool reads that give a movie's place, device or date away (zeroed dates are fine;
 *  a handler's or sample group's "description" is its kind: VideoHandler, SoundHandler). */
function movieLeaks(meta) {
  return leakedTags(meta)
    .filter((k) => !/^0000:00:00 00:00:00/.test(String(meta[k])) && !/:(HandlerDescription|SampleGroupDescription)$/.test(k))
    .concat(Object.keys(meta).filter((k) => /ISO6709|GPSCoordinates|Location|XMP/i.test(k) && !/^(System|File|ExifTool):/.test(k)));
}

test('an iPhone video goes from A to B without its location, device and dates, and plays inline', { timeout: 120_000 }, async () => {
  const clip = s.file('clip.mov');
  fs.copyFileSync(path.join(FIXTURES, 'movie_iphone.mov'), clip);
  const original = exif(clip);
  assert.ok(movieLeaks(original).length > 0, 'the test movie carries metadata');

  const room = uniqueRoom('video');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  await attach(a, [clip]);
  const note = await a.textContent('.fc-pending .fc-note');
  assert.match(note, /^removed: .*location/, note);
  assert.ok(await a.$('.fc-pending video.fc-pending-thumb'), 'the composer previews the video');
  // The ThumbHash of its first frame is made (beside the send path: waited for here).
  await a.waitForFunction(() => performance.getEntriesByName('framechat-thumb').length > 0, null, { timeout: 20_000 });
  await a.click('.fc-send');

  // B: a <video> from a blob: URL, never autoplaying, in a box of the movie's shape
  // (64x48 rotated 90°: 48x64 shown), that loads and knows its duration.
  const video = await b.waitForSelector('.fc-theirs video', { timeout: 20_000 });
  await b.waitForFunction((v) => v.readyState >= 1 && v.duration > 0, video, { timeout: 20_000 });
  const facts = await video.evaluate((v) => {
    const box = v.closest('.fc-thumb').getBoundingClientRect();
    return {
      src: v.src, controls: v.controls, autoplay: v.autoplay, paused: v.paused, preload: v.preload,
      duration: v.duration, w: v.videoWidth, h: v.videoHeight, bw: box.width, bh: box.height,
    };
  });
  assert.match(facts.src, /^blob:/);
  assert.deepEqual([facts.controls, facts.autoplay, facts.paused, facts.preload], [true, false, true, 'metadata']);
  assert.ok(facts.duration > 0.5, JSON.stringify(facts));
  assert.ok(Math.abs(facts.bw / facts.bh - 0.75) < 0.02, `box ${facts.bw}x${facts.bh} is not 3:4`);
  // It plays.
  await video.evaluate((v) => v.play());
  await b.waitForFunction((v) => v.currentTime > 0, video, { timeout: 10_000 });
  await video.evaluate((v) => v.pause());

  // The bytes B received: same length (metadata overwritten in place), nothing left to read.
  const received = s.file('received.mov');
  fs.writeFileSync(received, await blobBytes(b, facts.src));
  assert.equal(fs.statSync(received).size, fs.statSync(clip).size);
  const meta = exif(received);
  const leaked = movieLeaks(meta);
  assert.deepEqual(leaked, [], `metadata left: ${leaked.map((k) => `${k}=${meta[k]}`).join(', ')}`);
  const bytes = fs.readFileSync(received);
  for (const needle of ['ISO6709', '\u00a9xyz', 'iPhone', 'Apple']) {
    assert.equal(bytes.indexOf(Buffer.from(needle, 'latin1')), -1, `${needle} is still in the received bytes`);
  }
  await b.screenshot({ path: shotPath('video-received.png') });

  // The sender's own chat shows its video as well, once sent.
  const own = await a.waitForSelector('.fc-mine video', { timeout: 10_000 });
  await a.waitForFunction((v) => v.readyState >= 1, own, { timeout: 10_000 });
});

test('a 12 MP photo\'s ThumbHash preview is painted on B before its last chunk arrives', { timeout: 180_000 }, async () => {
  const photo = makePhoto(s.file('photo.jpg'));
  const room = uniqueRoom('thumb');
  const a = await s.openChat(room, 'Ann', { init: holdAfter3FramesUntilReleased });
  const b = await s.openChat(room, 'Bob');
  await attach(a, [photo]);
  // The hash is made beside the send path; wait for it so that this message carries one.
  await a.waitForFunction(() => performance.getEntriesByName('framechat-thumb').length > 0, null, { timeout: 20_000 });
  const timing = await a.evaluate(() => ({
    total: performance.getEntriesByName('framechat-thumb')[0].duration,
    page: performance.getEntriesByName('framechat-thumb-page')[0]?.duration,
  }));
  await a.click('.fc-send');

  // B: the message is still arriving (A holds every frame after its third), and the reserved
  // 3:4 box holds a canvas with the preview painted, filling it.
  const canvas = await b.waitForSelector('.fc-theirs .fc-placeholder canvas.fc-preview', { timeout: 20_000 });
  const seen = await canvas.evaluate((c) => {
    const box = c.closest('.fc-thumb').getBoundingClientRect();
    const r = c.getBoundingClientRect();
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let opaque = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) opaque += 1;
    return {
      busy: c.closest('li').getAttribute('aria-busy'), img: Boolean(c.closest('li').querySelector('img')),
      cw: c.width, ch: c.height, opaque, bw: box.width, bh: box.height, w: r.width, h: r.height,
    };
  });
  assert.equal(seen.busy, 'true', 'the photo is still arriving');
  assert.equal(seen.img, false);
  assert.ok(seen.cw > 0 && seen.ch > 0 && seen.opaque === seen.cw * seen.ch, JSON.stringify(seen));
  assert.ok(Math.abs(seen.bw / seen.bh - 0.75) < 0.02 && seen.w === seen.bw && seen.h === seen.bh, JSON.stringify(seen));
  assert.ok(seen.cw < seen.ch, `the preview is portrait like the rotated photo: ${seen.cw}x${seen.ch}`);
  await b.screenshot({ path: shotPath('thumb-placeholder.png') });

  // Released: the photo arrives and replaces the preview.
  await a.evaluate(() => window.fcRelease());
  await checkReceivedImage(b, 'photo.jpg', { ratio: 0.75, timeout: 60_000 });
  await b.waitForFunction(() => !document.querySelector('.fc-theirs canvas.fc-preview'), null, { timeout: 10_000 });
  console.log(`ThumbHash of a 12 MP JPEG (${fs.statSync(photo).size} bytes) on A: ${timing.total.toFixed(1)} ms from its start (200 ms after the scrub) to the hash, ` +
    `${timing.page?.toFixed(1)} ms of it on the page's thread (pixels and encode; the decode is the browser's, off the page's thread)`);
});

test('a movie whose codec the browser cannot decode is offered as a download on B', { timeout: 60_000 }, async () => {
  // MPEG-4 Part 2 in MP4: the type is video/mp4, which Chromium claims, but not the codec.
  const clip = s.file('old.mp4');
  run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '1', '-c:v', 'mpeg4', clip]);
  const room = uniqueRoom('codec');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  await attach(a, [clip]);
  await a.click('.fc-send');
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="old.mp4"]', { timeout: 20_000 });
  assert.match(await link.getAttribute('href'), /^blob:/);
  assert.equal(await b.$('.fc-theirs video'), null);
});

/** Keep a handle on the page's WASM memory (the app does not export it) to read its size. */
const keepWasmMemory = () => {
  const keep = (result) => {
    const memory = (result.instance ?? result)?.exports?.memory;
    if (memory instanceof WebAssembly.Memory) window.fcWasmMemory = memory;
    return result;
  };
  for (const name of ['instantiate', 'instantiateStreaming']) {
    const orig = WebAssembly[name];
    WebAssembly[name] = (...args) => orig.apply(WebAssembly, args).then(keep);
  }
};

test('a 50 MB phone video is scrubbed, streams with progress and plays on B; time and memory logged', { timeout: 300_000 }, async () => {
  // 20 s of 720p at 20 Mbit/s: about 50 MB, with a location in udta (©xyz) as Android writes it.
  // (ffmpeg's own `location` goes into a binary 3GPP `loci`; exiftool writes the ©xyz text.)
  const clip = s.file('big.mp4');
  run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '20',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '20M', '-minrate', '20M', '-maxrate', '20M', '-bufsize', '20M',
    '-pix_fmt', 'yuv420p', clip]);
  run('exiftool', ['-q', '-overwrite_original', '-UserData:GPSCoordinates=48.8584, 2.2945', clip]);
  const size = fs.statSync(clip).size;
  assert.ok(size > 40e6, `${size} bytes`);
  const PLACE = '+48.8584+002.2945';
  // ©xyz holds it as ISO 6709 text.
  assert.ok(fs.readFileSync(clip).includes(Buffer.from(PLACE)), 'the clip has a location');

  const room = uniqueRoom('bigvideo');
  const a = await s.openChat(room, 'Ann', { init: keepWasmMemory });
  const b = await s.openChat(room, 'Bob');
  const before = await a.evaluate(() => window.fcWasmMemory.buffer.byteLength);
  const t0 = Date.now();
  await attach(a, [clip]);
  const prepared = Date.now() - t0;
  const note = await a.textContent('.fc-pending .fc-note');
  assert.match(note, /^removed: .*location/, note);
  const wasm = await a.evaluate(() => window.fcWasmMemory.buffer.byteLength);
  // B notes whether it showed the transfer's progress under the reserved box.
  await b.evaluate(() => {
    window.fcSawProgress = false;
    new MutationObserver(() => {
      window.fcSawProgress ||= Boolean(document.querySelector('.fc-theirs .fc-placeholder + .fc-progress progress'));
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  const t1 = Date.now();
  await a.click('.fc-send');
  const video = await b.waitForSelector('.fc-theirs video', { timeout: 120_000 });
  await b.waitForFunction((v) => v.readyState >= 1 && v.duration > 19, video, { timeout: 30_000 });
  const shown = Date.now() - t1;
  assert.ok(await b.evaluate(() => window.fcSawProgress), 'B showed no progress while the video arrived');
  // The received bytes: as long as the original (overwritten in place), no location left.
  const check = await video.evaluate(async (v, place) => {
    const bytes = new Uint8Array(await (await fetch(v.src)).arrayBuffer());
    const needle = new TextEncoder().encode(place);
    let found = false;
    for (let i = 0; i + needle.length <= bytes.length && !found; i++) {
      found = needle.every((c, k) => bytes[i + k] === c);
    }
    return { length: bytes.length, found };
  }, PLACE);
  assert.deepEqual(check, { length: size, found: false });
  console.log(`50 MB video (${size} bytes): picked to scrubbed in ${prepared} ms; sender's WASM memory ` +
    `${(before / 2 ** 20).toFixed(1)} MiB before, ${(wasm / 2 ** 20).toFixed(1)} MiB after the scrub; ` +
    `Send to playable on B ${shown} ms`);
});
