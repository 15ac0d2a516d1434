/**
 * Argument checks, run before anything is sent: a bad argument is a BadArguments ZgateError
 * whose message names the argument. Paths are checked by the server's own rules
 * (tree/path.ts), so the client refuses exactly what a member would.
 */
import { validatePath } from '../tree/path.js';
import { argumentError } from './errors.js';
import { CREATE_MODES, type CreateMode } from './types.js';

const MAX_TTL = 2 ** 40 - 1;
const MAX_VERSION = 2147483647;

export function checkPath(path: unknown, argument = 'path', opts?: { sequential?: boolean }): string {
  if (typeof path !== 'string') throw argumentError(argument, `must be a string, got ${describe(path)}`);
  try {
    validatePath(path, opts);
  } catch (e) {
    throw argumentError(argument, (e as Error).message, path);
  }
  return path;
}

export function checkData(data: unknown, argument = 'data'): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return data;
  throw argumentError(argument, `must be a string or a Uint8Array, got ${describe(data)}`);
}

export function checkVersion(version: unknown, argument = 'version'): number {
  if (version === undefined) return -1;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < -1 || version > MAX_VERSION) {
    throw argumentError(argument, `must be -1 (any) or an integer 0..${MAX_VERSION}, got ${describe(version)}`);
  }
  return version;
}

export function checkMode(mode: unknown, argument = 'options.mode'): CreateMode {
  if (mode === undefined) return 'persistent';
  if (typeof mode !== 'string' || !(CREATE_MODES as readonly string[]).includes(mode)) {
    throw argumentError(argument, `must be one of ${CREATE_MODES.join(', ')}, got ${describe(mode)}`);
  }
  return mode as CreateMode;
}

export function checkTtl(ttl: unknown, mode: CreateMode, argument = 'options.ttl'): number | undefined {
  const ttlMode = mode === 'persistent_with_ttl' || mode === 'persistent_sequential_with_ttl';
  if (ttl === undefined) {
    if (ttlMode) throw argumentError(argument, `mode ${mode} needs a ttl (ms, 1..${MAX_TTL})`);
    return undefined;
  }
  if (!ttlMode) throw argumentError(argument, `goes only with mode persistent_with_ttl or persistent_sequential_with_ttl, not ${mode}`);
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) {
    throw argumentError(argument, `must be an integer number of ms, 1..${MAX_TTL}, got ${describe(ttl)}`);
  }
  return ttl;
}

export function checkBoolean(value: unknown, argument: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw argumentError(argument, `must be true or false, got ${describe(value)}`);
  return value;
}

export function checkFunction<F>(fn: unknown, argument: string): F {
  if (typeof fn !== 'function') throw argumentError(argument, `must be a function, got ${describe(fn)}`);
  return fn as F;
}

export function checkPositiveInt(value: unknown, argument: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw argumentError(argument, `must be an integer 1..${max}, got ${describe(value)}`);
  }
  return value;
}

/**
 * An options object: undefined or a plain object whose keys are all known, so that a typo
 * (`makeparents`) is refused rather than silently ignored.
 */
export function checkOptions<T extends object>(options: unknown, argument: string, known: readonly string[]): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw argumentError(argument, `must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw argumentError(`${argument}.${key}`, `is not an option; the options are ${known.join(', ')}`);
  }
  return options as Partial<T>;
}

export function checkMembers(members: unknown): string[] {
  const list = typeof members === 'string' ? [members] : members;
  if (!Array.isArray(list) || list.length === 0) throw argumentError('members', `must be a member URL or a non-empty array of them, got ${describe(members)}`);
  return list.map((m, i) => {
    const argument = typeof members === 'string' ? 'members' : `members[${i}]`;
    if (typeof m !== 'string') throw argumentError(argument, `must be a URL string, got ${describe(m)}`);
    let url: URL;
    try {
      url = new URL(m);
    } catch {
      throw argumentError(argument, `is not a URL: ${JSON.stringify(m)} (e.g. http://127.0.0.1:8080)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw argumentError(argument, `must be an http: or https: URL, got ${JSON.stringify(m)}`);
    if (url.search !== '' || url.hash !== '') throw argumentError(argument, `must not carry a query or fragment: ${JSON.stringify(m)}`);
    return url.origin + url.pathname.replace(/\/+$/, '');
  });
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    default:
      return `a ${v instanceof Object ? v.constructor.name : 'value'}`;
  }
}
