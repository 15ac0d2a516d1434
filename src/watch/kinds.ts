/**
 * Watch kinds and ZooKeeper's trigger table (zookeeper-semantics.md 2.8), as one predicate.
 *
 * ZooKeeper keeps two tables: the data table (getData and exists watches, PERSISTENT, and
 * PERSISTENT_RECURSIVE for a whole subtree) and the child table (getChildren, PERSISTENT).
 *
 * | event                    | fires                                                          |
 * |--------------------------|----------------------------------------------------------------|
 * | NodeCreated(P)           | data/exists on P, persistent on P, recursive on P or above     |
 * | NodeDeleted(P)           | data/exists and children on P, persistent on P (once), recursive on P or above |
 * | NodeDataChanged(P)       | data/exists on P, persistent on P, recursive on P or above     |
 * | NodeChildrenChanged(P)   | children on P, persistent on P (never recursive)               |
 *
 * `data` and `exists` sit in the same table and fire alike; they differ only at registration:
 * `data` (like getData) and `children` (like getChildren) need the znode to exist, `exists`
 * arms on a missing znode too.
 */
import type { TreeEvent } from '../core/types.js';

export const WATCH_KINDS = ['data', 'exists', 'children', 'persistent', 'persistent_recursive'] as const;
export type WatchKind = (typeof WATCH_KINDS)[number];

/** One-shot watches fire once and are removed before their event is sent. */
export function isOneShot(kind: WatchKind): boolean {
  return kind === 'data' || kind === 'exists' || kind === 'children';
}

/** True when `path` is `ancestor` or lies below it. Both are valid znode paths. */
export function isSelfOrDescendant(path: string, ancestor: string): boolean {
  if (ancestor === '/') return true;
  return path === ancestor || (path.length > ancestor.length && path.charCodeAt(ancestor.length) === 0x2f && path.startsWith(ancestor));
}

/** Whether `event` fires a watch of `kind` on `watchPath`: the table above, for one watch. */
export function fires(kind: WatchKind, watchPath: string, event: TreeEvent): boolean {
  switch (kind) {
    case 'data':
    case 'exists':
      return event.path === watchPath && event.type !== 'NodeChildrenChanged';
    case 'children':
      return event.path === watchPath && (event.type === 'NodeChildrenChanged' || event.type === 'NodeDeleted');
    case 'persistent':
      return event.path === watchPath;
    case 'persistent_recursive':
      return event.type !== 'NodeChildrenChanged' && isSelfOrDescendant(event.path, watchPath);
  }
}
