/**
 * A barrier, as kazoo's Barrier: while its znode exists, wait() blocks; remove() lets every
 * waiter through. Waiters watch the znode (no polling).
 */
import { checkOptions, checkPath, checkPositiveInt } from '../args.js';
import type { ZgateClient } from '../client.js';
import { isZgateError } from '../errors.js';
import { deadlineOf, waitForStat } from './common.js';

export class Barrier {
  constructor(
    readonly client: ZgateClient,
    readonly path: string,
  ) {
    checkPath(path);
  }

  /** Sets the barrier (creates its znode and missing parents); true when this call created it. */
  async create(): Promise<boolean> {
    try {
      await this.client.create(this.path, undefined, { makeParents: true });
      return true;
    } catch (e) {
      if (isZgateError(e, 'NodeExists')) return false;
      throw e;
    }
  }

  /** Lifts the barrier; true when this call removed it. */
  async remove(): Promise<boolean> {
    try {
      await this.client.delete(this.path);
      return true;
    } catch (e) {
      if (isZgateError(e, 'NoNode')) return false;
      throw e;
    }
  }

  /** Waits until the barrier is lifted (or was never set): true; false after `timeoutMs`. */
  async wait(options?: { timeoutMs?: number }): Promise<boolean> {
    const o = checkOptions<{ timeoutMs?: number }>(options, 'options', ['timeoutMs']);
    const deadline = deadlineOf(checkPositiveInt(o.timeoutMs, 'options.timeoutMs'));
    return waitForStat(this.client, this.path, (stat) => stat === null, { deadline });
  }
}
