/**
 * Apache ZooKeeper's wire records (jute, as zookeeper.jute defines them) and protocol numbers,
 * written from the protocol description for the two ZooKeeper clients of this repo: the
 * comparison benchmark's (tools/bench/zk/client.ts) and the conformance tests'
 * (test/support/zk-client.ts). Both talk through ./connection.ts.
 *
 * Framing: every packet is a 4-byte big-endian length followed by that many bytes. jute: ints
 * and longs big-endian, a boolean one byte, a buffer or ustring its int length (-1 for null)
 * then its bytes, a vector its int count then its items.
 */

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

/** The xid of a watch event from the server. */
export const XID_WATCH_EVENT = -1;
/** The xid of a ping and its answer. */
export const XID_PING = -2;
const PERMS_ALL = 31;

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

/** A packet on the wire: the 4-byte big-endian length, then the payload. */
export function frame(payload: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(payload.length);
  return Buffer.concat([len, payload]);
}

export class JuteWriter {
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

export class JuteReader {
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
