/** The OpenAPI document served is the one in the repository, and it documents every route. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { startApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(async () => t.close());

test('/openapi.json equals openapi/openapi.json (run `npm run openapi` after changing a route)', async () => {
  const served = (await request(t.app.server).get('/openapi.json')).body;
  const committed = JSON.parse(readFileSync(join(__dirname, '..', '..', 'openapi', 'openapi.json'), 'utf8'));
  expect(served).toEqual(committed);
});

test('the document covers every route of api.md with its schemas', async () => {
  const doc = (await request(t.app.server).get('/openapi.json')).body;
  expect(doc.openapi).toMatch(/^3\./);
  const paths = doc.paths as Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>>;
  for (const m of ['get', 'head', 'put', 'post', 'delete']) expect(paths['/v1/znodes/{path}']![m]).toBeDefined();
  expect(paths['/v1/znodes']!.get).toBeDefined();
  expect(paths['/v1/txn']!.post).toBeDefined();
  for (const p of ['/healthz', '/readyz', '/metrics', '/v1/cluster']) expect(paths[p]!.get).toBeDefined();
  expect(paths['/v1/sessions']!.post).toBeDefined();
  expect(paths['/v1/sessions/{id}/keepalive']!.post).toBeDefined();
  for (const m of ['get', 'delete']) expect(paths['/v1/sessions/{id}']![m]).toBeDefined();
  expect(Object.keys(paths['/v1/sessions/{id}/keepalive']!.post!.responses)).toEqual(expect.arrayContaining(['200', '400', '410']));
  const get = paths['/v1/znodes/{path}']!.get!;
  const names = (get.parameters ?? []).map((p) => `${p.in}:${p.name}`);
  for (const n of ['path:path', 'query:raw', 'query:encoding', 'query:children', 'query:limit', 'query:after', 'query:consistency', 'query:minZxid']) expect(names).toContain(n);
  const put = paths['/v1/znodes/{path}']!.put!;
  expect((put.parameters ?? []).map((p) => `${p.in}:${p.name}`)).toEqual(expect.arrayContaining(['header:if-match', 'header:if-none-match', 'query:version']));
  expect(Object.keys(put.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '404', '409', '412', '413', '503']));
  expect(doc.components.schemas.Stat.properties.czxid.type).toBe('string');
  expect(doc.components.schemas.Error).toBeDefined();
});

test('Swagger UI is served at /docs', async () => {
  const res = await request(t.app.server).get('/docs/').redirects(1);
  expect(res.status).toBe(200);
  expect(res.text).toContain('swagger');
});
