// End-to-end: a private room (key in the link's fragment) through a relay that records every
// frame it passes on (relay.mjs): the recording holds none of the texts, file names or sender
// names, and no block of the scrubbed photo; pages with another key, or none, read nothing.
// See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import {
  CHROMIUM, Server, Session, blobBytes, checkReceivedImage, makePhoto, messages, notices, records, shotPath, uniqueRoom,
  waitText,
} from './harness.mjs';

const recorded = new Map();
const server = new Server('node', {
  record: (room, data, isBinary) => {
    if (!recorded.has(room)) recorded.set(room, []);
    recorded.get(room).push({ data: Buffer.from(data), isBinary });
  },
});
/** framechat-relay checking every frame it relays (`--validate`): envelopes pass unopened. */
const validating = new Server('bin', { args: ['--validate'] });
let s;
before(async () => {
  await server.start();
  if (process.env.FRAMECHAT_RELAY_BIN) await validating.start();
  s = await new Session(server).launch();
});
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); await validating.stop(); });

const newKey = () => crypto.randomBytes(32).toString('base64url');

/** Whether any 32-byte block of `needle` (at every multiple of 32) occurs anywhere in `hay`. */
function sharesABlock(hay, needle) {
  const blocks = new Set();
  for (let at = 0; at + 32 <= needle.length; at += 32) blocks.add(needle.subarray(at, at + 32).toString('latin1'));
  for (let at = 0; at + 32 <= hay.length; at++) {
    if (blocks.has(hay.subarray(at, at + 32).toString('latin1'))) return true;
  }
  return false;
}

test('a private room: the relay records only ciphertext; another key or none reads nothing', { timeout: 180_000 }, async () => {
  const room = uniqueRoom('private');
  const key = newKey();
  const ann = 'Annabel Whitmore-Lee';
  const bob = 'Bartholomew Oyelaran';
  const a = await s.openChat(room, ann, { query: `#k=${key}` });
  const b = await s.openChat(room, bob, { query: `#k=${key}` });
  const other = await s.openChat(room, 'Mallory Keyholder-Two', { query: `#k=${newKey()}` });
  const none = await s.openChat(room, 'Eve Without-Any-Key');

  // Each page says what it is.
  assert.equal((await a.textContent('.fc-lock')).trim(), 'Private');
  assert.equal(await none.textContent('.fc-unlocked'), 'Not encrypted');
  assert.equal(await none.$$eval('.fc-new-private', (e) => e.length), 1, 'the standalone page offers a new private room');

  const secret = 'meet me at the old lighthouse at nine';
  const reply = 'bring the blue umbrella, please';
  await a.fill('.fc-composer textarea', secret);
  await a.press('.fc-composer textarea', 'Enter');
  await waitText(b, secret);

  const photo = makePhoto(s.file('lighthouse-photo.jpg'));
  const pdf = s.file('contract-for-the-boat.pdf');
  fs.writeFileSync(pdf, `%PDF-1.4\n% a small PDF\n1 0 obj << /Type /Catalog >> endobj\n${'x'.repeat(50_000)}\n%%EOF\n`);
  await a.setInputFiles('.fc-composer input[type=file]', [photo, pdf]);
  await a.waitForFunction(() => document.querySelectorAll('.fc-pending .fc-note').length === 2
    && [...document.querySelectorAll('.fc-pending .fc-note')].every((e) => e.textContent !== 'removing metadata…'), null, { timeout: 30_000 });
  await a.click('.fc-send');
  const dims = await checkReceivedImage(b, 'lighthouse-photo.jpg', { ratio: 0.75, timeout: 30_000 });
  const scrubbed = await blobBytes(b, dims.src);
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="contract-for-the-boat.pdf"]', { timeout: 30_000 });
  assert.deepEqual(await blobBytes(b, await link.getAttribute('href')), fs.readFileSync(pdf));
  await b.fill('.fc-composer textarea', reply);
  await b.press('.fc-composer textarea', 'Enter');
  await waitText(a, reply);
  await a.screenshot({ path: shotPath('private-room.png') });

  // The relay saw only envelopes: none of the names or texts, no block of the photo.
  const frames = recorded.get(room) ?? [];
  assert.ok(frames.length >= 4, `${frames.length} frames recorded`);
  assert.ok(frames.every((f) => f.isBinary && f.data[0] === 0xfd), 'every frame is an encrypted envelope');
  const all = Buffer.concat(frames.map((f) => f.data));
  for (const word of [secret, reply, ann, bob, 'lighthouse-photo.jpg', 'contract-for-the-boat.pdf', 'image/jpeg', '"kind"']) {
    assert.equal(all.indexOf(Buffer.from(word)), -1, `the relay saw ${JSON.stringify(word)}`);
  }
  assert.equal(all.indexOf(fs.readFileSync(pdf).subarray(0, 64)), -1, 'the relay saw the PDF');
  assert.ok(scrubbed.length > 1_000_000);
  assert.ok(!sharesABlock(all, scrubbed), 'the relay saw a block of the photo');

  // Another key, and no key: a notice per message, nothing shown.
  for (const [page, what] of [[other, 'sealed with another key'], [none, 'has no key']]) {
    await page.waitForFunction((w) => [...document.querySelectorAll('.fc-notice')].filter((n) => n.textContent.includes(w)).length >= 3,
      what, { timeout: 20_000 });
    assert.deepEqual(await messages(page), [], 'nothing shown to a page without the key');
    const said = (await notices(page)).filter((n) => n.includes('cannot read'));
    assert.equal(said.length, 3, `one notice per message: ${JSON.stringify(said)}`);
  }
  // The key never left the page: not in the page's storage either.
  const stored = await a.evaluate(() => JSON.stringify({ ...localStorage }));
  assert.ok(!stored.includes(key), 'the key is in localStorage');
  assert.equal((await messages(a)).length, 3);
  assert.equal((await messages(b)).length, 3);
});

