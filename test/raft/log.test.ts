import { RaftLog } from '../../src/raft/log.js';
import { MemoryLogStorage, bootstrapState, limitSize, ENTRY_OVERHEAD } from '../../src/raft/storage.js';
import { Unstable } from '../../src/raft/unstable.js';
import type { Entry, Snapshot } from '../../src/raft/types.js';
import { AssertionFailure } from '../../src/util/assert.js';

const enc = new TextEncoder();

function ent(index: number, term: number, data = ''): Entry {
  return { index, term, type: 'normal', data: enc.encode(data) };
}

/** Entries first..last of the given terms (terms[k] for index first + k). */
function ents(first: number, terms: number[]): Entry[] {
  return terms.map((t, k) => ent(first + k, t, `e${first + k}`));
}

function snap(index: number, term: number, voters = [1, 2, 3]): Snapshot {
  return { meta: { index, term, confState: { voters } }, data: enc.encode(`s${index}`) };
}

/** A log over storage holding a snapshot at `snapIndex` and stable entries after it. */
function logWith(snapIndex: number, snapTerm: number, stable: Entry[]): { log: RaftLog; storage: MemoryLogStorage } {
  const storage = new MemoryLogStorage();
  if (snapIndex > 0) storage.applySnapshot(snap(snapIndex, snapTerm));
  storage.append(stable);
  return { log: new RaftLog(storage, 0), storage };
}

function terms(log: RaftLog): number[] {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i)!);
  return out;
}

describe('MemoryLogStorage', () => {
  it('serves terms, entries and bounds around a snapshot', () => {
    const s = new MemoryLogStorage();
    s.applySnapshot(snap(10, 2));
    s.append(ents(11, [2, 3, 3]));
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(13);
    expect(s.term(10)).toBe(2);
    expect(s.term(9)).toBeUndefined();
    expect(s.term(14)).toBeUndefined();
    expect(s.entries(10, 12, 0)).toBeUndefined(); // compacted
    expect(s.entries(11, 14, 0)!.map((e) => e.index)).toEqual([11, 12, 13]);
    // Byte limit: at least one entry.
    expect(s.entries(11, 14, 1)!.length).toBe(1);
    expect(s.entries(11, 14, 2 * (ENTRY_OVERHEAD + 3))!.length).toBe(2);
  });

  it('append replaces a conflicting suffix and refuses gaps and the snapshot', () => {
    const s = new MemoryLogStorage();
    s.append(ents(1, [1, 1, 1, 1]));
    s.append(ents(3, [2, 2]));
    expect([1, 2, 3, 4].map((i) => s.term(i))).toEqual([1, 1, 2, 2]);
    expect(() => s.append(ents(7, [2]))).toThrow(AssertionFailure);
    s.createSnapshot(2, { voters: [1] }, enc.encode('x'));
    expect(() => s.append(ents(2, [3]))).toThrow(AssertionFailure);
    expect(() => s.append(ents(4, [1]))).toThrow(AssertionFailure); // term below its predecessor's
  });

  it('createSnapshot compacts the prefix', () => {
    const s = new MemoryLogStorage();
    s.append(ents(1, [1, 1, 2, 2, 3]));
    s.createSnapshot(3, { voters: [2, 1] }, enc.encode('app@3'));
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(2);
    expect(s.snapshot().meta).toEqual({ index: 3, term: 2, confState: { voters: [1, 2] } });
    expect(() => s.createSnapshot(9, { voters: [1] }, new Uint8Array())).toThrow(AssertionFailure);
  });

  it('refuses a vote change within a term', () => {
    const s = new MemoryLogStorage();
    s.setHardState({ term: 2, vote: 1, commit: 0 });
    expect(() => s.setHardState({ term: 2, vote: 3, commit: 0 })).toThrow(AssertionFailure);
    expect(() => s.setHardState({ term: 1, vote: 0, commit: 0 })).toThrow(AssertionFailure);
    s.setHardState({ term: 3, vote: 3, commit: 0 });
  });

  it('bootstraps a new cluster with committed conf changes', () => {
    const b = bootstrapState([3, 1, 2]);
    expect(b.hardState).toEqual({ term: 1, vote: 0, commit: 3 });
    expect(b.entries.map((e) => [e.index, e.term, e.type])).toEqual([
      [1, 1, 'confChange'],
      [2, 1, 'confChange'],
      [3, 1, 'confChange'],
    ]);
    const s = MemoryLogStorage.bootstrap([1, 2, 3]);
    expect(s.lastIndex()).toBe(3);
    expect(s.initialState().confState.voters).toEqual([]);
  });

  it('limitSize keeps at least one entry', () => {
    const es = ents(1, [1, 1, 1]);
    expect(limitSize(es, 0)).toBe(es);
    expect(limitSize(es, 1).length).toBe(1);
  });
});

