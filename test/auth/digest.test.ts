/**
 * ZooKeeper's digest ids (the vectors of zookeeper-semantics.md, computed by ZooKeeper's
 * DigestAuthenticationProvider.generateDigest) and Basic credentials (RFC 7617).
 */
import { createHash } from 'node:crypto';
import { digestIdentity, digestOf, parseBasicAuthorization } from '../../src/auth/digest.js';
import { userOfDigest as userOfDigestId } from '../../src/core/acl.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

describe('digestOf', () => {
  it.each([
    ['admin', 'admin', 'admin:x1nq8J5GOJVPY6zgzhtTtA9izLc='],
    ['demo', 'test', 'demo:ojnHEyje6F33LLzGVzg+yatf4Fc='],
    ['bob', 'pass', 'bob:SuJDcIdgr9RqJsZZuYRR+N6T6G4='],
  ])('%s:%s gives ZooKeeper\'s digest', (user, password, expected) => {
    expect(digestOf(user, password)).toBe(expected);
    expect(digestIdentity(`${user}:${password}`)).toEqual({ scheme: 'digest', id: expected });
  });

  it('splits at the first colon and hashes the whole string', () => {
    const sha = createHash('sha1').update('u:p:q', 'utf8').digest('base64');
    expect(digestIdentity('u:p:q')).toEqual({ scheme: 'digest', id: `u:${sha}` });
    expect(digestOf('u', 'p:q')).toBe(`u:${sha}`);
  });

  it('hashes UTF-8', () => {
    const sha = createHash('sha1').update(Buffer.from('zoë:pässwörd', 'utf8')).digest('base64');
    expect(digestOf('zoë', 'pässwörd')).toBe(`zoë:${sha}`);
  });

  it('never fails: no colon makes the whole string the user', () => {
    const sha = createHash('sha1').update('lonely', 'utf8').digest('base64');
    expect(digestIdentity('lonely').id).toBe(`lonely:${sha}`);
    expect(digestIdentity('').id).toBe(`:${createHash('sha1').update('').digest('base64')}`);
  });

  it('userOfDigestId is the part before the first colon', () => {
    expect(userOfDigestId('admin:x1nq8J5GOJVPY6zgzhtTtA9izLc=')).toBe('admin');
    expect(userOfDigestId('a:b:c')).toBe('a');
    expect(userOfDigestId('nocolon')).toBe('nocolon');
  });
});

describe('parseBasicAuthorization', () => {
  it('reads user and password', () => {
    expect(parseBasicAuthorization(`Basic ${b64('bob:pass')}`)).toEqual({ ok: true, user: 'bob', password: 'pass' });
  });

  it('takes the scheme in any case and extra spaces', () => {
    expect(parseBasicAuthorization(`bAsIc   ${b64('bob:pass')}  `)).toEqual({ ok: true, user: 'bob', password: 'pass' });
  });

  it('keeps every colon after the first in the password', () => {
    expect(parseBasicAuthorization(`Basic ${b64('bob:a:b::')}`)).toEqual({ ok: true, user: 'bob', password: 'a:b::' });
  });

  it('allows an empty password and decodes UTF-8', () => {
    expect(parseBasicAuthorization(`Basic ${b64('bob:')}`)).toEqual({ ok: true, user: 'bob', password: '' });
    expect(parseBasicAuthorization(`Basic ${b64('zoë:pässwörd')}`)).toEqual({ ok: true, user: 'zoë', password: 'pässwörd' });
  });

  it('the RFC 7617 example', () => {
    expect(parseBasicAuthorization('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')).toEqual({ ok: true, user: 'Aladdin', password: 'open sesame' });
  });

  it('is undefined for another scheme', () => {
    expect(parseBasicAuthorization('Bearer zgt_abc.def')).toBeUndefined();
    expect(parseBasicAuthorization('Basicx Ym9iOnBhc3M=')).toBeUndefined();
    expect(parseBasicAuthorization('')).toBeUndefined();
  });

  it.each([
    ['Basic', 'missing'],
    ['Basic    ', 'missing'],
    ['Basic Ym9iOnBhc3M', 'base64'], // padding left off
    ['Basic Ym9i OnBhc3M=', 'base64'],
    ['Basic Ym9iOnBhc3M=!', 'base64'],
    ['Basic Ym9i-nBhc3M=', 'base64'], // base64url is not base64
    ['Basic =Ym9iOnBhc3M', 'base64'],
    ['Basic Ym9iOnBhc3N=', 'canonical'], // the last character's unused bits set
    [`Basic ${b64('bobpass')}`, 'no ":"'],
    [`Basic ${b64(':pass')}`, 'empty'],
    [`Basic ${b64('bob:pa\nss')}`, 'control'],
    [`Basic ${b64('b\u0000ob:pass')}`, 'control'],
    [`Basic ${Buffer.from([0x62, 0x3a, 0xff, 0xfe]).toString('base64')}`, 'UTF-8'],
  ])('%j is refused (%s)', (header, reason) => {
    const r = parseBasicAuthorization(header);
    expect(r).toBeDefined();
    expect(r!.ok).toBe(false);
    if (r !== undefined && !r.ok) expect(r.reason).toContain(reason);
  });
});
