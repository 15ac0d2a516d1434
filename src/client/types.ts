/**
 * The client's public types: what zgate's JSON answers carry (api.md "Znode data and stat"),
 * as the client hands them to callers. Where they are the wire's own shapes, they are the
 * wire's types (src/wire/), which the server is written against too.
 */
import { CREATE_MODES, type CreateMode } from '../core/types.js';
import type { EventTypeJson } from '../wire/frames.js';
import type { StatJson } from '../wire/znodes.js';

export { CREATE_MODES, type CreateMode };

/**
 * ZooKeeper's Stat, as api.md writes it: 64-bit ids (zxids, ephemeralOwner) are decimal
 * strings, times are milliseconds since the epoch.
 */
export type Stat = StatJson;

/** Znode data as the caller gives it: text is written as UTF-8. */
export type DataInput = string | Uint8Array;

/** A read znode. `data` is UTF-8 text unless the read asked for `binary: true`. */
export interface Znode<D extends string | Uint8Array = string> {
  path: string;
  data: D;
  stat: Stat;
}

/** What create and set answer: the znode's path (with a sequential suffix) and its stat. */
export interface WriteResult {
  path: string;
  stat: Stat;
}

export interface CreateOptions {
  /** api.md's CreateModes; default `persistent`. Ephemeral modes use the client's session. */
  mode?: CreateMode;
  /** Create missing parents as persistent znodes (`mkdir -p`). */
  makeParents?: boolean;
  /** Milliseconds, 1 .. 2^40-1; only with `persistent_with_ttl` / `persistent_sequential_with_ttl`. */
  ttl?: number;
  /** The new znode's ACL (sent as the `Zgate-ACL` header); default the member's `--default-acl`. */
  acl?: readonly AclEntry[];
}

/** One ACL entry, as api.md writes it: perms as letters of `cdrwa` (or an integer 0..31). */
export interface AclEntry {
  perms: string | number;
  scheme: 'world' | 'auth' | 'digest' | 'ip' | 'x509' | 'sasl' | (string & {});
  id: string;
}

/** getAcl's answer; `stat.aversion` is what setAcl's `version` compares with. */
export interface AclResult {
  path: string;
  acl: AclEntry[];
  stat: Stat;
}

/** Credentials the client sends with every request: HTTP Basic (a ZooKeeper digest identity) or a bearer token. */
export type ClientAuth = { basic: { user: string; password: string } } | { token: string };

/** One ZooKeeper id of the caller (a digest shows its user, never its hash). */
export interface IdJson {
  scheme: string;
  id: string;
}

/** whoami's answer. */
export interface WhoAmI {
  ids: IdJson[];
  super: boolean;
  token: unknown;
}

export interface CreateTokenOptions {
  /** 60,000 .. the member's --max-token-ttl-ms; default 1 hour. */
  ttlMs?: number;
  readOnly?: boolean;
  /** Only paths equal to it or under `prefix + "/"`. */
  prefix?: string;
  description?: string;
  /** Narrow the token to some of the caller's ids (super may name any). */
  ids?: IdJson[];
  /** Also set the `zgate_token` cookie (browsers). */
  cookie?: boolean;
}

/** A created token; `token` (the secret) is shown only once. */
export interface TokenInfo {
  id: string;
  token: string;
  ids: IdJson[];
  readOnly: boolean;
  prefix: string | null;
  createdAt: number;
  expiresAt: number;
  [k: string]: unknown;
}

export interface SetOptions {
  /** Set only at this version (compare-and-set); -1 or absent: any version. */
  version?: number;
}

export interface DeleteOptions {
  /** Delete only at this version; -1 or absent: any. With `recursive`, of the top znode. */
  version?: number;
  /** Delete the whole subtree as one transaction. */
  recursive?: boolean;
}

export interface ReadOptions {
  /** Hand back the data as bytes (Uint8Array) instead of UTF-8 text. */
  binary?: boolean;
}

/** One operation of a transaction (ZooKeeper's multi). */
export type TxnOp =
  | { op: 'create'; path: string; data?: DataInput; mode?: CreateMode; ttl?: number; makeParents?: boolean }
  | { op: 'set'; path: string; data?: DataInput; version?: number }
  | { op: 'delete'; path: string; version?: number }
  | { op: 'check'; path: string; version?: number };

