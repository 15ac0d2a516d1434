import fc from 'fast-check';
import { JuteWriter, OpCode } from '../../src/zk/jute.js';
import * as R from '../../src/zk/records.js';
import { JuteError, type Codec, type RecordCodec } from '../../src/zk/records.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Every record codec of records.ts, by name. */
const RECORDS: [string, RecordCodec<unknown>][] = Object.entries(R)
  .filter(([, v]) => typeof v === 'object' && v !== null && 'decodePrefix' in v)
  .map(([k, v]) => [k, v as RecordCodec<unknown>]);

// ---------------------------------------------------------------------------------------------
// Generators derived from the declarations

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const bytes = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
const text = fc.string({ unit: 'binary', maxLength: 12 });

function arb(c: Codec<unknown>): fc.Arbitrary<unknown> {
  const s = c.shape;
  switch (s.kind) {
    case 'int':
      return int32;
    case 'long':
      return int64;
    case 'boolean':
      return fc.boolean();
    case 'buffer':
      return fc.option(bytes, { nil: null });
    case 'ustring':
      return fc.option(text, { nil: null });
    case 'vector':
      return fc.option(fc.array(arb(s.item), { maxLength: 4 }), { nil: null });
    case 'trailing':
      return fc.option(arb(s.inner), { nil: undefined });
    case 'record':
      return fc.record(Object.fromEntries(s.fields.map(([k, f]) => [k, arb(f)])));
    case 'custom':
      break;
  }
  if (c === R.MultiRequest) return multiRequest;
  if (c === R.MultiReadRequest) return multiReadRequest;
  if (c === R.MultiResponse) return multiResponse;
  throw new Error(`no generator for ${c.name}`);
}

const multiRequest = fc.record({
  ops: fc.array(
    fc.oneof(
      fc.record({ type: fc.constantFrom(OpCode.create, OpCode.create2, OpCode.createContainer), op: arb(R.CreateRequest) }),
      fc.record({ type: fc.constant(OpCode.createTTL), op: arb(R.CreateTTLRequest) }),
      fc.record({ type: fc.constantFrom(OpCode.delete, OpCode.deleteContainer), op: arb(R.DeleteRequest) }),
      fc.record({ type: fc.constant(OpCode.setData), op: arb(R.SetDataRequest) }),
      fc.record({ type: fc.constant(OpCode.check), op: arb(R.CheckVersionRequest) }),
    ),
    { maxLength: 5 },
  ),
});
const multiReadRequest = fc.record({
  ops: fc.array(
    fc.oneof(
      fc.record({ type: fc.constant(OpCode.getChildren), op: arb(R.GetChildrenRequest) }),
      fc.record({ type: fc.constant(OpCode.getData), op: arb(R.GetDataRequest) }),
    ),
    { maxLength: 5 },
  ),
});
const multiResponse = fc.record({
  results: fc.array(
    fc.oneof(
      fc.record({ type: fc.constant(OpCode.create), err: int32, result: arb(R.CreateResponse) }),
      fc.record({ type: fc.constantFrom(OpCode.create2, OpCode.createTTL, OpCode.createContainer), err: int32, result: arb(R.Create2Response) }),
      fc.record({ type: fc.constantFrom(OpCode.delete, OpCode.deleteContainer, OpCode.check), err: int32, result: fc.constant({}) }),
      fc.record({ type: fc.constant(OpCode.setData), err: int32, result: arb(R.SetDataResponse) }),
      fc.record({ type: fc.constant(OpCode.getChildren), err: int32, result: arb(R.GetChildrenResponse) }),
      fc.record({ type: fc.constant(OpCode.getData), err: int32, result: arb(R.GetDataResponse) }),
      fc.record({ type: fc.constant(OpCode.error), err: int32, result: arb(R.ErrorResponse) }),
    ),
    { maxLength: 5 },
  ),
});

function hasTrailing(c: Codec<unknown>): boolean {
  return c.shape.kind === 'record' && c.shape.fields.some(([, f]) => f.shape.kind === 'trailing');
}

function reason(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof JuteError) return e.reason;
    throw e;
  }
  return 'decoded';
}

// ---------------------------------------------------------------------------------------------

