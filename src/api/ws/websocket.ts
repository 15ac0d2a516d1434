/**
 * One WebSocket on /v1/ws (api.md "WebSocket"): JSON text frames, each request with a
 * client-chosen `id` echoed by its reply. watch / unwatch / ping / session, and the REST
 * operations. Bad frames get an error frame and the socket goes on; a reader too slow for
 * its bounded send queue is closed with 4008; a closed socket frees all its watches.
 */
import type { RawData, WebSocket } from 'ws';
import { ZgateError } from '../../core/errors.js';
import type { SessionId, Zxid } from '../../core/types.js';
import { displayIds, type Credentials, type Identity, type WatchRegistration } from '../../coordination/service.js';
import type { Access, Id } from '../../core/acl.js';
import { CompactedError, Subscriber, type Delivery, type Watch, type WatchKind } from '../../watch/index.js';
import { compactedFrame, errorFrame, eventJson, sharedFrame, watchingJson, type ErrorFields } from './frames.js';
import { failureOf } from '../../core/errors.js';
import { REQUEST_SCHEMAS, runOperation, validateRequest, zxidField, type OperationOp, type RequestOp } from './requests.js';
import type { TokenBound, WatchEnv } from './env.js';

/** Close code for a reader that can't keep up (api.md). */
export const CLOSE_SLOW_READER = 4008;
/** RFC 6455's "Try Again Later": this member knows no leader, so a bound session's keepalives reach nobody. */
export const CLOSE_NO_LEADER = 1013;
/** AuthFailed (api.md "Errors (additions)"): a failed `auth`, a revoked token, no identity in time under --auth-required. */
export const CLOSE_AUTH_FAILED = 4401;
/** Throttled: too many failed authentications from this address (as HTTP's 429). */
export const CLOSE_THROTTLED = 4429;
const OPEN = 1;

type Digest = { user: string; password: string };

function sameDigest(a: Digest, b: Digest): boolean {
  return a.user === b.user && a.password === b.password;
}

/**
 * The identity of every credential a socket presented, merged as ZooKeeper adds a
 * connection's authInfo: the upgrade's (ip, x509, its token) and each digest, each proved by
 * the service; the ids in order without duplicates, super if one is, and the token's scope
 * (which then bounds every id of the socket). AuthFailed when any of them fails.
 */
export function mergedIdentity(authenticate: (c: Credentials) => Identity, base: Credentials, digests: readonly Digest[], token: string | undefined): Identity {
  const { ip, x509 } = base;
  const parts: Identity[] = [];
  if (x509 !== undefined || token !== undefined || digests.length === 0) {
    const c: Credentials = { ip };
    if (x509 !== undefined) c.x509 = x509;
    if (token !== undefined) c.token = token;
    parts.push(authenticate(c));
  }
  for (const d of digests) parts.push(authenticate({ ip, basic: d }));
  if (parts.length === 1) return parts[0]!;
  const ids: Id[] = [];
  for (const p of parts) for (const i of p.access.ids) if (!ids.some((x) => x.scheme === i.scheme && x.id === i.id)) ids.push(i);
  const first = parts[0]!;
  const access: Access = { ids, super: parts.some((p) => p.access.super) };
  if (first.access.readOnly === true) access.readOnly = true;
  if (first.access.prefix !== undefined) access.prefix = first.access.prefix;
  if (first.access.token !== undefined) access.token = first.access.token;
  return { access, authenticated: parts.some((p) => p.authenticated), token: first.token };
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.byteLength, 0);
  return data.byteLength;
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Who a socket is at the upgrade: its identity, or (under --auth-required, no credential) none yet. */
export interface SocketAuth {
  credentials: Credentials;
  identity: Identity | undefined;
}

