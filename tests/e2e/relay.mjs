// Fallback relay for the end-to-end tests and manual runs when the Rust relay binary is not
// given: serves a static dist/ folder and relays every WebSocket message of /ws/chat/<room>/
// to every client of that room, sender included, and replays a room's recent messages to a
// client that joins (like framechat-relay's history; without its other limits).
//
//   node relay.mjs [port] [dist]      (port 0 picks a free one; prints "listening on <port>")
//
// `record(room, data, isBinary)`, when given, sees every message the relay passes on.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { WebSocketServer } from 'ws';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

const HISTORY_MESSAGES = 200;
const HISTORY_BYTES = 8 << 20;

export function startRelay({ port = 0, dist = null, record = null } = {}) {
  const rooms = new Map();
  const histories = new Map();
  const server = http.createServer((req, res) => {
    if (!dist) { res.writeHead(404).end(); return; }
    const url = new URL(req.url, 'http://x');
    let file = path.join(dist, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
    if (file.endsWith(path.sep) || !path.extname(file)) file = path.join(dist, 'index.html');
    fs.readFile(file, (err, data) => {
      if (err) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(data);
    });
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 << 20 });
  server.on('upgrade', (req, socket, head) => {
    const m = /^\/ws\/chat\/([^/]+)\/?$/.exec(new URL(req.url, 'http://x').pathname);
    if (!m) { socket.destroy(); return; }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const room = m[1];
      if (!rooms.has(room)) rooms.set(room, new Set());
      const peers = rooms.get(room);
      if (!histories.has(room)) histories.set(room, { items: [], bytes: 0 });
      const history = histories.get(room);
      for (const [data, isBinary] of history.items) ws.send(data, { binary: isBinary });
      peers.add(ws);
      ws.on('message', (data, isBinary) => {
        record?.(room, data, isBinary);
        history.items.push([data, isBinary]);
        history.bytes += data.length;
        while (history.items.length > HISTORY_MESSAGES || history.bytes > HISTORY_BYTES) {
          history.bytes -= history.items.shift()[0].length;
        }
        for (const p of peers) if (p.readyState === 1) p.send(data, { binary: isBinary });
      });
      ws.on('close', () => peers.delete(ws));
      // A client's protocol error (e.g. over maxPayload: ws closes it with 1009) is that
      // client's problem; without a listener it would crash the relay.
      ws.on('error', () => {});
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({
    port: server.address().port,
    close: () => new Promise((r) => {
      for (const c of wss.clients) c.terminate();
      server.close(() => r());
      server.closeAllConnections();
    }),
  })));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const relay = await startRelay({ port: Number(process.argv[2] ?? 8080), dist: process.argv[3] ?? null });
  console.log(`listening on ${relay.port}`);
}