describe('jute records', () => {
  it('declares every record the brief lists', () => {
    const names = RECORDS.map(([k]) => k);
    for (const n of [
      'ConnectRequest', 'ConnectResponse', 'RequestHeader', 'ReplyHeader', 'WatcherEvent', 'Id', 'ACL', 'Stat',
      'CreateRequest', 'CreateResponse', 'Create2Response', 'CreateTTLRequest', 'DeleteRequest', 'ExistsRequest',
      'ExistsResponse', 'GetDataRequest', 'GetDataResponse', 'SetDataRequest', 'SetDataResponse', 'GetACLRequest',
      'GetACLResponse', 'SetACLRequest', 'SetACLResponse', 'GetChildrenRequest', 'GetChildrenResponse',
      'GetChildren2Request', 'GetChildren2Response', 'GetAllChildrenNumberRequest', 'GetAllChildrenNumberResponse',
      'GetEphemeralsRequest', 'GetEphemeralsResponse', 'CheckVersionRequest', 'SyncRequest', 'SyncResponse',
      'SetWatches', 'SetWatches2', 'AddWatchRequest', 'RemoveWatchesRequest', 'CheckWatchesRequest', 'AuthPacket',
      'ClientInfo', 'WhoAmIResponse', 'MultiHeader', 'ErrorResponse', 'MultiRequest', 'MultiReadRequest', 'MultiResponse',
    ]) {
      expect(names).toContain(n);
    }
  });

  it('has ZooDefs.OpCode numbers', () => {
    expect(OpCode).toMatchObject({
      reconfig: 16, checkWatches: 17, removeWatches: 18, createContainer: 19, deleteContainer: 20, createTTL: 21,
      multiRead: 22, auth: 100, setWatches: 101, sasl: 102, getEphemerals: 103, getAllChildrenNumber: 104,
      setWatches2: 105, addWatch: 106, whoAmI: 107,
    });
  });

  it('knows the request and answer record of every opcode a client sends', () => {
    for (const [name, code] of Object.entries(OpCode)) {
      if (name === 'notification' || name === 'createSession' || name === 'error') continue;
      expect([name, R.requestRecord(code) !== undefined, R.responseRecord(code) !== undefined]).toEqual([name, true, true]);
    }
    expect(R.requestRecord(OpCode.multi)).toBe(R.MultiRequest);
    expect(R.requestRecord(12345)).toBeUndefined();
    expect(R.responseRecord(-10)).toBeUndefined();
  });

  it.each(RECORDS)('%s round-trips', (_name, codec) => {
    fc.assert(
      fc.property(arb(codec), (v) => {
        const enc = codec.encode(v);
        expect(codec.decode(enc)).toEqual(v);
        // a record ending in an optional trailing field (readOnly) takes what follows: it ends its packet
        if (!hasTrailing(codec)) expect(codec.decodePrefix(Buffer.concat([enc, hex('0102')])).length).toBe(enc.length);
      }),
      { numRuns: 150 },
    );
  });

  describe('golden bytes', () => {
    const connect = hex(
      [
        '00000000', // protocolVersion 0
        '0000000000000000', // lastZxidSeen 0
        '00007530', // timeOut 30000
        '0000000000000000', // sessionId 0
        '00000010' + '00'.repeat(16), // passwd: length 16, 16 zero bytes
        '00', // readOnly false
      ].join(''),
    );

    it('ConnectRequest as kazoo and zkCli send it', () => {
      expect(connect.length).toBe(45);
      const v = { protocolVersion: 0, lastZxidSeen: 0n, timeOut: 30000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false };
      expect(R.ConnectRequest.encode(v).toString('hex')).toBe(connect.toString('hex'));
      expect(R.ConnectRequest.decode(connect)).toEqual(v);
    });

    it('an old client\'s ConnectRequest without readOnly decodes', () => {
      const old = connect.subarray(0, 44);
      const v = R.ConnectRequest.decode(old);
      expect(v.readOnly).toBeUndefined();
      expect(v.timeOut).toBe(30000);
      expect(R.ConnectRequest.encode(v)).toEqual(old);
    });

    it('ConnectResponse with and without readOnly', () => {
      const v = { protocolVersion: 0, timeOut: 4000, sessionId: 0x100000abcn, passwd: Buffer.from('0102', 'hex'), readOnly: true };
      const enc = hex('00000000 00000fa0 0000000100000abc 00000002 0102 01');
      expect(R.ConnectResponse.encode(v)).toEqual(enc);
      expect(R.ConnectResponse.decode(enc.subarray(0, enc.length - 1)).readOnly).toBeUndefined();
    });

    it('ReplyHeader, WatcherEvent, Stat', () => {
      expect(R.ReplyHeader.encode({ xid: 1, zxid: 0x100000002n, err: -101 })).toEqual(hex('00000001 0000000100000002 ffffff9b'));
      expect(R.WatcherEvent.encode({ type: 3, state: 3, path: '/a' })).toEqual(hex('00000003 00000003 00000002 2f61'));
      expect(R.Stat.minBytes).toBe(68);
    });

    it('CreateRequest with OPEN_ACL_UNSAFE matches the clients\' JuteWriter', () => {
      const golden = hex('00000002 2f61  00000001 78  00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65  00000000');
      const v = { path: '/a', data: Buffer.from('x'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 };
      expect(R.CreateRequest.encode(v)).toEqual(golden);
      expect(new JuteWriter().ustring('/a').buffer(Buffer.from('x')).openAcl().int(0).toBuffer()).toEqual(golden);
      expect(R.CreateRequest.decode(golden)).toEqual(v);
    });

    it('null buffer, ustring and vector are length -1', () => {
      expect(R.SetWatches.encode({ relativeZxid: 0n, dataWatches: null, existWatches: [], childWatches: [null] })).toEqual(
        hex('0000000000000000 ffffffff 00000000 00000001 ffffffff'),
      );
    });
  });

  it('a multi of create+setData+delete+check round-trips, and its answer', () => {
    const req: R.MultiRequest = {
      ops: [
        { type: OpCode.create, op: { path: '/m', data: Buffer.from('v'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 1 } },
        { type: OpCode.setData, op: { path: '/m', data: Buffer.from('w'), version: 0 } },
        { type: OpCode.delete, op: { path: '/m', version: -1 } },
        { type: OpCode.check, op: { path: '/', version: 3 } },
      ],
    };
    const enc = R.MultiRequest.encode(req);
    // the first header and the terminator, as ZooKeeper frames them
    expect(enc.subarray(0, 9)).toEqual(hex('00000001 00 ffffffff'));
    expect(enc.subarray(enc.length - 9)).toEqual(hex('ffffffff 01 ffffffff'));
    expect(R.MultiRequest.decode(enc)).toEqual(req);

    const stat = { czxid: 1n, mzxid: 2n, ctime: 3n, mtime: 4n, version: 1, cversion: 0, aversion: 0, ephemeralOwner: 9n, dataLength: 1, numChildren: 0, pzxid: 1n };
    const res: R.MultiResponse = {
      results: [
        { type: OpCode.create, err: 0, result: { path: '/m' } },
        { type: OpCode.setData, err: 0, result: { stat } },
        { type: OpCode.delete, err: 0, result: {} },
        { type: OpCode.error, err: -103, result: { err: -103 } },
      ],
    };
    expect(R.MultiResponse.decode(R.MultiResponse.encode(res))).toEqual(res);
    expect(R.MultiReadRequest.decode(R.MultiReadRequest.encode({ ops: [{ type: OpCode.getData, op: { path: '/', watch: true } }] }))).toEqual({
      ops: [{ type: OpCode.getData, op: { path: '/', watch: true } }],
    });
  });

  describe('strict decoding', () => {
    it('refuses trailing bytes only where asked', () => {
      const enc = Buffer.concat([R.DeleteRequest.encode({ path: '/a', version: 1 }), hex('00')]);
      expect(reason(() => R.DeleteRequest.decode(enc))).toBe('trailing-bytes');
      expect(R.DeleteRequest.decodePrefix(enc).length).toBe(enc.length - 1);
    });

    it('refuses a length of 2^31-1 with 10 bytes of data without allocating', () => {
      const huge = hex('7fffffff 00112233445566778899');
      expect(reason(() => R.SyncRequest.decode(huge))).toBe('too-long');
      expect(reason(() => R.GetDataResponse.decodePrefix(huge))).toBe('too-long');
      // with the limit lifted the bytes are still checked before any allocation
      const lifted = { maxBufferLength: 2 ** 31, maxStringLength: 2 ** 31, maxVectorLength: 2 ** 31 };
      expect(reason(() => R.SyncRequest.decode(huge, lifted))).toBe('truncated');
      expect(reason(() => R.GetChildrenResponse.decode(huge))).toBe('too-many');
      expect(reason(() => R.GetChildrenResponse.decode(huge, lifted))).toBe('truncated');
      expect(reason(() => R.GetChildrenResponse.decode(hex('00000003 00000000 00000000')))).toBe('truncated');
    });

    it('refuses negative lengths other than -1, booleans other than 0/1, bad UTF-8', () => {
      expect(reason(() => R.SyncRequest.decode(hex('fffffffe')))).toBe('negative-length');
      expect(R.SyncRequest.decode(hex('ffffffff'))).toEqual({ path: null });
      expect(reason(() => R.GetChildrenResponse.decode(hex('80000000')))).toBe('negative-length');
      expect(reason(() => R.ExistsRequest.decode(hex('00000001 2f 02')))).toBe('bad-boolean');
      expect(reason(() => R.SyncRequest.decode(hex('00000002 c328')))).toBe('bad-utf8');
    });

    it('respects smaller limits', () => {
      const limits = { maxBufferLength: 4, maxStringLength: 2, maxVectorLength: 1 };
      expect(reason(() => R.SyncRequest.decode(R.SyncRequest.encode({ path: '/ab' }), limits))).toBe('too-long');
      expect(reason(() => R.GetChildrenResponse.decode(R.GetChildrenResponse.encode({ children: ['a', 'b'] }), limits))).toBe('too-many');
      const multi = R.MultiRequest.encode({ ops: [{ type: OpCode.check, op: { path: '/', version: 0 } }, { type: OpCode.check, op: { path: '/', version: 0 } }] });
      expect(reason(() => R.MultiRequest.decode(multi, limits))).toBe('too-many');
    });

    it('refuses multi framing ZooKeeper never writes', () => {
      expect(reason(() => R.MultiRequest.decode(hex('00000004 00 ffffffff 00000001 2f 00')))).toBe('unknown-op'); // getData in a multi
      expect(reason(() => R.MultiReadRequest.decode(hex('00000002 00 ffffffff 00000001 2f 00000000')))).toBe('unknown-op'); // delete in a multiRead
      expect(reason(() => R.MultiRequest.decode(hex('00000000 01 ffffffff')))).toBe('bad-multi-header');
      expect(reason(() => R.MultiRequest.decode(hex('0000000d 00 00000000 00000001 2f 00000000 ffffffff 01 ffffffff')))).toBe('bad-multi-header');
      expect(reason(() => R.MultiRequest.decode(hex('0000000d 00 ffffffff 00000001 2f 00000000')))).toBe('truncated'); // no terminator
      expect(R.MultiRequest.decode(hex('ffffffff 01 ffffffff'))).toEqual({ ops: [] });
    });
  });

  describe('fuzz: every decoder decodes consistently or throws JuteError', () => {
    const limits = { maxBufferLength: 64, maxStringLength: 64, maxVectorLength: 16 };

    function check(codec: RecordCodec<unknown>, input: Buffer): void {
      for (const lim of [undefined, limits]) {
        let got: { value: unknown; length: number } | undefined;
        try {
          got = codec.decodePrefix(input, lim);
        } catch (e) {
          if (!(e instanceof JuteError)) throw e;
        }
        if (got !== undefined) {
          expect(codec.encode(got.value)).toEqual(input.subarray(0, got.length));
        }
        try {
          const v = codec.decode(input, lim);
          expect(codec.encode(v)).toEqual(input);
        } catch (e) {
          if (!(e instanceof JuteError)) throw e;
        }
      }
    }

    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('len' as const), at: fc.nat(), len: fc.constantFrom(0x7fffffff, -2, -1, 0x80000000 | 0, 1 << 20, 65) }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ maxLength: 8 }) }),
    );

    type Mutation = { kind: string; at?: number; byte?: number; len?: number; extra?: Uint8Array };

    function mutate(enc: Buffer, ms: Mutation[]): Buffer {
      let b = Buffer.from(enc);
      for (const m of ms) {
        if (m.kind === 'append') {
          b = Buffer.concat([b, m.extra as Uint8Array]);
          continue;
        }
        if (b.length === 0) continue;
        const at = (m.at as number) % b.length;
        if (m.kind === 'set') b[at] = m.byte as number;
        else if (m.kind === 'cut') b = b.subarray(0, at);
        else if (at + 4 <= b.length) b.writeInt32BE(m.len as number, at);
      }
      return b;
    }

    it.each(RECORDS)('%s: random bytes', (_name, codec) => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 96 }), (u) => check(codec, Buffer.from(u))),
        { numRuns: 300 },
      );
    });

    it.each(RECORDS)('%s: mutated encodings', (_name, codec) => {
      fc.assert(
        fc.property(arb(codec), fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => check(codec, mutate(codec.encode(v), ms))),
        { numRuns: 300 },
      );
    });
  });
});
