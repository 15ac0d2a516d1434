/**
 * Sessions at scale (measured, not asserted) on a 3-member cluster of real processes (loopback,
 * fresh data dirs), every figure next to a baseline taken in the same run:
 *
 *   0. the idle cluster, no session yet, for --idle-s seconds: each member's CPU share and the
 *      bytes they send each other (Raft heartbeats): the baseline of step 2;
 *   1. N sessions (default 10,000) with a timeout T (default 10 s, zgate's default), one
 *      ephemeral znode each (--no-ephemerals: none), created by --workers client processes
 *      (tools/bench/sessions-clients.ts), which keep every session alive at its natural rate, a
 *      keepalive every T/3, from its creation on. --keepalive http (the default): created
 *      through the followers, then POST .../keepalive with the slots spread evenly over the
 *      period and the requests over the three members in turn, so two thirds reach a follower
 *      and are passed to the leader in batches. --keepalive ws: one WebSocket per session,
 *      spread over the members, bound with {"op":"session"}: the member holding the socket
 *      touches the session every T/3 itself (a browser tab's presence);
 *   2. once all exist and a period has passed, --measure-s seconds of that: each member's CPU
 *      share (/proc/<pid>/stat) against step 0's, the bytes between members (the kernel's
 *      tcp_info via `ss`, per process) against step 0's, so the difference is what the
 *      keepalives cost, per session and per second; and the followers' batch counters;
 *   3. keepalives stop and the leader is stopped (SIGTERM: it hands leadership over): the new
 *      leader restarts every session's clock at once, so all fall due together one timeout
 *      later; the time from that deadline until no session is open on either member (as a
 *      fraction of T), and the expiry rate against the creation rate of step 1.
 *
 *   npm run build && node dist-tools/tools/bench/sessions.js [--keepalive http|ws] [--sessions N] [--timeout-ms T] [--json]
 *   (or: npm run bench -- --only sessions)
 *
 * Linux only (/proc, ss). Bounded: every wait has a deadline. The result says ok: false when a
 * keepalive failed, a session expired before its time, or the sessions did not all expire.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { productCli } from '../paths.js';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchChild, freePort } from './children.js';
import type { FromSessionsWorker, KeepaliveMode, KeepaliveStats, ToSessionsWorker } from './sessions-clients.js';
import { cpuSecondsOf, nowMs, sentBetween, tcpEndsOn } from './stats.js';
import { ForkedWorker } from './worker.js';

const HOST = '127.0.0.1';

export interface SessionsBenchOptions {
  sessions: number;
  timeoutMs: number;
  idleS: number;
  measureS: number;
  workers: number;
  /** Creates in flight, over all workers. */
  createConcurrency: number;
  ephemerals: boolean;
  keepalive: KeepaliveMode;
  log: (line: string) => void;
}

export const SESSIONS_DEFAULTS: Omit<SessionsBenchOptions, 'log'> = { sessions: 10_000, timeoutMs: 10_000, idleS: 5, measureS: 10, workers: 2, createConcurrency: 256, ephemerals: true, keepalive: 'http' };

/** One window of the cluster's activity. */
export interface Window {
  seconds: number;
  /** CPU share of one core, per member role. */
  cpu: { leader: number; followers: number[] };
  /** Bytes per second each member sent to the others (TCP payload, frames and all). */
  peerBytesPerSecond: { leader: number; followers: number[]; total: number };
  /** Connections between members that opened or closed during the window (0: the counts are exact). */
  peerConnectionsChanged: number;
}

