/**
 * src/core/acl.ts, rule by rule (zookeeper-semantics.md "ACLs and authentication", api.md
 * "Identity and ACLs"): perms both ways, fixupACL, checkACL per scheme, token scope, masking.
 */
import {
  aclEntryKey,
  aclGrants,
  aclKey,
  aclToJson,
  fixupAcl,
  formatPerms,
  ipIdOf,
  isStoredAcl,
  isValidAclId,
  maskDigests,
  MAX_ACL_ENTRIES,
  parseIp,
  parsePerms,
  permits,
  Perms,
  scopeAdmits,
  type Access,
  type Acl,
  type Id,
} from '../../src/core/acl.js';

const who = (...ids: Id[]): Access => ({ ids, super: false });
const ip = (id: string): Id => ({ scheme: 'ip', id });
const digest = (id: string): Id => ({ scheme: 'digest', id });
const ALICE = digest('alice:hashA');
const BOB = digest('bob:hashB');

function ok(input: unknown, ids: readonly Id[] = []): Acl[] {
  const r = fixupAcl(input, ids);
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.acl;
}
function refused(input: unknown, ids: readonly Id[] = []): string {
  const r = fixupAcl(input, ids);
  if (r.ok) throw new Error(`accepted: ${JSON.stringify(r.acl)}`);
  return r.message;
}

describe('perms', () => {
  it('has ZooKeeper bit values', () => {
    expect(Perms).toEqual({ READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 });
  });

  it('formats the set bits in zkCli order cdrwa', () => {
    expect(formatPerms(Perms.ALL)).toBe('cdrwa');
    expect(formatPerms(0)).toBe('');
    expect(formatPerms(Perms.READ)).toBe('r');
    expect(formatPerms(Perms.READ | Perms.ADMIN)).toBe('ra');
    expect(formatPerms(Perms.WRITE | Perms.CREATE)).toBe('cw');
    expect(formatPerms(Perms.DELETE | Perms.READ | Perms.WRITE)).toBe('drw');
    // Bits above 31 (which ZooKeeper stores) are not letters.
    expect(formatPerms(32 | Perms.READ)).toBe('r');
  });

  it('parses every integer 0..31 and formats it back to the same bits', () => {
    for (let n = 0; n <= 31; n++) {
      expect(parsePerms(n)).toBe(n);
      expect(parsePerms(formatPerms(n))).toBe(n);
    }
  });

  it('parses letters in any order, each once', () => {
    expect(parsePerms('cdrwa')).toBe(31);
    expect(parsePerms('awrdc')).toBe(31);
    expect(parsePerms('rw')).toBe(3);
    expect(parsePerms('wr')).toBe(3);
    expect(parsePerms('a')).toBe(16);
    expect(parsePerms('')).toBe(0);
    for (const bad of ['rr', 'cdrwaa', 'x', 'R', 'rwx', ' r', 'r ', 'all', '31']) expect(parsePerms(bad)).toBeUndefined();
  });

  it('refuses integers outside 0..31 (bits above 31), fractions and other types', () => {
    for (const bad of [32, 33, 63, 64, 255, 2 ** 31, -1, 1.5, NaN, Infinity, null, undefined, true, [1], { perms: 1 }]) {
      expect(parsePerms(bad)).toBeUndefined();
    }
  });
});

