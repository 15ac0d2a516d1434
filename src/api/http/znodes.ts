/**
 * /v1/znodes/{path}: read, create, set, upsert and delete znodes (api.md "Operations").
 * Request bodies are the znode's bytes whatever their Content-Type, so this plugin
 * replaces fastify's body parsers with one that keeps the raw bytes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZgateError } from '../../core/errors.js';
import { ANY_VERSION, type CreateMode, type Stat } from '../../core/types.js';
import type { Caller, CreatedZnode, Written } from '../../coordination/service.js';
import { accessOf, callerOf, markWritten } from './caller.js';
import { aclToJson, type Acl, type AclJson } from '../../core/acl.js';
import { sendError, sendFailure } from './errors.js';
import { encodeData, etagOf, statJson, type DataEncoding } from './encoding.js';
import { urlOfZnode, znodePathFromUrl } from './paths.js';
import { boolParam, errorResponses, modeParam, ttlParam, versionParam } from './schemas.js';
import type { ApiContext } from './context.js';
import { sessionHeaderSchema } from './sessions-header.js';
import { idempotencyHeaderProperty } from './idempotency.js';

export const ZNODES_PREFIX = '/v1/znodes';

interface GetQuery {
  acl?: boolean;
  raw?: boolean;
  encoding?: DataEncoding;
  children?: boolean;
  limit?: number;
  after?: string;
  consistency?: 'sequential' | 'linearizable';
  minZxid?: string;
}
interface PutQuery {
  version?: string;
  parents?: boolean;
  acl?: boolean;
}

/** The Zgate-ACL header of a create: a JSON array of {perms, scheme, id}; absent: the default ACL. */
function aclHeader(request: FastifyRequest): unknown {
  const h = request.headers['zgate-acl'];
  if (h === undefined) return undefined;
  const text = Array.isArray(h) ? h.join(',') : h;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ZgateError('InvalidACL', 'Zgate-ACL must be a JSON array of {"perms":"cdrwa","scheme":"world","id":"anyone"}');
  }
}

function aclJson(acl: readonly Acl[]): AclJson[] {
  return aclToJson(acl);
}
interface PostQuery {
  mode?: CreateMode;
  ttl?: string;
  parents?: boolean;
}
interface DeleteQuery {
  version?: string;
  recursive?: boolean;
}

const pathParam = {
  type: 'object',
  properties: { '*': { type: 'string', description: 'the znode path without its leading /; each segment percent-encoded' } },
} as const;

const readQuery = {
  consistency: { type: 'string', enum: ['sequential', 'linearizable'], description: 'linearizable: read index through the leader' },
  minZxid: { type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$', description: 'wait until this member has applied this zxid' },
} as const;

/** The version a conditional write expects, and whether it came from an HTTP precondition. */
interface Expected {
  version: number;
  fromHeader: boolean;
}

function parseIfMatch(header: string | string[] | undefined): Expected | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(',') : header;
  const v = value.trim();
  if (v === '*') return { version: ANY_VERSION, fromHeader: true };
  const m = /^"(0|[1-9][0-9]{0,9})"$/.exec(v);
  if (!m) throw new ZgateError('BadArguments', `If-Match must be a quoted version like "3" or *, got '${value}'`);
  return { version: checkedVersion(m[1]!), fromHeader: true };
}

function checkedVersion(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > 2147483647) throw new ZgateError('BadArguments', `version ${text} is out of range (-1 or 0..2147483647)`);
  return n;
}

function expectedVersion(query: { version?: string }, ifMatch: string | string[] | undefined): Expected | undefined {
  const fromQuery = query.version === undefined ? undefined : { version: checkedVersion(query.version), fromHeader: false };
  const fromHeader = parseIfMatch(ifMatch);
  if (fromQuery && fromHeader && fromQuery.version !== fromHeader.version) {
    throw new ZgateError('BadArguments', `?version=${fromQuery.version} and If-Match disagree`);
  }
  return fromHeader ?? fromQuery;
}

function parseTtl(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new ZgateError('BadArguments', `ttl ${text} is not an integer number of ms`);
  return n;
}

