/**
 * One member as a real process: `node <entry> serve --http 127.0.0.1:<port> --data-dir <dir>
 * ...`, ready when GET /healthz (or another path) answers 200. For the fault harness
 * (spawnMember) and, wrapped by test/support/member.ts, for the process-level tests: kill -9,
 * SIGSTOP/SIGCONT, a graceful stop, and a bounded tail of the output for reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { killAtExit } from '../../src/util/kill-at-exit.js';

export interface MemberProcessOptions {
  /** The CLI entry; default defaultEntry(cwd). */
  entry?: string;
  port: number;
  dataDir: string;
  /** Extra arguments after `serve --http ... --data-dir ...`. */
  args: string[];
  /** Extra environment (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  /** The child's working directory; default this process's. */
  cwd?: string;
  /** Readiness probe path; default /healthz. */
  readyPath?: string;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Characters kept of stdout, of stderr and of both: past this, each is cut to its last half. Default 400,000. */
  keepChars?: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface MemberProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  isRunning(): boolean;
  /** Sends `signal` and, unless it is SIGSTOP/SIGCONT, waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  stop(graceMs: number): Promise<ExitInfo>;
  /** The tail of stdout and stderr as they came. */
  output(maxChars?: number): string;
  stdout(): string;
  stderr(): string;
}

/**
 * The default entry point: `ZGATE_ENTRY` if set, else dist/cli/main.js under `cwd` (by default
 * the working directory: the repo root under jest and npm scripts).
 */
export function defaultEntry(cwd: string = process.cwd()): string {
  const env = process.env['ZGATE_ENTRY'];
  return env ? resolve(cwd, env) : resolve(cwd, 'dist', 'cli', 'main.js');
}

/**
 * A member with a deliberate defect (named by ZGATE_TEST_DEFECT), under the repo root `cwd`:
 * the checkers' own test that they can fail. Not compiled: it patches the product's dist/.
 */
export function defectiveEntry(cwd: string = process.cwd()): string {
  return resolve(cwd, 'tools', 'faults', 'defective-member.mjs');
}

/** The defective entry under the working directory (the repo root under jest and npm scripts). */
export const DEFECTIVE_MEMBER = defectiveEntry();

/** The entry (default: defaultEntry(cwd)), when it exists; throws when it was not built. */
export function builtEntry(entry: string | undefined, cwd?: string): string {
  const e = entry ?? defaultEntry(cwd);
  if (!existsSync(e)) throw new Error(`member: ${e} does not exist: build first (npm run build)`);
  return e;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the process (SIGKILLed if this one exits first); does not wait for it to be ready. */
export function launchMember(o: MemberProcessOptions): MemberProcess {
  const entry = builtEntry(o.entry, o.cwd);
  const child = spawn(process.execPath, [entry, 'serve', '--http', `127.0.0.1:${o.port}`, '--data-dir', o.dataDir, ...o.args], {
    cwd: o.cwd ?? process.cwd(),
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killAtExit(child);
  const keepChars = o.keepChars ?? 400_000;
  const clip = (s: string): string => (s.length > keepChars ? s.slice(-keepChars / 2) : s);
  let out = '';
  let err = '';
  let both = '';
  child.stdout!.on('data', (b: Buffer) => {
    out = clip(out + b.toString('utf8'));
    both = clip(both + b.toString('utf8'));
  });
  child.stderr!.on('data', (b: Buffer) => {
    err = clip(err + b.toString('utf8'));
    both = clip(both + b.toString('utf8'));
  });
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((res) => {
    child.once('exit', (code, signal) => {
      exitInfo ??= { code, signal };
      res(exitInfo);
    });
    child.once('error', (e) => {
      both += `\n[spawn error] ${e.message}`;
      exitInfo ??= { code: null, signal: null };
      res(exitInfo);
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
  return {
    pid: child.pid ?? -1,
    child,
    exited,
    isRunning,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (isRunning()) child.kill(signal);
      if (signal !== 'SIGSTOP' && signal !== 'SIGCONT') await exited;
    },
    signal(signal) {
      if (isRunning()) child.kill(signal);
    },
    async stop(graceMs: number) {
      if (isRunning()) {
        child.kill('SIGTERM');
        if (!(await waitExit(graceMs))) child.kill('SIGKILL');
      }
      return exited;
    },
    output: (max = 8000) => both.slice(-max),
    stdout: () => out,
    stderr: () => err,
  };
}

/**
 * Polls `GET <readyPath>` on the member's port until it answers 200: 'ready'; 'exited' if the
 * process ends first; 'timeout' after readyTimeoutMs. The caller decides what a failure costs.
 */
export async function awaitMemberReady(m: MemberProcess, o: Pick<MemberProcessOptions, 'port' | 'readyPath' | 'readyTimeoutMs'>): Promise<'ready' | 'exited' | 'timeout'> {
  const url = `http://127.0.0.1:${o.port}${o.readyPath ?? '/healthz'}`;
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (!m.isRunning()) return 'exited';
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return 'ready';
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) return 'timeout';
    await sleep(50);
  }
}

/** Starts a member and waits until it is ready; kills it and throws with its output if it isn't. */
export async function spawnMember(o: MemberProcessOptions): Promise<MemberProcess> {
  const m = launchMember(o);
  const ready = await awaitMemberReady(m, o);
  if (ready === 'ready') return m;
  if (ready === 'exited') throw new Error(`member on port ${o.port} exited during startup:\n${m.output(4000)}`);
  await m.kill('SIGKILL');
  throw new Error(`member on port ${o.port} not ready in time:\n${m.output(4000)}`);
}
