/**
 * What of a request may reach a log line: its method and URL, with a session id in the path
 * (a bearer capability over HTTP: whoever has it can renew or close the session) and the value
 * of any credential-like query parameter replaced.
 */
import { URL_CREDENTIAL_PARAMS } from './identity.js';

const SESSION_IN_PATH = /(\/v1\/sessions\/)[^/?#]+/g;

export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const path = (q < 0 ? url : url.slice(0, q)).replace(SESSION_IN_PATH, '$1<redacted>');
  if (q < 0) return path;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of URL_CREDENTIAL_PARAMS) if (params.has(name)) params.set(name, '<redacted>');
  return `${path}?${params.toString()}`;
}

/** pino's `req` serializer for the member's logger. */
export function requestForLog(req: { method?: string; url?: string; socket?: { remoteAddress?: string } }): Record<string, unknown> {
  return { method: req.method, url: redactUrl(req.url ?? ''), remoteAddress: req.socket?.remoteAddress };
}
