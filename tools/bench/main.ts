#!/usr/bin/env node
/**
 * `npm run bench`: zgate's HTTP throughput and latency against a bare fastify baseline, then
 * (when it is built) the storage benchmark of tools/bench/storage.ts, then the WebSocket fan-out
 * against a bare `ws` broadcast server (tools/bench/ws.ts) and sessions at scale on a 3-member
 * cluster against the idle cluster (tools/bench/sessions.ts).
 *
 * Both servers run as real child processes on loopback ports; the load comes from this process
 * (autocannon). Every cell is bounded in time (--duration) and in count (--max-requests), so
 * the whole run stops by itself. Exits 1 when any zgate request failed or answered non-2xx (or
 * the baseline did, which makes its figures meaningless), 2 on a usage error.
 */
import { existsSync } from 'node:fs';
import { productCli } from '../paths.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchChild, freePort } from './children.js';
import { benchCompare, renderCompare, type CompareResult } from './compare.js';
import { runCell, type CellResult, type CellSpec } from './load.js';
import { benchHttpAuth, formatHttpAuth, HTTP_AUTH_CONNECTIONS, type HttpAuthResult } from './http-auth.js';
import { benchSessions, formatSessions, SESSIONS_DEFAULTS, type SessionsBenchResult } from './sessions.js';
import { benchWs, formatWs, WS_DEFAULTS, type WsBenchResult } from './ws.js';

const HOST = '127.0.0.1';
const DEFAULT_DURATION_S = 3;
const DEFAULT_CONNECTIONS = [1, 16, 128];
const DEFAULT_WARMUP_S = 1;
/** Default count bound per cell: duration × this rate. */
const DEFAULT_MAX_RATE = 50_000;
const SET_BODY_BYTES = 100;

const HELP = `npm run bench [-- options]   (or: node dist-tools/tools/bench/main.js [options])

Benchmarks a zgate member (node dist/cli/main.js serve, a child process on a free loopback port,
with a fresh --data-dir; measured once /healthz and /readyz answer 200)
against a bare fastify server (node dist-tools/tools/bench/bare-server.js, also a child process), with
autocannon driving the load from this process, then runs the storage benchmark
(dist-tools/tools/bench/storage.js, benchStorage) when it is built, the WebSocket fan-out (about 1 min)
and sessions at scale (about 1.5 min; both need Linux: /proc, ss).

Cells: create (POST /v1/znodes/bench/<new name>), set (PUT /v1/znodes/bench/hot, ${SET_BODY_BYTES}-byte body),
get (GET /v1/znodes/bench/hot), and the baseline's GET /bare and PUT /bare (${SET_BODY_BYTES}-byte body),
each at every concurrency. "vs bare" is zgate's req/s over the baseline's at the same
concurrency: reads against bare GET, writes against bare PUT.

Options:
  --duration S          seconds per cell (default ${DEFAULT_DURATION_S})
  --connections LIST    comma-separated concurrencies (default ${DEFAULT_CONNECTIONS.join(',')})
  --max-requests N      request cap per cell (default duration × ${DEFAULT_MAX_RATE})
  --warmup S            seconds of warm-up per route before measuring (default ${DEFAULT_WARMUP_S}; 0: none)
  --rounds N            run the whole grid N times, interleaved; each cell reports its median
                        round by req/s, failures summed (default 1; 3 steadies a busy machine)
  --only http|http-auth|storage|ws|sessions|compare
                        run only the HTTP part (http-auth included), the cost of auth alone (GET and PUT
                        at 16 and 128 connections, or --connections, on an open member and on an
                        --auth-required one with a Bearer token on every request: auth/open; tools/bench/http-auth.ts),
                        the storage part, the WebSocket fan-out
                        (${WS_DEFAULTS.sockets.toLocaleString('en-US')} sockets watching one path on one member vs a bare ws broadcast server,
                        tools/bench/ws.ts; --rounds applies), sessions at scale (${SESSIONS_DEFAULTS.sessions.toLocaleString('en-US')} sessions kept alive
                        over HTTP on 3 members vs the idle cluster, then their expiry at once, tools/bench/sessions.ts),
                        or the comparison with ZooKeeper; without --only, all but compare
  --compare             also run the comparison with Apache ZooKeeper (tools/bench/compare.ts: 3 zgate
                        members vs a 3-server ZooKeeper ensemble, creates at each concurrency, and
                        failover after kill -9 of the leader; needs java + ZooKeeper; about 1 min)
  --json                print the results as one JSON document on stdout (progress goes to stderr)
  --help                this text

Exit status: 0 all good; 1 a zgate request errored or answered non-2xx, the baseline did,
a server failed to start, the storage benchmark failed, a watching socket was lost, or a
session expired while kept alive (or did not expire after); 2 bad options.`;

