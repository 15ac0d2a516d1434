/**
 * The identity of a cluster member's data directory: the file `cluster` beside the storage
 * files, written once (atomically) at first start: the cluster id, this member's id, and
 * whether it bootstrapped the cluster or joined it. Checked at every start, so a data dir
 * from another cluster, or another member's, or a single member's, is refused.
 */
import { existsSync } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ZgateError } from '../core/errors.js';

export const IDENTITY_FILE = 'cluster';

export interface Identity {
  clusterId: string;
  memberId: number;
  /** bootstrap: an initial member (its log starts with the initial membership); join: added later. */
  mode: 'bootstrap' | 'join';
}

export function identityExists(dataDir: string): boolean {
  return existsSync(join(dataDir, IDENTITY_FILE));
}

export async function readIdentity(dataDir: string): Promise<Identity | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, IDENTITY_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let v: Partial<Identity>;
  try {
    v = JSON.parse(text) as Partial<Identity>;
  } catch {
    throw new ZgateError('BadArguments', `${join(dataDir, IDENTITY_FILE)} is damaged (not JSON)`);
  }
  if (typeof v.clusterId !== 'string' || typeof v.memberId !== 'number' || (v.mode !== 'bootstrap' && v.mode !== 'join')) {
    throw new ZgateError('BadArguments', `${join(dataDir, IDENTITY_FILE)} is damaged (fields)`);
  }
  return { clusterId: v.clusterId, memberId: v.memberId, mode: v.mode };
}

/** Temp file, fsync, rename, fsync the directory. */
export async function writeIdentity(dataDir: string, id: Identity): Promise<void> {
  const path = join(dataDir, IDENTITY_FILE);
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(id) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dataDir, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
