/**
 * Server-sent events: GET /v1/watch/{path}?kind=persistent|persistent_recursive&withData=true
 * (api.md "Server-sent events"). One SSE message per event: `event:` its type, `data:` the
 * same JSON as the WebSocket's event frame. The messages of one zxid go out in one write, and
 * only the last of them carries `id: <zxid>`, so a reconnect's Last-Event-ID never falls in
 * the middle of a multi. Heartbeats are a comment with the applied zxid plus an `id:` line,
 * which moves an EventSource's Last-Event-ID forward without firing an event.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZgateError } from '../../core/errors.js';
import type { Zxid } from '../../core/types.js';
import { CompactedError, Subscriber, type Delivery, type Watch, type WatchKind } from '../../watch/index.js';
import { boolParam, errorResponses } from '../http/schemas.js';
import { znodePathFromUrl } from '../http/paths.js';
import { identify } from '../http/auth.js';
import type { Access } from '../../core/acl.js';
import type { TokenBound, WatchEnv } from './env.js';
import { eventJson, sharedFrame, watchingJson } from './frames.js';

export const WATCH_PREFIX = '/v1/watch';

/** How long an EventSource waits before reconnecting (the SSE `retry:` field), ms. */
const RETRY_MS = 1000;

export class SseSubscriber extends Subscriber implements TokenBound {
  private closed = false;
  /** The stream's headers are out: nothing may be written before (a heartbeat while the registration waits). */
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly env: WatchEnv,
    access: Access,
  ) {
    super();
    this.access = access;
    if (access.token !== undefined) env.tokens.track(access.token, this);
    env.service.watches.attach(this);
    env.counters.sseOpen++;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Called once the response's headers are written. */
  start(): void {
    this.started = true;
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.closed || !this.started || this.res.destroyed) return false;
    const queued = this.res.writableLength;
    if (queued > 0 && queued + chunk.length > this.env.config.watchQueueBytes) {
      // SSE has no close code: drop the stream; an EventSource reconnects with Last-Event-ID.
      this.env.counters.sseSlowCloses++;
      this.onClose();
      this.res.destroy();
      return false;
    }
    this.res.write(chunk);
    return true;
  }

  override deliver(d: Delivery, watches: readonly Watch[], events: readonly number[]): void {
    const n = watches.length;
    if (n === 1) {
      const w = watches[0]!;
      const i = events[0]!;
      // SSE and WebSocket frames of one delivery differ: SSE's key carries a prefix.
      const chunk = sharedFrame(d, i, w.withData, `sse${w.id}`, () => `event: ${d.events[i]!.type}\nid: ${d.zxid}\ndata: ${eventJson(w.id, d, i, w.withData)}\n\n`);
      if (this.write(chunk)) this.env.counters.sseEvents += 1;
      return;
    }
    let chunk = '';
    for (let k = 0; k < n; k++) {
      const ev = d.events[events[k]!]!;
      chunk += `event: ${ev.type}\n${k === n - 1 ? `id: ${d.zxid}\n` : ''}data: ${eventJson(watches[k]!.id, d, events[k]!, watches[k]!.withData)}\n\n`;
    }
    if (this.write(chunk)) this.env.counters.sseEvents += n;
  }

  override heartbeat(zxid: Zxid): void {
    this.write(`: heartbeat zxid=${zxid}\nid: ${zxid}\n\n`);
  }

  override compacted(): void {
    // The stream can't go on exactly: end it; the EventSource's reconnect gets 410 Compacted.
    this.shutdown();
  }

  shutdown(): void {
    if (this.closed) return;
    this.onClose();
    this.res.end();
  }

  /** The token the stream authenticated with was revoked or expired: `event: error` (AuthFailed), then the end. */
  tokenGone(): void {
    if (this.closed) return;
    if (!this.started) {
      // Still registering: no stream to end yet; the registration sees the response gone.
      this.onClose();
      this.res.destroy();
      return;
    }
    const body = JSON.stringify({ error: { code: 'AuthFailed', message: 'token revoked' } });
    if (!this.res.destroyed) this.res.write(`event: error\ndata: ${body}\n\n`);
    this.shutdown();
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.access.token !== undefined) this.env.tokens.untrack(this.access.token, this);
    this.env.counters.sseOpen--;
    this.env.service.watches.detach(this);
    this.env.sockets.delete(this);
  }
}

