/**
 * One fault-injection run (Jepsen-style, on real processes):
 *
 *  1. start N members behind per-link proxies (cluster.ts), wait for a leader, create /faults;
 *  2. start watchers and clients, and the nemesis on the seeded schedule;
 *  3. heal everything, let the clients run healed a little, stop them;
 *  4. wait until every member applied the same zxid and the watchers caught up to it;
 *  5. final linearizable reads of every register and group znode (they join the history),
 *     and a dump of /faults from every member;
 *  6. run the checkers (tools/checker) and summarise.
 *
 * Every run prints its seed and the command that replays it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import type { FaultEvent, FaultKind, ScheduleOptions } from './nemesis.js';
import { LEADER_LOSS, Nemesis, planSchedule } from './nemesis.js';
import { FaultCluster } from './cluster.js';
import { Client, DEFAULT_WORKLOAD, History, httpCall, KeySpace, MonoClock, type WorkloadOptions } from './clients.js';
import { Watcher } from './watchers.js';
import { SessionWorker } from './sessions.js';
import { checkSessions, type SessionReport } from '../checker/sessions.js';
import { timelineSvg } from './report.js';
import { Prng } from '../../src/util/prng.js';
import type { HistoryOp, NodeDump, TreeDump, WatcherLog } from '../checker/history.js';
import {
  checkFailedInvisible,
  checkLinearizability,
  checkLocalReads,
  checkLostWrites,
  checkMultiAtomic,
  checkReplicas,
  checkSessionOrder,
  checkWatches,
  checkZxidsUnique,
  type CheckReport,
  type LinearizabilityReport,
  type MemberDump,
  type WatchReport,
} from '../checker/invariants.js';

export interface FaultRunOptions {
  seed: number;
  members?: number;
  /** Length of the faulty phase, ms. */
  durationMs?: number;
  clients?: number;
  watchers?: number;
  /** Clients keep running this long after the faults healed, ms. */
  healMs?: number;
  kinds?: readonly FaultKind[];
  schedule?: Omit<ScheduleOptions, 'kinds'>;
  workload?: Partial<WorkloadOptions>;
  /** More serve arguments for every member. */
  memberArgs?: string[];
  /** More environment for every member (a test-only defect). */
  env?: NodeJS.ProcessEnv;
  /** Session workers (default: one per two members). */
  sessionWorkers?: number;
  /** Odd clients retry indeterminate writes with an Idempotency-Key (default true). */
  retries?: boolean;
  /** WGL time budget per partition, ms. */
  checkBudgetMs?: number;
  /** Write summary.json, history.jsonl, timeline.svg... here. */
  reportDir?: string;
  /** The command that replays this run (printed with the seed). */
  replay?: string;
  log?: (line: string) => void;
  entry?: string;
}

export interface Summary {
  seed: number;
  replay: string;
  members: number;
  clients: number;
  durationS: number;
  operations: { total: number; completed: number; indeterminate: number; failed: number; errorOutcomes: number; reads: number; writes: number; byWorkload: Record<string, number> };
  faults: Record<string, number>;
  histories: { checked: number; ok: number; illegal: number; unknown: number; operations: number };
  violations: Record<string, number> & { total: number };
  lostAcknowledgedWrites: number;
  watch: { watchers: number; events: number; gaps: number; duplicates: number; reorderings: number; mismatches: number; connections: number; compacted: number };
  unavailability: {
    /** Faults that take one member (the leader) away. */
    longestAfterLeaderLossMs: number | null;
    /** restart-all: from the kill of every member (includes the time they stay down). */
    longestAfterRestartAllMs: number | null;
    /** restart-all: from the moment every member answered /healthz again. */
    longestAfterRestartAllRestartedMs: number | null;
    afterLeaderLoss: { kind: string; atS: number; ms: number | null; afterRestartMs?: number | null }[];
    longestWriteGapMs: number;
  };
  sessions: { sessions: number; ephemerals: number; closed: number; expired: number; worstExpiryOverrunMs: number | null };
  /** Idempotent retries of indeterminate writes: sent, settled, answers marked replayed. */
  retries: { sent: number; settled: number; replayed: number };
  harnessErrors: number;
  converged: boolean;
  finalZxid: number | null;
}

