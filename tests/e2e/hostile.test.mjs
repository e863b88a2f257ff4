// End-to-end: a client that sends garbage and lies (a raw WebSocket from Node, not the app)
// cannot disturb the others: their chat stays as it was — at most a short inline notice per
// undecodable frame — and new messages still flow both ways. A frame over the relay's 1 MiB
// limit gets that client closed with 1009. Lies about file types get nothing rendered.
// See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { FIXTURES, Server, Session, messages, notices, say, uniqueRoom, waitText } from './harness.mjs';

const server = new Server();
let s;
const sockets = new Set();
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(async () => {
  for (const ws of sockets) ws.terminate();
  sockets.clear();
  await s.closeContexts();
});
after(async () => { await s?.close(); await server.stop(); });

/** A framechat frame: 0xFC, u16 header length, JSON header, payload (PROTOCOL.md). */
function frame(header, payload = Buffer.alloc(0), { claimLen } = {}) {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(3);
  prefix[0] = 0xfc;
  prefix.writeUInt16BE(claimLen ?? json.length, 1);
  return Buffer.concat([prefix, json, payload]);
}
const newId = () => crypto.randomBytes(16).toString('hex');

function connect(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 << 20 });
    sockets.add(ws);
    const timer = setTimeout(() => reject(new Error(`${url}: no open within 10 s`)), 10_000);
    ws.once('open', () => { clearTimeout(timer); resolve(ws); });
    ws.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function closed(ws, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not closed within ${ms} ms`)), ms);
    ws.once('close', (code, reason) => { clearTimeout(timer); resolve({ code, reason: String(reason) }); });
  });
}

/** Send and wait until the socket handed it over (so the order against the pages is known). */
const send = (ws, data, opts = {}) => new Promise((resolve, reject) => ws.send(data, opts, (e) => (e ? reject(e) : resolve())));

test('garbage, lying headers, stray chunks and an oversized frame from one client leave the others\' chat unchanged', { timeout: 90_000 }, async () => {
  const room = uniqueRoom('hostile');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  await say(a, 'hello Bob');
  await waitText(b, 'hello Bob');
  await say(b, 'hi Ann');
  await waitText(a, 'hi Ann');
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].every((e) => e.textContent === 'sent'), null, { timeout: 10_000 });
  const beforeA = await messages(a);
  const beforeB = await messages(b);

  const evil = await connect(`${server.wsBase}/ws/chat/${room}/`);
  const bad = [
    // Not a frame at all.
    crypto.randomBytes(300).fill(0x00, 0, 1),
    Buffer.from([0x01]),
    // A reserved version byte.
    Buffer.concat([Buffer.from([0xfd, 0x00, 0x02]), Buffer.from('{}')]),
    // A header length that runs past the end of the message.
    frame({ kind: 'msg', id: newId(), from: 'Mallory', ts: 0, text: 'x' }, Buffer.alloc(0), { claimLen: 65535 }),
    // JSON that is not JSON.
    Buffer.concat([Buffer.from([0xfc, 0x00, 0x05]), Buffer.from('{kind')]),
    // An unknown kind.
    frame({ kind: 'explode', id: newId(), from: 'Mallory' }),
    // A message whose payload is longer than the files it declares.
    frame({ kind: 'msg', id: newId(), from: 'Mallory', ts: 0, files: [{ name: 'a.bin', mime: 'application/octet-stream', size: 4 }] }, crypto.randomBytes(64)),
    // A message that claims a 1 TB attachment (never allocated), then chunks for it.
    frame({ kind: 'msg', id: newId(), from: 'Mallory', ts: 0, files: [{ name: 'huge.bin', mime: 'application/octet-stream', size: 2 ** 40 }] }, crypto.randomBytes(100)),
    // A chunk for a transfer nobody started.
    frame({ kind: 'chunk', id: newId(), from: 'Mallory', offset: 0, total: 10, last: true }, crypto.randomBytes(10)),
    // A chunk whose last flag lies.
    frame({ kind: 'chunk', id: newId(), from: 'Mallory', offset: 0, total: 100 }, crypto.randomBytes(100)),
    // A cancel for nothing.
    frame({ kind: 'cancel', id: newId(), from: 'Mallory' }),
    // A message without text or files, and one with a control character in the name.
    frame({ kind: 'msg', id: newId(), from: 'Mallory', ts: 0 }),
    frame({ kind: 'msg', id: newId(), from: 'Mal\u0007lory', ts: 0, text: 'bell' }),
  ];
  for (const data of bad) await send(evil, data, { binary: true });
  // Text WebSocket messages are not part of the protocol: ignored without a word.
  await send(evil, 'just some text', { binary: false });
  await send(evil, JSON.stringify({ type: 'chat', message: 'hello' }), { binary: false });

  // Then one frame over the relay's limit (1 MiB by default): that client is closed with 1009.
  const gone = closed(evil, 15_000);
  const over = server.maxMessage + (1 << 20);
  evil.send(frame({ kind: 'msg', id: newId(), from: 'Mallory', ts: 0, files: [{ name: 'big.bin', mime: 'application/octet-stream', size: over }] }, crypto.randomBytes(over)), { binary: true }, () => {});
  const { code } = await gone;
  assert.equal(code, 1009, 'the relay closes an oversized frame with 1009 (message too big)');

  // Both pages are still online; a marker message proves every bad frame was processed.
  await say(a, 'still here?');
  await waitText(b, 'still here?');
  await say(b, 'yes, still here');
  await waitText(a, 'yes, still here');
  for (const page of [a, b]) assert.equal(await page.$$eval('.fc-badge-online', (els) => els.length), 1);

  // Their chat is unchanged: the same messages, plus the two new ones; nothing from Mallory.
  const afterA = await messages(a);
  const afterB = await messages(b);
  assert.deepEqual(afterA.slice(0, beforeA.length), beforeA);
  assert.deepEqual(afterB.slice(0, beforeB.length), beforeB);
  assert.deepEqual(afterA.slice(beforeA.length).map((m) => [m.mine, m.text]), [[true, 'still here?'], [false, 'yes, still here']]);
  assert.deepEqual(afterB.slice(beforeB.length).map((m) => [m.mine, m.text]), [[false, 'still here?'], [true, 'yes, still here']]);
  // At most one short notice per bad frame, none for text messages; nothing else.
  for (const page of [a, b]) {
    const n = await notices(page);
    assert.ok(n.length <= bad.length, `${n.length} notices for ${bad.length} bad frames: ${JSON.stringify(n)}`);
    assert.ok(n.every((t) => t.length < 200), JSON.stringify(n));
    assert.ok(!n.some((t) => /text message/.test(t)), `a notice for a text message: ${JSON.stringify(n)}`);
    const other = await page.$$eval('.fc-list > li:not(.fc-msg):not(.fc-notice)', (els) => els.length);
    assert.equal(other, 0);
    assert.equal(await page.$$eval('.fc-failed', (els) => els.length), 0, 'a message shows as failed');
  }
  console.log(`notices on B: ${JSON.stringify(await notices(b))}`);
});

test('a raw client lying about types gets nothing rendered: HTML and SVG bytes are downloads, markup in text is text', { timeout: 60_000 }, async () => {
  const room = uniqueRoom('lies');
  const b = await s.openChat(room, 'Bob');
  const evil = await connect(`${server.wsBase}/ws/chat/${room}/`);
  const html = Buffer.from('<!doctype html><html><body><script>parent.pwned = 1; top.pwned = 1;</script></body></html>');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="top.pwned=2"><script>top.pwned=3</script></svg>');
  const png = fs.readFileSync(path.join(FIXTURES, 'png_full.png'));
  const files = [
    { name: 'cat.png', mime: 'image/png', size: html.length, width: 64, height: 48 },
    { name: 'logo.png', mime: 'image/svg+xml', size: svg.length, width: 64, height: 64 },
    { name: 'page.html', mime: 'text/html', size: png.length, width: 64, height: 48 },
  ];
  await send(evil, frame({ kind: 'msg', id: newId(), from: 'Mallory', ts: Date.now(), text: '<img src=x onerror="top.pwned=4"><b>bold?</b>', files },
    Buffer.concat([html, svg, png])), { binary: true });
  await waitText(b, '<img src=x onerror="top.pwned=4"><b>bold?</b>');
  // The HTML and the SVG, whatever they claim, are downloads typed as plain bytes; the real PNG
  // (claimed to be HTML) is shown as the picture it is, typed by its magic bytes.
  const links = await b.$$eval('.fc-theirs a.fc-file-link', (els) => els.map((e) => e.getAttribute('download')));
  assert.deepEqual(links, ['cat.png', 'logo.png']);
  for (const name of links) {
    const href = await b.getAttribute(`.fc-theirs a[download="${name}"]`, 'href');
    assert.match(href, /^blob:/);
    assert.equal(await b.evaluate(async (u) => (await (await fetch(u)).blob()).type, href), 'application/octet-stream', name);
  }
  const imgs = await b.$$eval('.fc-theirs img', (els) => els.map((e) => e.getAttribute('alt')));
  assert.deepEqual(imgs, ['page.html']);
  const src = await b.getAttribute('.fc-theirs img', 'src');
  assert.equal(await b.evaluate(async (u) => (await (await fetch(u)).blob()).type, src), 'image/png');
  assert.equal(await b.$$eval('.fc-theirs .fc-text b, .fc-theirs .fc-text img, iframe, object, embed', (els) => els.length), 0, 'markup was rendered');
  assert.equal(await b.evaluate(() => window.pwned), undefined, 'a script ran');
});