describe('Unstable', () => {
  it('appends, truncates and stabilizes', () => {
    const u = new Unstable(5);
    u.truncateAndAppend(ents(5, [1, 1, 1]));
    expect(u.maybeLastIndex()).toBe(7);
    u.truncateAndAppend(ents(6, [2]));
    expect(u.entries.map((e) => e.term)).toEqual([1, 2]);
    u.truncateAndAppend(ents(3, [3])); // below offset: replaces all, offset moves down
    expect(u.offset).toBe(3);
    expect(u.entries.map((e) => e.index)).toEqual([3]);
    u.truncateAndAppend(ents(4, [3, 3]));
    u.stableTo(4, 3);
    expect(u.offset).toBe(5);
    expect(u.entries.map((e) => e.index)).toEqual([5]);
    // A stale stableTo (the entry was overwritten meanwhile) changes nothing.
    u.stableTo(5, 1);
    expect(u.offset).toBe(5);
    expect(() => u.truncateAndAppend(ents(9, [3]))).toThrow(AssertionFailure);
  });

  it('holds a snapshot until it is stable', () => {
    const u = new Unstable(3);
    u.truncateAndAppend(ents(3, [1]));
    u.restore(snap(10, 2));
    expect(u.offset).toBe(11);
    expect(u.entries).toEqual([]);
    expect(u.maybeTerm(10)).toBe(2);
    expect(u.maybeLastIndex()).toBe(10);
    expect(u.maybeFirstIndex()).toBe(11);
    u.stableSnapTo(9);
    expect(u.snapshot).toBeDefined();
    u.stableSnapTo(10);
    expect(u.snapshot).toBeUndefined();
  });
});

