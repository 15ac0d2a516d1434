#!/usr/bin/env node
/** The zgate command: `serve` runs a member; `openapi` prints the OpenAPI document. */
import { parseArgs } from 'node:util';
import { isZgateError } from '../core/errors.js';
import { buildApp, VERSION } from '../api/http/app.js';
import { DurableLocalLog } from '../node/durable-log.js';
import { LateLog, LocalLog } from '../node/log.js';
import { Member, type RecoveredState } from '../node/member.js';
import { FileStorage } from '../storage/index.js';
import { resolveServeConfig, SERVE_FLAGS, serveHelp } from './config.js';

const USAGE = `zgate ${VERSION}: a ZooKeeper-style coordination service with a REST face

Usage: zgate <command> [options]

Commands:
  serve      run a member (zgate serve --help lists its options)
  openapi    print the OpenAPI document (JSON) to stdout
  help       this text
`;

async function serve(argv: string[]): Promise<void> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const f of SERVE_FLAGS) options[f.flag] = { type: f.kind === 'boolean' ? 'boolean' : 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true }) as { values: Record<string, string | boolean | undefined> };
  if (values.help === true) {
    console.log(serveHelp());
    return;
  }
  const flags: Record<string, string | undefined> = {};
  for (const f of SERVE_FLAGS) {
    const v = values[f.flag];
    if (typeof v === 'string') flags[f.flag] = v;
    else if (v === true) flags[f.flag] = 'true';
  }
  const config = resolveServeConfig(flags, process.env);
  if (config.peers !== '') {
    throw new Error('--peers: replication (Raft) is not built yet; this version runs a single member only');
  }
  const lateLog = new LateLog(config.id);
  const member = new Member(lateLog, {
    id: config.id,
    tree: { maxDataBytes: config.maxDataBytes },
    requestTimeoutMs: config.requestTimeoutMs,
    snapshotEntries: config.snapshotEntries,
    snapshotBytes: config.snapshotBytes,
  });
  member.markRecovering();
  const app = await buildApp({
    member,
    logLevel: config.logLevel,
    processMetrics: true,
    isReady: () => member.ready,
    advertisedHttp: `http://${config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost}:${config.httpPort}`,
    config: {
      maxDataBytes: config.maxDataBytes,
      maxDeleteNodes: config.maxDeleteNodes,
      minZxidWaitMs: config.minZxidWaitMs,
      corsOrigins: config.corsOrigins,
      watchHistoryEntries: config.watchHistoryEntries,
      watchHistoryBytes: config.watchHistoryBytes,
      heartbeatMs: config.heartbeatMs,
      watchQueueBytes: config.watchQueueBytes,
    },
  });
  const log = app.log;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void app
      .close()
      .then(() => member.close())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await app.listen({ host: config.httpHost, port: config.httpPort });
  log.info({ http: app.server.address(), dataDir: config.dataDir }, 'zgate member listening; recovering its state (/readyz answers 503 until done)');

  // Storage first (it takes the data dir's lock), then the tree from the snapshot and log.
  const opened = await FileStorage.open(config.dataDir, {
    segmentBytes: config.segmentBytes,
    keepSnapshots: config.keepSnapshots,
    repair: config.repair,
    onProgress: (p) => {
      if (p.elapsedMs >= 1000 || p.phase === 'done') log.info({ phase: p.phase, records: p.records, bytes: p.bytes, bytesTotal: p.bytesTotal, elapsedMs: p.elapsedMs }, 'recovery: reading the write-ahead log');
    },
  }).catch((e: unknown) => {
    log.fatal({ err: e }, `cannot open the data dir: ${e instanceof Error ? e.message : String(e)}`);
    throw e;
  });
  const { storage, recovered } = opened;
  if (recovered.repaired) log.warn({ repaired: recovered.repaired }, 'the write-ahead log was repaired');
  const durable = new DurableLocalLog(storage, config.id, (e) => {
    log.fatal({ err: e }, 'the write-ahead log is in an unknown state after a failed write; stopping (a restart recovers every acknowledged write)');
    process.exit(70);
  });
  await durable.init();
  lateLog.attach(durable);
  const state: RecoveredState = {
    entries: recovered.entries.map((e) => ({ index: e.index, data: e.data })),
  };
  if (recovered.snapshot) state.snapshot = { index: recovered.snapshot.meta.index, data: recovered.snapshot.data };
  await member.recover(state, (p) => log.info(p, 'recovery: applying the log'));
  log.info({ appliedZxid: member.appliedZxid, znodes: member.tree.nodeCount, snapshotIndex: recovered.snapshot?.meta.index ?? 0, entries: recovered.entries.length }, 'zgate member ready');
}

async function printOpenApi(): Promise<void> {
  const member = new Member(new LocalLog());
  const app = await buildApp({ member, logLevel: false });
  await app.ready();
  process.stdout.write(JSON.stringify(app.swagger(), null, 2) + '\n');
  await app.close();
  await member.close();
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'openapi':
      return printOpenApi();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    case '--version':
      console.log(VERSION);
      return;
    default:
      console.error(`zgate: unknown command '${command}'\n\n${USAGE}`);
      process.exit(2);
  }
}

main().catch((e: unknown) => {
  console.error(`zgate: ${isZgateError(e) || e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
