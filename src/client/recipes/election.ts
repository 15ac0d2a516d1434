/**
 * Leader election, as kazoo's Election: the contenders queue on a Lock; the one holding it is
 * the leader and runs its function; when the function returns (or throws) the leadership
 * passes on. A leader whose process dies loses its session, and with it the lock, so the
 * next contender is elected once that session expires. The function gets an AbortSignal
 * that aborts if leadership is lost meanwhile (the session expired under it).
 */
import { checkFunction, checkOptions, checkPositiveInt } from '../args.js';
import type { ZgateClient } from '../client.js';
import { isZgateError } from '../errors.js';
import { Lock } from './lock.js';

export interface RunOptions {
  /** Give up waiting to be elected after this many ms (run answers false). */
  timeoutMs?: number;
}

export class LeaderElection {
  private readonly lock: Lock;
  private cancelling: AbortController | undefined;

  /** `path` is the election's znode; `identifier` names this contender in contenders(). */
  constructor(
    readonly client: ZgateClient,
    readonly path: string,
    readonly identifier: string = '',
  ) {
    this.lock = new Lock(client, path, identifier);
  }

  /** True while this contender leads. */
  get isLeader(): boolean {
    return this.lock.isAcquired;
  }

  /**
   * Waits to be elected, then runs `fn(signal)` as the leader and steps down when it settles.
   * True when it led; false when cancel() or the timeout ended the wait.
   */
  async run(fn: (signal: AbortSignal) => unknown, options?: RunOptions): Promise<boolean> {
    checkFunction(fn, 'fn');
    const o = checkOptions<RunOptions>(options, 'options', ['timeoutMs']);
    const timeoutMs = checkPositiveInt(o.timeoutMs, 'options.timeoutMs');
    this.cancelling = new AbortController();
    const elected = await this.lock.acquire({ signal: this.cancelling.signal, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    this.cancelling = undefined;
    if (!elected) return false;
    let failure: { error: unknown } | undefined;
    try {
      await fn(this.lock.signal!);
    } catch (error) {
      failure = { error };
    }
    try {
      await this.lock.release();
    } catch (e) {
      // A closed client ended the session, which ended the leadership too; the function's own
      // failure is the one to report.
      if (failure === undefined && !isZgateError(e, 'ClientClosed')) throw e;
    }
    if (failure !== undefined) throw failure.error;
    return true;
  }

  /** Stops waiting to be elected (run answers false). A running leader steps down by returning from its function. */
  cancel(): void {
    this.cancelling?.abort();
  }

  /** The contenders' identifiers, the leader first. */
  contenders(): Promise<string[]> {
    return this.lock.contenders();
  }
}
