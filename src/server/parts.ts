/**
 * The parts of one served member around its Member: the session service, the watch hub and
 * the CoordinationService the faces call. The composition root (server/start.ts) assembles
 * them for `zgate serve`; tests assemble them around an in-memory log the same way.
 */
import { fixupAcl, parseAclText } from '../core/acl.js';
import { ZgateError } from '../core/errors.js';
import { Authenticator } from '../node/authenticator.js';
import { MemberService, type ReplicationControl } from '../node/member-service.js';
import type { Member } from '../node/member.js';
import { SessionService, type SessionServiceOptions } from '../node/session-service.js';
import { systemClock, type Clock } from '../util/clock.js';
import { WatchHub } from '../watch/index.js';

export interface MemberPartsConfig {
  /** Largest znode data (and total txn data), bytes. */
  maxDataBytes: number;
  /** Largest subtree a recursive delete may remove. */
  maxDeleteNodes: number;
  /** How long ?minZxid= and linearizable reads wait before Unavailable. */
  minZxidWaitMs: number;
  /** Watch history (resume by fromZxid / Last-Event-ID): retained zxids that have events. */
  watchHistoryEntries: number;
  /** Watch history: estimated bytes retained (paths, data and stats as of each event). */
  watchHistoryBytes: number;
  /** Heartbeat interval of WebSocket and SSE watchers, ms (0: none). */
  heartbeatMs: number;
  /** The ACL of a create that gives none, as zkCli writes ACLs; undefined: `world:anyone:cdrwa`, or `auth::cdrwa` under authRequired. */
  defaultAcl: string | undefined;
  /** Every request needs a digest, x509 or token identity; the default ACL becomes `auth::cdrwa`. */
  authRequired: boolean;
  /** `user:base64(sha1(user:password))` of the super user, if any. */
  superDigest: string | undefined;
  /** A client certificate DN that is super, if any. */
  x509SuperUser: string | undefined;
  /** Longest token lifetime a create may ask for. */
  maxTokenTtlMs: number;
}

export const defaultPartsConfig: MemberPartsConfig = {
  maxDataBytes: 1_048_576,
  maxDeleteNodes: 100_000,
  minZxidWaitMs: 5_000,
  watchHistoryEntries: 10_000,
  watchHistoryBytes: 64 * 1024 * 1024,
  heartbeatMs: 10_000,
  defaultAcl: undefined,
  authRequired: false,
  superDigest: undefined,
  x509SuperUser: undefined,
  maxTokenTtlMs: 7 * 86_400_000,
};

/** The default ACL as the service takes it: --default-acl, or `auth::cdrwa` under --auth-required (unless set). */
export function defaultAclOf(config: Pick<MemberPartsConfig, 'defaultAcl' | 'authRequired'>): unknown {
  const text = config.defaultAcl ?? (config.authRequired ? 'auth::cdrwa' : 'world:anyone:cdrwa');
  const parsed = parseAclText(text);
  const fixed = parsed === undefined ? undefined : fixupAcl(parsed, [{ scheme: 'digest', id: 'probe:probe' }]);
  if (parsed === undefined || fixed?.ok !== true) {
    throw new ZgateError('BadArguments', `--default-acl ${JSON.stringify(text)}: ${fixed?.ok === false ? fixed.message : 'entries are scheme:id:perms, comma-separated'}`);
  }
  return parsed;
}

export interface MemberPartsOptions {
  config?: Partial<MemberPartsConfig>;
  /** The URL clients reach this member at (the cluster view). */
  advertisedHttp?: string;
  /** False while the member or its log is still starting; default: the member's own readiness. */
  isReady?: () => boolean;
  replication?: ReplicationControl;
  /** A session service made by the caller (wired to the cluster); absent: one is made with `sessionOptions`. */
  sessions?: SessionService;
  sessionOptions?: Partial<SessionServiceOptions>;
  /** With --digest-users: the digests that may authenticate. */
  digestUsers?: { has(digestId: string): boolean };
  clock?: Clock;
  /** Errors of background duties (session timers, watch dispatch). */
  onError?: (err: unknown, what: string) => void;
}

export interface MemberParts {
  member: Member;
  service: MemberService;
  sessions: SessionService;
  hub: WatchHub;
  /** Starts the session service's timers. */
  start(): void;
  /** Stops the session duties and the hub (the member is closed by its owner). */
  stop(): void;
}

export function assembleMember(member: Member, o: MemberPartsOptions = {}): MemberParts {
  const config = { ...defaultPartsConfig, ...o.config };
  const clock = o.clock ?? systemClock;
  const onError = o.onError ?? (() => undefined);
  const sessions = o.sessions ?? new SessionService(member, o.sessionOptions, clock, onError);
  const hub = new WatchHub(member, {
    maxEntries: config.watchHistoryEntries,
    maxBytes: config.watchHistoryBytes,
    heartbeatMs: config.heartbeatMs,
    clock,
    onError: (err) => onError(err, 'watch dispatch'),
  });
  const serviceOptions = {
    maxDataBytes: config.maxDataBytes,
    maxDeleteNodes: config.maxDeleteNodes,
    readWaitMs: config.minZxidWaitMs,
    advertisedHttp: o.advertisedHttp ?? '',
    isReady: o.isReady ?? (() => member.ready),
    ...(o.replication !== undefined ? { replication: o.replication } : {}),
    defaultAcl: defaultAclOf(config),
    maxTokenTtlMs: config.maxTokenTtlMs,
    nowMs: () => clock.nowMs(),
    authenticator: new Authenticator({
      authRequired: config.authRequired,
      ...(config.superDigest !== undefined ? { superDigest: config.superDigest } : {}),
      ...(config.x509SuperUser !== undefined ? { x509SuperUser: config.x509SuperUser } : {}),
      ...(o.digestUsers !== undefined ? { digestUsers: o.digestUsers } : {}),
      verifyToken: (token) => service.verifyToken(token),
    }),
  };
  const service: MemberService = new MemberService(member, sessions, hub, serviceOptions);
  return {
    member,
    service,
    sessions,
    hub,
    start: () => sessions.start(),
    stop: () => {
      sessions.stop();
      hub.close();
    },
  };
}
