/** What the WebSocket and SSE subscribers of one app share. */
import type { CoordinationService } from '../../coordination/service.js';
import type { ApiConfig } from '../http/context.js';

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

export interface WatchEnv {
  service: CoordinationService;
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
  log(err: unknown): void;
}
