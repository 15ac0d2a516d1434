/**
 * A distributed lock, ZooKeeper's recipe (as kazoo's Lock and Curator's InterProcessMutex):
 * each contender creates an ephemeral sequential child `lock-NNNNNNNNNN` of the lock's
 * znode; the lowest holds the lock; every other waits for the child just below its own to
 * go (only that one: no herd wakes up on a release), then looks again. A holder whose process
 * dies stops keeping its session alive; when the session expires its child goes and the next
 * waiter holds the lock.
 *
 * The create carries an Idempotency-Key (client.create does), so a create retried on another
 * member after a failure never leaves a second, orphaned child behind (the problem Curator's
 * "protected" mode works around).
 */
import { checkOptions, checkPath, checkPositiveInt } from '../args.js';
import type { ZgateClient } from '../client.js';
import { argumentError, isZgateError } from '../errors.js';
import { baseName, bySequence, childPath, deadlineOf, lostError, waitForStat } from './common.js';

export const LOCK_PREFIX = 'lock-';

export interface AcquireOptions {
  /** Give up after this many ms (acquire answers false). Default: wait as long as it takes. */
  timeoutMs?: number;
  /** Give up when this aborts (acquire answers false). */
  signal?: AbortSignal;
}

export class Lock {
  private node: string | undefined;
  private session: string | undefined;
  private acquired = false;
  private busy = false;
  private holding: AbortController | undefined;
  private unsubscribe: (() => void) | undefined;

  /** `path` is the lock's znode (created with its parents if missing); `identifier` is stored in the contender's child. */
  constructor(
    readonly client: ZgateClient,
    readonly path: string,
    readonly identifier: string = '',
  ) {
    checkPath(path);
    if (typeof identifier !== 'string') throw argumentError('identifier', 'must be a string');
  }

  /** True while this lock is held (its child exists in the session that created it). */
  get isAcquired(): boolean {
    return this.acquired && this.client.sessionId === this.session;
  }

  /** The contender's child, while acquiring or holding. */
  get nodePath(): string | undefined {
    return this.node;
  }

  /** Aborts when the lock held is lost (the session expired) or released. */
  get signal(): AbortSignal | undefined {
    return this.holding?.signal;
  }

  /** Waits for the lock. True once held; false on timeout or abort (its child is then removed). */
  async acquire(options?: AcquireOptions): Promise<boolean> {
    const o = checkOptions<AcquireOptions>(options, 'options', ['timeoutMs', 'signal']);
    const deadline = deadlineOf(checkPositiveInt(o.timeoutMs, 'options.timeoutMs'));
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw argumentError('options.signal', 'must be an AbortSignal');
    if (this.acquired) throw argumentError('acquire', `the lock ${this.path} is already held by this Lock (release it first)`);
    if (this.busy) throw argumentError('acquire', `this Lock is already acquiring ${this.path}`);
    this.busy = true;
    try {
      const created = await this.client.create(childPath(this.path, LOCK_PREFIX), this.identifier, { mode: 'ephemeral_sequential', makeParents: true });
      this.node = created.path;
      this.session = this.client.sessionId;
      for (;;) {
        const predecessor = await this.predecessor();
        if (predecessor === undefined) {
          this.hold();
          return true;
        }
        const gone = await waitForStat(this.client, predecessor, (stat) => stat === null, { deadline, signal: o.signal, endOnLost: true });
        if (!gone && (Date.now() >= deadline || o.signal?.aborted === true)) {
          await this.removeNode();
          return false;
        }
      }
    } catch (e) {
      await this.removeNode().catch(() => undefined);
      throw e;
    } finally {
      this.busy = false;
    }
  }

  /** Gives the lock up (or stops contending): deletes this contender's child. */
  async release(): Promise<void> {
    const wasHeld = this.acquired;
    this.acquired = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.holding?.abort();
    this.holding = undefined;
    if (wasHeld || this.node !== undefined) await this.removeNode();
  }

  /** The identifiers of every contender, the holder first. */
  async contenders(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await this.children()) {
      try {
        out.push((await this.client.get(childPath(this.path, name))).data);
      } catch (e) {
        if (!isZgateError(e, 'NoNode')) throw e;
      }
    }
    return out;
  }

  /** The child just below ours, or undefined when ours is the lowest. */
  private async predecessor(): Promise<string | undefined> {
    const node = this.node!;
    if (this.client.sessionId !== this.session) throw lostError(`lock ${this.path}`, node);
    const names = await this.children();
    const i = names.indexOf(baseName(node));
    // Our child is gone: the session that owned it expired.
    if (i < 0) throw lostError(`lock ${this.path}`, node);
    return i === 0 ? undefined : childPath(this.path, names[i - 1]!);
  }

  private async children(): Promise<string[]> {
    try {
      return (await this.client.children(this.path)).filter((n) => n.startsWith(LOCK_PREFIX)).sort(bySequence);
    } catch (e) {
      if (isZgateError(e, 'NoNode')) return [];
      throw e;
    }
  }

  private hold(): void {
    this.acquired = true;
    this.holding = new AbortController();
    const holding = this.holding;
    this.unsubscribe = this.client.onStateChange((s) => {
      if (s !== 'lost' && s !== 'closed') return;
      this.acquired = false;
      holding.abort(lostError(`lock ${this.path}`, this.node ?? this.path));
    });
  }

  private async removeNode(): Promise<void> {
    const node = this.node;
    this.node = undefined;
    if (node === undefined) return;
    try {
      await this.client.delete(node);
    } catch (e) {
      // Gone already (released, or its session expired), or the client closed, which ends the session.
      if (!isZgateError(e, 'NoNode') && !isZgateError(e, 'ClientClosed')) throw e;
    }
  }
}
