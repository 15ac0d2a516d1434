/**
 * Nothing a client sends makes the server answer 500 or stop: random methods, paths, query
 * strings, headers and bodies, thrown at the real app. Every answer is a well-formed status,
 * and every error answer is the JSON envelope.
 */
import fc from 'fast-check';
import { startApp, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startApp({ config: { maxDataBytes: 256, maxDeleteNodes: 20 } }, { tree: { maxDataBytes: 256 } });
  for (const url of ['/v1/znodes/a', '/v1/znodes/a/b', '/v1/znodes/c']) await t.app.inject({ method: 'PUT', url, payload: 'x' });
});
afterAll(async () => t.close());

const segment = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'zookeeper', '.', '..', '', '%2F', '%zz', '%00', '%F0%9F%98%80', 'a%20b', 'q-', '%', '?', '#'),
  fc.string({ maxLength: 6 }).map(encodeURIComponent),
);
const queryValue = fc.oneof(fc.constantFrom('true', 'false', '-1', '0', '1', '-2', '1.5', '', 'x', '99999999999999999999', '1099511627776'), fc.string({ maxLength: 5 }).map(encodeURIComponent));
const queryKey = fc.constantFrom('mode', 'ttl', 'version', 'parents', 'recursive', 'raw', 'encoding', 'children', 'limit', 'after', 'consistency', 'minZxid', 'bogus');
const modeValue = fc.constantFrom('persistent', 'ephemeral', 'persistent_sequential', 'ephemeral_sequential', 'container', 'persistent_with_ttl', 'persistent_sequential_with_ttl', 'PERSISTENT');
const header = fc.record(
  {
    'if-match': fc.constantFrom('"0"', '"1"', '*', 'x', '"-1"', 'W/"0"', ''),
    'if-none-match': fc.constantFrom('*', '"0"', ''),
    'zgate-session': fc.constantFrom('1', '0', 'abc', '18446744073709551616', ''),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data', 'application/x-www-form-urlencoded'),
    accept: fc.constantFrom('application/json', 'application/octet-stream', '*/*', 'text/event-stream'),
  },
  { requiredKeys: [] },
);
const txnBody = fc.oneof(
  fc.json(),
  fc.record({
    ops: fc.array(
      fc.record(
        {
          op: fc.constantFrom('create', 'set', 'delete', 'check', 'nope'),
          path: fc.constantFrom('/a', '/a/b', '/c', '/d', '/a/./x', 'rel', '/zookeeper/x', '/'),
          data: fc.constantFrom('x', '!!', 'eQ=='),
          encoding: fc.constantFrom('utf8', 'base64', 'hex'),
          mode: modeValue,
          ttl: fc.constantFrom(0, 1, -1, 2 ** 40, 1.5),
          version: fc.constantFrom(-2, -1, 0, 1, 2 ** 31, 0.5),
          parents: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 4 },
    ),
  }).map((b) => JSON.stringify(b)),
);

test('random requests never answer 500', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'),
      fc.array(segment, { maxLength: 4 }),
      fc.array(fc.tuple(queryKey, fc.oneof(queryValue, modeValue)), { maxLength: 3 }),
      header,
      fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), txnBody),
      fc.boolean(),
      async (method, segments, query, headers, body, txn) => {
        const qs = query.map(([k, v]) => `${k}=${v}`).join('&');
        const url = (txn ? '/v1/txn' : `/v1/znodes/${segments.join('/')}`) + (qs ? `?${qs}` : '');
        const res = await t.app.inject({ method: method as 'GET', url, headers, ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { payload: body }) });
        expect(res.statusCode).toBeGreaterThanOrEqual(200);
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode >= 400 && method !== 'HEAD') {
          const parsed = JSON.parse(res.body) as { error: { code: string; message: string } };
          expect(typeof parsed.error.code).toBe('string');
          expect(parsed.error.message.length).toBeGreaterThan(0);
        }
      },
    ),
    { numRuns: 1500, seed: 4242 },
  );
  const health = await t.app.inject({ method: 'GET', url: '/healthz' });
  expect(health.statusCode).toBe(200);
});
