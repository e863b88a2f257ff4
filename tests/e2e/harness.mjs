// Shared setup of the end-to-end tests: a relay (the Rust binary, or relay.mjs) serving the
// release build, one headless Chromium, pages that join a room, and checks used by several
// test files. Every test file runs in its own process (node --test), with its own relay and
// browser, started in `before` and stopped in `after` — also when a test fails.
//
// Environment:
//   FRAMECHAT_DIST       the `trunk build --release` output (default: ../../dist)
//   FRAMECHAT_RELAY_BIN  the relay binary, started as `--listen 127.0.0.1:<free port> --static $FRAMECHAT_DIST`;
//                        unset: relay.mjs here (a Node `ws` relay with the same routes) is used instead
//   FRAMECHAT_URL        an already running server to test instead (then neither of the above is used)
//   CHROMIUM             the browser (default /usr/bin/chromium)
//   FRAMECHAT_SHOTS      where screenshots are saved (default: target/e2e)
// Needs Debian's ImageMagick at /usr/bin/convert and `exiftool`.
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
export const DIST = path.resolve(process.env.FRAMECHAT_DIST ?? path.join(here, '../../dist'));
export const FIXTURES = path.resolve(here, '../../crates/framechat-scrub/tests/fixtures');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Debian's ImageMagick; a stand-in named `convert` may come first on PATH. */
export const CONVERT = '/usr/bin/convert';
export const EXTERNAL = Boolean(process.env.FRAMECHAT_URL);
/** Where screenshots go (FRAMECHAT_SHOTS, default target/e2e at the repository root). */
export function shotPath(name) {
  const dir = path.resolve(process.env.FRAMECHAT_SHOTS ?? path.join(here, '../../target/e2e'));
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
  // The embedding test's host page is served by page.route (not from the network), which
  // Chromium's local-network-access checks would treat as a public page reaching 127.0.0.1.
  '--disable-features=LocalNetworkAccessChecks'];

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export async function waitHttp(url, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not come up within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error ?? r.stderr}`);
  return r.stdout;
}

export function exif(file) {
  return JSON.parse(run('exiftool', ['-j', '-G1', '-a', '-u', file]))[0];
}

/** Tags of `meta` (exiftool -j -G1) that give away who, where, when or with what. */
export function leakedTags(meta) {
  return Object.keys(meta).filter((k) =>
    /GPS|Make|Model|Serial|DateTime|CreateDate|ModifyDate|CreationTime|Artist|Author|Creator|By-line|Copyright|Comment|Description|Software/i.test(k)
    // The colour profile is kept on purpose; its header's creation date is the profile's, not the photo's.
    && !/^(System|File|ExifTool|ICC[-_]\w+):/.test(k));
}

/**
 * One relay serving the release build on a fixed port, restartable on that same port.
 * `kind`: 'bin' (FRAMECHAT_RELAY_BIN, else the Node relay) or 'node' (always relay.mjs).
 */
export class Server {
  /** `record(room, data, isBinary)`: every message relay.mjs passes on (kind 'node' only);
   *  `args`: more flags for framechat-relay (kind 'bin'). */
  constructor(kind = 'bin', { record = null, args = [] } = {}) {
    this.kind = kind;
    this.record = record;
    this.args = args;
    this.stopFn = null;
  }

  async start() {
    if (EXTERNAL && this.kind === 'bin') {
      this.base = process.env.FRAMECHAT_URL.replace(/\/$/, '');
      await waitHttp(`${this.base}/`, 20_000);
      return this;
    }
    assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `no release build in ${DIST} (trunk build --release)`);
    this.port ??= await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    const bin = this.kind === 'bin' ? process.env.FRAMECHAT_RELAY_BIN : null;
    if (bin) {
      const child = spawn(bin, ['--listen', `127.0.0.1:${this.port}`, '--static', DIST, ...this.args], { stdio: ['ignore', 'ignore', 'inherit'] });
      const exited = new Promise((r) => child.once('exit', r));
      // Should this process die before `stop` (a crash, a runner's timeout), take the relay along.
      const reap = () => child.kill('SIGKILL');
      process.once('exit', reap);
      this.stopFn = async () => { process.off('exit', reap); child.kill('SIGKILL'); await exited; };
    } else {
      const relay = await startRelay({ port: this.port, dist: DIST, record: this.record });
      this.stopFn = relay.close;
    }
    await waitHttp(`${this.base}/`, 20_000);
    return this;
  }

  /** Kill the relay (SIGKILL: no goodbye to the clients). Harmless when not running. */
  async stop() {
    const f = this.stopFn;
    this.stopFn = null;
    if (f) await f();
  }

  get restartable() { return !(EXTERNAL && this.kind === 'bin'); }
  /** Largest WebSocket message the relay accepts (framechat-relay's default; relay.mjs's). */
  get maxMessage() { return this.kind === 'bin' && process.env.FRAMECHAT_RELAY_BIN ? 1 << 20 : 16 << 20; }
  get wsBase() { return this.base.replace(/^http/, 'ws'); }
}

/**
 * A browser and the contexts opened in it, all closed by `close()`, and a scratch folder.
 */
export class Session {
  constructor(server) {
    this.server = server;
    this.contexts = new Set();
    /** Uncaught errors of any page (a WASM panic shows up here); see `takeErrors`. */
    this.pageErrors = [];
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'framechat-e2e-'));
  }

  async launch() {
    this.browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    return this;
  }

  async newContext(opts = {}) {
    const ctx = await this.browser.newContext({ viewport: { width: 1000, height: 800 }, ...opts });
    this.contexts.add(ctx);
    ctx.once('close', () => this.contexts.delete(ctx));
    ctx.on('page', (page) => page.on('pageerror', (e) => this.pageErrors.push(`${page.url()}: ${e.stack ?? e}`)));
    return ctx;
  }

  /** A page of its own browser context (own localStorage) that joined `room` as `name`;
   *  `init`, a function, runs in the page before the app's own scripts. */
  async openChat(room, name, { server = this.server, query = '', viewport, init } = {}) {
    const ctx = await this.newContext(viewport ? { viewport } : {});
    if (init) await ctx.addInitScript(init);
    const page = await ctx.newPage();
    await page.goto(`${server.base}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}${query}`);
    await page.waitForSelector('.fc-badge-online', { timeout: 20_000 });
    return page;
  }

  /** Close every context still open (test end, also after a failure), then fail if any page
   *  threw an uncaught error during the test. */
  async closeContexts() {
    await Promise.allSettled([...this.contexts].map((c) => c.close()));
    this.contexts.clear();
    const errors = this.pageErrors.splice(0);
    assert.deepEqual(errors, [], 'uncaught errors in the pages');
  }

  async close() {
    await this.closeContexts();
    await this.browser?.close();
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  file(name) { return path.join(this.tmp, name); }
}

export function uniqueRoom(prefix) {
  return `${prefix}${Date.now().toString(36)}${crypto.randomBytes(3).toString('hex')}`;
}

/** Type `text` into the composer and press Enter. */
export async function say(page, text) {
  await page.fill('.fc-composer textarea', text);
  await page.press('.fc-composer textarea', 'Enter');
}

/** Texts of the messages on `page`, in list order, as { mine, from, text }. */
export function messages(page) {
  return page.$$eval('.fc-list > li.fc-msg', (els) => els.map((el) => ({
    mine: el.classList.contains('fc-mine'),
    from: el.querySelector('.fc-from')?.textContent ?? null,
    text: el.querySelector('.fc-text')?.textContent ?? '',
    files: [...el.querySelectorAll('img[alt], .fc-file-name')].map((f) => f.getAttribute('alt') ?? f.textContent),
  })));
}

export function notices(page) {
  return page.$$eval('.fc-list > li.fc-notice', (els) => els.map((e) => e.textContent));
}

/** Resolve once `page` shows a message with exactly this text (bounded). */
export function waitText(page, text, { who = 'theirs', timeout = 20_000 } = {}) {
  return page.waitForFunction(([t, w]) => [...document.querySelectorAll(`.fc-${w} .fc-text`)].some((e) => e.textContent === t),
    [text, who], { timeout });
}

/** The bytes behind a blob: URL of `page` (an <img> src or a download href). */
export async function blobBytes(page, url) {
  const b64 = await page.evaluate(async (u) => {
    const blob = await (await fetch(u)).blob();
    return await new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(String(r.result).split(',')[1] ?? '');
      r.onerror = () => reject(r.error);
      r.readAsDataURL(blob);
    });
  }, url);
  return Buffer.from(b64, 'base64');
}

/**
 * The records of the app's IndexedDB store `name` ('messages' or 'pending') in `page`'s origin:
 * each its room (or pseudonym) `r`, `id`, `k`, `s` (kept as sent), the size of its frame `f`,
 * and `raw`, the first 64 KiB of `f` as Latin-1 (a plaintext search over the record); with
 * `whole`, also `f` itself (a Buffer).
 */
export async function records(page, name, { whole = false } = {}) {
  const all = await page.evaluate(({ n, whole }) => new Promise((resolve, reject) => {
    const req = indexedDB.open('framechat');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const db = req.result;
      const all = db.transaction(n).objectStore(n).getAll();
      all.onerror = () => reject(all.error);
      all.onsuccess = async () => {
        const out = [];
        for (const v of all.result) {
          const f = v.f instanceof Blob ? new Uint8Array(await v.f.arrayBuffer()) : v.f;
          let b64 = null;
          if (whole && f) {
            let bin = '';
            for (let at = 0; at < f.length; at += 1 << 15) bin += String.fromCharCode(...f.subarray(at, at + (1 << 15)));
            b64 = btoa(bin);
          }
          out.push({ r: v.r, id: v.id, k: v.k, s: v.s, size: f ? f.length : 0, b64,
            raw: f ? String.fromCharCode(...f.subarray(0, 1 << 16)) : '' });
        }
        db.close();
        resolve(out);
      };
    };
  }), { n: name, whole });
  return all.map(({ b64, ...rec }) => (b64 === null ? rec : { ...rec, f: Buffer.from(b64, 'base64') }));
}

/**
 * From before a message arrives until `done`, record the size of every image box of `page`
 * (placeholder while arriving, then the <img>'s button before and after it decodes), keyed
 * by the file name. Read them back with `boxes(page)`.
 */
export async function watchBoxes(page) {
  await page.evaluate(() => {
    window.fcBoxes = {};
    const record = (phase) => {
      for (const fig of document.querySelectorAll('.fc-theirs .fc-image')) {
        const thumb = fig.querySelector('.fc-thumb');
        const img = fig.querySelector('img');
        const name = img?.getAttribute('alt') ?? thumb?.getAttribute('aria-label')?.replace(/ \(arriving\)$/, '');
        if (!thumb || !name) continue;
        const r = thumb.getBoundingClientRect();
        const li = fig.closest('li');
        (window.fcBoxes[name] ??= []).push({
          phase: img ? (img.complete && img.naturalWidth > 0 ? 'decoded' : 'loading') : 'placeholder',
          w: Math.round(r.width * 10) / 10, h: Math.round(r.height * 10) / 10, li: Math.round(li.getBoundingClientRect().height),
        });
      }
    };
    new MutationObserver(() => record('mutation')).observe(document.body, { subtree: true, childList: true, attributes: true });
    document.addEventListener('load', () => record('load'), true);
  });
}

export function boxes(page) {
  return page.evaluate(() => window.fcBoxes);
}

/**
 * Assert that the received image `alt` on `page` is shown from a blob: URL, decoded, in a box
 * that was reserved at its final size (same box from the first record to the decoded image)
 * with the given aspect ratio (w/h). Returns the <img> facts.
 */
export async function checkReceivedImage(page, alt, { ratio, timeout = 20_000 } = {}) {
  const img = await page.waitForSelector(`.fc-theirs img[alt="${alt}"]`, { timeout });
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, img, { timeout });
  // The load event's own record is taken in a capture listener; one more frame for layout.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  const facts = await img.evaluate((el) => {
    const box = el.closest('.fc-thumb').getBoundingClientRect();
    return { src: el.src, w: el.naturalWidth, h: el.naturalHeight, bw: box.width, bh: box.height };
  });
  assert.match(facts.src, /^blob:/, `${alt} is not shown from a blob: URL`);
  assert.ok(facts.w > 0 && facts.h > 0, `${alt} did not decode`);
  if (ratio) assert.ok(Math.abs(facts.bw / facts.bh - ratio) < 0.02, `${alt}: box ${facts.bw}x${facts.bh} is not ${ratio} (picture ${facts.w}x${facts.h})`);
  const recorded = (await boxes(page))?.[alt];
  if (recorded) {
    const sizes = new Set(recorded.filter((r) => r.w > 0).map((r) => `${Math.round(r.w)}x${Math.round(r.h)}`));
    sizes.add(`${Math.round(facts.bw)}x${Math.round(facts.bh)}`);
    assert.equal(sizes.size, 1, `${alt}: the image box changed size while it arrived/decoded: ${JSON.stringify(recorded)}`);
    // The message itself does not jump when the picture decodes.
    const heights = new Set(recorded.filter((r) => r.phase !== 'placeholder').map((r) => r.li));
    assert.ok(heights.size <= 1, `${alt}: the message's height changed as the picture decoded: ${JSON.stringify(recorded)}`);
  }
  return facts;
}

