/**
 * The checkers of a fault-injection history besides per-object linearizability's search:
 * linear-time invariants over the recorded operations, the members' final trees and the
 * watch streams. Each returns a CheckReport: how much it looked at, and its violations as
 * sentences (empty: none). Pure: no I/O.
 */
import { checkPartitioned, type CheckOptions, type LinearizabilityResult, type Model, type Operation, type Verdict } from './wgl.js';
import { sequenceModel, znodeModel, type SeqInput, type SeqOutput, type ZInput, type ZOutput } from './models.js';
import { effectsOf, isAppliedError, isWrite, seqPath, writtenValues, type HistoryOp, type NodeDump, type TreeDump, type WatcherLog, type WatchEvent } from './history.js';

export interface CheckReport {
  name: string;
  /** Things examined (operations, znodes, events...). */
  checked: number;
  violations: string[];
}

const MAX_LISTED = 50;

function report(name: string, checked: number, violations: string[]): CheckReport {
  const listed = violations.length > MAX_LISTED ? [...violations.slice(0, MAX_LISTED), `... and ${violations.length - MAX_LISTED} more`] : violations;
  return { name, checked, violations: listed };
}

function okOutput(op: HistoryOp): ZOutput | undefined {
  return op.status === 'ok' ? (op.output as ZOutput) : undefined;
}

// ------------------------------------------------------------------ linearizability

export interface LinearizabilityReport extends CheckReport {
  verdict: Verdict;
  partitions: number;
  ok: number;
  illegal: number;
  unknown: number;
  /** Partitions that came out unknown, with the reason. */
  unknowns: string[];
}

/**
 * Indeterminate sequential creates resolved with the final tree (nobody deletes under a
 * sequence parent): found by their unique data, they get their name; absent, they never
 * applied and are dropped. Definite ones are kept as they are.
 */
export function resolveSequential(ops: readonly HistoryOp[], final: TreeDump): HistoryOp[] {
  const byData = new Map<string, string>();
  for (const [path, n] of final) byData.set(n.data, path);
  const out: HistoryOp[] = [];
  for (const op of ops) {
    if (op.workload !== 'seq' || op.status !== 'info') {
      out.push(op);
      continue;
    }
    const input = op.input as SeqInput;
    const path = byData.get(input.data);
    if (path === undefined || !path.startsWith(input.prefix)) continue;
    out.push({ ...op, output: { t: 'ok', seq: Number(path.slice(input.prefix.length)) }, detail: `${op.detail ?? ''} (resolved from the final tree)` });
  }
  return out;
}

function toOperation<I, O>(op: HistoryOp): Operation<I, O> {
  const output = (op.status === 'info' ? { t: 'unknown' } : op.output) as O;
  return { id: op.id, client: op.client, input: op.input as I, output, call: op.call, ret: op.status === 'info' ? Infinity : op.ret };
}

function describeFailure<I, O>(model: Model<unknown, I, O>, byId: Map<number, HistoryOp>, key: string, r: LinearizabilityResult): string {
  const show = (id: number): string => {
    const op = byId.get(id)!;
    const o = toOperation<I, O>(op);
    const desc = model.describe ? model.describe(o.input, o.output) : JSON.stringify(o.input);
    return `#${id} c${op.client}@m${op.member} [${(op.call / 1e6).toFixed(3)}s..${Number.isFinite(o.ret) ? `${(o.ret / 1e6).toFixed(3)}s` : 'inf'}] ${desc}${op.read ? ` (${op.read})` : ''}`;
  };
  const prefix = (r.longestPrefix ?? []).slice(-8).map(show);
  return `${key}: not linearizable: no order reaches the completion of ${r.stuckAt !== undefined ? show(r.stuckAt) : '?'}; the longest linearized prefix (${r.longestPrefix?.length ?? 0} ops) ends with:\n    ${prefix.join('\n    ')}`;
}