/** `page`'s kept record (polled for 10 s) holding the envelopes of a message over 1 MB, split. */
async function keptEnvelopes(page) {
  let kept;
  for (let i = 0; i < 100 && !kept; i += 1) {
    kept = (await records(page, 'messages', { whole: true })).find((r) => r.s === 1 && r.size > 1_000_000);
    if (!kept) await new Promise((r) => setTimeout(r, 100));
  }
  if (!kept) return null;
  // Its record: the envelopes, each after its length.
  const envelopes = [];
  for (let at = 0; at < kept.f.length;) {
    const len = kept.f.readUInt32LE(at);
    envelopes.push(kept.f.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return envelopes;
}

test('a private room keeps a photo as the very envelopes the relay carried, on both pages: sealed once, never again, read back after a reload',
  { timeout: 120_000 }, async () => {
  const room = uniqueRoom('keptassent');
  const key = newKey();
  const a = await s.openChat(room, 'Ann', { query: `#k=${key}` });
  const b = await s.openChat(room, 'Bob', { query: `#k=${key}` });
  const photo = makePhoto(s.file('kept-as-sent.jpg'));
  await a.setInputFiles('.fc-composer input[type=file]', photo);
  await a.waitForSelector('.fc-pending .fc-note.fc-ok', { timeout: 30_000 });
  await a.fill('.fc-composer textarea', 'sealed only once');
  await a.click('.fc-send');
  await checkReceivedImage(b, 'kept-as-sent.jpg', { ratio: 0.75, timeout: 30_000 });

  const envelopes = await keptEnvelopes(a);
  assert.ok(envelopes, 'the photo is not kept as it was sent');
  const tag = envelopes[0].subarray(2, 18);
  const carried = (recorded.get(room) ?? []).map((f) => f.data).filter((d) => d.subarray(2, 18).equals(tag));
  assert.ok(envelopes.length > 1, `${envelopes.length} envelopes kept`);
  const hex = (list) => list.map((e) => e.toString('hex'));
  assert.deepEqual(hex(envelopes), hex(carried), 'the kept envelopes are not byte for byte the frames the relay carried');
  // The receiver keeps them as they came, too: not opened and sealed again.
  const received = await keptEnvelopes(b);
  assert.ok(received, 'the received photo is not kept as it came');
  assert.deepEqual(hex(received), hex(carried), 'the received envelopes are not kept byte for byte');

  // A restart empties relay.mjs's history: after a reload the photo comes from the store alone.
  await server.stop();
  await server.start();
  await a.reload();
  await a.waitForSelector('.fc-mine img[alt="kept-as-sent.jpg"]', { timeout: 20_000 });
  assert.deepEqual((await messages(a)).map(({ mine, text, files }) => ({ mine, text, files })),
    [{ mine: true, text: 'sealed only once', files: ['kept-as-sent.jpg'] }]);
  assert.deepEqual((await notices(a)).filter((n) => /could not be read|kept in memory/.test(n)), []);
  await b.reload();
  await checkReceivedImage(b, 'kept-as-sent.jpg', { ratio: 0.75, timeout: 20_000 });
  assert.deepEqual((await messages(b)).map(({ mine, text, files }) => ({ mine, text, files })),
    [{ mine: false, text: 'sealed only once', files: ['kept-as-sent.jpg'] }]);
  assert.deepEqual((await notices(b)).filter((n) => /could not be read|kept in memory/.test(n)), []);
});

test('a private room through framechat-relay --validate: envelopes pass without being opened',
  { timeout: 90_000, skip: process.env.FRAMECHAT_RELAY_BIN ? false : 'needs framechat-relay (FRAMECHAT_RELAY_BIN)' }, async () => {
  const room = uniqueRoom('privval');
  const key = newKey();
  const a = await s.openChat(room, 'Ann', { server: validating, query: `#k=${key}` });
  const b = await s.openChat(room, 'Bob', { server: validating, query: `#k=${key}` });
  await a.fill('.fc-composer textarea', 'through the validating relay');
  await a.press('.fc-composer textarea', 'Enter');
  await waitText(b, 'through the validating relay');
  const photo = makePhoto(s.file('validated.jpg'));
  await a.setInputFiles('.fc-composer input[type=file]', photo);
  await a.waitForSelector('.fc-pending .fc-note.fc-ok', { timeout: 30_000 });
  await a.click('.fc-send');
  await checkReceivedImage(b, 'validated.jpg', { ratio: 0.75, timeout: 30_000 });
  assert.deepEqual((await notices(b)).filter((n) => /ignored|cannot read/.test(n)), []);
});

test('a key that is not valid does not open the room', { timeout: 60_000 }, async () => {
  const ctx = await s.newContext();
  const page = await ctx.newPage();
  await page.goto(`${server.base}/?room=${uniqueRoom('badkey')}&name=Ann#k=not-a-key`);
  const text = await page.textContent('#framechat-app');
  assert.match(text, /room key in the link is not valid/);
  assert.equal(await page.$$eval('.fc-composer', (e) => e.length), 0, 'no chat to type into');
});

test('a private room on a page that is not a secure context refuses to open, and says why', { timeout: 60_000 }, async () => {
  // A name that is not localhost, served over plain http: the browser offers no WebCrypto.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP framechat.test 127.0.0.1'],
  });
  try {
    const page = await browser.newPage();
    const sockets = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`http://framechat.test:${server.port}/?room=${uniqueRoom('insecure')}&name=Ann#k=${newKey()}`);
    assert.equal(await page.evaluate(() => window.isSecureContext), false);
    const banner = await page.waitForSelector('.fc-blocked', { timeout: 20_000 });
    assert.match(await banner.textContent(), /not a secure context.*will not fall back to unencrypted/s);
    await page.waitForSelector('.fc-badge-offline');
    await page.screenshot({ path: shotPath('private-insecure.png') });
    assert.deepEqual(sockets, [], 'it connected nowhere');
  } finally {
    await browser.close();
  }
});