export interface SessionsBenchResult {
  sessions: number;
  timeoutMs: number;
  ephemerals: boolean;
  keepalive: KeepaliveMode;
  leader: number;
  /** retries: creates sent again after 503 (a leader change while creating, on a busy machine). */
  create: { ms: number; writesPerSecond: number; retries: number };
  idle: Window;
  loaded: Window & {
    /** http: keepalive requests the clients sent per second; ws: the members' own touches, at the natural rate. */
    keepalivesPerSecond: number;
    /** The rate the schedule asks for: N / (T/3). */
    naturalRatePerSecond: number;
    keepalives: KeepaliveStats;
    forwardedIdsPerSecond: number;
    forwardedBatchesPerSecond: number;
    clientCpu: number;
  };
  /** The keepalives' share: loaded minus idle. */
  keepaliveCost: {
    leaderCpu: number;
    /** CPU µs of the three members together per keepalive. */
    clusterCpuUsPerKeepalive: number;
    peerBytesPerSecond: number;
    peerBytesPerSessionPerSecond: number;
  };
  expiry: {
    openAtStop: number;
    electionMs: number;
    /** From the common deadline (the new leader's election + T) until none is open on either surviving member. */
    afterDeadlineMs: number | undefined;
    firstToLastMs: number | undefined;
    sessionsPerSecond: number | undefined;
    ephemeralsLeft: number | undefined;
  };
  loadAverage1m: { before: number; after: number };
  ok: boolean;
  problems: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function getJson(origin: string, path: string): Promise<unknown> {
  try {
    const res = await fetch(origin + path, { signal: AbortSignal.timeout(5_000) });
    return (await res.json()) as unknown;
  } catch {
    return undefined;
  }
}

async function metrics(origin: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    const text = await (await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    for (const line of text.split('\n')) {
      const m = /^([a-z_]+) ([0-9.e+-]+)$/.exec(line);
      if (m) out.set(m[1]!, Number(m[2]));
    }
  } catch {
    // a member that does not answer has no figures: the caller sees NaN
  }
  return out;
}

/** A client process of this benchmark, with the progress of its creates. */
class SessionsWorker extends ForkedWorker<ToSessionsWorker, FromSessionsWorker> {
  created = 0;
  createdMs: number | undefined;
  retries = 0;
  error: string | undefined;

  constructor(script: string) {
    super(script, 'sessions client', (m) => {
      if (m.t === 'created') this.created = m.n;
      else if (m.t === 'createdAll') {
        this.createdMs = m.ms;
        this.retries = m.retries;
      } else if (m.t === 'createFailed') this.error = m.error;
    });
  }
}

function sumStats(all: KeepaliveStats[]): KeepaliveStats {
  return {
    lostSockets: all.reduce((n, s) => n + s.lostSockets, 0),
    sent: all.reduce((n, s) => n + s.sent, 0),
    ok: all.reduce((n, s) => n + s.ok, 0),
    failed: all.reduce((n, s) => n + s.failed, 0),
    firstFailure: all.find((s) => s.firstFailure !== undefined)?.firstFailure,
    maxLagMs: Math.max(0, ...all.map((s) => s.maxLagMs)),
    recentMaxLagMs: Math.max(0, ...all.map((s) => s.recentMaxLagMs)),
    late: all.reduce((n, s) => n + s.late, 0),
  };
}

export async function benchSessions(o: SessionsBenchOptions): Promise<SessionsBenchResult> {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const cli = productCli();
  const clientScript = join(here, 'sessions-clients.js');
  const loadBefore = loadavg()[0] ?? 0;
  const root = await mkdtemp(join(tmpdir(), 'zgate-bench-sessions-'));
  const cluster = new SessionsCluster(o, root);
  await cluster.allocatePorts();
  const onExit = (): void => cluster.killNow();
  process.once('exit', onExit);
  try {
    await cluster.start(cli);
    // 0. the idle cluster: the baseline of the loaded window.
    const idle = await cluster.window(o.idleS);
    o.log(`  idle ${idle.seconds.toFixed(1)} s: leader CPU ${(idle.cpu.leader * 100).toFixed(1)}% of a core, members send each other ${(idle.peerBytesPerSecond.total / 1024).toFixed(1)} KiB/s`);
    // 1. sessions (+ ephemerals) through the followers, kept alive from their creation on.
    const create = await cluster.createSessions(clientScript);
    // A full period at the steady rate before measuring: every session has had its keepalive.
    await sleep(o.timeoutMs / 3);
    // 2. measured: the same window as the idle one, now with N sessions kept alive.
    const measured = await cluster.measure(idle);
    // 3. all at once: keepalives stop and the leader is stopped.
    const handover = await cluster.handOver();
    const expired = await cluster.awaitExpiry(handover);
    const { stopped, openAtStop } = handover;
    const { expiry, expiredEarly, allExpired } = expired;
    return {
      sessions: o.sessions,
      timeoutMs: o.timeoutMs,
      ephemerals: o.ephemerals,
      keepalive: o.keepalive,
      leader: cluster.leader,
      create,
      idle: { seconds: idle.seconds, cpu: idle.cpu, peerBytesPerSecond: idle.peerBytesPerSecond, peerConnectionsChanged: idle.peerConnectionsChanged },
      loaded: { ...measured.loaded, seconds: measured.loaded.seconds },
      keepaliveCost: measured.keepaliveCost,
      expiry,
      loadAverage1m: { before: loadBefore, after: loadavg()[0] ?? 0 },
      ok: measured.stableLeader && stopped.failed === 0 && stopped.lostSockets === 0 && openAtStop >= o.sessions && !expiredEarly && allExpired && (!o.ephemerals || expiry.ephemeralsLeft === 0),
      problems: sessionsProblems(o, create, measured, handover, expired),
    };
  } finally {
    process.removeListener('exit', onExit);
    await cluster.stopAll();
  }
}

type Loaded = SessionsBenchResult['loaded'] & { wall: number };

/** Step 2's figures, and whether the leader stayed the same throughout. */
interface Measured {
  loaded: Loaded;
  keepaliveCost: SessionsBenchResult['keepaliveCost'];
  stableLeader: boolean;
  /** zgate_raft_leader_changes before and after the window. */
  leaderChanges: [number, number];
}

/** Where step 3 starts: keepalives stopped, the old leader gone, the new one elected. */
interface Handover {
  stopped: KeepaliveStats;
  openAtStop: number;
  stopAt: number;
  electedAt: number;
  newLeader: number;
}

interface Expired {
  expiry: SessionsBenchResult['expiry'];
  expiredEarly: boolean;
  allExpired: boolean;
}

/** The three members of one run, and the client processes that drive them. */
class SessionsCluster {
  readonly ids = [1, 2, 3];
  leader = 0;
  followers: number[] = [];
  private readonly http = new Map<number, number>();
  private readonly peer = new Map<number, number>();
  private readonly members = new Map<number, BenchChild>();
  private readonly workers: SessionsWorker[] = [];

