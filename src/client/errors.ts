/**
 * The client's errors. A failure the server answered carries ZooKeeper's code name (api.md
 * "Errors"), the HTTP status, the znode path and the member that answered; failures the
 * client decides itself use ZooKeeper's names where there is one (BadArguments for a bad
 * argument, ConnectionLoss when no member could be reached, OperationTimeout for a deadline,
 * SessionExpired) and ClientClosed after close(). Under auth: AuthFailed (401, or a WebSocket
 * closed 4401), NoAuth (403), Throttled (429, with retryAfterMs).
 */
import type { ErrorCodeJson, OpCodeJson } from '../wire/errors.js';

/** ZooKeeper's code names that zgate answers, and the client's own. */
export type ErrorCode = ErrorCodeJson | 'AuthFailed' | 'NoAuth' | 'Throttled' | 'InvalidACL' | 'QuotaExceeded' | 'ClientClosed';

export interface ErrorDetails {
  /** HTTP status of the answer; absent for a failure decided by the client. */
  status?: number;
  /** The znode path the error is about. */
  path?: string;
  /** Base URL of the member that answered (or that was last tried). */
  member?: string;
  /** A failed transaction: the index of the failing op. */
  opIndex?: number;
  /** A failed transaction: each op's code, as ZooKeeper's multi reports them. */
  results?: OpCodeJson[];
  /** The member's applied zxid when it answered (Zgate-Zxid). */
  zxid?: string;
  /** Throttled: how long the member asks to wait (Retry-After), in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class ZgateError extends Error {
  readonly code: ErrorCode | (string & {});
  readonly status: number | undefined;
  readonly path: string | undefined;
  readonly member: string | undefined;
  readonly opIndex: number | undefined;
  readonly results: OpCodeJson[] | undefined;
  readonly zxid: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode | (string & {}), message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ZgateError';
    this.code = code;
    this.status = details.status;
    this.path = details.path;
    this.member = details.member;
    this.opIndex = details.opIndex;
    this.results = details.results;
    this.zxid = details.zxid;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** A bad argument, refused before anything is sent; the message names the argument. */
export function argumentError(argument: string, problem: string, path?: string): ZgateError {
  return new ZgateError('BadArguments', `${argument}: ${problem}`, path === undefined ? {} : { path });
}

export function closedError(operation: string): ZgateError {
  return new ZgateError('ClientClosed', `${operation}: the client is closed (close() was called); make a new ZgateClient`);
}

export function isZgateError(e: unknown, code?: ErrorCode): e is ZgateError {
  return e instanceof ZgateError && (code === undefined || e.code === code);
}
