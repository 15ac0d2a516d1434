/**
 * The few file-system calls storage makes, behind an interface so that tests (and a future
 * simulator) can inject ENOSPC / EIO at any call. The default is the real node:fs/promises.
 */
import * as fsp from 'node:fs/promises';

export interface FileHandle {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface FileSystem {
  /** flags as node's: 'r', 'r+', 'w', 'wx' (O_CREAT|O_EXCL). */
  open(path: string, flags: string): Promise<FileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<{ size: number }>;
  /** mkdir -p */
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  /** Hard link; fails with EEXIST if `to` exists (used for the atomic lock file). */
  link(from: string, to: string): Promise<void>;
}

export const realFileSystem: FileSystem = {
  open: (path, flags) => fsp.open(path, flags, 0o644),
  readFile: (path) => fsp.readFile(path),
  readdir: (path) => fsp.readdir(path),
  stat: (path) => fsp.stat(path),
  mkdir: async (path) => {
    await fsp.mkdir(path, { recursive: true });
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  copyFile: (from, to) => fsp.copyFile(from, to),
  link: (from, to) => fsp.link(from, to),
};

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

/** Make a directory's entries (creates, renames, unlinks) durable. */
export async function fsyncDir(fs: FileSystem, dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write all of buf at position (node may write less than asked). */
export async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error(`short write at ${position + done}`), { code: 'EIO' });
    done += bytesWritten;
  }
}

// ---------------------------------------------------------------------------------------
// Fault injection

export type FsOp =
  | 'open' | 'read' | 'write' | 'datasync' | 'sync' | 'truncate' | 'stat' | 'close'
  | 'readFile' | 'readdir' | 'statPath' | 'mkdir' | 'rename' | 'unlink' | 'copyFile' | 'link';

/** What the hook decides for one call: nothing (proceed), or fail with an errno code. */
export interface Fault {
  code: string;
  /** Only for 'write': write the first half of the bytes, then fail (a partial write). */
  partial?: boolean;
}
export type FaultHook = (op: FsOp, path: string) => Fault | undefined;

export function fsError(code: string, op: FsOp, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, ${op} '${path}'`), { code, syscall: op, path });
}

/** Wraps a FileSystem; `hook` (settable at any time) may fail any call. Counts calls per op. */
export class FaultInjectingFileSystem implements FileSystem {
  hook: FaultHook | undefined;
  readonly calls = new Map<FsOp, number>();

  constructor(private readonly inner: FileSystem = realFileSystem) {}

  private check(op: FsOp, path: string): Fault | undefined {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    const fault = this.hook?.(op, path);
    if (fault && !(op === 'write' && fault.partial)) throw fsError(fault.code, op, path);
    return fault;
  }

  async open(path: string, flags: string): Promise<FileHandle> {
    this.check('open', path);
    const fh = await this.inner.open(path, flags);
    const check = (op: FsOp) => this.check(op, path);
    const hook = () => this.hook;
    return {
      async read(b, o, l, p) {
        check('read');
        return fh.read(b, o, l, p);
      },
      async write(b, o, l, p) {
        const fault = check('write');
        if (fault?.partial) {
          const half = Math.floor(l / 2);
          if (half > 0) await fh.write(b, o, half, p);
          throw fsError(fault.code, 'write', path);
        }
        return fh.write(b, o, l, p);
      },
      async datasync() {
        check('datasync');
        return fh.datasync();
      },
      async sync() {
        check('sync');
        return fh.sync();
      },
      async truncate(len) {
        check('truncate');
        return fh.truncate(len);
      },
      async stat() {
        check('stat');
        return fh.stat();
      },
      async close() {
        // close always releases the descriptor, even when the hook says it failed.
        const fault = hook()?.('close', path);
        await fh.close();
        if (fault) throw fsError(fault.code, 'close', path);
      },
    };
  }
  async readFile(path: string): Promise<Uint8Array> {
    this.check('readFile', path);
    return this.inner.readFile(path);
  }
  async readdir(path: string): Promise<string[]> {
    this.check('readdir', path);
    return this.inner.readdir(path);
  }
  async stat(path: string): Promise<{ size: number }> {
    this.check('statPath', path);
    return this.inner.stat(path);
  }
  async mkdir(path: string): Promise<void> {
    this.check('mkdir', path);
    return this.inner.mkdir(path);
  }
  async rename(from: string, to: string): Promise<void> {
    this.check('rename', from);
    return this.inner.rename(from, to);
  }
  async unlink(path: string): Promise<void> {
    this.check('unlink', path);
    return this.inner.unlink(path);
  }
  async copyFile(from: string, to: string): Promise<void> {
    this.check('copyFile', from);
    return this.inner.copyFile(from, to);
  }
  async link(from: string, to: string): Promise<void> {
    this.check('link', to);
    return this.inner.link(from, to);
  }
}

/** View bytes as a Buffer without copying. */
export function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}
