/**
 * `npm run bench -- --only http-auth` (also part of `--only http` and of the full run): what
 * authentication costs on the HTTP path. Two members of the same build run side by side on
 * loopback: one open, one with `--auth-required`, on which a token is minted with Basic
 * (`POST /v1/auth/tokens`) and sent as `Authorization: Bearer` with every request. GET and PUT
 * of one znode (100 B) at each concurrency (default 16 and 128), the open and the auth cell of
 * each pair back to back, so outside load hits both alike; each pair prints auth/open. With
 * --rounds N the pairs run N times, the order within a pair alternating (the second cell of a
 * pair runs slower on this machine, whichever it is), and a row reports the median of its
 * rounds' ratios. Bounded: rounds × 2 ops × connections × 2 members cells of --duration each
 * (plus warm-up).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { productCli } from '../paths.js';
import { BenchChild, freePort } from './children.js';
import { runCell, type CellResult, type Method } from './load.js';

const HOST = '127.0.0.1';
const BODY = Buffer.alloc(100, 'z');
const OCTET = { 'content-type': 'application/octet-stream' };

export const HTTP_AUTH_CONNECTIONS = [16, 128];

export interface HttpAuthOptions {
  durationS: number;
  connections: number[];
  maxRequests: number;
  warmupS: number;
  rounds: number;
  log: (line: string) => void;
  /** Where the caller keeps its children and temp dirs, to stop and remove them whatever happens. */
  children: BenchChild[];
  tmpDirs: string[];
}

export interface HttpAuthRow {
  op: 'get' | 'set';
  connections: number;
  open: CellResult;
  auth: CellResult;
  /** auth req/s ÷ open req/s: the median over the rounds. */
  ratio: number;
  /** Each round's ratio, in round order. */
  ratios: number[];
  /** The members' CPU µs per answered request, over all rounds (the cost of checking, apart from the load generator). */
  openCpuUs: number;
  authCpuUs: number;
}

export interface HttpAuthResult {
  rows: HttpAuthRow[];
  failed: boolean;
  /** The load generator and the members ran on different cores. */
  pinned: boolean;
}

/**
 * CPU seconds (user + system) a process has used, from /proc/PID/stat: what the member spends
 * per request whatever the load generator, which shares these cores, manages to send.
 */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Sets a process's CPUs (Linux `taskset`): the load generator (this process) on one core and the
 * members on another, so that what is measured is the member's work, not the two fighting over
 * both cores. False when it cannot be done (one core, no taskset): the cells then share the cores.
 */
function pin(pid: number | undefined, cpuList: string): boolean {
  if (pid === undefined) return false;
  const r = spawnSync('taskset', ['-a', '-pc', cpuList, String(pid)], { stdio: 'ignore' });
  return r.status === 0;
}

async function startMember(children: BenchChild[], tmpDirs: string[], name: string, extra: string[]): Promise<{ origin: string; pid: number | undefined }> {
  const dir = await mkdtemp(join(tmpdir(), 'zgate-bench-auth-'));
  tmpDirs.push(dir);
  const port = await freePort(HOST);
  const child = new BenchChild(name, productCli(), ['serve', '--http', `${HOST}:${port}`, '--data-dir', dir, '--log-level', 'warn', ...extra]);
  children.push(child);
  const origin = `http://${HOST}:${port}`;
  await child.waitHealthy(`${origin}/healthz`);
  await child.waitHealthy(`${origin}/readyz`, 60_000, [200, 404]);
  return { origin, pid: child.proc.pid };
}

