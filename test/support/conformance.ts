/**
 * Conformance machinery shared by the ZooKeeper-vs-zgate tests: one abstract vocabulary of
 * operations and outcomes, a ZooKeeper target over the wire client, and the comparison rules.
 *
 * What is comparable between two independent implementations, and how it is compared:
 *
 * - outcome: success or the error code name; multi failures also per-op codes and the index of
 *   the failing op; created paths (sequential names) byte for byte; data byte for byte; children
 *   as sorted lists (zgate sorts them, ZooKeeper doesn't);
 * - version, cversion, aversion, dataLength, numChildren: exactly;
 * - ephemeralOwner: 0 against 0, otherwise through a one-to-one map between the two sides'
 *   session ids;
 * - czxid, mzxid, pzxid (and the zxid answered by a successful write): through an order-preserving
 *   one-to-one map built as values are seen. A pair (zkZxid, zgZxid) must agree with every pair
 *   seen before: same value on one side iff the same on the other, and the same order. That is
 *   "compare their ranks", made incremental so it also holds for a zxid first seen long after
 *   it was assigned. ZooKeeper spends a zxid on every failed write, an empty multi and a session
 *   create/close, zgate need not; those zxids never appear in a stat, so only zxids of successful
 *   writes enter the map, and absolute values or gaps are never compared;
 * - ctime, mtime: two clocks that tick independently, so values are not compared and neither is
 *   the order of two times in the same millisecond. Each side must be self-consistent instead:
 *   a time is a function of its zxid (ctime goes with czxid, mtime with mzxid; a multi's nodes
 *   share one time), times never decrease as zxids grow, so mtime == ctime when mzxid == czxid
 *   (after create) and mtime >= ctime after a set; and every time is a plausible epoch-ms value
 *   of this test run.
 */
import { errorName, ZkClient, ZkError, ZkStat, CreateModeName, MultiOp as ZkMultiOp } from './zk-client.js';

// ---------------------------------------------------------------------------------------------
// Vocabulary

export type Mode = CreateModeName;
export type Data = string | Uint8Array;

export type CreateOp = { op: 'create'; path: string; data?: Data; mode?: Mode; ttl?: number | bigint; session?: string };
export type SetOp = { op: 'set'; path: string; data?: Data; version?: number };
export type DeleteOp = { op: 'delete'; path: string; version?: number };
export type CheckOp = { op: 'check'; path: string; version: number };
export type SubOp = CreateOp | SetOp | DeleteOp | CheckOp;

export type Op =
  | CreateOp
  | SetOp
  | DeleteOp
  | { op: 'get'; path: string }
  | { op: 'exists'; path: string }
  | { op: 'children'; path: string }
  | { op: 'multi'; ops: SubOp[]; session?: string }
  | { op: 'openSession'; session: string; timeoutMs?: number }
  | { op: 'closeSession'; session: string }
  /** Stops keeping a session alive without closing it: the server expires it after its timeout. */
  | { op: 'abandonSession'; session: string }
  /** Waits (polling) until the znode no longer exists: Ok, or Timeout after `timeoutMs`. */
  | { op: 'awaitGone'; path: string; timeoutMs: number };

/** A Stat with both sides' encodings normalised: 64-bit ids as bigint, times as ms numbers. */
export interface NStat {
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
}

export type SubResult =
  | { op: 'create'; path: string; stat?: NStat }
  | { op: 'set'; stat?: NStat }
  | { op: 'delete' }
  | { op: 'check' };

export type Outcome =
  | {
      ok: true;
      path?: string;
      stat?: NStat;
      data?: Buffer;
      children?: string[];
      results?: SubResult[];
      /** The zxid a successful write answered with. */
      zxid?: bigint;
      sessionId?: bigint;
    }
  | {
      ok: false;
      code: string;
      /** multi: one code per op (Ok / the error / RuntimeInconsistency). */
      results?: string[];
      /** multi: index of the failing op. */
      opIndex?: number;
      message?: string;
    };

export interface Target {
  readonly name: string;
  run(op: Op): Promise<Outcome>;
  /** The last request/answer pairs, for failure messages. */
  trace(): string[];
  close(): Promise<void>;
}

