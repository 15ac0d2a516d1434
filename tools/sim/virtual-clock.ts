/**
 * Virtual time for the simulator: one scheduler of timers ordered by (time, sequence), and
 * a Clock (src/util/clock.ts) per simulated process over it. Nothing runs on its own: the
 * simulation takes the next timer (runNext), runs it, and drains the microtasks it caused
 * before the next one, so that a run is a function of its seed.
 *
 * A process's clock may run fast or slow (drift: `rate`), and a process that crashes takes
 * its timers with it (kill): none of them fires again, and a yieldTurn() of it never resolves.
 */
import type { Clock, TimerHandle } from '../../src/util/clock.js';

/** A simulated process: the owner of timers, which die with it. */
export class TimerOwner {
  alive = true;
  constructor(
    readonly name: string,
    /** How fast this process's clock runs relative to virtual time (1: exact). */
    readonly rate = 1,
    /** Virtual time at which this clock started (its monotonic origin). */
    readonly startedAt = 0,
  ) {}
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  owner: TimerOwner | undefined;
  /** Which member the timer concerns, when it is the simulation's own (a frame arriving). */
  note: number | undefined;
  cancelled: boolean;
}

/** The timer just run: its owner (undefined: the simulation's) and note. */
export interface Ran {
  owner: TimerOwner | undefined;
  note: number | undefined;
}

function before(x: Timer, y: Timer): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/** A binary min-heap of timers by (time, sequence). */
class TimerHeap {
  private readonly a: Timer[] = [];

  get size(): number {
    return this.a.length;
  }

  peek(): Timer | undefined {
    return this.a[0];
  }

  push(x: Timer): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(a[p]!, a[i]!)) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }

  pop(): Timer | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && before(a[l]!, a[m]!)) m = l;
      if (r < a.length && before(a[r]!, a[m]!)) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i]!, a[m]!];
      i = m;
    }
    return top;
  }
}

/** Wall-clock origin of virtual time (an arbitrary date: request ids are derived from it). */
const EPOCH_MS = 1_800_000_000_000;

export class VirtualTime {
  private readonly heap = new TimerHeap();
  private seq = 0;
  private _now = 0;
  /** The owner of the simulation's own clock (never killed). */
  readonly simOwner = new TimerOwner('sim');

  /** Virtual milliseconds since the start of the run. */
  get now(): number {
    return this._now;
  }

  /** Schedules `fn` at virtual time `at` (not before now), for `owner` (undefined: the simulation itself). */
  at(at: number, fn: () => void, owner?: TimerOwner, note?: number): TimerHandle {
    const t: Timer = { at: Math.max(at, this._now), seq: this.seq++, fn, owner: owner === this.simOwner ? undefined : owner, note, cancelled: false };
    this.heap.push(t);
    return { cancel: () => (t.cancelled = true) };
  }

  /** The time of the next live timer, or undefined. */
  peek(): number | undefined {
    for (;;) {
      const t = this.heap.peek();
      if (t === undefined) return undefined;
      if (!t.cancelled && (t.owner === undefined || t.owner.alive)) return t.at;
      this.heap.pop();
    }
  }

  /** Runs the next live timer due before `limit`; undefined if none is due. */
  runNext(limit: number): Ran | undefined {
    const at = this.peek();
    if (at === undefined || at >= limit) return undefined;
    const t = this.heap.pop()!;
    this._now = t.at;
    t.fn();
    return t;
  }

  /** Moves time forward to `t` (no timer is due before it). */
  advanceTo(t: number): void {
    if (t > this._now) this._now = t;
  }

  /** Every timer of `owner` dies with it. */
  kill(owner: TimerOwner): void {
    owner.alive = false;
  }

  clock(owner: TimerOwner): Clock {
    const toVirtual = (ms: number): number => Math.max(0, ms) / owner.rate;
    const mono = (): number => (this._now - owner.startedAt) * owner.rate;
    return {
      // Wall clocks agree (as with NTP); a process's monotonic clock and its timers drift.
      nowMs: () => EPOCH_MS + this._now,
      monoMs: mono,
      setTimeout: (fn, ms) => this.at(this._now + toVirtual(ms), fn, owner),
      setInterval: (fn, ms) => {
        const period = Math.max(toVirtual(ms), 1);
        let handle: TimerHandle;
        const fire = (): void => {
          handle = this.at(this._now + period, fire, owner);
          fn();
        };
        handle = this.at(this._now + period, fire, owner);
        return { cancel: () => handle.cancel() };
      },
      yieldTurn: () => new Promise<void>((resolve) => this.at(this._now, resolve, owner)),
    };
  }
}
