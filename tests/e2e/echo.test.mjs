// End-to-end against relay.mjs, a plain Node `ws` relay like a Node site's server: it echoes
// every frame to the sender too and replays history. The sender still shows each message once.
// (The Rust relay echoes as well; every other test file checks the same against it.)
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  EXTERNAL, FIXTURES, Server, Session, attach, checkReceivedImage, messages, pageSha256, randomFile, say, uniqueRoom, waitText, watchBoxes,
} from './harness.mjs';

const server = new Server('node');
let s;
before(async () => { if (!EXTERNAL) { await server.start(); s = await new Session(server).launch(); } });
afterEach(() => s?.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

test('through an echoing Node relay: text, a picture and a 6 MB file show once on the sender and once on the receiver',
  { timeout: 90_000, skip: EXTERNAL ? 'uses its own relay' : false }, async () => {
  const room = uniqueRoom('echo');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  await watchBoxes(b);
  await say(a, 'hello through node');
  await attach(a, [path.join(FIXTURES, 'webp_anim.webp')]);
  await a.click('.fc-send');
  const file = s.file('backup.tar');
  const sha = randomFile(file, 6 * 1024 * 1024);
  await attach(a, [file]);
  await a.fill('.fc-composer textarea', 'the backup');
  await a.click('.fc-send');
  await say(a, 'typed while the backup goes');

  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="backup.tar"]', { timeout: 30_000 });
  assert.equal(await pageSha256(b, await link.getAttribute('href')), sha);
  await waitText(b, 'typed while the backup goes');
  await checkReceivedImage(b, 'webp_anim.webp', { ratio: 64 / 48 });
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].filter((e) => e.textContent === 'sent').length === 4,
    null, { timeout: 30_000 });
  const la = await messages(a);
  const lb = await messages(b);
  assert.equal(la.length, 4, `the sender shows ${la.length} messages: ${JSON.stringify(la)}`);
  assert.ok(la.every((m) => m.mine));
  assert.deepEqual(new Set(la.map((m) => m.text)).size, 4);
  assert.equal(lb.length, 4, JSON.stringify(lb));
  assert.deepEqual(lb.map((m) => m.text).sort(), la.map((m) => m.text).sort());
  assert.ok(lb.every((m) => !m.mine && m.from === 'Ann'));
});