/**
 * `a` sends the 12 MP camera photo as `name` (made in `dir`, a scratch dir with `file(name)`);
 * `b` must show it upright (3000x4000) from a blob: URL, in a box that keeps its size. Returns
 * the exiftool facts of the bytes `b` got.
 */
export async function sharePhoto(a, b, dir, name = 'photo.jpg') {
  const photo = makePhoto(dir.file(name));
  await watchBoxes(b);
  await a.setInputFiles('.fc-composer input[type=file]', photo);
  await a.waitForSelector('.fc-pending .fc-note.fc-ok', { timeout: 30_000 });
  await a.click('.fc-send');
  const dims = await checkReceivedImage(b, name, { ratio: 0.75, timeout: 30_000 });
  assert.deepEqual([dims.w, dims.h], [3000, 4000], 'upright');
  const received = dir.file(`received-${name}`);
  fs.writeFileSync(received, await blobBytes(b, dims.src));
  return exif(received);
}

/**
 * `a` starts sending a 40 MB file `archive.bin` (made in `dir`); once `b` shows it arriving,
 * `cut()` takes the server away and `b` must show that it lost the connection (within
 * `timeout` ms) with the file not arrived. Returns the file's SHA-256.
 */
export async function cutDuringBigFile(a, b, dir, cut, { timeout = 10_000 } = {}) {
  const big = dir.file('archive.bin');
  const sha = randomFile(big, 40 * 1024 * 1024);
  await a.setInputFiles('.fc-composer input[type=file]', big);
  await a.waitForSelector('.fc-pending .fc-note:text-is("sent as a file")');
  await a.click('.fc-send');
  await b.waitForSelector('.fc-theirs.fc-busy', { timeout: 20_000 });
  await cut();
  await b.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout });
  assert.equal(await b.$$eval('.fc-theirs a[download="archive.bin"]', (els) => els.length), 0, 'arrived before the cut');
  return sha;
}

