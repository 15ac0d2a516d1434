/**
 * The data directory's lock file, dir/LOCK, holding {"pid", "start"} of the owner.
 *
 * Choice: node has no flock(), so the lock is a file created atomically — the content is
 * written to a private temp file first, then hard-linked to LOCK (link fails with EEXIST if
 * LOCK exists, like O_EXCL, and LOCK is never seen half-written). A lock left by a process
 * that died (kill -9, power loss) is stale: its pid is gone from /proc, or /proc/<pid> is a
 * different process (its start time, field 22 of /proc/<pid>/stat, differs from the one
 * recorded — pids are reused, e.g. a container restarted gets the same small pid). A stale
 * lock is moved aside, checked to still be the stale one, and replaced. Without /proc we fall
 * back to kill(pid, 0). Within one process a registry of held dirs refuses a second open()
 * (the pid alone can't tell "this process" from "a dead one that had our pid").
 *
 * Limit: breaking a stale lock races only if three processes start on the same dir at the
 * same instant after a crash; documented, not handled.
 */
import { join, resolve } from 'node:path';
import { type FileSystem, errnoCode } from './fs.js';
import { StorageLockedError } from './errors.js';

export const LOCK_FILE = 'LOCK';
const held = new Set<string>();
let ownStart: string | null | 'gone' | undefined;

interface LockInfo {
  pid: number;
  start: string | null;
}

async function processStart(fs: FileSystem, pid: number): Promise<string | null | 'gone'> {
  try {
    const stat = Buffer.from(await fs.readFile(`/proc/${pid}/stat`)).toString('latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 overall: starttime
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ESRCH') {
      // No /proc at all? Then ask the kernel directly.
      try {
        await fs.readdir('/proc/self');
      } catch {
        try {
          process.kill(pid, 0);
          return null;
        } catch (k) {
          return errnoCode(k) === 'EPERM' ? null : 'gone';
        }
      }
      return 'gone';
    }
    return null;
  }
}

function parse(content: string): LockInfo | undefined {
  try {
    const v = JSON.parse(content) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0) return { pid: v.pid, start: typeof v.start === 'string' ? v.start : null };
  } catch {
    // fall through
  }
  return undefined;
}

export class DirLock {
  private constructor(
    private readonly fs: FileSystem,
    readonly dir: string,
    private readonly content: string,
  ) {}

  static async acquire(fs: FileSystem, dir: string): Promise<DirLock> {
    const key = resolve(dir);
    const path = join(dir, LOCK_FILE);
    if (held.has(key)) {
      throw new StorageLockedError(dir, process.pid,
        `data dir ${dir} is locked by pid ${process.pid} (this process): it is already open here; close it first`);
    }
    held.add(key); // claimed for this process while we try
    try {
      ownStart ??= await processStart(fs, process.pid);
      const start = ownStart;
      const content = JSON.stringify({ pid: process.pid, start: start === 'gone' ? null : start });
      for (let attempt = 0; ; attempt++) {
        if (await tryCreate(fs, dir, path, content)) return new DirLock(fs, dir, content);
        const existing = await readLock(fs, path);
        if (existing === undefined) continue; // vanished meanwhile: try again
        const info = parse(existing);
        if (info && attempt < 3 && !(await stale(fs, info))) {
          throw new StorageLockedError(dir, info.pid,
            `data dir ${dir} is locked by pid ${info.pid} (lock file ${path}): another zgate member is using it; ` +
            `stop that one first (if pid ${info.pid} is not a zgate member, remove ${path})`);
        }
        if (attempt >= 3) {
          throw new StorageLockedError(dir, info?.pid ?? 0, `data dir ${dir}: could not take the lock file ${path} (contention)`);
        }
        await breakStale(fs, dir, path, existing);
      }
    } catch (e) {
      held.delete(key);
      throw e;
    }
  }

  /** Best effort: a LOCK file left behind names this pid, which a later open() of this process treats as stale. */
  async release(): Promise<void> {
    held.delete(resolve(this.dir));
    const path = join(this.dir, LOCK_FILE);
    try {
      if ((await readLock(this.fs, path)) === this.content) await this.fs.unlink(path);
    } catch {
      // left behind: see above
    }
  }
}

async function tryCreate(fs: FileSystem, dir: string, path: string, content: string): Promise<boolean> {
  const tmp = join(dir, `${LOCK_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fh = await fs.open(tmp, 'wx');
  try {
    await fh.write(Buffer.from(content), 0, Buffer.byteLength(content), 0);
  } finally {
    await fh.close();
  }
  try {
    await fs.link(tmp, path);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
}

async function readLock(fs: FileSystem, path: string): Promise<string | undefined> {
  try {
    return Buffer.from(await fs.readFile(path)).toString('utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

async function stale(fs: FileSystem, info: LockInfo): Promise<boolean> {
  // Our own pid but not in the registry: a previous incarnation (container restart).
  if (info.pid === process.pid) return true;
  const start = await processStart(fs, info.pid);
  if (start === 'gone') return true;
  return info.start !== null && start !== null && start !== info.start;
}

/** Move the stale lock aside; if what we moved is not the stale one (someone took it meanwhile), put it back. */
async function breakStale(fs: FileSystem, dir: string, path: string, staleContent: string): Promise<void> {
  const aside = join(dir, `${LOCK_FILE}.stale.${process.pid}.${Math.random().toString(36).slice(2)}`);
  try {
    await fs.rename(path, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  const moved = await readLock(fs, aside);
  if (moved !== staleContent) await fs.link(aside, path).catch(() => undefined);
  await fs.unlink(aside).catch(() => undefined);
}
