/**
 * Bounded resources: a reader too slow for its queue is closed with 4008 (WebSocket) or
 * dropped (SSE) and memory stays bounded; 10,000 connect/close cycles leave no watch
 * behind; and a fan-out figure (sockets × one write), printed, not asserted beyond delivery.
 */
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import { metricsText } from '../support/http.js';
import { Client, serve, until, utf8, type Served } from './helpers.js';

describe('slow readers', () => {
  let s: Served;
  const QUEUE = 256 * 1024;
  beforeAll(async () => {
    s = await serve({ config: { heartbeatMs: 0, watchQueueBytes: QUEUE, maxDataBytes: 128 * 1024 } });
    await s.write({ op: 'create', path: '/slow', data: utf8(''), mode: 'persistent' });
  });
  afterAll(async () => s.close());

  test('a WebSocket that does not read is closed with 4008 and its queue stays bounded', async () => {
    const c = await Client.connect(s.wsUrl);
    await c.watch({ path: '/slow', kind: 'persistent', withData: true });
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const payload = utf8('x'.repeat(64 * 1024));
    let writes = 0;
    while (s.hub.subscriberCount > 0 && writes < 3000) {
      await s.write({ op: 'set', path: '/slow', data: payload, version: -1 });
      writes++;
    }
    expect(s.hub.subscriberCount).toBe(0);
    expect(s.hub.registry.size).toBe(0);
    // More writes reach nobody: nothing is queued for the closed socket.
    for (let i = 0; i < 50; i++) await s.write({ op: 'set', path: '/slow', data: payload, version: -1 });
    const metrics = await metricsText(s.base);
    expect(metrics).toMatch(/zgate_watch_slow_reader_closes_total\{transport="ws"\} 1/);
    socket.resume();
    expect(await c.closed).toBe(4008);
    // The reader got at most what the kernel buffers plus the bounded queue held, never every write.
    // and none of the 50 writes after the close.
    const received = c.events().length;
    expect(received).toBeLessThan(writes);
    console.log(`slow reader: closed with 4008 after ${writes} writes of 64 KiB; it then read ${received} events (${((received * 64) / 1024).toFixed(1)} MiB: kernel socket buffers + the ${QUEUE / 1024} KiB queue)`);
  });

  test('an SSE reader that does not read is dropped (its EventSource would reconnect and resume)', async () => {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${s.base}/v1/watch/slow?withData=true`, { headers: { accept: 'text/event-stream' } }, resolve);
      req.on('error', reject);
      req.end();
    });
    res.pause();
    await until(() => s.hub.subscriberCount === 1, 2000, 'SSE registered');
    const payload = utf8('y'.repeat(64 * 1024));
    let writes = 0;
    while (s.hub.subscriberCount > 0 && writes < 3000) {
      await s.write({ op: 'set', path: '/slow', data: payload, version: -1 });
      writes++;
    }
    expect(s.hub.subscriberCount).toBe(0);
    const metrics = await metricsText(s.base);
    expect(metrics).toMatch(/zgate_watch_slow_reader_closes_total\{transport="sse"\} 1/);
    res.destroy();
  });

  test('a client flooding requests without reading replies is closed too', async () => {
    const c = await Client.connect(s.wsUrl);
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // get answers carry 64 KiB each: the replies pile up in the server's queue.
    const frame = JSON.stringify({ id: 1, op: 'get', path: '/slow' });
    for (let i = 0; i < 2000 && c.ws.readyState === WebSocket.OPEN; i++) {
      c.ws.send(frame);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => s.hub.subscriberCount === 0, 5000, 'flooder closed');
    socket.resume();
    expect(await c.closed).toBe(4008);
  });
});

test('10,000 connect/watch/close cycles leave no watch behind', async () => {
  const s = await serve({ config: { heartbeatMs: 0 } });
  try {
    await s.write({ op: 'create', path: '/cyc', data: utf8(''), mode: 'persistent' });
    const started = Date.now();
    let cycles = 0;
    const CONCURRENCY = 16;
    const worker = async () => {
      while (cycles < 10_000) {
        cycles++;
        const ws = new WebSocket(s.wsUrl);
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => {
            ws.send(JSON.stringify({ id: 1, op: 'watch', path: '/cyc', kind: 'persistent' }));
            ws.send(JSON.stringify({ id: 2, op: 'watch', path: '/cyc/x', kind: 'exists' }));
          });
          let replies = 0;
          ws.on('message', () => {
            if (++replies === 2) ws.close();
          });
          ws.once('close', () => resolve());
          ws.once('error', reject);
        });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsed = Date.now() - started;
    await until(() => s.hub.subscriberCount === 0 && s.hub.registry.size === 0, 5000, 'every socket freed');
    const metrics = await metricsText(s.base);
    expect(metrics).toMatch(/zgate_watch_connections\{transport="ws"\} 0/);
    expect(metrics).toMatch(/zgate_watches 0/);
    expect(cycles).toBe(10_000);
    console.log(`${cycles} connect/watch×2/close cycles in ${elapsed} ms (${Math.round((cycles / elapsed) * 1000)}/s): registry back to 0`);
  } finally {
    await s.close();
  }
  // ~12 s on an idle machine (850 cycles/s), longer on a busy one.
}, 120_000);

test('fan-out: one write reaches every watching socket (figures printed)', async () => {
  const s = await serve({ config: { heartbeatMs: 0 } });
  const SOCKETS = 2000;
  const sockets: WebSocket[] = [];
  try {
    await s.write({ op: 'create', path: '/fan', data: utf8(''), mode: 'persistent' });
    let received = 0;
    let expected = 0;
    let done: (() => void) | undefined;
    for (let i = 0; i < SOCKETS; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, SOCKETS - i) }, async () => {
          const ws = new WebSocket(s.wsUrl);
          sockets.push(ws);
          await new Promise<void>((resolve) => {
            ws.once('open', () => ws.send(JSON.stringify({ id: 1, op: 'watch', path: '/fan', kind: 'persistent' })));
            ws.on('message', (d) => {
              const text = d.toString();
              if (text.includes('"watching"')) return resolve();
              if (++received === expected) done?.();
            });
          });
        }),
      );
    }
    expect(s.hub.registry.size).toBe(SOCKETS);
    // The server's share: the hub's synchronous dispatch (match, serialize, queue on every socket),
    // timed between a listener registered before the hub's and one registered after it.
    const dispatchMs: number[] = [];
    s.member.onApply(() => dispatchMs.push(performance.now() - s.appliedAt));
    const rounds = 20;
    const latencies: number[] = [];
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < rounds; r++) {
      expected += SOCKETS;
      const all = new Promise<void>((resolve) => (done = resolve));
      const t = process.hrtime.bigint();
      await s.write({ op: 'set', path: '/fan', data: utf8(String(r)), version: -1 });
      await all;
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const total = Number(process.hrtime.bigint() - t0) / 1e9;
    latencies.sort((a, b) => a - b);
    dispatchMs.sort((a, b) => a - b);
    const dispatchP50 = dispatchMs[dispatchMs.length >> 1]!;
    expect(received).toBe(rounds * SOCKETS);
    console.log(
      `fan-out: ${SOCKETS} sockets × ${rounds} writes (client and server in one process): write→last delivery p50 ${latencies[rounds >> 1]!.toFixed(1)} ms, max ${latencies[rounds - 1]!.toFixed(1)} ms; ${Math.round((rounds * SOCKETS) / total)} deliveries/s; server dispatch p50 ${dispatchP50.toFixed(2)} ms per write (${((dispatchP50 * 1000) / SOCKETS).toFixed(1)} µs per socket)`,
    );
  } finally {
    for (const ws of sockets) ws.terminate();
    await s.close();
  }
}, 60_000);