/**
 * WGL per partition: registers (one znode each) and multi groups with the znode model, sequence
 * parents with the sequence model. Local reads are not linearizable by contract (they are
 * checked by checkLocalReads); failed reads and failed writes are left out (a failed write
 * changed nothing: checkFailedInvisible holds it to that).
 */
export function checkLinearizability(history: readonly HistoryOp[], final: TreeDump | undefined, opts: CheckOptions = {}): LinearizabilityReport {
  const considered = history.filter((op) => {
    if (op.status === 'fail') return false;
    if (op.workload === 'unique') return false;
    const isRead = (op.input as ZInput).f === 'get';
    if (isRead && (op.status !== 'ok' || op.read !== 'linearizable')) return false;
    return true;
  });
  const seqOps = final ? resolveSequential(considered.filter((o) => o.workload === 'seq'), final) : considered.filter((o) => o.workload === 'seq');
  const zOps = considered.filter((o) => o.workload === 'register' || o.workload === 'group');
  const byId = new Map(history.map((o) => [o.id, o] as const));
  const part = (o: Operation<unknown, unknown>): string => byId.get(o.id)!.partition;
  const z = checkPartitioned(znodeModel, zOps.map((o) => toOperation<ZInput, ZOutput>(o)), part, opts);
  const s = checkPartitioned(sequenceModel, seqOps.map((o) => toOperation<SeqInput, SeqOutput>(o)), part, opts);
  const violations: string[] = [];
  const unknowns: string[] = [];
  for (const [res, model] of [
    [z, znodeModel],
    [s, sequenceModel],
  ] as const) {
    for (const [key, r] of res.results) {
      if (r.verdict === 'illegal') violations.push(describeFailure(model as Model<unknown, unknown, unknown>, byId, key, r));
      else if (r.verdict === 'unknown') unknowns.push(`${key}: ${r.reason ?? 'unknown'} (${r.ops} ops)`);
    }
  }
  const illegal = z.illegal + s.illegal;
  const unknown = z.unknown + s.unknown;
  return {
    ...report('linearizability', zOps.length + seqOps.length, violations),
    verdict: illegal > 0 ? 'illegal' : unknown > 0 ? 'unknown' : 'ok',
    partitions: z.partitions + s.partitions,
    ok: z.ok + s.ok,
    illegal,
    unknown,
    unknowns,
  };
}

// ------------------------------------------------------------------ final state

/**
 * No acknowledged write lost: every acknowledged unique create and sequential create is in
 * the final tree with its data (nothing deletes them).
 */
export function checkLostWrites(history: readonly HistoryOp[], final: TreeDump): CheckReport {
  const violations: string[] = [];
  let checked = 0;
  for (const op of history) {
    const out = okOutput(op);
    if (out === undefined || out.t !== 'ok') continue;
    let path: string | undefined;
    let data: string | undefined;
    if (op.workload === 'unique' && (op.input as ZInput).f === 'create') {
      const i = op.input as Extract<ZInput, { f: 'create' }>;
      path = i.path;
      data = i.data;
    } else if (op.workload === 'seq') {
      const i = op.input as SeqInput;
      path = seqPath(i, (op.output as { seq: number }).seq);
      data = i.data;
    }
    if (path === undefined) continue;
    checked++;
    const n = final.get(path);
    if (n === undefined) violations.push(`acknowledged write lost: #${op.id} (client ${op.client}, member ${op.member}, zxid ${op.zxid}) created ${path}, absent from the final tree`);
    else if (n.data !== data) violations.push(`acknowledged write lost: #${op.id} created ${path} with ${JSON.stringify(data)}, the final tree holds ${JSON.stringify(n.data)}`);
  }
  return report('lost acknowledged writes', checked, violations);
}

/**
 * Failed writes stay invisible: no read (of any consistency) and no final znode shows a value
 * that only a failed write (definitely not applied, or answered with an error outcome) wrote.
 * Values are unique, so each one also appears at most once in the final tree (a value twice
 * means a write applied twice).
 */
