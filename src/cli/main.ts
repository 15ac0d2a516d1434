#!/usr/bin/env node
/** The zgate command: `serve` runs a member; `openapi` prints the OpenAPI document. */
import { parseArgs } from 'node:util';
import { isZgateError } from '../core/errors.js';
import { buildApp, VERSION } from '../api/http/app.js';
import { LocalLog } from '../node/log.js';
import { Member } from '../node/member.js';
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
  for (const f of SERVE_FLAGS) options[f.flag] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true }) as { values: Record<string, string | boolean | undefined> };
  if (values.help === true) {
    console.log(serveHelp());
    return;
  }
  const flags: Record<string, string | undefined> = {};
  for (const f of SERVE_FLAGS) {
    const v = values[f.flag];
    if (typeof v === 'string') flags[f.flag] = v;
  }
  const config = resolveServeConfig(flags, process.env);
  if (config.peers !== '') {
    throw new Error('--peers: replication (Raft) is not built yet; this version runs a single member only');
  }
  const member = new Member(new LocalLog(), { id: config.id, tree: { maxDataBytes: config.maxDataBytes }, requestTimeoutMs: config.requestTimeoutMs });
  const app = await buildApp({
    member,
    logLevel: config.logLevel,
    processMetrics: true,
    advertisedHttp: `http://${config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost}:${config.httpPort}`,
    config: {
      maxDataBytes: config.maxDataBytes,
      maxDeleteNodes: config.maxDeleteNodes,
      minZxidWaitMs: config.minZxidWaitMs,
      corsOrigins: config.corsOrigins,
    },
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping');
    void app
      .close()
      .then(() => member.close())
      .then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await app.listen({ host: config.httpHost, port: config.httpPort });
  app.log.info({ http: app.server.address(), dataDir: config.dataDir, storage: 'memory' }, 'zgate member serving (state in memory until the storage issue lands)');
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
