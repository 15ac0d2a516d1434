/**
 * The tree's ACL lists, interned (ZooKeeper's ReferenceCountedACLCache): each distinct list is
 * one AclRef, shared by every znode that has it and counted, so that a million znodes with the
 * default ACL hold one list. Ids are handed out in apply order and travel in snapshots with the
 * next id, so every member, restored or not, numbers the same lists alike.
 */
import { aclKey, isStoredAcl, OPEN_ACL_UNSAFE, type Acl } from '../core/acl.js';
import { assert } from '../util/assert.js';

/** The id of a list interned but never held yet. */
const UNNUMBERED = -1;

export class AclRef {
  /** Znodes holding this list (while 0 it is out of the cache, and back in when re-held). */
  refs = 0;
  constructor(
    /** Given when first held (an id is spent only on a list some znode really had), kept for good. */
    public id: number,
    readonly list: readonly Acl[],
    readonly key: string,
  ) {}
}

/** The cache as a snapshot carries it: the next id and every list held, by id. */
export interface AclCacheSnapshot {
  next: number;
  lists: [number, Acl[]][];
}

/** The list every znode had before ACLs existed, and `/`'s: id 0, never dropped. */
const OPEN_ID = 0;

export class AclCache {
  private readonly byKey = new Map<string, AclRef>();
  private readonly byId = new Map<number, AclRef>();
  private next = OPEN_ID + 1;
  readonly open: AclRef;

  constructor() {
    this.open = new AclRef(OPEN_ID, OPEN_ACL_UNSAFE, aclKey(OPEN_ACL_UNSAFE));
    this.open.refs = 1; // held by the cache itself: a snapshot always has it
    this.byKey.set(this.open.key, this.open);
    this.byId.set(OPEN_ID, this.open);
  }

  /**
   * The interned ref for `list` (already validated). A new one gets its id and enters the
   * cache only when first held, so a refused op (NoAuth, say) leaves nothing behind, not even
   * a spent id.
   */
  intern(list: readonly Acl[]): AclRef {
    const key = aclKey(list);
    const found = this.byKey.get(key);
    if (found !== undefined) return found;
    return new AclRef(UNNUMBERED, Object.freeze(list.map((e) => Object.freeze({ perms: e.perms, scheme: e.scheme, id: e.id }))), key);
  }

  /** The next id: a dry run (precheck) puts it back, so that only applied entries use ids. */
  get nextId(): number {
    return this.next;
  }
  set nextId(n: number) {
    assert(n <= this.next, () => `ACL ids run backwards past ${this.next} to ${n}`);
    this.next = n;
  }

  hold(ref: AclRef): void {
    if (ref.id === UNNUMBERED) {
      // Ids are int32 in a snapshot's columns.
      assert(this.next < 2 ** 31 - 1, 'ACL ids exhausted');
      ref.id = this.next++;
    }
    if (ref.refs === 0) {
      // Dropped when its last holder went, and held again (an undone delete, or a list reused).
      assert(!this.byId.has(ref.id) || this.byId.get(ref.id) === ref, () => `ACL id ${ref.id} reused`);
      const other = this.byKey.get(ref.key);
      assert(other === undefined || other === ref, () => `ACL list interned twice (ids ${ref.id}, ${other?.id})`);
      this.byKey.set(ref.key, ref);
      this.byId.set(ref.id, ref);
    }
    ref.refs++;
  }

  release(ref: AclRef): void {
    assert(ref.refs > 0, () => `ACL id ${ref.id} released more often than held`);
    if (--ref.refs === 0) {
      this.byKey.delete(ref.key);
      this.byId.delete(ref.id);
    }
  }

  byIdOf(id: number): AclRef | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  toSnapshot(): AclCacheSnapshot {
    const lists: [number, Acl[]][] = [];
    for (const ref of this.byId.values()) lists.push([ref.id, ref.list.map((e) => ({ perms: e.perms, scheme: e.scheme, id: e.id }))]);
    lists.sort((a, b) => a[0] - b[0]);
    return { next: this.next, lists };
  }

  /** The cache a snapshot holds, unheld (the reader holds each list once per znode); undefined if malformed. */
  static fromSnapshot(v: unknown): AclCache | undefined {
    if (typeof v !== 'object' || v === null) return undefined;
    const { next, lists } = v as { next?: unknown; lists?: unknown };
    // Ids are int32 in the snapshot's columns: a larger `next` is no tree's (intern() stops at 2^31-1).
    if (typeof next !== 'number' || !Number.isSafeInteger(next) || next < 1 || next > 2 ** 31 - 1 || !Array.isArray(lists)) return undefined;
    const cache = new AclCache();
    cache.next = next;
    for (const item of lists) {
      if (!Array.isArray(item) || item.length !== 2) return undefined;
      const [id, list] = item as [unknown, unknown];
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id >= next || !isStoredAcl(list)) return undefined;
      if (id === OPEN_ID) {
        if (aclKey(list) !== cache.open.key) return undefined;
        continue;
      }
      const ref = new AclRef(id, Object.freeze(list.map((e) => Object.freeze({ perms: e.perms, scheme: e.scheme, id: e.id }))), aclKey(list));
      if (cache.byId.has(id) || cache.byKey.has(ref.key)) return undefined;
      cache.byId.set(id, ref);
      cache.byKey.set(ref.key, ref);
    }
    return cache;
  }

  /** After a restore: lists no znode holds are dropped (the open list stays). */
  dropUnheld(): void {
    for (const ref of [...this.byId.values()]) {
      if (ref.refs === 0) {
        this.byKey.delete(ref.key);
        this.byId.delete(ref.id);
      }
    }
  }
}
