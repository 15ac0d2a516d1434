/**
 * The watch registry: every live watch, indexed so that an event finds its watchers with a
 * few map lookups, never a scan of all watchers. Exact-path watches are looked up by the
 * event's path in the table its type fires (data, child, persistent); recursive watches by
 * the event's path and each of its ancestors: O(depth) lookups, and none at all while no
 * recursive watch exists.
 */
import { ANONYMOUS, type Access } from '../core/acl.js';
import type { TreeEventType, Zxid } from '../core/types.js';
import type { EventRecord } from './history.js';
import { isOneShot, type WatchKind } from './kinds.js';

/** What a subscriber (one socket, one SSE stream) is handed for one zxid. */
export interface Delivery {
  readonly zxid: Zxid;
  readonly events: readonly EventRecord[];
  /**
   * Serializations of this zxid's events, shared by every subscriber the zxid reaches, so
   * that an event is serialized once per shape rather than once per socket. Owned by the
   * transport's encoder; valid during this delivery only.
   */
  readonly cache: (string | undefined)[];
  /**
   * Whole encoded frames by slot and watch id, for the transports: watch ids are numbered per
   * subscriber, so the many sockets that each hold one watch on a path share one frame.
   */
  readonly frames: (Map<string, Uint8Array> | undefined)[];
}

export interface Watch {
  readonly id: string;
  readonly kind: WatchKind;
  readonly path: string;
  readonly withData: boolean;
  readonly owner: Subscriber;
}

/**
 * A receiver of events: a WebSocket or an SSE stream. The transport implements the
 * abstract methods; the fields are the registry's and the hub's bookkeeping.
 */
export abstract class Subscriber {
  /** This subscriber's live watches by id. */
  readonly watches = new Map<string, Watch>();
  /**
   * Who is watching: an event reaches the subscriber only when these ids may READ its znode
   * as of its zxid. Set by the face from the connection's credentials (anonymous until then).
   */
  access: Access = ANONYMOUS;
  /** Watch ids are this subscriber's own: "1", "2", ... */
  private lastWatchId = 0;
  /** @internal dispatch scratch: the dispatch sequence number this subscriber was last touched in. */
  mark = 0;
  /** @internal dispatch scratch: watches hit in the current dispatch, parallel to hitEvents. */
  readonly hitWatches: Watch[] = [];
  /** @internal dispatch scratch: index of the event each hit is for. */
  readonly hitEvents: number[] = [];

  /** The id of this subscriber's next watch. */
  nextWatchId(): string {
    return String(++this.lastWatchId);
  }

  /**
   * The events of one zxid for this subscriber, in event order: `watches[k]` is fired by
   * `delivery.events[events[k]]`. Called synchronously while the zxid applies (or while a
   * resume replays); the arrays are reused afterwards, so copy what must outlive the call.
   */
  abstract deliver(delivery: Delivery, watches: readonly Watch[], events: readonly number[]): void;
  /** The applied zxid, every heartbeat interval. */
  abstract heartbeat(zxid: Zxid, frame: string): void;
  /** The watch can't go on: events it should have seen are gone (a jump in the applied log). */
  abstract compacted(watch: Watch, compactZxid: Zxid): void;
}

type Table = Map<string, Set<Watch>>;

function add(table: Table, path: string, w: Watch): void {
  let set = table.get(path);
  if (set === undefined) table.set(path, (set = new Set()));
  set.add(w);
}

function remove(table: Table, path: string, w: Watch): boolean {
  const set = table.get(path);
  if (set === undefined || !set.delete(w)) return false;
  if (set.size === 0) table.delete(path);
  return true;
}

export class WatchRegistry {
  /** data and exists watches. */
  private readonly data: Table = new Map();
  /** children watches. */
  private readonly child: Table = new Map();
  /** persistent watches: in ZooKeeper both tables; here one, so that NodeDeleted fires them once. */
  private readonly persistent: Table = new Map();
  private readonly recursive: Table = new Map();
  private count = 0;

  get size(): number {
    return this.count;
  }

  private tableOf(kind: WatchKind): Table {
    switch (kind) {
      case 'data':
      case 'exists':
        return this.data;
      case 'children':
        return this.child;
      case 'persistent':
        return this.persistent;
      case 'persistent_recursive':
        return this.recursive;
    }
  }

  add(w: Watch): void {
    add(this.tableOf(w.kind), w.path, w);
    w.owner.watches.set(w.id, w);
    this.count++;
  }

  /** False when the watch was not registered (fired already, or removed). */
  remove(w: Watch): boolean {
    if (!remove(this.tableOf(w.kind), w.path, w)) return false;
    w.owner.watches.delete(w.id);
    this.count--;
    return true;
  }

  /**
   * Calls `hit(watch, i)` for every watch that `events[i]` fires, in event order. One-shot
   * watches are removed before their hit is reported, so a later event of the same zxid
   * (a multi) can't fire them again.
   */
  collect(events: readonly EventRecord[], hit: (w: Watch, eventIndex: number) => void): void {
    if (this.count === 0) return;
    const anyRecursive = this.recursive.size > 0;
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!;
      const type: TreeEventType = ev.type;
      const path = ev.path;
      if (type !== 'NodeChildrenChanged') this.fire(this.data.get(path), i, hit);
      if (type === 'NodeChildrenChanged' || type === 'NodeDeleted') this.fire(this.child.get(path), i, hit);
      this.fire(this.persistent.get(path), i, hit);
      if (anyRecursive && type !== 'NodeChildrenChanged') {
        let p = path;
        for (;;) {
          const set = this.recursive.get(p);
          if (set !== undefined) this.fire(set, i, hit);
          if (p === '/') break;
          const slash = p.lastIndexOf('/');
          p = slash === 0 ? '/' : p.slice(0, slash);
        }
      }
    }
  }

  private fire(set: Set<Watch> | undefined, i: number, hit: (w: Watch, eventIndex: number) => void): void {
    if (set === undefined) return;
    let oneShots: Watch[] | undefined;
    for (const w of set) {
      if (isOneShot(w.kind)) (oneShots ??= []).push(w);
      else hit(w, i);
    }
    if (oneShots !== undefined) {
      for (const w of oneShots) {
        this.remove(w);
        hit(w, i);
      }
    }
  }
}