/** A file of `size` random bytes and its SHA-256 (hex). */
export function randomFile(file, size) {
  const fd = fs.openSync(file, 'w');
  const hash = crypto.createHash('sha256');
  const block = 4 << 20;
  for (let at = 0; at < size; at += block) {
    const chunk = crypto.randomBytes(Math.min(block, size - at));
    hash.update(chunk);
    fs.writeSync(fd, chunk);
  }
  fs.closeSync(fd);
  return hash.digest('hex');
}

/** SHA-256 (hex) of the blob behind `url`, computed in the page (no copy to Node). */
export function pageSha256(page, url) {
  return page.evaluate(async (u) => {
    const buf = await (await (await fetch(u)).blob()).arrayBuffer();
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
    return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, url);
}

/** Attach files to the composer of `page` and wait until each is ready (a note is shown). */
export async function attach(page, files) {
  await page.setInputFiles('.fc-composer input[type=file]', files);
  await page.waitForFunction((n) => {
    const notes = document.querySelectorAll('.fc-pending .fc-note');
    return document.querySelectorAll('.fc-pending').length === n && notes.length === n
      && [...notes].every((e) => e.textContent !== 'removing metadata…');
  }, files.length, { timeout: 30_000 });
}

/** A 12-megapixel JPEG (4000x3000 stored) with GPS, camera, serial, date, author and Orientation 6. */
export function makePhoto(file) {
  run(CONVERT, ['-size', '4000x3000', 'gradient:#3366cc-#ffcc33',
    '(', '-size', '4000x3000', 'xc:gray50', '-attenuate', '0.5', '+noise', 'Gaussian', ')',
    '-compose', 'overlay', '-composite', '-fill', 'red', '-draw', 'rectangle 0,0 800,400', '-quality', '85', file]);
  run('exiftool', ['-q', '-overwrite_original', '-Orientation#=6',
    '-GPSLatitude=48.8584', '-GPSLatitudeRef=N', '-GPSLongitude=2.2945', '-GPSLongitudeRef=E', '-GPSAltitude=35',
    '-Make=Canon', '-Model=Canon EOS 5D Mark IV', '-SerialNumber=0123456789', '-LensSerialNumber=998877',
    '-DateTimeOriginal=2024:05:01 12:00:00', '-CreateDate=2024:05:01 12:00:00', '-Artist=Jane Doe',
    '-XMP-dc:Creator=Jane Doe', '-IPTC:By-line=Jane Doe', file]);
  return file;
}

/**
 * An init script (`openChat(..., { init: holdAfter20Frames })`) for tests that cut a transfer
 * with a server restart: once 20 frames have gone to a socket (the socket worker's `send`
 * messages, or binary messages of a WebSocket of the page's own), everything further meant
 * for that same socket is held back and never delivered. The transfer is then still under
 * way when the test kills the server, however fast this machine moves 40 MB. Only the first
 * socket to reach 20 frames is held: the page's next one, after the restart, is not.
 */
export const holdAfter20Frames = () => {
  const LIMIT = 20;
  const sent = new WeakMap();
  let held = null;
  const hold = (target, isFrame) => {
    if (held !== null) return target === held;
    const n = sent.get(target) ?? 0;
    if (n >= LIMIT) {
      held = target;
      return true;
    }
    if (isFrame) sent.set(target, n + 1);
    return false;
  };
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (msg, ...rest) {
    if (msg && msg.op === 'send' && hold(this, true)) return undefined;
    return post.call(this, msg, ...rest);
  };
  // A WebSocket's held bytes still count as buffered, as they would on a stalled link: the
  // page must not take them for sent.
  const send = WebSocket.prototype.send;
  const buffered = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'bufferedAmount').get;
  WebSocket.prototype.send = function (data) {
    if (!hold(this, typeof data !== 'string')) return send.call(this, data);
    if (this.fcHeld === undefined) {
      this.fcHeld = 0;
      Object.defineProperty(this, 'bufferedAmount', { get: () => buffered.call(this) + this.fcHeld });
    }
    this.fcHeld += data.byteLength ?? data.size ?? data.length ?? 0;
    return undefined;
  };
};

