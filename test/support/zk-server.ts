/**
 * Starts a real Apache ZooKeeper server (standalone, ZooKeeperServerMain) for conformance tests.
 * It is found (and its version learnt) as src/zk/server.ts describes: ZGATE_ZK_CLASSPATH, else
 * ZOOKEEPER_HOME / ZK_HOME, else Debian's package `zookeeper`; Java from JAVA_HOME or PATH.
 *
 * The server listens on 127.0.0.1 only (clientPortAddress), on a free port, with a fresh temp
 * data dir, no AdminServer, no four-letter words beyond the `srvr` that ZooKeeper always keeps,
 * TTL nodes enabled (zookeeper.extendedTypesEnabled=true) and the container/TTL reaper slowed
 * down (znode.container.checkIntervalMs, default 1 h here) so it can't delete nodes in the middle
 * of a comparison.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateZooKeeper, spawnZooKeeper, zkServes, zooCfg, type ZkInstall, type ZkLocateResult } from '../../src/zk/server.js';
import { getFreePort, LOOPBACK } from './ports.js';
import { ZkClient } from './zk-client.js';

export { locateZooKeeper };
export type ZooKeeperInstall = ZkInstall;
export type LocateResult = ZkLocateResult;

export interface ZkServerOptions {
  /** Extra JVM arguments (e.g. -Dznode.container.checkIntervalMs=100). Later ones win. */
  jvmArgs?: string[];
  /** Extra zoo.cfg lines, `key=value`. */
  config?: Record<string, string | number>;
  /** How long to wait for the server to answer a handshake. Default 45 s. */
  startTimeoutMs?: number;
  /** Keep the data dir after stop (for post-mortems). */
  keepDataDir?: boolean;
  /** Container/TTL reaper period. Default 3,600,000 ms (effectively off during a test). */
  containerCheckIntervalMs?: number;
}

export interface ZkServer {
  host: string;
  port: number;
  dataDir: string;
  version: string;
  pid: number;
  /** What the JVM wrote to stdout and stderr so far (the last 200,000 characters). */
  output(): string;
  /** A new session against this server. */
  client(sessionTimeoutMs?: number): Promise<ZkClient>;
  /** SIGTERM, then SIGKILL after `graceMs`; removes the data dir unless keepDataDir. */
  stop(graceMs?: number): Promise<void>;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(t);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    if (!(await waitForExit(child, graceMs))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts ZooKeeper; throws (with the JVM's output) if it doesn't come up. */
export async function startZooKeeper(opts: ZkServerOptions = {}): Promise<ZkServer> {
  const located = locateZooKeeper();
  if (!located.ok) throw new Error(located.reason);
  const { install } = located;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(install, opts);
    } catch (e) {
      lastError = e as Error;
      // Only a lost race for the port is worth another try.
      if (!/Address already in use|BindException/.test(lastError.message)) throw lastError;
    }
  }
  throw lastError!;
}

async function startOnce(install: ZooKeeperInstall, opts: ZkServerOptions): Promise<ZkServer> {
  const port = await getFreePort();
  const root = mkdtempSync(join(tmpdir(), 'zgate-zk-'));
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  const cfgFile = join(root, 'zoo.cfg');
  writeFileSync(
    cfgFile,
    zooCfg({
      tickTime: 2000,
      initLimit: 10,
      syncLimit: 5,
      dataDir,
      clientPort: port,
      clientPortAddress: LOOPBACK,
      maxClientCnxns: 0,
      'admin.enableServer': 'false',
      '4lw.commands.whitelist': '',
      ...opts.config,
    }),
  );
  const zk = spawnZooKeeper(install, {
    main: 'standalone',
    cfgFile,
    cwd: root,
    jvmArgs: [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Dzookeeper.extendedTypesEnabled=true',
      '-Dzookeeper.4lw.commands.whitelist=',
      `-Dznode.container.checkIntervalMs=${opts.containerCheckIntervalMs ?? 3_600_000}`,
      '-Dzookeeper.forceSync=no',
      '-Dzookeeper.preAllocSize=1024',
      ...(opts.jvmArgs ?? []),
    ],
    keepChars: 200_000,
  });
  const { child } = zk;
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });

  const cleanup = async (): Promise<void> => {
    await stopChild(child, 5000);
    if (!opts.keepDataDir) rmSync(root, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 45000);
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await cleanup();
      throw new Error(
        `ZooKeeper exited during startup (${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`}):\n${zk.output().slice(-4000)}`,
      );
    }
    if (await zkServes(port)) break; // a completed handshake: it serves sessions
    if (Date.now() > deadline) {
      await cleanup();
      throw new Error(`ZooKeeper did not accept a session on ${LOOPBACK}:${port} within ${opts.startTimeoutMs ?? 45000} ms:\n${zk.output().slice(-4000)}`);
    }
    await sleep(200);
  }

  return {
    host: LOOPBACK,
    port,
    dataDir,
    version: install.version,
    pid: child.pid!,
    output: zk.output,
    client: (sessionTimeoutMs = 30000) => ZkClient.connect({ port, sessionTimeoutMs }),
    stop: async (graceMs = 5000) => {
      await stopChild(child, graceMs);
      if (!opts.keepDataDir) rmSync(root, { recursive: true, force: true });
    },
  };
}
