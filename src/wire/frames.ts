/**
 * The frames of /v1/ws (api.md "WebSocket") and the JSON of /v1/watch's messages (api.md
 * "Server-sent events"): JSON text frames, each request with a client-chosen `id` that its
 * reply echoes. Types only; no server code (the client bundles this).
 */
import type { TreeEventType } from '../core/types.js';
import type { AclEntryJson, DataEncoding, StatJson, TxnBodyJson, TxnOpJson, TxnResultJson, WriteResultJson, ZnodeJson } from './znodes.js';
import type { ErrorJson, OpCodeJson } from './errors.js';

/** A request's id: a number, or a string of up to 256 characters. */
export type RequestId = number | string;

/** A zxid as a request may give it: decimal digits, or a non-negative integer. Answers always send decimal strings. */
export type ZxidParam = string | number;

/** The watch kinds (api.md "Watches"): one-shot data, exists, children; persistent; persistent_recursive. */
export type WatchKindJson = 'data' | 'exists' | 'children' | 'persistent' | 'persistent_recursive';

/** What an event reports. */
export type EventTypeJson = TreeEventType;

// ---------------------------------------------------------------- requests (without their id)

export interface WatchRequest {
  op: 'watch';
  path: string;
  /** Default persistent. */
  kind?: WatchKindJson;
  /** Events (and the watching reply's state) carry data, encoding and stat. */
  withData?: boolean;
  /** Resume: the retained events after this zxid, then live ones. */
  fromZxid?: ZxidParam;
  /** First wait until this member has applied this zxid. */
  minZxid?: ZxidParam;
}

export interface UnwatchRequest {
  op: 'unwatch';
  watchId: string;
}

export interface PingRequest {
  op: 'ping';
}

/** Binds a session to the socket: a new one, or `sessionId` again. */
export interface SessionRequest {
  op: 'session';
  sessionId?: string;
  timeoutMs?: number;
}

/** A read, with GET /v1/znodes/{path}'s query parameters as fields. */
export interface GetRequest {
  op: 'get';
  path: string;
  encoding?: DataEncoding;
  children?: boolean;
  limit?: number;
  after?: string;
  consistency?: 'sequential' | 'linearizable';
  minZxid?: ZxidParam;
}

/** A write's Idempotency-Key, as the header carries it over HTTP. */
interface Idempotent {
  idempotencyKey?: string;
}

/** ZooKeeper's create, with a txn create op's fields (`acl`: `auth` expands to the socket's authenticated ids). */
export interface CreateRequest extends Pick<TxnOpJson, 'path' | 'data' | 'encoding' | 'mode' | 'ttl' | 'parents' | 'acl'>, Idempotent {
  op: 'create';
}

/** ZooKeeper's getACL: needs READ or ADMIN. */
export interface GetAclRequest {
  op: 'getAcl';
  path: string;
}

/** ZooKeeper's setACL: needs ADMIN; `version` is compared with the aversion (-1 = any, the default). */
export interface SetAclRequest {
  op: 'setAcl';
  path: string;
  acl: AclEntryJson[];
  version?: number;
}

/** ZooKeeper's addAuth: adds the ids the credential proves to the socket's; a failure closes the socket (4401). */
export type AuthRequest = { op: 'auth'; scheme: 'digest'; auth: string; token?: never } | { op: 'auth'; scheme: 'bearer'; token: string; auth?: never };

/** ZooKeeper's setData (NoNode when missing), with a txn set op's fields. */
export interface SetRequest extends Pick<TxnOpJson, 'path' | 'data' | 'encoding' | 'version'>, Idempotent {
  op: 'set';
}

export interface DeleteRequest extends Pick<TxnOpJson, 'path' | 'version'>, Idempotent {
  op: 'delete';
  /** The whole subtree, as one transaction (`version` is the top znode's). */
  recursive?: boolean;
}

export interface TxnRequest extends TxnBodyJson, Idempotent {
  op: 'txn';
}

/** A request as the client writes it, before it adds the `id`. */
export type Request =
  | WatchRequest
  | UnwatchRequest
  | PingRequest
  | SessionRequest
  | AuthRequest
  | GetRequest
  | CreateRequest
  | SetRequest
  | DeleteRequest
  | TxnRequest
  | GetAclRequest
  | SetAclRequest;

export type RequestOp = Request['op'];

/** A request frame: the request and the id its reply echoes. */
export type RequestFrame<R extends Request = Request> = { id: RequestId } & R;

// ---------------------------------------------------------------- what the server sends

/** A watched znode's state when the watch was registered, as a read has it; `children` for the children kind. */
export type WatchStateJson = Pick<ZnodeJson, 'data' | 'encoding' | 'stat' | 'children'>;