export function checkFailedInvisible(history: readonly HistoryOp[], final: TreeDump): CheckReport {
  const failed = new Map<string, HistoryOp>();
  for (const op of history) {
    if (!isWrite(op)) continue;
    const out = okOutput(op);
    const definitelyNot = op.status === 'fail' || (out !== undefined && out.t === 'err');
    if (!definitelyNot) continue;
    for (const v of writtenValues(op.input)) failed.set(v.data, op);
  }
  const violations: string[] = [];
  let checked = 0;
  for (const op of history) {
    const out = okOutput(op);
    if ((op.input as ZInput).f !== 'get' || out === undefined || out.t !== 'ok' || out.data === undefined) continue;
    checked++;
    const w = failed.get(out.data);
    if (w !== undefined) violations.push(`failed write visible: read #${op.id} (client ${op.client}, member ${op.member}, ${op.read}) of ${(op.input as { path: string }).path} saw ${JSON.stringify(out.data)}, written only by #${w.id} which ${w.status === 'fail' ? `failed (${w.detail ?? ''})` : `answered ${JSON.stringify(w.output)}`}`);
  }
  const seen = new Map<string, string>();
  for (const [path, n] of final) {
    if (n.data === '') continue;
    checked++;
    const w = failed.get(n.data);
    if (w !== undefined) violations.push(`failed write visible: the final tree holds ${JSON.stringify(n.data)} at ${path}, written only by #${w.id} which ${w.status === 'fail' ? `failed (${w.detail ?? ''})` : `answered ${JSON.stringify(w.output)}`}`);
    const other = seen.get(n.data);
    if (other !== undefined) violations.push(`a write applied twice: the unique value ${JSON.stringify(n.data)} is at ${other} and at ${path}`);
    seen.set(n.data, path);
  }
  return report('failed writes invisible', checked, violations);
}

/** Multi all or nothing, in the final tree: a group's znodes (all written by multis only) exist together, with data of one multi and equal versions. */
export function checkMultiAtomic(groups: ReadonlyMap<string, readonly string[]>, final: TreeDump): CheckReport {
  const violations: string[] = [];
  for (const [g, paths] of groups) {
    const nodes = paths.map((p) => final.get(p));
    const present = nodes.filter((n): n is NodeDump => n !== undefined);
    if (present.length === 0) continue;
    if (present.length !== paths.length) {
      violations.push(`multi not atomic: group ${g} has ${paths.filter((_, i) => nodes[i] !== undefined).join(', ')} but not ${paths.filter((_, i) => nodes[i] === undefined).join(', ')}`);
      continue;
    }
    const tags = new Set(present.map((n) => n.data.split('/')[0]));
    const versions = new Set(present.map((n) => n.version));
    const mzxids = new Set(present.map((n) => n.mzxid));
    if (tags.size !== 1 || versions.size !== 1 || mzxids.size !== 1) {
      violations.push(`multi not atomic: group ${g} holds ${present.map((n, i) => `${paths[i]}=${JSON.stringify(n.data)} v${n.version} mzxid ${n.mzxid}`).join(', ')}`);
    }
  }
  return report('multi all or nothing', groups.size, violations);
}

// ------------------------------------------------------------------ zxids

/**
 * Single system image: the zxids one client observes (definite answers) never decrease, even
 * when it moves to another member (its local reads carry ?minZxid = the last zxid it saw).
 */
export function checkSessionOrder(history: readonly HistoryOp[]): CheckReport {
  const byClient = new Map<number, HistoryOp[]>();
  for (const op of history) {
    if (op.status !== 'ok' || op.zxid === undefined || op.final) continue;
    let l = byClient.get(op.client);
    if (l === undefined) byClient.set(op.client, (l = []));
    l.push(op);
  }
  const violations: string[] = [];
  let checked = 0;
  for (const [client, ops] of byClient) {
    ops.sort((a, b) => a.call - b.call);
    let last: HistoryOp | undefined;
    for (const op of ops) {
      checked++;
      if (last !== undefined && op.zxid! < last.zxid!) {
        violations.push(`client ${client} went back in time: #${op.id} on member ${op.member} answered at zxid ${op.zxid} after #${last.id} on member ${last.member} at zxid ${last.zxid}`);
      }
      if (last === undefined || op.zxid! >= last.zxid!) last = op;
    }
  }
  return report('per-client zxid order', checked, violations);
}

