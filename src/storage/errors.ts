import { ZgateError } from '../core/errors.js';
import { errnoCode } from './fs.js';

/**
 * The files of a data directory are damaged in a way open() must not repair on its own
 * (a bad record followed by good ones, a corrupt hard state, a corrupt snapshot that nothing
 * can replace). The member must refuse to start; the message names the file and byte offset.
 */
export class StorageCorruptError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    advice: string,
  ) {
    super(`storage corruption in ${file} at byte offset ${offset}: ${reason}; ${advice}`);
    this.name = 'StorageCorruptError';
  }
}

/** Another Storage (in this process or another) holds the data directory's lock. */
export class StorageLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    message: string,
  ) {
    super(message);
    this.name = 'StorageLockedError';
  }
}

/** A disk failure surfaced to clients: 503 Unavailable. */
export function unavailable(what: string, cause?: unknown): ZgateError {
  const code = errnoCode(cause);
  const detail = cause === undefined ? '' : `: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`;
  const err = new ZgateError('Unavailable', `storage ${what}${detail}`);
  if (cause !== undefined) (err as Error & { cause?: unknown }).cause = cause;
  return err;
}
