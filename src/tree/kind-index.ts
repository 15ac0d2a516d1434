/**
 * The tree's indexes of znodes by kind: ephemerals by owning session (their session's close
 * deletes them), containers and TTL znodes (the leader's sweep reaps them). Kept by the
 * tree's insert and remove, exact at every applied zxid.
 */
import type { SessionId } from '../core/types.js';
import { assert } from '../util/assert.js';
import { NodeKind, type ZNode } from './znode.js';

export class KindIndex {
  private readonly ephemerals = new Map<SessionId, Set<string>>();
  private ephemeralTotal = 0;
  private readonly containers = new Map<string, ZNode>();
  private readonly ttls = new Map<string, ZNode>();

  add(path: string, node: ZNode): void {
    switch (node.kind) {
      case NodeKind.Ephemeral: {
        let set = this.ephemerals.get(node.owner);
        if (set === undefined) {
          set = new Set();
          this.ephemerals.set(node.owner, set);
        }
        set.add(path);
        this.ephemeralTotal++;
        break;
      }
      case NodeKind.Container:
        this.containers.set(path, node);
        break;
      case NodeKind.Ttl:
        this.ttls.set(path, node);
        break;
      case NodeKind.Persistent:
        break;
    }
  }

  remove(path: string, node: ZNode): void {
    switch (node.kind) {
      case NodeKind.Ephemeral: {
        const set = this.ephemerals.get(node.owner);
        assert(set !== undefined && set.delete(path), () => `ephemeral ${path} missing from its owner's index`);
        this.ephemeralTotal--;
        if (set.size === 0) this.ephemerals.delete(node.owner);
        break;
      }
      case NodeKind.Container:
        assert(this.containers.delete(path), () => `container ${path} missing from the index`);
        break;
      case NodeKind.Ttl:
        assert(this.ttls.delete(path), () => `ttl node ${path} missing from the index`);
        break;
      case NodeKind.Persistent:
        break;
    }
  }

  /** Ephemeral znodes, all sessions together. */
  get ephemeralCount(): number {
    return this.ephemeralTotal;
  }

  get ttlCount(): number {
    return this.ttls.size;
  }

  ephemeralsOf(owner: SessionId): string[] {
    const set = this.ephemerals.get(owner);
    return set === undefined ? [] : [...set].sort();
  }

  /** Every session that owns at least one ephemeral znode, ascending. */
  ephemeralOwners(): SessionId[] {
    return [...this.ephemerals.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  containerCandidates(): string[] {
    const due: string[] = [];
    // ZooKeeper's ContainerManager: a container is due once it has had a child and has none now.
    for (const [path, node] of this.containers) if (node.cversion > 0 && node.children === null) due.push(path);
    return due.sort();
  }

  ttlCandidates(nowMs: number): string[] {
    const due: string[] = [];
    for (const [path, node] of this.ttls) if (node.children === null && nowMs - node.mtime > node.ttl) due.push(path);
    return due.sort();
  }
}
