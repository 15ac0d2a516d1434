/**
 * The example page in a real browser: playwright-core drives Debian's Chromium
 * (/usr/bin/chromium; `.ci/run` installs it). The page at /examples/watch.html watches a path
 * over a WebSocket and over server-sent events; writes made with HTTP requests appear on it;
 * then the member is restarted on the same port and the next change appears too.
 */
import type { Page } from 'playwright-core';
import { send } from '../support/http.js';
import { serve, type Served } from '../watch/helpers.js';
import { haveChromium, launchChromium, maybe, type Chromium } from './chromium.js';

let s: Served;
let browser: Chromium | undefined;

beforeAll(async () => {
  if (!haveChromium) return;
  s = await serve({ config: { heartbeatMs: 500 } });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

async function put(path: string, body: string): Promise<void> {
  const res = await send(s.base, 'PUT', `/v1/znodes${path}`, { body });
  expect([200, 201]).toContain(res.status);
}

async function open(transport: 'ws' | 'sse', path: string): Promise<Page> {
  const page = await browser!.context.newPage();
  await page.goto(`${s.base}/examples/watch.html`);
  await page.fill('#path', path);
  await page.selectOption('#kind', 'persistent');
  await page.selectOption('#transport', transport);
  await page.click('#watch');
  await page.waitForSelector('#status.live', { timeout: 5000 });
  return page;
}

async function shows(page: Page, event: string, data: string): Promise<void> {
  await page.waitForFunction(
    ([ev, d]) => Array.from(document.querySelectorAll('#events li')).some((li) => li.textContent!.includes(ev!) && li.textContent!.includes(`= ${d}`)) && document.getElementById('data')!.textContent === d,
    [event, data],
    { timeout: 8000 },
  );
}

maybe('the page shows live events and data over WebSocket and SSE, and again after the member restarts', async () => {
  const ws = await open('ws', '/web');
  const sse = await open('sse', '/web');
  expect(await ws.textContent('#data')).toBe('(no such znode)');

  await put('/web', 'hello');
  await shows(ws, 'NodeCreated /web', 'hello');
  await shows(sse, 'NodeCreated /web', 'hello');

  await put('/web', 'again');
  await shows(ws, 'NodeDataChanged /web', 'again');
  await shows(sse, 'NodeDataChanged /web', 'again');
  expect(await ws.textContent('#status')).toContain('over WebSocket');
  expect(await sse.textContent('#status')).toContain('over server-sent events');

  // Restart the member on the same port. (State is in memory here: the new member starts at
  // zxid 0, so the pages' resume points are refused and they watch anew; with a durable
  // member they resume.)
  const port = s.port;
  await s.close();
  s = await serve({ config: { heartbeatMs: 500 } }, port);
  await ws.waitForSelector('#status.live', { timeout: 8000 });
  await sse.waitForSelector('#status.live', { timeout: 8000 });
  await put('/web', 'after restart');
  await shows(ws, '/web', 'after restart');
  await shows(sse, '/web', 'after restart');
  await Promise.all([ws.close(), sse.close()]);
}, 60_000);
