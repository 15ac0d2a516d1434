/**
 * Finding and starting Apache ZooKeeper servers on loopback, for the comparison benchmark's
 * 3-server ensemble (tools/bench/zk/ensemble.ts) and the conformance tests' standalone server
 * (test/support/zk-server.ts).
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
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { killAtExit } from '../util/kill-at-exit.js';
import { ZkConnection } from './connection.js';

export interface ZkInstall {
  java: string;
  classpath: string;
  /** Where it was found (for messages). */
  source: string;
  /** e.g. "3.8.0" */
  version: string;
}

export type ZkLocateResult = { ok: true; install: ZkInstall } | { ok: false; reason: string };

let cachedLocate: ZkLocateResult | undefined;

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
export function locateZooKeeper(): ZkLocateResult {
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

/** zoo.cfg's text: one `key=value` line per entry, in order. */
export function zooCfg(entries: Record<string, string | number>): string {
  return Object.entries(entries).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
}

export interface ZkSpawnOptions {
  /** standalone: ZooKeeperServerMain; quorum: QuorumPeerMain (zoo.cfg names the servers). */
  main: 'standalone' | 'quorum';
  cfgFile: string;
  cwd: string;
  /** After the common ones (IPv4, no AdminServer, slf4j warnings to stderr); later ones win. */
  jvmArgs: string[];
  /** How much of stdout + stderr output() keeps (the last this many characters). */
  keepChars: number;
}

export interface ZkProcess {
  readonly child: ChildProcess;
  /** The tail of everything the JVM wrote to stdout and stderr so far. */
  output(): string;
}

const MAIN_CLASS = {
  standalone: 'org.apache.zookeeper.server.ZooKeeperServerMain',
  quorum: 'org.apache.zookeeper.server.quorum.QuorumPeerMain',
} as const;

/** Starts one server JVM (SIGKILLed if this process exits first); a spawn error is noted in its output. */
export function spawnZooKeeper(install: ZkInstall, o: ZkSpawnOptions): ZkProcess {
  const jvmArgs = [
    '-Djava.net.preferIPv4Stack=true',
    '-Dzookeeper.admin.enableServer=false',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-Dorg.slf4j.simpleLogger.logFile=System.err',
    ...o.jvmArgs,
  ];
  const child = spawn(install.java, [...jvmArgs, '-cp', install.classpath, MAIN_CLASS[o.main], o.cfgFile], {
    cwd: o.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killAtExit(child);
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString('utf8');
    if (out.length > o.keepChars) out = out.slice(-o.keepChars);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}`)));
  return { child, output: () => out };
}

/**
 * True when the server on `port` completes a session handshake. A listening socket is not
 * enough: the server accepts before it has loaded its database and then drops the connection.
 */
export async function zkServes(port: number, host = '127.0.0.1'): Promise<boolean> {
  try {
    const c = await ZkConnection.connect({ host, port, connectTimeoutMs: 2000, sessionTimeoutMs: 4000, requestTimeoutMs: 2000 });
    await c.close();
    return true;
  } catch {
    return false;
  }
}
