/**
 * ReadIndex bookkeeping on the leader (etcd's read_only.go, "safe" option only; no lease
 * reads). A read request records the commit index at the time it arrived; the leader then
 * sends a heartbeat round carrying the request's ctx; once a majority (counting itself) has
 * answered that round, the leader was still the leader when the request arrived, so every
 * request up to and including that ctx may be served at its recorded index.
 */
import { assert } from '../util/assert.js';
import type { NodeId } from './types.js';

export interface ReadRequest {
  /** The leader's commit index when the request arrived. */
  index: number;
  /** The member that asked (the leader itself, or a follower that forwarded MsgReadIndex). */
  from: NodeId;
  ctx: Uint8Array;
  acks: Map<NodeId, boolean>;
}

export function ctxKey(ctx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += ctx[i]!.toString(16).padStart(2, '0');
  return s;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadRequest>();
  private readonly queue: string[] = [];

  constructor(readonly maxPending: number) {
    assert(maxPending >= 1, `ReadOnly maxPending ${maxPending}`);
  }

  get size(): number {
    return this.queue.length;
  }

  full(): boolean {
    return this.queue.length >= this.maxPending;
  }

  /** Records a request; a ctx already pending is not recorded twice. */
  addRequest(index: number, from: NodeId, ctx: Uint8Array): void {
    const key = ctxKey(ctx);
    if (this.pending.has(key)) return;
    assert(!this.full(), 'ReadOnly.addRequest when full');
    if (this.queue.length > 0) {
      const last = this.pending.get(this.queue[this.queue.length - 1]!)!;
      assert(index >= last.index, `read index ${index} below an earlier one ${last.index}`);
    }
    this.pending.set(key, { index, from, ctx, acks: new Map() });
    this.queue.push(key);
  }

  /** Records that `id` answered the heartbeat round of `ctx`; returns that round's acks. */
  recvAck(id: NodeId, ctx: Uint8Array): ReadonlyMap<NodeId, boolean> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * The round of `ctx` reached a quorum: removes and returns every request up to it (earlier
   * requests are confirmed by the later round too).
   */
  advance(ctx: Uint8Array): ReadRequest[] {
    const key = ctxKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const keys = this.queue.splice(0, at + 1);
    const out: ReadRequest[] = [];
    for (const k of keys) {
      out.push(this.pending.get(k)!);
      this.pending.delete(k);
    }
    return out;
  }

  /** The ctx of the newest pending request (carried by heartbeats), if any. */
  lastPendingCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1]!)!.ctx;
  }

  clear(): void {
    this.pending.clear();
    this.queue.length = 0;
  }
}
