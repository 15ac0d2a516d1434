/**
 * Requests sent to a peer over the control link and waiting for its answer, by request id:
 * bounded by a timer each, answered only by the peer they were sent to, and failed at once
 * when that peer goes away or the loop stops. An outcome is a reply (resolves) or an Error
 * (rejects), so a caller chooses which failures are answers and which are errors.
 */
import type { NodeId } from '../raft/index.js';
import type { Clock, TimerHandle } from '../util/clock.js';

interface Waiting<R> {
  to: NodeId;
  timer: TimerHandle;
  settle(outcome: R | Error): void;
}

export class PendingReplies<R extends object> {
  private readonly waiting = new Map<number, Waiting<R>>();

  constructor(private readonly clock: Clock) {}

  /** Waits for `to`'s answer to `rid`; after `ms` without one, settles with `onTimeout()`. */
  wait(rid: number, to: NodeId, ms: number, onTimeout: () => R | Error): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const settle = (outcome: R | Error): void => (outcome instanceof Error ? reject(outcome) : resolve(outcome));
      const timer = this.clock.setTimeout(() => {
        this.waiting.delete(rid);
        settle(onTimeout());
      }, ms);
      this.waiting.set(rid, { to, timer, settle });
    });
  }

  /** `from`'s answer to `rid` (ignored when it is not the peer the request went to, or late). */
  answer(from: NodeId, rid: number, reply: R): void {
    const w = this.waiting.get(rid);
    if (w === undefined || w.to !== from) return;
    this.settle(rid, w, reply);
  }

  /** Settles one request now (it could not be sent). */
  fail(rid: number, outcome: R | Error): void {
    const w = this.waiting.get(rid);
    if (w !== undefined) this.settle(rid, w, outcome);
  }

  /** Settles every request sent to `to` (or to anyone, without `to`). */
  failAll(outcome: () => R | Error, to?: NodeId): void {
    for (const [rid, w] of this.waiting) if (to === undefined || w.to === to) this.settle(rid, w, outcome());
  }

  private settle(rid: number, w: Waiting<R>, outcome: R | Error): void {
    w.timer.cancel();
    this.waiting.delete(rid);
    w.settle(outcome);
  }
}
