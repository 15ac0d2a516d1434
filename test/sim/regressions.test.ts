/**
 * The simulator's bug ledger: every seed that once found a bug in the runtime, replayed with
 * the default options. Each entry says what it found; the one-line replay is
 * `npm run sim -- --seed=N`.
 */
import { runSeed } from '../../tools/sim/simulation.js';

const LEDGER: { seed: number; found: string }[] = [
  {
    seed: 104,
    found:
      'a one-member cluster grown to three: its first member, restarted with a commit index saved before the membership change (commit is saved lazily), ' +
      'came back with the old configuration, elected itself as its sole voter and committed alone (leader completeness broken). ' +
      'Fix: node-loop.ts saves a commit that covers a membership change with the Ready, before its messages leave.',
  },
];

describe('simulator regressions', () => {
  for (const { seed, found } of LEDGER) {
    it(`seed ${seed}: ${found.split(':')[0]}`, async () => {
      const r = await runSeed({ seed });
      expect(r.convergeTicks).toBeGreaterThanOrEqual(0);
    });
  }
});
