/** What the faces (HTTP, WebSocket, SSE) are given: the coordination service and their own settings. */
import type { CoordinationService } from '../../coordination/service.js';
import type { AuditLog } from '../../coordination/audit.js';

/**
 * How this member's peer links are protected (/readyz `peerTransport`): `tls` mutual TLS,
 * `loopback` plain TCP between loopback addresses only, `insecure` plain TCP that other machines
 * can reach. Absent for a member alone.
 */
export type PeerTransport = 'tls' | 'loopback' | 'insecure';

export interface ApiConfig {
  /** Origins allowed by CORS; empty: no CORS headers at all. */
  corsOrigins: string[];
  /** Heartbeat interval of WebSocket and SSE watchers, ms (0: none); a silent WebSocket is dropped after 3 of them (30 s at least). */
  heartbeatMs: number;
  /** Send queue bound of one WebSocket or SSE stream, bytes; past it the reader is too slow (4008). */
  watchQueueBytes: number;
  peerTransport?: PeerTransport;
  /** Peers (addresses or CIDR ranges) whose X-Forwarded-For is believed. */
  trustProxy: string[];
  /** Under --auth-required, how long a WebSocket may go without an identity before it is closed (4401), ms; default 10,000. */
  authGraceMs?: number;
}

export const defaultApiConfig: ApiConfig = {
  corsOrigins: [],
  heartbeatMs: 10_000,
  watchQueueBytes: 4 * 1024 * 1024,
  trustProxy: [],
};

export interface ApiContext {
  service: CoordinationService;
  config: ApiConfig;
  /** Failed authentications per address (429 past the rate); absent: none counted. */
  throttle?: { failed(addr: string): void; retryAfterMs(addr: string): number };
  /** Where 401s and 403s are recorded; absent: nowhere. */
  audit?: AuditLog;
}

/** Where an HTTP client takes the session an ephemeral create needs. */
export const HTTP_SESSION_HINT = 'send the Zgate-Session header (POST /v1/sessions creates one)';
