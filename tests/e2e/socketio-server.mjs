// A Socket.IO server with default options, as a site would run one for framechat (the README
// shows the same few lines): each client joins the room named in its handshake query, and
// every `frame` event is re-emitted to the others in that room. Run as its own process
// (`node socketio-server.mjs PORT`), so that a test can kill it mid-transfer like a crash.
import http from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2]);
const httpServer = http.createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404).end();
});
const io = new Server(httpServer);

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? 'lobby');
  socket.join(room);
  socket.on('frame', (frame) => socket.to(room).emit('frame', frame));
});

httpServer.listen(port, '127.0.0.1', () => console.error(`socket.io on 127.0.0.1:${port}`));
