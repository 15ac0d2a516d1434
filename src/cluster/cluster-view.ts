/**
 * What a member tells about the cluster: its replicated log's status (for the member), the
 * cluster view (/v1/cluster: who is in, roles, match indexes, reachability) and the metrics.
 * Read-only over the loop, the transport's links and the peer directory.
 */
import type { LogStatus } from '../log/replicated-log.js';
import { NONE, type NodeId, type Role } from '../raft/index.js';
import type { NodeLoop } from './node-loop.js';

export interface ClusterMemberView {
  id: NodeId;
  peer: string;
  http: string;
  role: LogStatus['role'];
  /** The leader's view of the member's log; on a non-leader only its own last index is known (others 0). */
  matchIndex: number;
  reachable: boolean;
}

export interface ClusterView {
  id: NodeId;
  leaderId: NodeId | null;
  term: number;
  commitIndex: number;
  members: ClusterMemberView[];
}

export interface ClusterMetrics {
  term: number;
  commitIndex: number;
  appliedIndex: number;
  isLeader: boolean;
  leaderChanges: number;
  forwarded: number;
  /** Leader only: entries each follower is behind the leader's last index. */
  followerLag: { id: NodeId; lag: number }[];
}

function mapRole(r: Role): LogStatus['role'] {
  return r === 'leader' ? 'leader' : r === 'follower' ? 'follower' : 'candidate';
}

export function logStatus(loop: NodeLoop): LogStatus {
  const s = loop.core.status();
  const role: LogStatus['role'] = s.confState.voters.includes(loop.id) ? mapRole(s.role) : 'learner';
  return { id: loop.id, leaderId: s.leader === NONE ? null : s.leader, term: s.term, commitIndex: s.commit, role };
}

/** `http`: this member's own URL. */
export function clusterView(loop: NodeLoop, http: string): ClusterView {
  const s = loop.core.status();
  const links = new Map(loop.transport.links().map((l) => [l.id, l]));
  const progress = new Map((s.progress ?? []).map((p) => [p.id, p]));
  const fresh = 2 * loop.timing.electionTicks * loop.timing.tickMs;
  const ids = [...new Set([...s.confState.voters, loop.id])].sort((a, b) => a - b);
  const members = ids.map((id): ClusterMemberView => {
    const self = id === loop.id;
    const voter = s.confState.voters.includes(id);
    const link = links.get(id);
    const role: LogStatus['role'] = !voter ? 'learner' : id === s.leader ? 'leader' : self ? mapRole(s.role) : 'follower';
    let reachable = self;
    if (!self && link !== undefined && link.connected) {
      // Where traffic is expected (leader <-> follower), it must be recent; followers don't talk to each other.
      const expectTraffic = s.leader === loop.id || id === s.leader;
      reachable = !expectTraffic || (link.lastHeardMs !== undefined && link.lastHeardMs < fresh);
    }
    return {
      id,
      peer: loop.peers.addressOf(id) ?? '',
      http: self ? http : loop.peers.httpOf(id),
      role,
      matchIndex: self ? s.lastIndex : (progress.get(id)?.match ?? 0),
      reachable,
    };
  });
  return { id: loop.id, leaderId: s.leader === NONE ? null : s.leader, term: s.term, commitIndex: s.commit, members };
}

export function clusterMetrics(loop: NodeLoop, forwarded: number): ClusterMetrics {
  const s = loop.core.status();
  return {
    term: s.term,
    commitIndex: s.commit,
    appliedIndex: loop.applied,
    isLeader: s.role === 'leader',
    leaderChanges: loop.leaderChanges,
    forwarded,
    followerLag: (s.progress ?? []).filter((p) => p.id !== loop.id).map((p) => ({ id: p.id, lag: Math.max(0, s.lastIndex - p.match) })),
  };
}
