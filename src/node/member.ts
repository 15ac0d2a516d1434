/**
 * One member: the write path (validate → propose → commit → apply in order → answer) and
 * the read path (the applied tree). Every write, even on a lone member, is a log entry that
 * gets the next zxid; a request is answered once its own entry has applied here.
 */
import { MultiOpError, ZgateError } from '../core/errors.js';
import type { ApplyOutcome, Op, OpFailure, Stat, TreeEvent, Zxid } from '../core/types.js';
import { DataTree, type DataTreeOptions } from '../tree/datatree.js';
import { applyOp, beginSnapshot, isIdList, precheck, restoreSnapshot as restoreState, SessionTable, type MemberSnapshotWriter } from '../session/index.js';
import type { Access } from '../core/acl.js';
import { DEFAULT_TOKEN_BOUNDS, identityKey, TokenTable, type TokenBounds } from '../session/token-table.js';
import type { ReplicatedTables } from '../session/state.js';
import { assert } from '../util/assert.js';
import { randomInt } from 'node:crypto';
import { decode, encode } from '../util/codec.js';
import { IdempotencyTable, opFingerprint } from './idempotency.js';
import type { CommittedEntry, EntryPayload, LogStatus, ReplicatedLog } from '../log/replicated-log.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';

export interface MemberOptions {
  id: number;
  tree: Partial<DataTreeOptions>;
  /** How long a write waits for its entry to apply before answering Unavailable. */
  requestTimeoutMs: number;
  /** Bound on writes waiting for their entries; more answer Unavailable. */
  maxInflightWrites: number;
  /** Bound on reads waiting for ?minZxid. */
  maxZxidWaiters: number;
  /** Take a snapshot (and compact the log) after this many entries... */
  snapshotEntries: number;
  /** ... or this many bytes of entries, whichever comes first. */
  snapshotBytes: number;
  /**
   * This run's id, stamped into the entries it proposes (EntryPayload.run). Random by default;
   * a simulation passes one from its seed.
   */
  runId: number;
  /** Live tokens per identity and in all (replicated: every member must be given the same). */
  tokenBounds: TokenBounds;
}

/** What storage recovered: the state to restore before serving. */
export interface RecoveredState {
  snapshot?: { index: number; data: Uint8Array };
  entries: CommittedEntry[];
}

export interface RecoveryProgressLine {
  applied: number;
  total: number;
  elapsedMs: number;
}

export interface WriteAnswer {
  zxid: Zxid;
  outcome: ApplyOutcome;
  /** The Idempotency-Key had been applied before: this is the original answer (and zxid). */
  replayed?: boolean;
}

export type ApplyListener = (zxid: Zxid, events: TreeEvent[], outcome: ApplyOutcome) => void;
export type OwnEntryListener = (payload: EntryPayload, answer: WriteAnswer) => void;

interface Waiter {
  resolve(a: WriteAnswer): void;
  reject(e: Error): void;
  timer: TimerHandle;
}

interface ZxidWaiter {
  zxid: Zxid;
  resolve(): void;
  reject(e: Error): void;
  timer: TimerHandle;
}

/** The access an entry carries, trusting nothing of its shape (a malformed one grants nothing). */
function entryAccess(a: unknown): Access | undefined {
  if (a === undefined || a === null) return undefined;
  const r = a as Partial<Access>;
  const ids = isIdList(r.ids) ? r.ids : [];
  const access: Access = { ids, super: r.super === true };
  if (r.readOnly === true) access.readOnly = true;
  if (typeof r.prefix === 'string') access.prefix = r.prefix;
  if (typeof r.token === 'string') access.token = r.token;
  return access;
}

/** The namespace of an identity's Idempotency-Keys: its authenticated ids (anonymous callers share one). */
function idempotencyScope(access: Access | undefined): string {
  if (access === undefined) return '';
  const key = identityKey(access.ids);
  return key === ANONYMOUS_IDENTITY ? '' : `${key}\u0000`;
}

/** identityKey() of a caller with no authenticated id. */
const ANONYMOUS_IDENTITY = identityKey([]);

