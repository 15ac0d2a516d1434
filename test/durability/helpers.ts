/** Shared pieces of the member-level durability tests: HTTP calls that never throw, readiness. */
import { trySend } from '../support/http.js';

export interface Answer {
  status: number;
  body: unknown;
}

/** One HTTP call; a connection failure (member killed) is status 0, never a throw. A body that isn't JSON is its text. */
export async function call(base: string, method: string, path: string, body?: string | object, timeoutMs = 5000): Promise<Answer> {
  const a = await trySend(base, method, path, { ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }), timeoutMs });
  if (a.status === 0) return { status: 0, body: undefined };
  return { status: a.status, body: a.body !== undefined ? a.body : a.text };
}

export async function waitReady(base: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(base, 'GET', '/readyz', undefined, 2000);
    if (r.status === 200) return;
    if (Date.now() > deadline) throw new Error(`member at ${base} not ready after ${timeoutMs} ms (last status ${r.status})`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

export async function childrenOf(base: string, path: string): Promise<string[]> {
  const r = await call(base, 'GET', `/v1/znodes${path}?children=true`);
  if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body as { children: string[] }).children;
}

export { prng } from '../support/prng.js';