  constructor(
    private readonly o: SessionsBenchOptions,
    private readonly root: string,
  ) {}

  async allocatePorts(): Promise<void> {
    for (const id of this.ids) {
      this.http.set(id, await freePort(HOST));
      this.peer.set(id, await freePort(HOST));
    }
  }

  base(id: number): string {
    return `http://${HOST}:${this.http.get(id)}`;
  }

  private pidOf(id: number): number {
    return this.members.get(id)!.proc.pid!;
  }

  async stopAll(): Promise<void> {
    for (const w of this.workers) w.stop();
    await Promise.all([...this.members.values()].map((m) => m.stop()));
    await rm(this.root, { recursive: true, force: true });
  }

  killNow(): void {
    for (const w of this.workers) w.stop();
    for (const m of this.members.values()) m.killNow();
  }

  /** The members, ready, with a leader; and /bench for the ephemerals. */
  async start(cli: string): Promise<void> {
    const { o, ids } = this;
    const peers = ids.map((id) => `${id}=${HOST}:${this.peer.get(id)}`).join(',');
    for (const id of ids) {
      const args = ['serve', '--id', String(id), '--peers', peers, '--http', `${HOST}:${this.http.get(id)}`, '--data-dir', join(this.root, String(id)), '--log-level', 'warn'];
      this.members.set(id, new BenchChild(`member ${id}`, cli, [...args, '--max-session-timeout-ms', String(Math.max(60_000, o.timeoutMs))]));
    }
    await Promise.all(ids.map((id) => this.members.get(id)!.waitHealthy(`${this.base(id)}/readyz`, 60_000)));
    let leader = 0;
    for (let i = 0; i < 400 && leader === 0; i++) {
      const v = (await getJson(this.base(1), '/v1/cluster')) as { leaderId?: number | null } | undefined;
      leader = v?.leaderId ?? 0;
      if (leader === 0) await sleep(50);
    }
    if (leader === 0) throw new Error('the cluster elected no leader within 20 s');
    this.leader = leader;
    this.followers = ids.filter((id) => id !== leader);
    o.log(`bench sessions: 3 members (pids ${ids.map((id) => this.pidOf(id)).join(', ')}), leader ${leader}; ${o.sessions.toLocaleString('en-US')} sessions, timeout ${o.timeoutMs} ms`);
    if (o.ephemerals) {
      const res = await fetch(`${this.base(leader)}/v1/znodes/bench`, { method: 'PUT', body: '', headers: { 'content-type': 'application/octet-stream' } });
      await res.arrayBuffer();
      if (res.status !== 200 && res.status !== 201) throw new Error(`setup PUT /bench answered ${res.status}`);
    }
  }

