/**
 * zgate's own member as a CoordinationService (coordination/service.ts): the faces' one way
 * in. Every rule that does not depend on the wire is decided here: readiness before any wait,
 * path and data bounds, Idempotency-Keys, the session an ephemeral create needs, the upsert's
 * bounded retries, the recursive delete's bound, the watch's wait for a zxid.
 */
import { ZgateError } from '../core/errors.js';
import { ANONYMOUS, authenticatedIds, fixupAcl, maskDigests, permits, Perms, type Access, type Acl } from '../core/acl.js';
import { ANY_VERSION, isEphemeral, type CreateMode, type Op, type OpResult, type SessionId, type Stat, type SubOp, type Zxid } from '../core/types.js';
import type {
  AclAnswer,
  AclRequest,
  Caller,
  Credentials,
  Identity,
  SetAclRequest,
  TokenRequest,
  TokenView,
  TxnOp,
  ChildrenPage,
  ClusterView,
  CoordinationService,
  CreatedZnode,
  CreateRequest,
  DeleteRequest,
  HeldSession,
  ReadAnswer,
  ReadRequest,
  ReplicationFigures,
  ServiceFigures,
  ServiceLimits,
  SessionGrant,
  SessionView,
  SetRequest,
  TxnResult,
  UpsertRequest,
  WatchHooks,
  WatchRegistration,
  Written,
} from '../coordination/service.js';
import { validatePath } from '../tree/path.js';
import type { Subscriber, WatchHub, Watching } from '../watch/index.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../core/idempotency.js';
import type { Member, WriteAnswer } from './member.js';
import type { SessionService } from './session-service.js';
import type { Authenticator, VerifiedToken } from './authenticator.js';
import { TokenRules } from './tokens.js';
import { mayUseSession } from '../session/index.js';

/** What a replicated log offers the service (cluster/'s runtime); absent on a member running alone. */
export interface ReplicationControl {
  cluster(): Omit<ClusterView, 'appliedZxid'>;
  addMember(id: number, peer: string, http: string): Promise<{ index: number }>;
  removeMember(id: number): Promise<{ index: number }>;
  metrics(): ReplicationFigures;
  onProposalLatency(fn: (seconds: number) => void): void;
}

export interface MemberServiceOptions extends ServiceLimits {
  /** The URL clients reach this member at, for the cluster view. */
  advertisedHttp: string;
  /** False while the member (and its replicated log) is still starting. */
  isReady(): boolean;
  /** The replicated log's controls; absent: a member running alone. */
  replication?: ReplicationControl;
  /** The ACL of a create that gives none, as given (`auth` entries expand to the creator's ids). */
  defaultAcl: unknown;
  /** Longest token lifetime (ttlMs) a create may ask for. */
  maxTokenTtlMs: number;
  /** The proposer's clock: a token's createdAt and expiresAt. */
  nowMs(): number;
  authenticator: Authenticator;
}

function accessOf(a: Access | undefined): Access {
  return a ?? ANONYMOUS;
}

function noAuth(message: string, path?: string): ZgateError {
  return new ZgateError('NoAuth', message, path);
}

/** Attempts of an upsert racing with concurrent creates and deletes. */
const UPSERT_ATTEMPTS = 4;
const MAX_U64 = (1n << 64n) - 1n;

/** One page of sorted child names: those after `after` (exclusive), at most `limit`; `more` if any follow. */
export function childrenPage(names: readonly string[], after: string | undefined, limit: number | undefined): ChildrenPage {
  let from = 0;
  if (after !== undefined) {
    let hi = names.length;
    while (from < hi) {
      const mid = (from + hi) >>> 1;
      if (names[mid]! <= after) from = mid + 1;
      else hi = mid;
    }
  }
  const end = limit === undefined ? names.length : Math.min(names.length, from + limit);
  return { children: names.slice(from, end), more: end < names.length };
}

function written<R>(a: WriteAnswer, pick: (r: OpResult) => R): Written<R> {
  const replayed = a.replayed === true;
  if (!a.outcome.ok) return { ok: false, zxid: a.zxid, replayed, failure: a.outcome.failure };
  return { ok: true, zxid: a.zxid, replayed, result: pick(a.outcome.result) };
}

function unexpected(r: OpResult, wanted: string): never {
  throw new ZgateError('SystemError', `${wanted} answered with a ${r.op} result`);
}

function created(r: OpResult): CreatedZnode {
  if (r.op !== 'create' && r.op !== 'set') unexpected(r, 'create or set');
  return { path: r.path, stat: r.stat };
}

export class MemberService implements CoordinationService {
  readonly limits: ServiceLimits;

