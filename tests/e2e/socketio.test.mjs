// End-to-end through a real Socket.IO server (npm `socket.io`, default options, in its own
// process: socketio-server.mjs): pages speak Engine.IO/Socket.IO themselves
// (`?transport=socketio`), and a host page wires framechat to its own socket.io-client
// (`mount(el, { transport })`). See harness.mjs for the environment.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Server, Session, cutDuringBigFile, freePort, holdAfter20Frames, leakedTags, messages, pageSha256, say,
  randomFile, sharePhoto, uniqueRoom, waitHttp, waitText,
} from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The Socket.IO server, restartable on the same port (SIGKILL: a crash, no goodbye). */
class SocketIoServer {
  async start() {
    this.port ??= await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    const child = spawn(process.execPath, [path.join(here, 'socketio-server.mjs'), String(this.port)],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise((r) => child.once('exit', r));
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    this.stopFn = async () => { process.off('exit', reap); child.kill('SIGKILL'); await exited; };
    await waitHttp(`${this.base}/healthz`, 20_000);
  }

  async stop() {
    const f = this.stopFn;
    this.stopFn = null;
    if (f) await f();
  }
}

const web = new Server();
const sio = new SocketIoServer();
let s;
before(async () => {
  await web.start();
  await sio.start();
  s = await new Session(web).launch();
});
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await sio.stop(); await web.stop(); });

const open = (room, name, init) => s.openChat(room, name, { init, query: `&transport=socketio&ws=${encodeURIComponent(sio.base)}` });

test('through Socket.IO: a 12 MP photo arrives upright and clean, shown once on the sender; text typed during a 50 MB transfer; the file identical',
  { timeout: 240_000 }, async () => {
  const room = uniqueRoom('sio');
  const a = await open(room, 'Ann');
  const b = await open(room, 'Bob');
  await say(a, 'hello over socket.io');
  await waitText(b, 'hello over socket.io');

  const meta = await sharePhoto(a, b, s);
  assert.deepEqual(leakedTags(meta), [], 'metadata left');
  await a.waitForSelector('.fc-mine img', { timeout: 20_000 });
  assert.equal((await messages(a)).filter((m) => m.files.includes('photo.jpg')).length, 1, 'shown once on the sender');

  const big = s.file('dataset.bin');
  const sha = randomFile(big, 50 * 1024 * 1024);
  await a.setInputFiles('.fc-composer input[type=file]', big);
  await a.waitForSelector('.fc-pending .fc-note:text-is("sent as a file")', { timeout: 20_000 });
  await a.click('.fc-send');
  await b.waitForSelector('.fc-theirs.fc-busy', { timeout: 20_000 });
  await say(a, 'typed during the transfer');
  await waitText(b, 'typed during the transfer', { timeout: 30_000 });
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="dataset.bin"]', { timeout: 120_000 });
  assert.equal(await pageSha256(b, await link.getAttribute('href')), sha, 'the bytes B got are the bytes A sent');
  const lb = await messages(b);
  assert.equal(lb.filter((m) => m.files.includes('dataset.bin')).length, 1);
  assert.equal(lb.filter((m) => m.text === 'typed during the transfer').length, 1);
});

test('through Socket.IO: the server restarted mid-transfer, the file arrives once',
  { timeout: 180_000 }, async () => {
  const room = uniqueRoom('siorestart');
  const a = await open(room, 'Ann', holdAfter20Frames);
  const b = await open(room, 'Bob');
  const sha = await cutDuringBigFile(a, b, s, () => sio.stop(), { timeout: 60_000 });
  await sio.start();
  const link = await b.waitForSelector('.fc-theirs a.fc-file-link[download="archive.bin"]', { timeout: 90_000 });
  assert.equal(await pageSha256(b, await link.getAttribute('href')), sha);
  await a.waitForSelector('.fc-mine .fc-status:text-is("sent")', { timeout: 30_000 });
  assert.equal((await messages(a)).filter((m) => m.files.includes('archive.bin')).length, 1);
  assert.equal((await messages(b)).filter((m) => m.files.includes('archive.bin')).length, 1);
  assert.equal(await b.$$eval('.fc-theirs.fc-failed', (els) => els.length), 0);
});

test('a host page wires framechat to its own socket.io-client (transport option)', { timeout: 90_000 }, async () => {
  const room = uniqueRoom('host');
  const client = fs.readFileSync(path.join(here, 'node_modules/socket.io-client/dist/socket.io.min.js'), 'utf8');
  const hostPage = async (name) => {
    const ctx = await s.newContext();
    const page = await ctx.newPage();
    await page.route(`${web.base}/socket.io.min.js`, (route) => route.fulfill({ contentType: 'text/javascript', body: client }));
    await page.route(`${web.base}/host.html`, (route) => route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><html><head><link rel="stylesheet" href="/style.css"></head><body>
        <div id="chat" style="height: 600px"></div>
        <script src="/socket.io.min.js"></script>
        <script type="module">
          import init, { mount } from '/framechat.js';
          await init();
          // The site's own connection (its auth, its socket), with framechat riding on it.
          const socket = io('${sio.base}', { query: { room: '${room}' }, transports: ['websocket'] });
          const chat = mount(document.getElementById('chat'), {
            room: '${room}', name: '${name}',
            transport: {
              send: (frame) => socket.emit('frame', frame),
              bufferedAmount: () => socket.io.engine?.transport?.ws?.bufferedAmount ?? 0,
            },
          });
          socket.on('frame', (data) => chat.receive(data));
          socket.on('connect', () => chat.online());
          socket.on('disconnect', () => chat.offline());
          window.chat = chat;
        </script></body></html>`,
    }));
    await page.goto(`${web.base}/host.html`);
    await page.waitForSelector('#chat .fc-badge-online', { timeout: 20_000 });
    return page;
  };
  const a = await hostPage('Ann');
  const b = await hostPage('Bob');
  await say(a, 'from the host socket');
  await waitText(b, 'from the host socket');
  assert.deepEqual(leakedTags(await sharePhoto(a, b, s, 'host-photo.jpg')), [], 'metadata left');
  await a.waitForSelector('.fc-mine .fc-status:text-is("sent")', { timeout: 20_000 });
  assert.equal((await messages(a)).length, 2);
  assert.equal((await messages(b)).length, 2);

  // The host's connection drops and comes back: framechat shows it, and goes on.
  await sio.stop();
  await a.waitForSelector('#chat .fc-badge-reconnecting, #chat .fc-badge-offline', { timeout: 30_000 });
  await say(a, 'while the host was offline');
  await sio.start();
  await waitText(b, 'while the host was offline', { timeout: 60_000 });
});
