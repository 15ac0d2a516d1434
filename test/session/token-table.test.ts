/**
 * The replicated token table (session/token-table.ts): every operation at an entry's time,
 * the bounds (expired tokens never count), the stateless checks of decoded entries, the
 * snapshot (through the real codec), and a property: random create/revoke/expire sequences
 * keep the bounds, round-trip through snapshots at every step, and give equal tables on two
 * replicas.
 */
import fc from 'fast-check';
import type { Id } from '../../src/core/acl.js';
import { ZgateError } from '../../src/core/errors.js';
import type { TokenOp, TokenRecord } from '../../src/core/token-ops.js';
import { applyTokenOp, identityKey, MAX_EXPIRE_BATCH, tokenOpFailure, TokenTable, tokenRecordFault, type TokenBounds } from '../../src/session/token-table.js';
import { decode, encode } from '../../src/util/codec.js';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

/** A canonical accessor for a number (16 bytes, base64url). */
function accessorOf(n: number): string {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(n >>> 0, 12);
  b.writeUInt32BE(Math.floor(n / 2 ** 32), 8);
  return b.toString('base64url');
}

const digest = (user: string): Id => ({ scheme: 'digest', id: `${user}:SuJDcIdgr9RqJsZZuYRR+N6T6G4=` });
const ip: Id = { scheme: 'ip', id: '10.0.0.5' };

function record(n: number, over: Partial<TokenRecord> = {}, user = 'bob'): TokenRecord {
  const createdBy = over.createdBy ?? [ip, digest(user)];
  return {
    accessor: accessorOf(n),
    hash: n.toString(16).padStart(64, '0'),
    ids: [ip, digest(user)],
    readOnly: false,
    description: `token ${n}`,
    cookie: false,
    owner: identityKey(createdBy),
    createdBy,
    createdAt: T0,
    expiresAt: T0 + HOUR,
    ...over,
  };
}

describe('identityKey', () => {
  it('counts only authenticated ids, in a canonical order, each once', () => {
    const a = identityKey([ip, digest('bob'), { scheme: 'x509', id: 'CN=bob' }]);
    const b = identityKey([{ scheme: 'x509', id: 'CN=bob' }, { scheme: 'ip', id: '10.9.9.9' }, digest('bob'), digest('bob')]);
    expect(a).toBe(b);
    expect(a).toBe(JSON.stringify([['digest', digest('bob').id], ['x509', 'CN=bob']]));
  });

  it('tells different identities apart, even with separators in ids', () => {
    expect(identityKey([digest('bob')])).not.toBe(identityKey([digest('alice')]));
    expect(identityKey([{ scheme: 'x509', id: 'a","b' }])).not.toBe(identityKey([{ scheme: 'x509', id: 'a' }, { scheme: 'x509', id: 'b' }]));
    expect(identityKey([ip])).toBe('[]');
  });
});