describe('RaftLog', () => {
  it('reads through storage and the unstable tail', () => {
    const { log } = logWith(5, 1, ents(6, [1, 2]));
    log.append(ents(8, [3, 3]));
    expect(log.firstIndex()).toBe(6);
    expect(log.lastIndex()).toBe(9);
    expect(terms(log)).toEqual([1, 2, 3, 3]);
    expect(log.term(5)).toBe(1);
    expect(log.term(4)).toBeUndefined();
    expect(log.slice(6, 10, 0)!.map((e) => e.index)).toEqual([6, 7, 8, 9]);
    expect(log.slice(5, 10, 0)).toBeUndefined();
    expect(log.slice(7, 9, 1)!.map((e) => e.index)).toEqual([7]);
    expect(log.lastTerm()).toBe(3);
  });

  it('maybeAppend: accepts a matching prefix, rejects a mismatch, ignores what it already has', () => {
    const { log } = logWith(0, 0, ents(1, [1, 1, 2]));
    expect(log.maybeAppend(3, 1, 0, ents(4, [2]))).toBeUndefined(); // term at 3 is 2, not 1
    expect(log.maybeAppend(4, 2, 0, [])).toBeUndefined(); // gap
    expect(log.maybeAppend(1, 1, 2, ents(2, [1, 2]))).toBe(3); // all present: nothing changes
    expect(log.unstable.entries).toEqual([]);
    expect(log.committed).toBe(2);
    // A duplicate, older MsgApp must not truncate entries the follower has beyond it.
    log.append(ents(4, [2, 2]));
    expect(log.maybeAppend(2, 1, 2, ents(3, [2]))).toBe(3);
    expect(log.lastIndex()).toBe(5);
  });

  it('maybeAppend replaces a conflicting uncommitted tail, never a committed entry', () => {
    const { log } = logWith(0, 0, ents(1, [1, 1, 1, 2, 2]));
    log.commitTo(3);
    expect(log.maybeAppend(3, 1, 5, ents(4, [3, 3, 3]))).toBe(6);
    expect(terms(log)).toEqual([1, 1, 1, 3, 3, 3]);
    expect(log.committed).toBe(5);
    expect(() => log.maybeAppend(1, 1, 5, ents(2, [4]))).toThrow(AssertionFailure);
  });

  it('commit follows min(leader commit, last new entry)', () => {
    const { log } = logWith(0, 0, ents(1, [1, 1]));
    expect(log.maybeAppend(2, 1, 10, ents(3, [1]))).toBe(3);
    expect(log.committed).toBe(3);
    expect(() => log.commitTo(9)).toThrow(AssertionFailure);
  });

  it('findConflictByTerm skips a tail of newer terms', () => {
    const { log } = logWith(0, 0, ents(1, [1, 1, 2, 2, 5, 5, 5]));
    expect(log.findConflictByTerm(7, 5)).toEqual([7, 5]);
    expect(log.findConflictByTerm(7, 4)).toEqual([4, 2]);
    expect(log.findConflictByTerm(7, 1)).toEqual([2, 1]);
    expect(log.findConflictByTerm(7, 0)).toEqual([0, 0]);
    const { log: compacted } = logWith(4, 2, ents(5, [5, 5]));
    expect(compacted.findConflictByTerm(6, 1)).toEqual([3, 0]); // walked into the compacted part
  });

  it('isUpToDate compares last term, then length', () => {
    const { log } = logWith(0, 0, ents(1, [1, 2, 2]));
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  it('hands out committed entries once, never while a snapshot is pending', () => {
    const { log } = logWith(0, 0, ents(1, [1, 1, 1]));
    log.commitTo(2);
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([1, 2]);
    log.applying = 2;
    expect(log.nextCommittedEntries()).toEqual([]);
    log.appliedTo(2);
    log.commitTo(3);
    expect(log.hasNextCommittedEntries()).toBe(true);
    log.restore(snap(10, 3));
    expect(log.hasNextCommittedEntries()).toBe(false);
    expect(log.nextCommittedEntries()).toEqual([]);
    expect(log.committed).toBe(10);
    expect(log.firstIndex()).toBe(11);
    expect(log.lastIndex()).toBe(10);
  });

  it('persistedLastIndex underestimates what is durable', () => {
    const { log, storage } = logWith(0, 0, ents(1, [1, 1, 1]));
    expect(log.persistedLastIndex()).toBe(3);
    log.append(ents(4, [2]));
    expect(log.persistedLastIndex()).toBe(3);
    log.append(ents(2, [3])); // a new leader's entry overwrites 2..4 in memory
    expect(log.persistedLastIndex()).toBe(1);
    storage.append(log.unstable.entries);
    log.stableTo(2, 3);
    expect(log.persistedLastIndex()).toBe(2);
    log.restore(snap(10, 3));
    expect(log.persistedLastIndex()).toBe(0);
  });

  it('applied never goes beyond committed', () => {
    const { log } = logWith(0, 0, ents(1, [1, 1]));
    log.commitTo(1);
    expect(() => log.appliedTo(2)).toThrow(AssertionFailure);
  });
});
