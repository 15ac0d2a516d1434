/**
 * The checker must be able to fail: members run with a deliberate defect (the entry
 * tools/faults/defective-member.mjs with ZGATE_TEST_DEFECT=stale-linearizable-reads:
 * "linearizable" reads answered locally, without the read index), the nemesis isolates the leader again and again, and the linearizability
 * checker must report the stale reads of the old leader's clients.
 */
import { DEFECTIVE_MEMBER } from '../../tools/faults/process.js';
import { built, runSchedule, seedOr } from './run-helpers.js';

const maybe = built ? describe : describe.skip;

maybe('a defective member is caught', () => {
  test(
    'stale "linearizable" reads on an isolated old leader are reported as violations',
    async () => {
      // A stale read needs a write on the new leader and a read on the old one inside the same
      // window; a loaded machine may not line those up in one schedule, so up to three seeded
      // schedules run, and the checker must report the defect in one of them.
      const first = seedOr(404);
      const missed: string[] = [];
      for (const seed of [first, first + 1, first + 2]) {
        const { result, text } = await runSchedule({
          seed,
          replay: `ZGATE_FAULTS_SEED=${first} npx jest test/faults/defect.test.ts`,
          members: 3,
          durationMs: 15_000,
          healMs: 1_000,
          kinds: ['isolate-leader'],
          schedule: { faultMs: [3_000, 4_000], gapMs: [1_000, 1_500], firstMs: 1_000 },
          watchers: 1,
          env: { ZGATE_TEST_DEFECT: 'stale-linearizable-reads' },
          entry: DEFECTIVE_MEMBER,
          // One register for everyone, and clients that stay on their member: a client on the
          // isolated old leader keeps reading while the others write the same key.
          workload: { registers: 1, sticky: true, mix: { register: 100, group: 0, seq: 0, unique: 0 } },
        });
        const lin = result.linearizability;
        if (lin.illegal > 0) {
          expect(lin.violations[0]).toMatch(/not linearizable/);
          expect(result.ok).toBe(false);
          return;
        }
        missed.push(text);
      }
      throw new Error(`the checker missed the defect in three schedules:\n${missed.join('\n')}`);
    },
    540_000,
  );
});
