/**
 * Runs a zgate member as a real process for process-level tests:
 * `node dist/cli/main.js serve --http 127.0.0.1:<port> --data-dir <dir> [...args]`.
 *
 * dist/ is built by `npm test` before jest starts (scripts/run-tests.mjs). The member is ready
 * when `GET /healthz` answers 200. Its stdout and stderr are kept (bounded) for diagnostics.
 * stop() sends SIGTERM and falls back to SIGKILL; kill() is for crash tests.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getFreePort, LOOPBACK } from './ports.js';

export interface MemberOptions {
  /** HTTP port; default: a free loopback port (with a retry if another process takes it first). */
  port?: number;
  /** Data dir; default: a fresh temp dir, removed by stop() unless keepDataDir. */
  dataDir?: string;
  /** Extra arguments after `serve --http ... --data-dir ...`. */
  args?: string[];
  /** Extra environment (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** The CLI entry; default `$ZGATE_ENTRY` or `<repo>/dist/cli/main.js` (the repo being the working directory). */
  entry?: string;
  cwd?: string;
  /** Readiness probe path; default /healthz. */
  readyPath?: string;
  /** Default 30 s: a loaded 2-core CI machine starting several members at once is slow. */
  readyTimeoutMs?: number;
  /** Keep a generated data dir after stop(). */
  keepDataDir?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningMember {
  readonly port: number;
  readonly host: string;
  /** e.g. http://127.0.0.1:41234 */
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves when the process exits. */
  readonly exited: Promise<ExitInfo>;
  stdout(): string;
  stderr(): string;
  /** The tail of stdout+stderr, for failure messages. */
  diagnostics(maxChars?: number): string;
  isRunning(): boolean;
  /** SIGTERM, then SIGKILL after graceMs (default 5 s); removes a generated data dir unless kept. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** Sends a signal (default SIGKILL) and waits for the exit; the data dir stays. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
}

/**
 * The default entry point: `ZGATE_ENTRY` if set, else dist/cli/main.js under the working
 * directory (the repo root under jest).
 */
export function defaultEntry(cwd: string = process.cwd()): string {
  const env = process.env['ZGATE_ENTRY'];
  return env ? resolve(cwd, env) : resolve(cwd, 'dist', 'cli', 'main.js');
}

/** True when the built CLI exists. */
export function memberBuilt(entry: string = defaultEntry()): boolean {
  return existsSync(entry);
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // gone already
      }
    }
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const KEEP_CHARS = 200_000;

/** Starts a member and waits until it is healthy; throws with its output if it isn't. */
export async function startMember(opts: MemberOptions = {}): Promise<RunningMember> {
  const attempts = opts.port === undefined ? 3 : 1;
  let last: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      last = e as Error;
      if (!/EADDRINUSE/.test(last.message)) throw last;
    }
  }
  throw last!;
}

async function startOnce(opts: MemberOptions): Promise<RunningMember> {
  installExitHook();
  const entry = opts.entry ?? defaultEntry(opts.cwd);
  if (!existsSync(entry)) throw new Error(`member: ${entry} does not exist (build with: npx tsc -p tsconfig.build.json)`);
  const port = opts.port ?? (await getFreePort());
  const generatedDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'zgate-member-'));
  const host = LOOPBACK;
  const args = [entry, 'serve', '--http', `${host}:${port}`, '--data-dir', dataDir, ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  let both = '';
  const clip = (s: string): string => (s.length > KEEP_CHARS ? s.slice(-KEEP_CHARS / 2) : s);
  child.stdout!.on('data', (b: Buffer) => {
    out = clip(out + b.toString('utf8'));
    both = clip(both + b.toString('utf8'));
  });
  child.stderr!.on('data', (b: Buffer) => {
    err = clip(err + b.toString('utf8'));
    both = clip(both + b.toString('utf8'));
  });
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      resolveExit(exitInfo);
    });
    child.once('error', (e) => {
      both += `\n[spawn error] ${e.message}`;
      if (exitInfo === undefined) {
        exitInfo = { code: null, signal: null };
        live.delete(child);
        resolveExit(exitInfo);
      }
    });
  });
  const isRunning = (): boolean => exitInfo === undefined;
  const waitExit = async (ms: number): Promise<boolean> => {
    if (!isRunning()) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), ms);
    });
    try {
      return await Promise.race([exited.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
  const removeDir = (): void => {
    if (generatedDir && !opts.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitInfo> => {
    if (isRunning()) child.kill(signal);
    return exited;
  };
  const stop = async (graceMs = 5000): Promise<ExitInfo> => {
    if (isRunning()) {
      child.kill('SIGTERM');
      if (!(await waitExit(graceMs))) child.kill('SIGKILL');
    }
    const info = await exited;
    removeDir();
    return info;
  };
  const baseUrl = `http://${host}:${port}`;
  const member: RunningMember = {
    port,
    host,
    baseUrl,
    dataDir,
    pid: child.pid ?? -1,
    process: child,
    exited,
    stdout: () => out,
    stderr: () => err,
    diagnostics: (max = 4000) => both.slice(-max),
    isRunning,
    stop,
    kill,
  };

  const readyPath = opts.readyPath ?? '/healthz';
  const timeoutMs = opts.readyTimeoutMs ?? 30000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!isRunning()) {
      removeDir();
      throw new Error(`member exited during startup (code ${exitInfo?.code}, signal ${exitInfo?.signal}); output:\n${both.slice(-4000)}`);
    }
    try {
      const res = await fetch(baseUrl + readyPath, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return member;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop(1000);
      throw new Error(`member on ${baseUrl} not ready (${readyPath} 200) within ${timeoutMs} ms; output:\n${both.slice(-4000)}`);
    }
    await sleep(50);
  }
}