export interface FaultRunResult {
  ok: boolean;
  summary: Summary;
  checks: CheckReport[];
  linearizability: LinearizabilityReport;
  watch: WatchReport;
  sessions: SessionReport;
  history: HistoryOp[];
  faults: FaultEvent[];
  watchers: WatcherLog[];
  /** Problems of the run itself (not converging...). */
  problems: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function replayCommand(o: FaultRunOptions, members: number, durationMs: number): string {
  return o.replay ?? `npm run faults -- --seed ${o.seed} --members ${members} --time ${Math.round(durationMs / 1000)}${o.kinds ? ` --kinds ${o.kinds.join(',')}` : ''}`;
}

/** PUT with If-None-Match: *, retried until created or already there. */
async function ensureZnode(cluster: FaultCluster, path: string, deadline: number): Promise<void> {
  const agent = new Agent({ keepAlive: false });
  for (let i = 0; ; i++) {
    const id = cluster.ids[i % cluster.ids.length]!;
    const r = await httpCall(agent, cluster.httpPort.get(id)!, 'PUT', `/v1/znodes${path}`, { 'if-none-match': '*' }, '', 3000);
    if (r.kind === 'answer' && (r.status === 201 || r.status === 412)) return;
    if (Date.now() > deadline) throw new Error(`could not create ${path}: ${JSON.stringify(r).slice(0, 300)}`);
    await sleep(100);
  }
}

async function finalRead(cluster: FaultCluster, leader: number, clock: MonoClock, history: History, workload: 'register' | 'group', partition: string, path: string): Promise<void> {
  const agent = new Agent({ keepAlive: false });
  const deadline = Date.now() + 15_000;
  let member = leader;
  for (;;) {
    const call = clock.now();
    const r = await httpCall(agent, cluster.httpPort.get(member)!, 'GET', `/v1/znodes${path}?consistency=linearizable`, {}, undefined, 3000);
    const ret = clock.now();
    if (r.kind === 'answer' && (r.status === 200 || r.status === 404)) {
      const b = JSON.parse(r.body) as { data?: string; stat?: { version: number; mzxid: string }; error?: { code: string } };
      const op: HistoryOp = { id: history.id(), client: 0, member, workload, partition, input: { f: 'get', path }, read: 'linearizable', call, ret, status: 'ok', zxid: Number(r.headers['zgate-zxid']), final: true };
      if (r.status === 200) {
        op.output = { t: 'ok', data: b.data ?? '', version: b.stat!.version };
        op.mzxid = Number(b.stat!.mzxid);
      } else op.output = { t: 'err', code: 'NoNode' };
      history.ops.push(op);
      return;
    }
    if (Date.now() > deadline) throw new Error(`final read of ${path} failed: ${JSON.stringify(r).slice(0, 300)}`);
    member = cluster.ids[(cluster.ids.indexOf(member) + 1) % cluster.ids.length]!;
    await sleep(100);
  }
}

/** Every znode under `root` as member `id` holds it (local reads). */
async function dumpTree(cluster: FaultCluster, id: number, root: string): Promise<TreeDump> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const tree: TreeDump = new Map();
  const queue = [root];
  const worker = async (): Promise<void> => {
    for (;;) {
      const path = queue.shift();
      if (path === undefined) return;
      let r = await httpCall(agent, cluster.httpPort.get(id)!, 'GET', `/v1/znodes${path}?children=true`, {}, undefined, 10_000);
      for (let i = 0; i < 3 && (r.kind !== 'answer' || r.status !== 200); i++) r = await httpCall(agent, cluster.httpPort.get(id)!, 'GET', `/v1/znodes${path}?children=true`, {}, undefined, 10_000);
      if (r.kind !== 'answer' || r.status !== 200) throw new Error(`dump of member ${id}: ${path}: ${JSON.stringify(r).slice(0, 300)}`);
      const b = JSON.parse(r.body) as { data: string; stat: Record<string, string | number>; children: string[] };
      const s = b.stat;
      const n: NodeDump = {
        data: b.data,
        version: Number(s.version),
        czxid: Number(s.czxid),
        mzxid: Number(s.mzxid),
        pzxid: Number(s.pzxid),
        cversion: Number(s.cversion),
        numChildren: Number(s.numChildren),
        ephemeralOwner: String(s.ephemeralOwner),
      };
      tree.set(path, n);
      for (const c of b.children) queue.push(`${path}/${c}`);
    }
  };
  // Breadth first with a few workers; a worker that finds the queue empty while others still
  // expand may stop early, so loop until the queue stays empty.
  while (queue.length > 0) await Promise.all(Array.from({ length: 8 }, () => worker()));
  agent.destroy();
  return tree;
}

