/** `--digest-users FILE`: the format, every refusal with its line number, and has(). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf } from '../../src/auth/digest.js';
import { loadDigestUsers, parseDigestUsers } from '../../src/auth/digest-users.js';
import { ZgateError } from '../../src/core/errors.js';

function refusal(text: string): ZgateError {
  try {
    parseDigestUsers(text, 'users.txt');
  } catch (e) {
    expect(e).toBeInstanceOf(ZgateError);
    expect((e as ZgateError).code).toBe('BadArguments');
    return e as ZgateError;
  }
  throw new Error('expected a refusal');
}

describe('parseDigestUsers', () => {
  it('admits exactly the listed digests', () => {
    const users = parseDigestUsers(`# operators\n${digestOf('admin', 'admin')}\n\n   ${digestOf('bob', 'pass')}  \r\n# end\n`);
    expect(users.size).toBe(2);
    expect(users.has('admin:x1nq8J5GOJVPY6zgzhtTtA9izLc=')).toBe(true);
    expect(users.has(digestOf('bob', 'pass'))).toBe(true);
    expect(users.has(digestOf('bob', 'wrong'))).toBe(false);
    expect(users.has(digestOf('carol', 'pass'))).toBe(false);
    expect(users.has('admin')).toBe(false);
  });

  it('an empty file admits nobody', () => {
    expect(parseDigestUsers('').size).toBe(0);
    expect(parseDigestUsers('# nobody\n\n').has(digestOf('a', 'b'))).toBe(false);
  });

  it('the same line twice is one user', () => {
    const line = digestOf('bob', 'pass');
    expect(parseDigestUsers(`${line}\n${line}\n`).size).toBe(1);
  });

  it.each([
    ['bob', 'no ":"'],
    [':SuJDcIdgr9RqJsZZuYRR+N6T6G4=', 'user is empty'],
    ['bob:pass', 'SHA-1'],
    ['bob:SuJDcIdgr9RqJsZZuYRR+N6T6G4', 'SHA-1'],
    ['bob:SuJDcIdgr9RqJsZZuYRR+N6T6G4==', 'SHA-1'],
    ['bob:SuJDcIdgr9RqJsZZuYRR-N6T6G4=', 'SHA-1'],
    ['b:ob:SuJDcIdgr9RqJsZZuYRR+N6T6G4=', 'exactly one ":"'],
    ['bob:SuJDcIdgr9RqJsZZuYRR+N6T6G5=', 'SHA-1'], // unused low bits set: not a 20-byte hash's text
  ])('refuses %j (%s) with its line number', (bad, why) => {
    const e = refusal(`# header\n${digestOf('admin', 'admin')}\n${bad}\n`);
    expect(e.message).toContain(`users.txt:3: `);
    expect(e.message).toContain(why);
  });

  it('names every bad line', () => {
    const e = refusal(`x\n${digestOf('a', 'b')}\ny\n\nz:\n`);
    expect(e.message).toContain('3 malformed line(s)');
    expect(e.message).toMatch(/users\.txt:1: /);
    expect(e.message).toMatch(/users\.txt:3: /);
    expect(e.message).toMatch(/users\.txt:5: /);
    expect(e.message).not.toMatch(/users\.txt:2: /);
  });

  it('refuses one user with two hashes, naming both lines', () => {
    const e = refusal(`${digestOf('bob', 'pass')}\n# x\n${digestOf('bob', 'other')}\n`);
    expect(e.message).toContain('users.txt:3: user "bob" is already listed with another hash on line 1');
  });

  it('caps the list of bad lines in the message', () => {
    const e = refusal(Array.from({ length: 50 }, (_, i) => `bad${i}`).join('\n'));
    expect(e.message).toContain('50 malformed line(s)');
    expect(e.message).toContain('(and 30 more)');
  });
});

describe('loadDigestUsers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'zgate-digest-users-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file (with a byte order mark)', async () => {
    const file = join(dir, 'users');
    writeFileSync(file, `\uFEFF${digestOf('admin', 'admin')}\n`);
    const users = await loadDigestUsers(file);
    expect(users.has(digestOf('admin', 'admin'))).toBe(true);
  });

  it('names the file in a refusal', async () => {
    const file = join(dir, 'users');
    writeFileSync(file, 'nope\n');
    await expect(loadDigestUsers(file)).rejects.toThrow(`${file}:1: `);
  });

  it('refuses a file that is not UTF-8', async () => {
    const file = join(dir, 'users');
    writeFileSync(file, Buffer.from([0x61, 0x3a, 0xff]));
    await expect(loadDigestUsers(file)).rejects.toThrow('not UTF-8');
  });

  it('a missing file is an error', async () => {
    await expect(loadDigestUsers(join(dir, 'absent'))).rejects.toThrow(/ENOENT/);
  });
});
