/**
 * zgate against Apache ZooKeeper, side by side in one run (measured, not asserted):
 * `npm run bench -- --only compare` (or `--compare` to add it to the default run).
 *
 * Both systems run as 3 members on loopback, started here, with their default fsync:
 * - zgate: `node dist/cli/main.js serve --id N --peers ...` (default tick and election settings);
 * - ZooKeeper: a 3-server ensemble (tools/bench/zk/ensemble.ts), default zoo.cfg timing.
 * The systems run one after the other (never both at once), so they don't share the CPU.
 *
 * Writes: creates of 100-byte znodes at unique paths, closed loop (each client has one request
 * in flight), bounded by time and by count, at each concurrency. zgate's clients are HTTP/1.1
 * keep-alive connections (autocannon, tools/bench/load.ts) to the LEADER; ZooKeeper's are one
 * session per client spread round-robin over the three servers (ZooKeeper's usual deployment;
 * followers forward writes to the leader), via tools/bench/zk/client.ts.
 *
 * Failover: writers run against every member; the leader is killed with SIGKILL; the figure is
 * the time from the kill to the first successful write among writes sent after it. zgate's
 * writers try the members in turn (a refused connection moves on at once); ZooKeeper's writers
 * resume their session on the next server after a connection loss, as its client library does.
 */
import { existsSync } from 'node:fs';
import { productCli } from '../paths.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram, performance } from 'node:perf_hooks';
import { BenchChild, freePort } from './children.js';
import { runCell, type CellResult } from './load.js';
import { ZkBenchClient, type ZkSessionRef } from './zk/client.js';
import { locateZooKeeper, ZkEnsemble } from './zk/ensemble.js';

const HOST = '127.0.0.1';
const BODY = Buffer.alloc(100, 'z');
const FAILOVER_WRITERS = 8;
const FAILOVER_REQUEST_TIMEOUT_MS = 500;
const FAILOVER_CAP_MS = 30_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface CompareOptions {
  durationS: number;
  connections: number[];
  maxRequests: number;
  warmupS: number;
  log: (line: string) => void;
}

export interface WriteCell {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  failures: number;
}

export interface CompareRow {
  connections: number;
  zgate: WriteCell;
  zookeeper: WriteCell;
  /** zgate req/s ÷ ZooKeeper req/s. */
  ratio: number;
}

export interface CompareResult {
  zkVersion: string;
  rows: CompareRow[];
  /** ms from kill -9 of the leader to the first successful write sent after it (null: none within the cap). */
  failoverMs: { zgate: number | null; zookeeper: number | null };
  failoverRatio: number | null;
}

// ---------------------------------------------------------------------------------------------
// zgate, 3 members

interface ZgateCluster {
  members: Map<number, { child: BenchChild; origin: string }>;
  dataDirs: string[];
}

async function startZgate(log: (l: string) => void): Promise<ZgateCluster> {
  const cli = productCli();
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npm run build)`);
  const ids = [1, 2, 3];
  const httpPort = new Map<number, number>();
  const peerPort = new Map<number, number>();
  for (const id of ids) {
    httpPort.set(id, await freePort(HOST));
    peerPort.set(id, await freePort(HOST));
  }
  const peers = ids.map((id) => `${id}=${HOST}:${peerPort.get(id)!}`).join(',');
  const cluster: ZgateCluster = { members: new Map(), dataDirs: [] };
  try {
    for (const id of ids) {
      const dir = await mkdtemp(join(tmpdir(), `zgate-bench-c${id}-`));
      cluster.dataDirs.push(dir);
      const child = new BenchChild(`zgate ${id}`, cli, ['serve', '--id', String(id), '--peers', peers, '--http', `${HOST}:${httpPort.get(id)!}`, '--data-dir', dir, '--log-level', 'warn']);
      cluster.members.set(id, { child, origin: `http://${HOST}:${httpPort.get(id)!}` });
    }
    process.once('exit', () => {
      for (const m of cluster.members.values()) m.child.killNow();
    });
    for (const m of cluster.members.values()) await m.child.waitHealthy(`${m.origin}/readyz`, 60_000, [200, 404]);
    log(`compare: zgate 3 members up (pids ${[...cluster.members.values()].map((m) => m.child.proc.pid).join(', ')})`);
    return cluster;
  } catch (e) {
    await stopZgate(cluster);
    throw e;
  }
}

