/**
 * The leader's sweep: which container and TTL znodes to reap now, as conditional `reap`
 * entries (apply decides again with the entry's time, so a znode that changed between the
 * sweep and the apply stays). ZooKeeper's ContainerManager rules, throttled like its
 * znode.container.maxPerMinute: at most `limit` deletions per sweep.
 *
 * Also sessions' orphans: ephemerals whose owner is not an open session (possible only for
 * state written before sessions were replicated) are closed as expired.
 */
import type { CloseSessionOp, ReapOp } from '../core/types.js';
import type { DataTree } from '../tree/datatree.js';
import { isSessionId, type SessionTable } from './table.js';

export interface Sweep {
  reaps: ReapOp[];
  /** Owners of ephemerals that are not open sessions. */
  orphans: CloseSessionOp[];
}

export function sweep(tree: DataTree, sessions: SessionTable, now: number, limit: number): Sweep {
  const reaps: ReapOp[] = [];
  for (const path of tree.containerCandidates()) {
    if (reaps.length >= limit) break;
    reaps.push({ op: 'reap', path, kind: 'container' });
  }
  for (const path of tree.ttlCandidates(now)) {
    if (reaps.length >= limit) break;
    const stat = tree.stat(path);
    if (stat !== undefined) reaps.push({ op: 'reap', path, kind: 'ttl', version: stat.version });
  }
  const orphans: CloseSessionOp[] = [];
  for (const owner of tree.ephemeralOwners()) {
    if (isSessionId(owner) && !sessions.isOpen(owner) && orphans.length < limit) orphans.push({ op: 'closeSession', id: owner, reason: 'expired' });
  }
  return { reaps, orphans };
}
