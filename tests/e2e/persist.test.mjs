// End-to-end: the chat kept in the browser (IndexedDB, src/store/). Messages sent while the
// relay is down survive a reload and go out once, in order; a reloaded page shows what it kept
// before its socket opens, and no duplicates once the relay's history arrives; a private room
// keeps nothing readable, a photo sent in one with the relay down included; the room's menu
// shows what is kept and clears it. See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, Session, checkReceivedImage, makePhoto, messages, notices, records, say, shotPath, uniqueRoom, waitText,
} from './harness.mjs';

// The page comes from `web`, its socket goes to `server`: a reload works with the relay down.
const web = new Server();
const server = new Server('bin', { args: ['--allow-origin', '*'] });
let s;
before(async () => { await web.start(); await server.start(); s = await new Session(server).launch(); });
afterEach(async () => {
  // A test that failed with the relay down leaves it up again for the next.
  if (!server.stopFn) await server.start();
  await s.closeContexts();
});
after(async () => { await s?.close(); await server.stop(); await web.stop(); });

/** A page of `web` whose socket goes to `server`. */
function open(room, name, query = '') {
  const ws = encodeURIComponent(`${server.wsBase}/ws/chat/{room}/`);
  return s.openChat(room, name, { server: web, query: `&ws=${ws}${query}` });
}

