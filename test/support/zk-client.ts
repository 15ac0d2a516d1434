/**
 * A minimal Apache ZooKeeper client speaking the jute wire protocol over node:net, for tests
 * that compare zgate with a real ZooKeeper. Written from the protocol description
 * (zookeeper.jute and the framing used by ClientCnxn); it is deliberately small:
 *
 * - framing: every packet is a 4-byte big-endian length followed by that many bytes;
 * - handshake: ConnectRequest{protocolVersion, lastZxidSeen, timeOut, sessionId, passwd}
 *   followed by a `readOnly` boolean; the answer is ConnectResponse{protocolVersion, timeOut,
 *   sessionId, passwd} (+ an optional readOnly byte), with no ReplyHeader;
 * - requests: RequestHeader{xid, type} + the op's record; replies: ReplyHeader{xid, zxid, err}
 *   + the response record (absent when err != 0). xid -2 is a ping, -1 a watch event;
 * - multi: a sequence of MultiHeader{type, done=false, err=-1} + op record, closed by
 *   MultiHeader{-1, true, -1}; the reply mirrors it with one header + result per op.
 *
 * No watches, no auth, no reconnection: a lost connection rejects every pending call with
 * ConnectionLoss and the client stays closed. Every node is created with OPEN_ACL_UNSAFE.
 */
import { Socket, connect as netConnect } from 'node:net';

// ---------------------------------------------------------------------------------------------
// Protocol constants (ZooDefs.OpCode, CreateMode flags, KeeperException.Code)

export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  createContainer: 19,
  createTTL: 21,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

/** CreateMode flags as ZooKeeper numbers them; keys are the lower-case names api.md uses. */
export const CreateModeFlag = {
  persistent: 0,
  ephemeral: 1,
  persistent_sequential: 2,
  ephemeral_sequential: 3,
  container: 4,
  persistent_with_ttl: 5,
  persistent_sequential_with_ttl: 6,
} as const;

export type CreateModeName = keyof typeof CreateModeFlag;

export const ERROR_NAMES: Readonly<Record<number, string>> = {
  0: 'Ok',
  [-1]: 'SystemError',
  [-2]: 'RuntimeInconsistency',
  [-3]: 'DataInconsistency',
  [-4]: 'ConnectionLoss',
  [-5]: 'MarshallingError',
  [-6]: 'Unimplemented',
  [-7]: 'OperationTimeout',
  [-8]: 'BadArguments',
  [-12]: 'UnknownSession',
  [-13]: 'NewConfigNoQuorum',
  [-14]: 'ReconfigInProgress',
  [-100]: 'APIError',
  [-101]: 'NoNode',
  [-102]: 'NoAuth',
  [-103]: 'BadVersion',
  [-108]: 'NoChildrenForEphemerals',
  [-110]: 'NodeExists',
  [-111]: 'NotEmpty',
  [-112]: 'SessionExpired',
  [-113]: 'InvalidCallback',
  [-114]: 'InvalidACL',
  [-115]: 'AuthFailed',
  [-118]: 'SessionMoved',
  [-119]: 'NotReadOnly',
  [-120]: 'EphemeralOnLocalSession',
  [-121]: 'NoWatcher',
  [-122]: 'RequestTimeout',
  [-123]: 'ReconfigDisabled',
  [-124]: 'SessionClosedRequireSaslAuth',
  [-125]: 'QuotaExceeded',
  [-127]: 'Throttled',
};

export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `Unknown(${code})`;
}

const XID_WATCH_EVENT = -1;
const XID_PING = -2;
const PERMS_ALL = 31;
/** The ttl sent with a CreateTTLRequest when none is given (the Java client's "no ttl"). */
const NO_TTL = -1n;

// ---------------------------------------------------------------------------------------------
// Records

/** ZooKeeper's Stat, in jute field order. 64-bit ids are bigints; times are ms numbers. */
export interface ZkStat {
  czxid: bigint;
  mzxid: bigint;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export class ZkError extends Error {
  readonly codeName: string;
  constructor(
    readonly code: number,
    readonly op: string,
    readonly path?: string,
    /** The zxid of the reply header, when the server answered. */
    readonly zxid?: bigint,
  ) {
    super(`${op}${path !== undefined ? ` ${path}` : ''}: ${errorName(code)} (${code})`);
    this.name = 'ZkError';
    this.codeName = errorName(code);
  }
}

// ---------------------------------------------------------------------------------------------
// jute encoding

class JuteWriter {
  private readonly parts: Buffer[] = [];