  constructor(
    private readonly member: Member,
    private readonly sessions: SessionService,
    private readonly hub: WatchHub,
    private readonly opts: MemberServiceOptions,
  ) {
    this.limits = { maxDataBytes: opts.maxDataBytes, maxDeleteNodes: opts.maxDeleteNodes, readWaitMs: opts.readWaitMs };
    this.tokens = new TokenRules(member, opts);
  }

  private readonly tokens: TokenRules;

  get ready(): boolean {
    return this.member.ready;
  }

  get appliedZxid(): Zxid {
    return this.member.appliedZxid;
  }

  get watches(): WatchHub {
    return this.hub;
  }

  get replicated(): boolean {
    return this.opts.replication !== undefined;
  }

  // ---------------------------------------------------------------- reads

  async read(req: ReadRequest): Promise<ReadAnswer> {
    validatePath(req.path);
    await this.awaitFresh(req);
    const zxid = this.member.appliedZxid;
    const node = this.member.read(req.path);
    if (node === undefined) return { zxid, znode: undefined };
    this.assertMay(req.path, Perms.READ, accessOf(req.access));
    if (req.children === undefined) return { zxid, znode: { data: node.data, stat: node.stat } };
    const page = childrenPage(this.member.tree.children(req.path) ?? [], req.children.after, req.children.limit);
    return { zxid, znode: { data: node.data, stat: node.stat, page } };
  }

  /** NoAuth unless `access` may `perm` on the znode at `path` as this member has applied it. */
  private assertMay(path: string, perm: number, access: Access): void {
    const acl = this.member.tree.aclAt(path);
    if (acl !== undefined && !permits(acl, perm, access, path)) {
      throw noAuth(`not allowed to ${perm === Perms.READ ? 'read' : 'change'} ${JSON.stringify(path)}${access.readOnly === true || access.prefix !== undefined ? ' (by its ACL or by the token\'s scope)' : ''}`, path);
    }
  }

  /** An ACL as given, fixed up with the caller's ids as ZooKeeper's fixupACL does; InvalidACL otherwise. */
  private fixAcl(input: unknown, access: Access, path: string): Acl[] {
    const r = fixupAcl(input, access.ids);
    if (!r.ok) throw new ZgateError('InvalidACL', r.message, path);
    return r.acl;
  }

  async getAcl(req: AclRequest): Promise<AclAnswer> {
    validatePath(req.path);
    await this.awaitFresh(req);
    const zxid = this.member.appliedZxid;
    const found = this.member.tree.aclOf(req.path);
    if (found === undefined) throw new ZgateError('NoNode', `${JSON.stringify(req.path)} does not exist`, req.path);
    const access = accessOf(req.access);
    // ZooKeeper: READ or ADMIN; without ADMIN a digest id reads user:x (CVE-2019-0201).
    const admin = permits(found.acl, Perms.ADMIN, access, req.path);
    if (!admin && !permits(found.acl, Perms.READ, access, req.path)) throw noAuth(`not allowed to read the ACL of ${JSON.stringify(req.path)}`, req.path);
    return { zxid, acl: admin ? found.acl.map((e) => ({ ...e })) : maskDigests(found.acl), stat: found.stat };
  }

  async setAcl(req: SetAclRequest, caller: Caller): Promise<Written<{ path: string; stat: Stat }>> {
    const key = this.checkKey(caller);
    validatePath(req.path);
    const access = accessOf(caller.access);
    const acl = this.fixAcl(req.acl, access, req.path);
    return written(await this.member.write({ op: 'setAcl', path: req.path, acl, version: req.version }, key, access), (r) => {
      if (r.op !== 'setAcl') unexpected(r, 'setAcl');
      return { path: r.path, stat: r.stat };
    });
  }

  authenticate(creds: Credentials): Identity {
    return this.opts.authenticator.authenticate(creds);
  }

  get authRequired(): boolean {
    return this.opts.authenticator.authRequired;
  }

  // ---------------------------------------------------------------- tokens (node/tokens.ts decides)

  createToken(req: TokenRequest, identity: Identity): Promise<{ zxid: Zxid; token: string; view: TokenView }> {
    return this.tokens.create(req, identity);
  }

  listTokens(access: Access): TokenView[] {
    return this.tokens.list(access);
  }

  getToken(id: string, access: Access): TokenView {
    return this.tokens.get(id, access);
  }

  revokeToken(id: string, access: Access): Promise<{ zxid: Zxid }> {
    return this.tokens.revoke(id, access);
  }

  verifyToken(text: string): VerifiedToken | undefined {
    return this.tokens.verify(text);
  }

