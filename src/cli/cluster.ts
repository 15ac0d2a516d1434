#!/usr/bin/env node
/**
 * `npm run cluster`: three members of one cluster on loopback, in the foreground, for trying
 * replication and failover by hand. HTTP on 8081-8083, peers on 9081-9083, data in
 * ./data/cluster/N; each member's log lines are prefixed with its id (JSON lines are shown
 * as text). Ctrl-C stops them all (gracefully). `kill -9` a member's pid (printed at start)
 * to try failover; restart it with the command printed next to it.
 *
 * Options: --members N (default 3), --http-base P (8081), --peer-base P (9081),
 * --data-dir D (./data/cluster); anything after `--` goes to every member's `serve`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN = join(HERE, 'main.js');
// Colored prefixes on a terminal only.
const TTY = process.stdout.isTTY === true;
const COLORS = TTY ? ['\x1b[36m', '\x1b[33m', '\x1b[35m', '\x1b[32m', '\x1b[34m', '\x1b[31m', '\x1b[37m'] : [''];
const RESET = TTY ? '\x1b[0m' : '';
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function pretty(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    const { level, time, msg, pid: _pid, hostname: _host, raft: _raft, ...rest } = v;
    const t = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `${t} ${(LEVELS[level as number] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${extra}`;
  } catch {
    return line;
  }
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: {
      members: { type: 'string', default: '3' },
      'http-base': { type: 'string', default: '8081' },
      'peer-base': { type: 'string', default: '9081' },
      'data-dir': { type: 'string', default: './data/cluster' },
      help: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (values.help === true) {
    console.log('Usage: npm run cluster [-- --members N --http-base 8081 --peer-base 9081 --data-dir ./data/cluster [-- serve options]]');
    return;
  }
  const n = Number(values.members);
  const httpBase = Number(values['http-base']);
  const peerBase = Number(values['peer-base']);
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new Error('--members must be 1..9');
  const dataRoot = resolve(values['data-dir']);
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const peers = ids.map((id) => `${id}=127.0.0.1:${peerBase + id - 1}`).join(',');
  const children = new Map<number, ChildProcess>();
  let stopping = false;

  const argsOf = (id: number): string[] => [
    MAIN,
    'serve',
    '--http',
    `127.0.0.1:${httpBase + id - 1}`,
    '--data-dir',
    join(dataRoot, String(id)),
    '--id',
    String(id),
    '--peers',
    peers,
    ...positionals,
  ];

  const start = (id: number): void => {
    mkdirSync(join(dataRoot, String(id)), { recursive: true });
    const child = spawn(process.execPath, argsOf(id), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.set(id, child);
    const prefix = `${COLORS[(id - 1) % COLORS.length]}[member ${id}]${RESET} `;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(prefix + pretty(line) + '\n'));
    }
    console.log(`${prefix}pid ${child.pid}: http://127.0.0.1:${httpBase + id - 1}  (restart by hand: node ${argsOf(id).join(' ')})`);
    child.on('exit', (code, signal) => {
      process.stdout.write(`${prefix}exited (${signal ?? `code ${code}`})${stopping ? '' : ': the others go on; restart it with the command above'}\n`);
      if (children.get(id) === child) children.delete(id);
      if (stopping && children.size === 0) process.exit(0);
    });
  };

  console.log(`zgate: a ${n}-member cluster on loopback; data in ${dataRoot}; Ctrl-C stops it.`);
  console.log(`  try: curl -s localhost:${httpBase}/v1/cluster; curl -s -X PUT localhost:${httpBase + 1}/v1/znodes/hello --data-binary hi`);
  for (const id of ids) start(id);

  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('zgate: stopping every member (SIGTERM; SIGKILL after 5 s)');
    if (children.size === 0) process.exit(0);
    for (const c of children.values()) c.kill('SIGTERM');
    setTimeout(() => {
      for (const c of children.values()) c.kill('SIGKILL');
      process.exit(1);
    }, 5000).unref();
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
}

try {
  main();
} catch (e) {
  console.error(`zgate cluster: ${(e as Error).message}`);
  process.exit(2);
}
