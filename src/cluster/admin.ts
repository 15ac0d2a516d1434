/**
 * Membership changes and leadership transfer. A change is made by the leader, one at a time:
 * an add first replicates the new member's addresses (a cluster record), then proposes the
 * conf change; on a follower the request goes to the leader as an admin frame. The caller is
 * answered once the change has applied here. transferLeadership hands the lead to the most
 * caught-up reachable follower (before a stop).
 */
import { ZgateError, type ZkCode } from '../core/errors.js';
import { PendingReplies } from './pending-replies.js';
import { NONE, type NodeId } from '../raft/index.js';
import { encodeRecord } from './entries.js';
import { unavailable, type NodeLoop } from './node-loop.js';
import { parseHostPort } from './peers.js';
import type { AdminFrame, AdminRespFrame } from './wire.js';

interface IndexWaiter {
  term: number;
  resolve(): void;
  reject(e: Error): void;
}

export class MembershipAdmin {
  private readonly pending: PendingReplies<AdminRespFrame>;
  private readonly indexWaiters = new Map<number, IndexWaiter[]>();
  private busy = false;

  constructor(private readonly loop: NodeLoop) {
    this.pending = new PendingReplies(loop.clock);
  }

  /** Adds a voter (its addresses replicated first); on a follower, asks the leader. Resolves once applied here. */
  async addMember(id: NodeId, peer: string, http: string): Promise<{ index: number }> {
    parseHostPort(peer, 'peer');
    return this.admin({ t: 'admin', rid: 0, op: 'add', id, peer, http });
  }

  async removeMember(id: NodeId): Promise<{ index: number }> {
    return this.admin({ t: 'admin', rid: 0, op: 'remove', id, peer: '', http: '' });
  }

  private async admin(req: AdminFrame): Promise<{ index: number }> {
    const loop = this.loop;
    const { requestTimeoutMs, tickMs } = loop.timing;
    const deadline = loop.clock.monoMs() + requestTimeoutMs;
    let delay = Math.max(5, Math.floor(tickMs / 2));
    for (;;) {
      if (loop.closed) throw unavailable('the member is shutting down');
      let resp: AdminRespFrame;
      if (loop.leader === loop.id) resp = await this.runAdmin(req, deadline);
      else if (loop.leader !== NONE) resp = await this.forwardAdmin(loop.leader, req, deadline);
      else resp = { t: 'adminResp', rid: 0, ok: false, code: 'Unavailable', message: 'no leader', index: 0, retry: true };
      if (resp.ok) {
        await this.waitApplied(resp.index, Math.max(0, deadline - loop.clock.monoMs()));
        return { index: resp.index };
      }
      if (!resp.retry) throw new ZgateError(resp.code as ZkCode, resp.message);
      if (loop.clock.monoMs() + delay > deadline) throw unavailable(`the membership change did not go through within ${requestTimeoutMs} ms: ${resp.message}`);
      await loop.waitLeaderOr(delay);
      delay = Math.min(delay * 2, 500);
    }
  }

  private forwardAdmin(to: NodeId, req: AdminFrame, deadline: number): Promise<AdminRespFrame> {
    const loop = this.loop;
    const rid = loop.nextRequestId();
    const wait = Math.max(1, deadline - loop.clock.monoMs());
    // Not retried after a timeout: the leader may be making it.
    const answer = this.pending.wait(rid, to, wait, () => ({ t: 'adminResp', rid, ok: false, code: 'Unavailable', message: `leader ${to} did not answer the membership change within ${wait} ms; it may or may not have been made`, index: 0, retry: false }));
    if (!loop.transport.sendControl(to, { ...req, rid })) {
      this.pending.fail(rid, { t: 'adminResp', rid, ok: false, code: 'Unavailable', message: `leader ${to} not connected`, index: 0, retry: true });
    }
    return answer;
  }