  /** CPU and peer bytes of every member over `seconds` from now. */
  async window(seconds: number): Promise<Window & { wall: number }> {
    const { ids } = this;
    const peerPorts = [...this.peer.values()];
    const cpu0 = new Map(ids.map((id) => [id, cpuSecondsOf(this.pidOf(id))]));
    const net0 = tcpEndsOn(peerPorts);
    const t0 = nowMs();
    await sleep(seconds * 1000);
    const net1 = tcpEndsOn(peerPorts);
    const cpu1 = new Map(ids.map((id) => [id, cpuSecondsOf(this.pidOf(id))]));
    const wall = (nowMs() - t0) / 1000;
    const sent = sentBetween(net0, net1);
    const share = (id: number): number => (cpu1.get(id)! - cpu0.get(id)!) / wall;
    const bytes = (id: number): number => (sent.byPid.get(this.pidOf(id)) ?? 0) / wall;
    return {
      seconds: wall,
      wall,
      cpu: { leader: share(this.leader), followers: this.followers.map(share) },
      peerBytesPerSecond: { leader: bytes(this.leader), followers: this.followers.map(bytes), total: ids.reduce((n, id) => n + bytes(id), 0) },
      peerConnectionsChanged: sent.changed,
    };
  }

  /** Step 1: the client processes create every session, and keep each alive from its creation on. */
  async createSessions(clientScript: string): Promise<SessionsBenchResult['create']> {
    const { o, workers } = this;
    const t0 = nowMs();
    const per = Math.ceil(o.sessions / o.workers);
    for (let w = 0; w < o.workers; w++) {
      const count = Math.min(per, o.sessions - w * per);
      if (count <= 0) break;
      const worker = new SessionsWorker(clientScript);
      workers.push(worker);
      worker.send({
        t: 'start',
        mode: o.keepalive,
        members: this.ids.map((id) => this.base(id)),
        createVia: this.followers.map((id) => this.base(id)),
        count,
        firstIndex: w * per,
        timeoutMs: o.timeoutMs,
        ephemerals: o.ephemerals,
        createConcurrency: Math.max(1, Math.floor(o.createConcurrency / o.workers)),
        // HTTP/1.1 answers one request per connection at a time: on a busy machine a keepalive
        // may take 100 ms, and 3,000/s over 2 workers and 3 members then needs ~50 per member.
        connectionsPerMember: 128,
      });
    }
    // Creation is bounded by the cluster's write rate; give it a generous but finite time.
    const createDeadline = nowMs() + Math.max(120_000, o.sessions * 30);
    let lastLog = nowMs();
    while (workers.some((w) => w.createdMs === undefined)) {
      const failed = workers.find((w) => w.error !== undefined);
      if (failed !== undefined) throw new Error(failed.error);
      if (nowMs() > createDeadline) throw new Error(`only ${workers.reduce((n, w) => n + w.created, 0)} of ${o.sessions} sessions were created within ${((createDeadline - t0) / 1000).toFixed(0)} s`);
      if (nowMs() - lastLog > 10_000) {
        lastLog = nowMs();
        o.log(`  ${workers.reduce((n, w) => n + w.created, 0).toLocaleString('en-US')} sessions created`);
      }
      await sleep(100);
    }
    const createMs = nowMs() - t0;
    const writes = o.sessions * (o.ephemerals ? 2 : 1);
    const create = { ms: createMs, writesPerSecond: writes / (createMs / 1000), retries: workers.reduce((n, w) => n + w.retries, 0) };
    if (create.retries > 0) o.log(`  (${create.retries} creates sent again after 503 Unavailable: the leader changed while creating)`);
    o.log(`  ${o.sessions.toLocaleString('en-US')} sessions${o.ephemerals ? ' + ephemerals' : ''} created in ${(createMs / 1000).toFixed(1)} s (${create.writesPerSecond.toFixed(0)} writes/s)`);
    return create;
  }

  private async metricsOfAll(): Promise<Map<number, Map<string, number>>> {
    return new Map(await Promise.all(this.ids.map(async (id) => [id, await metrics(this.base(id))] as const)));
  }

