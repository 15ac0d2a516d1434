/**
 * Raft's safety properties, checked after every simulation step (incrementally, so that a
 * check costs little more than the step):
 *
 * - Election safety: at most one leader per term (over the whole run).
 * - Log matching: two entries with the same index and term hold the same data and follow an
 *   entry of the same term. Checked on every entry when it first appears in a member's log;
 *   by induction the logs are then identical up to any shared (index, term).
 * - Committed entries never change: the first member to report index i committed fixes
 *   (term, data) for i; every member that later commits i must hold the same entry.
 * - Leader completeness: a leader of term T holds every entry committed in a term < T.
 * - State machine safety: every member applies the same entry (and state digest) at each
 *   index, in order; a snapshot installed at i carries the digest everyone computed at i.
 * - Linearizable reads: a ReadIndex answer is >= every commit index known anywhere when the
 *   read was requested.
 */
import type { Entry, RawNode } from '../../src/raft/index.js';

export class SafetyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetyViolation';
  }
}

function fail(msg: string): never {
  throw new SafetyViolation(msg);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Known {
  term: number;
  type: string;
  data: Uint8Array;
}

interface PerMember {
  /** Entry objects already checked in this member's log. */
  seen: WeakSet<Entry>;
  /** Commit index up to which this member's committed entries were checked. */
  commitChecked: number;
  /** Leader completeness: checked for (term) up to index. */
  leaderTerm: number;
  leaderChecked: number;
}

const KEY_TERM_LIMIT = 2 ** 20;

function key(index: number, term: number): number {
  if (term >= KEY_TERM_LIMIT) fail(`term ${term} too large for the checker`);
  return index * KEY_TERM_LIMIT + term;
}

export class SafetyChecker {
  private readonly leaders = new Map<number, number>();
  private readonly entries = new Map<number, Known & { prevTerm: number }>();
  private readonly committed: (Known | undefined)[] = [];
  /** The lowest term of any member that reported index i committed. */
  private readonly commitTerm: number[] = [];
  private readonly appliedHash: (number | undefined)[] = [];
  private readonly members = new Map<number, PerMember>();
  private readonly reads = new Map<string, number>();
  /** The highest commit index any member has reported. */
  commitMax = 0;
  checks = 0;

  private member(id: number): PerMember {
    let m = this.members.get(id);
    if (m === undefined) {
      m = { seen: new WeakSet(), commitChecked: 0, leaderTerm: 0, leaderChecked: 0 };
      this.members.set(id, m);
    }
    return m;
  }

  /** A member restarted: its commit index may be lower than before. */
  restarted(id: number, commit: number): void {
    const m = this.member(id);
    m.commitChecked = Math.min(m.commitChecked, commit);
    m.leaderTerm = 0;
  }

  /** Checks one live member's state. */
  check(id: number, rn: RawNode): void {
    this.checks++;
    const r = rn.raft;
    const pm = this.member(id);
    const log = r.log;

    // Election safety.
    if (r.role === 'leader') {
      const other = this.leaders.get(r.term);
      if (other === undefined) this.leaders.set(r.term, id);
      else if (other !== id) fail(`two leaders in term ${r.term}: ${other} and ${id}`);
    }

    // Log matching, on entries not seen before. The unpersisted tail is only compared with
    // what is known (a crash may erase it, and a member that lost it may legitimately create
    // other entries with the same index and term); entries register once durable (persisted()).
    const un = log.unstable;
    for (let k = 0; k < un.entries.length; k++) {
      const e = un.entries[k]!;
      if (pm.seen.has(e)) continue;
      const prevTerm = log.term(e.index - 1);
      if (prevTerm === undefined) fail(`member ${id}: entry ${e.index} has no predecessor in its log`);
      this.matchEntry(id, e, prevTerm, false);
      pm.seen.add(e);
    }
    if (un.snapshot !== undefined) {
      const c = this.committed[un.snapshot.meta.index];
      if (c !== undefined && c.term !== un.snapshot.meta.term) fail(`member ${id} received a snapshot at ${un.snapshot.meta.term}/${un.snapshot.meta.index}, but ${c.term} was committed there`);
    }

    // Committed entries never change.
    const commit = log.committed;
    if (commit < pm.commitChecked) pm.commitChecked = commit; // only after a restart
    const first = log.firstIndex();
    for (let i = Math.max(pm.commitChecked + 1, first); i <= commit; i++) {
      const ents = log.slice(i, i + 1, 0);
      if (ents === undefined || ents.length !== 1) fail(`member ${id}: committed entry ${i} missing`);
      const e = ents[0]!;
      const c = this.committed[i];
      if (c === undefined) {
        this.committed[i] = { term: e.term, type: e.type, data: e.data };
        this.commitTerm[i] = r.term;
      } else {
        if (c.term !== e.term || c.type !== e.type || !bytesEqual(c.data, e.data)) {
          fail(`committed entry ${i} changed: ${c.term}/${i} committed before, member ${id} committed ${e.term}/${i}`);
        }
        if (r.term < this.commitTerm[i]!) this.commitTerm[i] = r.term;
      }
    }
    if (commit > pm.commitChecked) pm.commitChecked = commit;
    if (commit > this.commitMax) this.commitMax = commit;

    // Leader completeness.
    if (r.role === 'leader') {
      if (pm.leaderTerm !== r.term) {
        pm.leaderTerm = r.term;
        pm.leaderChecked = 0;
      }
      const last = log.lastIndex();
      for (let i = Math.max(pm.leaderChecked + 1, first); i <= this.commitMax; i++) {
        const c = this.committed[i];
        if (c === undefined || this.commitTerm[i]! >= r.term) continue;
        if (i > last) fail(`leader completeness: leader ${id} of term ${r.term} lacks committed entry ${c.term}/${i} (last index ${last})`);
        const t = log.term(i);
        if (t !== c.term) fail(`leader completeness: leader ${id} of term ${r.term} has ${t}/${i}, committed was ${c.term}/${i}`);
      }
      pm.leaderChecked = Math.max(pm.leaderChecked, this.commitMax);
    }
  }

  /** Entries just written to a member's durable log (`term` reads that log). */
  persisted(id: number, ents: readonly Entry[], term: (i: number) => number | undefined): void {
    for (const e of ents) {
      const prevTerm = term(e.index - 1);
      if (prevTerm === undefined) fail(`member ${id}: persisted entry ${e.index} has no predecessor`);
      if (term(e.index) !== e.term) continue; // already overwritten again (a later Ready)
      this.matchEntry(id, e, prevTerm, true);
    }
  }

  private matchEntry(id: number, e: Entry, prevTerm: number, register: boolean): void {
    const kk = key(e.index, e.term);
    const known = this.entries.get(kk);
    if (known === undefined) {
      if (register) this.entries.set(kk, { term: e.term, type: e.type, data: e.data, prevTerm });
      return;
    }
    if (known.prevTerm !== prevTerm) fail(`log matching: entry ${e.term}/${e.index} on ${id} follows term ${prevTerm}, elsewhere term ${known.prevTerm}`);
    if (known.type !== e.type || !bytesEqual(known.data, e.data)) fail(`log matching: entry ${e.term}/${e.index} on ${id} differs from the same (index, term) elsewhere`);
  }

  /** A member applied entry i, its state digest becoming `hash`. */
  applied(id: number, e: Entry, hash: number): void {
    const c = this.committed[e.index];
    if (c === undefined) fail(`member ${id} applied ${e.term}/${e.index}, which nobody reported committed`);
    if (c.term !== e.term || !bytesEqual(c.data, e.data)) fail(`member ${id} applied ${e.term}/${e.index}, but ${c.term}/${e.index} was committed`);
    this.recordHash(id, e.index, hash);
  }

  /** A member installed a snapshot as of index i with digest `hash`. */
  installed(id: number, index: number, hash: number): void {
    this.recordHash(id, index, hash);
  }

  private recordHash(id: number, index: number, hash: number): void {
    const h = this.appliedHash[index];
    if (h === undefined) this.appliedHash[index] = hash;
    else if (h !== hash) fail(`state machine safety: member ${id} has digest ${hash} at ${index}, others ${h}`);
  }

  /** A linearizable read was requested now. */
  readRequested(ctx: string): void {
    this.reads.set(ctx, this.commitMax);
  }

  readAnswered(id: number, ctx: string, index: number): void {
    const min = this.reads.get(ctx);
    if (min === undefined) return; // a duplicate answer
    if (index < min) fail(`linearizability: read ${ctx} on ${id} answered at ${index}, but ${min} was committed when it was asked`);
  }

  appliedDigest(index: number): number | undefined {
    return this.appliedHash[index];
  }

  committedEntry(index: number): Known | undefined {
    return this.committed[index];
  }
}
