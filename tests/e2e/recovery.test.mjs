// End-to-end: recovery after a reconnect through framechat-relay's positions (PROTOCOL.md,
// relay control frames). A page that drops off gets exactly what it missed; after a relay
// restart, a sender that comes back first and a receiver a moment later end up with every
// message once, in order. See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, Server, Session, checkReceivedImage, makePhoto, messages, notices, say, uniqueRoom, waitText } from './harness.mjs';

const server = new Server();
let s;
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

const usesOurRelay = Boolean(process.env.FRAMECHAT_RELAY_BIN) && server.restartable;

/** An init script: the page's WebSockets (`?worker=0` keeps them on the page) can be cut
 *  (`fcDrop()`), and while `fcOffline` is set every new one goes nowhere, as on a train in a
 *  tunnel; clearing it lets the page's own reconnect through. */
const droppable = () => {
  const Native = window.WebSocket;
  window.fcSockets = [];
  window.fcOffline = false;
  function Dropping(url, protocols) {
    const ws = new Native(window.fcOffline ? 'ws://127.0.0.1:9/' : url, protocols);
    window.fcSockets.push(ws);
    // Data frames (0xFC) each socket received, to tell a replay of what was missed from a
    // replay of everything.
    ws.fcData = 0;
    ws.addEventListener('message', (e) => {
      if (e.data instanceof ArrayBuffer && new Uint8Array(e.data)[0] === 0xfc) ws.fcData += 1;
    });
    return ws;
  }
  Dropping.prototype = Native.prototype;
  for (const k of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) Dropping[k] = Native[k];
  window.WebSocket = Dropping;
  window.fcDrop = () => {
    window.fcOffline = true;
    for (const ws of window.fcSockets) ws.close();
  };
};

const theirs = async (page) => (await messages(page)).filter((m) => !m.mine).map((m) => m.text || m.files.join(','));
const lostNotices = async (page) => (await notices(page)).filter((n) => n.includes('could not be recovered'));

test('a page that drops off gets exactly what it missed when it reconnects, once, in order',
  { timeout: 90_000, skip: usesOurRelay ? false : 'needs framechat-relay (FRAMECHAT_RELAY_BIN)' }, async () => {
  const room = uniqueRoom('recover');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob', { query: '&worker=0', init: droppable });
  await say(a, 'one');
  await waitText(b, 'one');

  await b.evaluate(() => window.fcDrop());
  await b.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
  for (const text of ['two', 'three', 'four']) await say(a, text);
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].every((e) => e.textContent === 'sent'));
  await b.evaluate(() => { window.fcOffline = false; });
  await b.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await waitText(b, 'four');
  assert.deepEqual(await theirs(b), ['one', 'two', 'three', 'four']);
  // Exactly the three it missed came over the new socket: not 'one' again.
  assert.equal(await b.evaluate(() => window.fcSockets.at(-1).fcData), 3);
  assert.deepEqual(await lostNotices(b), [], 'nothing was lost');
  // Live traffic goes on after the replay, with no gap and no duplicate at the seam.
  await say(a, 'five');
  await waitText(b, 'five');
  assert.deepEqual(await theirs(b), ['one', 'two', 'three', 'four', 'five']);
});

test('relay restarted while the sender queues three texts and a 12 MP photo; sender back first, receiver later: all four once, in order',
  { timeout: 150_000, skip: usesOurRelay ? false : 'needs framechat-relay (FRAMECHAT_RELAY_BIN)' }, async () => {
  const room = uniqueRoom('restart4');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob', { query: '&worker=0', init: droppable });
  await say(a, 'before');
  await waitText(b, 'before');

  // B stays away until the test lets it back; the relay goes down.
  await b.evaluate(() => { window.fcOffline = true; });
  await server.stop();
  await a.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
  for (const text of ['queued one', 'queued two', 'queued three']) await say(a, text);
  const photo = makePhoto(s.file('queued-photo.jpg'));
  await a.setInputFiles('.fc-composer input[type=file]', photo);
  await a.waitForSelector('.fc-pending .fc-note.fc-ok', { timeout: 30_000 });
  await a.click('.fc-send');
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].filter((e) => e.textContent === 'waiting for connection').length === 4);

  // The relay comes back; A reconnects and flushes its outbox first.
  await server.start();
  await a.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].every((e) => e.textContent === 'sent'), null, { timeout: 60_000 });
  // Then B, a moment later.
  await b.evaluate(() => { window.fcOffline = false; });
  await b.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await checkReceivedImage(b, 'queued-photo.jpg', { timeout: 30_000 });
  await waitText(b, 'queued three');
  assert.deepEqual(await theirs(b), ['before', 'queued one', 'queued two', 'queued three', 'queued-photo.jpg']);
  // The restarted relay is a new epoch: B cannot know nothing else was lost, and says so once.
  assert.equal((await lostNotices(b)).length, 1);
  assert.equal(await b.$$eval('.fc-notice', (els) => els.filter((e) => e.textContent.includes('no transfer')).length), 0,
    'no stray-chunk notices');
});

test('cluster: both relays restarted while the sender queues three texts and a 12 MP photo; sender back first on one, receiver later on the other: all four once, in order, nothing lost',
  { timeout: 180_000, skip: usesOurRelay ? false : 'needs framechat-relay (FRAMECHAT_RELAY_BIN)' }, async () => {
  const cluster = await new Cluster(2).start();
  try {
    const [one, two] = cluster.nodes;
    const room = uniqueRoom('cluster4');
    const a = await s.openChat(room, 'Ann', { server: one });
    const b = await s.openChat(room, 'Bob', { server: two, query: '&worker=0', init: droppable });
    await say(a, 'before');
    await waitText(b, 'before');

    // B stays away until the test lets it back; every relay goes down, Redis stays.
    await b.evaluate(() => { window.fcOffline = true; });
    await one.stop();
    await two.stop();
    await a.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
    for (const text of ['queued one', 'queued two', 'queued three']) await say(a, text);
    const photo = makePhoto(s.file('cluster-photo.jpg'));
    await a.setInputFiles('.fc-composer input[type=file]', photo);
    await a.waitForSelector('.fc-pending .fc-note.fc-ok', { timeout: 30_000 });
    await a.click('.fc-send');
    await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].filter((e) => e.textContent === 'waiting for connection').length === 4);

    // The relays come back on their ports; A (on the first) flushes its outbox first.
    await one.start();
    await two.start();
    await a.waitForSelector('.fc-badge-online', { timeout: 30_000 });
    await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].every((e) => e.textContent === 'sent'), null, { timeout: 60_000 });
    // Then B, on the other relay, a moment later.
    await b.evaluate(() => { window.fcOffline = false; });
    await b.waitForSelector('.fc-badge-online', { timeout: 30_000 });
    await checkReceivedImage(b, 'cluster-photo.jpg', { timeout: 30_000 });
    await waitText(b, 'queued three');
    assert.deepEqual(await theirs(b), ['before', 'queued one', 'queued two', 'queued three', 'cluster-photo.jpg']);
    // Redis kept the room's history and epoch through the restart: B recovered exactly.
    assert.deepEqual(await lostNotices(b), [], 'nothing was lost');
    assert.equal(await b.$$eval('.fc-notice', (els) => els.filter((e) => e.textContent.includes('no transfer')).length), 0,
      'no stray-chunk notices');
  } finally {
    await cluster.stop();
  }
});