describe('TokenTable', () => {
  it('creates, gets, lists and revokes', () => {
    const t = new TokenTable();
    expect(t.create(record(2), T0)).toBeUndefined();
    expect(t.create(record(1), T0)).toBeUndefined();
    expect(t.size).toBe(2);
    expect(t.get(accessorOf(1))).toEqual(record(1));
    expect(t.all().map((r) => r.accessor)).toEqual([accessorOf(1), accessorOf(2)].sort());
    expect(t.ofOwner(identityKey([digest('bob')])).map((r) => r.accessor)).toEqual([accessorOf(1), accessorOf(2)].sort());
    expect(t.ofOwner(identityKey([digest('alice')]))).toEqual([]);
    expect(t.revoke(accessorOf(1))).toEqual(record(1));
    expect(t.revoke(accessorOf(1))).toBeUndefined();
    expect(t.get(accessorOf(1))).toBeUndefined();
    expect(t.size).toBe(1);
  });

  it('keeps its own frozen copy', () => {
    const t = new TokenTable();
    const r = record(1);
    t.create(r, T0);
    r.description = 'changed';
    r.ids.push({ scheme: 'digest', id: 'eve:x' });
    const stored = t.get(accessorOf(1))!;
    expect(stored.description).toBe('token 1');
    expect(stored.ids).toHaveLength(2);
    expect(() => {
      (stored as { description: string }).description = 'x';
    }).toThrow(TypeError);
    expect(() => stored.ids.push(ip)).toThrow(TypeError);
  });

  it('drops unknown fields of a decoded record', () => {
    const t = new TokenTable();
    t.create({ ...record(1), secret: 'must not be kept' } as TokenRecord, T0);
    expect(Object.keys(t.get(accessorOf(1))!)).not.toContain('secret');
    expect(JSON.stringify(t.toSnapshot())).not.toContain('must not be kept');
  });

  it('is live strictly before expiresAt', () => {
    const t = new TokenTable();
    t.create(record(1), T0);
    expect(t.isLive(accessorOf(1), T0)).toBe(true);
    expect(t.isLive(accessorOf(1), T0 + HOUR - 1)).toBe(true);
    expect(t.isLive(accessorOf(1), T0 + HOUR)).toBe(false);
    expect(t.isLive(accessorOf(2), T0)).toBe(false);
  });

  it('refuses a duplicate accessor, live or expired', () => {
    const t = new TokenTable();
    t.create(record(1), T0);
    expect(t.create(record(1, { description: 'other' }), T0)).toMatchObject({ code: 'NodeExists' });
    expect(t.create(record(1, { createdAt: T0 + 2 * HOUR, expiresAt: T0 + 3 * HOUR }), T0 + 2 * HOUR)).toMatchObject({ code: 'NodeExists' });
    expect(t.get(accessorOf(1))!.description).toBe('token 1');
  });

  it('refuses a record already expired at the entry time', () => {
    const t = new TokenTable();
    expect(t.create(record(1), T0 + HOUR)).toMatchObject({ code: 'BadArguments' });
    expect(t.size).toBe(0);
  });

  it('bounds live tokens per identity; expired ones do not count', () => {
    const t = new TokenTable();
    const bounds: TokenBounds = { perIdentity: 3, total: 100 };
    for (let i = 0; i < 3; i++) expect(t.create(record(i, { expiresAt: T0 + (i + 1) * 1000 }), T0, bounds)).toBeUndefined();
    const f = t.create(record(10), T0, bounds);
    expect(f).toMatchObject({ code: 'QuotaExceeded' });
    expect(f!.message).toContain('3 live tokens');
    // Another identity is not affected; the same user from another address is the same identity.
    expect(t.create(record(11, {}, 'alice'), T0, bounds)).toBeUndefined();
    expect(t.create(record(12, { createdBy: [{ scheme: 'ip', id: '10.1.1.1' }, digest('bob')] }), T0, bounds)).toMatchObject({ code: 'QuotaExceeded' });
    // Once the first expires (not yet reaped), there is room again.
    expect(t.create(record(13, { createdAt: T0 + 1000 }), T0 + 1000, bounds)).toBeUndefined();
    expect(t.size).toBe(5);
    expect(t.liveCount(T0 + 1000, identityKey([digest('bob')]))).toBe(3);
  });

  it('bounds live tokens in all; expired ones do not count', () => {
    const t = new TokenTable();
    const bounds: TokenBounds = { perIdentity: 100, total: 4 };
    for (let i = 0; i < 4; i++) expect(t.create(record(i, { expiresAt: T0 + (i + 1) * 1000 }, `u${i}`), T0, bounds)).toBeUndefined();
    expect(t.create(record(10, {}, 'other'), T0, bounds)).toMatchObject({ code: 'QuotaExceeded' });
    expect(t.create(record(10, {}, 'other'), T0 + 999, bounds)).toMatchObject({ code: 'QuotaExceeded' });
    expect(t.create(record(10, {}, 'other'), T0 + 1000, bounds)).toBeUndefined();
    expect(t.create(record(11, {}, 'other'), T0 + 1000, bounds)).toMatchObject({ code: 'QuotaExceeded' });
    expect(t.create(record(11, {}, 'other'), T0 + 2000, bounds)).toBeUndefined();
    expect(t.size).toBe(6);
  });

  it('names the expired for reaping, longest expired first, bounded', () => {
    const t = new TokenTable();
    t.create(record(1, { expiresAt: T0 + 3000 }), T0);
    t.create(record(2, { expiresAt: T0 + 1000 }), T0);
    t.create(record(3, { expiresAt: T0 + 1000 }), T0);
    t.create(record(4, { expiresAt: T0 + 9000 }), T0);
    expect(t.expiredAt(T0 + 999)).toEqual([]);
    expect(t.expiredAt(T0 + 3000)).toEqual([...[accessorOf(2), accessorOf(3)].sort(), accessorOf(1)]);
    expect(t.expiredAt(T0 + 3000, 2)).toEqual([accessorOf(2), accessorOf(3)].sort());
    expect(t.expiredAt(T0 + 3000, 0)).toEqual([]);
  });

  it('expire removes only what is expired at the entry time, each once', () => {
    const t = new TokenTable();
    t.create(record(1, { expiresAt: T0 + 1000 }), T0);
    t.create(record(2, { expiresAt: T0 + 5000 }), T0);
    // The leader's clock ran ahead: token 2 is not expired at the entry's time, so it stays.
    const gone = t.expire([accessorOf(1), accessorOf(2), accessorOf(1), accessorOf(9)], T0 + 1000);
    expect(gone.map((r) => r.accessor)).toEqual([accessorOf(1)]);
    expect(t.size).toBe(1);
    expect(t.isLive(accessorOf(2), T0 + 1000)).toBe(true);
    expect(t.ofOwner(identityKey([digest('bob')])).map((r) => r.accessor)).toEqual([accessorOf(2)]);
  });
});