/** Polls `gone` until true (Ok) or `timeoutMs` passed (Timeout). */
export async function awaitGone(timeoutMs: number, gone: () => Promise<boolean>): Promise<Outcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await gone()) return { ok: true };
    if (Date.now() > deadline) return { ok: false, code: 'Timeout', message: `still there after ${timeoutMs} ms` };
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function bytes(d: Data | undefined): Buffer {
  if (d === undefined) return Buffer.alloc(0);
  return typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d);
}

export function isWrite(op: Op): boolean {
  return op.op === 'create' || op.op === 'set' || op.op === 'delete' || op.op === 'multi';
}

/** ZooKeeper's path rules (PathUtils.validatePath), for choosing which paths to read back. */
export function isValidPath(path: string): boolean {
  if (path === '/') return true;
  if (!path.startsWith('/') || path.endsWith('/')) return false;
  for (const seg of path.slice(1).split('/')) {
    if (seg === '' || seg === '.' || seg === '..') return false;
  }
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) return false;
  }
  return true;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** JSON for messages: bigints as strings, Buffers as short text. */
export function show(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      const b = Buffer.from((v as { data: number[] }).data);
      return `bytes(${b.length}):${b.toString('base64')}`;
    }
    if (v instanceof Uint8Array) return `bytes(${v.length}):${Buffer.from(v).toString('base64')}`;
    return v;
  });
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper target

function fromZkStat(s: ZkStat): NStat {
  return {
    czxid: s.czxid,
    mzxid: s.mzxid,
    pzxid: s.pzxid,
    ctime: s.ctime,
    mtime: s.mtime,
    version: s.version,
    cversion: s.cversion,
    aversion: s.aversion,
    ephemeralOwner: s.ephemeralOwner,
    dataLength: s.dataLength,
    numChildren: s.numChildren,
  };
}

function toZkSubOp(op: SubOp): ZkMultiOp {
  switch (op.op) {
    case 'create':
      return { type: 'create', path: op.path, data: bytes(op.data), mode: op.mode ?? 'persistent', ttl: op.ttl };
    case 'set':
      return { type: 'setData', path: op.path, data: bytes(op.data), version: op.version ?? -1 };
    case 'delete':
      return { type: 'delete', path: op.path, version: op.version ?? -1 };
    case 'check':
      return { type: 'check', path: op.path, version: op.version };
  }
}

/** Runs abstract ops against ZooKeeper: one base session plus named sessions for ephemerals. */
export class ZkTarget implements Target {
  readonly name = 'zookeeper';
  private readonly sessions = new Map<string, ZkClient>();
  private readonly log: string[] = [];

  constructor(
    private readonly base: ZkClient,
    private readonly connect: (sessionTimeoutMs?: number) => Promise<ZkClient>,
  ) {}

  trace(): string[] {
    return this.log.slice(-6);
  }

  private clientFor(session: string | undefined): ZkClient {
    if (session === undefined) return this.base;
    const c = this.sessions.get(session);
    if (!c) throw new Error(`zookeeper target: no open session '${session}'`);
    return c;
  }

  async run(op: Op): Promise<Outcome> {
    const out = await this.runInner(op);
    this.log.push(`${show(op)} -> ${show(out)}`);
    if (this.log.length > 50) this.log.splice(0, this.log.length - 50);
    return out;
  }