interface KnownWrite {
  op: HistoryOp;
  zxid: number;
  /** undefined for a delete. */
  data: string | undefined;
}

function knownWritesByPath(history: readonly HistoryOp[]): Map<string, KnownWrite[]> {
  const m = new Map<string, KnownWrite[]>();
  const add = (path: string, w: KnownWrite): void => {
    let l = m.get(path);
    if (l === undefined) m.set(path, (l = []));
    l.push(w);
  };
  for (const op of history) {
    const out = okOutput(op);
    if (out === undefined || out.t !== 'ok' || op.zxid === undefined || !isWrite(op)) continue;
    const i = op.input as ZInput | SeqInput;
    if (i.f === 'create' || i.f === 'set') add(i.path, { op, zxid: op.zxid, data: i.data });
    else if (i.f === 'delete') add(i.path, { op, zxid: op.zxid, data: undefined });
    else if (i.f === 'multi') {
      for (const s of i.ops) {
        if (s.op === 'create' || s.op === 'set') add(s.path, { op, zxid: op.zxid, data: s.data });
        else if (s.op === 'delete') add(s.path, { op, zxid: op.zxid, data: undefined });
      }
    } else if (i.f === 'createSeq') add(seqPath(i, (out as unknown as { seq: number }).seq), { op, zxid: op.zxid, data: i.data });
  }
  for (const l of m.values()) l.sort((a, b) => a.zxid - b.zxid);
  return m;
}

/**
 * Local reads are sequentially consistent: a read answered at zxid Z (the member's applied
 * zxid) of a znode last modified at mzxid M <= Z shows the data of the write at M (when that
 * write is known) and misses no acknowledged write to it in (M, Z].
 */
export function checkLocalReads(history: readonly HistoryOp[]): CheckReport {
  const writes = knownWritesByPath(history);
  const violations: string[] = [];
  let checked = 0;
  for (const op of history) {
    const out = okOutput(op);
    if ((op.input as ZInput).f !== 'get' || out === undefined || out.t !== 'ok' || op.zxid === undefined || op.mzxid === undefined) continue;
    checked++;
    const path = (op.input as { path: string }).path;
    const z = op.zxid;
    const m = op.mzxid;
    if (m > z) violations.push(`read #${op.id} (member ${op.member}, ${op.read}) of ${path} answered at zxid ${z} shows a znode modified at ${m}`);
    for (const w of writes.get(path) ?? []) {
      if (w.zxid === m && w.data !== undefined && w.data !== out.data) {
        violations.push(`read #${op.id} (member ${op.member}, ${op.read}) of ${path} shows ${JSON.stringify(out.data)} at mzxid ${m}, but #${w.op.id} wrote ${JSON.stringify(w.data)} at that zxid`);
      }
      if (w.zxid > m && w.zxid <= z) {
        violations.push(`stale read: #${op.id} (client ${op.client}, member ${op.member}, ${op.read}) of ${path} answered at zxid ${z} shows mzxid ${m} ${JSON.stringify(out.data)}, missing #${w.op.id} (zxid ${w.zxid}${w.data === undefined ? ', a delete' : ` ${JSON.stringify(w.data)}`})`);
        break;
      }
    }
  }
  return report('reads consistent with their zxid', checked, violations);
}

