/** The tests' HTTP helper on its own, against a plain loopback server: parsing, no answer, a hung server, streams. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { joinUrl, metricsText, openStream, send, sendBytes, trySend } from './http.js';

let server: Server;
let base: string;
const seen: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url === '/json') res.writeHead(200, { 'content-type': 'application/json', 'zgate-zxid': '7' }).end('{"a":1}');
      else if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain' }).end('zgate_x 1\n');
      else if (req.url === '/bytes') res.writeHead(200).end(Buffer.from([0, 255, 1]));
      else if (req.url === '/empty') res.writeHead(204).end();
      else if (req.url === '/stream') res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': open\n\n');
      // /hang: never answered
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('joinUrl: one slash between base and path; a path must start with / or ?', () => {
  expect(joinUrl('http://h:1/', '/v1/x')).toBe('http://h:1/v1/x');
  expect(joinUrl('http://h:1', '?a=1')).toBe('http://h:1?a=1');
  expect(() => joinUrl('http://h:1', 'v1')).toThrow(/must start with/);
  expect(() => joinUrl('h:1', '/v1')).toThrow(/not an http/);
});

test('send: status, headers, JSON body and text; not JSON or empty is body undefined', async () => {
  const a = await send<{ a: number }>(base, 'GET', '/json');
  expect(a).toMatchObject({ status: 200, body: { a: 1 }, text: '{"a":1}' });
  expect(a.headers.get('zgate-zxid')).toBe('7');
  expect(await send(base, 'GET', '/metrics')).toMatchObject({ status: 200, body: undefined, text: 'zgate_x 1\n' });
  expect(await send(base, 'DELETE', '/empty')).toMatchObject({ status: 204, body: undefined, text: '' });
  expect(await metricsText(base)).toBe('zgate_x 1\n');
  expect((await sendBytes(base, 'GET', '/bytes')).bytes).toEqual(Buffer.from([0, 255, 1]));
});

test('request bodies: a string as is, bytes as is, an object as JSON; the session header', async () => {
  seen.length = 0;
  await send(base, 'PUT', '/empty', { body: 'hi' });
  await send(base, 'PUT', '/empty', { body: Buffer.from('raw'), headers: { 'content-type': 'application/octet-stream' } });
  await send(base, 'POST', '/empty', { body: { x: 1 }, session: '42' });
  await send(base, 'POST', '/empty', { body: { x: 2 }, headers: { 'Content-Type': 'text/plain' } });
  expect(seen.map((s) => [s.method, s.body, s.headers['content-type'], s.headers['zgate-session']])).toEqual([
    ['PUT', 'hi', 'text/plain;charset=UTF-8', undefined],
    ['PUT', 'raw', 'application/octet-stream', undefined],
    ['POST', '{"x":1}', 'application/json', '42'],
    ['POST', '{"x":2}', 'text/plain', undefined],
  ]);
});

test('a server that never answers fails the call within its timeout, naming the request', async () => {
  const t0 = Date.now();
  await expect(send(base, 'GET', '/hang', { timeoutMs: 300 })).rejects.toThrow(`GET ${base}/hang: no answer within 300 ms`);
  expect(Date.now() - t0).toBeLessThan(5000);
  await expect(openStream(base, 'GET', '/hang', { timeoutMs: 300 })).rejects.toThrow(/no answer within 300 ms/);
  expect((await trySend(base, 'GET', '/hang', { timeoutMs: 300 })).status).toBe(0);
});

test('nobody listening: send throws, trySend is status 0', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const gone = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise((r) => closed.close(r));
  await expect(send(gone, 'GET', '/json')).rejects.toThrow(`GET ${gone}/json: `);
  expect(await trySend(gone, 'GET', '/json')).toMatchObject({ status: 0, body: undefined, text: '' });
});

test('openStream: the headers of an answer that never ends, then close()', async () => {
  const s = await openStream(base, 'GET', '/stream', { timeoutMs: 300 });
  expect(s.status).toBe(200);
  expect(s.headers.get('content-type')).toBe('text/event-stream');
  // Past the timeout: it bounded only the headers' arrival.
  await new Promise((r) => setTimeout(r, 400));
  s.close();
});
