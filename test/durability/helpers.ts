/** Shared pieces of the member-level durability tests: HTTP calls that never throw, readiness. */
export interface Answer {
  status: number;
  body: unknown;
}

/** One HTTP call; a connection failure (member killed) is status 0, never a throw. */
export async function call(base: string, method: string, path: string, body?: string | object, timeoutMs = 5000): Promise<Answer> {
  try {
    const res = await fetch(base + path, {
      method,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  } catch {
    return { status: 0, body: undefined };
  }
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

/** A small seeded PRNG (mulberry32) so a failing run can be replayed from its printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
