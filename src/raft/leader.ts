/**
 * The leader's half of Raft: replication with per-follower flow control, commit, heartbeats,
 * ReadIndex rounds, snapshots for followers that fell behind the compacted log, and
 * leadership transfer.
 */
import { assert } from '../util/assert.js';
import { voteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { entriesSize } from './storage.js';
import type { Message, NodeId } from './types.js';

export function stepLeader(r: Raft, m: Message): void {
  if (m.type === 'MsgReadIndex') {
    if (!r.tracker.isVoter(m.from)) return;
    if (r.readOnly.full()) {
      r.logger.debug(`${r.id} dropped MsgReadIndex from ${m.from}: too many pending reads`);
      return;
    }
    r.leaderReadIndex(m.from, m.context ?? new Uint8Array(0));
    return;
  }
  const pr = r.tracker.get(m.from);
  if (pr === undefined) {
    r.logger.debug(`${r.id} no progress available for ${m.from}, ignored ${m.type}`);
    return;
  }
  switch (m.type) {
    case 'MsgAppResp':
      handleAppendResponse(r, m);
      return;
    case 'MsgHeartbeatResp':
      handleHeartbeatResponse(r, m);
      return;
    default:
      r.logger.debug(`${r.id} [leader, term ${r.term}] ignored ${m.type} from ${m.from}`);
  }
}

function handleAppendResponse(r: Raft, m: Message): void {
  const pr = r.tracker.get(m.from)!;
  pr.recentActive = true;
  if (m.reject) {
    r.logger.debug(`${r.id} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${m.from} for index ${m.index}`);
    // The follower's hint is the last (index, term) where its log may agree with ours; jump
    // over whole terms of our log above that term too (etcd's findConflictByTerm on both sides).
    let nextProbe = m.rejectHint;
    if (m.logTerm > 0) nextProbe = r.log.findConflictByTerm(m.rejectHint, m.logTerm)[0];
    if (pr.maybeDecrTo(m.index, nextProbe)) {
      r.logger.debug(`${r.id} decreased progress of ${m.from} to [${pr.describe()}]`);
      if (pr.state === 'replicate') pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
      // Caught up through the snapshot (or past it, by regular appends): stream again.
      r.logger.debug(`${r.id} recovered from needing snapshot, resumed sending replication messages to ${m.from} [${pr.describe()}]`);
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (maybeCommit(r)) {
      releasePendingReadIndex(r);
      bcastAppend(r);
    } else if (wasPaused) {
      sendAppend(r, m.from);
    }
    // Flow control may now allow several more MsgApps (e.g. after probe -> replicate).
    while (maybeSendAppend(r, m.from, false)) {
      /* keep sending */
    }
    if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
      r.logger.info(`${r.id} sent MsgTimeoutNow to ${m.from} after it caught up`);
      sendTimeoutNow(r, m.from);
    }
  }
}

function handleHeartbeatResponse(r: Raft, m: Message): void {
  const pr = r.tracker.get(m.from)!;
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  // The follower is alive but the window is full: MsgApps may have been lost. Free one slot
  // so that the next MsgApp goes out; a gap makes the follower reject it, and the leader
  // falls back to probing from match.
  if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < r.log.lastIndex() || pr.state === 'probe') sendAppend(r, m.from);
  if (m.context === undefined || m.context.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (acks === undefined) return;
  if (voteResult(r.tracker.voters, acks) !== 'won') return;
  for (const rs of r.readOnly.advance(m.context)) r.respondReadIndex(rs.from, rs.ctx, rs.index);
}

/** Advances the commit index to what a majority holds, if that entry is of this term. */
export function maybeCommit(r: Raft): boolean {
  assert(r.role === 'leader', 'maybeCommit on a non-leader');
  assert(r.tracker.voters.length > 0, 'leader with an empty configuration');
  const mci = r.tracker.committed();
  if (mci <= r.log.committed) return false;
  // Raft's commit rule (paper 5.4.2): only an entry of the current term is committed by
  // counting replicas; earlier entries commit with it.
  if (r.log.term(mci) !== r.term) return false;
  r.log.commitTo(mci);
  return true;
}

/** After the first commit of its term, answer the reads that waited for it. */
export function releasePendingReadIndex(r: Raft): void {
  if (r.pendingReadIndex.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const pending = r.pendingReadIndex;
  r.pendingReadIndex = [];
  for (const p of pending) sendReadIndexResponse(r, p.from, p.ctx);
}

export function sendReadIndexResponse(r: Raft, from: NodeId, ctx: Uint8Array): void {
  if (r.tracker.voters.length === 1 && r.tracker.isVoter(r.id)) {
    r.respondReadIndex(from, ctx, r.log.committed);
    return;
  }
  r.readOnly.addRequest(r.log.committed, from, ctx);
  r.readOnly.recvAck(r.id, ctx);
  bcastHeartbeat(r, ctx);
}

/** Sends every follower what it lacks: one MsgApp (possibly empty, to carry the commit index,
 * unless `sendIfEmpty` is false), then more while flow control allows (pipelining). */
export function bcastAppend(r: Raft, sendIfEmpty = true): void {
  r.tracker.visit((id) => {
    if (id === r.id) return;
    maybeSendAppend(r, id, sendIfEmpty);
    while (maybeSendAppend(r, id, false)) {
      /* pipeline */
    }
  });
}

export function bcastHeartbeat(r: Raft, ctx?: Uint8Array): void {
  const c = ctx ?? r.readOnly.lastPendingCtx();
  r.tracker.visit((id, pr) => {
    if (id === r.id) return;
    const m = r.newMessage('MsgHeartbeat', id, r.term);
    // Never tell a follower a commit index beyond what it is known to hold.
    m.commit = Math.min(pr.match, r.log.committed);
    if (c !== undefined) m.context = c;
    r.send(m);
  });
}

/** Sends what the follower needs next (a MsgApp, possibly empty, or a snapshot). */
export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/** Sends the next MsgApp to `to` unless flow control pauses it; returns whether a message was sent. */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  if (prevTerm === undefined) return maybeSendSnapshot(r, to);
  const ents = r.log.entriesFrom(pr.next, r.maxSizePerMsg);
  if (ents === undefined) return maybeSendSnapshot(r, to);
  if (ents.length === 0 && !sendIfEmpty) return false;
  const m = r.newMessage('MsgApp', to, r.term);
  m.index = prevIndex;
  m.logTerm = prevTerm;
  m.entries = ents;
  m.commit = r.log.committed;
  r.send(m);
  pr.sentEntries(prevIndex + 1, ents.length, entriesSize(ents));
  return true;
}

function maybeSendSnapshot(r: Raft, to: NodeId): boolean {
  const pr = r.tracker.get(to)!;
  if (!pr.recentActive) {
    r.logger.debug(`${r.id} ignored sending snapshot to ${to} since it is not recently active`);
    return false;
  }
  const snap = r.log.snapshot();
  if (snap === undefined) {
    r.logger.debug(`${r.id} failed to send snapshot to ${to}: temporarily unavailable`);
    return false;
  }
  assert(snap.meta.index > 0, () => `${r.id} needs a snapshot for ${to} but has none (next ${pr.next}, first ${r.log.firstIndex()})`);
  r.logger.info(`${r.id} [firstindex: ${r.log.firstIndex()}, commit: ${r.log.committed}] sent snapshot[index: ${snap.meta.index}, term: ${snap.meta.term}] to ${to} [${pr.describe()}]`);
  pr.becomeSnapshot(snap.meta.index);
  const m = r.newMessage('MsgSnap', to, r.term);
  m.snapshot = snap;
  r.send(m);
  return true;
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send(r.newMessage('MsgTimeoutNow', to, r.term));
}
