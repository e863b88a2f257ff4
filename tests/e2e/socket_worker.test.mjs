// The socket worker's script (src/net/socket_worker.js) on its own, in Node: its globals
// (postMessage, WebSocket, close) stubbed, WebCrypto Node's own. What a page cannot see from
// outside the worker: what it still holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const SOURCE = readFileSync(new URL('../../src/net/socket_worker.js', import.meta.url), 'utf8');

/** The script run once, with a socket that takes everything: its handler, what it posted, what
 * its socket sent, and (read from inside) the envelopes it holds for "keep" messages. */
function worker() {
  const posted = [];
  const sent = [];
  class Socket {
    constructor() {
      this.bufferedAmount = 0;
      setTimeout(() => this.onopen());
    }
    send(data) { sent.push(data); }
    close() {}
  }
  // `onmessage` as a parameter: the script assigns it, as a worker's global.
  const run = new Function('postMessage', 'WebSocket', 'close', 'onmessage',
    `${SOURCE}\nreturn { onmessage, kept };`);
  const { onmessage, kept } = run((m) => posted.push(m), Socket, () => {}, null);
  return { send: (data) => onmessage({ data }), posted, sent, kept };
}

/** Where a frame goes: flags, the message's tag, its index (big-endian). */
function seal(flags, tag, index) {
  const at = new Uint8Array(21);
  at[0] = flags;
  at.set(tag, 1);
  new DataView(at.buffer).setUint32(17, index);
  return at;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

test('a cancelled message given to "keep" is let go: its frames not sent are no longer held', async () => {
  const w = worker();
  const key = await crypto.subtle.importKey('raw', new Uint8Array(32), 'AES-GCM', false, ['encrypt']);
  w.send({ op: 'open', url: 'ws://127.0.0.1:9/', key, room: 'room' });
  await settle();
  const tag = crypto.getRandomValues(new Uint8Array(16));
  const seals = [seal(1, tag, 0), seal(0, tag, 1), seal(0, tag, 2), seal(2, tag, 3)];
  w.send({ op: 'keep', frames: seals.map(() => new ArrayBuffer(1000)), seals });
  w.send({ op: 'send', n: 1046, seal: seals[0] });
  await settle();
  assert.equal(w.sent.length, 1, 'the first frame went');
  assert.equal(w.kept.size, 3, 'the three others are held until sent');

  // The cancel: a frame with data, under the message's tag, at the next index.
  w.send({ op: 'send', data: new ArrayBuffer(60), n: 106, seal: seal(2, tag, 1) });
  await settle();
  assert.equal(w.sent.length, 2, 'the cancel went');
  assert.equal(w.kept.size, 0, 'nothing of the message is held any more');
  assert.ok(!w.posted.some((m) => m.ev === 'notice'), JSON.stringify(w.posted));
});

test('a message given to "keep" and sent whole is kept as one Blob of its envelopes, and let go', async () => {
  const w = worker();
  const key = await crypto.subtle.importKey('raw', new Uint8Array(32), 'AES-GCM', false, ['encrypt']);
  w.send({ op: 'open', url: 'ws://127.0.0.1:9/', key, room: 'room' });
  await settle();
  const tag = crypto.getRandomValues(new Uint8Array(16));
  const seals = [seal(1, tag, 0), seal(2, tag, 1)];
  w.send({ op: 'keep', frames: [new ArrayBuffer(100), new ArrayBuffer(200)], seals });
  for (const [i, n] of [[0, 146], [1, 246]]) w.send({ op: 'send', n, seal: seals[i] });
  await settle();
  assert.deepEqual(w.sent.map((e) => e.byteLength), [146, 246]);
  assert.equal(w.kept.size, 0);
  const kept = w.posted.find((m) => m.ev === 'kept');
  assert.deepEqual([...kept.tag], [...tag]);
  // Each envelope after its length (u32, little-endian): what the socket sent, byte for byte.
  const bytes = new Uint8Array(await kept.blob.arrayBuffer());
  const view = new DataView(bytes.buffer);
  assert.equal(view.getUint32(0, true), 146);
  assert.deepEqual(bytes.subarray(4, 150), w.sent[0]);
  assert.equal(view.getUint32(150, true), 246);
  assert.deepEqual(bytes.subarray(154), w.sent[1]);
});
