// End-to-end: the relay goes away and comes back on the same port — messages typed meanwhile
// go out after reconnect, in order, once; a 40 MB transfer cut by the restart arrives once,
// after reconnect, on both pages. See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, Front, Server, Session, cutDuringBigFile, holdAfter20Frames, waitLastOwnSent, messages, pageSha256, randomFile, say, uniqueRoom, waitText } from './harness.mjs';

const server = new Server();
let s;
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

test('messages typed while the relay is down go out after reconnect, in order, once; a transfer cut by a restart arrives once',
  { timeout: 120_000, skip: server.restartable ? false : 'needs a relay this test can restart' }, async () => {
  const room = uniqueRoom('restart');
  const a = await s.openChat(room, 'Ann', { init: holdAfter20Frames });
  const b = await s.openChat(room, 'Bob');
  const port = server.port;
  await say(a, 'before the restart');
  await waitText(b, 'before the restart');

  await server.stop();
  await a.waitForSelector('.fc-badge-reconnecting, .fc-badge-offline', { timeout: 10_000 });
  for (const text of ['offline one', 'offline two', 'offline three']) await say(a, text);
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].filter((e) => e.textContent === 'waiting for connection').length === 3);
  await server.start();
  assert.equal(server.port, port, 'the relay came back on the same port');
  await a.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await b.waitForSelector('.fc-badge-online', { timeout: 30_000 });
  await waitText(b, 'offline three');
  const texts = (await messages(b)).filter((m) => !m.mine).map((m) => m.text);
  assert.deepEqual(texts, ['before the restart', 'offline one', 'offline two', 'offline three']);

  // A 40 MB file; the relay dies while it is on its way, and comes back on the same port.
  const sha = await cutDuringBigFile(a, b, s, () => server.stop());
  await server.start();
  assert.equal(server.port, port);
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="archive.bin"]', { timeout: 60_000 });
  assert.equal(await pageSha256(b, await link.getAttribute('href')), sha, 'the bytes B got are the bytes A sent');
  // (A notice that the restarted relay could not recover what A might have missed may
  // follow it in the list.)
  await waitLastOwnSent(a, { timeout: 30_000 });

  // Exactly once on both pages: the sender's own list and the receiver's.
  const la = await messages(a);
  const lb = await messages(b);
  assert.equal(la.filter((m) => m.files.includes('archive.bin')).length, 1, JSON.stringify(la));
  assert.equal(lb.filter((m) => m.files.includes('archive.bin')).length, 1, JSON.stringify(lb));
  assert.equal(la.length, 5, JSON.stringify(la));
  assert.ok(la.every((m) => m.mine));
  assert.equal(lb.length, 5, JSON.stringify(lb));
  assert.equal(await b.$$eval('.fc-theirs.fc-failed', (els) => els.length), 0, 'B shows a failed copy of the message');
});

test('cluster: the relay serving the sender is killed mid-transfer; the sender reconnects to the other relay; the file arrives once',
  { timeout: 180_000, skip: process.env.FRAMECHAT_RELAY_BIN && server.restartable ? false : 'needs framechat-relay (FRAMECHAT_RELAY_BIN)' }, async () => {
  const cluster = await new Cluster(2).start();
  const [one, two] = cluster.nodes;
  // A reaches the cluster through a front (as through a load balancer), now to the first relay.
  const front = await new Front(one.port).start();
  try {
    const room = uniqueRoom('failover');
    const a = await s.openChat(room, 'Ann', { server: front, init: holdAfter20Frames });
    const b = await s.openChat(room, 'Bob', { server: two });
    await say(a, 'before the failover');
    await waitText(b, 'before the failover');

    const big = s.file('failover.bin');
    const sha = randomFile(big, 40 * 1024 * 1024);
    await a.setInputFiles('.fc-composer input[type=file]', big);
    await a.waitForSelector('.fc-pending .fc-note:text-is("sent as a file")');
    await a.click('.fc-send');
    await b.waitForSelector('.fc-theirs.fc-busy', { timeout: 20_000 });
    // The first relay dies; new connections go to the second.
    front.target = two.port;
    await one.stop();
    const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="failover.bin"]', { timeout: 90_000 });
    assert.equal(await pageSha256(b, await link.getAttribute('href')), sha, 'the bytes B got are the bytes A sent');
    await waitLastOwnSent(a, { timeout: 60_000 });

    const la = await messages(a);
    const lb = await messages(b);
    assert.equal(la.filter((m) => m.files.includes('failover.bin')).length, 1, JSON.stringify(la));
    assert.equal(lb.filter((m) => m.files.includes('failover.bin')).length, 1, JSON.stringify(lb));
    assert.equal(la.length, 2, JSON.stringify(la));
    assert.equal(lb.length, 2, JSON.stringify(lb));
    assert.equal(await b.$$eval('.fc-theirs.fc-failed', (els) => els.length), 0, 'B shows a failed copy of the message');
  } finally {
    await front.stop();
    await cluster.stop();
  }
});