  int(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }

  long(v: bigint | number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }

  bool(v: boolean): this {
    this.parts.push(Buffer.from([v ? 1 : 0]));
    return this;
  }

  buffer(v: Uint8Array | null): this {
    if (v === null) return this.int(-1);
    this.int(v.length);
    this.parts.push(Buffer.from(v));
    return this;
  }

  ustring(v: string | null): this {
    return this.buffer(v === null ? null : Buffer.from(v, 'utf8'));
  }

  /** vector<ACL> holding the single entry world:anyone with every permission (OPEN_ACL_UNSAFE). */
  openAcl(): this {
    return this.int(1).int(PERMS_ALL).ustring('world').ustring('anyone');
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class JuteReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(n: number): void {
    if (this.off + n > this.buf.length) {
      throw new Error(`jute: record truncated (need ${n} bytes at ${this.off} of ${this.buf.length})`);
    }
  }

  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  long(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.off);
    this.off += 8;
    return v;
  }

  bool(): boolean {
    this.need(1);
    return this.buf[this.off++] !== 0;
  }

  buffer(): Buffer | null {
    const n = this.int();
    if (n < 0) return null;
    this.need(n);
    const v = Buffer.from(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return v;
  }

  ustring(): string | null {
    const b = this.buffer();
    return b === null ? null : b.toString('utf8');
  }

  stringVector(): string[] {
    const n = this.int();
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.ustring() ?? '');
    return out;
  }

