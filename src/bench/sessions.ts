#!/usr/bin/env node
/**
 * Sessions at scale on a 3-member cluster of real processes (loopback, fresh data dirs):
 *
 *   1. N sessions (default 10,000) with a timeout T (default 10 s), one ephemeral znode each
 *      (--no-ephemerals: none), created through the followers;
 *   2. keepalives at their natural rate (each session every T/3, spread evenly over time and
 *      over the three members, so two thirds reach a follower and are forwarded), from the
 *      first session on; once all exist and a period has passed, --measure-s seconds of it are
 *      measured: the CPU share of each member (from /proc/<pid>/stat), the keepalive traffic
 *      from followers to the leader (ids and batches from the members' metrics, bytes computed
 *      from the frame encoding), and how many keepalives failed;
 *   3. keepalives stop and the leader is stopped (it hands leadership over): the new leader
 *      restarts every session's clock at once, so all fall due together one timeout later; the
 *      time from that deadline until no session is open on either member, and the expiry rate.
 *
 *   npm run build && node dist/bench/sessions.js [--sessions N] [--timeout-ms T] [--measure-s S] [--json]
 *
 * Linux only (reads /proc). Exits 1 when a member fails, a keepalive answered other than 200,
 * or the sessions do not all expire.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encode } from '../util/codec.js';
import { BenchChild, freePort } from './children.js';

const HOST = '127.0.0.1';

interface Options {
  sessions: number;
  timeoutMs: number;
  measureS: number;
  concurrency: number;
  ephemerals: boolean;
  json: boolean;
}

function parse(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sessions: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'measure-s': { type: 'string' },
      concurrency: { type: 'string' },
      'no-ephemerals': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const int = (v: string | undefined, d: number): number => (v === undefined ? d : Math.max(1, Math.floor(Number(v))));
  return {
    sessions: int(values.sessions, 10_000),
    timeoutMs: int(values['timeout-ms'], 10_000),
    measureS: int(values['measure-s'], 20),
    concurrency: int(values.concurrency, 64),
    ephemerals: values['no-ephemerals'] !== true,
    json: values.json === true,
  };
}

const log = (s: string): void => void process.stderr.write(s + '\n');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function call(base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  try {
    const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  } catch {
    return { status: 0, body: undefined };
  }
}

/** CPU seconds (user + system) a process has used. */
function cpuSeconds(pid: number, ticksPerSecond: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

async function metrics(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+) ([0-9.e+-]+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/**
 * Keepalives at the natural rate: slot i (session i) every `period` ms at offset i/N of it,
 * sent to the members in turn; slots whose session does not exist yet are skipped.
 */
class KeepaliveLoad {
  sent = 0;
  failures = 0;
  private running = true;
  private inflight = 0;
  private readonly done: Promise<void>;

  constructor(sessions: (string | undefined)[], period: number, targets: string[]) {
    const n = sessions.length;
    const start = Date.now();
    this.done = (async () => {
      for (let k = 0; this.running; k++) {
        const due = start + Math.floor(k / n) * period + ((k % n) / n) * period;
        const wait = due - Date.now();
        if (wait > 2) await sleep(wait);
        while (this.inflight >= 512 && this.running) await sleep(1);
        const id = sessions[k % n];
        if (id === undefined) continue;
        this.inflight++;
        void call(targets[k % targets.length]!, 'POST', `/v1/sessions/${id}/keepalive`).then((r) => {
          this.inflight--;
          this.sent++;
          if (r.status !== 200) this.failures++;
        });
      }
      while (this.inflight > 0) await sleep(5);
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** Runs `fn` over items with bounded concurrency. */
async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const root = await mkdtemp(join(tmpdir(), 'zgate-bench-sessions-'));
  const ids = [1, 2, 3];
  const http = new Map<number, number>();
  const peer = new Map<number, number>();
  for (const id of ids) {
    http.set(id, await freePort());
    peer.set(id, await freePort());
  }
  const peers = ids.map((id) => `${id}=${HOST}:${peer.get(id)}`).join(',');
  const base = (id: number): string => `http://${HOST}:${http.get(id)}`;
  const members = new Map<number, BenchChild>();
  const stopAll = async (): Promise<void> => {
    await Promise.all([...members.values()].map((m) => m.stop()));
    await rm(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    for (const id of ids) {
      members.set(
        id,
        new BenchChild(`member ${id}`, cli, ['serve', '--id', String(id), '--peers', peers, '--http', `${HOST}:${http.get(id)}`, '--data-dir', join(root, String(id)), '--log-level', 'warn', '--max-session-timeout-ms', String(Math.max(60_000, o.timeoutMs))]),
      );
    }
    await Promise.all(ids.map((id) => members.get(id)!.waitHealthy(`${base(id)}/readyz`, 30_000)));
    let leader = 0;
    for (let i = 0; i < 200 && leader === 0; i++) {
      const v = (await call(base(1), 'GET', '/v1/cluster')).body as { leaderId: number | null } | undefined;
      leader = v?.leaderId ?? 0;
      if (leader === 0) await sleep(50);
    }
    if (leader === 0) throw new Error('no leader');
    const followers = ids.filter((id) => id !== leader);
    log(`cluster up: leader ${leader}, followers ${followers.join(', ')}`);

    // 1. sessions and their ephemerals, through the followers, kept alive from the start.
    const period = o.timeoutMs / 3;
    const t0 = Date.now();
    const sessions: (string | undefined)[] = new Array<string | undefined>(o.sessions).fill(undefined);
    const load = new KeepaliveLoad(sessions, period, ids.map(base));
    await pool([...Array(o.sessions).keys()], o.concurrency, async (i) => {
      const via = base(followers[i % followers.length]!);
      const r = await call(via, 'POST', '/v1/sessions', JSON.stringify({ timeoutMs: o.timeoutMs }));
      if (r.status !== 201) throw new Error(`create session: ${r.status} ${JSON.stringify(r.body)}`);
      const id = (r.body as { sessionId: string }).sessionId;
      if (o.ephemerals) {
        const e = await call(via, 'POST', `/v1/znodes/bench/s${i}?mode=ephemeral&parents=true`, '', { 'zgate-session': id });
        if (e.status !== 201) throw new Error(`ephemeral: ${e.status} ${JSON.stringify(e.body)}`);
      }
      sessions[i] = id;
    });
    const createMs = Date.now() - t0;
    log(`${o.sessions} sessions${o.ephemerals ? ' + ephemerals' : ''} created in ${createMs} ms (${((o.sessions * (o.ephemerals ? 2 : 1)) / (createMs / 1000)).toFixed(0)} writes/s)`);
    await sleep(period);

    // 2. measured: keepalives at the natural rate, each session every T/3, spread over the period and the members.
    const before = { sent: load.sent, failures: load.failures, cpu: new Map(ids.map((id) => [id, cpuSeconds(members.get(id)!.proc.pid!, ticks)])), m: new Map(await Promise.all(ids.map(async (id) => [id, await metrics(base(id))] as const))) };
    const start = Date.now();
    await sleep(o.measureS * 1000);
    const sent = load.sent - before.sent;
    const wall = (Date.now() - start) / 1000;
    const after = { cpu: new Map(ids.map((id) => [id, cpuSeconds(members.get(id)!.proc.pid!, ticks)])), m: new Map(await Promise.all(ids.map(async (id) => [id, await metrics(base(id))] as const))) };
    const delta = (id: number, name: string): number => (after.m.get(id)!.get(name) ?? 0) - (before.m.get(id)!.get(name) ?? 0);
    const cpu = Object.fromEntries(ids.map((id) => [id === leader ? `leader (${id})` : `follower (${id})`, (after.cpu.get(id)! - before.cpu.get(id)!) / wall]));
    let fwdIds = 0;
    let fwdBatches = 0;
    for (const f of followers) {
      fwdIds += delta(f, 'zgate_session_keepalives_forwarded_total');
      fwdBatches += delta(f, 'zgate_session_keepalive_batches_total');
    }
    // Bytes on the wire of those batches: the peer frame is a u32 length + msgpack {t:'ka', ids:[bigint...]}.
    const avgBatch = fwdBatches > 0 ? Math.round(fwdIds / fwdBatches) : 0;
    const frameBytes = 4 + encode({ t: 'ka', ids: Array.from({ length: avgBatch }, () => (1n << 62n) + 12345n) }).length;
    const traffic = {
      keepalivesPerSecond: sent / wall,
      keepaliveFailures: load.failures - before.failures,
      forwardedIdsPerSecond: fwdIds / wall,
      forwardedBatchesPerSecond: fwdBatches / wall,
      idsPerBatch: avgBatch,
      forwardedBytesPerSecond: (fwdBatches / wall) * frameBytes,
      leaderReceivedIdsPerSecond: delta(leader, 'zgate_session_keepalives_received_total') / wall,
    };
    log(`keepalives: ${traffic.keepalivesPerSecond.toFixed(0)}/s for ${wall.toFixed(1)} s, ${traffic.keepaliveFailures} failed (${load.failures} since the first session)`);
    log(`CPU share (of one core): ${Object.entries(cpu).map(([k2, v]) => `${k2} ${(v * 100).toFixed(1)}%`).join(', ')}`);
    log(`follower -> leader: ${traffic.forwardedBatchesPerSecond.toFixed(1)} batches/s, ${traffic.forwardedIdsPerSecond.toFixed(0)} ids/s, ~${avgBatch} ids/batch, ~${(traffic.forwardedBytesPerSecond / 1024).toFixed(1)} KiB/s`);

    // 3. all at once: keepalives stop and the leader is stopped (SIGTERM: it hands leadership
    //    over first). The new leader starts every session's clock at the same moment, as
    //    ZooKeeper does, so all N fall due together one timeout later.
    await load.stop();
    const failures = load.failures;
    const openAtStop = (await metrics(base(followers[0]!))).get('zgate_sessions_open') ?? NaN;
    await members.get(leader)!.stop();
    let newLeader = 0;
    while (newLeader === 0) {
      const views = await Promise.all(followers.map(async (id) => ((await call(base(id), 'GET', '/v1/cluster')).body as { leaderId?: number | null } | undefined)?.leaderId ?? 0));
      if (views.every((v) => v === views[0]) && followers.includes(views[0]!)) newLeader = views[0]!;
      else await sleep(10);
    }
    const due = Date.now() + o.timeoutMs;
    log(`leader ${leader} stopped with ${openAtStop} sessions open; ${newLeader} leads: every session falls due in ${o.timeoutMs} ms`);
    let firstExpiry = 0;
    let allGone = 0;
    const giveUp = due + 120_000;
    while (Date.now() < giveUp) {
      const open = await Promise.all(followers.map(async (id) => (await metrics(base(id))).get('zgate_sessions_open') ?? NaN));
      if (firstExpiry === 0 && open.some((n) => n < openAtStop)) firstExpiry = Date.now();
      if (open.every((n) => n === 0)) {
        allGone = Date.now();
        break;
      }
      await sleep(20);
    }
    const expiry = {
      openAtStop,
      /** From the common deadline (the new leader's election + the timeout) until none is open on either member. */
      afterDeadlineMs: allGone === 0 ? undefined : allGone - due,
      firstToLastMs: allGone === 0 ? undefined : allGone - firstExpiry,
      sessionsPerSecond: allGone === 0 ? undefined : openAtStop / (Math.max(1, allGone - firstExpiry) / 1000),
      ephemeralsLeft: (await metrics(base(newLeader))).get('zgate_ephemerals'),
    };
    if (allGone === 0) log('not every session expired within 2 minutes of the deadline');
    else log(`expiry of ${openAtStop} sessions at once: none open on either member ${expiry.afterDeadlineMs} ms after the deadline; ${expiry.firstToLastMs} ms from the first expiry seen to the last (${expiry.sessionsPerSecond!.toFixed(0)} sessions/s, with their ephemerals)`);
    const result = { sessions: o.sessions, timeoutMs: o.timeoutMs, createMs, measureS: wall, cpu, traffic, expiry };
    if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    for (const id of followers) if (!members.get(id)!.running) throw new Error(`member ${id} ${members.get(id)!.exitDescription ?? 'ended'}\n${members.get(id)!.output()}`);
    return failures === 0 && allGone !== 0 && expiry.ephemeralsLeft === 0 ? 0 : 1;
  } finally {
    await stopAll();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`bench/sessions: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    process.exit(1);
  },
);
