/**
 * One member as a real process for the fault harness: `node <entry> serve --http
 * 127.0.0.1:<port> --data-dir <dir> ...`, ready when GET /healthz answers 200. The same as
 * test/support/member.ts's startMember, which src/ cannot import; kept small: kill -9,
 * SIGSTOP/SIGCONT, and a bounded tail of the output for reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export interface MemberProcessOptions {
  entry?: string;
  port: number;
  dataDir: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

export interface MemberProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** Sends `signal` and, unless it is SIGSTOP/SIGCONT, waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  output(maxChars?: number): string;
}

export function defaultEntry(): string {
  const env = process.env['ZGATE_ENTRY'];
  return env ? resolve(env) : resolve(process.cwd(), 'dist', 'cli', 'main.js');
}

const live = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const KEEP = 400_000;

export async function spawnMember(o: MemberProcessOptions): Promise<MemberProcess> {
  hookExit();
  const entry = o.entry ?? defaultEntry();
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: build first (npm run build)`);
  const child = spawn(process.execPath, [entry, 'serve', '--http', `127.0.0.1:${o.port}`, '--data-dir', o.dataDir, ...o.args], {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString('utf8');
    if (out.length > KEEP) out = out.slice(-KEEP / 2);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('exit', (code, signal) => {
      running = false;
      live.delete(child);
      res({ code, signal });
    });
    child.once('error', (e) => {
      out += `\n[spawn error] ${e.message}`;
      running = false;
      live.delete(child);
      res({ code: null, signal: null });
    });
  });
  const m: MemberProcess = {
    pid: child.pid ?? -1,
    child,
    exited,
    isRunning: () => running,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (running) child.kill(signal);
      if (signal !== 'SIGSTOP' && signal !== 'SIGCONT') await exited;
    },
    signal(signal) {
      if (running) child.kill(signal);
    },
    output: (max = 8000) => out.slice(-max),
  };
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!running) throw new Error(`member on port ${o.port} exited during startup:\n${out.slice(-4000)}`);
    try {
      const res = await fetch(`http://127.0.0.1:${o.port}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return m;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      await m.kill('SIGKILL');
      throw new Error(`member on port ${o.port} not ready in time:\n${out.slice(-4000)}`);
    }
    await sleep(50);
  }
}
