/**
 * The log entries of the replicated token table (session/token-table.ts) and their results.
 * A token's secret never reaches the log: an entry carries the accessor (the token's public
 * half, its id) and the SHA-256 of the secret.
 *
 * The accessor's syntax lives here, beside the types, because both sides check it: auth/
 * when it parses a presented token, session/ when it validates a decoded entry.
 */
import type { Id } from './acl.js';

/** One token as the replicated state holds it. */
export interface TokenRecord {
  /** 16 random bytes, base64url (22 characters): the token's id, shown and logged freely. */
  accessor: string;
  /** Lower-case hex SHA-256 of the secret (64 characters). */
  hash: string;
  /** The ids a request presenting the token acts as. */
  ids: Id[];
  /** Scope: only requests whose every check is READ. */
  readOnly: boolean;
  /** Scope: only this path and the paths under `prefix + "/"`. */
  prefix?: string;
  description: string;
  /** Issued as the `zgate_token` cookie rather than for an Authorization header. */
  cookie: boolean;
  /** The creator's identity key (identityKey(createdBy)): the per-identity bound counts by it. */
  owner: string;
  /** The creator's ids. */
  createdBy: Id[];
  /** Ms since the epoch. */
  createdAt: number;
  /** Ms since the epoch; the token is live while the entry time is before it. */
  expiresAt: number;
}

export interface CreateTokenOp {
  op: 'createToken';
  record: TokenRecord;
}

export interface RevokeTokenOp {
  op: 'revokeToken';
  accessor: string;
}

/** The leader's reaping: removes those of `accessors` that are expired at the entry's time. */
export interface ExpireTokensOp {
  op: 'expireTokens';
  accessors: string[];
}

export type TokenOp = CreateTokenOp | RevokeTokenOp | ExpireTokensOp;

export interface CreateTokenResult {
  op: 'createToken';
  accessor: string;
  createdAt: number;
  expiresAt: number;
}

export interface RevokeTokenResult {
  op: 'revokeToken';
  /** The revoked record, so the member can close the sockets and streams that used it. */
  record: TokenRecord;
}

export interface ExpireTokensResult {
  op: 'expireTokens';
  /** The records removed, in the order the entry named them (absent or still live ones skipped). */
  expired: TokenRecord[];
}

export type TokenOpResult = CreateTokenResult | RevokeTokenResult | ExpireTokensResult;

/**
 * Why a token entry failed. A subset of the error codes (core/errors.ts); `QuotaExceeded` is
 * ZooKeeper's -125, which api.md maps to 409.
 */
export type TokenFailureCode = 'QuotaExceeded' | 'NodeExists' | 'NoNode' | 'BadArguments';

export interface TokenFailure {
  code: TokenFailureCode;
  message: string;
}

export type TokenOutcome = { ok: true; result: TokenOpResult } | { ok: false; failure: TokenFailure };

/** The base64url text of 16 bytes, canonical (the last character carries 2 bits and 4 zeros). */
const ACCESSOR = /^[A-Za-z0-9_-]{21}[AQgw]$/;

export const ACCESSOR_LENGTH = 22;

export function isAccessor(x: unknown): x is string {
  return typeof x === 'string' && ACCESSOR.test(x);
}
