/**
 * A minimal Apache ZooKeeper client for tests that compare zgate with a real ZooKeeper: the
 * requests the conformance vocabulary needs, on the session of src/zk/connection.ts (framing,
 * handshake, pings, pending calls; the jute records and protocol numbers are src/zk/jute.ts).
 *
 * - requests: RequestHeader{xid, type} + the op's record; replies: ReplyHeader{xid, zxid, err}
 *   + the response record (absent when err != 0);
 * - multi: a sequence of MultiHeader{type, done=false, err=-1} + op record, closed by
 *   MultiHeader{-1, true, -1}; the reply mirrors it with one header + result per op.
 *
 * No watches, no auth, no reconnection: a lost connection rejects every pending call with
 * ConnectionLoss and the client stays closed. Every node is created with OPEN_ACL_UNSAFE.
 */
import { ZkConnection, ZkError, type ZkConnectOptions, type ZkReply } from '../../src/zk/connection.js';
import { CreateModeFlag, errorName, JuteWriter, OpCode, type CreateModeName, type ZkStat } from '../../src/zk/jute.js';

export { CreateModeFlag, ERROR_NAMES, errorName, OpCode, type CreateModeName, type ZkStat } from '../../src/zk/jute.js';
export { ZkError, type ZkConnectOptions } from '../../src/zk/connection.js';

/** The ttl sent with a CreateTTLRequest when none is given (the Java client's "no ttl"). */
const NO_TTL = -1n;

// ---------------------------------------------------------------------------------------------
// Public call shapes

export interface CreateOptions {
  /** Sent only with a CreateTTLRequest (opcode 21); forces that opcode when given. */
  ttl?: bigint | number;
  /**
   * Which request to send. Default: createTTL (21) for the TTL modes or when a ttl is given,
   * else createContainer (19) for container, else create2 (15). 'create' (1) answers no Stat.
   */
  opcode?: 'create' | 'create2' | 'createContainer' | 'createTTL';
}

export interface CreateResult {
  path: string;
  /** Absent only for opcode 1 (create). */
  stat?: ZkStat;
  zxid: bigint;
}

export type MultiOp =
  | { type: 'create'; path: string; data?: Uint8Array; mode?: CreateModeName; ttl?: bigint | number; opcode?: CreateOptions['opcode'] }
  | { type: 'delete'; path: string; version?: number }
  | { type: 'setData'; path: string; data?: Uint8Array; version?: number }
  | { type: 'check'; path: string; version: number };

export type MultiOpResult =
  | { type: 'create'; path: string; stat?: ZkStat }
  | { type: 'delete' }
  | { type: 'setData'; stat: ZkStat }
  | { type: 'check' }
  | { type: 'error'; err: number; code: string };

export interface MultiResult {
  /** True when no result is an ErrorResult. */
  ok: boolean;
  results: MultiOpResult[];
  /** The reply header's zxid (the multi's txn zxid when it was a write). */
  zxid: bigint;
  /** The reply header's err (ZooKeeper answers a failed multi with per-op ErrorResults). */
  headerErr: number;
}

function createRequestFor(mode: CreateModeName, opts: CreateOptions): { opcode: number; withTtl: boolean } {
  const choice =
    opts.opcode ??
    (opts.ttl !== undefined || mode === 'persistent_with_ttl' || mode === 'persistent_sequential_with_ttl'
      ? 'createTTL'
      : mode === 'container'
        ? 'createContainer'
        : 'create2');
  return { opcode: OpCode[choice], withTtl: choice === 'createTTL' };
}

function writeCreate(w: JuteWriter, path: string, data: Uint8Array, mode: CreateModeName, withTtl: boolean, ttl: bigint | number | undefined): void {
  const flags = CreateModeFlag[mode];
  const ttlValue = ttl === undefined ? NO_TTL : BigInt(ttl);
  // ZooKeeper 3.8.0 validates a CreateTTLRequest with a non-TTL mode and ttl -1 as fine and then
  // dies applying it (and keeps dying on restart: the txn is in its log). Never send that.
  if (withTtl && flags !== CreateModeFlag.persistent_with_ttl && flags !== CreateModeFlag.persistent_sequential_with_ttl && ttlValue < 0n) {
    throw new Error(`zk-client: refusing CreateTTLRequest with mode ${mode} and ttl ${ttlValue}: it crashes ZooKeeper 3.8.0`);
  }
  w.ustring(path).buffer(data).openAcl().int(flags);
  if (withTtl) w.long(ttlValue);
}

// ---------------------------------------------------------------------------------------------

export class ZkClient {
  private constructor(private readonly conn: ZkConnection) {}

  /** Opens a TCP connection and a new session (handshake within 10 s, each request answered within 15 s). */
  static async connect(opts: ZkConnectOptions): Promise<ZkClient> {
    return new ZkClient(await ZkConnection.connect(opts));
  }

  get sessionId(): bigint {
    return this.conn.session.sessionId;
  }

  get passwd(): Buffer {
    return this.conn.session.passwd;
  }

  /** The negotiated session timeout. */
  get sessionTimeoutMs(): number {
    return this.conn.sessionTimeoutMs;
  }

  /** The highest zxid seen in any reply. */
  get lastZxid(): bigint {
    return this.conn.lastZxid;
  }

  get isClosed(): boolean {
    return this.conn.isClosed;
  }

  // --- operations ----------------------------------------------------------------------------