describe('fixupAcl', () => {
  const open = { perms: 'cdrwa', scheme: 'world', id: 'anyone' };

  it('takes a list of {perms, scheme, id} with perms as letters or integers', () => {
    expect(ok([open])).toEqual([{ perms: 31, scheme: 'world', id: 'anyone' }]);
    expect(ok([{ perms: 3, scheme: 'digest', id: 'u:h' }])).toEqual([{ perms: 3, scheme: 'digest', id: 'u:h' }]);
    expect(ok([{ perms: 0, scheme: 'world', id: 'anyone' }])).toEqual([{ perms: 0, scheme: 'world', id: 'anyone' }]);
  });

  it('refuses what is not an array', () => {
    for (const bad of [undefined, null, 'world:anyone:cdrwa', 31, open, {}]) expect(refused(bad)).toMatch(/array/);
  });

  it('refuses an empty list (ZOOKEEPER-1877)', () => {
    expect(refused([])).toMatch(/at least one/);
  });

  it(`takes up to ${MAX_ACL_ENTRIES} entries, no more`, () => {
    const entries = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ perms: 'r', scheme: 'digest', id: `u${i}:h` }));
    expect(ok(entries(MAX_ACL_ENTRIES))).toHaveLength(MAX_ACL_ENTRIES);
    expect(refused(entries(MAX_ACL_ENTRIES + 1))).toMatch(/at most 256/);
    // The bound is on the input: 257 duplicates are refused although they would fold into one.
    expect(refused(Array.from({ length: MAX_ACL_ENTRIES + 1 }, () => open))).toMatch(/at most/);
  });

  it('refuses malformed entries', () => {
    expect(refused([null])).toMatch(/entry 0/);
    expect(refused([open, 'world:anyone'])).toMatch(/entry 1/);
    expect(refused([[31, 'world', 'anyone']])).toMatch(/entry 0/);
    expect(refused([{ perms: 'rx', scheme: 'world', id: 'anyone' }])).toMatch(/perms/);
    expect(refused([{ perms: 32, scheme: 'world', id: 'anyone' }])).toMatch(/perms/);
    expect(refused([{ scheme: 'world', id: 'anyone' }])).toMatch(/perms/);
    expect(refused([{ perms: 'r', scheme: 'world' }])).toMatch(/strings/);
    expect(refused([{ perms: 'r', id: 'anyone' }])).toMatch(/strings/);
    expect(refused([{ perms: 'r', scheme: 'world', id: 1 }])).toMatch(/strings/);
  });

  it('refuses unknown schemes, super included', () => {
    for (const scheme of ['super', 'key', 'WORLD', 'Digest', '', 'bearer', 'token']) {
      expect(refused([{ perms: 'r', scheme, id: 'x' }])).toMatch(/unknown scheme/);
    }
  });

  it('takes world only with the id anyone', () => {
    expect(ok([{ perms: 'r', scheme: 'world', id: 'anyone' }])).toHaveLength(1);
    for (const id of ['', 'Anyone', 'everyone', 'super:x', 'anyone ']) expect(refused([{ perms: 'r', scheme: 'world', id }])).toMatch(/not a valid world id/);
  });

  describe('auth', () => {
    const x509: Id = { scheme: 'x509', id: 'CN=alice,O=acme' };
    const sasl: Id = { scheme: 'sasl', id: 'alice@EXAMPLE.COM' };

    it('becomes one entry with its perms per authenticated id of the caller (digest, x509, sasl)', () => {
      const ids = [ip('10.0.0.5'), ALICE, x509, sasl, { scheme: 'super', id: '' }];
      expect(ok([{ perms: 'cdrwa', scheme: 'auth', id: '' }], ids)).toEqual([
        { perms: 31, scheme: 'digest', id: 'alice:hashA' },
        { perms: 31, scheme: 'x509', id: 'CN=alice,O=acme' },
        { perms: 31, scheme: 'sasl', id: 'alice@EXAMPLE.COM' },
      ]);
    });

    it('ignores its own id, keeps its place in the order', () => {
      expect(ok([{ perms: 'r', scheme: 'world', id: 'anyone' }, { perms: 'rw', scheme: 'auth', id: 'whatever' }, { perms: 'a', scheme: 'ip', id: '1.2.3.4' }], [ALICE, BOB])).toEqual([
        { perms: 1, scheme: 'world', id: 'anyone' },
        { perms: 3, scheme: 'digest', id: 'alice:hashA' },
        { perms: 3, scheme: 'digest', id: 'bob:hashB' },
        { perms: 16, scheme: 'ip', id: '1.2.3.4' },
      ]);
    });

    it('is refused without an authenticated id (ip and super do not count)', () => {
      const entry = [{ perms: 'cdrwa', scheme: 'auth', id: '' }];
      expect(refused(entry, [])).toMatch(/authenticated/);
      expect(refused(entry, [ip('127.0.0.1')])).toMatch(/authenticated/);
      expect(refused(entry, [ip('127.0.0.1'), { scheme: 'super', id: '' }])).toMatch(/authenticated/);
      expect(refused(entry, [{ scheme: 'world', id: 'anyone' }])).toMatch(/authenticated/);
    });

    it('expands to entries that are deduplicated with the others', () => {
      expect(ok([{ perms: 'r', scheme: 'digest', id: 'alice:hashA' }, { perms: 'r', scheme: 'auth', id: '' }], [ALICE])).toEqual([{ perms: 1, scheme: 'digest', id: 'alice:hashA' }]);
      expect(ok([{ perms: 'r', scheme: 'auth', id: '' }, { perms: 'r', scheme: 'auth', id: '' }], [ALICE])).toEqual([{ perms: 1, scheme: 'digest', id: 'alice:hashA' }]);
      // Different perms are a different entry.
      expect(ok([{ perms: 'r', scheme: 'auth', id: '' }, { perms: 'rw', scheme: 'auth', id: '' }], [ALICE])).toHaveLength(2);
    });
  });

  it('drops duplicates, first kept, order kept (letters and integers are the same perms)', () => {
    expect(
      ok([
        { perms: 'rw', scheme: 'digest', id: 'b:h' },
        { perms: 'r', scheme: 'world', id: 'anyone' },
        { perms: 'wr', scheme: 'digest', id: 'b:h' },
        { perms: 3, scheme: 'digest', id: 'b:h' },
        { perms: 1, scheme: 'world', id: 'anyone' },
        { perms: 'a', scheme: 'digest', id: 'a:h' },
      ]),
    ).toEqual([
      { perms: 3, scheme: 'digest', id: 'b:h' },
      { perms: 1, scheme: 'world', id: 'anyone' },
      { perms: 16, scheme: 'digest', id: 'a:h' },
    ]);
  });

  it('never merges entries that differ only where a naive key would join them', () => {
    const tricky = [
      { perms: 1, scheme: 'x509', id: 'a\u00011\u0000x509\u0000b' },
      { perms: 1, scheme: 'x509', id: 'a' },
      { perms: 1, scheme: 'x509', id: 'b' },
    ];
    expect(ok(tricky)).toHaveLength(3);
    expect(aclKey([tricky[0]!])).not.toBe(aclKey([tricky[1]!, tricky[2]!]));
    expect(aclEntryKey({ perms: 1, scheme: 'x509', id: 'a\u00001' })).not.toBe(aclEntryKey({ perms: 1, scheme: 'x509\u0000a', id: '1' }));
  });

  it("decides digest ids as Java's id.split(\":\").length == 2", () => {
    const valid = ['u:h', ':h', 'user:x1nq8J5GOJVPY6zgzhtTtA9izLc=', 'u:h::', 'u:h:'];
    const invalid = ['u:', 'u', '', ':', '::', 'a:b:c', '::h', 'u::h', 'a:b:c:'];
    for (const id of valid) {
      expect(isValidAclId('digest', id)).toBe(true);
      expect(ok([{ perms: 'r', scheme: 'digest', id }])).toHaveLength(1);
    }
    for (const id of invalid) {
      expect(isValidAclId('digest', id)).toBe(false);
      expect(refused([{ perms: 'r', scheme: 'digest', id }])).toMatch(/not a valid digest id/);
    }
  });

  it('takes ip ids addr and addr/bits for IPv4 and IPv6', () => {
    const valid = [
      '127.0.0.1',
      '10.0.0.0/8',
      '0.0.0.0/0',
      '1.2.3.4/32',
      '255.255.255.255',
      '::1',
      '::',
      '::/0',
      'fe80::/64',
      '2001:db8::1/128',
      '2001:0db8:0000:0000:0000:0000:0000:0001',
      '::ffff:1.2.3.4',
      '::ffff:1.2.3.4/96',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:1.2.3.4',
    ];
    const invalid = [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '1.2.3.4/33',
      '1.2.3.4/',
      '1.2.3.4/-1',
      '1.2.3.4/8/8',
      '1.2.3.4/a',
      '10.0.0.0/08a',
      '::1/129',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '12345::',
      '::ffff:1.2.3',
      '::ffff:256.1.1.1',
      'localhost',
      ' 1.2.3.4',
      'a.b.c.d',
      ':::',
    ];
    for (const id of valid) {
      expect([id, isValidAclId('ip', id)]).toEqual([id, true]);
      expect(ok([{ perms: 'r', scheme: 'ip', id }])).toHaveLength(1);
    }
    for (const id of invalid) {
      expect([id, isValidAclId('ip', id)]).toEqual([id, false]);
      expect(refused([{ perms: 'r', scheme: 'ip', id }])).toMatch(/not a valid ip id/);
    }
  });

  it('takes any non-empty x509 and sasl id', () => {
    expect(ok([{ perms: 'r', scheme: 'x509', id: 'CN=alice,OU=eng,O=acme' }])).toHaveLength(1);
    expect(ok([{ perms: 'r', scheme: 'sasl', id: 'alice' }])).toHaveLength(1);
    expect(refused([{ perms: 'r', scheme: 'x509', id: '' }])).toMatch(/not a valid x509 id/);
    expect(refused([{ perms: 'r', scheme: 'sasl', id: '' }])).toMatch(/not a valid sasl id/);
  });

  it('names the first bad entry', () => {
    expect(refused([open, open, { perms: 'r', scheme: 'ip', id: 'nope' }])).toMatch(/entry 2/);
  });

  it('returns fresh entries, never the input objects', () => {
    const input = [{ perms: 5, scheme: 'world', id: 'anyone' }];
    const out = ok(input);
    expect(out[0]).not.toBe(input[0]);
  });
});

