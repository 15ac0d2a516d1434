/**
 * The cluster flags from the command line: every serve flag is in --help and in README's
 * configuration table; misconfigured members (bad --peers, an id not in --peers, a data dir
 * of another member, of a single member, or a cluster member's dir without --peers) are
 * refused at start with a message that says what is wrong.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVE_FLAGS } from '../../src/server/config.js';
import { send } from '../support/http.js';
import { defaultEntry, startMember } from '../support/member.js';
import { getFreePorts } from '../support/ports.js';

interface Run {
  code: number | null;
  out: string;
}

/** Runs `serve` until it exits (or kills it after timeoutMs). */
function serve(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [defaultEntry(), 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'zgate-cli-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('every serve flag is listed by --help and in README.md\'s configuration table', async () => {
  const help = await serve(['--help']);
  expect(help.code).toBe(0);
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Limits'));
  for (const f of SERVE_FLAGS) {
    expect(help.out).toContain(`--${f.flag}`);
    expect(help.out).toContain(f.env);
    expect(table).toContain(`\`--${f.flag}`);
    expect(table).toContain(`\`${f.env}\``);
  }
});

test('misconfigured members are refused at start, saying why', async () => {
  const [http, p1, p2] = await getFreePorts(3);
  const peers = `1=127.0.0.1:${p1},2=127.0.0.1:${p2}`;
  const base = (dir: string): string[] => ['--http', `127.0.0.1:${http}`, '--data-dir', join(root, dir)];

  let r = await serve([...base('a'), '--id', '1', '--peers', '1=127.0.0.1:9,1=127.0.0.1:10']);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/--peers: member 1 is listed twice/);
  r = await serve([...base('a'), '--id', '3', '--peers', peers]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/--id 3 is not in --peers/);

  // A member of a 2-member cluster, alone: it bootstraps its dir, waits for a quorum and says so.
  const m = await startMember({ port: http, dataDir: join(root, 'm1'), keepDataDir: true, args: ['--id', '1', '--peers', peers, '--tick-ms', '20'] });
  for (let i = 0; i < 100 && !/no leader yet/.test(m.stdout()); i++) await new Promise((res) => setTimeout(res, 100));
  expect(m.stdout()).toMatch(/no leader yet: waiting for a quorum of members to be reachable/);
  expect((await send(m.baseUrl, 'GET', '/readyz')).status).toBe(503);
  await m.stop();

  r = await serve([...base('m1'), '--id', '2', '--peers', peers]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/belongs to member 1 of cluster [0-9a-f]+, not to member 2/);
  r = await serve(base('m1'));
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/belongs to a cluster member .*start it with its --id and --peers/);

  // A single member's data dir is not a cluster member's.
  const single = await startMember({ port: http, dataDir: join(root, 's'), keepDataDir: true, readyPath: '/readyz' });
  expect((await send(single.baseUrl, 'PUT', '/v1/znodes/x', { body: 'x' })).status).toBe(201);
  await single.stop();
  r = await serve([...base('s'), '--id', '1', '--peers', peers]);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(/holds the log of a single member/);
}, 90_000);

/** A base port with `n` consecutive free loopback ports. */
async function freeRun(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const servers = [];
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const srv = createServer();
      ok = await new Promise<boolean>((res) => {
        srv.once('error', () => res(false));
        srv.listen({ host: '127.0.0.1', port: base + i, exclusive: true }, () => res(true));
      });
      if (ok) servers.push(srv);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return base;
  }
  throw new Error('no run of free ports');
}

test('npm run cluster (dist/cli/cluster.js): three members with prefixed logs, a leader, Ctrl-C stops them all', async () => {
  const httpBase = await freeRun(3);
  const peerBase = await freeRun(3);
  const dir = join(root, 'npm-cluster');
  const script = join(defaultEntry(), '..', 'cluster.js');
  const child = spawn(process.execPath, [script, '--http-base', String(httpBase), '--peer-base', String(peerBase), '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    let leader: number | null = null;
    const deadline = Date.now() + 60_000;
    while (leader === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const views = await Promise.all(
        [0, 1, 2].map((i) =>
          send<{ leaderId: number | null }>(`http://127.0.0.1:${httpBase + i}`, 'GET', '/v1/cluster')
            .then((r) => r.body)
            .catch(() => undefined),
        ),
      );
      const ls = new Set(views.map((v) => v?.leaderId ?? null));
      if (ls.size === 1 && !ls.has(null)) leader = [...ls][0]!;
    }
    expect(leader).not.toBeNull();
    const w = await send(`http://127.0.0.1:${httpBase + 1}`, 'PUT', '/v1/znodes/hello', { body: 'hi' });
    expect(w.status).toBe(201);
    expect(out).toMatch(/\[member 1\].*pid \d+/);
    expect(out).toMatch(/\[member 3\].* INFO /);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  expect(out).toMatch(/\[member 1\].*exited \(code 0\)/);
  expect(out).toMatch(/\[member 2\].*exited \(code 0\)/);
  expect(out).toMatch(/\[member 3\].*exited \(code 0\)/);
}, 90_000);
