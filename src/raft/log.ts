/**
 * RaftLog: the durable part (storage) plus the unpersisted tail (unstable), the commit index
 * and what the application has applied. Invariants (checked by checkInvariants):
 *   firstIndex - 1 <= applied <= applying <= committed <= lastIndex,
 *   terms never decrease along the log.
 */
import { assert } from '../util/assert.js';
import { Unstable } from './unstable.js';
import { assertContiguous, limitSize, type RaftStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';

export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known to be committed. */
  committed: number;
  /** Highest index the application has applied (acknowledged by advance). */
  applied: number;
  /** Highest index handed to the application (>= applied while a Ready is out). */
  applying: number;

  constructor(
    readonly storage: RaftStorage,
    /** Upper bound of committed entries' data bytes handed out in one Ready (0 = no limit). */
    readonly maxApplyingBytes: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    assert(first >= 1 && last >= first - 1, `storage range [${first}, ${last}]`);
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Term of entry i, for firstIndex - 1 <= i <= lastIndex; undefined outside (compacted or absent). */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    const st = this.storage.term(i);
    assert(st !== undefined, () => `storage has no term for ${i} within [${this.firstIndex() - 1}, ${this.lastIndex()}]`);
    return st;
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, 'no term for the last index');
    return t;
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** Raft's election restriction: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi) within maxBytes (at least one; 0 = no limit); undefined if lo was compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    assert(lo <= hi, `slice(${lo}, ${hi})`);
    assert(hi <= this.lastIndex() + 1, () => `slice(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    if (lo < this.firstIndex()) return undefined;
    if (lo === hi) return [];
    const off = this.unstable.offset;
    let out: Entry[] = [];
    if (lo < off) {
      const st = this.storage.entries(lo, Math.min(hi, off), maxBytes);
      if (st === undefined) return undefined;
      // The storage may have cut the batch short (maxBytes): then stop there.
      if (st.length < Math.min(hi, off) - lo) return st;
      out = st;
    }
    if (hi > off) {
      const un = this.unstable.slice(Math.max(lo, off), hi);
      out = out.length === 0 ? un : out.concat(un);
    }
    return limitSize(out, maxBytes);
  }

  /** Entries from lo to the end within maxBytes; undefined if compacted. */
  entriesFrom(lo: number, maxBytes: number): Entry[] | undefined {
    if (lo > this.lastIndex()) return [];
    return this.slice(lo, this.lastIndex() + 1, maxBytes);
  }

  /** The index of the first entry of `ents` that is not already in the log with the same term; 0 if none. */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (and that term), walking back over
   * a tail of higher terms; used to skip whole terms when probing (etcd's optimisation).
   * Returns term 0 when the walk reaches compacted entries.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    let i = index;
    for (;;) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
      i--;
    }
  }

  /**
   * A leader's MsgApp: append `ents` after (prevIndex, prevTerm) if our log has that entry.
   * Returns the index of the last new entry, or undefined (reject) if the logs do not match.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    assertContiguous(ents, 'MsgApp entries');
    assert(ents.length === 0 || ents[0]!.index === prevIndex + 1, () => `MsgApp entries start at ${ents[0]!.index} after prev ${prevIndex}`);
    assert(ents.length === 0 || ents[0]!.term >= prevTerm, 'MsgApp entries go back in term');
    const lastNew = prevIndex + ents.length;
    const conflict = this.findConflict(ents);
    if (conflict !== 0) {
      assert(conflict > this.committed, () => `entry ${conflict} conflicts with committed entry (committed ${this.committed})`);
      this.append(ents.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Appends (overwriting any uncommitted conflicting tail). Returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const first = ents[0]!.index;
    assert(first - 1 >= this.committed, () => `append at ${first} would overwrite committed ${this.committed}`);
    assert(first <= this.lastIndex() + 1, () => `append at ${first} leaves a gap after ${this.lastIndex()}`);
    const prevTerm = this.term(first - 1);
    assert(prevTerm !== undefined && prevTerm <= ents[0]!.term, () => `append: term ${ents[0]!.term} at ${first} after term ${prevTerm}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  commitTo(c: number): void {
    if (c <= this.committed) return;
    assert(c <= this.lastIndex(), () => `commit ${c} beyond last index ${this.lastIndex()}`);
    this.committed = c;
  }

  appliedTo(i: number): void {
    assert(i >= this.applied && i <= this.committed, () => `applied ${i} outside [${this.applied}, ${this.committed}]`);
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  /** The committed entries not yet handed to the application; none while a snapshot is pending. */
  nextCommittedEntries(): Entry[] {
    if (this.unstable.snapshot !== undefined) return [];
    const lo = Math.max(this.applying + 1, this.firstIndex());
    if (lo > this.committed) return [];
    const ents = this.slice(lo, this.committed + 1, this.maxApplyingBytes);
    assert(ents !== undefined, () => `committed entries from ${lo} were compacted before being applied`);
    return ents;
  }

  hasNextCommittedEntries(): boolean {
    return this.unstable.snapshot === undefined && Math.max(this.applying + 1, this.firstIndex()) <= this.committed;
  }

  /** The latest snapshot: an unpersisted one received from the leader, else the storage's. */
  snapshot(): Snapshot | undefined {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log by a leader's snapshot (unpersisted until the next Ready is handled). */
  restore(snap: Snapshot): void {
    assert(snap.meta.index > this.committed, () => `restore of snapshot ${snap.meta.index} at or below commit ${this.committed}`);
    this.unstable.restore(snap);
    this.committed = snap.meta.index;
  }

  /**
   * The last index known to be durable and part of this log: what the member may count as
   * its own acknowledgement. Underestimates are safe.
   */
  persistedLastIndex(): number {
    if (this.unstable.snapshot !== undefined) return 0;
    if (this.unstable.entries.length > 0) return Math.min(this.storage.lastIndex(), this.unstable.offset - 1);
    return this.storage.lastIndex();
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  checkInvariants(): void {
    const first = this.firstIndex();
    const last = this.lastIndex();
    assert(first - 1 <= this.applied || this.unstable.snapshot !== undefined, () => `applied ${this.applied} below first index ${first}`);
    assert(this.applied <= this.applying, () => `applied ${this.applied} > applying ${this.applying}`);
    assert(this.applying <= this.committed, () => `applying ${this.applying} > committed ${this.committed}`);
    assert(this.committed <= last, () => `committed ${this.committed} > last index ${last}`);
    assert(this.committed >= first - 1, () => `committed ${this.committed} below first index ${first}`);
    assert(this.unstable.offset <= this.storage.lastIndex() + 1 || this.unstable.snapshot !== undefined, () => `unstable offset ${this.unstable.offset} leaves a gap after storage ${this.storage.lastIndex()}`);
  }

  describe(): string {
    return `first=${this.firstIndex()} last=${this.lastIndex()} committed=${this.committed} applied=${this.applied}`;
  }
}
