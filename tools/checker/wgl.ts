/**
 * Linearizability checking: Wing & Gong's backtracking search with Lowe's memoisation and
 * P-compositionality, as Porcupine implements it (anishathalye/porcupine checker.go).
 *
 * - A history is a list of operations with an invocation time `call` and a completion time
 *   `ret` from ONE monotonic clock; intervals are closed, so at equal times calls sort before
 *   returns. An indeterminate operation (timeout, connection reset after send) has
 *   `ret = Infinity` and an output the model accepts whatever the state: it may then be
 *   linearized anywhere after its call, including after everything else (where its effect is
 *   unobservable, i.e. "it never happened").
 * - The search keeps a doubly linked list of call/return entries; the candidates are the calls
 *   before the first remaining return. Linearizing a candidate lifts its call and return out of
 *   the list; reaching a return means no candidate worked, so the last choice is undone.
 *   `(linearized set, state)` pairs already explored are cached and never explored again.
 * - Iterative (an explicit stack), with a time budget checked every few hundred steps and a
 *   bound on the cache: running out of either yields `unknown`, never `ok`.
 *
 * Pure: no I/O. The clock is injected (default Date.now) only to enforce the budget.
 */

/** A sequential specification. `step` must not mutate `s`. */
export interface Model<S, I, O> {
  init(): S;
  /** The state after `input` answered `output` in state `s`, or undefined if `output` is impossible there. */
  step(s: S, input: I, output: O): S | undefined;
  /** Canonical text of a state: equal states, equal keys; different states, different keys. */
  key(s: S): string;
  /** For reports. */
  describe?(input: I, output: O): string;
}

export interface Operation<I, O> {
  /** Unique within the history checked (reports name operations by it). */
  id: number;
  client: number;
  input: I;
  output: O;
  call: number;
  /** Infinity: indeterminate (the model must accept its output in any state). */
  ret: number;
}

export type Verdict = 'ok' | 'illegal' | 'unknown';

export interface CheckOptions {
  /** Give up (unknown) after this long. Default 10 s. */
  timeBudgetMs?: number;
  /** Give up (unknown) after this many cached (set, state) pairs. Default 2,000,000. */
  maxCacheEntries?: number;
  now?: () => number;
}

export interface LinearizabilityResult {
  verdict: Verdict;
  ops: number;
  /** Search steps taken. */
  steps: number;
  elapsedMs: number;
  /** ok: the ids in a linearization order. */
  witness?: number[];
  /** illegal: the longest linearized prefix found, and the operation whose completion no order could reach. */
  longestPrefix?: number[];
  stuckAt?: number;
  /** unknown: why the search stopped. */
  reason?: string;
}

interface Entry {
  isCall: boolean;
  /** Index of the operation in the input array. */
  op: number;
  /** The call's return entry (calls only). */
  match: Entry | undefined;
  time: number;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** Zobrist keys: the hash of a set is the XOR of its members' keys, updated in O(1). */
function zobrist(n: number): Uint32Array {
  const z = new Uint32Array(n);
  let x = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    z[i] = x >>> 0;
  }
  return z;
}

