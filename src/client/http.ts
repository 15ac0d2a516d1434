/**
 * HTTP requests with failover. One call is tried on the current member and, when that member
 * is down (connection refused or reset, no answer within the attempt timeout) or answers 503
 * Unavailable, again on the next member, a bounded number of times within an overall
 * deadline. Only requests that are safe to repeat are retried: reads, and writes that carry
 * an Idempotency-Key (README "Idempotent retries"), which a member applies at most once
 * whichever member the retry reaches.
 *
 * The client also keeps the highest zxid it has seen (Zgate-Zxid of every answer, and the
 * socket's frames) so that reads can ask a member for at least that state (`minZxid`): a
 * client that fails over never reads older data than it has already seen, as ZooKeeper's
 * client never connects to a server behind it.
 */
import type { ErrorBody, ErrorJson } from '../wire/errors.js';
import { ZgateError } from './errors.js';
import { zxidNum } from './codec.js';

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** Path and query, e.g. `/v1/znodes/a?version=3`. */
  url: string;
  body?: Uint8Array | string;
  headers?: Record<string, string>;
  /** Safe to send again to another member (a read, or a write with an Idempotency-Key). */
  retry: boolean;
  /** The znode the call is about, for errors the client makes. */
  znodePath?: string;
  /** What the call is, for messages (`get /a`). */
  what: string;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  body: unknown;
  member: string;
}

export interface MembersOptions {
  requestTimeoutMs: number;
  attemptTimeoutMs: number;
  maxAttempts: number;
  fetch: typeof fetch;
  /** Sent with every request (the client's Authorization). */
  headers?: Record<string, string>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** 16 random bytes as hex: unguessable enough that two clients never share a key. */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** The members a client talks to, which one it prefers now, and the highest zxid it has seen. */
export class Members {
  private current: number;
  private seenZxid = 0;

  constructor(
    readonly urls: readonly string[],
    private readonly opts: MembersOptions,
    inOrder: boolean,
  ) {
    this.current = inOrder ? 0 : Math.floor(Math.random() * urls.length);
  }

  /** The member to try now. */
  get preferred(): string {
    return this.urls[this.current]!;
  }

  /** Moves on from `url` (if it is still the preferred one) to the next member. */
  failed(url: string): void {
    if (this.urls[this.current] === url) this.current = (this.current + 1) % this.urls.length;
  }

  get lastZxid(): number {
    return this.seenZxid;
  }

  observeZxid(z: string | number | null | undefined): void {
    const n = zxidNum(z);
    if (n > this.seenZxid) this.seenZxid = n;
  }

  /** One call, with failover; throws ZgateError for an error answer or when every attempt failed. */
  async request(req: HttpRequest, deadlineMs = this.opts.requestTimeoutMs): Promise<HttpAnswer> {
    const started = Date.now();
    const deadline = started + deadlineMs;
    const attempts = req.retry ? this.opts.maxAttempts : 1;
    let last: ZgateError | undefined;
    let tried = 0;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0 && attempt % this.urls.length === 0) {
        // A whole round failed (an election, say): wait a little before the next round.
        const round = attempt / this.urls.length;
        const pause = Math.min(1000, 100 * 2 ** (round - 1)) * (0.5 + Math.random() / 2);
        if (Date.now() + pause >= deadline) break;
        await sleep(pause);
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      const member = this.preferred;
      tried++;
      const outcome = await this.attempt(member, req, Math.min(this.opts.attemptTimeoutMs, left));
      if (outcome instanceof ZgateError) {
        last = outcome;
        this.failed(member);
        continue;
      }
      if (outcome.status === 503) {
        last = errorOf(outcome, req);
        this.failed(member);
        continue;
      }
      if (outcome.status >= 400) throw errorOf(outcome, req);
      return outcome;
    }
    if (last !== undefined && last.code !== 'ConnectionLoss') throw last;
    const why = last === undefined ? 'no attempt fitted in the deadline' : `last: ${last.message}`;
    throw new ZgateError('ConnectionLoss', `${req.what}: no member answered (${tried} attempts in ${Date.now() - started} ms; ${why})`, {
      ...(req.znodePath === undefined ? {} : { path: req.znodePath }),
      ...(last?.member === undefined ? {} : { member: last.member }),
      cause: last,
    });
  }

  /** One try on one member: its answer, or a ConnectionLoss error when it did not answer. */
  private async attempt(member: string, req: HttpRequest, timeoutMs: number): Promise<HttpAnswer | ZgateError> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), timeoutMs);
    try {
      const init: RequestInit = { method: req.method, signal: ac.signal, headers: { ...this.opts.headers, ...req.headers } };
      // A Uint8Array is a BodyInit on every platform; the DOM typings only disagree on its buffer type.
      if (req.body !== undefined) init.body = req.body as BodyInit;
      const res = await this.opts.fetch(member + req.url, init);
      const text = req.method === 'HEAD' ? '' : await res.text();
      this.observeZxid(res.headers.get('zgate-zxid'));
      let body: unknown;
      if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) {
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
      }
      return { status: res.status, headers: res.headers, body, member };
    } catch (e) {
      const why = ac.signal.aborted ? `no answer within ${timeoutMs} ms` : describeFetchError(e);
      return new ZgateError('ConnectionLoss', `${req.what}: ${member}: ${why}`, { member, cause: e, ...(req.znodePath === undefined ? {} : { path: req.znodePath }) });
    } finally {
      clearTimeout(timer);
    }
  }
}

function describeFetchError(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  const cause = err.cause?.code ?? err.cause?.message;
  return cause === undefined ? String(err.message ?? e) : `${err.message ?? 'fetch failed'} (${cause})`;
}

/** The code of an answer without api.md's envelope (a proxy's, say). */
const STATUS_CODES: Record<number, string> = { 401: 'AuthFailed', 403: 'NoAuth', 404: 'NoNode', 429: 'Throttled', 503: 'Unavailable' };

/** The ZgateError of an error answer (api.md's envelope), with the member that gave it. */
export function errorOf(a: HttpAnswer, req: HttpRequest): ZgateError {
  // Any field of the envelope may be missing (an answer that is not a member's, say).
  const env = (a.body ?? {}) as Partial<ErrorBody>;
  const err: Partial<ErrorJson> = env.error ?? {};
  const code = err.code ?? STATUS_CODES[a.status] ?? 'SystemError';
  const message = err.message ?? `HTTP ${a.status}`;
  const path = err.path ?? req.znodePath;
  const zxid = a.headers.get('zgate-zxid');
  const retryAfter = Number(a.headers.get('retry-after') ?? NaN);
  return new ZgateError(code, `${req.what}: ${message}`, {
    ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}),
    status: a.status,
    member: a.member,
    ...(path === undefined ? {} : { path }),
    ...(err.opIndex === undefined ? {} : { opIndex: err.opIndex }),
    ...(env.results === undefined ? {} : { results: env.results }),
    ...(zxid === null ? {} : { zxid }),
  });
}
