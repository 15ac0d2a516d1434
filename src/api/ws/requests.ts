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
import { ANY_VERSION, CREATE_MODES, isEphemeral, type CreateMode, type Op, type OpFailure, type SessionId, type SubOp } from '../../core/types.js';
import { MultiOpError } from '../../tree/datatree.js';
import { validatePath } from '../../tree/path.js';
import { WATCH_KINDS } from '../../watch/index.js';
import type { ApiContext } from '../http/context.js';
import { childrenPage, decodeData, encodeData, statJson, type DataEncoding } from '../http/encoding.js';
import { toSubOp, txnOpSchema, type TxnOpJson } from '../http/txn.js';

const decimalOrInt = { anyOf: [{ type: 'string', pattern: '^(0|[1-9][0-9]{0,15})$' }, { type: 'integer', minimum: 0 }] } as const;
const idSchema = { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 256 }] } as const;
const version = { type: 'integer', minimum: -1, maximum: 2147483647 } as const;
const encoding = { type: 'string', enum: ['utf8', 'base64'] } as const;

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
    },
    ['path'],
  ),
  set: op('set', { path: { type: 'string' }, data: { type: 'string' }, encoding, version }, ['path']),
  delete: op('delete', { path: { type: 'string' }, version, recursive: { type: 'boolean' } }, ['path']),
  txn: op('txn', { ops: { type: 'array', items: txnOpSchema } }, ['ops']),
} as const;

export type RequestOp = keyof typeof REQUEST_SCHEMAS;
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

function failed(failure: OpFailure, zxid: number): OpAnswer {
  return { ok: false, failure, zxid };
}

/** The owner of an ephemeral create on a socket: the session bound to it. */
async function ownerFor(ctx: ApiContext, mode: CreateMode, session: SessionId | undefined): Promise<SessionId | undefined> {
  if (session === undefined) throw new ZgateError('BadArguments', `mode ${mode} needs a session: bind one to this socket first ({"op":"session"})`);
  return ctx.sessionFor(mode, session);
}

/**
 * Runs one REST operation for a socket. `session` is the socket's bound session (for
 * ephemeral creates). Throws ZgateError (or MultiOpError) for input refused before the log.
 */
