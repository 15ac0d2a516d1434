/**
 * The one error envelope of every answer (api.md "Errors"): REST bodies, and the `error`
 * of the WebSocket's error frames. Types only; no server code (the client bundles this).
 */
import type { ZkCode } from '../core/errors.js';

/**
 * The code names an error answer carries: ZooKeeper's (core/errors.ts) but Ok and the two
 * a member keeps to itself, and NoWatcher (an unwatch of a watch the socket does not hold).
 */
export type ErrorCodeJson = Exclude<ZkCode, 'Ok' | 'DataInconsistency' | 'MarshallingError'> | 'NoWatcher';

/** The `error` object of an answer. */
export interface ErrorJson {
  /** ZooKeeper's name of the error (NoNode, BadVersion, ...). */
  code: string;
  message: string;
  /** The znode the error is about. */
  path?: string;
  /** A failed txn: the index of the failing op. */
  opIndex?: number;
}

/** One op's code in a failed txn, as ZooKeeper's multi reports them (Ok, the failure's code, then RuntimeInconsistency). */
export interface OpCodeJson {
  op: string;
  code: string;
}

/** An error answer's body. */
export interface ErrorBody {
  error: ErrorJson;
  /** A failed txn: each op's code. */
  results?: OpCodeJson[];
}
