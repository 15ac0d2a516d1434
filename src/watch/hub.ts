/**
 * The watch hub of one member: it hears every applied entry (in log order, synchronously,
 * as the entry applies), keeps the history ring, fans events out to subscribers through the
 * registry, registers watches atomically with a read of the tree, replays history for a
 * resume, and beats the heartbeat. Transport-free: WebSocket and SSE subscribers plug in.
 *
 * Nothing here assumes a leader: each member fires the watches of its own clients from its
 * own applied log, and zxids are equal on every member, so a client resumes on any member.
 */
import { ZgateError } from '../core/errors.js';
import type { Stat, TreeEvent, Zxid } from '../core/types.js';
import { validatePath } from '../tree/path.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { EventHistory, maySee, type EventRecord, type HistoryBounds, type NodeSnapshot } from './history.js';
import { fires, isOneShot, type WatchKind } from './kinds.js';
import { Subscriber, WatchRegistry, type Delivery, type Watch } from './registry.js';

/** What the hub needs from a member. */
export interface WatchSource {
  readonly appliedZxid: Zxid;
  readonly tree: {
    get(path: string): { data: Uint8Array; stat: Stat } | undefined;
    children(path: string): string[] | undefined;
  };
  onApply(listener: (zxid: Zxid, events: TreeEvent[]) => void): void;
}

export interface WatchHubOptions extends HistoryBounds {
  /** Interval of heartbeats to every subscriber; 0: none. */
  heartbeatMs: number;
  /** Errors thrown by a subscriber (a bug) are reported here, never into the apply loop. */
  onError?: (err: unknown) => void;
  /** The heartbeat's timer; default the system's. */
  clock?: Clock;
}

export interface WatchRequest {
  path: string;
  kind: WatchKind;
  withData: boolean;
  /** Resume: replay retained events with zxid > fromZxid, then go live. */
  fromZxid?: Zxid;
}

/** The answer to a registration: the `watching` reply's content. */
export interface Watching {
  watch: Watch;
  /** Events after this reply have zxid > this (the registration zxid, or fromZxid on a resume). */
  zxid: Zxid;
  /** The watched znode at `zxid` (undefined when missing); not read on a resume. */
  node: NodeSnapshot | undefined;
  /** For the children kind: the sorted child names at `zxid`. */
  children?: string[];
  resumed: boolean;
}

/** Compacted: the events a resume needs are no longer retained. */
export class CompactedError extends ZgateError {
  constructor(
    readonly fromZxid: Zxid,
    readonly compactZxid: Zxid,
  ) {
    super('Compacted', `events after zxid ${fromZxid} are no longer retained: the oldest zxid to resume from is ${compactZxid}; re-read and watch anew`);
    this.name = 'CompactedError';
  }
}

export interface WatchHubStats {
  subscribers: number;
  watches: number;
  historyEntries: number;
  historyBytes: number;
  historyBase: Zxid;
}

