/**
 * The durable log as the core reads it (etcd-io/raft's Storage), and MemoryLogStorage: the
 * in-memory copy of what is on disk that the core reads from.
 *
 * The runtime fills a MemoryLogStorage from disk at start (hard state, latest snapshot, the
 * entries after it) and hands it to RawNode. From then on RawNode.advance() writes into it
 * what the runtime has just persisted (a Ready's snapshot, entries and hard state), so it
 * always equals the durable state; RawNode.compact() drops the prefix a snapshot covers.
 * Only entries the runtime persisted ever reach it: the unpersisted tail lives in the core's
 * `Unstable` (unstable.ts).
 */
import { assert } from '../util/assert.js';
import { encodeConfChange, normalizeConfState } from './confchange.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/** Read side (etcd's Storage interface). Indices outside the stored range answer undefined. */
export interface RaftStorage {
  /** Hard state and the membership as of the snapshot (later changes are in the log). */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries [lo, hi), at most `maxBytes` of data but always at least one (maxBytes 0 = no
   * limit). undefined when lo < firstIndex (compacted). hi <= lastIndex + 1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[] | undefined;
  /** Term of entry i for firstIndex - 1 (the snapshot's) <= i <= lastIndex, else undefined. */
  term(i: number): number | undefined;
  /** The first index still held as an entry: snapshot index + 1. */
  firstIndex(): number;
  /** The last index held (snapshot index when there are no entries after it). */
  lastIndex(): number;
  /** The latest snapshot (data may be a reference the runtime resolves); undefined if temporarily unavailable. */
  snapshot(): Snapshot | undefined;
}

/** Write side, used by RawNode after the runtime persisted, and by the runtime at start. */
export interface LogStorage extends RaftStorage {
  setHardState(hs: HardState): void;
  /** Appends entries, replacing any existing suffix from entries[0].index. */
  append(entries: readonly Entry[]): void;
  /** Replaces the whole log by a snapshot received from a leader. */
  applySnapshot(snap: Snapshot): void;
  /** Records a snapshot the application took at index i (<= lastIndex) and drops entries <= i. */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot;
}

/**
 * The durable state of a member of a brand-new cluster, as etcd bootstraps it: the log
 * starts with one committed 'add' conf change per initial voter (term 1, indexes 1..n).
 * Every initial member writes exactly these entries at first start; a member that joins
 * later starts empty and learns the membership by replaying them (or from a snapshot).
 */
export function bootstrapState(voters: readonly number[]): { hardState: HardState; entries: Entry[] } {
  const ids = normalizeConfState({ voters: [...voters] }).voters;
  assert(ids.length > 0, 'bootstrap needs at least one voter');
  const entries: Entry[] = ids.map((id, k) => ({ index: k + 1, term: 1, type: 'confChange', data: encodeConfChange({ type: 'add', id }) }));
  return { hardState: { term: 1, vote: 0, commit: ids.length }, entries };
}

/** Bytes an entry counts for in message and in-flight limits: its data plus its framing
 * (index, term, type), so that empty entries are not free. */
export const ENTRY_OVERHEAD = 16;

export function entrySize(e: Entry): number {
  return e.data.byteLength + ENTRY_OVERHEAD;
}

/** Bytes of data only: what the uncommitted-proposal budget counts (empty entries are free). */
export function payloadSize(es: readonly Entry[]): number {
  let n = 0;
  for (const e of es) n += e.data.byteLength;
  return n;
}

export function entriesSize(es: readonly Entry[]): number {
  let n = 0;
  for (const e of es) n += entrySize(e);
  return n;
}

/** The prefix of `es` within maxBytes, at least one entry (maxBytes 0 = no limit). */
export function limitSize(es: Entry[], maxBytes: number): Entry[] {
  if (maxBytes <= 0 || es.length === 0) return es;
  let size = entrySize(es[0]!);
  let n = 1;
  while (n < es.length) {
    size += entrySize(es[n]!);
    if (size > maxBytes) break;
    n++;
  }
  return n === es.length ? es : es.slice(0, n);
}

