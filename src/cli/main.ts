#!/usr/bin/env node
/** The zgate command: `serve` runs a member; `openapi` prints the OpenAPI document. */
import { parseArgs } from 'node:util';
import { isZgateError } from '../core/errors.js';
import { VERSION } from '../api/http/app.js';
import { resolveServeConfig, SERVE_FLAGS, serveHelp } from '../server/config.js';
import { openApiDocument } from '../server/openapi.js';
import { startMember } from '../server/start.js';

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
  // Persistence failed: the log's state on disk is unknown, so the process stops (a restart recovers).
  const running = await startMember(config, { onFatal: () => process.exit(70) });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'stopping');
    void running.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => running.reloadTls());
  await running.started;
}

async function printOpenApi(): Promise<void> {
  process.stdout.write(JSON.stringify(await openApiDocument(), null, 2) + '\n');
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
