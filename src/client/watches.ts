/**
 * The three kinds of watch the client offers, each a handler of a persistent watch on the
 * socket (socket.ts resumes them across reconnects):
 *
 * - DataWatcher (kazoo's DataWatch): the function gets the znode's data and stat (null, null
 *   while it does not exist) at once, then after every change, from the events' own data.
 * - ChildrenWatcher (kazoo's ChildrenWatch): the function gets the sorted child names (null
 *   while the znode does not exist) at once, then after every change of them. Events do not
 *   carry child lists, so each change is followed by a read at least as new as the event
 *   (`minZxid`); reads are serialized and a read that already covers later events stands for
 *   them, so the function sees every distinct state that a read observed, in order.
 * - WatchStream: the raw events as an async iterator, with a Resync marker where the member
 *   could not replay what was missed.
 *
 * A function returning `false` stops its watch, as in kazoo.
 */
import type { EventFrame, WatchStateJson } from '../wire/frames.js';
import { wireData, statOf, zxidNum } from './codec.js';
import type { ZgateError } from './errors.js';
import type { WatchHandler } from './socket.js';
import type { ChangeEvent, Stat, WatchEvent } from './types.js';

export type Stop = () => void;

/** kazoo's DataWatch function: data and stat, or (null, null) while the znode does not exist. */
export type DataWatchFn<D extends string | Uint8Array = string> = (data: D | null, stat: Stat | null, event: ChangeEvent<D> | undefined) => unknown;

/** kazoo's ChildrenWatch function: the sorted child names, or null while the znode does not exist. */
export type ChildrenWatchFn = (children: string[] | null, stat: Stat | null) => unknown;

export interface WatchHost {
  /** Stops the socket-level watch. */
  unwatch(): void;
  reportError(e: unknown): void;
}

function changeEvent<D extends string | Uint8Array>(e: EventFrame, binary: boolean): ChangeEvent<D> {
  const ev: ChangeEvent<D> = { type: e.event, path: e.path, zxid: e.zxid };
  if (e.data !== undefined && e.stat !== undefined) {
    ev.data = wireData(e.data, e.encoding, binary) as D;
    ev.stat = statOf(e.stat);
  }
  return ev;
}

export class DataWatcher<D extends string | Uint8Array> implements WatchHandler {
  host!: WatchHost;
  private stopped = false;
  /** mzxid of what the function last saw ('' = no znode), so a resync does not repeat it. */
  private lastSeen: string | undefined;

  constructor(
    private readonly path: string,
    private readonly fn: DataWatchFn<D>,
    private readonly binary: boolean,
  ) {}

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.host.unwatch();
  }

  armed(state: WatchStateJson | null, _zxid: string): void {
    if (state === null) return this.call(null, null, undefined, '');
    const stat = statOf(state.stat);
    this.call(wireData(state.data, state.encoding, this.binary) as D, stat, undefined, stat.mzxid);
  }

  event(e: EventFrame): void {
    if (e.path !== this.path) return;
    if (e.event === 'NodeDeleted') return this.call(null, null, changeEvent<D>(e, this.binary), '');
    if (e.event !== 'NodeCreated' && e.event !== 'NodeDataChanged') return;
    // No data: a later op of the same txn deleted the znode again; its NodeDeleted follows.
    if (e.data === undefined || e.stat === undefined) return;
    const ev = changeEvent<D>(e, this.binary);
    this.call(ev.data!, ev.stat!, ev, ev.stat!.mzxid);
  }

  resync(): void {
    // armed() follows with the current state; lastSeen keeps it from repeating an unchanged one.
  }

  failed(error: ZgateError): void {
    this.stopped = true;
    this.host.reportError(error);
  }

  private call(data: D | null, stat: Stat | null, event: ChangeEvent<D> | undefined, seen: string): void {
    if (this.stopped) return;
    if (event === undefined && this.lastSeen === seen) return;
    this.lastSeen = seen;
    let r: unknown;
    try {
      r = this.fn(data, stat, event);
    } catch (e) {
      this.host.reportError(e);
    }
    if (r === false) this.stop();
  }
}

/** What a children read answers: the names, the stat, and the zxid it was read at. */
export interface ChildrenRead {
  children: string[] | null;
  stat: Stat | null;
  zxid: number;
}

export class ChildrenWatcher implements WatchHandler {
  host!: WatchHost;
  private stopped = false;
  private wanted = 0;
  private covered = -1;
  private reading: Promise<void> | undefined;
  private lastKey: string | undefined;
  private firstDone = false;
  /** Resolves when the first state has been handed to the function. */
  readonly first: Promise<void>;
  private resolveFirst!: () => void;
  private rejectFirst!: (e: unknown) => void;