  /** On the leader: a follower's admin request. */
  async onAdmin(from: NodeId, req: AdminFrame): Promise<void> {
    const loop = this.loop;
    const resp: AdminRespFrame =
      loop.leader === loop.id
        ? await this.runAdmin(req, loop.clock.monoMs() + loop.timing.requestTimeoutMs)
        : { t: 'adminResp', rid: 0, ok: false, code: 'Unavailable', message: `not the leader (leader: ${loop.leader || 'unknown'})`, index: 0, retry: true };
    loop.transport.sendControl(from, { ...resp, rid: req.rid });
  }

  onAdminResponse(from: NodeId, f: AdminRespFrame): void {
    this.pending.answer(from, f.rid, f);
  }

  /** On the leader: one change at a time; an add replicates the new member's addresses first. */
  private async runAdmin(req: AdminFrame, deadline: number): Promise<AdminRespFrame> {
    const fail = (code: ZkCode, message: string, retry = false): AdminRespFrame => ({ t: 'adminResp', rid: req.rid, ok: false, code, message, index: 0, retry });
    if (this.busy) return fail('Unavailable', 'another membership change is in progress; retry when it is done');
    this.busy = true;
    try {
      const refused = await this.prepare(req, deadline);
      if (refused !== undefined) return fail(refused.code, refused.message, refused.retry);
      return await this.proposeChange(req, deadline, fail);
    } catch (e) {
      return fail('Unavailable', (e as Error).message, false);
    } finally {
      this.busy = false;
    }
  }

  /** Checks the change against the voters; for an add, replicates the new member's addresses. */
  private async prepare(req: AdminFrame, deadline: number): Promise<{ code: ZkCode; message: string; retry?: boolean } | undefined> {
    const loop = this.loop;
    const voters = loop.core.status().confState.voters;
    if (req.op === 'remove') {
      if (!voters.includes(req.id)) return { code: 'NoNode', message: `member ${req.id} is not a member` };
      if (voters.length === 1) return { code: 'BadArguments', message: `member ${req.id} is the last member` };
      return undefined;
    }
    if (voters.includes(req.id)) return { code: 'NodeExists', message: `member ${req.id} is already a member` };
    try {
      parseHostPort(req.peer, 'peer');
    } catch (e) {
      return { code: 'BadArguments', message: (e as Error).message };
    }
    const rec = loop.core.propose(encodeRecord({ kind: 'member', id: req.id, peer: req.peer, http: req.http }));
    if (!rec.ok) return { code: 'Unavailable', message: `the leader refused the change: ${rec.reason}`, retry: rec.reason === 'not-leader' };
    loop.kick();
    await this.waitIndex(rec.index, rec.term, deadline);
    return undefined;
  }

  private async proposeChange(req: AdminFrame, deadline: number, fail: (code: ZkCode, message: string, retry?: boolean) => AdminRespFrame): Promise<AdminRespFrame> {
    const loop = this.loop;
    for (;;) {
      const r = loop.core.proposeConfChange({ type: req.op, id: req.id });
      if (r.ok) {
        loop.kick();
        await this.waitIndex(r.index, r.term, deadline);
        loop.logger.info({ change: req.op, member: req.id, index: r.index }, 'membership change applied');
        return { t: 'adminResp', rid: req.rid, ok: true, code: 'Ok', message: '', index: r.index, retry: false };
      }
      if (r.reason === 'invalid-conf-change') return fail('BadArguments', r.detail ?? r.reason);
      if (r.reason !== 'conf-change-pending' || loop.clock.monoMs() + 50 > deadline) return fail('Unavailable', `the leader refused the change: ${r.reason}${r.detail ? `: ${r.detail}` : ''}`, r.reason === 'not-leader');
      await loop.sleep(Math.max(10, loop.timing.tickMs / 2));
    }
  }

