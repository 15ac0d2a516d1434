/**
 * The token table: replicated, deterministic state applied through the log next to the tree
 * and the session table (state.ts). Every member holds the same table at the same zxid, and a
 * snapshot carries it. Time enters only as the applying entry's time (`nowMs`), so every
 * member decides liveness, bounds and expiry alike.
 *
 * A token is live while `nowMs < expiresAt`. Expired tokens stay in the table, refused by
 * isLive() and not counted against the bounds, until the leader reaps them with an
 * expireTokens entry (expiredAt() names the candidates), so that every expiry is an entry the
 * audit log can record, like a revoke.
 *
 * Records are frozen on the way in; what get(), all() and the results return is that frozen
 * copy, so no caller can change replicated state by accident.
 */
import { authenticatedIds, isValidAclId, type Id } from '../core/acl.js';
import { ZgateError } from '../core/errors.js';
import {
  isAccessor,
  type TokenFailure,
  type TokenFailureCode,
  type TokenOp,
  type TokenOutcome,
  type TokenRecord,
} from '../core/token-ops.js';
import { isValidPath } from '../tree/path.js';
import { assert } from '../util/assert.js';

export const TOKENS_FORMAT = 'zgate-tokens';
export const TOKENS_VERSION = 1;

/** Bounds on one record, checked on every entry and snapshot. */
export const MAX_DESCRIPTION = 256;
export const MAX_PREFIX = 1024;
export const MAX_TOKEN_IDS = 16;
export const MAX_ID_LENGTH = 1024;
/** The most accessors one expireTokens entry may name. */
export const MAX_EXPIRE_BATCH = 1000;

/** Schemes a token (or its creator) may carry: identities, not ACL patterns. */
const IDENTITY_SCHEMES: readonly string[] = ['ip', 'digest', 'x509', 'sasl'];

/** How many live tokens may exist: per creating identity and in all (`--max-tokens`). */
export interface TokenBounds {
  perIdentity: number;
  total: number;
}

export const DEFAULT_TOKEN_BOUNDS: Readonly<TokenBounds> = Object.freeze({ perIdentity: 100, total: 10_000 });

function fail(code: TokenFailureCode, message: string): TokenFailure {
  return { code, message };
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Who an identity is, for the per-identity bound: its authenticated ids (digest, x509, sasl;
 * never ip, which anyone behind the same address shares), deduplicated, sorted by scheme then
 * id, as JSON. Two requests with the same credentials from different addresses are one
 * identity; no authenticated id gives `[]`.
 */
export function identityKey(ids: readonly Id[]): string {
  return JSON.stringify(authenticatedIds(ids).map((i) => [i.scheme, i.id]));
}

const NO_IDENTITY = identityKey([]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function idsFault(v: unknown, what: string): string | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_TOKEN_IDS) return `${what} must be a list of 1 to ${MAX_TOKEN_IDS} ids`;
  for (let i = 0; i < v.length; i++) {
    const e: unknown = v[i];
    if (!isRecord(e) || typeof e.scheme !== 'string' || typeof e.id !== 'string') return `${what}[${i}] must be {scheme, id}`;
    if (!IDENTITY_SCHEMES.includes(e.scheme)) return `${what}[${i}]: scheme ${JSON.stringify(e.scheme)} is not an identity's (ip, digest, x509, sasl)`;
    if (e.id.length > MAX_ID_LENGTH || !isValidAclId(e.scheme, e.id)) return `${what}[${i}]: not a valid ${e.scheme} id`;
  }
  return undefined;
}

/** Why `v` is not a well-formed token record (from an entry or a snapshot), or undefined. */
export function tokenRecordFault(v: unknown): string | undefined {
  if (!isRecord(v)) return 'a token record must be a map';
  if (!isAccessor(v.accessor)) return 'the accessor must be 16 bytes as base64url (22 characters)';
  if (typeof v.hash !== 'string' || !/^[0-9a-f]{64}$/.test(v.hash)) return 'the hash must be 64 lower-case hex digits (SHA-256)';
  const ids = idsFault(v.ids, 'ids') ?? idsFault(v.createdBy, 'createdBy');
  if (ids !== undefined) return ids;
  if (typeof v.readOnly !== 'boolean' || typeof v.cookie !== 'boolean') return 'readOnly and cookie must be booleans';
  if (v.prefix !== undefined && (typeof v.prefix !== 'string' || v.prefix.length > MAX_PREFIX || !isValidPath(v.prefix))) {
    return `the prefix must be a valid absolute path of at most ${MAX_PREFIX} characters`;
  }
  if (typeof v.description !== 'string' || v.description.length > MAX_DESCRIPTION) return `the description must be a string of at most ${MAX_DESCRIPTION} characters`;
  if (!isTime(v.createdAt) || !isTime(v.expiresAt) || v.expiresAt <= v.createdAt) return 'createdAt and expiresAt must be times in ms with expiresAt after createdAt';
  const owner = identityKey(v.createdBy as Id[]);
  if (owner === NO_IDENTITY) return 'the creator must have an authenticated id (digest, x509 or sasl)';
  if (v.owner !== owner) return "the owner must be the creator's identity key";
  return undefined;
}

