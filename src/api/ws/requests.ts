/**
 * The REST operations on a WebSocket (api.md "WebSocket", last items): get, create, set,
 * delete and txn with the REST parameters as JSON fields, answered with the REST body's
 * fields. They go through the same member calls, path rules and txn conversion as the HTTP
 * routes, so a request means the same thing on either face.
 *
 * Where a REST parameter lives in a header or in the method, here it is a field:
 * `set` is setData (`version`, default -1 = any; NoNode when missing), `create` is POST's
 * ZooKeeper create (`mode`, `ttl`, `parents`), `delete` takes `version` and `recursive`.
 * Every result carries `zxid`: the write's zxid, or for `get` the zxid it was read at.
 */
import { Ajv, type ErrorObject } from 'ajv';
import { ZgateError } from '../../core/errors.js';
import { ANY_VERSION, CREATE_MODES, type CreateMode, type OpFailure, type SessionId } from '../../core/types.js';
import { formatPerms, type Access } from '../../core/acl.js';
import type { Caller, CoordinationService, Written } from '../../coordination/service.js';
import { WATCH_KINDS } from '../../watch/index.js';
import { decodeData, encodeData, statJson, type DataEncoding } from '../http/encoding.js';
import { IDEMPOTENCY_DESCRIPTION } from '../http/idempotency.js';
import { toSubOp, txnOpSchema, txnResultsJson, type TxnOpJson } from '../http/txn.js';

const decimalOrInt = { anyOf: [{ type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$' }, { type: 'integer', minimum: 0 }] } as const;
const idSchema = { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 256 }] } as const;
const version = { type: 'integer', minimum: -1, maximum: 2147483647 } as const;
const encoding = { type: 'string', enum: ['utf8', 'base64'] } as const;
/** An ACL as given: entries {perms, scheme, id}; the service validates and fixes it up (InvalidACL). */
const acl = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['perms', 'scheme', 'id'],
    properties: { perms: { anyOf: [{ type: 'string' }, { type: 'integer' }] }, scheme: { type: 'string' }, id: { type: 'string' } },
  },
} as const;
/** A write's Idempotency-Key, as the header carries it over HTTP. */
const idempotencyKey = { type: 'string', description: IDEMPOTENCY_DESCRIPTION } as const;

function op<P extends Record<string, unknown>>(name: string, properties: P, required: string[] = []) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'op', ...required],
    properties: { id: idSchema, op: { const: name }, ...properties },
  } as const;
}

/** The request frames, one schema per op (also documented in the OpenAPI description of /v1/ws). */
export const REQUEST_SCHEMAS = {
  watch: op(
    'watch',
    {
      path: { type: 'string' },
      kind: { type: 'string', enum: [...WATCH_KINDS] },
      withData: { type: 'boolean' },
      fromZxid: decimalOrInt,
      minZxid: decimalOrInt,
    },
    ['path'],
  ),
  unwatch: op('unwatch', { watchId: { type: 'string' } }, ['watchId']),
  ping: op('ping', {}),
  session: op('session', { sessionId: { type: 'string', pattern: '^[1-9][0-9]{0,19}$' }, timeoutMs: { type: 'integer', minimum: 1 } }),
  // ZooKeeper's addAuth: `digest` with `auth` = "user:password", or `bearer` with `token` = "zgt_...".
  auth: {
    ...op('auth', { scheme: { type: 'string', enum: ['digest', 'bearer'] }, auth: { type: 'string', maxLength: 4096 }, token: { type: 'string', maxLength: 4096 } }, ['scheme']),
    oneOf: [
      { properties: { scheme: { const: 'digest' } }, required: ['auth'], not: { required: ['token'] } },
      { properties: { scheme: { const: 'bearer' } }, required: ['token'], not: { required: ['auth'] } },
    ],
  },
  get: op(
    'get',
    {
      path: { type: 'string' },
      encoding,
      children: { type: 'boolean' },
      limit: { type: 'integer', minimum: 1, maximum: 1000000 },
      after: { type: 'string' },
      consistency: { type: 'string', enum: ['sequential', 'linearizable'] },
      minZxid: decimalOrInt,
    },
    ['path'],
  ),
  create: op(
    'create',
    {
      path: { type: 'string' },
      data: { type: 'string' },
      encoding,
      mode: { type: 'string', enum: [...CREATE_MODES] },
      ttl: { type: 'integer' },
      parents: { type: 'boolean' },
      acl,
      idempotencyKey,
    },
    ['path'],
  ),
  set: op('set', { path: { type: 'string' }, data: { type: 'string' }, encoding, version, idempotencyKey }, ['path']),
  delete: op('delete', { path: { type: 'string' }, version, recursive: { type: 'boolean' }, idempotencyKey }, ['path']),
  txn: op('txn', { ops: { type: 'array', items: txnOpSchema }, idempotencyKey }, ['ops']),
  getAcl: op('getAcl', { path: { type: 'string' } }, ['path']),
  setAcl: op('setAcl', { path: { type: 'string' }, acl, version }, ['path', 'acl']),
} as const;

export type RequestOp = keyof typeof REQUEST_SCHEMAS;
/** The REST operations, answered `result` (runOperation). */
export type OperationOp = Exclude<RequestOp, 'watch' | 'unwatch' | 'ping' | 'session' | 'auth'>;
export const REQUEST_OPS = Object.keys(REQUEST_SCHEMAS) as RequestOp[];

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false, verbose: true });
const validators = new Map(REQUEST_OPS.map((name) => [name, ajv.compile(REQUEST_SCHEMAS[name])]));

