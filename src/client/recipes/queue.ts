/**
 * A queue, as kazoo's Queue: put() creates a persistent sequential child `entry-NNNNNNNNNN`;
 * get() takes the lowest child: reads it, then deletes it, and the consumer whose delete
 * succeeds owns the item (another consumer's delete answers NoNode and it tries the next).
 * Deletes carry an Idempotency-Key, so a delete retried on another member after a failure
 * still tells its consumer that it won. take() waits on a children watch while the queue is
 * empty.
 */
import { checkOptions, checkPath, checkPositiveInt } from '../args.js';
import type { ZgateClient } from '../client.js';
import { isZgateError } from '../errors.js';
import type { DataInput } from '../types.js';
import { bySequence, childPath, deadlineOf, waitUntil } from './common.js';

export const ENTRY_PREFIX = 'entry-';

export class Queue {
  constructor(
    readonly client: ZgateClient,
    readonly path: string,
  ) {
    checkPath(path);
  }

  /** Appends an item; answers its znode's path. */
  async put(data: DataInput): Promise<string> {
    return (await this.client.create(childPath(this.path, ENTRY_PREFIX), data, { mode: 'persistent_sequential', makeParents: true })).path;
  }

  /** Takes the oldest item (UTF-8 text), or null when the queue is empty. */
  async get(): Promise<string | null> {
    for (const name of await this.entries()) {
      const item = childPath(this.path, name);
      let data: string;
      try {
        data = (await this.client.get(item)).data;
        await this.client.delete(item);
      } catch (e) {
        // Another consumer took it first.
        if (isZgateError(e, 'NoNode')) continue;
        throw e;
      }
      return data;
    }
    return null;
  }

  /** Takes the oldest item, waiting for one while the queue is empty; null after `timeoutMs`. */
  async take(options?: { timeoutMs?: number }): Promise<string | null> {
    const o = checkOptions<{ timeoutMs?: number }>(options, 'options', ['timeoutMs']);
    const deadline = deadlineOf(checkPositiveInt(o.timeoutMs, 'options.timeoutMs'));
    for (;;) {
      const item = await this.get();
      if (item !== null) return item;
      if (!(await this.waitNonEmpty(deadline))) return null;
    }
  }

  /** Items waiting. */
  async size(): Promise<number> {
    return (await this.entries()).length;
  }

  private async entries(): Promise<string[]> {
    try {
      return (await this.client.children(this.path)).filter((n) => n.startsWith(ENTRY_PREFIX)).sort(bySequence);
    } catch (e) {
      if (isZgateError(e, 'NoNode')) return [];
      throw e;
    }
  }

  private waitNonEmpty(deadline: number): Promise<boolean> {
    return waitUntil(
      this.client,
      (hit) =>
        this.client.childrenWatch(this.path, (children) => {
          if (children === null || !children.some((n) => n.startsWith(ENTRY_PREFIX))) return undefined;
          hit();
          return false;
        }),
      { deadline },
    );
  }
}