export class WatchHub {
  readonly registry = new WatchRegistry();
  private readonly history: EventHistory;
  private readonly subscribers = new Set<Subscriber>();
  private dispatchSeq = 0;
  private readonly touched: Subscriber[] = [];
  private timer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly source: WatchSource,
    private readonly opts: WatchHubOptions,
  ) {
    this.history = new EventHistory(source.appliedZxid, opts);
    source.onApply((zxid, events) => this.applied(zxid, events));
    if (opts.heartbeatMs > 0) {
      this.timer = (opts.clock ?? systemClock).setInterval(() => this.beat(), opts.heartbeatMs);
    }
  }

  get appliedZxid(): Zxid {
    return this.source.appliedZxid;
  }

  /** The lowest fromZxid a resume may use now. */
  get compactZxid(): Zxid {
    this.sync();
    return this.history.base;
  }

  stats(): WatchHubStats {
    return {
      subscribers: this.subscribers.size,
      watches: this.registry.size,
      historyEntries: this.history.entries,
      historyBytes: this.history.bytes,
      historyBase: this.history.base,
    };
  }

  attach(sub: Subscriber): void {
    this.subscribers.add(sub);
  }

  /** Drops a subscriber and frees every watch it holds. */
  detach(sub: Subscriber): void {
    this.subscribers.delete(sub);
    for (const w of [...sub.watches.values()]) this.registry.remove(w);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Registers a watch, synchronously: the tree read (or the history replay) and the
   * registration happen in one turn of the event loop, between two applied entries, so no
   * event falls between them and none is seen twice. `onWatching` is called with the reply
   * before any replayed event is delivered. Throws BadArguments (path, fromZxid ahead of
   * this member), NoNode (`data`/`children` on a missing znode, as getData/getChildren),
   * or CompactedError.
   */
  watch(sub: Subscriber, req: WatchRequest, onWatching: (w: Watching) => void): Watching {
    if (this.closed) throw new ZgateError('Unavailable', 'the member is shutting down');
    validatePath(req.path);
    this.sync();
    const applied = this.source.appliedZxid;
    const watch: Watch = { id: sub.nextWatchId(), kind: req.kind, path: req.path, withData: req.withData, owner: sub };
    if (req.fromZxid === undefined) {
      const got = this.source.tree.get(req.path);
      if (got === undefined && (req.kind === 'data' || req.kind === 'children')) {
        throw new ZgateError('NoNode', `no znode at ${req.path} to watch (kind ${req.kind} needs one; use exists, persistent or persistent_recursive)`, req.path);
      }
      const watching: Watching = { watch, zxid: applied, node: got, resumed: false };
      if (req.kind === 'children' && got !== undefined) watching.children = this.source.tree.children(req.path) ?? [];
      this.registry.add(watch);
      onWatching(watching);
      return watching;
    }
    const from = req.fromZxid;
    if (from > applied) throw new ZgateError('BadArguments', `fromZxid ${from} is ahead of this member's applied zxid ${applied}`);
    if (from < this.history.base) throw new CompactedError(from, this.history.base);
    const watching: Watching = { watch, zxid: from, node: undefined, resumed: true };
    onWatching(watching);
    const oneShot = isOneShot(req.kind);
    const watches: Watch[] = [];
    const indices: number[] = [];
    for (const entry of this.history.since(from)) {
      let spent = false;
      for (let i = 0; i < entry.events.length; i++) {
        const ev = entry.events[i]!;
        if (!fires(req.kind, req.path, ev)) continue;
        // As live: an event the watcher may not read is not delivered, and still spends a one-shot watch.
        if (oneShot) spent = true;
        if (maySee(sub.access, ev)) {
          watches.push(watch);
          indices.push(i);
        }
        if (oneShot) break;
      }
      if (spent && indices.length === 0) return watching;
      if (indices.length === 0) continue;
      sub.deliver({ zxid: entry.zxid, events: entry.events, cache: [], frames: [] }, watches, indices);
      // A one-shot watch fired during the replay is done: it is never registered.
      if (oneShot) return watching;
      watches.length = 0;
      indices.length = 0;
    }
    this.registry.add(watch);
    return watching;
  }

  /** False when the watch is unknown (never existed, fired already, or removed). */
  unwatch(sub: Subscriber, watchId: string): boolean {
    const w = sub.watches.get(watchId);
    return w !== undefined && this.registry.remove(w);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const sub of [...this.subscribers]) this.detach(sub);
  }

  /** One heartbeat now (also what the timer calls). */
  beat(): void {
    if (this.closed) return;
    this.sync();
    const zxid = this.source.appliedZxid;
    const frame = `{"type":"heartbeat","zxid":"${zxid}"}`;
    for (const sub of [...this.subscribers]) this.guard(() => sub.heartbeat(zxid, frame));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.opts.onError?.(e);
    }
  }

  /**
   * If the member's applied zxid moved without us (a snapshot installed), the history and
   * every live watch have a hole: forget the history and tell each watch it is compacted.
   */
  private sync(): void {
    const applied = this.source.appliedZxid;
    if (applied !== this.history.last) this.jump(applied);
  }

  private jump(zxid: Zxid): void {
    this.history.reset(zxid);
    for (const sub of [...this.subscribers]) {
      for (const w of [...sub.watches.values()]) {
        this.registry.remove(w);
        this.guard(() => sub.compacted(w, zxid));
      }
    }
  }

  private applied(zxid: Zxid, events: readonly TreeEvent[]): void {
    if (this.closed) return;
    try {
      if (zxid !== this.history.last + 1) this.jump(zxid - 1);
      if (events.length === 0) {
        this.history.record(zxid, []);
        return;
      }
      const records = this.capture(events);
      this.history.record(zxid, records);
      if (this.registry.size > 0) this.dispatch({ zxid, events: records, cache: [], frames: [] });
    } catch (e) {
      this.opts.onError?.(e);
    }
  }

  /** Each event with its znode as of this zxid (read now: listeners run as the entry applies). */
  private capture(events: readonly TreeEvent[]): EventRecord[] {
    const tree = this.source.tree;
    const records: EventRecord[] = new Array(events.length);
    let seen: Map<string, NodeSnapshot | undefined> | undefined;
    for (let i = 0; i < events.length; i++) {
      const { type, path } = events[i]!;
      let node: NodeSnapshot | undefined;
      if (type !== 'NodeDeleted') {
        if (events.length === 1) node = tree.get(path);
        else {
          seen ??= new Map();
          if (seen.has(path)) node = seen.get(path);
          else seen.set(path, (node = tree.get(path)));
        }
      }
      const acl = events[i]!.acl;
      records[i] = acl === undefined ? { type, path, node } : { type, path, node, acl };
    }
    return records;
  }

  private dispatch(delivery: Delivery): void {
    const seq = ++this.dispatchSeq;
    const touched = this.touched;
    const events = delivery.events;
    this.registry.collect(events, (w, i) => {
      const sub = w.owner;
      // Filtered after collect(), which already spent a one-shot watch: ZooKeeper's rule.
      if (!maySee(sub.access, events[i]!)) return;
      if (sub.mark !== seq) {
        sub.mark = seq;
        sub.hitWatches.length = 0;
        sub.hitEvents.length = 0;
        touched.push(sub);
      }
      sub.hitWatches.push(w);
      sub.hitEvents.push(i);
    });
    for (let k = 0; k < touched.length; k++) {
      const sub = touched[k]!;
      this.guard(() => sub.deliver(delivery, sub.hitWatches, sub.hitEvents));
    }
    touched.length = 0;
  }
}
