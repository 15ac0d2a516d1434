/**
 * docker-compose.yml: valid for `docker-compose config` (skipped with a message where the
 * Debian package docker-compose is missing; there is no Docker engine here), and its three
 * members' flags are accepted by the member's own flag parser and describe one cluster.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveServeConfig } from '../../src/server/config.js';
import { parsePeers } from '../../src/cluster/peers.js';

const root = join(__dirname, '..', '..');
const file = join(root, 'docker-compose.yml');
const hasCompose = spawnSync('docker-compose', ['--version']).status === 0;

(hasCompose ? test : test.skip)('docker-compose config accepts docker-compose.yml (three services)', () => {
  const check = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { cwd: root, encoding: 'utf8' });
  expect(check.stderr).toBe('');
  expect(check.status).toBe(0);
  const services = spawnSync('docker-compose', ['-f', file, 'config', '--services'], { cwd: root, encoding: 'utf8' });
  expect(services.stdout.trim().split('\n').sort()).toEqual(['zgate1', 'zgate2', 'zgate3']);
});
if (!hasCompose) console.warn('compose.test: docker-compose is not installed (apt-get install docker-compose): the config check is skipped');

test("the members' flags parse, and they agree on one cluster", () => {
  const text = readFileSync(file, 'utf8');
  const commands = [...text.matchAll(/^\s+command: (\[.*\])$/gm)].map((m) => JSON.parse(m[1]!) as string[]);
  expect(commands).toHaveLength(3);
  const configs = commands.map((argv) => {
    const flags: Record<string, string> = {};
    for (let i = 0; i < argv.length; i += 2) flags[argv[i]!.replace(/^--/, '')] = argv[i + 1]!;
    return resolveServeConfig(flags, {});
  });
  expect(configs.map((c) => c.id)).toEqual([1, 2, 3]);
  for (const c of configs) {
    expect(c.peers).toBe(configs[0]!.peers);
    expect(parsePeers(c.peers).has(c.id)).toBe(true);
    expect(c.httpHost).toBe('0.0.0.0');
    expect(c.dataDir).toBe('/data');
  }
  expect([...parsePeers(configs[0]!.peers).keys()]).toEqual([1, 2, 3]);
});
