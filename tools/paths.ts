/**
 * Where the product's build is, seen from a tool. Tools run from dist-tools/tools/..., while the
 * members they start run from the product's own build (dist/cli/main.js), which `npm run build`
 * makes: the repository root is the nearest folder above that holds package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

/** The zgate CLI entry that members are started from: <repo>/dist/cli/main.js. */
export function productCli(): string {
  return join(repoRoot(), 'dist', 'cli', 'main.js');
}
