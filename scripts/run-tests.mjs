#!/usr/bin/env node
// `npm test`: builds dist/ (process-level tests start real members from it), runs jest,
// then prints jest's totals as one plain line, which CI reads.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
// The client library's browser build (the browser tests load it in Chromium).
const browserBuild = build.status === 0 ? spawnSync(process.execPath, ['scripts/build-client-browser.mjs'], { stdio: 'inherit' }) : build;
if (build.status !== 0 || browserBuild.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'zgate-jest-'));
const out = join(dir, 'results.json');
const args = ['jest', '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit' });
let line = '0 passed, 1 failed';
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  // A suite that fails to load has no test results; count it as a failure so it can't hide.
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  line = `${r.numPassedTests} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : '');
} catch {
  // jest crashed before writing results: the line above reports a failure.
}
rmSync(dir, { recursive: true, force: true });
console.log(line);
process.exit(run.status ?? 1);
