/**
 * Writes from a follower to the leader. On the leader, propose; on a follower, forward the
 * EntryPayload to the leader over the peer link with a request id. The leader proposes it and
 * answers ok or refused. A refusal (not leader, transfer running, flow control) or a leader
 * not known or not connected is retried with backoff until the request timeout; a forward
 * that left and got no answer is never re-sent (it may have been appended: re-sending could
 * apply it twice) and answers Unavailable "may or may not apply". Either way the client is
 * answered only when the entry has applied here (Member matches its origin and request id).
 *
 * Session keepalives take the same road: a follower's batch goes to the leader's receiver.
 */
import { NONE, type NodeId } from '../raft/index.js';
import { PendingReplies } from './pending-replies.js';
import { isMemberPayload } from './entries.js';
import { unavailable, type NodeLoop } from './node-loop.js';
import { MAX_KEEPALIVE_IDS, type FwdFrame, type FwdRespFrame, type KeepaliveFrame } from './wire.js';

export class WriteForwarder {
  private readonly pending: PendingReplies<FwdRespFrame>;
  private keepaliveReceiver: ((ids: bigint[]) => void) | undefined;
  private _forwarded = 0;

  constructor(private readonly loop: NodeLoop) {
    this.pending = new PendingReplies(loop.clock);
  }

  /** Writes forwarded to a leader (a metric). */
  get forwarded(): number {
    return this._forwarded;
  }

  async propose(data: Uint8Array): Promise<void> {
    const loop = this.loop;
    const { requestTimeoutMs, tickMs } = loop.timing;
    const deadline = loop.clock.monoMs() + requestTimeoutMs;
    let delay = Math.max(5, Math.floor(tickMs / 4));
    let hint: NodeId = NONE;
    for (;;) {
      if (loop.closed) throw unavailable('the member is shutting down');
      const r = loop.core.propose(data);
      if (r.ok) {
        loop.noteProposed(r.index, r.term);
        loop.kick();
        return;
      }
      let why: string = r.reason;
      const leader = r.leader !== NONE && r.leader !== loop.id ? r.leader : hint;
      if (r.reason === 'not-leader' && leader !== NONE) {
        const res = await this.forwardOnce(leader, data, deadline);
        if (res.ok) return;
        why = res.reason;
        hint = res.leader !== loop.id ? res.leader : NONE;
      }
      if (loop.clock.monoMs() + delay > deadline) {
        throw unavailable(`no leader accepted the write within ${requestTimeoutMs} ms (last: ${why}${loop.leader === NONE ? ', no leader known' : `, leader ${loop.leader}`}); it was not applied`);
      }
      await loop.waitLeaderOr(delay);
      delay = Math.min(delay * 2, 500);
    }
  }

  /**
   * One forward to the leader. ok: the leader appended it. Not ok: refused or never sent —
   * safe to retry. No answer after it left: it may have been appended, so never re-sent.
   */
  private async forwardOnce(to: NodeId, data: Uint8Array, deadline: number): Promise<{ ok: boolean; reason: string; leader: NodeId }> {
    const loop = this.loop;
    const rid = loop.nextRequestId();
    const f: FwdFrame = { t: 'fwd', rid, data };
    const wait = Math.max(1, Math.min(loop.timing.forwardAckMs, deadline - loop.clock.monoMs()));
    const answer = this.pending.wait(rid, to, wait, () => unavailable(`forwarded the write to leader ${to}, which did not answer within ${wait} ms; it may or may not apply`));
    if (!loop.transport.sendControl(to, f)) {
      this.pending.fail(rid, { t: 'fwdResp', rid, ok: false, reason: `leader ${to} not connected`, leader: NONE });
    } else {
      this._forwarded++;
    }
    const resp = await answer;
    return { ok: resp.ok, reason: resp.reason, leader: resp.leader };
  }

  /** On the leader: a follower's forwarded write. */
  onForward(from: NodeId, f: FwdFrame): void {
    const loop = this.loop;
    let resp: FwdRespFrame;
    if (!isMemberPayload(f.data)) {
      loop.logger.warn({ from }, 'refused a forwarded write that is not a member payload');
      resp = { t: 'fwdResp', rid: f.rid, ok: false, reason: 'bad-payload', leader: loop.leader };
    } else {
      const r = loop.core.propose(f.data);
      resp = r.ok ? { t: 'fwdResp', rid: f.rid, ok: true, reason: '', leader: loop.id } : { t: 'fwdResp', rid: f.rid, ok: false, reason: r.reason, leader: r.leader };
      if (r.ok) {
        loop.noteProposed(r.index, r.term);
        loop.kick();
      }
    }
    loop.transport.sendControl(from, resp);
  }

  onForwardResponse(from: NodeId, f: FwdRespFrame): void {
    this.pending.answer(from, f.rid, f);
  }

  /** Forwards to `to` that left and can no longer be answered: "may or may not apply", at once. */
  failForwards(to: NodeId, why: string): void {
    this.pending.failAll(() => unavailable(`${why} before it answered a forwarded write; the write may or may not apply`), to);
  }

  leaderChanged(prev: NodeId): void {
    if (prev !== NONE && prev !== this.loop.id) this.failForwards(prev, `leader ${prev} was replaced`);
  }

  stopped(err: Error): void {
    this.pending.failAll(() => err);
  }

  // ---- session keepalives ---------------------------------------------------------------

  /** Where session keepalives forwarded by followers go on the leader (SessionService.receiveKeepalives). */
  setKeepaliveReceiver(fn: (ids: bigint[]) => void): void {
    this.keepaliveReceiver = fn;
  }

  onKeepalives(f: KeepaliveFrame): void {
    this.keepaliveReceiver?.(f.ids);
  }

  /** A follower's batch of session keepalives to the leader; false when there is no leader to send them to. */
  forwardKeepalives(ids: bigint[]): boolean {
    const loop = this.loop;
    if (loop.closed || loop.leader === NONE || loop.leader === loop.id || ids.length === 0) return false;
    let ok = true;
    for (let i = 0; i < ids.length; i += MAX_KEEPALIVE_IDS) ok = loop.transport.sendControl(loop.leader, { t: 'ka', ids: ids.slice(i, i + MAX_KEEPALIVE_IDS) }) && ok;
    return ok;
  }
}
