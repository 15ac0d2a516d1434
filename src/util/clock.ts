/**
 * Time as the runtime sees it: the one interface through which the node loop, the member and
 * the session service read clocks and set timers, so that a simulation can run them on
 * virtual time (tools/sim) and tests can step them, while production uses the system's.
 */

/** A scheduled callback; cancel() is idempotent and safe after it fired. */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch: stamped into log entries by the proposer. */
  nowMs(): number;
  /** Monotonic milliseconds (arbitrary origin), for durations and deadlines. */
  monoMs(): number;
  /** Calls `fn` once after `ms`. The timer never keeps the process alive by itself. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Calls `fn` every `ms` until cancelled. Never keeps the process alive by itself. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Resolves on a later turn of the event loop (after pending I/O), to slice long work. */
  yieldTurn(): Promise<void>;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monoMs: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  yieldTurn: () => new Promise<void>((resolve) => setImmediate(resolve)),
};
