import fc from 'fast-check';
import { committedIndex, majority, voteResult } from '../../src/raft/quorum.js';

/** The definition: the largest index that at least a majority of voters has acknowledged. */
function naiveCommitted(voters: number[], acked: Map<number, number>): number {
  let best = 0;
  const candidates = new Set([0, ...voters.map((v) => acked.get(v) ?? 0)]);
  for (const c of candidates) {
    const n = voters.filter((v) => (acked.get(v) ?? 0) >= c).length;
    if (n >= majority(voters.length) && c > best) best = c;
  }
  return best;
}

describe('quorum', () => {
  it('majority', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(majority)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });

  it('committedIndex of examples', () => {
    const acked = (m: Record<number, number>) => (id: number) => m[id];
    expect(committedIndex([1], acked({ 1: 5 }))).toBe(5);
    expect(committedIndex([1, 2, 3], acked({ 1: 5, 2: 3, 3: 1 }))).toBe(3);
    expect(committedIndex([1, 2, 3], acked({ 1: 5 }))).toBe(0);
    expect(committedIndex([1, 2, 3, 4], acked({ 1: 9, 2: 8, 3: 2, 4: 1 }))).toBe(2);
    expect(committedIndex([1, 2, 3, 4, 5], acked({ 1: 9, 2: 8, 3: 7, 4: 1, 5: 1 }))).toBe(7);
    expect(committedIndex([], acked({}))).toBe(Number.POSITIVE_INFINITY);
  });

  it('committedIndex agrees with the definition', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 7 }), fc.array(fc.nat(50), { minLength: 7, maxLength: 7 }), (voters, idx) => {
        const acked = new Map(voters.map((v, i) => [v, idx[i]!]));
        expect(committedIndex(voters, (id) => acked.get(id))).toBe(naiveCommitted(voters, acked));
      }),
    );
  });

  it('voteResult', () => {
    const votes = (m: Record<number, boolean>) => new Map(Object.entries(m).map(([k, v]) => [Number(k), v]));
    expect(voteResult([1, 2, 3], votes({ 1: true }))).toBe('pending');
    expect(voteResult([1, 2, 3], votes({ 1: true, 2: true }))).toBe('won');
    expect(voteResult([1, 2, 3], votes({ 1: true, 2: false, 3: false }))).toBe('lost');
    expect(voteResult([1, 2, 3], votes({ 1: true, 2: false }))).toBe('pending');
    expect(voteResult([1, 2, 3, 4], votes({ 1: true, 2: true, 3: false }))).toBe('pending');
    expect(voteResult([1, 2, 3, 4], votes({ 1: true, 2: false, 3: false }))).toBe('lost');
    expect(voteResult([1], votes({ 1: true }))).toBe('won');
    expect(voteResult([], votes({}))).toBe('won');
    // Votes of non-members do not count.
    expect(voteResult([1, 2, 3], votes({ 1: true, 7: true, 8: true }))).toBe('pending');
  });

  it('voteResult agrees with counting', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.array(fc.constantFrom<boolean | undefined>(true, false, undefined), { minLength: 7, maxLength: 7 }), (n, vs) => {
        const voters = Array.from({ length: n }, (_, i) => i + 1);
        const votes = new Map<number, boolean>();
        voters.forEach((v, i) => {
          if (vs[i] !== undefined) votes.set(v, vs[i]!);
        });
        const yes = [...votes.values()].filter((x) => x).length;
        const no = [...votes.values()].filter((x) => !x).length;
        const q = majority(n);
        const expected = yes >= q ? 'won' : n - no >= q ? 'pending' : 'lost';
        expect(voteResult(voters, votes)).toBe(expected);
      }),
    );
  });
});
