#!/usr/bin/env node
/** The zgate command: `serve` runs a member; `openapi` prints the OpenAPI document. */
import { parseArgs } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import { isZgateError, ZgateError } from '../core/errors.js';
import { buildApp, VERSION } from '../api/http/app.js';
import type { ClusterControl } from '../api/http/cluster.js';
import { IDENTITY_FILE, identityExists } from '../cluster/identity.js';
import { parsePeers } from '../cluster/peers.js';
import type { RaftNode } from '../cluster/raft-node.js';
import { openClusterLog } from '../cluster/start.js';
import { DurableLocalLog } from '../log/durable-local-log.js';
import { LateLog, LocalLog } from '../log/local-log.js';
import { Member, type RecoveredState } from '../node/member.js';
import { SessionService } from '../node/session-service.js';
import { FileStorage, type Recovered, type Storage } from '../storage/index.js';
import { resolveServeConfig, SERVE_FLAGS, serveHelp, type ServeConfig } from './config.js';

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
  const peers = parsePeers(config.peers);
  const clustered = peers.size > 0;
  const advertisedHttp = config.advertiseHttp !== '' ? config.advertiseHttp : `http://${config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost}:${config.httpPort}`;
  const lateLog = new LateLog(config.id);
  const member = new Member(lateLog, {
    id: config.id,
    tree: { maxDataBytes: config.maxDataBytes },
    requestTimeoutMs: config.requestTimeoutMs,
    snapshotEntries: config.snapshotEntries,
    snapshotBytes: config.snapshotBytes,
  });
  member.markRecovering();
  const logRef: { log?: FastifyBaseLogger } = {};
  const sessions = new SessionService(
    member,
    {
      minTimeoutMs: config.minSessionTimeoutMs,
      maxTimeoutMs: config.maxSessionTimeoutMs,
      reaperIntervalMs: config.reaperIntervalMs,
      reaperMaxPerMinute: config.reaperMaxPerMinute,
    },
    undefined,
    (err, what) => logRef.log?.warn({ err }, `sessions: ${what} failed`),
  );
  // The replicated log arrives once storage is open; until then the cluster routes answer Unavailable.
  let raftLog: RaftNode | undefined;
  let proposalLatency: ((seconds: number) => void) | undefined;
  const opening = (): never => {
    throw new ZgateError('Unavailable', 'the member is still opening its storage');
  };
  const cluster: ClusterControl | undefined = clustered
    ? {
        cluster: () => raftLog?.cluster() ?? { id: config.id, leaderId: null, term: 0, commitIndex: 0, members: [] },
        addMember: async (id, peer, http) => (raftLog ?? opening()).addMember(id, peer, http),
        removeMember: async (id) => (raftLog ?? opening()).removeMember(id),
        metrics: () => raftLog?.metrics() ?? { term: 0, commitIndex: 0, isLeader: false, leaderChanges: 0, forwarded: 0, followerLag: [] },
        onProposalLatency: (fn) => {
          proposalLatency = fn;
        },
      }
    : undefined;
  const app = await buildApp({
    member,
    logLevel: config.logLevel,
    processMetrics: true,
    isReady: () => member.ready && (!clustered || (raftLog !== undefined && raftLog.isReady())),
    advertisedHttp,
    sessions,
    ...(cluster ? { cluster } : {}),
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
  logRef.log = log;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void (async () => {
      if (raftLog !== undefined) {
        // A leader hands over first, so that the cluster does not wait an election timeout.
        const to = await raftLog.transferLeadership(2000).catch(() => 0);
        if (to !== 0) log.info({ newLeader: to }, 'leadership transferred');
      }
      await app.close();
      await member.close();
      process.exit(0);
    })();
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
  const onFatal = (e: Error): void => {
    log.fatal({ err: e }, 'the write-ahead log is in an unknown state after a failed write; stopping (a restart recovers every acknowledged write)');
    process.exit(70);
  };
  if (clustered) {
    await serveClusterMember(config, peers, advertisedHttp, storage, recovered, member, lateLog, log, onFatal, (rl) => {
      raftLog = rl;
      if (proposalLatency !== undefined) rl.onProposalLatency(proposalLatency);
      // Session keepalives taken here go to the leader's expiry clock in batches.
      sessions.setForwarder({ forward: (ids) => rl.forwardKeepalives(ids) });
      rl.setKeepaliveReceiver((ids) => sessions.receiveKeepalives(ids));
    }).catch(async (e: unknown) => {
      log.fatal({ err: e }, `cannot start the cluster member: ${e instanceof Error ? e.message : String(e)}`);
      await storage.close().catch(() => undefined);
      throw e;
    });
    return;
  }
  if (identityExists(config.dataDir)) {
    await storage.close();
    throw new ZgateError('BadArguments', `data dir ${config.dataDir} belongs to a cluster member (it has a '${IDENTITY_FILE}' file): start it with its --id and --peers`);
  }
  const durable = new DurableLocalLog(storage, config.id, onFatal);
  await durable.init();
  lateLog.attach(durable);
  const state: RecoveredState = {
    entries: recovered.entries.map((e) => ({ index: e.index, data: e.data })),
  };
  if (recovered.snapshot) state.snapshot = { index: recovered.snapshot.meta.index, data: recovered.snapshot.data };
  await member.recover(state, (p) => log.info(p, 'recovery: applying the log'));
  log.info({ appliedZxid: member.appliedZxid, znodes: member.tree.nodeCount, snapshotIndex: recovered.snapshot?.meta.index ?? 0, entries: recovered.entries.length }, 'zgate member ready');
}

/**
 * A member of a replicated cluster: the Raft log over the storage, the snapshot restored into
 * the member, then the loop started (it hands the committed entries after the snapshot over).
 */
async function serveClusterMember(
  config: ServeConfig,
  peers: Map<number, string>,
  advertisedHttp: string,
  storage: Storage,
  recovered: Recovered,
  member: Member,
  lateLog: LateLog,
  log: FastifyBaseLogger,
  onFatal: (e: Error) => void,
  attached: (rl: RaftNode) => void,
): Promise<void> {
  const { raftLog } = await openClusterLog({
    id: config.id,
    peers,
    ...(config.peerPort !== undefined ? { peerPort: config.peerPort } : {}),
    join: config.join,
    http: advertisedHttp,
    dataDir: config.dataDir,
    storage,
    recovered,
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    requestTimeoutMs: config.requestTimeoutMs,
    readTimeoutMs: config.minZxidWaitMs,
    log,
    onFatal,
  });
  raftLog.setSnapshotInstaller((index, data) => member.installSnapshot(index, data));
  lateLog.attach(raftLog);
  attached(raftLog);
  const state: RecoveredState = { entries: [] };
  if (recovered.snapshot) state.snapshot = { index: recovered.snapshot.meta.index, data: recovered.snapshot.data };
  await member.recover(state);
  await raftLog.start();
  log.info(
    { id: config.id, peers: config.peers, snapshotIndex: recovered.snapshot?.meta.index ?? 0, entries: recovered.entries.length, commit: recovered.hardState.commit },
    'zgate cluster member started: the log after the snapshot is applied as it is confirmed committed; /readyz answers 200 once there is a leader and this member caught up',
  );
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
