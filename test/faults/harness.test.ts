/**
 * The fault-injection harness in the default suite: three seeded schedules on 3 real members
 * (~20 s of faults each, then healed, then final reads), network faults, process faults, and a
 * mix. Linearizability, lost and failed writes, multi atomicity, zxid order, replica agreement
 * and the watch streams must report 0 violations; a failure prints the seed and the command
 * that replays it (ZGATE_FAULTS_SEED=N replays one seed here).
 */
import type { FaultKind } from '../../tools/faults/nemesis.js';
import { built, runSchedule, seedOr } from './run-helpers.js';

const maybe = built ? describe : describe.skip;

const SCHEDULES: { name: string; seed: number; kinds: FaultKind[] }[] = [
  { name: 'network: isolate leader, partitions, bridge, one-way, flaky links', seed: 101, kinds: ['isolate-leader', 'partition', 'bridge', 'one-way', 'flaky'] },
  { name: 'processes: kill -9, kill the leader, pause the leader, restart all', seed: 202, kinds: ['kill', 'kill-leader', 'pause-leader', 'restart-all'] },
  { name: 'everything mixed', seed: 303, kinds: ['isolate-leader', 'partition', 'bridge', 'one-way', 'flaky', 'kill', 'kill-leader', 'pause-leader', 'restart-all'] },
];

maybe('fault injection on 3 members', () => {
  for (const s of SCHEDULES) {
    test(
      `${s.name} (seed ${seedOr(s.seed)})`,
      async () => {
        const seed = seedOr(s.seed);
        const replay = `ZGATE_FAULTS_SEED=${seed} npx jest test/faults/harness.test.ts -t '${s.name}'`;
        const { result, text } = await runSchedule({ seed, members: 3, durationMs: 20_000, healMs: 2_000, kinds: s.kinds, watchers: 2, checkBudgetMs: 15_000, replay });
        const sum = result.summary;
        if (!result.ok) throw new Error(`fault run failed:\n${text}`);
        expect(sum.violations.total).toBe(0);
        expect(sum.lostAcknowledgedWrites).toBe(0);
        expect(sum.watch.gaps + sum.watch.duplicates + sum.watch.reorderings).toBe(0);
        // Unknown is not a pass: every history must have been decided.
        expect(sum.histories.unknown).toBe(0);
        expect(sum.histories.checked).toBeGreaterThan(3);
        expect(sum.operations.completed).toBeGreaterThan(300);
        expect(Object.values(sum.faults).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3);
        expect(sum.watch.events).toBeGreaterThan(0);
      },
      240_000,
    );
  }
});
