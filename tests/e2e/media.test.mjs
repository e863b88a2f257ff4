// End-to-end: each kind of attachment from page A as page B sees it — PNG, APNG, animated GIF,
// WebP (animated, alpha), AVIF, HEIC (a download), a plain file, several attachments in one message,
// drop and paste. The fixtures are the scrubber's (crates/framechat-scrub/tests/fixtures: small
// pictures full of metadata). See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  CONVERT, FIXTURES, Server, Session, attach, blobBytes, checkReceivedImage, exif, leakedTags, messages, pageSha256,
  run, say, shotPath, uniqueRoom, waitText, watchBoxes,
} from './harness.mjs';

const server = new Server();
let s;
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

const fixture = (name) => path.join(FIXTURES, name);

/** Frames of an image as Chromium's own decoder counts them (WebCodecs ImageDecoder). */
function decodedFrames(page, url, type) {
  return page.evaluate(async ([u, t]) => {
    const blob = await (await fetch(u)).blob();
    const dec = new ImageDecoder({ data: await blob.arrayBuffer(), type: t });
    await dec.tracks.ready;
    await dec.completed;
    const n = dec.tracks.selectedTrack.frameCount;
    dec.close();
    return n;
  }, [url, type]);
}

/** RIFF chunk fourccs of a WebP, in order. */
function riffChunks(buf) {
  const out = [];
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('latin1', at, at + 4);
    const len = buf.readUInt32LE(at + 4);
    out.push(id);
    // VP8X's ANIM/ANMF sit at the top level; an ANMF holds its frame inside.
    at += 8 + len + (len & 1);
  }
  return out;
}

/** Send one file from `a` as its own message, with `text`. */
async function sendFile(a, file, text) {
  await attach(a, [file]);
  await a.fill('.fc-composer textarea', text);
  await a.click('.fc-send');
}

/** Save the bytes behind `url` on `page` to the scratch folder; returns the path. */
async function saveBlob(page, url, name) {
  const file = s.file(`received-${name}`);
  fs.writeFileSync(file, await blobBytes(page, url));
  return file;
}

function assertClean(file, label) {
  const meta = exif(file);
  const leaked = leakedTags(meta);
  assert.deepEqual(leaked, [], `${label}: metadata left: ${leaked.map((k) => `${k}=${meta[k]}`).join(', ')}`);
  return meta;
}

