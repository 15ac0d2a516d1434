/**
 * The digests admitted under `--digest-users FILE`: with such a file, a Basic identity whose
 * digest is not listed is refused (401) instead of becoming an identity that matches no ACL.
 *
 * The file, one digest per line, in the form ZooKeeper's
 * `DigestAuthenticationProvider.generateDigest("user:password")` prints it (the same text as
 * the id of a `digest` ACL entry):
 *
 *     # operators
 *     admin:x1nq8J5GOJVPY6zgzhtTtA9izLc=
 *     bob:SuJDcIdgr9RqJsZZuYRR+N6T6G4=
 *
 * `user` is non-empty and has no ':'; the hash is base64 of a SHA-1 (28 characters, ending
 * in '='). Blank lines and lines starting with '#' are ignored; spaces around a line are
 * trimmed; CRLF is accepted. A user listed twice with two different hashes is refused (which
 * one was meant?). Any malformed line refuses the whole file, naming every bad line, so that a
 * typo never silently locks someone out or lets a stale digest in.
 */
import { readFile } from 'node:fs/promises';
import { ZgateError } from '../core/errors.js';

/** A file this large is not a list of users. */
export const MAX_DIGEST_USERS_BYTES = 16 * 1024 * 1024;
/** How many bad lines one error names. */
const MAX_REPORTED = 20;

const SHA1_BASE64 = /^[A-Za-z0-9+/]{26}[AEIMQUYcgkosw048]=$/;

export interface DigestUsers {
  /** Whether a digest id (`user:base64sha1`, as digestOf() gives it) is listed. */
  has(digestId: string): boolean;
  /** How many users are listed. */
  readonly size: number;
}

/** Why one line is not a digest, or undefined. */
function lineFault(line: string): string | undefined {
  const colon = line.indexOf(':');
  if (colon < 0) return 'expected user:base64(sha1(user:password)), found no ":"';
  if (colon === 0) return 'the user is empty';
  const hash = line.slice(colon + 1);
  if (hash.includes(':')) return 'a user may not contain ":"; expected exactly one ":"';
  if (!SHA1_BASE64.test(hash)) return `the hash must be base64 of a SHA-1 (28 characters ending in "="), got ${hash.length} characters`;
  return undefined;
}

/** Parses the file's text; `source` names it in errors. Throws ZgateError('BadArguments'). */
export function parseDigestUsers(text: string, source = 'digest users'): DigestUsers {
  const byUser = new Map<string, { hash: string; line: number }>();
  const faults: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const n = i + 1;
    const fault = lineFault(line);
    if (fault !== undefined) {
      faults.push(`${source}:${n}: ${fault}`);
      continue;
    }
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    const earlier = byUser.get(user);
    if (earlier === undefined) byUser.set(user, { hash, line: n });
    else if (earlier.hash !== hash) faults.push(`${source}:${n}: user ${JSON.stringify(user)} is already listed with another hash on line ${earlier.line}`);
  }
  if (faults.length > 0) {
    const more = faults.length > MAX_REPORTED ? `\n(and ${faults.length - MAX_REPORTED} more)` : '';
    throw new ZgateError('BadArguments', `${faults.length} malformed line(s) in ${source}:\n${faults.slice(0, MAX_REPORTED).join('\n')}${more}`);
  }
  const digests = new Set([...byUser].map(([user, { hash }]) => `${user}:${hash}`));
  return { has: (digestId) => digests.has(digestId), size: digests.size };
}

/** Reads and parses `--digest-users FILE`. */
export async function loadDigestUsers(file: string): Promise<DigestUsers> {
  const bytes = await readFile(file);
  if (bytes.length > MAX_DIGEST_USERS_BYTES) throw new ZgateError('BadArguments', `${file}: ${bytes.length} bytes, more than the ${MAX_DIGEST_USERS_BYTES} a digest users file may have`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ZgateError('BadArguments', `${file}: not UTF-8`);
  }
  return parseDigestUsers(text.replace(/^\uFEFF/, ''), file);
}
