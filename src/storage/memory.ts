/**
 * MemoryStorage: the Storage contract without files, for Raft unit tests and the simulator
 * (which models disk faults itself). Same validation and visibility rules as FileStorage:
 * calls apply in call order, each becomes visible when its promise resolves.
 * `durableState()` is what a crash-restart would find; a simulator restores from it.
 */
import { assert } from '../util/assert.js';
import { ZgateError } from '../core/errors.js';
import type { HardState, LogEntry, SnapshotMeta, Storage } from './types.js';

export interface MemoryState {
  hardState: HardState;
  snapshot?: { meta: SnapshotMeta; data: Uint8Array };
  entries: LogEntry[];
}

export class MemoryStorage implements Storage {
  private hs: HardState;
  private snap: { meta: SnapshotMeta; data: Uint8Array } | undefined;
  private log: LogEntry[];
  private qLast: number;
  private qLastTerm: number;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(state?: MemoryState) {
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

  private queue(fn: () => void): Promise<void> {
    if (this.closed) return Promise.reject(new ZgateError('Unavailable', 'storage is closed'));
    const p = this.tail.then(fn);
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
    });
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
