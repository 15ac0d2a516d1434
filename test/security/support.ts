/** Shared helpers for the hostile (outsider) tests: requests, auth headers, and a state snapshot. */
export const ADMIN_DIGEST = 'admin:x1nq8J5GOJVPY6zgzhtTtA9izLc=';

/** A parsed JSON answer, which the tests read field by field (their expectations check its shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: Loose;
}

export function basic(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
}
export const SUPER = basic('admin', 'admin');

export async function req(base: string, method: string, path: string, opts: { auth?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.auth) headers['authorization'] = opts.auth;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (typeof opts.body !== 'string' && !headers['content-type']) headers['content-type'] = 'application/json';
  }
  const r = await fetch(base + path, { method, headers, body });
  const text = await r.text();
  let json: Loose;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

export function zpath(p: string): string {
  return '/v1/znodes' + (p === '/' ? '/' : p.split('/').map(encodeURIComponent).join('/'));
}

/** Every znode's stat and ACL, the token list, the sessions, the leader's term. */
export async function snapshotState(base: string, sessionIds: string[] = []): Promise<unknown> {
  const tree: Record<string, unknown> = {};
  const walk = async (p: string): Promise<void> => {
    const c = await req(base, 'GET', zpath(p) + '?children=true', { auth: SUPER });
    if (c.status !== 200) throw new Error(`walk ${p}: ${c.status} ${c.text}`);
    const a = await req(base, 'GET', zpath(p) + '?acl=true', { auth: SUPER });
    if (a.status !== 200) throw new Error(`acl ${p}: ${a.status} ${a.text}`);
    tree[p] = { stat: c.json.stat, data: c.json.data, acl: a.json.acl, aclStat: a.json.stat };
    for (const name of c.json.children as string[]) await walk(p === '/' ? `/${name}` : `${p}/${name}`);
  };
  await walk('/');
  const tokens = await req(base, 'GET', '/v1/auth/tokens', { auth: SUPER });
  // GET /v1/sessions (the list) is not on this branch: each known session, as super.
  const sessions: unknown[] = [];
  for (const id of sessionIds) sessions.push((await req(base, 'GET', `/v1/sessions/${id}`, { auth: SUPER })).json);
  const cluster = await req(base, 'GET', '/v1/cluster', { auth: SUPER });
  return { tree, tokens: tokens.json, sessions, term: cluster.json?.term, leaderId: cluster.json?.leaderId };
}

/** f() again every 50 ms until ok() holds or `ms` pass; the last value either way. */
export async function until<T>(f: () => Promise<T>, ok: (t: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}