test('PNG, APNG, animated GIF, WebP (animated, alpha) and AVIF arrive clean, decoded from blob: URLs, still animated, in reserved boxes',
  { timeout: 90_000 }, async () => {
  const room = uniqueRoom('images');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  await watchBoxes(b);
  const cases = [
    { name: 'png_full.png', type: 'image/png', frames: 1, fileType: 'PNG', dims: [48, 64] }, // Orientation 6 kept
    { name: 'apng.png', type: 'image/png', frames: 3, fileType: 'APNG' },
    { name: 'gif_anim.gif', type: 'image/gif', frames: 3, fileType: 'GIF' },
    { name: 'webp_anim.webp', type: 'image/webp', frames: 3, fileType: 'WEBP' },
    { name: 'webp_alpha.webp', type: 'image/webp', frames: 1, fileType: 'WEBP', alpha: true },
    { name: 'avif_meta.avif', type: 'image/avif', frames: 1, fileType: 'AVIF', dims: [48, 64] }, // irot: a quarter turn
  ];
  for (const c of cases) {
    const before = exif(fixture(c.name));
    assert.ok(leakedTags(before).length > 0, `${c.name} has metadata to begin with`);
    await sendFile(a, fixture(c.name), `here is ${c.name}`);
    await waitText(b, `here is ${c.name}`);
  }
  for (const c of cases) {
    // 64x48 pictures (48x64 when turned by their Orientation): a box of the picture's shape,
    // reserved from the header, never resized while decoding.
    const dims = c.dims ?? [64, 48];
    const facts = await checkReceivedImage(b, c.name, { ratio: dims[0] / dims[1] });
    assert.deepEqual([facts.w, facts.h], dims, c.name);
    const file = await saveBlob(b, facts.src, c.name);
    const meta = assertClean(file, c.name);
    assert.match(meta['File:FileType'], new RegExp(`^(Extended )?${c.fileType}$`), `${c.name} arrived as ${meta['File:FileType']}`);
    // Still animated: the frames are in the received bytes, and Chromium decodes them all.
    assert.equal(await decodedFrames(b, facts.src, c.type), c.frames, `${c.name}: decoded frames`);
    if (c.name === 'gif_anim.gif') assert.equal(meta['GIF:FrameCount'], 3);
    if (c.name === 'apng.png') assert.equal(meta['PNG:AnimationFrames'], 3);
    if (c.name === 'webp_anim.webp') {
      const chunks = riffChunks(fs.readFileSync(file));
      assert.equal(chunks.filter((id) => id === 'ANMF').length, riffChunks(fs.readFileSync(fixture(c.name))).filter((id) => id === 'ANMF').length);
      assert.ok(chunks.includes('ANIM'), `no ANIM chunk: ${chunks}`);
      assert.ok(!chunks.includes('EXIF') && !chunks.includes('XMP '), `metadata chunks left: ${chunks}`);
    }
    if (c.alpha) {
      const transparent = await b.evaluate(async (u) => {
        const bmp = await createImageBitmap(await (await fetch(u)).blob());
        const cv = new OffscreenCanvas(bmp.width, bmp.height);
        const ctx = cv.getContext('2d');
        ctx.drawImage(bmp, 0, 0);
        const px = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i] < 255) n += 1;
        return n;
      }, facts.src);
      assert.ok(transparent > 0, 'the alpha channel was lost');
    }
  }
  // What the scrubber removed is said on both sides.
  const removedB = await b.$$eval('.fc-theirs .fc-removed', (els) => els.map((e) => e.textContent));
  assert.equal(removedB.length, cases.length);
  assert.ok(removedB.every((r) => /^removed: .*(location|XMP)/.test(r)), JSON.stringify(removedB));
  // Each message once on each side; the sender shows its own scrubbed copies.
  const la = await messages(a);
  const lb = await messages(b);
  assert.deepEqual(la.map((m) => m.files), cases.map((c) => [c.name]));
  assert.deepEqual(lb.map((m) => m.files), cases.map((c) => [c.name]));
  assert.ok(la.every((m) => m.mine) && lb.every((m) => !m.mine && m.from === 'Ann'));
  assert.equal(await b.$$eval('img[src^="data:"]', (els) => els.length), 0, 'an image shown from a data: URL');
});

test('a HEIC is sent as a file with its metadata removed; it arrives as a download', { timeout: 60_000 }, async () => {
  const room = uniqueRoom('heic');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  const original = exif(fixture('heic_meta.heic'));
  assert.ok(original['GPS:GPSLatitude'] && original['ExifIFD:SerialNumber'], 'the fixture has GPS and a serial number');
  await attach(a, [fixture('heic_meta.heic')]);
  const note = await a.textContent('.fc-pending .fc-note');
  assert.match(note, /removed: .*location/, `composer note: ${note}`);
  await a.click('.fc-send');
  // Chromium cannot show HEIC: a download link with the name, never an <img>.
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="heic_meta.heic"]', { timeout: 20_000 });
  assert.equal(await b.$$eval('.fc-theirs img', (els) => els.length), 0);
  const href = await link.getAttribute('href');
  assert.match(href, /^blob:/);
  const file = await saveBlob(b, href, 'heic_meta.heic');
  const meta = assertClean(file, 'heic');
  assert.equal(meta['File:FileType'], 'HEIC', 'still a HEIC');
  assert.equal(meta['Meta:PrimaryItemReference'], original['Meta:PrimaryItemReference']);
  const removed = await b.textContent('.fc-theirs .fc-removed');
  assert.match(removed, /location/);
});

