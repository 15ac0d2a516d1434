/**
 * A 3-server Apache ZooKeeper ensemble on loopback for the comparison benchmark: one JVM per
 * server (QuorumPeerMain), each with its own zoo.cfg, data dir and myid under one temp dir,
 * default fsync (zookeeper.forceSync left at its default, yes), no AdminServer, only the `srvr`
 * four-letter word (used to find the leader).
 *
 * ZooKeeper is found like the conformance tests find it (test/support/zk-server.ts):
 * ZGATE_ZK_CLASSPATH, else ZOOKEEPER_HOME / ZK_HOME (release layout), else Debian's package
 * `zookeeper` (/usr/share/java/zookeeper.jar). Java: $JAVA_HOME/bin/java or java on PATH.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../children.js';
import { ZkBenchClient } from './client.js';

const HOST = '127.0.0.1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ZkInstall {
  java: string;
  classpath: string;
  source: string;
  version: string;
}

function findJava(): string | undefined {
  const home = process.env['JAVA_HOME'];
  if (home !== undefined && home !== '' && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'java'))) return join(dir, 'java');
  }
  return undefined;
}

function jarsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.jar'))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** Finds Java and ZooKeeper; throws with the reason when either is missing. */
export function locateZooKeeper(): ZkInstall {
  const java = findJava();
  if (java === undefined) throw new Error('no java found (JAVA_HOME/bin/java or java on PATH)');
  let cp: { classpath: string; source: string } | undefined;
  const explicit = process.env['ZGATE_ZK_CLASSPATH'];
  const home = process.env['ZOOKEEPER_HOME'] ?? process.env['ZK_HOME'];
  if (explicit !== undefined && explicit !== '') cp = { classpath: explicit, source: 'ZGATE_ZK_CLASSPATH' };
  else if (home !== undefined && home !== '') cp = { classpath: [...jarsIn(home), ...jarsIn(join(home, 'lib'))].join(delimiter), source: `ZOOKEEPER_HOME=${home}` };
  else if (existsSync('/usr/share/java/zookeeper.jar')) {
    const jars = ['/usr/share/java/zookeeper.jar'];
    if (existsSync('/usr/share/java/slf4j-simple.jar')) jars.push('/usr/share/java/slf4j-simple.jar');
    cp = { classpath: jars.join(delimiter), source: 'Debian package zookeeper' };
  }
  if (cp === undefined) throw new Error('Apache ZooKeeper not found: set ZGATE_ZK_CLASSPATH or ZOOKEEPER_HOME, or install the Debian package zookeeper');
  const v = spawnSync(java, ['-cp', cp.classpath, 'org.apache.zookeeper.version.VersionInfoMain'], { encoding: 'utf8', timeout: 30_000 });
  const m = /version\s+([0-9][^\s,]*)/i.exec(v.stdout ?? '');
  if (v.status !== 0 || m === null) throw new Error(`ZooKeeper classpath from ${cp.source} does not load (exit ${String(v.status)}): ${(v.stderr ?? '').trim().slice(-400)}`);
  return { java, ...cp, version: m[1]! };
}

/** Asks one server `srvr` and returns its Mode line (leader, follower, standalone), or undefined. */
export function zkMode(port: number, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = '';
    const s = netConnect({ host: HOST, port });
    const done = (v: string | undefined): void => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(undefined), timeoutMs);
    s.on('connect', () => s.write('srvr'));
    s.on('data', (b: Buffer) => (out += b.toString('utf8')));
    s.on('error', () => done(undefined));
    s.on('close', () => done(/Mode:\s*(\w+)/.exec(out)?.[1]));
  });
}

export class ZkEnsemble {
  private readonly procs = new Map<number, ChildProcess>();
  private readonly output = new Map<number, string>();

  private constructor(
    readonly install: ZkInstall,
    readonly root: string,
    readonly clientPorts: Map<number, number>,
  ) {}

