// framechat bench peer page, three roles chosen by ?role=:
// - send:   the latency floor's page A. On the file input's change: read the file, send its raw
//           bytes through the relay in 256 KiB binary messages (the default frame budget, so the
//           message count matches the app's) with no header, no scrub.
// - recv:   the floor's page B. Collects ?size= bytes, makes a Blob URL, loads it into an <img>.
// - script: the memory run's second chat client: sends framechat frames built by the bench
//           WASM (framechat-wire) so that the real app on page B shows them.
// Common: ?ws= the room's WebSocket URL. Times are performance.timeOrigin + now(), comparable
// across pages of one browser.

const params = new URLSearchParams(location.search);
const role = params.get('role');
const wsUrl = params.get('ws');
const CHUNK = 256 * 1024;
const now = () => performance.timeOrigin + performance.now();

window.peer = { role, opened: false, picked: [], loaded: [], received: 0, errors: [] };

/** framechat-relay's control frames (PROTOCOL.md, version byte 0xFE) are not data. */
const isControl = (data) => data instanceof ArrayBuffer && data.byteLength > 0 && new Uint8Array(data)[0] === 0xfe;
const RESUME = (() => {
  const json = new TextEncoder().encode('{"kind":"resume"}');
  return Uint8Array.from([0xfe, 0, json.length, ...json]);
})();

function connect() {
  const ws = new WebSocket(wsUrl);
  ws.binaryType = 'arraybuffer';
  // framechat-relay greets every connection with `hello` and holds live traffic until the
  // client answers (or a second passes): a bare client that knows this answers at once.
  ws.addEventListener('message', (e) => {
    if (isControl(e.data) && new TextDecoder().decode(new Uint8Array(e.data, 3)).includes('"hello"')) ws.send(RESUME);
  });
  ws.onopen = () => { window.peer.opened = true; };
  ws.onerror = () => window.peer.errors.push('websocket error');
  ws.onclose = (e) => { if (e.code !== 1000) window.peer.errors.push(`closed ${e.code}`); };
  return ws;
}

/** Resolves when the socket's buffer is below `low` bytes (backpressure, like the app). */
async function drained(ws, low) {
  while (ws.bufferedAmount > low) await new Promise((r) => setTimeout(r, 1));
}

if (role === 'send') {
  const ws = connect();
  document.getElementById('file').addEventListener('change', async (e) => {
    window.peer.picked.push(now());
    const file = e.target.files[0];
    const bytes = new Uint8Array(await file.arrayBuffer());
    // All at once: the browser buffers it; a floor has no pacing of its own.
    for (let off = 0; off < bytes.length; off += CHUNK) {
      ws.send(bytes.subarray(off, Math.min(bytes.length, off + CHUNK)));
    }
  });
} else if (role === 'recv') {
  const ws = connect();
  const size = Number(params.get('size'));
  let parts = [];
  let got = 0;
  ws.onmessage = (e) => {
    if (!(e.data instanceof ArrayBuffer) || isControl(e.data)) return;
    parts.push(e.data);
    got += e.data.byteLength;
    if (got < size) return;
    const url = URL.createObjectURL(new Blob(parts, { type: 'image/jpeg' }));
    parts = [];
    got = 0;
    const img = new Image();
    img.onload = () => {
      if (img.complete && img.naturalWidth > 0) {
        window.peer.loaded.push({ t: now(), w: img.naturalWidth, h: img.naturalHeight });
      }
    };
    img.onerror = () => window.peer.errors.push('image failed to load');
    img.src = url;
    img.style.maxWidth = '280px';
    document.getElementById('out').append(img);
  };
} else if (role === 'script') {
  const ws = connect();
  const wasmReady = import('./pkg/framechat_bench_wasm.js').then(async (m) => {
    await m.default();
    return m;
  });
  let picture = null;
  let seq = 0;
  /** Sends `n` messages of the picture at `url`, each as the frames a client would write. */
  window.peer.send = async (url, n, name = 'script') => {
    const wasm = await wasmReady;
    if (!picture) picture = new Uint8Array(await (await fetch(url)).arrayBuffer());
    for (let k = 0; k < n; k++) {
      seq += 1;
      const frames = wasm.message_frames(picture, `pic-${seq}.jpg`, name, seq, Date.now());
      for (const f of frames) ws.send(f);
      await drained(ws, 1 << 20);
    }
    return seq;
  };
}
