/**
 * The WebSocket fan-out benchmark's baseline: a bare `ws` broadcast server, the same library and
 * socket options as zgate's /v1/ws (no per-message deflate) but nothing behind it, run as its own
 * process by `npm run bench -- --only ws`.
 *
 *   node dist-tools/tools/bench/bare-ws-server.js <port> [host]
 *
 * - WebSocket on /v1/ws: any text frame with an "id" is answered {"id":..,"type":"watching"}, so
 *   the benchmark's clients speak to it exactly as to zgate;
 * - PUT /bare (any body): one event frame of the shape and size of zgate's NodeDataChanged event,
 *   encoded once and sent to every open socket, then 200 (as zgate answers a write once its
 *   watchers' frames are queued);
 * - GET /healthz: 200.
 *
 * Plain node:http rather than fastify: the baseline is the broadcast loop and nothing else.
 * Stops on SIGTERM / SIGINT. Listens on loopback only by default.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const WS_PATH = '/v1/ws';

function main(): void {
  const port = Number(process.argv[2]);
  const host = process.argv[3] ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error('usage: node dist-tools/tools/bench/bare-ws-server.js <port> [host]');
    process.exit(2);
  }
  const sockets = new Set<WebSocket>();
  let seq = 1000;

  const server = createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (req.method === 'PUT' && url === '/bare') {
      req.resume();
      req.on('end', () => {
        seq++;
        // zgate's event for a set of /bench/ws (watch id "1", its zxid): same fields, same length class.
        const frame = Buffer.from(`{"type":"event","watchId":"1","event":"NodeDataChanged","path":"/bench/ws","zxid":"${seq}"}`, 'utf8');
        let n = 0;
        for (const ws of sockets) {
          if (ws.readyState !== 1) continue;
          ws.send(frame, { binary: false });
          n++;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"sent":${n},"zxid":"${seq}"}`);
      });
      return;
    }
    res.writeHead(404).end();
  });

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== WS_PATH) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('message', (data) => {
        // Only the request's id matters: the benchmark sends one watch per socket.
        const m = /"id":\s*(\d+)/.exec(data.toString());
        if (m !== null) ws.send(`{"id":${m[1]},"type":"watching","watchId":"1","zxid":"${seq}","state":null}`);
      });
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
    });
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const ws of sockets) ws.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  server.listen({ host, port });
}

main();
