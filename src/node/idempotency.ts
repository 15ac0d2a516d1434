/**
 * Idempotent retries (the client-session table of the Raft thesis, section 6.3, keyed by the
 * client's Idempotency-Key instead of a session and serial number).
 *
 * A write carrying a key puts the key in its log entry. At apply, a key already in the table
 * answers the stored original outcome (and zxid) without applying the op again; a new key
 * applies the op and stores its outcome. So a client that retries after a timeout, on any
 * member and across leader changes, has its write applied at most once and gets the original
 * answer. The same key with a different request (another op fingerprint) is refused.
 *
 * The table is replicated state, applied by the same entries on every member and carried in
 * the member snapshot, so it must be deterministic: its bounds are constants (never per-member
 * configuration), eviction is FIFO by count and by age measured with the entries' timestamps
 * (the proposer's clock, identical on every member), never with a local clock.
 */
import type { ApplyOutcome, Op, Zxid } from '../core/types.js';
import { Fnv64 } from '../tree/fnv.js';
import { IDEMPOTENCY_MAX_AGE_MS, IDEMPOTENCY_MAX_KEYS } from '../core/idempotency.js';
import { encode } from '../util/codec.js';

export interface StoredOutcome {
  key: string;
  /** Fingerprint of the op the key was first used with. */
  fp: string;
  zxid: Zxid;
  timeMs: number;
  /** The original outcome, without its events (a replay triggers none). */
  outcome: ApplyOutcome;
}

export function opFingerprint(op: Op): string {
  const h = new Fnv64();
  h.bytes(encode(op));
  return h.hex();
}

export type IdempotentLookup = { kind: 'new' } | { kind: 'replay'; stored: StoredOutcome } | { kind: 'mismatch'; stored: StoredOutcome };

export class IdempotencyTable {
  /** Insertion (= apply) order: FIFO eviction walks from the front. */
  private readonly byKey = new Map<string, StoredOutcome>();

  constructor(
    readonly maxKeys = IDEMPOTENCY_MAX_KEYS,
    readonly maxAgeMs = IDEMPOTENCY_MAX_AGE_MS,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** Forgets keys older than `nowMs - maxAgeMs` (nowMs: the applying entry's timestamp). */
  expire(nowMs: number): void {
    for (const [k, s] of this.byKey) {
      if (s.timeMs >= nowMs - this.maxAgeMs) break;
      this.byKey.delete(k);
    }
  }

  lookup(key: string, fp: string): IdempotentLookup {
    const stored = this.byKey.get(key);
    if (stored === undefined) return { kind: 'new' };
    return stored.fp === fp ? { kind: 'replay', stored } : { kind: 'mismatch', stored };
  }

  store(key: string, fp: string, zxid: Zxid, timeMs: number, outcome: ApplyOutcome): void {
    const kept: ApplyOutcome = outcome.ok ? { ok: true, result: outcome.result, events: [] } : { ok: false, failure: outcome.failure, events: [] };
    this.byKey.set(key, { key, fp, zxid, timeMs, outcome: kept });
    while (this.byKey.size > this.maxKeys) {
      const oldest = this.byKey.keys().next().value as string;
      this.byKey.delete(oldest);
    }
  }

  toSnapshot(): unknown {
    return [...this.byKey.values()].map((s) => [s.key, s.fp, s.zxid, s.timeMs, s.outcome]);
  }

  static fromSnapshot(v: unknown): IdempotencyTable {
    const t = new IdempotencyTable();
    if (!Array.isArray(v)) return t;
    for (const row of v as unknown[]) {
      if (!Array.isArray(row) || row.length !== 5) continue;
      const [key, fp, zxid, timeMs, outcome] = row as [string, string, number, number, ApplyOutcome];
      t.byKey.set(key, { key, fp, zxid, timeMs, outcome: { ...outcome, events: [] } });
    }
    return t;
  }
}
