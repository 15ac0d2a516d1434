/**
 * The compiled storage module for child processes. Uses dist/storage/index.js when it is newer
 * than every source it is built from (`npx tsc -p tsconfig.build.json` makes it); otherwise
 * compiles src/storage alone into a temp dir (so these tests never run stale code and do not
 * depend on the rest of the project building).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

function newestSource(): number {
  let newest = 0;
  for (const d of ['src/storage', 'src/util', 'src/core']) {
    for (const f of readdirSync(join(root, d))) newest = Math.max(newest, statSync(join(root, d, f)).mtimeMs);
  }
  return newest;
}

export function storageModule(): string {
  const dist = join(root, 'dist/storage/index.js');
  if (existsSync(dist) && statSync(dist).mtimeMs > newestSource() && statSync(join(root, 'dist/storage/storage.js')).mtimeMs > newestSource()) return dist;
  const out = mkdtempSync(join(tmpdir(), 'zgate-storage-build-'));
  execFileSync(process.execPath, [
    join(root, 'node_modules/typescript/bin/tsc'), '--outDir', join(out, 'out'), '--rootDir', join(root, 'src'),
    '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck',
    '--types', 'node', '--declaration', 'false', join(root, 'src/storage/index.ts'),
  ], { cwd: root, stdio: 'pipe' });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  return join(out, 'out/storage/index.js');
}