/** A frozen copy holding exactly the record's fields (unknown keys of a decoded map dropped). */
function frozenCopy(r: TokenRecord): TokenRecord {
  const ids = (list: Id[]): Id[] => Object.freeze(list.map(({ scheme, id }) => Object.freeze({ scheme, id }))) as Id[];
  const out: TokenRecord = {
    accessor: r.accessor,
    hash: r.hash,
    ids: ids(r.ids),
    readOnly: r.readOnly,
    description: r.description,
    cookie: r.cookie,
    owner: r.owner,
    createdBy: ids(r.createdBy),
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
  };
  if (r.prefix !== undefined) out.prefix = r.prefix;
  return Object.freeze(out);
}

/** The stateless checks of a token entry (its fields may come from a decoded entry). */
export function tokenOpFailure(op: unknown): TokenFailure | undefined {
  if (!isRecord(op)) return fail('BadArguments', 'a token op must be a map');
  switch (op.op) {
    case 'createToken': {
      const fault = tokenRecordFault(op.record);
      return fault === undefined ? undefined : fail('BadArguments', `createToken: ${fault}`);
    }
    case 'revokeToken':
      return isAccessor(op.accessor) ? undefined : fail('BadArguments', 'revokeToken: the accessor must be 16 bytes as base64url (22 characters)');
    case 'expireTokens': {
      const a = op.accessors;
      if (!Array.isArray(a) || a.length === 0 || a.length > MAX_EXPIRE_BATCH) return fail('BadArguments', `expireTokens: accessors must be a list of 1 to ${MAX_EXPIRE_BATCH}`);
      return a.every(isAccessor) ? undefined : fail('BadArguments', 'expireTokens: every accessor must be 16 bytes as base64url (22 characters)');
    }
    default:
      return fail('BadArguments', `not a token op: ${JSON.stringify(String(op.op))}`);
  }
}

export class TokenTable {
  private readonly byAccessor = new Map<string, TokenRecord>();
  private readonly byOwner = new Map<string, Set<string>>();

  get size(): number {
    return this.byAccessor.size;
  }

  get(accessor: string): TokenRecord | undefined {
    return this.byAccessor.get(accessor);
  }

  /** Present and not expired at `nowMs`: a request presenting it may act as its ids. */
  isLive(accessor: string, nowMs: number): boolean {
    const r = this.byAccessor.get(accessor);
    return r !== undefined && r.expiresAt > nowMs;
  }

  /** Every record, expired ones included, ascending by accessor. */
  all(): TokenRecord[] {
    return [...this.byAccessor.values()].sort((a, b) => byCodeUnits(a.accessor, b.accessor));
  }

  /** The records created by `owner` (an identityKey), expired ones included, ascending by accessor. */
  ofOwner(owner: string): TokenRecord[] {
    const set = this.byOwner.get(owner);
    if (set === undefined) return [];
    return [...set].sort(byCodeUnits).map((a) => this.byAccessor.get(a)!);
  }

  /** Up to `limit` accessors expired at `nowMs`, the longest expired first (ties by accessor): the leader's next reaping. */
  expiredAt(nowMs: number, limit: number = MAX_EXPIRE_BATCH): string[] {
    const expired: TokenRecord[] = [];
    for (const r of this.byAccessor.values()) if (r.expiresAt <= nowMs) expired.push(r);
    expired.sort((a, b) => a.expiresAt - b.expiresAt || byCodeUnits(a.accessor, b.accessor));
    return expired.slice(0, Math.max(0, limit)).map((r) => r.accessor);
  }

  /** How many tokens are live at `nowMs`, in all or of one owner. */
  liveCount(nowMs: number, owner?: string): number {
    let n = 0;
    if (owner === undefined) {
      for (const r of this.byAccessor.values()) if (r.expiresAt > nowMs) n++;
    } else {
      for (const a of this.byOwner.get(owner) ?? []) if (this.byAccessor.get(a)!.expiresAt > nowMs) n++;
    }
    return n;
  }

