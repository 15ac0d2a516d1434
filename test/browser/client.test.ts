/**
 * The client library's browser build in a real browser (Debian's Chromium through
 * playwright-core, as the watch page's test): a page imports /examples/zgate-client.js and uses
 * the client with the browser's own fetch and WebSocket: writes, a dataWatch, typed errors, an
 * ephemeral znode that lives as long as the client (close(), or the tab going away), a lock,
 * and the same from a page on another origin (CORS: the preflight must allow the client's
 * Idempotency-Key and Zgate-Session headers).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { send } from '../support/http.js';
import { getFreePorts } from '../support/ports.js';
import { serve, type Served } from '../watch/helpers.js';
import { haveChromium, launchChromium, maybe, type Chromium } from './chromium.js';

const BUILD = join(process.cwd(), 'dist', 'client', 'zgate-client.browser.js');

let cluster: Served;
let otherOrigin: Served;
let browser: Chromium | undefined;

beforeAll(async () => {
  if (!haveChromium) return;
  const [a, b] = await getFreePorts(2);
  cluster = await serve({ config: { heartbeatMs: 500, corsOrigins: [`http://127.0.0.1:${b}`] } }, a);
  otherOrigin = await serve({}, b);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await cluster?.close();
  await otherOrigin?.close();
});

async function exists(path: string): Promise<boolean> {
  const res = await send(cluster.base, 'HEAD', `/v1/znodes${path}`);
  return res.status === 200;
}

async function pageAt(base: string): Promise<Page> {
  const page = await browser!.context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(`${base}/examples/watch.html`);
  return page;
}

test('the browser build is one ES module with no Node import', () => {
  const text = readFileSync(BUILD, 'utf8');
  expect(text).toMatch(/export\s*\{[^}]*ZgateClient/);
  expect(text).not.toMatch(/\brequire\(|from\s*["'](node:|ws["'])|import\(["'](node:|ws["'])/);
});

maybe('a page uses the client with the browser fetch and WebSocket: writes, watches, errors, a session, a lock', async () => {
  const page = await pageAt(cluster.base);
  // Strings, not functions: jest compiles test functions to CommonJS, which would turn the
  // page's import() into a require().
  const result = (await page.evaluate(`(async () => {
    const { ZgateClient, ZgateError, Lock } = await import('/examples/zgate-client.js');
    const zk = await ZgateClient.connect(location.origin);
    const seen = [];
    await zk.create('/b', 'one');
    await zk.dataWatch('/b', (data, stat) => void seen.push(stat.version + ':' + data));
    await zk.set('/b', 'two');
    const eph = await zk.create('/b/tab-', 'here', { mode: 'ephemeral_sequential' });
    let error = {};
    try {
      await zk.create('/b', 'again');
    } catch (e) {
      error = { name: e.name, code: e.code, status: e.status, path: e.path, member: e.member, typed: e instanceof ZgateError };
    }
    const lock = new Lock(zk, '/locks/tab');
    const locked = await lock.acquire();
    await lock.release();
    window.zk = zk;
    return { seen, eph: eph.path, owner: eph.stat.ephemeralOwner, sid: zk.sessionId, error, locked, children: await zk.children('/b') };
  })()`)) as { seen: string[]; eph: string; owner: string; sid: string; error: Record<string, unknown>; locked: boolean; children: string[] };
  expect(result.seen).toEqual(['0:one', '1:two']);
  expect(result.eph).toBe('/b/tab-0000000000');
  expect(result.owner).toBe(result.sid);
  expect(result.error).toEqual({ name: 'ZgateError', code: 'NodeExists', status: 409, path: '/b', member: cluster.base, typed: true });
  expect(result.locked).toBe(true);
  expect(result.children).toEqual(['tab-0000000000']);
  expect(await exists('/b/tab-0000000000')).toBe(true);

  // close() in the page ends the session: the ephemeral is gone when it returns.
  await page.evaluate('window.zk.close()');
  expect(await exists('/b/tab-0000000000')).toBe(false);
  await page.close();
}, 60_000);

maybe("a tab that goes away without close(): its ephemeral goes one session timeout later", async () => {
  const page = await pageAt(cluster.base);
  await page.evaluate(`(async () => {
    const { ZgateClient } = await import('/examples/zgate-client.js');
    const zk = await ZgateClient.connect(location.origin, { sessionTimeoutMs: 1000 });
    await zk.create('/present', 'tab', { mode: 'ephemeral' });
  })()`);
  expect(await exists('/present')).toBe(true);
  const closedAt = Date.now();
  await page.close();
  const deadline = Date.now() + 10_000;
  while ((await exists('/present')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(await exists('/present')).toBe(false);
  expect(Date.now() - closedAt).toBeGreaterThanOrEqual(500);
}, 30_000);

maybe('a page on another origin uses a member listed in --cors-origins', async () => {
  const page = await pageAt(otherOrigin.base);
  const result = (await page.evaluate(`(async () => {
    const { ZgateClient } = await import('/examples/zgate-client.js');
    const zk = await ZgateClient.connect(${JSON.stringify(cluster.base)});
    const made = await zk.create('/cors/e', 'x', { mode: 'ephemeral', makeParents: true });
    const stream = zk.watch('/cors', { recursive: true });
    await stream.ready;
    await zk.txn([{ op: 'set', path: '/cors/e', data: 'y' }]);
    const first = await stream.next();
    await zk.close();
    return { path: made.path, event: first.value };
  })()`)) as { path: string; event: unknown };
  expect(result.path).toBe('/cors/e');
  expect(result.event).toMatchObject({ type: 'NodeDataChanged', path: '/cors/e', data: 'y' });
  await page.close();
}, 60_000);