test('a non-image file arrives as a download link with its name and size, bytes identical', { timeout: 60_000 }, async () => {
  const room = uniqueRoom('file');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  const file = s.file('quarterly report.pdf');
  const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(700_000)]);
  fs.writeFileSync(file, bytes);
  await attach(a, [file]);
  assert.equal(await a.textContent('.fc-pending .fc-note'), 'sent as a file');
  await a.click('.fc-send');
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="quarterly report.pdf"]', { timeout: 20_000 });
  assert.equal(await link.$eval('.fc-file-name', (e) => e.textContent), 'quarterly report.pdf');
  assert.equal(await link.$eval('.fc-file-size', (e) => e.textContent), '684 KB');
  assert.equal(await b.$$eval('.fc-theirs img', (els) => els.length), 0);
  const href = await link.getAttribute('href');
  assert.match(href, /^blob:/);
  assert.equal(await pageSha256(b, href), crypto.createHash('sha256').update(bytes).digest('hex'));
  await a.waitForSelector('.fc-mine .fc-status:text-is("sent")', { timeout: 20_000 });
  assert.equal((await messages(a)).length, 1);
  assert.equal((await messages(b)).length, 1);
});

test('several attachments in one message arrive together, as one message, images in a grid', { timeout: 90_000 }, async () => {
  const room = uniqueRoom('multi');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob', { viewport: { width: 900, height: 1100 } }); // room for the screenshot
  // A larger photo so the message's stream spans several frames.
  const big = s.file('street.jpg');
  run(CONVERT, ['-size', '1600x1200', 'plasma:tomato-steelblue', '-quality', '92', big]);
  run('exiftool', ['-q', '-overwrite_original', '-GPSLatitude=51.5', '-GPSLatitudeRef=N', '-Make=Canon', big]);
  const notes = s.file('notes.txt');
  fs.writeFileSync(notes, 'meeting at noon\n'.repeat(100));
  const files = [big, fixture('png_full.png'), fixture('webp_lossy.webp'), fixture('jpeg_full.jpg'), notes];
  const images = ['street.jpg', 'png_full.png', 'webp_lossy.webp', 'jpeg_full.jpg'];
  // B records, on every change, how many of the message's images are there: all or none.
  await b.evaluate(() => {
    window.partial = [];
    new MutationObserver(() => {
      for (const li of document.querySelectorAll('.fc-theirs')) {
        const n = li.querySelectorAll('img').length;
        if (n > 0 && n < 4) window.partial.push(n);
      }
    }).observe(document.body, { subtree: true, childList: true });
  });
  await attach(a, files);
  await a.fill('.fc-composer textarea', 'the trip, four pictures and the notes');
  await a.click('.fc-send');
  await waitText(b, 'the trip, four pictures and the notes');
  for (const name of images) await checkReceivedImage(b, name, { ratio: 1 }); // square cells in the grid
  const lb = await messages(b);
  assert.equal(lb.length, 1, JSON.stringify(lb));
  assert.deepEqual(lb[0].files, [...images, 'notes.txt']);
  assert.deepEqual(await b.evaluate(() => window.partial), [], 'some images showed before the others');
  const grid = await b.$eval('.fc-theirs .fc-grid', (g) => ({ n: g.querySelectorAll('img').length, cols: getComputedStyle(g).gridTemplateColumns.split(' ').length }));
  assert.deepEqual(grid, { n: 4, cols: 2 });
  const street = await b.$eval('.fc-theirs img[alt="street.jpg"]', (e) => e.src);
  assertClean(await saveBlob(b, street, 'street.jpg'), 'street.jpg');
  await a.waitForSelector('.fc-mine .fc-status:text-is("sent")', { timeout: 20_000 });
  assert.equal((await messages(a)).length, 1);
  const shot = shotPath('multi-image.png');
  await (await b.$('.fc-theirs')).screenshot({ path: shot });
  console.log(`screenshot of the received message: ${shot}`);
});

