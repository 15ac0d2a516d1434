/** What the recipes share: sequence order of sequential children, and waiting on a watch. */
import type { ZgateClient } from '../client.js';
import { ZgateError } from '../errors.js';
import type { Stat } from '../types.js';

/** A sequential child's counter: the ten digits ZooKeeper appends (api.md "Operations"). */
export function sequenceOf(name: string): number {
  return Number.parseInt(name.slice(-10), 10);
}

/** Sequential children in creation order (the counter, then the name for a tie). */
export function bySequence(a: string, b: string): number {
  return sequenceOf(a) - sequenceOf(b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Waits until a watch started by `start` reports its condition (it calls `hit`, and its
 * function returns false to stop), until the deadline (false), until `signal` aborts (false),
 * or until the client's session is lost (false, when `endOnLost`). True once the condition
 * holds. `start` resolves with the watch's stopper, as dataWatch and childrenWatch do.
 */
export function waitUntil(
  client: ZgateClient,
  start: (hit: () => void) => Promise<() => void>,
  opts: { deadline?: number; signal?: AbortSignal | undefined; endOnLost?: boolean },
): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    let done = false;
    let stop: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = opts.endOnLost === true ? client.onStateChange((s) => (s === 'lost' || s === 'closed') && finish(false)) : undefined;
    const onAbort = (): void => finish(false);
    function finish(result: boolean, error?: unknown): void {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      unsubscribe?.();
      stop?.();
      if (error !== undefined) reject(error);
      else resolve(result);
    }
    if (opts.signal?.aborted === true) return finish(false);
    opts.signal?.addEventListener('abort', onAbort);
    if (opts.deadline !== undefined && Number.isFinite(opts.deadline)) timer = setTimeout(() => finish(false), Math.max(0, opts.deadline - Date.now()));
    start(() => finish(true))
      .then((s) => {
        stop = s;
        if (done) s();
      })
      .catch((e: unknown) => finish(false, e));
  });
}

/** waitUntil `test(stat)` holds for the znode at `path` (watched with dataWatch). */
export function waitForStat(
  client: ZgateClient,
  path: string,
  test: (stat: Stat | null) => boolean,
  opts: { deadline?: number; signal?: AbortSignal | undefined; endOnLost?: boolean },
): Promise<boolean> {
  return waitUntil(
    client,
    (hit) =>
      client.dataWatch(path, (_data, stat) => {
        if (!test(stat)) return undefined;
        hit();
        return false;
      }),
    opts,
  );
}

/** A deadline from an optional timeout. */
export function deadlineOf(timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
}

export function lostError(what: string, path: string): ZgateError {
  return new ZgateError('SessionExpired', `${what}: the client's session expired, and its ephemeral znode ${path} with it`, { path });
}