function describeError(e: ErrorObject | undefined): string {
  if (!e) return 'the request is invalid';
  const where = e.instancePath === '' ? 'the request' : e.instancePath.slice(1).replaceAll('/', '.');
  if (e.keyword === 'additionalProperties') return `${where} has an unknown field '${String(e.params.additionalProperty)}'`;
  if (e.keyword === 'required') return `${where} needs the field '${String(e.params.missingProperty)}'`;
  let message = `${where} ${e.message ?? 'is invalid'}`;
  if (e.keyword === 'enum') message += `: ${(e.params.allowedValues as unknown[]).join(', ')}`;
  if (e.data !== undefined && typeof e.data !== 'object') message += ` (got ${JSON.stringify(e.data)})`;
  return message;
}

/** Checks a parsed frame against its op's schema; BadArguments naming the field otherwise. */
export function validateRequest(name: RequestOp, frame: Record<string, unknown>): void {
  const v = validators.get(name)!;
  if (!v(frame)) {
    // anyOf errors are noise: report the innermost useful one.
    const errs = v.errors ?? [];
    const best = errs.find((e) => e.keyword !== 'anyOf') ?? errs[0];
    throw new ZgateError('BadArguments', describeError(best));
  }
}

export function zxidField(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new ZgateError('BadArguments', `zxid ${String(v)} is out of range`);
  return n;
}

/** A result frame's fields (without id and type), or a failed write. */
export type OpAnswer = { ok: true; body: Record<string, unknown> } | { ok: false; failure: OpFailure; zxid?: number };

/** Where a socket takes the session an ephemeral create needs. */
const SOCKET_SESSION_HINT = 'bind one to this socket first ({"op":"session"})';

/** A write's answer as the reply's fields: `body` of the result (plus the zxid and a replay mark), or the failure. */
function answerOf<R>(w: Written<R>, body: (r: R) => Record<string, unknown>): OpAnswer {
  if (!w.ok) return { ok: false, failure: w.failure, zxid: w.zxid };
  const fields: Record<string, unknown> = { ...body(w.result), zxid: String(w.zxid) };
  if (w.replayed) fields.idempotentReplayed = true;
  return { ok: true, body: fields };
}

/**
 * Runs one REST operation for a socket. `session` is the socket's bound session (for
 * ephemeral creates). Throws ZgateError (or MultiOpError) for input refused before the log.
 */
export async function runOperation(service: CoordinationService, name: OperationOp, f: Record<string, unknown>, session: SessionId | undefined, access: Access): Promise<OpAnswer> {
  const path = f.path as string;
  const data = (): Uint8Array => (f.data === undefined ? new Uint8Array(0) : decodeData(f.data as string, (f.encoding as DataEncoding | undefined) ?? 'utf8', 'data'));
  const caller: Caller = { sessionHint: SOCKET_SESSION_HINT, access };
  if (session !== undefined) caller.session = session;
  if (typeof f.idempotencyKey === 'string') caller.idempotencyKey = f.idempotencyKey;
  switch (name) {
    case 'get': {
      const paged = f.children === true || f.limit !== undefined || f.after !== undefined;
      const minZxid = zxidField(f.minZxid);
      const { zxid, znode } = await service.read({
        path,
        access,
        ...(minZxid !== undefined ? { minZxid } : {}),
        linearizable: f.consistency === 'linearizable',
        ...(paged ? { children: { ...(f.after !== undefined ? { after: f.after as string } : {}), ...(f.limit !== undefined ? { limit: f.limit as number } : {}) } } : {}),
      });
      if (!znode) return { ok: false, failure: { code: 'NoNode', message: `no znode at ${path}`, path }, zxid };
      const body: Record<string, unknown> = { path, ...encodeData(znode.data, f.encoding as DataEncoding | undefined), stat: statJson(znode.stat) };
      if (znode.page) Object.assign(body, znode.page);
      body.zxid = String(zxid);
      return { ok: true, body };
    }
    case 'create': {
      const mode = (f.mode as CreateMode | undefined) ?? 'persistent';
      const req = { path, data: data(), mode, parents: f.parents === true, ...(f.ttl !== undefined ? { ttl: f.ttl as number } : {}), ...(f.acl !== undefined ? { acl: f.acl } : {}) };
      return answerOf(await service.create(req, caller), (r) => ({ path: r.path, stat: statJson(r.stat) }));
    }
    case 'set': {
      const req = { path, data: data(), version: (f.version as number | undefined) ?? ANY_VERSION };
      return answerOf(await service.set(req, caller), (r) => ({ path: r.path, stat: statJson(r.stat) }));
    }
    case 'delete': {
      const req = { path, version: (f.version as number | undefined) ?? ANY_VERSION, recursive: f.recursive === true };
      return answerOf(await service.delete(req, caller), (r) => (r.deleted !== undefined ? { path, deleted: r.deleted } : { path }));
    }
    case 'txn': {
      const ops = (f.ops as TxnOpJson[]).map((o, i) => toSubOp(o, i));
      const w = await service.txn(ops, caller);
      return answerOf(w, (results) => ({ results: txnResultsJson(results) }));
    }
    case 'getAcl': {
      const a = await service.getAcl({ path, access });
      return { ok: true, body: { path, acl: a.acl.map((e) => ({ perms: formatPerms(e.perms), scheme: e.scheme, id: e.id })), stat: statJson(a.stat), zxid: String(a.zxid) } };
    }
    case 'setAcl': {
      const req = { path, acl: f.acl, version: (f.version as number | undefined) ?? ANY_VERSION };
      return answerOf(await service.setAcl(req, caller), (r) => ({ path: r.path, stat: statJson(r.stat) }));
    }
  }
}