async function stopZgate(c: ZgateCluster): Promise<void> {
  await Promise.all([...c.members.values()].map((m) => m.child.stop()));
  await Promise.all(c.dataDirs.map((d) => rm(d, { recursive: true, force: true })));
}

async function zgateLeader(c: ZgateCluster, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const [, m] of c.members) {
      if (!m.child.running) continue;
      try {
        const res = await fetch(`${m.origin}/v1/cluster`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { leaderId?: number | null };
        if (res.status === 200 && typeof body.leaderId === 'number' && c.members.get(body.leaderId)?.child.running === true) return body.leaderId;
      } catch {
        // try the next member
      }
    }
    await sleep(100);
  }
  throw new Error('zgate: no leader within the timeout');
}

async function zgatePost(origin: string, path: string, timeoutMs: number): Promise<number> {
  const res = await fetch(origin + path, {
    method: 'POST',
    body: new Uint8Array(BODY),
    headers: { 'content-type': 'application/octet-stream' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.arrayBuffer();
  return res.status;
}

let zgateCounter = 0;
const zgatePath = (prefix: string): string => `/v1/znodes/${prefix}/n${(zgateCounter++).toString(36)}`;

function toCell(r: CellResult): WriteCell {
  return { rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, requests: r.requests, failures: r.errors + r.non2xx };
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper write cells (closed loop, one session per client)

/** Unique across cells (warm-up included), so no create meets NodeExists. */
let zkCounter = 0;

async function zkCell(ports: number[], connections: number, durationS: number, maxRequests: number, prefix: string): Promise<WriteCell> {
  const clients = await Promise.all(
    Array.from({ length: connections }, (_, i) => ZkBenchClient.connect({ port: ports[i % ports.length]!, sessionTimeoutMs: 30_000, requestTimeoutMs: 10_000 })),
  );
  const hist = createHistogram({ lowest: 1, highest: 60_000_000, figures: 3 });
  let issued = 0;
  let done = 0;
  let failures = 0;
  let last = 0;
  const start = performance.now();
  const end = start + durationS * 1000;
  await Promise.all(
    clients.map(async (c, i) => {
      while (performance.now() < end && issued < maxRequests) {
        issued++;
        const t = performance.now();
        try {
          await c.create(`/${prefix}/c${i}-${(zkCounter++).toString(36)}`, BODY);
          last = performance.now();
          hist.record(Math.max(1, Math.round((last - t) * 1000)));
          done++;
        } catch {
          failures++;
          if (c.isClosed) return;
        }
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  const elapsedS = ((last > start ? last : performance.now()) - start) / 1000;
  return { rps: done / elapsedS, p50Ms: hist.percentile(50) / 1000, p99Ms: hist.percentile(99) / 1000, requests: done, failures };
}

// ---------------------------------------------------------------------------------------------
// Failover

interface FailoverClock {
  killedAt: number | undefined;
  firstOk: number | undefined;
  stop: boolean;
}

function recordOk(clock: FailoverClock, sentAt: number): void {
  if (clock.killedAt !== undefined && sentAt >= clock.killedAt && clock.firstOk === undefined) {
    clock.firstOk = performance.now();
    clock.stop = true;
  }
}

async function runFailover(clock: FailoverClock, workers: Promise<void>[], kill: () => Promise<void>, hadWrites: () => boolean): Promise<number | null> {
  // Let the writers reach a steady state first (and prove that writes work before the kill).
  const ready = Date.now() + 10_000;
  while (!hadWrites() && Date.now() < ready) await sleep(50);
  await sleep(1000);
  if (!hadWrites()) {
    clock.stop = true;
    await Promise.all(workers);
    throw new Error('failover: no write succeeded before the kill');
  }
  clock.killedAt = performance.now();
  await kill();
  const cap = Date.now() + FAILOVER_CAP_MS;
  while (clock.firstOk === undefined && Date.now() < cap) await sleep(5);
  clock.stop = true;
  await Promise.all(workers);
  return clock.firstOk === undefined ? null : clock.firstOk - clock.killedAt;
}

async function zgateFailover(c: ZgateCluster): Promise<number | null> {
  const leader = await zgateLeader(c);
  const origins = [...c.members.values()].map((m) => m.origin);
  const clock: FailoverClock = { killedAt: undefined, firstOk: undefined, stop: false };
  let okBefore = 0;
  const workers = Array.from({ length: FAILOVER_WRITERS }, async (_, w) => {
    let i = w;
    while (!clock.stop) {
      const origin = origins[i % origins.length]!;
      const sentAt = performance.now();
      try {
        const status = await zgatePost(origin, zgatePath('failover'), FAILOVER_REQUEST_TIMEOUT_MS);
        if (status >= 200 && status < 300) {
          okBefore++;
          recordOk(clock, sentAt);
          continue;
        }
      } catch {
        // refused, reset or timed out: move on
      }
      i++;
      await sleep(5);
    }
  });
  const kill9 = async (): Promise<void> => {
    const child = c.members.get(leader)!.child;
    child.proc.kill('SIGKILL');
    while (child.running) await sleep(1);
  };
  return runFailover(clock, workers, kill9, () => okBefore > 0);
}

async function zkFailover(e: ZkEnsemble): Promise<number | null> {
  const leader = await e.leader();
  if (leader === undefined) throw new Error('ZooKeeper: no leader');
  const ports = [...e.clientPorts.values()];
  const clock: FailoverClock = { killedAt: undefined, firstOk: undefined, stop: false };
  let okBefore = 0;
  const workers = Array.from({ length: FAILOVER_WRITERS }, async (_, w) => {
    let i = w;
    let session: ZkSessionRef | undefined;
    let client: ZkBenchClient | undefined;
    let seq = 0;
    while (!clock.stop) {
      if (client === undefined || client.isClosed) {
        try {
          client = await ZkBenchClient.connect({ port: ports[i % ports.length]!, resume: session, sessionTimeoutMs: 30_000, connectTimeoutMs: 1000, requestTimeoutMs: FAILOVER_REQUEST_TIMEOUT_MS });
          session = client.session;
        } catch (err) {
          if ((err as { code?: number }).code === -112) session = undefined; // expired: a new session
          i++;
          await sleep(5);
          continue;
        }
      }
      const sentAt = performance.now();
      try {
        await client.create(`/failover/w${w}-${(seq++).toString(36)}`, BODY);
        okBefore++;
        recordOk(clock, sentAt);
      } catch {
        if (client.isClosed) i++;
        await sleep(5);
      }
    }
    client?.destroy();
  });
  return runFailover(clock, workers, () => e.kill9(leader), () => okBefore > 0);
}

// ---------------------------------------------------------------------------------------------

export async function benchCompare(opts: CompareOptions): Promise<CompareResult> {
  const { log } = opts;
  const install = locateZooKeeper();
  const zgateCells = new Map<number, WriteCell>();
  const zkCells = new Map<number, WriteCell>();
  let zgateFailoverMs: number | null;
  let zkFailoverMs: number | null;

  // --- zgate ---
  const cluster = await startZgate(log);
  try {
    const leader = await zgateLeader(cluster);
    const origin = cluster.members.get(leader)!.origin;
    log(`compare: zgate leader is member ${leader} (${origin}); writes go to the leader`);
    for (const p of ['/v1/znodes/bench', '/v1/znodes/failover']) {
      const res = await fetch(origin + p, { method: 'PUT', body: new Uint8Array(0), headers: { 'content-type': 'application/octet-stream' } });
      await res.arrayBuffer();
      if (res.status !== 200 && res.status !== 201) throw new Error(`zgate setup PUT ${p}: ${res.status}`);
    }
    const spec = { origin, method: 'POST' as const, path: () => zgatePath('bench'), body: BODY, headers: { 'content-type': 'application/octet-stream' } };
    if (opts.warmupS > 0) await runCell({ ...spec, connections: 16, durationS: opts.warmupS, maxRequests: opts.maxRequests });
    for (const c of opts.connections) {
      const cell = toCell(await runCell({ ...spec, connections: c, durationS: opts.durationS, maxRequests: opts.maxRequests }));
      zgateCells.set(c, cell);
      log(`  zgate     c=${String(c).padEnd(3)} ${Math.round(cell.rps)} creates/s  p50 ${cell.p50Ms.toFixed(2)} ms  p99 ${cell.p99Ms.toFixed(2)} ms  failures ${cell.failures}`);
    }
    zgateFailoverMs = await zgateFailover(cluster);
    log(`  zgate     failover: ${zgateFailoverMs === null ? 'no write within the cap' : `${Math.round(zgateFailoverMs)} ms`}`);
  } finally {
    await stopZgate(cluster);
  }

  // --- ZooKeeper ---
  log(`compare: starting a 3-server ZooKeeper ${install.version} ensemble (${install.source})`);
  const ensemble = await ZkEnsemble.start(install);
  try {
    const ports = [...ensemble.clientPorts.values()];
    log(`compare: ZooKeeper leader is server ${String(await ensemble.leader())}; one session per client, spread over the 3 servers`);
    const setup = await ZkBenchClient.connect({ port: ports[0]! });
    await setup.create('/bench', new Uint8Array(0));
    await setup.create('/failover', new Uint8Array(0));
    await setup.close();
    if (opts.warmupS > 0) await zkCell(ports, 16, opts.warmupS, opts.maxRequests, 'bench');
    for (const c of opts.connections) {
      const cell = await zkCell(ports, c, opts.durationS, opts.maxRequests, 'bench');
      zkCells.set(c, cell);
      log(`  ZooKeeper c=${String(c).padEnd(3)} ${Math.round(cell.rps)} creates/s  p50 ${cell.p50Ms.toFixed(2)} ms  p99 ${cell.p99Ms.toFixed(2)} ms  failures ${cell.failures}`);
    }
    zkFailoverMs = await zkFailover(ensemble);
    log(`  ZooKeeper failover: ${zkFailoverMs === null ? 'no write within the cap' : `${Math.round(zkFailoverMs)} ms`}`);
  } finally {
    await ensemble.stop();
  }

  const rows = opts.connections.map((c) => {
    const z = zgateCells.get(c)!;
    const k = zkCells.get(c)!;
    return { connections: c, zgate: z, zookeeper: k, ratio: z.rps / k.rps };
  });
  return {
    zkVersion: install.version,
    rows,
    failoverMs: { zgate: zgateFailoverMs, zookeeper: zkFailoverMs },
    failoverRatio: zgateFailoverMs !== null && zkFailoverMs !== null ? zgateFailoverMs / zkFailoverMs : null,
  };
}

const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));

export function renderCompare(r: CompareResult): string {
  const lines = [
    `| clients | zgate creates/s | p50 / p99 ms | ZooKeeper ${r.zkVersion} creates/s | p50 / p99 ms | zgate/ZK |`,
    '|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    const f = (c: WriteCell): string => `${Math.round(c.rps).toLocaleString('en-US')}${c.failures > 0 ? ` (${c.failures} failed)` : ''}`;
    lines.push(
      `| ${row.connections} | ${f(row.zgate)} | ${ms(row.zgate.p50Ms)} / ${ms(row.zgate.p99Ms)} | ${f(row.zookeeper)} | ${ms(row.zookeeper.p50Ms)} / ${ms(row.zookeeper.p99Ms)} | ${row.ratio.toFixed(2)}× |`,
    );
  }
  const fo = (v: number | null): string => (v === null ? `none within ${FAILOVER_CAP_MS / 1000} s` : `${Math.round(v)} ms`);
  lines.push(
    `| failover (kill -9 leader → first write) | ${fo(r.failoverMs.zgate)} | | ${fo(r.failoverMs.zookeeper)} | | ${r.failoverRatio === null ? '-' : `${r.failoverRatio.toFixed(2)}×`} |`,
  );
  return lines.join('\n');
}
