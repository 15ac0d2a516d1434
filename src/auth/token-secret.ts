/**
 * Bearer tokens: `zgt_<accessor>.<secret>`. The accessor (16 random bytes, base64url, 22
 * characters) names the token and may be shown, listed and logged; the secret (32 random
 * bytes, base64url, 43 characters) is shown once, at minting, and kept nowhere: the replicated
 * table holds only the hex SHA-256 of the secret's text, compared in constant time.
 *
 * A plain hash (no salt, no slow KDF) is enough because the secret is 256 random bits: there
 * is no dictionary to attack, unlike a password.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isAccessor } from '../core/token-ops.js';

export const TOKEN_PREFIX = 'zgt_';

export interface MintedToken {
  accessor: string;
  /** Shown to the caller once; never stored, logged or replicated. */
  secret: string;
  /** `zgt_<accessor>.<secret>`: what the caller presents. */
  token: string;
  /** Lower-case hex SHA-256 of the secret: what the table stores. */
  hash: string;
}

/** The base64url text of 32 bytes, canonical (the last character carries 4 bits and 2 zeros). */
const SECRET = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Node's one-shot hash (20.12 and later): half the cost of a Hash object, paid on every request with a token. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;

function sha256(text: string): Buffer {
  if (oneShot !== undefined) return oneShot('sha256', text, 'buffer');
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The hex SHA-256 of a secret, as the table stores it. */
export function hashOfSecret(secret: string): string {
  return sha256(secret).toString('hex');
}

export function mintToken(): MintedToken {
  const accessor = randomBytes(16).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  return { accessor, secret, token: `${TOKEN_PREFIX}${accessor}.${secret}`, hash: hashOfSecret(secret) };
}

/** A presented token's halves, or undefined unless it is exactly `zgt_<accessor>.<secret>`. */
export function parseToken(text: string): { accessor: string; secret: string } | undefined {
  if (text.length !== TOKEN_PREFIX.length + 22 + 1 + 43 || !text.startsWith(TOKEN_PREFIX)) return undefined;
  const accessor = text.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + 22);
  if (text[TOKEN_PREFIX.length + 22] !== '.') return undefined;
  const secret = text.slice(TOKEN_PREFIX.length + 23);
  return isAccessor(accessor) && SECRET.test(secret) ? { accessor, secret } : undefined;
}

/**
 * Whether `secret` hashes to `storedHashHex`. The comparison is over the two 32-byte digests
 * with timingSafeEqual, so its time says nothing about how much of either matched (and
 * hashing first makes the lengths equal whatever was presented).
 */
export function secretMatches(secret: string, storedHashHex: string): boolean {
  const presented = sha256(secret);
  const stored = storedDigest(storedHashHex);
  return stored !== undefined && timingSafeEqual(presented, stored);
}

/** Stored hashes as bytes, decoded once each (they are public halves; bounded, dropped whole when full). */
const digests = new Map<string, Buffer>();
const MAX_DIGESTS = 20_000;

function storedDigest(hex: string): Buffer | undefined {
  let d = digests.get(hex);
  if (d !== undefined) return d;
  if (!HEX_SHA256.test(hex)) return undefined;
  if (digests.size >= MAX_DIGESTS) digests.clear();
  d = Buffer.from(hex, 'hex');
  digests.set(hex, d);
  return d;
}
