/**
 * The coordination service as every face sees it: one async, transport-neutral interface for
 * reads, writes, multi, sync, sessions, watches, idempotency and the cluster view. HTTP,
 * WebSocket and SSE (and later faces) only translate between their wire and this interface;
 * a backend (zgate's own Raft member, src/node/member-service.ts) implements it, and decides
 * every rule here, once, whichever face a request came through: readiness, idempotency keys,
 * session checks, data bounds, the upsert's retries.
 *
 * Errors are thrown as ZgateError (core/errors.ts; MultiOpError for a multi refused before
 * the log); a ZooKeeper failure of an applied write is an answer (`ok: false`), not a throw,
 * because it has a zxid.
 */
import { shownId, type Access, type Acl, type Id } from '../core/acl.js';
import type { CreateMode, CreateOp, OpFailure, SessionId, Stat, SubOp, Zxid } from '../core/types.js';
import type { Subscriber, Watching, WatchKind } from '../watch/index.js';

/** How fresh a read must be: at least `minZxid` applied here, and/or linearizable (read index). */
export interface Freshness {
  minZxid?: Zxid;
  linearizable?: boolean;
}

/** A page of a znode's sorted children: the names after `after`, at most `limit`. */
export interface ChildrenQuery {
  after?: string;
  limit?: number;
}

export interface ChildrenPage {
  children: string[];
  /** More names follow the page (ask again with `after` = the last name). */
  more: boolean;
}

export interface ZnodeState {
  data: Uint8Array;
  stat: Stat;
  /** With ReadRequest.children only. */
  page?: ChildrenPage;
}

export interface ReadRequest extends Freshness {
  path: string;
  /** Also a page of the sorted child names. */
  children?: ChildrenQuery;
  /** Who reads: READ on the znode, if it exists (absent: anonymous, no ids). */
  access?: Access;
}

export interface AclRequest extends Freshness {
  path: string;
  access?: Access;
}

export interface AclAnswer {
  zxid: Zxid;
  /** Digest ids read `user:x` unless the caller has ADMIN. */
  acl: Acl[];
  stat: Stat;
}

export interface SetAclRequest {
  path: string;
  /** As given: entries {perms (letters or 0..31), scheme, id}; `auth` expands to the caller's ids. */
  acl: unknown;
  /** Compared with the aversion; -1: any. */
  version: number;
}

export interface ReadAnswer {
  /** The applied zxid the read saw. */
  zxid: Zxid;
  /** undefined: no znode at the path. */
  znode: ZnodeState | undefined;
}

/** Who writes: the session it presents (for ephemeral creates) and its retry key. */
export interface Caller {
  /** The caller's session, for ephemeral modes; undefined when it presented none. */
  session?: SessionId;
  /**
   * Where the caller's face takes a session, for the message of an ephemeral create without
   * one (a header over HTTP, a bound session on a WebSocket).
   */
  sessionHint?: string;
  /** The caller presented a session that can't be read: the message an ephemeral create is refused with. */
  sessionError?: string;
  /** The client's Idempotency-Key: a retry with the same key (from the same identity) replays the first answer. */
  idempotencyKey?: string;
  /** Who writes: every check is made with these ids and scope when the entry applies (absent: anonymous). */
  access?: Access;
}

export interface CreateRequest {
  path: string;
  data: Uint8Array;
  mode: CreateMode;
  ttl?: number;
  parents?: boolean;
  /** As given (see SetAclRequest.acl); absent: the service's default ACL. */
  acl?: unknown;
}

/** A txn's op: a create's ACL as given, fixed up by the service like a create's. */
export type TxnOp = Exclude<SubOp, CreateOp> | (Omit<CreateOp, 'acl'> & { acl?: unknown });

/** What a caller presents; the service turns it into ids (authenticate). */
export interface Credentials {
  /** The remote address (after --trust-proxy), as an ip id. */
  ip: string;
  /** From `Authorization: Basic` or an in-band digest auth. */
  basic?: { user: string; password: string };
  /** A bearer token `zgt_...` (the header or the cookie). */
  token?: string;
  /** The subject DN of a verified client certificate. */
  x509?: string;
}

export interface TokenRequest {
  ttlMs?: number;
  readOnly?: boolean;
  prefix?: string;
  description?: string;
  cookie?: boolean;
  /** Narrows the caller's ids (super may name any). */
  ids?: Id[];
}

/** A token as its routes show it: never its secret or hash. */
export interface TokenView {
  id: string;
  ids: Id[];
  readOnly: boolean;
  prefix: string | null;
  description: string;
  cookie: boolean;
  createdAt: number;
  expiresAt: number;
}

/** The token a caller authenticated with, as whoami shows it (never its secret). */
export interface TokenSummary {
  id: string;
  readOnly: boolean;
  prefix: string | null;
  expiresAt: number;
}

