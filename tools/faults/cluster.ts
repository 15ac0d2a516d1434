/**
 * A cluster under test: N member processes on loopback whose peer links all pass through
 * PeerProxy instances owned by the harness. Member i listens for peers on its real port
 * (--peer-port) while --peers names its proxy's port, so every frame from j to i crosses the
 * proxy of i, link (j → i). The HTTP ports are reached directly by clients.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../../src/util/prng.js';
import { spawnMember, type MemberProcess } from './process.js';
import { PeerProxy, type LinkState } from './proxy.js';

export const LOOPBACK = '127.0.0.1';

export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => resolve());
      });
      servers.push(s);
    }
    return servers.map((s) => {
      const a = s.address();
      if (a === null || typeof a === 'string') throw new Error('no port');
      return a.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

export interface FaultClusterOptions {
  members: number;
  /** Raft tick (ms); elections after electionTicks..2x ticks. */
  tickMs?: number;
  electionTicks?: number;
  /** More serve arguments for every member. */
  args?: string[];
  /** More environment for every member (e.g. a test-only defect). */
  env?: NodeJS.ProcessEnv;
  /** Data dirs go under this directory (default: a fresh temp dir). */
  root?: string;
  entry?: string;
  seed?: number;
  log?: (line: string) => void;
}

export interface ClusterStatus {
  id: number;
  leaderId: number | null;
  term: number;
  commitIndex: number;
  appliedZxid: number;
}

export class FaultCluster {
  readonly ids: number[];
  readonly httpPort = new Map<number, number>();
  readonly peerPort = new Map<number, number>();
  readonly proxyPort = new Map<number, number>();
  readonly proxies = new Map<number, PeerProxy>();
  readonly procs = new Map<number, MemberProcess>();
  readonly paused = new Set<number>();
  readonly root: string;
  readonly peers: string;
  readonly electionTimeoutMs: number;
  /** Members that exited without being killed (a crash: a bug), with their output. */
  readonly unexpectedExits: string[] = [];
  private readonly killing = new Set<MemberProcess>();
  private stopping = false;
  /** Exited members' output, kept for reports. */
  readonly exitedOutput: string[] = [];
  private readonly args: string[];
  private readonly log: (line: string) => void;

  private constructor(
    private readonly opts: FaultClusterOptions,
    ports: number[],
  ) {
    this.ids = Array.from({ length: opts.members }, (_, i) => i + 1);
    for (const id of this.ids) {
      this.httpPort.set(id, ports[3 * (id - 1)]!);
      this.peerPort.set(id, ports[3 * (id - 1) + 1]!);
      this.proxyPort.set(id, ports[3 * (id - 1) + 2]!);
    }
    this.root = opts.root ?? mkdtempSync(join(tmpdir(), 'zgate-faults-'));
    mkdirSync(this.root, { recursive: true });
    this.peers = this.ids.map((id) => `${id}=${LOOPBACK}:${this.proxyPort.get(id)}`).join(',');
    const tick = opts.tickMs ?? 50;
    const ticks = opts.electionTicks ?? 10;
    this.electionTimeoutMs = tick * ticks;
    this.args = ['--peers', this.peers, '--tick-ms', String(tick), '--election-ticks', String(ticks), ...(opts.args ?? [])];
    this.log = opts.log ?? (() => undefined);
  }

  static async start(opts: FaultClusterOptions): Promise<FaultCluster> {
    const ports = await freePorts(3 * opts.members);
    const c = new FaultCluster(opts, ports);
    const rng = new Prng(opts.seed ?? 1);
    for (const id of c.ids) {
      const p = new PeerProxy(id, c.proxyPort.get(id)!, c.peerPort.get(id)!, rng.split());
      await p.start();
      c.proxies.set(id, p);
    }
    await Promise.all(c.ids.map((id) => c.startMember(id)));
    return c;
  }

  base(id: number): string {
    return `http://${LOOPBACK}:${this.httpPort.get(id)}`;
  }

  dataDir(id: number): string {
    return join(this.root, `member-${id}`);
  }

  isRunning(id: number): boolean {
    return this.procs.get(id)?.isRunning() ?? false;
  }

  running(): number[] {
    return this.ids.filter((id) => this.isRunning(id));
  }

  async startMember(id: number): Promise<void> {
    if (this.isRunning(id)) return;
    // Listen again for dialers only once the member listens too (it listens before /healthz answers).
    const m = await spawnMember({
      ...(this.opts.entry !== undefined ? { entry: this.opts.entry } : {}),
      port: this.httpPort.get(id)!,
      dataDir: this.dataDir(id),
      args: ['--id', String(id), '--peer-port', String(this.peerPort.get(id)), ...this.args],
      ...(this.opts.env !== undefined ? { env: this.opts.env } : {}),
    });
    this.procs.set(id, m);
    this.paused.delete(id);
    await this.proxies.get(id)?.start();
    void m.exited.then((e) => {
      if (!this.killing.has(m) && !this.stopping) {
        const line = `member ${id} (pid ${m.pid}) exited on its own (${e.signal ?? `code ${e.code}`}):\n${m.output(4000)}`;
        this.unexpectedExits.push(line);
        this.log(line);
        void this.proxies.get(id)?.stopListening();
      }
      this.exitedOutput.push(`--- member ${id} (pid ${m.pid}, exit ${e.signal ?? e.code}):\n${m.output(20_000)}`);
      if (this.exitedOutput.length > 40) this.exitedOutput.shift();
    });
  }

