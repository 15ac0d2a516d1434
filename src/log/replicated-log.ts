/**
 * The replicated log as the member sees it: proposals go in, committed entries come out in
 * index order, whichever log runs underneath (in memory, durable alone, or Raft's), so that the
 * member and the faces never learn which. The payload of an entry is owned here too: every log
 * carries the same EntryPayload bytes, and the cluster's wire forwards them unchanged.
 */
import type { Access } from '../core/acl.js';
import type { Op } from '../core/types.js';

/** What a log entry carries: the Op, the proposer's time, and who is waiting for it. */
export interface EntryPayload {
  op: Op;
  timeMs: number;
  /** The proposing member's id (0: the log's own entries, such as a new leader's noop). */
  origin: number;
  /** The proposing member's run: random per process start, so that an entry proposed before a restart never answers a request of the next run. */
  run?: number;
  /** Unique within one run of the proposer. */
  reqId: number;
  /** The client's Idempotency-Key: applied at most once per key and identity. */
  idem?: string;
  /** The writer's ids and scope, resolved by the proposer (never a secret); absent: the member's own entry. */
  access?: Access;
}

export interface CommittedEntry {
  index: number;
  data: Uint8Array;
}

export interface LogStatus {
  id: number;
  leaderId: number | null;
  term: number;
  commitIndex: number;
  role: 'leader' | 'follower' | 'candidate' | 'learner';
}

export interface ReplicatedLog {
  /** Resolves once the proposal is accepted for ordering; the commit handler reports it later. */
  propose(data: Uint8Array): Promise<void>;
  /** A read barrier: once the member has applied this index, a read is linearizable. */
  readIndex(): Promise<number>;
  /** Registered once, before the first proposal; called with contiguous entries in index order. */
  onCommit(handler: (entries: CommittedEntry[]) => void): void;
  /** Keeps a snapshot of the state as of applied `index` and compacts the log before it. */
  saveSnapshot(index: number, data: Uint8Array): Promise<void>;
  status(): LogStatus;
  close(): Promise<void>;
}