  static async start(install: ZkInstall, timeoutMs = 60_000): Promise<ZkEnsemble> {
    const root = await mkdtemp(join(tmpdir(), 'zgate-bench-zk-'));
    const ids = [1, 2, 3];
    const clientPorts = new Map<number, number>();
    const servers: string[] = [];
    for (const id of ids) {
      clientPorts.set(id, await freePort(HOST));
      servers.push(`server.${id}=${HOST}:${await freePort(HOST)}:${await freePort(HOST)}`);
    }
    const e = new ZkEnsemble(install, root, clientPorts);
    process.once('exit', () => e.killAllNow());
    try {
      for (const id of ids) {
        const dir = join(root, String(id));
        await mkdir(join(dir, 'data'), { recursive: true });
        await writeFile(join(dir, 'data', 'myid'), `${id}\n`);
        const cfg = [
          'tickTime=2000',
          'initLimit=10',
          'syncLimit=5',
          `dataDir=${join(dir, 'data')}`,
          `clientPort=${clientPorts.get(id)!}`,
          `clientPortAddress=${HOST}`,
          'maxClientCnxns=0',
          'admin.enableServer=false',
          '4lw.commands.whitelist=srvr',
          ...servers,
        ];
        await writeFile(join(dir, 'zoo.cfg'), cfg.join('\n') + '\n');
        e.spawn(id);
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const [id, p] of e.procs) {
          if (p.exitCode !== null || p.signalCode !== null) throw new Error(`ZooKeeper server ${id} exited during startup:\n${e.output.get(id)?.slice(-3000) ?? ''}`);
        }
        if ((await e.leader()) !== undefined && (await e.allServe())) break;
        if (Date.now() > deadline) throw new Error(`ZooKeeper ensemble not serving within ${timeoutMs} ms:\n${[...e.output.values()].join('\n').slice(-3000)}`);
        await sleep(200);
      }
      return e;
    } catch (err) {
      await e.stop();
      throw err;
    }
  }

  private spawn(id: number): void {
    const dir = join(this.root, String(id));
    const jvmArgs = [
      '-Xmx512m',
      '-Djava.net.preferIPv4Stack=true',
      '-Dzookeeper.admin.enableServer=false',
      '-Dzookeeper.4lw.commands.whitelist=srvr',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-Dorg.slf4j.simpleLogger.logFile=System.err',
    ];
    const p = spawn(this.install.java, [...jvmArgs, '-cp', this.install.classpath, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(dir, 'zoo.cfg')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.output.set(id, '');
    const keep = (b: Buffer): void => {
      this.output.set(id, ((this.output.get(id) ?? '') + b.toString('utf8')).slice(-20_000));
    };
    p.stdout?.on('data', keep);
    p.stderr?.on('data', keep);
    p.on('error', (err) => keep(Buffer.from(`spawn error: ${err.message}`)));
    this.procs.set(id, p);
  }

  private async allServe(): Promise<boolean> {
    for (const port of this.clientPorts.values()) {
      try {
        const c = await ZkBenchClient.connect({ port, connectTimeoutMs: 2000, sessionTimeoutMs: 4000 });
        await c.close();
      } catch {
        return false;
      }
    }
    return true;
  }

  /** The id of the server whose `srvr` says leader, among the running ones. */
  async leader(): Promise<number | undefined> {
    for (const [id, port] of this.clientPorts) {
      if (!this.isRunning(id)) continue;
      if ((await zkMode(port)) === 'leader') return id;
    }
    return undefined;
  }

  isRunning(id: number): boolean {
    const p = this.procs.get(id);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  pid(id: number): number | undefined {
    return this.procs.get(id)?.pid;
  }

  /** kill -9 of server `id`; resolves when it has exited. */
  async kill9(id: number): Promise<void> {
    const p = this.procs.get(id);
    if (p === undefined || !this.isRunning(id)) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  private killAllNow(): void {
    for (const id of this.procs.keys()) if (this.isRunning(id)) this.procs.get(id)!.kill('SIGKILL');
  }

  /** Stops every server (SIGTERM, SIGKILL after 5 s) and removes the temp dir. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.entries()].map(async ([id, p]) => {
        if (!this.isRunning(id)) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }),
    );
    await rm(this.root, { recursive: true, force: true });
  }
}
