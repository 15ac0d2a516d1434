/**
 * The member's replicated state machine: the znode tree and the session table, applied
 * together, one entry at a time, deterministically (same entries, same state, on every
 * member), and snapshotted together as of one zxid.
 *
 * - createSession: opens a session (refused when the id is open or recently closed: the
 *   proposer retries with another id).
 * - closeSession: closes it and deletes all its ephemerals in the same entry, as one multi of
 *   deletes computed here from the tree's ephemeral index (path order), so each deletion
 *   fires NodeDeleted (and the parent's NodeChildrenChanged) like a client's delete.
 * - every tree op: applied with the table, so that an ephemeral create (also inside a multi)
 *   for a session that is not open fails with SessionExpired.
 *
 * Every entry advances the tree's lastZxid (a session op applies a noop or the deletes to
 * it), so the tree stays the keeper of "applied up to".
 */
import type { ApplyOutcome, CloseSessionOp, CreateSessionOp, DeleteOp, Op, OpFailure, Zxid } from '../core/types.js';
import { ZgateError } from '../core/errors.js';
import { DataTree, type DataTreeOptions, type SnapshotTuning } from '../tree/datatree.js';
import { assert } from '../util/assert.js';
import { decode, encode } from '../util/codec.js';
import type { Access } from '../core/acl.js';
import type { TokenOp } from '../core/token-ops.js';
import { applyTokenOp, identityKey, tokenOpFailure, TokenTable, type TokenBounds } from './token-table.js';
import { isIdList, isSessionId, isTimeout, SessionTable, type SessionInfo } from './table.js';

export function isSessionOp(op: Op): op is CreateSessionOp | CloseSessionOp {
  return op.op === 'createSession' || op.op === 'closeSession';
}

function fail(code: OpFailure['code'], message: string): OpFailure {
  return { code, message };
}

/** The stateless checks of a session op (its fields may come from a decoded entry). */
export function sessionOpFailure(op: unknown): OpFailure | undefined {
  const o = op as Record<string, unknown>;
  if (!isSessionId(o.id)) return fail('BadArguments', `${String(o.op)}: the session id must be 1 .. 2^63-1`);
  if (o.op === 'createSession') {
    if (!isTimeout(o.timeoutMs)) return fail('BadArguments', `createSession: timeoutMs must be 1 .. 2^31-1, got ${String(o.timeoutMs)}`);
    if (o.owner !== undefined && !isIdList(o.owner)) return fail('BadArguments', 'createSession: owner must be a list of ids');
  } else if (o.reason !== 'closed' && o.reason !== 'expired') {
    return fail('BadArguments', `closeSession: reason must be closed or expired, got ${String(o.reason)}`);
  }
  return undefined;
}

export function isTokenOp(op: Op): op is TokenOp {
  return op.op === 'createToken' || op.op === 'revokeToken' || op.op === 'expireTokens';
}

/** What apply() would refuse without looking at state, or, for a multi, its first failure in op order. */
export function precheck(tree: DataTree, op: Op, access?: Access): OpFailure | undefined {
  if (isTokenOp(op)) return tokenOpFailure(op);
  return isSessionOp(op) ? sessionOpFailure(op) : tree.precheck(op, access);
}

/** The member's replicated state besides the tree, applied by the same entries. */
export interface ReplicatedTables {
  sessions: SessionTable;
  tokens: TokenTable;
  tokenBounds?: TokenBounds;
}

/**
 * A token entry: create, revoke (by its creator, or super: anyone else is told NoNode, as if
 * the token did not exist), the leader's reaping. The tree only advances.
 */
function applyToken(tree: DataTree, tables: ReplicatedTables, op: TokenOp, zxid: Zxid, timeMs: number, access: Access | undefined): ApplyOutcome {
  tree.apply({ op: 'noop' }, zxid, timeMs);
  if (op.op === 'revokeToken' && access !== undefined && !access.super) {
    const rec = tables.tokens.get(op.accessor);
    if (rec !== undefined && rec.owner !== identityKey(access.ids)) return { ok: false, failure: fail('NoNode', `no token ${op.accessor}`), events: [] };
  }
  const r = applyTokenOp(tables.tokens, op, timeMs, tables.tokenBounds);
  return r.ok ? { ok: true, result: r.result, events: [] } : { ok: false, failure: fail(r.failure.code, r.failure.message), events: [] };
}