/**
 * The owners of the final tree's ephemerals that are open now, or whose ephemerals are all
 * gone by now (the session expired after the dump: no leak).
 */
async function sessionsOpenAtEnd(cluster: FaultCluster, leader: number, final: TreeDump): Promise<Set<string>> {
  const agent = new Agent({ keepAlive: false });
  const byOwner = new Map<string, string[]>();
  for (const [p, n] of final) if (n.ephemeralOwner !== '0') byOwner.set(n.ephemeralOwner, [...(byOwner.get(n.ephemeralOwner) ?? []), p]);
  const open = new Set<string>();
  const port = cluster.httpPort.get(leader)!;
  for (const [owner, paths] of byOwner) {
    const s = await httpCall(agent, port, 'GET', `/v1/sessions/${owner}`, {}, undefined, 5_000);
    if (s.kind === 'answer' && s.status === 200) {
      open.add(owner);
      continue;
    }
    let gone = true;
    for (const p of paths) {
      const g = await httpCall(agent, port, 'GET', `/v1/znodes${p}?consistency=linearizable`, {}, undefined, 5_000);
      if (!(g.kind === 'answer' && g.status === 404)) gone = false;
    }
    if (gone) open.add(owner);
  }
  return open;
}

/**
 * Unavailability after each fault that takes the leader away: from the fault's start to the
 * completion of the first acknowledged write invoked after it (so it includes the fault's
 * own length when nothing can be elected meanwhile, as for restart-all: those are reported
 * apart, with the time from the restart to the first write as well).
 */
function unavailability(history: readonly HistoryOp[], faults: readonly FaultEvent[]): Summary['unavailability'] {
  const writes = history.filter((o) => o.status === 'ok' && !o.final && (o.input as { f: string }).f !== 'get' && Number.isFinite(o.ret)).sort((a, b) => a.call - b.call);
  const firstAfter = (t: number): number | null => {
    let best = Infinity;
    for (const w of writes) if (w.call >= t && w.ret - t < best) best = w.ret - t;
    return Number.isFinite(best) ? Math.round(best / 1000) : null;
  };
  const after = faults
    .filter((f) => LEADER_LOSS.has(f.kind) || (f.leaderBefore !== undefined && f.targets.includes(f.leaderBefore) && f.kind !== 'bridge' && f.kind !== 'flaky'))
    .map((f) => ({ kind: f.kind, atS: Math.round(f.start / 1e4) / 100, ms: firstAfter(f.start), ...(f.kind === 'restart-all' && Number.isFinite(f.end) ? { afterRestartMs: firstAfter(f.end) } : {}) }));
  const done = writes.map((w) => w.ret).sort((a, b) => a - b);
  let gap = 0;
  for (let i = 1; i < done.length; i++) gap = Math.max(gap, done[i]! - done[i - 1]!);
  const max = (xs: (number | null | undefined)[]): number | null => {
    const k = xs.filter((m): m is number => typeof m === 'number');
    return k.length > 0 ? Math.max(...k) : null;
  };
  return {
    longestAfterLeaderLossMs: max(after.filter((a) => a.kind !== 'restart-all').map((a) => a.ms)),
    longestAfterRestartAllMs: max(after.filter((a) => a.kind === 'restart-all').map((a) => a.ms)),
    longestAfterRestartAllRestartedMs: max(after.map((a) => a.afterRestartMs)),
    afterLeaderLoss: after,
    longestWriteGapMs: Math.round(gap / 1000),
  };
}

