/**
 * Who an HTTP request (or a WebSocket upgrade, or an SSE stream) is: its credentials read the
 * one way every face reads them, then turned into ids by the service (authenticate). The
 * remote address is always an id (X-Forwarded-For only from --trust-proxy peers); the
 * `Authorization` header carries Basic or Bearer; a browser's `zgate_token` cookie carries a
 * token under the Origin rules; a verified client certificate gives the x509 id. A credential
 * in the URL is refused and never honoured.
 */
import type { IncomingMessage } from 'node:http';
import { parseBasicAuthorization } from '../../auth/digest.js';
import { verifiedClientDn } from './client-certificate.js';
import { ipIdOf, ipMatches } from '../../core/acl.js';
import { ZgateError } from '../../core/errors.js';
import type { Credentials, Identity } from '../../coordination/service.js';

/** The query parameters that look like credentials: refused, so that none ever sits in a URL (logs, history, Referer). */
export const URL_CREDENTIAL_PARAMS = ['token', 'access_token', 'auth', 'password'] as const;

export const TOKEN_COOKIE = 'zgate_token';

export interface IdentityConfig {
  /** Peers (addresses or CIDR ranges) whose X-Forwarded-For is believed. */
  trustProxy: string[];
  /** Origins allowed by CORS: a cookie request from one of them is not cross-site. */
  corsOrigins: string[];
}

function header(req: IncomingMessage, name: string): string | undefined {
  const h = req.headers[name];
  return Array.isArray(h) ? h.join(',') : h;
}

/** The client's address: the socket's peer, or, from a trusted proxy, the nearest untrusted X-Forwarded-For hop. */
export function clientAddress(req: IncomingMessage, trustProxy: readonly string[]): string {
  let addr = ipIdOf(req.socket.remoteAddress ?? '');
  const trusted = (a: string): boolean => trustProxy.some((range) => ipMatches(a, range));
  if (trustProxy.length === 0 || !trusted(addr)) return addr;
  const hops = (header(req, 'x-forwarded-for') ?? '').split(',').map((s) => ipIdOf(s.trim())).filter((s) => s !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    addr = hops[i]!;
    if (!trusted(addr)) return addr;
  }
  return addr;
}

/** The value of cookie `name`, if the request carries it. */
export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  const raw = header(req, 'cookie');
  if (raw === undefined) return undefined;
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function authFailed(message: string): ZgateError {
  return new ZgateError('AuthFailed', message);
}

/**
 * The cookie is a browser's ambient credential: honoured only when the request is not
 * cross-site (CSRF, cross-site WebSocket hijacking). `Origin` must be the server's own or a
 * listed one; `Sec-Fetch-Site: cross-site` is refused; an unsafe method or an upgrade must
 * send an Origin at all.
 */
function checkCookieOrigin(req: IncomingMessage, config: IdentityConfig): void {
  if (header(req, 'sec-fetch-site') === 'cross-site') throw new ZgateError('NoAuth', 'a cross-site request may not use the zgate_token cookie');
  const origin = header(req, 'origin');
  const method = req.method ?? 'GET';
  const upgrade = header(req, 'upgrade') !== undefined;
  if (origin === undefined) {
    if (upgrade || !['GET', 'HEAD', 'OPTIONS'].includes(method)) throw new ZgateError('NoAuth', 'a request authenticated by the zgate_token cookie must send Origin');
    return;
  }
  const host = header(req, 'host');
  const own = host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  if (!own && !config.corsOrigins.includes(origin)) throw new ZgateError('NoAuth', `origin ${origin} may not use the zgate_token cookie`);
}

/** The credentials a request presents; AuthFailed for a malformed Authorization header. */
export function credentialsOf(req: IncomingMessage, config: IdentityConfig): Credentials & { viaCookie: boolean } {
  const creds: Credentials & { viaCookie: boolean } = { ip: clientAddress(req, config.trustProxy), viaCookie: false };
  const auth = header(req, 'authorization');
  if (auth !== undefined) {
    const space = auth.indexOf(' ');
    const scheme = space < 0 ? '' : auth.slice(0, space).toLowerCase();
    const value = space < 0 ? '' : auth.slice(space + 1).trim();
    if ((scheme !== 'basic' && scheme !== 'bearer') || value === '' || /\s/.test(value)) throw authFailed('Authorization must be "Basic <base64 user:password>" or "Bearer zgt_..."');
    if (scheme === 'basic') {
      // auth/digest.ts reads Basic for every face (RFC 7617: canonical base64 of UTF-8, a user, no control characters).
      const basic = parseBasicAuthorization(auth);
      if (basic === undefined || !basic.ok) throw authFailed(basic?.ok === false ? basic.reason : 'Basic credentials must be base64 of user:password');
      creds.basic = { user: basic.user, password: basic.password };
    } else creds.token = value;
  } else {
    const cookie = cookieOf(req, TOKEN_COOKIE);
    if (cookie !== undefined && cookie !== '') {
      checkCookieOrigin(req, config);
      creds.token = cookie;
      creds.viaCookie = true;
    }
  }
  const dn = verifiedClientDn(req.socket);
  if (dn !== undefined) creds.x509 = dn;
  return creds;
}

/** Refuses a credential-like query parameter (its value is never logged nor used). */
export function refuseUrlCredentials(url: string): void {
  const q = url.indexOf('?');
  if (q < 0) return;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of URL_CREDENTIAL_PARAMS) {
    if (params.has(name)) throw new ZgateError('BadArguments', `credentials are never taken from a URL: remove the ${name} parameter and send an Authorization header`);
  }
}

export interface RequestIdentity extends Identity {
  credentials: Credentials;
}
