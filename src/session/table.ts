/**
 * The session table: replicated, deterministic state applied through the log next to the
 * tree. Every member holds the same table at the same zxid; a snapshot carries it as of the
 * snapshot's zxid (see state.ts).
 *
 * It knows which sessions are open and with what timeout, nothing about time: liveness
 * (deadlines, keepalives) is the leader's business and not replicated (expiry.ts). A session
 * ends only by a closeSession entry (a client's DELETE, or the leader's expiry).
 *
 * Ids: chosen by the proposer (63 random bits from a CSPRNG, see node/session-service.ts),
 * refused here when already open, so the API retries with another. The table also keeps a
 * bounded ring of recently closed ids (refused too), so that a session a client was just told
 * is expired can't be handed out again while that client may still be retrying it.
 */
import { ZgateError } from '../core/errors.js';
import type { Access, Id } from '../core/acl.js';
import type { SessionId, Zxid } from '../core/types.js';
import { assert } from '../util/assert.js';

/** Ids are 1 .. 2^63-1: positive as a Java long (ZooKeeper's ephemeralOwner), never 0. */
export const MIN_SESSION_ID = 1n;
export const MAX_SESSION_ID = (1n << 63n) - 1n;
/** Bounds a timeout can ever have (the API clamps to the configured, narrower ones). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Recently closed ids refused for reuse. */
export const CLOSED_MEMORY = 4096;

export const SESSIONS_FORMAT = 'zgate-sessions';
export const SESSIONS_VERSION = 1;

export interface SessionInfo {
  id: SessionId;
  timeoutMs: number;
  /** The zxid of the createSession entry. */
  czxid: Zxid;
  /** The proposer's time stamped in that entry, ms since the epoch. */
  ctime: number;
  /**
   * The authenticated ids of its creator: only a caller with one of them (or super) may use
   * it. Empty: created anonymously, anyone may, as in ZooKeeper.
   */
  owner?: Id[];
}

/** Whether `access` may use a session owned by `owner` (renew, read, close, bind, create ephemerals in it). */
export function mayUseSession(owner: readonly Id[] | undefined, access: Access): boolean {
  if (owner === undefined || owner.length === 0 || access.super) return true;
  return owner.some((o) => access.ids.some((c) => c.scheme === o.scheme && c.id === o.id));
}

export function isIdList(x: unknown): x is Id[] {
  return Array.isArray(x) && x.length <= 16 && x.every((e: unknown) => typeof e === 'object' && e !== null && typeof (e as Id).scheme === 'string' && typeof (e as Id).id === 'string');
}

export interface SessionCounters {
  created: number;
  closed: number;
  expired: number;
}

export function isSessionId(x: unknown): x is SessionId {
  return typeof x === 'bigint' && x >= MIN_SESSION_ID && x <= MAX_SESSION_ID;
}

export function isTimeout(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 1 && x <= MAX_TIMEOUT_MS;
}

export type CreateRefusal = 'open' | 'recentlyClosed';

export class SessionTable {
  private readonly open = new Map<SessionId, SessionInfo>();
  /** Ring of recently closed ids (oldest first) and its index for lookups. */
  private closedRing: SessionId[] = [];
  private readonly closedSet = new Set<SessionId>();
  private readonly counters: SessionCounters = { created: 0, closed: 0, expired: 0 };

  get size(): number {
    return this.open.size;
  }

  /** Replicated counts since the cluster began: every member reports the same. */
  get stats(): Readonly<SessionCounters> {
    return this.counters;
  }

  isOpen(id: SessionId): boolean {
    return this.open.has(id);
  }

  ownerOf(id: SessionId): readonly Id[] | undefined {
    return this.open.get(id)?.owner;
  }

  mayUse(id: SessionId, access: Access): boolean {
    return mayUseSession(this.open.get(id)?.owner, access);
  }

  get(id: SessionId): SessionInfo | undefined {
    return this.open.get(id);
  }