  /** Step 2: a window like the idle one, with the keepalives' counts and the followers' batches over it. */
  async measure(idle: Window): Promise<Measured> {
    const { o, workers, followers } = this;
    const stats = async (): Promise<{ at: number; stats: KeepaliveStats }> => {
      const all = await Promise.all(workers.map((w) => w.ask({ t: 'stats' }, 'stats', 10_000)));
      return { at: nowMs(), stats: sumStats(all.map((r) => r.stats)) };
    };
    const ka0 = await stats();
    const m0 = await this.metricsOfAll();
    const clientCpu0 = workers.reduce((n, w) => n + w.cpuSeconds, 0);
    const leaderChanges = async (): Promise<number> => (await metrics(this.base(this.leader))).get('zgate_raft_leader_changes') ?? NaN;
    const changes0 = await leaderChanges();
    const win = await this.window(o.measureS);
    const changes1 = await leaderChanges();
    const clientCpu = (workers.reduce((n, w) => n + w.cpuSeconds, 0) - clientCpu0) / win.wall;
    const m1 = await this.metricsOfAll();
    const ka1 = await stats();
    const delta = (id: number, name: string): number => (m1.get(id)!.get(name) ?? NaN) - (m0.get(id)!.get(name) ?? NaN);
    // Counts of the window only (maxLagMs too: the lag since ka0's request).
    const keepalives: KeepaliveStats = {
      ...ka1.stats,
      sent: ka1.stats.sent - ka0.stats.sent,
      ok: ka1.stats.ok - ka0.stats.ok,
      failed: ka1.stats.failed - ka0.stats.failed,
      late: ka1.stats.late - ka0.stats.late,
      maxLagMs: ka1.stats.recentMaxLagMs,
    };
    const naturalRatePerSecond = o.sessions / (o.timeoutMs / 3 / 1000);
    // The requests counted span the two stats calls, a little more than the window itself.
    const keepalivesPerSecond = o.keepalive === 'http' ? keepalives.sent / ((ka1.at - ka0.at) / 1000) : naturalRatePerSecond;
    const forwardedIds = followers.reduce((n, f) => n + delta(f, 'zgate_session_keepalives_forwarded_total'), 0);
    const forwardedBatches = followers.reduce((n, f) => n + delta(f, 'zgate_session_keepalive_batches_total'), 0);
    const loaded: Loaded = {
      ...win,
      keepalivesPerSecond,
      naturalRatePerSecond,
      keepalives,
      forwardedIdsPerSecond: forwardedIds / win.wall,
      forwardedBatchesPerSecond: forwardedBatches / win.wall,
      clientCpu,
    };
    this.logLoaded(loaded, idle);
    // An election in the window (a starved member on a busy machine) makes its figures meaningless.
    return { loaded, keepaliveCost: keepaliveCost(o, loaded, idle), stableLeader: changes1 === changes0, leaderChanges: [changes0, changes1] };
  }

  private logLoaded(win: Loaded, idle: Window): void {
    const { o } = this;
    const { keepalives, keepalivesPerSecond, naturalRatePerSecond } = win;
    if (o.keepalive === 'http') o.log(`  loaded ${win.seconds.toFixed(1)} s: ${keepalivesPerSecond.toFixed(0)} keepalives/s (natural rate ${naturalRatePerSecond.toFixed(0)}/s), ${keepalives.failed} failed, ${keepalives.late} late (max ${keepalives.maxLagMs.toFixed(0)} ms behind)`);
    else o.log(`  loaded ${win.seconds.toFixed(1)} s: ${o.sessions} sessions held by WebSockets (the members touch each every T/3: ${naturalRatePerSecond.toFixed(0)}/s), ${keepalives.lostSockets} sockets lost`);
    o.log(`  leader CPU ${(win.cpu.leader * 100).toFixed(1)}% of a core (idle ${(idle.cpu.leader * 100).toFixed(1)}%), followers ${win.cpu.followers.map((c) => `${(c * 100).toFixed(1)}%`).join(', ')}; members send each other ${(win.peerBytesPerSecond.total / 1024).toFixed(1)} KiB/s (idle ${(idle.peerBytesPerSecond.total / 1024).toFixed(1)})`);
  }

  /**
   * Step 3's start: keepalives stop and the leader is stopped (SIGTERM: it hands leadership
   * over first). The new leader starts every session's clock at the same moment, as
   * ZooKeeper does, so all N fall due together one timeout later.
   */
  async handOver(): Promise<Handover> {
    const { followers } = this;
    const stopped = sumStats((await Promise.all(this.workers.map((w) => w.ask({ t: 'stop' }, 'stopped', 30_000)))).map((r) => r.stats));
    const openAtStop = (await metrics(this.base(followers[0]!))).get('zgate_sessions_open') ?? NaN;
    const stopAt = nowMs();
    await this.members.get(this.leader)!.stop();
    let newLeader = 0;
    const electionDeadline = nowMs() + 30_000;
    while (newLeader === 0) {
      if (nowMs() > electionDeadline) throw new Error('no new leader within 30 s of stopping the old one');
      const views = await Promise.all(followers.map(async (id) => ((await getJson(this.base(id), '/v1/cluster')) as { leaderId?: number | null } | undefined)?.leaderId ?? 0));
      if (views.every((v) => v === views[0]) && followers.includes(views[0]!)) newLeader = views[0]!;
      else await sleep(10);
    }
    const electedAt = nowMs();
    this.o.log(`  leader ${this.leader} stopped with ${openAtStop} sessions open; ${newLeader} leads after ${(electedAt - stopAt).toFixed(0)} ms: every session falls due in ${this.o.timeoutMs} ms`);
    return { stopped, openAtStop, stopAt, electedAt, newLeader };
  }