interface Options {
  durationS: number;
  connections: number[];
  maxRequests: number;
  warmupS: number;
  rounds: number;
  only: 'http' | 'http-auth' | 'storage' | 'ws' | 'sessions' | 'compare' | undefined;
  /** --connections as given (http-auth's default is 16,128, not the grid's). */
  connectionsGiven: boolean;
  compare: boolean;
  json: boolean;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      'max-requests': { type: 'string' },
      warmup: { type: 'string' },
      rounds: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'boolean' },
      compare: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const num = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new UsageError(`--${name}: expected a number >= ${min}, got '${v}'`);
    return n;
  };
  const durationS = num('duration', values.duration, DEFAULT_DURATION_S, 0.1);
  const warmupS = num('warmup', values.warmup, DEFAULT_WARMUP_S, 0);
  const rounds = num('rounds', values.rounds, 1, 1);
  if (!Number.isInteger(rounds)) throw new UsageError(`--rounds: expected an integer >= 1, got '${values.rounds ?? ''}'`);
  let connections = DEFAULT_CONNECTIONS;
  if (values.connections !== undefined) {
    connections = values.connections.split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError(`--connections: expected integers 1..1024, got '${s}'`);
      return n;
    });
  }
  const maxRequests = Math.floor(num('max-requests', values['max-requests'], Math.ceil(durationS * DEFAULT_MAX_RATE), 1));
  const only = values.only;
  if (only !== undefined && only !== 'http' && only !== 'http-auth' && only !== 'storage' && only !== 'ws' && only !== 'sessions' && only !== 'compare') {
    throw new UsageError(`--only: expected http, http-auth, storage, ws, sessions or compare, got '${only}'`);
  }
  const compare = only === 'compare' || values.compare === true;
  return { durationS, connections, connectionsGiven: values.connections !== undefined, maxRequests, warmupS, rounds, only, compare, json: values.json === true };
}

// ---------------------------------------------------------------------------------------------

type Target = 'zgate' | 'bare';
type OpName = 'create' | 'set' | 'get' | 'bare GET' | 'bare PUT';

interface Row {
  op: OpName;
  target: Target;
  method: string;
  path: string;
  connections: number;
  result: CellResult;
  /** zgate req/s ÷ the baseline route's req/s at the same concurrency (null for baseline rows). */
  vsBare: number | null;
  /** For a cell with failures: one request of the same kind sent afterwards, to show the answer. */
  probe?: string;
}

interface OpDef {
  op: OpName;
  target: Target;
  baseline: OpName | null;
  spec: (origin: string) => Omit<CellSpec, 'connections' | 'durationS' | 'maxRequests'>;
  display: string;
}

const dataBody = Buffer.alloc(SET_BODY_BYTES, 'z');
const octet = { 'content-type': 'application/octet-stream' };
let createCounter = 0;
const nextCreatePath = (): string => `/v1/znodes/bench/n${(createCounter++).toString(36)}`;