  /** kill -9 (the data dir stays). */
  async kill(id: number): Promise<void> {
    const m = this.procs.get(id);
    if (m === undefined) return;
    this.paused.delete(id);
    this.killing.add(m);
    await m.kill('SIGKILL');
    await this.proxies.get(id)!.stopListening();
  }

  pause(id: number): void {
    if (!this.isRunning(id)) return;
    this.procs.get(id)!.signal('SIGSTOP');
    this.paused.add(id);
  }

  resume(id: number): void {
    if (!this.paused.has(id)) return;
    this.procs.get(id)?.signal('SIGCONT');
    this.paused.delete(id);
  }

  setLink(from: number, to: number, state: Partial<LinkState>): void {
    if (from === to) return;
    this.proxies.get(to)!.setLink(from, state);
  }

  /** Cuts both directions between every member of `a` and every member of `b`. */
  cutBetween(a: readonly number[], b: readonly number[]): void {
    for (const x of a) {
      for (const y of b) {
        this.setLink(x, y, { cut: true });
        this.setLink(y, x, { cut: true });
      }
    }
  }

  /** Every directed link between different members. */
  *links(): Generator<[number, number]> {
    for (const from of this.ids) for (const to of this.ids) if (from !== to) yield [from, to];
  }

  /** All links back to pass; paused members continued; killed members restarted. */
  async healAll(): Promise<void> {
    for (const p of this.proxies.values()) p.healAll();
    for (const id of [...this.paused]) this.resume(id);
    await Promise.all(this.ids.filter((id) => !this.isRunning(id)).map((id) => this.startMember(id)));
  }

  async status(id: number, timeoutMs = 1500): Promise<ClusterStatus | undefined> {
    if (!this.isRunning(id) || this.paused.has(id)) return undefined;
    try {
      const res = await fetch(`${this.base(id)}/v1/cluster`, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) {
        await res.arrayBuffer();
        return undefined;
      }
      const b = (await res.json()) as { id: number; leaderId: number | null; term: string; commitIndex: string; appliedZxid: string };
      return { id: b.id, leaderId: b.leaderId, term: Number(b.term), commitIndex: Number(b.commitIndex), appliedZxid: Number(b.appliedZxid) };
    } catch {
      return undefined;
    }
  }

  /** The leader most members name (ties: the higher term), or undefined. */
  async leader(): Promise<number | undefined> {
    const views = (await Promise.all(this.ids.map((id) => this.status(id)))).filter((v): v is ClusterStatus => v !== undefined);
    const self = views.filter((v) => v.leaderId === v.id).sort((a, b) => b.term - a.term);
    if (self.length > 0) return self[0]!.id;
    const named = views.map((v) => v.leaderId).filter((l): l is number => l !== null);
    return named[0];
  }

  /** Waits until every member runs, names one leader, and all applied the same zxid >= the leader's commit. */
  async waitConverged(timeoutMs: number): Promise<{ leader: number; appliedZxid: number }> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const views = await Promise.all(this.ids.map((id) => this.status(id)));
      last = JSON.stringify(views);
      if (views.every((v) => v !== undefined)) {
        const vs = views as ClusterStatus[];
        const leaders = new Set(vs.map((v) => v.leaderId));
        const applied = new Set(vs.map((v) => v.appliedZxid));
        const l = vs[0]!.leaderId;
        if (leaders.size === 1 && l !== null && applied.size === 1) {
          const lv = vs.find((v) => v.id === l)!;
          if (lv.commitIndex <= vs[0]!.appliedZxid) return { leader: l, appliedZxid: vs[0]!.appliedZxid };
        }
      }
      if (Date.now() > deadline) throw new Error(`the cluster did not converge within ${timeoutMs} ms: ${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits until the members' applied zxids stop moving for `stillMs`. */
  async waitStill(stillMs: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    let since = Date.now();
    for (;;) {
      const now = JSON.stringify((await Promise.all(this.ids.map((id) => this.status(id)))).map((v) => v?.appliedZxid));
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since >= stillMs) return;
      if (Date.now() > deadline) throw new Error(`the members kept applying entries for ${timeoutMs} ms: ${now}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  output(id: number, maxChars = 20_000): string {
    return this.procs.get(id)?.output(maxChars) ?? '';
  }

  async stop(removeData = true): Promise<void> {
    this.stopping = true;
    for (const id of [...this.paused]) this.resume(id);
    await Promise.all([...this.procs.values()].map((m) => m.kill('SIGKILL')));
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    if (removeData) rmSync(this.root, { recursive: true, force: true });
  }
}