  /** Step 3: from the common deadline until no session is open on either surviving member. */
  async awaitExpiry(h: Handover): Promise<Expired> {
    const { o, followers } = this;
    const { openAtStop } = h;
    const due = h.electedAt + o.timeoutMs;
    let firstExpiry = 0;
    let allGone = 0;
    let expiredEarly = false;
    const giveUp = due + 120_000;
    while (nowMs() < giveUp) {
      const open = await Promise.all(followers.map(async (id) => (await metrics(this.base(id))).get('zgate_sessions_open') ?? NaN));
      if (firstExpiry === 0 && open.some((n) => n < openAtStop)) {
        firstExpiry = nowMs();
        // The new leader's clocks run from its election: an expiry well before the deadline is a bug.
        if (firstExpiry < due - 500) expiredEarly = true;
      }
      if (open.every((n) => n === 0)) {
        allGone = nowMs();
        break;
      }
      await sleep(20);
    }
    const expiry = {
      openAtStop,
      electionMs: h.electedAt - h.stopAt,
      afterDeadlineMs: allGone === 0 ? undefined : allGone - due,
      firstToLastMs: allGone === 0 ? undefined : allGone - firstExpiry,
      sessionsPerSecond: allGone === 0 ? undefined : openAtStop / (Math.max(1, allGone - firstExpiry) / 1000),
      ephemeralsLeft: (await metrics(this.base(h.newLeader))).get('zgate_ephemerals'),
    };
    if (allGone === 0) o.log('  not every session expired within 2 minutes of the deadline');
    else o.log(`  expiry of ${openAtStop} sessions at once: none open on either member ${expiry.afterDeadlineMs!.toFixed(0)} ms after the deadline; ${expiry.firstToLastMs!.toFixed(0)} ms from the first expiry seen to the last (${expiry.sessionsPerSecond!.toFixed(0)} sessions/s, with their ephemerals)`);
    for (const id of followers) if (!this.members.get(id)!.running) throw new Error(`member ${id} ${this.members.get(id)!.exitDescription ?? 'ended'}\n${this.members.get(id)!.output()}`);
    return { expiry, expiredEarly, allExpired: allGone !== 0 };
  }
}

/** The keepalives' share: the loaded window minus the idle one. */
function keepaliveCost(o: SessionsBenchOptions, win: Loaded, idle: Window): SessionsBenchResult['keepaliveCost'] {
  const allCpu = (w: Window): number => w.cpu.leader + w.cpu.followers.reduce((a, b) => a + b, 0);
  const peerDelta = win.peerBytesPerSecond.total - idle.peerBytesPerSecond.total;
  return {
    leaderCpu: win.cpu.leader - idle.cpu.leader,
    clusterCpuUsPerKeepalive: ((allCpu(win) - allCpu(idle)) * 1e6) / win.keepalivesPerSecond,
    peerBytesPerSecond: peerDelta,
    peerBytesPerSessionPerSecond: peerDelta / o.sessions,
  };
}

function sessionsProblems(o: SessionsBenchOptions, create: SessionsBenchResult['create'], m: Measured, h: Handover, e: Expired): string[] {
  const { stopped, openAtStop } = h;
  const { keepalives, keepalivesPerSecond, naturalRatePerSecond } = m.loaded;
  const problems: string[] = [];
  if (!m.stableLeader) problems.push(`the leader changed during the measured window (zgate_raft_leader_changes ${m.leaderChanges[0]} → ${m.leaderChanges[1]}): its figures are not a steady state`);
  if (create.retries > 0) problems.push(`${create.retries} creates were sent again after 503 Unavailable (a leader change while creating)`);
  if (stopped.lostSockets > 0) problems.push(`${stopped.lostSockets} WebSockets holding a session closed before the end (${stopped.firstFailure ?? '?'})`);
  if (stopped.failed > 0) problems.push(`${stopped.failed} keepalives failed (first: ${stopped.firstFailure ?? '?'}): sessions expired while kept alive, or members refused`);
  // More than N: a retried create left a session nobody keeps alive, not expired yet.
  if (openAtStop < o.sessions) problems.push(`${openAtStop} sessions open when the keepalives stopped, not ${o.sessions}`);
  if (e.expiredEarly) problems.push('a session expired before the new leader\'s deadline');
  if (!e.allExpired) problems.push('the sessions did not all expire within 2 minutes of their deadline');
  if (o.ephemerals && e.expiry.ephemeralsLeft !== 0) problems.push(`${e.expiry.ephemeralsLeft ?? '?'} ephemerals left after every session expired`);
  if (o.keepalive === 'http' && keepalivesPerSecond < 0.95 * naturalRatePerSecond) {
    problems.push(`the measured window had ${keepalivesPerSecond.toFixed(0)} keepalives/s, ${(keepalivesPerSecond / naturalRatePerSecond).toFixed(2)}× the natural rate: its figures understate the load`);
  }
  // Late keepalives are the load generator's lag (a busy machine), not zgate's: reported, not failed.
  if (stopped.late > 0) {
    problems.push(
      `${stopped.late} of ${stopped.sent} keepalives went out more than a tenth of a period late (max ${stopped.maxLagMs.toFixed(0)} ms behind; ` +
        `in the measured window ${keepalives.late}, max ${keepalives.maxLagMs.toFixed(0)} ms): the load generator fell behind`,
    );
  }
  return problems;
}

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
const kib = (v: number): string => `${(v / 1024).toFixed(1)} KiB/s`;

export function formatSessions(r: SessionsBenchResult): string {
  const n = r.sessions.toLocaleString('en-US');
  const e = r.expiry;
  const rows: [string, string, string][] = [
    ['', 'idle cluster (baseline)', `${n} sessions kept alive (${r.keepalive === 'http' ? 'HTTP' : 'WebSocket'})`],
    r.keepalive === 'http'
      ? ['HTTP keepalives per second (sent / natural rate N÷(T/3))', '-', `${r.loaded.keepalivesPerSecond.toFixed(0)} / ${r.loaded.naturalRatePerSecond.toFixed(0)}`]
      : ['keepalives per second (WebSocket-held: N÷(T/3), by the members)', '-', r.loaded.naturalRatePerSecond.toFixed(0)],
    ['leader CPU, share of one core', pct(r.idle.cpu.leader), `${pct(r.loaded.cpu.leader)} (${(r.loaded.cpu.leader / r.idle.cpu.leader).toFixed(1)}×)`],
    ['followers CPU', r.idle.cpu.followers.map(pct).join(', '), r.loaded.cpu.followers.map(pct).join(', ')],
    ['bytes between members', kib(r.idle.peerBytesPerSecond.total), `${kib(r.loaded.peerBytesPerSecond.total)} (${(r.loaded.peerBytesPerSecond.total / r.idle.peerBytesPerSecond.total).toFixed(2)}×)`],
    ['  sent by the followers', kib(r.idle.peerBytesPerSecond.followers.reduce((a, b) => a + b, 0)), kib(r.loaded.peerBytesPerSecond.followers.reduce((a, b) => a + b, 0))],
    ['follower → leader keepalive batches', '-', `${r.loaded.forwardedBatchesPerSecond.toFixed(1)}/s, ${(r.loaded.forwardedIdsPerSecond / Math.max(1e-9, r.loaded.forwardedBatchesPerSecond)).toFixed(0)} ids each`],
    ['load generator CPU (client processes)', '-', pct(r.loaded.clientCpu)],
  ];
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
  lines.splice(1, 0, w.map((x) => '-'.repeat(x)).join('  '));
  const c = r.keepaliveCost;
  lines.push(
    '',
    `keepalives' share (loaded − idle): leader +${pct(c.leaderCpu)} of a core; the three members ${c.clusterCpuUsPerKeepalive.toFixed(0)} µs of CPU per keepalive; ` +
      `${kib(c.peerBytesPerSecond)} between members = ${c.peerBytesPerSessionPerSecond.toFixed(2)} bytes per session per second.`,
    `creating ${n} sessions${r.ephemerals ? ' with an ephemeral each' : ''} ${r.keepalive === 'http' ? 'over HTTP through the followers' : 'over WebSockets spread over the members'}: ` +
      `${(r.create.ms / 1000).toFixed(1)} s (${(r.sessions / (r.create.ms / 1000)).toFixed(0)} sessions/s, ${r.create.writesPerSecond.toFixed(0)} log entries/s).`,
    e.afterDeadlineMs === undefined
      ? `expiry of ${e.openAtStop} sessions at once: NOT all expired within 2 minutes of the deadline.`
      : `expiry of ${e.openAtStop.toLocaleString('en-US')} sessions at once (timeout T = ${r.timeoutMs / 1000} s, after a leader change that restarted every clock): none open ` +
        `${(e.afterDeadlineMs / 1000).toFixed(1)} s after the common deadline (T + ${((e.afterDeadlineMs / r.timeoutMs) * 100).toFixed(0)}%); ` +
        `${e.sessionsPerSecond!.toFixed(0)} sessions/s${r.ephemerals ? ' with their ephemerals' : ''} (one closeSession entry each), ` +
        `${(e.sessionsPerSecond! / (r.sessions / (r.create.ms / 1000))).toFixed(2)}× the rate at which they were created.`,
  );
  if (r.idle.peerConnectionsChanged + r.loaded.peerConnectionsChanged > 0) lines.push('(a link between members reconnected during a window: its bytes are approximate)');
  for (const p of r.problems) lines.push(`PROBLEM: ${p}`);
  lines.push(`load average ${r.loadAverage1m.before.toFixed(2)} before, ${r.loadAverage1m.after.toFixed(2)} after.`);
  return lines.join('\n');
}

function parseCli(argv: string[]): { opts: Omit<SessionsBenchOptions, 'log'>; json: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sessions: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'idle-s': { type: 'string' },
      'measure-s': { type: 'string' },
      workers: { type: 'string' },
      concurrency: { type: 'string' },
      'no-ephemerals': { type: 'boolean' },
      keepalive: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(`node dist-tools/tools/bench/sessions.js [options]   (also: npm run bench -- --only sessions)

Sessions at scale on 3 members: N sessions kept alive at their natural rate (one keepalive per
timeout/3) against the idle cluster measured first (leader CPU, bytes between members), then
the expiry of every session at once.

  --sessions N          sessions (default ${SESSIONS_DEFAULTS.sessions})
  --timeout-ms N        session timeout asked for (default ${SESSIONS_DEFAULTS.timeoutMs})
  --idle-s S            seconds of the idle baseline (default ${SESSIONS_DEFAULTS.idleS})
  --measure-s S         seconds measured with the sessions alive (default ${SESSIONS_DEFAULTS.measureS})
  --workers N           client processes (default ${SESSIONS_DEFAULTS.workers}, at most 64)
  --concurrency N       session creates in flight (default ${SESSIONS_DEFAULTS.createConcurrency})
  --no-ephemerals       sessions without an ephemeral znode each
  --keepalive http|ws   keepalives over HTTP, or sessions held by WebSockets (default ${SESSIONS_DEFAULTS.keepalive})
  --json                the result as JSON
  --help                this text`);
    process.exit(0);
  }
  const num = (v: string | undefined, d: number, min: number): number => {
    if (v === undefined) return d;
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) throw new Error(`expected a number >= ${min}, got '${v}'`);
    return x;
  };
  const d = SESSIONS_DEFAULTS;
  const keepalive = values.keepalive ?? d.keepalive;
  if (keepalive !== 'http' && keepalive !== 'ws') throw new Error(`--keepalive: expected http or ws, got '${keepalive}'`);
  return {
    opts: {
      sessions: Math.floor(num(values.sessions, d.sessions, 1)),
      timeoutMs: Math.floor(num(values['timeout-ms'], d.timeoutMs, 1000)),
      idleS: num(values['idle-s'], d.idleS, 0.5),
      measureS: num(values['measure-s'], d.measureS, 0.5),
      workers: Math.min(64, Math.floor(num(values.workers, d.workers, 1))),
      createConcurrency: Math.floor(num(values.concurrency, d.createConcurrency, 1)),
      ephemerals: values['no-ephemerals'] !== true,
      keepalive,
    },
    json: values.json === true,
  };
}

// Run as a script (not when main.ts imports it for `npm run bench -- --only sessions`).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { opts, json } = parseCli(process.argv.slice(2));
  benchSessions({ ...opts, log: (line) => console.error(line) }).then(
    (r) => {
      console.log(json ? JSON.stringify(r, null, 2) : formatSessions(r));
      process.exit(r.ok ? 0 : 1);
    },
    (e: unknown) => {
      console.error(`bench sessions: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exit(1);
    },
  );
}