function failureError(f: OpFailure): ZgateError {
  if (f.opIndex !== undefined && f.results !== undefined) return new MultiOpError(f.code, f.message, f.path, f.opIndex, f.results);
  return new ZgateError(f.code, f.message, f.path);
}

export class Member {
  /** Znodes serialised per slice of a snapshot: a few milliseconds of event loop each. */
  private static readonly SNAPSHOT_SLICE = 10_000;
  private _tree: DataTree;
  /** Replicated with the tree: applied by the same entries, snapshotted at the same zxid. */
  private _sessions = new SessionTable();
  /** Idempotency-Keys applied recently, with their outcomes; replicated like the sessions. */
  private _idem = new IdempotencyTable();
  /** Bearer tokens (their hashes, ids and scopes); replicated like the sessions. */
  private _tokens = new TokenTable();
  readonly opts: MemberOptions;
  private appliedIndex = 0;
  /** False while recovering: nothing is served until the state is whole. */
  private _ready = true;
  private snapshotIndex = 0;
  private bytesSinceSnapshot = 0;
  private snapshotInFlight: Promise<void> | undefined;
  /** A snapshot that failed to save (disk full...) is retried at the next threshold. */
  lastSnapshotError: Error | undefined;
  /**
   * Request ids count within this run; with the run id they are unique across restarts: in a
   * cluster, entries this member proposed before a restart may still commit and apply after
   * it, and must not answer a request of the new run that happens to reuse their id.
   */
  private nextReqId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private zxidWaiters: ZxidWaiter[] = [];
  private readonly listeners: ApplyListener[] = [];
  private readonly ownListeners: OwnEntryListener[] = [];
  private readonly installListeners: ((index: Zxid) => void)[] = [];
  private closed = false;

  constructor(
    private readonly log: ReplicatedLog,
    opts: Partial<MemberOptions> = {},
    private readonly clock: Clock = systemClock,
  ) {
    this.opts = {
      id: opts.id ?? 1,
      tree: opts.tree ?? {},
      requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
      maxInflightWrites: opts.maxInflightWrites ?? 10_000,
      maxZxidWaiters: opts.maxZxidWaiters ?? 10_000,
      snapshotEntries: opts.snapshotEntries ?? 100_000,
      snapshotBytes: opts.snapshotBytes ?? 64 * 1024 * 1024,
      // 48 random bits: two runs of one member share an id with odds of 2^-48.
      runId: opts.runId ?? randomInt(0, 2 ** 48 - 1),
      tokenBounds: opts.tokenBounds ?? DEFAULT_TOKEN_BOUNDS,
    };
    this._tree = new DataTree(this.opts.tree);
    log.onCommit((entries) => this.applyCommitted(entries));
  }

  get tree(): DataTree {
    return this._tree;
  }

  /** The open sessions as of the applied zxid (read-only for everyone but apply). */
  get sessions(): SessionTable {
    return this._sessions;
  }

  /** The tokens as of the applied zxid (read-only for everyone but apply). */
  get tokens(): TokenTable {
    return this._tokens;
  }

  private get tables(): ReplicatedTables {
    return { sessions: this._sessions, tokens: this._tokens, tokenBounds: this.opts.tokenBounds };
  }

  /**
   * The one place snapshot bytes become state (recovery, and a snapshot installed from the
   * leader): the tree and the session table, both as of `index`.
   */
  private restoreSnapshot(index: number, data: Uint8Array): void {
    const { tree, sessions, extra } = restoreState(data, this.opts.tree);
    assert(tree.lastZxid === index, () => `snapshot at ${index} holds a tree at zxid ${tree.lastZxid}`);
    this._tree = tree;
    this._sessions = sessions;
    this._idem = IdempotencyTable.fromSnapshot(extra.idempotency);
    // A snapshot from before tokens existed has none.
    this._tokens = extra.tokens === undefined ? new TokenTable() : TokenTable.fromSnapshot(extra.tokens);
  }

  get appliedZxid(): Zxid {
    return this.appliedIndex;
  }

  get ready(): boolean {
    return this._ready;
  }

