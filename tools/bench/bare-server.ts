/**
 * The benchmark's baseline: a bare fastify server with the same framework and runtime as zgate
 * but no coordination work behind its routes, run as its own process by `npm run bench`.
 *
 *   node dist-tools/tools/bench/bare-server.js <port> [host]
 *
 * Routes: GET /healthz and GET /bare answer a small JSON object; PUT /bare takes any body (as
 * bytes, whatever its Content-Type, as zgate takes znode data) and answers a small JSON object.
 * Stops on SIGTERM / SIGINT. Listens on loopback only by default.
 */
import Fastify from 'fastify';

const BARE_PATH = '/bare';

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  const host = process.argv[3] ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error('usage: node dist-tools/tools/bench/bare-server.js <port> [host]');
    process.exit(2);
  }
  const app = Fastify({ logger: false, bodyLimit: 1_048_576 });
  // Any body as raw bytes, like zgate's znode routes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get(BARE_PATH, async () => ({ path: BARE_PATH, ok: true }));
  app.put(BARE_PATH, async (req) => {
    const body = req.body;
    return { path: BARE_PATH, ok: true, length: Buffer.isBuffer(body) ? body.length : 0 };
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void app.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await app.listen({ host, port });
}

main().catch((e: unknown) => {
  console.error(`bare-server: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
