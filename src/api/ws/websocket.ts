/**
 * One WebSocket on /v1/ws (api.md "WebSocket"): JSON text frames, each request with a
 * client-chosen `id` echoed by its reply. watch / unwatch / ping / session, and the REST
 * operations. Bad frames get an error frame and the socket goes on; a reader too slow for
 * its bounded send queue is closed with 4008; a closed socket frees all its watches.
 */
import type { RawData, WebSocket } from 'ws';
import { ZgateError } from '../../core/errors.js';
import type { SessionId, Zxid } from '../../core/types.js';
import type { WatchRegistration } from '../../coordination/service.js';
import { CompactedError, Subscriber, type Delivery, type Watch, type WatchKind } from '../../watch/index.js';
import { compactedFrame, errorFrame, eventJson, sharedFrame, watchingJson, type ErrorFields } from './frames.js';
import { failureOf } from '../../core/errors.js';
import { REQUEST_SCHEMAS, runOperation, validateRequest, zxidField, type RequestOp } from './requests.js';
import type { WatchEnv } from './env.js';

/** Close code for a reader that can't keep up (api.md). */
export const CLOSE_SLOW_READER = 4008;
/** RFC 6455's "Try Again Later": this member knows no leader, so a bound session's keepalives reach nobody. */
export const CLOSE_NO_LEADER = 1013;
const OPEN = 1;

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.byteLength, 0);
  return data.byteLength;
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

export class WsSubscriber extends Subscriber {
  private closed = false;
  private inflight = 0;
  private lastSeen = Date.now();
  private session: SessionId | undefined;
  private releaseSession: (() => void) | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly env: WatchEnv,
  ) {
    super();
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

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
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
        default:
          return this.operation(id, op as 'get' | 'create' | 'set' | 'delete' | 'txn', f);
      }
    } catch (e) {
      this.replyError(id, e);
    }
  }

  private replyError(id: unknown, e: unknown): void {
    if (e instanceof CompactedError) {
      this.send(compactedFrame(id, undefined, e.fromZxid, e.compactZxid));
      return;
    }
    const { failure, internal } = failureOf(e);
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
      .catch((e: unknown) => this.replyError(id, e))
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
      .holdSession(wanted, f.timeoutMs as number | undefined, () => this.shutdown(CLOSE_NO_LEADER, 'this member has no leader: its keepalives reach nobody; bind the session on another member'))
      .then((bound) => {
        if (this.closed) return bound.release();
        this.releaseSession?.();
        this.session = bound.sessionId;
        this.releaseSession = bound.release;
        this.send(JSON.stringify({ id, type: 'session', sessionId: bound.sessionId.toString(), timeoutMs: bound.timeoutMs }));
      })
      .catch((e: unknown) => this.replyError(id, e))
      .finally(() => this.inflight--);
  }

  private operation(id: unknown, op: 'get' | 'create' | 'set' | 'delete' | 'txn', f: Record<string, unknown>): void {
    if (!this.begin(id)) return;
    runOperation(this.env.service, op, f, this.session)
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
      .catch((e: unknown) => this.replyError(id, e))
      .finally(() => this.inflight--);
  }
}