  stat(): ZkStat {
    return {
      czxid: this.long(),
      mzxid: this.long(),
      ctime: Number(this.long()),
      mtime: Number(this.long()),
      version: this.int(),
      cversion: this.int(),
      aversion: this.int(),
      ephemeralOwner: this.long(),
      dataLength: this.int(),
      numChildren: this.int(),
      pzxid: this.long(),
    };
  }
}

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

export interface ZkConnectOptions {
  host?: string;
  port: number;
  sessionTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Per-request timeout; a request with no answer by then rejects with OperationTimeout. */
  requestTimeoutMs?: number;
}

interface Pending {
  op: string;
  path?: string;
  resolve: (r: { zxid: bigint; err: number; body: JuteReader }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
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
  private xid = 1;
  private readonly pending = new Map<number, Pending>();
  private inbuf: Buffer = Buffer.alloc(0);
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private closeReason: Error | undefined;
  private lastSend = Date.now();
  /** The highest zxid seen in any reply. */
  lastZxid = 0n;

  private constructor(
    private readonly socket: Socket,
    readonly sessionId: bigint,
    readonly sessionTimeoutMs: number,
    readonly passwd: Buffer,
    private readonly requestTimeoutMs: number,
    leftover: Buffer,
  ) {
    this.inbuf = leftover;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(new ZkError(-4, `connection error: ${e.message}`)));
    socket.on('close', () => this.fail(new ZkError(-4, 'connection closed')));
    // Ping at a third of the session timeout when idle, as ClientCnxn does.
    const every = Math.max(100, Math.floor(sessionTimeoutMs / 3));
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastSend >= every) this.sendPing();
    }, Math.max(50, Math.floor(every / 2)));
    this.pingTimer.unref();
    if (this.inbuf.length > 0) this.drain();
  }

  /** Opens a TCP connection and a new session. */
  static connect(opts: ZkConnectOptions): Promise<ZkClient> {
    const host = opts.host ?? '127.0.0.1';
    const timeout = opts.sessionTimeoutMs ?? 30000;
    const connectTimeoutMs = opts.connectTimeoutMs ?? 10000;
    return new Promise<ZkClient>((resolve, reject) => {
      const socket = netConnect({ host, port: opts.port });
      socket.setNoDelay(true);
      let buf: Buffer = Buffer.alloc(0);
      let done = false;
      const finish = (e: Error | null, client?: ZkClient): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (e) {
          socket.destroy();
          reject(e);
        } else {
          resolve(client!);
        }
      };
      const timer = setTimeout(() => finish(new ZkError(-4, `connect to ${host}:${opts.port}: no handshake within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      const onError = (e: Error): void => finish(new ZkError(-4, `connect to ${host}:${opts.port}: ${e.message}`));
      const onClose = (): void => finish(new ZkError(-4, `connect to ${host}:${opts.port}: closed during handshake`));
      const onData = (chunk: Buffer): void => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 4) return;
        const len = buf.readInt32BE(0);
        if (buf.length < 4 + len) return;
        try {
          const r = new JuteReader(buf.subarray(4, 4 + len));
          r.int(); // protocolVersion
          const negotiated = r.int();
          const sessionId = r.long();
          const passwd = r.buffer() ?? Buffer.alloc(0);
          if (negotiated <= 0) {
            finish(new ZkError(-112, 'connect: session refused (negotiated timeout <= 0)'));
            return;
          }
          const rest = Buffer.from(buf.subarray(4 + len));
          finish(null, new ZkClient(socket, sessionId, negotiated, passwd, opts.requestTimeoutMs ?? 15000, rest));
        } catch (e) {
          finish(e as Error);
        }
      };
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.once('connect', () => {
        const body = new JuteWriter()
          .int(0) // protocolVersion
          .long(0n) // lastZxidSeen
          .int(timeout)
          .long(0n) // sessionId: new session
          .buffer(Buffer.alloc(16)) // passwd
          .bool(false) // readOnly
          .toBuffer();
        socket.write(frame(body));
      });
    });
  }

  get isClosed(): boolean {
    return this.closed;
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
  async ping(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      if (this.closed) {
        reject(this.closeReason ?? new ZkError(-4, 'ping: client closed'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(XID_PING);
        reject(new ZkError(-7, 'ping'));
      }, this.requestTimeoutMs);
      this.pending.set(XID_PING, { op: 'ping', resolve: () => resolve(), reject, timer });
      this.sendPing();
    });
  }

  /** Closes the session (its ephemerals go) and then the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.call(OpCode.closeSession, new JuteWriter(), 'closeSession');
    } catch {
      // The server may drop the connection right after answering; the session is gone either way.
    }
    this.shutdown(new ZkError(-112, 'client closed'));
  }

  /** Drops the TCP connection without closing the session (it expires on the server). */
  destroy(): void {
    this.shutdown(new ZkError(-4, 'client destroyed'));
  }

  // --- plumbing ------------------------------------------------------------------------------

  private call(type: number, body: JuteWriter, op: string, path?: string, allowErrBody = false): Promise<{ zxid: bigint; err: number; body: JuteReader }> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(this.closeReason ?? new ZkError(-4, op, path));
        return;
      }
      const xid = this.xid++;
      const timer = setTimeout(() => {
        if (this.pending.delete(xid)) reject(new ZkError(-7, op, path));
      }, this.requestTimeoutMs);
      this.pending.set(xid, {
        op,
        path,
        timer,
        reject,
        resolve: (r) => {
          if (r.err !== 0 && !allowErrBody) reject(new ZkError(r.err, op, path, r.zxid));
          else resolve(r);
        },
      });
      const payload = Buffer.concat([new JuteWriter().int(xid).int(type).toBuffer(), body.toBuffer()]);
      this.lastSend = Date.now();
      this.socket.write(frame(payload));
    });
  }

  private sendPing(): void {
    if (this.closed) return;
    this.lastSend = Date.now();
    this.socket.write(frame(new JuteWriter().int(XID_PING).int(OpCode.ping).toBuffer()));
  }

  private onData(chunk: Buffer): void {
    this.inbuf = this.inbuf.length === 0 ? chunk : Buffer.concat([this.inbuf, chunk]);
    this.drain();
  }

  private drain(): void {
    while (this.inbuf.length >= 4) {
      const len = this.inbuf.readInt32BE(0);
      if (this.inbuf.length < 4 + len) return;
      const packet = this.inbuf.subarray(4, 4 + len);
      this.inbuf = this.inbuf.subarray(4 + len);
      const r = new JuteReader(packet);
      const xid = r.int();
      const zxid = r.long();
      const err = r.int();
      if (zxid > this.lastZxid) this.lastZxid = zxid;
      if (xid === XID_WATCH_EVENT) continue; // no watches are ever set
      const p = this.pending.get(xid);
      if (p === undefined) continue; // an unsolicited ping reply, or an answer after timeout
      this.pending.delete(xid);
      clearTimeout(p.timer);
      try {
        p.resolve({ zxid, err, body: r });
      } catch (e) {
        p.reject(e as Error);
      }
    }
  }

  private fail(e: Error): void {
    this.shutdown(e);
  }

  private shutdown(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ZkError(-4, `${p.op} (${reason.message})`, p.path));
    }
    this.pending.clear();
    this.socket.destroy();
  }
}

function frame(payload: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(payload.length);
  return Buffer.concat([len, payload]);
}
