// framechat's socket worker: owns the room's WebSocket, so that frames keep moving while the
// page's main thread renders. Chromium moves a WebSocket's data through the thread that owns
// it: on the main thread, every render paused the transfer for its length (src/net/worker.rs
// says more). src/net/worker.rs starts this from a Blob URL and speaks this protocol with it:
//
//   page -> worker  {op: "open", url, key?: CryptoKey, room?: string}
//                        key, room: a private room's frame key and name (PROTOCOL.md,
//                        "Private rooms: version 0xFD"): this worker then seals the frames it
//                        is given so (below); the page opens what arrives
//                   {op: "send", data: ArrayBuffer (transferred) | Blob, n: its length,
//                    echo?: Uint8Array}   echo: the frame's header bytes, when the relay's
//                                         echo of this frame is not needed by the page
//                   {op: "send", data, n, seal: Uint8Array}
//                        a private room's v1 frame, to seal here under a fresh nonce; seal:
//                        the frame's flags (1 byte), message tag (16) and index (4, big-
//                        endian), as in the additional data; n: the envelope's length
//                   {op: "send", n, seal}   without data: the envelope of a frame given to
//                                           "keep", sealed already
//                   {op: "keep", frames: [ArrayBuffer (transferred) | Blob], seals: [seal]}
//                        a private room's own message, every frame of it to seal now, once:
//                        sent as "send" says, and kept by the page (below)
//                   {op: "read", id, file: File}   read a picked file whole, off the page's thread
//                   {op: "close"}
//   worker -> page  {ev: "open"}
//                   {ev: "message", data: ArrayBuffer (transferred)}   binary messages only,
//                        but not the echoes the page said it does not need (below)
//                   {ev: "buffered", handed, buffered}   bytes handed to the socket so far,
//                                                        and its bufferedAmount
//                   {ev: "kept", tag: Uint8Array, blob: Blob}   a "keep" message's envelopes,
//                        each after its length (u32, little-endian), for the page's store
//                   {ev: "echo", tag: Uint8Array}   the relay echoed the frame that ends an own
//                        sealed message (dropped, not opened): the message's 16-byte tag
//                   {ev: "read", id, data: ArrayBuffer (transferred)} or {ev: "read", id, error}
//                   {ev: "notice", message}               a frame could not be sealed: the
//                                                         socket closes, the page re-sends
//                   {ev: "close"}                         the worker then ends
//                   {ev: "fail", message}                 the socket could not be created
//
// A private room's frames leave in the order they were posted, however long each seal takes;
// frames that need no seal leave at once. Comment lines, blank lines and indentation are
// stripped from this file when it is built into the client (src/net/worker.rs).
"use strict";

// How often bufferedAmount is looked at while it is not zero (ms).
const POLL_MS = 2;
// A socket asked to close that has not closed by then is dropped (ms).
const CLOSE_GRACE_MS = 5000;
// Echoes waited for at most (a relay that does not echo leaves them all waiting).
const ECHOES = 2048;

// Relays send every frame to everyone in the room, the sender included: a page sending a
// 50 MB file got 50 MB back, which piled up in its heap faster than it was collected. The
// page needs only the echo that proves delivery (the frame that ends a message). For every
// other frame of its own, it hands over the frame's header bytes with the frame, and an
// incoming message that begins with exactly those bytes stops here. This script knows
// nothing of the frame layout: the page (src/net/frames.rs) is the one frame parser.
// Header bytes as a binary string -> how many such frames were sent; header length -> how
// many entries of `echoes` have it.
const echoes = new Map();
const lengths = new Map();

const why = (e) => String((e && e.message) || e);
const key = (bytes) => String.fromCharCode.apply(null, bytes);

function expectEcho(head) {
  const k = key(head);
  echoes.set(k, (echoes.get(k) || 0) + 1);
  lengths.set(head.length, (lengths.get(head.length) || 0) + 1);
  if (echoes.size > ECHOES) forget(echoes.keys().next().value);
}

// (`k` is one of `echoes`.)
function forget(k) {
  const n = echoes.get(k);
  if (n > 1) echoes.set(k, n - 1);
  else echoes.delete(k);
  const left = lengths.get(k.length) - 1;
  if (left > 0) lengths.set(k.length, left);
  else lengths.delete(k.length);
}

function isExpectedEcho(buf) {
  for (const len of lengths.keys()) {
    if (len > buf.byteLength) continue;
    const k = key(new Uint8Array(buf, 0, len));
    if (echoes.has(k)) {
      forget(k);
      return true;
    }
  }
  return false;
}

// A private room: the frame key, and its frames' additional data: "framechat-e2e-v1", then
// 21 bytes (flags, tag and index, filled in per frame), the room name's length and the name.
let frameKey = null;
let ad = null;

function keyFor(m) {
  const enc = new TextEncoder();
  const room = enc.encode(m.room);
  frameKey = m.key;
  ad = new Uint8Array(39 + room.length);
  ad.set(enc.encode("framechat-e2e-v1"));
  new DataView(ad.buffer).setUint16(37, room.length);
  ad.set(room, 39);
}

// A private room's frame, sealed as PROTOCOL.md says (its flags, tag and index come from the
// page: it counts them): the envelope's bytes.
async function seal(m) {
  const inner = m.data instanceof Blob ? await m.data.arrayBuffer() : m.data;
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const additionalData = ad.slice();
  additionalData.set(m.seal, 16);
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData }, frameKey, inner);
  const env = new Uint8Array(30 + sealed.byteLength);
  env[0] = 0xfd;
  env.set(m.seal.subarray(0, 17), 1);
  env.set(nonce, 18);
  env.set(new Uint8Array(sealed), 30);
  return env;
}

