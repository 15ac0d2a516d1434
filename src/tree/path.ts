/**
 * ZooKeeper's znode path rules (PathUtils.validatePath), checked code unit by code unit
 * so that zgate accepts and refuses exactly the paths ZooKeeper does.
 */
import { ZgateError } from '../core/errors.js';

export const ROOT = '/';
export const RESERVED_ROOT = '/zookeeper';

/**
 * ZooKeeper refuses these UTF-16 code units anywhere in a path. U+D800–U+F8FF covers every
 * surrogate, so no character outside the BMP (an emoji, say) can appear in a znode name.
 */
function isForbiddenUnit(c: number): boolean {
  return (
    c <= 0x001f ||
    (c >= 0x007f && c <= 0x009f) ||
    (c >= 0xd800 && c <= 0xf8ff) ||
    c >= 0xfff0
  );
}

function hex(c: number): string {
  return 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
}

function bad(message: string, path: string): ZgateError {
  return new ZgateError('BadArguments', message, path);
}

/**
 * Throws ZgateError('BadArguments') whose message quotes the offending segment or character.
 * A sequential create names `path + counter`, so it is the path with a digit appended that
 * must be valid ('/queue/' is a legal sequential path).
 */
export function validatePath(path: string, opts?: { sequential?: boolean }): void {
  if (typeof path !== 'string') throw bad('path must be a string', String(path));
  const p = opts?.sequential === true ? path + '1' : path;
  if (p.length === 0) throw bad('path must not be empty', path);
  if (p.charCodeAt(0) !== 0x2f) throw bad(`path must start with "/": ${JSON.stringify(path)}`, path);
  if (p.length === 1) return;
  if (p.charCodeAt(p.length - 1) === 0x2f) throw bad(`path must not end with "/": ${JSON.stringify(path)}`, path);
  // Left to right, segment by segment, so the first offence is the one reported, as ZooKeeper does.
  let start = 1;
  while (start <= p.length) {
    let end = p.indexOf('/', start);
    if (end === -1) end = p.length;
    const segment = p.slice(start, end);
    if (segment.length === 0) throw bad(`empty segment ("//") in path ${JSON.stringify(path)}`, path);
    if (segment === '.' || segment === '..') {
      throw bad(`relative segment ${JSON.stringify(segment)} not allowed in path ${JSON.stringify(path)}`, path);
    }
    for (let i = 0; i < segment.length; i++) {
      const c = segment.charCodeAt(i);
      if (isForbiddenUnit(c)) {
        throw bad(
          `invalid character ${hex(c)} at index ${start + i} in segment ${JSON.stringify(segment)} of path ${JSON.stringify(path)}`,
          path,
        );
      }
    }
    start = end + 1;
  }
}

/** True when `path` is a valid znode path (see validatePath). */
export function isValidPath(path: string, opts?: { sequential?: boolean }): boolean {
  try {
    validatePath(path, opts);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parent of a valid non-root path. The root has no parent: asking for it is a caller's
 * mistake about its input, so it is BadArguments rather than an invariant failure.
 */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0 || path === ROOT) throw bad(`${JSON.stringify(path)} has no parent`, path);
  return i === 0 ? ROOT : path.slice(0, i);
}

/** Last segment of a path; '' for the root. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a parent path and a child name. */
export function childPath(parent: string, name: string): string {
  return parent === ROOT ? ROOT + name : parent + '/' + name;
}

/** '/zookeeper' and everything under it: readable, never writable through zgate. */
export function isReserved(path: string): boolean {
  return path === RESERVED_ROOT || path.startsWith(RESERVED_ROOT + '/');
}

/** True when `name` can be one segment of a valid path (no '/', not '.', '..' or empty, no forbidden unit). */
export function isValidName(name: string): boolean {
  if (typeof name !== 'string' || name.length === 0 || name === '.' || name === '..') return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2f || isForbiddenUnit(c)) return false;
  }
  return true;
}
