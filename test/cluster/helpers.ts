/**
 * Real member processes on loopback for the cluster tests: a TestCluster starts N members of
 * one cluster (`serve --id N --peers ...`, tick 50 ms), restarts them on the same ports and
 * data dirs, kills them, and answers what they say about the cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMember, type RunningMember } from '../support/member.js';
import { getFreePorts, LOOPBACK } from '../support/ports.js';
import { call, type Answer } from '../durability/helpers.js';

export { call, type Answer };

/** Raft tick of the test members (ZGATE_TEST_TICK_MS overrides, e.g. 100 to measure the defaults). */
export const TICK_MS = Number(process.env['ZGATE_TEST_TICK_MS'] ?? 50);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface MemberView {
  id: number;
  peer: string;
  http: string;
  role: string;
  matchIndex: string;
  reachable: boolean;
}
export interface ClusterView {
  id: number;
  leaderId: number | null;
  term: string;
  commitIndex: string;
  appliedZxid: string;
  members: MemberView[];
}

export interface ClusterOptions {
  /** Extra serve arguments for every member. */
  args?: string[];
  /** Spare ids (ports reserved) for members added later. */
  spare?: number;
}

export class TestCluster {
  readonly root: string;
  readonly procs = new Map<number, RunningMember>();
  readonly httpPort = new Map<number, number>();
  readonly peerPort = new Map<number, number>();
  /** The initial members' --peers. */
  readonly peers: string;
  private readonly args: string[];

  private constructor(
    readonly ids: number[],
    ports: number[],
    opts: ClusterOptions,
  ) {
    this.root = mkdtempSync(join(tmpdir(), 'zgate-cluster-'));
    const all = ids.length + (opts.spare ?? 0);
    for (let i = 0; i < all; i++) {
      this.httpPort.set(i + 1, ports[2 * i]!);
      this.peerPort.set(i + 1, ports[2 * i + 1]!);
    }
    this.peers = ids.map((id) => `${id}=${LOOPBACK}:${this.peerPort.get(id)}`).join(',');
    this.args = opts.args ?? [];
  }

  static async start(n: number, opts: ClusterOptions = {}): Promise<TestCluster> {
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    const ports = await getFreePorts(2 * (n + (opts.spare ?? 0)));
    const c = new TestCluster(ids, ports, opts);
    await Promise.all(ids.map((id) => c.startMember(id)));
    return c;
  }

  dataDir(id: number): string {
    return join(this.root, String(id));
  }

  base(id: number): string {
    return `http://${LOOPBACK}:${this.httpPort.get(id)}`;
  }

  peerAddress(id: number): string {
    return `${LOOPBACK}:${this.peerPort.get(id)}`;
  }

  /** Starts (or restarts) member `id` on its ports and data dir. */
  async startMember(id: number, extra: string[] = [], peers = this.peers): Promise<RunningMember> {
    const m = await startMember({
      port: this.httpPort.get(id)!,
      dataDir: this.dataDir(id),
      keepDataDir: true,
      // Generous: several members start at once, on a machine that may be busy.
      readyTimeoutMs: 60_000,
      args: ['--id', String(id), '--peers', peers, '--tick-ms', String(TICK_MS), '--log-level', 'info', ...this.args, ...extra],
    });
    this.procs.set(id, m);
    return m;
  }

  running(): number[] {
    return [...this.procs].filter(([, m]) => m.isRunning()).map(([id]) => id);
  }

  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.procs.get(id)?.kill(signal);
  }

  /** Sends a signal without waiting for an exit (SIGSTOP, SIGCONT). */
  signal(id: number, signal: NodeJS.Signals): void {
    this.procs.get(id)?.process.kill(signal);
  }

  async view(id: number): Promise<ClusterView | undefined> {
    const r = await call(this.base(id), 'GET', '/v1/cluster', undefined, 2000);
    return r.status === 200 ? (r.body as ClusterView) : undefined;
  }

  /**
   * Waits until every member in `among` (default: the running ones) names the same leader,
   * one of `among`, and that leader calls itself leader. Returns it.
   */
  async waitLeader(timeoutMs = 15_000, among: number[] = this.running()): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const views = await Promise.all(among.map((id) => this.view(id)));
      const leaders = new Set(views.map((v) => v?.leaderId ?? null));
      last = JSON.stringify(views.map((v) => (v ? { id: v.id, leader: v.leaderId, term: v.term } : null)));
      if (leaders.size === 1) {
        const l = [...leaders][0];
        if (l !== null && l !== undefined && among.includes(l)) {
          const lv = views[among.indexOf(l)];
          if (lv?.members.find((m) => m.id === l)?.role === 'leader') return l;
        }
      }
      if (Date.now() > deadline) throw new Error(`no agreed leader among ${among.join(',')} within ${timeoutMs} ms: ${last}\n${this.diagnostics()}`);
      await sleep(50);
    }
  }

  /** Waits until every member in `among` has applied at least `zxid`. */
  async waitApplied(zxid: number, among: number[] = this.running(), timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const views = await Promise.all(among.map((id) => this.view(id)));
      if (views.every((v) => v !== undefined && Number(v.appliedZxid) >= zxid)) return;
      if (Date.now() > deadline) throw new Error(`not every member applied ${zxid} within ${timeoutMs} ms: ${JSON.stringify(views.map((v) => v?.appliedZxid))}`);
      await sleep(50);
    }
  }

  diagnostics(chars = 3000): string {
    return [...this.procs].map(([id, m]) => `--- member ${id} (${m.isRunning() ? 'running' : 'exited'}):\n${m.diagnostics(chars)}`).join('\n');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.procs.values()].map((m) => m.kill('SIGKILL')));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A write that retries on 503 / connection failures until `timeoutMs`; returns the final answer. */
export async function writeRetrying(base: string, method: string, path: string, body: string | object | undefined, timeoutMs = 10_000): Promise<Answer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(base, method, path, body, 5000);
    if ((r.status !== 503 && r.status !== 0) || Date.now() > deadline) return r;
    await sleep(25);
  }
}

/** zxid of a write answer (from its stat, or a txn's zxid). */
export function zxidOf(a: Answer): number {
  const b = a.body as { stat?: { mzxid: string }; zxid?: string };
  return Number(b.stat?.mzxid ?? b.zxid);
}