export async function runFaults(o: FaultRunOptions): Promise<FaultRunResult> {
  const members = o.members ?? 3;
  const durationMs = o.durationMs ?? 30_000;
  const log = o.log ?? ((l: string) => console.log(l));
  const replay = replayCommand(o, members, durationMs);
  log(`faults: seed ${o.seed}, ${members} members, ${durationMs / 1000}s of faults; replay with: ${replay}`);
  const rng = new Prng(o.seed);
  const problems: string[] = [];
  const cluster = await FaultCluster.start({
    members,
    seed: rng.nextU32(),
    args: ['--log-level', 'warn', '--heartbeat-ms', '500', '--request-timeout-ms', '1500', '--min-zxid-wait-ms', '1500', '--snapshot-entries', '500', ...(o.memberArgs ?? [])],
    ...(o.env !== undefined ? { env: o.env } : {}),
    ...(o.entry !== undefined ? { entry: o.entry } : {}),
    log,
  });
  try {
    await cluster.waitConverged(30_000);
    const setupDeadline = Date.now() + 20_000;
    for (const p of ['/faults', '/faults/r', '/faults/m', '/faults/s', '/faults/u', '/faults/e']) await ensureZnode(cluster, p, setupDeadline);
    const w = startWorkload(o, cluster, rng, members);
    const { faults, endUs } = await faultPhase(o, cluster, w, rng, durationMs, log);
    const fin = await finalState(cluster, w, problems);
    log('faults: checking');
    const c = runChecks(o, w, faults, fin);
    const summary = summarize({ o, replay, members, w, faults, endUs, checked: c, fin });
    problems.push(...cluster.unexpectedExits);
    const ok = summary.violations.total === 0 && fin.converged && summary.harnessErrors === 0 && problems.length === 0;
    const result: FaultRunResult = { ok, summary, checks: c.checks, linearizability: c.lin, watch: c.watch, sessions: c.sessions, history: w.history.ops, faults, watchers: w.watchers.map((x) => x.log), problems };
    if (o.reportDir !== undefined) writeReport(o.reportDir, result, cluster, endUs);
    log(`faults: seed ${o.seed}: ${summary.operations.total} ops (${summary.operations.completed} ok, ${summary.operations.indeterminate} indeterminate, ${summary.operations.failed} failed), ${faults.length} faults, ${c.lin.partitions} histories (${c.lin.ok} ok, ${c.lin.illegal} illegal, ${c.lin.unknown} unknown), ${summary.violations.total} violations${ok ? '' : ` — FAILED; replay with: ${replay}`}`);
    return result;
  } catch (e) {
    (e as Error).message = `seed ${o.seed} (replay with: ${replay}): ${(e as Error).message}\n${cluster.ids.map((id) => `--- member ${id}:\n${cluster.output(id, 3000)}`).join('\n')}`;
    throw e;
  } finally {
    if (o.reportDir !== undefined) {
      mkdirSync(o.reportDir, { recursive: true });
      for (const id of cluster.ids) writeFileSync(join(o.reportDir, `member-${id}.log`), cluster.output(id, 400_000));
      writeFileSync(join(o.reportDir, 'exited-members.log'), cluster.exitedOutput.join('\n'));
    }
    await cluster.stop(true);
  }
}

