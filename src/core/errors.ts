/**
 * ZooKeeper's error names as zgate's error codes (KeeperException.Code), plus the
 * HTTP-only codes of api.md. The name is the contract; the numeric code is ZooKeeper's,
 * kept so that tools that speak ZooKeeper's numbers can map them.
 */
import type { MultiOpResultCode, OpFailure } from './types.js';

export const ZK_CODES = {
  Ok: 0,
  SystemError: -1,
  RuntimeInconsistency: -2,
  DataInconsistency: -3,
  ConnectionLoss: -4,
  MarshallingError: -5,
  Unimplemented: -6,
  OperationTimeout: -7,
  BadArguments: -8,
  NoNode: -101,
  NoAuth: -102,
  BadVersion: -103,
  NoChildrenForEphemerals: -108,
  NodeExists: -110,
  NotEmpty: -111,
  SessionExpired: -112,
  InvalidACL: -114,
  AuthFailed: -115,
  QuotaExceeded: -125,
  Throttled: -127,
  // zgate's own, with no ZooKeeper number: HTTP-level failures of api.md.
  PayloadTooLarge: -1001,
  Unavailable: -1002,
  Compacted: -1003,
} as const;

export type ZkCode = keyof typeof ZK_CODES;

/** A failure with ZooKeeper's code. Thrown by validation, returned (not thrown) by apply. */
export class ZgateError extends Error {
  constructor(
    readonly code: ZkCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'ZgateError';
  }
}

/**
 * A multi whose sub-op is refused before the log: carries what apply() would put in the
 * failure, so that every face answers with opIndex and per-op results.
 */
export class MultiOpError extends ZgateError {
  constructor(
    code: ZkCode,
    message: string,
    path: string | undefined,
    readonly opIndex: number,
    readonly results: MultiOpResultCode[],
  ) {
    super(code, message, path);
    this.name = 'MultiOpError';
  }
}

export function isZgateError(e: unknown): e is ZgateError {
  return e instanceof ZgateError;
}

/**
 * The failure a thrown error stands for, as every face reports it (with opIndex and per-op
 * results for a refused multi); `internal` when it is not a coded error (a bug: logged, and
 * answered SystemError without its message).
 */
export function failureOf(e: unknown): { failure: OpFailure; internal: boolean } {
  if (e instanceof MultiOpError) {
    const failure: OpFailure = { code: e.code, message: e.message, opIndex: e.opIndex, results: e.results };
    if (e.path !== undefined) failure.path = e.path;
    return { failure, internal: false };
  }
  if (e instanceof ZgateError) {
    const failure: OpFailure = { code: e.code, message: e.message };
    if (e.path !== undefined) failure.path = e.path;
    return { failure, internal: false };
  }
  return { failure: { code: 'SystemError', message: 'internal error; see the member log' }, internal: true };
}