test('files dropped on the chat or pasted into the message box become attachments; remove works', { timeout: 60_000 }, async () => {
  const room = uniqueRoom('drop');
  const page = await s.openChat(room, 'Dee');
  const other = await s.openChat(room, 'Eve');
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['hello'], 'dropped.txt', { type: 'text/plain' }));
    const root = document.querySelector('.framechat');
    root.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    root.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    const pasted = new DataTransfer();
    pasted.items.add(new File(['<svg xmlns="http://www.w3.org/2000/svg"/>'], 'pasted.svg', { type: 'image/svg+xml' }));
    document.querySelector('.fc-composer textarea')
      .dispatchEvent(new ClipboardEvent('paste', { clipboardData: pasted, bubbles: true, cancelable: true }));
  });
  await page.waitForFunction(() => document.querySelectorAll('.fc-pending .fc-note').length === 2
    && [...document.querySelectorAll('.fc-pending .fc-note')].every((n) => n.textContent === 'sent as a file'));
  const names = await page.$$eval('.fc-pending-name', (els) => els.map((e) => e.textContent));
  assert.deepEqual(names, ['dropped.txt', 'pasted.svg']);
  await page.click('.fc-pending button[aria-label="Remove dropped.txt"]');
  await page.waitForFunction(() => document.querySelectorAll('.fc-pending').length === 1);
  await page.click('.fc-send');
  // An SVG is never shown inline: it arrives as a download link, typed as plain bytes.
  await page.waitForSelector('.fc-mine a.fc-file-link[download="pasted.svg"]');
  const link = await other.waitForSelector('.fc-theirs a.fc-file-link[download="pasted.svg"]');
  assert.equal(await other.$$eval('.fc-theirs img', (els) => els.length), 0);
  const type = await link.evaluate(async (el) => (await (await fetch(el.href)).blob()).type);
  assert.equal(type, 'application/octet-stream');
});

test('the list follows new messages at its bottom, images included, but not a reader who scrolled up', { timeout: 90_000 }, async () => {
  const room = uniqueRoom('scroll');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob', { viewport: { width: 800, height: 480 } });
  // Where the messages are on screen, whichever way the list's box counts its scroll position.
  const where = (e) => {
    const box = e.getBoundingClientRect();
    const items = e.querySelectorAll('.fc-list > li');
    const first = items[0].getBoundingClientRect();
    const last = items[items.length - 1].getBoundingClientRect();
    return {
      // The newest message ends inside the box, near its bottom: the view is at the end.
      atEnd: last.bottom <= box.bottom + 1 && box.bottom - last.bottom < 24,
      firstTop: first.top,
      overflow: e.scrollHeight > e.clientHeight,
    };
  };
  const view = (page) => page.$eval('.fc-scroll', where);
  const untilAtEnd = (page) => page.waitForFunction(`(${where})(document.querySelector('.fc-scroll')).atEnd`, null, { timeout: 5_000 });
  for (let i = 1; i <= 15; i++) await say(a, `line ${i}`);
  await waitText(b, 'line 15');
  await untilAtEnd(b);
  assert.ok((await view(b)).overflow, 'the list overflows its box, so there is something to follow');

  // An image arrives in frames with progress: the view ends at its bottom too.
  await sendFile(a, fixture('jpeg_full.jpg'), 'a picture');
  await checkReceivedImage(b, 'jpeg_full.jpg');
  await untilAtEnd(b);

  // A reader who scrolled up to the top stays where they are. (A scroll position below the
  // smallest one is clamped to it: the top, for a box counting from its top or its bottom.)
  await b.$eval('.fc-scroll', (e) => e.scrollTo(0, -e.scrollHeight));
  await new Promise((r) => setTimeout(r, 100));
  const before = await view(b);
  assert.ok(!before.atEnd, 'scrolled up, the newest message is out of view');
  await say(a, 'while Bob reads back');
  await waitText(b, 'while Bob reads back');
  await new Promise((r) => setTimeout(r, 300));
  const after = await view(b);
  assert.ok(Math.abs(after.firstTop - before.firstTop) <= 1,
    `the view moved under a reader who had scrolled up: the first message went from ${before.firstTop} to ${after.firstTop}`);
  assert.ok(!after.atEnd, 'the view followed the new message although the reader had scrolled up');
});