interface WatchQuery {
  kind?: 'persistent' | 'persistent_recursive';
  withData?: boolean;
  fromZxid?: string;
}

const ZXID_TEXT = /^(0|[1-9][0-9]{0,15})$/;

function lastEventId(header: string | string[] | undefined): Zxid | undefined {
  if (header === undefined) return undefined;
  const v = (Array.isArray(header) ? header[header.length - 1]! : header).trim();
  if (v === '') return undefined;
  if (!ZXID_TEXT.test(v)) throw new ZgateError('BadArguments', `Last-Event-ID must be a zxid (decimal digits), got '${v}'`);
  return Number(v);
}

const schema = {
  summary: 'Watch a znode (or its subtree) as server-sent events',
  description:
    'With Accept: text/event-stream. The first message is `event: watching` (data: the watching reply, as on the WebSocket); ' +
    'then one message per event: `event:` NodeCreated, NodeDeleted, NodeDataChanged or NodeChildrenChanged, `data:` the JSON event, ' +
    'and `id:` the zxid on the last message of each zxid. Heartbeats are comments `: heartbeat zxid=N` with an `id: N` line. ' +
    'Last-Event-ID (or ?fromZxid=) resumes: retained events with zxid > N, then live ones; older than the retained history answers 410 Compacted. ' +
    'A reader slower than the send queue bound is disconnected (its EventSource reconnects and resumes).',
  tags: ['watches'],
  params: { type: 'object', properties: { '*': { type: 'string' } } },
  headers: { type: 'object', properties: { 'last-event-id': { type: 'string', description: 'resume after this zxid (sent by a reconnecting EventSource)' } } },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      kind: { type: 'string', enum: ['persistent', 'persistent_recursive'], default: 'persistent', description: 'persistent: the znode and its children list; persistent_recursive: the whole subtree' },
      withData: { ...boolParam, description: 'add data, encoding and stat (as of the event) to every event but NodeDeleted' },
      fromZxid: { type: 'string', pattern: ZXID_TEXT.source, description: 'resume after this zxid (Last-Event-ID wins when both are sent)' },
    },
  },
  response: {
    200: { description: 'the event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
    400: errorResponses[400],
    410: {
      description: 'Compacted: the events after fromZxid / Last-Event-ID are no longer retained; re-read and watch anew',
      type: 'object',
      properties: {
        error: {
          type: 'object',
          properties: { code: { type: 'string' }, message: { type: 'string' }, compactZxid: { type: 'string', description: 'the oldest zxid a resume may start from' } },
        },
      },
    },
    503: errorResponses[503],
  },
};

const headSchema = {
  ...schema,
  summary: 'The headers an event stream would start with (no stream is opened)',
  description: 'The same checks as the GET (path, Accept, readiness); 200 with Content-Type text/event-stream, or the error the GET would answer first.',
  response: { 200: { description: 'a GET would open the stream', type: 'null' }, 400: errorResponses[400], 503: errorResponses[503] },
};