/** Distinct acknowledged writes have distinct zxids; a write's stat agrees with its zxid. */
export function checkZxidsUnique(history: readonly HistoryOp[]): CheckReport {
  const byZxid = new Map<number, HistoryOp>();
  const violations: string[] = [];
  let checked = 0;
  for (const op of history) {
    const out = okOutput(op);
    if (out === undefined || op.zxid === undefined || !isWrite(op)) continue;
    if (out.t === 'err' && !isAppliedError(out.code)) continue;
    checked++;
    const other = byZxid.get(op.zxid);
    if (other !== undefined) violations.push(`two writes answered with zxid ${op.zxid}: #${other.id} (member ${other.member}) and #${op.id} (member ${op.member})`);
    else byZxid.set(op.zxid, op);
  }
  return report('one write per zxid', checked, violations);
}

// ------------------------------------------------------------------ replicas

export interface MemberDump {
  member: number;
  appliedZxid: number;
  tree: TreeDump;
}

/** Replica agreement: after healing, every member applied the same zxid and holds the same tree (data and every stat field). */
export function checkReplicas(dumps: readonly MemberDump[]): CheckReport {
  const violations: string[] = [];
  const [first, ...rest] = dumps;
  if (first === undefined) return report('replica agreement', 0, ['no member could be read']);
  let checked = first.tree.size;
  for (const d of rest) {
    checked += d.tree.size;
    if (d.appliedZxid !== first.appliedZxid) violations.push(`member ${d.member} applied zxid ${d.appliedZxid}, member ${first.member} ${first.appliedZxid}`);
    const diffs: string[] = [];
    for (const [p, n] of first.tree) {
      const o = d.tree.get(p);
      if (o === undefined) diffs.push(`${p} missing on member ${d.member}`);
      else if (JSON.stringify(o) !== JSON.stringify(n)) diffs.push(`${p}: member ${first.member} ${JSON.stringify(n)}, member ${d.member} ${JSON.stringify(o)}`);
    }
    for (const p of d.tree.keys()) if (!first.tree.has(p)) diffs.push(`${p} only on member ${d.member}`);
    if (diffs.length > 0) violations.push(`members ${first.member} and ${d.member} disagree on ${diffs.length} znodes: ${diffs.slice(0, 5).join('; ')}`);
  }
  return report('replica agreement', checked, violations);
}

// ------------------------------------------------------------------ watches

export interface WatchReport extends CheckReport {
  events: number;
  gaps: number;
  duplicates: number;
  reorderings: number;
  /** Events not matching what the zxid's known write did (or another watcher saw). */
  mismatches: number;
}

function eventKey(e: WatchEvent): string {
  return `${e.type} ${e.path}`;
}

function isAncestor(a: string, p: string): boolean {
  return a === '/' || p.startsWith(a + '/');
}

/** Covered zxid ranges of a watcher: (from, to] of each segment. */
function covers(log: WatcherLog, z: number): boolean {
  return log.segments.some((s) => z > s.from && z <= s.to);
}

/**
 * Watch streams (api.md's promises), per logical watcher (one persistent_recursive watch kept
 * across reconnects by resuming from its last zxid):
 * - ordered: zxids strictly increase from frame to frame, also across a resume;
 *   atomic: the events of one frame share its zxid;
 * - unique: no (zxid, path, type) twice;
 * - no gaps: in every covered range (from, to], the events at each zxid are exactly the
 *   known write's effects there (for acknowledged writes), the same as every other watcher
 *   covering that zxid saw (for the rest), and every znode of the final tree created or last
 *   modified in the range has its NodeCreated / NodeDataChanged event there;
 * - a watcher caught up to the end agrees with the final tree on which znodes exist.
 */
export function checkWatches(logs: readonly WatcherLog[], history: readonly HistoryOp[], final: TreeDump | undefined, finalZxid: number | undefined): WatchReport {
  const t: WatchTally = { violations: [], events: 0, gaps: 0, duplicates: 0, reorderings: 0, mismatches: 0 };
  const known = writeEffectsByZxid(history);
  const perWatcher = logs.map((log) => readWatcher(log, t));
  logs.forEach((log, wi) => checkAgainstWrites(log, perWatcher[wi]!, known, t));
  checkWatchersAgree(logs, perWatcher, known, t);
  if (final !== undefined) {
    logs.forEach((log, wi) => {
      checkAgainstFinalZxids(log, perWatcher[wi]!, final, t);
      checkEndState(log, final, finalZxid, t);
    });
  }
  const { violations, events, gaps, duplicates, reorderings, mismatches } = t;
  return { ...report('watch streams', events, violations), events, gaps, duplicates, reorderings, mismatches };
}