async function put(origin: string, path: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(origin + path, { method: 'PUT', body: new Uint8Array(BODY), headers: { ...OCTET, ...headers }, signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200 && res.status !== 201) throw new Error(`setup PUT ${path} on ${origin} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

export async function benchHttpAuth(o: HttpAuthOptions): Promise<HttpAuthResult> {
  const [openMember, authMember] = await Promise.all([
    startMember(o.children, o.tmpDirs, 'zgate (open)', []),
    startMember(o.children, o.tmpDirs, 'zgate (--auth-required)', ['--auth-required']),
  ]);
  const openOrigin = openMember.origin;
  const authOrigin = authMember.origin;
  const n = cpus().length;
  const everyCpu = `0-${n - 1}`;
  const pinned = n >= 2 && pin(process.pid, '0') && pin(openMember.pid, String(n - 1)) && pin(authMember.pid, String(n - 1));
  o.log(pinned ? `bench: http-auth: the load generator on cpu 0, both members on cpu ${n - 1} (taskset)` : 'bench: http-auth: not pinned (one core or no taskset): the load generator shares the cores with the member');
  try {
    return await measure(o, openOrigin, authOrigin, openMember.pid, authMember.pid, pinned);
  } finally {
    if (pinned) pin(process.pid, everyCpu);
  }
}

async function measure(o: HttpAuthOptions, openOrigin: string, authOrigin: string, openPid: number | undefined, authPid: number | undefined, pinned: boolean): Promise<HttpAuthResult> {
  const basic = `Basic ${Buffer.from('bench:bench').toString('base64')}`;
  const res = await fetch(`${authOrigin}/v1/auth/tokens`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/json' }, body: JSON.stringify({ ttlMs: 3_600_000 }), signal: AbortSignal.timeout(10_000) });
  const minted = (await res.json()) as { token?: string };
  if (res.status !== 201 || typeof minted.token !== 'string') throw new Error(`POST /v1/auth/tokens answered ${res.status}`);
  const bearer = { authorization: `Bearer ${minted.token}` };
  o.log(`bench: http-auth: open member ${openOrigin}, --auth-required member ${authOrigin} (a token of digest:bench, Bearer on every request)`);
  await put(openOrigin, '/v1/znodes/hot', {});
  await put(authOrigin, '/v1/znodes/hot', bearer);

  const cpu = { open: { s: 0, n: 0 }, auth: { s: 0, n: 0 } };
  const cell = async (origin: string, headers: Record<string, string>, method: Method, connections: number, durationS: number): Promise<CellResult> => {
    const which = origin === authOrigin ? cpu.auth : cpu.open;
    const pid = origin === authOrigin ? authPid : openPid;
    const before = cpuSeconds(pid);
    const r = await runCellAt(origin, headers, method, connections, durationS);
    which.s += cpuSeconds(pid) - before;
    which.n += r.requests;
    return r;
  };
  const runCellAt = (origin: string, headers: Record<string, string>, method: Method, connections: number, durationS: number): Promise<CellResult> =>
    runCell({
      origin,
      method,
      path: '/v1/znodes/hot',
      ...(method === 'PUT' ? { body: BODY, headers: { ...OCTET, ...headers } } : { headers }),
      connections,
      durationS,
      maxRequests: o.maxRequests,
    });
  if (o.warmupS > 0) {
    for (const m of ['GET', 'PUT'] as const) {
      await cell(openOrigin, {}, m, 16, o.warmupS);
      await cell(authOrigin, bearer, m, 16, o.warmupS);
    }
  }
  const rows: HttpAuthRow[] = [];
  for (const connections of o.connections) {
    for (const [op, method] of [['get', 'GET'], ['set', 'PUT']] as const) {
      const rounds: { open: CellResult; auth: CellResult; ratio: number }[] = [];
      for (const c of [cpu.open, cpu.auth]) {
        c.s = 0;
        c.n = 0;
      }
      for (let round = 0; round < o.rounds; round++) {
        const authFirst = round % 2 === 1;
        const first = await cell(authFirst ? authOrigin : openOrigin, authFirst ? bearer : {}, method, connections, o.durationS);
        const second = await cell(authFirst ? openOrigin : authOrigin, authFirst ? {} : bearer, method, connections, o.durationS);
        const [open, auth] = authFirst ? [second, first] : [first, second];
        const ratio = open.rps > 0 ? auth.rps / open.rps : NaN;
        rounds.push({ open, auth, ratio });
        o.log(`  ${op} c=${connections}${o.rounds > 1 ? ` r${round + 1}${authFirst ? ' (auth first)' : ''}` : ''}: open ${Math.round(open.rps)} req/s, auth ${Math.round(auth.rps)} req/s, auth/open ${ratio.toFixed(2)}`);
      }
      const sorted = [...rounds].sort((a, b) => a.ratio - b.ratio);
      const mid = sorted[(sorted.length - 1) >> 1]!;
      rows.push({ op, connections, open: mid.open, auth: mid.auth, ratio: mid.ratio, ratios: rounds.map((r) => r.ratio), openCpuUs: (cpu.open.s / cpu.open.n) * 1e6, authCpuUs: (cpu.auth.s / cpu.auth.n) * 1e6 });
    }
  }
  const failed = rows.some((r) => r.open.errors + r.open.non2xx + r.auth.errors + r.auth.non2xx > 0);
  return { rows, failed, pinned };
}

export function formatHttpAuth(r: HttpAuthResult): string {
  const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
  const fail = (c: CellResult): number => c.errors + c.non2xx;
  const caption = r.pinned ? 'The load generator on one core, the members on another (taskset).' : 'The load generator shared the cores with the members.';
  const lines = [caption, '', '| op | conns | open req/s | auth req/s | auth/open (median) | rounds | member CPU µs/req open → auth | open p50/p99 ms | auth p50/p99 ms | failures open/auth |', '|---|---:|---:|---:|---:|---|---:|---:|---:|---|'];
  for (const x of r.rows) {
    lines.push(
      `| ${x.op === 'get' ? 'GET' : 'PUT'} | ${x.connections} | ${Math.round(x.open.rps).toLocaleString('en-US')} | ${Math.round(x.auth.rps).toLocaleString('en-US')} | ${x.ratio.toFixed(2)}× | ${x.ratios.map((v) => v.toFixed(2)).join(' ')} | ${x.openCpuUs.toFixed(1)} → ${x.authCpuUs.toFixed(1)} (${(x.authCpuUs / x.openCpuUs).toFixed(2)}×) | ` +
        `${ms(x.open.p50Ms)} / ${ms(x.open.p99Ms)} | ${ms(x.auth.p50Ms)} / ${ms(x.auth.p99Ms)} | ${fail(x.open)} / ${fail(x.auth)} |`,
    );
  }
  return lines.join('\n');
}