/** The load of one run: its clock and history, and everything that adds to them. */
interface Workload {
  clock: MonoClock;
  history: History;
  keys: KeySpace;
  watchers: Watcher[];
  clients: Client[];
  sessionWorkers: SessionWorker[];
  /** The clients' and session workers' loops. */
  running: Promise<void>[];
}

/** Watchers, clients and session workers, started; time 0 of the history is now. */
function startWorkload(o: FaultRunOptions, cluster: FaultCluster, rng: Prng, members: number): Workload {
  const clock = new MonoClock();
  const history = new History();
  const workload: WorkloadOptions = { ...DEFAULT_WORKLOAD, ...o.workload, mix: { ...DEFAULT_WORKLOAD.mix, ...o.workload?.mix } };
  const keys = new KeySpace(workload.opsPerKey);
  const env = { ports: cluster.httpPort, members: cluster.ids, clock, history, keys, opts: workload };
  const watchers = Array.from({ length: o.watchers ?? 2 }, (_, i) => new Watcher(i + 1, cluster.httpPort, rng.split(), { path: '/faults', silenceMs: 3_000 }));
  for (const w of watchers) w.start();
  // Odd clients send Idempotency-Keys and retry indeterminate writes; even ones never retry.
  const clients = Array.from({ length: o.clients ?? 2 * members }, (_, i) => new Client(i + 1, env, rng.split(), (o.retries ?? true) && i % 2 === 0));
  const running = clients.map((c) => c.run());
  const sessionWorkers = Array.from(
    { length: o.sessionWorkers ?? Math.max(1, Math.floor(members / 2)) },
    (_, i) => new SessionWorker(i + 1, { ports: cluster.httpPort, members: cluster.ids, clock, timeoutMs: 3_000, requestTimeoutMs: 2_000 }, rng.split()),
  );
  running.push(...sessionWorkers.map((w) => w.run()));
  return { clock, history, keys, watchers, clients, sessionWorkers, running };
}

/** The nemesis' schedule over the faulty phase, then healed, then the clients stopped. */
async function faultPhase(o: FaultRunOptions, cluster: FaultCluster, w: Workload, rng: Prng, durationMs: number, log: (line: string) => void): Promise<{ faults: FaultEvent[]; endUs: number }> {
  const schedule = planSchedule(rng.nextU32(), durationMs, { ...o.schedule, ...(o.kinds ? { kinds: o.kinds } : {}) });
  const nemesis = new Nemesis(cluster, schedule, () => w.clock.now(), log);
  const started = Date.now();
  const faults = await nemesis.run();
  await sleep(Math.max(0, durationMs - (Date.now() - started)));
  await cluster.healAll();
  await sleep(o.healMs ?? 3_000);
  for (const c of w.clients) c.stop();
  for (const s of w.sessionWorkers) s.stop();
  await Promise.all(w.running);
  const endUs = w.clock.now();
  log(`faults: ${w.history.ops.length} operations, ${faults.length} faults; converging`);
  return { faults, endUs };
}

/** The end of a run as the checkers see it. */
interface FinalState {
  converged: boolean;
  leader: number;
  dumps: MemberDump[];
  finalZxid: number | null;
  /** The tree under /faults all members agreed on (undefined: they did not converge). */
  final: TreeDump | undefined;
  openAtEnd: Set<string> | undefined;
}

/**
 * Waits until the members converge, then final reads (linearizable, recorded) and dumps, all
 * members at one zxid, and the watchers caught up to it.
 */
