/** POST /v1/txn: ZooKeeper's multi, all or nothing (api.md). */
import type { FastifyInstance } from 'fastify';
import { ZgateError } from '../../core/errors.js';
import { ANY_VERSION, CREATE_MODES } from '../../core/types.js';
import type { TxnOp, TxnResult } from '../../coordination/service.js';
import { callerOf, markWritten } from './caller.js';
import type { ApiContext } from './context.js';
import { decodeData, statJson } from './encoding.js';
import { sendFailure } from './errors.js';
import { errorResponses } from './schemas.js';
import { sessionHeaderSchema } from './sessions-header.js';
import { idempotencyHeaderProperty } from './idempotency.js';
import type { TxnOpJson, TxnResultJson } from '../../wire/znodes.js';

export type { TxnOpJson };

export const txnOpSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['op', 'path'],
  properties: {
    op: { type: 'string', enum: ['create', 'set', 'delete', 'check'] },
    path: { type: 'string' },
    data: { type: 'string', description: 'create/set: the data, in `encoding`' },
    encoding: { type: 'string', enum: ['utf8', 'base64'], default: 'utf8' },
    mode: { type: 'string', enum: [...CREATE_MODES], description: 'create only' },
    ttl: { type: 'integer', description: 'create with a *_with_ttl mode only' },
    version: { type: 'integer', minimum: -1, maximum: 2147483647, description: 'set/delete/check; -1 = any' },
    parents: { type: 'boolean', description: 'create only: create missing parents' },
    acl: {
      type: 'array',
      description: 'create only: the ACL (default: --default-acl)',
      items: { type: 'object', additionalProperties: false, required: ['perms', 'scheme', 'id'], properties: { perms: { type: ['string', 'integer'] }, scheme: { type: 'string' }, id: { type: 'string' } } },
    },
  },
} as const;

export const txnBodySchema = {
  $id: 'TxnRequest',
  type: 'object',
  additionalProperties: false,
  required: ['ops'],
  properties: { ops: { type: 'array', items: txnOpSchema } },
} as const;

/** One op of a txn body (HTTP or WebSocket) as the service takes it; the service adds the session to ephemeral creates. */
export function toSubOp(o: TxnOpJson, i: number): TxnOp {
  const where = `ops[${i}] (${o.op} ${o.path})`;
  const misplaced = (field: string) => new ZgateError('BadArguments', `${where}: '${field}' does not go with op ${o.op}`, o.path);
  const data = o.data === undefined ? new Uint8Array(0) : decodeData(o.data, o.encoding ?? 'utf8', where);
  switch (o.op) {
    case 'create': {
      if (o.version !== undefined) throw misplaced('version');
      const op: TxnOp = { op: 'create', path: o.path, data, mode: o.mode ?? 'persistent' };
      if (o.ttl !== undefined) op.ttl = o.ttl;
      if (o.parents === true) op.parents = true;
      if (o.acl !== undefined) op.acl = o.acl;
      return op;
    }
    case 'set':
      for (const f of ['mode', 'ttl', 'parents', 'acl'] as const) if (o[f] !== undefined) throw misplaced(f);
      return { op: 'set', path: o.path, data, version: o.version ?? ANY_VERSION };
    case 'delete':
    case 'check':
      for (const f of ['data', 'mode', 'ttl', 'parents', 'acl'] as const) if (o[f] !== undefined) throw misplaced(f);
      return { op: o.op, path: o.path, version: o.version ?? ANY_VERSION };
  }
}

/** The JSON of a txn's results (the HTTP body and the WebSocket reply). */
export function txnResultsJson(results: TxnResult[]): TxnResultJson[] {
  return results.map((r) => (r.stat !== undefined ? { op: r.op, path: r.path, stat: statJson(r.stat) } : { op: r.op, path: r.path }));
}

export async function txnRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { service } = ctx;
  const maxDataBytes = service.limits.maxDataBytes;
  // The body is JSON whatever Content-Type curl sent; base64 data may take 4/3 of the data limit.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: Math.ceil(maxDataBytes * 1.5) + 65536 }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(new ZgateError('BadArguments', `the body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  });

  app.post<{ Body: { ops: TxnOpJson[] } }>(
    '/v1/txn',
    {
      schema: {
        summary: 'Multi: an atomic list of create, set, delete and check ops sharing one zxid',
        tags: ['znodes'],
        headers: { ...sessionHeaderSchema, properties: { ...sessionHeaderSchema.properties, ...idempotencyHeaderProperty } },
        body: { $ref: 'TxnRequest#' },
        response: {
          200: {
            description: 'every op applied',
            type: 'object',
            properties: {
              zxid: { type: 'string' },
              results: {
                type: 'array',
                items: { type: 'object', properties: { op: { type: 'string' }, path: { type: 'string' }, stat: { $ref: 'Stat#' } }, required: ['op', 'path'] },
              },
            },
            required: ['zxid', 'results'],
          },
          ...errorResponses,
          410: { description: 'SessionExpired', $ref: 'Error#' },
        },
      },
    },
    async (request, reply) => {
      const ops = request.body.ops.map((o, i) => toSubOp(o, i));
      const w = await service.txn(ops, callerOf(request));
      markWritten(reply, w);
      if (!w.ok) return sendFailure(reply, w.failure);
      return { zxid: String(w.zxid), results: txnResultsJson(w.result) };
    },
  );
}
