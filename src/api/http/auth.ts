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
import { clientAddress, credentialsOf, refuseUrlCredentials, type IdentityConfig, type RequestIdentity } from './identity.js';
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
  }
}

export function identityConfigOf(ctx: ApiContext): IdentityConfig {
  return { trustProxy: ctx.config.trustProxy, corsOrigins: ctx.config.corsOrigins };
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
    return { ...ctx.service.authenticate(credentials), credentials };
  } catch (e) {
    if (e instanceof ZgateError && e.code === 'AuthFailed') throttle?.failed(addr);
    throw e;
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
      request.identity = identify(ctx, request.raw);
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
