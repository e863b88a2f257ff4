// End-to-end: a page reloads while another keeps sending. After the reload it shows the
// relay's history replay without duplicates, its own earlier messages as its own (right side,
// "sent"), and the messages sent while it was away. See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { FIXTURES, Server, Session, attach, checkReceivedImage, messages, say, uniqueRoom, waitText } from './harness.mjs';

const server = new Server();
let s;
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

const FLOW = 20;

test('a page that reloads while messages flow shows the history once, its own messages as its own', { timeout: 90_000 }, async () => {
  const room = uniqueRoom('reload');
  const a = await s.openChat(room, 'Ann');
  const b = await s.openChat(room, 'Bob');
  await say(a, 'ann one');
  await say(b, 'bob one');
  await attach(a, [path.join(FIXTURES, 'jpeg_full.jpg')]);
  await a.fill('.fc-composer textarea', 'ann photo');
  await a.click('.fc-send');
  await say(a, 'ann two');
  await waitText(b, 'ann two');
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].filter((e) => e.textContent === 'sent').length === 3,
    null, { timeout: 10_000 });
  const own = (await messages(a)).filter((m) => m.mine);

  // Bob keeps talking, one message every 100 ms, while Ann reloads.
  await b.evaluate((n) => {
    let i = 0;
    window.flow = setInterval(() => {
      i += 1;
      const ta = document.querySelector('.fc-composer textarea');
      ta.value = `flow ${i}`;
      ta.dispatchEvent(new Event('input', { bubbles: true }));
      ta.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
      if (i === n) clearInterval(window.flow);
    }, 100);
  }, FLOW);
  await waitText(a, 'flow 3');
  await a.reload();
  await a.waitForSelector('.fc-badge-online', { timeout: 20_000 });
  await waitText(b, `flow ${FLOW}`, { who: 'mine' });
  await waitText(a, `flow ${FLOW}`);

  const list = await messages(a);
  const expected = [
    { mine: true, text: 'ann one' }, { mine: false, text: 'bob one' }, { mine: true, text: 'ann photo' }, { mine: true, text: 'ann two' },
    ...Array.from({ length: FLOW }, (_, i) => ({ mine: false, text: `flow ${i + 1}` })),
  ];
  assert.deepEqual(list.map(({ mine, text }) => ({ mine, text })), expected, 'history after the reload: every message once, in order');
  // Own messages are shown as own: no author line, same as before the reload, and "sent".
  assert.deepEqual(list.filter((m) => m.mine), own);
  const statuses = await a.$$eval('.fc-mine .fc-status', (els) => els.map((e) => e.textContent));
  assert.deepEqual(statuses, ['sent', 'sent', 'sent']);
  assert.ok(list.filter((m) => !m.mine).every((m) => m.from === 'Bob'));
  // The replayed own photo is shown again from a blob: URL.
  const img = await a.waitForSelector('.fc-mine img[alt="jpeg_full.jpg"]', { timeout: 10_000 });
  assert.match(await img.getAttribute('src'), /^blob:/);
  await a.waitForFunction((el) => el.complete && el.naturalWidth > 0, img, { timeout: 10_000 });

  // Ann goes on after the reload: Bob gets it once, Ann shows it once, as hers.
  await say(a, 'back again');
  await waitText(b, 'back again');
  await a.waitForSelector('.fc-mine:last-child .fc-status:text-is("sent")', { timeout: 10_000 });
  assert.equal((await messages(a)).filter((m) => m.text === 'back again').length, 1);
  const lb = await messages(b);
  assert.equal(lb.length, expected.length + 1, JSON.stringify(lb));
  assert.equal(new Set(lb.map((m) => m.text)).size, lb.length, 'B shows a message twice');
  await checkReceivedImage(b, 'jpeg_full.jpg', { ratio: 48 / 64 });
});

test('a second browser (no shared storage) sees the same history as someone else\'s', { timeout: 60_000 }, async () => {
  const room = uniqueRoom('late');
  const a = await s.openChat(room, 'Ann');
  await say(a, 'first');
  await say(a, 'second');
  await a.waitForFunction(() => [...document.querySelectorAll('.fc-mine .fc-status')].filter((e) => e.textContent === 'sent').length === 2,
    null, { timeout: 10_000 });
  // Same display name, another browser: the name alone does not make a message one's own.
  const c = await s.openChat(room, 'Ann');
  await waitText(c, 'second');
  assert.deepEqual((await messages(c)).map(({ mine, from, text }) => ({ mine, from, text })),
    [{ mine: false, from: 'Ann', text: 'first' }, { mine: false, from: 'Ann', text: 'second' }]);
});
