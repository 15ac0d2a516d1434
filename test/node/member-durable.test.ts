/**
 * The member over the durable log, in process with real files and an injected file system:
 * failed disk writes answer Unavailable and change nothing, numbering resumes after them,
 * and a recovering member answers 503 until its state is whole.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ZgateError } from '../../src/core/errors.js';
import { DurableLocalLog } from '../../src/log/durable-local-log.js';
import { LateLog } from '../../src/log/local-log.js';
import { Member } from '../../src/node/member.js';
import { FaultInjectingFileSystem, FileStorage } from '../../src/storage/index.js';
import { assembleApp } from '../api/helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zgate-member-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const create = (path: string) => ({ op: 'create' as const, path, data: new Uint8Array([1]), mode: 'persistent' as const });

async function open(fs = new FaultInjectingFileSystem(), onFatal: (e: Error) => void = () => undefined) {
  const { storage, recovered } = await FileStorage.open(dir, { fs });
  const log = new DurableLocalLog(storage, 1, onFatal);
  await log.init();
  const member = new Member(log, { snapshotEntries: 50 });
  const state = { entries: recovered.entries.map((e) => ({ index: e.index, data: e.data })) } as Parameters<Member['recover']>[0];
  if (recovered.snapshot) state.snapshot = { index: recovered.snapshot.meta.index, data: recovered.snapshot.data };
  await member.recover(state);
  return { member, fs };
}

test('a failed fdatasync answers Unavailable, applies nothing, and later writes continue the log', async () => {
  const { member, fs } = await open();
  await member.write(create('/a'));
  let failures = 1;
  fs.hook = (op) => (op === 'datasync' && failures-- > 0 ? { code: 'ENOSPC' } : undefined);
  const failed = await Promise.allSettled([member.write(create('/b')), member.write(create('/c'))]);
  for (const f of failed) {
    expect(f.status).toBe('rejected');
    expect((f as PromiseRejectedResult).reason).toBeInstanceOf(ZgateError);
    expect(((f as PromiseRejectedResult).reason as ZgateError).code).toBe('Unavailable');
  }
  expect(member.tree.has('/b')).toBe(false);
  expect(member.appliedZxid).toBe(1);
  fs.hook = undefined;
  const d = await member.write(create('/d'));
  expect(d.zxid).toBe(2);
  await member.close();

  const again = await open();
  expect(again.member.tree.has('/a')).toBe(true);
  expect(again.member.tree.has('/b')).toBe(false);
  expect(again.member.tree.has('/d')).toBe(true);
  expect(again.member.appliedZxid).toBe(2);
  await again.member.close();
});

test('a write that cannot be rolled back stops the member (fail-stop), and a restart recovers', async () => {
  const fatal: Error[] = [];
  const { member, fs } = await open(new FaultInjectingFileSystem(), (e) => fatal.push(e));
  await member.write(create('/a'));
  fs.hook = (op) => (op === 'datasync' ? { code: 'EIO' } : undefined);
  await expect(member.write(create('/b'))).rejects.toMatchObject({ code: 'Unavailable' });
  expect(fatal).toHaveLength(1);
  expect(fatal[0]!.message).toMatch(/reopen/);
  fs.hook = undefined;
  await member.close();
  const again = await open();
  expect(again.member.tree.has('/a')).toBe(true);
  expect(again.member.tree.has('/b')).toBe(false);
  await again.member.close();
});

test('snapshots are taken in the background and recovery starts from them', async () => {
  const { member } = await open();
  for (let i = 0; i < 120; i++) await member.write(create(`/n${i}`));
  await member.snapshotsSettled();
  const digest = member.tree.digest();
  await member.close();
  const again = await open();
  expect(again.member.tree.digest()).toBe(digest);
  expect(again.member.appliedZxid).toBe(120);
  await again.member.close();
});

test('while recovering, /readyz is 503 and reads and writes are Unavailable', async () => {
  const late = new LateLog(1);
  const member = new Member(late);
  member.markRecovering();
  const { app } = await assembleApp(member, { isReady: () => member.ready });
  await app.ready();
  const http = request(app.server);
  expect((await http.get('/readyz')).status).toBe(503);
  const w = await http.put('/v1/znodes/x').send('1');
  expect(w.status).toBe(503);
  expect(w.body.error.code).toBe('Unavailable');
  expect(w.headers['retry-after']).toBe('1');
  expect((await http.get('/v1/znodes/zookeeper')).status).toBe(503);
  expect((await http.get('/healthz')).status).toBe(200);

  const { storage } = await FileStorage.open(dir);
  const log = new DurableLocalLog(storage);
  await log.init();
  late.attach(log);
  await member.recover({ entries: [] });
  expect((await http.get('/readyz')).status).toBe(200);
  expect((await http.put('/v1/znodes/x').send('1')).status).toBe(201);
  await app.close();
  await member.close();
});