  private async runInner(op: Op): Promise<Outcome> {
    try {
      switch (op.op) {
        case 'create': {
          const c = this.clientFor(op.session);
          const r = await c.create(op.path, bytes(op.data), op.mode ?? 'persistent', { ttl: op.ttl });
          return { ok: true, path: r.path, stat: r.stat && fromZkStat(r.stat), zxid: r.zxid };
        }
        case 'set': {
          const r = await this.base.setData(op.path, bytes(op.data), op.version ?? -1);
          return { ok: true, stat: fromZkStat(r.stat), zxid: r.zxid };
        }
        case 'delete': {
          const r = await this.base.delete(op.path, op.version ?? -1);
          return { ok: true, zxid: r.zxid };
        }
        case 'get': {
          const r = await this.base.getData(op.path);
          return { ok: true, data: r.data, stat: fromZkStat(r.stat) };
        }
        case 'exists': {
          const s = await this.base.exists(op.path);
          return s === null ? { ok: false, code: 'NoNode' } : { ok: true, stat: fromZkStat(s) };
        }
        case 'children': {
          const r = await this.base.getChildren(op.path);
          return { ok: true, children: [...r.children].sort(), stat: fromZkStat(r.stat) };
        }
        case 'multi': {
          const c = this.clientFor(op.session);
          const r = await c.multi(op.ops.map(toZkSubOp));
          if (!r.ok) {
            const codes = r.results.map((x) => (x.type === 'error' ? x.code : 'Ok'));
            const opIndex = codes.findIndex((x) => x !== 'Ok' && x !== 'RuntimeInconsistency');
            return { ok: false, code: opIndex >= 0 ? codes[opIndex]! : errorName(r.headerErr), results: codes, opIndex };
          }
          const results: SubResult[] = r.results.map((x) => {
            switch (x.type) {
              case 'create':
                return { op: 'create', path: x.path, stat: x.stat && fromZkStat(x.stat) };
              case 'setData':
                return { op: 'set', stat: fromZkStat(x.stat) };
              case 'delete':
                return { op: 'delete' };
              case 'check':
                return { op: 'check' };
              case 'error':
                throw new Error('unreachable: error result in a successful multi');
            }
          });
          return { ok: true, results, zxid: r.zxid };
        }
        case 'openSession': {
          if (this.sessions.has(op.session)) throw new Error(`session '${op.session}' already open`);
          const c = await this.connect(op.timeoutMs);
          this.sessions.set(op.session, c);
          return { ok: true, sessionId: c.sessionId };
        }
        case 'closeSession': {
          const c = this.clientFor(op.session);
          this.sessions.delete(op.session);
          await c.close();
          return { ok: true };
        }
        case 'abandonSession': {
          // The connection drops without a closeSession: pings stop, the session lives on until it expires.
          const c = this.clientFor(op.session);
          this.sessions.delete(op.session);
          c.destroy();
          return { ok: true };
        }
        case 'awaitGone':
          return await awaitGone(op.timeoutMs, async () => (await this.base.exists(op.path)) === null);
      }
    } catch (e) {
      if (e instanceof ZkError) return { ok: false, code: e.codeName, message: e.message };
      throw e;
    }
  }

  async close(): Promise<void> {
    for (const c of this.sessions.values()) await c.close();
    this.sessions.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Comparison

/** An order-preserving one-to-one map between two sides' values of one kind (zxids). */
export class OrderMap {
  private readonly ab = new Map<bigint, bigint>();
  private readonly ba = new Map<bigint, bigint>();
  private readonly sortedA: bigint[] = [];

  /** Records a pair; answers a description of the conflict, or undefined if consistent. */
  add(a: bigint, b: bigint): string | undefined {
    const knownB = this.ab.get(a);
    if (knownB !== undefined) return knownB === b ? undefined : `zk ${a} was paired with zgate ${knownB}, now with ${b}`;
    const knownA = this.ba.get(b);
    if (knownA !== undefined) return `zgate ${b} was paired with zk ${knownA}, now with zk ${a}`;
    // Neighbours of a among the known A values must be neighbours of b the same way.
    let lo = 0;
    let hi = this.sortedA.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sortedA[mid]! < a) lo = mid + 1;
      else hi = mid;
    }
    const below = lo > 0 ? this.sortedA[lo - 1] : undefined;
    const above = lo < this.sortedA.length ? this.sortedA[lo] : undefined;
    if (below !== undefined && !(this.ab.get(below)! < b)) {
      return `order: zk ${below} < ${a} but zgate ${this.ab.get(below)} >= ${b}`;
    }
    if (above !== undefined && !(this.ab.get(above)! > b)) {
      return `order: zk ${a} < ${above} but zgate ${b} >= ${this.ab.get(above)}`;
    }
    this.ab.set(a, b);
    this.ba.set(b, a);
    this.sortedA.splice(lo, 0, a);
    return undefined;
  }

  get size(): number {
    return this.ab.size;
  }
}

