/**
 * ZgateClient: zgate's REST API and watch channel as kazoo offers ZooKeeper.
 *
 * Reads and writes go over HTTP to one member, failing over to the next (http.ts); writes
 * carry an Idempotency-Key so that a retry on another member applies at most once. The
 * session and the watches live on one WebSocket (socket.ts), opened when first needed (or by
 * connect()), reconnected to another member when it drops, and closed by close(), which
 * also closes the session and so deletes its ephemeral znodes.
 *
 * Ordering, as ZooKeeper promises it: a write's promise settles only after the client's
 * watches have been handed the events up to that write (when the socket is connected), so a
 * watch function sees a change before the code that made it goes on. Reads ask the member
 * for at least the newest zxid the client has seen, so a client never reads older state
 * than it already saw, whichever member answers.
 */
import type { TxnAnswerJson, TxnBodyJson, TxnOpJson, WriteResultJson, ZnodeJson } from '../wire/znodes.js';
import { checkBoolean, checkData, checkFunction, checkMembers, checkMode, checkOptions, checkPath, checkPositiveInt, checkTtl, checkVersion } from './args.js';
import { bytesToBase64, statOf, toWire, wireData, zxidNum } from './codec.js';
import { argumentError, closedError, isZgateError, ZgateError } from './errors.js';
import { Members, newIdempotencyKey, type HttpAnswer, type HttpRequest } from './http.js';
import { Socket, WatchReg, type AuthFrame, type WatchHandler } from './socket.js';
import type {
  AclEntry,
  AclResult,
  ClientOptions,
  CreateTokenOptions,
  TokenInfo,
  WhoAmI,
  ClientState,
  CreateOptions,
  DataInput,
  DeleteOptions,
  ReadOptions,
  SetOptions,
  Stat,
  TxnAnswer,
  TxnOp,
  TxnResult,
  WatchOptions,
  WriteResult,
  Znode,
} from './types.js';
import { ChildrenWatcher, DataWatcher, WatchStream, type ChildrenRead, type ChildrenWatchFn, type DataWatchFn, type Stop, type WatchHost } from './watches.js';
import { platformWebSocket } from './websocket-node.js';

const CLIENT_OPTIONS = [
  'sessionTimeoutMs',
  'requestTimeoutMs',
  'attemptTimeoutMs',
  'maxAttempts',
  'inOrder',
  'pingIntervalMs',
  'pingTimeoutMs',
  'fetch',
  'webSocket',
  'onCallbackError',
  'auth',
] as const;

/** The Authorization header and the in-band auth frame of the client's credentials. */
function authOf(auth: unknown): { header: string; frame: AuthFrame } | undefined {
  if (auth === undefined) return undefined;
  const a = auth as { basic?: { user?: unknown; password?: unknown }; token?: unknown };
  if (typeof a === 'object' && a !== null && typeof a.token === 'string' && a.basic === undefined) {
    if (a.token === '') throw argumentError('options.auth.token', 'must be a non-empty string');
    return { header: `Bearer ${a.token}`, frame: { op: 'auth', scheme: 'bearer', token: a.token } };
  }
  if (typeof a === 'object' && a !== null && typeof a.basic === 'object' && a.basic !== null && a.token === undefined) {
    const { user, password } = a.basic;
    if (typeof user !== 'string' || user === '' || user.includes(':')) throw argumentError('options.auth.basic.user', 'must be a non-empty string without ":"');
    if (typeof password !== 'string') throw argumentError('options.auth.basic.password', 'must be a string');
    const pair = `${user}:${password}`;
    return { header: `Basic ${bytesToBase64(new TextEncoder().encode(pair))}`, frame: { op: 'auth', scheme: 'digest', auth: pair } };
  }
  throw argumentError('options.auth', 'must be {basic: {user, password}} or {token}');
}

