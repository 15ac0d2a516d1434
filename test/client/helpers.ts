/**
 * Shared by the client tests: clients that are closed after each test, bounded polling, a
 * WebSocket factory whose connections a test can cut and refuse (to make the client
 * reconnect at a chosen moment), and child processes that run the built client (dist/) so a
 * test can kill -9 a client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ZgateClient, type ClientOptions, type WebSocketLike } from '../../src/client/index.js';
import { metricsText } from '../support/http.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms until it holds (returns its value) or `timeoutMs` passes (throws with `what`). */
export async function waitFor<T>(cond: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Clients made by a test file, closed in afterEach/afterAll. */
export class Clients {
  private readonly all: ZgateClient[] = [];

  make(members: string | string[], options: ClientOptions = {}): ZgateClient {
    const c = new ZgateClient(members, { inOrder: true, ...options });
    this.all.push(c);
    return c;
  }

  async connect(members: string | string[], options: ClientOptions = {}): Promise<ZgateClient> {
    const c = this.make(members, options);
    await c.connect();
    return c;
  }

  async closeAll(): Promise<void> {
    const all = this.all.splice(0);
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}

/**
 * A WebSocket factory for the client whose sockets the test controls: cut() drops every open
 * socket (as a member that died would), and while refusing is set new sockets go to a port
 * nobody listens on, so the client keeps retrying until the test lets it through.
 */
export class ControlledSockets {
  readonly open = new Set<WebSocket>();
  refusing = false;
  opened = 0;

  readonly factory = (url: string): WebSocketLike => {
    const ws = new WebSocket(this.refusing ? 'ws://127.0.0.1:9/v1/ws' : url);
    ws.on('open', () => {
      this.opened++;
      this.open.add(ws);
    });
    ws.on('close', () => this.open.delete(ws));
    return ws as unknown as WebSocketLike;
  };

  cut(): void {
    for (const ws of this.open) ws.terminate();
  }
}

/** A child process running test/client/contender.mjs with the built client. */
export interface Contender {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching `re`. */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(): Promise<void>;
  stderr(): string;
}

export function spawnContender(args: string[]): Contender {
  const child = spawn(process.execPath, [join(__dirname, 'contender.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    lines,
    line: (re, timeoutMs = 20_000) => waitFor(() => lines.find((l) => re.test(l)), `a line ${re} from the contender (stdout ${JSON.stringify(lines)}, stderr ${err.slice(-2000)})`, timeoutMs),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stderr: () => err,
  };
}

/** The sum of a gauge over members' /metrics (e.g. zgate_watches). */
export async function metricSum(bases: string[], name: string): Promise<number> {
  let sum = 0;
  for (const base of bases) {
    try {
      const text = await metricsText(base, 2000);
      const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
      if (m) sum += Number(m[1]);
    } catch {
      // a member that is down has no watches
    }
  }
  return sum;
}