/** checkWatches' counts and violations, in the order found. */
interface WatchTally {
  violations: string[];
  events: number;
  gaps: number;
  duplicates: number;
  reorderings: number;
  mismatches: number;
}

/** What an acknowledged write did: its events as keys, and the paths they are on. */
interface WriteEffects {
  op: HistoryOp;
  keys: Set<string>;
  paths: string[];
}

/** What each acknowledged write did, by zxid. */
function writeEffectsByZxid(history: readonly HistoryOp[]): Map<number, WriteEffects> {
  const known = new Map<number, WriteEffects>();
  for (const op of history) {
    const eff = effectsOf(op);
    if (eff === undefined || op.zxid === undefined) continue;
    if ((op.output as ZOutput).t === 'err' && !isAppliedError((op.output as { code: string }).code)) continue;
    known.set(op.zxid, { op, keys: new Set(eff.map((e) => `${e.type} ${e.path}`)), paths: eff.map((e) => e.path) });
  }
  return known;
}

/** One watcher's events by zxid, checking order, atomicity, uniqueness and resumes on the way. */
function readWatcher(log: WatcherLog, t: WatchTally): Map<number, Set<string>> {
  const { violations } = t;
  const byZxid = new Map<number, Set<string>>();
  let lastZxid = -1;
  for (const [si, seg] of log.segments.entries()) {
    if (seg.resumed && si > 0 && seg.from !== log.segments[si - 1]!.to) {
      violations.push(`watcher ${log.watcher}: segment ${si} resumed from ${seg.from}, the previous one ended at ${log.segments[si - 1]!.to}`);
    }
    if (!seg.resumed) lastZxid = -1;
    for (const frame of seg.frames) {
      const z = frame[0]?.zxid;
      if (z === undefined) continue;
      if (frame.some((e) => e.zxid !== z)) {
        t.reorderings++;
        violations.push(`watcher ${log.watcher} (member ${seg.member}): one frame mixes zxids ${frame.map((e) => e.zxid).join(',')}`);
      }
      if (z <= lastZxid) {
        t.reorderings++;
        violations.push(`watcher ${log.watcher} (member ${seg.member}): zxid ${z} after ${lastZxid}${z === lastZxid ? ' (in a separate frame)' : ''}`);
      }
      if (z <= seg.from) violations.push(`watcher ${log.watcher} (member ${seg.member}): event at zxid ${z}, not after the segment's start ${seg.from}`);
      lastZxid = Math.max(lastZxid, z);
      let set = byZxid.get(z);
      if (set === undefined) byZxid.set(z, (set = new Set()));
      for (const e of frame) {
        t.events++;
        const k = eventKey(e);
        if (set.has(k)) {
          t.duplicates++;
          violations.push(`watcher ${log.watcher} (member ${seg.member}): duplicate ${k} at zxid ${z}`);
        }
        set.add(k);
      }
    }
  }
  return byZxid;
}