/**
 * Applies the entry at `zxid` (proposer's time `timeMs`) to the tree and the table, as its
 * writer `access` (absent: the member's own entry, which no ACL restricts).
 */
export function applyOp(tree: DataTree, tables: ReplicatedTables, op: Op, zxid: Zxid, timeMs: number, access?: Access): ApplyOutcome {
  const sessions = tables.sessions;
  const kind = (op as { op?: unknown } | null)?.op;
  // A token stops being an identity at the entry that revoked it, or when the entry time passes its expiry.
  if (access?.token !== undefined && !tables.tokens.isLive(access.token, timeMs)) {
    tree.apply({ op: 'noop' }, zxid, timeMs);
    return { ok: false, failure: fail('AuthFailed', 'the token is unknown, expired or revoked'), events: [] };
  }
  if (kind === 'createToken' || kind === 'revokeToken' || kind === 'expireTokens') return applyToken(tree, tables, op as TokenOp, zxid, timeMs, access);
  if (kind !== 'createSession' && kind !== 'closeSession') return tree.apply(op, zxid, timeMs, sessions, access);
  const refused = sessionOpFailure(op);
  if (refused) {
    tree.apply({ op: 'noop' }, zxid, timeMs);
    return { ok: false, failure: refused, events: [] };
  }
  if (op.op === 'createSession') {
    tree.apply({ op: 'noop' }, zxid, timeMs);
    const why = sessions.refusal(op.id);
    if (why !== undefined) {
      return { ok: false, failure: fail('NodeExists', `session id ${op.id} is ${why === 'open' ? 'in use' : 'recently closed'}; propose another`), events: [] };
    }
    const info: SessionInfo = { id: op.id, timeoutMs: op.timeoutMs, czxid: zxid, ctime: timeMs };
    if (op.owner !== undefined && op.owner.length > 0) info.owner = op.owner.map((o) => ({ scheme: o.scheme, id: o.id }));
    sessions.create(info);
    return { ok: true, result: { op: 'createSession', id: op.id, timeoutMs: op.timeoutMs }, events: [] };
  }
  const closeOp = op as CloseSessionOp;
  const paths = tree.ephemeralsOf(closeOp.id);
  const open = sessions.isOpen(closeOp.id);
  if (!open && paths.length === 0) {
    tree.apply({ op: 'noop' }, zxid, timeMs);
    return { ok: false, failure: fail('SessionExpired', `session ${closeOp.id} is unknown, closed or expired`), events: [] };
  }
  if (access !== undefined && !sessions.mayUse(closeOp.id, access)) {
    tree.apply({ op: 'noop' }, zxid, timeMs);
    return { ok: false, failure: fail('NoAuth', `session ${closeOp.id} belongs to another identity`), events: [] };
  }
  // Ephemerals have no children, so these deletes cannot fail; an orphan's (an owner that is
  // not open, from before sessions were replicated) go the same way.
  const ops: DeleteOp[] = paths.map((path) => ({ op: 'delete', path, version: -1 }));
  const deleted = tree.apply({ op: 'multi', ops }, zxid, timeMs);
  assert(deleted.ok, () => `closeSession ${closeOp.id}: deleting its ephemerals failed: ${deleted.ok ? '' : deleted.failure.message}`);
  sessions.close(closeOp.id, closeOp.reason);
  return { ok: true, result: { op: 'closeSession', id: closeOp.id, reason: closeOp.reason, deleted: paths }, events: deleted.events };
}

// ---------------------------------------------------------------- snapshots

/**
 * A member snapshot: 'Z' 'G' 'S' <version 1>, a u32 (big-endian) length L, L bytes of msgpack
 * {zxid, sessions}, then the tree snapshot's bytes as DataTree writes them. A tree snapshot is
 * a msgpack map, whose first byte is never 'Z' (0x5a, a positive fixint), so a snapshot
 * written before sessions existed (the tree's bytes alone) still restores, with no sessions.
 */
