/**
 * The tail of the log that the runtime has not persisted yet: entries from `offset` on, and
 * possibly a snapshot received from the leader (then offset = snapshot.index + 1). Entries
 * below `offset` live in storage; a follower that must overwrite a conflicting tail moves
 * `offset` down, and those storage entries are replaced when the next Ready is persisted.
 */
import { assert } from '../util/assert.js';
import { assertContiguous } from './storage.js';
import type { Entry, Snapshot } from './types.js';

export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {
    assert(offset >= 1, `unstable offset ${offset}`);
  }

  /** Last index held here, if any (an entry, else the snapshot). */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    if (this.snapshot !== undefined) return this.snapshot.meta.index;
    return undefined;
  }

  /** First index held here as a snapshot (its index + 1), if there is a snapshot. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.meta.index + 1;
  }

  /** Term of entry i if this tail knows it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== undefined && this.snapshot.meta.index === i) return this.snapshot.meta.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** Entries [lo, hi) (must lie within this tail). */
  slice(lo: number, hi: number): Entry[] {
    assert(lo >= this.offset && hi <= this.offset + this.entries.length && lo <= hi, () => `unstable.slice(${lo}, ${hi}) outside [${this.offset}, ${this.offset + this.entries.length})`);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }

  /** Entries up to `index` (of term `term`) were persisted: drop them, if still the same. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || index < this.offset) return;
    if (t !== term) return; // overwritten meanwhile by a newer leader's entries
    const n = index + 1 - this.offset;
    this.entries = this.entries.slice(n);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.meta.index === index) this.snapshot = undefined;
  }

  restore(snap: Snapshot): void {
    this.offset = snap.meta.index + 1;
    this.entries = [];
    this.snapshot = snap;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    assertContiguous(ents, 'unstable append');
    const first = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (first === end) {
      for (const e of ents) this.entries.push(e);
    } else if (first <= this.offset) {
      assert(this.snapshot === undefined || first > this.snapshot.meta.index, () => `append at ${first} below the unstable snapshot ${this.snapshot!.meta.index}`);
      this.offset = first;
      this.entries = [...ents];
    } else {
      assert(first < end, () => `unstable append at ${first} leaves a gap after ${end - 1}`);
      this.entries = this.entries.slice(0, first - this.offset).concat(ents);
    }
  }
}
