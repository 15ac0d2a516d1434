/**
 * /v1/sessions (api.md "Sessions"): create, keepalive, look up and close sessions; the
 * WebSocket binding of a session to a socket; the session metrics.
 *
 * Ids travel as decimal strings (64-bit). A malformed id is 400 BadArguments; an id that is
 * not an open session (unknown, closed or expired) is 410 SessionExpired, and a keepalive
 * never brings a session back: the client must create a new one.
 */
import { accessOf } from './caller.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ZgateError } from '../../core/errors.js';
import type { SessionId } from '../../core/types.js';
import type { ApiContext } from './context.js';
import { errorRef } from './schemas.js';
import { parseSessionHeader } from './sessions-header.js';

export const SESSIONS_PREFIX = '/v1/sessions';

const idParams = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[0-9]{1,20}$', description: 'the session id, decimal' } },
  required: ['id'],
} as const;

const sessionAnswer = {
  type: 'object',
  properties: {
    sessionId: { type: 'string', pattern: '^[1-9][0-9]*$', description: '64-bit session id, decimal; send it as Zgate-Session' },
    timeoutMs: { type: 'integer', description: 'the timeout granted (clamped to the server\'s bounds)' },
  },
  required: ['sessionId', 'timeoutMs'],
} as const;

const errors = {
  400: { description: 'BadArguments: a malformed session id or body', ...errorRef },
  410: { description: 'SessionExpired: the session is unknown, closed or expired (create a new one)', ...errorRef },
  503: { description: 'Unavailable (retry after Retry-After seconds)', ...errorRef },
} as const;

function sessionIdOf(text: string): SessionId {
  const id = parseSessionHeader(text);
  if (id === undefined || id === null) throw new ZgateError('BadArguments', `a session id is a decimal 64-bit id (1..2^64-1), got '${text}'`);
  return id;
}

const createSchema = {
  summary: 'Create a session; the timeout asked for is clamped to the server\'s bounds',
  description:
    'Ephemeral znodes belong to a session: create one here, send its id as the Zgate-Session header, and keep it alive ' +
    '(POST .../keepalive, or bind it to a WebSocket) more often than its timeout. The leader closes a session that ' +
    'nothing kept alive for its timeout and deletes its ephemerals in the same transaction.',
  tags: ['sessions'],
  body: {
    type: 'object',
    additionalProperties: false,
    properties: { timeoutMs: { type: 'integer', minimum: 1, maximum: 2147483647, description: 'ms, clamped to the server\'s bounds (--min-session-timeout-ms, --max-session-timeout-ms: by default 1000 to 60000); default 10000' } },
  },
  response: {
    201: { description: 'created; Location names the session', ...sessionAnswer },
    ...errors,
  },
} as const;

const keepaliveSchema = {
  summary: 'Keep a session alive: its expiry clock restarts at its timeout',
  description: 'Any member may be asked; followers pass keepalives to the leader in batches. An expired or unknown session is never revived: 410.',
  tags: ['sessions'],
  params: idParams,
  response: { 200: { description: 'kept alive', ...sessionAnswer }, ...errors },
} as const;

const lookupSchema = {
  summary: 'A session: its timeout and its ephemeral znodes (sorted paths)',
  tags: ['sessions'],
  params: idParams,
  response: {
    200: {
      description: 'the session',
      type: 'object',
      properties: { ...sessionAnswer.properties, ephemerals: { type: 'array', items: { type: 'string' }, description: 'paths of its ephemeral znodes, sorted' } },
      required: ['sessionId', 'timeoutMs', 'ephemerals'],
    },
    ...errors,
  },
} as const;

const closeSchema = {
  summary: 'Close a session; its ephemeral znodes are deleted in the same transaction',
  tags: ['sessions'],
  params: idParams,
  response: { 204: { description: 'closed', type: 'null' }, ...errors },
} as const;

export async function sessionRoutes(app: FastifyInstance, ctx: ApiContext, registry: Registry): Promise<void> {
  const { service } = ctx;

  // The body is JSON whatever Content-Type curl sent (or none at all).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new ZgateError('BadArguments', `the body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined) request.body = {};
  });

  app.post<{ Body: { timeoutMs?: number } }>(
    SESSIONS_PREFIX,
    { schema: createSchema },
    async (request, reply) => {
      const s = await service.openSession(request.body.timeoutMs, accessOf(request));
      reply.header('zgate-zxid', String(s.zxid));
      reply.header('location', `${SESSIONS_PREFIX}/${s.sessionId}`);
      return reply.code(201).send({ sessionId: s.sessionId.toString(), timeoutMs: s.timeoutMs });
    },
  );

  app.post<{ Params: { id: string } }>(
    `${SESSIONS_PREFIX}/:id/keepalive`,
    { schema: keepaliveSchema },
    async (request) => {
      const info = await service.keepalive(sessionIdOf(request.params.id), accessOf(request));
      return { sessionId: info.sessionId.toString(), timeoutMs: info.timeoutMs };
    },
  );

  app.get<{ Params: { id: string } }>(
    `${SESSIONS_PREFIX}/:id`,
    { schema: lookupSchema },
    async (request) => {
      const info = await service.getSession(sessionIdOf(request.params.id), accessOf(request));
      return { sessionId: info.sessionId.toString(), timeoutMs: info.timeoutMs, ephemerals: info.ephemerals };
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${SESSIONS_PREFIX}/:id`,
    { schema: closeSchema },
    async (request, reply: FastifyReply) => {
      const answer = await service.closeSession(sessionIdOf(request.params.id), accessOf(request));
      reply.header('zgate-zxid', String(answer.zxid));
      return reply.code(204).send();
    },
  );

  installSessionMetrics(registry, ctx);
}

function installSessionMetrics(registry: Registry, ctx: ApiContext): void {
  const { service } = ctx;
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  gauge('zgate_sessions_open', 'open sessions (replicated: the same on every member)', () => service.figures().sessionsOpen);
  gauge('zgate_ephemerals', 'ephemeral znodes in the tree', () => service.figures().ephemerals);
  gauge('zgate_sessions_held', 'sessions kept alive by a WebSocket bound to them on this member', () => service.figures().sessionsHeld);
  const counter = (name: string, help: string, read: () => number): void => {
    let reported = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v > reported) this.inc(v - reported);
        reported = v;
      },
    });
  };
  counter('zgate_session_expirations_total', 'sessions closed because they expired (replicated count)', () => service.figures().sessionsExpired);
  counter('zgate_sessions_closed_total', 'sessions closed, by a client or by expiry (replicated count)', () => service.figures().sessionsClosed);
  counter('zgate_session_keepalives_forwarded_total', 'keepalive ids this member passed to the leader', () => service.figures().keepalivesForwarded);
  counter('zgate_session_keepalive_batches_total', 'keepalive batches (messages) this member sent to the leader', () => service.figures().keepaliveBatches);
  counter('zgate_session_keepalives_received_total', 'keepalive ids received from followers (as leader)', () => service.figures().keepalivesReceived);
  counter('zgate_session_sockets_sent_away_total', 'session-bound WebSockets closed (1013) because this member knew no leader for a third of their timeout', () => service.figures().holdersSentAway);
  counter('zgate_reaped_znodes_total', 'container and TTL znodes deleted by this member\'s sweeps (as leader)', () => service.figures().reaped);
}
