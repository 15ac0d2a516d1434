/**
 * Linearizable reads: readIndex() batches concurrent callers into one ReadIndex round through
 * the core (a follower's round goes to the leader as MsgReadIndex). A round lost (a dropped
 * message, a leader change) is re-issued; every caller is bounded by the read timeout, then
 * answered Unavailable.
 */
import { NONE } from '../raft/index.js';
import { ctxKey, unavailable, type NodeLoop } from './node-loop.js';

interface ReadWaiter {
  resolve(index: number): void;
  reject(e: Error): void;
  deadline: number;
}

interface ReadRound {
  key: string;
  waiters: ReadWaiter[];
  sentAt: number;
}

export class ReadIndexBatcher {
  /** Read contexts are unique across restarts: an answer meant for a previous run must match nothing. */
  private counter: number;
  private queue: ReadWaiter[] = [];
  private round: ReadRound | undefined;

  constructor(private readonly loop: NodeLoop) {
    this.counter = loop.clock.nowMs() * 1000;
  }

  readIndex(): Promise<number> {
    const loop = this.loop;
    if (loop.closed) return Promise.reject(unavailable('the member is shutting down'));
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject, deadline: loop.clock.monoMs() + loop.timing.readTimeoutMs });
      this.startRound();
    });
  }

  private startRound(): void {
    const loop = this.loop;
    if (loop.closed || this.round !== undefined || this.queue.length === 0) return;
    const ctx = Buffer.alloc(12);
    ctx.writeUInt32BE(loop.id, 0);
    ctx.writeDoubleBE(++this.counter, 4);
    const r = loop.core.readIndex(ctx);
    if (!r.ok) return; // no leader (or too many reads): retried at the next tick or leader change
    this.round = { key: ctxKey(ctx), waiters: this.queue, sentAt: loop.clock.monoMs() };
    this.queue = [];
    loop.kick();
  }

  readState(key: string, index: number): void {
    const round = this.round;
    if (round === undefined || round.key !== key) return;
    this.round = undefined;
    for (const w of round.waiters) w.resolve(index);
    this.startRound();
  }

  /** A round sent to the old leader will not answer: ask the new one. */
  leaderChanged(): void {
    this.requeue();
    this.startRound();
  }

  /** Every tick: deadlines, a round lost (a message dropped, a leader change the core did not report yet), retries. */
  tick(now: number): void {
    this.expire(now);
    const t = this.loop.timing;
    if (this.round !== undefined && now - this.round.sentAt > t.tickMs * t.electionTicks) this.requeue();
    this.startRound();
  }

  private requeue(): void {
    if (this.round === undefined) return;
    this.queue = [...this.round.waiters, ...this.queue];
    this.round = undefined;
  }

  private expire(now: number): void {
    const loop = this.loop;
    const expired = (w: ReadWaiter): boolean => {
      if (w.deadline > now) return false;
      w.reject(unavailable(`no leader confirmed a read index within ${loop.timing.readTimeoutMs} ms${loop.leader === NONE ? ' (no leader known)' : ''}`));
      return true;
    };
    this.queue = this.queue.filter((w) => !expired(w));
    if (this.round !== undefined) {
      this.round.waiters = this.round.waiters.filter((w) => !expired(w));
      if (this.round.waiters.length === 0) this.round = undefined;
    }
  }

  stopped(err: Error): void {
    for (const w of this.queue) w.reject(err);
    this.queue = [];
    if (this.round !== undefined) for (const w of this.round.waiters) w.reject(err);
    this.round = undefined;
  }
}