/**
 * An init script (`openChat(..., { init: holdAfter3FramesUntilReleased })`): once 3 frames have
 * gone to a socket (the socket worker's `send` messages, or binary messages of a WebSocket of
 * the page's own), everything further meant for it waits in the page until the test calls
 * `window.fcRelease()`, which sends it all in order. A transfer is then still under way on the
 * other page for as long as the test needs, however fast this machine is.
 */
export const holdAfter3FramesUntilReleased = () => {
  const LIMIT = 3;
  let frames = 0;
  let released = false;
  const queue = [];
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (msg, ...rest) {
    if (msg && msg.op === 'send' && !released) {
      if (frames >= LIMIT) {
        queue.push(() => post.call(this, msg, ...rest));
        return undefined;
      }
      frames += 1;
    }
    return post.call(this, msg, ...rest);
  };
  const send = WebSocket.prototype.send;
  const buffered = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'bufferedAmount').get;
  WebSocket.prototype.send = function (data) {
    if (released || typeof data === 'string' || frames < LIMIT) {
      if (typeof data !== 'string') frames += 1;
      return send.call(this, data);
    }
    if (this.fcHeld === undefined) {
      this.fcHeld = 0;
      Object.defineProperty(this, 'bufferedAmount', { get: () => buffered.call(this) + this.fcHeld });
    }
    const n = data.byteLength ?? data.size ?? data.length ?? 0;
    this.fcHeld += n;
    queue.push(() => { this.fcHeld -= n; send.call(this, data); });
    return undefined;
  };
  window.fcRelease = () => {
    released = true;
    for (const f of queue.splice(0)) f();
  };
};

