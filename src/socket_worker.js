// framechat's socket worker: owns the room's WebSocket, so that frames keep moving while the
// page's main thread renders. Chromium moves a WebSocket's data through the thread that owns
// it: on the main thread, every render paused the transfer for its length (src/net.rs says
// more). src/net.rs starts this from a Blob URL and speaks this protocol with it:
//
//   page -> worker  {op: "open", url}
//                   {op: "send", data: ArrayBuffer (transferred) | Blob, n: its length,
//                    id: the message's id as in frame headers}
//                   {op: "read", id, file: File}   read a picked file whole, off the page's thread
//                   {op: "close"}
//   worker -> page  {ev: "open"}
//                   {ev: "message", data: ArrayBuffer (transferred)}   binary messages only,
//                        but not the relay's echo of the page's own chunks (below)
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
/** Ids of the page's own messages remembered, newest kept. */
const OWN_IDS = 1000;

// Relays send every frame to everyone in the room, the sender included: a page sending a
// 50 MB file got 50 MB back, which piled up in its heap faster than it was collected. The
// page needs only the last chunk of an own message (it proves delivery) and its `msg` frame;
// other chunks of own messages stop here. PROTOCOL.md has the frame layout: 0xFC, the JSON
// header's length (u16, big-endian), the JSON header.
const own = new Set();
const utf8 = new TextDecoder();

function ownChunk(buf) {
  if (own.size === 0 || buf.byteLength < 3) return false;
  const head = new Uint8Array(buf, 0, 3);
  const len = (head[1] << 8) | head[2];
  if (head[0] !== 0xfc || 3 + len > buf.byteLength) return false;
  let h;
  try {
    h = JSON.parse(utf8.decode(new Uint8Array(buf, 3, len)));
  } catch (_) {
    return false;
  }
  return h !== null && h.kind === "chunk" && h.last !== true && own.has(h.id);
}

function remember(id) {
  if (typeof id !== "string" || own.has(id)) return;
  own.add(id);
  if (own.size > OWN_IDS) own.delete(own.values().next().value);
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
    if (e.data instanceof ArrayBuffer && !ownChunk(e.data)) {
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
    remember(m.id);
    // A socket that is not open throws; its close event follows, and the page re-sends what
    // was not confirmed.
    try {
      ws.send(m.data);
      handed += m.n;
    } catch (_) {
      return;
    }
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
