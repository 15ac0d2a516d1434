/**
 * The checks on an Op that need no tree state. apply() and DataTree.validateOp() share them,
 * so that whatever validation lets into the log applies cleanly (ZooKeeper 3.8.0 could be
 * crashed by an entry its validation passed and its apply could not handle).
 *
 * Everything here treats its input as untrusted: an Op may come from a decoded log entry
 * whose shape TypeScript never saw.
 */
import { MultiOpError, ZgateError, type ZkCode } from '../core/errors.js';
import {
  CREATE_MODES,
  isEphemeral,
  isSequential,
  isTtlMode,
  type CreateMode,
  type MultiOpResultCode,
  type Op,
  type OpFailure,
  type SubOp,
} from '../core/types.js';
import { isStoredAcl } from '../core/acl.js';
import { isReserved, validatePath } from './path.js';

export interface DataTreeOptions {
  /** Largest znode data, and largest sum of data in one multi, in bytes. */
  maxDataBytes: number;
}

export const DEFAULT_MAX_DATA_BYTES = 1_048_576;
export const MAX_TTL_MS = 2 ** 40 - 1;
/** Session ids are 64-bit, signed as in ZooKeeper or unsigned: anything msgpack can carry. */
export const MIN_OWNER = -(2n ** 63n);
export const MAX_OWNER = 2n ** 64n - 1n;

export function resolveOptions(opts?: Partial<DataTreeOptions>): DataTreeOptions {
  const maxDataBytes = opts?.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;
  if (!Number.isSafeInteger(maxDataBytes) || maxDataBytes < 0) {
    throw new ZgateError('BadArguments', `maxDataBytes must be a non-negative integer, got ${String(maxDataBytes)}`);
  }
  return { maxDataBytes };
}

export function fail(code: ZkCode, message: string, path?: string): OpFailure {
  return path === undefined ? { code, message } : { code, message, path };
}

export function isFailure(x: object): x is OpFailure {
  return 'code' in x;
}

/** Java's String.format("%010d", n) for an int: zero-padded to width 10, the sign counting towards it. */
export function formatSequence(n: number): string {
  return n < 0 ? '-' + String(-n).padStart(9, '0') : String(n).padStart(10, '0');
}

const SUB_OPS: ReadonlySet<string> = new Set(['create', 'set', 'delete', 'check']);
const MODES: ReadonlySet<string> = new Set(CREATE_MODES);

/** A view of an Op whose fields have not been checked yet. */
export type Unchecked = Record<string, unknown>;

export function isRecord(x: unknown): x is Unchecked {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A printable description of an untrusted value that never throws (JSON.stringify does on a bigint). */
export function describe(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (x === null || x === undefined || typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') return String(x);
  return `a value of type ${Array.isArray(x) ? 'array' : typeof x}`;
}

function absent(x: unknown): boolean {
  return x === undefined || x === null;
}

function pathFieldFailure(op: Unchecked): OpFailure | null {
  return typeof op.path === 'string' ? null : fail('BadArguments', `${describe(op.op)}: path must be a string`);
}

/** A Uint8Array (a Buffer included) from this realm or another: instanceof alone misses the latter. */
export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array || Object.prototype.toString.call(x) === '[object Uint8Array]';
}

export function dataFailure(data: unknown, opts: DataTreeOptions, path: string): OpFailure | null {
  if (!isBytes(data)) return fail('BadArguments', 'data must be bytes', path);
  if (data.length > opts.maxDataBytes) {
    return fail('PayloadTooLarge', `data of ${data.length} bytes exceeds the limit of ${opts.maxDataBytes} bytes`, path);
  }
  return null;
}

export function versionFailure(version: unknown, path: string): OpFailure | null {
  if (typeof version === 'number' && Number.isSafeInteger(version) && version >= -1) return null;
  return fail('BadArguments', `version must be -1 (any) or a non-negative integer, got ${describe(version)}`, path);
}

export function pathFailure(path: string, sequential = false): OpFailure | null {
  try {
    validatePath(path, { sequential });
    return null;
  } catch (e) {
    if (e instanceof ZgateError) return fail(e.code, e.message, path);
    throw e;
  }
}

function reservedFailure(path: string, what: string, sequential = false): OpFailure | null {
  // A sequential name is the path plus digits: '/zookeeper/' names a child of /zookeeper, '/zookeeper' does not.
  return isReserved(sequential ? path + '1' : path)
    ? fail('BadArguments', `${what} under /zookeeper is not allowed: ${JSON.stringify(path)} is reserved`, path)
    : null;
}

/**
 * The stateless part of a create, in apply()'s order. The path is only checked as far as
 * finding its parent needs: ZooKeeper reports a missing parent (NoNode) before it validates
 * the full path with the sequential suffix appended.
 */
export function createStaticFailure(op: Unchecked, opts: DataTreeOptions): OpFailure | null {
  const f = pathFieldFailure(op);
  if (f) return f;
  const path = op.path as string;
  const d = dataFailure(op.data, opts, path);
  if (d) return d;
  if (typeof op.mode !== 'string' || !MODES.has(op.mode)) {
    return fail('BadArguments', `unknown create mode ${describe(op.mode)}`, path);
  }
  const mode = op.mode as CreateMode;
  if (isTtlMode(mode)) {
    if (absent(op.ttl)) return fail('BadArguments', `mode ${mode} needs a ttl`, path);
    const ttl = op.ttl;
    if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TTL_MS) {
      return fail('BadArguments', `ttl must be an integer from 1 to ${MAX_TTL_MS} ms, got ${describe(ttl)}`, path);
    }
  } else if (!absent(op.ttl)) {
    return fail('BadArguments', `ttl is only allowed with persistent_with_ttl or persistent_sequential_with_ttl, not ${mode}`, path);
  }
  if (isEphemeral(mode)) {
    const owner = op.owner;
    if (typeof owner !== 'bigint' || owner === 0n || owner < MIN_OWNER || owner > MAX_OWNER) {
      return fail('BadArguments', `mode ${mode} needs an owning session (a non-zero 64-bit id)`, path);
    }
  }
  if (!absent(op.parents) && typeof op.parents !== 'boolean') {
    return fail('BadArguments', 'parents must be a boolean', path);
  }
  if (path.charCodeAt(0) !== 0x2f || path.includes('\u0000')) {
    // Without a leading '/' there is no parent to look up; NUL is refused up front as ZooKeeper does.
    const p = pathFailure(path, isSequential(mode));
    if (p) return p;
  }
  return reservedFailure(path, 'create', isSequential(mode)) ?? (absent(op.acl) ? null : aclFailure(op.acl, path));
}