/** One-to-one map without order (session ids). */
export class PairMap {
  private readonly ab = new Map<bigint, bigint>();
  private readonly ba = new Map<bigint, bigint>();

  add(a: bigint, b: bigint): string | undefined {
    const kb = this.ab.get(a);
    const ka = this.ba.get(b);
    if (kb !== undefined && kb !== b) return `zk ${a} was paired with zgate ${kb}, now with ${b}`;
    if (ka !== undefined && ka !== a) return `zgate ${b} was paired with zk ${ka}, now with zk ${a}`;
    this.ab.set(a, b);
    this.ba.set(b, a);
    return undefined;
  }
}

/**
 * One side's clock bookkeeping: zxid -> time must be a function and non-decreasing. Answers
 * descriptions of violations.
 */
export class TimeBook {
  private readonly byZxid = new Map<bigint, number>();
  private sorted: bigint[] = [];

  constructor(
    readonly side: string,
    private readonly earliest: number,
  ) {}

  private note(zxid: bigint, time: number, what: string, out: string[]): void {
    // Built-in nodes (/, /zookeeper, ...) predate every txn: zxid 0, time 0.
    if (zxid === 0n) {
      if (time !== 0) out.push(`${this.side}: ${what} is ${time} at zxid 0 (a built-in node has time 0)`);
      return;
    }
    if (!Number.isInteger(time) || time < this.earliest || time > Date.now() + 60_000) {
      out.push(`${this.side}: ${what} ${time} is not an epoch-ms time of this run (started ${this.earliest})`);
    }
    const known = this.byZxid.get(zxid);
    if (known !== undefined) {
      if (known !== time) out.push(`${this.side}: zxid ${zxid} has two times, ${known} and ${time} (${what})`);
      return;
    }
    for (const z of this.sorted) {
      const t = this.byZxid.get(z)!;
      if (z < zxid && t > time) out.push(`${this.side}: ${what} ${time} at zxid ${zxid} is earlier than ${t} at older zxid ${z}`);
      if (z > zxid && t < time) out.push(`${this.side}: ${what} ${time} at zxid ${zxid} is later than ${t} at newer zxid ${z}`);
    }
    this.byZxid.set(zxid, time);
    this.sorted.push(zxid);
  }

  check(stat: NStat, where: string): string[] {
    const out: string[] = [];
    this.note(stat.czxid, stat.ctime, `${where} ctime`, out);
    this.note(stat.mzxid, stat.mtime, `${where} mtime`, out);
    if (stat.mzxid === stat.czxid && stat.mtime !== stat.ctime) out.push(`${this.side}: ${where} mzxid == czxid but mtime ${stat.mtime} != ctime ${stat.ctime}`);
    if (stat.mzxid > stat.czxid && stat.mtime < stat.ctime) out.push(`${this.side}: ${where} modified after creation but mtime < ctime`);
    if (stat.mzxid < stat.czxid) out.push(`${this.side}: ${where} mzxid ${stat.mzxid} < czxid ${stat.czxid}`);
    if (stat.pzxid < stat.czxid) out.push(`${this.side}: ${where} pzxid ${stat.pzxid} < czxid ${stat.czxid}`);
    return out;
  }
}

/** Expectations a scenario may state about one step's outcome (checked on every side). */
export interface Expect {
  /** 'Ok' for success, else the error code name. */
  code?: string;
  path?: string;
  data?: Data;
  children?: string[];
  /** Exact values of the non-zxid Stat fields; ephemeralOwner: 0 or 'session'. */
  stat?: Partial<Record<'version' | 'cversion' | 'aversion' | 'dataLength' | 'numChildren', number>> & { ephemeralOwner?: 0 | 'session' };
  /** multi failure: per-op codes. */
  results?: string[];
  /** Relations between zxid fields of this stat, e.g. ['pzxid>czxid', 'mzxid=czxid']. */
  zxids?: string[];
  /** multi: every result's Stat was written by the multi's own zxid (czxid for a create, mzxid for a set). */
  oneZxid?: boolean;
}