function checkAcl(acl: unknown, name: string): AclEntry[] {
  if (!Array.isArray(acl) || acl.length === 0) throw argumentError(name, 'must be a non-empty array of {perms, scheme, id}');
  for (const [i, e] of acl.entries()) {
    const x = e as Partial<AclEntry> | null;
    if (typeof x !== 'object' || x === null || (typeof x.perms !== 'string' && typeof x.perms !== 'number') || typeof x.scheme !== 'string' || typeof x.id !== 'string') {
      throw argumentError(`${name}[${i}]`, 'must be {perms: "cdrwa" letters or 0..31, scheme, id}');
    }
  }
  return acl as AclEntry[];
}

/** How long a write waits for the watches to have seen it (ZooKeeper's ordering) at most. */
const FLUSH_MS = 3000;

function znodeUrl(path: string): string {
  if (path === '/') return '/v1/znodes';
  return '/v1/znodes' + path.split('/').map(encodeURIComponent).join('/');
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== false) parts.push(`${k}=${encodeURIComponent(String(v))}`);
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

export class ZgateClient {
  private readonly members: Members;
  private readonly socket: Socket;
  private readonly requestTimeoutMs: number;
  private readonly reportError: (e: unknown) => void;
  private readonly listeners = new Set<(state: ClientState) => void>();
  private readonly watchers = new Set<{ stop(): void }>();
  private stateValue: ClientState = 'idle';
  private isClosed = false;
  private closing: Promise<void> | undefined;

  /** A client of the members at these base URLs (e.g. `http://127.0.0.1:8080`); nothing is sent yet. */
  constructor(members: string | readonly string[], options: ClientOptions = {}) {
    const urls = checkMembers(members);
    const o = checkOptions<ClientOptions>(options, 'options', CLIENT_OPTIONS);
    const sessionTimeoutMs = checkPositiveInt(o.sessionTimeoutMs, 'options.sessionTimeoutMs') ?? 10_000;
    this.requestTimeoutMs = checkPositiveInt(o.requestTimeoutMs, 'options.requestTimeoutMs') ?? 15_000;
    const attemptTimeoutMs = checkPositiveInt(o.attemptTimeoutMs, 'options.attemptTimeoutMs') ?? 10_000;
    const maxAttempts = checkPositiveInt(o.maxAttempts, 'options.maxAttempts', 1000) ?? Math.max(5, 3 * urls.length);
    const pingIntervalMs = checkPositiveInt(o.pingIntervalMs, 'options.pingIntervalMs') ?? Math.min(5000, Math.max(500, Math.floor(sessionTimeoutMs / 3)));
    const pingTimeoutMs = checkPositiveInt(o.pingTimeoutMs, 'options.pingTimeoutMs') ?? Math.max(3000, Math.floor(sessionTimeoutMs / 2));
    const inOrder = checkBoolean(o.inOrder, 'options.inOrder');
    const fetchFn = o.fetch === undefined ? undefined : checkFunction<typeof fetch>(o.fetch, 'options.fetch');
    const wsFactory = o.webSocket === undefined ? undefined : checkFunction<NonNullable<ClientOptions['webSocket']>>(o.webSocket, 'options.webSocket');
    const onError = o.onCallbackError === undefined ? undefined : checkFunction<(e: unknown) => void>(o.onCallbackError, 'options.onCallbackError');
    const platformFetch = fetchFn ?? (globalThis.fetch === undefined ? undefined : globalThis.fetch.bind(globalThis));
    if (platformFetch === undefined) throw argumentError('options.fetch', 'this platform has no fetch; pass one');
    this.reportError = onError ?? ((e: unknown) => console.error('zgate client: a watch callback failed:', e));
    const auth = authOf(o.auth);
    const headers = auth === undefined ? undefined : { authorization: auth.header };
    this.members = new Members(urls, { requestTimeoutMs: this.requestTimeoutMs, attemptTimeoutMs, maxAttempts, fetch: platformFetch, ...(headers === undefined ? {} : { headers }) }, inOrder);
    this.socket = new Socket(this.members, {
      sessionTimeoutMs,
      pingIntervalMs,
      pingTimeoutMs,
      connectTimeoutMs: Math.min(attemptTimeoutMs, 10_000),
      factory: wsFactory === undefined ? platformWebSocket : async () => ({ factory: wsFactory }),
      onState: (s) => this.setState(s),
      ...(auth === undefined ? {} : { auth }),
    });
  }