  /** Until recover() finishes: writes and reads answer Unavailable, /readyz 503. */
  markRecovering(): void {
    assert(this.appliedIndex === 0, 'markRecovering() after entries applied');
    this._ready = false;
  }

  /** Reads must not see a half-recovered tree. */
  assertReadable(): void {
    if (!this._ready) throw new ZgateError('Unavailable', 'the member is still recovering its state');
  }

  /**
   * Restores the recovered snapshot, then replays the log after it, in slices so that the
   * event loop keeps answering (/readyz says 503 meanwhile). Call before any write.
   */
  async recover(state: RecoveredState, onProgress?: (p: RecoveryProgressLine) => void): Promise<void> {
    assert(this.appliedIndex === 0 && this.waiters.size === 0, 'recover() on a member that already applied entries');
    // Applying recovered entries must not snapshot midway: the log is compacted only once whole.
    this._ready = false;
    const started = this.clock.monoMs();
    if (state.snapshot) {
      this.restoreSnapshot(state.snapshot.index, state.snapshot.data);
      this.appliedIndex = state.snapshot.index;
      this.snapshotIndex = state.snapshot.index;
    }
    const SLICE = 5_000;
    let lastReport = started;
    for (let i = 0; i < state.entries.length; i += SLICE) {
      this.applyCommitted(state.entries.slice(i, i + SLICE), false);
      if (onProgress && this.clock.monoMs() - lastReport >= 1_000) {
        lastReport = this.clock.monoMs();
        onProgress({ applied: Math.min(i + SLICE, state.entries.length), total: state.entries.length, elapsedMs: lastReport - started });
      }
      await this.clock.yieldTurn();
    }
    onProgress?.({ applied: state.entries.length, total: state.entries.length, elapsedMs: this.clock.monoMs() - started });
    this._ready = true;
  }

  /**
   * Replaces the tree by a snapshot received from the leader (this member was behind the
   * leader's compacted log): the member continues from `index`. Writes waiting for entries
   * the snapshot covers are not answered by it (they time out: they may or may not be in it);
   * `onSnapshotInstalled` listeners hear of the jump (a watch history has a gap there).
   */
  installSnapshot(index: number, data: Uint8Array): void {
    assert(index > this.appliedIndex, () => `snapshot at ${index} is not newer than applied ${this.appliedIndex}`);
    this.restoreSnapshot(index, data);
    this.appliedIndex = index;
    this.snapshotIndex = index;
    this.bytesSinceSnapshot = 0;
    for (const l of this.installListeners) l(index);
    this.releaseZxidWaiters();
  }

  /** Called after installSnapshot() replaced the tree (no per-entry events for the jump). */
  onSnapshotInstalled(listener: (index: Zxid) => void): void {
    this.installListeners.push(listener);
  }

  get treeOptions(): DataTreeOptions {
    return { maxDataBytes: this.opts.tree.maxDataBytes ?? 1_048_576 };
  }

  status(): LogStatus {
    return this.log.status();
  }

  /** Called for each applied entry this run proposed (the audit log: the member that took the request records it). */
  onOwnEntry(listener: OwnEntryListener): void {
    this.ownListeners.push(listener);
  }

  /** Called for every applied entry, in order; the watch registry hangs here. */
  onApply(listener: ApplyListener): void {
    this.listeners.push(listener);
  }

