// End-to-end: the client mounted into a host page with hostile styles (see harness.mjs).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Session, uniqueRoom } from './harness.mjs';

const server = new Server();
let s;
before(async () => { await server.start(); s = await new Session(server).launch(); });
afterEach(() => s.closeContexts());
after(async () => { await s?.close(); await server.stop(); });

test('embedded with mount(): host styles do not get in, ours do not get out; unmount cleans up', { timeout: 60_000 }, async () => {
  const ctx = await s.newContext({ viewport: { width: 900, height: 700 } });
  const page = await ctx.newPage();
  page.on('console', (m) => console.error('[host] console:', m.text()));
  const room = uniqueRoom('embed');
  const base = server.base;
  await page.route(`${base}/host.html`, (route) => route.fulfill({
    contentType: 'text/html',
    body: `<!doctype html><html><head>
      <link rel="stylesheet" href="/style.css">
      <style>
        body { font: 20px Georgia, serif; color: #333; }
        button { background: hotpink; padding: 30px; border-radius: 0; }
        div { margin: 13px; }
        textarea { font-size: 40px; }
        li { list-style: square; }
        h1 { font-size: 60px; color: red; }
      </style></head>
      <body><h1 id="title">Host page</h1><button id="hostbtn">host button</button>
      <div id="chat" style="height: 500px"></div>
      <script type="module">
        import init, { mount } from '/framechat.js';
        await init();
        window.chat = mount(document.getElementById('chat'), { room: '${room}', name: 'Host', maxFileSize: 5000000 });
      </script></body></html>`,
  }));
  await page.goto(`${base}/host.html`);
  await page.waitForSelector('#chat .framechat .fc-badge-online', { timeout: 20_000 });
  const inside = await page.evaluate(() => {
    const cs = (sel, prop) => getComputedStyle(document.querySelector(sel))[prop];
    return {
      send: cs('#chat .fc-send', 'backgroundColor'),
      sendPad: cs('#chat .fc-send', 'paddingTop'),
      textarea: cs('#chat textarea', 'fontSize'),
      room: cs('#chat .fc-room-name', 'fontSize'),
      font: cs('#chat .framechat', 'fontFamily'),
      header: cs('#chat .fc-header', 'marginTop'),
    };
  });
  assert.notEqual(inside.send, 'rgb(255, 105, 180)', 'host button style leaked in');
  assert.equal(inside.sendPad, '0px');
  assert.equal(inside.textarea, '15px');
  assert.equal(inside.room, '18px');
  assert.doesNotMatch(inside.font, /Georgia/);
  assert.equal(inside.header, '0px');
  const outside = await page.evaluate(() => ({
    btn: getComputedStyle(document.getElementById('hostbtn')).backgroundColor,
    h1: getComputedStyle(document.getElementById('title')).fontSize,
  }));
  assert.deepEqual(outside, { btn: 'rgb(255, 105, 180)', h1: '60px' }, 'our styles leaked out');

  await page.fill('#chat textarea', 'hello from the host page');
  await page.press('#chat textarea', 'Enter');
  await page.waitForSelector('#chat .fc-mine .fc-status:text-is("sent")', { timeout: 10_000 });
  await page.evaluate(() => window.chat.unmount());
  assert.equal(await page.evaluate(() => document.getElementById('chat').children.length), 0);
});
