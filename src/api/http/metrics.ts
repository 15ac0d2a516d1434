/** Prometheus metrics of one member, in a registry of its own (several members may share a process in tests). */
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CoordinationService } from '../../coordination/service.js';

export function installMetrics(app: FastifyInstance, service: CoordinationService, withProcessMetrics: boolean): Registry {
  const registry = new Registry();
  if (withProcessMetrics) collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'zgate_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'zgate_http_request_duration_seconds',
    help: 'HTTP request latency, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  new Gauge({ name: 'zgate_znodes', help: 'znodes in the tree', registers: [registry], collect() { this.set(service.figures().znodes); } });
  new Gauge({ name: 'zgate_data_bytes', help: 'bytes of znode data in the tree', registers: [registry], collect() { this.set(service.figures().dataBytes); } });
  new Gauge({ name: 'zgate_last_zxid', help: 'the last applied zxid', registers: [registry], collect() { this.set(service.appliedZxid); } });

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL, keeps label cardinality bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  return registry;
}
