/**
 * The fastify app of one member: `buildApp()` wires the routes, schemas, errors, metrics,
 * CORS and the OpenAPI document; tests drive it with inject() or a real listener.
 */
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv, type ErrorObject, type Options as AjvOptions } from 'ajv';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import type { CoordinationService } from '../../coordination/service.js';
import { defaultApiConfig, type ApiConfig, type ApiContext } from './context.js';
import { handleError, sendError } from './errors.js';
import { installMetrics } from './metrics.js';
import { operationRoutes } from './operations.js';
import { clusterRoutes } from './cluster.js';
import { sessionRoutes } from './sessions.js';
import { sharedSchemas } from './schemas.js';
import { txnBodySchema, txnRoutes } from './txn.js';
import { znodeRoutes } from './znodes.js';
import { authRoutes, installIdentity, tokenRoutes, type AuthThrottle } from './auth.js';
import { requestForLog } from './log-redaction.js';
import type { AuditLog } from '../../coordination/audit.js';
import { watchRoutes, type WatchPluginOptions } from '../ws/plugin.js';

export const VERSION = '0.1.0';

export interface BuildAppOptions {
  /** What every route serves: the coordination service of this member. */
  service: CoordinationService;
  config?: Partial<ApiConfig>;
  /** The member's logger (the composition root's); absent: pino at `logLevel`. */
  logger?: FastifyBaseLogger;
  /** pino level, or false for no logs (tests); ignored with `logger`. */
  logLevel?: string | false;
  /** Node's process metrics (CPU, heap, event loop) in /metrics; off in tests. */
  processMetrics?: boolean;
  /** Where the example page and the client's browser build live. */
  watch?: WatchPluginOptions;
  /** Failed authentications per address (429 past the rate). */
  throttle?: AuthThrottle;
  /** The audit log: the faces record their 401s and 403s. */
  audit?: AuditLog;
  /** Serve HTTPS (and WSS, the upgrade being the same server's) with these options; absent: plain HTTP. */
  https?: HttpsServerOptions;
}

function formatAjvErrors(errors: ErrorObject[], dataVar: string): Error {
  const e = errors[0];
  if (!e) return new Error(`${dataVar} is invalid`);
  const where = `${dataVar}${e.instancePath}`;
  let message = `${where} ${e.message ?? 'is invalid'}`;
  if (e.keyword === 'additionalProperties') message = `${where} has an unknown field '${String(e.params.additionalProperty)}'`;
  else if (e.keyword === 'enum') message += `: ${(e.params.allowedValues as unknown[]).join(', ')}`;
  if (e.keyword !== 'additionalProperties' && e.keyword !== 'required' && e.data !== undefined && typeof e.data !== 'object') {
    message += ` (got ${JSON.stringify(e.data)})`;
  }
  return new Error(message);
}

/** The OpenAPI document (from the route schemas) and the Swagger UI at /docs. */
async function registerDocs(app: FastifyInstance): Promise<void> {
await app.register(swagger, {
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'zgate',
      version: VERSION,
      description:
        'A ZooKeeper-style coordination service over HTTP. Errors are JSON {"error":{"code","message","path"}} with ZooKeeper\'s code names; every /v1 answer carries Zgate-Zxid.',
    },
    tags: [
      { name: 'znodes', description: 'the data tree' },
      { name: 'sessions', description: 'sessions and their ephemeral znodes' },
      { name: 'cluster', description: 'membership and leadership' },
      { name: 'auth', description: 'identity and tokens' },
      { name: 'operations', description: 'health, readiness, metrics' },
    ],
  },
  exposeHeadRoutes: true,
  refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  transform: ({ schema, url }) => {
    // The znode wildcard is a path of several segments; name it for readers of the document.
    if (url.endsWith('/*')) {
      const s = { ...(schema as Record<string, unknown>) };
      s.params = { type: 'object', properties: { path: { type: 'string', description: 'the znode path without its leading /, each segment percent-encoded' } }, required: ['path'] };
      return { schema: s as FastifySchema, url: url.slice(0, -1) + '{path}' };
    }
    return { schema: schema as FastifySchema, url };
  },
});
  await app.register(swaggerUi, { routePrefix: '/docs' });
}