export class WsSubscriber extends Subscriber implements TokenBound {
  private closed = false;
  /** What the upgrade presented (ip, x509, and Basic or a token). */
  private readonly base: Credentials;
  /** Digests presented: the upgrade's Basic, then each in-band `auth`. */
  private digests: Digest[] = [];
  /** The token the socket's identity rests on, if any (the upgrade's, or the last in-band one). */
  private token: string | undefined;
  /** undefined: under --auth-required, no identity yet (only `auth` is allowed). */
  private identity: Identity | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private inflight = 0;
  private lastSeen = Date.now();
  private session: SessionId | undefined;
  private releaseSession: (() => void) | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly env: WatchEnv,
    auth: SocketAuth,
  ) {
    super();
    this.base = auth.credentials;
    if (auth.credentials.basic !== undefined) this.digests.push(auth.credentials.basic);
    this.token = auth.credentials.token;
    this.identity = auth.identity;
    if (auth.identity === undefined) {
      this.access = { ids: [{ scheme: 'ip', id: auth.credentials.ip }], super: false };
      this.graceTimer = setTimeout(
        () => this.shutdown(CLOSE_AUTH_FAILED, `authentication required: no {"op":"auth"} within ${Math.round(env.authGraceMs / 1000)} s`),
        env.authGraceMs,
      );
      this.graceTimer.unref();
    } else {
      this.access = auth.identity.access;
      if (auth.identity.access.token !== undefined) env.tokens.track(auth.identity.access.token, this);
    }
    env.service.watches.attach(this);
    env.counters.wsOpen++;
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => (this.lastSeen = Date.now()));
    ws.on('close', () => this.onClose());
    ws.on('error', () => this.onClose());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends (a text frame) unless the queue is over its bound, in which case the reader is too slow: 4008. */
  send(frame: string | Uint8Array): boolean {
    if (this.closed || this.ws.readyState !== OPEN) return false;
    const queued = this.ws.bufferedAmount;
    // One frame always goes on an empty queue, whatever its size.
    if (queued > 0 && queued + frame.length > this.env.config.watchQueueBytes) {
      this.slowReader(queued);
      return false;
    }
    this.ws.send(frame, { binary: false });
    return true;
  }

  private slowReader(queued: number): void {
    this.env.counters.wsSlowCloses++;
    this.shutdown(CLOSE_SLOW_READER, `slow reader: ${queued} bytes queued; resume from your last zxid`);
  }

  /** Closes with a code; if the peer doesn't complete the close handshake in time, drops it. */
  shutdown(code: number, reason: string): void {
    if (this.closed) return;
    this.onClose();
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
    setTimeout(() => this.ws.terminate(), this.env.closeGraceMs).unref();
  }

  override deliver(d: Delivery, watches: readonly Watch[], events: readonly number[]): void {
    const n = watches.length;
    let frame: string | Uint8Array;
    if (n === 1) {
      const w = watches[0]!;
      const i = events[0]!;
      frame = sharedFrame(d, i, w.withData, w.id, () => eventJson(w.id, d, i, w.withData));
    } else {
      let parts = '';
      for (let k = 0; k < n; k++) parts += (k === 0 ? '' : ',') + eventJson(watches[k]!.id, d, events[k]!, watches[k]!.withData);
      frame = `{"type":"events","zxid":"${d.zxid}","events":[${parts}]}`;
    }
    if (this.send(frame)) this.env.counters.wsEvents += n;
  }

  override heartbeat(_zxid: Zxid, frame: string): void {
    if (this.closed) return;
    // Liveness: a peer that answers neither pings nor anything else for this long is gone.
    if (Date.now() - this.lastSeen > this.env.livenessMs) {
      this.onClose();
      this.ws.terminate();
      return;
    }
    if (!this.send(frame)) return;
    try {
      this.ws.ping();
    } catch {
      // closing
    }
  }

  override compacted(w: Watch, compactZxid: Zxid): void {
    this.send(compactedFrame(undefined, w.id, undefined, compactZxid));
  }

  /** The token this socket authenticated with was revoked or expired. */
  tokenGone(): void {
    this.shutdown(CLOSE_AUTH_FAILED, 'token revoked');
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    if (this.access.token !== undefined) this.env.tokens.untrack(this.access.token, this);
    this.env.counters.wsOpen--;
    this.env.service.watches.detach(this);
    this.env.sockets.delete(this);
    this.releaseSession?.();
    this.releaseSession = undefined;
  }

  private error(id: unknown, error: ErrorFields, extra?: Record<string, unknown>): void {
    this.send(errorFrame(id, error, extra));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.lastSeen = Date.now();
    if (this.closed) return;
    if (isBinary) return this.error(null, { code: 'BadArguments', message: 'requests are JSON text frames, not binary' });
    const size = byteLength(data);
    if (size > this.env.maxFrameBytes) {
      return this.error(null, { code: 'PayloadTooLarge', message: `a frame of ${size} bytes is over the limit of ${this.env.maxFrameBytes}` });
    }
    let frame: unknown;
    try {
      frame = JSON.parse(text(data));
    } catch (e) {
      return this.error(null, { code: 'BadArguments', message: `the frame is not valid JSON: ${(e as Error).message}` });
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      return this.error(null, { code: 'BadArguments', message: 'a request is a JSON object {"id":...,"op":...}' });
    }
    const f = frame as Record<string, unknown>;
    const id = f.id;
    if (id === undefined || id === null) return this.error(null, { code: 'BadArguments', message: 'a request needs an "id" (a number or a string), echoed by its reply' });
    if (typeof id !== 'number' && typeof id !== 'string') return this.error(null, { code: 'BadArguments', message: 'the "id" must be a number or a string' });
    const op = f.op;
    if (typeof op !== 'string' || !Object.hasOwn(REQUEST_SCHEMAS, op)) {
      return this.error(id, { code: 'BadArguments', message: `unknown op ${JSON.stringify(op)}; one of ${Object.keys(REQUEST_SCHEMAS).join(', ')}` });
    }
    if (this.identity === undefined && op !== 'auth') {
      this.audit(op, typeof f.path === 'string' ? f.path : undefined, 'AuthFailed');
      this.error(id, { code: 'AuthFailed', message: 'authentication is required: send {"op":"auth"} first' });
      this.shutdown(CLOSE_AUTH_FAILED, 'authentication required');
      return;
    }
    try {
      validateRequest(op as RequestOp, f);
      switch (op as RequestOp) {
        case 'ping':
          this.send(JSON.stringify({ id, type: 'pong', zxid: String(this.env.service.watches.appliedZxid) }));
          return;
        case 'watch':
          return this.watch(id, f);
        case 'unwatch': {
          const watchId = f.watchId as string;
          if (!this.env.service.watches.unwatch(this, watchId)) {
            return this.error(id, { code: 'NoWatcher', message: `no watch ${JSON.stringify(watchId)} on this socket (a one-shot watch that fired is gone)` });
          }
          this.send(JSON.stringify({ id, type: 'unwatched', watchId }));
          return;
        }
        case 'session':
          return this.bindSession(id, f);
        case 'auth':
          return this.authenticate(id, f);
        default:
          return this.operation(id, op as OperationOp, f);
      }
    } catch (e) {
      this.replyError(id, e, op, typeof f.path === 'string' ? f.path : undefined);
    }
  }

  /** An AuthFailed, NoAuth or Throttled decided here, before the log (the member audits what reached it). */
  private audit(op: string, path: string | undefined, code: 'AuthFailed' | 'NoAuth' | 'Throttled'): void {
    this.env.ctx.audit?.record({
      zxid: null,
      session: this.session ?? null,
      ids: this.access.ids,
      token: this.access.token ?? null,
      ip: this.base.ip,
      op,
      path: path ?? null,
      result: code === 'AuthFailed' ? 'unauthenticated' : code === 'NoAuth' ? 'denied' : 'throttled',
      code,
    });
  }

  private replyError(id: unknown, e: unknown, op?: string, path?: string): void {
    if (e instanceof CompactedError) {
      this.send(compactedFrame(id, undefined, e.fromZxid, e.compactZxid));
      return;
    }
    const { failure, internal } = failureOf(e);
    if (op !== undefined && (failure.code === 'NoAuth' || failure.code === 'AuthFailed')) this.audit(op, failure.path ?? path, failure.code);
    if (internal) this.env.log(e);
    const fields: ErrorFields = { code: failure.code, message: failure.message };
    if (failure.path !== undefined) fields.path = failure.path;
    if (failure.opIndex !== undefined) fields.opIndex = failure.opIndex;
    this.error(id, fields, failure.results ? { results: failure.results } : undefined);
  }

  /** Async work per socket is bounded: a client that floods requests is refused, not buffered. */
  private begin(id: unknown): boolean {
    if (this.inflight >= this.env.maxInflight) {
      this.error(id, { code: 'Unavailable', message: `too many requests in flight on this socket (bound ${this.env.maxInflight}); wait for replies` });
      return false;
    }
    this.inflight++;
    return true;
  }

  private watch(id: unknown, f: Record<string, unknown>): void {
    if (this.watches.size >= this.env.maxWatchesPerSocket) {
      throw new ZgateError('BadArguments', `too many watches on this socket (bound ${this.env.maxWatchesPerSocket})`);
    }
    const req: WatchRegistration = { path: f.path as string, kind: ((f.kind as WatchKind | undefined) ?? 'persistent') as WatchKind, withData: f.withData === true };
    const fromZxid = zxidField(f.fromZxid);
    const minZxid = zxidField(f.minZxid);
    if (fromZxid !== undefined) req.fromZxid = fromZxid;
    if (minZxid !== undefined) req.minZxid = minZxid;
    let waiting = false;
    const registered = this.env.service.watch(this, req, {
      onWatching: (w) => this.send(watchingJson(w, id)),
      // Waiting for a zxid this member has not applied yet (another member was ahead) is async work: bounded per socket.
      admitWait: () => (waiting = this.begin(id)),
      abandoned: () => this.closed,
    });
    if (!(registered instanceof Promise)) return this.afterRegister();
    registered
      .then(() => this.afterRegister())
      .catch((e: unknown) => this.replyError(id, e, 'watch', req.path))
      .finally(() => {
        if (waiting) this.inflight--;
      });
  }

  /** Closed while registering (the reply or a replayed event overflowed the queue): free it all. */
  private afterRegister(): void {
    if (this.closed) this.env.service.watches.detach(this);
  }

  private bindSession(id: unknown, f: Record<string, unknown>): void {
    if (!this.begin(id)) return;
    const wanted = typeof f.sessionId === 'string' ? BigInt(f.sessionId) : undefined;
    this.env.service
      .holdSession(wanted, f.timeoutMs as number | undefined, () => this.shutdown(CLOSE_NO_LEADER, 'this member has no leader: its keepalives reach nobody; bind the session on another member'), this.access)
      .then((bound) => {
        if (this.closed) return bound.release();
        this.releaseSession?.();
        this.session = bound.sessionId;
        this.releaseSession = bound.release;
        this.send(JSON.stringify({ id, type: 'session', sessionId: bound.sessionId.toString(), timeoutMs: bound.timeoutMs }));
      })
      .catch((e: unknown) => this.replyError(id, e, 'session'))
      .finally(() => this.inflight--);
  }

  /**
   * ZooKeeper's addAuth: the socket's identity becomes that of every credential it presented,
   * this one included. A failure (a bad token, an unlisted digest, a malformed one) answers
   * AuthFailed and closes the socket (4401), and counts against the address's throttle.
   */
  private authenticate(id: unknown, f: Record<string, unknown>): void {
    const addr = this.base.ip;
    const throttle = this.env.ctx.throttle;
    const wait = throttle?.retryAfterMs(addr) ?? 0;
    if (wait > 0) {
      this.audit('auth', undefined, 'Throttled');
      this.error(id, { code: 'Throttled', message: `too many failed authentications from this address; retry in ${Math.ceil(wait / 1000)} s` });
      this.shutdown(CLOSE_THROTTLED, 'throttled');
      return;
    }
    const digests = [...this.digests];
    let token = this.token;
    const fail = (message: string): void => {
      throttle?.failed(addr);
      this.audit('auth', undefined, 'AuthFailed');
      this.error(id, { code: 'AuthFailed', message });
      this.shutdown(CLOSE_AUTH_FAILED, 'authentication failed');
    };
    if (f.scheme === 'digest') {
      const text = f.auth as string;
      const colon = text.indexOf(':');
      if (colon < 0) return fail('a digest auth is "user:password"');
      const d = { user: text.slice(0, colon), password: text.slice(colon + 1) };
      if (!digests.some((x) => sameDigest(x, d))) digests.push(d);
    } else {
      token = f.token as string;
    }
    let identity: Identity;
    try {
      identity = mergedIdentity((c) => this.env.service.authenticate(c), this.base, digests, token);
    } catch (e) {
      if (e instanceof ZgateError && e.code === 'AuthFailed') return fail(e.message);
      throw e;
    }
    this.digests = digests;
    this.token = token;
    const before = this.access.token;
    const after = identity.access.token;
    if (before !== after) {
      if (before !== undefined) this.env.tokens.untrack(before, this);
      if (after !== undefined) this.env.tokens.track(after, this);
    }
    this.identity = identity;
    this.access = identity.access;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.send(JSON.stringify({ id, type: 'auth', ids: displayIds(identity.access.ids) }));
  }

  private operation(id: unknown, op: OperationOp, f: Record<string, unknown>): void {
    if (!this.begin(id)) return;
    runOperation(this.env.service, op, f, this.session, this.access)
      .then((answer) => {
        if (answer.ok) {
          this.send(JSON.stringify({ id, type: 'result', ...answer.body }));
          return;
        }
        const { failure } = answer;
        const fields: ErrorFields = { code: failure.code, message: failure.message };
        if (failure.path !== undefined) fields.path = failure.path;
        if (failure.opIndex !== undefined) fields.opIndex = failure.opIndex;
        const extra: Record<string, unknown> = {};
        if (failure.results) extra.results = failure.results;
        if (answer.zxid !== undefined) extra.zxid = String(answer.zxid);
        this.error(id, fields, extra);
      })
      .catch((e: unknown) => this.replyError(id, e, op, typeof f.path === 'string' ? f.path : undefined))
      .finally(() => this.inflight--);
  }
}
