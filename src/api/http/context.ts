/** What the HTTP layer needs from the member, and its configuration. */
import { ZgateError } from '../../core/errors.js';
import { isEphemeral, type CreateMode, type SessionId } from '../../core/types.js';
import type { Member } from '../../node/member.js';
import type { SessionService } from '../../node/session-service.js';

export interface ApiConfig {
  /** Largest znode data (and total txn data), bytes. */
  maxDataBytes: number;
  /** Largest subtree a recursive delete may remove. */
  maxDeleteNodes: number;
  /** How long ?minZxid= and linearizable reads wait before Unavailable. */
  minZxidWaitMs: number;
  /** Origins allowed by CORS; empty: no CORS headers at all. */
  corsOrigins: string[];
  /** Watch history (resume by fromZxid / Last-Event-ID): retained zxids that have events. */
  watchHistoryEntries: number;
  /** Watch history: estimated bytes retained (paths, data and stats as of each event). */
  watchHistoryBytes: number;
  /** Heartbeat interval of WebSocket and SSE watchers, ms (0: none). */
  heartbeatMs: number;
  /** Send queue bound of one WebSocket or SSE stream, bytes; past it the reader is too slow (4008). */
  watchQueueBytes: number;
}

export const defaultApiConfig: ApiConfig = {
  maxDataBytes: 1_048_576,
  maxDeleteNodes: 100_000,
  minZxidWaitMs: 5_000,
  corsOrigins: [],
  watchHistoryEntries: 10_000,
  watchHistoryBytes: 64 * 1024 * 1024,
  heartbeatMs: 10_000,
  watchQueueBytes: 4 * 1024 * 1024,
};

export interface ApiContext {
  member: Member;
  config: ApiConfig;
  /**
   * The owner of an ephemeral create: BadArguments without a (well-formed) Zgate-Session,
   * SessionExpired for a session that is not open. undefined for other modes.
   * `header` is undefined when absent and null when malformed.
   */
  sessionFor(mode: CreateMode, header: SessionId | null | undefined): Promise<SessionId | undefined>;
  /** This member's sessions: the /v1/sessions routes, WebSocket binding, the leader's duties. */
  sessions: SessionService;
  /** The URL clients reach this member at, for /v1/cluster. */
  advertisedHttp?: string;
}

/**
 * The owner of an ephemeral create, from the replicated session table as this member has
 * applied it (api.md): no header or a malformed one is BadArguments, a session that is not
 * open SessionExpired. Refused here, before the log; apply checks again (the session may
 * expire in between), so nothing is ever created for a session that is not open.
 */
export function sessionOwner(sessions: SessionService): ApiContext['sessionFor'] {
  return async (mode, header) => {
    if (!isEphemeral(mode)) return undefined;
    if (header === undefined) throw new ZgateError('BadArguments', `mode ${mode} needs a session: send the Zgate-Session header (POST /v1/sessions creates one)`);
    if (header === null) throw new ZgateError('BadArguments', 'Zgate-Session must be a session id (decimal, 1..2^64-1)');
    return sessions.ownerFor(header);
  };
}