export interface Identity {
  access: Access;
  /** Some id is proven by a credential (digest, x509, a token): what --auth-required asks for. */
  authenticated: boolean;
  token: TokenSummary | null;
}

/** whoami's ids: a digest shows its user, never its hash. */
export function displayIds(ids: readonly Id[]): Id[] {
  return ids.map(shownId);
}

export interface SetRequest {
  path: string;
  data: Uint8Array;
  /** -1: any version. */
  version: number;
}

export interface DeleteRequest {
  path: string;
  /** -1: any version (of the top znode for a recursive delete). */
  version: number;
  /** The whole subtree as one transaction, bounded by the service's maxDeleteNodes. */
  recursive?: boolean;
}

export interface UpsertRequest {
  path: string;
  data: Uint8Array;
  parents?: boolean;
}

export interface CreatedZnode {
  /** The created path (with its sequential suffix). */
  path: string;
  stat: Stat;
}

export interface TxnResult {
  op: SubOp['op'];
  path: string;
  /** create and set. */
  stat?: Stat;
}

/** The answer to an applied write: its result, or the ZooKeeper failure it applied as. */
export type Written<R> =
  | { ok: true; zxid: Zxid; replayed: boolean; result: R }
  | { ok: false; zxid: Zxid; replayed: boolean; failure: OpFailure };

export interface SessionGrant {
  sessionId: SessionId;
  /** The timeout granted: the one asked for, clamped to the service's bounds. */
  timeoutMs: number;
}

export interface SessionView extends SessionGrant {
  /** Paths of the session's ephemeral znodes, sorted. */
  ephemerals: string[];
}

/** A session held open by a connection (a WebSocket) until release(). */
export interface HeldSession extends SessionGrant {
  release(): void;
}

export interface WatchRegistration {
  path: string;
  kind: WatchKind;
  withData: boolean;
  /** Resume: every retained event after this zxid, then live ones. */
  fromZxid?: Zxid;
  /** First wait until this member has applied this zxid (the client has seen it elsewhere). */
  minZxid?: Zxid;
}

export interface WatchHooks {
  /** Called with the `watching` reply, before any event of the watch is delivered. */
  onWatching(w: Watching): void;
  /**
   * Asked once when the registration must first wait for a zxid: false refuses the wait
   * (the face's bound on requests in flight), and watch() resolves undefined.
   */
  admitWait?(): boolean;
  /** After a wait: true when the caller went away meanwhile (nothing is registered). */
  abandoned?(): boolean;
}

/** The watches of this service: subscribers (a WebSocket, an SSE stream) and their watches. */
export interface WatchStreams {
  /** The applied zxid (heartbeats, pongs). */
  readonly appliedZxid: Zxid;
  attach(sub: Subscriber): void;
  /** Drops a subscriber and every watch it holds. */
  detach(sub: Subscriber): void;
  unwatch(sub: Subscriber, watchId: string): boolean;
  stats(): { subscribers: number; watches: number; historyEntries: number; historyBytes: number; historyBase: Zxid };
}

export type MemberRole = 'leader' | 'follower' | 'candidate' | 'learner';

export interface ClusterMemberView {
  id: number;
  peer: string;
  http: string;
  role: MemberRole;
  matchIndex: number;
  reachable: boolean;
}

export interface ClusterView {
  id: number;
  leaderId: number | null;
  term: number;
  commitIndex: number;
  appliedZxid: Zxid;
  members: ClusterMemberView[];
}

/** Read-only figures for /metrics, as of the applied zxid. */
export interface ServiceFigures {
  appliedZxid: Zxid;
  znodes: number;
  dataBytes: number;
  ephemerals: number;
  sessionsOpen: number;
  sessionsExpired: number;
  sessionsClosed: number;
  /** Sessions kept alive by a connection to this member. */
  sessionsHeld: number;
  keepalivesForwarded: number;
  keepaliveBatches: number;
  keepalivesReceived: number;
  holdersSentAway: number;
  reaped: number;
}

/** The figures of a replicated backend's log (absent on one running alone). */
export interface ReplicationFigures {
  term: number;
  commitIndex: number;
  isLeader: boolean;
  leaderChanges: number;
  forwarded: number;
  followerLag: { id: number; lag: number }[];
}

/** The bounds a face needs to know to refuse early (bodies it need not read). */
export interface ServiceLimits {
  maxDataBytes: number;
  maxDeleteNodes: number;
  /** How long a read waits for minZxid or a read index before Unavailable. */
  readWaitMs: number;
}

export interface CoordinationService {
  readonly limits: ServiceLimits;
  /** Recovered and serving; false while the state is being restored. */
  readonly ready: boolean;
  /** The applied zxid: what `Zgate-Zxid` carries on answers that are not writes. */
  readonly appliedZxid: Zxid;
  /** A member of a replicated cluster (membership changes, replication figures), not one running alone. */
  readonly replicated: boolean;

