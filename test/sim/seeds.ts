/**
 * Runs a range of simulator seeds as jest tests, in chunks (so that progress shows and no
 * single test runs long). The default suite is 2,000 seeds split over two files, one per
 * jest worker; SIM_SEEDS=N scales the range (e.g. SIM_SEEDS=200 for a quick run). Longer runs:
 * `npm run sim -- --seeds=10000`. A failure names the seed and the command that replays it.
 */
import { addStats, emptyStats, runSeed, SimFailure, type SimResult, type SimStats } from '../../tools/sim/simulation.js';

const CHUNK = 50;
/**
 * Ticks of the fault phase per seed in the default suite: the simulator runs the real runtime
 * (node loop, member, tree), a few times the old core-only cost per tick, so the suite keeps
 * its 2,000 seeds with shorter fault phases; `npm run sim` runs the full default (300).
 */
const SAFETY_TICKS = 80;

export interface RangeStats {
  seeds: number;
  steps: number;
  ms: number;
  converge: number[];
  exercised: SimStats;
}

export function defineSeedRange(name: string, from: number, defaultCount: number): RangeStats {
  const scale = process.env['SIM_SEEDS'] !== undefined ? Number(process.env['SIM_SEEDS']) / 2000 : 1;
  const count = Math.max(1, Math.round(defaultCount * scale));
  const stats: RangeStats = { seeds: 0, steps: 0, ms: 0, converge: [], exercised: emptyStats() };
  describe(`${name}: seeds ${from}..${from + count - 1}`, () => {
    for (let lo = from; lo < from + count; lo += CHUNK) {
      const hi = Math.min(lo + CHUNK, from + count);
      it(`seeds ${lo}..${hi - 1}`, async () => {
        const t0 = Date.now();
        for (let seed = lo; seed < hi; seed++) {
          let r: SimResult;
          try {
            r = await runSeed({ seed, safetyTicks: SAFETY_TICKS });
          } catch (e) {
            if (e instanceof SimFailure) throw new Error(`${e.message}\n(one line to replay it: npm run sim -- --seed=${seed})`);
            throw new Error(`sim seed ${seed} threw ${(e as Error).stack}\n(replay: npm run sim -- --seed=${seed})`);
          }
          stats.seeds++;
          stats.steps += r.steps;
          stats.converge.push(r.convergeTicks);
          stats.exercised = addStats(stats.exercised, r.stats);
        }
        stats.ms += Date.now() - t0;
      });
    }
    afterAll(() => {
      if (stats.seeds === 0) return;
      const c = [...stats.converge].sort((a, b) => a - b);
      const p99 = c[Math.min(c.length - 1, Math.floor(c.length * 0.99))];
      // One line per file: seeds, steps per second, convergence after healing.
      console.log(
        `${name}: ${stats.seeds} seeds, ${stats.steps} steps in ${(stats.ms / 1000).toFixed(1)} s ` +
          `(${Math.round(stats.seeds / (stats.ms / 1000))} seeds/s, ${Math.round(stats.steps / (stats.ms / 1000) / 1000)}k steps/s); ` +
          `convergence after healing p50 ${c[Math.floor(c.length / 2)]} p99 ${p99} max ${c[c.length - 1]} ticks; ` +
          `exercised ${JSON.stringify(stats.exercised)}`,
      );
    });
  });
  return stats;
}
