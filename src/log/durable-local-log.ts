/**
 * The single-member log made durable: a proposal is committed once its entry is on disk
 * (fdatasync returned: a quorum of one), through storage/'s write-ahead log and its group
 * commit. A cluster member runs Raft's log (cluster/) over the same storage instead.
 */
import { ZgateError } from '../core/errors.js';
import type { Storage } from '../storage/index.js';
import { assert } from '../util/assert.js';
import type { CommittedEntry, LogStatus, ReplicatedLog } from './replicated-log.js';

/** A lone member is always in term 1 and votes for itself. */
const TERM = 1;

export class DurableLocalLog implements ReplicatedLog {
  private handler: ((entries: CommittedEntry[]) => void) | undefined;
  /** The last index handed to a proposal (queued, maybe not yet durable). */
  private lastAssigned: number;
  /** The last index known durable, hence committed. */
  private committed: number;
  private inflight = 0;
  /**
   * Set when an append failed: storage rejected it and everything queued behind it, so the
   * indices handed out after the durable tail are void. New proposals are refused until the
   * failed ones have all settled; then numbering restarts from the durable tail.
   */
  private failed = false;
  private closed = false;

  /**
   * `onFatal`: the storage could not put its files back into a known state after a failed
   * write and refuses all writes until reopened. The member stops (fail-stop): a restart
   * recovers from the files, which hold every acknowledged write.
   */
  constructor(
    private readonly storage: Storage & { failure?(): Error | undefined },
    private readonly id = 1,
    private readonly onFatal: (e: Error) => void = () => undefined,
  ) {
    this.lastAssigned = storage.lastIndex();
    this.committed = storage.lastIndex();
  }

  /** Once, at first start: a member of one is its own leader in term 1. */
  async init(): Promise<void> {
    const hs = this.storage.hardState();
    if (hs.term === 0) await this.storage.saveHardState({ term: TERM, vote: this.id, commit: 0 });
  }

  onCommit(handler: (entries: CommittedEntry[]) => void): void {
    assert(this.handler === undefined, 'commit handler registered twice');
    this.handler = handler;
  }

  async propose(data: Uint8Array): Promise<void> {
    if (this.closed) throw new ZgateError('Unavailable', 'the member is shutting down');
    if (this.failed) throw new ZgateError('Unavailable', 'the disk refused a write; retry shortly');
    const index = ++this.lastAssigned;
    this.inflight++;
    try {
      await this.storage.append([{ index, term: TERM, data }]);
    } catch (e) {
      this.failed = true;
      const fatal = this.storage.failure?.();
      if (fatal) this.onFatal(fatal);
      throw e instanceof ZgateError ? e : new ZgateError('Unavailable', `write-ahead log: ${(e as Error).message}`);
    } finally {
      this.inflight--;
      if (this.failed && this.inflight === 0) {
        this.lastAssigned = this.storage.lastIndex();
        this.failed = false;
      }
    }
    // Storage resolves appends in order, so durable entries commit in index order.
    assert(index === this.committed + 1, () => `entry ${index} durable after ${this.committed}`);
    this.committed = index;
    this.handler?.([{ index, data }]);
  }

  async readIndex(): Promise<number> {
    if (this.closed) throw new ZgateError('Unavailable', 'the member is shutting down');
    return this.committed;
  }

  async saveSnapshot(index: number, data: Uint8Array): Promise<void> {
    await this.storage.saveSnapshot({ index, term: TERM, config: new Uint8Array(0) }, data);
  }

  status(): LogStatus {
    return { id: this.id, leaderId: this.id, term: TERM, commitIndex: this.committed, role: 'leader' };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.storage.close();
  }
}
