/** What the WebSocket and SSE subscribers of one app share. */
import type { CoordinationService } from '../../coordination/service.js';
import type { ApiConfig, ApiContext } from '../http/context.js';

/** Plain counters, read by the Prometheus collectors (cheaper than labelled inc() per event). */
export interface WatchCounters {
  wsOpen: number;
  sseOpen: number;
  wsEvents: number;
  sseEvents: number;
  wsSlowCloses: number;
  sseSlowCloses: number;
}

export function newCounters(): WatchCounters {
  return { wsOpen: 0, sseOpen: 0, wsEvents: 0, sseEvents: 0, wsSlowCloses: 0, sseSlowCloses: 0 };
}

export interface Closable {
  shutdown(code: number, reason: string): void;
  readonly isClosed: boolean;
}

/** A connection that authenticated with a token: it ends when the token is revoked or expires. */
export interface TokenBound {
  tokenGone(): void;
}

/** The connections of one app by the token they authenticated with (its accessor). */
export class TokenHolders {
  private readonly byAccessor = new Map<string, Set<TokenBound>>();

  track(accessor: string, c: TokenBound): void {
    let set = this.byAccessor.get(accessor);
    if (set === undefined) this.byAccessor.set(accessor, (set = new Set()));
    set.add(c);
  }

  untrack(accessor: string, c: TokenBound): void {
    const set = this.byAccessor.get(accessor);
    if (set === undefined) return;
    set.delete(c);
    if (set.size === 0) this.byAccessor.delete(accessor);
  }

  /** Ends every connection that used the token. Called from the member's apply loop: never throws (`onError` hears why). */
  gone(accessor: string, onError: (err: unknown) => void): void {
    const set = this.byAccessor.get(accessor);
    if (set === undefined) return;
    this.byAccessor.delete(accessor);
    for (const c of set) {
      try {
        c.tokenGone();
      } catch (e) {
        onError(e);
      }
    }
  }

  get size(): number {
    return this.byAccessor.size;
  }
}

/** How long a socket under --auth-required may stay without an identity (api.md: 10 s). */
export const DEFAULT_AUTH_GRACE_MS = 10_000;

export interface WatchEnv {
  service: CoordinationService;
  config: ApiConfig;
  /** The face's context: identify() and the failed-auth throttle. */
  ctx: ApiContext;
  /** Connections by the token they authenticated with, closed when it is revoked or expires. */
  tokens: TokenHolders;
  /** Under --auth-required, how long a socket may go without an `auth`, ms. */
  authGraceMs: number;
  counters: WatchCounters;
  /** Open WebSockets and SSE streams, for shutdown. */
  sockets: Set<Closable>;
  /** Largest request frame answered with an error rather than a close. */
  maxFrameBytes: number;
  /** Async requests in flight per socket. */
  maxInflight: number;
  maxWatchesPerSocket: number;
  /** How long a socket closed by the server may take to finish the close handshake. */
  closeGraceMs: number;
  /** A WebSocket silent this long (no pong, no frame) is dropped. */
  livenessMs: number;
  log(err: unknown): void;
}
