/**
 * WebSocket fan-out (measured, not asserted): N sockets (default 10,000) on one
 * member, each holding one persistent watch on /bench/ws, against a bare `ws` broadcast server
 * (tools/bench/bare-ws-server.ts) measured in the same run with the same clients:
 *
 * - memory per idle watching socket: the server's RSS (/proc/<pid>/status) before the sockets
 *   connect and once they all watch and sit idle, divided by N;
 * - one write → all: --latency-writes writes one at a time, each waiting until every socket has
 *   its event; each delivery's time from the moment the write was sent (for zgate that includes
 *   the write's commit and fsync) to its receipt, p50/p99/max over all N × writes;
 * - events delivered per second under a write load: a closed loop that keeps --window writes
 *   whose events have not yet reached every socket, for --duration seconds (or --max-writes),
 *   then waits for the last deliveries; also the server's CPU time per delivered event.
 *
 * The clients are --workers child processes (tools/bench/ws-clients.ts), each from its own
 * loopback source address, holding N/workers sockets to each server; both servers are child
 * processes too. Phases alternate between the two servers (and their order between rounds), so a
 * burst of outside load does not land on one only. Everything is bounded in time and count.
 *
 *   npm run build && node dist-tools/tools/bench/ws.js [--sockets N] [--workers W] [--rounds R] [--json]
 *   (or: npm run bench -- --only ws)
 */
import { readFileSync } from 'node:fs';
import { productCli } from '../paths.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchChild, freePort } from './children.js';
import { cpuSecondsOf, distribution, nowMs, rssBytesOf, type Distribution } from './stats.js';
import type { FromWorker, ToWorker } from './ws-clients.js';
import { ForkedWorker } from './worker.js';

const HOST = '127.0.0.1';
const WATCH_PATH = '/bench/ws';

export interface WsBenchOptions {
  sockets: number;
  workers: number;
  latencyWrites: number;
  durationS: number;
  maxWrites: number;
  /** Writes whose events have not reached every socket yet, at most, in the throughput phase. */
  window: number;
  rounds: number;
  log: (line: string) => void;
}

export const WS_DEFAULTS: Omit<WsBenchOptions, 'log'> = { sockets: 10_000, workers: 4, latencyWrites: 10, durationS: 8, maxWrites: 5_000, window: 4, rounds: 1 };

type TargetName = 'zgate' | 'bare';

export interface WsThroughput {
  writes: number;
  seconds: number;
  writesPerSecond: number;
  deliveriesPerSecond: number;
  /** The server's CPU time (user + system) per delivered event. */
  serverCpuUsPerDelivery: number;
  /** The client processes' CPU, for scale: they share the machine with the server. */
  clientCpuUsPerDelivery: number;
}

export interface WsTargetResult {
  name: TargetName;
  connectS: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerSocket: number;
  /** Every delivery of every latency write, ms from the write's send. */
  delivery: Distribution;
  /** Per write: ms until its last socket had it. */
  lastSocket: Distribution;
  /** Per write: ms until the write's HTTP answer. */
  writeAnswer: Distribution;
  /** The median round by deliveries per second. */
  throughput: WsThroughput;
  rounds: WsThroughput[];
  lostSockets: number;
}

export interface WsBenchResult {
  sockets: number;
  workers: number;
  window: number;
  durationS: number;
  zgate: WsTargetResult;
  bare: WsTargetResult;
  /** zgate ÷ bare: deliveries per second (target ≥ 0.5), bytes per socket, server CPU per delivery, delivery p50. */
  ratios: { throughput: number; memory: number; cpuPerDelivery: number; deliveryP50: number };
  loadAverage1m: { before: number; after: number };
  ok: boolean;
  problems: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A forked client process; its replies name the server (`target`) they are about. */
class Worker extends ForkedWorker<ToWorker, FromWorker> {
  constructor(
    script: string,
    readonly index: number,
    onMessage: (w: Worker, m: FromWorker) => void,
  ) {
    super(script, `client worker ${index}`, (m) => onMessage(this, m));
  }

  /** Each worker connects from its own loopback address, so its sockets have a port range of their own. */
  get localAddress(): string {
    return `127.0.0.${10 + this.index}`;
  }