export function checkExpect(side: string, out: Outcome, exp: Expect): string[] {
  const errs: string[] = [];
  const code = out.ok ? 'Ok' : out.code;
  if (exp.code !== undefined && code !== exp.code) errs.push(`${side}: expected ${exp.code}, got ${code}`);
  if (!out.ok) {
    if (exp.results && show(out.results) !== show(exp.results)) errs.push(`${side}: expected results ${show(exp.results)}, got ${show(out.results)}`);
    return errs;
  }
  if (exp.path !== undefined && out.path !== exp.path) errs.push(`${side}: expected path ${exp.path}, got ${out.path}`);
  if (exp.data !== undefined && !(out.data && out.data.equals(bytes(exp.data)))) errs.push(`${side}: expected data ${show(bytes(exp.data))}, got ${show(out.data)}`);
  if (exp.children !== undefined && show(out.children) !== show([...exp.children].sort())) {
    errs.push(`${side}: expected children ${show([...exp.children].sort())}, got ${show(out.children)}`);
  }
  if (exp.stat) {
    const s = out.stat;
    if (!s) errs.push(`${side}: expected a stat`);
    else {
      for (const [k, v] of Object.entries(exp.stat)) {
        if (k === 'ephemeralOwner') {
          const isZero = s.ephemeralOwner === 0n;
          if ((v === 0) !== isZero) errs.push(`${side}: expected ephemeralOwner ${v}, got ${s.ephemeralOwner}`);
        } else if ((s as unknown as Record<string, number>)[k] !== v) {
          errs.push(`${side}: expected stat.${k} = ${v}, got ${(s as unknown as Record<string, number>)[k]}`);
        }
      }
    }
  }
  if (exp.oneZxid) {
    const seen = new Set<bigint>();
    if (out.zxid !== undefined) seen.add(out.zxid);
    for (const r of out.results ?? []) {
      if (r.op === 'create' && r.stat) seen.add(r.stat.czxid);
      if (r.op === 'set' && r.stat) seen.add(r.stat.mzxid);
    }
    if (seen.size !== 1) errs.push(`${side}: expected one zxid for the whole multi, saw ${show([...seen])}`);
  }
  if (exp.zxids && out.stat) {
    const s = out.stat as unknown as Record<string, bigint>;
    for (const rel of exp.zxids) {
      const m = /^(\w+)(=|<|>)(\w+)$/.exec(rel);
      if (!m) throw new Error(`bad zxid relation ${rel}`);
      const a = s[m[1]!]!;
      const b = s[m[3]!]!;
      const ok = m[2] === '=' ? a === b : m[2] === '<' ? a < b : a > b;
      if (!ok) errs.push(`${side}: expected ${rel}, got ${m[1]}=${a} ${m[3]}=${b}`);
    }
  }
  return errs;
}

/** Drives one scenario step by step on ZooKeeper and (when present) zgate, comparing as it goes. */
export class Harness {
  readonly zxids = new OrderMap();
  readonly sessionIds = new PairMap();
  private readonly zkTimes: TimeBook;
  private readonly zgTimes: TimeBook;
  private stepNo = 0;
  /** Paths whose stat and children are re-read after every step. */
  readonly watchList = new Set<string>();

  constructor(
    readonly zk: Target,
    readonly zg: Target | undefined,
    startedAt: number = Date.now() - 1000,
  ) {
    this.zkTimes = new TimeBook('zookeeper', startedAt - 60_000);
    this.zgTimes = new TimeBook('zgate', startedAt - 60_000);
  }

  get steps(): number {
    return this.stepNo;
  }

  private fail(op: Op, zkOut: Outcome | undefined, zgOut: Outcome | undefined, problems: string[], phase: string): never {
    const lines = [
      `step ${this.stepNo} (${phase}): ${show(op)}`,
      ...problems.map((p) => `  - ${p}`),
      `  zookeeper: ${show(zkOut)}`,
      ...(this.zg ? [`  zgate:     ${show(zgOut)}`] : []),
      `  recent zookeeper exchanges:`,
      ...this.zk.trace().map((t) => `    ${t}`),
      ...(this.zg ? [`  recent zgate exchanges:`, ...this.zg.trace().map((t) => `    ${t}`)] : []),
    ];
    throw new Error(lines.join('\n'));
  }

