// End-to-end: a 12-megapixel photo from page A to page B through the relay, rotated and free
// of its metadata; a text typed during the transfer is not stuck behind it. See harness.mjs
// for the environment (FRAMECHAT_DIST, FRAMECHAT_RELAY_BIN, CHROMIUM).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Server, Session, checkReceivedImage, exif, leakedTags, makePhoto, uniqueRoom, watchBoxes, blobBytes } from './harness.mjs';

/** The photo must be on page B within this long after Send. */
const PHOTO_BOUND_MS = 30_000;

const server = new Server();
let s;
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

test('a 12 MP photo with GPS and Orientation 6 goes from A to B rotated and clean; a text typed meanwhile arrives', { timeout: 180_000 }, async () => {
  const photo = makePhoto(s.file('photo.jpg'));
  const original = exif(photo);
  assert.equal(original['IFD0:Orientation'], 'Rotate 90 CW');
  assert.ok(original['GPS:GPSLatitude'], 'the test photo has GPS');

  const room = uniqueRoom('photo');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  await watchBoxes(b);

  await a.setInputFiles('.fc-composer input[type=file]', photo);
  // The preview says what the scrubber removed.
  const note = await a.waitForSelector('.fc-pending .fc-note.fc-ok', { timeout: 30_000 });
  const noteText = await note.textContent();
  assert.match(noteText, /location/);
  assert.match(noteText, /camera make, model and serial number/);

  // B notes when the text and when the photo show up.
  await b.evaluate(() => {
    window.seen = {};
    new MutationObserver(() => {
      const now = performance.now();
      const texts = [...document.querySelectorAll('.fc-theirs .fc-text')].map((e) => e.textContent);
      if (!window.seen.text && texts.includes('typed during the transfer')) window.seen.text = now;
      const img = document.querySelector('.fc-theirs img[alt="photo.jpg"]');
      if (!window.seen.photo && img) window.seen.photo = now;
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await a.fill('.fc-composer textarea', 'the tower');
  const sentAt = Date.now();
  // Send the photo, then type and send a text while the photo is still going out.
  await a.evaluate(() => {
    document.querySelector('.fc-send').click();
    const ta = document.querySelector('.fc-composer textarea');
    ta.value = 'typed during the transfer';
    ta.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
  });

  // Rotated correctly: stored 4000x3000 with Orientation 6 shows as a 3000x4000 portrait, from a
  // blob: URL, in a 3:4 box reserved while it arrived (the box never changed size).
  const dims = await checkReceivedImage(b, 'photo.jpg', { ratio: 0.75, timeout: PHOTO_BOUND_MS });
  const elapsed = Date.now() - sentAt;
  assert.ok(elapsed < PHOTO_BOUND_MS, `photo took ${elapsed} ms`);
  assert.deepEqual([dims.w, dims.h], [3000, 4000]);
  const phases = (await b.evaluate(() => window.fcBoxes['photo.jpg'])).map((r) => r.phase);
  assert.ok(phases.includes('placeholder'), `B never showed the reserved box while the photo arrived: ${phases}`);

  // The bytes B received carry none of the metadata.
  const received = s.file('received.jpg');
  fs.writeFileSync(received, await blobBytes(b, dims.src));
  const meta = exif(received);
  const leaked = leakedTags(meta);
  assert.deepEqual(leaked, [], `metadata left: ${leaked.map((k) => `${k}=${meta[k]}`).join(', ')}`);
  assert.equal(meta['File:ImageWidth'], 4000, 'the picture itself is untouched (not re-encoded or resized)');

  // The text typed during the transfer arrived too, and every message shows exactly once.
  await b.waitForSelector('.fc-theirs .fc-text:text-is("typed during the transfer")', { timeout: 10_000 });
  const seen = await b.evaluate(() => window.seen);
  assert.ok(seen.text < seen.photo, `the text waited for the photo (${JSON.stringify(seen)})`);
  const countB = await b.evaluate(() => [...document.querySelectorAll('.fc-theirs .fc-text')].map((e) => e.textContent));
  assert.deepEqual(countB.filter((t) => t === 'the tower').length, 1);
  assert.deepEqual(countB.filter((t) => t === 'typed during the transfer').length, 1);
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].every((s) => s.textContent === 'sent'), null, { timeout: 20_000 });
  const countA = await a.evaluate(() => document.querySelectorAll('.fc-mine').length);
  assert.equal(countA, 2, 'the relay echoes, the sender still shows each message once');
  // The sender's own chat shows the scrubbed photo, rotated (once sent: see HOLD_MS in
  // src/components/attachment.rs).
  const ownImg = await a.waitForSelector('.fc-mine img', { timeout: 10_000 });
  await a.waitForFunction((el) => el.complete && el.naturalWidth > 0, ownImg, { timeout: 10_000 });
  const own = await ownImg.evaluate((el) => [el.naturalWidth, el.naturalHeight]);
  assert.deepEqual(own, [3000, 4000]);

  const stats = { a: await a.evaluate(() => window.wasmBindings.copyStats()), b: await b.evaluate(() => window.wasmBindings.copyStats()) };
  const size = fs.statSync(photo).size;
  console.log(`photo ${size} bytes, received ${fs.statSync(received).size} bytes in ${elapsed} ms; ` +
    `text shown ${Math.round(seen.photo - seen.text)} ms before the photo; copies JS<->WASM: ${JSON.stringify(stats)}`);
  // Sender: the photo entered WASM once and left once; receiver: headers and sniffed bytes only.
  assert.ok(stats.a.intoWasm < size + 64 * 1024, JSON.stringify(stats.a));
  assert.ok(stats.a.outOfWasm < size + 64 * 1024, JSON.stringify(stats.a));
  assert.ok(stats.b.intoWasm < 64 * 1024, JSON.stringify(stats.b));
});