/** setACL's body: {"acl":[...]}. */
function setAclBody(data: Uint8Array): unknown {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    throw new ZgateError('BadArguments', 'the body of PUT ?acl=true must be JSON {"acl":[{"perms":"cdrwa","scheme":"world","id":"anyone"}]}');
  }
  if (typeof body !== 'object' || body === null || !('acl' in body)) throw new ZgateError('BadArguments', 'the body of PUT ?acl=true must be {"acl":[...]}');
  return (body as { acl: unknown }).acl;
}

function bodyBytes(request: FastifyRequest): Uint8Array {
  const b = request.body;
  return b instanceof Uint8Array ? b : new Uint8Array(0);
}

const aclHeaderProperty = { 'zgate-acl': { type: 'string', description: 'the new znode\'s ACL: JSON [{"perms":"cdrwa","scheme":"world","id":"anyone"}] (default: --default-acl)' } } as const;
const sessionHeaders = { ...sessionHeaderSchema, properties: { ...sessionHeaderSchema.properties, ...idempotencyHeaderProperty, ...aclHeaderProperty } };

const getSchema = {
  summary: 'Read a znode: data and stat (JSON), or its bytes with ?raw=true',
  tags: ['znodes'],
  params: pathParam,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      acl: { ...boolParam, description: 'getACL: the ACL and stat, ETag the aversion (needs READ or ADMIN; digests masked without ADMIN)' },
      raw: { ...boolParam, description: 'answer the bytes as application/octet-stream, stat in Zgate-Stat' },
      encoding: { type: 'string', enum: ['utf8', 'base64'], description: 'force base64 (utf8 is used when the bytes are valid UTF-8)' },
      children: { ...boolParam, description: 'also list the sorted child names' },
      limit: { type: 'integer', minimum: 1, maximum: 1000000, description: 'page size of children' },
      after: { type: 'string', description: 'children after this name' },
      ...readQuery,
    },
  },
  response: {
    200: {
      description: 'the znode',
      content: {
        'application/json': { schema: { $ref: 'Znode#' } },
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
      },
    },
    400: errorResponses[400],
    404: errorResponses[404],
    503: errorResponses[503],
  },
};

const headSchema = {
  ...getSchema,
  summary: 'Does the znode exist: 200 with its stat in the Zgate-Stat and ETag headers, 404 NoNode when it does not (no body)',
  response: { 200: { description: 'the znode exists; its stat is in Zgate-Stat', type: 'null' }, 400: errorResponses[400], 404: errorResponses[404], 503: errorResponses[503] },
};

const putSchema = {
  summary: 'Create or set (upsert); If-Match / ?version= for a versioned set, If-None-Match: * for create only',
  tags: ['znodes'],
  params: pathParam,
  headers: {
    type: 'object',
    properties: {
      'if-match': { type: 'string', description: 'quoted version, e.g. "3": set only at that version (412 BadVersion otherwise)' },
      'if-none-match': { type: 'string', description: '*: create only (412 NodeExists otherwise)' },
      ...idempotencyHeaderProperty,
      ...aclHeaderProperty,
    },
  },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      version: versionParam,
      parents: { ...boolParam, description: 'create missing parents' },
      acl: { ...boolParam, description: 'setACL: the body is {"acl":[...]}; If-Match / ?version= is the aversion (needs ADMIN; fires no watch)' },
    },
  },
  body: { description: 'the znode data, byte for byte', type: 'string', format: 'binary' },
  response: {
    200: { description: 'set', $ref: 'WriteResult#' },
    201: { description: 'created', $ref: 'WriteResult#' },
    ...errorResponses,
    412: { description: 'If-Match / If-None-Match precondition failed', $ref: 'Error#' },
  },
};

const postSchema = {
  summary: "ZooKeeper create with a mode; the created path (with its sequential suffix) is in Location",
  tags: ['znodes'],
  params: pathParam,
  headers: sessionHeaders,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { mode: modeParam, ttl: ttlParam, parents: { ...boolParam, description: 'create missing parents as persistent znodes' } },
  },
  body: { description: 'the znode data, byte for byte', type: 'string', format: 'binary' },
  response: {
    201: { description: 'created', $ref: 'WriteResult#' },
    ...errorResponses,
    410: { description: 'SessionExpired: the Zgate-Session is unknown, closed or expired', $ref: 'Error#' },
  },
};

