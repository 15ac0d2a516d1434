/**
 * Starts a real Apache ZooKeeper server (standalone, ZooKeeperServerMain) for conformance tests.
 *
 * Locating it, first match wins:
 * 1. `ZGATE_ZK_CLASSPATH`: an explicit Java classpath (`:`-separated jars/dirs);
 * 2. `ZOOKEEPER_HOME` (or `ZK_HOME`): a release tarball layout, `$ZOOKEEPER_HOME/lib/*.jar`
 *    plus `$ZOOKEEPER_HOME/*.jar`;
 * 3. Debian's package `zookeeper` (libzookeeper-java): `/usr/share/java/zookeeper.jar`, whose
 *    manifest Class-Path names its dependency jars in /usr/share/java.
 * `slf4j-simple.jar` is appended when found next to it, so the server's warnings reach stderr.
 * Java is `$JAVA_HOME/bin/java` or `java` on PATH. The classpath is proven by running
 * `org.apache.zookeeper.version.VersionInfoMain` once, which also gives the version.
 *
 * The server listens on 127.0.0.1 only (clientPortAddress), on a free port, with a fresh temp
 * data dir, no AdminServer, no four-letter words beyond the `srvr` that ZooKeeper always keeps,
 * TTL nodes enabled (zookeeper.extendedTypesEnabled=true) and the container/TTL reaper slowed
 * down (znode.container.checkIntervalMs, default 1 h here) so it can't delete nodes in the middle
 * of a comparison.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { getFreePort, LOOPBACK } from './ports.js';
import { ZkClient } from './zk-client.js';

export interface ZooKeeperInstall {
  java: string;
  classpath: string;
  /** Where it was found (for messages). */
  source: string;
  /** e.g. "3.8.0" */
  version: string;
}

export type LocateResult = { ok: true; install: ZooKeeperInstall } | { ok: false; reason: string };

let cachedLocate: LocateResult | undefined;

function findJava(): string | undefined {
  const home = process.env['JAVA_HOME'];
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'java'))) return join(dir, 'java');
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

function candidateClasspath(): { classpath: string; source: string } | undefined {
  const explicit = process.env['ZGATE_ZK_CLASSPATH'];
  if (explicit) return { classpath: explicit, source: 'ZGATE_ZK_CLASSPATH' };
  const home = process.env['ZOOKEEPER_HOME'] ?? process.env['ZK_HOME'];
  if (home) {
    const jars = [...jarsIn(home), ...jarsIn(join(home, 'lib'))];
    if (jars.some((j) => /zookeeper-\d.*\.jar$/.test(j) || j.endsWith('zookeeper.jar'))) {
      return { classpath: jars.join(delimiter), source: `ZOOKEEPER_HOME=${home}` };
    }
  }
  const debian = '/usr/share/java/zookeeper.jar';
  if (existsSync(debian)) {
    const jars = [debian];
    // Its manifest lists the dependencies, but not an slf4j binding; add one for log output.
    const binding = '/usr/share/java/slf4j-simple.jar';
    if (existsSync(binding)) jars.push(binding);
    return { classpath: jars.join(delimiter), source: `${debian} (Debian package zookeeper)` };
  }
  return undefined;
}

/** Finds Java and ZooKeeper's jars; the answer is cached for the process. */
export function locateZooKeeper(): LocateResult {
  if (cachedLocate) return cachedLocate;
  const java = findJava();
  if (!java) {
    cachedLocate = { ok: false, reason: 'no java found (JAVA_HOME/bin/java or java on PATH)' };
    return cachedLocate;
  }
  const cp = candidateClasspath();
  if (!cp) {
    cachedLocate = {
      ok: false,
      reason: 'Apache ZooKeeper not found: set ZGATE_ZK_CLASSPATH or ZOOKEEPER_HOME, or install the Debian package zookeeper',
    };
    return cachedLocate;
  }
  const v = spawnSync(java, ['-cp', cp.classpath, 'org.apache.zookeeper.version.VersionInfoMain'], { encoding: 'utf8', timeout: 30000 });
  const m = /version\s+([0-9][^\s,]*)/i.exec(v.stdout ?? '');
  if (v.status !== 0 || !m) {
    cachedLocate = {
      ok: false,
      reason: `ZooKeeper classpath from ${cp.source} does not load (exit ${v.status}): ${(v.stderr ?? '').trim().slice(-400)}`,
    };
    return cachedLocate;
  }
  cachedLocate = { ok: true, install: { java, classpath: cp.classpath, source: cp.source, version: m[1]! } };
  return cachedLocate;
}

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
  /** Everything the JVM wrote to stdout and stderr so far. */
  output(): string;
  /** A new session against this server. */
  client(sessionTimeoutMs?: number): Promise<ZkClient>;
  /** SIGTERM, then SIGKILL after `graceMs`; removes the data dir unless keepDataDir. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
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
  live.delete(child);
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
  installExitHook();
  const port = await getFreePort();
  const root = mkdtempSync(join(tmpdir(), 'zgate-zk-'));
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  const cfg: Record<string, string | number> = {
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
  };
  const cfgFile = join(root, 'zoo.cfg');
  writeFileSync(cfgFile, Object.entries(cfg).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const jvmArgs = [
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.net.preferIPv4Stack=true',
    '-Dzookeeper.extendedTypesEnabled=true',
    '-Dzookeeper.admin.enableServer=false',
    '-Dzookeeper.4lw.commands.whitelist=',
    `-Dznode.container.checkIntervalMs=${opts.containerCheckIntervalMs ?? 3_600_000}`,
    '-Dzookeeper.forceSync=no',
    '-Dzookeeper.preAllocSize=1024',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-Dorg.slf4j.simpleLogger.logFile=System.err',
    ...(opts.jvmArgs ?? []),
  ];
  const child = spawn(install.java, [...jvmArgs, '-cp', install.classpath, 'org.apache.zookeeper.server.ZooKeeperServerMain', cfgFile], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
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
        `ZooKeeper exited during startup (${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`}):\n${out.slice(-4000)}`,
      );
    }
    try {
      // A listening socket is not enough: the server accepts before it has loaded its database
      // and then drops the connection. A completed handshake means it serves sessions.
      const c = await ZkClient.connect({ port, connectTimeoutMs: 2000, sessionTimeoutMs: 4000 });
      await c.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await cleanup();
        throw new Error(`ZooKeeper did not accept a session on ${LOOPBACK}:${port} within ${opts.startTimeoutMs ?? 45000} ms:\n${out.slice(-4000)}`);
      }
      await sleep(200);
    }
  }

  return {
    host: LOOPBACK,
    port,
    dataDir,
    version: install.version,
    pid: child.pid!,
    output: () => out,
    client: (sessionTimeoutMs = 30000) => ZkClient.connect({ port, sessionTimeoutMs }),
    stop: async (graceMs = 5000) => {
      await stopChild(child, graceMs);
      if (!opts.keepDataDir) rmSync(root, { recursive: true, force: true });
    },
  };
}