async function finalState(cluster: FaultCluster, w: Workload, problems: string[]): Promise<FinalState> {
  // Sessions kept alive until now expire one timeout later: wait for that, so that the tree
  // stays still while it is read at the end.
  if (w.sessionWorkers.length > 0) await sleep(6_000);
  let converged = true;
  let leader = cluster.ids[0]!;
  try {
    leader = (await cluster.waitConverged(60_000)).leader;
    await cluster.waitStill(2_000, 30_000);
    leader = (await cluster.waitConverged(60_000)).leader;
  } catch (e) {
    converged = false;
    problems.push(`after healing: ${(e as Error).message}`);
  }
  const { clock, history, keys, watchers } = w;
  for (const p of keys.registerPaths) await finalRead(cluster, leader, clock, history, 'register', p, p);
  for (const [g, paths] of keys.groups) for (const p of paths) await finalRead(cluster, leader, clock, history, 'group', g, p);
  const { dumps, finalZxid } = converged ? await dumpAtOneZxid(cluster, problems) : { dumps: [], finalZxid: null };
  // Watchers catch up to the final zxid (heartbeats carry it).
  const catchUp = Date.now() + 15_000;
  while (finalZxid !== null && watchers.some((x) => x.progress < finalZxid) && Date.now() < catchUp) await sleep(100);
  for (const x of watchers) x.stop();
  const final = dumps[0]?.tree;
  const openAtEnd = final !== undefined ? await sessionsOpenAtEnd(cluster, leader, final) : undefined;
  return { converged, leader, dumps, finalZxid, final, openAtEnd };
}

/** Every member's tree, read again until no member applied anything meanwhile (5 attempts). */
async function dumpAtOneZxid(cluster: FaultCluster, problems: string[]): Promise<{ dumps: MemberDump[]; finalZxid: number | null }> {
  const dumps: MemberDump[] = [];
  let finalZxid: number | null = null;
  for (let attempt = 0; attempt < 5 && finalZxid === null; attempt++) {
    dumps.length = 0;
    for (const id of cluster.ids) dumps.push({ member: id, appliedZxid: (await cluster.status(id))?.appliedZxid ?? -1, tree: await dumpTree(cluster, id, '/faults') });
    const after = await Promise.all(cluster.ids.map((id) => cluster.status(id)));
    if (after.every((a) => a?.appliedZxid === dumps[0]!.appliedZxid) && dumps.every((d) => d.appliedZxid === dumps[0]!.appliedZxid)) finalZxid = dumps[0]!.appliedZxid;
  }
  if (finalZxid === null) problems.push('the members kept applying entries while their trees were read at the end');
  return { dumps, finalZxid };
}

interface Checked {
  lin: LinearizabilityReport;
  watch: WatchReport;
  sessions: SessionReport;
  /** Every check's report, linearizability first. */
  checks: CheckReport[];
}

function runChecks(o: FaultRunOptions, w: Workload, faults: FaultEvent[], fin: FinalState): Checked {
  const ops = w.history.ops;
  const { final } = fin;
  const lin = checkLinearizability(ops, final, { timeBudgetMs: o.checkBudgetMs ?? 10_000 });
  const watch = checkWatches(
    w.watchers.map((x) => x.log),
    ops,
    final,
    fin.finalZxid ?? undefined,
  );
  const checks: CheckReport[] = [lin];
  if (final !== undefined) {
    checks.push(checkLostWrites(ops, final), checkFailedInvisible(ops, final), checkMultiAtomic(w.keys.groups, final), checkReplicas(fin.dumps));
  } else {
    checks.push({ name: 'final state', checked: 0, violations: ['no final state: the cluster did not converge after healing'] });
  }
  const sessions = checkSessions(
    w.sessionWorkers.flatMap((x) => x.records),
    faults,
    final,
    fin.openAtEnd,
    { expiryBoundMs: 3_000, quietMarginMs: 3_000 },
  );
  checks.push(checkSessionOrder(ops), checkLocalReads(ops), checkZxidsUnique(ops), watch, sessions);
  return { lin, watch, sessions, checks };
}

