/** /healthz, /readyz, /metrics and /v1/cluster: what operators and load balancers ask. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ApiContext } from './context.js';

export async function operationRoutes(app: FastifyInstance, ctx: ApiContext, registry: Registry, isReady: () => boolean): Promise<void> {
  const { member } = ctx;
  app.get('/healthz', { schema: { summary: 'The process is alive', tags: ['operations'], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Ready to serve: recovered, in a cluster with a leader, caught up',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, 503: { $ref: 'Error#' } },
      },
    },
    async (_request, reply) => {
      const s = member.status();
      if (!isReady()) return reply.code(503).header('retry-after', '1').send({ error: { code: 'Unavailable', message: 'the member is still starting (recovery)' } });
      if (s.leaderId === null) return reply.code(503).header('retry-after', '1').send({ error: { code: 'Unavailable', message: 'no leader' } });
      return { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)', tags: ['operations'] } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });

  const memberSchema = {
    type: 'object',
    properties: {
      id: { type: 'integer' },
      peer: { type: 'string' },
      http: { type: 'string' },
      role: { type: 'string', enum: ['leader', 'follower', 'candidate', 'learner'] },
      matchIndex: { type: 'string' },
      reachable: { type: 'boolean' },
    },
  };
  app.get(
    '/v1/cluster',
    {
      schema: {
        summary: 'The cluster as this member sees it',
        tags: ['cluster'],
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'integer' },
              leaderId: { type: ['integer', 'null'] },
              term: { type: 'string' },
              commitIndex: { type: 'string' },
              appliedZxid: { type: 'string' },
              members: { type: 'array', items: memberSchema },
            },
          },
        },
      },
    },
    async () => {
      const s = member.status();
      return {
        id: s.id,
        leaderId: s.leaderId,
        term: String(s.term),
        commitIndex: String(s.commitIndex),
        appliedZxid: String(member.appliedZxid),
        members: [{ id: s.id, peer: '', http: ctx.advertisedHttp ?? '', role: s.role, matchIndex: String(s.commitIndex), reachable: true }],
      };
    },
  );
}