  // ---------------------------------------------------------------- znodes
  read(req: ReadRequest): Promise<ReadAnswer>;
  create(req: CreateRequest, caller: Caller): Promise<Written<CreatedZnode>>;
  set(req: SetRequest, caller: Caller): Promise<Written<CreatedZnode>>;
  /** Create when missing, set when present; `created` says which. */
  upsert(req: UpsertRequest, caller: Caller): Promise<Written<CreatedZnode & { created: boolean }>>;
  delete(req: DeleteRequest, caller: Caller): Promise<Written<{ path: string; deleted?: number }>>;
  /** ZooKeeper's multi: all or nothing, one zxid. */
  txn(ops: TxnOp[], caller: Caller): Promise<Written<TxnResult[]>>;
  /** getACL: needs READ or ADMIN. */
  getAcl(req: AclRequest): Promise<AclAnswer>;
  /** setACL: needs ADMIN; fires no watch. */
  setAcl(req: SetAclRequest, caller: Caller): Promise<Written<{ path: string; stat: Stat }>>;

  // ---------------------------------------------------------------- tokens
  /** Needs a Basic or x509 identity (a token never mints a token); the secret is in the answer only. */
  createToken(req: TokenRequest, identity: Identity): Promise<{ zxid: Zxid; token: string; view: TokenView }>;
  /** The caller's tokens (super: all), never their secrets. */
  listTokens(access: Access): TokenView[];
  /** NoNode unless the caller created it (or is super). */
  getToken(id: string, access: Access): TokenView;
  revokeToken(id: string, access: Access): Promise<{ zxid: Zxid }>;

  // ---------------------------------------------------------------- identity
  /** Every request, socket and session needs a digest, x509 or token identity (--auth-required). */
  readonly authRequired: boolean;
  /** Whether the token with this accessor is live on this member now (neither revoked nor expired). */
  tokenLive(accessor: string): boolean;
  /** The ids a caller's credentials prove; AuthFailed for a bad token or an unlisted digest, or none under --auth-required. */
  authenticate(creds: Credentials): Identity;
  /**
   * Calls `listener` with a token's accessor when this member applies its revocation or its
   * expiry, so that the connections that authenticated with it can close.
   */
  onTokenGone(listener: (accessor: string) => void): void;
  /** ZooKeeper's sync: resolves with a zxid that later reads may ask for as minZxid. */
  sync(): Promise<Zxid>;
  /**
   * Resolves once this member has applied `zxid` (Unavailable after the read wait): what a
   * request's `minZxid` asks for before anything about it is decided, its token included (a
   * token created, or revoked, through another member).
   */
  awaitZxid(zxid: Zxid): Promise<void>;

  // ---------------------------------------------------------------- sessions
  /** A session created by an authenticated caller belongs to its ids: using it needs one of them (or super), else NoAuth. */
  openSession(timeoutMs: number | undefined, access?: Access): Promise<SessionGrant & { zxid: Zxid }>;
  keepalive(id: SessionId, access?: Access): Promise<SessionGrant>;
  getSession(id: SessionId, access?: Access): Promise<SessionView>;
  /** The sessions the caller may use (super: all). */
  listSessions(access?: Access): Promise<SessionGrant[]>;
  closeSession(id: SessionId, access?: Access): Promise<{ zxid: Zxid; deleted: string[] }>;
  /**
   * Binds a session (a given one, or a new one) to a connection that keeps it alive until
   * release(). `onLeaderLost`: this member has known no leader long enough that the
   * connection should move to another member.
   */
  holdSession(id: SessionId | undefined, timeoutMs: number | undefined, onLeaderLost?: () => void, access?: Access): Promise<HeldSession>;

  // ---------------------------------------------------------------- watches
  readonly watches: WatchStreams;
  /**
   * Registers a watch: the read of the watched znode (or the replay of a resume) and the
   * registration happen atomically. Synchronous when this member can register at once;
   * a promise when it first waits for `fromZxid`/`minZxid` to apply here.
   */
  watch(sub: Subscriber, req: WatchRegistration, hooks: WatchHooks): Watching | Promise<Watching | undefined>;

  // ---------------------------------------------------------------- cluster
  cluster(): ClusterView;
  /** A member of a cluster with a leader, caught up (for /readyz); the reason otherwise. */
  readiness(): { ready: true } | { ready: false; reason: string };
  addMember(id: number, peer: string, http: string): Promise<{ index: number }>;
  removeMember(id: number): Promise<{ index: number }>;
  figures(): ServiceFigures;
  replication(): ReplicationFigures | undefined;
  /** The leader reports each proposal's time to apply (its own and forwarded ones). */
  onProposalLatency(fn: (seconds: number) => void): void;
}

