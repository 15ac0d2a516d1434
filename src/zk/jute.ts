/**
 * Apache ZooKeeper's wire records (jute, as zookeeper.jute defines them) and protocol numbers,
 * written from the protocol description for the two ZooKeeper clients of this repo: the
 * comparison benchmark's (tools/bench/zk/client.ts) and the conformance tests'
 * (test/support/zk-client.ts). Both talk through ./connection.ts. The same JuteWriter and
 * JuteReader are the primitives of ./records.ts, the codec of every record in both directions;
 * the reader is strict and bounded (JuteLimits) and throws only JuteError.
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
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
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

  /** Bytes already encoded (a nested record's), written as they are. */
  raw(v: Uint8Array): this {
    this.parts.push(Buffer.from(v));
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

/** Why a decoder refused its bytes. */
export type JuteErrorReason =
  | 'truncated' // a field runs past the end of the bytes
  | 'negative-length' // a length or count below -1 (-1 is null)
  | 'too-long' // a buffer or string longer than the limits allow
  | 'too-many' // a vector or multi longer than the limits allow
  | 'bad-boolean' // a boolean byte other than 0 or 1
  | 'bad-utf8' // a ustring that is not well-formed UTF-8
  | 'trailing-bytes' // bytes left after a record that must end the packet
  | 'bad-multi-header' // a MultiHeader a multi/multiRead may not hold
  | 'unknown-op'; // an op type a multi/multiRead cannot hold

/** The one error a jute decoder throws. */
export class JuteError extends Error {
  override readonly name = 'JuteError';
  constructor(
    readonly reason: JuteErrorReason,
    message: string,
    /** The byte offset in the record's bytes where decoding stopped. */
    readonly offset: number,
  ) {
    super(`jute: ${message} (at byte ${offset})`);
  }
}

/** What a decoder will accept before refusing; nothing is allocated from an unchecked length. */
export interface JuteLimits {
  /** Longest buffer field, in bytes. */
  readonly maxBufferLength: number;
  /** Longest ustring field, in bytes of UTF-8. */
  readonly maxStringLength: number;
  /** Most items in one vector (and ops in one multi). */
  readonly maxVectorLength: number;
}

/** ZooKeeper's jute.maxbuffer default (0xfffff) plus its 1 KiB of headroom for the request around it. */
export const DEFAULT_JUTE_LIMITS: JuteLimits = Object.freeze({
  maxBufferLength: 0xfffff + 1024,
  maxStringLength: 0xfffff + 1024,
  maxVectorLength: 1 << 20,
});

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class JuteReader {
  private off = 0;
  constructor(
    private readonly buf: Buffer,
    readonly limits: JuteLimits = DEFAULT_JUTE_LIMITS,
  ) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  /** Bytes consumed so far. */
  get offset(): number {
    return this.off;
  }

  fail(reason: JuteErrorReason, message: string): never {
    throw new JuteError(reason, message, this.off);
  }

  private need(n: number): void {
    if (n > this.remaining) {
      this.fail('truncated', `record truncated (need ${n} bytes, ${this.remaining} left of ${this.buf.length})`);
    }
  }

  /** Refuses any byte left: for a record that must end its packet. */
  end(): void {
    if (this.remaining !== 0) this.fail('trailing-bytes', `${this.remaining} bytes after the record`);
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
    const b = this.buf[this.off] as number;
    if (b > 1) this.fail('bad-boolean', `boolean byte ${b}`);
    this.off++;
    return b === 1;
  }

  /** A length prefix: -1 is null, other negatives and lengths past `max` or the bytes left are refused. */
  private length(max: number, what: string): number | null {
    const n = this.int();
    if (n === -1) return null;
    if (n < 0) this.fail('negative-length', `${what} length ${n}`);
    if (n > max) this.fail('too-long', `${what} length ${n} over the limit ${max}`);
    this.need(n);
    return n;
  }

  buffer(): Buffer | null {
    const n = this.length(this.limits.maxBufferLength, 'buffer');
    if (n === null) return null;
    const v = Buffer.from(this.buf.subarray(this.off, this.off + n));
    this.off += n;
    return v;
  }

  ustring(): string | null {
    const n = this.length(this.limits.maxStringLength, 'ustring');
    if (n === null) return null;
    let v: string;
    try {
      v = utf8.decode(this.buf.subarray(this.off, this.off + n));
    } catch {
      this.fail('bad-utf8', 'ustring is not UTF-8');
    }
    this.off += n;
    return v;
  }

  /**
   * A vector's count: null for -1, refused when negative, over the limit, or when the bytes left
   * cannot hold that many items of at least `minItemBytes` each.
   */
  vectorLength(minItemBytes = 1): number | null {
    const n = this.int();
    if (n === -1) return null;
    if (n < 0) this.fail('negative-length', `vector count ${n}`);
    if (n > this.limits.maxVectorLength) this.fail('too-many', `vector count ${n} over the limit ${this.limits.maxVectorLength}`);
    if (n * Math.max(1, minItemBytes) > this.remaining) {
      this.fail('truncated', `vector of ${n} items in ${this.remaining} bytes`);
    }
    return n;
  }

  stringVector(): string[] {
    const n = this.vectorLength(4) ?? 0;
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