// A private room's frames being sealed: each goes once it and those posted before it are
// sealed. Frames that need no seal (a plain room's, the relay's control answers) go at once,
// as before any private room existed: nothing sealed waits in a plain room, and a control
// answer goes ahead of everything.
const sealing = [];
// Envelopes of "keep" messages by tag and index (as a binary string), until sent.
const kept = new Map();

// WebCrypto seals on the thread that calls it (about 0.3 ms per 256 KiB frame): a frame the
// page sends is sealed then, as any; the others one at a time whenever this thread is free
// (all at once held the first frames back for all of them).
const start = (f) => f.p || (f.p = seal(f));

function keep(m) {
  const tag = m.seals[0].slice(1, 17);
  const frames = m.frames.map((data, i) => ({ data, seal: m.seals[i], p: null }));
  for (const f of frames) kept.set(key(f.seal.subarray(1)), f);
  let next = 0;
  const ahead = () => {
    while (next < frames.length && frames[next].p) next++;
    if (next < frames.length) return start(frames[next]).then(() => setTimeout(ahead), () => {});
    // Each envelope after its length (u32, little-endian), as the store keeps them.
    // (A frame that could not be sealed closes the socket, and the page keeps the message.)
    Promise.all(frames.map((f) => f.p)).then(
      (envs) => postMessage({ ev: "kept", tag, blob: new Blob(envs.flatMap((e) => [new Uint32Array([e.length]), e])) }),
      () => {},
    );
  };
  setTimeout(ahead);
}

function enqueue(m) {
  const job = { m };
  sealing.push(job);
  const k = m.data === undefined ? key(m.seal.subarray(1)) : null;
  const f = kept.get(k);
  kept.delete(k);
  // A frame with data under the tag of a message given to "keep" is its cancel: the rest of
  // it is not sent, and is let go once sealed.
  if (m.data) for (const k of kept.keys()) if (k.startsWith(key(m.seal.subarray(1, 17)))) kept.delete(k);
  const sealed = k === null ? seal(m) : f ? start(f) : Promise.reject(new Error("not kept"));
  sealed.then(
    (env) => {
      job.env = env;
      while (sealing.length > 0 && sealing[0].env) {
        const done = sealing.shift();
        send(done.m, done.env);
      }
    },
    (e) => {
      // A frame that cannot be sealed: none after it may go before it.
      sealing.length = 0;
      postMessage({ ev: "notice", message: "a frame could not be encrypted: " + why(e) });
      if (ws !== null) ws.close();
    },
  );
}

function send(m, data) {
  if (ws === null) return;
  // A socket that is not open throws; its close event follows, and the page re-sends what
  // was not confirmed.
  try {
    ws.send(data);
    handed += m.n;
  } catch (_) {
    sealing.length = 0;
    return;
  }
  // The relay's echo of an own sealed frame is not opened (its index would not follow on):
  // all of them are dropped, the one that ends a message reported by its tag (below).
  if (m.seal) expectEcho(data.subarray(0, 30));
  else if (m.echo instanceof Uint8Array) expectEcho(m.echo);
  report();
}

let ws = null;
let handed = 0;
let reported = { handed: -1, buffered: -1 };
let polling = false;

function report() {
  const buffered = ws ? ws.bufferedAmount : 0;
  if (buffered !== reported.buffered || handed !== reported.handed) {
    reported = { handed, buffered };
    postMessage({ ev: "buffered", handed, buffered });
  }
  if (buffered > 0 && !polling) {
    polling = true;
    setTimeout(() => {
      polling = false;
      report();
    }, POLL_MS);
  }
}

function connect(url) {
  try {
    ws = new WebSocket(url);
  } catch (e) {
    postMessage({ ev: "fail", message: why(e) });
    close();
    return;
  }
  ws.binaryType = "arraybuffer";
  ws.onopen = () => postMessage({ ev: "open" });
  ws.onmessage = (e) => {
    // Text messages are not part of the protocol (PROTOCOL.md): not even passed on.
    const buf = e.data;
    if (!(buf instanceof ArrayBuffer)) return;
    if (!isExpectedEcho(buf)) postMessage({ ev: "message", data: buf }, [buf]);
    // The echo of an own sealed frame that ends its message proves the relay has the
    // message, for servers that send no positions (a Django consumer): its tag goes to the
    // page, which knows the message by it.
    else if (new Uint8Array(buf, 0, 1)[0] === 0xfd && new Uint8Array(buf, 1, 1)[0] & 2) {
      postMessage({ ev: "echo", tag: new Uint8Array(buf.slice(2, 18)) });
    }
  };
  ws.onclose = () => {
    postMessage({ ev: "close" });
    close();
  };
}

onmessage = (e) => {
  const m = e.data;
  if (m.op === "open" && ws === null) {
    if (m.key) keyFor(m);
    connect(m.url);
  } else if (m.op === "send" && ws !== null) {
    if (m.seal) enqueue(m);
    else send(m, m.data);
  } else if (m.op === "keep") {
    keep(m);
  } else if (m.op === "read") {
    // A Blob's bytes reach the thread that reads them in pieces, each a task of that thread:
    // here they do not wait for the page's renders.
    m.file.arrayBuffer().then(
      (data) => postMessage({ ev: "read", id: m.id, data }, [data]),
      (e) => postMessage({ ev: "read", id: m.id, error: why(e) }),
    );
  } else if (m.op === "close") {
    if (ws !== null) ws.close();
    setTimeout(close, CLOSE_GRACE_MS);
  }
};