  constructor(
    private readonly path: string,
    private readonly fn: ChildrenWatchFn,
    private readonly read: (path: string, minZxid: number) => Promise<ChildrenRead>,
    private readonly isClosed: () => boolean,
  ) {
    this.first = new Promise((resolve, reject) => {
      this.resolveFirst = resolve;
      this.rejectFirst = reject;
    });
    this.first.catch(() => undefined);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.host.unwatch();
    this.resolveFirst();
  }

  armed(_state: WatchStateJson | null, zxid: string): void {
    this.need(zxidNum(zxid));
  }

  event(e: EventFrame): void {
    if (e.path !== this.path) return;
    if (e.event === 'NodeChildrenChanged' || e.event === 'NodeCreated' || e.event === 'NodeDeleted') this.need(zxidNum(e.zxid));
  }

  resync(): void {
    // armed() follows and reads anew.
  }

  failed(error: ZgateError): void {
    this.stopped = true;
    this.rejectFirst(error);
    this.host.reportError(error);
  }

  settled(): Promise<void> {
    return this.reading ?? Promise.resolve();
  }

  private need(zxid: number): void {
    if (zxid > this.wanted) this.wanted = zxid;
    this.reading ??= this.loop().finally(() => (this.reading = undefined));
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped && this.wanted > this.covered) {
      const target = this.wanted;
      let r: ChildrenRead;
      try {
        r = await this.read(this.path, target);
      } catch (e) {
        if (this.isClosed()) return;
        if (!this.firstDone) {
          // The first state could not be read: that is the caller's error, not a retry.
          this.rejectFirst(e);
          this.stop();
          return;
        }
        // Members unreachable for a whole call: try again, slower each time.
        failures++;
        if (failures === 1) this.host.reportError(e);
        await new Promise((res) => setTimeout(res, Math.min(2000, 100 * failures)));
        continue;
      }
      failures = 0;
      this.covered = Math.max(target, r.zxid);
      const key = r.stat === null ? '' : `${r.stat.czxid}:${r.stat.cversion}`;
      if (this.stopped || key === this.lastKey) continue;
      this.lastKey = key;
      let ret: unknown;
      try {
        ret = this.fn(r.children, r.stat);
      } catch (e) {
        this.host.reportError(e);
      }
      this.firstDone = true;
      this.resolveFirst();
      if (ret === false) this.stop();
    }
  }
}

/** `watch(path)`: the events as an async iterator. */
export class WatchStream<D extends string | Uint8Array = string> implements AsyncIterableIterator<WatchEvent<D>>, WatchHandler {
  host!: WatchHost;
  /** Resolves once the watch is registered: every later change is in the stream. */
  ready!: Promise<void>;
  private readonly queue: WatchEvent<D>[] = [];
  private waiter: ((r: IteratorResult<WatchEvent<D>>) => void) | undefined;
  private failWaiter: ((e: unknown) => void) | undefined;
  private done = false;
  private error: unknown;
  private resyncing = false;

  constructor(
    private readonly path: string,
    private readonly binary: boolean,
    private readonly maxBuffered: number,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchEvent<D>> {
    return this;
  }

  next(): Promise<IteratorResult<WatchEvent<D>>> {
    const item = this.queue.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  return(): Promise<IteratorResult<WatchEvent<D>>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Ends the stream: pending and later next() calls answer done. */
  stop(): void {
    if (this.done) return;
    this.done = true;
    this.queue.length = 0;
    this.host.unwatch();
    const w = this.waiter;
    this.waiter = this.failWaiter = undefined;
    w?.({ value: undefined, done: true });
  }

  armed(_state: WatchStateJson | null, zxid: string): void {
    if (!this.resyncing) return;
    this.resyncing = false;
    this.push({ type: 'Resync', path: this.path, zxid, reason: 'compacted' });
  }

  event(e: EventFrame): void {
    this.push(changeEvent<D>(e, this.binary));
  }

  resync(): void {
    this.resyncing = true;
  }

  failed(error: ZgateError): void {
    if (this.done) return;
    this.error = error;
    this.done = true;
    const w = this.failWaiter;
    this.waiter = this.failWaiter = undefined;
    w?.(error);
  }

  private push(ev: WatchEvent<D>): void {
    if (this.done) return;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = this.failWaiter = undefined;
      w({ value: ev, done: false });
      return;
    }
    if (this.queue.length >= this.maxBuffered) {
      // The consumer is too slow: drop what it has not read and tell it so.
      this.queue.length = 0;
      this.queue.push({ type: 'Resync', path: this.path, zxid: ev.zxid, reason: 'overflow' });
      return;
    }
    this.queue.push(ev);
  }
}
