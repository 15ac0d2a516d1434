/**
 * A 3-server Apache ZooKeeper ensemble on loopback for the comparison benchmark: one JVM per
 * server (QuorumPeerMain), each with its own zoo.cfg, data dir and myid under one temp dir,
 * default fsync (zookeeper.forceSync left at its default, yes), no AdminServer, only the `srvr`
 * four-letter word (used to find the leader).
 *
 * ZooKeeper is found like the conformance tests find it (src/zk/server.ts):
 * ZGATE_ZK_CLASSPATH, else ZOOKEEPER_HOME / ZK_HOME (release layout), else Debian's package
 * `zookeeper` (/usr/share/java/zookeeper.jar). Java: $JAVA_HOME/bin/java or java on PATH.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateZooKeeper as locate, spawnZooKeeper, zkServes, zooCfg, type ZkInstall, type ZkProcess } from '../../../src/zk/server.js';
import { freePort } from '../children.js';

export type { ZkInstall };

const HOST = '127.0.0.1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Finds Java and ZooKeeper; throws with the reason when either is missing. */
export function locateZooKeeper(): ZkInstall {
  const located = locate();
  if (!located.ok) throw new Error(located.reason);
  return located.install;
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
  private readonly servers = new Map<number, ZkProcess>();

  private constructor(
    readonly install: ZkInstall,
    readonly root: string,
    readonly clientPorts: Map<number, number>,
  ) {}

  static async start(install: ZkInstall, timeoutMs = 60_000): Promise<ZkEnsemble> {
    const root = await mkdtemp(join(tmpdir(), 'zgate-bench-zk-'));
    const ids = [1, 2, 3];
    const clientPorts = new Map<number, number>();
    const servers: Record<string, string> = {};
    for (const id of ids) {
      clientPorts.set(id, await freePort(HOST));
      servers[`server.${id}`] = `${HOST}:${await freePort(HOST)}:${await freePort(HOST)}`;
    }
    const e = new ZkEnsemble(install, root, clientPorts);
    try {
      for (const id of ids) {
        const dir = join(root, String(id));
        await mkdir(join(dir, 'data'), { recursive: true });
        await writeFile(join(dir, 'data', 'myid'), `${id}\n`);
        const cfg = zooCfg({
          tickTime: 2000,
          initLimit: 10,
          syncLimit: 5,
          dataDir: join(dir, 'data'),
          clientPort: clientPorts.get(id)!,
          clientPortAddress: HOST,
          maxClientCnxns: 0,
          'admin.enableServer': 'false',
          '4lw.commands.whitelist': 'srvr',
          ...servers,
        });
        await writeFile(join(dir, 'zoo.cfg'), cfg);
        e.servers.set(id, spawnZooKeeper(install, { main: 'quorum', cfgFile: join(dir, 'zoo.cfg'), cwd: dir, jvmArgs: ['-Xmx512m', '-Dzookeeper.4lw.commands.whitelist=srvr'], keepChars: 20_000 }));
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const id of e.servers.keys()) {
          if (!e.isRunning(id)) throw new Error(`ZooKeeper server ${id} exited during startup:\n${e.servers.get(id)!.output().slice(-3000)}`);
        }
        if ((await e.leader()) !== undefined && (await e.allServe())) break;
        if (Date.now() > deadline) throw new Error(`ZooKeeper ensemble not serving within ${timeoutMs} ms:\n${[...e.servers.values()].map((z) => z.output()).join('\n').slice(-3000)}`);
        await sleep(200);
      }
      return e;
    } catch (err) {
      await e.stop();
      throw err;
    }
  }

  private async allServe(): Promise<boolean> {
    for (const port of this.clientPorts.values()) if (!(await zkServes(port, HOST))) return false;
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
    const p = this.servers.get(id)?.child;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  pid(id: number): number | undefined {
    return this.servers.get(id)?.child.pid;
  }

  /** kill -9 of server `id`; resolves when it has exited. */
  async kill9(id: number): Promise<void> {
    const p = this.servers.get(id)?.child;
    if (p === undefined || !this.isRunning(id)) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  /** Stops every server (SIGTERM, SIGKILL after 5 s) and removes the temp dir. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.servers.entries()].map(async ([id, { child: p }]) => {
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