/** At every covered zxid of an acknowledged write: exactly its effects. */
function checkAgainstWrites(log: WatcherLog, byZxid: Map<number, Set<string>>, known: Map<number, WriteEffects>, t: WatchTally): void {
  for (const [z, k] of known) {
    if (!covers(log, z)) continue;
    const got = byZxid.get(z) ?? new Set<string>();
    const missing = [...k.keys].filter((e) => !got.has(e));
    // Extra: anything but NodeCreated of an ancestor of a created path (parents=true).
    const extra = [...got].filter((e) => !k.keys.has(e) && !(e.startsWith('NodeCreated ') && k.paths.some((p) => isAncestor(e.slice('NodeCreated '.length), p))));
    if (missing.length > 0) {
      t.gaps++;
      t.violations.push(`watch gap: watcher ${log.watcher} covered zxid ${z} but missed ${missing.join(', ')} of #${k.op.id}`);
    }
    if (extra.length > 0) {
      t.mismatches++;
      t.violations.push(`watcher ${log.watcher}: at zxid ${z} (#${k.op.id}) events ${extra.join(', ')} that the write did not cause`);
    }
  }
}

/** Watchers against each other, where both cover a zxid no acknowledged write explains. */
function checkWatchersAgree(logs: readonly WatcherLog[], perWatcher: Map<number, Set<string>>[], known: Map<number, WriteEffects>, t: WatchTally): void {
  const setText = (s: Set<string> | undefined): string => (s === undefined || s.size === 0 ? '(nothing)' : [...s].sort().join(', '));
  for (let a = 0; a < logs.length; a++) {
    for (let b = a + 1; b < logs.length; b++) {
      const zs = new Set([...perWatcher[a]!.keys(), ...perWatcher[b]!.keys()]);
      for (const z of [...zs].sort((x, y) => x - y)) {
        if (known.has(z) || !covers(logs[a]!, z) || !covers(logs[b]!, z)) continue;
        const ea = setText(perWatcher[a]!.get(z));
        const eb = setText(perWatcher[b]!.get(z));
        if (ea !== eb) {
          t.mismatches++;
          t.violations.push(`watchers ${logs[a]!.watcher} and ${logs[b]!.watcher} disagree at zxid ${z}: ${ea} vs ${eb}`);
        }
      }
    }
  }
}

/** Every znode of the final tree under the watch, created or last modified in a covered range, has its event there. */
function checkAgainstFinalZxids(log: WatcherLog, byZxid: Map<number, Set<string>>, final: TreeDump, t: WatchTally): void {
  for (const [path, n] of final) {
    if (!isAncestor(log.path, path) && log.path !== path) continue;
    if (covers(log, n.czxid) && !(byZxid.get(n.czxid)?.has(`NodeCreated ${path}`) ?? false)) {
      t.gaps++;
      t.violations.push(`watch gap: watcher ${log.watcher} covered zxid ${n.czxid} but has no NodeCreated ${path} (the final tree's czxid)`);
    }
    if (n.mzxid !== n.czxid && covers(log, n.mzxid) && !(byZxid.get(n.mzxid)?.has(`NodeDataChanged ${path}`) ?? false)) {
      t.gaps++;
      t.violations.push(`watch gap: watcher ${log.watcher} covered zxid ${n.mzxid} but has no NodeDataChanged ${path} (the final tree's mzxid)`);
    }
  }
}

/** A watcher caught up to the final zxid agrees with the final tree on which znodes exist. */
function checkEndState(log: WatcherLog, final: TreeDump, finalZxid: number | undefined, t: WatchTally): void {
  const last = log.segments[log.segments.length - 1];
  if (finalZxid === undefined || last === undefined || last.to < finalZxid) return;
  // Replay the last contiguous run of segments: which znodes it says exist at the end.
  let start = log.segments.length - 1;
  while (start > 0 && log.segments[start]!.resumed) start--;
  const lastEvent = new Map<string, { type: string; zxid: number }>();
  for (const seg of log.segments.slice(start)) for (const f of seg.frames) for (const e of f) lastEvent.set(e.path, { type: e.type, zxid: e.zxid });
  for (const [path, e] of lastEvent) {
    const exists = final.has(path);
    if (e.type === 'NodeDeleted' ? exists : !exists) {
      t.gaps++;
      t.violations.push(`watcher ${log.watcher} ends with ${e.type} ${path} at ${e.zxid} but the final tree ${exists ? 'has' : 'lacks'} it`);
    }
  }
}