/** Resolve once `page` keeps `n` messages. */
async function waitKept(page, n) {
  for (let i = 0; i < 100; i += 1) {
    if ((await records(page, 'messages')).length === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${n} messages not kept: ${JSON.stringify(await records(page, 'messages'))}`);
}

/** Texts of `page`'s own messages whose status is `status`. */
function ownWith(page, status) {
  return page.$$eval('.fc-mine', (els, st) => els.filter((el) => el.querySelector('.fc-status')?.textContent === st)
    .map((el) => el.querySelector('.fc-text')?.textContent ?? ''), status);
}

test('sent while the relay is down, kept over a reload: B gets three texts and a 12 MP photo once, in order', { timeout: 180_000,
  skip: server.restartable && web.restartable ? false : 'needs a relay this test can restart' }, async () => {
  const photo = makePhoto(s.file('photo.jpg'));
  const room = uniqueRoom('persist');
  const a = await open(room, 'Ann');
  const b = await open(room, 'Bob');
  await say(a, 'before');
  await waitText(b, 'before');

  await server.stop();
  await a.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
  for (const text of ['offline one', 'offline two', 'offline three']) await say(a, text);
  await a.setInputFiles('.fc-composer input[type=file]', photo);
  await a.waitForSelector('.fc-pending .fc-note.fc-ok', { timeout: 30_000 });
  await a.fill('.fc-composer textarea', 'offline photo');
  await a.click('.fc-send');
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')]
    .filter((e) => e.textContent === 'waiting for connection').length === 4);
  // Written before it was shown: four pending records (the photo's with its bytes).
  await a.waitForFunction(async () => {
    const db = await new Promise((r) => { const q = indexedDB.open('framechat'); q.onsuccess = () => r(q.result); });
    const n = await new Promise((r) => { const q = db.transaction('pending').objectStore('pending').count(); q.onsuccess = () => r(q.result); });
    db.close();
    return n === 4;
  }, null, { timeout: 10_000 });

  // The reload, the relay still down: the kept chat shows at once, the four as waiting.
  await a.reload();
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')]
    .filter((e) => e.textContent === 'waiting for connection').length === 4, null, { timeout: 10_000 });
  assert.equal(await a.$$eval('.fc-badge-online', (els) => els.length), 0, 'online with the relay down');
  await a.waitForSelector('.fc-mine img[alt="photo.jpg"]', { timeout: 10_000 });
  assert.deepEqual((await messages(a)).map(({ mine, text, files }) => ({ mine, text, files })), [
    { mine: true, text: 'before', files: [] },
    { mine: true, text: 'offline one', files: [] },
    { mine: true, text: 'offline two', files: [] },
    { mine: true, text: 'offline three', files: [] },
    { mine: true, text: 'offline photo', files: ['photo.jpg'] },
  ]);

  await server.start();
  await a.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await checkReceivedImage(b, 'photo.jpg', { ratio: 0.75, timeout: 60_000 });
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].every((e) => e.textContent === 'sent'),
    null, { timeout: 30_000 });
  const theirs = (await messages(b)).filter((m) => !m.mine).map(({ text, files }) => ({ text, files }));
  assert.deepEqual(theirs, [
    { text: 'before', files: [] },
    { text: 'offline one', files: [] },
    { text: 'offline two', files: [] },
    { text: 'offline three', files: [] },
    { text: 'offline photo', files: ['photo.jpg'] },
  ], 'B: every message once, in the order A sent them');
  // Delivered: nothing pending any more (the relay's echo, or its position, said so).
  await a.waitForFunction(async () => {
    const db = await new Promise((r) => { const q = indexedDB.open('framechat'); q.onsuccess = () => r(q.result); });
    const n = await new Promise((r) => { const q = db.transaction('pending').objectStore('pending').count(); q.onsuccess = () => r(q.result); });
    db.close();
    return n === 0;
  }, null, { timeout: 10_000 });
  assert.equal((await messages(a)).length, 5, 'A shows a message twice');
});

test('a reloaded page shows what it kept before its socket opens, and merges the relay\'s history without duplicates', { timeout: 120_000,
  skip: server.restartable && web.restartable ? false : 'needs a relay this test can restart' }, async () => {
  const room = uniqueRoom('kept');
  const a = await open(room, 'Ann');
  const b = await open(room, 'Bob');
  await say(a, 'ann one');
  await say(b, 'bob one');
  await say(a, 'ann two');
  await waitText(a, 'bob one');
  await waitText(b, 'ann two');
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].filter((e) => e.textContent === 'sent').length === 2);
  const expected = [{ mine: true, text: 'ann one' }, { mine: false, text: 'bob one' }, { mine: true, text: 'ann two' }];

  // The relay's history replays the same three messages: shown once each.
  await a.reload();
  await a.waitForSelector('.fc-badge-online', { timeout: 20_000 });
  await say(b, 'bob two');
  await waitText(a, 'bob two');
  assert.deepEqual((await messages(a)).map(({ mine, text }) => ({ mine, text })), [...expected, { mine: false, text: 'bob two' }]);

  // With the relay down: the kept chat, before any socket opened (A never goes online).
  await waitKept(a, 4);
  await server.stop();
  await a.reload();
  await waitText(a, 'bob two', { timeout: 10_000 });
  assert.equal(await a.$$eval('.fc-badge-online', (els) => els.length), 0);
  assert.deepEqual((await messages(a)).map(({ mine, text }) => ({ mine, text })), [...expected, { mine: false, text: 'bob two' }]);
  assert.deepEqual(await ownWith(a, 'sent'), ['ann one', 'ann two']);

  await server.start();
  await a.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await b.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await say(b, 'after');
  await waitText(a, 'after');
  const list = await messages(a);
  assert.deepEqual(list.map(({ mine, text }) => ({ mine, text })),
    [...expected, { mine: false, text: 'bob two' }, { mine: false, text: 'after' }], 'every message once, in order');
});

test('a private room keeps nothing readable: no text, no room name in IndexedDB', { timeout: 60_000 }, async () => {
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1)).toString('base64url');
  const room = uniqueRoom('sealed');
  const a = await open(room, 'Ann', `#k=${key}`);
  const b = await open(room, 'Bob', `#k=${key}`);
  await say(a, 'the secret plans');
  await say(b, 'reply in confidence');
  await waitText(a, 'reply in confidence');
  await waitText(b, 'the secret plans');
  await waitKept(a, 2);
  const kept = await records(a, 'messages');
  for (const rec of kept) {
    for (const secret of ['the secret plans', 'reply in confidence', 'Ann', 'Bob', room]) {
      assert.ok(!rec.raw.includes(secret), `"${secret}" readable in a kept record`);
    }
    assert.notEqual(rec.r, room, 'filed under the room name');
    assert.match(rec.r, /^[0-9a-f]{32}$/, 'filed under a pseudonym');
  }
  // And it reads back with the key.
  await a.reload();
  await a.waitForSelector('.fc-badge-online', { timeout: 20_000 });
  assert.deepEqual((await messages(a)).map(({ mine, text }) => ({ mine, text })),
    [{ mine: true, text: 'the secret plans' }, { mine: false, text: 'reply in confidence' }]);
  // A plain room with the same name keeps its own, readable, records elsewhere.
  const c = await open(room, 'Cy');
  await say(c, 'plain words');
  for (let i = 0; i < 50 && !(await records(c, 'messages')).some((r) => r.raw.includes('plain words')); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok((await records(c, 'messages')).some((r) => r.r === room && r.raw.includes('plain words')));
});

test('a private room, the relay down: a 12 MP photo is kept sealed at Send, comes back on a reload and goes out once', { timeout: 180_000,
  skip: server.restartable && web.restartable ? false : 'needs a relay this test can restart' }, async () => {
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 3 + 2)).toString('base64url');
  const photo = makePhoto(s.file('photo.jpg'));
  const room = uniqueRoom('sealedphoto');
  const a = await open(room, 'Ann', `#k=${key}`);
  const b = await open(room, 'Bob', `#k=${key}`);
  await say(a, 'before');
  await waitText(b, 'before');

  await server.stop();
  await a.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
  await a.setInputFiles('.fc-composer input[type=file]', photo);
  await a.waitForSelector('.fc-pending .fc-note.fc-ok', { timeout: 30_000 });
  await a.fill('.fc-composer textarea', 'a sealed photo');
  await a.click('.fc-send');
  // Kept at Send, sealed: its record holds the whole photo and reads as nothing.
  let kept = [];
  for (let i = 0; i < 100 && kept.length === 0; i += 1) {
    kept = (await records(a, 'pending')).length === 1 ? await records(a, 'messages') : [];
    if (kept.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  const photoRecord = kept.find((rec) => rec.size > 1_000_000);
  assert.ok(photoRecord, `no record of the photo: ${JSON.stringify(kept.map(({ r, size }) => ({ r, size })))}`);
  for (const secret of ['a sealed photo', 'photo.jpg', 'Ann', room]) {
    assert.ok(!photoRecord.raw.includes(secret), `"${secret}" readable in the kept photo`);
  }
  assert.match(photoRecord.r, /^[0-9a-f]{32}$/, 'filed under a pseudonym');

  // The reload, the relay still down: the photo shows at once, waiting, read back with the key.
  await a.reload();
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')]
    .filter((e) => e.textContent === 'waiting for connection').length === 1, null, { timeout: 10_000 });
  await a.waitForSelector('.fc-mine img[alt="photo.jpg"]', { timeout: 10_000 });

  await server.start();
  await checkReceivedImage(b, 'photo.jpg', { ratio: 0.75, timeout: 60_000 });
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].every((e) => e.textContent === 'sent'),
    null, { timeout: 30_000 });
  const theirs = (await messages(b)).filter((m) => !m.mine).map(({ text, files }) => ({ text, files }));
  assert.deepEqual(theirs, [{ text: 'before', files: [] }, { text: 'a sealed photo', files: ['photo.jpg'] }],
    'B: every message once, in order');
});

