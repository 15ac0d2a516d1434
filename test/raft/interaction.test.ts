/**
 * Data-driven interaction tests: each test/raft/interaction/*.txt is one scenario, a script
 * of commands with their expected output (see harness/env.ts for the commands). Run with
 * UPDATE_GOLDEN=1 to rewrite the expected output after a deliberate change, then review
 * the diff.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runFile } from './harness/datadriven.js';
import { InteractionEnv } from './harness/env.js';

const dir = join(__dirname, 'interaction');
const update = process.env['UPDATE_GOLDEN'] === '1';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('raft interaction scripts', () => {
  it('has scenarios', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const f of files) {
    it(f, () => {
      const env = new InteractionEnv();
      const res = runFile(join(dir, f), (c) => env.handle(c), update);
      if (res.mismatches.length > 0 && !update) {
        const m = res.mismatches[0]!;
        const detail = `${f}:${m.lineNo}: ${m.line}\n--- expected\n${m.expected}\n--- actual\n${m.actual}`;
        throw new Error(`${res.mismatches.length} block(s) differ; first:\n${detail}\n(UPDATE_GOLDEN=1 rewrites the expected output)`);
      }
    });
  }
});
