// End-to-end: a 50 MB file through the relay — bytes identical (SHA-256), within a time bound,
// with progress shown on both sides, and the sender never holding the file in its JS heap or
// WASM memory. See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Server, Session, messages, pageSha256, randomFile, say, uniqueRoom, waitText } from './harness.mjs';

const SIZE = 50 * 1024 * 1024;
/** From Send to the download link on page B. The relay's default rate limit (8 MB/s after a
 *  32 MB burst) alone makes this at least ~2.3 s. */
const BOUND_MS = 60_000;
/** The sender's WASM memory never holds the file: it sends Blob slices. */
const SENDER_WASM_MAX = 16 * 1024 * 1024;
/** The sender's JS heap stays below the file's size even though the relay echoes all 50 MB of
 *  frames back to it (garbage until collected), and after a collection it holds nothing of it. */
const SENDER_HEAP_PEAK_MAX = 40 * 1024 * 1024;
const SENDER_HEAP_RETAINED_MAX = 8 * 1024 * 1024;

const server = new Server();
let s;
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

/** Keep a handle on the page's WASM memory (the app does not export it) to read its size. */
const captureWasmMemory = () => {
  const keep = (result) => {
    const instance = result.instance ?? result;
    const memory = instance?.exports?.memory;
    if (memory instanceof WebAssembly.Memory) window.fcWasmMemory = memory;
    return result;
  };
  for (const name of ['instantiate', 'instantiateStreaming']) {
    const orig = WebAssembly[name];
    WebAssembly[name] = (...args) => orig.apply(WebAssembly, args).then(keep);
  }
};

test('a 50 MB file arrives whole and identical, in time, with progress; the sender does not hold it in memory', { timeout: 150_000 }, async () => {
  const room = uniqueRoom('big');
  const ctxA = await s.newContext();
  await ctxA.addInitScript(captureWasmMemory);
  const a = await ctxA.newPage();
  a.on('pageerror', (e) => console.error('[Ann] page error:', e));
  await a.goto(`${server.base}/?room=${room}&name=Ann`);
  await a.waitForSelector('.fc-badge-online', { timeout: 20_000 });
  const b = await s.openChat(room, 'Bob');
  assert.ok(await a.evaluate(() => window.fcWasmMemory instanceof WebAssembly.Memory), 'found the WASM memory');

  const file = s.file('dataset.bin');
  const sha = randomFile(file, SIZE);
  await a.setInputFiles('.fc-composer input[type=file]', file);
  await a.waitForSelector('.fc-pending .fc-note:text-is("sent as a file")', { timeout: 20_000 });

  // The sender samples its own memory every 100 ms from Send until told to stop.
  await a.evaluate(() => {
    window.fcPeak = { heap: performance.memory.usedJSHeapSize, wasm: window.fcWasmMemory.buffer.byteLength };
    window.fcBase = { ...window.fcPeak };
    window.fcSampler = setInterval(() => {
      window.fcPeak.heap = Math.max(window.fcPeak.heap, performance.memory.usedJSHeapSize);
      window.fcPeak.wasm = Math.max(window.fcPeak.wasm, window.fcWasmMemory.buffer.byteLength);
    }, 100);
  });
  const sentAt = Date.now();
  await a.click('.fc-send');

  // Both sides show progress while it goes; screenshots of it mid-way.
  const midway = (page, who) => page.waitForFunction((w) => {
    const p = document.querySelector(`.fc-${w} progress`);
    return p && Number(p.value) > 0.2 * Number(p.max) && Number(p.value) < 0.9 * Number(p.max);
  }, who, { timeout: 30_000, polling: 50 });
  await midway(b, 'theirs');
  const shots = process.env.FRAMECHAT_SHOTS ?? s.tmp;
  await b.screenshot({ path: path.join(shots, 'big-receiving.png') });
  const progressText = await b.textContent('.fc-theirs .fc-progress-text');
  assert.match(progressText, /^\d+% · [\d.]+ MB of 50 MB$/, progressText);
  // Text typed during the transfer is not stuck behind it.
  await say(a, 'sent while the big one goes');
  await waitText(b, 'sent while the big one goes', { timeout: 10_000 });
  const stillBusy = await b.$$eval('.fc-theirs.fc-busy', (els) => els.length);
  assert.equal(stillBusy, 1, 'the text arrived only after the transfer');

  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="dataset.bin"]', { timeout: BOUND_MS });
  const elapsed = Date.now() - sentAt;
  assert.ok(elapsed < BOUND_MS, `took ${elapsed} ms`);
  assert.equal(await link.$eval('.fc-file-size', (e) => e.textContent), '50 MB');
  assert.equal(await pageSha256(b, await link.getAttribute('href')), sha, 'the bytes B got are the bytes A sent');
  await a.waitForSelector('.fc-mine .fc-status:text-is("sent")', { timeout: 30_000 });
  const peak = await a.evaluate(() => { clearInterval(window.fcSampler); return window.fcPeak; });
  const base = await a.evaluate(() => window.fcBase);
  const cdp = await ctxA.newCDPSession(a);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize: retained } = await cdp.send('Runtime.getHeapUsage');
  await cdp.detach();
  const stats = await a.evaluate(() => window.wasmBindings.copyStats());
  console.log(`50 MB in ${elapsed} ms (${(SIZE / 1048576 / (elapsed / 1000)).toFixed(1)} MB/s); sender peak JS heap ` +
    `${(peak.heap / 1048576).toFixed(1)} MB (${(base.heap / 1048576).toFixed(1)} MB before, ${(retained / 1048576).toFixed(1)} MB after GC), WASM memory ${(peak.wasm / 1048576).toFixed(1)} MB; copies ${JSON.stringify(stats)}`);
  assert.ok(peak.heap < SENDER_HEAP_PEAK_MAX, `sender JS heap reached ${peak.heap} bytes`);
  assert.ok(retained < base.heap + SENDER_HEAP_RETAINED_MAX, `sender JS heap holds ${retained} bytes after GC`);
  assert.ok(peak.wasm < SENDER_WASM_MAX, `sender WASM memory reached ${peak.wasm} bytes`);
  assert.ok(stats.intoWasm < 1024 * 1024, `the file went through WASM memory: ${JSON.stringify(stats)}`);
  // Once on each side.
  assert.equal((await messages(a)).filter((m) => m.files.includes('dataset.bin')).length, 1);
  assert.equal((await messages(b)).filter((m) => m.files.includes('dataset.bin')).length, 1);
});