test('a private room through a server that echoes but sends no positions: the echo ends the pending record', { timeout: 60_000 }, async () => {
  // relay.mjs is a plain Node relay (no hello, no pos): only the echo of A's sealed last frame,
  // which the socket worker reports by its tag, tells A the server has the message.
  const node = await new Server('node').start();
  try {
    const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 5 + 3)).toString('base64url');
    const room = uniqueRoom('echoed');
    const ws = encodeURIComponent(`${node.wsBase}/ws/chat/{room}/`);
    const a = await s.openChat(room, 'Ann', { server: web, query: `&ws=${ws}#k=${key}` });
    const b = await s.openChat(room, 'Bob', { server: web, query: `&ws=${ws}#k=${key}` });
    await say(a, 'sealed and echoed');
    await waitText(b, 'sealed and echoed');
    for (let i = 0; i < 100 && (await records(a, 'pending')).length > 0; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(await records(a, 'pending'), [], 'still pending after its echo');
    assert.equal((await records(a, 'messages')).length, 1, 'kept as history');
  } finally {
    await node.stop();
  }
});

test('the room menu shows what is kept and clears it', { timeout: 60_000,
  skip: server.restartable && web.restartable ? false : 'needs a relay this test can restart' }, async () => {
  const room = uniqueRoom('menu');
  const a = await open(room, 'Ann');
  await say(a, 'something to keep');
  await a.waitForSelector('.fc-mine .fc-status:text-is("sent")');
  await a.click('.fc-menu > summary');
  const clear = await a.waitForSelector('.fc-menu .fc-clear', { timeout: 5_000 });
  const figure = () => a.$eval('.fc-menu-body', (el) => el.firstChild.textContent + el.childNodes[1].textContent);
  await a.waitForFunction(() => /^Kept in this browser: \d+ B$/.test(
    [...document.querySelector('.fc-menu-body').childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('')));
  assert.notEqual(await figure(), 'Kept in this browser: 0 B');
  await a.screenshot({ path: shotPath('persist-menu.png') });
  await clear.click();
  await a.waitForFunction(() => [...document.querySelector('.fc-menu-body').childNodes].filter((n) => n.nodeType === 3)
    .map((n) => n.textContent).join('') === 'Kept in this browser: 0 B');
  assert.deepEqual(await records(a, 'messages'), []);
  assert.deepEqual(await notices(a), []);
  // Nothing comes back on a reload with the relay down.
  await server.stop();
  await a.reload();
  await a.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
  assert.deepEqual(await messages(a), []);
  await server.start();
});
