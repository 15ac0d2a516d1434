/** From a request URL to a znode path: each segment percent-decoded, a hidden '/' refused. */
import { ZgateError } from '../../core/errors.js';

/**
 * `/v1/znodes` and `/v1/znodes/` are the root; `/v1/znodes/app/config` is `/app/config`;
 * a trailing slash is kept (`/queue/` is a legal sequential prefix, an illegal plain path).
 * The path rules themselves are the tree's (validatePath), applied by the caller.
 */
export function znodePathFromUrl(rawUrl: string, prefix: string): string {
  const q = rawUrl.indexOf('?');
  const pathPart = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const rest = pathPart.slice(prefix.length);
  if (rest === '' || rest === '/') return '/';
  const segments = rest.slice(1).split('/');
  const decoded = segments.map((seg) => {
    let d: string;
    try {
      d = decodeURIComponent(seg);
    } catch {
      throw new ZgateError('BadArguments', `path segment '${seg}' is not valid percent-encoding`);
    }
    if (d.includes('/')) throw new ZgateError('BadArguments', `path segment '${seg}' decodes to '${d}', which contains '/'`);
    return d;
  });
  return '/' + decoded.join('/');
}

/** The URL of a znode, for Location headers. */
export function urlOfZnode(path: string, prefix: string): string {
  if (path === '/') return prefix;
  return prefix + path.split('/').map((s) => encodeURIComponent(s)).join('/');
}
