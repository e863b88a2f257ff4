// framechat's socket worker: owns the room's WebSocket, so that frames keep moving while the
// page's main thread renders. Chromium moves a WebSocket's data through the thread that owns
// it: on the main thread, every render paused the transfer for its length (src/net/worker.rs
// says more). src/net/worker.rs starts this from a Blob URL and speaks this protocol with it:
//
//   page -> worker  {op: "open", url}
//                   {op: "send", data: ArrayBuffer (transferred) | Blob, n: its length,
//                    echo?: Uint8Array}   echo: the frame's header bytes, when the relay's
//                                         echo of this frame is not needed by the page
//                   {op: "read", id, file: File}   read a picked file whole, off the page's thread
//                   {op: "close"}
//   worker -> page  {ev: "open"}
//                   {ev: "message", data: ArrayBuffer (transferred)}   binary messages only,
//                        but not the echoes the page said it does not need (below)
//                   {ev: "buffered", handed, buffered}   bytes handed to the socket so far,
//                                                        and its bufferedAmount
//                   {ev: "read", id, data: ArrayBuffer (transferred)} or {ev: "read", id, error}
//                   {ev: "close"}                         the worker then ends
//                   {ev: "fail", message}                 the socket could not be created
"use strict";

/** How often bufferedAmount is looked at while it is not zero (ms). */
const POLL_MS = 2;
/** A socket asked to close that has not closed by then is dropped (ms). */
const CLOSE_GRACE_MS = 5000;
/** Echoes waited for at most (a relay that does not echo leaves them all waiting). */
const ECHOES = 2048;

// Relays send every frame to everyone in the room, the sender included: a page sending a
// 50 MB file got 50 MB back, which piled up in its heap faster than it was collected. The
// page needs only the echo that proves delivery (the frame that ends a message). For every
// other frame of its own, it hands over the frame's header bytes with the frame, and an
// incoming message that begins with exactly those bytes stops here. This script knows
// nothing of the frame layout: the page (src/net/frames.rs) is the one frame parser.
const echoes = new Map(); // header bytes as a binary string -> how many such frames were sent
const lengths = new Map(); // header length -> how many entries of `echoes` have it

const key = (bytes) => String.fromCharCode.apply(null, bytes);

function expectEcho(head) {
  const k = key(head);
  echoes.set(k, (echoes.get(k) || 0) + 1);
  lengths.set(head.length, (lengths.get(head.length) || 0) + 1);
  if (echoes.size > ECHOES) forget(echoes.keys().next().value);
}

function forget(k) {
  const n = echoes.get(k);
  if (n === undefined) return;
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

function open(url) {
  try {
    ws = new WebSocket(url);
  } catch (e) {
    postMessage({ ev: "fail", message: String(e && e.message ? e.message : e) });
    close();
    return;
  }
  ws.binaryType = "arraybuffer";
  ws.onopen = () => postMessage({ ev: "open" });
  ws.onmessage = (e) => {
    // Text messages are not part of the protocol (PROTOCOL.md): not even passed on.
    if (e.data instanceof ArrayBuffer && !isExpectedEcho(e.data)) {
      postMessage({ ev: "message", data: e.data }, [e.data]);
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
    open(m.url);
  } else if (m.op === "send" && ws !== null) {
    // A socket that is not open throws; its close event follows, and the page re-sends what
    // was not confirmed.
    try {
      ws.send(m.data);
      handed += m.n;
    } catch (_) {
      return;
    }
    if (m.echo instanceof Uint8Array) expectEcho(m.echo);
    report();
  } else if (m.op === "read") {
    // A Blob's bytes reach the thread that reads them in pieces, each a task of that thread:
    // here they do not wait for the page's renders.
    m.file.arrayBuffer().then(
      (data) => postMessage({ ev: "read", id: m.id, data }, [data]),
      (e) => postMessage({ ev: "read", id: m.id, error: String(e && e.message ? e.message : e) }),
    );
  } else if (m.op === "close") {
    if (ws !== null) ws.close();
    setTimeout(close, CLOSE_GRACE_MS);
  }
};