const MAGIC = [0x5a, 0x47, 0x53, 0x01] as const;
const HEADER = MAGIC.length + 4;

export interface MemberSnapshotWriter {
  readonly zxid: Zxid;
  /** Does about `budget` znodes' worth of work; false once the tree's bytes are complete. */
  step(budget: number): boolean;
  /** The whole snapshot: the table as of `zxid` and the tree as of `zxid`. */
  finish(): Uint8Array;
  abort(): void;
}

/**
 * The header: the zxid, the session table, and `extra` replicated state of the member
 * (e.g. `idempotency`, node/idempotency.ts), all as of that zxid. Readers ignore fields they
 * don't know, so more state can be added without a new version.
 */
function sessionPart(sessions: SessionTable, zxid: Zxid, extra: Record<string, unknown> = {}): Uint8Array {
  return encode({ ...extra, zxid, sessions: sessions.toSnapshot() });
}

/** MAGIC, the header's length, the header: written in front of the tree's bytes. */
function framing(head: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + head.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(MAGIC.length, head.length);
  out.set(head, HEADER);
  return out;
}

/**
 * Starts a snapshot of the state as of the tree's lastZxid: the (small) table is serialised
 * now, synchronously, at the same zxid the tree's copy-on-write writer starts from; the tree
 * is written incrementally while entries keep applying, behind the framing in the same buffer
 * (no final copy of a large tree's bytes).
 */
export function beginSnapshot(tree: DataTree, sessions: SessionTable, tuning: Partial<SnapshotTuning> = {}, extra: Record<string, unknown> = {}): MemberSnapshotWriter {
  const zxid = tree.lastZxid;
  const w = tree.beginSnapshot({ ...tuning, prefix: framing(sessionPart(sessions, zxid, extra)) });
  assert(w.zxid === zxid, () => `tree snapshot at ${w.zxid}, sessions at ${zxid}`);
  return {
    zxid,
    step: (budget) => w.step(budget),
    finish: () => w.finish(),
    abort: () => w.abort(),
  };
}

/** The same bytes as beginSnapshot() run to the end, at once. */
export function snapshot(tree: DataTree, sessions: SessionTable, extra: Record<string, unknown> = {}): Uint8Array {
  return tree.snapshot(framing(sessionPart(sessions, tree.lastZxid, extra)));
}

export function isMemberSnapshot(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER && MAGIC.every((b, i) => bytes[i] === b);
}

/** Restores tree and table from a member snapshot (or from a tree-only snapshot written before sessions). */
export function restoreSnapshot(bytes: Uint8Array, treeOptions?: Partial<DataTreeOptions>): { tree: DataTree; sessions: SessionTable; extra: Record<string, unknown> } {
  if (!isMemberSnapshot(bytes)) return { tree: DataTree.restore(bytes, treeOptions), sessions: new SessionTable(), extra: {} };
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(MAGIC.length);
  if (HEADER + len > bytes.length) throw new ZgateError('DataInconsistency', 'malformed snapshot: the session table runs past the end');
  let head: unknown;
  try {
    head = decode(bytes.subarray(HEADER, HEADER + len));
  } catch (e) {
    throw new ZgateError('DataInconsistency', `malformed snapshot: cannot decode the session table (${e instanceof Error ? e.message : 'unknown error'})`);
  }
  const tree = DataTree.restore(bytes.subarray(HEADER + len), treeOptions);
  const h = head as { zxid?: unknown; sessions?: unknown } | null;
  if (h === null || typeof h !== 'object' || h.zxid !== tree.lastZxid) {
    throw new ZgateError('DataInconsistency', `malformed snapshot: the session table is not at the tree's zxid ${tree.lastZxid}`);
  }
  return { tree, sessions: SessionTable.fromSnapshot(h.sessions, tree.lastZxid), extra: h as Record<string, unknown> };
}