const OPS: OpDef[] = [
  { op: 'bare GET', target: 'bare', baseline: null, display: 'GET /bare', spec: (origin) => ({ origin, method: 'GET', path: '/bare' }) },
  { op: 'bare PUT', target: 'bare', baseline: null, display: `PUT /bare (${SET_BODY_BYTES} B)`, spec: (origin) => ({ origin, method: 'PUT', path: '/bare', body: dataBody, headers: octet }) },
  { op: 'get', target: 'zgate', baseline: 'bare GET', display: 'GET /v1/znodes/bench/hot', spec: (origin) => ({ origin, method: 'GET', path: '/v1/znodes/bench/hot' }) },
  { op: 'set', target: 'zgate', baseline: 'bare PUT', display: `PUT /v1/znodes/bench/hot (${SET_BODY_BYTES} B)`, spec: (origin) => ({ origin, method: 'PUT', path: '/v1/znodes/bench/hot', body: dataBody, headers: octet }) },
  { op: 'create', target: 'zgate', baseline: 'bare PUT', display: `POST /v1/znodes/bench/<new> (${SET_BODY_BYTES} B)`, spec: (origin) => ({ origin, method: 'POST', path: nextCreatePath, body: dataBody, headers: octet }) },
];

// ---------------------------------------------------------------------------------------------

const children: BenchChild[] = [];
const tmpDirs: string[] = [];
let log: (line: string) => void = (line) => console.log(line);

