/**
 * Runs the README's client example (kazoo's seed example: connect, create /my-node, a
 * dataWatch printing each change, set, close) as a Node program against a real member, and
 * compares what it prints with the output block under it. The example imports `zgate/client`
 * as a user would: the package (this repository) is linked as node_modules/zgate next to it, so
 * the import goes through package.json's "exports" to the built client in dist/.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { send } from '../support/http.js';
import { startMember, type RunningMember } from '../support/member.js';

const run = promisify(execFile);

function example(readme: string): { code: string; output: string } {
  const start = readme.indexOf('<!-- client-example -->');
  const end = readme.indexOf('<!-- /client-example -->');
  if (start < 0 || end < start) throw new Error('README.md has no <!-- client-example --> ... <!-- /client-example --> section');
  const blocks = [...readme.slice(start, end).matchAll(/```(\w*)\n([\s\S]*?)```/g)];
  if (blocks.length !== 2 || blocks[0]![1] !== 'js') throw new Error('the client example is a ```js block followed by its output block');
  return { code: blocks[0]![2]!, output: blocks[1]![2]! };
}

let member: RunningMember;
let dir: string;
beforeAll(async () => {
  member = await startMember();
  dir = mkdtempSync(join(tmpdir(), 'zgate-readme-client-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(process.cwd(), join(dir, 'node_modules', 'zgate'), 'dir');
});
afterAll(async () => {
  await member?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("the README's client example runs and prints what the README says", async () => {
  const { code, output } = example(readFileSync(join(process.cwd(), 'README.md'), 'utf8'));
  // As short as kazoo's: connect, create, watch, set, stop (and the import).
  expect(code.trim().split('\n').filter((l) => l.trim() !== '')).toHaveLength(6);
  expect(code).toContain('http://localhost:8080');
  writeFileSync(join(dir, 'example.mjs'), code.replaceAll('http://localhost:8080', member.baseUrl));
  const { stdout, stderr } = await run(process.execPath, ['example.mjs'], { cwd: dir, timeout: 30_000 });
  expect(stderr).toBe('');
  expect(stdout).toBe(output);
  // It left nothing behind but /my-node (the session it opened is closed).
  const res = await send<{ data: string }>(member.baseUrl, 'GET', '/v1/znodes/my-node');
  expect(res.body!.data).toBe('new data');
});