describe('tokenRecordFault', () => {
  it('accepts a well-formed record, with or without a prefix', () => {
    expect(tokenRecordFault(record(1))).toBeUndefined();
    expect(tokenRecordFault(record(1, { prefix: '/app', readOnly: true, cookie: true }))).toBeUndefined();
    expect(tokenRecordFault(record(1, { description: 'x'.repeat(256) }))).toBeUndefined();
    expect(tokenRecordFault(record(1, { prefix: '/' + 'a'.repeat(1023) }))).toBeUndefined();
    expect(tokenRecordFault(record(1, { ids: Array.from({ length: 16 }, (_, i) => digest(`u${i}`)) }))).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ['not a map', 'x', 'map'],
    ['short accessor', { accessor: 'abc' }, 'accessor'],
    ['accessor with base64 alphabet', { accessor: `${accessorOf(1).slice(0, 20)}+A` }, 'accessor'],
    ['upper-case hash', { hash: 'A'.repeat(64) }, 'hash'],
    ['short hash', { hash: 'a'.repeat(63) }, 'hash'],
    ['no ids', { ids: [] }, 'ids'],
    ['17 ids', { ids: Array.from({ length: 17 }, (_, i) => digest(`u${i}`)) }, 'ids'],
    ['an id not {scheme,id}', { ids: [{ scheme: 'digest' }] }, 'ids[0]'],
    ['a world id', { ids: [{ scheme: 'world', id: 'anyone' }] }, 'identity'],
    ['a malformed digest id', { ids: [{ scheme: 'digest', id: 'bob' }] }, 'valid digest'],
    ['a malformed ip id', { ids: [{ scheme: 'ip', id: '10.0.0.300' }] }, 'valid ip'],
    ['an over-long id', { ids: [{ scheme: 'x509', id: 'C'.repeat(1025) }] }, 'valid x509'],
    ['readOnly not boolean', { readOnly: 'yes' }, 'booleans'],
    ['relative prefix', { prefix: 'app' }, 'prefix'],
    ['prefix with a trailing slash', { prefix: '/app/' }, 'prefix'],
    ['over-long prefix', { prefix: '/' + 'a'.repeat(1024) }, 'prefix'],
    ['over-long description', { description: 'x'.repeat(257) }, 'description'],
    ['fractional time', { createdAt: T0 + 0.5 }, 'createdAt'],
    ['expiry before creation', { expiresAt: T0 }, 'expiresAt'],
    ['creator with no authenticated id', { createdBy: [ip], owner: '[]' }, 'authenticated'],
    ['owner not the creator', { owner: identityKey([digest('alice')]) }, 'owner'],
  ])('refuses %s', (_why, over, fault) => {
    const v = typeof over === 'object' && over !== null ? { ...record(1), ...over } : over;
    expect(tokenRecordFault(v)).toContain(fault);
  });
});

