// Baseline relay for framechat-relay's load comparison: rooms by path
// (/ws/chat/<room>/), every message broadcast to every client of the room,
// sender included, written the way a Node site would (npm `ws`, no extras).
//
// Usage: node server.js [port]   (or PORT=8081 node server.js); binds 127.0.0.1.
'use strict';

const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2] || process.env.PORT || 8081);
const rooms = new Map(); // room name -> Set of sockets

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
  res.end(req.url === '/healthz' ? 'ok\n' : 'not found\n');
});

// 1 MiB like the Rust relay's default; per-message deflate is off by default.
const wss = new WebSocketServer({ server, maxPayload: 1024 * 1024 });

wss.on('connection', (ws, req) => {
  const match = /^\/ws\/chat\/([A-Za-z0-9._-]{1,64})\/?$/.exec(req.url || '');
  if (!match) {
    ws.close(1008, 'bad room');
    return;
  }
  const name = match[1];
  let room = rooms.get(name);
  if (!room) {
    room = new Set();
    rooms.set(name, room);
  }
  room.add(ws);

  ws.on('message', (data, isBinary) => {
    for (const client of room) {
      if (client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    }
  });

  ws.on('close', () => {
    room.delete(ws);
    if (room.size === 0 && rooms.get(name) === room) {
      rooms.delete(name);
    }
  });

  ws.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => {
  console.log(`node ws relay on ws://127.0.0.1:${port}/ws/chat/<room>/ (pid ${process.pid})`);
});

function shutdown() {
  for (const ws of wss.clients) ws.close(1001, 'going away');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
