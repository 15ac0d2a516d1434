/**
 * MemoryStorage: the Storage contract without files, for Raft unit tests and the simulator.
 * Same validation and visibility rules as FileStorage: calls apply in call order, each
 * becomes visible (durable) when its promise resolves. `durableState()` is what a clean
 * restart would find. A simulated disk: `writeDelay` holds each write for a while (on the
 * simulator's clock), and `crash()` stops the disk: writes not yet done are lost (of an append
 * caught in the middle, a prefix of its entries may survive: a torn write), and what it
 * returns is what a restart after the crash finds.
 */
import { assert } from '../util/assert.js';
import { ZgateError } from '../core/errors.js';
import type { HardState, LogEntry, SnapshotMeta, Storage } from './types.js';

export interface MemoryState {
  hardState: HardState;
  snapshot?: { meta: SnapshotMeta; data: Uint8Array };
  entries: LogEntry[];
}

export interface MemoryStorageOptions {
  /** Awaited before each queued write takes effect (a simulated disk's latency); undefined: at once. */
  writeDelay?: () => Promise<void> | undefined;
}

export class MemoryStorage implements Storage {
  private hs: HardState;
  private snap: { meta: SnapshotMeta; data: Uint8Array } | undefined;
  private log: LogEntry[];
  private qLast: number;
  private qLastTerm: number;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private crashed = false;
  /** The entries of an append waiting out its delay (what a crash may tear). */
  private appending: LogEntry[] | undefined;

  constructor(
    state?: MemoryState,
    private readonly opts: MemoryStorageOptions = {},
  ) {
    this.hs = state ? { ...state.hardState } : { term: 0, vote: 0, commit: 0 };
    this.snap = state?.snapshot;
    this.log = state ? [...state.entries] : [];
    this.qLast = this.lastIndex();
    this.qLastTerm = this.term(this.qLast)!;
  }

  durableState(): MemoryState {
    return { hardState: { ...this.hs }, snapshot: this.snap, entries: [...this.log] };
  }

  private get snapIndex(): number {
    return this.snap?.meta.index ?? 0;
  }

  /**
   * The disk stops: queued writes never complete (nor do their promises settle). `keepTorn(n)`:
   * how many of the n entries of an append in progress made it. Returns what a restart finds.
   */
  crash(keepTorn: (n: number) => number = () => 0): MemoryState {
    this.crashed = true;
    const torn = this.appending;
    this.appending = undefined;
    if (torn !== undefined) {
      const k = keepTorn(torn.length);
      // Only a prefix that continues the durable log can survive (as the WAL's torn-tail repair).
      if (k > 0 && torn[0]!.index <= this.lastIndex() + 1) {
        this.log.length = Math.max(0, torn[0]!.index - this.snapIndex - 1);
        this.log.push(...torn.slice(0, k));
      }
    }
    return this.durableState();
  }

  private queue(fn: () => void, entries?: LogEntry[]): Promise<void> {
    if (this.closed) return Promise.reject(new ZgateError('Unavailable', 'storage is closed'));
    const p = this.tail.then(async () => {
      const delay = this.crashed ? undefined : this.opts.writeDelay?.();
      if (delay !== undefined) {
        this.appending = entries;
        await delay;
        this.appending = undefined;
      }
      if (this.crashed) return new Promise<void>(() => undefined);
      fn();
    });
    this.tail = p.catch(() => undefined);
    return p;
  }

  append(entries: readonly LogEntry[]): Promise<void> {
    try {
      let prev = this.qLast;
      let prevTerm = this.qLastTerm;
      for (const e of entries) {
        assert(e.index === prev + 1 && e.term >= prevTerm && e.term >= 1, () => `append: entry ${e.index}/${e.term} after ${prev}/${prevTerm}`);
        prev = e.index;
        prevTerm = e.term;
      }
      this.qLast = prev;
      this.qLastTerm = prevTerm;
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const copy = [...entries];
    return this.queue(() => {
      this.log.push(...copy);
    }, copy);
  }

  truncateSuffix(fromIndex: number): Promise<void> {
    try {
      assert(fromIndex > this.snapIndex, 'truncateSuffix into the snapshot');
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (fromIndex > this.qLast) return Promise.resolve();
    this.qLast = fromIndex - 1;
    // The queued tail's term: from entries already in the log (a queued append being cut
    // away is not; callers truncate only what they have appended and awaited).
    this.qLastTerm = this.term(fromIndex - 1) ?? this.qLastTerm;
    return this.queue(() => {
      this.log.length = Math.max(0, fromIndex - this.snapIndex - 1);
    });
  }

  saveHardState(hs: HardState): Promise<void> {
    return this.queue(() => {
      assert(hs.term >= this.hs.term, 'hard state term does not go down');
      this.hs = { ...hs };
    });
  }

  saveSnapshot(meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    return this.queue(() => {
      if (meta.index <= this.snapIndex) return;
      assert(meta.index <= this.lastIndex() && this.term(meta.index) === meta.term, 'snapshot matches the log');
      this.log.splice(0, meta.index - this.snapIndex);
      this.snap = { meta, data };
    });
  }

  installSnapshot(meta: SnapshotMeta, data: Uint8Array): Promise<void> {
    this.qLast = meta.index;
    this.qLastTerm = meta.term;
    return this.queue(() => {
      assert(meta.index > this.snapIndex, 'installed snapshot is newer');
      this.snap = { meta, data };
      this.log = [];
    });
  }

  async loadSnapshot(): Promise<{ meta: SnapshotMeta; data: Uint8Array } | undefined> {
    return this.snap;
  }

  entries(lo: number, hi: number, maxBytes?: number): LogEntry[] {
    if (lo < this.firstIndex()) throw new ZgateError('Compacted', `entries from ${lo} are compacted`);
    assert(lo <= hi && hi <= this.lastIndex() + 1, 'entries range');
    const out = this.log.slice(lo - this.firstIndex(), hi - this.firstIndex());
    if (maxBytes === undefined) return out;
    let bytes = 0;
    let n = 0;
    while (n < out.length && (n === 0 || bytes + out[n]!.data.length <= maxBytes)) bytes += out[n++]!.data.length;
    return out.slice(0, n);
  }
  term(i: number): number | undefined {
    if (i === this.snapIndex) return this.snap?.meta.term ?? 0;
    if (i < this.snapIndex || i > this.lastIndex()) return undefined;
    return this.log[i - this.snapIndex - 1]!.term;
  }
  firstIndex(): number {
    return this.snapIndex + 1;
  }
  lastIndex(): number {
    return this.snapIndex + this.log.length;
  }
  hardState(): HardState {
    return { ...this.hs };
  }
  snapshotMeta(): SnapshotMeta {
    return this.snap?.meta ?? { index: 0, term: 0, config: new Uint8Array(0) };
  }
  async close(): Promise<void> {
    this.closed = true;
    await this.tail;
  }
}