export async function sseRoutes(app: FastifyInstance, env: WatchEnv): Promise<void> {

  const handler = async (request: FastifyRequest<{ Querystring: WatchQuery }>, reply: FastifyReply) => {
    const path = znodePathFromUrl(request.raw.url ?? '', WATCH_PREFIX);
    const accept = request.headers.accept;
    if (accept !== undefined && !/text\/event-stream|\*\/\*|text\/\*/.test(accept)) {
      throw new ZgateError('BadArguments', `this route answers text/event-stream only (Accept: ${accept})`);
    }
    const kind: WatchKind = request.query.kind ?? 'persistent';
    const withData = request.query.withData === true;
    const fromZxid = lastEventId(request.headers['last-event-id']) ?? (request.query.fromZxid === undefined ? undefined : Number(request.query.fromZxid));
    const res = reply.raw;
    // (The request's own 'close' fires once a GET is read; the response's, when the client goes.)
    let gone = false;
    const onGone = () => (gone = true);
    res.once('close', onGone);
    // The identity hook of /v1 has identified the request already (401, 403 or 429 before any stream).
    const identity = request.identity ?? identify(env.ctx, request.raw);
    const sub = new SseSubscriber(res, env, identity.access);
    let started = false;
    try {
      // From the registration to the end of onWatching nothing awaits: read, register and replay are atomic.
      const registered = env.service.watch(sub, fromZxid === undefined ? { path, kind, withData } : { path, kind, withData, fromZxid }, {
        onWatching: (w) => {
          reply.hijack();
          started = true;
          const headers: Record<string, string | number | string[]> = {};
          for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v as string | number | string[];
          res.writeHead(200, {
            ...headers,
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            connection: 'keep-alive',
            'x-accel-buffering': 'no',
            'zgate-zxid': String(env.service.watches.appliedZxid),
          });
          res.write(`retry: ${RETRY_MS}\n`);
          sub.start();
          sub.write(`event: watching\nid: ${w.zxid}\ndata: ${watchingJson(w, undefined)}\n\n`);
        },
        abandoned: () => gone || res.destroyed || request.raw.socket.destroyed,
      });
      const w = registered instanceof Promise ? await registered : registered;
      if (w === undefined) {
        sub.onClose();
        reply.hijack();
        return reply;
      }
    } catch (e) {
      sub.onClose();
      if (started) {
        res.end();
        return reply;
      }
      if (e instanceof CompactedError) {
        return reply
          .code(410)
          .type('application/json; charset=utf-8')
          .send({ error: { code: 'Compacted', message: e.message, compactZxid: String(e.compactZxid) } });
      }
      throw e;
    } finally {
      res.off('close', onGone);
    }
    env.sockets.add(sub);
    res.once('close', () => sub.onClose());
    if (sub.isClosed) res.destroy();
    return reply;
  };

  /**
   * HEAD answers the stream's headers and ends: what the GET would start with, after the same
   * checks (path, Accept, readiness, a resume point this member can serve), without registering.
   */
  const headHandler = async (request: FastifyRequest<{ Querystring: WatchQuery }>, reply: FastifyReply) => {
    const path = znodePathFromUrl(request.raw.url ?? '', WATCH_PREFIX);
    const accept = request.headers.accept;
    if (accept !== undefined && !/text\/event-stream|\*\/\*|text\/\*/.test(accept)) {
      throw new ZgateError('BadArguments', `this route answers text/event-stream only (Accept: ${accept})`);
    }
    lastEventId(request.headers['last-event-id']);
    // The path's rules and the member's readiness, as the GET's registration would check them.
    await env.service.read({ path, access: (request.identity ?? identify(env.ctx, request.raw)).access });
    return reply.code(200).header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache, no-transform').send();
  };
  app.head<{ Querystring: WatchQuery }>(WATCH_PREFIX, { schema: { ...headSchema, summary: 'The headers an event stream of the root znode (or the whole tree) would start with' }, config: { documentedHead: true } }, headHandler);
  app.head<{ Querystring: WatchQuery }>(`${WATCH_PREFIX}/*`, { schema: headSchema, config: { documentedHead: true } }, headHandler);
  app.get<{ Querystring: WatchQuery }>(WATCH_PREFIX, { schema: { ...schema, summary: 'Watch the root znode (or the whole tree) as server-sent events' } }, handler);
  app.get<{ Querystring: WatchQuery }>(`${WATCH_PREFIX}/*`, { schema }, handler);
}