async function cleanup(): Promise<void> {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  await Promise.all(tmpDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

function installSignalHandlers(): void {
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\nbench: ${signal}: stopping the servers`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever happens, never leave a server behind.
  process.on('exit', () => {
    for (const c of children) c.killNow();
  });
}

async function request(origin: string, method: string, path: string, body?: Buffer): Promise<{ status: number; text: string }> {
  const res = await fetch(origin + path, {
    method,
    body: body === undefined ? undefined : new Uint8Array(body),
    headers: body !== undefined ? octet : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}

async function probe(origin: string, def: OpDef): Promise<string> {
  const spec = def.spec(origin);
  const path = typeof spec.path === 'string' ? spec.path : spec.path();
  try {
    const { status, text } = await request(origin, spec.method, path, spec.body);
    return `${spec.method} ${path} -> ${status} ${text.slice(0, 300)}`;
  } catch (e) {
    return `${spec.method} ${path} -> ${e instanceof Error ? e.message : String(e)}`;
  }
}

const fmtRps = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fmtMs = (n: number): string => (!Number.isFinite(n) ? '-' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));

function fmtFailures(r: CellResult): string {
  if (r.errors === 0 && r.non2xx === 0) return '0';
  const parts: string[] = [];
  if (r.errors > 0) parts.push(`${r.errors} err${r.timeouts > 0 ? ` (${r.timeouts} timeouts)` : ''}`);
  if (r.non2xx > 0) {
    const codes = Object.entries(r.statusCodes)
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, n]) => `${code}×${n}`)
      .join(' ');
    parts.push(`${r.non2xx} non-2xx (${codes})`);
  }
  return parts.join(', ');
}

function renderTable(rows: Row[]): string {
  const head = ['op', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'errors/non-2xx', 'vs bare'];
  const body = rows.map((r) => [
    r.op,
    String(r.connections),
    fmtRps(r.result.rps),
    fmtMs(r.result.p50Ms),
    fmtMs(r.result.p99Ms),
    fmtFailures(r.result),
    r.vsBare === null ? '-' : `${r.vsBare.toFixed(2)}× ${r.op === 'get' ? 'GET' : 'PUT'}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const numeric = [false, true, true, true, true, false, false];
  const line = (cells: string[]): string =>
    '| ' + cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ') + ' |';
  const sep = '|' + widths.map((w, i) => (numeric[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  return [line(head), sep, ...body.map(line)].join('\n');
}

/** The round with the median req/s (the lower middle for an even count), failures summed over all rounds. */
function medianCell(results: CellResult[]): CellResult {
  const sorted = [...results].sort((a, b) => a.rps - b.rps);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const statusCodes: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const sum = (f: (r: CellResult) => number): number => results.reduce((acc, r) => acc + f(r), 0);
  return { ...mid, errors: sum((r) => r.errors), timeouts: sum((r) => r.timeouts), non2xx: sum((r) => r.non2xx), statusCodes };
}

interface HttpOutcome {
  rows: Row[];
  failed: boolean;
}

async function benchHttp(opts: Options): Promise<HttpOutcome> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const cliScript = productCli();
  const bareScript = join(here, 'bare-server.js');
  for (const s of [cliScript, bareScript]) {
    if (!existsSync(s)) throw new Error(`${s} is missing: build first (npm run build)`);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'zgate-bench-'));
  tmpDirs.push(dataDir);
  const [zPort, bPort] = [await freePort(HOST), await freePort(HOST)];
  const zOrigin = `http://${HOST}:${zPort}`;
  const bOrigin = `http://${HOST}:${bPort}`;

  const bare = new BenchChild('bare server', bareScript, [String(bPort), HOST]);
  children.push(bare);
  const zgate = new BenchChild('zgate', cliScript, ['serve', '--http', `${HOST}:${zPort}`, '--data-dir', dataDir, '--log-level', 'warn']);
  children.push(zgate);
  log(`bench: zgate pid ${zgate.proc.pid} on ${zOrigin} (data ${dataDir}), bare fastify pid ${bare.proc.pid} on ${bOrigin}`);
  await Promise.all([bare.waitHealthy(`${bOrigin}/healthz`), zgate.waitHealthy(`${zOrigin}/healthz`)]);
  // Alive is not ready: a member answers 503 until it has recovered its state (404: a build without /readyz).
  await zgate.waitHealthy(`${zOrigin}/readyz`, 60_000, [200, 404]);

  // Fixtures: the parent of the created znodes, and the znode that set/get hammer.
  for (const [path, body] of [['/v1/znodes/bench', Buffer.alloc(0)], ['/v1/znodes/bench/hot', dataBody]] as const) {
    const { status, text } = await request(zOrigin, 'PUT', path, body);
    if (status !== 200 && status !== 201) throw new Error(`setup PUT ${path} answered ${status}: ${text.slice(0, 300)}`);
  }

  const originOf = (t: Target): string => (t === 'zgate' ? zOrigin : bOrigin);
  const cellOpts = { durationS: opts.durationS, maxRequests: opts.maxRequests };

  if (opts.warmupS > 0) {
    const c = Math.min(16, Math.max(...opts.connections));
    log(`bench: warm-up, ${opts.warmupS} s per route at ${c} connections`);
    for (const def of OPS) {
      await runCell({ ...def.spec(originOf(def.target)), connections: c, durationS: opts.warmupS, maxRequests: opts.maxRequests });
    }
  }

  // Rounds run the whole grid again (interleaved, so a burst of outside load hits one round,
  // not one op); each cell reports its median round by req/s, with failures summed over rounds.
  const perCell = new Map<string, { def: OpDef; connections: number; results: CellResult[]; probe?: string }>();
  const total = opts.rounds * opts.connections.length * OPS.length;
  let done = 0;
  for (let round = 1; round <= opts.rounds; round++) {
    for (const connections of opts.connections) {
      for (const def of OPS) {
        const owner = def.target === 'zgate' ? zgate : bare;
        if (!owner.running) throw new Error(`${owner.name} ${owner.exitDescription ?? 'ended'} during the bench\n${owner.output()}`);
        const result = await runCell({ ...def.spec(originOf(def.target)), connections, ...cellOpts });
        const key = `${def.op}@${connections}`;
        const cell = perCell.get(key) ?? { def, connections, results: [] };
        perCell.set(key, cell);
        cell.results.push(result);
        if ((result.errors > 0 || result.non2xx > 0) && cell.probe === undefined) cell.probe = await probe(originOf(def.target), def);
        done++;
        log(
          `  [${String(done).padStart(String(total).length)}/${total}]${opts.rounds > 1 ? ` r${round}` : ''} ${def.op.padEnd(8)} c=${String(connections).padEnd(3)} ` +
            `${fmtRps(result.rps).padStart(7)} req/s  p50 ${fmtMs(result.p50Ms)} ms  p99 ${fmtMs(result.p99Ms)} ms  ` +
            `failures ${fmtFailures(result)}${result.stoppedBy === 'count' ? '  (count cap reached)' : ''}`,
        );
      }
    }
  }
  const rows: Row[] = [...perCell.values()].map(({ def, connections, results, probe: p }) => {
    const result = medianCell(results);
    const row: Row = { op: def.op, target: def.target, method: def.spec('').method, path: def.display, connections, result, vsBare: null };
    if (p !== undefined) row.probe = p;
    return row;
  });
  for (const row of rows) {
    const def = OPS.find((d) => d.op === row.op)!;
    if (def.baseline === null) continue;
    const base = rows.find((r) => r.op === def.baseline && r.connections === row.connections);
    row.vsBare = base !== undefined && base.result.rps > 0 ? row.result.rps / base.result.rps : null;
  }
  for (const c of [zgate, bare]) {
    if (!c.running) throw new Error(`${c.name} ${c.exitDescription ?? 'ended'} during the bench\n${c.output()}`);
  }
  const failed = rows.some((r) => r.result.errors > 0 || r.result.non2xx > 0);
  return { rows, failed };
}

interface StorageOutcome {
  ran: boolean;
  result?: unknown;
  /** The result as the module's own formatStorageBench renders it, when it exports one. */
  text?: string;
  error?: string;
}

/** Runs dist-tools/tools/bench/storage.js's benchStorage(dir) when that module is built; absent is fine. */
async function benchStorageHook(opts: Options): Promise<StorageOutcome> {
  const file = fileURLToPath(new URL('./storage.js', import.meta.url));
  if (!existsSync(file)) return { ran: false };
  let mod: unknown;
  try {
    const url = pathToFileURL(file).href;
    mod = await import(url);
  } catch (e) {
    return { ran: false, error: `could not load ${file}: ${e instanceof Error ? e.message : String(e)}` };
  }
  const fn = (mod as { benchStorage?: unknown }).benchStorage;
  if (typeof fn !== 'function') return { ran: false };
  const dir = await mkdtemp(join(tmpdir(), 'zgate-bench-storage-'));
  tmpDirs.push(dir);
  // With --json, stdout carries only the JSON document: the storage bench's own prints go to stderr.
  const origLog = console.log;
  if (opts.json) console.log = (...args: unknown[]) => console.error(...args);
  try {
    const result: unknown = await (fn as (dir: string) => unknown)(dir);
    const format = (mod as { formatStorageBench?: unknown }).formatStorageBench;
    if (typeof format === 'function' && result !== undefined && result !== null) {
      try {
        return { ran: true, result, text: String((format as (r: unknown) => unknown)(result)) };
      } catch {
        // fall back to the generic rendering
      }
    }
    return { ran: true, result };
  } catch (e) {
    return { ran: true, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  } finally {
    console.log = origLog;
  }
}

function printStorage(outcome: StorageOutcome): void {
  if (outcome.error !== undefined) {
    console.log(`\nstorage benchmark FAILED: ${outcome.error}`);
    return;
  }
  if (!outcome.ran) {
    console.log('\nstorage benchmark: not built (dist-tools/tools/bench/storage.js with benchStorage absent), skipped');
    return;
  }
  console.log('\nstorage benchmark:');
  const r = outcome.result;
  if (outcome.text !== undefined) console.log(outcome.text);
  else if (r === undefined || r === null) console.log('  (done; it printed its own results)');
  else if (typeof r === 'string') console.log(r);
  else if (Array.isArray(r) && r.every((x) => typeof x === 'object' && x !== null)) console.table(r);
  else console.log(JSON.stringify(r, null, 2));
}

async function main(): Promise<number> {
  let opts: Options | 'help';
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  if (opts === 'help') {
    console.log(HELP);
    return 0;
  }
  if (opts.json) log = (line) => console.error(line);
  installSignalHandlers();
  const started = Date.now();
  const loadBefore = loadavg()[0] ?? 0;
  const parts = await runParts(opts);
  const cpu = cpus();
  const run: RunFacts = {
    elapsedS: (Date.now() - started) / 1000,
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`,
    // A busy machine skews every figure: say how busy it was (1-minute load average).
    load: { before: loadBefore, after: loadavg()[0] ?? 0 },
  };
  if (opts.json) printJson(opts, parts, run);
  else printText(opts, parts, run);
  return parts.exitCode;
}

/** What each part produced (absent: not run, or failed with the error beside it). */
interface Parts {
  exitCode: number;
  http?: HttpOutcome;
  httpError?: string;
  storage?: StorageOutcome;
  compare?: CompareResult;
  compareError?: string;
  ws?: WsBenchResult;
  wsError?: string;
  sessions?: SessionsBenchResult;
  sessionsError?: string;
  httpAuth?: HttpAuthResult;
  httpAuthError?: string;
}

interface RunFacts {
  elapsedS: number;
  machine: string;
  load: { before: number; after: number };
}

const stackOf = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** The parts --only selects, in order; a part that fails sets exit code 1 and the next still runs. */
async function runParts(opts: Options): Promise<Parts> {
  const p: Parts = { exitCode: 0 };
  const selected = (part: NonNullable<Options['only']>): boolean => opts.only === undefined || opts.only === part;
  try {
    if (selected('http')) {
      try {
        p.http = await benchHttp(opts);
        if (p.http.failed) p.exitCode = 1;
      } catch (e) {
        p.httpError = e instanceof Error ? e.message : String(e);
        p.exitCode = 1;
      } finally {
        await cleanup();
      }
    }
    if (selected('http-auth') || opts.only === 'http') {
      log('bench: http-auth (open vs --auth-required with a Bearer token)');
      try {
        const connections = opts.connectionsGiven ? opts.connections : HTTP_AUTH_CONNECTIONS;
        p.httpAuth = await benchHttpAuth({ durationS: opts.durationS, connections, maxRequests: opts.maxRequests, warmupS: opts.warmupS, rounds: opts.rounds, log, children, tmpDirs });
        if (p.httpAuth.failed) p.exitCode = 1;
      } catch (e) {
        p.httpAuthError = stackOf(e);
        p.exitCode = 1;
      } finally {
        await cleanup();
      }
    }
    if (selected('storage')) {
      log('bench: storage');
      p.storage = await benchStorageHook(opts);
      if (p.storage.error !== undefined) p.exitCode = 1;
    }
    if (selected('ws')) {
      log('bench: WebSocket fan-out');
      try {
        p.ws = await benchWs({ ...WS_DEFAULTS, rounds: opts.rounds, log });
      } catch (e) {
        p.wsError = stackOf(e);
        p.exitCode = 1;
      }
    }
    if (selected('sessions')) {
      log('bench: sessions at scale (3 members)');
      try {
        p.sessions = await benchSessions({ ...SESSIONS_DEFAULTS, log });
        if (!p.sessions.ok) p.exitCode = 1;
      } catch (e) {
        p.sessionsError = stackOf(e);
        p.exitCode = 1;
      }
    }
    if (opts.compare) {
      log('bench: zgate vs Apache ZooKeeper (3 members each)');
      try {
        p.compare = await benchCompare({ durationS: opts.durationS, connections: opts.connections, maxRequests: opts.maxRequests, warmupS: opts.warmupS, log });
        if (p.compare.rows.some((r) => r.zgate.failures > 0)) p.exitCode = 1;
      } catch (e) {
        p.compareError = stackOf(e);
        p.exitCode = 1;
      }
    }
  } finally {
    await cleanup();
  }
  return p;
}

function printJson(opts: Options, p: Parts, run: RunFacts): void {
  const { http, storage } = p;
  const doc = {
    ok: p.exitCode === 0,
    machine: run.machine,
    elapsedS: run.elapsedS,
    loadAverage1m: run.load,
    options: { durationS: opts.durationS, connections: opts.connections, maxRequests: opts.maxRequests, warmupS: opts.warmupS, rounds: opts.rounds, only: opts.only ?? null },
    http: http?.rows.map((r) => ({ op: r.op, target: r.target, request: r.path, connections: r.connections, ...r.result, vsBare: r.vsBare, probe: r.probe })) ?? null,
    httpError: p.httpError ?? null,
    httpAuth: p.httpAuth ?? null,
    httpAuthError: p.httpAuthError ?? null,
    storage: storage === undefined ? null : { ran: storage.ran, result: storage.result ?? null, error: storage.error ?? null },
    compare: p.compare ?? null,
    compareError: p.compareError ?? null,
    ws: p.ws ?? null,
    wsError: p.wsError ?? null,
    sessions: p.sessions ?? null,
    sessionsError: p.sessionsError ?? null,
  };
  console.log(JSON.stringify(doc, null, 2));
}

function printText(opts: Options, p: Parts, run: RunFacts): void {
  const { http, storage, ws, sessions, compare } = p;
  if (http !== undefined) printHttp(opts, http, run);
  if (p.httpError !== undefined) console.log(`\nHTTP benchmark FAILED: ${p.httpError}`);
  if (p.httpAuth !== undefined) {
    console.log(`\nHTTP under auth: the same build open and with --auth-required (Bearer token on every request), back to back per pair; load average ${run.load.before.toFixed(2)} → ${run.load.after.toFixed(2)}:\n`);
    console.log(formatHttpAuth(p.httpAuth));
  }
  if (p.httpAuthError !== undefined) console.log(`\nHTTP-auth benchmark FAILED: ${p.httpAuthError}`);
  if (storage !== undefined) printStorage(storage);
  if (http !== undefined && storage?.result !== undefined) printDurableWrites(http.rows, storage.result);
  if (ws !== undefined) {
    console.log(`\nWebSocket fan-out: ${ws.sockets.toLocaleString('en-US')} sockets on one member, one persistent watch each on one path, vs a bare ws broadcast server (same clients, same run):\n`);
    console.log(formatWs(ws));
  }
  if (p.wsError !== undefined) console.log(`\nWebSocket fan-out benchmark FAILED: ${p.wsError}`);
  if (sessions !== undefined) {
    console.log(`\nsessions at scale: ${sessions.sessions.toLocaleString('en-US')} sessions on 3 members (leader ${sessions.leader}), timeout ${sessions.timeoutMs} ms, vs the idle cluster:\n`);
    console.log(formatSessions(sessions));
  }
  if (p.sessionsError !== undefined) console.log(`\nsessions benchmark FAILED: ${p.sessionsError}`);
  if (compare !== undefined) {
    console.log(
      `\nzgate (3 members, HTTP, writes to the leader) vs Apache ZooKeeper ${compare.zkVersion} (3 servers, one session per client over all three); ` +
        `creates of ${100}-byte znodes, ${opts.durationS} s per cell, default fsync on both:\n`,
    );
    console.log(renderCompare(compare));
  }
  if (p.compareError !== undefined) console.log(`\ncomparison with ZooKeeper FAILED: ${p.compareError}`);
  console.log(`\nbench: ${p.exitCode === 0 ? 'ok' : 'FAILED'} in ${run.elapsedS.toFixed(1)} s`);
}

function printHttp(opts: Options, http: HttpOutcome, run: RunFacts): void {
  const { load } = run;
  console.log(
    `\nzgate HTTP vs bare fastify (${run.machine}; ${opts.durationS} s per cell${opts.rounds > 1 ? `, median of ${opts.rounds} rounds` : ''}, cap ${opts.maxRequests.toLocaleString('en-US')} requests; ` +
      `load average ${load.before.toFixed(2)} before, ${load.after.toFixed(2)} after)\n`,
  );
  console.log(renderTable(http.rows));
  console.log('\nvs bare: zgate req/s ÷ bare fastify req/s at the same concurrency (reads vs GET /bare, writes vs PUT /bare).');
  for (const r of http.rows.filter((x) => x.probe !== undefined)) {
    console.log(`FAILURES in ${r.op} c=${r.connections}: ${fmtFailures(r.result)}; a probe request afterwards: ${r.probe}`);
  }
}

/**
 * Durable writes over HTTP as a multiple of this disk's raw fsync rate, both measured in this
 * run (targets: >= 0.8x at 1 client, >= 10x at 128).
 */
function printDurableWrites(rows: HttpOutcome['rows'], storageResult: unknown): void {
  const fsyncPerSec = (storageResult as { fsyncPerSec?: unknown }).fsyncPerSec;
  if (typeof fsyncPerSec !== 'number' || fsyncPerSec <= 0) return;
  console.log(`\ndurable writes over HTTP vs the disk's raw fsync rate (${Math.round(fsyncPerSec)}/s, measured above):`);
  for (const r of rows.filter((x) => x.op === 'set' || x.op === 'create')) {
    console.log(`  ${r.op.padEnd(7)} c=${String(r.connections).padEnd(4)} ${(r.result.rps / fsyncPerSec).toFixed(2)}x`);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    for (const c of children) c.killNow();
    process.exit(1);
  },
);
