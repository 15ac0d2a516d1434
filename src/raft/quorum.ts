/**
 * Majority quorum math over one set of voters (no joint consensus: membership changes one
 * voter at a time, see confchange.ts).
 */
import { assert } from '../util/assert.js';
import type { NodeId } from './types.js';

export type VoteResult = 'pending' | 'won' | 'lost';

/** The size of a majority of n voters. */
export function majority(n: number): number {
  assert(Number.isInteger(n) && n >= 0, `majority of ${n}`);
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index acknowledged by a majority of `voters`, given each voter's acknowledged
 * index (a missing voter counts as 0). An empty config commits nothing (returns +Infinity so
 * that joint use with min() is neutral, as in etcd; callers on a real config never see it).
 */
export function committedIndex(voters: readonly NodeId[], acked: (id: NodeId) => number | undefined): number {
  const n = voters.length;
  if (n === 0) return Number.POSITIVE_INFINITY;
  const idx: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = acked(voters[i]!) ?? 0;
    assert(Number.isInteger(v) && v >= 0, `acked index ${v} of ${voters[i]}`);
    idx[i] = v;
  }
  idx.sort((a, b) => a - b);
  // Ascending: the element at n - majority(n) is held by at least majority(n) voters.
  return idx[n - majority(n)]!;
}

/**
 * The outcome of an election given the votes received so far (true = granted,
 * false = rejected, absent = not yet heard). An empty config wins, as in etcd.
 */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = majority(voters.length);
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}