  /** Resolves when the entry proposed at (index, term) has applied here; rejects if another took its place. */
  private waitIndex(index: number, term: number, deadline: number): Promise<void> {
    const loop = this.loop;
    if (index <= loop.applied) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = loop.clock.setTimeout(() => {
        const ws = this.indexWaiters.get(index);
        if (ws !== undefined) ws.splice(ws.indexOf(w), 1);
        reject(unavailable(`entry ${index} did not apply within the request timeout`));
      }, Math.max(1, deadline - loop.clock.monoMs()));
      const w: IndexWaiter = {
        term,
        resolve: () => {
          timer.cancel();
          resolve();
        },
        reject: (e) => {
          timer.cancel();
          reject(e);
        },
      };
      const ws = this.indexWaiters.get(index) ?? [];
      ws.push(w);
      this.indexWaiters.set(index, ws);
    });
  }

  /** Resolves once this member applied `index` (whatever its term). */
  private async waitApplied(index: number, timeoutMs: number): Promise<void> {
    const loop = this.loop;
    const deadline = loop.clock.monoMs() + timeoutMs;
    while (loop.applied < index) {
      if (loop.closed) throw unavailable('the member is shutting down');
      if (loop.clock.monoMs() > deadline) throw unavailable(`the change applied on the leader at ${index} but not yet here (applied ${loop.applied})`);
      await loop.sleep(Math.max(5, loop.timing.tickMs / 4));
    }
  }

  entryApplied(index: number, term: number): void {
    const ws = this.indexWaiters.get(index);
    if (ws === undefined) return;
    this.indexWaiters.delete(index);
    for (const w of ws) {
      if (w.term === term) w.resolve();
      else w.reject(unavailable(`the entry proposed at ${index} was replaced in a leader change; retry`));
    }
  }

  snapshotInstalled(index: number): void {
    for (const [i, ws] of this.indexWaiters) {
      if (i > index) continue;
      this.indexWaiters.delete(i);
      for (const w of ws) w.reject(unavailable(`entry ${i} was covered by a snapshot from the leader before it applied here; it may or may not have applied`));
    }
  }

  stopped(err: Error): void {
    this.pending.failAll(() => ({ t: 'adminResp', rid: 0, ok: false, code: 'Unavailable', message: err.message, index: 0, retry: false }));
    for (const ws of this.indexWaiters.values()) for (const w of ws) w.reject(err);
    this.indexWaiters.clear();
  }

  // ---- leadership transfer --------------------------------------------------------------

  /**
   * On the leader: hands leadership to the most caught-up reachable follower and waits (up to
   * `timeoutMs`) until it took over. Returns the new leader, or NONE if none took over.
   */
  async transferLeadership(timeoutMs = 2000): Promise<NodeId> {
    const loop = this.loop;
    const st = loop.core.status();
    if (st.role !== 'leader' || loop.closed) return NONE;
    const links = new Map(loop.transport.links().map((l) => [l.id, l.connected]));
    const candidates = (st.progress ?? []).filter((p) => p.id !== loop.id && st.confState.voters.includes(p.id) && links.get(p.id) === true);
    if (candidates.length === 0) return NONE;
    candidates.sort((a, b) => b.match - a.match || a.id - b.id);
    const to = candidates[0]!.id;
    const r = loop.core.transferLeadership(to);
    if (!r.ok) return NONE;
    loop.logger.info({ to, match: candidates[0]!.match, lastIndex: st.lastIndex }, 'transferring leadership before stopping');
    loop.kick();
    const deadline = loop.clock.monoMs() + timeoutMs;
    let stepped = false;
    while (loop.clock.monoMs() < deadline && !loop.closed) {
      const s = loop.core.status();
      // Stepped down: wait (briefly) until the new leader is heard of.
      if (s.role !== 'leader' && s.leader !== NONE) return s.leader;
      stepped ||= s.role !== 'leader';
      await loop.sleep(Math.max(5, loop.timing.tickMs / 4));
    }
    return stepped ? to : NONE;
  }
}