  /**
   * Adds a token at entry time `nowMs`; undefined when added. Refused: BadArguments for a
   * malformed record or one already expired at `nowMs`; NodeExists when the accessor is
   * present (even expired); QuotaExceeded when its owner already has `perIdentity` live
   * tokens or the table `total`.
   */
  create(rec: TokenRecord, nowMs: number, bounds: TokenBounds = DEFAULT_TOKEN_BOUNDS): TokenFailure | undefined {
    assert(Number.isSafeInteger(bounds.perIdentity) && bounds.perIdentity >= 1 && Number.isSafeInteger(bounds.total) && bounds.total >= 1, 'token bounds must be positive integers');
    const fault = tokenRecordFault(rec);
    if (fault !== undefined) return fail('BadArguments', fault);
    if (rec.expiresAt <= nowMs) return fail('BadArguments', `the token would expire at ${rec.expiresAt}, not after the entry's time ${nowMs}`);
    if (this.byAccessor.has(rec.accessor)) return fail('NodeExists', `token ${rec.accessor} exists; mint another`);
    if (this.liveCount(nowMs, rec.owner) >= bounds.perIdentity) return fail('QuotaExceeded', `this identity already has ${bounds.perIdentity} live tokens, the most it may have`);
    // Expired tokens are counted out only when the table is full enough for them to matter.
    if (this.byAccessor.size >= bounds.total && this.liveCount(nowMs) >= bounds.total) return fail('QuotaExceeded', `${bounds.total} live tokens exist, the most there may be`);
    const r = frozenCopy(rec);
    this.byAccessor.set(r.accessor, r);
    let set = this.byOwner.get(r.owner);
    if (set === undefined) this.byOwner.set(r.owner, (set = new Set()));
    set.add(r.accessor);
    return undefined;
  }

  /** Removes a token, live or expired; undefined when there is none (NoNode). */
  revoke(accessor: string): TokenRecord | undefined {
    const r = this.byAccessor.get(accessor);
    if (r === undefined) return undefined;
    this.byAccessor.delete(accessor);
    const set = this.byOwner.get(r.owner)!;
    set.delete(accessor);
    if (set.size === 0) this.byOwner.delete(r.owner);
    return r;
  }

  /**
   * The leader's reaping, applied: removes those of `accessors` that are present and expired
   * at `nowMs` (a token revoked meanwhile, or one the leader's clock thought expired, stays as
   * it is), in the order given, each once.
   */
  expire(accessors: readonly string[], nowMs: number): TokenRecord[] {
    const out: TokenRecord[] = [];
    for (const a of new Set(accessors)) {
      const r = this.byAccessor.get(a);
      if (r !== undefined && r.expiresAt <= nowMs) out.push(this.revoke(a)!);
    }
    return out;
  }

  // ---------------------------------------------------------------- snapshot

  /** A plain value for the snapshot (msgpack-friendly): records ascending by accessor, so equal tables give equal bytes. */
  toSnapshot(): Record<string, unknown> {
    return { format: TOKENS_FORMAT, v: TOKENS_VERSION, tokens: this.all().map((r) => ({ ...r, ids: r.ids.map((i) => ({ ...i })), createdBy: r.createdBy.map((i) => ({ ...i })) })) };
  }

  /** Rebuilds a table from toSnapshot()'s value, trusting nothing in it. */
  static fromSnapshot(s: unknown): TokenTable {
    const bad = (why: string): ZgateError => new ZgateError('DataInconsistency', `malformed token table in the snapshot: ${why}`);
    if (!isRecord(s)) throw bad('not a map');
    if (s.format !== TOKENS_FORMAT) throw bad('not a zgate token table');
    if (s.v !== TOKENS_VERSION) throw bad(`unsupported version ${String(s.v)}`);
    if (!Array.isArray(s.tokens)) throw bad('no list of tokens');
    const t = new TokenTable();
    let prev = '';
    for (let i = 0; i < s.tokens.length; i++) {
      const r: unknown = s.tokens[i];
      const fault = tokenRecordFault(r);
      if (fault !== undefined) throw bad(`token ${i}: ${fault}`);
      const rec = r as TokenRecord;
      if (i > 0 && rec.accessor <= prev) throw bad(`token ${i}: accessors out of order or repeated`);
      prev = rec.accessor;
      const copy = frozenCopy(rec);
      t.byAccessor.set(copy.accessor, copy);
      let set = t.byOwner.get(copy.owner);
      if (set === undefined) t.byOwner.set(copy.owner, (set = new Set()));
      set.add(copy.accessor);
    }
    return t;
  }
}

/**
 * Applies a token entry at its time `nowMs`: the stateless checks first (the entry was
 * decoded from the log), then the table's. A refused entry changes nothing.
 */
export function applyTokenOp(table: TokenTable, op: TokenOp, nowMs: number, bounds: TokenBounds = DEFAULT_TOKEN_BOUNDS): TokenOutcome {
  const refused = tokenOpFailure(op);
  if (refused !== undefined) return { ok: false, failure: refused };
  switch (op.op) {
    case 'createToken': {
      const failure = table.create(op.record, nowMs, bounds);
      if (failure !== undefined) return { ok: false, failure };
      const { accessor, createdAt, expiresAt } = op.record;
      return { ok: true, result: { op: 'createToken', accessor, createdAt, expiresAt } };
    }
    case 'revokeToken': {
      const record = table.revoke(op.accessor);
      if (record === undefined) return { ok: false, failure: fail('NoNode', `no token ${op.accessor}`) };
      return { ok: true, result: { op: 'revokeToken', record } };
    }
    case 'expireTokens':
      return { ok: true, result: { op: 'expireTokens', expired: table.expire(op.accessors, nowMs) } };
  }
}
