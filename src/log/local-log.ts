/**
 * The logs of a member that runs without Raft: LocalLog commits what it is given at once (in
 * memory: tests, the OpenAPI printer), LateLog stands in while storage opens.
 */
import { ZgateError } from '../core/errors.js';
import { assert } from '../util/assert.js';
import type { CommittedEntry, LogStatus, ReplicatedLog } from './replicated-log.js';

export interface LocalLogOptions {
  /** Bound on proposals queued for the next commit batch; more answer Unavailable. */
  maxPending: number;
}

/**
 * One member, its own quorum: every proposal commits in arrival order. Proposals that
 * arrive in the same tick are committed as one batch, which is how the durable log's
 * group commit will see them.
 */
export class LocalLog implements ReplicatedLog {
  private handler: ((entries: CommittedEntry[]) => void) | undefined;
  private pending: CommittedEntry[] = [];
  private lastIndex = 0;
  private flushScheduled = false;
  private closed = false;
  private readonly maxPending: number;

  constructor(opts: Partial<LocalLogOptions> = {}) {
    this.maxPending = opts.maxPending ?? 10_000;
  }

  onCommit(handler: (entries: CommittedEntry[]) => void): void {
    assert(this.handler === undefined, 'LocalLog commit handler registered twice');
    this.handler = handler;
  }

  async propose(data: Uint8Array): Promise<void> {
    if (this.closed) throw new ZgateError('Unavailable', 'the member is shutting down');
    if (this.pending.length >= this.maxPending) {
      throw new ZgateError('Unavailable', `too many writes in flight (bound ${this.maxPending})`);
    }
    this.lastIndex += 1;
    this.pending.push({ index: this.lastIndex, data });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0 && this.handler) this.handler(batch);
  }

  async readIndex(): Promise<number> {
    if (this.closed) throw new ZgateError('Unavailable', 'the member is shutting down');
    return this.lastIndex;
  }

  async saveSnapshot(_index: number, _data: Uint8Array): Promise<void> {
    // In memory there is nothing to compact into.
  }

  status(): LogStatus {
    return { id: 1, leaderId: 1, term: 1, commitIndex: this.lastIndex - this.pending.length, role: 'leader' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * A log that arrives later: the member and its HTTP face start first (answering /readyz 503
 * and every request Unavailable) while storage recovers, then the real log is attached.
 */
export class LateLog implements ReplicatedLog {
  private target: ReplicatedLog | undefined;
  private handler: ((entries: CommittedEntry[]) => void) | undefined;

  constructor(private readonly id: number) {}

  attach(log: ReplicatedLog): void {
    assert(this.target === undefined, 'LateLog attached twice');
    this.target = log;
    if (this.handler) log.onCommit(this.handler);
  }

  private get log(): ReplicatedLog {
    if (!this.target) throw new ZgateError('Unavailable', 'the member is still opening its storage');
    return this.target;
  }

  onCommit(handler: (entries: CommittedEntry[]) => void): void {
    assert(this.handler === undefined, 'commit handler registered twice');
    this.handler = handler;
    this.target?.onCommit(handler);
  }

  async propose(data: Uint8Array): Promise<void> {
    return this.log.propose(data);
  }

  async readIndex(): Promise<number> {
    return this.log.readIndex();
  }

  async saveSnapshot(index: number, data: Uint8Array): Promise<void> {
    return this.log.saveSnapshot(index, data);
  }

  status(): LogStatus {
    return this.target?.status() ?? { id: this.id, leaderId: null, term: 0, commitIndex: 0, role: 'follower' };
  }

  async close(): Promise<void> {
    await this.target?.close();
  }
}