const deleteSchema = {
  summary: 'Delete a znode (If-Match / ?version= for CAS); ?recursive=true deletes the subtree atomically',
  tags: ['znodes'],
  params: pathParam,
  headers: { type: 'object', properties: { 'if-match': { type: 'string', description: 'quoted version of the (top) znode' }, ...idempotencyHeaderProperty } },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { version: versionParam, recursive: { ...boolParam, description: `delete the whole subtree as one transaction (bounded)` } },
  },
  response: { 204: { description: 'deleted', type: 'null' }, ...errorResponses, 412: { description: 'If-Match precondition failed', $ref: 'Error#' } },
};

/** Marks the write's zxid, then answers its failure (412 where a precondition header failed) or its result. */
function answerWrite<R>(reply: FastifyReply, w: Written<R>, fromPrecondition: boolean, ok: (r: R) => FastifyReply): FastifyReply {
  markWritten(reply, w);
  return w.ok ? ok(w.result) : sendFailure(reply, w.failure, fromPrecondition);
}

function created(reply: FastifyReply, path: string, stat: Stat): FastifyReply {
  reply.header('location', urlOfZnode(path, ZNODES_PREFIX));
  reply.header('etag', etagOf(stat));
  return reply.code(201).send({ path, stat: statJson(stat) });
}

function setDone(reply: FastifyReply, path: string, stat: Stat): FastifyReply {
  reply.header('etag', etagOf(stat));
  return reply.code(200).send({ path, stat: statJson(stat) });
}

/** getACL: the list (digests masked without ADMIN) and the stat; ETag the aversion. */
async function getAcl(ctx: ApiContext, request: FastifyRequest<{ Querystring: GetQuery }>, reply: FastifyReply, path: string): Promise<FastifyReply> {
  const q = request.query;
  const a = await ctx.service.getAcl({ path, access: accessOf(request), ...(q.minZxid !== undefined ? { minZxid: Number(q.minZxid) } : {}), linearizable: q.consistency === 'linearizable' });
  reply.header('etag', `"${a.stat.aversion}"`);
  // Serialized here: the route's response schema is the znode's, not getACL's.
  return reply.type('application/json; charset=utf-8').send(JSON.stringify({ path, acl: aclJson(a.acl), stat: statJson(a.stat) }));
}

/** setACL: If-Match / ?version= against the aversion. */
async function setAcl(ctx: ApiContext, reply: FastifyReply, path: string, body: Uint8Array, expected: Expected | undefined, caller: Caller): Promise<FastifyReply> {
  const w = await ctx.service.setAcl({ path, acl: setAclBody(body), version: expected?.version ?? ANY_VERSION }, caller);
  return answerWrite(reply, w, expected?.fromHeader ?? false, (r) => {
    reply.header('etag', `"${r.stat.aversion}"`);
    return reply.code(200).send({ path, stat: statJson(r.stat) });
  });
}