describe('isStoredAcl (an ACL in a log entry or a snapshot)', () => {
  it('takes a fixed-up list', () => {
    expect(isStoredAcl([{ perms: 31, scheme: 'world', id: 'anyone' }])).toBe(true);
    expect(isStoredAcl([{ perms: 1, scheme: 'ip', id: '10.0.0.0/8' }, { perms: 16, scheme: 'digest', id: 'u:h' }])).toBe(true);
  });
  it('refuses auth, bad ids, letters, non-integers, empty and oversized lists', () => {
    expect(isStoredAcl([])).toBe(false);
    expect(isStoredAcl({ perms: 31, scheme: 'world', id: 'anyone' })).toBe(false);
    expect(isStoredAcl([{ perms: 31, scheme: 'auth', id: '' }])).toBe(false);
    expect(isStoredAcl([{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }])).toBe(false);
    expect(isStoredAcl([{ perms: 1.5, scheme: 'world', id: 'anyone' }])).toBe(false);
    // Perms are a Java int: bits above 31 are stored (ZooKeeper does), wider numbers are not.
    expect(isStoredAcl([{ perms: 64 | 1, scheme: 'world', id: 'anyone' }])).toBe(true);
    expect(isStoredAcl([{ perms: -1, scheme: 'world', id: 'anyone' }])).toBe(true);
    expect(isStoredAcl([{ perms: 2 ** 32 + 1, scheme: 'world', id: 'anyone' }])).toBe(false);
    expect(isStoredAcl([{ perms: 2 ** 31, scheme: 'world', id: 'anyone' }])).toBe(false);
    expect(isStoredAcl([{ perms: 1, scheme: 'world', id: 'someone' }])).toBe(false);
    expect(isStoredAcl([{ perms: 1, scheme: 'digest', id: 'u:' }])).toBe(false);
    expect(isStoredAcl([{ perms: 1, scheme: 'unknown', id: 'x' }])).toBe(false);
    expect(isStoredAcl([null])).toBe(false);
    expect(isStoredAcl(Array.from({ length: MAX_ACL_ENTRIES + 1 }, (_, i) => ({ perms: 1, scheme: 'x509', id: `CN=${i}` })))).toBe(false);
  });
});