/** An ACL in an entry: the proposer fixed it up, so anything else is a malformed entry. */
function aclFailure(acl: unknown, path: string): OpFailure | null {
  return isStoredAcl(acl) ? null : fail('InvalidACL', `the ACL of ${JSON.stringify(path)} is not a valid list of {perms, scheme, id}`, path);
}

/** ZooKeeper's setACL order: path, InvalidACL; then (with state) NoNode, NoAuth, BadVersion against the aversion. */
export function setAclStaticFailure(op: Unchecked): OpFailure | null {
  const f = pathFieldFailure(op);
  if (f) return f;
  const path = op.path as string;
  return versionFailure(op.version, path) ?? pathFailure(path) ?? reservedFailure(path, 'setACL') ?? aclFailure(op.acl, path);
}

export function setStaticFailure(op: Unchecked, opts: DataTreeOptions): OpFailure | null {
  const f = pathFieldFailure(op);
  if (f) return f;
  const path = op.path as string;
  return (
    dataFailure(op.data, opts, path) ??
    versionFailure(op.version, path) ??
    pathFailure(path) ??
    reservedFailure(path, 'set')
  );
}

function rootFailure(path: string): OpFailure | null {
  return path === '/' ? fail('BadArguments', 'the root znode "/" cannot be deleted', path) : null;
}

export function deleteStaticFailure(op: Unchecked): OpFailure | null {
  const f = pathFieldFailure(op);
  if (f) return f;
  const path = op.path as string;
  return versionFailure(op.version, path) ?? pathFailure(path) ?? rootFailure(path) ?? reservedFailure(path, 'delete');
}

export function checkStaticFailure(op: Unchecked): OpFailure | null {
  const f = pathFieldFailure(op);
  if (f) return f;
  const path = op.path as string;
  return versionFailure(op.version, path) ?? pathFailure(path);
}

export function deleteTreeStaticFailure(op: Unchecked): OpFailure | null {
  const f = pathFieldFailure(op);
  if (f) return f;
  const path = op.path as string;
  const m = op.maxNodes;
  if (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 1) {
    return fail('BadArguments', `maxNodes must be a positive integer, got ${describe(m)}`, path);
  }
  return versionFailure(op.version, path) ?? pathFailure(path) ?? rootFailure(path) ?? reservedFailure(path, 'delete');
}

/** The leader's reap of a container or TTL znode (never sent by clients). */
export function reapStaticFailure(op: Unchecked): OpFailure | null {
  const f = pathFieldFailure(op);
  if (f) return f;
  const path = op.path as string;
  if (op.kind !== 'container' && op.kind !== 'ttl') return fail('BadArguments', `reap: kind must be container or ttl, got ${describe(op.kind)}`, path);
  if (!absent(op.version)) {
    const v = versionFailure(op.version, path);
    if (v) return v;
  }
  return pathFailure(path) ?? rootFailure(path) ?? reservedFailure(path, 'reap');
}