/** Asserts that entries are contiguous with non-decreasing terms. */
export function assertContiguous(es: readonly Entry[], what: string): void {
  for (let i = 1; i < es.length; i++) {
    const a = es[i - 1]!;
    const b = es[i]!;
    assert(b.index === a.index + 1, () => `${what}: index ${b.index} after ${a.index}`);
    assert(b.term >= a.term, () => `${what}: term ${b.term} at ${b.index} after term ${a.term}`);
  }
}

export class MemoryLogStorage implements LogStorage {
  private hs: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot;
  /** Entries snap.meta.index + 1 .. lastIndex. */
  private ents: Entry[] = [];

  /** An empty log with no membership: a member that joins an existing cluster starts so. */
  constructor() {
    this.snap = { meta: { index: 0, term: 0, confState: { voters: [] } }, data: new Uint8Array(0) };
  }

  /** The first start of a member of a new cluster (see bootstrapState). */
  static bootstrap(voters: readonly number[]): MemoryLogStorage {
    const b = bootstrapState(voters);
    return MemoryLogStorage.fromDisk({ hardState: b.hardState, entries: b.entries });
  }

  /** Restores what the runtime found on disk. */
  static fromDisk(state: { hardState: HardState; snapshot?: Snapshot; entries: readonly Entry[] }): MemoryLogStorage {
    const s = new MemoryLogStorage();
    if (state.snapshot !== undefined) s.applySnapshot(state.snapshot);
    if (state.entries.length > 0) {
      assert(state.entries[0]!.index === s.firstIndex(), () => `entries from disk start at ${state.entries[0]!.index}, expected ${s.firstIndex()}`);
      s.append(state.entries);
    }
    s.setHardState(state.hardState);
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hs }, confState: { voters: [...this.snap.meta.confState.voters] } };
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  setHardState(hs: HardState): void {
    assert(hs.term >= this.hs.term, () => `hard state term went back ${this.hs.term} -> ${hs.term}`);
    assert(hs.term > this.hs.term || hs.vote === this.hs.vote || this.hs.vote === 0, () => `vote changed within term ${hs.term}: ${this.hs.vote} -> ${hs.vote}`);
    this.hs = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  firstIndex(): number {
    return this.snap.meta.index + 1;
  }

  lastIndex(): number {
    return this.snap.meta.index + this.ents.length;
  }

  term(i: number): number | undefined {
    const off = this.snap.meta.index;
    if (i === off) return this.snap.meta.term;
    if (i < off || i > this.lastIndex()) return undefined;
    return this.ents[i - off - 1]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    assert(lo <= hi, `entries(${lo}, ${hi})`);
    assert(hi <= this.lastIndex() + 1, () => `entries(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    if (lo < this.firstIndex()) return undefined;
    const off = this.snap.meta.index + 1;
    return limitSize(this.ents.slice(lo - off, hi - off), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    assertContiguous(entries, 'MemoryLogStorage.append');
    const first = entries[0]!.index;
    assert(first > this.snap.meta.index, () => `append at ${first} at or below the snapshot ${this.snap.meta.index}`);
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    const prevTerm = this.term(first - 1);
    assert(prevTerm !== undefined && prevTerm <= entries[0]!.term, () => `append: term ${entries[0]!.term} at ${first} after term ${prevTerm}`);
    this.ents.length = first - this.snap.meta.index - 1;
    for (const e of entries) this.ents.push(e);
  }

  applySnapshot(snap: Snapshot): void {
    assert(snap.meta.index >= this.snap.meta.index, () => `snapshot ${snap.meta.index} older than ${this.snap.meta.index}`);
    this.snap = { meta: { index: snap.meta.index, term: snap.meta.term, confState: normalizeConfState(snap.meta.confState) }, data: snap.data };
    this.ents = [];
  }

  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    assert(i >= this.snap.meta.index, () => `snapshot at ${i} older than ${this.snap.meta.index}`);
    assert(i <= this.lastIndex(), () => `snapshot at ${i} beyond last index ${this.lastIndex()}`);
    const term = this.term(i)!;
    const drop = i - this.snap.meta.index;
    this.snap = { meta: { index: i, term, confState: normalizeConfState(confState) }, data };
    this.ents = this.ents.slice(drop);
    return this.snap;
  }
}
