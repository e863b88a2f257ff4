// End-to-end: the release build of the client, served by a real relay, in headless Chromium.
//
//   FRAMECHAT_DIST=dist FRAMECHAT_RELAY_BIN=target/release/framechat-relay node --test --test-concurrency=1
//
// Environment:
//   FRAMECHAT_DIST       the `trunk build --release` output (default: ../../dist)
//   FRAMECHAT_RELAY_BIN  the relay binary, started as `--listen 127.0.0.1:<free port> --static $FRAMECHAT_DIST`;
//                        unset: relay.mjs here (a Node `ws` relay with the same routes) is used instead
//   FRAMECHAT_URL        an already running server to test instead (then neither of the above is used)
//   CHROMIUM             the browser (default /usr/bin/chromium)
// Needs ImageMagick (`convert`) and `exiftool` to make and inspect the test photo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startRelay } from './relay.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(process.env.FRAMECHAT_DIST ?? path.join(here, '../../dist'));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
  // The embedding test's host page is served by page.route (not from the network), which
  // Chromium's local-network-access checks would treat as a public page reaching 127.0.0.1.
  '--disable-features=LocalNetworkAccessChecks'];
/** The photo must be on page B within this long after Send. */
const PHOTO_BOUND_MS = 30_000;

let base;
let stopServer = async () => {};
let browser;
let tmp;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitHttp(url, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not come up within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error ?? r.stderr}`);
  return r.stdout;
}

/** A 12-megapixel JPEG (4000x3000 stored) with GPS, camera, serial, date, author and Orientation 6. */
function makePhoto(dir) {
  const file = path.join(dir, 'photo.jpg');
  run('convert', ['-size', '4000x3000', 'gradient:#3366cc-#ffcc33',
    '(', '-size', '4000x3000', 'xc:gray50', '-attenuate', '0.5', '+noise', 'Gaussian', ')',
    '-compose', 'overlay', '-composite', '-fill', 'red', '-draw', 'rectangle 0,0 800,400', '-quality', '85', file]);
  run('exiftool', ['-q', '-overwrite_original', '-Orientation#=6',
    '-GPSLatitude=48.8584', '-GPSLatitudeRef=N', '-GPSLongitude=2.2945', '-GPSLongitudeRef=E', '-GPSAltitude=35',
    '-Make=Canon', '-Model=Canon EOS 5D Mark IV', '-SerialNumber=0123456789', '-LensSerialNumber=998877',
    '-DateTimeOriginal=2024:05:01 12:00:00', '-CreateDate=2024:05:01 12:00:00', '-Artist=Jane Doe',
    '-XMP-dc:Creator=Jane Doe', '-IPTC:By-line=Jane Doe', file]);
  return file;
}

function exif(file) {
  return JSON.parse(run('exiftool', ['-j', '-G1', '-a', file]))[0];
}

let port;

/** Start the relay (binary or Node fallback) on `port`; sets `stopServer`. */
async function startServer() {
  const bin = process.env.FRAMECHAT_RELAY_BIN;
  if (bin) {
    const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--static', DIST], { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    stopServer = async () => { child.kill('SIGKILL'); await exited; };
  } else {
    const relay = await startRelay({ port, dist: DIST });
    stopServer = relay.close;
  }
  await waitHttp(`${base}/`, 20_000);
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'framechat-e2e-'));
  if (process.env.FRAMECHAT_URL) {
    base = process.env.FRAMECHAT_URL.replace(/\/$/, '');
    await waitHttp(`${base}/`, 20_000);
  } else {
    assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `no release build in ${DIST} (trunk build --release)`);
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await startServer();
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

after(async () => {
  await browser?.close();
  await stopServer();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function openChat(room, name) {
  const ctx = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error(`[${name}] page error:`, e));
  await page.goto(`${base}/?room=${room}&name=${name}`);
  await page.waitForSelector('.fc-badge-online', { timeout: 20_000 });
  return page;
}

test('a 12 MP photo with GPS and Orientation 6 goes from A to B rotated and clean; a text typed meanwhile arrives', { timeout: 180_000 }, async () => {
  const photo = makePhoto(tmp);
  const original = exif(photo);
  assert.equal(original['IFD0:Orientation'], 'Rotate 90 CW');
  assert.ok(original['GPS:GPSLatitude'], 'the test photo has GPS');

  const room = `e2e${Date.now()}`;
  const a = await openChat(room, 'Ann');
  const b = await openChat(room, 'Bob');

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

  const img = await b.waitForSelector('.fc-theirs img[alt="photo.jpg"]', { timeout: PHOTO_BOUND_MS });
  await b.waitForFunction((el) => el.complete && el.naturalWidth > 0, img, { timeout: PHOTO_BOUND_MS });
  const elapsed = Date.now() - sentAt;
  assert.ok(elapsed < PHOTO_BOUND_MS, `photo took ${elapsed} ms`);

  // Rotated correctly: stored 4000x3000 with Orientation 6 shows as a 3000x4000 portrait.
  const dims = await img.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { w: el.naturalWidth, h: el.naturalHeight, bw: r.width, bh: r.height };
  });
  assert.deepEqual([dims.w, dims.h], [3000, 4000]);
  assert.ok(Math.abs(dims.bw / dims.bh - 0.75) < 0.02, `box ${dims.bw}x${dims.bh} is not 3:4`);

  // The bytes B received carry none of the metadata.
  const b64 = await img.evaluate(async (el) => {
    const blob = await (await fetch(el.src)).blob();
    return await new Promise((resolve) => {
      const r = new FileReader();
      r.onload = () => resolve(String(r.result).split(',')[1]);
      r.readAsDataURL(blob);
    });
  });
  const received = path.join(tmp, 'received.jpg');
  fs.writeFileSync(received, Buffer.from(b64, 'base64'));
  const meta = exif(received);
  const leaked = Object.keys(meta).filter((k) =>
    /GPS|Make|Model|Serial|DateTime|CreateDate|Artist|Creator|By-line|Copyright/i.test(k) && !k.startsWith('System:') && !k.startsWith('File:'));
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
  // The sender's own chat shows the scrubbed photo, rotated.
  const own = await a.$eval('.fc-mine img', (el) => [el.naturalWidth, el.naturalHeight]);
  assert.deepEqual(own, [3000, 4000]);

  const stats = { a: await a.evaluate(() => window.wasmBindings.copyStats()), b: await b.evaluate(() => window.wasmBindings.copyStats()) };
  const size = fs.statSync(photo).size;
  console.log(`photo ${size} bytes, received ${fs.statSync(received).size} bytes in ${elapsed} ms; ` +
    `text shown ${Math.round(seen.photo - seen.text)} ms before the photo; copies JS<->WASM: ${JSON.stringify(stats)}`);
  // Sender: the photo entered WASM once and left once; receiver: headers and sniffed bytes only.
  assert.ok(stats.a.intoWasm < size + 64 * 1024, JSON.stringify(stats.a));
  assert.ok(stats.a.outOfWasm < size + 64 * 1024, JSON.stringify(stats.a));
  assert.ok(stats.b.intoWasm < 64 * 1024, JSON.stringify(stats.b));
  await a.context().close();
  await b.context().close();
});

test('embedded with mount(): host styles do not get in, ours do not get out; unmount cleans up', { timeout: 60_000 }, async () => {
  const ctx = await browser.newContext({ viewport: { width: 900, height: 700 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('[host] page error:', e));
  page.on('console', (m) => console.error('[host] console:', m.text()));
  const room = `embed${Date.now()}`;
  await page.route(`${base}/host.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><html><head>
      <link rel="stylesheet" href="/style.css">
      <style>
        body { font: 20px Georgia, serif; color: #333; }
        button { background: hotpink; padding: 30px; border-radius: 0; }
        div { margin: 13px; }
        textarea { font-size: 40px; }
        li { list-style: square; }
        h1 { font-size: 60px; color: red; }
      </style></head>
      <body><h1 id="title">Host page</h1><button id="hostbtn">host button</button>
      <div id="chat" style="height: 500px"></div>
      <script type="module">
        import init, { mount } from '/framechat.js';
        await init();
        window.chat = mount(document.getElementById('chat'), { room: '${room}', name: 'Host', maxFileSize: 5000000 });
      </script></body></html>`,
  }));
  await page.goto(`${base}/host.html`);
  await page.waitForSelector('#chat .framechat .fc-badge-online', { timeout: 20_000 });
  const inside = await page.evaluate(() => {
    const cs = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
    return {
      send: cs('#chat .fc-send', 'backgroundColor'),
      sendPad: cs('#chat .fc-send', 'paddingTop'),
      textarea: cs('#chat textarea', 'fontSize'),
      room: cs('#chat .fc-room-name', 'fontSize'),
      font: cs('#chat .framechat', 'fontFamily'),
      header: cs('#chat .fc-header', 'marginTop'),
    };
  });
  assert.notEqual(inside.send, 'rgb(255, 105, 180)', 'host button style leaked in');
  assert.equal(inside.sendPad, '0px');
  assert.equal(inside.textarea, '15px');
  assert.equal(inside.room, '18px');
  assert.doesNotMatch(inside.font, /Georgia/);
  assert.equal(inside.header, '0px');
  const outside = await page.evaluate(() => ({
    btn: getComputedStyle(document.getElementById('hostbtn')).backgroundColor,
    h1: getComputedStyle(document.getElementById('title')).fontSize,
  }));
  assert.deepEqual(outside, { btn: 'rgb(255, 105, 180)', h1: '60px' }, 'our styles leaked out');

  await page.fill('#chat textarea', 'hello from the host page');
  await page.press('#chat textarea', 'Enter');
  await page.waitForSelector('#chat .fc-mine .fc-status:text-is("sent")', { timeout: 10_000 });
  await page.evaluate(() => window.chat.unmount());
  assert.equal(await page.evaluate(() => document.getElementById('chat').children.length), 0);
  await ctx.close();
});

test('messages typed while the relay is down go out after reconnect, in order, once; a transfer cut by a restart arrives once',
  { timeout: 120_000, skip: process.env.FRAMECHAT_URL ? 'needs a relay this test can restart' : false }, async () => {
  const room = `restart${Date.now()}`;
  const a = await openChat(room, 'Ann');
  const b = await openChat(room, 'Bob');
  await a.fill('.fc-composer textarea', 'before the restart');
  await a.press('.fc-composer textarea', 'Enter');
  await b.waitForSelector('.fc-theirs .fc-text:text-is("before the restart")');

  await stopServer();
  await a.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
  for (const text of ['offline one', 'offline two', 'offline three']) {
    await a.fill('.fc-composer textarea', text);
    await a.press('.fc-composer textarea', 'Enter');
  }
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].filter((s) => s.textContent === 'waiting for connection').length === 3);
  await startServer();
  await a.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await b.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await b.waitForSelector('.fc-theirs .fc-text:text-is("offline three")', { timeout: 20_000 });
  const texts = await b.evaluate(() => [...document.querySelectorAll('.fc-theirs .fc-text')].map((e) => e.textContent));
  assert.deepEqual(texts, ['before the restart', 'offline one', 'offline two', 'offline three']);

  // A 40 MB file; the relay dies while it is on its way, and comes back.
  const big = path.join(tmp, 'archive.bin');
  fs.writeFileSync(big, crypto.randomBytes(40 * 1024 * 1024));
  await a.setInputFiles('.fc-composer input[type=file]', big);
  await a.waitForSelector('.fc-pending .fc-note:text-is("sent as a file")');
  await a.click('.fc-send');
  await b.waitForSelector('.fc-theirs.fc-busy', { timeout: 20_000 });
  await stopServer();
  await b.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
  await startServer();
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="archive.bin"]', { timeout: 60_000 });
  const size = await link.evaluate(async (el) => (await (await fetch(el.href)).blob()).size);
  assert.equal(size, 40 * 1024 * 1024);
  assert.equal(await b.evaluate(() => document.querySelectorAll('.fc-theirs a[download="archive.bin"]').length), 1);
  await a.waitForSelector('.fc-mine:last-child .fc-status:text-is("sent")', { timeout: 30_000 });
  assert.equal(await a.evaluate(() => document.querySelectorAll('.fc-mine').length), 5);
  await a.context().close();
  await b.context().close();
});

test('files dropped on the chat or pasted into the message box become attachments; remove works', { timeout: 60_000 }, async () => {
  const room = `drop${Date.now()}`;
  const page = await openChat(room, 'Dee');
  const other = await openChat(room, 'Eve');
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
  await page.context().close();
  await other.context().close();
});
