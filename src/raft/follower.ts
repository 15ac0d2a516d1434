/**
 * Follower and (pre-)candidate handlers: accepting the leader's entries, heartbeats and
 * snapshots, counting votes, forwarding read requests, and campaigning on MsgTimeoutNow.
 */
import type { Raft } from './raft.js';
import type { Message } from './types.js';

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'MsgApp':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case 'MsgTimeoutNow':
      r.logger.info(`${r.id} [term ${r.term}] received MsgTimeoutNow from ${m.from} and starts an election to get leadership`);
      // A transfer skips the pre-election: the leader asked for it, nobody is partitioned.
      r.hup('transfer');
      return;
    case 'MsgReadIndex':
      // Only the leader answers forwarded reads; the asker times out and retries.
      r.logger.debug(`${r.id} not leader at term ${r.term}; dropping MsgReadIndex from ${m.from}`);
      return;
    case 'MsgReadIndexResp':
      if (m.context === undefined) return;
      r.readStates.push({ index: m.index, ctx: m.context });
      return;
    default:
      r.logger.debug(`${r.id} [follower, term ${r.term}] ignored ${m.type} from ${m.from}`);
  }
}

/** Shared by pre-candidates and candidates; they differ in the vote answers they count. */
export function stepCandidate(r: Raft, m: Message): void {
  const myVoteResp = r.role === 'preCandidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
  switch (m.type) {
    case 'MsgApp':
      r.becomeFollower(m.term, m.from); // m.term === r.term here
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case 'MsgSnap':
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case myVoteResp:
      r.poll(m.from, m.type, !m.reject);
      return;
    default:
      r.logger.debug(`${r.id} [${r.role}, term ${r.term}] ignored ${m.type} from ${m.from}`);
  }
}

function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    // Everything up to our commit index matches the leader's log already.
    const resp = r.newMessage('MsgAppResp', m.from, r.term);
    resp.index = r.log.committed;
    r.send(resp);
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    const resp = r.newMessage('MsgAppResp', m.from, r.term);
    resp.index = lastNew;
    r.send(resp);
    return;
  }
  // Our log does not hold (m.index, m.logTerm). Hint where it may agree: the largest index
  // <= m.index whose term is <= m.logTerm, skipping our tail of newer terms at once.
  const [hintIndex, hintTerm] = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.logger.debug(`${r.id} [logterm: ${r.log.term(m.index) ?? 0}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${m.from}`);
  const resp = r.newMessage('MsgAppResp', m.from, r.term);
  resp.index = m.index;
  resp.reject = true;
  resp.rejectHint = hintIndex;
  resp.logTerm = hintTerm;
  r.send(resp);
}

function handleHeartbeat(r: Raft, m: Message): void {
  // The leader sends at most our match index, which is durable in our log.
  r.log.commitTo(m.commit);
  const resp = r.newMessage('MsgHeartbeatResp', m.from, r.term);
  if (m.context !== undefined) resp.context = m.context;
  r.send(resp);
}

function handleSnapshot(r: Raft, m: Message): void {
  const resp = r.newMessage('MsgAppResp', m.from, r.term);
  const snap = m.snapshot;
  if (snap === undefined) {
    r.logger.warn(`${r.id} ignored MsgSnap from ${m.from} without a snapshot`);
    return;
  }
  const { index, term } = snap.meta;
  if (index <= r.log.committed) {
    r.logger.info(`${r.id} [commit: ${r.log.committed}] ignored snapshot [index: ${index}, term: ${term}]`);
    resp.index = r.log.committed;
  } else if (r.log.matchTerm(index, term)) {
    // We hold the snapshot's last entry: our log already has everything it covers.
    r.logger.info(`${r.id} [commit: ${r.log.committed}] fast-forwarded commit to snapshot [index: ${index}, term: ${term}]`);
    r.log.commitTo(index);
    resp.index = r.log.committed;
  } else {
    r.log.restore(snap);
    r.restoreConfig(snap.meta.confState, index);
    r.logger.info(`${r.id} [commit: ${r.log.committed}] restored snapshot [index: ${index}, term: ${term}]`);
    resp.index = r.log.lastIndex();
  }
  r.send(resp);
}