export type TxnResult =
  | { op: 'create'; path: string; stat: Stat }
  | { op: 'set'; path: string; stat: Stat }
  | { op: 'delete'; path: string }
  | { op: 'check'; path: string };

export interface TxnAnswer {
  /** The one zxid every op of the transaction shares. */
  zxid: string;
  results: TxnResult[];
}

export type EventType = EventTypeJson;

/** A change, as a watch reports it; `data` and `stat` come with every event but NodeDeleted. */
export interface ChangeEvent<D extends string | Uint8Array = string> {
  type: EventType;
  path: string;
  zxid: string;
  data?: D;
  stat?: Stat;
}

/**
 * The watch could not be resumed without a hole (the member no longer retains the events
 * after the resume point, or the watch's buffer overflowed): whatever the consumer derives
 * from the events must be read again. Live events follow.
 */
export interface ResyncEvent {
  type: 'Resync';
  path: string;
  /** The zxid the watch goes on from: every later event follows. */
  zxid: string;
  reason: 'compacted' | 'overflow';
}

export type WatchEvent<D extends string | Uint8Array = string> = ChangeEvent<D> | ResyncEvent;

export interface WatchOptions {
  /** Also every znode below `path` (ZooKeeper's persistent recursive watch). */
  recursive?: boolean;
  /** Bytes instead of UTF-8 text in `data`. */
  binary?: boolean;
  /** Events buffered before the consumer reads them; past it the buffer is replaced by a Resync. Default 10,000. */
  maxBuffered?: number;
}

/**
 * The client's connection, as kazoo names its states: `connected` (the socket is open and
 * its session, if any, bound), `suspended` (the socket dropped; reconnecting to a member),
 * `lost` (the session expired: its ephemerals are gone; the client goes on with a new one),
 * `closed` (close() was called).
 */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'suspended' | 'lost' | 'closed';

/** The smallest part of the platform WebSocket the client needs (the browser's, or the `ws` package's). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens a WebSocket to a ws:// or wss:// URL. */
export type WebSocketFactory = (url: string) => WebSocketLike;

/** The platform's WebSocket: `headers` is set when it can send headers at the upgrade (Node's `ws`), not in a browser. */
export interface PlatformWebSocket {
  factory: WebSocketFactory;
  /** Opens with these extra upgrade headers; absent when the platform cannot (browsers). */
  withHeaders?: (url: string, headers: Record<string, string>) => WebSocketLike;
}

export interface ClientOptions {
  /** Session timeout asked for (the member clamps it; default 10,000 ms). */
  sessionTimeoutMs?: number;
  /** Overall deadline of one call, retries on other members included (default 15,000 ms). */
  requestTimeoutMs?: number;
  /** Deadline of one HTTP attempt on one member before the next is tried (default 10,000 ms). */
  attemptTimeoutMs?: number;
  /** Attempts of one call across members (default 3 per member, at least 5). */
  maxAttempts?: number;
  /** Start with the first URL instead of a random one. */
  inOrder?: boolean;
  /** How often the socket is pinged (default a third of the session timeout, 500..5,000 ms). */
  pingIntervalMs?: number;
  /** A socket whose pong is this late is dropped for another member (default max(3,000, half the session timeout)). */
  pingTimeoutMs?: number;
  /** The platform's fetch (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Opens WebSockets (default globalThis.WebSocket, else the `ws` package in Node). */
  webSocket?: WebSocketFactory;
  /** Where exceptions thrown by watch callbacks go (default console.error). */
  onCallbackError?: (error: unknown) => void;
  /**
   * Credentials for every request: `Authorization: Basic` or `Bearer` over HTTP; on the
   * WebSocket, the same header at the upgrade in Node (the `ws` package), else (a browser, or
   * options.webSocket) the in-band `auth` frame first after every (re)connect. A refused
   * credential is AuthFailed, and the socket does not reconnect after it.
   */
  auth?: ClientAuth;
}
