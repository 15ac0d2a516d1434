/**
 * Watches over WebSocket (/v1/ws) and server-sent events (/v1/watch/{path}), the example
 * page (/examples/watch.html) and the watch metrics: one WatchHub per app, hung on the
 * member's applied log.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiContext } from '../http/context.js';
import { errorBody, statusOf } from '../http/errors.js';
import { identify, identityConfigOf, ThrottledError } from '../http/auth.js';
import { clientAddress, credentialsOf, refuseUrlCredentials } from '../http/identity.js';
import { ZgateError } from '../../core/errors.js';
import type { Credentials, WatchStreams } from '../../coordination/service.js';
import { DEFAULT_AUTH_GRACE_MS, newCounters, TokenHolders, type WatchCounters, type WatchEnv } from './env.js';
import { REQUEST_OPS } from './requests.js';
import { sseRoutes } from './sse.js';
import { WsSubscriber, type SocketAuth } from './websocket.js';

export const WS_PATH = '/v1/ws';
export const EXAMPLE_PATH = '/examples/watch.html';
/** The client library's browser build (dist/client/zgate-client.browser.js), which the example page imports. */
export const CLIENT_SCRIPT_PATH = '/examples/zgate-client.js';
const CLIENT_BUILD = 'zgate-client.browser.js';

export interface WatchPluginOptions {
  /** Where watch.html lives; default: found from the working directory or the CLI's location. */
  staticDir?: string;
  /** Where the client's browser build lives; default: dist/client, found the same way. */
  clientDir?: string;
}

/** The example page: src/api/static, found from the source tree or from dist/cli/main.js. */
function findStatic(name: string, staticDir: string | undefined): string | undefined {
  const candidates: string[] = [];
  if (staticDir !== undefined) candidates.push(staticDir);
  candidates.push(resolve(process.cwd(), 'src', 'api', 'static'));
  const main = process.argv[1];
  if (main !== undefined) {
    try {
      const dir = dirname(realpathSync(main));
      candidates.push(join(dir, '..', 'api', 'static'), join(dir, '..', '..', 'src', 'api', 'static'));
    } catch {
      // not a file (a REPL): the other candidates remain
    }
  }
  return firstReadable(candidates, name);
}

/** The client's browser build: dist/client, from the working directory or from dist/cli/main.js. */
function findClientBuild(clientDir: string | undefined): string | undefined {
  const candidates: string[] = [];
  if (clientDir !== undefined) candidates.push(clientDir);
  candidates.push(resolve(process.cwd(), 'dist', 'client'));
  const main = process.argv[1];
  if (main !== undefined) {
    try {
      candidates.push(join(dirname(realpathSync(main)), '..', 'client'));
    } catch {
      // not a file (a REPL): the other candidates remain
    }
  }
  return firstReadable(candidates, CLIENT_BUILD);
}

function firstReadable(dirs: readonly string[], name: string): string | undefined {
  for (const dir of dirs) {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      // next
    }
  }
  return undefined;
}

function rejectUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(errorBody(code, message));
  const extra: Record<string, string> = { ...headers, 'X-Content-Type-Options': 'nosniff' };
  if (status === 401) extra['WWW-Authenticate'] = 'Basic realm="zgate", Bearer realm="zgate"';
  const lines = Object.entries(extra).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${lines}Connection: close\r\n\r\n${body}`,
  );
}

/** A credential that proves an identity (what --auth-required asks for), as opposed to the address alone. */
function presentsCredential(c: Credentials): boolean {
  return c.basic !== undefined || c.token !== undefined || c.x509 !== undefined;
}

/**
 * Who an upgrade is (api.md "WebSocket, SSE and browsers under auth"): from the same
 * credentials as REST. Under --auth-required an upgrade that presents none is still accepted,
 * without an identity, so that it may send `auth`; one that presents a bad one is refused.
 * Throws ZgateError (AuthFailed, NoAuth, Throttled, BadArguments) for the upgrade's answer.
 */
function upgradeAuth(ctx: ApiContext, req: IncomingMessage): SocketAuth {
  refuseUrlCredentials(req.url ?? '');
  if (ctx.service.authRequired) {
    const config = identityConfigOf(ctx);
    const addr = clientAddress(req, config.trustProxy);
    const wait = ctx.throttle?.retryAfterMs(addr) ?? 0;
    if (wait > 0) throw new ThrottledError(wait);
    let credentials: Credentials;
    try {
      credentials = credentialsOf(req, config);
    } catch (e) {
      if (e instanceof ZgateError && e.code === 'AuthFailed') ctx.throttle?.failed(addr);
      throw e;
    }
    if (!presentsCredential(credentials)) return { credentials: { ip: credentials.ip }, identity: undefined };
  }
  const { credentials, ...identity } = identify(ctx, req);
  return { credentials, identity };
}

/** A browser's Origin must be this server's own, or one of the CORS allow-list. */
function originAllowed(origin: string, host: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

const WS_DESCRIPTION = [
  'WebSocket upgrade (a plain GET answers 426). JSON text frames; each request carries a client-chosen `id` echoed by its reply.',
  `Requests (\`op\`): ${REQUEST_OPS.join(', ')}.`,
  '`{"id":1,"op":"watch","path":"/a","kind":"data|exists|children|persistent|persistent_recursive","withData":true,"fromZxid":"N","minZxid":"M"}` →',
  '`{"id":1,"type":"watching","watchId":"7","zxid":"Z","state":{"data","encoding","stat"(,"children")}|null}`; then',
  '`{"type":"event","watchId":"7","event":"NodeDataChanged","path":"/a","zxid":"..."}` or, for several events of one zxid,',
  '`{"type":"events","zxid":"Z","events":[...]}`; heartbeats `{"type":"heartbeat","zxid":"..."}`.',
  '`unwatch` → `{"type":"unwatched"}`; `ping` → `{"type":"pong","zxid"}`; get/create/set/delete/txn → `{"type":"result",...}` with the REST body\'s fields and `zxid`.',
  'create/set/delete/txn take `"idempotencyKey"` (as the Idempotency-Key header over HTTP, one table for both): a retry with the same key answers the first result with `"idempotentReplayed":true`.',
  'Errors: `{"id":n,"type":"error","error":{"code","message"}}`; a resume older than the history: `{"type":"error","code":"Compacted","compactZxid":"..."}`.',
  '`fromZxid` resumes after N; `minZxid` (as `?minZxid=` on reads) first waits until this member has applied M, so a watch set anew never starts from an older state than the client has seen.',
  'Identity is fixed at the upgrade from the same credentials as REST (Authorization, or the zgate_token cookie under the Origin rules): 401, 403 or 429 refuse the upgrade.',
  '`{"id":1,"op":"auth","scheme":"digest","auth":"user:password"}` or `{"id":1,"op":"auth","scheme":"bearer","token":"zgt_..."}` adds an identity (ZooKeeper\'s addAuth) → `{"id":1,"type":"auth","ids":[...]}`; a failed auth closes the socket with 4401.',
  'Under --auth-required a socket without credentials may send only `auth`, and is closed (4401) after 10 s without one. A revoked or expired token closes the sockets that used it (4401).',
  '`create` takes `"acl":[{"perms":"cdrwa","scheme","id"}]`; `getAcl` {path} → `{"type":"result","path","acl","stat"}`; `setAcl` {path, acl, version} → `{"type":"result","path","stat"}`.',
  'A reader slower than its send queue bound is closed with code 4008; a socket holding a session, with 1013 when this member has known no leader for a third of the session timeout (bind it on another member).',
].join(' ');

/** The watch metrics: connections, watches, history and events, read from plain counters at scrape time. */
function installWatchMetrics(registry: Registry, counters: WatchCounters, hub: WatchStreams): void {
new Gauge({
  name: 'zgate_watch_connections',
  help: 'open watch connections, by transport',
  labelNames: ['transport'] as const,
  registers: [registry],
  collect() {
    this.set({ transport: 'ws' }, counters.wsOpen);
    this.set({ transport: 'sse' }, counters.sseOpen);
  },
});
new Gauge({ name: 'zgate_watches', help: 'active watches', registers: [registry], collect() { this.set(hub.stats().watches); } });
new Gauge({ name: 'zgate_watch_history_entries', help: 'zxids with events retained for resume', registers: [registry], collect() { this.set(hub.stats().historyEntries); } });
new Gauge({ name: 'zgate_watch_history_bytes', help: 'estimated bytes retained by the watch history', registers: [registry], collect() { this.set(hub.stats().historyBytes); } });
const reported = { wsEvents: 0, sseEvents: 0, wsSlowCloses: 0, sseSlowCloses: 0 };
new Counter({
  name: 'zgate_watch_events_sent_total',
  help: 'watch events sent, by transport',
  labelNames: ['transport'] as const,
  registers: [registry],
  collect() {
    this.inc({ transport: 'ws' }, counters.wsEvents - reported.wsEvents);
    this.inc({ transport: 'sse' }, counters.sseEvents - reported.sseEvents);
    reported.wsEvents = counters.wsEvents;
    reported.sseEvents = counters.sseEvents;
  },
});
new Counter({
  name: 'zgate_watch_slow_reader_closes_total',
  help: 'watch connections closed because the reader could not keep up (WebSocket code 4008), by transport',
  labelNames: ['transport'] as const,
  registers: [registry],
  collect() {
    this.inc({ transport: 'ws' }, counters.wsSlowCloses - reported.wsSlowCloses);
    this.inc({ transport: 'sse' }, counters.sseSlowCloses - reported.sseSlowCloses);
    reported.wsSlowCloses = counters.wsSlowCloses;
    reported.sseSlowCloses = counters.sseSlowCloses;
  },
});
}

function watchEnv(app: FastifyInstance, ctx: ApiContext): WatchEnv {
  const { service, config } = ctx;
  return {
    service,
    config,
    ctx,
    tokens: new TokenHolders(),
    authGraceMs: config.authGraceMs ?? DEFAULT_AUTH_GRACE_MS,
    counters: newCounters(),
    sockets: new Set(),
    maxFrameBytes: Math.ceil(service.limits.maxDataBytes * 1.5) + 65536,
    maxInflight: 256,
    maxWatchesPerSocket: 10_000,
    closeGraceMs: 5_000,
    livenessMs: Math.max(3 * config.heartbeatMs, 30_000),
    log: (err) => app.log.error({ err }, 'watch request failed'),
  };
}