  /** Sends `m` and resolves with the first reply of type `reply` for the same target. */
  override ask<T extends FromWorker['t']>(m: ToWorker, reply: T, timeoutMs: number): Promise<Extract<FromWorker, { t: T }>> {
    return super.ask(m, reply, timeoutMs, (r) => r.target === m.target);
  }
}

/** One server under test, and what the clients have told us about its sockets. */
class Target {
  sent = 0;
  lost = 0;
  lostReason = '';
  lastProgressAt = 0;
  readonly delivered: number[];
  private wake: (() => void) | undefined;

  constructor(
    readonly name: TargetName,
    readonly child: BenchChild,
    readonly origin: string,
    readonly writePath: string,
    workers: number,
  ) {
    this.delivered = new Array<number>(workers).fill(0);
  }

  get wsUrl(): string {
    return `${this.origin.replace('http:', 'ws:')}/v1/ws`;
  }

  get pid(): number {
    return this.child.proc.pid!;
  }

  /** Writes whose events every socket has. */
  get complete(): number {
    return Math.min(...this.delivered);
  }

  onProgress(worker: number, delivered: number): void {
    this.delivered[worker] = delivered;
    this.lastProgressAt = nowMs();
    this.poke();
  }

  onLost(code: number, reason: string): void {
    this.lost++;
    if (this.lostReason === '') this.lostReason = `close code ${code}${reason === '' ? '' : ` (${reason})`}`;
    this.poke();
  }

  poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Resolves at the next progress, lost socket or poke, or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, Math.max(1, ms));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async waitComplete(n: number, timeoutMs: number): Promise<void> {
    const deadline = nowMs() + timeoutMs;
    while (this.complete < n) {
      if (this.lost > 0) throw new Error(`${this.name}: ${this.lost} sockets lost (${this.lostReason})`);
      if (nowMs() >= deadline) throw new Error(`${this.name}: write ${n} had not reached every socket after ${timeoutMs} ms (per worker: ${this.delivered.join(', ')})`);
      await this.changed(deadline - nowMs());
    }
  }

