/**
 * The types every module shares: znode Stat, the Ops that travel through the log,
 * their results and the change events the tree reports.
 *
 * Ids: a zxid is the Raft log index of the entry that was applied (a safe integer);
 * session ids and ephemeral owners are 64-bit and so bigint. Both travel as decimal
 * strings in JSON.
 */
import type { Acl, Id } from './acl.js';
import type { TokenOp, TokenOpResult } from './token-ops.js';
import type { ZkCode } from './errors.js';

export type Zxid = number;
export type SessionId = bigint;

export interface Stat {
  czxid: Zxid;
  mzxid: Zxid;
  pzxid: Zxid;
  ctime: number;
  mtime: number;
  version: number;
  /** As clients see it: creates + deletes of children (ZooKeeper's "v3" reported cversion). */
  cversion: number;
  aversion: number;
  /** Session id for ephemeral znodes, 0n otherwise (also for container and TTL znodes). */
  ephemeralOwner: SessionId;
  dataLength: number;
  numChildren: number;
}

export const CREATE_MODES = [
  'persistent',
  'ephemeral',
  'persistent_sequential',
  'ephemeral_sequential',
  'container',
  'persistent_with_ttl',
  'persistent_sequential_with_ttl',
] as const;
export type CreateMode = (typeof CREATE_MODES)[number];

export function isSequential(mode: CreateMode): boolean {
  return mode === 'persistent_sequential' || mode === 'ephemeral_sequential' || mode === 'persistent_sequential_with_ttl';
}
export function isEphemeral(mode: CreateMode): boolean {
  return mode === 'ephemeral' || mode === 'ephemeral_sequential';
}
export function isTtlMode(mode: CreateMode): boolean {
  return mode === 'persistent_with_ttl' || mode === 'persistent_sequential_with_ttl';
}

/** Version -1 means "any version". */
export const ANY_VERSION = -1;

export interface CreateOp {
  op: 'create';
  path: string;
  data: Uint8Array;
  mode: CreateMode;
  /** Only with a TTL mode: 1 .. 2^40-1 ms. */
  ttl?: number;
  /** The owning session, required for ephemeral modes. */
  owner?: SessionId;
  /** Create missing ancestors as persistent znodes (mkdir -p), with the same ACL. */
  parents?: boolean;
  /** The znode's ACL, already fixed up by the proposer (no `auth` entry); absent: world:anyone:cdrwa. */
  acl?: Acl[];
}
export interface SetOp {
  op: 'set';
  path: string;
  data: Uint8Array;
  version: number;
}
export interface DeleteOp {
  op: 'delete';
  path: string;
  version: number;
}
export interface CheckOp {
  op: 'check';
  path: string;
  version: number;
}
/** ZooKeeper's setACL: `version` is compared with the aversion; fires no watch. Not a multi op. */
export interface SetAclOp {
  op: 'setAcl';
  path: string;
  acl: Acl[];
  version: number;
}
/** Delete a znode and its whole subtree as one transaction; `version` applies to the top znode. */
export interface DeleteTreeOp {
  op: 'deleteTree';
  path: string;
  version: number;
  /** Refuse (BadArguments, nothing deleted) when the subtree holds more znodes than this. */
  maxNodes: number;
}
export type SubOp = CreateOp | SetOp | DeleteOp | CheckOp;
export interface MultiOp {
  op: 'multi';
  ops: SubOp[];
}
/** A log entry with no effect on the tree (a new Raft leader's first entry). */
export interface NoopOp {
  op: 'noop';
}
/**
 * Opens a session (sessions are replicated state, applied through the log like znodes).
 * The id is chosen by the proposer (63 random bits); apply refuses one already open.
 */
export interface CreateSessionOp {
  op: 'createSession';
  id: SessionId;
  /** The granted timeout, already clamped by the proposer. */
  timeoutMs: number;
  /** The creator's authenticated ids (core/acl.ts authenticatedIds); absent: anonymous. */
  owner?: Id[];
}
/** Closes a session and deletes its ephemeral znodes in the same entry. */
export interface CloseSessionOp {
  op: 'closeSession';
  id: SessionId;
  reason: 'closed' | 'expired';
}
/**
 * The leader's clean-up of a container or TTL znode: apply re-checks the rule with the
 * entry's time (and, for TTL, that `version` is unchanged), and otherwise fails harmlessly.
 */
export interface ReapOp {
  op: 'reap';
  path: string;
  kind: 'container' | 'ttl';
  version?: number;
}
export type SessionOp = CreateSessionOp | CloseSessionOp;
export type Op = SubOp | DeleteTreeOp | MultiOp | NoopOp | SessionOp | ReapOp | SetAclOp | TokenOp;

export interface CreateResult { op: 'create'; path: string; stat: Stat }
export interface SetResult { op: 'set'; path: string; stat: Stat }
export interface DeleteResult { op: 'delete'; path: string }
export interface CheckResult { op: 'check'; path: string }
export type SubResult = CreateResult | SetResult | DeleteResult | CheckResult;
export interface DeleteTreeResult { op: 'deleteTree'; path: string; deleted: number }
export interface MultiResult { op: 'multi'; results: SubResult[] }
export interface NoopResult { op: 'noop' }
export interface CreateSessionResult { op: 'createSession'; id: SessionId; timeoutMs: number }
/** `deleted`: the session's ephemerals, deleted by the same entry, in path order. */
export interface CloseSessionResult { op: 'closeSession'; id: SessionId; reason: 'closed' | 'expired'; deleted: string[] }
export interface ReapResult { op: 'reap'; path: string; kind: 'container' | 'ttl' }
export interface SetAclResult { op: 'setAcl'; path: string; stat: Stat }
export type OpResult = SubResult | DeleteTreeResult | MultiResult | NoopResult | CreateSessionResult | CloseSessionResult | ReapResult | SetAclResult | TokenOpResult;

/** One sub-op's code in a failed multi, as ZooKeeper's ErrorResult reports it. */
export interface MultiOpResultCode {
  op: SubOp['op'];
  code: ZkCode;
}

/** A failed Op: the tree is unchanged. For a multi, `results` reports every sub-op as ZooKeeper does. */
export interface OpFailure {
  code: ZkCode;
  message: string;
  path?: string;
  /** For a multi: the index of the failing sub-op. */
  opIndex?: number;
  /** For a multi: Ok for the ops before the failure, its code, then RuntimeInconsistency. */
  results?: MultiOpResultCode[];
}

export type ApplyOutcome =
  | { ok: true; result: OpResult; events: TreeEvent[] }
  | { ok: false; failure: OpFailure; events: [] };

export type TreeEventType = 'NodeCreated' | 'NodeDeleted' | 'NodeDataChanged' | 'NodeChildrenChanged';

/**
 * A change as ZooKeeper's watch triggers see it: create P reports NodeCreated(P) then
 * NodeChildrenChanged(parent(P)); delete P reports NodeDeleted(P) then
 * NodeChildrenChanged(parent(P)); set P reports NodeDataChanged(P). Events of one Op share its zxid.
 */
export interface TreeEvent {
  type: TreeEventType;
  path: string;
  /**
   * The ACL that decides who may see the event, as of its zxid: the znode's own, the parent's
   * for NodeChildrenChanged (ZooKeeper's fix for CVE-2024-23944). The tree always sets it;
   * absent only on events made elsewhere (tests), which count as world-readable.
   */
  acl?: readonly Acl[];
}