describe('tokenOpFailure and applyTokenOp', () => {
  it('checks the shape of each op', () => {
    expect(tokenOpFailure({ op: 'createToken', record: record(1) })).toBeUndefined();
    expect(tokenOpFailure({ op: 'revokeToken', accessor: accessorOf(1) })).toBeUndefined();
    expect(tokenOpFailure({ op: 'expireTokens', accessors: [accessorOf(1)] })).toBeUndefined();
    expect(tokenOpFailure(null)).toMatchObject({ code: 'BadArguments' });
    expect(tokenOpFailure({ op: 'mintToken' })).toMatchObject({ code: 'BadArguments' });
    expect(tokenOpFailure({ op: 'createToken', record: { ...record(1), hash: 'x' } })?.message).toMatch(/^createToken: the hash/);
    expect(tokenOpFailure({ op: 'revokeToken', accessor: 'zgt_x' })).toMatchObject({ code: 'BadArguments' });
    expect(tokenOpFailure({ op: 'expireTokens', accessors: [] })).toMatchObject({ code: 'BadArguments' });
    expect(tokenOpFailure({ op: 'expireTokens', accessors: [accessorOf(1), 7] })).toMatchObject({ code: 'BadArguments' });
    const many = Array.from({ length: MAX_EXPIRE_BATCH + 1 }, (_, i) => accessorOf(i));
    expect(tokenOpFailure({ op: 'expireTokens', accessors: many })).toMatchObject({ code: 'BadArguments' });
  });

  it('applies each op with its result; a refused entry changes nothing', () => {
    const t = new TokenTable();
    expect(applyTokenOp(t, { op: 'createToken', record: record(1) }, T0)).toEqual({ ok: true, result: { op: 'createToken', accessor: accessorOf(1), createdAt: T0, expiresAt: T0 + HOUR } });
    expect(applyTokenOp(t, { op: 'createToken', record: record(1) }, T0)).toMatchObject({ ok: false, failure: { code: 'NodeExists' } });
    expect(applyTokenOp(t, { op: 'createToken', record: { ...record(2), hash: 'nothex' } }, T0)).toMatchObject({ ok: false, failure: { code: 'BadArguments' } });
    expect(applyTokenOp(t, { op: 'revokeToken', accessor: accessorOf(5) }, T0)).toMatchObject({ ok: false, failure: { code: 'NoNode' } });
    expect(applyTokenOp(t, { op: 'expireTokens', accessors: [accessorOf(1)] }, T0)).toEqual({ ok: true, result: { op: 'expireTokens', expired: [] } });
    expect(applyTokenOp(t, { op: 'expireTokens', accessors: [accessorOf(1)] }, T0 + HOUR)).toEqual({ ok: true, result: { op: 'expireTokens', expired: [record(1)] } });
    expect(t.size).toBe(0);
    t.create(record(3), T0);
    expect(applyTokenOp(t, { op: 'revokeToken', accessor: accessorOf(3) }, T0)).toEqual({ ok: true, result: { op: 'revokeToken', record: record(3) } });
  });
});

describe('snapshot', () => {
  it('round-trips through the codec to an equal table', () => {
    const t = new TokenTable();
    t.create(record(3, { prefix: '/app', readOnly: true, cookie: true }), T0);
    t.create(record(1, {}, 'alice'), T0);
    t.create(record(2, { ids: [{ scheme: 'x509', id: 'CN=alice,O=acme' }] }, 'alice'), T0);
    const back = TokenTable.fromSnapshot(decode(encode(t.toSnapshot())));
    expect(back.toSnapshot()).toEqual(t.toSnapshot());
    expect(back.all()).toEqual(t.all());
    expect(back.ofOwner(identityKey([digest('alice')]))).toEqual(t.ofOwner(identityKey([digest('alice')])));
    expect(back.get(accessorOf(3))!.prefix).toBe('/app');
    expect('prefix' in back.get(accessorOf(1))!).toBe(false);
    expect(Buffer.from(encode(back.toSnapshot()))).toEqual(Buffer.from(encode(t.toSnapshot())));
  });

  it('an empty table round-trips', () => {
    expect(TokenTable.fromSnapshot(new TokenTable().toSnapshot()).size).toBe(0);
  });

  const good = (): Record<string, unknown> => {
    const t = new TokenTable();
    t.create(record(1), T0);
    t.create(record(2), T0);
    return t.toSnapshot();
  };
  it.each<[string, (s: Record<string, unknown>) => unknown]>([
    ['not a map', () => [1, 2]],
    ['null', () => null],
    ['another format', (s) => ({ ...s, format: 'zgate-sessions' })],
    ['another version', (s) => ({ ...s, v: 2 })],
    ['no token list', (s) => ({ ...s, tokens: {} })],
    ['a malformed record', (s) => ({ ...s, tokens: [{ ...(s.tokens as TokenRecord[])[0]!, hash: 'x' }] })],
    ['records out of order', (s) => ({ ...s, tokens: [...(s.tokens as TokenRecord[])].reverse() })],
    ['a repeated record', (s) => ({ ...s, tokens: [(s.tokens as TokenRecord[])[0], (s.tokens as TokenRecord[])[0]] })],
  ])('refuses %s with DataInconsistency', (_why, spoil) => {
    const s = good();
    TokenTable.fromSnapshot(s);
    let err: unknown;
    try {
      TokenTable.fromSnapshot(spoil(s));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ZgateError);
    expect((err as ZgateError).code).toBe('DataInconsistency');
  });
});