/**
 * The request-level checks of a multi: its shape, and the limit on all its data together.
 * They fail the multi as a whole (no opIndex), as a request ZooKeeper could not even read.
 */
export function multiStaticFailure(op: Unchecked, opts: DataTreeOptions): OpFailure | null {
  const ops = op.ops;
  if (!Array.isArray(ops)) return fail('BadArguments', 'multi: ops must be a list');
  let total = 0;
  for (let i = 0; i < ops.length; i++) {
    const sub: unknown = ops[i];
    if (!isRecord(sub) || typeof sub.op !== 'string' || !SUB_OPS.has(sub.op)) {
      const kind = isRecord(sub) ? describe(sub.op) : describe(sub);
      return fail('BadArguments', `multi: op ${i} is ${kind}; a multi holds only create, set, delete and check`);
    }
    if ((sub.op === 'create' || sub.op === 'set') && isBytes(sub.data)) total += sub.data.length;
  }
  if (total > opts.maxDataBytes) {
    return fail('PayloadTooLarge', `multi carries ${total} bytes of data, more than the limit of ${opts.maxDataBytes} bytes`);
  }
  return null;
}

/** Every stateless check of one sub-op, the full path included (what validateOp promises). */
export function subOpStaticFailure(sub: Unchecked, opts: DataTreeOptions): OpFailure | null {
  switch (sub.op as SubOp['op']) {
    case 'create': {
      const f = createStaticFailure(sub, opts);
      if (f) return f;
      return pathFailure(sub.path as string, isSequential(sub.mode as CreateMode));
    }
    case 'set':
      return setStaticFailure(sub, opts);
    case 'delete':
      return deleteStaticFailure(sub);
    case 'check':
      return checkStaticFailure(sub);
    default:
      return fail('BadArguments', `unknown op ${describe(sub.op)}`);
  }
}

/** Every sub-op's code in a failed multi, as ZooKeeper's ErrorResult reports them. */
export function multiResults(ops: Unchecked[], failedAt: number, code: ZkCode): MultiOpResultCode[] {
  return ops.map((o, j) => ({
    op: o.op as SubOp['op'],
    code: j < failedAt ? 'Ok' : j === failedAt ? code : 'RuntimeInconsistency',
  }));
}

/** The failure of a multi whose sub-op `i` failed with `r`: opIndex, per-op results, the sub-op's path. */
export function multiFailure(ops: Unchecked[], i: number, r: OpFailure): OpFailure {
  const failure: OpFailure = { code: r.code, message: `op ${i} (${String(ops[i]!.op)}): ${r.message}`, opIndex: i, results: multiResults(ops, i, r.code) };
  const path = r.path ?? (typeof ops[i]!.path === 'string' ? (ops[i]!.path as string) : undefined);
  if (path !== undefined) failure.path = path;
  return failure;
}

/**
 * The first failure among the checks that need no tree state, in the shape apply() reports
 * (opIndex and results for a multi); undefined if none. Stricter than apply() on one point:
 * it validates every path in full up front, where apply(), as ZooKeeper, reports a missing
 * parent of a create before a malformed path ('/missing//x' is NoNode there).
 */
export function checkOp(op: Op, opts?: Partial<DataTreeOptions>): OpFailure | undefined {
  const o = resolveOptions(opts);
  const u: unknown = op;
  if (!isRecord(u)) return fail('BadArguments', 'an op must be an object');
  switch (u.op) {
    case 'noop':
      return undefined;
    case 'create':
    case 'set':
    case 'delete':
    case 'check':
      return subOpStaticFailure(u, o) ?? undefined;
    case 'deleteTree':
      return deleteTreeStaticFailure(u) ?? undefined;
    case 'reap':
      return reapStaticFailure(u) ?? undefined;
    case 'setAcl':
      return setAclStaticFailure(u) ?? undefined;
    case 'multi': {
      const m = multiStaticFailure(u, o);
      if (m) return m;
      const ops = u.ops as Unchecked[];
      for (let i = 0; i < ops.length; i++) {
        const f = subOpStaticFailure(ops[i]!, o);
        if (f) return { ...f, message: `op ${i} (${String(ops[i]!.op)}): ${f.message}`, opIndex: i, results: multiResults(ops, i, f.code) };
      }
      return undefined;
    }
    default:
      return fail('BadArguments', `unknown op ${describe(u.op)}`);
  }
}

/**
 * Throws the ZgateError apply() would fail with for a reason that needs no tree state
 * (a MultiOpError for a sub-op of a multi). Paths are checked in full on every op.
 */
export function validateOp(op: Op, opts?: Partial<DataTreeOptions>): void {
  const f = checkOp(op, opts);
  if (f === undefined) return;
  if (f.opIndex !== undefined && f.results !== undefined) {
    throw new MultiOpError(f.code, f.message, f.path, f.opIndex, f.results);
  }
  throw new ZgateError(f.code, f.message, f.path);
}
