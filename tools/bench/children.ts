/**
 * Child processes of the benchmark (the zgate member and the bare baseline server): started
 * with `node <script> ...`, awaited until their health URL answers 200, and always stopped at
 * the end, on errors and on SIGINT (SIGTERM, then SIGKILL if they linger).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** Last bytes of a child's stdout + stderr, kept to explain a failure. */
const TAIL_BYTES = 8192;

export class BenchChild {
  readonly name: string;
  readonly proc: ChildProcess;
  private tail = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  constructor(name: string, script: string, args: string[]) {
    this.name = name;
    this.proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    };
    this.proc.stdout?.on('data', keep);
    this.proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
      this.proc.once('error', (e) => {
        this.tail += `\nspawn error: ${e.message}`;
        this.exitInfo = { code: null, signal: null };
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** How the child ended, for messages; undefined while it runs. */
  get exitDescription(): string | undefined {
    if (this.exitInfo === undefined) return undefined;
    const { code, signal } = this.exitInfo;
    if (signal !== null) return `killed by ${signal}`;
    // zgate and the bare server exit 0 only from their SIGTERM/SIGINT handlers.
    return code === 0 ? 'exited with code 0 (a graceful stop: did something send it SIGTERM?)' : `exited with code ${String(code)}`;
  }

  output(): string {
    return this.tail.trim();
  }

  /** Polls `url` until it answers 200 (or another of `okStatuses`); fails early if the child dies, or after `timeoutMs`. */
  async waitHealthy(url: string, timeoutMs = 20_000, okStatuses: readonly number[] = [200]): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.name} ${this.exitDescription ?? 'ended'} before ${url} answered 200\n${this.output()}`);
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (okStatuses.includes(res.status)) return;
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name}: ${url} did not answer 200 within ${timeoutMs} ms (last: ${last})\n${this.output()}`);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.proc.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort, for process 'exit' handlers. */
  killNow(): void {
    if (this.running) this.proc.kill('SIGKILL');
  }
}

/** A TCP port free on `host` right now (the kernel's pick for port 0). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port from the kernel'))));
    });
  });
}