function summarize(r: { o: FaultRunOptions; replay: string; members: number; w: Workload; faults: FaultEvent[]; endUs: number; checked: Checked; fin: FinalState }): Summary {
  const { o, w, faults, fin } = r;
  const { lin, watch, sessions, checks } = r.checked;
  const ops = w.history.ops;
  const { clients, watchers } = w;
  const faultCounts: Record<string, number> = {};
  for (const f of faults) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
  const byWorkload: Record<string, number> = {};
  for (const op of ops) byWorkload[op.workload] = (byWorkload[op.workload] ?? 0) + 1;
  const violations: Record<string, number> & { total: number } = { total: 0 };
  for (const c of checks) {
    violations[c.name] = c.violations.length;
    violations.total += c.violations.length;
  }
  const isRead = (op: HistoryOp): boolean => (op.input as { f: string }).f === 'get';
  return {
    seed: o.seed,
    replay: r.replay,
    members: r.members,
    clients: clients.length,
    durationS: Math.round(r.endUs / 1e4) / 100,
    operations: {
      total: ops.length,
      completed: ops.filter((op) => op.status === 'ok').length,
      indeterminate: ops.filter((op) => op.status === 'info').length,
      failed: ops.filter((op) => op.status === 'fail').length,
      errorOutcomes: ops.filter((op) => op.status === 'ok' && (op.output as { t: string }).t === 'err').length,
      reads: ops.filter(isRead).length,
      writes: ops.filter((op) => !isRead(op)).length,
      byWorkload,
    },
    faults: faultCounts,
    histories: { checked: lin.partitions, ok: lin.ok, illegal: lin.illegal, unknown: lin.unknown, operations: lin.checked },
    violations,
    lostAcknowledgedWrites: checks.find((c) => c.name === 'lost acknowledged writes')?.violations.length ?? 0,
    watch: {
      watchers: watchers.length,
      events: watch.events,
      gaps: watch.gaps,
      duplicates: watch.duplicates,
      reorderings: watch.reorderings,
      mismatches: watch.mismatches,
      connections: watchers.reduce((n, x) => n + x.stats.connects, 0),
      compacted: watchers.reduce((n, x) => n + x.stats.compacted, 0),
    },
    unavailability: unavailability(ops, faults),
    sessions: { sessions: sessions.sessions, ephemerals: sessions.ephemerals, closed: sessions.closed, expired: sessions.expired, worstExpiryOverrunMs: sessions.worstExpiryOverrunMs },
    retries: {
      sent: clients.reduce((n, c) => n + c.stats.retries, 0),
      settled: clients.reduce((n, c) => n + c.stats.resolvedByRetry, 0),
      replayed: clients.reduce((n, c) => n + c.stats.replayed, 0),
    },
    harnessErrors: ops.filter((op) => op.detail?.startsWith('HARNESS')).length,
    converged: fin.converged,
    finalZxid: fin.finalZxid,
  };
}

function writeReport(dir: string, r: FaultRunResult, cluster: FaultCluster, endUs: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(r.summary, null, 2) + '\n');
  writeFileSync(
    join(dir, 'checks.json'),
    JSON.stringify(
      r.checks.map((c) => ({ ...c, ...(c.name === 'linearizability' ? {} : {}) })),
      null,
      2,
    ) + '\n',
  );
  writeFileSync(join(dir, 'faults.json'), JSON.stringify(r.faults, null, 2) + '\n');
  writeFileSync(join(dir, 'history.jsonl'), r.history.map((op) => JSON.stringify({ ...op, ret: Number.isFinite(op.ret) ? op.ret : 'inf' })).join('\n') + '\n');
  writeFileSync(join(dir, 'watchers.json'), JSON.stringify(r.watchers.map((w) => ({ ...w, segments: w.segments.map((s) => ({ ...s, frames: s.frames.length, events: s.frames.reduce((n, f) => n + f.length, 0) })) })), null, 2) + '\n');
  writeFileSync(join(dir, 'timeline.svg'), timelineSvg({ title: `zgate faults — seed ${r.summary.seed}, ${cluster.ids.length} members`, history: r.history, faults: r.faults, watchers: r.watchers, endUs, violations: r.summary.violations.total }));
}