/** Reads of picked files wait until `fcRelease()`: what a slow disk or a large file would
 *  do, made deterministic. Both ways the page reads: asking its socket worker (`{op: "read"}`,
 *  src/socket_worker.js) or with a FileReader of its own. */
const holdReads = () => {
  window.fcHeld = [];
  window.fcHold = true;
  const read = FileReader.prototype.readAsArrayBuffer;
  FileReader.prototype.readAsArrayBuffer = function (blob) {
    if (!window.fcHold) return read.call(this, blob);
    window.fcHeld.push(() => read.call(this, blob));
  };
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (msg, ...rest) {
    if (!window.fcHold || !msg || msg.op !== 'read') return post.call(this, msg, ...rest);
    window.fcHeld.push(() => post.call(this, msg, ...rest));
  };
  window.fcRelease = () => {
    window.fcHold = false;
    for (const go of window.fcHeld.splice(0)) go();
  };
};

test('Send pressed while metadata is being removed: the message waits, then goes by itself; one that turns out unsafe, or that was held back, waits for the user',
  { timeout: 90_000 }, async () => {
  const room = uniqueRoom('early');
  const a = await s.openChat(room, 'Ann', { init: holdReads });
  const b = await s.openChat(room, 'Bob');
  const composerText = () => a.$eval('.fc-composer textarea', (t) => t.value);
  const pressSendWhilePreparing = async (file, text) => {
    await a.evaluate(() => { window.fcHold = true; });
    await a.setInputFiles('.fc-composer input[type=file]', file);
    await a.waitForSelector('.fc-preparing:has-text("Removing metadata from")');
    await say(a, text);
    await a.waitForSelector('.fc-preparing:has-text("Sends as soon as metadata is removed")');
    assert.equal(await a.$eval('.fc-send', (el) => el.disabled), true, 'Send is not pressed twice');
    assert.equal(await composerText(), text, 'the text stays in the box meanwhile');
  };

  // 1. A photo: nothing leaves while its metadata is being removed; then it goes, once.
  await pressSendWhilePreparing(fixture('jpeg_full.jpg'), 'right away');
  await a.screenshot({ path: shotPath('send-waiting.png') });
  await b.waitForTimeout(300);
  assert.deepEqual(await messages(b), [], 'nothing sent before the metadata is removed');
  await a.evaluate(() => window.fcRelease());
  await waitText(b, 'right away');
  await checkReceivedImage(b, 'jpeg_full.jpg');
  assert.equal(await composerText(), '', 'the box is empty once sent');
  assert.equal(await a.$$eval('.fc-pending', (els) => els.length), 0);

  // 2. A "JPEG" the scrubber cannot read: never sent silently; the problem is shown, the text kept.
  const broken = s.file('broken.jpg');
  fs.writeFileSync(broken, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x40]), Buffer.from('Exif\0\0not really')]));
  await pressSendWhilePreparing(broken, 'not like this');
  await a.evaluate(() => window.fcRelease());
  await a.waitForSelector('.fc-problem:has-text("could not be removed")');
  assert.equal(await composerText(), 'not like this');
  // The user removes it; Send then sends the text alone.
  await a.click('.fc-pending button[aria-label="Remove broken.jpg"]');
  await a.click('.fc-send');
  await waitText(b, 'not like this');

  // 3. "Don't send yet": the attachment gets ready, nothing goes until Send is pressed again.
  await pressSendWhilePreparing(fixture('png_full.png'), 'on second thought');
  await a.click('.fc-preparing button:has-text("Don’t send yet")');
  await a.evaluate(() => window.fcRelease());
  await a.waitForFunction(() => !document.querySelector('.fc-preparing') && document.querySelector('.fc-pending .fc-note'));
  await b.waitForTimeout(300);
  assert.equal((await messages(b)).length, 2, 'nothing more was sent');
  assert.equal(await composerText(), 'on second thought');
  await a.click('.fc-send');
  await waitText(b, 'on second thought');
  assert.deepEqual((await messages(b)).map((m) => m.text), ['right away', 'not like this', 'on second thought']);
});