export async function znodeRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { service } = ctx;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: service.limits.maxDataBytes }, (_req, body, done) => done(null, body));

  const pathOf = (request: FastifyRequest): string => znodePathFromUrl(request.raw.url ?? '', ZNODES_PREFIX);

  const handleGet = async (request: FastifyRequest<{ Querystring: GetQuery }>, reply: FastifyReply) => {
    const path = pathOf(request);
    const q = request.query;
    if (q.acl === true) return getAcl(ctx, request, reply, path);
    const paged = q.children === true || q.limit !== undefined || q.after !== undefined;
    const { znode: node } = await service.read({
      path,
      access: accessOf(request),
      ...(q.minZxid !== undefined ? { minZxid: Number(q.minZxid) } : {}),
      linearizable: q.consistency === 'linearizable',
      ...(paged ? { children: { ...(q.after !== undefined ? { after: q.after } : {}), ...(q.limit !== undefined ? { limit: q.limit } : {}) } } : {}),
    });
    if (!node) return sendError(reply, 'NoNode', `no znode at ${path}`, path);
    reply.header('etag', etagOf(node.stat));
    const accept = request.headers.accept ?? '';
    const raw = q.raw === true || (accept.includes('application/octet-stream') && !accept.includes('application/json'));
    // The stat travels in a header only where the body can't carry it: raw bytes and HEAD.
    if (raw || request.method === 'HEAD') reply.header('zgate-stat', JSON.stringify(statJson(node.stat)));
    if (raw) {
      reply.header('x-content-type-options', 'nosniff');
      // Bytes anyone may have written: never a document a browser runs in this origin.
      reply.header('content-security-policy', 'sandbox');
      return reply.type('application/octet-stream').send(Buffer.from(node.data));
    }
    const body: Record<string, unknown> = { path, ...encodeData(node.data, q.encoding), stat: statJson(node.stat) };
    if (node.page) Object.assign(body, node.page);
    return reply.type('application/json; charset=utf-8').send(body);
  };

  for (const url of [ZNODES_PREFIX, `${ZNODES_PREFIX}/*`]) {
    // Declared before GET, so that fastify does not derive a HEAD route documented as the read.
    app.head<{ Querystring: GetQuery }>(url, { schema: headSchema, config: { documentedHead: true } }, handleGet);
    app.get<{ Querystring: GetQuery }>(url, { schema: getSchema }, handleGet);
  }

  app.put<{ Querystring: PutQuery }>(`${ZNODES_PREFIX}/*`, { schema: putSchema }, async (request, reply) => {
    const path = pathOf(request);
    const data = bodyBytes(request);
    const ifNoneMatch = request.headers['if-none-match'];
    const expected = expectedVersion(request.query, request.headers['if-match']);
    const parents = request.query.parents === true;
    const caller = callerOf(request);
    if (request.query.acl === true) return setAcl(ctx, reply, path, data, expected, caller);
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch.trim() !== '*') throw new ZgateError('BadArguments', `If-None-Match supports only *, got '${ifNoneMatch}'`);
      if (expected) throw new ZgateError('BadArguments', 'If-None-Match: * (create only) cannot be combined with a version');
      const acl = aclHeader(request);
      const w = await service.create({ path, data, mode: 'persistent', parents, ...(acl !== undefined ? { acl } : {}) }, caller);
      return answerWrite(reply, w, true, (r) => created(reply, path, r.stat));
    }
    if (expected) {
      const w = await service.set({ path, data, version: expected.version }, caller);
      return answerWrite(reply, w, expected.fromHeader, (r) => setDone(reply, path, r.stat));
    }
    const w = await service.upsert({ path, data, parents }, caller);
    return answerWrite(reply, w, false, (r) => (r.created ? created(reply, path, r.stat) : setDone(reply, path, r.stat)));
  });

  app.post<{ Querystring: PostQuery }>(`${ZNODES_PREFIX}/*`, { schema: postSchema }, async (request, reply) => {
    const path = pathOf(request);
    const mode: CreateMode = request.query.mode ?? 'persistent';
    const ttl = parseTtl(request.query.ttl);
    const acl = aclHeader(request);
    const w = await service.create({ path, data: bodyBytes(request), mode, parents: request.query.parents === true, ...(ttl !== undefined ? { ttl } : {}), ...(acl !== undefined ? { acl } : {}) }, callerOf(request));
    return answerWrite(reply, w, false, (r: CreatedZnode) => created(reply, r.path, r.stat));
  });

  app.delete<{ Querystring: DeleteQuery }>(`${ZNODES_PREFIX}/*`, { schema: deleteSchema }, async (request, reply) => {
    const path = pathOf(request);
    const expected = expectedVersion(request.query, request.headers['if-match']);
    const version = expected?.version ?? ANY_VERSION;
    const w = await service.delete({ path, version, recursive: request.query.recursive === true }, callerOf(request));
    return answerWrite(reply, w, expected?.fromHeader ?? false, () => reply.code(204).send());
  });
  // Writes to the root URL: '/' can't be created, set through PUT, or deleted (BadArguments, as ZooKeeper).
  app.delete(ZNODES_PREFIX, { schema: { hide: true } }, async (_request, reply) => sendError(reply, 'BadArguments', "the root znode '/' cannot be deleted", '/'));
}

