/**
 * A member's durable state in the simulation, with the failure model of a real disk under
 * the runtime's write order: a Ready is written as [snapshot, entries, hard state] in that
 * order (the storage module's FIFO). A Ready with mustSync is fsynced (together with every
 * earlier unsynced write); one without (a commit-only hard state) is written but not
 * synced. A crash keeps the synced state plus a random prefix of the unsynced writes, and
 * of a Ready being written at that moment a random prefix (possibly cutting its entries).
 */
import { assert } from '../../src/util/assert.js';
import { bootstrapState, type Entry, type HardState, type Ready, type Snapshot } from '../../src/raft/index.js';
import type { Prng } from '../../src/util/prng.js';

type Op = { kind: 'snapshot'; snap: Snapshot } | { kind: 'entries'; ents: Entry[] } | { kind: 'hardState'; hs: HardState };

export interface DurableState {
  hardState: HardState;
  snapshot: Snapshot;
  entries: Entry[];
}

export class SimDisk {
  private hs: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot;
  private ents: Entry[] = [];
  private unsynced: Op[] = [];
  syncs = 0;
  lostWrites = 0;

  /** A member of the initial cluster (bootstrapped with `voters`) or, with none, one that joins later. */
  constructor(voters: number[]) {
    this.snap = { meta: { index: 0, term: 0, confState: { voters: [] } }, data: new Uint8Array(0) };
    if (voters.length > 0) {
      const b = bootstrapState(voters);
      this.hs = b.hardState;
      this.ents = b.entries;
    }
  }

  /** Writes a Ready (called before its messages are sent). */
  write(rd: Ready): void {
    const ops = opsOf(rd);
    if (rd.mustSync) {
      this.flush();
      for (const op of ops) this.apply(op);
      this.syncs++;
    } else {
      for (const op of ops) this.unsynced.push(op);
    }
  }

  /** The application took a snapshot: saved and synced (everything before it too), log compacted. */
  saveSnapshot(snap: Snapshot): void {
    this.flush();
    if (snap.meta.index <= this.snap.meta.index) return;
    const last = this.snap.meta.index + this.ents.length;
    assert(snap.meta.index <= last, `sim disk: snapshot ${snap.meta.index} beyond durable log ${last}`);
    this.ents = this.ents.slice(snap.meta.index - this.snap.meta.index);
    this.snap = snap;
  }

  /** A crash: unsynced writes survive as a random prefix; so does a Ready caught mid-write. */
  crash(prng: Prng, inFlight: Ready | undefined): void {
    const keep = prng.int(this.unsynced.length + 1);
    this.lostWrites += this.unsynced.length - keep;
    for (let i = 0; i < keep; i++) this.apply(this.unsynced[i]!);
    this.unsynced = [];
    if (inFlight !== undefined) {
      const ops = opsOf(inFlight);
      const n = prng.int(ops.length + 1);
      for (let i = 0; i < n; i++) {
        const op = ops[i]!;
        if (op.kind === 'entries' && i === n - 1 && prng.chance(0.5)) {
          // A torn batch: only some of its entries made it.
          const k = prng.int(op.ents.length + 1);
          if (k > 0) this.apply({ kind: 'entries', ents: op.ents.slice(0, k) });
        } else {
          this.apply(op);
        }
      }
    }
  }

  load(): DurableState {
    assert(this.unsynced.length === 0, 'sim disk: load with unsynced writes (crash first)');
    return { hardState: { ...this.hs }, snapshot: this.snap, entries: [...this.ents] };
  }

  lastIndex(): number {
    return this.snap.meta.index + this.ents.length;
  }

  private flush(): void {
    for (const op of this.unsynced) this.apply(op);
    this.unsynced = [];
  }

  private apply(op: Op): void {
    switch (op.kind) {
      case 'snapshot':
        if (op.snap.meta.index < this.snap.meta.index) return;
        this.snap = op.snap;
        this.ents = [];
        return;
      case 'entries': {
        if (op.ents.length === 0) return;
        const first = op.ents[0]!.index;
        assert(first > this.snap.meta.index && first <= this.lastIndex() + 1, () => `sim disk: append at ${first} to [${this.snap.meta.index + 1}, ${this.lastIndex()}]`);
        this.ents.length = first - this.snap.meta.index - 1;
        for (const e of op.ents) this.ents.push(e);
        return;
      }
      case 'hardState':
        this.hs = { ...op.hs };
        return;
    }
  }
}

function opsOf(rd: Ready): Op[] {
  const ops: Op[] = [];
  if (rd.snapshot !== undefined) ops.push({ kind: 'snapshot', snap: rd.snapshot });
  if (rd.entries.length > 0) ops.push({ kind: 'entries', ents: rd.entries });
  if (rd.hardState !== undefined) ops.push({ kind: 'hardState', hs: rd.hardState });
  return ops;
}