/** The answer to an upgrade whose identity failed: 401 (WWW-Authenticate), 403, 429 (Retry-After), 400; audited as REST's are. */
function refuseIdentity(app: FastifyInstance, ctx: ApiContext, req: IncomingMessage, socket: Duplex, e: unknown): void {
  const code = e instanceof ZgateError ? e.code : undefined;
  if (ctx.audit !== undefined && (code === 'AuthFailed' || code === 'NoAuth' || code === 'Throttled')) {
    const ip = clientAddress(req, ctx.config.trustProxy);
    ctx.audit.record({
      zxid: null,
      session: null,
      ids: [{ scheme: 'ip', id: ip }],
      token: null,
      ip,
      op: `GET ${WS_PATH}`,
      path: null,
      result: code === 'AuthFailed' ? 'unauthenticated' : code === 'NoAuth' ? 'denied' : 'throttled',
      code,
    });
  }
  if (e instanceof ThrottledError) return rejectUpgrade(socket, 429, 'Throttled', e.message, { 'Retry-After': String(Math.ceil(e.retryAfterMs / 1000)) });
  if (e instanceof ZgateError) return rejectUpgrade(socket, statusOf(e.code), e.code, e.message);
  app.log.error({ err: e }, 'WebSocket upgrade failed');
  rejectUpgrade(socket, 500, 'SystemError', 'the upgrade failed');
}

export async function watchRoutes(app: FastifyInstance, ctx: ApiContext, registry: Registry, opts: WatchPluginOptions = {}): Promise<void> {
  const { service, config } = ctx;
  const env = watchEnv(app, ctx);

  installWatchMetrics(registry, env.counters, service.watches);
  // A revoked or expired token ends the sockets and streams that authenticated with it.
  service.onTokenGone((accessor) => env.tokens.gone(accessor, env.log));

  // ---------------------------------------------------------------- WebSocket
  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * env.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
  const raw = new Set<WebSocket>();
  let closing = false;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = (req.url ?? '').split('?')[0];
    if (pathname !== WS_PATH) {
      // Someone else's upgrade (another plugin) is theirs to answer.
      if (app.server.listenerCount('upgrade') === 1) rejectUpgrade(socket, 404, 'BadArguments', `no WebSocket at ${pathname}; use ${WS_PATH}`);
      return;
    }
    if (closing) return rejectUpgrade(socket, 503, 'Unavailable', 'the member is shutting down');
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, config.corsOrigins)) {
      return refuseIdentity(app, ctx, req, socket, new ZgateError('NoAuth', `origin ${origin} is not allowed (same origin, or --cors-origins)`));
    }
    let auth: SocketAuth;
    try {
      auth = upgradeAuth(ctx, req);
    } catch (e) {
      return refuseIdentity(app, ctx, req, socket, e);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      raw.add(ws);
      ws.once('close', () => raw.delete(ws));
      env.sockets.add(new WsSubscriber(ws, env, auth));
    });
  };
  app.server.on('upgrade', onUpgrade);

  app.get(
    WS_PATH,
    {
      schema: {
        summary: 'WebSocket: watches (one-shot, persistent, recursive) with resume, and the REST operations',
        description: WS_DESCRIPTION,
        tags: ['watches'],
        response: {
          101: { description: 'Switching Protocols: the WebSocket is open' },
          426: { description: 'Upgrade Required: this URL speaks WebSocket only', $ref: 'Error#' },
        },
      },
    },
    async (_request, reply) => reply.code(426).header('upgrade', 'websocket').send(errorBody('BadArguments', `${WS_PATH} is a WebSocket: send an Upgrade request`)),
  );

  // ---------------------------------------------------------------- SSE
  await app.register(async (scope) => sseRoutes(scope, env));

  // ---------------------------------------------------------------- example page
  app.get(EXAMPLE_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const page = findStatic('watch.html', opts.staticDir);
    if (page === undefined) return reply.code(404).send(errorBody('NoNode', 'the example page is not installed (src/api/static/watch.html)'));
    return reply.type('text/html; charset=utf-8').header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(page);
  });

  app.get(CLIENT_SCRIPT_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const script = findClientBuild(opts.clientDir);
    if (script === undefined) return reply.code(404).send(errorBody('NoNode', `the client's browser build is not installed (npm run build makes dist/client/${CLIENT_BUILD})`));
    return reply.type('text/javascript; charset=utf-8').header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(script);
  });

  // ---------------------------------------------------------------- shutdown
  app.addHook('preClose', async () => {
    closing = true;
    for (const s of [...env.sockets]) s.shutdown(1001, 'the member is shutting down');
    const deadline = Date.now() + 1000;
    while (raw.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const ws of raw) ws.terminate();
  });
  app.addHook('onClose', async () => {
    app.server.off('upgrade', onUpgrade);
    wss.close();
  });
}