describe('aclGrants (checkACL)', () => {
  const world = (perms: number): Acl[] => [{ perms, scheme: 'world', id: 'anyone' }];

  it('lets world:anyone grant its bits to everyone, the anonymous included', () => {
    expect(aclGrants(world(Perms.READ), Perms.READ, who())).toBe(true);
    expect(aclGrants(world(Perms.READ), Perms.WRITE, who())).toBe(false);
    expect(aclGrants(world(Perms.ALL), Perms.ADMIN, who(ip('1.2.3.4')))).toBe(true);
    expect(aclGrants(world(0), Perms.READ, who(ALICE))).toBe(false);
  });

  it('passes a multi-bit perm on ANY bit (getACL: READ or ADMIN)', () => {
    const readOrAdmin = Perms.READ | Perms.ADMIN;
    expect(aclGrants(world(Perms.READ), readOrAdmin, who())).toBe(true);
    expect(aclGrants(world(Perms.ADMIN), readOrAdmin, who())).toBe(true);
    expect(aclGrants(world(Perms.WRITE | Perms.CREATE), readOrAdmin, who())).toBe(false);
    // ZOOKEEPER-4964: one bit of ALL is enough, which is why ALL must never be asked for.
    expect(aclGrants(world(Perms.READ), Perms.ALL, who())).toBe(true);
  });

  it('ORs the entries: none denies', () => {
    const acl: Acl[] = [
      { perms: Perms.READ, scheme: 'digest', id: 'alice:hashA' },
      { perms: Perms.WRITE, scheme: 'digest', id: 'bob:hashB' },
    ];
    expect(aclGrants(acl, Perms.READ, who(ALICE))).toBe(true);
    expect(aclGrants(acl, Perms.WRITE, who(ALICE))).toBe(false);
    expect(aclGrants(acl, Perms.WRITE, who(BOB))).toBe(true);
    expect(aclGrants(acl, Perms.WRITE, who(ALICE, BOB))).toBe(true);
    expect(aclGrants(acl, Perms.READ, who())).toBe(false);
  });

  it('matches digest ids by exact equality', () => {
    const acl: Acl[] = [{ perms: Perms.READ, scheme: 'digest', id: 'alice:hashA' }];
    expect(aclGrants(acl, Perms.READ, who(ALICE))).toBe(true);
    for (const id of ['alice:hasha', 'alice:hashA ', 'alice', 'Alice:hashA', 'alice:x']) expect(aclGrants(acl, Perms.READ, who(digest(id)))).toBe(false);
    // The same text under another scheme is not a match.
    expect(aclGrants(acl, Perms.READ, who({ scheme: 'x509', id: 'alice:hashA' }))).toBe(false);
  });

  it('matches x509 and sasl ids by equality', () => {
    const acl: Acl[] = [
      { perms: Perms.READ, scheme: 'x509', id: 'CN=alice,O=acme' },
      { perms: Perms.WRITE, scheme: 'sasl', id: 'bob@R' },
    ];
    expect(aclGrants(acl, Perms.READ, who({ scheme: 'x509', id: 'CN=alice,O=acme' }))).toBe(true);
    expect(aclGrants(acl, Perms.READ, who({ scheme: 'x509', id: 'CN=alice, O=acme' }))).toBe(false);
    expect(aclGrants(acl, Perms.READ, who({ scheme: 'x509', id: 'cn=alice,o=acme' }))).toBe(false);
    expect(aclGrants(acl, Perms.WRITE, who({ scheme: 'sasl', id: 'bob@R' }))).toBe(true);
    expect(aclGrants(acl, Perms.WRITE, who({ scheme: 'x509', id: 'bob@R' }))).toBe(false);
  });

  it('masks ip addresses to the ACL bits', () => {
    const g = (aclId: string, caller: string): boolean => aclGrants([{ perms: Perms.READ, scheme: 'ip', id: aclId }], Perms.READ, who(ip(caller)));
    expect(g('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(g('127.0.0.1', '127.0.0.2')).toBe(false);
    expect(g('1.2.3.4/32', '1.2.3.4')).toBe(true);
    expect(g('1.2.3.4/32', '1.2.3.5')).toBe(false);
    expect(g('10.0.0.0/8', '10.255.1.2')).toBe(true);
    expect(g('10.0.0.0/8', '11.0.0.1')).toBe(false);
    // The ACL's own host bits are masked too.
    expect(g('10.9.9.9/8', '10.1.1.1')).toBe(true);
    expect(g('192.168.1.0/24', '192.168.1.77')).toBe(true);
    expect(g('192.168.1.0/24', '192.168.2.77')).toBe(false);
    expect(g('192.168.0.0/23', '192.168.1.1')).toBe(true);
    expect(g('192.168.0.0/23', '192.168.2.1')).toBe(false);
    expect(g('128.0.0.0/1', '200.1.1.1')).toBe(true);
    expect(g('128.0.0.0/1', '100.1.1.1')).toBe(false);
    expect(g('0.0.0.0/0', '8.8.8.8')).toBe(true);
    expect(g('0.0.0.0/0', '::1')).toBe(false);
    expect(g('::/0', '8.8.8.8')).toBe(false);
    expect(g('::/0', '2001:db8::1')).toBe(true);
    expect(g('2001:db8:1:2::/64', '2001:db8:1:2:ffff::9')).toBe(true);
    expect(g('2001:db8:1:2::/64', '2001:db8:1:3::9')).toBe(false);
    expect(g('::1', '::1')).toBe(true);
    expect(g('::1', '0:0:0:0:0:0:0:1')).toBe(true);
    expect(g('::1', '127.0.0.1')).toBe(false);
    // An IPv4 id never matches an IPv6 ACL, the IPv4-mapped form included (ipIdOf writes it as IPv4).
    expect(g('::ffff:1.2.3.4', '1.2.3.4')).toBe(false);
    expect(g('1.2.3.4', '::ffff:1.2.3.4')).toBe(false);
    expect(g('::ffff:1.2.3.4', '::ffff:1.2.3.4')).toBe(true);
    // A caller id that is no address matches nothing.
    expect(g('0.0.0.0/0', 'not-an-ip')).toBe(false);
  });

  it('lets super pass whatever the list', () => {
    const superAccess: Access = { ids: [], super: true };
    expect(aclGrants(world(0), Perms.ALL, superAccess)).toBe(true);
    expect(aclGrants([{ perms: Perms.READ, scheme: 'digest', id: 'x:y' }], Perms.ADMIN, superAccess)).toBe(true);
  });

  it('lets an empty list pass (state from before ACLs)', () => {
    expect(aclGrants([], Perms.ADMIN, who())).toBe(true);
  });
});

describe('scopeAdmits (a token scope)', () => {
  it('admits everything without a scope', () => {
    for (const perm of [Perms.READ, Perms.WRITE, Perms.CREATE, Perms.DELETE, Perms.ADMIN]) expect(scopeAdmits(who(), perm, '/x')).toBe(true);
  });

  it('readOnly admits only READ', () => {
    const ro: Access = { ids: [], super: false, readOnly: true };
    expect(scopeAdmits(ro, Perms.READ, '/x')).toBe(true);
    for (const perm of [Perms.WRITE, Perms.CREATE, Perms.DELETE, Perms.ADMIN, Perms.READ | Perms.WRITE]) expect(scopeAdmits(ro, perm, '/x')).toBe(false);
    expect(scopeAdmits({ ...ro, readOnly: false }, Perms.WRITE, '/x')).toBe(true);
  });

  it('prefix admits the path itself and paths under prefix + "/", never a sibling sharing its first letters', () => {
    const app: Access = { ids: [], super: false, prefix: '/app' };
    expect(scopeAdmits(app, Perms.WRITE, '/app')).toBe(true);
    expect(scopeAdmits(app, Perms.WRITE, '/app/x')).toBe(true);
    expect(scopeAdmits(app, Perms.WRITE, '/app/x/y')).toBe(true);
    expect(scopeAdmits(app, Perms.WRITE, '/apple')).toBe(false);
    expect(scopeAdmits(app, Perms.WRITE, '/app0000000001')).toBe(false);
    expect(scopeAdmits(app, Perms.WRITE, '/')).toBe(false);
    expect(scopeAdmits(app, Perms.WRITE, '/ap')).toBe(false);
    expect(scopeAdmits(app, Perms.WRITE, '/other/app')).toBe(false);
    const nested: Access = { ids: [], super: false, prefix: '/a/b' };
    expect(scopeAdmits(nested, Perms.READ, '/a')).toBe(false);
    expect(scopeAdmits(nested, Perms.READ, '/a/b/c')).toBe(true);
  });

  it('prefix / admits every path', () => {
    const all: Access = { ids: [], super: false, prefix: '/' };
    for (const p of ['/', '/a', '/a/b', '/zookeeper']) expect(scopeAdmits(all, Perms.DELETE, p)).toBe(true);
  });

  it('readOnly and prefix together need both', () => {
    const both: Access = { ids: [], super: false, readOnly: true, prefix: '/app' };
    expect(scopeAdmits(both, Perms.READ, '/app/x')).toBe(true);
    expect(scopeAdmits(both, Perms.WRITE, '/app/x')).toBe(false);
    expect(scopeAdmits(both, Perms.READ, '/apple')).toBe(false);
  });

  it('permits is the grant and the scope: a scope restricts even super', () => {
    const open: Acl[] = [{ perms: Perms.ALL, scheme: 'world', id: 'anyone' }];
    expect(permits(open, Perms.WRITE, { ids: [], super: true, readOnly: true }, '/x')).toBe(false);
    expect(permits(open, Perms.READ, { ids: [], super: true, readOnly: true }, '/x')).toBe(true);
    expect(permits(open, Perms.READ, { ids: [], super: true, prefix: '/app' }, '/apple')).toBe(false);
    expect(permits([{ perms: 0, scheme: 'world', id: 'anyone' }], Perms.WRITE, { ids: [], super: true, prefix: '/app' }, '/app/x')).toBe(true);
    expect(permits([{ perms: Perms.READ, scheme: 'world', id: 'anyone' }], Perms.WRITE, { ids: [], super: false, prefix: '/app' }, '/app/x')).toBe(false);
  });
});

describe('maskDigests (getACL without ADMIN)', () => {
  it('rewrites every digest id user:x and nothing else', () => {
    const acl: Acl[] = [
      { perms: 31, scheme: 'digest', id: 'alice:x1nq8J5GOJVPY6zgzhtTtA9izLc=' },
      { perms: 1, scheme: 'world', id: 'anyone' },
      { perms: 1, scheme: 'x509', id: 'CN=a:b' },
      { perms: 1, scheme: 'ip', id: '::1' },
      { perms: 2, scheme: 'digest', id: ':h' },
    ];
    expect(maskDigests(acl)).toEqual([
      { perms: 31, scheme: 'digest', id: 'alice:x' },
      { perms: 1, scheme: 'world', id: 'anyone' },
      { perms: 1, scheme: 'x509', id: 'CN=a:b' },
      { perms: 1, scheme: 'ip', id: '::1' },
      { perms: 2, scheme: 'digest', id: ':x' },
    ]);
    // The stored list is untouched.
    expect(acl[0]!.id).toBe('alice:x1nq8J5GOJVPY6zgzhtTtA9izLc=');
  });

  it('hides everything after the first colon, newlines included', () => {
    expect(maskDigests([{ perms: 1, scheme: 'digest', id: 'u:a\nb:c' }])[0]!.id).toBe('u:x');
  });

  it('renders perms as letters in JSON', () => {
    expect(aclToJson([{ perms: 17, scheme: 'digest', id: 'u:h' }])).toEqual([{ perms: 'ra', scheme: 'digest', id: 'u:h' }]);
  });
});

describe('addresses', () => {
  it('parseIp gives 4 or 16 bytes', () => {
    expect(Array.from(parseIp('10.1.2.3')!)).toEqual([10, 1, 2, 3]);
    expect(Array.from(parseIp('::1')!)).toEqual([...Array<number>(15).fill(0), 1]);
    expect(Array.from(parseIp('::ffff:1.2.3.4')!)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(Array.from(parseIp('2001:db8::ff00:42:8329')!)).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0, 0x42, 0x83, 0x29]);
    expect(parseIp('1.2.3.4/8')).toBeUndefined();
    expect(parseIp('')).toBeUndefined();
  });

  it('ipIdOf writes an IPv4-mapped IPv6 address as IPv4 and leaves the rest alone', () => {
    expect(ipIdOf('::ffff:10.0.0.5')).toBe('10.0.0.5');
    expect(ipIdOf('::FFFF:10.0.0.5')).toBe('10.0.0.5');
    expect(ipIdOf('10.0.0.5')).toBe('10.0.0.5');
    expect(ipIdOf('::1')).toBe('::1');
    expect(ipIdOf('2001:db8::1')).toBe('2001:db8::1');
    expect(ipIdOf('::ffff:0a00:0005')).toBe('::ffff:0a00:0005');
  });
});
