/**
 * Identity on every /v1 request (the hook), and the /v1/auth routes: whoami, and the tokens.
 * The hook reads the credentials (identity.ts) and asks the service who they prove; a failure
 * is 401 AuthFailed with WWW-Authenticate, and counts against the address's failed-auth rate
 * (past it, 429 Throttled until the window passes).
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ZgateError } from '../../core/errors.js';
import { displayIds } from '../../coordination/service.js';
import type { ApiContext } from './context.js';
import { clientAddress, credentialsOf, refuseUrlCredentials, TOKEN_COOKIE, type IdentityConfig, type RequestIdentity } from './identity.js';
import { errorResponses } from './schemas.js';

/** Failed authentications per address, over a one-second window. */
export interface AuthThrottle {
  failed(addr: string): void;
  /** 0 when `addr` may try again now. */
  retryAfterMs(addr: string): number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request is (every /v1 route); null before the identity hook ran, and outside /v1. */
    identity: RequestIdentity | null;
    /** Its write became a log entry (audited by the member, not by the face). */
    reachedLog: boolean;
  }
}

const configs = new WeakMap<ApiContext, IdentityConfig>();

/** The face's settings identity.ts needs, made once per app (asked on every request). */
export function identityConfigOf(ctx: ApiContext): IdentityConfig {
  let c = configs.get(ctx);
  if (c === undefined) {
    c = { trustProxy: ctx.config.trustProxy, corsOrigins: ctx.config.corsOrigins };
    configs.set(ctx, c);
  }
  return c;
}

/**
 * The identity of a request, an upgrade or a stream, as every face finds it: AuthFailed
 * (counted against the address), Throttled past the rate, NoAuth for a cross-site cookie.
 */
export function identify(ctx: ApiContext, req: IncomingMessage, throttle: AuthThrottle | undefined = ctx.throttle): RequestIdentity {
  const config = identityConfigOf(ctx);
  const addr = clientAddress(req, config.trustProxy);
  const wait = throttle?.retryAfterMs(addr) ?? 0;
  if (wait > 0) throw new ThrottledError(wait);
  try {
    const credentials = credentialsOf(req, config);
    const found = ctx.service.authenticate(credentials) as RequestIdentity;
    // authenticate() made this object for this request: completed in place, not copied.
    found.credentials = credentials;
    return found;
  } catch (e) {
    if (e instanceof ZgateError && e.code === 'AuthFailed') throttle?.failed(addr);
    throw e;
  }
}

/** The request's ?minZxid, when it is one (the route's schema refuses a malformed one later). */
function minZxidOf(url: string): number | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const v = new URLSearchParams(url.slice(q + 1)).get('minZxid');
  return v !== null && /^(0|[1-9][0-9]{0,15})$/.test(v) ? Number(v) : undefined;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * identify(), at the request's ?minZxid when it presents a token: a token created or revoked
 * through another member is decided once this member has applied that zxid (the wait a read
 * with ?minZxid makes anyway, made before the token is looked up).
 */
async function identifyAt(ctx: ApiContext, req: IncomingMessage, minZxid: number | undefined): Promise<RequestIdentity> {
  if (minZxid !== undefined && minZxid > ctx.service.appliedZxid && presentsToken(ctx, req)) await ctx.service.awaitZxid(minZxid);
  return identifyOnConnection(ctx, req);
}

/** The identity a keep-alive connection last proved, with the header values it proved it from. */
const lastOnConnection = new WeakMap<object, { key: string; identity: RequestIdentity }>();

/**
 * identify(), reusing what the same connection proved with the same Authorization (and
 * X-Forwarded-For) on its previous request: a client sends the same credentials on every
 * request of a connection, and the ids they prove cannot change (the address, the certificate
 * and --digest-users are fixed; a token is checked live on every use). Cookie requests, whose
 * answer also depends on Origin and the method, always go the whole way.
 */
