/**
 * The workload: logical clients, one outstanding operation each, each bound to a member
 * (moving to another at random when its member fails to answer), recording every operation
 * with invocation and completion times from ONE monotonic clock (process.hrtime.bigint) and
 * the outcome.
 *
 * Outcomes (history.ts): a 2xx, or a ZooKeeper error outcome (NoNode, NodeExists,
 * BadVersion...), is definite (`ok`). A connection refused is `fail` (nothing was sent). A
 * 503 is `fail` only when the member says the write never reached the log: RaftNode.propose's
 * "...; it was not applied" (no leader accepted it), Member.write's "too many writes in
 * flight" and "still recovering" (refused before proposing). Every other 503 ("it may still
 * apply", "may or may not apply", a forward whose answer was lost), a timeout or a connection
 * reset after sending is indeterminate (`info`, completion at +infinity). Failed reads are
 * dropped by the checkers.
 *
 * Key spaces (all under /faults, values unique everywhere):
 * - register: /faults/r/k<slot>g<gen>: create / get (local, linearizable) / set / CAS / delete;
 * - group: /faults/m/g<slot>x<gen>-{a,b,c}, written only by multis touching all three;
 * - seq: sequential creates under /faults/s/p<gen>;
 * - unique: create-only znodes /faults/u/g<gen>/c<client>-<n>, checked against the final tree.
 * A key's generation moves on after `opsPerKey` operations, bounding each WGL partition.
 */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { HistoryOp, Workload } from '../checker/history.js';
import type { SeqInput, ZInput, ZOutput, ZSub } from '../checker/models.js';
import { Prng } from '../../src/util/prng.js';

/** The harness clock: µs since `origin`, from process.hrtime.bigint(). */
export class MonoClock {
  private readonly origin = process.hrtime.bigint();
  now(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1000;
  }
}

export type HttpResult =
  | { kind: 'answer'; status: number; headers: IncomingHttpHeaders; body: string }
  | { kind: 'refused'; why: string }
  | { kind: 'lost'; why: string };