  /**
   * Proposes a write and resolves once it has applied on this member, with the outcome
   * (a ZooKeeper error is an outcome, not a rejection). Rejects only with Unavailable
   * (no capacity, shutting down, timed out: then the write may or may not apply later).
   * Bad input is refused here, before it reaches the log.
   */
  async write(op: Op, idempotencyKey?: string, access?: Access): Promise<WriteAnswer> {
    const refused = precheck(this._tree, op, access);
    if (refused) throw failureError(refused);
    if (this.closed) throw new ZgateError('Unavailable', 'the member is shutting down');
    if (!this._ready) throw new ZgateError('Unavailable', 'the member is still recovering its state');
    if (this.waiters.size >= this.opts.maxInflightWrites) {
      throw new ZgateError('Unavailable', `too many writes in flight (bound ${this.opts.maxInflightWrites})`);
    }
    const reqId = this.nextReqId++;
    const payload: EntryPayload = { op, timeMs: this.clock.nowMs(), origin: this.opts.id, run: this.opts.runId, reqId };
    if (idempotencyKey !== undefined) payload.idem = idempotencyKey;
    if (access !== undefined) payload.access = access;
    const answer = new Promise<WriteAnswer>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.waiters.delete(reqId);
        reject(new ZgateError('Unavailable', `the write did not apply within ${this.opts.requestTimeoutMs} ms; it may still apply`));
      }, this.opts.requestTimeoutMs);
      this.waiters.set(reqId, { resolve, reject, timer });
    });
    // The timeout (or close()) can reject `answer` while propose() is still pending and
    // nobody awaits it yet: mark it handled, or Node ends the process on an unhandled
    // rejection. The caller still gets the rejection from `return answer` below.
    answer.catch(() => undefined);
    try {
      await this.log.propose(encode(payload));
    } catch (e) {
      const w = this.waiters.get(reqId);
      if (w) {
        w.timer.cancel();
        this.waiters.delete(reqId);
      }
      throw e;
    }
    return answer;
  }

  private applyCommitted(entries: CommittedEntry[], snapshots = true): void {
    for (const entry of entries) {
      this.bytesSinceSnapshot += entry.data.byteLength;
      assert(entry.index === this.appliedIndex + 1, () => `apply out of order: applied ${this.appliedIndex}, got ${entry.index}`);
      const payload = decode(entry.data) as EntryPayload;
      const { outcome, answer } = this.applyEntry(payload, entry.index);
      this.appliedIndex = entry.index;
      for (const l of this.listeners) l(entry.index, outcome.events, outcome);
      if (payload.origin === this.opts.id && payload.run === this.opts.runId) {
        for (const l of this.ownListeners) l(payload, answer);
        const w = this.waiters.get(payload.reqId);
        if (w) {
          w.timer.cancel();
          this.waiters.delete(payload.reqId);
          w.resolve(answer);
        }
      }
    }
    this.releaseZxidWaiters();
    if (snapshots) this.maybeSnapshot();
  }

  /**
   * Applies one entry. With an Idempotency-Key already in the table, the tree only advances
   * (a noop) and the answer is the stored original outcome and zxid; the same key with another
   * op is refused (BadArguments); a new key applies and is stored.
   */
  private applyEntry(p: EntryPayload, index: number): { outcome: ApplyOutcome; answer: WriteAnswer } {
    const key = p.idem;
    const access = entryAccess(p.access);
    if (typeof key !== 'string') {
      const outcome = applyOp(this._tree, this.tables, p.op, index, p.timeMs, access);
      return { outcome, answer: { zxid: index, outcome } };
    }
    this._idem.expire(p.timeMs);
    const fp = opFingerprint(p.op);
    // Keys are scoped to the writer's identity: another identity's same key is another request.
    const scoped = idempotencyScope(access) + key;
    const found = this._idem.lookup(scoped, fp);
    if (found.kind === 'new') {
      const outcome = applyOp(this._tree, this.tables, p.op, index, p.timeMs, access);
      this._idem.store(scoped, fp, index, p.timeMs, outcome);
      return { outcome, answer: { zxid: index, outcome } };
    }
    this._tree.apply({ op: 'noop' }, index, p.timeMs);
    if (found.kind === 'mismatch') {
      const outcome: ApplyOutcome = { ok: false, failure: { code: 'BadArguments', message: `Idempotency-Key '${key}' was first used at zxid ${found.stored.zxid} for a different request` }, events: [] };
      return { outcome, answer: { zxid: index, outcome } };
    }
    const noop: ApplyOutcome = { ok: true, result: { op: 'noop' }, events: [] };
    return { outcome: noop, answer: { zxid: found.stored.zxid, outcome: found.stored.outcome, replayed: true } };
  }

  /**
   * Snapshots the tree as of the last applied entry and hands it to the log, which compacts
   * behind it. The tree is serialised incrementally, copy-on-write (src/tree/snapshot/writer.ts), a
   * slice per turn of the event loop, so that entries keep applying meanwhile while the bytes
   * still hold exactly the tree at `index`. One at a time; a failed save is kept in
   * lastSnapshotError and retried at the next threshold.
   */
  private maybeSnapshot(): void {
    if (this.snapshotInFlight || this.closed) return;
    const entries = this.appliedIndex - this.snapshotIndex;
    if (entries < this.opts.snapshotEntries && this.bytesSinceSnapshot < this.opts.snapshotBytes) return;
    const tree = this._tree;
    const index = this.appliedIndex;
    assert(tree.lastZxid === index, () => `snapshot at ${index} of a tree at zxid ${tree.lastZxid}`);
    const writer = beginSnapshot(tree, this._sessions, {}, { idempotency: this._idem.toSnapshot(), tokens: this._tokens.toSnapshot() });
    this.bytesSinceSnapshot = 0;
    // writeSnapshot() yields before its first step, so this always settles after the assignment.
    this.snapshotInFlight = this.writeSnapshot(tree, writer, index).finally(() => {
      this.snapshotInFlight = undefined;
    });
  }

  private async writeSnapshot(tree: DataTree, writer: MemberSnapshotWriter, index: number): Promise<void> {
    try {
      do {
        await this.clock.yieldTurn();
        if (this._tree !== tree) {
          // The tree was replaced (an installed snapshot, newer than this one): drop it.
          writer.abort();
          return;
        }
      } while (writer.step(Member.SNAPSHOT_SLICE));
      const data = writer.finish();
      await this.log.saveSnapshot(index, data);
      if (index > this.snapshotIndex) this.snapshotIndex = index;
      this.lastSnapshotError = undefined;
    } catch (e) {
      writer.abort();
      this.lastSnapshotError = e instanceof Error ? e : new Error(String(e));
    }
  }

  /** Resolves when no snapshot is being saved (tests, shutdown). */
  async snapshotsSettled(): Promise<void> {
    await this.snapshotInFlight;
  }

  private releaseZxidWaiters(): void {
    if (this.zxidWaiters.length === 0) return;
    const still: ZxidWaiter[] = [];
    for (const w of this.zxidWaiters) {
      if (w.zxid <= this.appliedIndex) {
        w.timer.cancel();
        w.resolve();
      } else still.push(w);
    }
    this.zxidWaiters = still;
  }

  /** Resolves once this member has applied `zxid`; Unavailable after `timeoutMs`. */
  waitForApplied(zxid: Zxid, timeoutMs: number): Promise<void> {
    if (zxid <= this.appliedIndex) return Promise.resolve();
    if (this.closed) return Promise.reject(new ZgateError('Unavailable', 'the member is shutting down'));
    if (this.zxidWaiters.length >= this.opts.maxZxidWaiters) {
      return Promise.reject(new ZgateError('Unavailable', `too many reads waiting for a zxid (bound ${this.opts.maxZxidWaiters})`));
    }
    return new Promise((resolve, reject) => {
      const waiter: ZxidWaiter = {
        zxid,
        resolve,
        reject,
        timer: this.clock.setTimeout(() => {
          this.zxidWaiters = this.zxidWaiters.filter((w) => w !== waiter);
          reject(new ZgateError('Unavailable', `zxid ${zxid} not applied within ${timeoutMs} ms (applied: ${this.appliedIndex})`));
        }, timeoutMs),
      };
      this.zxidWaiters.push(waiter);
    });
  }

  /** Waits until a read here is linearizable (ReadIndex: the leader's commit index, applied here). */
  async linearizableBarrier(timeoutMs: number): Promise<void> {
    const index = await this.log.readIndex();
    await this.waitForApplied(index, timeoutMs);
  }

  read(path: string): { data: Uint8Array; stat: Stat } | undefined {
    return this._tree.get(path);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.snapshotInFlight;
    await this.log.close();
    const err = new ZgateError('Unavailable', 'the member is shutting down');
    for (const w of this.waiters.values()) {
      w.timer.cancel();
      w.reject(err);
    }
    this.waiters.clear();
    for (const w of this.zxidWaiters) {
      w.timer.cancel();
      w.reject(err);
    }
    this.zxidWaiters = [];
  }
}
