/**
 * The audit log as the member and the faces see it (api.md "Audit log"): one record per
 * write (sessions' closes and reaps included), per token create, revoke and expiry, per 401
 * and per 403, written by the member that took the request. server/audit-log.ts writes it to
 * `--audit-log FILE`.
 *
 * An event holds only what a record may show. There is no field for data, a password, a
 * token's secret or an ACL, and the caller's ids go in whole so that the log itself picks
 * what to show of them: a digest id's user, never its hash.
 */
import type { Id } from '../core/acl.js';
import type { ZkCode } from '../core/errors.js';
import type { SessionId, Zxid } from '../core/types.js';

/**
 * How the request ended: `success` and `failure` (an applied write's ZooKeeper failure, a
 * refused input) are the usual; `denied` is a 403, `unauthenticated` a 401, `throttled` a
 * 429. The last three are bounded per client per second.
 */
export type AuditResult = 'success' | 'failure' | 'denied' | 'unauthenticated' | 'throttled';

/** An error code as the record names it (the HTTP-only codes of api.md's additions too). */
export type AuditCode = ZkCode | 'InvalidACL' | 'QuotaExceeded' | 'Throttled';

export interface AuditEvent {
  /** The entry's zxid, for a request that reached the log; null otherwise (a 401, a 403 decided before the log). */
  zxid: Zxid | null;
  session: SessionId | null;
  /** The caller's ids (Access.ids): the record shows a digest id's user or an x509 DN, nothing more. */
  ids: readonly Id[];
  /** The accessor of the token the request presented (a whole token is cut to its accessor). */
  token: string | null;
  /** The client's address; null for the member's own acts (a session reaped, a token expired). */
  ip: string | null;
  /** What was asked: `create`, `set`, `delete`, `multi`, `setACL`, `closeSession`, `createToken`, `revokeToken`, `expireTokens`, `auth`, ... */
  op: string;
  path: string | null;
  result: AuditResult;
  code: AuditCode | null;
}

export interface AuditLog {
  /** Never blocks and never throws: past its bounds a record is dropped and counted. */
  record(event: AuditEvent): void;
  /** Writes what is queued (and the summaries owed) and closes the file. */
  close(): Promise<void>;
  /** Records dropped because the queue was full, since the start (for /metrics). */
  readonly dropped: number;
}
