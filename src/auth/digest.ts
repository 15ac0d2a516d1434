/**
 * ZooKeeper's digest scheme (DigestAuthenticationProvider) and the HTTP Basic credentials
 * that carry it: `user:password` becomes the id `digest:user:base64(SHA1("user:password"))`,
 * the user split at the first ':' and the hash taken over the whole string, as UTF-8.
 *
 * Deriving an identity never fails, as ZooKeeper's addauth never does: a wrong password
 * yields an id that simply matches no ACL. Whether a digest is admitted at all
 * (`--digest-users`) is digest-users.ts's business.
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import type { Id } from '../core/acl.js';

/** Node's one-shot hash (20.12 and later): a Basic request computes one per request. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'base64') => string }).hash;

/** The id part of a digest identity: `user:base64(sha1("user:password"))`. */
export function digestOf(user: string, password: string): string {
  return digestOfCredentials(`${user}:${password}`);
}

/** `user:password` (anything after the first ':' is the password) as a digest id. */
function digestOfCredentials(credentials: string): string {
  const colon = credentials.indexOf(':');
  const user = colon < 0 ? credentials : credentials.slice(0, colon);
  const hash = oneShot !== undefined ? oneShot('sha1', credentials, 'base64') : createHash('sha1').update(credentials, 'utf8').digest('base64');
  return `${user}:${hash}`;
}

/** The identity ZooKeeper's addauth("digest", credentials) gives. */
export function digestIdentity(credentials: string): Id {
  return { scheme: 'digest', id: digestOfCredentials(credentials) };
}


export type BasicCredentials = { ok: true; user: string; password: string } | { ok: false; reason: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// RFC 7617 forbids control characters in both the user-id and the password.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An `Authorization` header's Basic credentials (RFC 7617): the scheme (any case), then the
 * base64 of UTF-8 `user:password`, split at the first ':' (a password may hold more).
 * undefined when the header is not Basic at all (another scheme is someone else's to read);
 * a reason when it is Basic but malformed: not canonical base64, not UTF-8, no ':', an empty
 * user, a control character.
 */
export function parseBasicAuthorization(header: string): BasicCredentials | undefined {
  const m = /^basic(?: +(.*))?$/is.exec(header.trim());
  if (m === null) return undefined;
  const encoded = (m[1] ?? '').trim();
  if (encoded === '') return { ok: false, reason: 'Basic credentials are missing' };
  if (!BASE64.test(encoded)) return { ok: false, reason: 'Basic credentials are not valid base64' };
  const bytes = Buffer.from(encoded, 'base64');
  // Unused low bits set: another string decodes to the same bytes, so this one is not base64's.
  if (bytes.toString('base64') !== encoded) return { ok: false, reason: 'Basic credentials are not canonical base64' };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'Basic credentials are not UTF-8' };
  }
  const colon = text.indexOf(':');
  if (colon < 0) return { ok: false, reason: 'Basic credentials must be user:password (no ":" found)' };
  const user = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (user === '') return { ok: false, reason: 'the Basic user must not be empty' };
  if (CONTROL.test(text)) return { ok: false, reason: 'Basic credentials must not contain control characters' };
  return { ok: true, user, password };
}
