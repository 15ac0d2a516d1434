/**
 * The sort of a large directory's child names, done a slice at a time inside the snapshot
 * writer's steps, so that no step sorts, or allocates for, a million names at once.
 */
import { assert } from '../../util/assert.js';
import type { ZNode } from '../znode.js';

// Costs in the writer's ticks (see TICKS_PER_NODE in writer.ts).
const TICK_COLLECT = 0.1; // a key taken from a large directory's map
const TICK_MERGE = 0.4; // a name moved by one merge pass
const TICK_RUN = 0.5; // a name sorted into a first-pass run

/** Sorted names as a list of chunks: no array of a million slots is ever allocated at once. */
export type Chunks = string[][];

/** Names per chunk of a merged run (128 KiB of slots). */
const CHUNK = 16_384;

const SortPhase = { Collect: 0, Merge: 1, Done: 2 } as const;
type SortPhase = (typeof SortPhase)[keyof typeof SortPhase];

/**
 * The names of a large directory's children as of Z, sorted a slice at a time: collected from
 * the live map (which may change between slices: a key added later belongs to a node with
 * czxid > Z, which the frame skips; a key deleted before it is reached is in the graveyard; a
 * rolled-back delete may come twice and the frame takes it once) into sorted runs, then merged
 * pairwise, pass after pass. Runs are lists of chunks, so that no step allocates (and faults
 * in) a large array at once.
 */
export class SortJob {
  private phase: SortPhase = SortPhase.Collect;
  private it: IterableIterator<string> | null;
  private cur: string[] = [];
  /** This pass's runs (from `qi` on) and the next pass's. */
  private runs: Chunks[] = [];
  private qi = 0;
  private next: Chunks[] = [];
  // The pair being merged: run, chunk and index in it, for each side; the output run.
  private a: Chunks | null = null;
  private b: Chunks = [];
  private ac = 0;
  private ai = 0;
  private bc = 0;
  private bi = 0;
  private out: Chunks = [];
  private outChunk: string[] = [];
  private sorted: Chunks = [];

  constructor(
    children: Map<string, ZNode>,
    private readonly run: number,
  ) {
    this.it = children.keys();
  }

  get done(): boolean {
    return this.phase === SortPhase.Done;
  }

  get result(): Chunks {
    assert(this.phase === SortPhase.Done, 'sort result before the sort is done');
    return this.sorted;
  }

  /** Spends up to `ticks` (at least some); returns what it spent. */
  work(ticks: number): number {
    let spent = 0;
    while (spent < ticks && this.phase !== SortPhase.Done) {
      if (this.phase === SortPhase.Collect) spent += this.collect(ticks - spent);
      else spent += this.merge(ticks - spent);
    }
    return spent;
  }

  private collect(ticks: number): number {
    const want = Math.max(1, Math.ceil(ticks / (TICK_COLLECT + TICK_RUN)));
    const run = this.run;
    let cur = this.cur;
    let got = 0;
    // A Map iterator has no return(): leaving the loop early leaves it where it stopped.
    for (const name of this.it!) {
      cur.push(name);
      if (cur.length >= run) {
        this.runs.push([cur.sort()]);
        cur = [];
      }
      if (++got >= want) break;
    }
    this.cur = cur;
    if (got < want) {
      if (cur.length > 0) this.runs.push([cur.sort()]);
      this.cur = [];
      this.it = null;
      this.phase = SortPhase.Merge;
    }
    return Math.max(1, got) * (TICK_COLLECT + TICK_RUN);
  }

  private merge(ticks: number): number {
    let spent = 0;
    while (spent < ticks) {
      if (this.a === null) {
        const left = this.runs.length - this.qi;
        if (left >= 2) {
          this.a = this.runs[this.qi++]!;
          this.b = this.runs[this.qi++]!;
          this.ac = this.ai = this.bc = this.bi = 0;
          this.out = [];
          this.outChunk = [];
        } else {
          if (left === 1) this.next.push(this.runs[this.qi++]!);
          if (this.next.length <= 1) {
            this.sorted = this.next[0] ?? [];
            this.runs = this.next = [];
            this.phase = SortPhase.Done;
            return spent + 1;
          }
          this.runs = this.next;
          this.next = [];
          this.qi = 0;
        }
        spent += 1;
        continue;
      }
      spent += this.mergeSome(Math.max(1, Math.ceil((ticks - spent) / TICK_MERGE))) * TICK_MERGE;
    }
    return spent;
  }

  /** Moves up to `n` names of the current pair to the output run; returns how many. */
  private mergeSome(n: number): number {
    const a = this.a!;
    const b = this.b;
    let ac = this.ac;
    let ai = this.ai;
    let bc = this.bc;
    let bi = this.bi;
    let outChunk = this.outChunk;
    let moved = 0;
    while (moved < n) {
      const x = ac < a.length ? a[ac]![ai] : undefined;
      const y = bc < b.length ? b[bc]![bi] : undefined;
      let m: string;
      if (x !== undefined && (y === undefined || x <= y)) {
        m = x;
        if (++ai === a[ac]!.length) {
          ac++;
          ai = 0;
        }
      } else if (y !== undefined) {
        m = y;
        if (++bi === b[bc]!.length) {
          bc++;
          bi = 0;
        }
      } else {
        // Both sides used up: the merged run goes to the next pass.
        if (outChunk.length > 0) this.out.push(outChunk);
        this.next.push(this.out);
        this.a = null;
        this.out = [];
        this.outChunk = [];
        return moved;
      }
      outChunk.push(m);
      if (outChunk.length === CHUNK) {
        this.out.push(outChunk);
        outChunk = [];
      }
      moved++;
    }
    this.ac = ac;
    this.ai = ai;
    this.bc = bc;
    this.bi = bi;
    this.outChunk = outChunk;
    return moved;
  }
}
