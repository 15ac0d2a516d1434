/**
 * The leader's expiry clock: a deadline per open session, moved by keepalives, read by a
 * periodic check. Not replicated — only the leader keeps it, and a new leader starts every
 * session's clock afresh (ZooKeeper does the same), so no session expires because a leader
 * died. Time comes in as `now` (ms), so tests drive it with a fake clock.
 *
 * ZooKeeper's ExpiryQueue: deadlines are rounded up to a multiple of `granularityMs` and kept
 * in buckets, so a keepalive is O(1) (move between buckets) and a check only looks at the
 * buckets that are due, not at every session. A session expires at most `granularityMs`
 * after its exact deadline, never before it.
 */
import type { SessionId } from '../core/types.js';
import { assert } from '../util/assert.js';

interface Tracked {
  timeoutMs: number;
  /** The bucket (a rounded deadline) the session is in. */
  bucket: number;
}

export class ExpiryTracker {
  private readonly sessions = new Map<SessionId, Tracked>();
  private readonly buckets = new Map<number, Set<SessionId>>();
  /** The earliest bucket that may still hold sessions; buckets before it were drained. */
  private nextDue = Number.POSITIVE_INFINITY;

  constructor(readonly granularityMs: number) {
    assert(Number.isSafeInteger(granularityMs) && granularityMs >= 1, () => `expiry granularity ${granularityMs}`);
  }

  get size(): number {
    return this.sessions.size;
  }

  has(id: SessionId): boolean {
    return this.sessions.has(id);
  }

  /** Tracked sessions, in no particular order. */
  ids(): SessionId[] {
    return [...this.sessions.keys()];
  }

  /** The rounded deadline of a tracked session (a session is due once now >= it). */
  deadline(id: SessionId): number | undefined {
    return this.sessions.get(id)?.bucket;
  }

  private roundUp(t: number): number {
    return Math.ceil(t / this.granularityMs) * this.granularityMs;
  }

  private place(id: SessionId, bucket: number): void {
    let set = this.buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(bucket, set);
    }
    set.add(id);
    if (bucket < this.nextDue) this.nextDue = bucket;
  }

  private unplace(id: SessionId, bucket: number): void {
    const set = this.buckets.get(bucket);
    if (set === undefined) return;
    set.delete(id);
    if (set.size === 0) this.buckets.delete(bucket);
  }

  /** Starts tracking (or restarts) a session: due at now + timeout, or at `dueAt` when given (a retry). */
  add(id: SessionId, timeoutMs: number, now: number, dueAt = now + timeoutMs): void {
    const t = this.sessions.get(id);
    if (t !== undefined) this.unplace(id, t.bucket);
    const bucket = this.roundUp(dueAt);
    this.sessions.set(id, { timeoutMs, bucket });
    this.place(id, bucket);
  }

  /** A keepalive: the deadline moves to now + timeout (never backwards). False for an untracked session. */
  touch(id: SessionId, now: number): boolean {
    const t = this.sessions.get(id);
    if (t === undefined) return false;
    const bucket = this.roundUp(now + t.timeoutMs);
    if (bucket <= t.bucket) return true;
    this.unplace(id, t.bucket);
    t.bucket = bucket;
    this.place(id, bucket);
    return true;
  }

  remove(id: SessionId): void {
    const t = this.sessions.get(id);
    if (t === undefined) return;
    this.unplace(id, t.bucket);
    this.sessions.delete(id);
  }

  /** Every session's clock restarts at now + its timeout (a new leader). */
  restartAll(now: number): void {
    const all = [...this.sessions.entries()];
    this.buckets.clear();
    this.nextDue = Number.POSITIVE_INFINITY;
    for (const [id, t] of all) {
      t.bucket = this.roundUp(now + t.timeoutMs);
      this.place(id, t.bucket);
    }
  }

  clear(): void {
    this.sessions.clear();
    this.buckets.clear();
    this.nextDue = Number.POSITIVE_INFINITY;
  }

  /**
   * The sessions whose deadline has passed (deadline <= now), ascending by deadline then id.
   * They are taken out of the tracker: the caller proposes their expiry (and add()s one back
   * should that fail and the session still be open).
   */
  due(now: number): SessionId[] {
    if (now < this.nextDue) return [];
    const ready = [...this.buckets.keys()].filter((b) => b <= now).sort((a, b) => a - b);
    const out: SessionId[] = [];
    for (const b of ready) {
      const ids = [...this.buckets.get(b)!].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      this.buckets.delete(b);
      for (const id of ids) {
        this.sessions.delete(id);
        out.push(id);
      }
    }
    this.nextDue = Number.POSITIVE_INFINITY;
    for (const b of this.buckets.keys()) if (b < this.nextDue) this.nextDue = b;
    return out;
  }
}
