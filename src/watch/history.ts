/**
 * The ring of recently applied events that `fromZxid` / `Last-Event-ID` resume from.
 *
 * It knows the range of zxids it covers, not only the zxids that had events: an entry whose
 * op failed or changed nothing is still a zxid, and a resume from it must be answered. The
 * invariant: every event of every zxid in (base, last] is retained; nothing at or below base
 * is. Bounded by the count of retained entries (zxids with events) and by their bytes; the
 * newest entry is always kept, however large, so that live dispatch and a resume from the
 * zxid before it stay exact.
 */
import { permits, Perms, type Access, type Acl } from '../core/acl.js';
import type { Stat, TreeEventType, Zxid } from '../core/types.js';
import { assert } from '../util/assert.js';

/** A znode's data and stat as of the end of one zxid (what `withData` sends). */
export interface NodeSnapshot {
  readonly data: Uint8Array;
  readonly stat: Stat;
}

/** One event as the watch layer keeps it: the tree's event plus the znode as of its zxid. */
export interface EventRecord {
  readonly type: TreeEventType;
  readonly path: string;
  /** The znode at the event's path once its zxid applied; undefined when gone, and for NodeDeleted. */
  readonly node: NodeSnapshot | undefined;
  /** Who may see it: READ on this ACL as of the event's zxid (TreeEvent.acl); absent: anyone. */
  readonly acl?: readonly Acl[];
}

/** Whether a watcher acting as `access` may see the event (ZooKeeper's CVE-2024-23944 fix). */
export function maySee(access: Access, ev: EventRecord): boolean {
  return ev.acl === undefined || permits(ev.acl, Perms.READ, access, ev.path);
}

export interface HistoryEntry {
  readonly zxid: Zxid;
  readonly events: readonly EventRecord[];
  readonly bytes: number;
}

export interface HistoryBounds {
  /** Retained entries (zxids with events), at least 1. */
  maxEntries: number;
  /** Estimated bytes of retained entries (paths, data, stats). */
  maxBytes: number;
}

const ENTRY_OVERHEAD = 64;
const EVENT_OVERHEAD = 48;
const SNAPSHOT_OVERHEAD = 160;

/** A rough, monotone estimate of what an entry holds in memory. */
export function entryBytes(events: readonly EventRecord[]): number {
  let n = ENTRY_OVERHEAD;
  for (const e of events) {
    n += EVENT_OVERHEAD + 2 * e.path.length;
    if (e.node !== undefined) n += SNAPSHOT_OVERHEAD + e.node.data.byteLength;
  }
  return n;
}

export class EventHistory {
  private ring: HistoryEntry[] = [];
  private head = 0;
  private _bytes = 0;
  private _base: Zxid;
  private _last: Zxid;

  constructor(
    startZxid: Zxid,
    private readonly bounds: HistoryBounds,
  ) {
    assert(bounds.maxEntries >= 1 && bounds.maxBytes >= 1, 'history bounds must be positive');
    this._base = startZxid;
    this._last = startZxid;
  }

  /** Every event with a zxid above base is retained: the lowest `fromZxid` a resume may use. */
  get base(): Zxid {
    return this._base;
  }

  /** The last zxid recorded (applied). */
  get last(): Zxid {
    return this._last;
  }

  get entries(): number {
    return this.ring.length - this.head;
  }

  get bytes(): number {
    return this._bytes;
  }

  /** Records the next applied zxid; `events` may be empty (a failed op, a noop). */
  record(zxid: Zxid, events: readonly EventRecord[]): HistoryEntry | undefined {
    assert(zxid === this._last + 1, () => `history: zxid ${zxid} after ${this._last}`);
    this._last = zxid;
    // A zxid without events needs no entry: (base, last] still holds every event.
    if (events.length === 0) return undefined;
    const entry: HistoryEntry = { zxid, events, bytes: entryBytes(events) };
    this.ring.push(entry);
    this._bytes += entry.bytes;
    this.trim();
    return entry;
  }

  /** Forgets everything: the history now covers nothing below `zxid` (a jump, e.g. a snapshot install). */
  reset(zxid: Zxid): void {
    this.ring = [];
    this.head = 0;
    this._bytes = 0;
    this._base = zxid;
    this._last = zxid;
  }

  /** Entries with zxid > `fromZxid`, oldest first. The caller checks base <= fromZxid. */
  *since(fromZxid: Zxid): Generator<HistoryEntry> {
    let lo = this.head;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ring[mid]!.zxid <= fromZxid) lo = mid + 1;
      else hi = mid;
    }
    // Snapshot the range: the ring may be appended to (never reordered) while a consumer runs.
    const end = this.ring.length;
    for (let i = lo; i < end; i++) yield this.ring[i]!;
  }

  private trim(): void {
    while (this.entries > 1 && (this.entries > this.bounds.maxEntries || this._bytes > this.bounds.maxBytes)) {
      const dropped = this.ring[this.head]!;
      this.ring[this.head] = undefined as unknown as HistoryEntry;
      this.head++;
      this._bytes -= dropped.bytes;
      this._base = dropped.zxid;
    }
    // Compact the array now and then rather than shift() on every drop.
    if (this.head > 1024 && this.head * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
  }
}