  /** A client with its session open: kazoo's `KazooClient(hosts).start()`. */
  static async connect(members: string | readonly string[], options: ClientOptions = {}): Promise<ZgateClient> {
    const client = new ZgateClient(members, options);
    try {
      await client.connect();
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  /** Opens the WebSocket and the session (what ephemeral znodes belong to). */
  async connect(): Promise<void> {
    this.checkOpen('connect');
    await this.socket.open(true, this.requestTimeoutMs);
  }

  get state(): ClientState {
    return this.stateValue;
  }

  /** The session's id (decimal), once connect() or an ephemeral create opened it. */
  get sessionId(): string | undefined {
    return this.socket.sessionId;
  }

  /** The session timeout the member granted. */
  get sessionTimeoutMs(): number | undefined {
    return this.socket.sessionTimeoutMs;
  }

  /** The highest zxid this client has seen (answers, events, heartbeats). */
  get lastZxid(): string {
    return String(this.members.lastZxid);
  }

  /** Calls `fn` on every state change; returns a function that stops that. */
  onStateChange(fn: (state: ClientState) => void): () => void {
    checkFunction(fn, 'fn');
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---------------------------------------------------------------- znodes

  /** ZooKeeper's create. Sequential modes answer the path with its suffix. */
  async create(path: string, data?: DataInput, options?: CreateOptions): Promise<WriteResult> {
    this.checkOpen('create');
    const o = checkOptions<CreateOptions>(options, 'options', ['mode', 'makeParents', 'ttl', 'acl']);
    const mode = checkMode(o.mode);
    const sequential = mode.includes('sequential');
    checkPath(path, 'path', { sequential });
    const bytes = checkData(data);
    const ttl = checkTtl(o.ttl, mode);
    const parents = checkBoolean(o.makeParents, 'options.makeParents');
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'idempotency-key': newIdempotencyKey() };
    if (o.acl !== undefined) headers['zgate-acl'] = JSON.stringify(checkAcl(o.acl, 'options.acl'));
    const session = mode.startsWith('ephemeral') ? await this.session() : undefined;
    if (session !== undefined) headers['zgate-session'] = session;
    const a = await this.write(
      { method: 'POST', url: znodeUrl(path) + query({ mode, ttl, parents }), body: bytes, headers, retry: true, znodePath: path, what: `create ${path}` },
      session,
    );
    return this.written(a);
  }

  /** Data and stat. Throws NoNode when there is no such znode. */
  async get(path: string): Promise<Znode<string>>;
  async get(path: string, options: ReadOptions & { binary: true }): Promise<Znode<Uint8Array>>;
  async get(path: string, options?: ReadOptions): Promise<Znode<string> | Znode<Uint8Array>>;
  async get(path: string, options?: ReadOptions): Promise<Znode<string> | Znode<Uint8Array>> {
    this.checkOpen('get');
    checkPath(path);
    const o = checkOptions<ReadOptions>(options, 'options', ['binary']);
    const binary = checkBoolean(o.binary, 'options.binary');
    const a = await this.read(path, {}, `get ${path}`);
    const b = a.body as ZnodeJson;
    return { path: b.path, data: wireData(b.data, b.encoding, binary), stat: statOf(b.stat) } as Znode<string> | Znode<Uint8Array>;
  }

  /** The stat, or null when there is no such znode. */
  async exists(path: string): Promise<Stat | null> {
    this.checkOpen('exists');
    checkPath(path);
    try {
      const a = await this.members.request({ method: 'HEAD', url: znodeUrl(path) + this.minZxid(), retry: true, znodePath: path, what: `exists ${path}` });
      return statOf(JSON.parse(a.headers.get('zgate-stat') ?? 'null'));
    } catch (e) {
      if (isZgateError(e, 'NoNode') || (isZgateError(e) && e.status === 404)) return null;
      throw e;
    }
  }

  /** The sorted child names. Throws NoNode when there is no such znode. */
  async children(path: string): Promise<string[]> {
    this.checkOpen('children');
    checkPath(path);
    const a = await this.read(path, { children: true }, `children ${path}`);
    return (a.body as ZnodeJson).children ?? [];
  }

  /** ZooKeeper's setData: NoNode when missing; with `version`, BadVersion unless it matches. */
  async set(path: string, data: DataInput, options?: SetOptions): Promise<WriteResult> {
    this.checkOpen('set');
    checkPath(path);
    if (path === '/') throw argumentError('path', 'the root znode cannot be set');
    const bytes = checkData(data);
    const o = checkOptions<SetOptions>(options, 'options', ['version']);
    const version = checkVersion(o.version, 'options.version');
    const a = await this.write({
      method: 'PUT',
      url: znodeUrl(path) + query({ version }),
      body: bytes,
      headers: { 'content-type': 'application/octet-stream', 'idempotency-key': newIdempotencyKey() },
      retry: true,
      znodePath: path,
      what: `set ${path}`,
    });
    return this.written(a);
  }

  /** Deletes a znode (NotEmpty if it has children, unless `recursive`). */
  async delete(path: string, options?: DeleteOptions): Promise<void> {
    this.checkOpen('delete');
    checkPath(path);
    if (path === '/') throw argumentError('path', "the root znode '/' cannot be deleted");
    const o = checkOptions<DeleteOptions>(options, 'options', ['version', 'recursive']);
    const version = checkVersion(o.version, 'options.version');
    const recursive = checkBoolean(o.recursive, 'options.recursive');
    await this.write({
      method: 'DELETE',
      url: znodeUrl(path) + query({ version: version === -1 ? undefined : version, recursive }),
      headers: { 'idempotency-key': newIdempotencyKey() },
      retry: true,
      znodePath: path,
      what: `delete ${path}`,
    });
  }

  /**
   * ZooKeeper's sync: after it, this client's reads (on whichever member) are at least as new
   * as every write committed before it was called, also writes of other clients. (A linearizable
   * read of the root's stat, whose zxid the client's later reads then ask for.)
   */
  async sync(): Promise<void> {
    this.checkOpen('sync');
    await this.members.request({ method: 'HEAD', url: '/v1/znodes' + query({ consistency: 'linearizable' }), retry: true, znodePath: '/', what: 'sync' });
  }

  /** Creates `path` and its missing parents as persistent znodes, if it does not exist. */
  async ensurePath(path: string): Promise<void> {
    this.checkOpen('ensurePath');
    checkPath(path);
    if (path === '/') return;
    try {
      await this.create(path, undefined, { makeParents: true });
    } catch (e) {
      if (!isZgateError(e, 'NodeExists')) throw e;
    }
  }

  /** ZooKeeper's multi: all ops or none, at one zxid. A failure carries opIndex and each op's code. */
  async txn(ops: readonly TxnOp[]): Promise<TxnAnswer> {
    this.checkOpen('txn');
    if (!Array.isArray(ops)) throw argumentError('ops', 'must be an array of {op, path, ...}');
    let ephemeral = false;
    const wire = ops.map((op, i): TxnOpJson => {
      const where = `ops[${i}]`;
      if (typeof op !== 'object' || op === null) throw argumentError(where, 'must be an object {op, path, ...}');
      switch (op.op) {
        case 'create': {
          checkOptions(op, where, ['op', 'path', 'data', 'mode', 'ttl', 'makeParents']);
          const mode = checkMode(op.mode, `${where}.mode`);
          checkPath(op.path, `${where}.path`, { sequential: mode.includes('sequential') });
          const ttl = checkTtl(op.ttl, mode, `${where}.ttl`);
          if (mode.startsWith('ephemeral')) ephemeral = true;
          const w: TxnOpJson = { op: 'create', path: op.path, ...toWire(checkData(op.data, `${where}.data`)), mode };
          if (ttl !== undefined) w.ttl = ttl;
          if (checkBoolean(op.makeParents, `${where}.makeParents`)) w.parents = true;
          return w;
        }
        case 'set':
          checkOptions(op, where, ['op', 'path', 'data', 'version']);
          checkPath(op.path, `${where}.path`);
          return { op: 'set', path: op.path, ...toWire(checkData(op.data, `${where}.data`)), version: checkVersion(op.version, `${where}.version`) };
        case 'delete':
        case 'check':
          checkOptions(op, where, ['op', 'path', 'version']);
          checkPath(op.path, `${where}.path`);
          return { op: op.op, path: op.path, version: checkVersion(op.version, `${where}.version`) };
        default:
          throw argumentError(`${where}.op`, `must be create, set, delete or check, got ${JSON.stringify((op as { op?: unknown }).op)}`);
      }
    });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': newIdempotencyKey() };
    const session = ephemeral ? await this.session() : undefined;
    if (session !== undefined) headers['zgate-session'] = session;
    const body: TxnBodyJson = { ops: wire };
    const a = await this.write({ method: 'POST', url: '/v1/txn', body: JSON.stringify(body), headers, retry: true, what: 'txn' }, session);
    const b = a.body as TxnAnswerJson;
    return {
      zxid: b.zxid,
      results: b.results.map((r) => (r.stat === undefined ? { op: r.op, path: r.path } : { op: r.op, path: r.path, stat: statOf(r.stat) }) as TxnResult),
    };
  }

  // ---------------------------------------------------------------- ACLs and identity

  /** ZooKeeper's getACL: needs READ or ADMIN (without ADMIN a digest id reads `user:x`). */
  async getAcl(path: string): Promise<AclResult> {
    this.checkOpen('getAcl');
    checkPath(path);
    const a = await this.read(path, { acl: true }, `getAcl ${path}`);
    const b = a.body as { path: string; acl: AclEntry[]; stat: Stat };
    return { path: b.path, acl: b.acl, stat: statOf(b.stat) };
  }

  /** ZooKeeper's setACL: needs ADMIN; with `version`, BadVersion unless it equals the znode's aversion. Fires no watch. */
  async setAcl(path: string, acl: readonly AclEntry[], version?: number): Promise<WriteResult> {
    this.checkOpen('setAcl');
    checkPath(path);
    const entries = checkAcl(acl, 'acl');
    const v = checkVersion(version, 'version');
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (v !== -1) headers['if-match'] = `"${v}"`;
    const a = await this.write({ method: 'PUT', url: znodeUrl(path) + '?acl=true', body: JSON.stringify({ acl: entries }), headers, retry: true, znodePath: path, what: `setAcl ${path}` });
    return this.written(a);
  }

  /** The caller's ids as the member sees them (GET /v1/auth/whoami). */
  async whoami(): Promise<WhoAmI> {
    this.checkOpen('whoami');
    const a = await this.members.request({ method: 'GET', url: '/v1/auth/whoami', retry: true, what: 'whoami' });
    return a.body as WhoAmI;
  }

  /** Mints a bearer token (needs Basic or x509 credentials: a token never mints a token). The secret is in `token`, once. */
  async createToken(options: CreateTokenOptions = {}): Promise<TokenInfo> {
    this.checkOpen('createToken');
    const o = checkOptions<CreateTokenOptions>(options, 'options', ['ttlMs', 'readOnly', 'prefix', 'description', 'ids', 'cookie']);
    // Not retried on another member: a retry would mint a second token.
    const a = await this.members.request({ method: 'POST', url: '/v1/auth/tokens', body: JSON.stringify(o), headers: { 'content-type': 'application/json' }, retry: false, what: 'createToken' });
    return a.body as TokenInfo;
  }

  /** Revokes a token by its id (its creator or super); `self` is the token this client uses. */
  async revokeToken(id: string): Promise<void> {
    this.checkOpen('revokeToken');
    if (typeof id !== 'string' || id === '' || id.includes('/')) throw argumentError('id', 'must be a token id');
    await this.members.request({ method: 'DELETE', url: `/v1/auth/tokens/${encodeURIComponent(id)}`, retry: true, what: `revokeToken ${id}` });
  }

  // ---------------------------------------------------------------- watches

  /**
   * kazoo's DataWatch: `fn(data, stat, event)` now with the current state ((null, null) while
   * there is no such znode), then after every change, in order, across reconnects. Resolves,
   * once the first call has returned, with a function that stops the watch.
   */
  async dataWatch(path: string, fn: DataWatchFn<string>): Promise<Stop>;
  async dataWatch(path: string, fn: DataWatchFn<Uint8Array>, options: ReadOptions & { binary: true }): Promise<Stop>;
  async dataWatch(path: string, fn: DataWatchFn<string> | DataWatchFn<Uint8Array>, options?: ReadOptions): Promise<Stop> {
    this.checkOpen('dataWatch');
    checkPath(path);
    checkFunction(fn, 'fn');
    const o = checkOptions<ReadOptions>(options, 'options', ['binary']);
    const binary = checkBoolean(o.binary, 'options.binary');
    const watcher = new DataWatcher<string | Uint8Array>(path, fn as DataWatchFn<string | Uint8Array>, binary);
    const reg = this.addWatch({ path, kind: 'persistent', withData: true }, watcher);
    const stop = (): void => watcher.stop();
    await this.armed(reg, stop);
    return stop;
  }

  /**
   * kazoo's ChildrenWatch: `fn(children, stat)` now with the sorted child names (null while
   * there is no such znode), then after every change of them. Resolves, once the first call
   * has returned, with a function that stops the watch.
   */
  async childrenWatch(path: string, fn: ChildrenWatchFn): Promise<Stop> {
    this.checkOpen('childrenWatch');
    checkPath(path);
    checkFunction(fn, 'fn');
    const watcher = new ChildrenWatcher(path, fn, (p, minZxid) => this.readChildren(p, minZxid), () => this.isClosed);
    const reg = this.addWatch({ path, kind: 'persistent', withData: false }, watcher);
    const stop = (): void => watcher.stop();
    await this.armed(reg, stop);
    await watcher.first;
    return stop;
  }

  /**
   * Every change at `path` (and below it with `recursive`) as an async iterator, from now on,
   * across reconnects; `for await (const e of zk.watch('/app', { recursive: true }))`.
   * `await stream.ready` to know that the watch is registered; `stream.stop()` or `break` ends it.
   */
  watch(path: string, options?: WatchOptions & { binary?: false }): WatchStream<string>;
  watch(path: string, options: WatchOptions & { binary: true }): WatchStream<Uint8Array>;
  watch(path: string, options?: WatchOptions): WatchStream<string> | WatchStream<Uint8Array> {
    this.checkOpen('watch');
    checkPath(path);
    const o = checkOptions<WatchOptions>(options, 'options', ['recursive', 'binary', 'maxBuffered']);
    const recursive = checkBoolean(o.recursive, 'options.recursive');
    const binary = checkBoolean(o.binary, 'options.binary');
    const maxBuffered = checkPositiveInt(o.maxBuffered, 'options.maxBuffered') ?? 10_000;
    const stream = new WatchStream<string | Uint8Array>(path, binary, maxBuffered);
    const reg = this.addWatch({ path, kind: recursive ? 'persistent_recursive' : 'persistent', withData: true }, stream);
    stream.ready = this.armed(reg, () => stream.stop());
    stream.ready.catch(() => undefined);
    return stream as WatchStream<string> | WatchStream<Uint8Array>;
  }

  // ---------------------------------------------------------------- closing

  /**
   * Stops every watch, closes the session (its ephemeral znodes go with it) and the socket.
   * Every later call rejects with ClientClosed.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.isClosed = true;
    for (const w of [...this.watchers]) w.stop();
    const sid = this.socket.sessionId;
    if (sid !== undefined) {
      try {
        await this.members.request({ method: 'DELETE', url: `/v1/sessions/${sid}`, retry: true, what: `close session ${sid}` }, Math.min(this.requestTimeoutMs, 10_000));
      } catch (e) {
        // Already gone (410) is what we wanted; an unreachable cluster expires it by itself.
        if (!isZgateError(e, 'SessionExpired') && !isZgateError(e, 'ConnectionLoss') && !isZgateError(e, 'Unavailable')) {
          this.socket.close();
          this.setState('closed');
          throw e;
        }
      }
    }
    this.socket.close();
    this.setState('closed');
  }

  // ---------------------------------------------------------------- internals

  private checkOpen(operation: string): void {
    if (this.isClosed) throw closedError(operation);
  }

  private setState(state: ClientState): void {
    if (this.stateValue === 'closed') return;
    this.stateValue = state;
    for (const fn of [...this.listeners]) {
      try {
        fn(state);
      } catch (e) {
        this.reportError(e);
      }
    }
  }

  private async session(): Promise<string> {
    await this.socket.open(true, this.requestTimeoutMs);
    const sid = this.socket.sessionId;
    if (sid === undefined) throw new ZgateError('ConnectionLoss', 'no session could be opened');
    return sid;
  }

  private minZxid(extra: Record<string, string | number | boolean | undefined> = {}): string {
    const seen = this.members.lastZxid;
    return query({ ...extra, minZxid: seen > 0 ? seen : undefined });
  }

  private read(path: string, params: Record<string, string | number | boolean | undefined>, what: string): Promise<HttpAnswer> {
    return this.members.request({ method: 'GET', url: znodeUrl(path) + this.minZxid(params), retry: true, znodePath: path, what });
  }

  private async readChildren(path: string, minZxid: number): Promise<ChildrenRead> {
    const seen = Math.max(minZxid, this.members.lastZxid);
    try {
      const a = await this.members.request({ method: 'GET', url: znodeUrl(path) + query({ children: true, minZxid: seen }), retry: true, znodePath: path, what: `children ${path}` });
      const b = a.body as ZnodeJson;
      return { children: b.children ?? [], stat: statOf(b.stat), zxid: zxidNum(a.headers.get('zgate-zxid')) };
    } catch (e) {
      if (isZgateError(e, 'NoNode')) return { children: null, stat: null, zxid: zxidNum(e.zxid) };
      throw e;
    }
  }

  /** A write: its answer once the client's watches have seen it (bounded), or its error. */
  private async write(req: HttpRequest, session?: string): Promise<HttpAnswer> {
    let a: HttpAnswer;
    try {
      a = await this.members.request(req);
    } catch (e) {
      if (session !== undefined && isZgateError(e, 'SessionExpired')) void this.socket.sessionExpired(session);
      throw e;
    }
    const zxid = zxidNum(a.headers.get('zgate-zxid'));
    if (zxid > 0) await this.socket.flushTo(zxid, FLUSH_MS);
    return a;
  }

  private written(a: HttpAnswer): WriteResult {
    const b = a.body as WriteResultJson;
    return { path: b.path, stat: statOf(b.stat) };
  }

  private addWatch(spec: ConstructorParameters<typeof WatchReg>[0], handler: WatchHandler & { host: WatchHost; stop(): void }): WatchReg {
    const reg = new WatchReg(spec, handler);
    handler.host = {
      unwatch: () => {
        this.socket.removeWatch(reg);
        this.watchers.delete(handler);
      },
      reportError: (e) => this.reportError(e),
    };
    this.watchers.add(handler);
    this.socket.addWatch(reg);
    return reg;
  }

  /** Waits for a watch's first registration, within the request deadline; stops it on failure. */
  private async armed(reg: WatchReg, stop: Stop): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ZgateError('ConnectionLoss', `watch ${reg.spec.path}: not registered on any member within ${this.requestTimeoutMs} ms`, { path: reg.spec.path })),
        this.requestTimeoutMs,
      );
    });
    try {
      await Promise.race([reg.ready, timeout]);
    } catch (e) {
      stop();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}