export async function runOperation(ctx: ApiContext, name: 'get' | 'create' | 'set' | 'delete' | 'txn', f: Record<string, unknown>, session: SessionId | undefined): Promise<OpAnswer> {
  const { member, config } = ctx;
  const path = f.path as string;
  const data = (): Uint8Array => (f.data === undefined ? new Uint8Array(0) : decodeData(f.data as string, (f.encoding as DataEncoding | undefined) ?? 'utf8', 'data'));
  const sizeChecked = (bytes: Uint8Array): Uint8Array => {
    if (bytes.byteLength > config.maxDataBytes) throw new ZgateError('PayloadTooLarge', `data of ${bytes.byteLength} bytes is over the limit of ${config.maxDataBytes}`, path);
    return bytes;
  };
  switch (name) {
    case 'get': {
      validatePath(path);
      const minZxid = zxidField(f.minZxid);
      if (minZxid !== undefined) await member.waitForApplied(minZxid, config.minZxidWaitMs);
      if (f.consistency === 'linearizable') await member.linearizableBarrier(config.minZxidWaitMs);
      member.assertReadable();
      const zxid = member.appliedZxid;
      const node = member.read(path);
      if (!node) return failed({ code: 'NoNode', message: `no znode at ${path}`, path }, zxid);
      const body: Record<string, unknown> = { path, ...encodeData(node.data, f.encoding as DataEncoding | undefined), stat: statJson(node.stat) };
      if (f.children === true || f.limit !== undefined || f.after !== undefined) {
        Object.assign(body, childrenPage(member.tree.children(path) ?? [], f.after as string | undefined, f.limit as number | undefined));
      }
      body.zxid = String(zxid);
      return { ok: true, body };
    }
    case 'create': {
      const mode = (f.mode as CreateMode | undefined) ?? 'persistent';
      const op: SubOp = { op: 'create', path, data: sizeChecked(data()), mode, parents: f.parents === true };
      if (f.ttl !== undefined) op.ttl = f.ttl as number;
      if (isEphemeral(mode)) {
        const owner = await ownerFor(ctx, mode, session);
        if (owner !== undefined) op.owner = owner;
      }
      const answer = await member.write(op);
      if (!answer.outcome.ok) return failed(answer.outcome.failure, answer.zxid);
      const r = answer.outcome.result;
      if (r.op !== 'create') throw new ZgateError('SystemError', 'create answered with another result');
      return { ok: true, body: { path: r.path, stat: statJson(r.stat), zxid: String(answer.zxid) } };
    }
    case 'set': {
      validatePath(path);
      const answer = await member.write({ op: 'set', path, data: sizeChecked(data()), version: (f.version as number | undefined) ?? ANY_VERSION });
      if (!answer.outcome.ok) return failed(answer.outcome.failure, answer.zxid);
      const r = answer.outcome.result;
      if (r.op !== 'set') throw new ZgateError('SystemError', 'set answered with another result');
      return { ok: true, body: { path: r.path, stat: statJson(r.stat), zxid: String(answer.zxid) } };
    }
    case 'delete': {
      const version = (f.version as number | undefined) ?? ANY_VERSION;
      const op: Op = f.recursive === true ? { op: 'deleteTree', path, version, maxNodes: config.maxDeleteNodes } : { op: 'delete', path, version };
      const answer = await member.write(op);
      if (!answer.outcome.ok) return failed(answer.outcome.failure, answer.zxid);
      const r = answer.outcome.result;
      const body: Record<string, unknown> = { path };
      if (r.op === 'deleteTree') body.deleted = r.deleted;
      body.zxid = String(answer.zxid);
      return { ok: true, body };
    }
    case 'txn': {
      const ops = f.ops as TxnOpJson[];
      let owner: SessionId | undefined;
      for (const o of ops) {
        const mode = o.mode ?? 'persistent';
        if (o.op === 'create' && isEphemeral(mode)) {
          owner = await ownerFor(ctx, mode, session);
          break;
        }
      }
      const subOps = ops.map((o, i) => toSubOp(o, i, owner));
      let total = 0;
      for (const s of subOps) if (s.op === 'create' || s.op === 'set') total += s.data.byteLength;
      if (total > config.maxDataBytes) throw new ZgateError('PayloadTooLarge', `the txn carries ${total} bytes of data, over the limit of ${config.maxDataBytes}`);
      const answer = await member.write({ op: 'multi', ops: subOps });
      if (!answer.outcome.ok) return failed(answer.outcome.failure, answer.zxid);
      const result = answer.outcome.result;
      if (result.op !== 'multi') throw new ZgateError('SystemError', 'multi answered with another result');
      return {
        ok: true,
        body: {
          zxid: String(answer.zxid),
          results: result.results.map((r) => (r.op === 'create' || r.op === 'set' ? { op: r.op, path: r.path, stat: statJson(r.stat) } : { op: r.op, path: r.path })),
        },
      };
    }
  }
}

/** The error object of a thrown error, as the HTTP error envelope would carry it. */
export function failureOfError(e: unknown): { failure: OpFailure; internal: boolean } {
  if (e instanceof MultiOpError) {
    const failure: OpFailure = { code: e.code, message: e.message, opIndex: e.opIndex, results: e.results };
    if (e.path !== undefined) failure.path = e.path;
    return { failure, internal: false };
  }
  if (e instanceof ZgateError) {
    const failure: OpFailure = { code: e.code, message: e.message };
    if (e.path !== undefined) failure.path = e.path;
    return { failure, internal: false };
  }
  return { failure: { code: 'SystemError', message: 'internal error; see the member log' }, internal: true };
}