/** Resolve once `page`'s newest own message says "sent" (notices may follow it in the list). */
export function waitLastOwnSent(page, { timeout = 20_000 } = {}) {
  return page.waitForFunction(() => {
    const mine = [...document.querySelectorAll('.fc-list > li.fc-mine')];
    return mine.at(-1)?.querySelector('.fc-status')?.textContent === 'sent';
  }, null, { timeout });
}

/**
 * A framechat-relay cluster: one `redis-server` (free port, temporary directory, no
 * persistence) and `n` relays (FRAMECHAT_RELAY_BIN with `--redis`) sharing rooms through
 * it. `nodes[i]` are ordinary `Server`s (restartable on their port); `redis` is stopped
 * with the cluster. Needs FRAMECHAT_RELAY_BIN and Debian's redis-server.
 */
export class Cluster {
  constructor(n = 2, { args = [] } = {}) {
    this.n = n;
    this.args = args;
    this.nodes = [];
    this.redisStop = null;
  }

  async start() {
    assert.ok(process.env.FRAMECHAT_RELAY_BIN, 'a cluster needs FRAMECHAT_RELAY_BIN');
    this.redisPort ??= await freePort();
    this.redisDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'framechat-e2e-redis-'));
    const child = spawn('redis-server', ['--port', String(this.redisPort), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'no', '--dir', this.redisDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const failed = new Promise((_, reject) => child.once('error', (e) => reject(e.code === 'ENOENT'
      ? new Error('redis-server is not installed: run `cargo xtask setup` (it installs Debian\'s redis-server)')
      : e)));
    const exited = new Promise((r) => child.once('exit', r));
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    this.redisStop = async () => { process.off('exit', reap); child.kill('SIGKILL'); await exited; };
    await Promise.race([waitTcp(this.redisPort, 20_000), failed]);
    this.redisUrl = `redis://127.0.0.1:${this.redisPort}/`;
    if (this.nodes.length === 0) {
      for (let i = 0; i < this.n; i += 1) this.nodes.push(new Server('bin', { args: ['--redis', this.redisUrl, ...this.args] }));
    }
    for (const node of this.nodes) await node.start();
    return this;
  }

  async stop() {
    for (const node of this.nodes) await node.stop();
    const f = this.redisStop;
    this.redisStop = null;
    if (f) await f();
    if (this.redisDir) fs.rmSync(this.redisDir, { recursive: true, force: true });
  }
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitTcp(port, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A TCP front for a cluster, as a load balancer would be: every new connection goes to the
 * port `target` names at that moment; `base` is its URL. Cutting over (`target = p`) leaves
 * open connections alone; the ones whose relay dies end with it.
 */
export class Front {
  constructor(target) {
    this.target = target;
    this.sockets = new Set();
  }

  async start() {
    this.server = net.createServer((down) => {
      const up = net.connect(this.target, '127.0.0.1');
      for (const s of [down, up]) { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); }
      down.pipe(up);
      up.pipe(down);
      up.on('error', () => down.destroy());
      down.on('error', () => up.destroy());
      up.on('close', () => down.destroy());
      down.on('close', () => up.destroy());
    });
    this.port = await new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this.server.address().port)));
    this.base = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(() => r()));
  }
}