function identifyOnConnection(ctx: ApiContext, req: IncomingMessage): RequestIdentity {
  const auth = req.headers.authorization;
  if (auth === undefined) return identify(ctx, req);
  // A throttled address is answered 429 by identify(), whatever it proved before.
  if (ctx.throttle !== undefined && ctx.throttle.retryAfterMs(clientAddress(req, identityConfigOf(ctx).trustProxy)) > 0) return identify(ctx, req);
  const xff = req.headers['x-forwarded-for'];
  const key = `${auth}\u0000${Array.isArray(xff) ? xff.join(',') : (xff ?? '')}`;
  const last = lastOnConnection.get(req.socket);
  if (last !== undefined && last.key === key) {
    const token = last.identity.access.token;
    if (token === undefined || ctx.service.tokenLive(token)) return last.identity;
  }
  const identity = identify(ctx, req);
  lastOnConnection.set(req.socket, { key, identity });
  return identity;
}

function presentsToken(ctx: ApiContext, req: IncomingMessage): boolean {
  try {
    return credentialsOf(req, identityConfigOf(ctx)).token !== undefined;
  } catch {
    return false;
  }
}

/** 429 with Retry-After: too many failed authentications from one address. */
export class ThrottledError extends ZgateError {
  constructor(readonly retryAfterMs: number) {
    super('Throttled', `too many failed authentications from this address; retry in ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

export function installIdentity(app: FastifyInstance, ctx: ApiContext): void {
  app.decorateRequest('identity', null);
  app.decorateRequest('reachedLog', false);
  const audit = ctx.audit;
  if (audit !== undefined) {
    app.addHook('onResponse', async (request, reply) => {
      const status = reply.statusCode;
      if ((status !== 401 && status !== 403 && status !== 429) || request.reachedLog) return;
      const id = request.identity;
      const ip = clientAddress(request.raw, ctx.config.trustProxy);
      const url = (request.raw.url ?? '').split('?')[0]!;
      audit.record({
        zxid: null,
        session: null,
        ids: id?.access.ids ?? [{ scheme: 'ip', id: ip }],
        token: id?.token?.id ?? null,
        ip,
        op: `${request.method} ${request.routeOptions.url ?? url}`,
        path: url.startsWith('/v1/znodes') ? decodeURIComponentSafe(url.slice('/v1/znodes'.length)) || '/' : null,
        result: status === 401 ? 'unauthenticated' : status === 403 ? 'denied' : 'throttled',
        code: status === 401 ? 'AuthFailed' : status === 403 ? 'NoAuth' : 'Throttled',
      });
    });
  }
  app.addHook('onRequest', async (request, reply) => {
    const url = request.raw.url ?? '';
    try {
      refuseUrlCredentials(url);
    } catch (e) {
      // The value of a credential in the URL must not reach a log line: the URL is replaced.
      request.raw.url = url.split('?')[0]!;
      throw e;
    }
    if (!url.startsWith('/v1/') && url !== '/v1') return;
    try {
      request.identity = await identifyAt(ctx, request.raw, minZxidOf(url));
    } catch (e) {
      if (e instanceof ThrottledError) reply.header('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
      throw e;
    }
  });
}

const whoamiSchema = {
  summary: 'Who the request is: its ids (a digest shows its user), whether one is super, and the token it used',
  tags: ['auth'],
  response: {
    200: {
      type: 'object',
      properties: {
        ids: { type: 'array', items: { type: 'object', properties: { scheme: { type: 'string' }, id: { type: 'string' } }, required: ['scheme', 'id'] } },
        super: { type: 'boolean' },
        token: {
          type: 'object',
          nullable: true,
          properties: { id: { type: 'string' }, readOnly: { type: 'boolean' }, prefix: { type: 'string', nullable: true }, expiresAt: { type: 'integer' } },
        },
      },
      required: ['ids', 'super', 'token'],
    },
    401: errorResponses[401],
  },
};

export async function authRoutes(app: FastifyInstance): Promise<void> {
  app.get('/v1/auth/whoami', { schema: whoamiSchema }, async (request) => {
    const id = request.identity!;
    return { ids: displayIds(id.access.ids), super: id.access.super, token: id.token };
  });
}

const idSchema = { type: 'object', additionalProperties: false, properties: { scheme: { type: 'string' }, id: { type: 'string' } }, required: ['scheme', 'id'] } as const;
const tokenViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    ids: { type: 'array', items: idSchema },
    readOnly: { type: 'boolean' },
    prefix: { type: 'string', nullable: true },
    description: { type: 'string' },
    cookie: { type: 'boolean' },
    createdAt: { type: 'integer' },
    expiresAt: { type: 'integer' },
  },
} as const;

interface TokenBody {
  ttlMs?: number;
  readOnly?: boolean;
  prefix?: string;
  description?: string;
  cookie?: boolean;
  ids?: { scheme: string; id: string }[];
}

const createTokenSchema = {
  summary: 'Create a token (needs Basic or a client certificate); its secret is shown once',
  tags: ['auth'],
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ttlMs: { type: 'integer', description: 'lifetime, 60000 .. --max-token-ttl-ms (default 1 hour)' },
      readOnly: { type: 'boolean', description: 'admit only requests whose every check is READ' },
      prefix: { type: 'string', maxLength: 1024, description: 'admit only this path and paths under prefix + "/"' },
      description: { type: 'string', maxLength: 256 },
      cookie: { type: 'boolean', description: 'also set the zgate_token cookie (HttpOnly; SameSite=Strict) for browsers' },
      ids: { type: 'array', maxItems: 16, items: idSchema, description: 'narrow the caller\'s ids (super may name any)' },
    },
  },
  response: { 201: { ...tokenViewSchema, properties: { ...tokenViewSchema.properties, token: { type: 'string' } } }, 400: errorResponses[400], 401: errorResponses[401], 403: errorResponses[403], 409: errorResponses[409] },
};

/** The token routes: create (201, Cache-Control: no-store), list, get, delete, delete self. */
export async function tokenRoutes(app: FastifyInstance, ctx: ApiContext, tls: boolean): Promise<void> {
  const { service } = ctx;
  app.post<{ Body: TokenBody }>('/v1/auth/tokens', { schema: createTokenSchema }, async (request, reply) => {
    const id = request.identity!;
    const b = request.body ?? {};
    const req: Parameters<typeof service.createToken>[0] = {};
    if (b.ttlMs !== undefined) req.ttlMs = b.ttlMs;
    if (b.readOnly !== undefined) req.readOnly = b.readOnly;
    if (b.prefix !== undefined) req.prefix = b.prefix;
    if (b.description !== undefined) req.description = b.description;
    if (b.cookie !== undefined) req.cookie = b.cookie;
    if (b.ids !== undefined) req.ids = b.ids;
    const made = await service.createToken(req, id);
    reply.header('cache-control', 'no-store');
    reply.header('zgate-zxid', String(made.zxid));
    if (made.view.cookie) {
      const maxAge = Math.floor((made.view.expiresAt - made.view.createdAt) / 1000);
      reply.header('set-cookie', `${TOKEN_COOKIE}=${made.token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${tls ? '; Secure' : ''}`);
    }
    return reply.code(201).send({ ...made.view, token: made.token });
  });
  app.get('/v1/auth/tokens', { schema: { summary: 'The caller\'s tokens (super: all), never their secrets', tags: ['auth'] } }, async (request) => ({ tokens: service.listTokens(request.identity!.access) }));
  app.get<{ Params: { id: string } }>('/v1/auth/tokens/:id', { schema: { summary: 'One token (its creator or super; 404 otherwise)', tags: ['auth'] } }, async (request) => service.getToken(request.params.id, request.identity!.access));
  app.delete<{ Params: { id: string } }>('/v1/auth/tokens/:id', { schema: { summary: 'Revoke a token (its creator or super; 404 otherwise); "self" is the token of this request', tags: ['auth'] } }, async (request, reply) => {
    const identity = request.identity!;
    let id = request.params.id;
    if (id === 'self') {
      if (identity.token === null) throw new ZgateError('BadArguments', 'DELETE /v1/auth/tokens/self needs a request authenticated by a token');
      id = identity.token.id;
    }
    const r = await service.revokeToken(id, identity.access);
    reply.header('zgate-zxid', String(r.zxid));
    if (identity.credentials.token !== undefined && identity.token?.id === id) reply.header('set-cookie', `${TOKEN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return reply.code(204).send();
  });
}