  async write(): Promise<void> {
    const res = await fetch(this.origin + this.writePath, {
      method: 'PUT',
      body: 'x',
      headers: { 'content-type': 'application/octet-stream' },
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status !== 200 && res.status !== 201) throw new Error(`${this.name}: PUT ${this.writePath} answered ${res.status}: ${text.slice(0, 200)}`);
  }
}

function maxOpenFiles(): number {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  // Node raises its soft limit to the hard one at start, and the children inherit that.
  return m === null || m[2] === 'unlimited' ? Infinity : Number(m[2]);
}

interface Run {
  workers: Worker[];
  opts: WsBenchOptions;
}

async function connectAll(run: Run, t: Target): Promise<number> {
  const { workers, opts } = run;
  const started = nowMs();
  const replies = await Promise.all(
    workers.map((w) => {
      const count = Math.floor(opts.sockets / workers.length) + (w.index < opts.sockets % workers.length ? 1 : 0);
      const request = JSON.stringify({ id: 1, op: 'watch', path: WATCH_PATH, kind: 'persistent' });
      return w.ask({ t: 'connect', target: t.name, url: t.wsUrl, count, localAddress: w.localAddress, request, concurrency: 64 }, 'connected', 180_000);
    }),
  );
  const failed = replies.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${t.name}: ${failed} of ${opts.sockets} sockets failed to connect and watch (first: ${replies.find((r) => r.firstError !== undefined)?.firstError ?? '?'})`);
  return (nowMs() - started) / 1000;
}

interface LatencyRound {
  deliveries: Float64Array;
  lastSocket: number[];
  answers: number[];
}

async function latencyPhase(run: Run, t: Target): Promise<LatencyRound> {
  const { workers, opts } = run;
  const first = t.sent;
  await Promise.all(workers.map((w) => w.ask({ t: 'record', target: t.name, first, n: opts.latencyWrites }, 'recording', 10_000)));
  const t0: number[] = [];
  const answers: number[] = [];
  for (let j = 0; j < opts.latencyWrites; j++) {
    const sentAt = nowMs();
    t0.push(sentAt);
    t.sent++;
    await t.write();
    answers.push(nowMs() - sentAt);
    await t.waitComplete(t.sent, 60_000);
    // A pause between writes, so each is measured alone (the previous one's aftermath done).
    await sleep(50);
  }
  const replies = await Promise.all(workers.map((w) => w.ask({ t: 'latencies', target: t.name, first, t0 }, 'latencies', 30_000)));
  const deliveries = new Float64Array(opts.latencyWrites * opts.sockets);
  const lastSocket: number[] = [];
  let k = 0;
  for (let j = 0; j < opts.latencyWrites; j++) {
    let last = 0;
    for (const r of replies) {
      const row = r.perWrite[j];
      if (row === undefined) throw new Error(`${t.name}: a client worker returned no latencies for write ${j}`);
      for (const v of row) {
        if (Number.isNaN(v)) throw new Error(`${t.name}: a socket has no receive time for write ${j}`);
        deliveries[k++] = v;
        if (v > last) last = v;
      }
    }
    lastSocket.push(last);
  }
  return { deliveries: deliveries.subarray(0, k), lastSocket, answers };
}

async function throughputPhase(run: Run, t: Target): Promise<WsThroughput> {
  const { workers, opts } = run;
  const s0 = t.sent;
  const cpu0 = cpuSecondsOf(t.pid);
  const clientCpu0 = workers.reduce((n, w) => n + w.cpuSeconds, 0);
  const start = nowMs();
  const deadline = start + opts.durationS * 1000;
  let httpInFlight = 0;
  let failure: Error | undefined;
  while (nowMs() < deadline && t.sent - s0 < opts.maxWrites && failure === undefined) {
    if (t.lost > 0) break;
    if (t.sent - t.complete < opts.window && httpInFlight < opts.window) {
      t.sent++;
      httpInFlight++;
      t.write().then(
        () => {
          httpInFlight--;
          t.poke();
        },
        (e: unknown) => {
          httpInFlight--;
          failure ??= e instanceof Error ? e : new Error(String(e));
          t.poke();
        },
      );
      continue;
    }
    await t.changed(deadline - nowMs());
  }
  if (failure !== undefined) throw failure;
  await t.waitComplete(t.sent, 60_000);
  const end = t.lastProgressAt;
  const writes = t.sent - s0;
  const seconds = (end - start) / 1000;
  const deliveries = writes * opts.sockets;
  return {
    writes,
    seconds,
    writesPerSecond: writes / seconds,
    deliveriesPerSecond: deliveries / seconds,
    serverCpuUsPerDelivery: ((cpuSecondsOf(t.pid) - cpu0) * 1e6) / deliveries,
    clientCpuUsPerDelivery: ((workers.reduce((n, w) => n + w.cpuSeconds, 0) - clientCpu0) * 1e6) / deliveries,
  };
}

export async function benchWs(opts: WsBenchOptions): Promise<WsBenchResult> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const cli = productCli();
  const bareScript = join(here, 'bare-ws-server.js');
  const clientScript = join(here, 'ws-clients.js');
  // The member and the bare server each hold N sockets, the workers 2N between them.
  const need = opts.sockets + 256;
  if (maxOpenFiles() < need) throw new Error(`the open-file limit (${maxOpenFiles()}) is below the ${need} descriptors one server needs for ${opts.sockets} sockets: raise it (ulimit -n) or use --sockets`);
  const loadBefore = loadavg()[0] ?? 0;
  const dataDir = await mkdtemp(join(tmpdir(), 'zgate-bench-ws-'));
  const children: BenchChild[] = [];
  const workers: Worker[] = [];
  const stopAll = async (): Promise<void> => {
    for (const w of workers) w.stop();
    await Promise.all(children.map((c) => c.stop()));
    await rm(dataDir, { recursive: true, force: true });
  };
  const onExit = (): void => {
    for (const w of workers) w.stop();
    for (const c of children) c.killNow();
  };
  process.once('exit', onExit);
  try {
    const targets = await startServers(opts, { cli, bareScript, dataDir }, children);
    for (let i = 0; i < opts.workers; i++) {
      workers.push(
        new Worker(clientScript, i, (w, m) => {
          if (m.t === 'progress') targets[m.target as TargetName].onProgress(w.index, m.delivered);
          else if (m.t === 'lost') targets[m.target as TargetName].onLost(m.code, m.reason);
        }),
      );
    }
    const run: Run = { workers, opts };
    const connected = await connectPhase(run, targets);
    const { latency, throughput } = await measureRounds(run, targets);
    for (const name of ['bare', 'zgate'] as const) {
      await Promise.all(workers.map((w) => w.ask({ t: 'close', target: name }, 'closed', 60_000)));
    }
    for (const c of children) if (!c.running) throw new Error(`${c.name} ${c.exitDescription ?? 'ended'} during the bench\n${c.output()}`);
    const result = (name: TargetName): WsTargetResult => targetResult(opts, targets[name], connected[name], latency[name], throughput[name]);
    return wsResult(opts, result('zgate'), result('bare'), loadBefore);
  } finally {
    process.removeListener('exit', onExit);
    await stopAll();
  }
}

/** The member and the bare server, healthy and (the member) ready, with the watched znode in place. */
async function startServers(opts: WsBenchOptions, files: { cli: string; bareScript: string; dataDir: string }, children: BenchChild[]): Promise<Record<TargetName, Target>> {
  const { cli, bareScript, dataDir } = files;
  const [zPort, bPort] = [await freePort(HOST), await freePort(HOST)];
  const zgate = new BenchChild('zgate', cli, ['serve', '--http', `${HOST}:${zPort}`, '--data-dir', dataDir, '--log-level', 'warn']);
  const bare = new BenchChild('bare ws server', bareScript, [String(bPort), HOST]);
  children.push(zgate, bare);
  const zOrigin = `http://${HOST}:${zPort}`;
  const bOrigin = `http://${HOST}:${bPort}`;
  await Promise.all([zgate.waitHealthy(`${zOrigin}/healthz`), bare.waitHealthy(`${bOrigin}/healthz`)]);
  await zgate.waitHealthy(`${zOrigin}/readyz`, 60_000);
  const targets: Record<TargetName, Target> = {
    zgate: new Target('zgate', zgate, zOrigin, `/v1/znodes${WATCH_PATH}`, opts.workers),
    bare: new Target('bare', bare, bOrigin, '/bare', opts.workers),
  };
  for (const path of ['/v1/znodes/bench', `/v1/znodes${WATCH_PATH}`]) {
    const res = await fetch(zOrigin + path, { method: 'PUT', body: '', headers: { 'content-type': 'application/octet-stream' } });
    await res.arrayBuffer();
    if (res.status !== 200 && res.status !== 201) throw new Error(`setup PUT ${path} answered ${res.status}`);
  }
  opts.log(`bench ws: zgate pid ${zgate.proc.pid} on ${zOrigin}, bare ws pid ${bare.proc.pid} on ${bOrigin}; ${opts.workers} client processes, ${opts.sockets.toLocaleString('en-US')} sockets to each`);
  return targets;
}

interface Connected {
  connectS: number;
  rssBefore: number;
  rssAfter: number;
}

/** Every socket to each server in turn, and the server's RSS before and once they sit idle. */
async function connectPhase(run: Run, targets: Record<TargetName, Target>): Promise<Record<TargetName, Connected>> {
  const { opts } = run;
  const connected = {} as Record<TargetName, Connected>;
  for (const name of ['bare', 'zgate'] as const) {
    const t = targets[name];
    const rssBefore = rssBytesOf(t.pid);
    const connectS = await connectAll(run, t);
    // Idle: let the handshakes' garbage and the allocator settle before reading the RSS.
    await sleep(2000);
    const rssAfter = rssBytesOf(t.pid);
    connected[name] = { connectS, rssBefore, rssAfter };
    opts.log(`  ${name}: ${opts.sockets.toLocaleString('en-US')} sockets watching after ${connectS.toFixed(1)} s; RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB (${((rssAfter - rssBefore) / opts.sockets / 1024).toFixed(1)} KiB per socket)`);
  }
  return connected;
}

/** The latency then the throughput phase of every round, the servers' order alternating. */
async function measureRounds(run: Run, targets: Record<TargetName, Target>): Promise<{ latency: Record<TargetName, LatencyRound[]>; throughput: Record<TargetName, WsThroughput[]> }> {
  const { opts } = run;
  const latency: Record<TargetName, LatencyRound[]> = { zgate: [], bare: [] };
  const throughput: Record<TargetName, WsThroughput[]> = { zgate: [], bare: [] };
  for (let round = 1; round <= opts.rounds; round++) {
    const order: TargetName[] = round % 2 === 1 ? ['bare', 'zgate'] : ['zgate', 'bare'];
    for (const name of order) {
      const l = await latencyPhase(run, targets[name]);
      latency[name].push(l);
      const d = distribution(Float64Array.from(l.deliveries));
      opts.log(`  r${round} ${name.padEnd(5)} one write → ${opts.sockets} sockets ×${opts.latencyWrites}: p50 ${d.p50.toFixed(1)} ms, p99 ${d.p99.toFixed(1)} ms, max ${d.max.toFixed(1)} ms`);
    }
    for (const name of order) {
      const tp = await throughputPhase(run, targets[name]);
      throughput[name].push(tp);
      opts.log(`  r${round} ${name.padEnd(5)} under load: ${tp.writes} writes in ${tp.seconds.toFixed(1)} s, ${Math.round(tp.deliveriesPerSecond).toLocaleString('en-US')} events/s delivered, server ${tp.serverCpuUsPerDelivery.toFixed(2)} µs CPU per event`);
    }
  }
  return { latency, throughput };
}

/** One server's figures over all rounds: every delivery together, the median round's throughput. */
function targetResult(opts: WsBenchOptions, target: Target, c: Connected, all: LatencyRound[], rounds: WsThroughput[]): WsTargetResult {
  const mid = [...rounds].sort((a, b) => a.deliveriesPerSecond - b.deliveriesPerSecond)[Math.floor((rounds.length - 1) / 2)]!;
  const deliveries = new Float64Array(all.reduce((n, l) => n + l.deliveries.length, 0));
  let k = 0;
  for (const l of all) {
    deliveries.set(l.deliveries, k);
    k += l.deliveries.length;
  }
  return {
    name: target.name,
    connectS: c.connectS,
    rssBeforeBytes: c.rssBefore,
    rssAfterBytes: c.rssAfter,
    bytesPerSocket: (c.rssAfter - c.rssBefore) / opts.sockets,
    delivery: distribution(deliveries),
    lastSocket: distribution(all.flatMap((l) => l.lastSocket)),
    writeAnswer: distribution(all.flatMap((l) => l.answers)),
    throughput: mid,
    rounds,
    lostSockets: target.lost,
  };
}

function wsResult(opts: WsBenchOptions, z: WsTargetResult, b: WsTargetResult, loadBefore: number): WsBenchResult {
  const problems: string[] = [];
  if (z.throughput.deliveriesPerSecond < 0.5 * b.throughput.deliveriesPerSecond) problems.push('zgate delivered fewer than half the events per second of the bare ws server (target: at least 50%)');
  if (z.bytesPerSocket >= 20 * 1024) problems.push('zgate used 20 KiB or more per idle watching socket (target: under 20 KB)');
  return {
    sockets: opts.sockets,
    workers: opts.workers,
    window: opts.window,
    durationS: opts.durationS,
    zgate: z,
    bare: b,
    ratios: {
      throughput: z.throughput.deliveriesPerSecond / b.throughput.deliveriesPerSecond,
      memory: z.bytesPerSocket / b.bytesPerSocket,
      cpuPerDelivery: z.throughput.serverCpuUsPerDelivery / b.throughput.serverCpuUsPerDelivery,
      deliveryP50: z.delivery.p50 / b.delivery.p50,
    },
    loadAverage1m: { before: loadBefore, after: loadavg()[0] ?? 0 },
    // Targets missed are reported, not failures: the bench fails on errors (a lost socket, a failed write).
    ok: true,
    problems,
  };
}

const ms = (v: number): string => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const int = (v: number): string => Math.round(v).toLocaleString('en-US');

export function formatWs(r: WsBenchResult): string {
  const rows: [string, string, string, string][] = [
    ['', 'zgate', 'bare ws', 'zgate/bare'],
    [`connect + watch, ${int(r.sockets)} sockets`, `${r.zgate.connectS.toFixed(1)} s`, `${r.bare.connectS.toFixed(1)} s`, ''],
    ['memory per idle watching socket (RSS)', kib(r.zgate.bytesPerSocket), kib(r.bare.bytesPerSocket), `${r.ratios.memory.toFixed(2)}×`],
    [`one write → every socket: delivery p50 (${r.zgate.delivery.count / r.sockets} writes)`, `${ms(r.zgate.delivery.p50)} ms`, `${ms(r.bare.delivery.p50)} ms`, `${r.ratios.deliveryP50.toFixed(2)}×`],
    ['  delivery p99', `${ms(r.zgate.delivery.p99)} ms`, `${ms(r.bare.delivery.p99)} ms`, ''],
    ['  delivery max', `${ms(r.zgate.delivery.max)} ms`, `${ms(r.bare.delivery.max)} ms`, ''],
    ['  the write\'s own answer (p50)', `${ms(r.zgate.writeAnswer.p50)} ms`, `${ms(r.bare.writeAnswer.p50)} ms`, ''],
    [`events delivered per second (${r.window} writes in flight)`, int(r.zgate.throughput.deliveriesPerSecond), int(r.bare.throughput.deliveriesPerSecond), `${r.ratios.throughput.toFixed(2)}×`],
    ['  writes per second', r.zgate.throughput.writesPerSecond.toFixed(1), r.bare.throughput.writesPerSecond.toFixed(1), ''],
    ['  server CPU per delivered event', `${r.zgate.throughput.serverCpuUsPerDelivery.toFixed(2)} µs`, `${r.bare.throughput.serverCpuUsPerDelivery.toFixed(2)} µs`, `${r.ratios.cpuPerDelivery.toFixed(2)}×`],
    ['  client processes\' CPU per event', `${r.zgate.throughput.clientCpuUsPerDelivery.toFixed(2)} µs`, `${r.bare.throughput.clientCpuUsPerDelivery.toFixed(2)} µs`, ''],
  ];
  const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
  lines.splice(1, 0, w.map((n) => '-'.repeat(n)).join('  '));
  lines.push(
    '',
    `targets: events/s at least 0.50× the bare server's: ${r.ratios.throughput >= 0.5 ? 'met' : 'NOT met'} (${r.ratios.throughput.toFixed(2)}×); ` +
      `under 20 KB per idle watching socket: ${r.zgate.bytesPerSocket < 20 * 1024 ? 'met' : 'NOT met'} (${kib(r.zgate.bytesPerSocket)}).`,
    `${r.workers} client processes share the machine with both servers; load average ${r.loadAverage1m.before.toFixed(2)} before, ${r.loadAverage1m.after.toFixed(2)} after.`,
  );
  return lines.join('\n');
}

function parseCli(argv: string[]): { opts: Omit<WsBenchOptions, 'log'>; json: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sockets: { type: 'string' },
      workers: { type: 'string' },
      'latency-writes': { type: 'string' },
      duration: { type: 'string' },
      'max-writes': { type: 'string' },
      window: { type: 'string' },
      rounds: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(`node dist-tools/tools/bench/ws.js [options]   (also: npm run bench -- --only ws)

WebSocket fan-out: N sockets on one zgate member, each holding a persistent watch on one path,
against a bare ws broadcast server measured in the same run (memory per idle socket, one
write's delivery p50/p99/max, events delivered per second under a write load, CPU per event).

  --sockets N          watching sockets (default ${WS_DEFAULTS.sockets})
  --workers N          client processes holding them (default ${WS_DEFAULTS.workers}, at most 200)
  --latency-writes N   single writes timed to every socket (default ${WS_DEFAULTS.latencyWrites})
  --duration S         seconds of the write load (default ${WS_DEFAULTS.durationS})
  --max-writes N       cap on writes of that load (default ${WS_DEFAULTS.maxWrites})
  --window N           writes in flight during the load (default ${WS_DEFAULTS.window})
  --rounds N           rounds, interleaved, median reported (default ${WS_DEFAULTS.rounds})
  --json               the result as JSON
  --help               this text`);
    process.exit(0);
  }
  const num = (v: string | undefined, d: number, min: number): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`expected a number >= ${min}, got '${v}'`);
    return n;
  };
  return {
    opts: {
      sockets: Math.floor(num(values.sockets, WS_DEFAULTS.sockets, 1)),
      workers: Math.min(200, Math.floor(num(values.workers, WS_DEFAULTS.workers, 1))),
      latencyWrites: Math.floor(num(values['latency-writes'], WS_DEFAULTS.latencyWrites, 1)),
      durationS: num(values.duration, WS_DEFAULTS.durationS, 0.1),
      maxWrites: Math.floor(num(values['max-writes'], WS_DEFAULTS.maxWrites, 1)),
      window: Math.floor(num(values.window, WS_DEFAULTS.window, 1)),
      rounds: Math.floor(num(values.rounds, WS_DEFAULTS.rounds, 1)),
    },
    json: values.json === true,
  };
}

// Run as a script (not when main.ts imports it for `npm run bench -- --only ws`).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { opts, json } = parseCli(process.argv.slice(2));
  benchWs({ ...opts, log: (line) => console.error(line) }).then(
    (r) => {
      console.log(json ? JSON.stringify(r, null, 2) : formatWs(r));
      process.exit(r.ok ? 0 : 1);
    },
    (e: unknown) => {
      console.error(`bench ws: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exit(1);
    },
  );
}