  async create(path: string, data: Uint8Array, mode: CreateModeName = 'persistent', opts: CreateOptions = {}): Promise<CreateResult> {
    const { opcode, withTtl } = createRequestFor(mode, opts);
    const w = new JuteWriter();
    writeCreate(w, path, data, mode, withTtl, opts.ttl);
    const r = await this.call(opcode, w, 'create', path);
    const created = r.body.ustring() ?? '';
    if (opcode === OpCode.create) return { path: created, zxid: r.zxid };
    return { path: created, stat: r.body.stat(), zxid: r.zxid };
  }

  async delete(path: string, version = -1): Promise<{ zxid: bigint }> {
    const r = await this.call(OpCode.delete, new JuteWriter().ustring(path).int(version), 'delete', path);
    return { zxid: r.zxid };
  }

  /** The Stat, or null when the node does not exist. */
  async exists(path: string): Promise<ZkStat | null> {
    try {
      const r = await this.call(OpCode.exists, new JuteWriter().ustring(path).bool(false), 'exists', path);
      return r.body.stat();
    } catch (e) {
      if (e instanceof ZkError && e.codeName === 'NoNode') return null;
      throw e;
    }
  }

  async getData(path: string): Promise<{ data: Buffer; stat: ZkStat }> {
    const r = await this.call(OpCode.getData, new JuteWriter().ustring(path).bool(false), 'getData', path);
    const data = r.body.buffer() ?? Buffer.alloc(0);
    return { data, stat: r.body.stat() };
  }

  async setData(path: string, data: Uint8Array, version = -1): Promise<{ stat: ZkStat; zxid: bigint }> {
    const r = await this.call(OpCode.setData, new JuteWriter().ustring(path).buffer(data).int(version), 'setData', path);
    return { stat: r.body.stat(), zxid: r.zxid };
  }

  /** getChildren2: the children (in ZooKeeper's unspecified order) and the node's Stat. */
  async getChildren(path: string): Promise<{ children: string[]; stat: ZkStat }> {
    const r = await this.call(OpCode.getChildren2, new JuteWriter().ustring(path).bool(false), 'getChildren', path);
    const children = r.body.stringVector();
    return { children, stat: r.body.stat() };
  }

  /**
   * multi: never throws for a failed transaction; the answer's `ok` is false and every result is
   * an ErrorResult (Ok for earlier ops, the error, RuntimeInconsistency for later ops).
   */
  async multi(ops: MultiOp[]): Promise<MultiResult> {
    const w = new JuteWriter();
    for (const op of ops) {
      switch (op.type) {
        case 'create': {
          const mode = op.mode ?? 'persistent';
          const { opcode, withTtl } = createRequestFor(mode, { ttl: op.ttl, opcode: op.opcode });
          w.int(opcode).bool(false).int(-1);
          writeCreate(w, op.path, op.data ?? Buffer.alloc(0), mode, withTtl, op.ttl);
          break;
        }
        case 'delete':
          w.int(OpCode.delete).bool(false).int(-1).ustring(op.path).int(op.version ?? -1);
          break;
        case 'setData':
          w.int(OpCode.setData).bool(false).int(-1).ustring(op.path).buffer(op.data ?? Buffer.alloc(0)).int(op.version ?? -1);
          break;
        case 'check':
          w.int(OpCode.check).bool(false).int(-1).ustring(op.path).int(op.version);
          break;
      }
    }
    w.int(-1).bool(true).int(-1);
    const r = await this.call(OpCode.multi, w, 'multi', undefined, true);
    const results: MultiOpResult[] = [];
    // A header-level error with no body (e.g. a marshalling error) has no per-op results.
    if (r.err !== 0 && r.body.remaining === 0) throw new ZkError(r.err, 'multi', undefined, r.zxid);
    for (;;) {
      const type = r.body.int();
      const done = r.body.bool();
      const err = r.body.int();
      if (done) break;
      switch (type) {
        case OpCode.create:
          results.push({ type: 'create', path: r.body.ustring() ?? '' });
          break;
        case OpCode.create2:
        case OpCode.createContainer:
        case OpCode.createTTL:
          results.push({ type: 'create', path: r.body.ustring() ?? '', stat: r.body.stat() });
          break;
        case OpCode.delete:
          results.push({ type: 'delete' });
          break;
        case OpCode.setData:
          results.push({ type: 'setData', stat: r.body.stat() });
          break;
        case OpCode.check:
          results.push({ type: 'check' });
          break;
        case OpCode.error: {
          const e = r.body.int();
          results.push({ type: 'error', err: e, code: errorName(e) });
          break;
        }
        default:
          throw new Error(`multi: unexpected result type ${type} (err ${err})`);
      }
    }
    return { ok: !results.some((x) => x.type === 'error'), results, zxid: r.zxid, headerErr: r.err };
  }

  /** One ping round trip. */
  ping(): Promise<void> {
    return this.conn.ping();
  }

  /** Closes the session (its ephemerals go) and then the socket. */
  close(): Promise<void> {
    return this.conn.close();
  }

  /** Drops the TCP connection without closing the session (it expires on the server). */
  destroy(): void {
    this.conn.destroy();
  }

  private call(type: number, body: JuteWriter, op: string, path?: string, allowErrBody = false): Promise<ZkReply> {
    return this.conn.call(type, body, op, path, allowErrBody);
  }
}