  private zxidPair(a: bigint | undefined, b: bigint | undefined, what: string, out: string[]): void {
    if (a === undefined || b === undefined) return;
    const e = this.zxids.add(a, b);
    if (e) out.push(`${what}: ${e}`);
  }

  private compareStat(where: string, a: NStat | undefined, b: NStat | undefined, out: string[]): void {
    if (a === undefined || b === undefined) {
      if ((a === undefined) !== (b === undefined)) out.push(`${where}: stat present on one side only`);
      return;
    }
    for (const k of ['version', 'cversion', 'aversion', 'dataLength', 'numChildren'] as const) {
      if (a[k] !== b[k]) out.push(`${where}.${k}: zookeeper ${a[k]}, zgate ${b[k]}`);
    }
    if ((a.ephemeralOwner === 0n) !== (b.ephemeralOwner === 0n)) {
      out.push(`${where}.ephemeralOwner: zookeeper ${a.ephemeralOwner}, zgate ${b.ephemeralOwner}`);
    } else if (a.ephemeralOwner !== 0n) {
      const e = this.sessionIds.add(a.ephemeralOwner, b.ephemeralOwner);
      if (e) out.push(`${where}.ephemeralOwner: ${e}`);
    }
    this.zxidPair(a.czxid, b.czxid, `${where}.czxid`, out);
    this.zxidPair(a.mzxid, b.mzxid, `${where}.mzxid`, out);
    this.zxidPair(a.pzxid, b.pzxid, `${where}.pzxid`, out);
  }

  private selfCheck(side: 'zookeeper' | 'zgate', out: Outcome, where: string): string[] {
    if (!out.ok) return [];
    const book = side === 'zookeeper' ? this.zkTimes : this.zgTimes;
    const errs: string[] = [];
    if (out.stat) errs.push(...book.check(out.stat, where));
    for (const [i, r] of (out.results ?? []).entries()) {
      if ((r.op === 'create' || r.op === 'set') && r.stat) errs.push(...book.check(r.stat, `${where} result[${i}]`));
    }
    return errs;
  }