  tokenLive(accessor: string): boolean {
    return this.member.tokens.isLive(accessor, this.opts.nowMs());
  }

  onTokenGone(listener: (accessor: string) => void): void {
    this.tokens.onGone(listener);
  }

  /** Readiness first, then the waits a read asked for, bounded by readWaitMs. */
  private async awaitFresh(f: { minZxid?: Zxid; linearizable?: boolean }): Promise<void> {
    this.member.assertReadable();
    if (f.minZxid !== undefined) await this.member.waitForApplied(f.minZxid, this.limits.readWaitMs);
    if (f.linearizable === true) await this.member.linearizableBarrier(this.limits.readWaitMs);
  }

  async awaitZxid(zxid: Zxid): Promise<void> {
    await this.awaitFresh({ minZxid: zxid });
  }

  async sync(): Promise<Zxid> {
    await this.awaitFresh({ linearizable: true });
    return this.member.appliedZxid;
  }

  // ---------------------------------------------------------------- writes

  private checkKey(caller: Caller): string | undefined {
    const key = caller.idempotencyKey;
    if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new ZgateError('BadArguments', `Idempotency-Key must be 1..128 visible ASCII characters, got '${key.slice(0, 140)}'`);
    }
    return key;
  }

  private checkData(data: Uint8Array, path: string): Uint8Array {
    if (data.byteLength > this.limits.maxDataBytes) {
      throw new ZgateError('PayloadTooLarge', `data of ${data.byteLength} bytes is over the limit of ${this.limits.maxDataBytes}`, path);
    }
    return data;
  }

  /**
   * The owner of an ephemeral create: the caller's session, which must be open (SessionExpired
   * otherwise). Refused here, before the log; apply checks again (the session may expire in
   * between), so nothing is ever created for a session that is not open.
   */
  private async ownerFor(mode: CreateMode, caller: Caller): Promise<SessionId | undefined> {
    if (!isEphemeral(mode)) return undefined;
    if (caller.sessionError !== undefined) throw new ZgateError('BadArguments', caller.sessionError);
    if (caller.session === undefined) throw new ZgateError('BadArguments', `mode ${mode} needs a session: ${caller.sessionHint ?? 'open one first'}`);
    return (await this.usable(caller.session, caller.access)).id;
  }

  async create(req: CreateRequest, caller: Caller): Promise<Written<CreatedZnode>> {
    const key = this.checkKey(caller);
    const access = accessOf(caller.access);
    const data = this.checkData(req.data, req.path);
    const acl = this.fixAcl(req.acl ?? this.opts.defaultAcl, access, req.path);
    const op: SubOp = { op: 'create', path: req.path, data, mode: req.mode, parents: req.parents === true, acl };
    if (req.ttl !== undefined) op.ttl = req.ttl;
    const owner = await this.ownerFor(req.mode, caller);
    if (owner !== undefined) op.owner = owner;
    return written(await this.member.write(op, key, access), created);
  }

  async set(req: SetRequest, caller: Caller): Promise<Written<CreatedZnode>> {
    const key = this.checkKey(caller);
    validatePath(req.path);
    const op: Op = { op: 'set', path: req.path, data: this.checkData(req.data, req.path), version: req.version };
    return written(await this.member.write(op, key, accessOf(caller.access)), created);
  }

  /**
   * Create or set, whichever the local tree suggests first. Each attempt is one atomic entry,
   * so a race with a concurrent create or delete only sends it round again, a bounded number
   * of times. With an Idempotency-Key the attempts are always create, set, create, set with
   * keys key#0..#3, so that a retry walks the same entries and replays each one's outcome.
   */
  async upsert(req: UpsertRequest, caller: Caller): Promise<Written<CreatedZnode & { created: boolean }>> {
    const key = this.checkKey(caller);
    validatePath(req.path);
    const data = this.checkData(req.data, req.path);
    const access = accessOf(caller.access);
    const acl = this.fixAcl(this.opts.defaultAcl, access, req.path);
    let tryCreate = key !== undefined || this.member.read(req.path) === undefined;
    let last: Written<CreatedZnode & { created: boolean }> | undefined;
    for (let attempt = 0; attempt < UPSERT_ATTEMPTS; attempt++, tryCreate = !tryCreate) {
      const k = key === undefined ? undefined : `${key}#${attempt}`;
      const op: Op = tryCreate ? { op: 'create', path: req.path, data, mode: 'persistent', parents: req.parents === true, acl } : { op: 'set', path: req.path, data, version: ANY_VERSION };
      const createdNow = tryCreate;
      last = written(await this.member.write(op, k, access), (r) => ({ ...created(r), created: createdNow }));
      if (last.ok || last.failure.code !== (tryCreate ? 'NodeExists' : 'NoNode')) return last;
    }
    throw new ZgateError('Unavailable', `upsert of ${req.path} kept racing with concurrent creates and deletes; retry`, req.path);
  }

  async delete(req: DeleteRequest, caller: Caller): Promise<Written<{ path: string; deleted?: number }>> {
    const key = this.checkKey(caller);
    const op: Op = req.recursive === true ? { op: 'deleteTree', path: req.path, version: req.version, maxNodes: this.limits.maxDeleteNodes } : { op: 'delete', path: req.path, version: req.version };
    return written(await this.member.write(op, key, accessOf(caller.access)), (r) => {
      if (r.op === 'deleteTree') return { path: req.path, deleted: r.deleted };
      if (r.op !== 'delete') unexpected(r, 'delete');
      return { path: req.path };
    });
  }

  async txn(ops: TxnOp[], caller: Caller): Promise<Written<TxnResult[]>> {
    const key = this.checkKey(caller);
    const access = accessOf(caller.access);
    const ephemeral = ops.find((o) => o.op === 'create' && isEphemeral(o.mode));
    const owner = ephemeral?.op === 'create' ? await this.ownerFor(ephemeral.mode, caller) : undefined;
    let total = 0;
    const fixed = ops.map((o): SubOp => {
      if (o.op === 'create' || o.op === 'set') total += o.data.byteLength;
      if (o.op !== 'create') return o;
      const c: SubOp = { ...o, acl: this.fixAcl(o.acl ?? this.opts.defaultAcl, access, o.path) };
      if (owner !== undefined && isEphemeral(o.mode)) c.owner = owner;
      return c;
    });
    if (total > this.limits.maxDataBytes) throw new ZgateError('PayloadTooLarge', `the txn carries ${total} bytes of data, over the limit of ${this.limits.maxDataBytes}`);
    return written(await this.member.write({ op: 'multi', ops: fixed }, key, access), (r) => {
      if (r.op !== 'multi') unexpected(r, 'multi');
      return r.results.map((s): TxnResult => (s.op === 'create' || s.op === 'set' ? { op: s.op, path: s.path, stat: s.stat } : { op: s.op, path: s.path }));
    });
  }

  // ---------------------------------------------------------------- sessions

  async openSession(timeoutMs: number | undefined, access?: Access): Promise<SessionGrant & { zxid: Zxid }> {
    this.member.assertReadable();
    const s = await this.sessions.create(timeoutMs, authenticatedIds(accessOf(access).ids));
    return { sessionId: s.id, timeoutMs: s.timeoutMs, zxid: s.zxid };
  }

  /** The session, open, and usable by `access` (NoAuth when it belongs to another identity). */
  private async usable(id: SessionId, access: Access | undefined): Promise<{ id: SessionId; timeoutMs: number }> {
    const info = await this.sessions.lookup(id);
    if (!mayUseSession(info.owner, accessOf(access))) throw noAuth(`session ${id} belongs to another identity`);
    return info;
  }

  async keepalive(id: SessionId, access?: Access): Promise<SessionGrant> {
    await this.usable(id, access);
    const info = await this.sessions.keepalive(id);
    return { sessionId: info.id, timeoutMs: info.timeoutMs };
  }

  async getSession(id: SessionId, access?: Access): Promise<SessionView> {
    const info = await this.usable(id, access);
    return { sessionId: info.id, timeoutMs: info.timeoutMs, ephemerals: this.member.tree.ephemeralsOf(info.id) };
  }

  async listSessions(access?: Access): Promise<SessionGrant[]> {
    this.member.assertReadable();
    const a = accessOf(access);
    return this.member.sessions
      .list()
      .filter((s) => mayUseSession(s.owner, a))
      .map((s) => ({ sessionId: s.id, timeoutMs: s.timeoutMs }));
  }

  async closeSession(id: SessionId, access?: Access): Promise<{ zxid: Zxid; deleted: string[] }> {
    await this.usable(id, access);
    const answer = await this.sessions.close(id, accessOf(access));
    return { zxid: answer.zxid, deleted: answer.deleted };
  }

  async holdSession(id: SessionId | undefined, timeoutMs: number | undefined, onLeaderLost?: () => void, access?: Access): Promise<HeldSession> {
    let grant: SessionGrant;
    if (id === undefined) grant = await this.openSession(timeoutMs, access);
    else {
      if (id > MAX_U64 || id < 1n) throw new ZgateError('BadArguments', `a session id is a decimal 64-bit id (1..2^64-1), got '${id}'`);
      const info = await this.usable(id, access);
      grant = { sessionId: info.id, timeoutMs: info.timeoutMs };
    }
    const release = this.sessions.hold({ id: grant.sessionId, timeoutMs: grant.timeoutMs }, onLeaderLost);
    return { ...grant, release };
  }

  // ---------------------------------------------------------------- watches

  watch(sub: Subscriber, req: WatchRegistration, hooks: WatchHooks): Watching | Promise<Watching | undefined> {
    this.member.assertReadable();
    const registration = req.fromZxid === undefined ? { path: req.path, kind: req.kind, withData: req.withData } : { path: req.path, kind: req.kind, withData: req.withData, fromZxid: req.fromZxid };
    // minZxid, as on reads: a fresh watch (after Compacted, say) on a member that is behind
    // what the client has already seen would show it an older state, then events it has had.
    const waitFor = Math.max(req.fromZxid ?? 0, req.minZxid ?? 0);
    if (waitFor <= this.hub.appliedZxid) {
      this.assertMay(req.path, Perms.READ, sub.access);
      return this.hub.watch(sub, registration, hooks.onWatching);
    }
    if (hooks.admitWait !== undefined && !hooks.admitWait()) return Promise.resolve(undefined);
    return this.awaitResumable(waitFor).then(() => {
      if (hooks.abandoned?.() === true) return undefined;
      this.member.assertReadable();
      this.assertMay(req.path, Perms.READ, sub.access);
      return this.hub.watch(sub, registration, hooks.onWatching);
    });
  }

  /** Resolves once this member has applied `zxid`; a leader refuses a zxid its log does not have. */
  private async awaitResumable(zxid: Zxid): Promise<void> {
    if (zxid <= this.member.appliedZxid) return;
    const s = this.member.status();
    // A leader knows everything committed: past its commit index the zxid does not exist (yet).
    if (s.role === 'leader' && zxid > Math.max(s.commitIndex, this.member.appliedZxid)) {
      throw new ZgateError('BadArguments', `fromZxid ${zxid} is ahead of this member's log (applied ${this.member.appliedZxid})`);
    }
    await this.member.waitForApplied(zxid, this.limits.readWaitMs);
  }

  // ---------------------------------------------------------------- cluster

  cluster(): ClusterView {
    const appliedZxid = this.member.appliedZxid;
    const control = this.opts.replication;
    if (control === undefined) {
      const s = this.member.status();
      return {
        id: s.id,
        leaderId: s.leaderId,
        term: s.term,
        commitIndex: s.commitIndex,
        appliedZxid,
        members: [{ id: s.id, peer: '', http: this.opts.advertisedHttp, role: s.role, matchIndex: s.commitIndex, reachable: true }],
      };
    }
    return { ...control.cluster(), appliedZxid };
  }

  readiness(): { ready: true } | { ready: false; reason: string } {
    if (!this.opts.isReady()) return { ready: false, reason: 'the member is still starting (recovery)' };
    if (this.member.status().leaderId === null) return { ready: false, reason: 'no leader' };
    return { ready: true };
  }

  private control(): ReplicationControl {
    const c = this.opts.replication;
    if (c === undefined) throw new ZgateError('BadArguments', 'this member runs alone (started without --peers): membership changes need a cluster member (start with --id and --peers)');
    return c;
  }

  addMember(id: number, peer: string, http: string): Promise<{ index: number }> {
    return this.control().addMember(id, peer, http);
  }

  removeMember(id: number): Promise<{ index: number }> {
    return this.control().removeMember(id);
  }

  figures(): ServiceFigures {
    const tree = this.member.tree;
    const table = this.member.sessions;
    const s = this.sessions.stats;
    return {
      appliedZxid: this.member.appliedZxid,
      znodes: tree.nodeCount,
      dataBytes: tree.dataBytes,
      ephemerals: tree.ephemeralCount,
      sessionsOpen: table.size,
      sessionsExpired: table.stats.expired,
      sessionsClosed: table.stats.closed,
      sessionsHeld: this.sessions.heldCount,
      keepalivesForwarded: s.forwardedIds,
      keepaliveBatches: s.forwardedBatches,
      keepalivesReceived: s.receivedIds,
      holdersSentAway: s.holdersSentAway,
      reaped: s.reaped,
    };
  }

  replication(): ReplicationFigures | undefined {
    return this.opts.replication?.metrics();
  }

  onProposalLatency(fn: (seconds: number) => void): void {
    this.opts.replication?.onProposalLatency(fn);
  }
}

