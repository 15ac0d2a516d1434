/** Minting, parsing and checking bearer tokens (api.md "Tokens"). */
import { createHash } from 'node:crypto';
import { hashOfSecret, mintToken, parseToken, secretMatches } from '../../src/auth/token-secret.js';
import { isAccessor } from '../../src/core/token-ops.js';

describe('mintToken', () => {
  it('has the documented shape', () => {
    const t = mintToken();
    expect(t.accessor).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(t.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(t.token).toBe(`zgt_${t.accessor}.${t.secret}`);
    expect(t.hash).toBe(createHash('sha256').update(t.secret).digest('hex'));
    expect(Buffer.from(t.accessor, 'base64url')).toHaveLength(16);
    expect(Buffer.from(t.secret, 'base64url')).toHaveLength(32);
    expect(isAccessor(t.accessor)).toBe(true);
  });

  it('parses back and its secret matches its hash', () => {
    for (let i = 0; i < 200; i++) {
      const t = mintToken();
      expect(parseToken(t.token)).toEqual({ accessor: t.accessor, secret: t.secret });
      expect(secretMatches(t.secret, t.hash)).toBe(true);
    }
  });

  it('is random', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => mintToken().accessor));
    expect(seen.size).toBe(1000);
  });
});

describe('parseToken', () => {
  const t = mintToken();
  const acc = 'AAAAAAAAAAAAAAAAAAAAAA';
  const sec = 'A'.repeat(43);

  it('accepts the canonical form', () => {
    expect(parseToken(`zgt_${acc}.${sec}`)).toEqual({ accessor: acc, secret: sec });
  });

  it.each([
    ['empty', ''],
    ['no prefix', `${acc}.${sec}`],
    ['another prefix', `zgx_${acc}.${sec}`],
    ['upper-case prefix', `ZGT_${acc}.${sec}`],
    ['no dot', `zgt_${acc}${sec}`],
    ['dot misplaced', `zgt_${acc.slice(1)}.A${sec}`],
    ['short secret', `zgt_${acc}.${sec.slice(1)}`],
    ['long secret', `zgt_${acc}.${sec}A`],
    ['base64 alphabet', `zgt_${acc.slice(1)}+.${sec}`],
    ['padding', `zgt_${acc}.${sec.slice(2)}A=`],
    ['accessor not canonical', `zgt_${acc.slice(1)}B.${sec}`],
    ['secret not canonical', `zgt_${acc}.${sec.slice(1)}B`],
    ['whitespace', ` zgt_${acc}.${sec}`],
    ['trailing newline', `${t.token}\n`],
  ])('refuses %s', (_why, text) => {
    expect(parseToken(text)).toBeUndefined();
  });
});

describe('secretMatches', () => {
  const t = mintToken();

  it('refuses another secret', () => {
    expect(secretMatches(mintToken().secret, t.hash)).toBe(false);
    expect(secretMatches('', t.hash)).toBe(false);
    expect(secretMatches(`${t.secret}x`, t.hash)).toBe(false);
  });

  it('refuses a stored hash that is not 64 lower-case hex', () => {
    expect(secretMatches(t.secret, t.hash.toUpperCase())).toBe(false);
    expect(secretMatches(t.secret, t.hash.slice(2))).toBe(false);
    expect(secretMatches(t.secret, `${t.hash}00`)).toBe(false);
    expect(secretMatches(t.secret, '')).toBe(false);
  });

  it('hashOfSecret is the hex SHA-256 of the text', () => {
    expect(hashOfSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