  private compare(op: Op, a: Outcome, b: Outcome, where: string): string[] {
    const out: string[] = [];
    if (a.ok !== b.ok || (!a.ok && !b.ok && a.code !== b.code)) {
      out.push(`${where}: zookeeper ${a.ok ? 'Ok' : a.code}, zgate ${b.ok ? 'Ok' : b.code}`);
      return out;
    }
    if (!a.ok || !b.ok) {
      if (!a.ok && !b.ok && op.op === 'multi') {
        if (show(a.results) !== show(b.results)) out.push(`${where}: multi results zookeeper ${show(a.results)}, zgate ${show(b.results)}`);
        if (b.opIndex !== undefined && a.opIndex !== b.opIndex) out.push(`${where}: failing op zookeeper #${a.opIndex}, zgate #${b.opIndex}`);
      }
      return out;
    }
    if (a.path !== b.path) out.push(`${where}: path zookeeper ${a.path}, zgate ${b.path}`);
    if ((a.data === undefined) !== (b.data === undefined) || (a.data && b.data && !a.data.equals(b.data))) {
      out.push(`${where}: data zookeeper ${show(a.data)}, zgate ${show(b.data)}`);
    }
    if (show(a.children) !== show(b.children)) out.push(`${where}: children zookeeper ${show(a.children)}, zgate ${show(b.children)}`);
    this.compareStat(`${where}.stat`, a.stat, b.stat, out);
    if (op.op === 'multi') {
      const ra = a.results ?? [];
      const rb = b.results ?? [];
      if (ra.length !== rb.length) out.push(`${where}: ${ra.length} results from zookeeper, ${rb.length} from zgate`);
      for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
        const x = ra[i]!;
        const y = rb[i]!;
        if (x.op !== y.op) {
          out.push(`${where}.results[${i}]: zookeeper ${x.op}, zgate ${y.op}`);
          continue;
        }
        if (x.op === 'create' && y.op === 'create' && x.path !== y.path) out.push(`${where}.results[${i}].path: zookeeper ${x.path}, zgate ${y.path}`);
        // ZooKeeper answers a plain create inside multi without a Stat; compare where both have one.
        const sx = 'stat' in x ? x.stat : undefined;
        const sy = 'stat' in y ? y.stat : undefined;
        if (sx && sy) this.compareStat(`${where}.results[${i}].stat`, sx, sy, out);
      }
    }
    if (op.op === 'openSession' && a.sessionId !== undefined && b.sessionId !== undefined) {
      const e = this.sessionIds.add(a.sessionId, b.sessionId);
      if (e) out.push(`${where}: session ids: ${e}`);
    }
    // A successful write's own zxid. An empty or check-only multi writes nothing visible and
    // may not get a zxid at all on zgate, so it is left out.
    const writes = op.op === 'multi' ? op.ops.some((s) => s.op !== 'check') : isWrite(op);
    if (writes) this.zxidPair(a.zxid, b.zxid, `${where}.zxid`, out);
    return out;
  }

  /** Paths whose state an op may have changed: its paths, created paths, and their parents. */
  private touched(op: Op, out: Outcome): string[] {
    const paths = new Set<string>();
    const add = (p: string): void => {
      if (!p.startsWith('/') || p === '/') return;
      paths.add(p);
      const parent = parentOf(p);
      if (parent !== '/') paths.add(parent);
    };
    if (op.op === 'multi') {
      for (const s of op.ops) add(s.path);
      if (out.ok) for (const r of out.results ?? []) if (r.op === 'create') add(r.path);
    } else if ('path' in op) {
      add(op.path);
      if (out.ok && out.path) add(out.path);
    }
    for (const w of this.watchList) paths.add(w);
    // A path the client wrote may be invalid: reading it back is its own difference (zgate checks
    // read paths, a ZooKeeper server doesn't), so only valid paths are re-read.
    return [...paths].filter(isValidPath).sort();
  }

  /**
   * Runs one op on each side, checks `expect` on each, compares the outcomes, then re-reads
   * (get + children) every touched path on both sides and compares those too. Returns
   * ZooKeeper's outcome.
   */
  async step(op: Op, expect?: Expect): Promise<Outcome> {
    this.stepNo++;
    const zkOut = await this.zk.run(op);
    const zgOut = this.zg ? await this.zg.run(op) : undefined;
    const problems: string[] = [];
    if (expect) {
      problems.push(...checkExpect('zookeeper', zkOut, expect));
      if (zgOut) problems.push(...checkExpect('zgate', zgOut, expect));
    }
    problems.push(...this.selfCheck('zookeeper', zkOut, 'answer'));
    if (zgOut) {
      problems.push(...this.selfCheck('zgate', zgOut, 'answer'));
      problems.push(...this.compare(op, zkOut, zgOut, 'answer'));
    }
    if (problems.length > 0) this.fail(op, zkOut, zgOut, problems, 'answer');
    if (op.op !== 'openSession' && op.op !== 'closeSession' && op.op !== 'awaitGone' && !isWrite(op)) return zkOut;
    for (const p of this.touched(op, zkOut)) {
      for (const read of [{ op: 'get', path: p }, { op: 'children', path: p }] as Op[]) {
        const a = await this.zk.run(read);
        const b = this.zg ? await this.zg.run(read) : undefined;
        const errs = [...this.selfCheck('zookeeper', a, `${read.op} ${p}`)];
        if (b) errs.push(...this.selfCheck('zgate', b, `${read.op} ${p}`), ...this.compare(read, a, b, `${read.op} ${p}`));
        if (errs.length > 0) this.fail(op, a, b, errs, `re-read ${read.op} ${p}`);
      }
    }
    return zkOut;
  }

  /** Runs an op on each side with a separate expectation per side (documented differences). */
  async diverge(op: Op, zkExpect: Expect, zgExpect: Expect): Promise<void> {
    this.stepNo++;
    const zkOut = await this.zk.run(op);
    const zgOut = this.zg ? await this.zg.run(op) : undefined;
    const problems = checkExpect('zookeeper', zkOut, zkExpect);
    if (zgOut) problems.push(...checkExpect('zgate', zgOut, zgExpect));
    if (problems.length > 0) this.fail(op, zkOut, zgOut, problems, 'documented difference');
  }
}

// ---------------------------------------------------------------------------------------------

export { prng } from './prng.js';
