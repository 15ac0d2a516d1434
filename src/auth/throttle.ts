/**
 * The failed-authentication throttle (api.md "Errors (additions)", `Throttled`): an address
 * with more than `rate` failed authentications in any window of `windowMs` is refused (429,
 * `Retry-After`) until that window has passed. Only failures count: a client that
 * authenticates correctly is never slowed, however busy.
 *
 * An exact sliding window in bounded memory: per address, the times of its last `rate + 1`
 * failures, in a ring. The address is throttled while the oldest of them is younger than the
 * window, i.e. while `rate + 1` failures fit in it; it is free again when that one ages out.
 * While throttled a request is refused before it authenticates, so refusals add no failures.
 *
 * At most `maxAddresses` are remembered; past that the address that failed least recently is
 * forgotten (a flood of distinct addresses costs bounded memory, and what it buys is that
 * the longest-quiet address starts afresh). Time is the injected clock's monotonic time.
 */
import type { Clock } from '../util/clock.js';

export interface AuthThrottleOptions {
  /** Failures an address may have in one window; more are throttled (`--auth-rate`, default 10). */
  rate: number;
  /** The window, ms (default 1000: `rate` is per second). */
  windowMs?: number;
  /** How many addresses are tracked at most (default 10,000). */
  maxAddresses?: number;
}

export const DEFAULT_AUTH_RATE = 10;
export const DEFAULT_MAX_ADDRESSES = 10_000;

/** The failures of one address: a ring of the last `rate + 1` times, oldest at `next` once full. */
interface Failures {
  times: number[];
  next: number;
}

export class AuthThrottle {
  private readonly rate: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  /** In order of last failure, least recent first (re-inserted on every failure). */
  private readonly byAddress = new Map<string, Failures>();

  constructor(
    private readonly clock: Pick<Clock, 'monoMs'>,
    options: AuthThrottleOptions,
  ) {
    const { rate, windowMs = 1000, maxAddresses = DEFAULT_MAX_ADDRESSES } = options;
    for (const [name, v] of [['rate', rate], ['windowMs', windowMs], ['maxAddresses', maxAddresses]] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`auth throttle: ${name} must be a positive integer, got ${v}`);
    }
    this.rate = rate;
    this.windowMs = windowMs;
    this.maxAddresses = maxAddresses;
  }

  /** How many addresses are remembered. */
  get size(): number {
    return this.byAddress.size;
  }

  /** Records a failed authentication from `addr`. */
  failed(addr: string): void {
    const now = this.clock.monoMs();
    let f = this.byAddress.get(addr);
    if (f === undefined) {
      if (this.byAddress.size >= this.maxAddresses) this.byAddress.delete(this.byAddress.keys().next().value!);
      f = { times: [], next: 0 };
    } else {
      this.byAddress.delete(addr);
    }
    this.byAddress.set(addr, f);
    if (f.times.length <= this.rate) f.times.push(now);
    else {
      f.times[f.next] = now;
      f.next = (f.next + 1) % f.times.length;
    }
  }

  /** 0 when `addr` may try now; otherwise how long until it may, in ms. */
  retryAfterMs(addr: string): number {
    const f = this.byAddress.get(addr);
    if (f === undefined || f.times.length <= this.rate) return 0;
    const wait = f.times[f.next]! + this.windowMs - this.clock.monoMs();
    if (wait > 0) return Math.ceil(wait);
    // Once even the newest failure is out of the window nothing about the address matters
    // any more: forgetting it keeps quiet addresses out of the map.
    const newest = f.times[(f.next + f.times.length - 1) % f.times.length]!;
    if (newest + this.windowMs <= this.clock.monoMs()) this.byAddress.delete(addr);
    return 0;
  }
}

/** The `Retry-After` header's value for a wait: whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