describe('property: random histories', () => {
  type Step = { kind: 'create'; n: number; user: number; ttl: number } | { kind: 'revoke'; n: number } | { kind: 'expire'; ns: number[] } | { kind: 'reap' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('create' as const), n: fc.nat(40), user: fc.nat(3), ttl: fc.integer({ min: 1, max: 5000 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('revoke' as const), n: fc.nat(40) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), ns: fc.array(fc.nat(40), { minLength: 1, maxLength: 5 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reap' as const }) },
  );
  const bounds: TokenBounds = { perIdentity: 4, total: 10 };

  function opOf(s: Step, now: number, table: TokenTable): TokenOp {
    switch (s.kind) {
      case 'create':
        return { op: 'createToken', record: record(s.n, { createdAt: now, expiresAt: now + s.ttl }, `u${s.user}`) };
      case 'revoke': {
        // Mostly a token that is there (live or expired), sometimes one that is not.
        const all = table.all();
        return { op: 'revokeToken', accessor: all.length > 0 && s.n % 4 !== 0 ? all[s.n % all.length]!.accessor : accessorOf(s.n) };
      }
      case 'expire':
        return { op: 'expireTokens', accessors: s.ns.map(accessorOf) };
      case 'reap': {
        const due = table.expiredAt(now, 3);
        return due.length > 0 ? { op: 'expireTokens', accessors: due } : { op: 'revokeToken', accessor: accessorOf(0) };
      }
    }
  }

  it('keeps the bounds, round-trips snapshots at every step, and replicas agree', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(fc.array(fc.tuple(step, fc.integer({ min: 0, max: 200 })), { minLength: 20, maxLength: 120 }), (history) => {
        const a = new TokenTable();
        const b = new TokenTable();
        let now = T0;
        for (const [s, dt] of history) {
          now += dt;
          const op = opOf(s, now, a);
          const ra = applyTokenOp(a, op, now, bounds);
          const rb = applyTokenOp(b, decode(encode(op)) as TokenOp, now, bounds);
          expect(rb).toEqual(ra);
          const what = ra.ok ? (ra.result.op === 'expireTokens' ? `reaped ${Math.min(ra.result.expired.length, 1)}` : ra.result.op) : ra.failure.code;
          seen.set(what, (seen.get(what) ?? 0) + 1);
          expect(b.toSnapshot()).toEqual(a.toSnapshot());
          expect(a.liveCount(now)).toBeLessThanOrEqual(bounds.total);
          for (let u = 0; u < 4; u++) expect(a.liveCount(now, identityKey([digest(`u${u}`)]))).toBeLessThanOrEqual(bounds.perIdentity);
          if (ra.ok && ra.result.op === 'expireTokens') for (const r of ra.result.expired) expect(r.expiresAt).toBeLessThanOrEqual(now);
          const back = TokenTable.fromSnapshot(decode(encode(a.toSnapshot())));
          expect(back.toSnapshot()).toEqual(a.toSnapshot());
          expect(back.expiredAt(now)).toEqual(a.expiredAt(now));
          for (let u = 0; u < 4; u++) expect(back.ofOwner(identityKey([digest(`u${u}`)]))).toEqual(a.ofOwner(identityKey([digest(`u${u}`)])));
          expect(a.all().map((r) => r.accessor)).toEqual(a.all().map((r) => r.accessor).sort());
        }
      }),
      { seed: 20261207, numRuns: 60 },
    );
    // The histories reach every outcome, the bounds included.
    for (const what of ['createToken', 'revokeToken', 'reaped 0', 'reaped 1', 'QuotaExceeded', 'NodeExists', 'NoNode']) expect([what, (seen.get(what) ?? 0) > 10]).toEqual([what, true]);
  });
});
