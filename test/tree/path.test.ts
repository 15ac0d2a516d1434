import { ZgateError } from '../../src/core/errors.js';
import { baseName, childPath, isReserved, isValidName, isValidPath, parentOf, validatePath } from '../../src/tree/path.js';

function rejection(path: string, opts?: { sequential?: boolean }): ZgateError {
  try {
    validatePath(path, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ZgateError);
    return e as ZgateError;
  }
  throw new Error(`${JSON.stringify(path)} was accepted`);
}

describe('validatePath', () => {
  it.each(['/', '/a', '/a/b', '/a/b/c', '/zookeeper', '/a.b', '/.a', '/a.', '/...', '/a/.b/..c', '/a b', '/ü/ñ', '/日本', '/\u00a0', '/\u00a1', '/\ud7ff', '/\uf900', '/\uffef', '/-', '/0000000001'])(
    'accepts %j',
    (p) => {
      expect(() => validatePath(p)).not.toThrow();
      expect(isValidPath(p)).toBe(true);
    },
  );

  it('rejects the empty path', () => {
    const e = rejection('');
    expect(e.code).toBe('BadArguments');
    expect(e.message).toMatch(/empty/);
  });

  it.each(['a', 'a/b', ' /a', '\\a'])('rejects the relative path %j', (p) => {
    expect(rejection(p).message).toMatch(/start with "\/"/);
  });

  it.each(['/a/', '/a/b/', '//'])('rejects the trailing slash in %j', (p) => {
    expect(rejection(p).message).toMatch(/end with "\/"/);
  });

  it.each(['//a', '/a//b', '/a///b'])('rejects the empty segment in %j', (p) => {
    expect(rejection(p).message).toMatch(/empty segment/);
  });

  it.each([
    ['/.', '"."'],
    ['/..', '".."'],
    ['/a/./b', '"."'],
    ['/a/../b', '".."'],
    ['/a/.', '"."'],
    ['/a/..', '".."'],
  ])('rejects the relative segment in %j, quoting it', (p, quoted) => {
    const e = rejection(p);
    expect(e.code).toBe('BadArguments');
    expect(e.message).toContain(`segment ${quoted}`);
    expect(e.path).toBe(p);
  });

  // Each boundary of each forbidden range, and the first allowed unit either side of it.
  const forbidden = [0x0000, 0x0001, 0x001f, 0x007f, 0x0080, 0x009f, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xf8ff, 0xfff0, 0xfffe, 0xffff];
  const allowed = [0x0020, 0x007e, 0x00a0, 0xd7ff, 0xf900, 0xffef];

  it.each(forbidden.map((c) => [c.toString(16).padStart(4, '0'), c]))('rejects U+%s', (_hex, c) => {
    const p = `/ok/a${String.fromCharCode(c as number)}b`;
    const e = rejection(p);
    expect(e.code).toBe('BadArguments');
    expect(e.message).toContain(`U+${(c as number).toString(16).toUpperCase().padStart(4, '0')}`);
    expect(e.message).toContain(JSON.stringify(`a${String.fromCharCode(c as number)}b`));
    expect(e.message).toContain('at index 5');
  });

  it.each(allowed.map((c) => [c.toString(16).padStart(4, '0'), c]))('accepts U+%s', (_hex, c) => {
    expect(() => validatePath(`/a${String.fromCharCode(c as number)}b`)).not.toThrow();
  });

  it('rejects characters outside the BMP, as ZooKeeper does (they are surrogate pairs)', () => {
    expect(rejection('/emoji-😀').message).toContain('U+D83D');
    expect(rejection('/a/𝄞').code).toBe('BadArguments');
  });

  it('reports the first offence from the left', () => {
    expect(rejection('/a\u0001/./b').message).toContain('U+0001');
    expect(rejection('/./a\u0001').message).toContain('"."');
    expect(rejection('/a//\u0001').message).toContain('empty segment');
  });

  it('a trailing slash is reported before anything inside the path', () => {
    expect(rejection('/a\u0001/').message).toMatch(/end with/);
  });

  describe('sequential', () => {
    it('validates path + a digit, so a trailing slash is legal', () => {
      expect(() => validatePath('/queue/', { sequential: true })).not.toThrow();
      expect(() => validatePath('/', { sequential: true })).not.toThrow();
      expect(() => validatePath('/queue/item-', { sequential: true })).not.toThrow();
      expect(isValidPath('/queue/', { sequential: true })).toBe(true);
      expect(isValidPath('/queue/')).toBe(false);
    });

    it('still rejects every other fault', () => {
      expect(rejection('/queue//', { sequential: true }).message).toMatch(/empty segment/);
      expect(rejection('/a/./', { sequential: true }).message).toMatch(/"\."/);
      expect(rejection('', { sequential: true }).message).toMatch(/start with/);
      expect(rejection('q/', { sequential: true }).message).toMatch(/start with/);
      expect(rejection('/q\u0000/', { sequential: true }).message).toContain('U+0000');
    });

    it('"/." + digit is a name, not a relative segment', () => {
      expect(() => validatePath('/.', { sequential: true })).not.toThrow();
      expect(() => validatePath('/a/..', { sequential: true })).not.toThrow();
    });
  });

  it('refuses a non-string without throwing anything but BadArguments', () => {
    expect(rejection(42 as unknown as string).code).toBe('BadArguments');
  });
});

describe('path helpers', () => {
  it('parentOf', () => {
    expect(parentOf('/a')).toBe('/');
    expect(parentOf('/a/b')).toBe('/a');
    expect(parentOf('/a/b/c')).toBe('/a/b');
    expect(() => parentOf('/')).toThrow(ZgateError);
    expect(() => parentOf('abc')).toThrow(ZgateError);
  });

  it('baseName', () => {
    expect(baseName('/')).toBe('');
    expect(baseName('/a')).toBe('a');
    expect(baseName('/a/b.c')).toBe('b.c');
  });

  it('childPath', () => {
    expect(childPath('/', 'a')).toBe('/a');
    expect(childPath('/a', 'b')).toBe('/a/b');
  });

  it('isReserved: /zookeeper and below only', () => {
    expect(isReserved('/zookeeper')).toBe(true);
    expect(isReserved('/zookeeper/quota')).toBe(true);
    expect(isReserved('/zookeeper/config')).toBe(true);
    expect(isReserved('/zookeeper/a/b')).toBe(true);
    expect(isReserved('/')).toBe(false);
    expect(isReserved('/zookeeperx')).toBe(false);
    expect(isReserved('/zookeepe')).toBe(false);
    expect(isReserved('/a/zookeeper')).toBe(false);
    expect(isReserved('/Zookeeper')).toBe(false);
  });

  it('isValidName', () => {
    expect(isValidName('a')).toBe(true);
    expect(isValidName('.a')).toBe(true);
    expect(isValidName('...')).toBe(true);
    expect(isValidName('')).toBe(false);
    expect(isValidName('.')).toBe(false);
    expect(isValidName('..')).toBe(false);
    expect(isValidName('a/b')).toBe(false);
    expect(isValidName('a\u007f')).toBe(false);
  });
});
