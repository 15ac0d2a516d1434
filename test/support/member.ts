/**
 * Runs a zgate member as a real process for process-level tests:
 * `node dist/cli/main.js serve --http 127.0.0.1:<port> --data-dir <dir> [...args]`.
 *
 * dist/ is built by `npm test` before jest starts (scripts/run-tests.mjs). The member is ready
 * when `GET /healthz` answers 200. Its stdout and stderr are kept (bounded) for diagnostics.
 * stop() sends SIGTERM and falls back to SIGKILL; kill() is for crash tests. The process
 * itself is tools/faults/process.ts's, as the fault harness runs it.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awaitMemberReady, builtEntry, defaultEntry, launchMember, type ExitInfo } from '../../tools/faults/process.js';
import { getFreePort, LOOPBACK } from './ports.js';

export { defaultEntry, type ExitInfo };

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

/** Characters kept of stdout, of stderr and of both (each cut to its last half past this). */
const KEEP_CHARS = 200_000;

/** True when the built CLI exists. */
export function memberBuilt(entry: string = defaultEntry()): boolean {
  return existsSync(entry);
}

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
  const entry = builtEntry(opts.entry, opts.cwd);
  const port = opts.port ?? (await getFreePort());
  const generatedDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'zgate-member-'));
  const host = LOOPBACK;
  const m = launchMember({ entry, port, dataDir, args: opts.args ?? [], env: opts.env, cwd: opts.cwd, keepChars: KEEP_CHARS });
  const removeDir = (): void => {
    if (generatedDir && !opts.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const stop = async (graceMs = 5000): Promise<ExitInfo> => {
    const info = await m.stop(graceMs);
    removeDir();
    return info;
  };
  const baseUrl = `http://${host}:${port}`;
  const member: RunningMember = {
    port,
    host,
    baseUrl,
    dataDir,
    pid: m.pid,
    process: m.child,
    exited: m.exited,
    stdout: m.stdout,
    stderr: m.stderr,
    diagnostics: (max = 4000) => m.output(max),
    isRunning: m.isRunning,
    stop,
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      m.signal(signal);
      return m.exited;
    },
  };

  const readyPath = opts.readyPath ?? '/healthz';
  const timeoutMs = opts.readyTimeoutMs ?? 30000;
  const ready = await awaitMemberReady(m, { port, readyPath, readyTimeoutMs: timeoutMs });
  if (ready === 'ready') return member;
  if (ready === 'exited') {
    const exitInfo = await m.exited;
    removeDir();
    throw new Error(`member exited during startup (code ${exitInfo.code}, signal ${exitInfo.signal}); output:\n${m.output(4000)}`);
  }
  await stop(1000);
  throw new Error(`member on ${baseUrl} not ready (${readyPath} 200) within ${timeoutMs} ms; output:\n${m.output(4000)}`);
}
