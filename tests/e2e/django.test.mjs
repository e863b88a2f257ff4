// End-to-end through Django Channels as it is deployed: the README's consumer
// (django/chatsite.py), the Redis channel layer (channels_redis, default capacity 100 and
// expiry 60 s) on a real `redis-server`, and two daphne processes with their default limits.
// Page A talks to one daphne, page B to the other. See harness.mjs for the environment;
// FRAMECHAT_PYTHON is a Python with channels, channels-redis and daphne (`cargo xtask setup`
// makes one in target/e2e-python).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Server, Session, freePort, leakedTags, messages, pageSha256, randomFile, say, sharePhoto, uniqueRoom,
  waitText,
} from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.FRAMECHAT_PYTHON ?? path.resolve(here, '../../target/e2e-python/bin/python3');

/** A child process, killed when the test process ends. */
function child(cmd, args, opts = {}) {
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts });
  const exited = new Promise((r) => p.once('exit', r));
  const reap = () => p.kill('SIGKILL');
  process.once('exit', reap);
  return async () => { process.off('exit', reap); p.kill('SIGKILL'); await exited; };
}

function waitPort(port, ms) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => { sock.destroy(); resolve(); });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`127.0.0.1:${port} did not come up within ${ms} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

const web = new Server();
const stops = [];
const daphne = [];
let s;
before(async () => {
  await web.start();
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'framechat-redis-'));
  const redisPort = await freePort();
  stops.push(child('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir,
    '--save', '', '--appendonly', 'no']));
  await waitPort(redisPort, 20_000);
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    stops.push(child(PYTHON, ['-m', 'daphne', '-b', '127.0.0.1', '-p', String(port), 'chatsite:application'], {
      cwd: path.join(here, 'django'),
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${redisPort}/0` },
    }));
    daphne.push(port);
  }
  await Promise.all(daphne.map((p) => waitPort(p, 30_000)));
  s = await new Session(web).launch();
});
afterEach(() => s.closeContexts());
after(async () => {
  await s?.close();
  for (const stop of stops.reverse()) await stop();
  await web.stop();
});

const open = (room, name, port) => s.openChat(room, name,
  { query: `&ws=${encodeURIComponent(`ws://127.0.0.1:${port}/ws/chat/{room}/`)}` });

test('Django Channels on Redis, two daphne processes: a 12 MP photo and a 50 MB file from one to the other',
  { timeout: 240_000 }, async () => {
  const room = uniqueRoom('django');
  const a = await open(room, 'Ann', daphne[0]);
  const b = await open(room, 'Bob', daphne[1]);
  await say(a, 'across two daphnes');
  await waitText(b, 'across two daphnes');

  assert.deepEqual(leakedTags(await sharePhoto(a, b, s)), [], 'metadata left');
  // The consumer echoes to the sender too: shown once.
  await a.waitForSelector('.fc-mine .fc-status:text-is("sent")', { timeout: 20_000 });
  assert.equal((await messages(a)).filter((m) => m.files.includes('photo.jpg')).length, 1);

  // 50 MB as fast as the sender's socket takes it: channels_redis keeps at most 100 messages
  // per channel, but each consumer drains its channel into daphne's write buffer as it comes,
  // so nothing is dropped (README, "Django Channels on Redis").
  const big = s.file('dataset.bin');
  const sha = randomFile(big, 50 * 1024 * 1024);
  await a.setInputFiles('.fc-composer input[type=file]', big);
  await a.waitForSelector('.fc-pending .fc-note:text-is("sent as a file")', { timeout: 20_000 });
  const sentAt = Date.now();
  await a.click('.fc-send');
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="dataset.bin"]', { timeout: 150_000 });
  console.log(`50 MB through two daphnes and Redis in ${Date.now() - sentAt} ms`);
  assert.equal(await pageSha256(b, await link.getAttribute('href')), sha, 'the bytes B got are the bytes A sent');
  assert.equal(await b.$$eval('.fc-theirs.fc-failed', (els) => els.length), 0);
  assert.equal((await messages(b)).filter((m) => m.files.includes('dataset.bin')).length, 1);
});

test('a private room through Django Channels on Redis: the envelopes pass unchanged', { timeout: 120_000 }, async () => {
  const room = uniqueRoom('djprivate');
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64url');
  const fragment = `#k=${key}`;
  const a = await s.openChat(room, 'Ann', { query: `&ws=${encodeURIComponent(`ws://127.0.0.1:${daphne[0]}/ws/chat/{room}/`)}${fragment}` });
  const b = await s.openChat(room, 'Bob', { query: `&ws=${encodeURIComponent(`ws://127.0.0.1:${daphne[1]}/ws/chat/{room}/`)}${fragment}` });
  assert.equal((await a.textContent('.fc-lock')).trim(), 'Private');
  await say(a, 'sealed across two daphnes');
  await waitText(b, 'sealed across two daphnes');
  await sharePhoto(a, b, s, 'sealed.jpg');
  await a.waitForSelector('.fc-mine:last-child .fc-status:text-is("sent")', { timeout: 20_000 });
  assert.equal((await messages(a)).length, 2, 'the consumer echoes; the sender shows each message once');
});