/** A fixed-size bitset with an incrementally maintained hash. */
class Bitset {
  readonly words: Uint32Array;
  private h = 0;
  constructor(
    n: number,
    private readonly keys: Uint32Array,
    words?: Uint32Array,
    h = 0,
  ) {
    this.words = words ?? new Uint32Array((n + 31) >>> 5);
    this.h = h;
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
    this.h ^= this.keys[i]!;
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
    this.h ^= this.keys[i]!;
  }
  clone(): Bitset {
    return new Bitset(0, this.keys, this.words.slice(), this.h);
  }
  equals(o: Bitset): boolean {
    const a = this.words;
    const b = o.words;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  hash(): number {
    return this.h >>> 0;
  }
}

function buildList<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((o, i) => {
    if (!(o.ret >= o.call)) throw new Error(`operation ${o.id}: completion ${o.ret} before invocation ${o.call}`);
    const ret: Entry = { isCall: false, op: i, match: undefined, time: o.ret, prev: undefined, next: undefined };
    const call: Entry = { isCall: true, op: i, match: ret, time: o.call, prev: undefined, next: undefined };
    entries.push(call, ret);
  });
  // Time order; at equal times calls first (closed intervals); then by operation index for determinism.
  entries.sort((a, b) => (a.time !== b.time ? (a.time < b.time ? -1 : 1) : a.isCall !== b.isCall ? (a.isCall ? -1 : 1) : a.op - b.op));
  const head: Entry = { isCall: false, op: -1, match: undefined, time: -Infinity, prev: undefined, next: undefined };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function lift(call: Entry): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

/** Checks one history (one partition) against `model`. */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], opts: CheckOptions = {}): LinearizabilityResult {
  const now = opts.now ?? Date.now;
  const started = now();
  const budget = opts.timeBudgetMs ?? 10_000;
  const maxCache = opts.maxCacheEntries ?? 2_000_000;
  const n = ops.length;
  const head = buildList(ops);
  let state = model.init();
  const linearized = new Bitset(n, zobrist(n));
  const stack: { call: Entry; state: S }[] = [];
  const cache = new Map<string, Bitset[]>();
  let cached = 0;
  let steps = 0;
  let longest: number[] = [];
  let stuckAt: number | undefined;
  let cursor = head.next;
  const result = (verdict: Verdict, extra: Partial<LinearizabilityResult> = {}): LinearizabilityResult => ({ verdict, ops: n, steps, elapsedMs: now() - started, ...extra });

  while (head.next !== undefined) {
    if ((++steps & 255) === 0) {
      if (now() - started > budget) return result('unknown', { reason: `time budget of ${budget} ms spent after ${steps} steps` });
      if (cached > maxCache) return result('unknown', { reason: `cache bound of ${maxCache} entries reached after ${steps} steps` });
    }
    if (cursor === undefined) throw new Error('wgl: ran off the end of the list (a call without its return?)');
    if (cursor.isCall) {
      const op = ops[cursor.op]!;
      const next = model.step(state, op.input, op.output);
      if (next !== undefined) {
        linearized.set(cursor.op);
        const key = `${model.key(next)}#${linearized.hash()}`;
        let bucket = cache.get(key);
        const seen = bucket !== undefined && bucket.some((b) => b.equals(linearized));
        if (!seen) {
          if (bucket === undefined) cache.set(key, (bucket = []));
          bucket.push(linearized.clone());
          cached++;
          stack.push({ call: cursor, state });
          state = next;
          lift(cursor);
          cursor = head.next;
          continue;
        }
        linearized.clear(cursor.op);
      }
      cursor = cursor.next;
    } else {
      // A return: its operation must already be linearized, and no pending candidate works.
      if (stack.length >= longest.length) {
        longest = stack.map((s) => ops[s.call.op]!.id);
        stuckAt = ops[cursor.op]!.id;
      }
      const top = stack.pop();
      if (top === undefined) return result('illegal', { longestPrefix: longest, ...(stuckAt !== undefined ? { stuckAt } : {}) });
      state = top.state;
      linearized.clear(top.call.op);
      unlift(top.call);
      cursor = top.call.next;
    }
  }
  return result('ok', { witness: stack.map((s) => ops[s.call.op]!.id) });
}

export interface PartitionedResult {
  verdict: Verdict;
  partitions: number;
  ok: number;
  illegal: number;
  unknown: number;
  /** Every partition's result, by key. */
  results: Map<string, LinearizabilityResult>;
}

/**
 * P-compositionality: a history over independent objects is linearizable iff each object's
 * sub-history is. Checks every partition (does not stop at the first failure, so a report
 * counts them all); the verdict is illegal if any is, else unknown if any is, else ok. The
 * time budget applies per partition.
 */
export function checkPartitioned<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  partition: (op: Operation<I, O>) => string,
  opts: CheckOptions = {},
): PartitionedResult {
  const groups = new Map<string, Operation<I, O>[]>();
  for (const o of ops) {
    const k = partition(o);
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = []));
    g.push(o);
  }
  const results = new Map<string, LinearizabilityResult>();
  let ok = 0;
  let illegal = 0;
  let unknown = 0;
  for (const [k, g] of [...groups].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const r = checkLinearizable(model, g, opts);
    results.set(k, r);
    if (r.verdict === 'ok') ok++;
    else if (r.verdict === 'illegal') illegal++;
    else unknown++;
  }
  const verdict: Verdict = illegal > 0 ? 'illegal' : unknown > 0 ? 'unknown' : 'ok';
  return { verdict, partitions: groups.size, ok, illegal, unknown, results };
}