/** The reply to watch. Events after it have a zxid greater than its `zxid`. */
export interface WatchingFrame {
  /** The request's id (absent in SSE's `watching` message). */
  id?: RequestId;
  type: 'watching';
  watchId: string;
  kind: WatchKindJson;
  path: string;
  zxid: string;
  /** Null on a resume, or when the znode does not exist. */
  state: WatchStateJson | null;
  resumed?: true;
}

/** SSE's first message (`event: watching`): the watching reply without an id. */
export type SseWatchingMessage = Omit<WatchingFrame, 'id'>;

/** One event for one watch; `data`, `encoding` and `stat` (as of the event) with withData, but for NodeDeleted. Also SSE's event messages. */
export interface EventFrame {
  type: 'event';
  watchId: string;
  event: EventTypeJson;
  path: string;
  zxid: string;
  data?: string;
  encoding?: DataEncoding;
  stat?: StatJson;
}

/** Several events of one zxid, in order. */
export interface EventsFrame {
  type: 'events';
  zxid: string;
  events: EventFrame[];
}

/** The member's applied zxid, every heartbeat interval. */
export interface HeartbeatFrame {
  type: 'heartbeat';
  zxid: string;
}

export interface PongFrame {
  id: RequestId;
  type: 'pong';
  /** The member's applied zxid: every frame queued before the pong has been sent. */
  zxid: string;
}

export interface UnwatchedFrame {
  id: RequestId;
  type: 'unwatched';
  watchId: string;
}

/** The reply to auth: the socket's ids now (a digest shows its user, never its hash). */
export interface AuthFrame {
  id: RequestId;
  type: 'auth';
  ids: { scheme: string; id: string }[];
}

export interface SessionFrame {
  id: RequestId;
  type: 'session';
  sessionId: string;
  /** The timeout the member granted. */
  timeoutMs: number;
}

/** Every result carries `zxid`: the write's, or for get the one it was read at. */
interface Zxided {
  zxid: string;
}

/** A write's result: a retry of an Idempotency-Key already applied answers the first outcome, marked. */
interface Written extends Zxided {
  idempotentReplayed?: true;
}

/** The fields of each op's result frame (the REST body's fields, and zxid). */
export interface Results {
  get: ZnodeJson & Zxided;
  create: WriteResultJson & Written;
  set: WriteResultJson & Written;
  /** `deleted`: with recursive, how many znodes went. */
  delete: { path: string; deleted?: number } & Written;
  txn: { results: TxnResultJson[] } & Written;
  /** Digest ids read `user:x` without ADMIN. */
  getAcl: { path: string; acl: { perms: string; scheme: string; id: string }[]; stat: StatJson } & Zxided;
  setAcl: WriteResultJson & Written;
}

/** The reply to get, create, set, delete and txn. */
export type ResultFrame<Op extends keyof Results = keyof Results> = { id: RequestId; type: 'result' } & Results[Op];

/**
 * A refused request. `id` is null for a frame too broken to have one (and for a watch's
 * Compacted). A failed write also carries the zxid it failed at; a failed txn, each op's code.
 */
export interface ErrorFrame {
  id: RequestId | null;
  type: 'error';
  /** Compacted only: the code at the top level too. */
  code?: 'Compacted';
  /** Compacted only: the oldest zxid a resume may start from. */
  compactZxid?: string;
  error: ErrorJson & { compactZxid?: string };
  results?: OpCodeJson[];
  zxid?: string;
  /** Compacted only, for a watch the member dropped (it jumped past events): the watch. */
  watchId?: string;
}

/** Compacted: the events a resume (or a live watch) needs are no longer retained; re-read and watch anew. */
export interface CompactedFrame extends ErrorFrame {
  code: 'Compacted';
  compactZxid: string;
  error: ErrorJson & { code: 'Compacted'; compactZxid: string };
}

/** Every frame the server sends. */
export type ServerFrame =
  | WatchingFrame
  | EventFrame
  | EventsFrame
  | HeartbeatFrame
  | ResultFrame
  | ErrorFrame
  | SessionFrame
  | AuthFrame
  | PongFrame
  | UnwatchedFrame;

/** The reply to each request, when it is not an error frame. */
export interface Replies extends Record<RequestOp, ServerFrame> {
  watch: WatchingFrame;
  unwatch: UnwatchedFrame;
  ping: PongFrame;
  session: SessionFrame;
  get: ResultFrame<'get'>;
  create: ResultFrame<'create'>;
  set: ResultFrame<'set'>;
  delete: ResultFrame<'delete'>;
  txn: ResultFrame<'txn'>;
  auth: AuthFrame;
  getAcl: ResultFrame<'getAcl'>;
  setAcl: ResultFrame<'setAcl'>;
}

export type ReplyTo<R extends Request> = Replies[R['op']];
