/** /healthz, /readyz and /metrics: what operators and load balancers ask (/v1/cluster is in cluster.ts). */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ApiContext } from './context.js';

export async function operationRoutes(app: FastifyInstance, ctx: ApiContext, registry: Registry): Promise<void> {
  const { service, config } = ctx;
  const peerTransport = config.peerTransport !== undefined ? { peerTransport: config.peerTransport } : {};
  app.get('/healthz', { schema: { summary: 'The process is alive', tags: ['operations'], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Ready to serve: recovered, in a cluster with a leader, caught up',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              peerTransport: { type: 'string', enum: ['tls', 'loopback', 'insecure'], description: 'peer links: mutual TLS, plain TCP on loopback only, or plain TCP other machines can reach (absent for a member alone)' },
            },
          },
          503: { $ref: 'Error#' },
        },
      },
    },
    async (_request, reply) => {
      const r = service.readiness();
      if (!r.ready) return reply.code(503).header('retry-after', '1').send({ error: { code: 'Unavailable', message: r.reason } });
      return { status: 'ready', ...peerTransport };
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text format)', tags: ['operations'] } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
