/**
 * /v1/znodes/{path}: read, create, set, upsert and delete znodes (api.md "Operations").
 * Request bodies are the znode's bytes whatever their Content-Type, so this plugin
 * replaces fastify's body parsers with one that keeps the raw bytes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZgateError } from '../../core/errors.js';
import { ANY_VERSION, type CreateMode, type Op, type OpResult, type Stat } from '../../core/types.js';
import type { WriteAnswer } from '../../node/member.js';
import { validatePath } from '../../tree/path.js';
import { sendError, sendFailure } from './errors.js';
import { childrenPage, encodeData, etagOf, statJson, type DataEncoding } from './encoding.js';
import { urlOfZnode, znodePathFromUrl } from './paths.js';
import { boolParam, errorResponses, modeParam, ttlParam, versionParam } from './schemas.js';
import type { ApiContext } from './context.js';
import { parseSessionHeader, sessionHeaderSchema } from './sessions-header.js';
import { idempotencyHeaderProperty, idempotencyKey, markReplay } from './idempotency.js';

export const ZNODES_PREFIX = '/v1/znodes';

interface GetQuery {
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

function bodyBytes(request: FastifyRequest): Uint8Array {
  const b = request.body;
  return b instanceof Uint8Array ? b : new Uint8Array(0);
}

function setZxid(reply: FastifyReply, zxid: number): void {
  reply.header('zgate-zxid', String(zxid));
}

function statOfResult(result: OpResult): Stat {
  if (result.op === 'create' || result.op === 'set') return result.stat;
  throw new ZgateError('SystemError', `unexpected result ${result.op}`);
}

export async function znodeRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { member, config } = ctx;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxDataBytes }, (_req, body, done) => done(null, body));

  const pathOf = (request: FastifyRequest): string => znodePathFromUrl(request.raw.url ?? '', ZNODES_PREFIX);

  async function awaitReadable(query: { consistency?: string; minZxid?: string }): Promise<void> {
    member.assertReadable();
    if (query.minZxid !== undefined) await member.waitForApplied(Number(query.minZxid), config.minZxidWaitMs);
    if (query.consistency === 'linearizable') await member.linearizableBarrier(config.minZxidWaitMs);
  }

  /** Writes, answering the outcome's failure (with its HTTP status) or handing back the result. */
  async function write(reply: FastifyReply, op: Op, key?: string): Promise<{ answer: WriteAnswer; result: OpResult } | { answer: WriteAnswer; result: undefined }> {
    const answer = await member.write(op, key);
    setZxid(reply, answer.zxid);
    markReplay(reply, answer);
    return answer.outcome.ok ? { answer, result: answer.outcome.result } : { answer, result: undefined };
  }

  const getSchema = {
    summary: 'Read a znode: data and stat (JSON), or its bytes with ?raw=true',
    tags: ['znodes'],
    params: pathParam,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
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

  const handleGet = async (request: FastifyRequest<{ Querystring: GetQuery }>, reply: FastifyReply) => {
    const path = pathOf(request);
    validatePath(path);
    const q = request.query;
    await awaitReadable(q);
    const node = member.read(path);
    if (!node) return sendError(reply, 'NoNode', `no znode at ${path}`, path);
    reply.header('etag', etagOf(node.stat));
    const accept = request.headers.accept ?? '';
    const raw = q.raw === true || (accept.includes('application/octet-stream') && !accept.includes('application/json'));
    // The stat travels in a header only where the body can't carry it: raw bytes and HEAD.
    if (raw || request.method === 'HEAD') reply.header('zgate-stat', JSON.stringify(statJson(node.stat)));
    if (raw) {
      reply.header('x-content-type-options', 'nosniff');
      return reply.type('application/octet-stream').send(Buffer.from(node.data));
    }
    const body: Record<string, unknown> = { path, ...encodeData(node.data, q.encoding), stat: statJson(node.stat) };
    if (q.children === true || q.limit !== undefined || q.after !== undefined) {
      Object.assign(body, childrenPage(member.tree.children(path) ?? [], q.after, q.limit));
    }
    return reply.type('application/json; charset=utf-8').send(body);
  };

  for (const url of [ZNODES_PREFIX, `${ZNODES_PREFIX}/*`]) {
    app.get<{ Querystring: GetQuery }>(url, { schema: getSchema }, handleGet);
  }

  const sessionHeaders = { ...sessionHeaderSchema, properties: { ...sessionHeaderSchema.properties, ...idempotencyHeaderProperty } };

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
      },
    },
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: { version: versionParam, parents: { ...boolParam, description: 'create missing parents' } },
    },
    body: { description: 'the znode data, byte for byte', type: 'string', format: 'binary' },
    response: {
      200: { description: 'set', $ref: 'WriteResult#' },
      201: { description: 'created', $ref: 'WriteResult#' },
      ...errorResponses,
      412: { description: 'If-Match / If-None-Match precondition failed', $ref: 'Error#' },
    },
  };

  app.put<{ Querystring: PutQuery }>(`${ZNODES_PREFIX}/*`, { schema: putSchema }, async (request, reply) => {
    const path = pathOf(request);
    validatePath(path);
    const data = bodyBytes(request);
    const ifNoneMatch = request.headers['if-none-match'];
    const expected = expectedVersion(request.query, request.headers['if-match']);
    const parents = request.query.parents === true;
    const key = idempotencyKey(request);
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch.trim() !== '*') throw new ZgateError('BadArguments', `If-None-Match supports only *, got '${ifNoneMatch}'`);
      if (expected) throw new ZgateError('BadArguments', 'If-None-Match: * (create only) cannot be combined with a version');
      const { answer, result } = await write(reply, { op: 'create', path, data, mode: 'persistent', parents }, key);
      if (!result) return sendFailure(reply, answerFailure(answer), true);
      return created(reply, path, statOfResult(result));
    }
    if (expected) {
      const { answer, result } = await write(reply, { op: 'set', path, data, version: expected.version }, key);
      if (!result) return sendFailure(reply, answerFailure(answer), expected.fromHeader);
      return setDone(reply, path, statOfResult(result));
    }
    // Upsert: create or set, whichever the local tree suggests first. Each attempt is one
    // atomic entry, so a race with a concurrent create or delete only sends us round again,
    // a bounded number of times.
    // With an Idempotency-Key the attempts are always create, set, create, set with keys
    // key#0..#3, so that a retry walks the same entries and replays each one's outcome.
    let tryCreate = key !== undefined || member.read(path) === undefined;
    for (let attempt = 0; attempt < 4; attempt++, tryCreate = !tryCreate) {
      const k = key === undefined ? undefined : `${key}#${attempt}`;
      if (tryCreate) {
        const c = await write(reply, { op: 'create', path, data, mode: 'persistent', parents }, k);
        if (c.result) return created(reply, path, statOfResult(c.result));
        if (answerFailure(c.answer).code !== 'NodeExists') return sendFailure(reply, answerFailure(c.answer));
      } else {
        const s = await write(reply, { op: 'set', path, data, version: ANY_VERSION }, k);
        if (s.result) return setDone(reply, path, statOfResult(s.result));
        if (answerFailure(s.answer).code !== 'NoNode') return sendFailure(reply, answerFailure(s.answer));
      }
    }
    return sendError(reply, 'Unavailable', `upsert of ${path} kept racing with concurrent creates and deletes; retry`, path);
  });

  function created(reply: FastifyReply, path: string, stat: Stat): FastifyReply {
    reply.header('location', urlOfZnode(path, ZNODES_PREFIX));
    reply.header('etag', etagOf(stat));
    return reply.code(201).send({ path, stat: statJson(stat) });
  }
  function setDone(reply: FastifyReply, path: string, stat: Stat): FastifyReply {
    reply.header('etag', etagOf(stat));
    return reply.code(200).send({ path, stat: statJson(stat) });
  }

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

  app.post<{ Querystring: PostQuery }>(`${ZNODES_PREFIX}/*`, { schema: postSchema }, async (request, reply) => {
    const path = pathOf(request);
    const mode: CreateMode = request.query.mode ?? 'persistent';
    const ttl = parseTtl(request.query.ttl);
    const owner = await ctx.sessionFor(mode, parseSessionHeader(request.headers['zgate-session']));
    const op: Op = { op: 'create', path, data: bodyBytes(request), mode, parents: request.query.parents === true };
    if (ttl !== undefined) op.ttl = ttl;
    if (owner !== undefined) op.owner = owner;
    const { answer, result } = await write(reply, op, idempotencyKey(request));
    if (!result) return sendFailure(reply, answerFailure(answer));
    if (result.op !== 'create') throw new ZgateError('SystemError', 'create answered with another result');
    return created(reply, result.path, result.stat);
  });

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

  app.delete<{ Querystring: DeleteQuery }>(`${ZNODES_PREFIX}/*`, { schema: deleteSchema }, async (request, reply) => {
    const path = pathOf(request);
    const expected = expectedVersion(request.query, request.headers['if-match']);
    const version = expected?.version ?? ANY_VERSION;
    const op: Op = request.query.recursive === true ? { op: 'deleteTree', path, version, maxNodes: config.maxDeleteNodes } : { op: 'delete', path, version };
    const { answer, result } = await write(reply, op, idempotencyKey(request));
    if (!result) return sendFailure(reply, answerFailure(answer), expected?.fromHeader ?? false);
    return reply.code(204).send();
  });
  // Writes to the root URL: '/' can't be created, set through PUT, or deleted (BadArguments, as ZooKeeper).
  app.delete(ZNODES_PREFIX, { schema: { hide: true } }, async (_request, reply) => sendError(reply, 'BadArguments', "the root znode '/' cannot be deleted", '/'));
}

function answerFailure(answer: WriteAnswer): import('../../core/types.js').OpFailure {
  if (answer.outcome.ok) throw new ZgateError('SystemError', 'expected a failed outcome');
  return answer.outcome.failure;
}
