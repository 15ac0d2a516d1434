/** What the WebSocket and SSE subscribers of one app share. */
import type { SessionId, Zxid } from '../../core/types.js';
import type { WatchHub } from '../../watch/index.js';
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

/**
 * The hook the sessions issue fills: binds a socket to a session (a given one, or a new one
 * without an id), keeps it alive while the socket is open, and `release()`s it when the
 * socket closes. Until then `session` requests answer Unimplemented.
 */
export interface SocketSessions {
  /** `onLeaderLost`: this member has known no leader for long enough that the socket should go to another member. */
  bind(sessionId: SessionId | undefined, timeoutMs: number | undefined, onLeaderLost?: () => void): Promise<{ sessionId: SessionId; timeoutMs: number; release(): void }>;
}

export interface Closable {
  shutdown(code: number, reason: string): void;
  readonly isClosed: boolean;
}

export interface WatchEnv {
  hub: WatchHub;
  ctx: ApiContext;
  config: ApiConfig;
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
  sessions?: SocketSessions;
  /** Resolves once this member can serve a resume from `fromZxid` (it has applied it). */
  awaitResumable(fromZxid: Zxid): Promise<void>;
  log(err: unknown): void;
}