export async function buildApp(opts: BuildAppOptions): Promise<FastifyInstance> {
  const config: ApiConfig = { ...defaultApiConfig, ...opts.config };
  const { service } = opts;
  const ctx: ApiContext = { service, config, ...(opts.throttle !== undefined ? { throttle: opts.throttle } : {}), ...(opts.audit !== undefined ? { audit: opts.audit } : {}) };
  const logging = opts.logger !== undefined ? { loggerInstance: opts.logger } : { logger: opts.logLevel === false || opts.logLevel === undefined ? false : { level: opts.logLevel, serializers: { req: requestForLog } } };
  const https = opts.https;
  const app = Fastify({
    ...logging,
    // An https.Server is an http.Server to fastify (same request events); the socket of each
    // request is then a TLSSocket, which carries the client certificate.
    ...(https !== undefined ? { serverFactory: (handler: Parameters<typeof createHttpsServer>[1]) => createHttpsServer(https, handler) } : {}),
    // Per-request logs would dominate at thousands of requests per second; errors are logged by handleError.
    logController: new LogController({ disableRequestLogging: true }),
    // A URL fastify itself can't decode (bad percent-encoding) still gets the error envelope.
    frameworkErrors: (error, _request, reply) => {
      reply.header('zgate-zxid', String(service.appliedZxid));
      return sendError(reply, 'BadArguments', error.message);
    },
    routerOptions: { maxParamLength: 65_536 },
    schemaErrorFormatter: formatAjvErrors,
  });

  // Query strings and headers are text, so their numbers and booleans are coerced; JSON bodies
  // are not (a "version": true must not become 1).
  const base: AjvOptions = { removeAdditional: false, useDefaults: true, allErrors: false, verbose: true, strict: false };
  const ajvText = new Ajv({ ...base, coerceTypes: true });
  const ajvJson = new Ajv({ ...base, coerceTypes: false });
  for (const s of [...sharedSchemas, txnBodySchema]) {
    ajvText.addSchema(s);
    ajvJson.addSchema(s);
    app.addSchema(s);
  }
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const s = schema as FastifySchema & { format?: string };
    // Znode bodies are raw bytes: the schema is there for the OpenAPI document only.
    if (httpPart === 'body' && s.format === 'binary') return () => true;
    return (httpPart === 'body' ? ajvJson : ajvText).compile(s);
  });

  await registerDocs(app);
  // Fastify derives a HEAD from every GET (answered like the GET, without its body). Only the
  // HEAD routes declared on purpose (znodes, watch) are documented, with their own descriptions.
  app.addHook('onRoute', (route) => {
    if (route.method === 'HEAD' && route.config?.documentedHead !== true) {
      route.schema = { ...route.schema, hide: true };
    }
  });

  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins,
      // Credentials (the cookie, Authorization) only for the listed origins: `origin` is the list.
      credentials: true,
      methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
      allowedHeaders: ['content-type', 'if-match', 'if-none-match', 'zgate-session', 'zgate-acl', 'idempotency-key', 'last-event-id', 'accept', 'authorization'],
      exposedHeaders: ['etag', 'location', 'zgate-zxid', 'zgate-stat', 'retry-after', 'idempotent-replayed'],
    });
  }

  installIdentity(app, ctx);
  app.setErrorHandler(handleError);
  // Unimplemented (ZooKeeper's code for an operation it does not have): not a bad argument of a route that exists.
  app.setNotFoundHandler((request, reply) => sendError(reply, 'Unimplemented', `no route ${request.method} ${request.url.split('?')[0]}`).code(404));
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('zgate-zxid')) reply.header('zgate-zxid', String(service.appliedZxid));
    return payload;
  });

  const registry = installMetrics(app, service, opts.processMetrics ?? false);
  await app.register(async (scope) => znodeRoutes(scope, ctx));
  await app.register(async (scope) => authRoutes(scope));
  await app.register(async (scope) => tokenRoutes(scope, ctx, opts.https !== undefined));
  await app.register(async (scope) => txnRoutes(scope, ctx));
  await app.register(async (scope) => operationRoutes(scope, ctx, registry));
  await app.register(async (scope) => clusterRoutes(scope, ctx, registry));
  await app.register(async (scope) => sessionRoutes(scope, ctx, registry));
  await app.register(async (scope) => watchRoutes(scope, ctx, registry, opts.watch));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A HEAD route declared on purpose, with its own description in the OpenAPI document. */
    documentedHead?: boolean;
  }
}