/** One HTTP exchange; never throws. */
export function httpCall(agent: Agent, port: number, method: string, path: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<HttpResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: HttpResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const hdrs: Record<string, string | number> = { ...headers };
    if (body !== undefined) hdrs['content-length'] = Buffer.byteLength(body);
    const req = request({ host: '127.0.0.1', port, method, path, headers: hdrs, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish({ kind: 'answer', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => finish({ kind: 'lost', why: `response: ${e.message}` }));
    });
    const timer = setTimeout(() => {
      finish({ kind: 'lost', why: `timeout after ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNREFUSED' ? { kind: 'refused', why: e.code } : { kind: 'lost', why: e.code ?? e.message }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Is this 503 message a refusal before the log (nothing proposed)? */
export function refusedBeforeLog(message: string): boolean {
  return /it was not applied$/.test(message) || /^too many writes in flight/.test(message) || /still recovering its state/.test(message);
}

export interface WorkloadOptions {
  registers: number;
  groups: number;
  /** Operations on one key (one seq parent, one multi group) before moving to the next generation. */
  opsPerKey: number;
  clientTimeoutMs: number;
  /** Mix of workloads (relative weights). */
  mix: Record<Workload, number>;
  /** Clients never leave their member (for the defect test: a client stays on an isolated old leader). */
  sticky?: boolean;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  registers: 3,
  groups: 1,
  opsPerKey: 150,
  clientTimeoutMs: 2_000,
  mix: { register: 55, group: 15, seq: 15, unique: 15 },
};

/** Shared by all clients: each key's operation count (→ its generation) and every key used. */
export class KeySpace {
  private readonly counts = new Map<string, number>();
  readonly registerPaths = new Set<string>();
  readonly groups = new Map<string, string[]>();
  readonly seqParents = new Set<string>();
  constructor(readonly opsPerKey: number) {}

  private gen(slot: string): number {
    const n = this.counts.get(slot) ?? 0;
    this.counts.set(slot, n + 1);
    return Math.floor(n / this.opsPerKey);
  }
  register(slot: number): string {
    const p = `/faults/r/k${slot}g${this.gen(`r${slot}`)}`;
    this.registerPaths.add(p);
    return p;
  }
  group(slot: number): { name: string; paths: string[] } {
    const name = `g${slot}x${this.gen(`g${slot}`)}`;
    const paths = ['a', 'b', 'c'].map((k) => `/faults/m/${name}-${k}`);
    this.groups.set(name, paths);
    return { name, paths };
  }
  seqParent(): string {
    const p = `/faults/s/p${this.gen('s')}`;
    this.seqParents.add(p);
    return p;
  }
  uniqueParent(): string {
    return `/faults/u/g${Math.floor(this.gen('u') / 4)}`;
  }
}

export class History {
  readonly ops: HistoryOp[] = [];
  private nextId = 1;
  id(): number {
    return this.nextId++;
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; opIndex?: number };
}

const enc = (p: string): string =>
  p
    .split('/')
    .map((s) => encodeURIComponent(s))
    .join('/');

export interface ClientEnv {
  ports: ReadonlyMap<number, number>;
  members: readonly number[];
  clock: MonoClock;
  history: History;
  keys: KeySpace;
  opts: WorkloadOptions;
}

export class Client {
  private member: number;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private lastZxid = 0;
  private n = 0;
  private writes = 0;
  private readonly versions = new Map<string, number>();
  private stopped = false;
  /** Completed operations by status. */
  readonly counts = { ok: 0, fail: 0, info: 0 };
  /** Idempotent retries: sent, settled by a definite answer, and answers marked replayed. */
  readonly stats = { retries: 0, resolvedByRetry: 0, replayed: 0 };

  constructor(
    readonly id: number,
    private readonly env: ClientEnv,
    private readonly rng: Prng,
    /** Send Idempotency-Keys and retry indeterminate writes. */
    private readonly retries = false,
  ) {
    this.member = rng.pick(env.members);
  }

  stop(): void {
    this.stopped = true;
  }

  async run(): Promise<void> {
    while (!this.stopped) {
      await this.step();
    }
    this.agent.destroy();
  }

  private moveOn(): void {
    if (this.env.opts.sticky === true) return;
    const others = this.env.members.filter((m) => m !== this.member);
    if (others.length > 0) this.member = this.rng.pick(others);
  }

  private value(): string {
    return `c${this.id}.${++this.n}`;
  }

  private pickWorkload(): Workload {
    const mix = this.env.opts.mix;
    const total = mix.register + mix.group + mix.seq + mix.unique;
    let r = this.rng.float() * total;
    for (const w of ['register', 'group', 'seq', 'unique'] as const) {
      r -= mix[w];
      if (r < 0) return w;
    }
    return 'register';
  }

  /** After a failed or indeterminate op: don't spin against a member that is down. */
  private async pause(op: HistoryOp): Promise<void> {
    if (op.status === 'ok') return;
    await new Promise((r) => setTimeout(r, 100 + this.rng.int(200)));
  }

  private async step(): Promise<void> {
    switch (this.pickWorkload()) {
      case 'register':
        return this.register();
      case 'group':
        return this.group();
      case 'seq':
        return this.seq();
      case 'unique':
        return this.unique();
    }
  }

  private async register(): Promise<void> {
    const path = this.env.keys.register(this.rng.int(this.env.opts.registers));
    const r = this.rng.float();
    const known = this.versions.get(path);
    if (r < 0.2) return this.read('register', path, path, 'local');
    if (r < 0.42) return this.read('register', path, path, 'linearizable');
    let input: ZInput;
    if (r < 0.55) input = { f: 'create', path, data: this.value() };
    else if (r < 0.73) input = { f: 'set', path, data: this.value(), version: -1 };
    else if (r < 0.93) input = { f: 'set', path, data: this.value(), version: known ?? this.rng.int(3) };
    else input = { f: 'delete', path, version: this.rng.chance(0.5) || known === undefined ? -1 : known };
    return this.write('register', path, input);
  }

  private async group(): Promise<void> {
    const { name, paths } = this.env.keys.group(this.rng.int(this.env.opts.groups));
    const r = this.rng.float();
    if (r < 0.15) return this.read('group', name, this.rng.pick(paths), 'local');
    if (r < 0.4) return this.read('group', name, this.rng.pick(paths), 'linearizable');
    const tag = `m${this.value()}`;
    const known = this.versions.get(paths[0]!);
    let ops: ZSub[];
    if (r < 0.52) ops = paths.map((p) => ({ op: 'create', path: p, data: `${tag}/${p.slice(-1)}` }));
    else if (r < 0.72) ops = paths.map((p) => ({ op: 'set', path: p, data: `${tag}/${p.slice(-1)}`, version: -1 }));
    else if (r < 0.87) ops = [{ op: 'check', path: paths[0]!, version: known ?? 0 }, ...paths.map((p): ZSub => ({ op: 'set', path: p, data: `${tag}/${p.slice(-1)}`, version: -1 }))];
    else if (r < 0.95) ops = [{ op: 'set', path: paths[0]!, data: `${tag}/a`, version: -1 }, { op: 'set', path: paths[1]!, data: `${tag}/b`, version: -1 }, { op: 'check', path: paths[2]!, version: 1_000_000 }];
    else ops = paths.map((p) => ({ op: 'delete', path: p, version: -1 }));
    return this.write('group', name, { f: 'multi', ops });
  }

  private async seq(): Promise<void> {
    const parent = this.env.keys.seqParent();
    const input: SeqInput = { f: 'createSeq', parent, prefix: `${parent}/n-`, data: this.value() };
    return this.write('seq', parent, input);
  }

  private async unique(): Promise<void> {
    const path = `${this.env.keys.uniqueParent()}/c${this.id}-${this.n + 1}`;
    return this.write('unique', path, { f: 'create', path, data: this.value() });
  }

  private port(): number {
    return this.env.ports.get(this.member)!;
  }

  private async read(workload: Workload, partition: string, path: string, consistency: 'local' | 'linearizable'): Promise<void> {
    const q = consistency === 'linearizable' ? '?consistency=linearizable' : `?minZxid=${this.lastZxid}`;
    const member = this.member;
    const call = this.env.clock.now();
    const res = await httpCall(this.agent, this.port(), 'GET', `/v1/znodes${enc(path)}${q}`, {}, undefined, this.env.opts.clientTimeoutMs);
    const ret = this.env.clock.now();
    const op: HistoryOp = { id: this.env.history.id(), client: this.id, member, workload, partition, input: { f: 'get', path }, read: consistency, call, ret, status: 'fail' };
    if (res.kind === 'answer' && (res.status === 200 || res.status === 404)) {
      const zxid = Number(res.headers['zgate-zxid']);
      const b = JSON.parse(res.body) as { data?: string; stat?: { version: number; mzxid: string } } & ErrorBody;
      if (res.status === 200) {
        op.output = { t: 'ok', data: b.data ?? '', version: b.stat!.version };
        op.mzxid = Number(b.stat!.mzxid);
        this.versions.set(path, b.stat!.version);
      } else if (b.error?.code === 'NoNode') {
        op.output = { t: 'err', code: 'NoNode' };
      }
      if (op.output !== undefined) {
        op.status = 'ok';
        op.zxid = zxid;
        this.lastZxid = Math.max(this.lastZxid, zxid);
      }
    }
    if (op.status !== 'ok') {
      op.ret = ret;
      op.detail = res.kind === 'answer' ? `${res.status} ${res.body.slice(0, 200)}` : `${res.kind}: ${res.why}`;
      if (res.kind !== 'answer' || res.status === 503) this.moveOn();
    }
    this.record(op);
    await this.pause(op);
  }

  private request(input: ZInput | SeqInput): { method: string; url: string; headers: Record<string, string>; body: string | undefined } {
    switch (input.f) {
      case 'create':
        return { method: 'PUT', url: `/v1/znodes${enc(input.path)}?parents=true`, headers: { 'if-none-match': '*', 'content-type': 'application/octet-stream' }, body: input.data };
      case 'set':
        return { method: 'PUT', url: `/v1/znodes${enc(input.path)}`, headers: { 'if-match': input.version === -1 ? '*' : `"${input.version}"`, 'content-type': 'application/octet-stream' }, body: input.data };
      case 'delete':
        return { method: 'DELETE', url: `/v1/znodes${enc(input.path)}`, headers: input.version === -1 ? {} : { 'if-match': `"${input.version}"` }, body: undefined };
      case 'multi':
        return {
          method: 'POST',
          url: '/v1/txn',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ops: input.ops.map((o) => ('data' in o ? { op: o.op, path: o.path, data: o.data, ...('version' in o ? { version: o.version } : {}) } : { op: o.op, path: o.path, version: o.version })) }),
        };
      case 'createSeq':
        return { method: 'POST', url: `/v1/znodes${enc(input.prefix)}?mode=persistent_sequential&parents=true`, headers: { 'content-type': 'application/octet-stream' }, body: input.data };
      case 'get':
        throw new Error('not a write');
    }
  }

  /** What one answer says about a write (history.ts statuses). */
  private classify(res: HttpResult, input: ZInput | SeqInput): Pick<HistoryOp, 'status' | 'output' | 'zxid' | 'detail'> & { replayed: boolean } {
    if (res.kind === 'refused') return { status: 'fail', detail: `refused: ${res.why}`, replayed: false };
    if (res.kind === 'lost') return { status: 'info', detail: `indeterminate: ${res.why}`, replayed: false };
    const zxid = Number(res.headers['zgate-zxid']);
    const replayed = res.headers['idempotent-replayed'] === 'true';
    let b: ({ path?: string; stat?: { version: number; mzxid: string } } & ErrorBody) | undefined;
    try {
      b = res.body === '' ? {} : (JSON.parse(res.body) as typeof b);
    } catch {
      b = undefined;
    }
    const detail = `${res.status}${b?.error ? ` ${b.error.code}: ${b.error.message}` : ''}${replayed ? ' (replayed)' : ''}`;
    if (res.status >= 200 && res.status < 300) {
      if (input.f === 'createSeq') return { status: 'ok', zxid, detail, replayed, output: { t: 'ok', seq: Number((b?.path ?? '').slice(input.prefix.length)) } };
      if (input.f === 'create' || input.f === 'set') return { status: 'ok', zxid, detail, replayed, output: { t: 'ok', version: b!.stat!.version } };
      return { status: 'ok', zxid, detail, replayed, output: { t: 'ok' } };
    }
    if ((res.status === 404 || res.status === 409 || res.status === 412) && b?.error?.code !== undefined) {
      const out: ZOutput = { t: 'err', code: b.error.code };
      if (input.f === 'multi' && b.error.opIndex !== undefined) out.opIndex = b.error.opIndex;
      return { status: 'ok', zxid, detail, replayed, output: out };
    }
    if (res.status === 503 && refusedBeforeLog(b?.error?.message ?? '')) return { status: 'fail', detail, replayed };
    // Bad input from the harness: nothing applied (refused before the log). Reported.
    if (res.status >= 400 && res.status < 500) return { status: 'fail', detail: `HARNESS: ${detail}`, replayed };
    return { status: 'info', detail, replayed };
  }

  /**
   * One write. Clients with `retries` send an Idempotency-Key and, while the outcome is
   * indeterminate, retry the same request on another member: a definite answer to a retry is
   * the original outcome (the write applied at most once), so the operation becomes definite,
   * spanning from the first send to the answer. A retry refused before the log settles
   * nothing (the first send may have applied).
   */
  private async write(workload: Workload, partition: string, input: ZInput | SeqInput): Promise<void> {
    const req = this.request(input);
    const key = this.retries ? `c${this.id}-w${++this.writes}` : undefined;
    if (key !== undefined) req.headers['idempotency-key'] = key;
    const member = this.member;
    const call = this.env.clock.now();
    let res = await httpCall(this.agent, this.port(), req.method, req.url, req.headers, req.body, this.env.opts.clientTimeoutMs);
    let ret = this.env.clock.now();
    let c = this.classify(res, input);
    const op: HistoryOp = { id: this.env.history.id(), client: this.id, member, workload, partition, input, call, ret, ...c };
    for (let attempt = 1; key !== undefined && op.status === 'info' && attempt <= 3 && !this.stopped; attempt++) {
      this.moveOn();
      this.stats.retries++;
      await new Promise((r) => setTimeout(r, 50 + this.rng.int(150)));
      res = await httpCall(this.agent, this.port(), req.method, req.url, req.headers, req.body, this.env.opts.clientTimeoutMs);
      ret = this.env.clock.now();
      c = this.classify(res, input);
      if (c.status === 'ok') {
        Object.assign(op, c, { ret, detail: `${c.detail}, retry ${attempt} on member ${this.member}` });
        this.stats.resolvedByRetry++;
        if (c.replayed) this.stats.replayed++;
      } else op.detail = `${op.detail}; retry ${attempt} on member ${this.member}: ${c.detail}`;
    }
    delete (op as { replayed?: boolean }).replayed;
    if (op.status === 'info') {
      op.ret = Infinity;
      op.gaveUpAt = ret;
    } else if (op.status === 'ok') {
      this.lastZxid = Math.max(this.lastZxid, op.zxid!);
      const out = op.output as ZOutput;
      if (input.f === 'create' || input.f === 'set') {
        if (out.t === 'ok' && out.version !== undefined) this.versions.set(input.path, out.version);
      } else if (input.f === 'delete' && out.t === 'ok') this.versions.delete(input.path);
    }
    if (op.status !== 'ok') this.moveOn();
    this.record(op);
    await this.pause(op);
  }

  private record(op: HistoryOp): void {
    this.env.history.ops.push(op);
    this.counts[op.status]++;
  }
}