  /** Open sessions, ascending by id. */
  list(): SessionInfo[] {
    return [...this.open.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Why `id` can't be created now, or undefined. */
  refusal(id: SessionId): CreateRefusal | undefined {
    if (this.open.has(id)) return 'open';
    if (this.closedSet.has(id)) return 'recentlyClosed';
    return undefined;
  }

  create(info: SessionInfo): void {
    assert(isSessionId(info.id) && isTimeout(info.timeoutMs), () => `bad session ${String(info.id)}/${info.timeoutMs}`);
    assert(this.refusal(info.id) === undefined, () => `session ${info.id} created twice`);
    this.open.set(info.id, { ...info });
    this.counters.created++;
  }

  close(id: SessionId, reason: 'closed' | 'expired'): SessionInfo | undefined {
    const info = this.open.get(id);
    if (info === undefined) return undefined;
    this.open.delete(id);
    this.remember(id);
    this.counters.closed++;
    if (reason === 'expired') this.counters.expired++;
    return info;
  }

  private remember(id: SessionId): void {
    this.closedRing.push(id);
    this.closedSet.add(id);
    if (this.closedRing.length > CLOSED_MEMORY) {
      const drop = this.closedRing.length - CLOSED_MEMORY;
      for (let i = 0; i < drop; i++) this.closedSet.delete(this.closedRing[i]!);
      this.closedRing = this.closedRing.slice(drop);
    }
  }

  // ---------------------------------------------------------------- snapshot

  /**
   * A plain value for the snapshot (msgpack carries bigint): columns, ids ascending, so that
   * equal tables give equal bytes.
   */
  toSnapshot(): Record<string, unknown> {
    const open = this.list();
    return {
      format: SESSIONS_FORMAT,
      v: SESSIONS_VERSION,
      ids: open.map((s) => s.id),
      timeouts: open.map((s) => s.timeoutMs),
      czxids: open.map((s) => s.czxid),
      ctimes: open.map((s) => s.ctime),
      owners: open.map((s) => s.owner ?? []),
      closed: this.closedRing.slice(),
      created: this.counters.created,
      closedCount: this.counters.closed,
      expired: this.counters.expired,
    };
  }

  /** Rebuilds a table from toSnapshot()'s value, trusting nothing in it; `lastZxid` bounds the czxids. */
  static fromSnapshot(s: unknown, lastZxid: Zxid): SessionTable {
    const bad = (why: string): ZgateError => new ZgateError('DataInconsistency', `malformed session table in the snapshot: ${why}`);
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw bad('not a map');
    const r = s as Record<string, unknown>;
    if (r.format !== SESSIONS_FORMAT) throw bad('not a zgate session table');
    if (r.v !== SESSIONS_VERSION) throw bad(`unsupported version ${String(r.v)}`);
    const { ids, timeouts, czxids, ctimes, closed } = r;
    if (!Array.isArray(ids) || !Array.isArray(timeouts) || !Array.isArray(czxids) || !Array.isArray(ctimes) || !Array.isArray(closed)) throw bad('a column is missing');
    const n = ids.length;
    if (timeouts.length !== n || czxids.length !== n || ctimes.length !== n) throw bad('columns of different lengths');
    const count = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    if (!count(r.created) || !count(r.closedCount) || !count(r.expired)) throw bad('bad counters');
    if (closed.length > CLOSED_MEMORY) throw bad('too many closed ids');
    const t = new SessionTable();
    let prev = 0n;
    for (let i = 0; i < n; i++) {
      const id: unknown = ids[i];
      const timeoutMs: unknown = timeouts[i];
      const czxid: unknown = czxids[i];
      const ctime: unknown = ctimes[i];
      if (!isSessionId(id) || id <= prev) throw bad(`session ${i}: bad or unordered id`);
      if (!isTimeout(timeoutMs)) throw bad(`session ${i}: bad timeout`);
      if (!count(czxid) || czxid < 1 || czxid > lastZxid) throw bad(`session ${i}: bad czxid`);
      if (typeof ctime !== 'number' || !Number.isSafeInteger(ctime)) throw bad(`session ${i}: bad ctime`);
      // Tables written before sessions had owners carry none: anonymous.
      const owner: unknown = Array.isArray(r.owners) ? r.owners[i] : [];
      if (!isIdList(owner)) throw bad(`session ${i}: bad owner`);
      const info: SessionInfo = { id, timeoutMs, czxid, ctime };
      if (owner.length > 0) info.owner = owner.map((o) => ({ scheme: o.scheme, id: o.id }));
      t.open.set(id, info);
      prev = id;
    }
    for (const id of closed as unknown[]) {
      if (!isSessionId(id) || t.closedSet.has(id) || t.open.has(id)) throw bad('bad closed id');
      t.closedRing.push(id);
      t.closedSet.add(id);
    }
    t.counters.created = r.created;
    t.counters.closed = r.closedCount;
    t.counters.expired = r.expired;
    if (t.counters.created - t.counters.closed !== n) throw bad(`${n} open sessions, but ${t.counters.created} created and ${t.counters.closed} closed`);
    return t;
  }
}
