/**
 * The checker must be able to fail: members run with a test-only defect (NODE_ENV=test and
 * ZGATE_TEST_DEFECT=stale-linearizable-reads: "linearizable" reads answered locally, without
 * the read index), the nemesis isolates the leader again and again, and the linearizability
 * checker must report the stale reads of the old leader's clients.
 */
import { built, runSchedule, seedOr } from './run-helpers.js';

const maybe = built ? describe : describe.skip;

maybe('a defective member is caught', () => {
  test(
    'stale "linearizable" reads on an isolated old leader are reported as violations',
    async () => {
      const seed = seedOr(404);
      const { result, text } = await runSchedule({
        seed,
        members: 3,
        durationMs: 15_000,
        healMs: 1_000,
        kinds: ['isolate-leader'],
        schedule: { faultMs: [3_000, 4_000], gapMs: [1_000, 1_500], firstMs: 1_000 },
        watchers: 1,
        env: { NODE_ENV: 'test', ZGATE_TEST_DEFECT: 'stale-linearizable-reads' },
        // More reads and registers: the defect shows on linearizable reads.
        workload: { mix: { register: 85, group: 15, seq: 0, unique: 0 } },
      });
      const lin = result.linearizability;
      if (lin.illegal === 0) throw new Error(`the checker missed the defect:\n${text}`);
      expect(lin.violations[0]).toMatch(/not linearizable/);
      expect(result.ok).toBe(false);
    },
    180_000,
  );
});
