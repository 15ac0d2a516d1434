/**
 * The tests' HTTP calls to members on loopback (member processes, or the real app listening in
 * the test's process), through Node's fetch. Every call is bounded by a timeout that covers the
 * answer's body too: a member that takes the connection and never answers fails the test with
 * the request's method and URL, instead of hanging it until jest gives up on the whole test.
 *
 * - send: one request, the answer's status, headers, text and JSON body; throws when there is
 *   no answer (refused, reset, timed out).
 * - trySend: the same, but no answer is status 0 (a member that was killed), never a throw.
 * - sendBytes: the answer's body as bytes.
 * - openStream: resolves once the headers are in (an SSE stream), the body left unread.
 * - metricsText: GET /metrics as text.
 */

/** Timeout of a call that names none: well under jest's 30 s per test. */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface SendOptions {
  headers?: Record<string, string>;
  /**
   * A string or bytes go as they are, with fetch's own content type (text/plain for a string,
   * none for bytes) unless `headers` names one; any other value goes as JSON, with
   * content-type application/json unless `headers` names one.
   */
  body?: string | Uint8Array | object;
  /** The Zgate-Session header. */
  session?: string;
  /** Bound on the whole exchange, the answer's body included. Default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
}

export interface Answer<B = unknown> {
  status: number;
  headers: Headers;
  /** The body parsed as JSON; undefined when it is empty or not JSON (then see `text`). */
  body: B | undefined;
  text: string;
}

export interface BytesAnswer {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

export interface OpenStream {
  status: number;
  headers: Headers;
  /** Aborts the request: the connection is closed, the body never read. */
  close(): void;
}

/** `base` (with or without a trailing slash) + `path` (starting with `/` or `?`). */
export function joinUrl(base: string, path: string): string {
  if (!/^https?:\/\//.test(base)) throw new Error(`joinUrl: ${base} is not an http:// base URL`);
  if (path !== '' && !path.startsWith('/') && !path.startsWith('?')) throw new Error(`joinUrl: path ${path} must start with / or ?`);
  return base.replace(/\/+$/, '') + path;
}

function requestInit(method: string, opts: SendOptions, signal: AbortSignal): RequestInit {
  const headers = new Headers(opts.headers);
  if (opts.session !== undefined) headers.set('zgate-session', opts.session);
  const b = opts.body;
  let body: string | Blob | undefined;
  if (b === undefined || typeof b === 'string') {
    body = b;
  } else if (b instanceof Uint8Array) {
    // A copy into a plain ArrayBuffer: a Buffer may be a view of a larger shared pool.
    body = new Blob([Uint8Array.from(b)]);
  } else {
    body = JSON.stringify(b);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return { method, headers, signal, ...(body === undefined ? {} : { body }) };
}

function noAnswer(method: string, url: string, timeoutMs: number, e: unknown): Error {
  const err = e as { name?: string; message?: string; cause?: { message?: string } };
  const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${err.message ?? String(e)}${err.cause?.message ? ` (${err.cause.message})` : ''}`;
  return new Error(`${method} ${url}: ${why}`, { cause: e });
}

/** Runs `read` on the answer under one timeout; a failure anywhere names the request. */
async function exchange<T>(base: string, method: string, path: string, opts: SendOptions, read: (res: Response) => Promise<T>): Promise<T> {
  const url = joinUrl(base, path);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    const res = await fetch(url, requestInit(method, opts, AbortSignal.timeout(timeoutMs)));
    return await read(res);
  } catch (e) {
    throw noAnswer(method, url, timeoutMs, e);
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One request; the answer with its body read as text and parsed as JSON when it is JSON. */
export async function send<B = unknown>(base: string, method: string, path: string, opts: SendOptions = {}): Promise<Answer<B>> {
  return exchange(base, method, path, opts, async (res) => {
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: parseJson(text) as B | undefined, text };
  });
}

/** As send, but a request without an answer (refused, reset, timed out) is status 0. */
export async function trySend<B = unknown>(base: string, method: string, path: string, opts: SendOptions = {}): Promise<Answer<B>> {
  try {
    return await send<B>(base, method, path, opts);
  } catch {
    return { status: 0, headers: new Headers(), body: undefined, text: '' };
  }
}

/** One request; the answer's body as bytes. */
export async function sendBytes(base: string, method: string, path: string, opts: SendOptions = {}): Promise<BytesAnswer> {
  return exchange(base, method, path, opts, async (res) => ({ status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) }));
}

/** A request whose answer streams (SSE): resolves with the status and headers; the timeout bounds only their arrival. */
export async function openStream(base: string, method: string, path: string, opts: SendOptions = {}): Promise<OpenStream> {
  const url = joinUrl(base, path);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException('timed out', 'TimeoutError')), timeoutMs);
  try {
    const res = await fetch(url, requestInit(method, opts, ac.signal));
    return { status: res.status, headers: res.headers, close: () => ac.abort() };
  } catch (e) {
    throw noAnswer(method, url, timeoutMs, e);
  } finally {
    clearTimeout(timer);
  }
}

/** The member's /metrics (Prometheus text). */
export async function metricsText(base: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  return (await send(base, 'GET', '/metrics', { timeoutMs })).text;
}
