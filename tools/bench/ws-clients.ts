/**
 * A client process of the WebSocket fan-out benchmark (tools/bench/ws.ts forks several: one
 * process holding 10,000 sockets would itself be the bottleneck, and its file descriptors add
 * up). It holds sockets to one or more targets (zgate, the bare broadcast server), each socket
 * with one watch, and tells its parent over IPC how many events every one of its sockets has
 * received, and, for a window of writes it is asked to record, when each socket received each.
 *
 * Times are process.hrtime (CLOCK_MONOTONIC), the same clock in every process of the machine,
 * so a receive time here and a send time in the parent subtract without an offset.
 *
 * Run only as a child with an IPC channel (child_process.fork with serialization 'advanced', so
 * typed arrays and NaN travel as they are); exits when the parent goes.
 */
import WebSocket from 'ws';
import { nowMs } from './stats.js';

/** Parent → worker. */
export type ToWorker =
  | { t: 'connect'; target: string; url: string; count: number; localAddress: string; request: string; concurrency: number }
  | { t: 'record'; target: string; first: number; n: number }
  | { t: 'latencies'; target: string; first: number; t0: number[] }
  | { t: 'close'; target: string };

/** Worker → parent. */
export type FromWorker =
  | { t: 'connected'; target: string; opened: number; failed: number; firstError: string | undefined; ms: number }
  | { t: 'recording'; target: string }
  /** Every socket of this worker on `target` has received this many events. */
  | { t: 'progress'; target: string; delivered: number }
  /** perWrite[j][i]: ms from write first+j to its receipt on socket i (NaN: not received). */
  | { t: 'latencies'; target: string; perWrite: Float64Array[] }
  | { t: 'lost'; target: string; code: number; reason: string }
  | { t: 'closed'; target: string };

const EVENT_PREFIX = Buffer.from('{"type":"event"', 'utf8');

interface Target {
  sockets: WebSocket[];
  /** Events received by each socket. */
  counts: Uint32Array;
  /** Sockets that have received event k (k from 0). */
  perIndex: number[];
  delivered: number;
  record: { first: number; n: number; at: Float64Array } | undefined;
  closing: boolean;
}

const targets = new Map<string, Target>();

function send(m: FromWorker): void {
  process.send?.(m);
}

function onEvent(name: string, tg: Target, i: number): void {
  const k = tg.counts[i]!;
  tg.counts[i] = k + 1;
  tg.perIndex[k] = (tg.perIndex[k] ?? 0) + 1;
  const r = tg.record;
  if (r !== undefined && k >= r.first && k < r.first + r.n) r.at[(k - r.first) * tg.sockets.length + i] = nowMs();
  if (k !== tg.delivered) return;
  const before = tg.delivered;
  while ((tg.perIndex[tg.delivered] ?? 0) === tg.sockets.length) tg.delivered++;
  if (tg.delivered !== before) send({ t: 'progress', target: name, delivered: tg.delivered });
}

async function connect(m: Extract<ToWorker, { t: 'connect' }>): Promise<void> {
  const started = nowMs();
  const tg: Target = { sockets: [], counts: new Uint32Array(m.count), perIndex: [], delivered: 0, record: undefined, closing: false };
  targets.set(m.target, tg);
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const ws = new WebSocket(m.url, { perMessageDeflate: false, localAddress: m.localAddress });
      tg.sockets[i] = ws;
      let ready = false;
      const fail = (why: string): void => {
        if (ready) return;
        ready = true;
        failed++;
        firstError ??= why;
        resolve();
      };
      ws.on('open', () => ws.send(m.request));
      ws.on('message', (raw) => {
        // binaryType is 'nodebuffer' (the default): every message arrives as one Buffer.
        const data = raw as Buffer;
        if (data.length >= EVENT_PREFIX.length && data.compare(EVENT_PREFIX, 0, EVENT_PREFIX.length, 0, EVENT_PREFIX.length) === 0) {
          onEvent(m.target, tg, i);
          return;
        }
        if (!ready && data.includes('"type":"watching"')) {
          ready = true;
          resolve();
        } else if (!ready && data.includes('"type":"error"')) {
          fail(data.toString('utf8').slice(0, 200));
        }
      });
      ws.on('error', (e) => fail(e.message));
      ws.on('close', (code, reason) => {
        if (!ready) return fail(`closed ${code} before its watch was registered`);
        if (!tg.closing) send({ t: 'lost', target: m.target, code, reason: reason.toString('utf8').slice(0, 200) });
      });
    });
  // A bounded number of handshakes at once: the server's listen backlog is finite.
  await Promise.all(
    Array.from({ length: Math.min(m.concurrency, m.count) }, async () => {
      while (next < m.count) await one(next++);
    }),
  );
  send({ t: 'connected', target: m.target, opened: m.count - failed, failed, firstError, ms: nowMs() - started });
}

function latencies(m: Extract<ToWorker, { t: 'latencies' }>): void {
  const tg = targets.get(m.target);
  const r = tg?.record;
  const perWrite: Float64Array[] = [];
  if (tg !== undefined && r !== undefined && r.first === m.first) {
    const n = tg.sockets.length;
    for (let j = 0; j < m.t0.length && j < r.n; j++) {
      const row = new Float64Array(n);
      for (let i = 0; i < n; i++) row[i] = r.at[j * n + i]! - m.t0[j]!;
      perWrite.push(row);
    }
  }
  if (tg !== undefined) tg.record = undefined;
  send({ t: 'latencies', target: m.target, perWrite });
}

async function close(name: string): Promise<void> {
  const tg = targets.get(name);
  if (tg !== undefined) {
    tg.closing = true;
    await Promise.all(
      tg.sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.terminate();
          }),
      ),
    );
    targets.delete(name);
  }
  send({ t: 'closed', target: name });
}

process.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'connect':
      void connect(m);
      break;
    case 'record': {
      const tg = targets.get(m.target);
      if (tg !== undefined) tg.record = { first: m.first, n: m.n, at: new Float64Array(m.n * tg.sockets.length).fill(NaN) };
      send({ t: 'recording', target: m.target });
      break;
    }
    case 'latencies':
      latencies(m);
      break;
    case 'close':
      void close(m.target);
      break;
  }
});
// The parent gone (crashed, killed): nothing left to measure for.
process.on('disconnect', () => process.exit(0));
